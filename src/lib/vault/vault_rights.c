/*
 * vault_rights.c - citizens' rights held by the data protection officer:
 * erasure requests and their decision, legal holds.
 *
 * Approving an erasure destroys the subject's data key in this
 * organization (crypto-shredding) and forgets the blind index, in one
 * transaction with the decision and its audit entry. The keystore lives in
 * keys.db, apart from the records: a copy of vault.db taken before the
 * erasure and put back still finds no key, so the records stay unreadable.
 * Audit entries about the subject stay and still verify: they never held a
 * personal value. A legal hold suspends erasure until it is released.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"

#define ROLE_DPO "dpo"

/* The caller is the organization's DPO, and the subject exists there. Refusals audited (entry consumed). */
static cf_rc dpo_gate(cf_vault *v, cf_request *r, cf_tx *tx, const char *org, const char *subject, json_t *entry,
		      cf_err *err)
{
	cf_rc rc;
	/* a refusal on another organization's path never names a subject */
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	if (r->who.org[0] == '\0' || strcmp(r->who.org, org) != 0) {
		cf_tx_rollback(tx);
		return vault_deny(v, entry, CF_EDENIED, r->who.org[0] ? CF_P_WRONG_ORGANIZATION : CF_P_FORBIDDEN,
				  "only the organization's data protection officer handles its subjects' rights", err);
	}
	if (!vault_has_role(&r->who, ROLE_DPO)) {
		cf_tx_rollback(tx);
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN,
				  "only the organization's data protection officer handles its subjects' rights", err);
	}
	{
		/* the DPO too works under the organization's confidentiality commitment */
		cf_err cerr = {0};
		rc = vault_commitment_check(tx, r, &cerr);
		if (rc == CF_EDENIED) {
			cf_tx_rollback(tx);
			return vault_deny(v, entry, rc, cerr.problem, cerr.detail, err);
		}
		if (rc != CF_OK) {
			cf_tx_rollback(tx);
			json_decref(entry);
			return cf_err_set(err, rc, CF_P_NONE, "cannot read the commitment");
		}
	}
	rc = strlen(subject) <= CF_ID_MAX ? cf_st_subject_exists(tx, org, subject, NULL) : CF_ENOTFOUND;
	if (rc == CF_ENOTFOUND) {
		cf_tx_rollback(tx);
		return vault_deny(v, entry, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such subject", err);
	}
	if (rc == CF_OK)
		cf_audit_set_resource(entry, org, NULL, NULL, subject);
	if (rc != CF_OK) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return cf_err_set(err, rc, CF_P_NONE, "cannot read the subject");
	}
	return CF_OK;
}

/*
 * Crypto-shreds a subject in the caller's write transaction: its data key
 * leaves the keystore (no copy of the records can be read again) and the
 * store forgets its blind index and encrypted identifier. A key already
 * gone is not an error. Used by erasure and by retention.
 */
cf_rc vault_subject_shred(cf_tx *tx, const char *org, const char *subject, int64_t now_us, cf_err *err)
{
	cf_rc rc = cf_st_key_delete(tx, "subject", org, subject, err);
	if (rc == CF_ENOTFOUND)
		rc = CF_OK;
	if (rc == CF_OK)
		rc = cf_st_subject_erase(tx, org, subject, now_us, err);
	return rc;
}

/* Whether a hold of this subject is active (with id: that hold, else any, whole-subject or on a record). */
static bool hold_active(cf_tx *tx, const char *org, const char *subject, const char *id)
{
	json_t *list = NULL, *h;
	size_t i;
	bool found = false;
	if (cf_st_hold_list(tx, org, subject, &list, NULL) != CF_OK)
		return true; /* fail closed: unknown means held */
	json_array_foreach(list, i, h)
	{
		if (!json_is_null(json_object_get(h, "released_us")) && json_object_get(h, "released_us") != NULL)
			continue;
		if (id == NULL || strcmp(json_string_value(json_object_get(h, "id")), id) == 0)
			found = true;
	}
	json_decref(list);
	return found;
}

static json_t *erasure_json(const cf_erasure_row *e)
{
	char rq[CF_TIME_STR_LEN], dc[CF_TIME_STR_LEN];
	cf_time_format(e->requested_us, rq);
	if (e->decided_us)
		cf_time_format(e->decided_us, dc);
	return json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s, s:s?}", "id", e->id, "subject", e->subject, "status",
			 e->status, "request_reason", e->request_reason, "decision_reason", e->decision_reason,
			 "requested_by", e->requested_by, "decided_by", e->decided_by, "requested_at", rq, "decided_at",
			 e->decided_us ? dc : NULL);
}

static cf_rc optional_reason(json_t *body, const char *what, bool required, const char **reason, cf_err *err)
{
	cf_rc rc;
	*reason = NULL;
	if (body == NULL)
		return required ? cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "%s: a reason is required", what) : CF_OK;
	rc = required ? cf_json_unpack(err, what, body, "{s:s}", "reason", reason)
		      : cf_json_unpack(err, what, body, "{s?:s}", "reason", reason);
	if (rc == CF_OK && *reason != NULL && (strlen(*reason) == 0 || strlen(*reason) > 1000))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "reason: 1 to 1000 characters");
	return rc;
}

cf_rc cf_vault_erasure_request(cf_vault *v, cf_request *r, const char *org, const char *subject, json_t *body,
			       json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "erasure.request");
	cf_erasure_row e = {0};
	const char *reason = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = dpo_gate(v, r, tx, org, subject, entry, err)) != CF_OK)
		return rc;
	if ((rc = optional_reason(body, "erasure request", false, &reason, err)) != CF_OK) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return rc;
	}
	if (cf_st_subject_erased(tx, org, subject, NULL, NULL) == CF_OK) {
		cf_tx_rollback(tx);
		return vault_deny(v, entry, CF_ENOTFOUND, CF_P_ERASED, "the subject's data was already erased", err);
	}
	if ((rc = vault_new_id(v, "er_", e.id)) != CF_OK)
		goto fail;
	memcpy(e.org, org, strlen(org) + 1);
	memcpy(e.subject, subject, strlen(subject) + 1);
	memcpy(e.status, "pending", sizeof("pending"));
	e.request_reason = (char *)reason;
	e.requested_by = r->who.username;
	e.requested_us = cf_now_us(v->env);
	if ((rc = cf_st_erasure_insert(tx, &e, err)) != CF_OK)
		goto fail;
	cf_audit_set(entry, "request", e.id);
	rc = vault_finish(tx, entry, rc, err);
	if (rc == CF_OK)
		*answer = erasure_json(&e);
	return rc;
fail:
	return vault_finish(tx, entry, rc, err);
}

cf_rc cf_vault_erasure_list(cf_vault *v, cf_request *r, const char *org, const char *subject, json_t **answer,
			    cf_err *err)
{
	json_t *entry = vault_entry(v, r, "erasure.list"), *list = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = dpo_gate(v, r, tx, org, subject, entry, err)) != CF_OK)
		return rc;
	json_decref(entry);
	rc = cf_st_erasure_list(tx, org, subject, &list, err);
	cf_tx_rollback(tx);
	if (rc == CF_OK)
		*answer = json_pack("{s:o}", "erasure_requests", list);
	return rc;
}

cf_rc cf_vault_erasure_decide(cf_vault *v, cf_request *r, const char *org, const char *subject, const char *id,
			      bool approve, json_t *body, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, approve ? "subject.erase" : "erasure.refuse");
	cf_erasure_row e = {0};
	const char *reason = NULL;
	char *note = NULL;
	int64_t idx = -1, now = cf_now_us(v->env);
	char when[CF_TIME_STR_LEN];
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = dpo_gate(v, r, tx, org, subject, entry, err)) != CF_OK)
		return rc;
	/* many public records must be kept by law: the decision always says why */
	if ((rc = optional_reason(body, "erasure decision", true, &reason, err)) != CF_OK) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return rc;
	}
	cf_audit_set(entry, "request", strlen(id) <= CF_ID_MAX ? id : NULL);
	rc = strlen(id) <= CF_ID_MAX ? cf_st_erasure_get(tx, org, id, &e, err) : CF_ENOTFOUND;
	if (rc == CF_ENOTFOUND || (rc == CF_OK && strcmp(e.subject, subject) != 0)) {
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such erasure request for this subject");
		goto fail;
	}
	if (rc != CF_OK)
		goto fail;
	if (strcmp(e.status, "pending") != 0) {
		rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "the request was already %s", e.status);
		goto fail;
	}
	if (approve && hold_active(tx, org, subject, NULL)) {
		rc = cf_err_set(err, CF_EEXIST, CF_P_LEGAL_HOLD,
				"a legal hold on the subject or one of its records suspends erasure");
		goto fail;
	}
	if ((rc = cf_st_erasure_decide(tx, org, id, approve ? "approved" : "refused", reason, r->who.username, now,
				       err)) != CF_OK)
		goto fail;
	if (approve) {
		/* crypto-shredding: without this key no copy of the records can be read again */
		if ((rc = vault_subject_shred(tx, org, subject, now, err)) != CF_OK)
			goto fail;
	}
	cf_audit_set(entry, "reason", reason);
	cf_audit_outcome(entry, true, NULL);
	rc = cf_audit_append(tx, entry, &idx, err);
	json_decref(entry);
	entry = NULL;
	if (rc != CF_OK) {
		cf_tx_rollback(tx);
		goto out;
	}
	if ((rc = vault_commit(tx, err)) != CF_OK)
		goto out;
	tx = NULL;
	cf_erasure_row_release(&e);
	memset(&e, 0, sizeof(e));
	{
		cf_tx *rtx = NULL;
		if (cf_store_begin(v->store, false, &rtx, NULL) == CF_OK) {
			if (cf_st_erasure_get(rtx, org, id, &e, NULL) != CF_OK)
				memset(&e, 0, sizeof(e));
			cf_tx_rollback(rtx);
		}
	}
	if (!approve) {
		*answer = erasure_json(&e);
		goto out;
	}
	/* the certificate: what was destroyed, when, under which decision, and where the trail proves it */
	if (cf_trail_checkpoint(v->trail, &note, NULL) != CF_OK)
		note = NULL;
	cf_time_format(now, when);
	*answer = json_pack("{s:o, s:{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:s?}}", "request", erasure_json(&e),
			    "certificate", "org", org, "subject", subject, "request", id, "reason", reason, "erased_at",
			    when, "data_key_destroyed", true, "blind_index_removed", true, "audit_index", (json_int_t)idx,
			    "checkpoint", note);
	goto out;
fail:
	cf_tx_rollback(tx);
	tx = NULL;
	{
		char reason_copy[sizeof(err->detail)];
		cf_problem p = err->problem;
		(void)snprintf(reason_copy, sizeof(reason_copy), "%s", err->detail);
		rc = vault_deny(v, entry, rc, p, reason_copy, err);
	}
	entry = NULL;
out:
	free(note);
	cf_erasure_row_release(&e);
	json_decref(entry);
	return rc;
}

cf_rc cf_vault_hold_put(cf_vault *v, cf_request *r, const char *org, const char *subject, json_t *body,
			json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "hold.put");
	const char *reason = NULL, *record = NULL;
	char id[CF_ID_MAX + 1];
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = dpo_gate(v, r, tx, org, subject, entry, err)) != CF_OK)
		return rc;
	rc = cf_json_unpack(err, "legal hold", body, "{s:s, s?:s}", "reason", &reason, "record", &record);
	if (rc == CF_OK && (reason[0] == '\0' || strlen(reason) > 1000))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "reason: 1 to 1000 characters");
	if (rc == CF_OK && record != NULL && strlen(record) > CF_ID_MAX)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "record: a record id");
	if (rc == CF_OK)
		rc = vault_new_id(v, "lh_", id);
	if (rc != CF_OK) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return rc;
	}
	cf_audit_set(entry, "hold", id);
	rc = cf_st_hold_put(tx, org, id, subject, record, reason, r->who.username, cf_now_us(v->env), err);
	rc = vault_finish(tx, entry, rc, err);
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:s, s:s?, s:s, s:b}", "id", id, "subject", subject, "record", record, "reason",
				    reason, "active", true);
	return rc;
}

cf_rc cf_vault_hold_release(cf_vault *v, cf_request *r, const char *org, const char *subject, const char *id,
			    json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "hold.release");
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = dpo_gate(v, r, tx, org, subject, entry, err)) != CF_OK)
		return rc;
	cf_audit_set(entry, "hold", strlen(id) <= CF_ID_MAX ? id : NULL);
	rc = (strlen(id) <= CF_ID_MAX && hold_active(tx, org, subject, id)) ? cf_st_hold_release(tx, org, id, cf_now_us(v->env), err)
									  : CF_ENOTFOUND;
	if (rc == CF_ENOTFOUND)
		cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such active legal hold");
	rc = vault_finish(tx, entry, rc, err);
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:s, s:b}", "id", id, "subject", subject, "active", false);
	return rc;
}

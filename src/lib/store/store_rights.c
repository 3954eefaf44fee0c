/*
 * store_rights.c - the store's side of citizens' rights: erasure requests
 * and their one-time decision, forgetting how to find an erased subject
 * (its blind index and encrypted national identifier), and legal holds on
 * a subject or one of its records. Whether a request may be made or
 * approved, whether a hold stops an erasure, and the crypto-shredding of
 * the subject's key are the vault's decisions, never this file's. What the
 * store does guarantee is what SQL can: a decision is taken once (checked
 * and written in one statement) and is final, requests and holds are never
 * deleted, a released hold stays released, an erased subject stays erased.
 *
 * It must never build SQL from a value and never put a value (an id, a
 * pseudonym, a reason, a username) into an error detail.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"

#define REASON_MAX 1000 /* bytes of UTF-8: request, decision and hold reasons */
#define STATUS_MAX 15   /* fits cf_erasure_row.status */

/* Ids the lists hand out inside JSON must be UTF-8: refused when stored, not when listed. */
#define check_id_text(v, what, err) cf_sti_check_text((v), (what), CF_ID_MAX, (err))

/* ---- argument checks ---- */

/* An optional reason: NULL, or 1..REASON_MAX bytes of UTF-8. */
static cf_rc check_reason_opt(const char *v, const char *what, cf_err *err)
{
	if (v == NULL)
		return CF_OK;
	return cf_sti_check_text(v, what, REASON_MAX, err);
}

/* An optional record id (NULL: the whole subject). */
static cf_rc check_record_opt(const char *v, cf_err *err)
{
	if (v == NULL)
		return CF_OK;
	return check_id_text(v, "record id", err);
}

/* A decision: "approved" or "refused" ("pending" is no decision). v's length is bounded before strcmp. */
static cf_rc check_decision(const char *v, cf_err *err)
{
	cf_rc rc = cf_sti_check_str(v, "erasure decision", STATUS_MAX, false, err);

	if (rc != CF_OK)
		return rc;
	if (strcmp(v, "approved") != 0 && strcmp(v, "refused") != 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "store: an erasure decision must be approved or refused");
	return CF_OK;
}

/*
 * A new request: its own fields valid, and no decision yet (status
 * "pending" or left empty, decision fields unset); it is stored pending.
 */
static cf_rc check_new_erasure(const cf_erasure_row *e, cf_err *err)
{
	cf_rc rc;

	rc = cf_sti_check_id(e->org, "organization id", err);
	if (rc == CF_OK)
		rc = check_id_text(e->id, "erasure request id", err);
	if (rc == CF_OK)
		rc = check_id_text(e->subject, "pseudonym", err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(e->status, "erasure request status", STATUS_MAX, true, err);
	if (rc == CF_OK && e->status[0] != '\0' && strcmp(e->status, "pending") != 0)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: a new erasure request must be pending");
	if (rc == CF_OK && (e->decision_reason != NULL || e->decided_by != NULL || e->decided_us != 0))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"store: a new erasure request carries no decision");
	if (rc == CF_OK)
		rc = check_reason_opt(e->request_reason, "erasure request reason", err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(e->requested_by, "requesting user", CF_STI_NAME_MAX, err);
	return rc;
}

/* ---- columns ---- */

/* A nullable text column, borrowed until the next step/reset: *out NULL for SQL NULL. */
static cf_rc col_text_opt(sqlite3_stmt *st, int i, const char **out, cf_err *err)
{
	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return CF_OK;
	return cf_sti_col_text(st, i, out, err);
}

/* ---- erasure requests ---- */

void cf_erasure_row_release(cf_erasure_row *e)
{
	if (e == NULL)
		return;
	free(e->request_reason);
	free(e->decision_reason);
	free(e->requested_by);
	free(e->decided_by);
	memset(e, 0, sizeof(*e));
}

/*
 * The request is stored pending (a row carrying a decision is refused,
 * see check_new_erasure). CF_EEXIST when the id is taken in the
 * organization, CF_ENOTFOUND when the organization or the subject is missing.
 */
cf_rc cf_st_erasure_insert(cf_tx *tx, const cf_erasure_row *e, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (e == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no erasure request");
	rc = check_new_erasure(e, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_ERASURE_INSERT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, e->org);
	cf_sti_bind_text(st, &src, 2, e->id);
	cf_sti_bind_text(st, &src, 3, e->subject);
	cf_sti_bind_text(st, &src, 4, e->request_reason);
	cf_sti_bind_text(st, &src, 5, e->requested_by);
	cf_sti_bind_int(st, &src, 6, e->requested_us);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "erasure request", err);
		goto out;
	}
	src = sqlite3_step(st);
	/* The written-once trigger sees a taken id before the primary key does: both mean CF_EEXIST. */
	if (src == SQLITE_CONSTRAINT_TRIGGER)
		rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: erasure request already exists");
	else
		rc = (src == SQLITE_DONE) ? CF_OK : cf_sti_fail(tx->s, src, "erasure request", err);
out:
	cf_sti_done(st);
	return rc;
}

/* Fills *out from a row of ERASURE_COLUMNS; the caller releases *out, also on failure. */
static cf_rc read_erasure(sqlite3_stmt *st, cf_erasure_row *out, cf_err *err)
{
	cf_rc rc;

	rc = cf_sti_col_copy(st, 0, out->id, sizeof(out->id), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 1, out->org, sizeof(out->org), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 2, out->subject, sizeof(out->subject), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 3, out->status, sizeof(out->status), err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 4, true, &out->request_reason, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 5, true, &out->decision_reason, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 6, false, &out->requested_by, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 7, true, &out->decided_by, err);
	if (rc != CF_OK)
		return rc;
	out->requested_us = sqlite3_column_int64(st, 8);
	out->decided_us = sqlite3_column_int64(st, 9);
	return CF_OK;
}

/* *out holds malloc'd strings: cf_erasure_row_release (also zeroed on failure). */
cf_rc cf_st_erasure_get(cf_tx *tx, const char *org, const char *id, cf_erasure_row *out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(out, 0, sizeof(*out));
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "erasure request id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_ERASURE_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "erasure request", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "erasure request", err);
	if (rc == CF_OK)
		rc = read_erasure(st, out, err);
out:
	cf_sti_done(st);
	if (rc != CF_OK)
		cf_erasure_row_release(out);
	return rc;
}

/* Tells an already decided request (CF_EEXIST) from a missing one (CF_ENOTFOUND) after the decision matched no row. */
static cf_rc why_not_decided(cf_tx *tx, const char *org, const char *id, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, STI_ERASURE_EXISTS, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "erasure request", err)
				: cf_sti_row(tx->s, st, "erasure request", err);
	cf_sti_done(st);
	if (rc == CF_OK)
		rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: the erasure request is already decided");
	return rc;
}

/* reason may be NULL (whether a decision must give one is the vault's rule). */
cf_rc cf_st_erasure_decide(cf_tx *tx, const char *org, const char *id, const char *status, const char *reason,
			   const char *decided_by, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "erasure request id", err);
	if (rc == CF_OK)
		rc = check_decision(status, err);
	if (rc == CF_OK)
		rc = check_reason_opt(reason, "erasure decision reason", err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(decided_by, "deciding user", CF_STI_NAME_MAX, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_ERASURE_DECIDE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	cf_sti_bind_text(st, &src, 3, status);
	cf_sti_bind_text(st, &src, 4, reason);
	cf_sti_bind_text(st, &src, 5, decided_by);
	cf_sti_bind_int(st, &src, 6, now_us);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "erasure request", err);
		goto out;
	}
	rc = cf_sti_exec(tx->s, st, "erasure request", err);
	if (rc == CF_OK && sqlite3_changes64(tx->s->db) == 0) {
		cf_sti_done(st);
		st = NULL;
		rc = why_not_decided(tx, org, id, err);
	}
out:
	cf_sti_done(st);
	return rc;
}

/* One list item from a row of ERASURE_COLUMNS; *item a new reference. */
static cf_rc erasure_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *id, *subject, *status, *request_reason, *decision_reason, *requested_by, *decided_by;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &id, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 2, &subject, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 3, &status, err);
	if (rc == CF_OK)
		rc = col_text_opt(st, 4, &request_reason, err);
	if (rc == CF_OK)
		rc = col_text_opt(st, 5, &decision_reason, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 6, &requested_by, err);
	if (rc == CF_OK)
		rc = col_text_opt(st, 7, &decided_by, err);
	if (rc != CF_OK)
		return rc;
	/* "s?" packs NULL as null. */
	*item = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:I, s:I}", "id", id, "subject", subject, "status",
			  status, "request_reason", request_reason, "decision_reason", decision_reason,
			  "requested_by", requested_by, "decided_by", decided_by, "requested_us",
			  (json_int_t)sqlite3_column_int64(st, 8), "decided_us",
			  (json_int_t)sqlite3_column_int64(st, 9));
	if (*item == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	return CF_OK;
}

/* *out is a new reference for the caller; subject NULL lists the whole organization. */
cf_rc cf_st_erasure_list(cf_tx *tx, const char *org, const char *subject, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK && subject != NULL)
		rc = cf_sti_check_id(subject, "pseudonym", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, subject != NULL ? STI_ERASURE_LIST_SUBJECT : STI_ERASURE_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	if (subject != NULL)
		cf_sti_bind_text(st, &src, 2, subject);
	rc = cf_sti_collect(tx, st, src, "erasure request list", erasure_item, out, err);
	cf_sti_done(st);
	return rc;
}

/* ---- erased subjects ---- */

/*
 * Irreversible: the blind index and the encrypted national identifier are
 * gone (secure_delete zeroes the freed bytes); the pseudonym stays, so the
 * subject's records, requests and holds still name it. Erasing again keeps
 * the first time. CF_ENOTFOUND when the subject does not exist.
 */
cf_rc cf_st_subject_erase(cf_tx *tx, const char *org, const char *pseudonym, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(pseudonym, "pseudonym", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBJECT_ERASE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, pseudonym);
	cf_sti_bind_int(st, &src, 3, now_us);
	rc = cf_sti_exec_one(tx, st, src, "subject", err);
	cf_sti_done(st);
	return rc;
}

/* erased_us is optional (NULL: only the answer); it is 0 unless CF_OK. */
cf_rc cf_st_subject_erased(cf_tx *tx, const char *org, const char *pseudonym, int64_t *erased_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (erased_us != NULL)
		*erased_us = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(pseudonym, "pseudonym", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBJECT_ERASED, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, pseudonym);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "subject", err)
				: cf_sti_row(tx->s, st, "erased subject", err);
	if (rc == CF_OK && erased_us != NULL)
		*erased_us = sqlite3_column_int64(st, 0);
	cf_sti_done(st);
	return rc;
}

/* ---- legal holds ---- */

/*
 * record NULL holds the whole subject. CF_EEXIST when the id is taken in
 * the organization, CF_ENOTFOUND when the subject does not exist.
 */
cf_rc cf_st_hold_put(cf_tx *tx, const char *org, const char *id, const char *subject, const char *record,
		     const char *reason, const char *by, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = check_id_text(id, "legal hold id", err);
	if (rc == CF_OK)
		rc = check_id_text(subject, "pseudonym", err);
	if (rc == CF_OK)
		rc = check_record_opt(record, err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(reason, "legal hold reason", REASON_MAX, err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(by, "holding user", CF_STI_NAME_MAX, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_HOLD_PUT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	cf_sti_bind_text(st, &src, 3, subject);
	cf_sti_bind_text(st, &src, 4, record);
	cf_sti_bind_text(st, &src, 5, reason);
	cf_sti_bind_text(st, &src, 6, by);
	cf_sti_bind_int(st, &src, 7, now_us);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "legal hold", err);
		goto out;
	}
	src = sqlite3_step(st);
	/* As for requests: the written-once trigger answers a taken id first. */
	if (src == SQLITE_CONSTRAINT_TRIGGER)
		rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: legal hold already exists");
	else
		rc = (src == SQLITE_DONE) ? CF_OK : cf_sti_fail(tx->s, src, "legal hold", err);
out:
	cf_sti_done(st);
	return rc;
}

/* The hold is kept with its release time; a release is final. */
cf_rc cf_st_hold_release(cf_tx *tx, const char *org, const char *id, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "legal hold id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_HOLD_RELEASE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	cf_sti_bind_int(st, &src, 3, now_us);
	rc = cf_sti_exec_one(tx, st, src, "active legal hold", err);
	cf_sti_done(st);
	return rc;
}

/* A subject-wide hold covers every record; a record hold covers that record id only. */
cf_rc cf_st_hold_active(cf_tx *tx, const char *org, const char *subject, const char *record, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(subject, "pseudonym", err);
	if (rc == CF_OK && record != NULL)
		rc = cf_sti_check_id(record, "record id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_HOLD_ACTIVE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, subject);
	cf_sti_bind_text(st, &src, 3, record);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "legal hold", err)
				: cf_sti_row(tx->s, st, "active legal hold", err);
	cf_sti_done(st);
	return rc;
}

/* One list item from a hold row; *item a new reference. */
static cf_rc hold_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *id, *subject, *record, *reason, *by;
	json_t *released = NULL;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &id, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 1, &subject, err);
	if (rc == CF_OK)
		rc = col_text_opt(st, 2, &record, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 3, &reason, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 4, &by, err);
	if (rc != CF_OK)
		return rc;
	if (sqlite3_column_type(st, 6) != SQLITE_NULL) {
		released = json_integer((json_int_t)sqlite3_column_int64(st, 6));
		if (released == NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	}
	/* "o?" steals released (NULL packs null), also when packing fails. */
	*item = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:I, s:o?}", "id", id, "subject", subject, "record", record,
			  "reason", reason, "by", by, "created_us", (json_int_t)sqlite3_column_int64(st, 5),
			  "released_us", released);
	if (*item == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	return CF_OK;
}

/* *out is a new reference for the caller: every hold of the subject, released ones too, oldest first. */
cf_rc cf_st_hold_list(cf_tx *tx, const char *org, const char *subject, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(subject, "pseudonym", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_HOLD_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, subject);
	rc = cf_sti_collect(tx, st, src, "legal hold list", hold_item, out, err);
	cf_sti_done(st);
	return rc;
}

/*
 * vault_audit.c - reading the audit trail: checkpoints, the verifier key,
 * entries, inclusion and consistency proofs, a subject's access report;
 * and the instance-level users who read it. The trail itself is written
 * only by audit/trail.c. Nothing here can change, filter or redirect what
 * is recorded; it only decides who may read which entries.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"
#include "merkle/merkle.h"

#include <errno.h>

#define MAX_ENTRIES_PER_CALL 1000
#define MAX_ACCESS_LOG 1000

/* Instance auditor: no organization. Organization auditor: their organization only. */
static bool is_auditor(const cf_request *r)
{
	return r->who.authenticated && vault_has_role(&r->who, CF_ROLE_AUDITOR);
}

static cf_rc require_auditor(cf_vault *v, cf_request *r, const char *action, cf_err *err)
{
	if (is_auditor(r))
		return CF_OK;
	return vault_deny(v, vault_entry(v, r, action), CF_EDENIED, CF_P_FORBIDDEN,
			  "only auditors read the audit trail", err);
}

/* Records that an auditor read the trail (allowed). */
static cf_rc audited_read(cf_vault *v, cf_request *r, const char *action, const char *detail, cf_err *err)
{
	json_t *e = vault_entry(v, r, action);
	if (detail != NULL)
		cf_audit_set(e, "range", detail);
	cf_audit_outcome(e, true, NULL);
	return cf_trail_submit(v->trail, e, NULL, NULL, NULL, err);
}

/* A read of the trail that failed before its answer was known is recorded too (outcome error); returns rc. */
static cf_rc failed_read(cf_vault *v, cf_request *r, const char *action, cf_rc rc, cf_err *err)
{
	json_t *e = vault_entry(v, r, action);
	cf_err aerr = {0};
	cf_audit_set(e, "outcome", "error");
	cf_audit_set(e, "reason", "the audit trail cannot be read");
	if (cf_trail_submit(v->trail, e, NULL, NULL, NULL, &aerr) != CF_OK && err != NULL)
		*err = aerr;
	return rc;
}

static cf_rc parse_i64(const char *s, const char *name, int64_t dflt, int64_t *out, cf_err *err)
{
	char *end = NULL;
	long long n;

	if (s == NULL || s[0] == '\0') {
		if (dflt < 0)
			return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "query parameter '%s' is required", name);
		*out = dflt;
		return CF_OK;
	}
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || n < 0 || (s[0] == '0' && s[1] != '\0'))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "query parameter '%s': a non-negative integer", name);
	*out = (int64_t)n;
	return CF_OK;
}

/* Entries wait in the store's audit journal for a moment: reading the trail moves them to the tables first. */
cf_rc vault_begin_trail_read(cf_vault *v, cf_tx **tx, cf_err *err)
{
	cf_rc rc = cf_store_flush_journal(v->store, CF_STORE_FLUSH_ALL, true, err);
	if (rc != CF_OK)
		return rc;
	return cf_store_begin(v->store, false, tx, err);
}

static cf_rc trail_size(cf_vault *v, int64_t *size, cf_err *err)
{
	cf_tx *tx = NULL;
	cf_rc rc = vault_begin_trail_read(v, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_audit_count(tx, size, err);
	cf_tx_rollback(tx);
	return rc;
}

cf_rc cf_vault_audit_checkpoint(cf_vault *v, cf_request *r, char **note, cf_err *err)
{
	cf_rc rc;
	*note = NULL;
	if ((rc = require_auditor(v, r, "audit.checkpoint", err)) != CF_OK)
		return rc;
	if ((rc = audited_read(v, r, "audit.checkpoint", NULL, err)) != CF_OK)
		return rc;
	return cf_trail_checkpoint(v->trail, note, err);
}

cf_rc cf_vault_audit_key(cf_vault *v, cf_request *r, char **key, cf_err *err)
{
	cf_rc rc;
	*key = NULL;
	if ((rc = require_auditor(v, r, "audit.key", err)) != CF_OK)
		return rc;
	*key = cf_trail_verifier_key(v->trail);
	if (*key == NULL)
		return cf_err_set(err, CF_ESEALED, CF_P_SEALED, "the vault is sealed");
	return CF_OK;
}

cf_rc cf_vault_audit_entries(cf_vault *v, cf_request *r, const char *start_s, const char *end_s, json_t **answer,
			     cf_err *err)
{
	int64_t start = 0, end = 0, size = 0;
	json_t *list = NULL;
	cf_tx *tx = NULL;
	char range[64];
	cf_rc rc;

	*answer = NULL;
	if ((rc = require_auditor(v, r, "audit.entries", err)) != CF_OK)
		return rc;
	if ((rc = parse_i64(start_s, "start", 0, &start, err)) != CF_OK)
		return rc;
	if ((rc = trail_size(v, &size, err)) != CF_OK)
		return failed_read(v, r, "audit.entries", rc, err);
	if ((rc = parse_i64(end_s, "end", size, &end, err)) != CF_OK)
		return rc;
	if (end > size)
		end = size;
	if (start > end)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "start must not exceed end (the trail has %lld entries)",
				  (long long)size);
	if (end - start > MAX_ENTRIES_PER_CALL)
		end = start + MAX_ENTRIES_PER_CALL;
	(void)snprintf(range, sizeof(range), "%lld-%lld", (long long)start, (long long)end);
	if ((rc = audited_read(v, r, "audit.entries", range, err)) != CF_OK)
		return rc;
	if ((rc = vault_begin_trail_read(v, &tx, err)) != CF_OK)
		return rc;
	rc = cf_st_audit_list(tx, start, end, r->who.org[0] ? r->who.org : NULL, MAX_ENTRIES_PER_CALL, &list, err);
	cf_tx_rollback(tx);
	if (rc == CF_OK)
		*answer = json_pack("{s:o}", "entries", list);
	return rc;
}

static cf_rc tx_node_get(void *ctx, int level, int64_t index, uint8_t out[32])
{
	return cf_st_audit_node_get(ctx, level, index, out, NULL);
}

static json_t *hashes_json(uint8_t h[][32], size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		char *b64 = NULL;
		if (cf_b64_encode(h[i], 32, &b64) != CF_OK) {
			json_decref(a);
			return NULL;
		}
		json_array_append_new(a, json_string(b64));
		free(b64);
	}
	return a;
}

/* Inclusion proof of index in a tree of `size`, as the API answers it. */
static cf_rc inclusion_json(cf_vault *v, int64_t index, int64_t size, json_t **out, cf_err *err)
{
	uint8_t proof[CF_MERKLE_MAX_PROOF][32];
	size_t n = 0;
	cf_tx *tx = NULL;
	json_t *h;
	cf_rc rc;

	*out = NULL;
	if ((rc = vault_begin_trail_read(v, &tx, err)) != CF_OK)
		return rc;
	rc = cf_merkle_inclusion_proof(index, size, tx_node_get, tx, proof, &n);
	cf_tx_rollback(tx);
	if (rc != CF_OK)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "the proof cannot be computed");
	h = hashes_json(proof, n);
	if (h == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	*out = json_pack("{s:I, s:I, s:o}", "leaf_index", (json_int_t)index, "tree_size", (json_int_t)size, "hashes", h);
	return CF_OK;
}

cf_rc cf_vault_audit_inclusion(cf_vault *v, cf_request *r, const char *index_s, const char *size_s, json_t **answer,
			       cf_err *err)
{
	int64_t index = 0, size = 0, cur = 0;
	cf_rc rc;

	*answer = NULL;
	if ((rc = require_auditor(v, r, "audit.proof", err)) != CF_OK)
		return rc;
	if ((rc = parse_i64(index_s, "index", -1, &index, err)) != CF_OK ||
	    (rc = parse_i64(size_s, "tree_size", -1, &size, err)) != CF_OK)
		return rc;
	if ((rc = trail_size(v, &cur, err)) != CF_OK)
		return rc;
	if (size < 1 || size > cur || index >= size)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "need index < tree_size <= %lld (the trail's size)", (long long)cur);
	return inclusion_json(v, index, size, answer, err);
}

cf_rc cf_vault_audit_consistency(cf_vault *v, cf_request *r, const char *first_s, const char *second_s,
				 json_t **answer, cf_err *err)
{
	uint8_t proof[CF_MERKLE_MAX_PROOF][32];
	int64_t first = 0, second = 0, cur = 0;
	size_t n = 0;
	cf_tx *tx = NULL;
	json_t *h;
	cf_rc rc;

	*answer = NULL;
	if ((rc = require_auditor(v, r, "audit.proof", err)) != CF_OK)
		return rc;
	if ((rc = parse_i64(first_s, "first", -1, &first, err)) != CF_OK ||
	    (rc = parse_i64(second_s, "second", -1, &second, err)) != CF_OK)
		return rc;
	if ((rc = trail_size(v, &cur, err)) != CF_OK)
		return rc;
	if (first < 1 || first > second || second > cur)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "need 0 < first <= second <= %lld (the trail's size)",
				  (long long)cur);
	if ((rc = vault_begin_trail_read(v, &tx, err)) != CF_OK)
		return rc;
	rc = cf_merkle_consistency_proof(first, second, tx_node_get, tx, proof, &n);
	cf_tx_rollback(tx);
	if (rc != CF_OK)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "the proof cannot be computed");
	h = hashes_json(proof, n);
	if (h == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	*answer = json_pack("{s:I, s:I, s:o}", "first", (json_int_t)first, "second", (json_int_t)second, "hashes", h);
	return CF_OK;
}

/* The size stated by a checkpoint note (its second line). */
static int64_t note_size(const char *note)
{
	const char *nl = strchr(note, '\n');
	return nl ? strtoll(nl + 1, NULL, 10) : -1;
}

static json_t *get_path(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);
	return b ? json_object_get(x, b) : x;
}

/* One receipt: what the citizen may know of an entry, with the bytes and the proof to check it. */
static json_t *receipt(cf_vault *v, json_t *item, int64_t size, cf_err *err)
{
	json_t *index = json_object_get(item, "index"), *bytes = json_object_get(item, "entry"), *e, *proof = NULL, *out;
	int64_t idx = json_integer_value(index);

	e = json_loads(json_string_value(bytes), 0, NULL);
	if (e == NULL || inclusion_json(v, idx, size, &proof, err) != CF_OK) {
		json_decref(e);
		return NULL;
	}
	out = json_pack("{s:I, s:s, s:{s:O*, s:O*}, s:O*, s:{s:O*, s:O*, s:O*}, s:{s:O*, s:O*, s:O*}, s:O*, s:O*, s:O, s:o}",
			"index", (json_int_t)idx, "when", json_string_value(json_object_get(e, "time")),
			"who", "org", get_path(e, "actor", "org"), "role", get_path(e, "actor", "role"),
			"action", json_object_get(e, "action"),
			"what", "collection", get_path(e, "resource", "collection"), "record",
			get_path(e, "resource", "record"), "fields", json_object_get(e, "fields"),
			"why", "purpose", json_object_get(e, "purpose"), "legal_basis", json_object_get(e, "legal_basis"),
			"agreement", json_object_get(e, "agreement"),
			"outcome", json_object_get(e, "outcome"), "reason", json_object_get(e, "reason"),
			"entry", bytes, "inclusion_proof", proof);
	json_decref(e);
	return out;
}

cf_rc cf_vault_subject_access_log(cf_vault *v, cf_request *r, const char *org, const char *subject, json_t **answer,
				  cf_err *err)
{
	json_t *entry = vault_entry(v, r, "subject.access_log"), *list = NULL, *out = NULL, *item;
	char *note = NULL;
	cf_tx *tx = NULL;
	int64_t size;
	size_t i;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL,
			      strlen(subject) <= CF_ID_MAX ? subject : NULL);
	if (r->who.org[0] == '\0' || strcmp(r->who.org, org) != 0)
		return vault_deny(v, entry,  CF_EDENIED, r->who.org[0] ? CF_P_WRONG_ORGANIZATION : CF_P_FORBIDDEN,
				  "only the organization's data protection officer reads a subject's access report", err);
	if (!vault_has_role(&r->who, "dpo"))
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN,
				  "only the organization's data protection officer reads a subject's access report", err);
	if (strlen(subject) > CF_ID_MAX)
		return vault_deny(v, entry, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such subject", err);
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		goto out;
	rc = cf_st_subject_exists(tx, org, subject, err);
	cf_tx_rollback(tx);
	tx = NULL;
	if (rc == CF_ENOTFOUND) {
		rc = vault_deny(v, entry, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such subject", err);
		entry = NULL;
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	/* The report's own reading is recorded first: the citizen sees it in the next report. */
	cf_audit_outcome(entry, true, NULL);
	rc = cf_trail_submit(v->trail, entry, NULL, NULL, NULL, err);
	entry = NULL;
	if (rc != CF_OK)
		goto out;
	if ((rc = cf_trail_checkpoint(v->trail, &note, err)) != CF_OK)
		goto out;
	size = note_size(note);
	if ((rc = vault_begin_trail_read(v, &tx, err)) != CF_OK)
		goto out;
	rc = cf_st_audit_by_subject(tx, org, subject, MAX_ACCESS_LOG, &list, err);
	cf_tx_rollback(tx);
	tx = NULL;
	if (rc != CF_OK)
		goto out;
	out = json_array();
	json_array_foreach(list, i, item)
	{
		json_t *one;
		if (json_integer_value(json_object_get(item, "index")) >= size)
			continue;
		one = receipt(v, item, size, err);
		if (one == NULL) {
			rc = err && err->rc != CF_OK ? err->rc : CF_ENOMEM;
			goto out;
		}
		json_array_append_new(out, one);
	}
	*answer = json_pack("{s:s, s:s, s:s, s:I, s:O}", "org", org, "subject", subject, "checkpoint", note, "tree_size",
			    (json_int_t)size, "entries", out);
out:
	json_decref(entry);
	json_decref(list);
	json_decref(out);
	free(note);
	return rc;
}

cf_rc cf_vault_instance_user_add(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err)
{
	const char *username = NULL, *password = NULL;
	json_t *roles = NULL, *entry = vault_entry(v, r, "user.create"), *role;
	char hash[CF_PWHASH_STR_LEN] = "";
	char *roles_text = NULL;
	cf_tx *tx = NULL;
	int64_t uid = 0;
	size_t i, n;
	cf_rc rc;

	*answer = NULL;
	if (!r->who.is_admin)
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN, "only the instance administrator creates instance users",
				  err);
	rc = cf_json_unpack(err, "instance user", body, "{s:s, s:s, s:o}", "username", &username, "password", &password,
			    "roles", &roles);
	if (rc != CF_OK)
		goto out;
	if (!json_is_array(roles) || (n = json_array_size(roles)) == 0 || n > 2) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "roles: one or both of auditor, authority");
		goto out;
	}
	json_array_foreach(roles, i, role)
	{
		const char *s = json_string_value(role);
		if (s == NULL || (strcmp(s, CF_ROLE_AUDITOR) != 0 && strcmp(s, "authority") != 0) ||
		    (i == 1 && strcmp(s, json_string_value(json_array_get(roles, 0))) == 0)) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "roles: one or both of auditor, authority");
			goto out;
		}
	}
	if (!vault_username_valid(username)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "username: 1 to 64 of [a-z0-9._@-]");
		goto out;
	}
	if (strlen(password) < 12 || strlen(password) > 1024) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "password: 12 to 1024 characters");
		goto out;
	}
	cf_audit_set(entry, "target", username);
	if ((rc = cf_password_hash(password, strlen(password), hash)) != CF_OK ||
	    (roles_text = cf_json_dump_canonical(roles)) == NULL) {
		rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "cannot store the user");
		goto out;
	}
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK)
		goto out;
	rc = cf_st_user_insert(tx, username, hash, roles_text, cf_now_us(v->env), &uid, err);
	if (rc == CF_EEXIST)
		cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "user '%s' already exists", username);
	if (rc == CF_OK) {
		cf_audit_outcome(entry, true, NULL);
		rc = vault_audit(tx, entry, err);
		entry = NULL;
	}
	if (rc == CF_OK) {
		rc = vault_commit(tx, err);
		tx = NULL;
	}
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:O}", "username", username, "roles", roles);
out:
	cf_tx_rollback(tx);
	cf_wipe(hash, sizeof(hash));
	free(roles_text);
	json_decref(entry);
	return rc;
}

/*
 * store_sharing.c - the store's sharing agreements between organizations
 * and the organizations' confidentiality commitments with who accepted
 * which version. Agreements are stored as given: whether one applies to a
 * read (dates, status, purposes, fields) is the vault's and the policy
 * module's decision, never this file's. What the store does guarantee is
 * what SQL can: a revocation is final, agreements are never deleted, the
 * access cap is checked and counted in one statement, and every version
 * of a commitment text is kept.
 *
 * It must never build SQL from a value and never put a value (an id, a
 * legal basis, a commitment text) into an error detail.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"

#define LEGAL_BASIS_MAX 1000
#define COMMITMENT_TEXT_MAX (64u << 10)
#define DATE_LEN 10 /* YYYY-MM-DD */
#define STATUS_MAX 15

static const char *const statuses[] = {"active", "suspended", "revoked"};

/* ---- argument checks ---- */

/* Text the lists hand out inside JSON must be UTF-8: refused now, not when listed. */
#define check_id_text(v, what, err) cf_sti_check_text((v), (what), CF_ID_MAX, (err))

/* The shape YYYY-MM-DD only; whether it is a real date, and the order of the two, is the vault's check. */
static cf_rc check_date(const char *v, const char *what, cf_err *err)
{
	size_t i;

	if (v == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "store: %s is missing", what);
	for (i = 0; i < DATE_LEN; i++) {
		bool dash = (i == 4 || i == 7);

		if (dash ? v[i] != '-' : (v[i] < '0' || v[i] > '9'))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: %s must be YYYY-MM-DD", what);
	}
	if (v[DATE_LEN] != '\0')
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: %s must be YYYY-MM-DD", what);
	return CF_OK;
}

/* v may be a row's status[16]: its length is bounded before any strcmp. */
static cf_rc check_status(const char *v, cf_err *err)
{
	size_t i;
	cf_rc rc;

	rc = cf_sti_check_str(v, "agreement status", STATUS_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	for (i = 0; i < CF_ARRAY_LEN(statuses); i++)
		if (strcmp(v, statuses[i]) == 0)
			return CF_OK;
	return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
			  "store: agreement status must be active, suspended or revoked");
}

/*
 * Maps a failed write on an existing agreement: the only trigger that can
 * refuse one from this file is the revocation's (the row is revoked), a
 * conflict with the agreement's state rather than a store failure.
 */
static cf_rc agreement_fail(cf_store *s, int src, cf_err *err)
{
	if (src == SQLITE_CONSTRAINT_TRIGGER)
		return cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: the agreement is revoked; a revocation is final");
	return cf_sti_fail(s, src, "agreement", err);
}

/* ---- agreements ---- */

void cf_agreement_row_release(cf_agreement_row *a)
{
	if (a == NULL)
		return;
	free(a->fields);
	free(a->categories);
	free(a->purposes);
	free(a->legal_basis);
	memset(a, 0, sizeof(*a));
}

/*
 * The three arrays canonical (compact) into *fields, *categories and
 * *purposes, malloc'd for the caller, who frees them also on failure.
 */
static cf_rc check_agreement(const cf_agreement_row *a, char **fields, char **categories, char **purposes,
			     cf_err *err)
{
	cf_rc rc;

	rc = check_id_text(a->id, "agreement id", err);
	if (rc == CF_OK)
		rc = check_id_text(a->provider, "provider organization id", err);
	if (rc == CF_OK)
		rc = check_id_text(a->consumer, "consumer organization id", err);
	if (rc == CF_OK)
		rc = check_id_text(a->collection, "collection name", err);
	if (rc == CF_OK && strcmp(a->provider, a->consumer) == 0)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"store: an agreement's provider and consumer must differ");
	if (rc == CF_OK)
		rc = cf_sti_canonical_json(a->fields, "agreement fields", JSON_ARRAY, true, fields, err);
	if (rc == CF_OK)
		rc = cf_sti_canonical_json(a->categories, "agreement categories", JSON_ARRAY, true, categories, err);
	if (rc == CF_OK)
		rc = cf_sti_canonical_json(a->purposes, "agreement purposes", JSON_ARRAY, true, purposes, err);
	if (rc == CF_OK && strcmp(*purposes, "[]") == 0)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: an agreement names at least one purpose");
	if (rc == CF_OK)
		rc = cf_sti_check_text(a->legal_basis, "agreement legal basis", LEGAL_BASIS_MAX, err);
	if (rc == CF_OK)
		rc = check_date(a->valid_from, "agreement valid_from", err);
	if (rc == CF_OK)
		rc = check_date(a->valid_until, "agreement valid_until", err);
	if (rc == CF_OK && a->max_accesses < -1)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: agreement max_accesses must be -1 or more");
	if (rc == CF_OK)
		rc = check_status(a->status, err);
	return rc;
}

/*
 * A new agreement starts at 0 accesses (a->accesses is not read); the
 * arrays are stored in compact form. CF_EEXIST when the id is taken,
 * CF_ENOTFOUND when the provider or the consumer is not an organization.
 */
cf_rc cf_st_agreement_insert(cf_tx *tx, const cf_agreement_row *a, cf_err *err)
{
	char *fields = NULL, *categories = NULL, *purposes = NULL;
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (a == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no agreement");
	rc = check_agreement(a, &fields, &categories, &purposes, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_sti_stmt(tx, STI_AGREEMENT_INSERT, &st, err);
	if (rc != CF_OK)
		goto out;
	cf_sti_bind_text(st, &src, 1, a->id);
	cf_sti_bind_text(st, &src, 2, a->provider);
	cf_sti_bind_text(st, &src, 3, a->consumer);
	cf_sti_bind_text(st, &src, 4, a->collection);
	cf_sti_bind_text(st, &src, 5, fields);
	cf_sti_bind_text(st, &src, 6, categories);
	cf_sti_bind_text(st, &src, 7, purposes);
	cf_sti_bind_text(st, &src, 8, a->legal_basis);
	cf_sti_bind_text(st, &src, 9, a->valid_from);
	cf_sti_bind_text(st, &src, 10, a->valid_until);
	cf_sti_bind_int(st, &src, 11, a->max_accesses);
	cf_sti_bind_text(st, &src, 12, a->status);
	cf_sti_bind_int(st, &src, 13, a->created_us);
	cf_sti_bind_int(st, &src, 14, a->changed_us);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "agreement", err);
		goto out;
	}
	src = sqlite3_step(st);
	/* The written-once trigger sees a taken id before the primary key does: both mean CF_EEXIST. */
	if (src == SQLITE_CONSTRAINT_TRIGGER)
		rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: agreement already exists");
	else
		rc = (src == SQLITE_DONE) ? CF_OK : cf_sti_fail(tx->s, src, "agreement", err);
out:
	cf_sti_done(st);
	free(fields);
	free(categories);
	free(purposes);
	return rc;
}

/* Fills *out from a row of AGREEMENT_COLUMNS; the caller releases *out, also on failure. */
static cf_rc read_agreement(sqlite3_stmt *st, cf_agreement_row *out, cf_err *err)
{
	cf_rc rc;

	rc = cf_sti_col_copy(st, 0, out->id, sizeof(out->id), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 1, out->provider, sizeof(out->provider), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 2, out->consumer, sizeof(out->consumer), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 3, out->collection, sizeof(out->collection), err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 4, false, &out->fields, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 5, false, &out->categories, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 6, false, &out->purposes, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 7, false, &out->legal_basis, err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 8, out->valid_from, sizeof(out->valid_from), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 9, out->valid_until, sizeof(out->valid_until), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 12, out->status, sizeof(out->status), err);
	if (rc != CF_OK)
		return rc;
	out->max_accesses = sqlite3_column_int64(st, 10);
	out->accesses = sqlite3_column_int64(st, 11);
	out->created_us = sqlite3_column_int64(st, 13);
	out->changed_us = sqlite3_column_int64(st, 14);
	return CF_OK;
}

/* *out holds malloc'd strings: cf_agreement_row_release (also zeroed on failure). */
cf_rc cf_st_agreement_get(cf_tx *tx, const char *id, cf_agreement_row *out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(out, 0, sizeof(*out));
	rc = cf_sti_check_id(id, "agreement id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_AGREEMENT_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, id);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "agreement", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "agreement", err);
	if (rc == CF_OK)
		rc = read_agreement(st, out, err);
out:
	cf_sti_done(st);
	if (rc != CF_OK)
		cf_agreement_row_release(out);
	return rc;
}

/*
 * Any status may follow any other except after "revoked": then CF_EEXIST
 * (the SQL trigger refuses it, revoking again included).
 */
cf_rc cf_st_agreement_set_status(cf_tx *tx, const char *id, const char *status, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(id, "agreement id", err);
	if (rc == CF_OK)
		rc = check_status(status, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_AGREEMENT_SET_STATUS, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, id);
	cf_sti_bind_text(st, &src, 2, status);
	cf_sti_bind_int(st, &src, 3, now_us);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "agreement", err);
		goto out;
	}
	src = sqlite3_step(st);
	if (src != SQLITE_DONE)
		rc = agreement_fail(tx->s, src, err);
	else if (sqlite3_changes64(tx->s->db) == 0)
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "store: no such agreement");
out:
	cf_sti_done(st);
	return rc;
}

/* Tells a reached cap (CF_ETOOBIG) from a missing agreement (CF_ENOTFOUND) after the count matched no row. */
static cf_rc why_not_counted(cf_tx *tx, const char *id, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, STI_AGREEMENT_EXISTS, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "agreement", err) : cf_sti_row(tx->s, st, "agreement", err);
	cf_sti_done(st);
	if (rc == CF_OK)
		rc = cf_err_set(err, CF_ETOOBIG, CF_P_FORBIDDEN, "store: the agreement's access cap is reached");
	return rc;
}

/*
 * The store counts whatever the status (the vault checks it first) except
 * on a revoked agreement, which the trigger refuses (CF_EEXIST) unless its
 * cap is already reached (CF_ETOOBIG: no row is touched then).
 */
cf_rc cf_st_agreement_count_access(cf_tx *tx, const char *id, int64_t *accesses_out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t n = 0;
	int src = SQLITE_OK;
	cf_rc rc;

	if (accesses_out != NULL)
		*accesses_out = 0;
	rc = cf_sti_check_id(id, "agreement id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_AGREEMENT_COUNT_ACCESS, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, id);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "agreement", err);
		goto out;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		cf_sti_done(st);
		st = NULL;
		rc = why_not_counted(tx, id, err);
		goto out;
	}
	if (src != SQLITE_ROW) {
		rc = agreement_fail(tx->s, src, err);
		goto out;
	}
	n = sqlite3_column_int64(st, 0);
	rc = cf_sti_exec(tx->s, st, "agreement", err);
	if (rc == CF_OK && accesses_out != NULL)
		*accesses_out = n;
out:
	cf_sti_done(st);
	return rc;
}

/* Parses one stored array column for a list item; *out a new reference. */
static cf_rc col_array(sqlite3_stmt *st, int i, const char *what, json_t **out, cf_err *err)
{
	const char *text;
	cf_rc rc;

	*out = NULL;
	rc = cf_sti_col_text(st, i, &text, err);
	if (rc == CF_OK)
		rc = cf_sti_load_json(text, what, out, err);
	if (rc == CF_OK && !json_is_array(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: stored %s is not a JSON array", what);
	}
	return rc;
}

/* One list item from a row of AGREEMENT_COLUMNS; *item a new reference. */
static cf_rc agreement_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *text[8];
	json_t *fields = NULL, *categories = NULL, *purposes = NULL, *max = NULL;
	int64_t max_accesses = sqlite3_column_int64(st, 10);
	static const int text_cols[] = {0, 1, 2, 3, 7, 8, 9, 12};
	size_t i;
	cf_rc rc = CF_OK;

	*item = NULL;
	for (i = 0; rc == CF_OK && i < CF_ARRAY_LEN(text_cols); i++)
		rc = cf_sti_col_text(st, text_cols[i], &text[i], err);
	if (rc == CF_OK)
		rc = col_array(st, 4, "agreement fields", &fields, err);
	if (rc == CF_OK)
		rc = col_array(st, 5, "agreement categories", &categories, err);
	if (rc == CF_OK)
		rc = col_array(st, 6, "agreement purposes", &purposes, err);
	if (rc != CF_OK) {
		json_decref(fields);
		json_decref(categories);
		return rc;
	}
	max = (max_accesses == -1) ? json_null() : json_integer(max_accesses);
	/* "o" steals fields, categories, purposes and max, also when packing fails. */
	*item = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:I, s:s, s:I, s:I}", "id",
			  text[0], "provider", text[1], "consumer", text[2], "collection", text[3], "fields", fields,
			  "categories", categories, "purposes", purposes, "legal_basis", text[4], "valid_from",
			  text[5], "valid_until", text[6], "max_accesses", max, "accesses",
			  (json_int_t)sqlite3_column_int64(st, 11), "status", text[7], "created_us",
			  (json_int_t)sqlite3_column_int64(st, 13), "changed_us",
			  (json_int_t)sqlite3_column_int64(st, 14));
	if (*item == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	return CF_OK;
}

/* The statement whose leading term is an indexed equality the filters provide (see store_sql.c). */
static cf_sti_id list_statement(const char *provider, const char *consumer, const char *org)
{
	if (provider != NULL)
		return STI_AGREEMENT_LIST_PROVIDER;
	if (consumer != NULL)
		return STI_AGREEMENT_LIST_CONSUMER;
	if (org != NULL)
		return STI_AGREEMENT_LIST_ORG;
	return STI_AGREEMENT_LIST;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_agreement_list(cf_tx *tx, const char *provider, const char *consumer, const char *collection,
			   const char *org, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc = CF_OK;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	if (provider != NULL)
		rc = cf_sti_check_id(provider, "provider organization id", err);
	if (rc == CF_OK && consumer != NULL)
		rc = cf_sti_check_id(consumer, "consumer organization id", err);
	if (rc == CF_OK && collection != NULL)
		rc = cf_sti_check_id(collection, "collection name", err);
	if (rc == CF_OK && org != NULL)
		rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, list_statement(provider, consumer, org), &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, provider);
	cf_sti_bind_text(st, &src, 2, consumer);
	cf_sti_bind_text(st, &src, 3, collection);
	cf_sti_bind_text(st, &src, 4, org);
	rc = cf_sti_collect(tx, st, src, "agreement list", agreement_item, out, err);
	cf_sti_done(st);
	return rc;
}

/* ---- confidentiality commitments ---- */

/* CF_ENOTFOUND when org is not an organization. */
cf_rc cf_st_commitment_put(cf_tx *tx, const char *org, const char *text, int64_t now_us, int64_t *version_out,
			   cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t version = 0;
	int src = SQLITE_OK;
	cf_rc rc;

	if (version_out != NULL)
		*version_out = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(text, "commitment text", COMMITMENT_TEXT_MAX, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_COMMITMENT_PUT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, text);
	cf_sti_bind_int(st, &src, 3, now_us);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "commitment", err);
		goto out;
	}
	rc = cf_sti_returning(tx->s, st, "commitment", err);
	if (rc != CF_OK)
		goto out;
	version = sqlite3_column_int64(st, 0);
	rc = cf_sti_exec(tx->s, st, "commitment", err);
	if (rc == CF_OK && version_out != NULL)
		*version_out = version;
out:
	cf_sti_done(st);
	return rc;
}

/* *text (when asked for) is malloc'd for the caller; created_us is optional too. Outputs cleared on failure. */
cf_rc cf_st_commitment_current(cf_tx *tx, const char *org, int64_t *version, char **text, int64_t *created_us,
			       cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (version == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*version = 0;
	if (text != NULL)
		*text = NULL;
	if (created_us != NULL)
		*created_us = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_COMMITMENT_CURRENT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "commitment", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "commitment", err);
	if (rc == CF_OK && text != NULL)
		rc = cf_sti_col_dup(st, 1, false, text, err);
	if (rc != CF_OK)
		goto out;
	*version = sqlite3_column_int64(st, 0);
	if (created_us != NULL)
		*created_us = sqlite3_column_int64(st, 2);
out:
	cf_sti_done(st);
	return rc;
}

/*
 * Accepting the same version again keeps the first acceptance (and its
 * time). CF_ENOTFOUND when the user or that version of the org's text
 * does not exist.
 */
cf_rc cf_st_commitment_accept(cf_tx *tx, int64_t user_id, const char *org, int64_t version, int64_t now_us,
			      cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	if (version < 1)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: commitment version must be at least 1");
	rc = cf_sti_stmt(tx, STI_COMMITMENT_ACCEPT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_int(st, &src, 3, version);
	cf_sti_bind_int(st, &src, 4, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "commitment acceptance", err)
				: cf_sti_exec(tx->s, st, "commitment acceptance", err);
	cf_sti_done(st);
	return rc;
}

/* accepted_us is optional. Outputs cleared on failure. */
cf_rc cf_st_commitment_accepted(cf_tx *tx, int64_t user_id, const char *org, int64_t *version, int64_t *accepted_us,
				cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (version == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*version = 0;
	if (accepted_us != NULL)
		*accepted_us = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_COMMITMENT_ACCEPTED, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "commitment acceptance", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "commitment acceptance", err);
	if (rc != CF_OK)
		goto out;
	*version = sqlite3_column_int64(st, 0);
	if (accepted_us != NULL)
		*accepted_us = sqlite3_column_int64(st, 1);
out:
	cf_sti_done(st);
	return rc;
}

/*
 * store_retention.c - the store's side of retention: the pages of records
 * a sweeper reads to find those past their retention period (by creation
 * or last update time), how many records a subject still has, every
 * collection definition of the instance, and disposal records, one per
 * sweep batch. Which records have expired, whether a hold keeps one and
 * the deletion itself are the vault's work (cf_st_record_delete), never
 * this file's. What the store guarantees is what SQL can: a disposal
 * record is written once and never changed or deleted.
 *
 * It must never build SQL from a value (the cut-off column is chosen
 * between fixed statements), never put a value (an id, a pseudonym, a
 * column name given by the caller) into an error detail, and never store a
 * disposal record that carries anything but record ids, pseudonyms and
 * expiry times.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"

#define SCAN_COLUMN_MAX 16       /* "created" / "updated", with room to refuse longer names by length */
#define DISPOSAL_LIST_MAX 1000   /* disposal records in one list answer */
#define RETENTION_TEXT_MAX CF_ID_MAX /* "P10Y", "created", a date field name */

/* Ids the lists hand out inside JSON must be UTF-8: refused when stored, not when listed. */
#define check_id_text(v, what, err) cf_sti_check_text((v), (what), CF_ID_MAX, (err))

/* ---- record scan ---- */

/*
 * The statement for a cut-off column: NULL -> none, "created" or
 * "updated" -> its fixed statement. The caller's text is compared, never
 * used: anything else is CF_EINVAL, with a detail that does not repeat it.
 */
static cf_rc scan_statement(const char *column, cf_sti_id *id, cf_err *err)
{
	cf_rc rc;

	if (column == NULL) {
		*id = STI_RECORD_SCAN;
		return CF_OK;
	}
	rc = cf_sti_check_str(column, "scan column", SCAN_COLUMN_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	if (strcmp(column, "created") == 0)
		*id = STI_RECORD_SCAN_CREATED;
	else if (strcmp(column, "updated") == 0)
		*id = STI_RECORD_SCAN_UPDATED;
	else
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "store: the scan column must be created or updated");
	return CF_OK;
}

/* One scan item from a records row; *item a new reference. */
static cf_rc scan_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *id, *subject;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &id, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 1, &subject, err);
	if (rc != CF_OK)
		return rc;
	*item = json_pack("{s:s, s:s, s:I, s:I, s:I}", "id", id, "subject", subject, "version",
			  (json_int_t)sqlite3_column_int64(st, 2), "created_us", (json_int_t)sqlite3_column_int64(st, 3),
			  "updated_us", (json_int_t)sqlite3_column_int64(st, 4));
	if (*item == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	return CF_OK;
}

/*
 * *out is a new reference for the caller. The answer is held in memory:
 * limit is capped at CF_STI_LIST_MAX, and the next page starts after the
 * last id of this one.
 */
cf_rc cf_st_record_scan(cf_tx *tx, const char *org, const char *collection, const char *column, int64_t before_us,
			const char *after_id, size_t limit, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	cf_sti_id id = STI_RECORD_SCAN;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(collection, "collection name", err);
	if (rc == CF_OK)
		rc = scan_statement(column, &id, err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(after_id, "scan start id", CF_ID_MAX, true, err);
	if (rc != CF_OK)
		return rc;
	if (limit < 1 || limit > CF_STI_LIST_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: a scan limit must be 1 to %d",
				  CF_STI_LIST_MAX);
	rc = cf_sti_stmt(tx, id, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, collection);
	cf_sti_bind_text(st, &src, 3, after_id);
	if (id != STI_RECORD_SCAN)
		cf_sti_bind_int(st, &src, 4, before_us);
	cf_sti_bind_int(st, &src, 5, (int64_t)limit); /* capped above */
	rc = cf_sti_collect(tx, st, src, "record scan", scan_item, out, err);
	cf_sti_done(st);
	return rc;
}

/* *count is 0 unless CF_OK; a subject with no records (or none at all) counts 0. */
cf_rc cf_st_subject_record_count(cf_tx *tx, const char *org, const char *subject, int64_t *count, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (count == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*count = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(subject, "pseudonym", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBJECT_RECORD_COUNT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, subject);
	/* count(*) always answers one row: none is a store failure, not "not found". */
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record count", err)
				: cf_sti_returning(tx->s, st, "record count", err);
	if (rc == CF_OK)
		*count = sqlite3_column_int64(st, 0);
	cf_sti_done(st);
	return rc;
}

/* ---- collections of the whole instance ---- */

/* One item from a collections row; *item a new reference. */
static cf_rc collection_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *org, *name, *def;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &org, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 1, &name, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 2, &def, err);
	if (rc != CF_OK)
		return rc;
	*item = json_pack("{s:s, s:s, s:s}", "org", org, "name", name, "def", def);
	if (*item == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	return CF_OK;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_collection_list_all(cf_tx *tx, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_stmt(tx, STI_COLLECTION_LIST_ALL, &st, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_collect(tx, st, SQLITE_OK, "collection list", collection_item, out, err);
	cf_sti_done(st);
	return rc;
}

/* ---- disposal records ---- */

/* A required string member of a disposal item: 1..CF_ID_MAX bytes (jansson already checked UTF-8). */
static bool id_member(const json_t *item, const char *key)
{
	const json_t *v = json_object_get(item, key);
	size_t len;

	if (!json_is_string(v))
		return false;
	len = json_string_length(v);
	return len >= 1 && len <= CF_ID_MAX;
}

/*
 * One disposal item: "id" and "subject" (ids), "expired_us" (an integer)
 * and, optionally, "subject_forgotten" (a boolean: the sweep also forgot the
 * subject); no other member, so no value can ride along.
 */
static bool disposal_item_ok(const json_t *item)
{
	size_t members = 3;

	if (!json_is_object(item) || !id_member(item, "id") || !id_member(item, "subject") ||
	    !json_is_integer(json_object_get(item, "expired_us")))
		return false;
	if (json_object_get(item, "subject_forgotten") != NULL) {
		if (!json_is_boolean(json_object_get(item, "subject_forgotten")))
			return false;
		members++;
	}
	return json_object_size(item) == members;
}

/*
 * records_json as stored: a JSON array of exactly `count` items, each
 * accepted by disposal_item_ok; re-serialized compact with sorted keys
 * into *out (malloc'd for the caller). A value in the text cannot get past
 * the shape check, and the detail never quotes the text.
 */
static cf_rc canonical_records(const char *text, int64_t count, char **out, cf_err *err)
{
	json_error_t jerr;
	json_t *j = NULL, *item;
	size_t i;
	cf_rc rc;

	*out = NULL;
	rc = cf_sti_check_str(text, "disposal records", CF_STI_JSON_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_array(j)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: disposal records must be a JSON array");
		goto out;
	}
	if ((uint64_t)count != (uint64_t)json_array_size(j)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"store: a disposal count must be the number of its records");
		goto out;
	}
	json_array_foreach(j, i, item) {
		if (!disposal_item_ok(item)) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"store: each disposal record must be {id, subject, expired_us}");
			goto out;
		}
	}
	*out = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (*out == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	rc = CF_OK;
out:
	json_decref(j);
	return rc;
}

static cf_rc check_disposal(const cf_disposal_row *d, cf_err *err)
{
	cf_rc rc;

	rc = cf_sti_check_id(d->org, "organization id", err);
	if (rc == CF_OK)
		rc = check_id_text(d->id, "disposal id", err);
	if (rc == CF_OK)
		rc = check_id_text(d->collection, "collection name", err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(d->retention, "retention", RETENTION_TEXT_MAX, err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(d->retention_start, "retention start", RETENTION_TEXT_MAX, err);
	if (rc != CF_OK)
		return rc;
	if (d->count < 1)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: a disposal count must be at least 1");
	if (d->audit_index < 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: a disposal audit index must not be negative");
	return CF_OK;
}

/*
 * Written once: CF_EEXIST when the id is taken in the organization (even
 * by INSERT OR REPLACE: the trigger answers first), CF_ENOTFOUND when the
 * organization is missing.
 */
cf_rc cf_st_disposal_insert(cf_tx *tx, const cf_disposal_row *d, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	char *records = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (d == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no disposal record");
	rc = check_disposal(d, err);
	if (rc == CF_OK)
		rc = canonical_records(d->records_json, d->count, &records, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_sti_stmt(tx, STI_DISPOSAL_INSERT, &st, err);
	if (rc != CF_OK)
		goto out;
	cf_sti_bind_text(st, &src, 1, d->org);
	cf_sti_bind_text(st, &src, 2, d->id);
	cf_sti_bind_text(st, &src, 3, d->collection);
	cf_sti_bind_text(st, &src, 4, d->retention);
	cf_sti_bind_text(st, &src, 5, d->retention_start);
	cf_sti_bind_int(st, &src, 6, d->disposed_us);
	cf_sti_bind_int(st, &src, 7, d->count);
	cf_sti_bind_text(st, &src, 8, records);
	cf_sti_bind_int(st, &src, 9, d->audit_index);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "disposal record", err);
		goto out;
	}
	src = sqlite3_step(st);
	/* The written-once trigger sees a taken id before the primary key does: both mean CF_EEXIST. */
	if (src == SQLITE_CONSTRAINT_TRIGGER)
		rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: disposal record already exists");
	else
		rc = (src == SQLITE_DONE) ? CF_OK : cf_sti_fail(tx->s, src, "disposal record", err);
out:
	/* Reset before freeing: the statement binds records without a copy. */
	cf_sti_done(st);
	free(records);
	return rc;
}

/* One list item from a disposals row, its records parsed; *item a new reference. */
static cf_rc disposal_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *id, *collection, *retention, *retention_start, *text;
	json_t *records = NULL;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &id, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 1, &collection, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 2, &retention, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 3, &retention_start, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 6, &text, err);
	if (rc == CF_OK)
		rc = cf_sti_load_json(text, "disposal records", &records, err);
	if (rc != CF_OK)
		return rc;
	/* "o" steals records, also when packing fails. */
	*item = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:I}", "id", id, "collection", collection, "retention",
			  retention, "retention_start", retention_start, "disposed_us",
			  (json_int_t)sqlite3_column_int64(st, 4), "count", (json_int_t)sqlite3_column_int64(st, 5),
			  "records", records, "audit_index", (json_int_t)sqlite3_column_int64(st, 7));
	if (*item == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	return CF_OK;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_disposal_list(cf_tx *tx, const char *org, size_t limit, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	if (limit < 1 || limit > DISPOSAL_LIST_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: a disposal list limit must be 1 to %d",
				  DISPOSAL_LIST_MAX);
	rc = cf_sti_stmt(tx, STI_DISPOSAL_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_int(st, &src, 2, (int64_t)limit); /* capped above */
	rc = cf_sti_collect(tx, st, src, "disposal list", disposal_item, out, err);
	cf_sti_done(st);
	return rc;
}

/* ---- what the register and the datasets read ---- */

cf_rc cf_st_collection_record_count(cf_tx *tx, const char *org, const char *collection, int64_t *count, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (count == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*count = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(collection, "collection name", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_COLLECTION_RECORD_COUNT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, collection);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record count", err)
				: cf_sti_returning(tx->s, st, "record count", err);
	if (rc == CF_OK)
		*count = sqlite3_column_int64(st, 0);
	cf_sti_done(st);
	return rc;
}

static cf_rc subject_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *pseudonym;
	cf_rc rc = cf_sti_col_text(st, 0, &pseudonym, err);

	*item = NULL;
	if (rc != CF_OK)
		return rc;
	*item = json_pack("{s:s, s:b}", "pseudonym", pseudonym, "erased", sqlite3_column_int(st, 1) != 0);
	if (*item == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	return CF_OK;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_subject_list(cf_tx *tx, const char *org, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBJECT_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	rc = cf_sti_collect(tx, st, src, "subject list", subject_item, out, err);
	cf_sti_done(st);
	return rc;
}

/* *enc is malloc'd for the caller. */
cf_rc cf_st_subject_enc_nid(cf_tx *tx, const char *org, const char *pseudonym, uint8_t **enc, size_t *len,
			    cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (enc == NULL || len == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*enc = NULL;
	*len = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(pseudonym, "pseudonym", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBJECT_ENC_NID, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, pseudonym);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "subject", err) : cf_sti_row(tx->s, st, "subject", err);
	if (rc == CF_OK)
		rc = cf_sti_col_blob(st, 0, enc, len, err);
	cf_sti_done(st);
	return rc;
}

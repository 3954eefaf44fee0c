/*
 * store_data.c - the store's personal-data side: collection definitions,
 * role grants, subjects (blind index -> pseudonym), versioned records with
 * one ciphertext per field and the time each version was written (their
 * rectification history), and the keystore in keys.db (the audit trail
 * is in store_audit.c; retention scans and disposals in
 * store_retention.c). It stores what it is given - ciphertexts,
 * pseudonyms, blind indexes, wrapped keys - and must never receive, log or
 * put into an error detail a plaintext personal value or a key.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"

#define BLIND_INDEX_MAX 128

/* ---- collections ---- */

cf_rc cf_st_collection_put(cf_tx *tx, const char *org, const char *name, const char *def_json, int64_t now_us,
			   int64_t *version_out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (version_out != NULL)
		*version_out = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(name, "collection name", err);
	if (rc == CF_OK)
		rc = cf_sti_check_json(def_json, "collection definition", JSON_OBJECT, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_COLLECTION_PUT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, name);
	cf_sti_bind_text(st, &src, 3, def_json);
	cf_sti_bind_int(st, &src, 4, now_us);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "collection", err);
		goto out;
	}
	rc = cf_sti_returning(tx->s, st, "collection", err);
	if (rc != CF_OK)
		goto out;
	if (version_out != NULL)
		*version_out = sqlite3_column_int64(st, 0);
	rc = cf_sti_exec(tx->s, st, "collection", err);
out:
	cf_sti_done(st);
	return rc;
}

/* *def_json is malloc'd for the caller. */
cf_rc cf_st_collection_get(cf_tx *tx, const char *org, const char *name, char **def_json, int64_t *version,
			   cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (def_json == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*def_json = NULL;
	if (version != NULL)
		*version = 0;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(name, "collection name", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_COLLECTION_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, name);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "collection", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "collection", err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 0, false, def_json, err);
	if (rc == CF_OK && version != NULL)
		*version = sqlite3_column_int64(st, 1);
out:
	cf_sti_done(st);
	return rc;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_collection_list(cf_tx *tx, const char *org, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	const char *name;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_COLLECTION_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "collection list", err);
		goto out;
	}
	arr = json_array();
	if (arr == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = cf_sti_col_text(st, 0, &name, err);
		if (rc == CF_OK)
			rc = cf_sti_append(arr,
					   json_pack("{s:s, s:I, s:I}", "name", name, "version",
						     (json_int_t)sqlite3_column_int64(st, 1), "updated_us",
						     (json_int_t)sqlite3_column_int64(st, 2)),
					   err);
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, "collection list", err);
		goto out;
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	cf_sti_done(st);
	return rc;
}

/* ---- grants ---- */

cf_rc cf_st_grants_put(cf_tx *tx, const char *org, const char *role, const char *grants_json, int64_t now_us,
		       cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(role, "role", err);
	if (rc == CF_OK)
		rc = cf_sti_check_json(grants_json, "grants", JSON_ARRAY, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_GRANTS_PUT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, role);
	cf_sti_bind_text(st, &src, 3, grants_json);
	cf_sti_bind_int(st, &src, 4, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "grants", err) : cf_sti_exec(tx->s, st, "grants", err);
	cf_sti_done(st);
	return rc;
}

/* *grants_json is malloc'd for the caller. */
cf_rc cf_st_grants_get(cf_tx *tx, const char *org, const char *role, char **grants_json, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (grants_json == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*grants_json = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(role, "role", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_GRANTS_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, role);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "grants", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "grants", err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 0, false, grants_json, err);
out:
	cf_sti_done(st);
	return rc;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_grants_list(cf_tx *tx, const char *org, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *obj = NULL, *grants = NULL;
	const char *role, *text;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_GRANTS_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "grants list", err);
		goto out;
	}
	obj = json_object();
	if (obj == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = cf_sti_col_text(st, 0, &role, err);
		if (rc == CF_OK)
			rc = cf_sti_col_text(st, 1, &text, err);
		if (rc == CF_OK)
			rc = cf_sti_load_json(text, "grants", &grants, err);
		if (rc != CF_OK)
			goto out;
		if (json_object_set_new(obj, role, grants) != 0) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
			goto out;
		}
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, "grants list", err);
		goto out;
	}
	*out = obj;
	obj = NULL;
out:
	json_decref(obj);
	cf_sti_done(st);
	return rc;
}

/* ---- subjects ---- */

cf_rc cf_st_subject_find(cf_tx *tx, const char *org, const char *blind_index, char pseudonym[CF_ID_MAX + 1],
			 cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (pseudonym == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	pseudonym[0] = '\0';
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(blind_index, "blind index", BLIND_INDEX_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBJECT_FIND, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, blind_index);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "subject", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "subject", err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 0, pseudonym, CF_ID_MAX + 1, err);
out:
	cf_sti_done(st);
	return rc;
}

/* CF_EEXIST when the pseudonym or the blind index is already taken in this organization. */
cf_rc cf_st_subject_insert(cf_tx *tx, const char *org, const char *pseudonym, const char *blind_index,
			   const uint8_t *enc_nid, size_t enc_len, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(pseudonym, "pseudonym", err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(blind_index, "blind index", BLIND_INDEX_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	if ((enc_nid == NULL && enc_len > 0) || enc_len > CF_STI_BLOB_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: encrypted identifier is invalid");
	rc = cf_sti_stmt(tx, STI_SUBJECT_INSERT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, pseudonym);
	cf_sti_bind_text(st, &src, 3, blind_index);
	cf_sti_bind_blob(st, &src, 4, enc_nid, enc_len);
	cf_sti_bind_int(st, &src, 5, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "subject", err) : cf_sti_exec(tx->s, st, "subject", err);
	cf_sti_done(st);
	return rc;
}

/* CF_OK when the subject exists in the organization, CF_ENOTFOUND otherwise. */
cf_rc cf_st_subject_exists(cf_tx *tx, const char *org, const char *pseudonym, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(pseudonym, "pseudonym", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBJECT_EXISTS, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, pseudonym);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "subject", err) : cf_sti_row(tx->s, st, "subject", err);
	cf_sti_done(st);
	return rc;
}

/* ---- records ---- */

void cf_field_cts_free(cf_field_ct *f, size_t n)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(f[i].name);
		free(f[i].ct);
	}
	free(f);
}

static cf_rc check_record_key(const char *org, const char *collection, const char *id, cf_err *err)
{
	cf_rc rc = cf_sti_check_id(org, "organization id", err);

	if (rc == CF_OK)
		rc = cf_sti_check_id(collection, "collection name", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "record id", err);
	return rc;
}

static cf_rc check_fields(const cf_field_ct *fields, size_t n, cf_err *err)
{
	size_t i;
	cf_rc rc;

	if (n > CF_STI_FIELDS_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "store: a record has more than %d fields",
				  CF_STI_FIELDS_MAX);
	if (n > 0 && fields == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no fields");
	for (i = 0; i < n; i++) {
		rc = cf_sti_check_id(fields[i].name, "field name", err);
		if (rc != CF_OK)
			return rc;
		if ((fields[i].ct == NULL && fields[i].len > 0) || fields[i].len > CF_STI_BLOB_MAX)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: a field ciphertext is invalid");
	}
	return CF_OK;
}

/*
 * A version's field ciphertexts are stored packed, one blob per version
 * (record_cts.cts, named by record_versions.cts_id, the current version's
 * also by records.cts_id; a version without fields has none). For each
 * field, in ascending byte order of the names, no name twice:
 *   1 byte   the name's length k, 1 .. CF_ID_MAX
 *   k bytes  the name (no NUL)
 *   4 bytes  the ciphertext's length m, big-endian, at most CF_STI_BLOB_MAX
 *   m bytes  the ciphertext
 * and nothing after the last field. Unpacking refuses anything else as
 * damage. The blob holds ciphertexts and field names, never a plaintext.
 */
#define PACK_NAME_LEN 1
#define PACK_CT_LEN 4

static int cmp_field_name(const void *a, const void *b)
{
	return strcmp((*(const cf_field_ct *const *)a)->name, (*(const cf_field_ct *const *)b)->name);
}

/*
 * The packed form of fields[0..n) (n >= 1, names checked by check_fields)
 * into a malloc'd *out. CF_EEXIST for a name given twice, CF_EINVAL past
 * CF_STI_CTS_MAX bytes.
 */
static cf_rc pack_fields(const cf_field_ct *fields, size_t n, uint8_t **out, size_t *len, cf_err *err)
{
	const cf_field_ct **order;
	size_t total = 0, bytes;
	uint8_t *buf, *p;
	cf_rc rc = CF_OK;

	*out = NULL;
	*len = 0;
	if (!cf_size_mul(n, sizeof(*order), &bytes))
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	order = malloc(bytes);
	if (order == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	for (size_t i = 0; i < n; i++)
		order[i] = &fields[i];
	qsort(order, n, sizeof(*order), cmp_field_name);
	for (size_t i = 0; i < n && rc == CF_OK; i++) {
		size_t one = PACK_NAME_LEN + strlen(order[i]->name) + PACK_CT_LEN + order[i]->len;
		if (i > 0 && strcmp(order[i - 1]->name, order[i]->name) == 0)
			rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: a field is given twice");
		else if (!cf_size_add(total, one, &total) || total > CF_STI_CTS_MAX)
			rc = cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG,
					"store: a record's ciphertexts are larger than %u bytes", CF_STI_CTS_MAX);
	}
	buf = rc == CF_OK ? malloc(total) : NULL;
	if (rc == CF_OK && buf == NULL)
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	if (rc != CF_OK) {
		free(order);
		return rc;
	}
	p = buf;
	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(order[i]->name), m = order[i]->len;
		*p++ = (uint8_t)k;
		memcpy(p, order[i]->name, k);
		p += k;
		*p++ = (uint8_t)(m >> 24);
		*p++ = (uint8_t)(m >> 16);
		*p++ = (uint8_t)(m >> 8);
		*p++ = (uint8_t)m;
		if (m > 0)
			memcpy(p, order[i]->ct, m);
		p += m;
	}
	free(order);
	*out = buf;
	*len = total;
	return CF_OK;
}

static cf_rc damaged(cf_err *err)
{
	return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a record's stored ciphertexts are malformed");
}

/* The fields of a packed blob into a malloc'd array (cf_field_cts_free); CF_EINTEGRITY when malformed. */
static cf_rc unpack_fields(const uint8_t *b, size_t len, cf_field_ct **out, size_t *n_out, cf_err *err)
{
	cf_field_ct *f = NULL;
	size_t n = 0, pos = 0, bytes;
	cf_rc rc = CF_OK;

	*out = NULL;
	*n_out = 0;
	while (pos < len && rc == CF_OK) {
		size_t k = b[pos], m;

		if (n == CF_STI_FIELDS_MAX || k == 0 || k > CF_ID_MAX || len - pos - PACK_NAME_LEN < k + PACK_CT_LEN ||
		    memchr(b + pos + PACK_NAME_LEN, 0, k) != NULL) {
			rc = damaged(err);
			break;
		}
		pos += PACK_NAME_LEN;
		m = (size_t)b[pos + k] << 24 | (size_t)b[pos + k + 1] << 16 | (size_t)b[pos + k + 2] << 8 |
		    (size_t)b[pos + k + 3];
		if (m > CF_STI_BLOB_MAX || len - pos - k - PACK_CT_LEN < m) {
			rc = damaged(err);
			break;
		}
		if (n % 8 == 0) {
			cf_field_ct *grown;
			if (!cf_size_mul(n + 8, sizeof(*f), &bytes) || (grown = realloc(f, bytes)) == NULL) {
				rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
				break;
			}
			f = grown;
		}
		memset(&f[n], 0, sizeof(f[n]));
		f[n].name = malloc(k + 1);
		f[n].ct = malloc(m + 1); /* one extra byte: malloc(0) is avoided */
		n++;
		if (f[n - 1].name == NULL || f[n - 1].ct == NULL) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
			break;
		}
		memcpy(f[n - 1].name, b + pos, k);
		f[n - 1].name[k] = '\0';
		if (m > 0)
			memcpy(f[n - 1].ct, b + pos + k + PACK_CT_LEN, m);
		f[n - 1].len = m;
		pos += k + PACK_CT_LEN + m;
		/* ascending, no name twice: what pack_fields writes */
		if (n > 1 && strcmp(f[n - 2].name, f[n - 1].name) >= 0)
			rc = damaged(err);
	}
	if (rc != CF_OK) {
		cf_field_cts_free(f, n);
		return rc;
	}
	*out = f;
	*n_out = n;
	return CF_OK;
}

/* The fields of a stored blob column (NULL: none). */
static cf_rc col_fields(sqlite3_stmt *st, int i, cf_field_ct **out, size_t *n, cf_err *err)
{
	const void *p;
	size_t len;

	*out = NULL;
	*n = 0;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return CF_OK;
	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return damaged(err);
	p = sqlite3_column_blob(st, i);
	len = (size_t)sqlite3_column_bytes(st, i);
	if (p == NULL && len > 0)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory reading a column");
	return len == 0 ? CF_OK : unpack_fields(p, len, out, n, err);
}

/* Stores fields[0..n) packed; *id is the blob's row, 0 when there is no field. */
static cf_rc insert_cts(cf_tx *tx, const cf_field_ct *fields, size_t n, int64_t *id, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	uint8_t *blob = NULL;
	size_t len = 0;
	int src = SQLITE_OK;
	cf_rc rc;

	*id = 0;
	if (n == 0)
		return CF_OK;
	rc = pack_fields(fields, n, &blob, &len, err);
	if (rc == CF_OK)
		rc = cf_sti_stmt(tx, STI_CTS_INSERT, &st, err);
	if (rc == CF_OK) {
		cf_sti_bind_blob(st, &src, 1, blob, len);
		rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record ciphertexts", err)
					: cf_sti_exec(tx->s, st, "record ciphertexts", err);
		if (rc == CF_OK)
			*id = sqlite3_last_insert_rowid(tx->s->db);
		cf_sti_done(st);
	}
	free(blob);
	return rc;
}

/* Binds a blob's row (0: none, NULL) at i. */
static void bind_cts_id(sqlite3_stmt *st, int *src, int i, int64_t cts_id)
{
	if (cts_id != 0)
		cf_sti_bind_int(st, src, i, cts_id);
	else
		cf_sti_bind_text(st, src, i, NULL);
}

/* Records row->version: when it was written (the history's time of that version) and its blob's row. */
static cf_rc insert_version(cf_tx *tx, const cf_record_row *row, int64_t written_us, int64_t cts_id, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, STI_VERSION_INSERT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, row->org);
	cf_sti_bind_text(st, &src, 2, row->collection);
	cf_sti_bind_text(st, &src, 3, row->id);
	cf_sti_bind_int(st, &src, 4, row->version);
	cf_sti_bind_int(st, &src, 5, written_us);
	bind_cts_id(st, &src, 6, cts_id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record version", err)
				: cf_sti_exec(tx->s, st, "record version", err);
	cf_sti_done(st);
	return rc;
}

/* Removes the blob of row id (0: none). */
static cf_rc cts_delete_one(cf_tx *tx, int64_t id, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (id == 0)
		return CF_OK;
	rc = cf_sti_stmt(tx, STI_CTS_DELETE_ONE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record ciphertexts", err)
				: cf_sti_exec(tx->s, st, "record ciphertexts", err);
	cf_sti_done(st);
	return rc;
}

cf_rc cf_st_record_insert(cf_tx *tx, const cf_record_row *row, const cf_field_ct *fields, size_t n, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t cts_id;
	int src = SQLITE_OK;
	cf_rc rc;

	if (row == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no record");
	rc = check_record_key(row->org, row->collection, row->id, err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(row->subject, "pseudonym", err);
	if (rc == CF_OK)
		rc = check_fields(fields, n, err);
	if (rc != CF_OK)
		return rc;
	if (row->version < 1)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: record version must be at least 1");
	/* the blob first: the row names it */
	rc = insert_cts(tx, fields, n, &cts_id, err);
	if (rc == CF_OK)
		rc = cf_sti_stmt(tx, STI_RECORD_INSERT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, row->org);
	cf_sti_bind_text(st, &src, 2, row->collection);
	cf_sti_bind_text(st, &src, 3, row->id);
	cf_sti_bind_text(st, &src, 4, row->subject);
	cf_sti_bind_int(st, &src, 5, row->version);
	cf_sti_bind_int(st, &src, 6, row->created_us);
	cf_sti_bind_int(st, &src, 7, row->updated_us);
	bind_cts_id(st, &src, 8, cts_id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record", err) : cf_sti_exec(tx->s, st, "record", err);
	cf_sti_done(st);
	if (rc != CF_OK) {
		/* refused (the id is taken): the blob goes, whatever the caller does with the transaction */
		(void)cts_delete_one(tx, cts_id, NULL);
		return rc;
	}
	return insert_version(tx, row, row->created_us, cts_id, err);
}

/* *fields is malloc'd (cf_field_cts_free); on failure *fields is NULL and *n 0. */
cf_rc cf_st_record_get(cf_tx *tx, const char *org, const char *collection, const char *id, cf_record_row *row,
		       cf_field_ct **fields, size_t *n, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (row == NULL || fields == NULL || n == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(row, 0, sizeof(*row));
	*fields = NULL;
	*n = 0;
	rc = check_record_key(org, collection, id, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_RECORD_READ, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, collection);
	cf_sti_bind_text(st, &src, 3, id);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "record", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "record", err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 0, row->subject, sizeof(row->subject), err);
	/* a blob named but missing is damage, not a version without fields */
	if (rc == CF_OK && sqlite3_column_type(st, 4) != SQLITE_NULL && sqlite3_column_type(st, 5) == SQLITE_NULL)
		rc = damaged(err);
	if (rc == CF_OK)
		rc = col_fields(st, 5, fields, n, err);
	if (rc != CF_OK)
		goto out;
	/* The key was checked against CF_ID_MAX above: these copies fit. */
	memcpy(row->org, org, strlen(org) + 1);
	memcpy(row->collection, collection, strlen(collection) + 1);
	memcpy(row->id, id, strlen(id) + 1);
	row->version = sqlite3_column_int64(st, 1);
	row->created_us = sqlite3_column_int64(st, 2);
	row->updated_us = sqlite3_column_int64(st, 3);
out:
	cf_sti_done(st);
	if (rc != CF_OK) {
		cf_field_cts_free(*fields, *n);
		*fields = NULL;
		*n = 0;
		memset(row, 0, sizeof(*row));
	}
	return rc;
}

/* Tells a stale version (CF_EEXIST) from a missing record (CF_ENOTFOUND). */
static cf_rc why_no_bump(cf_tx *tx, const cf_record_row *row, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, STI_RECORD_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, row->org);
	cf_sti_bind_text(st, &src, 2, row->collection);
	cf_sti_bind_text(st, &src, 3, row->id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record", err) : cf_sti_row(tx->s, st, "record", err);
	cf_sti_done(st);
	if (rc == CF_OK)
		rc = cf_err_set(err, CF_EEXIST, CF_P_VERSION_CONFLICT,
				"store: the record is not at the version before the one given");
	return rc;
}

cf_rc cf_st_record_update(cf_tx *tx, const cf_record_row *row, const cf_field_ct *fields, size_t n, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t cts_id;
	int src = SQLITE_OK;
	cf_rc rc;

	if (row == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no record");
	rc = check_record_key(row->org, row->collection, row->id, err);
	if (rc == CF_OK)
		rc = check_fields(fields, n, err);
	if (rc != CF_OK)
		return rc;
	if (row->version < 1)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: record version must be at least 1");
	/* the blob first: the bump names it */
	rc = insert_cts(tx, fields, n, &cts_id, err);
	if (rc == CF_OK)
		rc = cf_sti_stmt(tx, STI_RECORD_BUMP, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, row->org);
	cf_sti_bind_text(st, &src, 2, row->collection);
	cf_sti_bind_text(st, &src, 3, row->id);
	cf_sti_bind_int(st, &src, 4, row->version);
	cf_sti_bind_int(st, &src, 5, row->updated_us);
	bind_cts_id(st, &src, 6, cts_id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record", err) : cf_sti_exec(tx->s, st, "record", err);
	cf_sti_done(st);
	if (rc == CF_OK && sqlite3_changes64(tx->s->db) == 0) {
		/* no such record at that version: the blob goes, whatever the caller does with the transaction */
		rc = cts_delete_one(tx, cts_id, err);
		if (rc == CF_OK)
			rc = why_no_bump(tx, row, err);
		return rc;
	}
	if (rc != CF_OK)
		return rc;
	return insert_version(tx, row, row->updated_us, cts_id, err);
}

/* Runs one of a record's deletes (statement id, keyed ?1 org, ?2 collection, ?3 id). */
static cf_rc delete_of_record(cf_tx *tx, cf_sti_id id, const char *what, const char *org, const char *collection,
			      const char *rid, int64_t *changed, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, id, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, collection);
	cf_sti_bind_text(st, &src, 3, rid);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, what, err) : cf_sti_exec(tx->s, st, what, err);
	*changed = sqlite3_changes64(tx->s->db);
	cf_sti_done(st);
	return rc;
}

cf_rc cf_st_record_delete(cf_tx *tx, const char *org, const char *collection, const char *id, cf_err *err)
{
	int64_t changed = 0;
	cf_rc rc;

	rc = check_record_key(org, collection, id, err);
	if (rc != CF_OK)
		return rc;
	/*
	 * Children first: the ciphertexts are found through the versions that
	 * name them, and the foreign keys refuse a record row removed before
	 * its versions.
	 */
	rc = delete_of_record(tx, STI_CTS_DELETE, "record ciphertexts", org, collection, id, &changed, err);
	if (rc == CF_OK)
		rc = delete_of_record(tx, STI_VERSIONS_DELETE, "record versions", org, collection, id, &changed, err);
	if (rc == CF_OK)
		rc = delete_of_record(tx, STI_RECORD_DELETE, "record", org, collection, id, &changed, err);
	if (rc == CF_OK && changed == 0)
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "store: no such record");
	return rc;
}

/* ---- schema version 3: one blob per version ---- */

/* The version being gathered by the migration: its key and its fields so far. */
typedef struct gather {
	char org[CF_ID_MAX + 1], collection[CF_ID_MAX + 1], id[CF_ID_MAX + 1];
	int64_t version;
	cf_field_ct *f;
	size_t n, cap;
} gather;

/* Stores the gathered version's blob and names it from its version row (the step's "before" made one). */
static cf_rc flush_gathered(cf_store *s, sqlite3_stmt *ins, sqlite3_stmt *upd, gather *g, cf_err *err)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	int src = SQLITE_OK;
	cf_rc rc;

	if (g->n == 0)
		return CF_OK;
	rc = pack_fields(g->f, g->n, &blob, &len, err);
	if (rc != CF_OK)
		return rc == CF_EEXIST ? damaged(err) : rc;
	cf_sti_bind_blob(ins, &src, 1, blob, len);
	rc = (src != SQLITE_OK) ? cf_sti_fail(s, src, "schema migration", err) : cf_sti_exec(s, ins, "schema migration", err);
	free(blob);
	sqlite3_reset(ins);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(upd, &src, 1, g->org);
	cf_sti_bind_text(upd, &src, 2, g->collection);
	cf_sti_bind_text(upd, &src, 3, g->id);
	cf_sti_bind_int(upd, &src, 4, g->version);
	cf_sti_bind_int(upd, &src, 5, sqlite3_last_insert_rowid(s->db));
	rc = (src != SQLITE_OK) ? cf_sti_fail(s, src, "schema migration", err) : cf_sti_exec(s, upd, "schema migration", err);
	if (rc == CF_OK && sqlite3_changes64(s->db) != 1)
		rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: migration: a version row is missing");
	sqlite3_reset(upd);
	cf_field_cts_free(g->f, g->n);
	g->f = NULL;
	g->n = g->cap = 0;
	return rc;
}

/* Appends the current row's field (columns 4 and 5) to the gathered version. */
static cf_rc gather_field(sqlite3_stmt *sel, gather *g, cf_err *err)
{
	cf_field_ct *f;
	size_t bytes;
	cf_rc rc;

	if (g->n == CF_STI_FIELDS_MAX)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a record has too many fields");
	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 8;
		if (!cf_size_mul(ncap, sizeof(*f), &bytes) || (f = realloc(g->f, bytes)) == NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		g->f = f;
		g->cap = ncap;
	}
	f = &g->f[g->n];
	memset(f, 0, sizeof(*f));
	g->n++;
	rc = cf_sti_col_dup(sel, 4, false, &f->name, err);
	if (rc == CF_OK)
		rc = cf_sti_col_blob(sel, 5, &f->ct, &f->len, err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(f->name, "field name", err) == CF_OK ? CF_OK : damaged(err);
	return rc;
}

cf_rc cf_sti_migrate_fields_v3(cf_store *s, cf_err *err)
{
	static const char sel_sql[] = "SELECT org, collection, record_id, version, field, ct FROM main.record_fields"
				      " ORDER BY org, collection, record_id, version";
	static const char ins_sql[] = "INSERT INTO main.record_cts (cts) VALUES (?1)";
	static const char upd_sql[] = "UPDATE main.record_versions SET cts_id = ?5"
				      " WHERE org = ?1 AND collection = ?2 AND record_id = ?3 AND version = ?4";
	sqlite3_stmt *sel = NULL, *ins = NULL, *upd = NULL;
	gather g;
	int src;
	cf_rc rc = CF_OK;

	memset(&g, 0, sizeof(g));
	src = sqlite3_prepare_v2(s->db, sel_sql, -1, &sel, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_prepare_v2(s->db, ins_sql, -1, &ins, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_prepare_v2(s->db, upd_sql, -1, &upd, NULL);
	if (src != SQLITE_OK)
		rc = cf_sti_fail(s, src, "schema migration", err);
	while (rc == CF_OK && (src = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *org = (const char *)sqlite3_column_text(sel, 0);
		const char *col = (const char *)sqlite3_column_text(sel, 1);
		const char *rid = (const char *)sqlite3_column_text(sel, 2);
		int64_t version = sqlite3_column_int64(sel, 3);

		if (org == NULL || col == NULL || rid == NULL || strlen(org) > CF_ID_MAX || strlen(col) > CF_ID_MAX ||
		    strlen(rid) > CF_ID_MAX) {
			rc = damaged(err);
			break;
		}
		if (g.n > 0 && (strcmp(g.org, org) != 0 || strcmp(g.collection, col) != 0 || strcmp(g.id, rid) != 0 ||
				g.version != version))
			rc = flush_gathered(s, ins, upd, &g, err);
		if (rc != CF_OK)
			break;
		if (g.n == 0) {
			memcpy(g.org, org, strlen(org) + 1);
			memcpy(g.collection, col, strlen(col) + 1);
			memcpy(g.id, rid, strlen(rid) + 1);
			g.version = version;
		}
		rc = gather_field(sel, &g, err);
	}
	if (rc == CF_OK && src != SQLITE_DONE)
		rc = cf_sti_fail(s, src, "schema migration", err);
	if (rc == CF_OK)
		rc = flush_gathered(s, ins, upd, &g, err);
	cf_field_cts_free(g.f, g.n);
	sqlite3_finalize(upd);
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	return rc;
}

/* ---- rectification history ---- */

void cf_record_versions_free(cf_record_version *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		cf_field_cts_free(v[i].fields, v[i].n);
	free(v);
}

/*
 * Fills v[0..*n) with the newest CF_RECORD_HISTORY_MAX versions, their
 * times and their fields, oldest first (the statement answers newest
 * first). v has room for CF_RECORD_HISTORY_MAX. On failure too, *n counts
 * the entries filled, whose fields the caller frees.
 */
static cf_rc read_versions(cf_tx *tx, const char *org, const char *collection, const char *id, cf_record_version *v,
			   size_t *n, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	size_t count = 0, i;
	cf_record_version tmp;
	int src = SQLITE_OK;
	cf_rc rc;

	*n = 0;
	rc = cf_sti_stmt(tx, STI_RECORD_HISTORY, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, collection);
	cf_sti_bind_text(st, &src, 3, id);
	cf_sti_bind_int(st, &src, 4, CF_RECORD_HISTORY_MAX);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "record history", err);
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		/* LIMIT bounds the rows; the check keeps the array write in bounds whatever SQLite answers. */
		if (count >= CF_RECORD_HISTORY_MAX) {
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: record history is too long");
			goto out;
		}
		memset(&v[count], 0, sizeof(v[count]));
		v[count].version = sqlite3_column_int64(st, 0);
		v[count].written_us = sqlite3_column_int64(st, 1);
		count++;
		rc = col_fields(st, 2, &v[count - 1].fields, &v[count - 1].n, err);
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, "record history", err);
		goto out;
	}
	for (i = 0; i < count / 2; i++) {
		tmp = v[i];
		v[i] = v[count - 1 - i];
		v[count - 1 - i] = tmp;
	}
	rc = CF_OK;
out:
	*n = count;
	cf_sti_done(st);
	return rc;
}

/* *out is malloc'd for the caller (cf_record_versions_free); NULL and *n 0 on failure or when empty. */
cf_rc cf_st_record_history(cf_tx *tx, const char *org, const char *collection, const char *id,
			   cf_record_version **out, size_t *n, cf_err *err)
{
	cf_record_version *v = NULL;
	size_t count = 0, bytes;
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL || n == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	*n = 0;
	rc = check_record_key(org, collection, id, err);
	if (rc != CF_OK)
		return rc;
	/* Only a live record has a history: a deleted one took its versions with it. */
	rc = cf_sti_stmt(tx, STI_RECORD_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, collection);
	cf_sti_bind_text(st, &src, 3, id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "record", err) : cf_sti_row(tx->s, st, "record", err);
	cf_sti_done(st);
	if (rc != CF_OK)
		return rc;

	if (!cf_size_mul(CF_RECORD_HISTORY_MAX, sizeof(*v), &bytes))
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	v = malloc(bytes);
	if (v == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	rc = read_versions(tx, org, collection, id, v, &count, err);
	if (rc != CF_OK)
		goto out;
	if (count == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = count;
	v = NULL;
	count = 0;
out:
	cf_record_versions_free(v, count);
	return rc;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_record_list_by_subject(cf_tx *tx, const char *org, const char *subject, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	const char *collection, *id;
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
	rc = cf_sti_stmt(tx, STI_RECORD_LIST_BY_SUBJECT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, subject);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "record list", err);
		goto out;
	}
	arr = json_array();
	if (arr == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = cf_sti_col_text(st, 0, &collection, err);
		if (rc == CF_OK)
			rc = cf_sti_col_text(st, 1, &id, err);
		if (rc == CF_OK)
			rc = cf_sti_append(arr,
					   json_pack("{s:s, s:s, s:I, s:I, s:I}", "collection", collection, "id", id,
						     "version", (json_int_t)sqlite3_column_int64(st, 2), "created_us",
						     (json_int_t)sqlite3_column_int64(st, 3), "updated_us",
						     (json_int_t)sqlite3_column_int64(st, 4)),
					   err);
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, "record list", err);
		goto out;
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	cf_sti_done(st);
	return rc;
}

/* ---- keystore (schema ks = keys.db) ---- */

static cf_rc check_key_name(const char *kind, const char *org, const char *name, cf_err *err)
{
	cf_rc rc = cf_sti_check_id(kind, "key kind", err);

	if (rc == CF_OK)
		rc = cf_sti_check_str(org, "organization id", CF_ID_MAX, true, err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(name, "key name", err);
	return rc;
}

cf_rc cf_st_key_put(cf_tx *tx, const char *kind, const char *org, const char *name, const uint8_t *wrapped,
		    size_t len, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = check_key_name(kind, org, name, err);
	if (rc != CF_OK)
		return rc;
	if (wrapped == NULL || len == 0 || len > CF_STI_BLOB_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: wrapped key is invalid");
	rc = cf_sti_stmt(tx, STI_KEY_PUT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, kind);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_text(st, &src, 3, name);
	cf_sti_bind_blob(st, &src, 4, wrapped, len);
	cf_sti_bind_int(st, &src, 5, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "key", err) : cf_sti_exec(tx->s, st, "key", err);
	cf_sti_done(st);
	return rc;
}

/* *wrapped is malloc'd for the caller. */
cf_rc cf_st_key_get(cf_tx *tx, const char *kind, const char *org, const char *name, uint8_t **wrapped, size_t *len,
		    cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (wrapped == NULL || len == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*wrapped = NULL;
	*len = 0;
	rc = check_key_name(kind, org, name, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_KEY_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, kind);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_text(st, &src, 3, name);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "key", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "key", err);
	if (rc == CF_OK)
		rc = cf_sti_col_blob(st, 0, wrapped, len, err);
out:
	cf_sti_done(st);
	return rc;
}

cf_rc cf_st_key_delete(cf_tx *tx, const char *kind, const char *org, const char *name, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = check_key_name(kind, org, name, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_KEY_DELETE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, kind);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_text(st, &src, 3, name);
	if (src != SQLITE_OK)
		rc = cf_sti_fail(tx->s, src, "key", err);
	else
		rc = cf_sti_exec(tx->s, st, "key", err);
	if (rc == CF_OK && sqlite3_changes64(tx->s->db) == 0)
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "store: no such key");
	cf_sti_done(st);
	return rc;
}

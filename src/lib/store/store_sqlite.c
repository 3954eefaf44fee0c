/*
 * store_sqlite.c - the store's connection: opening DIR/vault.db with
 * DIR/keys.db attached as schema `ks`, file modes, pragmas, schema
 * migration, the per-store lock that makes one transaction at a time,
 * the savepoint inside a write transaction, the prepared-statement cache
 * and the mapping of SQLite results to coffre results.
 *
 * It must never build SQL from a value, never put a value into an error
 * detail, and never let a caller wait without bound: every wait (the
 * store lock, SQLite's own locks) ends at the busy timeout with CF_ESTORE.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define DEFAULT_BUSY_TIMEOUT_MS 5000
#define MAX_BUSY_TIMEOUT_MS 600000
#define VAULT_FILE "vault.db"
#define KEYS_FILE "keys.db"

/* ---- error mapping, binding, stepping, columns ---- */

cf_rc cf_sti_fail(cf_store *s, int src, const char *what, cf_err *err)
{
	/* errmsg names tables, columns and constraints, never a bound value. */
	const char *msg = (s != NULL && s->db != NULL && sqlite3_extended_errcode(s->db) == src)
				  ? sqlite3_errmsg(s->db)
				  : sqlite3_errstr(src);

	switch (src) {
	case SQLITE_CONSTRAINT_PRIMARYKEY:
	case SQLITE_CONSTRAINT_UNIQUE:
		return cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: %s already exists", what);
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "store: %s refers to a missing object", what);
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
	case SQLITE_CONSTRAINT_DATATYPE:
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: %s: %s", what, msg);
	case SQLITE_NOMEM:
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: %s: out of memory", what);
	default:
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: %s: %s", what, msg);
	}
}

void cf_sti_bind_text(sqlite3_stmt *st, int *src, int i, const char *v)
{
	if (*src != SQLITE_OK)
		return;
	*src = (v == NULL) ? sqlite3_bind_null(st, i) : sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

void cf_sti_bind_int(sqlite3_stmt *st, int *src, int i, int64_t v)
{
	if (*src != SQLITE_OK)
		return;
	*src = sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

void cf_sti_bind_blob(sqlite3_stmt *st, int *src, int i, const void *p, size_t n)
{
	if (*src != SQLITE_OK)
		return;
	/* A NULL pointer would bind SQL NULL: an empty value is an empty blob. */
	if (n == 0)
		*src = sqlite3_bind_zeroblob(st, i, 0);
	else
		*src = sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
}

void cf_sti_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

cf_rc cf_sti_exec(cf_store *s, sqlite3_stmt *st, const char *what, cf_err *err)
{
	int src;

	do
		src = sqlite3_step(st);
	while (src == SQLITE_ROW);
	if (src != SQLITE_DONE)
		return cf_sti_fail(s, src, what, err);
	return CF_OK;
}

cf_rc cf_sti_row(cf_store *s, sqlite3_stmt *st, const char *what, cf_err *err)
{
	int src = sqlite3_step(st);

	if (src == SQLITE_ROW)
		return CF_OK;
	if (src == SQLITE_DONE)
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "store: no such %s", what);
	return cf_sti_fail(s, src, what, err);
}

cf_rc cf_sti_returning(cf_store *s, sqlite3_stmt *st, const char *what, cf_err *err)
{
	int src = sqlite3_step(st);

	if (src == SQLITE_ROW)
		return CF_OK;
	if (src == SQLITE_DONE)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: %s returned nothing", what);
	return cf_sti_fail(s, src, what, err);
}

cf_rc cf_sti_exec_one(cf_tx *tx, sqlite3_stmt *st, int src, const char *what, cf_err *err)
{
	cf_rc rc;

	if (src != SQLITE_OK)
		return cf_sti_fail(tx->s, src, what, err);
	rc = cf_sti_exec(tx->s, st, what, err);
	if (rc == CF_OK && sqlite3_changes64(tx->s->db) == 0)
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "store: no such %s", what);
	return rc;
}

cf_rc cf_sti_col_text(sqlite3_stmt *st, int i, const char **out, cf_err *err)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	*out = NULL;
	if (t == NULL) {
		if (sqlite3_column_type(st, i) != SQLITE_NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory reading a column");
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a required column is empty");
	}
	*out = (const char *)t;
	return CF_OK;
}

cf_rc cf_sti_col_dup(sqlite3_stmt *st, int i, bool nullable, char **out, cf_err *err)
{
	const char *t;
	cf_rc rc;

	*out = NULL;
	if (nullable && sqlite3_column_type(st, i) == SQLITE_NULL)
		return CF_OK;
	rc = cf_sti_col_text(st, i, &t, err);
	if (rc != CF_OK)
		return rc;
	*out = cf_strndup(t, (size_t)sqlite3_column_bytes(st, i));
	if (*out == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	return CF_OK;
}

cf_rc cf_sti_col_copy(sqlite3_stmt *st, int i, char *buf, size_t cap, cf_err *err)
{
	const char *t;
	size_t n;
	cf_rc rc;

	buf[0] = '\0';
	rc = cf_sti_col_text(st, i, &t, err);
	if (rc != CF_OK)
		return rc;
	n = (size_t)sqlite3_column_bytes(st, i);
	if (n >= cap || memchr(t, '\0', n) != NULL)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a stored identifier is malformed");
	memcpy(buf, t, n);
	buf[n] = '\0';
	return CF_OK;
}

cf_rc cf_sti_col_blob(sqlite3_stmt *st, int i, uint8_t **out, size_t *len, cf_err *err)
{
	const void *p;
	size_t n;

	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a stored value is not a blob");
	p = sqlite3_column_blob(st, i);
	n = (size_t)sqlite3_column_bytes(st, i);
	if (p == NULL && n > 0)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory reading a column");
	/* One extra byte: callers may treat text entries as strings, and malloc(0) is avoided. */
	*out = malloc(n + 1);
	if (*out == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	if (n > 0)
		memcpy(*out, p, n);
	(*out)[n] = 0;
	*len = n;
	return CF_OK;
}

/* ---- argument checks ---- */

cf_rc cf_sti_check_str(const char *v, const char *what, size_t max, bool allow_empty, cf_err *err)
{
	size_t n;

	if (v == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "store: %s is missing", what);
	n = strnlen(v, max + 1);
	if (n == 0 && !allow_empty)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: %s is empty", what);
	if (n > max)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "store: %s is longer than %zu bytes", what, max);
	return CF_OK;
}

cf_rc cf_sti_check_text(const char *v, const char *what, size_t max, cf_err *err)
{
	json_t *probe;
	cf_rc rc;

	rc = cf_sti_check_str(v, what, max, false, err);
	if (rc != CF_OK)
		return rc;
	probe = json_string(v);
	if (probe != NULL) {
		json_decref(probe);
		return CF_OK;
	}
	/* json_string fails for invalid UTF-8 and for lack of memory; the unchecked variant tells them apart. */
	probe = json_string_nocheck(v);
	if (probe == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	json_decref(probe);
	return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: %s is not UTF-8 text", what);
}

cf_rc cf_sti_check_json(const char *v, const char *what, json_type type, bool strings_only, cf_err *err)
{
	json_error_t jerr;
	json_t *j = NULL;
	cf_rc rc;

	rc = cf_sti_check_str(v, what, CF_STI_JSON_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	j = json_loads(v, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || json_typeof(j) != type) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: %s must be a JSON %s", what,
				type == JSON_ARRAY ? "array" : "object");
		goto out;
	}
	if (strings_only) {
		size_t i;
		json_t *e;

		json_array_foreach(j, i, e) {
			if (!json_is_string(e) || json_string_length(e) == 0) {
				rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						"store: %s must hold non-empty strings", what);
				goto out;
			}
		}
	}
	rc = CF_OK;
out:
	json_decref(j);
	return rc;
}

/* *out is malloc'd for the caller (compact text), NULL on failure. */
cf_rc cf_sti_canonical_json(const char *v, const char *what, json_type type, bool strings_only, char **out,
			    cf_err *err)
{
	json_error_t jerr;
	json_t *j = NULL;
	cf_rc rc;

	*out = NULL;
	rc = cf_sti_check_json(v, what, type, strings_only, err);
	if (rc != CF_OK)
		return rc;
	j = json_loads(v, JSON_REJECT_DUPLICATES, &jerr);
	*out = (j == NULL) ? NULL : json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (*out == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	return CF_OK;
}

cf_rc cf_sti_load_json(const char *text, const char *what, json_t **out, cf_err *err)
{
	json_error_t jerr;

	*out = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: stored %s is not valid JSON", what);
	return CF_OK;
}

cf_rc cf_sti_append(json_t *arr, json_t *item, cf_err *err)
{
	if (item == NULL || json_array_append_new(arr, item) != 0)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	return CF_OK;
}

cf_rc cf_sti_collect(cf_tx *tx, sqlite3_stmt *st, int src, const char *what, cf_sti_item_fn item, json_t **out,
		     cf_err *err)
{
	json_t *arr = NULL, *one = NULL;
	cf_rc rc = CF_OK;

	if (src != SQLITE_OK)
		return cf_sti_fail(tx->s, src, what, err);
	arr = json_array();
	if (arr == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = item(st, &one, err);
		if (rc == CF_OK)
			rc = cf_sti_append(arr, one, err);
		one = NULL;
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, what, err);
		goto out;
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	return rc;
}

/* ---- statements ---- */

/* Prepares (once) a statement for the connection's lifetime. */
static cf_rc prepare(cf_store *s, cf_sti_id id, sqlite3_stmt **out, cf_err *err)
{
	int src;

	if (s->stmts[id] == NULL) {
		src = sqlite3_prepare_v3(s->db, cf_sti_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL);
		if (src != SQLITE_OK) {
			s->stmts[id] = NULL;
			return cf_sti_fail(s, src, "prepare", err);
		}
	}
	*out = s->stmts[id];
	return CF_OK;
}

/*
 * True once the transaction can no longer be trusted. SQLite rolls a
 * transaction back by itself after some errors (I/O, disk full, out of
 * memory), savepoints included; the connection is then in autocommit, where
 * a statement would run and commit on its own, and where even "SAVEPOINT"
 * would quietly open a new transaction. The flag is sticky for that reason.
 */
static bool tx_lost(cf_tx *tx)
{
	if (!tx->lost && tx->locked && sqlite3_get_autocommit(tx->s->db))
		tx->lost = true;
	return tx->lost;
}

static cf_rc lost_err(cf_err *err)
{
	return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE,
			  "store: the transaction was rolled back after an error");
}

cf_rc cf_sti_stmt(cf_tx *tx, cf_sti_id id, sqlite3_stmt **out, cf_err *err)
{
	cf_rc rc;

	*out = NULL;
	if (tx == NULL || tx->s == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no transaction");
	/* a journal append does not hold the connection: a move may be using it */
	if (!tx->locked)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: a journal append reads and writes no table");
	if (tx_lost(tx))
		return lost_err(err);
	rc = prepare(tx->s, id, out, err);
	if (rc != CF_OK)
		return rc;
	if (!tx->write && !sqlite3_stmt_readonly(*out)) {
		*out = NULL;
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: a write in a read transaction");
	}
	/* Every call resets its statement before returning: a busy one is a re-entrant call. */
	if (sqlite3_stmt_busy(*out)) {
		*out = NULL;
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: a statement is already in use");
	}
	cf_sti_done(*out);
	return CF_OK;
}

/* Runs one of the transaction-control statements. */
static cf_rc control(cf_store *s, cf_sti_id id, const char *what, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	cf_rc rc;

	rc = prepare(s, id, &st, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_exec(s, st, what, err);
	cf_sti_done(st);
	return rc;
}

/* ---- opening ---- */

/* Runs constant SQL text (pragmas, schema scripts) that carries no value. */
static cf_rc exec_const(cf_store *s, const char *sql, const char *what, cf_err *err)
{
	int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	if (src != SQLITE_OK)
		return cf_sti_fail(s, src, what, err);
	return CF_OK;
}

/* Reads the one-row, one-column result of a constant pragma as an integer or text. */
static cf_rc pragma_value(cf_store *s, const char *sql, int64_t *ival, char *tval, size_t tcap, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src;
	cf_rc rc;

	src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(s, src, "pragma", err);
		goto out;
	}
	rc = cf_sti_returning(s, st, "pragma", err);
	if (rc != CF_OK)
		goto out;
	if (ival != NULL)
		*ival = sqlite3_column_int64(st, 0);
	if (tval != NULL) {
		rc = cf_sti_col_copy(st, 0, tval, tcap, err);
		if (rc != CF_OK)
			goto out;
	}
	rc = cf_sti_exec(s, st, "pragma", err);
out:
	sqlite3_finalize(st);
	return rc;
}

static const char *ks_sync_for_tests; /* cf_store_set_keystore_sync_for_tests */

void cf_store_set_keystore_sync_for_tests(const char *setting)
{
	static const char *const known[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
	ks_sync_for_tests = NULL;
	for (size_t i = 0; setting != NULL && i < CF_ARRAY_LEN(known); i++) {
		if (strcmp(setting, known[i]) == 0)
			ks_sync_for_tests = known[i];
	}
}

static cf_rc set_pragmas(cf_store *s, bool sync_full, cf_err *err)
{
	static const char *const schemas[] = {"main", "ks"};
	char sql[96], mode[16];
	const char *level;
	int64_t fk = 0, sync = 0;
	size_t i;
	cf_rc rc;

	for (i = 0; i < CF_ARRAY_LEN(schemas); i++) {
		rc = cf_snprintf(sql, sizeof(sql), "PRAGMA %s.journal_mode = WAL", schemas[i]);
		if (rc != CF_OK)
			return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: pragma text too long");
		rc = pragma_value(s, sql, NULL, mode, sizeof(mode), err);
		if (rc != CF_OK)
			return rc;
		if (strcmp(mode, "wal") != 0)
			return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: %s cannot use WAL",
					  schemas[i]);
		level = i == 1 && ks_sync_for_tests != NULL ? ks_sync_for_tests : sync_full ? "FULL" : "NORMAL";
		rc = cf_snprintf(sql, sizeof(sql), "PRAGMA %s.synchronous = %s; PRAGMA %s.secure_delete = ON",
				 schemas[i], level, schemas[i]);
		if (rc != CF_OK)
			return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: pragma text too long");
		rc = exec_const(s, sql, "pragma", err);
		if (rc != CF_OK)
			return rc;
		/*
		 * Read back: the writer's connection gathers its log writes until
		 * each commit's sync (store_vfs.c), so a log of that connection
		 * that did not sync at every commit would publish frames other
		 * connections read before they are written: a damaged file.
		 */
		rc = cf_snprintf(sql, sizeof(sql), "PRAGMA %s.synchronous", schemas[i]);
		if (rc != CF_OK)
			return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: pragma text too long");
		rc = pragma_value(s, sql, &sync, NULL, 0, err);
		if (rc != CF_OK)
			return rc;
		if (sync != (sync_full ? 2 : 1))
			return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE,
					  "store: %s's synchronous setting reads %lld, not the %d just set",
					  schemas[i], (long long)sync, sync_full ? 2 : 1);
	}
	rc = exec_const(s, "PRAGMA foreign_keys = ON", "pragma", err);
	if (rc != CF_OK)
		return rc;
	/*
	 * Statement journals and sorts stay in memory: on disk they are page
	 * images (ciphertexts, audit entries) in unlinked files of the system's
	 * temporary directory, and a long write transaction (a batch, a large
	 * audit import) rewrites the statement journal file for every statement
	 * that has a trigger (measured: 200,000 appends, 1.5 million writes).
	 * Sorts are bounded by the list caps.
	 */
	rc = exec_const(s, "PRAGMA temp_store = MEMORY", "pragma", err);
	if (rc != CF_OK)
		return rc;
	/*
	 * A larger page cache for the records (64 MiB): reads through a system
	 * call cost dearly on a virtual machine. (A memory map was measured
	 * worse: every commit that grows the file remaps it in every reader.)
	 */
	rc = exec_const(s, "PRAGMA main.cache_size = -65536", "pragma", err);
	if (rc != CF_OK)
		return rc;
	rc = pragma_value(s, "PRAGMA foreign_keys", &fk, NULL, 0, err);
	if (rc != CF_OK)
		return rc;
	if (fk != 1)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: foreign keys unavailable");
	return CF_OK;
}

/*
 * One step from a schema version to the next: a script, and where data must
 * be reshaped in C, a function and a script after it.
 */
typedef struct migration_step {
	const char *sql;
	cf_rc (*data)(cf_store *s, cf_err *err);
	const char *sql_after;
} migration_step;

/* Brings one schema to version `latest` inside the caller's transaction; steps[k] goes from k to k + 1. */
static cf_rc migrate_schema(cf_store *s, const char *schema, const char *v1_script, const migration_step *steps,
			    int64_t latest, cf_err *err)
{
	char sql[64];
	int64_t version = -1;
	cf_rc rc;

	rc = cf_snprintf(sql, sizeof(sql), "PRAGMA %s.user_version", schema);
	if (rc != CF_OK)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: pragma text too long");
	rc = pragma_value(s, sql, &version, NULL, 0, err);
	if (rc != CF_OK)
		return rc;
	if (version > latest || version < 0)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE,
				  "store: %s schema version %lld is not known to this build", schema,
				  (long long)version);
	if (version == 0) {
		rc = exec_const(s, v1_script, "schema creation", err);
		if (rc != CF_OK)
			return rc;
		version = 1;
	}
	for (; version < latest; version++) {
		const migration_step *m = &steps[version];

		rc = exec_const(s, m->sql, "schema migration", err);
		if (rc == CF_OK && m->data != NULL)
			rc = m->data(s, err);
		if (rc == CF_OK && m->sql_after != NULL)
			rc = exec_const(s, m->sql_after, "schema migration", err);
		if (rc != CF_OK)
			return rc;
	}
	return CF_OK;
}

static cf_rc migrate(cf_store *s, cf_err *err)
{
	static const migration_step main_steps[CF_STI_MAIN_VERSION] = {
		{NULL, NULL, NULL},
		{cf_sti_schema_main_v2, NULL, NULL},
		{cf_sti_schema_main_v3_before, cf_sti_migrate_fields_v3, cf_sti_schema_main_v3_after},
		{cf_sti_schema_main_v4, NULL, NULL},
		{cf_sti_schema_main_v5, NULL, NULL},
	};
	static const migration_step ks_steps[CF_STI_KS_VERSION] = {
		{NULL, NULL, NULL},
		{cf_sti_schema_ks_v2, NULL, NULL},
	};
	cf_rc rc;

	rc = exec_const(s, "BEGIN IMMEDIATE", "begin migration", err);
	if (rc != CF_OK)
		return rc;
	rc = migrate_schema(s, "main", cf_sti_schema_main_v1, main_steps, CF_STI_MAIN_VERSION, err);
	if (rc == CF_OK)
		rc = migrate_schema(s, "ks", cf_sti_schema_ks_v1, ks_steps, CF_STI_KS_VERSION, err);
	if (rc == CF_OK)
		rc = exec_const(s, "COMMIT", "commit migration", err);
	if (rc != CF_OK && !sqlite3_get_autocommit(s->db))
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Tightens a store file to 0600; the WAL and shared-memory files may not exist yet. */
static cf_rc restrict_mode(const char *path, bool must_exist, cf_err *err)
{
	if (chmod(path, S_IRUSR | S_IWUSR) != 0 && (must_exist || errno != ENOENT))
		return cf_err_set(err, CF_EIO, CF_P_STORE_UNAVAILABLE, "store: cannot set the mode of a store file");
	return CF_OK;
}

static cf_rc restrict_modes(const char *path, cf_err *err)
{
	static const char *const suffixes[] = {"-wal", "-shm"};
	char side[PATH_MAX];
	size_t i;
	cf_rc rc;

	rc = restrict_mode(path, true, err);
	for (i = 0; rc == CF_OK && i < CF_ARRAY_LEN(suffixes); i++) {
		if (cf_snprintf(side, sizeof(side), "%s%s", path, suffixes[i]) != CF_OK)
			return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "store: directory path too long");
		rc = restrict_mode(side, false, err);
	}
	return rc;
}

/* Opens the connection and everything on it; the caller holds umask 077. */
static cf_rc open_db(cf_store *s, const char *vault_path, const char *keys_path, const cf_store_options *opts,
		     cf_err *err)
{
	const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	sqlite3_stmt *st = NULL;
	const char *vfs = NULL;
	int src;
	cf_rc rc;

	/*
	 * A scanning connection reads ahead; the writer's connection, when its
	 * commits sync (store_vfs.c says why that matters), writes each
	 * commit's log pages in one call.
	 */
	if (opts != NULL && (opts->scan_reads || (opts->sync_full && !s->is_reader))) {
		vfs = cf_sti_vfs(opts->scan_reads, !opts->scan_reads);
		if (vfs == NULL)
			return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: cannot set up the file layer");
	}
	src = sqlite3_open_v2(vault_path, &s->db, flags, vfs);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(s, src, "open", err);
		goto out;
	}
	(void)sqlite3_extended_result_codes(s->db, 1);
	/* Hardening: a tampered schema cannot run functions, write the schema or use "quoted" strings. */
	if (sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL) != SQLITE_OK ||
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL) != SQLITE_OK) {
		rc = cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: cannot configure the connection");
		goto out;
	}
	src = sqlite3_busy_timeout(s->db, s->busy_timeout_ms);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(s, src, "busy timeout", err);
		goto out;
	}
	src = sqlite3_prepare_v2(s->db, "ATTACH DATABASE ?1 AS ks", -1, &st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_bind_text(st, 1, keys_path, -1, SQLITE_STATIC);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(s, src, "attach keystore", err);
		goto out;
	}
	rc = cf_sti_exec(s, st, "attach keystore", err);
	if (rc != CF_OK)
		goto out;
	rc = set_pragmas(s, opts != NULL && opts->sync_full, err);
	if (rc != CF_OK)
		goto out;
	/* the writer's connection creates and migrates the schema; a reader only reads, and says so */
	/*
	 * A reader keeps its page cache while the trail's entries go to the
	 * journal: 8 MiB each holds the tables' upper levels and the small
	 * tables every request reads, without every reader growing to 64 MiB.
	 */
	if (rc == CF_OK && s->is_reader)
		rc = exec_const(s, "PRAGMA main.cache_size = -8192", "pragma", err);
	/*
	 * The keystore's upper levels (about 4 MiB at two million keys): 4 MiB
	 * for each reader, 8 MiB for the writer (SQLite's default is 2 MiB).
	 */
	if (rc == CF_OK)
		rc = exec_const(s, s->is_reader ? "PRAGMA ks.cache_size = -4096" : "PRAGMA ks.cache_size = -8192",
				"pragma", err);
	if (rc != CF_OK)
		goto out;
	rc = s->is_reader ? exec_const(s, "PRAGMA query_only = ON", "pragma", err) : migrate(s, err);
out:
	sqlite3_finalize(st);
	return rc;
}

static cf_rc open_one(const char *dir, const cf_env *env, const cf_store_options *opts, bool reader, cf_store **out,
		       cf_err *err);

/*
 * Process-wide, before SQLite's first use. With its memory statistics on
 * (the library's default), every allocation SQLite makes takes one global
 * mutex to count it; Debian's build has no lookaside, so every statement
 * step allocates: each request thread, and the writer, would queue on that
 * one lock. coffre reads no statistic.
 */
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

static void sqlite_configure(void)
{
	/* SQLITE_MISUSE: the library was already in use in this process; it then keeps its defaults */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

cf_rc cf_store_open(const char *dir, const cf_env *env, const cf_store_options *opts, cf_store **out, cf_err *err)
{
	cf_store *s = NULL;
	int n = opts != NULL ? opts->readers : 0;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	(void)pthread_once(&sqlite_once, sqlite_configure);
	if (n < 0 || n > CF_STORE_MAX_READERS)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: readers out of range");
	rc = open_one(dir, env, opts, false, &s, err);
	if (rc != CF_OK)
		return rc;
	/* the writer's connection replays and then owns the audit journal (store_journal.c) */
	rc = cf_sti_journal_open(s, dir, opts != NULL && opts->own_trail, err);
	if (rc != CF_OK) {
		cf_store_close(s);
		return rc;
	}
	if (n > 0) {
		s->readers = calloc((size_t)n, sizeof(*s->readers));
		if (s->readers == NULL) {
			cf_store_close(s);
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		}
		for (int i = 0; i < n; i++) {
			rc = open_one(dir, env, opts, true, &s->readers[i], err);
			if (rc != CF_OK) {
				cf_store_close(s);
				return rc;
			}
			s->n_readers++;
		}
		/* with readers (a daemon), the log is checkpointed off the writer's path */
		cf_store *conn = NULL;
		rc = open_one(dir, env, opts, true, &conn, err);
		if (rc == CF_OK)
			rc = cf_sti_ckpt_start(s, conn, err);
		if (rc != CF_OK) {
			cf_store_close(s);
			return rc;
		}
	}
	*out = s;
	return CF_OK;
}

/* One connection: the writer's (creates and migrates) or a reader's. */
static cf_rc open_one(const char *dir, const cf_env *env, const cf_store_options *opts, bool reader, cf_store **out,
		       cf_err *err)
{
	char vault_path[PATH_MAX], keys_path[PATH_MAX];
	pthread_mutexattr_t attr;
	bool attr_ok = false, mu_ok = false, jmu_ok = false;
	cf_store *s = NULL;
	mode_t old_umask;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_str(dir, "store directory", PATH_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	if (opts != NULL && (opts->busy_timeout_ms < 0 || opts->busy_timeout_ms > MAX_BUSY_TIMEOUT_MS))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: busy timeout out of range");
	if (cf_snprintf(vault_path, sizeof(vault_path), "%s/%s", dir, VAULT_FILE) != CF_OK ||
	    cf_snprintf(keys_path, sizeof(keys_path), "%s/%s", dir, KEYS_FILE) != CF_OK)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "store: directory path too long");

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	s->env = env;
	s->is_reader = reader;
	s->jfd = -1;
	s->busy_timeout_ms = (opts != NULL && opts->busy_timeout_ms > 0) ? opts->busy_timeout_ms
									 : DEFAULT_BUSY_TIMEOUT_MS;

	/* An error-checking lock: a thread that begins twice gets an error, not a deadlock. */
	if (pthread_mutexattr_init(&attr) != 0) {
		rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: cannot create the store lock");
		goto out;
	}
	attr_ok = true;
	if (pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK) != 0 ||
	    pthread_mutex_init(&s->mu, &attr) != 0) {
		rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: cannot create the store lock");
		goto out;
	}
	mu_ok = true;
	if (pthread_mutex_init(&s->jmu, &attr) != 0) {
		rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: cannot create the journal lock");
		goto out;
	}
	jmu_ok = true;

	/*
	 * Files are created 0600 (SQLite gives -wal and -shm the mode of their
	 * database). umask is process-wide: stores are opened at start-up,
	 * before request threads exist.
	 */
	old_umask = umask(S_IRWXG | S_IRWXO);
	rc = open_db(s, vault_path, keys_path, opts, err);
	(void)umask(old_umask);
	if (rc != CF_OK)
		goto out;
	rc = restrict_modes(vault_path, err);
	if (rc == CF_OK)
		rc = restrict_modes(keys_path, err);
	if (rc != CF_OK)
		goto out;
	*out = s;
	s = NULL;
out:
	if (attr_ok)
		(void)pthread_mutexattr_destroy(&attr);
	if (s != NULL) {
		(void)sqlite3_close(s->db);
		if (mu_ok)
			(void)pthread_mutex_destroy(&s->mu);
		if (jmu_ok)
			(void)pthread_mutex_destroy(&s->jmu);
		free(s);
	}
	return rc;
}

/* Closing with a transaction open is a bug in the caller. */
void cf_store_close(cf_store *s)
{
	size_t i;

	if (s == NULL)
		return;
	cf_sti_ckpt_stop(s);
	/* what the journal holds beyond the tables goes in now; if it cannot, the next open replays it */
	if (s->jfd >= 0 && s->backlog.n > 0) {
		cf_rc frc = cf_store_flush_journal(s, CF_STORE_FLUSH_ALL, true, NULL);
		(void)frc;
	}
	cf_sti_journal_close(s);
	for (int r = 0; r < s->n_readers; r++)
		cf_store_close(s->readers[r]);
	free(s->readers);
	for (i = 0; i < STI__COUNT; i++)
		(void)sqlite3_finalize(s->stmts[i]);
	if (sqlite3_close(s->db) != SQLITE_OK)
		CF_BUG("store closed while in use");
	(void)pthread_mutex_destroy(&s->mu);
	(void)pthread_mutex_destroy(&s->jmu);
	free(s);
}

/* ---- the store lock and transactions ---- */

/* Takes one of the store's locks (the connection's or the journal's), waiting at most the busy timeout. */
static cf_rc lock_timed(cf_store *s, pthread_mutex_t *mu, cf_err *err)
{
	struct timespec deadline;
	int e;

	/*
	 * pthread_mutex_timedlock measures against CLOCK_REALTIME (a step of the
	 * wall clock shifts the deadline by as much); pthread_mutex_clocklock
	 * would avoid that but is invisible to ThreadSanitizer.
	 */
	if (clock_gettime(CLOCK_REALTIME, &deadline) != 0)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no clock");
	deadline.tv_sec += s->busy_timeout_ms / 1000;
	deadline.tv_nsec += (long)(s->busy_timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec += 1;
		deadline.tv_nsec -= 1000000000L;
	}
	e = pthread_mutex_timedlock(mu, &deadline);
	if (e == 0)
		return CF_OK;
	if (e == ETIMEDOUT)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store busy: no transaction within %d ms",
				  s->busy_timeout_ms);
	if (e == EDEADLK)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL,
				  "store: this thread already has a transaction open");
	return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: cannot take the store lock");
}

static cf_rc lock_store(cf_store *s, cf_err *err)
{
	return lock_timed(s, &s->mu, err);
}

static void unlock_store(cf_store *s)
{
	/* Fails only when the tx is finished on another thread than the one that began it: a bug. */
	if (pthread_mutex_unlock(&s->mu) != 0)
		CF_BUG("store transaction finished by another thread");
}

/* The journal's lock (after mu, when both), as the connection's: a transaction may hold it long. */
static cf_rc lock_journal(cf_store *s, cf_err *err)
{
	return lock_timed(s, &s->jmu, err);
}

static void unlock_journal(cf_store *s)
{
	if (pthread_mutex_unlock(&s->jmu) != 0)
		CF_BUG("store transaction finished by another thread");
}

/* The end of a transaction's locks, the journal's first. */
static void tx_unlock(cf_tx *tx)
{
	if (tx->jlocked)
		unlock_journal(tx->s);
	if (tx->locked)
		unlock_store(tx->s);
}

/* A failure to move the journal into the tables is the trail's: CF_EAUDIT, the detail kept. */
static cf_rc trail_unwritable(cf_err *err)
{
	if (err != NULL) {
		err->rc = CF_EAUDIT;
		err->problem = CF_P_AUDIT_UNAVAILABLE;
	}
	return CF_EAUDIT;
}

/*
 * A write transaction first inserts up to flush_max entries of the
 * journal's backlog. nowait: fail at once rather than wait for another
 * connection's lock on the database. move: the transaction only moves the
 * backlog, and leaves the journal's lock to the appends meanwhile.
 */
static cf_rc begin_tx(cf_store *s, bool write, size_t flush_max, bool nowait, bool move, cf_tx **out,
		      cf_err *err)
{
	cf_tx *tx = NULL;
	cf_rc rc;

	if (out == NULL || s == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no store");
	*out = NULL;
	tx = calloc(1, sizeof(*tx));
	if (tx == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	if (!write && s->n_readers > 0) {
		/*
		 * The first free reader, counting from the first: the few that
		 * carry the load keep their page caches warm, where taking them
		 * in turn spread every page over all of them (reads +15-20%).
		 * None free: wait for the next in turn.
		 */
		cf_store *r = NULL;
		for (int i = 0; i < s->n_readers && r == NULL; i++) {
			if (pthread_mutex_trylock(&s->readers[i]->mu) == 0)
				r = s->readers[i];
		}
		if (r == NULL) {
			unsigned next = __atomic_fetch_add(&s->next_reader, 1u, __ATOMIC_RELAXED);
			r = s->readers[next % (unsigned)s->n_readers];
			rc = lock_store(r, err);
			if (rc != CF_OK)
				goto out;
		}
		s = r;
	} else {
		rc = lock_store(s, err);
		if (rc != CF_OK)
			goto out;
	}
	tx->s = s;
	tx->locked = true;
	/* the writer's connection: the journal and the tree's edge are this transaction's too, but for a move */
	if (!s->is_reader && !move) {
		rc = lock_journal(s, err);
		if (rc != CF_OK) {
			unlock_store(s);
			goto out;
		}
		tx->jlocked = true;
	}
	tx->write = write;
	if (nowait)
		(void)sqlite3_busy_timeout(s->db, 0);
	rc = control(s, write ? STI_BEGIN_WRITE : STI_BEGIN_READ, "begin", err);
	if (nowait)
		(void)sqlite3_busy_timeout(s->db, s->busy_timeout_ms);
	if (rc != CF_OK) {
		tx_unlock(tx);
		goto out;
	}
	/*
	 * The journal's backlog comes first: the tables then hold the whole
	 * trail this transaction sees. When they cannot take it, the trail is
	 * what cannot be written: nothing may be written after it.
	 */
	if (write && cf_store_journal_backlog(s) > 0 && (rc = cf_sti_journal_flush(tx, flush_max, err)) != CF_OK) {
		(void)control(s, STI_ROLLBACK, "rollback", NULL);
		tx_unlock(tx);
		rc = trail_unwritable(err);
		goto out;
	}
	*out = tx;
	tx = NULL;
out:
	free(tx);
	return rc;
}

/* The tx is owned by the caller until cf_tx_commit or cf_tx_rollback; it holds the store lock. */
cf_rc cf_store_begin(cf_store *s, bool write, cf_tx **out, cf_err *err)
{
	return begin_tx(s, write, SIZE_MAX, false, false, out, err);
}

cf_rc cf_tx_commit(cf_tx *tx, cf_err *err)
{
	cf_store *s;
	cf_rc rc;

	if (tx == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no transaction");
	s = tx->s;
	if (tx_lost(tx)) {
		rc = lost_err(err);
		/* Lost but still open (a savepoint could not be undone): nothing of it may stay. */
		if (!sqlite3_get_autocommit(s->db))
			(void)control(s, STI_ROLLBACK, "rollback", NULL);
		goto out;
	}
	/* COMMIT would keep a job's work that was neither released nor undone: a bug in the caller. */
	if (tx->savepoint) {
		rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: commit with a savepoint still open");
		(void)control(s, STI_ROLLBACK, "rollback", NULL);
		goto out;
	}
	if (tx->journal) {
		/* the entries are durable once the journal is synced; a read transaction (a reload) only ends */
		rc = cf_sti_journal_commit(tx, err);
		if (tx->locked)
			(void)control(s, STI_ROLLBACK, "rollback", NULL);
		if (rc != CF_OK)
			s->tree_valid = false;
		goto out;
	}
	rc = control(s, STI_COMMIT, "commit", err);
	if (rc == CF_OK && tx->flushed_rows > 0)
		cf_sti_journal_flushed(tx);
	if (rc != CF_OK) {
		rc = CF_ESTORE;
		if (err != NULL) {
			err->rc = CF_ESTORE;
			err->problem = CF_P_STORE_UNAVAILABLE;
		}
		if (!sqlite3_get_autocommit(s->db))
			(void)control(s, STI_ROLLBACK, "rollback", NULL);
	}
out:
	/* appends that did not commit: the cached tree edge is reloaded from the tables next time */
	if (rc != CF_OK && (tx->appended || tx->pending.n > 0))
		s->tree_valid = false;
	cf_sti_journal_free(&tx->pending);
	tx_unlock(tx);
	free(tx);
	return rc;
}

void cf_tx_rollback(cf_tx *tx)
{
	if (tx == NULL)
		return;
	if (tx->locked && !sqlite3_get_autocommit(tx->s->db))
		(void)control(tx->s, STI_ROLLBACK, "rollback", NULL);
	if (tx->appended || tx->pending.n > 0)
		tx->s->tree_valid = false;
	cf_sti_journal_free(&tx->pending);
	tx_unlock(tx);
	free(tx);
}

cf_rc cf_store_begin_append(cf_store *s, cf_tx **out, cf_err *err)
{
	cf_tx *tx;
	cf_rc rc;

	if (out == NULL || s == NULL || s->is_reader)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no store");
	*out = NULL;
	tx = calloc(1, sizeof(*tx));
	if (tx == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	tx->s = s;
	tx->journal = true;
	rc = lock_journal(s, err);
	if (rc != CF_OK) {
		free(tx);
		return rc;
	}
	tx->jlocked = true;
	if (s->tree_valid) {
		/* the appends need the edge alone: the connection stays free for a move */
		*out = tx;
		return CF_OK;
	}
	/* the edge is reloaded from the tables: the connection too, taken first, in a read transaction */
	unlock_journal(s);
	tx->jlocked = false;
	rc = lock_store(s, err);
	if (rc != CF_OK) {
		free(tx);
		return rc;
	}
	tx->locked = true;
	rc = lock_journal(s, err);
	if (rc == CF_OK) {
		tx->jlocked = true;
		rc = control(s, STI_BEGIN_READ, "begin", err);
	}
	if (rc != CF_OK) {
		tx_unlock(tx);
		free(tx);
		return rc;
	}
	*out = tx;
	return CF_OK;
}

/* The journal's first max entries into the tables; move: while appends go on (see begin_tx). */
static cf_rc move_backlog(cf_store *s, size_t max, bool wait, bool move, size_t *moved, cf_err *err)
{
	cf_tx *tx = NULL;
	size_t n = 0;
	cf_rc rc;

	if (moved != NULL)
		*moved = 0;
	if (s == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no store");
	/* the caller's own entries are published before it is told they are durable */
	if (cf_store_journal_backlog(s) == 0)
		return CF_OK;
	/* beginning a write transaction inserts the backlog; committing it makes it the tables' */
	rc = begin_tx(s, true, max, !wait, move, &tx, err);
	if (rc == CF_OK) {
		n = tx->flushed_rows;
		rc = cf_tx_commit(tx, err);
	}
	if (rc == CF_OK && moved != NULL)
		*moved = n;
	/* whatever stopped it (a lock, a full disk, damage), what cannot be written is the trail */
	return rc == CF_OK ? CF_OK : trail_unwritable(err);
}

cf_rc cf_store_flush_journal(cf_store *s, size_t max, bool wait, cf_err *err)
{
	return move_backlog(s, max, wait, false, NULL, err);
}

cf_rc cf_store_move_journal(cf_store *s, size_t max, bool wait, size_t *moved, cf_err *err)
{
	return move_backlog(s, max, wait, true, moved, err);
}

size_t cf_store_journal_backlog(cf_store *s)
{
	/* published under the lock by every change (store_journal.c); read without it */
	return s != NULL ? __atomic_load_n(&s->backlog_count, __ATOMIC_ACQUIRE) : 0;
}

/* ---- savepoints ---- */

/* Checks shared by savepoint and release: a live write transaction. */
static cf_rc savepoint_usable(cf_tx *tx, cf_err *err)
{
	if (tx == NULL || tx->s == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no transaction");
	if (!tx->write)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: a savepoint in a read transaction");
	if (tx_lost(tx)) {
		tx->savepoint = false; /* the rollback took it with the rest */
		return lost_err(err);
	}
	return CF_OK;
}

cf_rc cf_tx_savepoint(cf_tx *tx, cf_err *err)
{
	cf_rc rc = savepoint_usable(tx, err);

	if (rc != CF_OK)
		return rc;
	if (tx->savepoint)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: a savepoint is already open");
	rc = control(tx->s, STI_SAVEPOINT, "savepoint", err);
	if (rc == CF_OK)
		tx->savepoint = true;
	else
		(void)tx_lost(tx);
	return rc;
}

/* On failure in a live transaction the savepoint stays open: the caller undoes it with cf_tx_rollback_to. */
cf_rc cf_tx_release(cf_tx *tx, cf_err *err)
{
	cf_rc rc = savepoint_usable(tx, err);

	if (rc != CF_OK)
		return rc;
	if (!tx->savepoint)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no savepoint to release");
	rc = control(tx->s, STI_RELEASE, "release savepoint", err);
	if (rc == CF_OK || tx_lost(tx))
		tx->savepoint = false;
	return rc;
}

/*
 * Cannot report failure, so it fails safe: when the job's work cannot be
 * undone (or there is no savepoint to undo it to) the whole transaction is
 * marked lost, and its commit fails and rolls everything back.
 */
void cf_tx_rollback_to(cf_tx *tx)
{
	if (tx == NULL || tx->s == NULL)
		return;
	if (tx_lost(tx) || !tx->write || !tx->savepoint) {
		tx->lost = true;
		tx->savepoint = false;
		return;
	}
	tx->savepoint = false;
	if (tx->appended)
		tx->s->tree_valid = false; /* the job may have appended: reload rather than track savepoints */
	if (control(tx->s, STI_ROLLBACK_TO, "rollback to savepoint", NULL) != CF_OK ||
	    control(tx->s, STI_RELEASE, "release savepoint", NULL) != CF_OK)
		tx->lost = true;
	(void)tx_lost(tx);
}

/* ---- integrity ---- */

/* One schema's quick_check: a single "ok" row, or rows describing damage. */
static cf_rc quick_check(cf_store *s, const char *sql, const char *file, cf_err *err)
{
	char result[8];
	cf_rc rc;

	rc = pragma_value(s, sql, NULL, result, sizeof(result), err);
	if (rc == CF_EINTEGRITY || (rc == CF_OK && strcmp(result, "ok") != 0))
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: %s failed its integrity check", file);
	return rc;
}

cf_rc cf_store_check(cf_store *s, cf_err *err)
{
	cf_rc rc;

	if (s == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no store");
	rc = lock_store(s, err);
	if (rc != CF_OK)
		return rc;
	rc = quick_check(s, "PRAGMA main.quick_check", VAULT_FILE, err);
	if (rc == CF_OK)
		rc = quick_check(s, "PRAGMA ks.quick_check", KEYS_FILE, err);
	unlock_store(s);
	return rc;
}

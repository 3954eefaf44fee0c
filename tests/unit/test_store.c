/*
 * test_store.c - the store: open/close/reopen and schema versions, file
 * modes, every operation's allowed and refused paths, JSON list shapes,
 * record versions, the keystore living only in keys.db, the audit trail
 * (entries with leaf hashes and filter metadata, Merkle nodes, checkpoints)
 * being append-only in SQL too, streaming scans over a large trail, lists
 * by organization and subject, sharing agreements (a revocation final in
 * SQL too, the access cap counted atomically, list filters), confidentiality
 * commitments and their acceptances, delegated administration (domains
 * with their contact and technical user, subdivisions that never change
 * domain, members' place, admin level and attributes, membership removal,
 * the member search with literal '%' and '_'), citizens' rights (erasure
 * requests decided once and kept, erased subjects no longer found by their
 * blind index and gone from the files, legal holds on a subject or a
 * record, released and kept), retention (record versions with their
 * times for rectification history, the last 1000 kept in the answer;
 * scans by creation or update time with strict cut-offs and paging,
 * subjects' record counts, every collection of the instance, disposal
 * records written once and never changed or deleted), rollback, savepoints
 * (including a transaction SQLite rolled back by itself), and bounded
 * waits under contention.
 *
 * Each test works in its own mkdtemp directory, removed afterwards. The
 * test opens the database files with sqlite3 directly where it must look
 * behind the store's back; it must never depend on the crypto module.
 */
#include "common/cf.h"
#include "store/store.h"
#include "merkle/merkle.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

/* ---- helpers ---------------------------------------------------------- */

static int64_t fake_now(void *ctx)
{
	return *(const int64_t *)ctx;
}

/* Counts up from the byte ctx points to: predictable, never used for secrets here. */
static void counting_random(void *ctx, void *buf, size_t len)
{
	uint8_t *c = ctx, *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (*c)++;
}

typedef struct fx {
	char dir[64];
	int64_t clock;
	uint8_t rng;
	cf_env env;
	cf_store *s;
} fx;

static void fx_open(fx *f, const cf_store_options *opts)
{
	cf_err err = {0};
	cf_rc rc = cf_store_open(f->dir, &f->env, opts, &f->s, &err);

	if (rc != CF_OK)
		fail_msg("cf_store_open: %d %s", rc, err.detail);
	assert_non_null(f->s);
}

static void fx_close(fx *f)
{
	cf_store_close(f->s);
	f->s = NULL;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	memcpy(f->dir, "/tmp/cf_store_test_XXXXXX", sizeof("/tmp/cf_store_test_XXXXXX"));
	assert_non_null(mkdtemp(f->dir));
	f->clock = 1700000000000000;
	f->env = (cf_env){fake_now, &f->clock, counting_random, &f->rng};
	fx_open(f, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	cf_store_close(f->s);
	remove_dir(f->dir);
	free(f);
	return 0;
}

static cf_tx *begin(fx *f, bool write)
{
	cf_err err = {0};
	cf_tx *tx = NULL;
	cf_rc rc = cf_store_begin(f->s, write, &tx, &err);

	if (rc != CF_OK)
		fail_msg("cf_store_begin: %d %s", rc, err.detail);
	assert_non_null(tx);
	return tx;
}

static void commit(cf_tx *tx)
{
	cf_err err = {0};
	cf_rc rc = cf_tx_commit(tx, &err);

	if (rc != CF_OK)
		fail_msg("cf_tx_commit: %d %s", rc, err.detail);
}

#define OK(call)                                                                                                       \
	do {                                                                                                           \
		cf_err ok_err_ = {0};                                                                                  \
		cf_rc ok_rc_ = (call);                                                                                 \
		if (ok_rc_ != CF_OK)                                                                                   \
			fail_msg("%s: rc %d: %s", #call, ok_rc_, ok_err_.detail);                                      \
	} while (0)
/* OK() needs the call to use `&ok_err_` as its err: wrap the call in E_. */
#define E_ (&ok_err_)

/* Sets one meta key in a write transaction of its own. */
static void put_meta(fx *f, const char *key, const char *value)
{
	cf_tx *tx = begin(f, true);
	OK(cf_st_meta_set(tx, key, value, E_));
	commit(tx);
}

/* Reads one meta key in a read transaction of its own: it holds want. */
static void assert_meta(fx *f, const char *key, const char *want)
{
	cf_tx *tx = begin(f, false);
	char *v = NULL;
	OK(cf_st_meta_get(tx, key, &v, E_));
	assert_string_equal(v, want);
	free(v);
	commit(tx);
}

static void path_of(const fx *f, const char *file, char *out, size_t cap)
{
	assert_int_equal(cf_snprintf(out, cap, "%s/%s", f->dir, file), CF_OK);
}

/* A raw sqlite3 connection on one file, behind the store's back. */
static sqlite3 *raw_open(const fx *f, const char *file)
{
	char path[PATH_MAX];
	sqlite3 *db = NULL;

	path_of(f, file, path, sizeof(path));
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_busy_timeout(db, 2000), SQLITE_OK);
	return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int raw_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Compact, sorted-keys text of a JSON value, for exact comparisons. */
static void assert_json(json_t *v, const char *expected)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

	assert_non_null(text);
	assert_string_equal(text, expected);
	free(text);
}

static void make_org(fx *f, const char *id)
{
	cf_tx *tx = begin(f, true);

	OK(cf_st_org_insert(tx, id, "An organization", f->clock, E_));
	commit(tx);
}

static int64_t make_user(fx *f, const char *username)
{
	cf_tx *tx = begin(f, true);
	int64_t id = 0;

	OK(cf_st_user_insert(tx, username, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA", NULL, f->clock, &id, E_));
	commit(tx);
	return id;
}

/* Reads a whole file (plus nothing) into a malloc'd buffer; NULL if absent. */
static uint8_t *slurp(const fx *f, const char *file, size_t *len)
{
	char path[PATH_MAX];
	uint8_t *buf;
	FILE *fp;
	long n;

	*len = 0;
	path_of(f, file, path, sizeof(path));
	fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static bool file_contains(const fx *f, const char *file, const uint8_t *needle, size_t nlen)
{
	size_t len;
	uint8_t *buf = slurp(f, file, &len);
	bool found = buf != NULL && memmem(buf, len, needle, nlen) != NULL;

	free(buf);
	return found;
}

static unsigned file_mode(const fx *f, const char *file)
{
	char path[PATH_MAX];
	struct stat sb;

	path_of(f, file, path, sizeof(path));
	if (stat(path, &sb) != 0)
		fail_msg("stat %s: %s", file, strerror(errno));
	return (unsigned)(sb.st_mode & 07777);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A recognizable leaf hash for tag/i; the store keeps hashes, it never recomputes them. */
static void fake_hash(uint8_t tag, int64_t i, uint8_t out[CF_HASH_LEN])
{
	uint64_t u = (uint64_t)i;
	size_t k;

	for (k = 0; k < CF_HASH_LEN; k++)
		out[k] = (uint8_t)(tag + k * 7u + (uint8_t)(u >> (8 * (k % 8))));
}

static const uint8_t LEAF_A[CF_HASH_LEN] = "leaf-A: 32 bytes of a leaf hash";

/* ---- opening, files, schema ------------------------------------------- */

static void test_open_close_reopen_keeps_data(void **state)
{
	fx *f = *state;
	cf_tx *tx;
	char *v = NULL;
	sqlite3 *db;

	tx = begin(f, true);
	OK(cf_st_meta_set(tx, "instance", "coffre-1", E_));
	OK(cf_st_org_insert(tx, "o1", "Mairie", f->clock, E_));
	commit(tx);
	fx_close(f);

	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 5);
	assert_int_equal(raw_int(db, "PRAGMA foreign_keys"), 0); /* a per-connection setting, as expected */
	sqlite3_close(db);
	db = raw_open(f, "keys.db");
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"), 1);
	sqlite3_close(db);

	fx_open(f, NULL);
	tx = begin(f, false);
	OK(cf_st_meta_get(tx, "instance", &v, E_));
	assert_string_equal(v, "coffre-1");
	free(v);
	OK(cf_st_org_get(tx, "o1", &v, E_));
	assert_string_equal(v, "Mairie");
	free(v);
	commit(tx);

	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 5);
	sqlite3_close(db);
	db = raw_open(f, "keys.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"), 1);
	sqlite3_close(db);
}

static void test_open_refused(void **state)
{
	fx *f = *state;
	cf_store *s = (cf_store *)0x1;
	cf_store_options bad = {.busy_timeout_ms = -1};
	char longdir[PATH_MAX + 8];
	cf_err err = {0};

	assert_int_equal(cf_store_open(NULL, &f->env, NULL, &s, &err), CF_EINVAL);
	assert_null(s);
	assert_int_equal(cf_store_open("/nonexistent/cf_store_dir", &f->env, NULL, &s, &err), CF_ESTORE);
	assert_null(s);
	assert_int_equal(cf_store_open(f->dir, &f->env, &bad, &s, &err), CF_EINVAL);
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(cf_store_open(longdir, &f->env, NULL, &s, &err), CF_EINVAL);
	cf_store_close(NULL);
	cf_tx_rollback(NULL);
}

static void test_newer_schema_refused(void **state)
{
	fx *f = *state;
	cf_store *s = NULL;
	cf_err err = {0};
	sqlite3 *db;

	fx_close(f);
	db = raw_open(f, "keys.db");
	assert_int_equal(raw_exec(db, "PRAGMA user_version = 3"), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(cf_store_open(f->dir, &f->env, NULL, &s, &err), CF_ESTORE);
	assert_null(s);
	assert_non_null(strstr(err.detail, "ks schema version 3"));

	db = raw_open(f, "keys.db");
	assert_int_equal(raw_exec(db, "PRAGMA user_version = 2"), SQLITE_OK);
	sqlite3_close(db);
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "PRAGMA user_version = 7"), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(cf_store_open(f->dir, &f->env, NULL, &s, &err), CF_ESTORE);
	assert_null(s);
	assert_non_null(strstr(err.detail, "main schema version 7"));

	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "PRAGMA user_version = 5"), SQLITE_OK);
	sqlite3_close(db);
	fx_open(f, NULL);
}

static void test_file_modes_0600(void **state)
{
	fx *f = *state;
	char path[PATH_MAX];
	mode_t old;
	cf_tx *tx;

	/* A fresh store under a permissive umask still gets 0600 files, and the umask is restored. */
	fx_close(f);
	remove_dir(f->dir);
	assert_int_equal(mkdir(f->dir, 0700), 0);
	old = umask(0);
	fx_open(f, NULL);
	assert_int_equal(umask(0), 0);
	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "o1", "x", f->clock, E_));
	OK(cf_st_key_put(tx, "org", "o1", "k", (const uint8_t *)"wrapped", 7, f->clock, E_));
	commit(tx);
	assert_int_equal(file_mode(f, "vault.db"), 0600);
	assert_int_equal(file_mode(f, "keys.db"), 0600);
	assert_int_equal(file_mode(f, "vault.db-wal"), 0600);
	assert_int_equal(file_mode(f, "vault.db-shm"), 0600);
	assert_int_equal(file_mode(f, "keys.db-wal"), 0600);
	assert_int_equal(file_mode(f, "keys.db-shm"), 0600);
	(void)umask(old);

	/* An existing file that was loosened is tightened again at open. */
	fx_close(f);
	path_of(f, "vault.db", path, sizeof(path));
	assert_int_equal(chmod(path, 0644), 0);
	path_of(f, "keys.db", path, sizeof(path));
	assert_int_equal(chmod(path, 0666), 0);
	fx_open(f, NULL);
	assert_int_equal(file_mode(f, "vault.db"), 0600);
	assert_int_equal(file_mode(f, "keys.db"), 0600);
}

static void test_sync_full_and_timeout_options(void **state)
{
	fx *f = *state;
	cf_store_options opts = {.busy_timeout_ms = 250, .sync_full = true};

	fx_close(f);
	fx_open(f, &opts);
	put_meta(f, "k", "v");
	assert_meta(f, "k", "v");
}

/*
 * A connection whose keystore log would not sync as the store set it is
 * refused at open, whichever way it differs: the writer's connection
 * gathers its log writes until each commit's sync (store_vfs.c), and a
 * commit published without that sync damages keys.db. With the store's
 * own setting the same directory opens and keeps its data.
 */
static void test_sync_setting_read_back(void **state)
{
	fx *f = *state;
	static const struct {
		bool sync_full;
		const char *ks;
		const char *reads;
	} cases[] = {
		{true, "NORMAL", "reads 1, not the 2"}, {true, "OFF", "reads 0, not the 2"},
		{true, "EXTRA", "reads 3, not the 2"}, {false, "FULL", "reads 2, not the 1"},
	};

	put_meta(f, "k", "kept");
	fx_close(f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cf_store_options opts = {.busy_timeout_ms = 250, .sync_full = cases[i].sync_full};
		cf_store *s = NULL;
		cf_err err = {0};
		cf_store_set_keystore_sync_for_tests(cases[i].ks);
		assert_int_equal(cf_store_open(f->dir, &f->env, &opts, &s, &err), CF_ESTORE);
		assert_null(s);
		assert_non_null(strstr(err.detail, "ks's synchronous setting"));
		assert_non_null(strstr(err.detail, cases[i].reads));
	}
	/* unknown text is ignored: the store's own setting again */
	cf_store_set_keystore_sync_for_tests("FULL; DROP TABLE ks.keys");
	{
		cf_store_options opts = {.busy_timeout_ms = 250, .sync_full = true};
		fx_open(f, &opts);
	}
	cf_store_set_keystore_sync_for_tests(NULL);
	assert_meta(f, "k", "kept");
}

/*
 * Reading ahead (offline verification) sees what was written, before and
 * after a reopen, and never a block kept from before another connection
 * changed the file: the next transaction reads the file again.
 */
/*
 * The writer's connection, syncing its commits, gathers each commit's log
 * writes into one call: every commit is in the log file when it returns,
 * whole, for any other connection (a second process's, the store's
 * readers), including commits larger than the buffer and a log restarted
 * after a checkpoint.
 */
static void test_sync_full_log_writes_gathered(void **state)
{
	fx *f = *state;
	cf_store_options opts = {.sync_full = true, .readers = 2};
	char name[32], *got = NULL;
	cf_tx *tx;
	sqlite3 *db;

	fx_close(f);
	fx_open(f, &opts);
	for (int round = 0; round < 3; round++) {
		tx = begin(f, true);
		/* about 3 MiB of pages in one commit: three times the buffer */
		for (int i = 0; i < 2500; i++) {
			char long_name[1100];
			assert_int_equal(cf_snprintf(name, sizeof(name), "r%d-%04d", round, i), CF_OK);
			memset(long_name, 'a' + round, sizeof(long_name) - 1);
			long_name[sizeof(long_name) - 1] = '\0';
			OK(cf_st_org_insert(tx, name, long_name, 1, E_));
		}
		commit(tx);
		/* another process's view: the log's frames are all in the file */
		db = raw_open(f, "vault.db");
		assert_int_equal(raw_int(db, "SELECT count(*) FROM orgs"), 2500 * (round + 1));
		assert_int_equal(raw_int(db, "SELECT sum(length(name)) FROM orgs"), 1099LL * 2500 * (round + 1));
		if (round == 1) /* the next commit restarts the log from its start */
			assert_int_equal(raw_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)"), SQLITE_OK);
		sqlite3_close(db);
		/* the store's own readers */
		tx = begin(f, false);
		assert_int_equal(cf_snprintf(name, sizeof(name), "r%d-2499", round), CF_OK);
		OK(cf_st_org_get(tx, name, &got, E_));
		assert_int_equal(strlen(got), 1099);
		free(got);
		commit(tx);
	}
	/* a small commit after the large ones, and a reopen */
	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "last", "Last", 1, E_));
	commit(tx);
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM orgs WHERE id = 'last'"), 1);
	sqlite3_close(db);
	fx_close(f);
	fx_open(f, NULL);
	tx = begin(f, false);
	OK(cf_st_org_get(tx, "r2-0000", &got, E_));
	free(got);
	commit(tx);
}

static long raw_file_size(fx *f, const char *name)
{
	char path[PATH_MAX];
	struct stat sb;

	assert_int_equal(cf_snprintf(path, sizeof(path), "%s/%s", f->dir, name), CF_OK);
	assert_int_equal(stat(path, &sb), 0);
	return (long)sb.st_size;
}

static void test_scan_reads(void **state)
{
	fx *f = *state;
	cf_store_options opts = {.scan_reads = true};
	char name[16], *got = NULL;
	cf_err err = {0};
	sqlite3 *db;
	cf_tx *tx;
	int64_t idx = -1, n = -1;

	fx_close(f);
	fx_open(f, &opts);
	tx = begin(f, true);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(cf_snprintf(name, sizeof(name), "org%03d", i), CF_OK);
		OK(cf_st_org_insert(tx, name, "A rather long organization name to fill the pages quickly", 1, E_));
		OK(cf_st_audit_append(tx, "{\"a\":0}", 7, LEAF_A, NULL, &idx, E_));
	}
	commit(tx);
	fx_close(f);
	/* a file of a few blocks: a file smaller than one is read a page at a time */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 9999)"
				      " INSERT INTO orgs (id, name, created_us) SELECT printf('filler%05d', i),"
				      " printf('%.100c', 'x'), 1 FROM k; PRAGMA wal_checkpoint(TRUNCATE)"),
			 SQLITE_OK);
	sqlite3_close(db);
	fx_open(f, &opts);
	tx = begin(f, false);
	OK(cf_st_org_get(tx, "org299", &got, E_));
	assert_string_equal(got, "A rather long organization name to fill the pages quickly");
	free(got);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, 300);
	/* the last page read is the first table's, in the file's first block, the block kept */
	assert_int_equal(cf_st_meta_get(tx, "marker", &got, &err), CF_ENOTFOUND);
	commit(tx);

	/*
	 * Another connection rewrites pages of that block (a row in the first
	 * table, the header) and of others (its commit, then a checkpoint into
	 * the file).
	 */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "INSERT INTO meta (key, value) VALUES ('marker', 'set behind the reader''s back');"
				      " WITH RECURSIVE k(i) AS (SELECT 300 UNION ALL SELECT i + 1 FROM k WHERE i < 599)"
				      " INSERT INTO orgs (id, name, created_us) SELECT printf('org%03d', i),"
				      " 'Another long name, written behind the reader''s back', 2 FROM k;"
				      " UPDATE orgs SET name = 'Renamed' WHERE id = 'org000';"
				      " PRAGMA wal_checkpoint(TRUNCATE)"),
			 SQLITE_OK);
	sqlite3_close(db);
	tx = begin(f, false);
	assert_true(raw_file_size(f, "vault.db") > 4 * 256 * 1024);
	OK(cf_st_meta_get(tx, "marker", &got, E_));
	assert_string_equal(got, "set behind the reader's back");
	free(got);
	OK(cf_st_org_get(tx, "org599", &got, E_));
	assert_string_equal(got, "Another long name, written behind the reader's back");
	free(got);
	OK(cf_st_org_get(tx, "org000", &got, E_));
	assert_string_equal(got, "Renamed");
	free(got);
	assert_int_equal(cf_st_org_get(tx, "org600", &got, &err), CF_ENOTFOUND);
	commit(tx);
	fx_close(f);
	fx_open(f, NULL);
}

static void test_check(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	char path[PATH_MAX], name[32];
	cf_tx *tx;
	FILE *fp;
	int i;
	uint8_t garbage[4096];
	long size;

	assert_int_equal(cf_store_check(f->s, &err), CF_OK);
	assert_int_equal(cf_store_check(NULL, &err), CF_EINTERNAL);

	/* Fill several pages, then overwrite an interior page with garbage. */
	tx = begin(f, true);
	for (i = 0; i < 300; i++) {
		assert_int_equal(cf_snprintf(name, sizeof(name), "org%03d", i), CF_OK);
		OK(cf_st_org_insert(tx, name, "A rather long organization name to fill the pages quickly", 1, E_));
	}
	commit(tx);
	fx_close(f);
	memset(garbage, 0xA5, sizeof(garbage));
	path_of(f, "vault.db", path, sizeof(path));
	fp = fopen(path, "r+b");
	assert_non_null(fp);
	/* The last page: an orgs b-tree page, written after every schema page. */
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	size = ftell(fp);
	assert_true(size >= 4096L * 4);
	assert_int_equal(fseek(fp, size - 4096L + 8, SEEK_SET), 0);
	assert_int_equal(fwrite(garbage, 1, 2000, fp), 2000);
	fclose(fp);
	fx_open(f, NULL);
	assert_int_equal(cf_store_check(f->s, &err), CF_EINTEGRITY);
	assert_non_null(strstr(err.detail, "vault.db"));
}

/* ---- transactions ----------------------------------------------------- */

static void test_rollback_leaves_nothing(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_tx *tx;
	char *v = NULL;
	uint8_t *w = NULL;
	size_t wlen = 9;
	int64_t n = -1, idx = -1;

	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "o1", "x", f->clock, E_));
	OK(cf_st_meta_set(tx, "m", "v", E_));
	OK(cf_st_key_put(tx, "org", "o1", "k", (const uint8_t *)"wrapped", 7, f->clock, E_));
	OK(cf_st_audit_append(tx, "e0", 2, LEAF_A, NULL, &idx, E_));
	assert_int_equal(idx, 0);
	cf_tx_rollback(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_org_get(tx, "o1", &v, &err), CF_ENOTFOUND);
	assert_null(v);
	assert_int_equal(cf_st_meta_get(tx, "m", &v, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_key_get(tx, "org", "o1", "k", &w, &wlen, &err), CF_ENOTFOUND);
	assert_null(w);
	assert_int_equal(wlen, 0);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, 0);
	commit(tx);

	/* The next append after a rollback still gets index 0. */
	tx = begin(f, true);
	OK(cf_st_audit_append(tx, "e0", 2, LEAF_A, NULL, &idx, E_));
	assert_int_equal(idx, 0);
	commit(tx);
}

static void test_statement_error_keeps_tx_usable(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_tx *tx;
	json_t *list = NULL;

	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "o1", "one", 1, E_));
	assert_int_equal(cf_st_org_insert(tx, "o1", "again", 2, &err), CF_EEXIST);
	OK(cf_st_org_insert(tx, "o2", "two", 3, E_));
	commit(tx);

	tx = begin(f, false);
	OK(cf_st_org_list(tx, &list, E_));
	assert_json(list, "[{\"created_us\":1,\"id\":\"o1\",\"name\":\"one\"},"
			  "{\"created_us\":3,\"id\":\"o2\",\"name\":\"two\"}]");
	json_decref(list);
	commit(tx);
}

static void test_write_in_read_tx_refused(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_tx *tx;
	char *v = NULL;
	int64_t idx = 0;

	tx = begin(f, false);
	assert_int_equal(cf_st_org_insert(tx, "o1", "x", 1, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_audit_append(tx, "e", 1, LEAF_A, NULL, &idx, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_meta_get(tx, "m", &v, &err), CF_ENOTFOUND);
	commit(tx);
	tx = begin(f, false);
	assert_int_equal(cf_st_org_get(tx, "o1", &v, &err), CF_ENOTFOUND);
	commit(tx);
	assert_int_equal(cf_tx_commit(NULL, &err), CF_EINTERNAL);
}

static void test_double_begin_same_thread_refused(void **state)
{
	fx *f = *state;
	cf_store_options opts = {.busy_timeout_ms = 50};
	cf_err err = {0};
	cf_tx *tx, *tx2 = (cf_tx *)0x1;

	fx_close(f);
	fx_open(f, &opts);
	tx = begin(f, true);
	assert_int_equal(cf_store_begin(f->s, false, &tx2, &err), CF_EINTERNAL);
	assert_null(tx2);
	cf_tx_rollback(tx);
	tx = begin(f, false);
	cf_tx_rollback(tx);
}

typedef struct holder {
	fx *f;
	pthread_mutex_t m;
	pthread_cond_t c;
	bool held;
	long hold_ms;
	cf_rc begin_rc; /* set before `held`, under m */
	cf_rc rc;       /* read only after join */
} holder;

static void *hold_thread(void *arg)
{
	holder *h = arg;
	cf_tx *tx = NULL;
	cf_err err = {0};

	cf_rc rc = cf_store_begin(h->f->s, true, &tx, &err);

	pthread_mutex_lock(&h->m);
	h->begin_rc = rc;
	h->held = true;
	pthread_cond_signal(&h->c);
	pthread_mutex_unlock(&h->m);
	if (rc != CF_OK)
		return NULL;
	sleep_ms(h->hold_ms);
	h->rc = cf_st_org_insert(tx, "held", "by the other thread", 1, &err);
	if (h->rc != CF_OK) {
		cf_tx_rollback(tx);
		return NULL;
	}
	h->rc = cf_tx_commit(tx, &err);
	return NULL;
}

static void test_contention_bounded_wait(void **state)
{
	fx *f = *state;
	cf_store_options opts = {.busy_timeout_ms = 100};
	holder h = {.f = f, .hold_ms = 1500};
	cf_err err = {0};
	cf_tx *tx = (cf_tx *)0x1;
	pthread_t th;
	int64_t t0, elapsed;
	char *v = NULL;

	fx_close(f);
	fx_open(f, &opts);
	pthread_mutex_init(&h.m, NULL);
	pthread_cond_init(&h.c, NULL);
	assert_int_equal(pthread_create(&th, NULL, hold_thread, &h), 0);
	pthread_mutex_lock(&h.m);
	while (!h.held)
		pthread_cond_wait(&h.c, &h.m);
	pthread_mutex_unlock(&h.m);
	assert_int_equal(h.begin_rc, CF_OK);

	t0 = mono_ms();
	assert_int_equal(cf_store_begin(f->s, true, &tx, &err), CF_ESTORE);
	elapsed = mono_ms() - t0;
	assert_null(tx);
	assert_int_equal(err.problem, CF_P_STORE_UNAVAILABLE);
	assert_non_null(strstr(err.detail, "store busy"));
	assert_true(elapsed >= 90);
	assert_true(elapsed < 1000);
	/* Readers wait the same bounded time. */
	t0 = mono_ms();
	assert_int_equal(cf_store_begin(f->s, false, &tx, &err), CF_ESTORE);
	assert_true(mono_ms() - t0 < 1000);
	assert_int_equal(cf_store_check(f->s, &err), CF_ESTORE);

	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(h.rc, CF_OK);
	tx = begin(f, false);
	OK(cf_st_org_get(tx, "held", &v, E_));
	assert_string_equal(v, "by the other thread");
	free(v);
	commit(tx);
	pthread_mutex_destroy(&h.m);
	pthread_cond_destroy(&h.c);
}

#define WRITERS 4
#define APPENDS 40

typedef struct writer {
	fx *f;
	int n;
	int failures;
} writer;

static void *write_thread(void *arg)
{
	writer *w = arg;
	char entry[32];
	cf_err err = {0};
	cf_tx *tx;
	int64_t idx;
	int i;

	for (i = 0; i < APPENDS; i++) {
		if (cf_snprintf(entry, sizeof(entry), "w%d-%d", w->n, i) != CF_OK ||
		    cf_store_begin(w->f->s, true, &tx, &err) != CF_OK) {
			w->failures++;
			continue;
		}
		if (cf_st_audit_append(tx, entry, strlen(entry), LEAF_A, NULL, &idx, &err) != CF_OK) {
			cf_tx_rollback(tx);
			w->failures++;
			continue;
		}
		if (cf_tx_commit(tx, &err) != CF_OK)
			w->failures++;
	}
	return NULL;
}

static void test_threads_share_the_store(void **state)
{
	fx *f = *state;
	writer w[WRITERS];
	pthread_t th[WRITERS];
	bool seen[WRITERS][APPENDS];
	cf_tx *tx;
	int64_t n = 0, i;
	char *e = NULL;
	size_t len;
	int t, k;

	memset(seen, 0, sizeof(seen));
	for (t = 0; t < WRITERS; t++) {
		w[t] = (writer){f, t, 0};
		assert_int_equal(pthread_create(&th[t], NULL, write_thread, &w[t]), 0);
	}
	for (t = 0; t < WRITERS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(w[t].failures, 0);
	}
	tx = begin(f, false);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, WRITERS * APPENDS);
	for (i = 0; i < n; i++) {
		OK(cf_st_audit_get(tx, i, &e, &len, NULL, E_));
		assert_int_equal(sscanf(e, "w%d-%d", &t, &k), 2);
		assert_true(t >= 0 && t < WRITERS && k >= 0 && k < APPENDS);
		assert_false(seen[t][k]);
		seen[t][k] = true;
		free(e);
	}
	commit(tx);
}

/* ---- meta and organizations ------------------------------------------- */

static void test_meta(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_tx *tx;
	char *v = NULL;

	tx = begin(f, true);
	assert_int_equal(cf_st_meta_get(tx, "root_key_id", &v, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_null(v);
	OK(cf_st_meta_set(tx, "root_key_id", "k1", E_));
	OK(cf_st_meta_get(tx, "root_key_id", &v, E_));
	assert_string_equal(v, "k1");
	free(v);
	OK(cf_st_meta_set(tx, "root_key_id", "k2", E_));
	OK(cf_st_meta_set(tx, "empty", "", E_));
	OK(cf_st_meta_get(tx, "root_key_id", &v, E_));
	assert_string_equal(v, "k2");
	free(v);
	OK(cf_st_meta_get(tx, "empty", &v, E_));
	assert_string_equal(v, "");
	free(v);
	assert_int_equal(cf_st_meta_set(tx, "", "v", &err), CF_EINVAL);
	assert_int_equal(cf_st_meta_set(tx, NULL, "v", &err), CF_EINVAL);
	assert_int_equal(cf_st_meta_set(tx, "k", NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_meta_get(NULL, "k", &v, &err), CF_EINTERNAL);
	commit(tx);
}

static void test_orgs(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_tx *tx;
	char *v = NULL;
	json_t *list = NULL;
	char longid[CF_ID_MAX + 2];

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	tx = begin(f, true);
	OK(cf_st_org_list(tx, &list, E_));
	assert_json(list, "[]");
	json_decref(list);
	OK(cf_st_org_insert(tx, "o2", "Two", 20, E_));
	OK(cf_st_org_insert(tx, "o1", "One", 10, E_));
	assert_int_equal(cf_st_org_insert(tx, "o1", "Other", 30, &err), CF_EEXIST);
	assert_int_equal(err.problem, CF_P_CONFLICT);
	assert_int_equal(cf_st_org_insert(tx, longid, "Long", 30, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	longid[CF_ID_MAX] = '\0'; /* exactly CF_ID_MAX is fine */
	OK(cf_st_org_insert(tx, longid, "Long", 30, E_));
	assert_int_equal(cf_st_org_insert(tx, "", "Empty", 30, &err), CF_EINVAL);
	assert_int_equal(cf_st_org_insert(tx, "o3", NULL, 30, &err), CF_EINVAL);
	OK(cf_st_org_get(tx, "o1", &v, E_));
	assert_string_equal(v, "One");
	free(v);
	assert_int_equal(cf_st_org_get(tx, "o9", &v, &err), CF_ENOTFOUND);
	assert_null(v);
	commit(tx);

	tx = begin(f, false);
	OK(cf_st_org_list(tx, &list, E_));
	assert_int_equal(json_array_size(list), 3);
	assert_json(json_array_get(list, 0), "{\"created_us\":10,\"id\":\"o1\",\"name\":\"One\"}");
	assert_json(json_array_get(list, 1), "{\"created_us\":20,\"id\":\"o2\",\"name\":\"Two\"}");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 2), "id")), longid);
	json_decref(list);
	commit(tx);
}

/* ---- users and members ------------------------------------------------ */

static void test_users(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_user_row u;
	cf_tx *tx;
	json_t *list = NULL;
	int64_t id1 = 0, id2 = 0, id3 = 0, id = 0;
	char longname[300];

	tx = begin(f, true);
	OK(cf_st_user_insert(tx, "alice", "$argon2id$hash-a", "[\"admin\"]", 100, &id1, E_));
	OK(cf_st_user_insert(tx, "bob", NULL, NULL, 200, &id2, E_));
	OK(cf_st_user_insert(tx, "carol", "h", " [ \"auditor\" , \"admin\" ] ", 300, &id3, E_));
	assert_int_equal(id1, 1);
	assert_int_equal(id2, 2);
	assert_int_equal(id3, 3);

	/* A duplicate is refused, and the detail never echoes the value. */
	assert_int_equal(cf_st_user_insert(tx, "alice", "x", "[]", 1, &id, &err), CF_EEXIST);
	assert_int_equal(err.problem, CF_P_CONFLICT);
	assert_null(strstr(err.detail, "alice"));
	assert_int_equal(id, 0);
	assert_int_equal(cf_st_user_insert(tx, "dave", "x", "{\"admin\":1}", 1, &id, &err), CF_EINVAL);
	assert_int_equal(cf_st_user_insert(tx, "dave", "x", "[1]", 1, &id, &err), CF_EINVAL);
	assert_int_equal(cf_st_user_insert(tx, "dave", "x", "[\"\"]", 1, &id, &err), CF_EINVAL);
	assert_int_equal(cf_st_user_insert(tx, "dave", "x", "not json", 1, &id, &err), CF_EINVAL);
	assert_int_equal(cf_st_user_insert(tx, "dave", "x", "[\"a\",]", 1, &id, &err), CF_EINVAL);
	assert_int_equal(cf_st_user_insert(tx, "", "x", "[]", 1, &id, &err), CF_EINVAL);
	assert_int_equal(cf_st_user_insert(tx, NULL, "x", "[]", 1, &id, &err), CF_EINVAL);
	memset(longname, 'u', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(cf_st_user_insert(tx, longname, "x", "[]", 1, &id, &err), CF_EINVAL);

	OK(cf_st_user_get(tx, "alice", &u, E_));
	assert_int_equal(u.id, 1);
	assert_string_equal(u.username, "alice");
	assert_string_equal(u.pwhash, "$argon2id$hash-a");
	assert_string_equal(u.instance_roles, "[\"admin\"]");
	assert_int_equal(u.failed_logins, 0);
	assert_int_equal(u.locked_until_us, 0);
	assert_int_equal(u.created_us, 100);
	cf_user_row_release(&u);
	assert_null(u.username);

	OK(cf_st_user_get_by_id(tx, 2, &u, E_));
	assert_string_equal(u.username, "bob");
	assert_null(u.pwhash);
	assert_string_equal(u.instance_roles, "[]");
	cf_user_row_release(&u);
	assert_int_equal(cf_st_user_get(tx, "nobody", &u, &err), CF_ENOTFOUND);
	assert_null(u.username);
	assert_int_equal(cf_st_user_get_by_id(tx, 99, &u, &err), CF_ENOTFOUND);

	OK(cf_st_user_set_login_state(tx, 1, 3, 123456789, E_));
	OK(cf_st_user_get(tx, "alice", &u, E_));
	assert_int_equal(u.failed_logins, 3);
	assert_int_equal(u.locked_until_us, 123456789);
	cf_user_row_release(&u);
	assert_int_equal(cf_st_user_set_login_state(tx, 99, 0, 0, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_user_set_login_state(tx, 1, -1, 0, &err), CF_EINVAL);

	OK(cf_st_user_set_password(tx, 2, "$argon2id$hash-b", E_));
	OK(cf_st_user_get(tx, "bob", &u, E_));
	assert_string_equal(u.pwhash, "$argon2id$hash-b");
	cf_user_row_release(&u);
	OK(cf_st_user_set_password(tx, 2, NULL, E_));
	OK(cf_st_user_get(tx, "bob", &u, E_));
	assert_null(u.pwhash);
	cf_user_row_release(&u);
	assert_int_equal(cf_st_user_set_password(tx, 99, "h", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_user_set_password(tx, 1, "", &err), CF_EINVAL);

	/* Only users with instance roles, ordered by username, roles parsed. */
	OK(cf_st_user_list_instance(tx, &list, E_));
	assert_json(list, "[{\"created_us\":100,\"roles\":[\"admin\"],\"username\":\"alice\"},"
			  "{\"created_us\":300,\"roles\":[\"auditor\",\"admin\"],\"username\":\"carol\"}]");
	json_decref(list);
	commit(tx);
}

static void test_members(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_member_row m;
	cf_tx *tx;
	json_t *list = NULL;
	int64_t alice, bob;

	make_org(f, "o1");
	make_org(f, "o2");
	bob = make_user(f, "bob");
	alice = make_user(f, "alice");

	tx = begin(f, true);
	OK(cf_st_member_insert(tx, alice, "o1", "[\"dpo\"]", 10, E_));
	OK(cf_st_member_insert(tx, bob, "o1", "[]", 20, E_));
	OK(cf_st_member_insert(tx, alice, "o2", "[\"clerk\"]", 30, E_));
	assert_int_equal(cf_st_member_insert(tx, alice, "o1", "[]", 40, &err), CF_EEXIST);
	assert_int_equal(cf_st_member_insert(tx, 99, "o1", "[]", 40, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_insert(tx, alice, "o9", "[]", 40, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_insert(tx, alice, "o2", NULL, 40, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_insert(tx, bob, "o2", "{}", 40, &err), CF_EINVAL);

	OK(cf_st_member_get(tx, alice, "o1", &m, E_));
	assert_int_equal(m.user_id, alice);
	assert_string_equal(m.org, "o1");
	assert_string_equal(m.roles, "[\"dpo\"]");
	assert_false(m.blocked);
	assert_int_equal(m.created_us, 10);
	cf_member_row_release(&m);
	assert_null(m.org);
	assert_int_equal(cf_st_member_get(tx, bob, "o2", &m, &err), CF_ENOTFOUND);
	assert_null(m.roles);

	OK(cf_st_member_update(tx, alice, "o1", NULL, 1, E_)); /* block, keep roles */
	OK(cf_st_member_get(tx, alice, "o1", &m, E_));
	assert_true(m.blocked);
	assert_string_equal(m.roles, "[\"dpo\"]");
	cf_member_row_release(&m);
	OK(cf_st_member_update(tx, alice, "o1", "[\"dpo\",\"clerk\"]", -1, E_)); /* roles, keep flag */
	OK(cf_st_member_get(tx, alice, "o1", &m, E_));
	assert_true(m.blocked);
	assert_string_equal(m.roles, "[\"dpo\",\"clerk\"]");
	cf_member_row_release(&m);
	OK(cf_st_member_update(tx, alice, "o1", NULL, 0, E_)); /* unblock */
	OK(cf_st_member_get(tx, alice, "o1", &m, E_));
	assert_false(m.blocked);
	cf_member_row_release(&m);
	assert_int_equal(cf_st_member_update(tx, bob, "o2", NULL, 1, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_update(tx, alice, "o1", "[2]", -1, &err), CF_EINVAL);
	OK(cf_st_member_update(tx, bob, "o1", NULL, 1, E_));

	OK(cf_st_member_list(tx, "o1", &list, E_));
	assert_json(list, "[{\"blocked\":false,\"created_us\":10,\"roles\":[\"dpo\",\"clerk\"],\"username\":\"alice\"},"
			  "{\"blocked\":true,\"created_us\":20,\"roles\":[],\"username\":\"bob\"}]");
	json_decref(list);
	OK(cf_st_member_list(tx, "o9", &list, E_));
	assert_json(list, "[]");
	json_decref(list);
	commit(tx);
}

/* ---- tokens and API keys ---------------------------------------------- */

static void test_tokens(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_token_row t = {0}, got;
	cf_tx *tx;
	int64_t alice;
	char org1[] = "o1";
	int i;

	make_org(f, "o1");
	alice = make_user(f, "alice");
	tx = begin(f, true);
	memcpy(t.hash, "aa", 3);
	t.user_id = alice;
	t.org = NULL;
	memcpy(t.method, "password", 9);
	t.created_us = 10;
	t.expires_us = 100;
	OK(cf_st_token_insert(tx, &t, E_));
	assert_int_equal(cf_st_token_insert(tx, &t, &err), CF_EEXIST);
	memcpy(t.hash, "bb", 3);
	t.org = org1;
	t.expires_us = 200;
	OK(cf_st_token_insert(tx, &t, E_));
	memcpy(t.hash, "cc", 3);
	t.expires_us = 300;
	OK(cf_st_token_insert(tx, &t, E_));
	memcpy(t.hash, "dd", 3);
	t.user_id = 99;
	assert_int_equal(cf_st_token_insert(tx, &t, &err), CF_ENOTFOUND);
	t.user_id = alice;
	t.org = (char *)"o9";
	assert_int_equal(cf_st_token_insert(tx, &t, &err), CF_ENOTFOUND);
	t.org = NULL;
	t.hash[0] = '\0';
	assert_int_equal(cf_st_token_insert(tx, &t, &err), CF_EINVAL);

	OK(cf_st_token_get(tx, "aa", &got, E_));
	assert_string_equal(got.hash, "aa");
	assert_int_equal(got.user_id, alice);
	assert_null(got.org);
	assert_string_equal(got.method, "password");
	assert_int_equal(got.created_us, 10);
	assert_int_equal(got.expires_us, 100);
	cf_token_row_release(&got);
	OK(cf_st_token_get(tx, "bb", &got, E_));
	assert_string_equal(got.org, "o1");
	assert_int_equal(got.expires_us, 200);
	cf_token_row_release(&got);
	assert_null(got.org);
	assert_int_equal(cf_st_token_get(tx, "zz", &got, &err), CF_ENOTFOUND);

	OK(cf_st_token_delete(tx, "bb", E_));
	assert_int_equal(cf_st_token_get(tx, "bb", &got, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_token_delete(tx, "bb", &err), CF_ENOTFOUND);

	/* Purge removes expiry <= now only. */
	OK(cf_st_token_purge_expired(tx, 100, E_));
	assert_int_equal(cf_st_token_get(tx, "aa", &got, &err), CF_ENOTFOUND);
	OK(cf_st_token_get(tx, "cc", &got, E_));
	cf_token_row_release(&got);
	OK(cf_st_token_purge_expired(tx, 299, E_));
	OK(cf_st_token_get(tx, "cc", &got, E_));
	cf_token_row_release(&got);
	OK(cf_st_token_purge_expired(tx, 300, E_));
	assert_int_equal(cf_st_token_get(tx, "cc", &got, &err), CF_ENOTFOUND);
	for (i = 0; i < 64; i++)
		t.hash[i] = 'f';
	t.hash[64] = '\0';
	OK(cf_st_token_insert(tx, &t, E_));
	OK(cf_st_token_get(tx, t.hash, &got, E_));
	assert_int_equal(strlen(got.hash), 64);
	cf_token_row_release(&got);
	commit(tx);
}

static void test_apikeys(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_apikey_row k = {0}, got;
	cf_tx *tx;
	json_t *list = NULL;
	int64_t svc;
	char org1[] = "o1", desc[] = "nightly import";

	make_org(f, "o1");
	make_org(f, "o2");
	svc = make_user(f, "svc-import");
	tx = begin(f, true);
	memcpy(k.id, "k1", 3);
	memcpy(k.hash, "h1", 3);
	k.user_id = svc;
	k.org = org1;
	k.description = desc;
	k.created_us = 50;
	OK(cf_st_apikey_insert(tx, &k, E_));
	assert_int_equal(cf_st_apikey_insert(tx, &k, &err), CF_EEXIST); /* same id */
	memcpy(k.id, "k2", 3);
	assert_int_equal(cf_st_apikey_insert(tx, &k, &err), CF_EEXIST); /* same hash */
	memcpy(k.hash, "h2", 3);
	k.description = NULL;
	k.created_us = 60;
	OK(cf_st_apikey_insert(tx, &k, E_));
	memcpy(k.id, "k3", 3);
	memcpy(k.hash, "h3", 3);
	k.user_id = 99;
	assert_int_equal(cf_st_apikey_insert(tx, &k, &err), CF_ENOTFOUND);
	k.user_id = svc;
	k.org = NULL;
	assert_int_equal(cf_st_apikey_insert(tx, &k, &err), CF_EINVAL);

	OK(cf_st_apikey_get(tx, "k1", &got, E_));
	assert_string_equal(got.id, "k1");
	assert_string_equal(got.hash, "h1");
	assert_int_equal(got.user_id, svc);
	assert_string_equal(got.org, "o1");
	assert_string_equal(got.description, "nightly import");
	assert_int_equal(got.created_us, 50);
	assert_false(got.revoked);
	cf_apikey_row_release(&got);
	OK(cf_st_apikey_get(tx, "k2", &got, E_));
	assert_string_equal(got.description, "");
	cf_apikey_row_release(&got);
	assert_int_equal(cf_st_apikey_get(tx, "k9", &got, &err), CF_ENOTFOUND);
	assert_null(got.org);

	assert_int_equal(cf_st_apikey_revoke(tx, "o2", "k1", &err), CF_ENOTFOUND); /* another org's key */
	assert_int_equal(cf_st_apikey_revoke(tx, "o1", "k9", &err), CF_ENOTFOUND);
	OK(cf_st_apikey_revoke(tx, "o1", "k1", E_));
	OK(cf_st_apikey_revoke(tx, "o1", "k1", E_));
	OK(cf_st_apikey_get(tx, "k1", &got, E_));
	assert_true(got.revoked);
	cf_apikey_row_release(&got);

	OK(cf_st_apikey_list(tx, "o1", &list, E_));
	assert_json(list, "[{\"created_us\":50,\"description\":\"nightly import\",\"id\":\"k1\",\"revoked\":true,"
			  "\"username\":\"svc-import\"},"
			  "{\"created_us\":60,\"description\":\"\",\"id\":\"k2\",\"revoked\":false,"
			  "\"username\":\"svc-import\"}]");
	json_decref(list);
	OK(cf_st_apikey_list(tx, "o2", &list, E_));
	assert_json(list, "[]");
	json_decref(list);
	commit(tx);
}

/* ---- collections, grants, subjects ------------------------------------ */

static void test_collections(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_tx *tx;
	char *def = NULL;
	int64_t version = 0;
	json_t *list = NULL;

	make_org(f, "o1");
	tx = begin(f, true);
	OK(cf_st_collection_put(tx, "o1", "people", "{\"v\":1}", 10, &version, E_));
	assert_int_equal(version, 1);
	OK(cf_st_collection_put(tx, "o1", "people", "{\"v\":2}", 20, &version, E_));
	assert_int_equal(version, 2);
	OK(cf_st_collection_put(tx, "o1", "benefits", "{\"b\":true}", 15, &version, E_));
	assert_int_equal(version, 1);
	assert_int_equal(cf_st_collection_put(tx, "o9", "people", "{}", 1, &version, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_collection_put(tx, "o1", "bad", "[]", 1, &version, &err), CF_EINVAL);
	assert_int_equal(cf_st_collection_put(tx, "o1", "bad", "{\"a\":1,\"a\":2}", 1, &version, &err), CF_EINVAL);
	assert_int_equal(cf_st_collection_put(tx, "o1", "", "{}", 1, &version, &err), CF_EINVAL);

	OK(cf_st_collection_get(tx, "o1", "people", &def, &version, E_));
	assert_string_equal(def, "{\"v\":2}");
	assert_int_equal(version, 2);
	free(def);
	assert_int_equal(cf_st_collection_get(tx, "o1", "nope", &def, &version, &err), CF_ENOTFOUND);
	assert_null(def);

	OK(cf_st_collection_list(tx, "o1", &list, E_));
	assert_json(list, "[{\"name\":\"benefits\",\"updated_us\":15,\"version\":1},"
			  "{\"name\":\"people\",\"updated_us\":20,\"version\":2}]");
	json_decref(list);
	commit(tx);
}

static void test_grants(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_tx *tx;
	char *g = NULL;
	json_t *list = NULL;

	make_org(f, "o1");
	tx = begin(f, true);
	assert_int_equal(cf_st_grants_get(tx, "o1", "clerk", &g, &err), CF_ENOTFOUND);
	assert_null(g);
	OK(cf_st_grants_list(tx, "o1", &list, E_));
	assert_json(list, "{}");
	json_decref(list);
	OK(cf_st_grants_put(tx, "o1", "clerk", "[{\"collection\":\"people\"}]", 10, E_));
	OK(cf_st_grants_put(tx, "o1", "auditor", "[]", 10, E_));
	OK(cf_st_grants_put(tx, "o1", "clerk", "[{\"collection\":\"benefits\"}]", 20, E_));
	assert_int_equal(cf_st_grants_put(tx, "o9", "clerk", "[]", 1, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_grants_put(tx, "o1", "clerk", "{}", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_grants_put(tx, "o1", "clerk", NULL, 1, &err), CF_EINVAL);
	OK(cf_st_grants_get(tx, "o1", "clerk", &g, E_));
	assert_string_equal(g, "[{\"collection\":\"benefits\"}]");
	free(g);
	OK(cf_st_grants_list(tx, "o1", &list, E_));
	assert_json(list, "{\"auditor\":[],\"clerk\":[{\"collection\":\"benefits\"}]}");
	json_decref(list);
	commit(tx);
}

static void test_subjects(void **state)
{
	fx *f = *state;
	static const uint8_t enc[] = {0xde, 0xad, 0x00, 0xbe, 0xef};
	cf_err err = {0};
	cf_tx *tx;
	char p[CF_ID_MAX + 1];
	sqlite3 *db;
	sqlite3_stmt *st;

	make_org(f, "o1");
	make_org(f, "o2");
	tx = begin(f, true);
	OK(cf_st_subject_insert(tx, "o1", "p1", "bi1", enc, sizeof(enc), 10, E_));
	assert_int_equal(cf_st_subject_insert(tx, "o1", "p1", "bi2", enc, sizeof(enc), 10, &err), CF_EEXIST);
	assert_int_equal(cf_st_subject_insert(tx, "o1", "p2", "bi1", enc, sizeof(enc), 10, &err), CF_EEXIST);
	OK(cf_st_subject_insert(tx, "o2", "p1", "bi1", enc, sizeof(enc), 10, E_)); /* per organization */
	assert_int_equal(cf_st_subject_insert(tx, "o9", "p1", "bi1", enc, sizeof(enc), 10, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_subject_insert(tx, "o1", "p3", "bi3", NULL, 4, 10, &err), CF_EINVAL);
	assert_int_equal(cf_st_subject_insert(tx, "o1", "p3", "", enc, sizeof(enc), 10, &err), CF_EINVAL);

	OK(cf_st_subject_find(tx, "o1", "bi1", p, E_));
	assert_string_equal(p, "p1");
	assert_int_equal(cf_st_subject_find(tx, "o1", "bi9", p, &err), CF_ENOTFOUND);
	assert_string_equal(p, "");
	OK(cf_st_subject_exists(tx, "o1", "p1", E_));
	assert_int_equal(cf_st_subject_exists(tx, "o1", "p9", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_subject_exists(tx, "o9", "p1", &err), CF_ENOTFOUND);
	commit(tx);

	/* The encrypted identifier is stored byte for byte, NUL included. */
	db = raw_open(f, "vault.db");
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT enc_nid FROM subjects WHERE org = 'o1'", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_bytes(st, 0), sizeof(enc));
	assert_memory_equal(sqlite3_column_blob(st, 0), enc, sizeof(enc));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- records ---------------------------------------------------------- */

static void record_fixture(fx *f)
{
	cf_tx *tx;
	int64_t v;

	make_org(f, "o1");
	tx = begin(f, true);
	OK(cf_st_collection_put(tx, "o1", "people", "{}", 1, &v, E_));
	OK(cf_st_collection_put(tx, "o1", "benefits", "{}", 1, &v, E_));
	OK(cf_st_subject_insert(tx, "o1", "p1", "bi1", (const uint8_t *)"n1", 2, 1, E_));
	OK(cf_st_subject_insert(tx, "o1", "p2", "bi2", (const uint8_t *)"n2", 2, 1, E_));
	commit(tx);
}

static cf_record_row record_row(const char *collection, const char *id, const char *subject, int64_t version)
{
	cf_record_row r;

	memset(&r, 0, sizeof(r));
	memcpy(r.org, "o1", 3);
	memcpy(r.collection, collection, strlen(collection) + 1);
	memcpy(r.id, id, strlen(id) + 1);
	memcpy(r.subject, subject, strlen(subject) + 1);
	r.version = version;
	r.created_us = 1000;
	r.updated_us = 1000 + version;
	return r;
}

static void test_records(void **state)
{
	fx *f = *state;
	static uint8_t ct_b[] = {1, 2, 3, 0, 4}, ct_a[] = {9}, ct_a2[] = {7, 7};
	cf_field_ct v1[] = {{(char *)"b", ct_b, sizeof(ct_b)}, {(char *)"a", ct_a, sizeof(ct_a)}};
	cf_field_ct v2[] = {{(char *)"a", ct_a2, sizeof(ct_a2)}, {(char *)"empty", NULL, 0}};
	cf_field_ct dup[] = {{(char *)"a", ct_a, 1}, {(char *)"a", ct_a, 1}};
	cf_err err = {0};
	cf_record_row r, got;
	cf_field_ct *fields = NULL;
	size_t n = 9;
	json_t *list = NULL;
	sqlite3 *db;
	cf_tx *tx;

	record_fixture(f);
	tx = begin(f, true);
	r = record_row("people", "r1", "p1", 1);
	OK(cf_st_record_insert(tx, &r, v1, 2, E_));
	assert_int_equal(cf_st_record_insert(tx, &r, v1, 2, &err), CF_EEXIST);

	OK(cf_st_record_get(tx, "o1", "people", "r1", &got, &fields, &n, E_));
	assert_string_equal(got.org, "o1");
	assert_string_equal(got.collection, "people");
	assert_string_equal(got.id, "r1");
	assert_string_equal(got.subject, "p1");
	assert_int_equal(got.version, 1);
	assert_int_equal(got.created_us, 1000);
	assert_int_equal(got.updated_us, 1001);
	assert_int_equal(n, 2);
	assert_string_equal(fields[0].name, "a"); /* ordered by field name */
	assert_int_equal(fields[0].len, 1);
	assert_memory_equal(fields[0].ct, ct_a, 1);
	assert_string_equal(fields[1].name, "b");
	assert_int_equal(fields[1].len, sizeof(ct_b));
	assert_memory_equal(fields[1].ct, ct_b, sizeof(ct_b));
	cf_field_cts_free(fields, n);
	fields = NULL;
	assert_int_equal(cf_st_record_get(tx, "o1", "people", "r9", &got, &fields, &n, &err), CF_ENOTFOUND);
	assert_null(fields);
	assert_int_equal(n, 0);
	assert_int_equal(cf_st_record_get(tx, "o1", "benefits", "r1", &got, &fields, &n, &err), CF_ENOTFOUND);

	/* Version 2 replaces the field set; version 1 stays as history. */
	r = record_row("people", "r1", "p1", 2);
	OK(cf_st_record_update(tx, &r, v2, 2, E_));
	OK(cf_st_record_get(tx, "o1", "people", "r1", &got, &fields, &n, E_));
	assert_int_equal(got.version, 2);
	assert_int_equal(got.created_us, 1000);
	assert_int_equal(got.updated_us, 1002);
	assert_int_equal(n, 2);
	assert_string_equal(fields[0].name, "a");
	assert_int_equal(fields[0].len, 2);
	assert_memory_equal(fields[0].ct, ct_a2, 2);
	assert_string_equal(fields[1].name, "empty");
	assert_int_equal(fields[1].len, 0);
	assert_non_null(fields[1].ct);
	cf_field_cts_free(fields, n);
	fields = NULL;

	/* Stale or skipping versions conflict; a missing record is not found. */
	assert_int_equal(cf_st_record_update(tx, &r, v2, 2, &err), CF_EEXIST);
	assert_int_equal(err.problem, CF_P_VERSION_CONFLICT);
	r.version = 4;
	assert_int_equal(cf_st_record_update(tx, &r, v2, 2, &err), CF_EEXIST);
	r.version = 1;
	assert_int_equal(cf_st_record_update(tx, &r, v2, 2, &err), CF_EEXIST);
	r.version = 0;
	assert_int_equal(cf_st_record_update(tx, &r, v2, 2, &err), CF_EINVAL);
	r = record_row("people", "r9", "p1", 2);
	assert_int_equal(cf_st_record_update(tx, &r, v2, 2, &err), CF_ENOTFOUND);

	/* References must exist; inputs are checked. */
	r = record_row("people", "r2", "p9", 1);
	assert_int_equal(cf_st_record_insert(tx, &r, v1, 2, &err), CF_ENOTFOUND);
	r = record_row("nope", "r2", "p1", 1);
	assert_int_equal(cf_st_record_insert(tx, &r, v1, 2, &err), CF_ENOTFOUND);
	r = record_row("people", "r2", "p1", 0);
	assert_int_equal(cf_st_record_insert(tx, &r, v1, 2, &err), CF_EINVAL);
	r = record_row("people", "", "p1", 1);
	assert_int_equal(cf_st_record_insert(tx, &r, v1, 2, &err), CF_EINVAL);
	r = record_row("people", "r2", "p1", 1);
	assert_int_equal(cf_st_record_insert(tx, &r, NULL, 2, &err), CF_EINTERNAL);

	/* Other records for the list. */
	r = record_row("people", "r2", "p1", 1);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = record_row("benefits", "r1", "p1", 1);
	OK(cf_st_record_insert(tx, &r, v1, 1, E_));
	r = record_row("people", "r3", "p2", 1);
	OK(cf_st_record_insert(tx, &r, v1, 1, E_));
	OK(cf_st_record_list_by_subject(tx, "o1", "p1", &list, E_));
	assert_json(list, "[{\"collection\":\"benefits\",\"created_us\":1000,\"id\":\"r1\",\"updated_us\":1001,"
			  "\"version\":1},"
			  "{\"collection\":\"people\",\"created_us\":1000,\"id\":\"r1\",\"updated_us\":1002,"
			  "\"version\":2},"
			  "{\"collection\":\"people\",\"created_us\":1000,\"id\":\"r2\",\"updated_us\":1001,"
			  "\"version\":1}]");
	json_decref(list);
	OK(cf_st_record_list_by_subject(tx, "o1", "p9", &list, E_));
	assert_json(list, "[]");
	json_decref(list);
	commit(tx);

	/* One blob of ciphertexts per version, named by its version row; none for a version without fields. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_versions AS v JOIN record_cts AS c"
				     " ON c.id = v.cts_id WHERE v.collection = 'people' AND v.record_id = 'r1'"),
			 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_versions WHERE collection = 'people'"
				     " AND record_id = 'r2' AND cts_id IS NULL"),
			 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_cts"), 4);
	sqlite3_close(db);

	/* Delete removes the record and every version's ciphertexts. */
	tx = begin(f, true);
	OK(cf_st_record_delete(tx, "o1", "people", "r1", E_));
	assert_int_equal(cf_st_record_get(tx, "o1", "people", "r1", &got, &fields, &n, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_record_delete(tx, "o1", "people", "r1", &err), CF_ENOTFOUND);
	OK(cf_st_record_get(tx, "o1", "benefits", "r1", &got, &fields, &n, E_));
	assert_int_equal(n, 1);
	cf_field_cts_free(fields, n);
	fields = NULL;
	commit(tx);
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_versions WHERE collection = 'people' AND "
				     "record_id = 'r1'"),
			 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_cts"), 2); /* r1's two blobs went with it */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM records WHERE collection = 'people' AND id = 'r1'"), 0);
	sqlite3_close(db);

	/* A field named twice is refused; the caller rolls back and nothing remains. */
	tx = begin(f, true);
	r = record_row("people", "r5", "p1", 1);
	assert_int_equal(cf_st_record_insert(tx, &r, dup, 2, &err), CF_EEXIST);
	cf_tx_rollback(tx);
	tx = begin(f, false);
	assert_int_equal(cf_st_record_get(tx, "o1", "people", "r5", &got, &fields, &n, &err), CF_ENOTFOUND);
	commit(tx);
}

/* ---- keystore --------------------------------------------------------- */

static void test_keys(void **state)
{
	fx *f = *state;
	static const uint8_t w1[] = {0x10, 0x00, 0x20, 0x30}, w2[] = {0x99};
	cf_err err = {0};
	uint8_t *w = NULL;
	size_t len = 0;
	cf_tx *tx;

	tx = begin(f, true);
	OK(cf_st_key_put(tx, "org", "o1", "k1", w1, sizeof(w1), 10, E_));
	assert_int_equal(cf_st_key_put(tx, "org", "o1", "k1", w2, sizeof(w2), 10, &err), CF_EEXIST);
	OK(cf_st_key_put(tx, "org", "o1", "k2", w2, sizeof(w2), 10, E_));
	OK(cf_st_key_put(tx, "instance", "", "k1", w2, sizeof(w2), 10, E_));
	assert_int_equal(cf_st_key_put(tx, "org", "o1", "k3", w1, 0, 10, &err), CF_EINVAL);
	assert_int_equal(cf_st_key_put(tx, "org", "o1", "k3", NULL, 4, 10, &err), CF_EINVAL);
	assert_int_equal(cf_st_key_put(tx, "", "o1", "k3", w1, sizeof(w1), 10, &err), CF_EINVAL);
	assert_int_equal(cf_st_key_put(tx, "org", NULL, "k3", w1, sizeof(w1), 10, &err), CF_EINVAL);

	OK(cf_st_key_get(tx, "org", "o1", "k1", &w, &len, E_));
	assert_int_equal(len, sizeof(w1));
	assert_memory_equal(w, w1, sizeof(w1));
	free(w);
	OK(cf_st_key_get(tx, "instance", "", "k1", &w, &len, E_));
	assert_int_equal(len, 1);
	assert_int_equal(w[0], 0x99);
	free(w);
	w = NULL;
	assert_int_equal(cf_st_key_get(tx, "org", "o2", "k1", &w, &len, &err), CF_ENOTFOUND);
	assert_null(w);
	assert_int_equal(len, 0);

	OK(cf_st_key_delete(tx, "org", "o1", "k1", E_));
	assert_int_equal(cf_st_key_get(tx, "org", "o1", "k1", &w, &len, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_key_delete(tx, "org", "o1", "k1", &err), CF_ENOTFOUND);
	OK(cf_st_key_get(tx, "org", "o1", "k2", &w, &len, E_));
	free(w);
	commit(tx);
}

static void test_keystore_only_in_keys_db(void **state)
{
	fx *f = *state;
	static const uint8_t secret[48] = "KEYSTORE-ONLY/wrapped-key-bytes:0123456789abcdef";
	cf_tx *tx;
	sqlite3 *db;
	int64_t v;

	record_fixture(f);
	tx = begin(f, true);
	OK(cf_st_key_put(tx, "org", "o1", "dek", secret, sizeof(secret), 10, E_));
	OK(cf_st_collection_put(tx, "o1", "more", "{\"x\":1}", 2, &v, E_));
	commit(tx);

	/* While open, in whatever file holds recent pages (WAL included). */
	assert_false(file_contains(f, "vault.db", secret, sizeof(secret)));
	assert_false(file_contains(f, "vault.db-wal", secret, sizeof(secret)));
	assert_true(file_contains(f, "keys.db", secret, sizeof(secret)) ||
		    file_contains(f, "keys.db-wal", secret, sizeof(secret)));
	fx_close(f);

	/* After close (checkpointed): only keys.db has the bytes. */
	assert_false(file_contains(f, "vault.db", secret, sizeof(secret)));
	assert_true(file_contains(f, "keys.db", secret, sizeof(secret)));

	/* vault.db alone has no keystore table; keys.db has only it. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'keys'"), 0);
	assert_true(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'") >= 11);
	sqlite3_close(db);
	db = raw_open(f, "keys.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'keys'"),
			 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM keys WHERE kind = 'org' AND org = 'o1'"), 1);
	sqlite3_close(db);
	fx_open(f, NULL);
}

/* ---- audit ------------------------------------------------------------ */

/* Appends entry with a leaf derived from the index it is expected to get. */
static int64_t append(cf_tx *tx, const char *entry, const char *actor_org, const char *resource_org,
		      const char *subject)
{
	cf_audit_meta meta = {actor_org, resource_org, subject};
	uint8_t leaf[CF_HASH_LEN];
	int64_t n = -1, idx = -1;

	OK(cf_st_audit_count(tx, &n, E_));
	fake_hash(0x40, n, leaf);
	OK(cf_st_audit_append(tx, entry, strlen(entry), leaf, &meta, &idx, E_));
	assert_int_equal(idx, n);
	return idx;
}

typedef struct len_seen {
	int64_t first; /* the index the scan starts at */
	size_t n;
	size_t len[4];
} len_seen;

/* Records each entry's length; the bytes must be readable as a string. */
static cf_rc collect_len(void *ctx, int64_t index, const char *entry, size_t len, const uint8_t leaf[CF_HASH_LEN])
{
	len_seen *s = ctx;

	assert_non_null(entry);
	assert_int_equal(entry[len], '\0');
	assert_int_equal(index, s->first + (int64_t)s->n);
	assert_true(s->n < 4);
	s->len[s->n++] = len;
	return CF_OK;
}

static void test_audit_append_only(void **state)
{
	fx *f = *state;
	len_seen lens = {0};
	cf_err err = {0};
	cf_tx *tx;
	int64_t idx = -1, n = -1;
	char *e = NULL;
	size_t len = 0;
	sqlite3 *db;

	tx = begin(f, true);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, 0);
	OK(cf_st_audit_append(tx, "{\"a\":0}", 7, LEAF_A, NULL, &idx, E_));
	assert_int_equal(idx, 0);
	OK(cf_st_audit_append(tx, "{\"a\":1}", 7, LEAF_A, NULL, &idx, E_));
	assert_int_equal(idx, 1);
	OK(cf_st_audit_append(tx, "", 0, LEAF_A, NULL, &idx, E_));
	assert_int_equal(idx, 2);
	assert_int_equal(cf_st_audit_append(tx, NULL, 3, LEAF_A, NULL, &idx, &err), CF_EINVAL);
	assert_int_equal(idx, -1);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, 3);
	OK(cf_st_audit_get(tx, 1, &e, &len, NULL, E_));
	assert_int_equal(len, 7);
	assert_memory_equal(e, "{\"a\":1}", 7);
	assert_int_equal(e[7], '\0');
	free(e);
	OK(cf_st_audit_get(tx, 2, &e, &len, NULL, E_));
	assert_int_equal(len, 0);
	assert_string_equal(e, "");
	free(e);
	e = NULL;
	assert_int_equal(cf_st_audit_get(tx, 3, &e, &len, NULL, &err), CF_ENOTFOUND);
	assert_null(e);
	assert_int_equal(cf_st_audit_get(tx, -1, &e, &len, NULL, &err), CF_ENOTFOUND);
	/* A scan hands out the empty entry as "" too. */
	OK(cf_st_audit_scan(tx, 0, 100, collect_len, &lens, E_));
	assert_int_equal(lens.n, 3);
	assert_int_equal(lens.len[0], 7);
	assert_int_equal(lens.len[1], 7);
	assert_int_equal(lens.len[2], 0);
	commit(tx);

	/* Behind the store's back, SQL itself refuses to change the trail. */
	db = raw_open(f, "vault.db");
	assert_int_not_equal(raw_exec(db, "UPDATE audit SET entry = x'00' WHERE idx = 0"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "cannot be changed"));
	assert_int_not_equal(raw_exec(db, "UPDATE audit SET idx = 9 WHERE idx = 2"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE audit SET actor_org = 'o1' WHERE idx = 1"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "DELETE FROM audit WHERE idx = 2"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM audit"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT OR REPLACE INTO audit (idx, entry, leaf) VALUES (0, x'00', zeroblob(32))"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "REPLACE INTO audit (idx, entry, leaf) VALUES (1, x'00', zeroblob(32))"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit (idx, entry, leaf) VALUES (7, x'00', zeroblob(32))"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit (entry, leaf) VALUES (x'00', zeroblob(32))"), SQLITE_OK);
	/* The leaf is exactly 32 bytes of blob, and required. */
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit (idx, entry, leaf) VALUES (3, x'00', zeroblob(31))"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit (idx, entry, leaf) VALUES (3, x'00', zeroblob(33))"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit (idx, entry) VALUES (3, x'00')"), SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit"), 3);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit WHERE idx = 0 AND entry = CAST('{\"a\":0}' AS BLOB)"),
			 1);
	sqlite3_close(db);

	/* The numbering goes on across a reopen. */
	fx_close(f);
	fx_open(f, NULL);
	tx = begin(f, true);
	OK(cf_st_audit_append(tx, "x", 1, LEAF_A, NULL, &idx, E_));
	assert_int_equal(idx, 3);
	OK(cf_st_audit_get(tx, 0, &e, &len, NULL, E_));
	assert_memory_equal(e, "{\"a\":0}", 7);
	free(e);
	commit(tx);
}

static void test_audit_leaf_and_meta(void **state)
{
	fx *f = *state;
	static const char nul_entry[] = {'a', '\0', 'b'};
	const cf_audit_meta full = {"o1", "o2", "p1"}, partial = {NULL, "o3", NULL};
	len_seen lens = {.first = 2};
	cf_audit_meta bad;
	char longid[CF_ID_MAX + 2];
	uint8_t leaf[CF_HASH_LEN], want[CF_HASH_LEN];
	cf_err err = {0};
	char *e = NULL;
	size_t len = 9;
	int64_t idx = -1, n = -1;
	sqlite3_stmt *st;
	sqlite3 *db;
	cf_tx *tx;

	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	tx = begin(f, true);
	fake_hash(1, 0, want);
	OK(cf_st_audit_append(tx, "{\"n\":0}", 7, want, &full, &idx, E_));
	assert_int_equal(idx, 0);
	fake_hash(1, 1, want);
	OK(cf_st_audit_append(tx, "{\"n\":1}", 7, want, &partial, &idx, E_));
	fake_hash(1, 2, want);
	OK(cf_st_audit_append(tx, nul_entry, sizeof(nul_entry), want, NULL, &idx, E_));
	assert_int_equal(idx, 2);

	/* Refused: no leaf, malformed metadata, bytes that are not UTF-8 text, over the cap. */
	assert_int_equal(cf_st_audit_append(tx, "{}", 2, NULL, &full, &idx, &err), CF_EINVAL);
	assert_int_equal(idx, -1);
	bad = (cf_audit_meta){"", NULL, NULL};
	assert_int_equal(cf_st_audit_append(tx, "{}", 2, want, &bad, &idx, &err), CF_EINVAL);
	assert_non_null(strstr(err.detail, "actor organization id"));
	bad = (cf_audit_meta){NULL, longid, NULL};
	assert_int_equal(cf_st_audit_append(tx, "{}", 2, want, &bad, &idx, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_non_null(strstr(err.detail, "resource organization id"));
	assert_null(strstr(err.detail, "xxx"));
	bad = (cf_audit_meta){"o1", "o1", ""};
	assert_int_equal(cf_st_audit_append(tx, "{}", 2, want, &bad, &idx, &err), CF_EINVAL);
	assert_non_null(strstr(err.detail, "pseudonym"));
	assert_int_equal(cf_st_audit_append(tx, "\xff\xfe", 2, want, NULL, &idx, &err), CF_EINVAL);
	assert_non_null(strstr(err.detail, "UTF-8"));
	assert_int_equal(cf_st_audit_append(tx, "\xc3", 1, want, NULL, &idx, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_append(tx, "x", (16u << 20) + 1, want, NULL, &idx, &err), CF_EINVAL);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, 3);

	/* Every output combination of get. */
	OK(cf_st_audit_get(tx, 0, &e, &len, leaf, E_));
	assert_int_equal(len, 7);
	assert_string_equal(e, "{\"n\":0}");
	fake_hash(1, 0, want);
	assert_memory_equal(leaf, want, CF_HASH_LEN);
	free(e);
	e = NULL;
	memset(leaf, 0xEE, sizeof(leaf));
	OK(cf_st_audit_get(tx, 1, NULL, NULL, leaf, E_));
	fake_hash(1, 1, want);
	assert_memory_equal(leaf, want, CF_HASH_LEN);
	OK(cf_st_audit_get(tx, 2, &e, &len, NULL, E_));
	assert_int_equal(len, 3);
	assert_memory_equal(e, nul_entry, 3);
	assert_int_equal(e[3], '\0');
	free(e);
	e = NULL;
	OK(cf_st_audit_get(tx, 2, NULL, NULL, NULL, E_));
	OK(cf_st_audit_scan(tx, 2, 3, collect_len, &lens, E_));
	assert_int_equal(lens.n, 1);
	assert_int_equal(lens.len[0], 3); /* the NUL inside does not cut the entry */
	assert_int_equal(cf_st_audit_get(tx, 3, NULL, NULL, NULL, &err), CF_ENOTFOUND);
	memset(leaf, 0xEE, sizeof(leaf));
	assert_int_equal(cf_st_audit_get(tx, 3, &e, &len, leaf, &err), CF_ENOTFOUND);
	memset(want, 0, sizeof(want));
	assert_memory_equal(leaf, want, CF_HASH_LEN);
	assert_null(e);
	assert_int_equal(len, 0);
	assert_int_equal(cf_st_audit_get(tx, 0, &e, NULL, leaf, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_audit_get(tx, 0, NULL, &len, leaf, &err), CF_EINTERNAL);
	commit(tx);

	/* The metadata columns hold exactly what was given, NULL included. */
	db = raw_open(f, "vault.db");
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT actor_org, resource_org, subject, typeof(actor_org),"
						" typeof(subject) FROM audit ORDER BY idx",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "o1");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "o2");
	assert_string_equal((const char *)sqlite3_column_text(st, 2), "p1");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 3), "null");
	assert_string_equal((const char *)sqlite3_column_text(st, 1), "o3");
	assert_string_equal((const char *)sqlite3_column_text(st, 4), "null");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 1), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 2), SQLITE_NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit WHERE length(leaf) = 32 AND typeof(leaf) = 'blob'"), 3);
	sqlite3_close(db);
}

typedef struct node_seen {
	int n;
	int stop_at; /* -1: never */
	int level[8];
	int64_t index[8];
	uint8_t hash[8][CF_HASH_LEN];
} node_seen;

static cf_rc collect_node(void *ctx, int level, int64_t index, const uint8_t hash[CF_HASH_LEN])
{
	node_seen *s = ctx;

	if (s->n == s->stop_at)
		return CF_EINTEGRITY;
	assert_true(s->n < 8);
	s->level[s->n] = level;
	s->index[s->n] = index;
	memcpy(s->hash[s->n], hash, CF_HASH_LEN);
	s->n++;
	return CF_OK;
}

/*
 * An append completes the tree's nodes itself (the store keeps the right
 * edge in memory), answers the root without a query, and forgets what a
 * rolled-back transaction appended: the next append reuses the index.
 */
static void test_audit_append_builds_the_tree(void **state)
{
	fx *f = *state;
	uint8_t l[8][CF_HASH_LEN], n10[CF_HASH_LEN], n11[CF_HASH_LEN], n20[CF_HASH_LEN], h[CF_HASH_LEN];
	uint8_t root[CF_HASH_LEN], want[CF_HASH_LEN];
	cf_merkle_builder b;
	cf_err err = {0};
	int64_t size = -1;
	cf_tx *tx;

	for (int i = 0; i < 8; i++)
		fake_hash(0x40, i, l[i]);
	tx = begin(f, true);
	OK(cf_st_audit_root(tx, &size, root, E_));
	assert_int_equal(size, 0);
	cf_merkle_builder_init(&b);
	cf_merkle_builder_root(&b, want); /* SHA-256 of the empty string */
	assert_memory_equal(root, want, CF_HASH_LEN);
	for (int i = 0; i < 5; i++)
		assert_int_equal(append(tx, "{\"n\":1}", NULL, NULL, NULL), i);
	cf_merkle_node_hash(l[0], l[1], n10);
	cf_merkle_node_hash(l[2], l[3], n11);
	cf_merkle_node_hash(n10, n11, n20);
	OK(cf_st_audit_node_get(tx, 1, 0, h, E_));
	assert_memory_equal(h, n10, CF_HASH_LEN);
	OK(cf_st_audit_node_get(tx, 1, 1, h, E_));
	assert_memory_equal(h, n11, CF_HASH_LEN);
	OK(cf_st_audit_node_get(tx, 2, 0, h, E_));
	assert_memory_equal(h, n20, CF_HASH_LEN);
	assert_int_equal(cf_st_audit_node_get(tx, 1, 2, h, &err), CF_ENOTFOUND); /* leaf 5 not there yet */
	for (int i = 0; i < 5; i++)
		cf_merkle_builder_push(&b, l[i], NULL, NULL);
	cf_merkle_builder_root(&b, want);
	OK(cf_st_audit_root(tx, &size, root, E_));
	assert_int_equal(size, 5);
	assert_memory_equal(root, want, CF_HASH_LEN);
	commit(tx);

	/* appends rolled back leave no trace, in the table or in the cached edge */
	tx = begin(f, true);
	for (int i = 5; i < 8; i++)
		assert_int_equal(append(tx, "{\"n\":2}", NULL, NULL, NULL), i);
	cf_tx_rollback(tx);
	tx = begin(f, false);
	OK(cf_st_audit_root(tx, &size, root, E_));
	assert_int_equal(size, 5);
	assert_memory_equal(root, want, CF_HASH_LEN);
	commit(tx);
	tx = begin(f, true);
	assert_int_equal(append(tx, "{\"n\":3}", NULL, NULL, NULL), 5);
	cf_merkle_node_hash(l[4], l[5], n10);
	OK(cf_st_audit_node_get(tx, 1, 2, h, E_));
	assert_memory_equal(h, n10, CF_HASH_LEN);
	commit(tx);

	/* reopened, the edge is loaded from the tables and goes on from there */
	fx_close(f);
	fx_open(f, NULL);
	tx = begin(f, true);
	assert_int_equal(append(tx, "{\"n\":4}", NULL, NULL, NULL), 6);
	assert_int_equal(append(tx, "{\"n\":5}", NULL, NULL, NULL), 7);
	cf_merkle_node_hash(l[6], l[7], n11);
	cf_merkle_node_hash(n10, n11, h);
	OK(cf_st_audit_node_get(tx, 2, 1, root, E_));
	assert_memory_equal(root, h, CF_HASH_LEN);
	OK(cf_st_audit_node_get(tx, 3, 0, root, E_));
	cf_merkle_node_hash(n20, h, want);
	assert_memory_equal(root, want, CF_HASH_LEN);
	commit(tx);
	/* a read transaction cannot append */
	tx = begin(f, false);
	assert_int_equal(cf_st_audit_append(tx, "{}", 2, l[0], NULL, NULL, &err), CF_EINTERNAL);
	commit(tx);
}

/*
 * Read-only connections: a read transaction runs beside an open write
 * transaction (even on the same thread) and sees only what was committed;
 * it cannot write; the trail's size read there follows the writer's
 * commits; at most CF_STORE_MAX_READERS readers.
 */
static void test_readers(void **state)
{
	fx *f = *state;
	cf_store_options o = {.readers = 2};
	cf_tx *w, *r1, *r2, *r3 = NULL;
	int64_t n = -1;
	char *name = NULL;
	cf_err err = {0};

	fx_close(f);
	fx_open(f, &o);
	w = begin(f, true);
	OK(cf_st_org_insert(w, "o1", "written, not committed", 1, E_));
	(void)append(w, "{\"n\":0}", NULL, NULL, NULL);
	r1 = begin(f, false);
	assert_int_equal(cf_st_org_get(r1, "o1", &name, &err), CF_ENOTFOUND);
	OK(cf_st_audit_count(r1, &n, E_));
	assert_int_equal(n, 0);
	r2 = begin(f, false);
	/* both readers taken by this thread: a third waits for one of its own, which it reports */
	assert_int_equal(cf_store_begin(f->s, false, &r3, &err), CF_EINTERNAL);
	assert_null(r3);
	cf_tx_rollback(r2);
	commit(w);
	cf_tx_rollback(r1);
	r1 = begin(f, false);
	OK(cf_st_org_get(r1, "o1", &name, E_));
	assert_string_equal(name, "written, not committed");
	free(name);
	name = NULL;
	OK(cf_st_audit_count(r1, &n, E_));
	assert_int_equal(n, 1);
	/* a reader cannot write, whatever the call */
	assert_int_not_equal(cf_st_org_insert(r1, "o2", "x", 1, &err), CF_OK);
	cf_tx_rollback(r1);
	w = begin(f, true);
	(void)append(w, "{\"n\":1}", NULL, NULL, NULL);
	commit(w);
	r1 = begin(f, false);
	OK(cf_st_audit_count(r1, &n, E_));
	assert_int_equal(n, 2);
	assert_int_equal(cf_st_org_get(r1, "o2", &name, &err), CF_ENOTFOUND);
	cf_tx_rollback(r1);

	fx_close(f);
	o.readers = CF_STORE_MAX_READERS + 1;
	assert_int_equal(cf_store_open(f->dir, cf_env_system(), &o, &f->s, &err), CF_EINVAL);
	o.readers = -1;
	assert_int_equal(cf_store_open(f->dir, cf_env_system(), &o, &f->s, &err), CF_EINVAL);
	fx_open(f, NULL);
}

static off_t file_size(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/*
 * With readers (a daemon), the write-ahead log is checkpointed by a
 * thread of the store's own: the writer's commits only signal it. Past
 * SQLite's threshold (1,000 pages) the pages reach the database file
 * without the writer copying them. Without readers, SQLite does it.
 */
static void test_checkpoints_off_the_writer(void **state)
{
	fx *f = *state;
	cf_store_options o = {.readers = 2};
	char *pad = malloc(64 * 1024);
	off_t before;
	int64_t version = 0;

	assert_non_null(pad);
	assert_int_equal(cf_store_checkpoints(f->s), -1);
	fx_close(f);
	fx_open(f, &o);
	assert_int_equal(cf_store_checkpoints(f->s), 0);
	make_org(f, "o1");
	before = file_size(f->dir, "vault.db");
	/* about 1,600 pages of the log, in 100 commits */
	for (int i = 0; i < 100; i++) {
		cf_tx *tx = begin(f, true);
		char name[32];
		int n = snprintf(pad, 64 * 1024, "{\"pad\": \"");
		memset(pad + n, 'a' + i % 26, 64 * 1024 - (size_t)n - 4);
		memcpy(pad + 64 * 1024 - 4, "\"}", 3);
		(void)snprintf(name, sizeof(name), "c%d", i);
		OK(cf_st_collection_put(tx, "o1", name, pad, f->clock, &version, E_));
		commit(tx);
	}
	/*
	 * In WAL mode only a checkpoint writes the database file, and the
	 * writer would only at 16,000 pages: its growth is the thread's work.
	 */
	for (int i = 0; i < 300; i++) {
		if (file_size(f->dir, "vault.db") >= before + 2 * 1024 * 1024 && cf_store_checkpoints(f->s) >= 1)
			break;
		sleep_ms(10);
	}
	assert_true(file_size(f->dir, "vault.db") >= before + 2 * 1024 * 1024);
	assert_true(cf_store_checkpoints(f->s) >= 1);
	free(pad);
	/* closing stops the thread; the data is all there after */
	fx_close(f);
	fx_open(f, NULL);
	{
		cf_tx *tx = begin(f, false);
		char *def = NULL;
		OK(cf_st_collection_get(tx, "o1", "c99", &def, &version, E_));
		assert_int_equal(strlen(def), 64 * 1024 - 2);
		free(def);
		cf_tx_rollback(tx);
	}
}

static void test_audit_nodes(void **state)
{
	fx *f = *state;
	uint8_t h[CF_HASH_LEN], want[CF_HASH_LEN], zero[CF_HASH_LEN] = {0};
	node_seen seen = {.stop_at = -1};
	cf_err err = {0};
	sqlite3 *db;
	cf_tx *tx;

	tx = begin(f, true);
	/* one entry: no node is complete yet, so every node below is put by hand */
	(void)append(tx, "{\"n\":0}", NULL, NULL, NULL);
	fake_hash(0x21, 0, want);
	OK(cf_st_audit_node_put(tx, 2, 0, want, E_));
	fake_hash(0x11, 1, want);
	OK(cf_st_audit_node_put(tx, 1, 1, want, E_));
	fake_hash(0x11, 0, want);
	OK(cf_st_audit_node_put(tx, 1, 0, want, E_));
	fake_hash(0x11, ((int64_t)1 << 56) - 1, want);
	OK(cf_st_audit_node_put(tx, 1, ((int64_t)1 << 56) - 1, want, E_)); /* the last subtree that fits */

	OK(cf_st_audit_node_get(tx, 1, 0, h, E_));
	fake_hash(0x11, 0, want);
	assert_memory_equal(h, want, CF_HASH_LEN);
	OK(cf_st_audit_node_get(tx, 2, 0, h, E_));
	fake_hash(0x21, 0, want);
	assert_memory_equal(h, want, CF_HASH_LEN);
	/* Level 0 is an entry's leaf hash. */
	OK(cf_st_audit_node_get(tx, 0, 0, h, E_));
	fake_hash(0x40, 0, want);
	assert_memory_equal(h, want, CF_HASH_LEN);
	assert_int_equal(cf_st_audit_node_get(tx, 0, 1, h, &err), CF_ENOTFOUND);
	assert_memory_equal(h, zero, CF_HASH_LEN);
	assert_int_equal(cf_st_audit_node_get(tx, 0, -1, h, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_audit_node_get(tx, 1, 2, h, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_audit_node_get(tx, 3, 0, h, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);

	/* Written once: a second put of the same node conflicts and keeps the first hash. */
	fake_hash(0x99, 0, want);
	assert_int_equal(cf_st_audit_node_put(tx, 1, 0, want, &err), CF_EEXIST);
	assert_int_equal(err.problem, CF_P_CONFLICT);
	OK(cf_st_audit_node_get(tx, 1, 0, h, E_));
	fake_hash(0x11, 0, want);
	assert_memory_equal(h, want, CF_HASH_LEN);

	/* Refused arguments. */
	assert_int_equal(cf_st_audit_node_put(tx, 0, 0, want, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_put(tx, 64, 0, want, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_put(tx, -1, 0, want, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_put(tx, 1, -1, want, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_put(tx, 1, (int64_t)1 << 56, want, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_put(tx, 56, 2, want, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_put(tx, 57, 0, want, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_put(tx, 63, 0, want, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_put(tx, 1, 5, NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_get(tx, -1, 0, h, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_get(tx, 64, 0, h, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_get(tx, 57, 0, h, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_get(tx, 1, -1, h, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_node_get(tx, 1, 0, NULL, &err), CF_EINTERNAL);

	/* The scan: level then index; early stop returns the callback's result. */
	OK(cf_st_audit_nodes_scan(tx, collect_node, &seen, E_));
	assert_int_equal(seen.n, 4);
	assert_int_equal(seen.level[0], 1);
	assert_int_equal(seen.index[0], 0);
	assert_int_equal(seen.level[1], 1);
	assert_int_equal(seen.index[1], 1);
	fake_hash(0x11, 1, want);
	assert_memory_equal(seen.hash[1], want, CF_HASH_LEN);
	assert_int_equal(seen.level[2], 1);
	assert_int_equal(seen.index[2], ((int64_t)1 << 56) - 1);
	assert_int_equal(seen.level[3], 2);
	assert_int_equal(seen.index[3], 0);
	fake_hash(0x21, 0, want);
	assert_memory_equal(seen.hash[3], want, CF_HASH_LEN);
	seen = (node_seen){.stop_at = 2};
	memset(&err, 0, sizeof(err));
	assert_int_equal(cf_st_audit_nodes_scan(tx, collect_node, &seen, &err), CF_EINTEGRITY);
	assert_int_equal(seen.n, 2);
	assert_int_equal(err.rc, CF_OK); /* the callback's error is the callback owner's to describe */
	assert_int_equal(cf_st_audit_nodes_scan(tx, NULL, &seen, &err), CF_EINTERNAL);
	commit(tx);

	/* Nodes are writes: not in a read transaction, where they still read fine. */
	tx = begin(f, false);
	assert_int_equal(cf_st_audit_node_put(tx, 1, 7, want, &err), CF_EINTERNAL);
	OK(cf_st_audit_node_get(tx, 2, 0, h, E_));
	seen = (node_seen){.stop_at = -1};
	OK(cf_st_audit_nodes_scan(tx, collect_node, &seen, E_));
	assert_int_equal(seen.n, 4);
	commit(tx);

	/* Behind the store's back, SQL refuses to change or remove a node, or to replace it. */
	db = raw_open(f, "vault.db");
	assert_int_not_equal(raw_exec(db, "UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 0"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "audit nodes cannot be changed"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM audit_nodes WHERE level = 2"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "audit nodes cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM audit_nodes"), SQLITE_OK);
	/* (pos, level, idx, hash); node (1, 0) is at pos 65, (1, 1) at 193, (1, 9) at 1217 */
	assert_int_not_equal(raw_exec(db, "INSERT OR REPLACE INTO audit_nodes VALUES (65, 1, 0, zeroblob(32))"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "written once"));
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (193, 1, 1, zeroblob(32))"
					  " ON CONFLICT DO UPDATE SET hash = excluded.hash"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (576, 0, 9, zeroblob(32))"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (1000, 64, 9, zeroblob(32))"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (-63, 1, -1, zeroblob(32))"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (1217, 1, 9, zeroblob(31))"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (1217, 1, 9, 'text')"), SQLITE_OK);
	/* a position that is not the node's */
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (1218, 1, 9, zeroblob(32))"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (1281, 1, 9, zeroblob(32))"), SQLITE_OK);
	assert_int_equal(raw_exec(db, "INSERT INTO audit_nodes VALUES (1217, 1, 9, zeroblob(32))"), SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit_nodes"), 5);
	fake_hash(0x11, 0, want);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit_nodes WHERE level = 1 AND idx = 0 AND"
				     " hash = zeroblob(32)"),
			 0);
	sqlite3_close(db);
}

typedef struct scan_seen {
	int64_t next;   /* the index expected next */
	int64_t calls;
	int64_t stop_at; /* -1: never */
	uint8_t tag;     /* leaf tag used at append */
	bool check_entry;
	cf_tx *tx;      /* set: the callback calls back into the store */
	cf_rc inner_rc;
} scan_seen;

static cf_rc check_entry_cb(void *ctx, int64_t index, const char *entry, size_t len, const uint8_t leaf[CF_HASH_LEN])
{
	scan_seen *s = ctx;
	uint8_t want[CF_HASH_LEN];
	char expect[32];

	if (index == s->stop_at)
		return CF_EINTEGRITY;
	if (index != s->next)
		fail_msg("scan out of order: got %lld, expected %lld", (long long)index, (long long)s->next);
	fake_hash(s->tag, index, want);
	if (memcmp(leaf, want, CF_HASH_LEN) != 0)
		fail_msg("wrong leaf at %lld", (long long)index);
	if (s->check_entry) {
		assert_int_equal(cf_snprintf(expect, sizeof(expect), "{\"n\":%lld}", (long long)index), CF_OK);
		if (len != strlen(expect) || memcmp(entry, expect, len) != 0 || entry[len] != '\0')
			fail_msg("wrong entry at %lld", (long long)index);
	}
	if (s->tx != NULL) {
		scan_seen inner = {.next = 0, .stop_at = -1, .tag = s->tag};
		char *e = NULL;
		size_t elen = 0;
		cf_err err = {0};

		/* Another statement in the same transaction is fine; the same scan again is refused. */
		OK(cf_st_audit_get(s->tx, index, &e, &elen, NULL, E_));
		assert_int_equal(elen, len);
		free(e);
		s->inner_rc = cf_st_audit_scan(s->tx, 0, 1, check_entry_cb, &inner, &err);
		if (s->inner_rc != CF_OK)
			assert_int_equal(err.rc, s->inner_rc);
	}
	s->next++;
	s->calls++;
	return CF_OK;
}

static void append_numbered(cf_tx *tx, int64_t count, uint8_t tag)
{
	char entry[32];
	uint8_t leaf[CF_HASH_LEN];
	int64_t i, idx = -1;
	cf_err err = {0};

	for (i = 0; i < count; i++) {
		assert_int_equal(cf_snprintf(entry, sizeof(entry), "{\"n\":%lld}", (long long)i), CF_OK);
		fake_hash(tag, i, leaf);
		if (cf_st_audit_append(tx, entry, strlen(entry), leaf, NULL, &idx, &err) != CF_OK || idx != i)
			fail_msg("append %lld: %s", (long long)i, err.detail);
	}
}

static void test_audit_scan(void **state)
{
	fx *f = *state;
	scan_seen s;
	cf_err err = {0};
	cf_tx *tx;

	tx = begin(f, true);
	append_numbered(tx, 10, 7);
	commit(tx);

	tx = begin(f, false);
	s = (scan_seen){.next = 0, .stop_at = -1, .tag = 7, .check_entry = true};
	OK(cf_st_audit_scan(tx, 0, 10, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, 10);
	s = (scan_seen){.next = 3, .stop_at = -1, .tag = 7, .check_entry = true};
	OK(cf_st_audit_scan(tx, 3, 7, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, 4);
	assert_int_equal(s.next, 7);
	s = (scan_seen){.next = 8, .stop_at = -1, .tag = 7, .check_entry = true};
	OK(cf_st_audit_scan(tx, 8, INT64_MAX, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, 2);
	s = (scan_seen){.next = 5, .stop_at = -1, .tag = 7};
	OK(cf_st_audit_scan(tx, 5, 5, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, 0);
	OK(cf_st_audit_scan(tx, 10, 20, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, 0);

	/* Early stop: the callback's result comes back, and nothing after it is seen. */
	s = (scan_seen){.next = 0, .stop_at = 4, .tag = 7};
	assert_int_equal(cf_st_audit_scan(tx, 0, 10, check_entry_cb, &s, &err), CF_EINTEGRITY);
	assert_int_equal(s.calls, 4);
	assert_int_equal(err.rc, CF_OK);
	/* The statement was reset: the next scan starts afresh. */
	s = (scan_seen){.next = 0, .stop_at = -1, .tag = 7};
	OK(cf_st_audit_scan(tx, 0, 10, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, 10);

	/* Re-entrance: other reads work inside the callback; the running scan cannot be restarted. */
	s = (scan_seen){.next = 0, .stop_at = -1, .tag = 7, .tx = tx};
	OK(cf_st_audit_scan(tx, 0, 3, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, 3);
	assert_int_equal(s.inner_rc, CF_EINTERNAL);

	/* Refused arguments. */
	assert_int_equal(cf_st_audit_scan(tx, 0, 10, NULL, &s, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_audit_scan(tx, -1, 10, check_entry_cb, &s, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_scan(tx, 5, 4, check_entry_cb, &s, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_scan(NULL, 0, 10, check_entry_cb, &s, &err), CF_EINTERNAL);
	commit(tx);
}

#define BIG_TRAIL 200000

/* Many rows: one statement streams them all, nothing is collected. */
static void test_audit_scan_large(void **state)
{
	fx *f = *state;
	scan_seen s = {.next = 0, .stop_at = -1, .tag = 9, .check_entry = true};
	int64_t n = 0;
	cf_tx *tx;

	tx = begin(f, true);
	append_numbered(tx, BIG_TRAIL, 9);
	commit(tx);
	tx = begin(f, false);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, BIG_TRAIL);
	OK(cf_st_audit_scan(tx, 0, INT64_MAX, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, BIG_TRAIL);
	s = (scan_seen){.next = BIG_TRAIL - 1000, .stop_at = -1, .tag = 9, .check_entry = true};
	OK(cf_st_audit_scan(tx, BIG_TRAIL - 1000, BIG_TRAIL, check_entry_cb, &s, E_));
	assert_int_equal(s.calls, 1000);
	commit(tx);
}

/* "1,4,7": the indexes of a list answer, each entry checked against the {"n":N} it was appended with. */
static void assert_list(json_t *list, const char *expected)
{
	char got[256] = "", expect_entry[32], item[24];
	size_t i, used = 0;
	json_t *e;

	assert_true(json_is_array(list));
	json_array_foreach(list, i, e) {
		json_int_t idx = json_integer_value(json_object_get(e, "index"));

		assert_int_equal(json_object_size(e), 2);
		assert_true(json_is_integer(json_object_get(e, "index")));
		assert_int_equal(cf_snprintf(expect_entry, sizeof(expect_entry), "{\"n\":%lld}", (long long)idx),
				 CF_OK);
		assert_string_equal(json_string_value(json_object_get(e, "entry")), expect_entry);
		assert_int_equal(cf_snprintf(item, sizeof(item), "%s%lld", i == 0 ? "" : ",", (long long)idx), CF_OK);
		assert_true(used + strlen(item) < sizeof(got));
		memcpy(got + used, item, strlen(item) + 1);
		used += strlen(item);
	}
	assert_string_equal(got, expected);
	json_decref(list);
}

static void list_fixture(fx *f)
{
	cf_tx *tx = begin(f, true);

	(void)append(tx, "{\"n\":0}", "o1", "o1", NULL);
	(void)append(tx, "{\"n\":1}", "o2", "o1", "p1");
	(void)append(tx, "{\"n\":2}", "o1", "o2", "p1");
	(void)append(tx, "{\"n\":3}", NULL, NULL, NULL);
	(void)append(tx, "{\"n\":4}", "o2", "o2", NULL);
	(void)append(tx, "{\"n\":5}", NULL, "o1", "p1");
	(void)append(tx, "{\"n\":6}", "o1", NULL, NULL);
	(void)append(tx, "{\"n\":7}", "o3", "o1", "p2");
	commit(tx);
}

/* Gives a closed vault the shape of schema version 4: records without the current blob's row. */
static void reshape_to_v4(sqlite3 *db)
{
	assert_int_equal(raw_exec(db, "ALTER TABLE records DROP COLUMN cts_id; PRAGMA user_version = 4"), SQLITE_OK);
}

/* Gives a closed vault the shape of schema version 3: the tree's nodes keyed (level, idx), kept. */
static void reshape_to_v3(sqlite3 *db)
{
	reshape_to_v4(db);
	assert_int_equal(raw_exec(db, "CREATE TABLE audit_nodes_v3 (level INTEGER NOT NULL CHECK (level >= 1 AND"
				      " level < 64), idx INTEGER NOT NULL CHECK (idx >= 0), hash BLOB NOT NULL"
				      " CHECK (length(hash) = 32), PRIMARY KEY (level, idx)) STRICT, WITHOUT ROWID;"
				      " INSERT INTO audit_nodes_v3 SELECT level, idx, hash FROM audit_nodes;"
				      " DROP TABLE audit_nodes; ALTER TABLE audit_nodes_v3 RENAME TO audit_nodes;"
				      " PRAGMA user_version = 3"),
			 SQLITE_OK);
}

/*
 * Gives a closed vault the shape of schema version 2: a row per field in
 * record_fields (empty), no record_cts, no cts_id (the blobs are dropped).
 */
static void reshape_to_v2(sqlite3 *db)
{
	reshape_to_v3(db);
	assert_int_equal(raw_exec(db, "DROP TABLE record_cts; ALTER TABLE record_versions DROP COLUMN cts_id; "
				      "CREATE TABLE record_fields (org TEXT NOT NULL, collection TEXT NOT NULL,"
				      " record_id TEXT NOT NULL, version INTEGER NOT NULL CHECK (version >= 1),"
				      " field TEXT NOT NULL, ct BLOB NOT NULL,"
				      " PRIMARY KEY (org, collection, record_id, version, field),"
				      " FOREIGN KEY (org, collection, record_id) REFERENCES records(org, collection, id))"
				      " STRICT; PRAGMA user_version = 2"),
			 SQLITE_OK);
}

/* Closes the store and opens its vault.db raw in the shape `reshape` gives it (the caller closes it). */
static sqlite3 *closed_as(fx *f, void (*reshape)(sqlite3 *db))
{
	sqlite3 *db;

	fx_close(f);
	db = raw_open(f, "vault.db");
	reshape(db);
	return db;
}

/* Opens the store on a reshaped vault, which migrates it, and gives vault.db raw, now at version 5. */
static sqlite3 *migrated(fx *f)
{
	sqlite3 *db;

	fx_open(f, NULL);
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 5);
	return db;
}

/*
 * A version 4 vault (records without their current blob's row) gets
 * records.cts_id at open, each the blob of the record's current version
 * (NULL for a version without fields); reads and updates then go through it.
 */
static void test_schema_4_migrates_to_5(void **state)
{
	fx *f = *state;
	cf_field_ct v1[] = {{(char *)"a", (uint8_t *)"ct-a1", 5}, {(char *)"b", (uint8_t *)"ct-b1", 5}};
	cf_field_ct v2[] = {{(char *)"a", (uint8_t *)"ct-a2", 5}};
	cf_field_ct *fields = NULL;
	cf_record_row r, got;
	size_t n = 0;
	sqlite3 *db;
	cf_tx *tx;

	record_fixture(f);
	tx = begin(f, true);
	r = record_row("people", "r1", "p1", 1);
	OK(cf_st_record_insert(tx, &r, v1, 2, E_));
	r.version = 2;
	OK(cf_st_record_update(tx, &r, v2, 1, E_));
	r = record_row("people", "r2", "p1", 1);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	commit(tx);
	db = closed_as(f, reshape_to_v4);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM pragma_table_info('records') WHERE name = 'cts_id'"), 0);
	sqlite3_close(db);

	db = migrated(f);
	/* r1 names its version 2's blob, r2 none */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM records AS r JOIN record_versions AS v ON v.org = r.org"
				     " AND v.collection = r.collection AND v.record_id = r.id AND v.version = 2"
				     " AND v.cts_id = r.cts_id WHERE r.id = 'r1'"),
			 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM records WHERE id = 'r2' AND cts_id IS NULL"), 1);
	sqlite3_close(db);
	tx = begin(f, true);
	OK(cf_st_record_get(tx, "o1", "people", "r1", &got, &fields, &n, E_));
	assert_int_equal(got.version, 2);
	assert_int_equal(n, 1);
	assert_memory_equal(fields[0].ct, "ct-a2", 5);
	cf_field_cts_free(fields, n);
	OK(cf_st_record_get(tx, "o1", "people", "r2", &got, &fields, &n, E_));
	assert_int_equal(n, 0);
	assert_null(fields);
	/* an update after the migration names its new blob */
	got.version = 2;
	OK(cf_st_record_update(tx, &got, v1, 2, E_));
	OK(cf_st_record_get(tx, "o1", "people", "r2", &got, &fields, &n, E_));
	assert_int_equal(got.version, 2);
	assert_int_equal(n, 2);
	assert_memory_equal(fields[1].ct, "ct-b1", 5);
	cf_field_cts_free(fields, n);
	commit(tx);

	/* a row naming a blob that is gone reads as damage, not as a record without fields */
	fx_close(f);
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "DELETE FROM record_cts WHERE id = (SELECT cts_id FROM records WHERE id = 'r1')"),
			 SQLITE_OK);
	sqlite3_close(db);
	fx_open(f, NULL);
	tx = begin(f, false);
	assert_int_equal(cf_st_record_get(tx, "o1", "people", "r1", &got, &fields, &n, NULL), CF_EINTEGRITY);
	assert_null(fields);
	assert_int_equal(n, 0);
	commit(tx);
}

/* A version 1 vault (a subject's entries indexed without slices) is brought to version 2 at open. */
static void test_schema_1_migrates_to_5(void **state)
{
	fx *f = *state;
	cf_tx *tx;
	json_t *list = NULL;
	sqlite3 *db;

	tx = begin(f, true);
	(void)append(tx, "{\"n\":0}", "o1", "o1", "p1");
	(void)append(tx, "{\"n\":1}", "o1", "o1", "p2");
	(void)append(tx, "{\"n\":2}", "o2", "o1", "p1");
	commit(tx);
	db = closed_as(f, reshape_to_v2);
	assert_int_equal(raw_exec(db, "DROP INDEX audit_by_subject; "
				      "CREATE INDEX audit_by_subject ON audit(resource_org, subject, idx); "
				      "PRAGMA user_version = 1"),
			 SQLITE_OK);
	sqlite3_close(db);
	db = migrated(f);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'audit_by_subject'"
				     " AND sql LIKE '%idx >> 12, subject, idx%'"),
			 1);
	sqlite3_close(db);
	tx = begin(f, false);
	OK(cf_st_audit_by_subject(tx, "o1", "p1", 100, &list, E_));
	assert_list(list, "0,2");
	commit(tx);
}

/*
 * A version 1 keystore (the keys in a rowid table beside their primary
 * key's index) is rebuilt as version 2 (the primary key's own B-tree) with
 * every key as it was; the keys then behave as before.
 */
static void test_keystore_1_migrates_to_2(void **state)
{
	fx *f = *state;
	const uint8_t w1[] = "wrapped-1", w2[] = "wrapped-2", w3[] = "wrapped-3";
	uint8_t *w = NULL;
	size_t wlen = 0;
	cf_err err = {0};
	cf_tx *tx;
	sqlite3 *db;

	tx = begin(f, true);
	OK(cf_st_key_put(tx, "subject", "o1", "p2", w2, sizeof(w2), 20, E_));
	OK(cf_st_key_put(tx, "org", "o1", "kek", w1, sizeof(w1), 10, E_));
	OK(cf_st_key_put(tx, "subject", "o2", "p1", w3, sizeof(w3), 30, E_));
	commit(tx);
	fx_close(f);
	db = raw_open(f, "keys.db");
	assert_int_equal(raw_exec(db, "CREATE TABLE keys_v1 (kind TEXT NOT NULL, org TEXT NOT NULL,"
				      " name TEXT NOT NULL, wrapped BLOB NOT NULL, created_us INTEGER NOT NULL,"
				      " PRIMARY KEY (kind, org, name)) STRICT;"
				      " INSERT INTO keys_v1 SELECT * FROM keys; DROP TABLE keys;"
				      " ALTER TABLE keys_v1 RENAME TO keys; PRAGMA user_version = 1"),
			 SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_autoindex_keys_1'"), 1);
	sqlite3_close(db);

	fx_open(f, NULL);
	db = raw_open(f, "keys.db");
	assert_int_equal(raw_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'keys'"
				     " AND sql LIKE '%WITHOUT ROWID%'"),
			 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name <> 'keys'"), 0);
	assert_int_equal(raw_int(db, "SELECT sum(created_us) FROM keys"), 60);
	sqlite3_close(db);

	tx = begin(f, true);
	OK(cf_st_key_get(tx, "subject", "o1", "p2", &w, &wlen, E_));
	assert_int_equal(wlen, sizeof(w2));
	assert_memory_equal(w, w2, sizeof(w2));
	free(w);
	OK(cf_st_key_get(tx, "org", "o1", "kek", &w, &wlen, E_));
	assert_memory_equal(w, w1, sizeof(w1));
	free(w);
	assert_int_equal(cf_st_key_put(tx, "subject", "o2", "p1", w1, sizeof(w1), 40, &err), CF_EEXIST);
	OK(cf_st_key_delete(tx, "subject", "o2", "p1", E_));
	assert_int_equal(cf_st_key_get(tx, "subject", "o2", "p1", &w, &wlen, &err), CF_ENOTFOUND);
	commit(tx);
}

/* The by-subject index takes each entry by its slice of 4,096: found, in order, across slices. */
static void test_audit_by_subject_across_slices(void **state)
{
	fx *f = *state;
	json_t *list = NULL;
	cf_tx *tx;

	list_fixture(f);
	tx = begin(f, true);
	for (int i = 8; i < 9000; i++) {
		char e[32];
		bool mine = i == 4095 || i == 4096 || i == 8191 || i == 8192 || i == 8999;
		assert_int_equal(cf_snprintf(e, sizeof(e), "{\"n\":%d}", i), CF_OK);
		(void)append(tx, e, "o1", "o1", mine ? "p1" : "p3");
	}
	commit(tx);
	tx = begin(f, false);
	OK(cf_st_audit_by_subject(tx, "o1", "p1", 100, &list, E_));
	assert_list(list, "1,5,4095,4096,8191,8192,8999");
	OK(cf_st_audit_by_subject(tx, "o1", "p1", 4, &list, E_));
	assert_list(list, "1,5,4095,4096");
	OK(cf_st_audit_by_subject(tx, "o1", "p2", 100, &list, E_));
	assert_list(list, "7");
	OK(cf_st_audit_by_subject(tx, "o2", "p1", 100, &list, E_));
	assert_list(list, "2");
	commit(tx);
}

static void test_audit_list(void **state)
{
	fx *f = *state;
	json_t *list = (json_t *)0x1;
	cf_err err = {0};
	sqlite3 *db;
	cf_tx *tx;

	list_fixture(f);
	tx = begin(f, false);
	/* The shape, exactly. */
	OK(cf_st_audit_list(tx, 0, 2, NULL, 10, &list, E_));
	assert_json(list, "[{\"entry\":\"{\\\"n\\\":0}\",\"index\":0},{\"entry\":\"{\\\"n\\\":1}\",\"index\":1}]");
	json_decref(list);

	OK(cf_st_audit_list(tx, 0, INT64_MAX, NULL, 100, &list, E_));
	assert_list(list, "0,1,2,3,4,5,6,7");
	OK(cf_st_audit_list(tx, 3, 6, NULL, 2, &list, E_));
	assert_list(list, "3,4");
	OK(cf_st_audit_list(tx, 3, 6, NULL, 0, &list, E_));
	assert_list(list, "");
	OK(cf_st_audit_list(tx, 4, 4, NULL, 10, &list, E_));
	assert_list(list, "");

	/* By organization: as actor or as resource, each entry once. */
	OK(cf_st_audit_list(tx, 0, INT64_MAX, "o1", 100, &list, E_));
	assert_list(list, "0,1,2,5,6,7");
	OK(cf_st_audit_list(tx, 0, INT64_MAX, "o2", 100, &list, E_));
	assert_list(list, "1,2,4");
	OK(cf_st_audit_list(tx, 0, INT64_MAX, "o3", 100, &list, E_));
	assert_list(list, "7");
	OK(cf_st_audit_list(tx, 0, INT64_MAX, "o9", 100, &list, E_));
	assert_list(list, "");
	OK(cf_st_audit_list(tx, 2, 7, "o1", 100, &list, E_));
	assert_list(list, "2,5,6");
	OK(cf_st_audit_list(tx, 0, INT64_MAX, "o1", 2, &list, E_));
	assert_list(list, "0,1");
	OK(cf_st_audit_list(tx, 1, INT64_MAX, "o1", 3, &list, E_));
	assert_list(list, "1,2,5");
	OK(cf_st_audit_list(tx, 6, INT64_MAX, "o1", 1, &list, E_));
	assert_list(list, "6");
	/* The first match as actor, then as resource, each decides a limit of one. */
	OK(cf_st_audit_list(tx, 0, INT64_MAX, "o2", 1, &list, E_));
	assert_list(list, "1");
	OK(cf_st_audit_list(tx, 2, INT64_MAX, "o2", 1, &list, E_));
	assert_list(list, "2");
	OK(cf_st_audit_list(tx, 0, 5, "o1", 0, &list, E_));
	assert_list(list, "");
	OK(cf_st_audit_list(tx, 0, INT64_MAX, "o1", 10000, &list, E_)); /* the cap itself is fine */
	assert_list(list, "0,1,2,5,6,7");

	/* About one subject in one organization (the resource's). */
	OK(cf_st_audit_by_subject(tx, "o1", "p1", 100, &list, E_));
	assert_list(list, "1,5");
	OK(cf_st_audit_by_subject(tx, "o2", "p1", 100, &list, E_));
	assert_list(list, "2");
	OK(cf_st_audit_by_subject(tx, "o1", "p2", 100, &list, E_));
	assert_list(list, "7");
	OK(cf_st_audit_by_subject(tx, "o1", "p1", 1, &list, E_));
	assert_list(list, "1");
	OK(cf_st_audit_by_subject(tx, "o3", "p2", 100, &list, E_));
	assert_list(list, "");
	OK(cf_st_audit_by_subject(tx, "o1", "p9", 100, &list, E_));
	assert_list(list, "");

	/* Refused arguments leave no list behind. */
	list = (json_t *)0x1;
	assert_int_equal(cf_st_audit_list(tx, -1, 5, NULL, 10, &list, &err), CF_EINVAL);
	assert_null(list);
	assert_int_equal(cf_st_audit_list(tx, 5, 4, NULL, 10, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_list(tx, 0, 5, NULL, 10001, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_list(tx, 0, 5, "o1", SIZE_MAX, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_list(tx, 0, 5, "", 10, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_list(tx, 0, 5, NULL, 10, NULL, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_audit_by_subject(tx, NULL, "p1", 10, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_by_subject(tx, "o1", "", 10, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_by_subject(tx, "o1", "p1", 10001, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_audit_by_subject(tx, "o1", "p1", 10, NULL, &err), CF_EINTERNAL);
	assert_null(list);
	commit(tx);

	/* An entry that is no longer text (written behind the store's back) is damage, not a crash. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "INSERT INTO audit (idx, entry, leaf, actor_org)"
				      " VALUES (8, x'ff00', zeroblob(32), 'o4')"),
			 SQLITE_OK);
	sqlite3_close(db);
	tx = begin(f, false);
	assert_int_equal(cf_st_audit_list(tx, 0, INT64_MAX, "o4", 10, &list, &err), CF_EINTEGRITY);
	assert_null(list);
	OK(cf_st_audit_list(tx, 0, 8, NULL, 10, &list, E_));
	assert_list(list, "0,1,2,3,4,5,6,7");
	commit(tx);
}

typedef struct cp_seen {
	int n;
	int stop_at;
	int64_t size[4];
	uint8_t root[4][CF_HASH_LEN];
	char note[4][64];
} cp_seen;

static cf_rc collect_checkpoint(void *ctx, int64_t size, const uint8_t root[CF_HASH_LEN], const char *note)
{
	cp_seen *s = ctx;

	if (s->n == s->stop_at)
		return CF_ENOTFOUND;
	assert_true(s->n < 4);
	s->size[s->n] = size;
	memcpy(s->root[s->n], root, CF_HASH_LEN);
	assert_true(strlen(note) < sizeof(s->note[0]));
	memcpy(s->note[s->n], note, strlen(note) + 1);
	s->n++;
	return CF_OK;
}

static void test_checkpoints(void **state)
{
	fx *f = *state;
	uint8_t root[CF_HASH_LEN], want[CF_HASH_LEN], zero[CF_HASH_LEN] = {0};
	cp_seen seen = {.stop_at = -1};
	char *note = NULL, *bignote;
	cf_err err = {0};
	int64_t size = 0;
	sqlite3 *db;
	cf_tx *tx;

	tx = begin(f, true);
	assert_int_equal(cf_st_checkpoint_latest(tx, &size, root, &note, &err), CF_ENOTFOUND);
	assert_int_equal(size, -1);
	assert_null(note);
	assert_int_equal(cf_st_checkpoint_at_most(tx, 100, &size, root, &note, &err), CF_ENOTFOUND);

	fake_hash(0xC0, 12, want);
	OK(cf_st_checkpoint_put(tx, 12, want, "coffre.test\n12\nroot12\n\n- sig\n", 1012, E_));
	fake_hash(0xC0, 0, want);
	OK(cf_st_checkpoint_put(tx, 0, want, "coffre.test\n0\nroot0\n\n- sig\n", 1000, E_));
	fake_hash(0xC0, 5, want);
	OK(cf_st_checkpoint_put(tx, 5, want, "coffre.test\n5\nroot5\n\n- sig\n", 1005, E_));
	fake_hash(0xEE, 5, want);
	assert_int_equal(cf_st_checkpoint_put(tx, 5, want, "another note for 5", 2000, &err), CF_EEXIST);
	assert_int_equal(err.problem, CF_P_CONFLICT);

	OK(cf_st_checkpoint_latest(tx, &size, root, &note, E_));
	assert_int_equal(size, 12);
	fake_hash(0xC0, 12, want);
	assert_memory_equal(root, want, CF_HASH_LEN);
	assert_string_equal(note, "coffre.test\n12\nroot12\n\n- sig\n");
	free(note);
	note = NULL;
	OK(cf_st_checkpoint_at_most(tx, 11, &size, root, &note, E_));
	assert_int_equal(size, 5);
	fake_hash(0xC0, 5, want); /* the first put of size 5 stands */
	assert_memory_equal(root, want, CF_HASH_LEN);
	assert_string_equal(note, "coffre.test\n5\nroot5\n\n- sig\n");
	free(note);
	note = NULL;
	OK(cf_st_checkpoint_at_most(tx, 12, &size, NULL, NULL, E_));
	assert_int_equal(size, 12);
	OK(cf_st_checkpoint_at_most(tx, INT64_MAX, &size, NULL, NULL, E_));
	assert_int_equal(size, 12);
	OK(cf_st_checkpoint_at_most(tx, 4, NULL, root, NULL, E_));
	fake_hash(0xC0, 0, want);
	assert_memory_equal(root, want, CF_HASH_LEN);
	memset(root, 0xEE, sizeof(root));
	assert_int_equal(cf_st_checkpoint_at_most(tx, -1, &size, root, &note, &err), CF_ENOTFOUND);
	assert_int_equal(size, -1);
	assert_memory_equal(root, zero, CF_HASH_LEN);
	assert_null(note);
	OK(cf_st_checkpoint_latest(tx, NULL, NULL, NULL, E_));

	/* Ascending sizes; early stop returns the callback's result. */
	OK(cf_st_checkpoint_scan(tx, collect_checkpoint, &seen, E_));
	assert_int_equal(seen.n, 3);
	assert_int_equal(seen.size[0], 0);
	assert_int_equal(seen.size[1], 5);
	assert_int_equal(seen.size[2], 12);
	fake_hash(0xC0, 5, want);
	assert_memory_equal(seen.root[1], want, CF_HASH_LEN);
	assert_string_equal(seen.note[2], "coffre.test\n12\nroot12\n\n- sig\n");
	seen = (cp_seen){.stop_at = 1};
	assert_int_equal(cf_st_checkpoint_scan(tx, collect_checkpoint, &seen, &err), CF_ENOTFOUND);
	assert_int_equal(seen.n, 1);
	assert_int_equal(cf_st_checkpoint_scan(tx, NULL, &seen, &err), CF_EINTERNAL);

	/* Refused arguments. */
	bignote = malloc((64u << 10) + 2);
	assert_non_null(bignote);
	memset(bignote, 'n', (64u << 10) + 1);
	bignote[(64u << 10) + 1] = '\0';
	assert_int_equal(cf_st_checkpoint_put(tx, 20, want, bignote, 1, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	bignote[64u << 10] = '\0'; /* exactly the cap is fine */
	OK(cf_st_checkpoint_put(tx, 20, want, bignote, 1, E_));
	free(bignote);
	assert_int_equal(cf_st_checkpoint_put(tx, -1, want, "n", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_checkpoint_put(tx, 21, NULL, "n", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_checkpoint_put(tx, 21, want, "", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_checkpoint_put(tx, 21, want, NULL, 1, &err), CF_EINVAL);
	commit(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_checkpoint_put(tx, 30, want, "n", 1, &err), CF_EINTERNAL);
	OK(cf_st_checkpoint_latest(tx, &size, NULL, NULL, E_));
	assert_int_equal(size, 20);
	commit(tx);

	/* Behind the store's back: written once, never changed or removed. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT created_us FROM checkpoints WHERE size = 5"), 1005);
	assert_int_not_equal(raw_exec(db, "UPDATE checkpoints SET note = 'x' WHERE size = 5"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "checkpoints cannot be changed"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM checkpoints WHERE size = 0"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "checkpoints cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM checkpoints"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT OR REPLACE INTO checkpoints VALUES (5, zeroblob(32), 'x', 1)"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "written once"));
	assert_int_not_equal(raw_exec(db, "INSERT INTO checkpoints VALUES (-1, zeroblob(32), 'x', 1)"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO checkpoints VALUES (40, zeroblob(16), 'x', 1)"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO checkpoints (size, root, created_us) VALUES (40, zeroblob(32), 1)"),
			     SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM checkpoints"), 4);
	sqlite3_close(db);
}

/* ---- sharing agreements ------------------------------------------------ */

/* A complete, valid agreement row; the strings point at constants the test never frees. */
static void agreement_row(cf_agreement_row *a, const char *id, const char *provider, const char *consumer,
			  const char *collection, int64_t max_accesses, int64_t created_us)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(cf_snprintf(a->id, sizeof(a->id), "%s", id), CF_OK);
	assert_int_equal(cf_snprintf(a->provider, sizeof(a->provider), "%s", provider), CF_OK);
	assert_int_equal(cf_snprintf(a->consumer, sizeof(a->consumer), "%s", consumer), CF_OK);
	assert_int_equal(cf_snprintf(a->collection, sizeof(a->collection), "%s", collection), CF_OK);
	a->fields = (char *)"[\"name\"]";
	a->categories = (char *)"[]";
	a->purposes = (char *)"[\"benefits\"]";
	a->legal_basis = (char *)"Article 6(1)(e) GDPR";
	memcpy(a->valid_from, "2024-01-01", 11);
	memcpy(a->valid_until, "2026-12-31", 11);
	a->max_accesses = max_accesses;
	memcpy(a->status, "active", 7);
	a->created_us = created_us;
	a->changed_us = created_us;
}

static void insert_agreement(fx *f, const char *id, const char *provider, const char *consumer,
			     const char *collection, int64_t max_accesses, int64_t created_us, const char *status)
{
	cf_agreement_row a;
	cf_tx *tx = begin(f, true);

	agreement_row(&a, id, provider, consumer, collection, max_accesses, created_us);
	assert_int_equal(cf_snprintf(a.status, sizeof(a.status), "%s", status), CF_OK);
	OK(cf_st_agreement_insert(tx, &a, E_));
	commit(tx);
}

/* Inserts a copy of base with one change applied by the caller and expects rc (and the problem when not 0). */
static void refuse_agreement(cf_tx *tx, const cf_agreement_row *a, cf_rc want, cf_problem problem)
{
	cf_err err = {0};

	assert_int_equal(cf_st_agreement_insert(tx, a, &err), want);
	if (problem != CF_P_NONE)
		assert_int_equal(err.problem, problem);
}

static void test_agreement_insert_get(void **state)
{
	fx *f = *state;
	cf_agreement_row a, b, got;
	char basis[1002];
	cf_err err = {0};
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	tx = begin(f, true);
	agreement_row(&a, "ag-1", "o1", "o2", "people", 3, 100);
	a.fields = (char *)"[ \"name\" , \"birth_date\" ]";
	a.categories = (char *)"[\"identity\"]";
	a.purposes = (char *)"[\"benefits\",\"tax\"]";
	a.legal_basis = (char *)"Article 6(1)(e) RGPD ; d\xc3\xa9" "cret n\xc2\xb0 2024-1";
	memcpy(a.valid_from, "2024-02-29", 11);
	memcpy(a.valid_until, "2025-06-30", 11);
	a.changed_us = 150;
	a.accesses = 42; /* not read: a new agreement starts at 0 */
	OK(cf_st_agreement_insert(tx, &a, E_));

	OK(cf_st_agreement_get(tx, "ag-1", &got, E_));
	assert_string_equal(got.id, "ag-1");
	assert_string_equal(got.provider, "o1");
	assert_string_equal(got.consumer, "o2");
	assert_string_equal(got.collection, "people");
	assert_string_equal(got.fields, "[\"name\",\"birth_date\"]"); /* stored compact */
	assert_string_equal(got.categories, "[\"identity\"]");
	assert_string_equal(got.purposes, "[\"benefits\",\"tax\"]");
	assert_string_equal(got.legal_basis, "Article 6(1)(e) RGPD ; d\xc3\xa9" "cret n\xc2\xb0 2024-1");
	assert_string_equal(got.valid_from, "2024-02-29");
	assert_string_equal(got.valid_until, "2025-06-30");
	assert_int_equal(got.max_accesses, 3);
	assert_int_equal(got.accesses, 0);
	assert_string_equal(got.status, "active");
	assert_int_equal(got.created_us, 100);
	assert_int_equal(got.changed_us, 150);
	cf_agreement_row_release(&got);
	assert_null(got.fields);
	assert_null(got.legal_basis);
	assert_int_equal(got.id[0], '\0');
	cf_agreement_row_release(NULL);

	/* No cap, no fields, a suspended start, an empty-looking array in canonical form. */
	agreement_row(&b, "ag-2", "o2", "o1", "cars", -1, 200);
	b.fields = (char *)"[ ]";
	b.categories = (char *)"[\"vehicle\"]";
	memcpy(b.status, "suspended", 10);
	OK(cf_st_agreement_insert(tx, &b, E_));
	OK(cf_st_agreement_get(tx, "ag-2", &got, E_));
	assert_string_equal(got.fields, "[]");
	assert_int_equal(got.max_accesses, -1);
	assert_string_equal(got.status, "suspended");
	cf_agreement_row_release(&got);

	/* A duplicate id, whatever else differs; the detail never echoes the id. */
	agreement_row(&b, "ag-1", "o2", "o1", "cars", 1, 300);
	refuse_agreement(tx, &b, CF_EEXIST, CF_P_CONFLICT);
	assert_int_equal(cf_st_agreement_insert(tx, &b, &err), CF_EEXIST);
	assert_null(strstr(err.detail, "ag-1"));

	/* Organizations that do not exist (foreign keys). */
	agreement_row(&b, "ag-3", "o9", "o2", "people", 1, 300);
	refuse_agreement(tx, &b, CF_ENOTFOUND, CF_P_NOT_FOUND);
	agreement_row(&b, "ag-3", "o1", "o9", "people", 1, 300);
	refuse_agreement(tx, &b, CF_ENOTFOUND, CF_P_NOT_FOUND);

	/* An organization cannot share with itself. */
	agreement_row(&b, "ag-3", "o1", "o1", "people", 1, 300);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	assert_int_equal(cf_st_agreement_insert(tx, &b, &err), CF_EINVAL);
	assert_non_null(strstr(err.detail, "provider and consumer must differ")); /* checked before SQL's CHECK */

	/* Identifiers: empty, over CF_ID_MAX (no terminator within the array), exactly CF_ID_MAX is fine. */
	agreement_row(&b, "", "o1", "o2", "people", 1, 300);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	agreement_row(&b, "ag-3", "o1", "o2", "", 1, 300);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	agreement_row(&b, "ag-3", "o1", "o2", "people", 1, 300);
	memset(b.id, 'x', sizeof(b.id));
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_TOO_LONG);
	memset(b.collection, 'c', sizeof(b.collection));
	b.id[CF_ID_MAX] = '\0';
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_TOO_LONG);
	b.collection[CF_ID_MAX] = '\0';
	OK(cf_st_agreement_insert(tx, &b, E_));
	agreement_row(&b, "ag-3", "o1", "o2", "people", 1, 300);
	b.id[2] = '\xff'; /* not UTF-8: a list could not hand it out */
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);

	/* The JSON arrays. */
	agreement_row(&b, "ag-3", "o1", "o2", "people", 1, 300);
	b.fields = NULL;
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_MISSING_KEY);
	b.fields = (char *)"{\"name\":true}";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.fields = (char *)"[1]";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.fields = (char *)"[\"\"]";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.fields = (char *)"[\"name\",]";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.fields = (char *)"[\"name\"]";
	b.categories = (char *)"identity";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.categories = NULL;
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_MISSING_KEY);
	b.categories = (char *)"[]";
	b.purposes = (char *)"[]";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.purposes = (char *)" [ ] ";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.purposes = (char *)"[null]";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.purposes = NULL;
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_MISSING_KEY);

	/* The legal basis: required, at most 1000 bytes, UTF-8. */
	agreement_row(&b, "ag-3", "o1", "o2", "people", 1, 300);
	b.legal_basis = NULL;
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_MISSING_KEY);
	b.legal_basis = (char *)"";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.legal_basis = (char *)"caf\xc3(";
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	memset(basis, 'b', sizeof(basis) - 1);
	basis[1001] = '\0';
	b.legal_basis = basis;
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_TOO_LONG);
	basis[1000] = '\0';
	memcpy(b.id, "ag-4", 5);
	OK(cf_st_agreement_insert(tx, &b, E_));

	/* Dates: exactly YYYY-MM-DD. */
	agreement_row(&b, "ag-5", "o1", "o2", "people", 1, 300);
	memcpy(b.valid_from, "2024-1-01", 10);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	memcpy(b.valid_from, "2024/01/01", 11);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	memcpy(b.valid_from, "20240101", 9);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	memcpy(b.valid_from, "2024-01-0a", 11);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.valid_from[0] = '\0';
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	memcpy(b.valid_from, "2024-01-01", 11);
	memcpy(b.valid_until, "2026-12-31X", 11); /* no terminator: 11 characters */
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	memcpy(b.valid_until, " 026-12-31", 11);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);

	/* The cap and the status. */
	agreement_row(&b, "ag-5", "o1", "o2", "people", -2, 300);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.max_accesses = INT64_MIN;
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.max_accesses = 0;
	memcpy(b.status, "expired", 8);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	memcpy(b.status, "ACTIVE", 7);
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	b.status[0] = '\0';
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_INVALID_VALUE);
	memset(b.status, 'a', sizeof(b.status)); /* no terminator */
	refuse_agreement(tx, &b, CF_EINVAL, CF_P_TOO_LONG);
	memcpy(b.status, "revoked", 8); /* recorded already revoked: allowed */
	OK(cf_st_agreement_insert(tx, &b, E_));
	assert_int_equal(cf_st_agreement_insert(tx, NULL, &err), CF_EINTERNAL);

	/* Lookups. */
	memset(&got, 0x5A, sizeof(got));
	assert_int_equal(cf_st_agreement_get(tx, "ag-9", &got, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_null(got.fields);
	assert_null(got.purposes);
	assert_int_equal(got.id[0], '\0');
	assert_int_equal(cf_st_agreement_get(tx, "", &got, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_get(tx, NULL, &got, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_get(tx, "ag-1", NULL, &err), CF_EINTERNAL);
	commit(tx);

	/* Reads work in a read transaction, writes do not. */
	tx = begin(f, false);
	OK(cf_st_agreement_get(tx, "ag-5", &got, E_));
	assert_string_equal(got.status, "revoked");
	assert_int_equal(got.max_accesses, 0);
	cf_agreement_row_release(&got);
	agreement_row(&b, "ag-6", "o1", "o2", "people", 1, 300);
	assert_int_equal(cf_st_agreement_insert(tx, &b, &err), CF_EINTERNAL);
	commit(tx);

	/* Behind the store's back, the schema refuses what the checks refuse. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM agreements"), 5);
	assert_int_not_equal(raw_exec(db, "INSERT INTO agreements (id, provider, consumer, collection, fields,"
					  " categories, purposes, legal_basis, valid_from, valid_until, max_accesses,"
					  " status, created_us, changed_us) VALUES ('x1', 'o1', 'o1', 'c', '[]', '[]',"
					  " '[\"p\"]', 'b', '2024-01-01', '2024-01-02', 1, 'active', 1, 1)"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "CHECK constraint failed"));
	assert_int_not_equal(raw_exec(db, "INSERT INTO agreements (id, provider, consumer, collection, fields,"
					  " categories, purposes, legal_basis, valid_from, valid_until, max_accesses,"
					  " status, created_us, changed_us) VALUES ('x1', 'o1', 'o2', 'c', '[]', '[]',"
					  " '[\"p\"]', 'b', '2024-1-01', '2024-01-02', 1, 'active', 1, 1)"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO agreements (id, provider, consumer, collection, fields,"
					  " categories, purposes, legal_basis, valid_from, valid_until, max_accesses,"
					  " status, created_us, changed_us) VALUES ('x1', 'o1', 'o2', 'c', '[]', '[]',"
					  " '[\"p\"]', 'b', '2024-01-01', '2024-01-02', 1, 'expired', 1, 1)"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO agreements (id, provider, consumer, collection, fields,"
					  " categories, purposes, legal_basis, valid_from, valid_until, max_accesses,"
					  " status, created_us, changed_us) VALUES ('x1', 'o1', 'o2', 'c', '[]', '[]',"
					  " '[\"p\"]', 'b', '2024-01-01', '2024-01-02', -2, 'active', 1, 1)"),
			     SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM agreements"), 5);
	sqlite3_close(db);
}

static void assert_status(fx *f, const char *id, const char *status, int64_t changed_us, int64_t accesses)
{
	cf_agreement_row got;
	cf_tx *tx = begin(f, false);

	OK(cf_st_agreement_get(tx, id, &got, E_));
	assert_string_equal(got.status, status);
	assert_int_equal(got.changed_us, changed_us);
	assert_int_equal(got.accesses, accesses);
	assert_int_equal(got.created_us, 100);
	cf_agreement_row_release(&got);
	commit(tx);
}

static void test_agreement_status_and_revocation(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	int64_t n = -1;
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	insert_agreement(f, "ag-1", "o1", "o2", "people", 3, 100, "active");
	insert_agreement(f, "ag-2", "o1", "o2", "people", 3, 100, "active");

	tx = begin(f, true);
	OK(cf_st_agreement_set_status(tx, "ag-1", "suspended", 200, E_));
	commit(tx);
	assert_status(f, "ag-1", "suspended", 200, 0);
	tx = begin(f, true);
	OK(cf_st_agreement_set_status(tx, "ag-1", "active", 300, E_));
	OK(cf_st_agreement_count_access(tx, "ag-1", &n, E_));
	assert_int_equal(n, 1);
	commit(tx);
	assert_status(f, "ag-1", "active", 300, 1);
	tx = begin(f, true);
	OK(cf_st_agreement_set_status(tx, "ag-1", "active", 350, E_)); /* the same status again: a change of time */
	OK(cf_st_agreement_set_status(tx, "ag-1", "revoked", 400, E_));
	commit(tx);
	assert_status(f, "ag-1", "revoked", 400, 1);

	/* A revocation is final: no status, not even revoked again, and no access counted. */
	tx = begin(f, true);
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-1", "active", 500, &err), CF_EEXIST);
	assert_int_equal(err.problem, CF_P_CONFLICT);
	assert_non_null(strstr(err.detail, "revoked"));
	assert_null(strstr(err.detail, "ag-1"));
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-1", "suspended", 500, &err), CF_EEXIST);
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-1", "revoked", 500, &err), CF_EEXIST);
	n = -1;
	assert_int_equal(cf_st_agreement_count_access(tx, "ag-1", &n, &err), CF_EEXIST);
	assert_int_equal(n, 0);
	/* The transaction lives on after those refusals. */
	OK(cf_st_agreement_set_status(tx, "ag-2", "suspended", 500, E_));

	/* Refused arguments. */
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-9", "active", 500, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-2", "paused", 500, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-2", "", 500, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-2", NULL, 500, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-2", "active-but-longer-than-a-status", 500, &err),
			 CF_EINVAL);
	assert_int_equal(cf_st_agreement_set_status(tx, "", "active", 500, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_set_status(tx, NULL, "active", 500, &err), CF_EINVAL);
	commit(tx);
	assert_status(f, "ag-1", "revoked", 400, 1);
	assert_status(f, "ag-2", "suspended", 500, 0);

	tx = begin(f, false);
	assert_int_equal(cf_st_agreement_set_status(tx, "ag-2", "active", 600, &err), CF_EINTERNAL);
	commit(tx);

	/* Behind the store's back: the revoked row cannot change, no row can go, no id can move. */
	db = raw_open(f, "vault.db");
	assert_int_not_equal(raw_exec(db, "UPDATE agreements SET status = 'active' WHERE id = 'ag-1'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "a revoked agreement cannot be changed"));
	assert_int_not_equal(raw_exec(db, "UPDATE agreements SET accesses = 0, max_accesses = -1 WHERE id = 'ag-1'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "a revoked agreement cannot be changed"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM agreements WHERE id = 'ag-1'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "agreements cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM agreements WHERE id = 'ag-2'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "agreements cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "INSERT OR REPLACE INTO agreements (id, provider, consumer, collection,"
					  " fields, categories, purposes, legal_basis, valid_from, valid_until,"
					  " max_accesses, status, created_us, changed_us) VALUES ('ag-1', 'o1', 'o2',"
					  " 'people', '[]', '[]', '[\"p\"]', 'b', '2024-01-01', '2024-01-02', -1,"
					  " 'active', 1, 1)"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "agreements are written once"));
	assert_int_not_equal(raw_exec(db, "UPDATE agreements SET id = 'ag-3' WHERE id = 'ag-2'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "an agreement id cannot be changed"));
	assert_int_not_equal(raw_exec(db, "UPDATE OR REPLACE agreements SET id = 'ag-1' WHERE id = 'ag-2'"),
			     SQLITE_OK);
	/* An agreement that is not revoked still changes (the store's own status updates rely on it). */
	assert_int_equal(raw_exec(db, "UPDATE agreements SET status = 'active', changed_us = 700 WHERE id = 'ag-2'"),
			 SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM agreements"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM agreements WHERE id = 'ag-1' AND status = 'revoked'"
				     " AND accesses = 1 AND max_accesses = 3 AND changed_us = 400"),
			 1);
	sqlite3_close(db);
	assert_status(f, "ag-2", "active", 700, 0);
}

static void test_agreement_count_access(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	int64_t n = -1, i;
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	insert_agreement(f, "capped", "o1", "o2", "people", 3, 100, "active");
	insert_agreement(f, "free", "o1", "o2", "people", -1, 100, "active");
	insert_agreement(f, "zero", "o1", "o2", "people", 0, 100, "active");
	insert_agreement(f, "held", "o1", "o2", "people", 2, 100, "suspended");

	/* Up to the cap, then refused, and the count stays at the cap. */
	tx = begin(f, true);
	for (i = 1; i <= 3; i++) {
		OK(cf_st_agreement_count_access(tx, "capped", &n, E_));
		assert_int_equal(n, i);
	}
	n = -1;
	assert_int_equal(cf_st_agreement_count_access(tx, "capped", &n, &err), CF_ETOOBIG);
	assert_int_equal(err.problem, CF_P_FORBIDDEN);
	assert_non_null(strstr(err.detail, "cap"));
	assert_int_equal(n, 0);
	assert_int_equal(cf_st_agreement_count_access(tx, "capped", NULL, &err), CF_ETOOBIG);
	commit(tx);
	assert_status(f, "capped", "active", 100, 3);

	/* Without a cap the count goes on; a cap of 0 allows nothing. */
	tx = begin(f, true);
	for (i = 1; i <= 50; i++) {
		OK(cf_st_agreement_count_access(tx, "free", &n, E_));
		assert_int_equal(n, i);
	}
	OK(cf_st_agreement_count_access(tx, "free", NULL, E_));
	assert_int_equal(cf_st_agreement_count_access(tx, "zero", &n, &err), CF_ETOOBIG);
	/* The store counts whatever the status but revoked: whether a suspended agreement applies is the vault's call. */
	OK(cf_st_agreement_count_access(tx, "held", &n, E_));
	assert_int_equal(n, 1);

	/* A missing agreement is not a reached cap. */
	n = -1;
	assert_int_equal(cf_st_agreement_count_access(tx, "nope", &n, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(n, 0);
	assert_int_equal(cf_st_agreement_count_access(tx, "", &n, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_count_access(tx, NULL, &n, &err), CF_EINVAL);

	/* Revoked with the cap reached: no row is touched, so it is the cap that answers. */
	OK(cf_st_agreement_set_status(tx, "capped", "revoked", 200, E_));
	assert_int_equal(cf_st_agreement_count_access(tx, "capped", &n, &err), CF_ETOOBIG);
	OK(cf_st_agreement_set_status(tx, "held", "revoked", 200, E_));
	assert_int_equal(cf_st_agreement_count_access(tx, "held", &n, &err), CF_EEXIST);
	commit(tx);

	/* Counts in a rolled-back transaction are gone; a read transaction cannot count. */
	tx = begin(f, true);
	OK(cf_st_agreement_count_access(tx, "free", &n, E_));
	assert_int_equal(n, 52);
	cf_tx_rollback(tx);
	tx = begin(f, false);
	assert_int_equal(cf_st_agreement_count_access(tx, "free", &n, &err), CF_EINTERNAL);
	commit(tx);

	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT accesses FROM agreements WHERE id = 'free'"), 51);
	assert_int_equal(raw_int(db, "SELECT accesses FROM agreements WHERE id = 'capped'"), 3);
	assert_int_equal(raw_int(db, "SELECT accesses FROM agreements WHERE id = 'zero'"), 0);
	assert_int_equal(raw_int(db, "SELECT accesses FROM agreements WHERE id = 'held'"), 1);
	sqlite3_close(db);
}

/* The ids of a list, comma-joined, then the list is released. */
static void assert_ids(json_t *list, const char *expected)
{
	char got[256] = "";
	size_t i, used = 0;
	json_t *e;

	assert_non_null(list);
	assert_true(json_is_array(list));
	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));

		assert_non_null(id);
		assert_true(used + strlen(id) + 2 < sizeof(got));
		if (i > 0)
			got[used++] = ',';
		memcpy(got + used, id, strlen(id) + 1);
		used += strlen(id);
	}
	assert_string_equal(got, expected);
	json_decref(list);
}

static void test_agreement_list(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	json_t *list = NULL;
	cf_agreement_row a;
	char longid[CF_ID_MAX + 2];
	int64_t n;
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	make_org(f, "o3");
	tx = begin(f, false);
	OK(cf_st_agreement_list(tx, NULL, NULL, NULL, NULL, &list, E_));
	assert_json(list, "[]");
	json_decref(list);
	commit(tx);

	insert_agreement(f, "a-10", "o1", "o2", "people", 5, 10, "active");
	insert_agreement(f, "a-20", "o1", "o3", "cars", -1, 20, "active");
	insert_agreement(f, "a-05", "o3", "o2", "people", 1, 5, "active");
	insert_agreement(f, "a-10b", "o1", "o2", "cars", 2, 10, "suspended"); /* same time as a-10: by id */
	tx = begin(f, true);
	agreement_row(&a, "a-30", "o2", "o1", "people", -1, 30);
	a.fields = (char *)"[\"name\",\"address\"]";
	a.categories = (char *)"[\"contact\"]";
	a.purposes = (char *)"[\"benefits\",\"fraud\"]";
	a.legal_basis = (char *)"Law 2024-12, art. 3";
	a.changed_us = 35;
	OK(cf_st_agreement_insert(tx, &a, E_));
	OK(cf_st_agreement_count_access(tx, "a-30", &n, E_));
	OK(cf_st_agreement_count_access(tx, "a-10", &n, E_));
	OK(cf_st_agreement_count_access(tx, "a-10", &n, E_));
	commit(tx);

	tx = begin(f, false);
	/* Every column, arrays parsed, max_accesses null without a cap. */
	OK(cf_st_agreement_list(tx, "o2", NULL, NULL, NULL, &list, E_));
	assert_json(list, "[{\"accesses\":1,\"categories\":[\"contact\"],\"changed_us\":35,\"collection\":\"people\","
			  "\"consumer\":\"o1\",\"created_us\":30,\"fields\":[\"name\",\"address\"],\"id\":\"a-30\","
			  "\"legal_basis\":\"Law 2024-12, art. 3\",\"max_accesses\":null,\"provider\":\"o2\","
			  "\"purposes\":[\"benefits\",\"fraud\"],\"status\":\"active\",\"valid_from\":\"2024-01-01\","
			  "\"valid_until\":\"2026-12-31\"}]");
	json_decref(list);
	OK(cf_st_agreement_list(tx, "o1", "o2", "people", NULL, &list, E_));
	assert_json(list, "[{\"accesses\":2,\"categories\":[],\"changed_us\":10,\"collection\":\"people\","
			  "\"consumer\":\"o2\",\"created_us\":10,\"fields\":[\"name\"],\"id\":\"a-10\","
			  "\"legal_basis\":\"Article 6(1)(e) GDPR\",\"max_accesses\":5,\"provider\":\"o1\","
			  "\"purposes\":[\"benefits\"],\"status\":\"active\",\"valid_from\":\"2024-01-01\","
			  "\"valid_until\":\"2026-12-31\"}]");
	json_decref(list);

	/* Ordered by created_us then id; each filter alone and together. */
	OK(cf_st_agreement_list(tx, NULL, NULL, NULL, NULL, &list, E_));
	assert_ids(list, "a-05,a-10,a-10b,a-20,a-30");
	OK(cf_st_agreement_list(tx, "o1", NULL, NULL, NULL, &list, E_));
	assert_ids(list, "a-10,a-10b,a-20");
	OK(cf_st_agreement_list(tx, NULL, "o2", NULL, NULL, &list, E_));
	assert_ids(list, "a-05,a-10,a-10b");
	OK(cf_st_agreement_list(tx, NULL, NULL, "people", NULL, &list, E_));
	assert_ids(list, "a-05,a-10,a-30");
	OK(cf_st_agreement_list(tx, NULL, NULL, NULL, "o1", &list, E_));
	assert_ids(list, "a-10,a-10b,a-20,a-30");
	OK(cf_st_agreement_list(tx, NULL, NULL, NULL, "o3", &list, E_));
	assert_ids(list, "a-05,a-20");
	OK(cf_st_agreement_list(tx, NULL, NULL, NULL, "o2", &list, E_));
	assert_ids(list, "a-05,a-10,a-10b,a-30");
	OK(cf_st_agreement_list(tx, "o1", "o2", NULL, NULL, &list, E_));
	assert_ids(list, "a-10,a-10b");
	OK(cf_st_agreement_list(tx, "o1", "o2", "cars", NULL, &list, E_));
	assert_ids(list, "a-10b");
	OK(cf_st_agreement_list(tx, "o1", NULL, "cars", NULL, &list, E_));
	assert_ids(list, "a-10b,a-20");
	OK(cf_st_agreement_list(tx, "o1", NULL, NULL, "o3", &list, E_));
	assert_ids(list, "a-20");
	OK(cf_st_agreement_list(tx, NULL, "o2", NULL, "o3", &list, E_));
	assert_ids(list, "a-05");
	OK(cf_st_agreement_list(tx, NULL, "o1", NULL, "o2", &list, E_));
	assert_ids(list, "a-30");
	OK(cf_st_agreement_list(tx, NULL, NULL, "cars", "o3", &list, E_));
	assert_ids(list, "a-20");
	OK(cf_st_agreement_list(tx, "o1", "o1", NULL, NULL, &list, E_));
	assert_ids(list, "");
	OK(cf_st_agreement_list(tx, "o9", NULL, NULL, NULL, &list, E_));
	assert_ids(list, "");
	OK(cf_st_agreement_list(tx, NULL, NULL, "trucks", NULL, &list, E_));
	assert_ids(list, "");
	OK(cf_st_agreement_list(tx, NULL, NULL, NULL, "o9", &list, E_));
	assert_ids(list, "");

	/* Refused arguments leave no list behind. */
	memset(longid, 'x', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	list = (json_t *)0x1;
	assert_int_equal(cf_st_agreement_list(tx, "", NULL, NULL, NULL, &list, &err), CF_EINVAL);
	assert_null(list);
	assert_int_equal(cf_st_agreement_list(tx, NULL, "", NULL, NULL, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_list(tx, NULL, NULL, "", NULL, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_list(tx, NULL, NULL, NULL, "", &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_agreement_list(tx, NULL, NULL, NULL, longid, &list, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_agreement_list(tx, NULL, NULL, NULL, NULL, NULL, &err), CF_EINTERNAL);
	assert_null(list);
	commit(tx);

	/* Stored arrays that no longer parse (written behind the store's back) are damage, not a crash. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "UPDATE agreements SET fields = 'not json' WHERE id = 'a-30'"), SQLITE_OK);
	assert_int_equal(raw_exec(db, "UPDATE agreements SET purposes = '{\"p\":1}' WHERE id = 'a-05'"), SQLITE_OK);
	sqlite3_close(db);
	tx = begin(f, false);
	assert_int_equal(cf_st_agreement_list(tx, NULL, NULL, NULL, "o2", &list, &err), CF_EINTEGRITY);
	assert_null(list);
	assert_int_equal(cf_st_agreement_list(tx, "o3", NULL, NULL, NULL, &list, &err), CF_EINTEGRITY);
	assert_null(list);
	OK(cf_st_agreement_list(tx, "o1", NULL, NULL, NULL, &list, E_));
	assert_ids(list, "a-10,a-10b,a-20");
	commit(tx);
}

/* ---- confidentiality commitments ----------------------------------------- */

static void test_commitments(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	int64_t version = -1, created = -1;
	char *text = NULL, *big;
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	tx = begin(f, true);
	/* None yet: not found, outputs cleared. */
	text = (char *)0x1;
	assert_int_equal(cf_st_commitment_current(tx, "o1", &version, &text, &created, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(version, 0);
	assert_null(text);
	assert_int_equal(created, 0);

	/* Versions 1, 2, 3 in turn; the current one is the highest, with its text and time. */
	OK(cf_st_commitment_put(tx, "o1", "I shall keep what I see confidential.", 100, &version, E_));
	assert_int_equal(version, 1);
	OK(cf_st_commitment_put(tx, "o1", "Version two.", 200, &version, E_));
	assert_int_equal(version, 2);
	OK(cf_st_commitment_current(tx, "o1", &version, &text, &created, E_));
	assert_int_equal(version, 2);
	assert_string_equal(text, "Version two.");
	assert_int_equal(created, 200);
	free(text);
	text = NULL;
	OK(cf_st_commitment_put(tx, "o1", "Troisi\xc3\xa8me version.\nLine two.", 300, &version, E_));
	assert_int_equal(version, 3);
	OK(cf_st_commitment_current(tx, "o1", &version, &text, &created, E_));
	assert_int_equal(version, 3);
	assert_string_equal(text, "Troisi\xc3\xa8me version.\nLine two.");
	assert_int_equal(created, 300);
	free(text);
	text = NULL;
	OK(cf_st_commitment_current(tx, "o1", &version, NULL, NULL, E_));
	assert_int_equal(version, 3);

	/* Each organization numbers its own versions. */
	OK(cf_st_commitment_put(tx, "o2", "Another organization's text.", 400, NULL, E_));
	OK(cf_st_commitment_current(tx, "o2", &version, NULL, &created, E_));
	assert_int_equal(version, 1);
	assert_int_equal(created, 400);

	/* Refused: unknown organization, missing, empty, over-long or non-UTF-8 text, bad ids. */
	version = -1;
	assert_int_equal(cf_st_commitment_put(tx, "o9", "text", 500, &version, &err), CF_ENOTFOUND);
	assert_int_equal(version, 0);
	assert_int_equal(cf_st_commitment_put(tx, "o1", "", 500, &version, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_put(tx, "o1", NULL, 500, &version, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MISSING_KEY);
	assert_int_equal(cf_st_commitment_put(tx, "o1", "caf\xc3(", 500, &version, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_put(tx, "", "text", 500, &version, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_put(tx, NULL, "text", 500, &version, &err), CF_EINVAL);
	big = malloc((64u << 10) + 2);
	assert_non_null(big);
	memset(big, 't', (64u << 10) + 1);
	big[(64u << 10) + 1] = '\0';
	assert_int_equal(cf_st_commitment_put(tx, "o2", big, 500, &version, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	big[64u << 10] = '\0'; /* exactly 64 KiB is fine */
	OK(cf_st_commitment_put(tx, "o2", big, 500, &version, E_));
	assert_int_equal(version, 2);
	OK(cf_st_commitment_current(tx, "o2", &version, &text, NULL, E_));
	assert_int_equal(strlen(text), 64u << 10);
	free(text);
	text = NULL;
	free(big);
	assert_int_equal(cf_st_commitment_current(tx, "o9", &version, &text, NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_commitment_current(tx, "", &version, NULL, NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_current(tx, "o1", NULL, NULL, NULL, &err), CF_EINTERNAL);
	commit(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_commitment_put(tx, "o1", "text", 600, &version, &err), CF_EINTERNAL);
	OK(cf_st_commitment_current(tx, "o1", &version, NULL, NULL, E_));
	assert_int_equal(version, 3);
	commit(tx);

	/* Behind the store's back: every version is kept, written once, never changed. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM commitments WHERE org = 'o1'"), 3);
	assert_int_equal(raw_int(db, "SELECT created_us FROM commitments WHERE org = 'o1' AND version = 1"), 100);
	assert_int_not_equal(raw_exec(db, "UPDATE commitments SET text = 'x' WHERE org = 'o1' AND version = 1"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "commitments cannot be changed"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM commitments WHERE org = 'o1' AND version = 1"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "commitments cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "INSERT OR REPLACE INTO commitments VALUES ('o1', 1, 'x', 1)"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "commitments are written once"));
	assert_int_not_equal(raw_exec(db, "INSERT INTO commitments VALUES ('o1', 0, 'x', 1)"), SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM commitments WHERE org = 'o1' AND version = 1"
				     " AND text = 'I shall keep what I see confidential.'"),
			 1);
	sqlite3_close(db);
}

static void test_commitment_acceptances(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	int64_t alice, bob, version = -1, at = -1;
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	alice = make_user(f, "alice");
	bob = make_user(f, "bob");
	tx = begin(f, true);
	OK(cf_st_commitment_put(tx, "o1", "v1", 10, NULL, E_));
	OK(cf_st_commitment_put(tx, "o1", "v2", 20, NULL, E_));
	OK(cf_st_commitment_put(tx, "o1", "v3", 30, NULL, E_));
	OK(cf_st_commitment_put(tx, "o2", "v1", 40, NULL, E_));

	/* Nothing accepted yet. */
	assert_int_equal(cf_st_commitment_accepted(tx, alice, "o1", &version, &at, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(version, 0);
	assert_int_equal(at, 0);

	OK(cf_st_commitment_accept(tx, alice, "o1", 1, 1000, E_));
	OK(cf_st_commitment_accepted(tx, alice, "o1", &version, &at, E_));
	assert_int_equal(version, 1);
	assert_int_equal(at, 1000);
	/* Accepting again is fine and keeps the first acceptance's time. */
	OK(cf_st_commitment_accept(tx, alice, "o1", 1, 2000, E_));
	OK(cf_st_commitment_accepted(tx, alice, "o1", &version, &at, E_));
	assert_int_equal(version, 1);
	assert_int_equal(at, 1000);
	/* The highest version accepted answers, whatever the order of acceptance. */
	OK(cf_st_commitment_accept(tx, alice, "o1", 3, 3000, E_));
	OK(cf_st_commitment_accept(tx, alice, "o1", 2, 4000, E_));
	OK(cf_st_commitment_accepted(tx, alice, "o1", &version, &at, E_));
	assert_int_equal(version, 3);
	assert_int_equal(at, 3000);
	OK(cf_st_commitment_accepted(tx, alice, "o1", &version, NULL, E_));
	assert_int_equal(version, 3);

	/* Per user and per organization. */
	assert_int_equal(cf_st_commitment_accepted(tx, bob, "o1", &version, &at, &err), CF_ENOTFOUND);
	assert_int_equal(version, 0);
	assert_int_equal(cf_st_commitment_accepted(tx, alice, "o2", &version, &at, &err), CF_ENOTFOUND);
	OK(cf_st_commitment_accept(tx, alice, "o2", 1, 5000, E_));
	OK(cf_st_commitment_accepted(tx, alice, "o2", &version, &at, E_));
	assert_int_equal(version, 1);
	assert_int_equal(at, 5000);
	assert_int_equal(cf_st_commitment_accepted(tx, 999, "o1", &version, &at, &err), CF_ENOTFOUND);

	/* A version, organization or user that does not exist (foreign keys). */
	assert_int_equal(cf_st_commitment_accept(tx, alice, "o1", 4, 6000, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_commitment_accept(tx, bob, "o2", 2, 6000, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_commitment_accept(tx, bob, "o9", 1, 6000, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_commitment_accept(tx, 999, "o1", 1, 6000, &err), CF_ENOTFOUND);
	/* Refused arguments. */
	assert_int_equal(cf_st_commitment_accept(tx, bob, "o1", 0, 6000, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_accept(tx, bob, "o1", -1, 6000, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_accept(tx, bob, "", 1, 6000, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_accept(tx, bob, NULL, 1, 6000, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_accepted(tx, bob, "", &version, &at, &err), CF_EINVAL);
	assert_int_equal(cf_st_commitment_accepted(tx, bob, "o1", NULL, &at, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_commitment_accepted(tx, bob, "o1", &version, &at, &err), CF_ENOTFOUND);
	commit(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_commitment_accept(tx, bob, "o1", 1, 7000, &err), CF_EINTERNAL);
	OK(cf_st_commitment_accepted(tx, alice, "o1", &version, NULL, E_));
	assert_int_equal(version, 3);
	commit(tx);

	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM commitment_acceptances"), 4);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM commitment_acceptances WHERE user_id <> 1"), 0);
	sqlite3_close(db);
}

/* ---- delegated administration: domains, subdivisions, member scope ----- */

/* A string of n copies of c (n < cap). */
static void fill(char *buf, size_t cap, char c, size_t n)
{
	assert_true(n < cap);
	memset(buf, c, n);
	buf[n] = '\0';
}

static void make_member(fx *f, int64_t user_id, const char *org)
{
	cf_tx *tx = begin(f, true);

	OK(cf_st_member_insert(tx, user_id, org, "[]", f->clock, E_));
	commit(tx);
}

static void test_domains(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	json_t *j = (json_t *)0x1;
	char big[300];
	int64_t alice, bob;
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	alice = make_user(f, "alice");
	bob = make_user(f, "bob");
	(void)make_user(f, "carol");
	make_member(f, alice, "o1");
	make_member(f, bob, "o2");

	tx = begin(f, true);
	OK(cf_st_domain_put(tx, "o1", "social", "Action sociale", 10, E_));
	OK(cf_st_domain_put(tx, "o1", "civil", "\xc3\x89tat civil", 20, E_));
	OK(cf_st_domain_put(tx, "o2", "social", "Another org's domain", 30, E_));
	OK(cf_st_domain_get(tx, "o1", "social", &j, E_));
	assert_json(j, "{\"contact_email\":null,\"id\":\"social\",\"name\":\"Action sociale\",\"technical_user\":null}");
	json_decref(j);
	OK(cf_st_domain_list(tx, "o1", &j, E_));
	assert_json(j, "[{\"contact_email\":null,\"id\":\"civil\",\"name\":\"\xc3\x89tat civil\",\"technical_user\":null},"
		       "{\"contact_email\":null,\"id\":\"social\",\"name\":\"Action sociale\",\"technical_user\":null}]");
	json_decref(j);

	/* Rename: the same row, name changed, creation time kept. */
	OK(cf_st_domain_put(tx, "o1", "social", "Solidarit\xc3\xa9s", 99, E_));
	OK(cf_st_domain_get(tx, "o1", "social", &j, E_));
	assert_json(j, "{\"contact_email\":null,\"id\":\"social\",\"name\":\"Solidarit\xc3\xa9s\",\"technical_user\":null}");
	json_decref(j);

	/* Contact: set, replace, clear. */
	OK(cf_st_domain_set_contact(tx, "o1", "social", "social@mairie.example", E_));
	OK(cf_st_domain_get(tx, "o1", "social", &j, E_));
	assert_json(j, "{\"contact_email\":\"social@mairie.example\",\"id\":\"social\",\"name\":\"Solidarit\xc3\xa9s\","
		       "\"technical_user\":null}");
	json_decref(j);
	OK(cf_st_domain_set_contact(tx, "o1", "social", "accueil@mairie.example", E_));
	OK(cf_st_domain_set_contact(tx, "o1", "civil", "civil@mairie.example", E_));
	OK(cf_st_domain_set_contact(tx, "o1", "civil", NULL, E_));

	/* Technical user: a member of the org, by username; NULL clears. */
	OK(cf_st_domain_set_technical(tx, "o1", "social", "alice", E_));
	OK(cf_st_domain_list(tx, "o1", &j, E_));
	assert_json(j, "[{\"contact_email\":null,\"id\":\"civil\",\"name\":\"\xc3\x89tat civil\",\"technical_user\":null},"
		       "{\"contact_email\":\"accueil@mairie.example\",\"id\":\"social\",\"name\":\"Solidarit\xc3\xa9s\","
		       "\"technical_user\":\"alice\"}]");
	json_decref(j);
	/* Not a member of o1 (bob is in o2), no membership at all (carol), unknown username. */
	assert_int_equal(cf_st_domain_set_technical(tx, "o1", "social", "bob", &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_null(strstr(err.detail, "bob"));
	assert_int_equal(cf_st_domain_set_technical(tx, "o1", "social", "carol", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_domain_set_technical(tx, "o1", "social", "nobody", &err), CF_ENOTFOUND);
	assert_null(strstr(err.detail, "nobody"));
	/* The refusals changed nothing. */
	OK(cf_st_domain_get(tx, "o1", "social", &j, E_));
	assert_json(j, "{\"contact_email\":\"accueil@mairie.example\",\"id\":\"social\",\"name\":\"Solidarit\xc3\xa9s\","
		       "\"technical_user\":\"alice\"}");
	json_decref(j);
	OK(cf_st_domain_set_technical(tx, "o2", "social", "bob", E_));
	OK(cf_st_domain_set_technical(tx, "o1", "social", NULL, E_));
	OK(cf_st_domain_get(tx, "o1", "social", &j, E_));
	assert_json(j, "{\"contact_email\":\"accueil@mairie.example\",\"id\":\"social\",\"name\":\"Solidarit\xc3\xa9s\","
		       "\"technical_user\":null}");
	json_decref(j);
	OK(cf_st_domain_get(tx, "o2", "social", &j, E_));
	assert_json(j, "{\"contact_email\":null,\"id\":\"social\",\"name\":\"Another org's domain\",\"technical_user\":\"bob\"}");
	json_decref(j);

	/* Missing objects. */
	j = (json_t *)0x1;
	assert_int_equal(cf_st_domain_get(tx, "o1", "nope", &j, &err), CF_ENOTFOUND);
	assert_null(j);
	assert_int_equal(cf_st_domain_get(tx, "o9", "social", &j, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_domain_put(tx, "o9", "social", "x", 1, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_domain_set_contact(tx, "o1", "nope", "a@b.example", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_domain_set_contact(tx, "o2", "civil", NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_domain_set_technical(tx, "o1", "nope", "alice", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_domain_set_technical(tx, "o1", "nope", NULL, &err), CF_ENOTFOUND);
	OK(cf_st_domain_list(tx, "o9", &j, E_));
	assert_json(j, "[]");
	json_decref(j);

	/* Refused arguments: ids 1..64 bytes, names 1..200 bytes of UTF-8, emails 1..254. */
	assert_int_equal(cf_st_domain_put(tx, "o1", "", "x", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_put(tx, "o1", NULL, "x", 1, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MISSING_KEY);
	assert_int_equal(cf_st_domain_put(tx, "", "d", "x", 1, &err), CF_EINVAL);
	fill(big, sizeof(big), 'd', 65);
	assert_int_equal(cf_st_domain_put(tx, "o1", big, "x", 1, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	fill(big, sizeof(big), 'd', 64);
	OK(cf_st_domain_put(tx, "o1", big, "x", 1, E_));
	assert_int_equal(cf_st_domain_put(tx, "o1", "d\xff", "x", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_put(tx, "o1", "d", "", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_put(tx, "o1", "d", NULL, 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_put(tx, "o1", "d", "caf\xc3(", 1, &err), CF_EINVAL);
	fill(big, sizeof(big), 'n', 201);
	assert_int_equal(cf_st_domain_put(tx, "o1", "d", big, 1, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	fill(big, sizeof(big), 'n', 200);
	OK(cf_st_domain_put(tx, "o1", "d", big, 1, E_));
	assert_int_equal(cf_st_domain_set_contact(tx, "o1", "d", "", &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_set_contact(tx, "o1", "d", "a\xc0@b", &err), CF_EINVAL);
	fill(big, sizeof(big), 'e', 255);
	assert_int_equal(cf_st_domain_set_contact(tx, "o1", "d", big, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	fill(big, sizeof(big), 'e', 254);
	OK(cf_st_domain_set_contact(tx, "o1", "d", big, E_));
	assert_int_equal(cf_st_domain_set_technical(tx, "o1", "d", "", &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_set_contact(tx, NULL, "d", NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_set_technical(tx, "o1", "", NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_get(tx, "o1", "", &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_get(tx, "o1", "d", NULL, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_domain_list(tx, "", &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_domain_list(tx, "o1", NULL, &err), CF_EINTERNAL);
	commit(tx);

	/* Writes are refused in a read transaction; reads work. */
	tx = begin(f, false);
	assert_int_equal(cf_st_domain_put(tx, "o1", "x", "x", 1, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_domain_set_contact(tx, "o1", "social", NULL, &err), CF_EINTERNAL);
	OK(cf_st_domain_list(tx, "o2", &j, E_));
	assert_int_equal(json_array_size(j), 1);
	json_decref(j);
	commit(tx);

	/* Behind the store's back: creation time kept by the rename, the technical user stored by id. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT created_us FROM domains WHERE org = 'o1' AND id = 'social'"), 10);
	assert_int_equal(raw_int(db, "SELECT technical_user FROM domains WHERE org = 'o2' AND id = 'social'"), bob);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM domains"), 5);
	sqlite3_close(db);
}

static void test_subdivisions(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	json_t *j = (json_t *)0x1;
	char big[300], coll[128];
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	tx = begin(f, true);
	OK(cf_st_domain_put(tx, "o1", "social", "Social", 1, E_));
	OK(cf_st_domain_put(tx, "o1", "civil", "Civil", 1, E_));
	OK(cf_st_domain_put(tx, "o2", "social", "Social", 1, E_));

	OK(cf_st_subdivision_put(tx, "o1", "social", "ccas", "CCAS", "[ \"aides\", \"dossiers\" ]", 10, E_));
	OK(cf_st_subdivision_put(tx, "o1", "social", "creche", "Cr\xc3\xa8" "che", "[]", 20, E_));
	OK(cf_st_subdivision_put(tx, "o1", "civil", "accueil", "Accueil", "[\"actes\"]", 30, E_));
	/* Another organization may reuse an id. */
	OK(cf_st_subdivision_put(tx, "o2", "social", "ccas", "Other CCAS", "[]", 40, E_));

	OK(cf_st_subdivision_get(tx, "o1", "ccas", &j, E_));
	assert_json(j, "{\"blocked\":false,\"collections\":[\"aides\",\"dossiers\"],\"domain\":\"social\",\"id\":\"ccas\","
		       "\"name\":\"CCAS\"}");
	json_decref(j);

	/* Lists: by domain, whole organization (NULL), unknown domain. */
	OK(cf_st_subdivision_list(tx, "o1", "social", &j, E_));
	assert_json(j, "[{\"blocked\":false,\"collections\":[\"aides\",\"dossiers\"],\"domain\":\"social\",\"id\":\"ccas\","
		       "\"name\":\"CCAS\"},"
		       "{\"blocked\":false,\"collections\":[],\"domain\":\"social\",\"id\":\"creche\","
		       "\"name\":\"Cr\xc3\xa8" "che\"}]");
	json_decref(j);
	OK(cf_st_subdivision_list(tx, "o1", NULL, &j, E_));
	assert_int_equal(json_array_size(j), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "id")), "accueil");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 1), "id")), "ccas");
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 2), "id")), "creche");
	json_decref(j);
	OK(cf_st_subdivision_list(tx, "o1", "civil", &j, E_));
	assert_json(j, "[{\"blocked\":false,\"collections\":[\"actes\"],\"domain\":\"civil\",\"id\":\"accueil\","
		       "\"name\":\"Accueil\"}]");
	json_decref(j);
	OK(cf_st_subdivision_list(tx, "o1", "nope", &j, E_));
	assert_json(j, "[]");
	json_decref(j);
	OK(cf_st_subdivision_list(tx, "o2", NULL, &j, E_));
	assert_json(j, "[{\"blocked\":false,\"collections\":[],\"domain\":\"social\",\"id\":\"ccas\",\"name\":\"Other CCAS\"}]");
	json_decref(j);

	/* Blocked: set, kept by a later put, cleared. */
	OK(cf_st_subdivision_set_blocked(tx, "o1", "ccas", true, E_));
	OK(cf_st_subdivision_set_blocked(tx, "o1", "ccas", true, E_));
	OK(cf_st_subdivision_put(tx, "o1", "social", "ccas", "CCAS renamed", "[\"aides\"]", 50, E_));
	OK(cf_st_subdivision_get(tx, "o1", "ccas", &j, E_));
	assert_json(j, "{\"blocked\":true,\"collections\":[\"aides\"],\"domain\":\"social\",\"id\":\"ccas\","
		       "\"name\":\"CCAS renamed\"}");
	json_decref(j);
	OK(cf_st_subdivision_get(tx, "o2", "ccas", &j, E_)); /* the other org's is untouched */
	assert_json(j, "{\"blocked\":false,\"collections\":[],\"domain\":\"social\",\"id\":\"ccas\",\"name\":\"Other CCAS\"}");
	json_decref(j);
	OK(cf_st_subdivision_set_blocked(tx, "o1", "ccas", false, E_));
	OK(cf_st_subdivision_get(tx, "o1", "ccas", &j, E_));
	assert_false(json_is_true(json_object_get(j, "blocked")));
	json_decref(j);
	assert_int_equal(cf_st_subdivision_set_blocked(tx, "o1", "nope", true, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_subdivision_set_blocked(tx, "o2", "accueil", true, &err), CF_ENOTFOUND);

	/* A subdivision in an unknown domain or organization. */
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "nope", "s1", "S", "[]", 60, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_subdivision_put(tx, "o2", "civil", "s1", "S", "[]", 60, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_subdivision_put(tx, "o9", "social", "s1", "S", "[]", 60, &err), CF_ENOTFOUND);
	/* Moving an id to another domain of the organization is refused, and changes nothing. */
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "civil", "ccas", "Moved", "[]", 60, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	assert_non_null(strstr(err.detail, "cannot move"));
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "nope", "ccas", "Moved", "[]", 60, &err), CF_EINVAL);
	OK(cf_st_subdivision_get(tx, "o1", "ccas", &j, E_));
	assert_json(j, "{\"blocked\":false,\"collections\":[\"aides\"],\"domain\":\"social\",\"id\":\"ccas\","
		       "\"name\":\"CCAS renamed\"}");
	json_decref(j);

	/* Missing objects and refused arguments. */
	j = (json_t *)0x1;
	assert_int_equal(cf_st_subdivision_get(tx, "o1", "nope", &j, &err), CF_ENOTFOUND);
	assert_null(j);
	assert_int_equal(cf_st_subdivision_get(tx, "o9", "ccas", &j, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_subdivision_get(tx, "o1", "", &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_get(tx, "o1", "ccas", NULL, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_subdivision_list(tx, "o1", "", &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_list(tx, NULL, NULL, &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_list(tx, "o1", NULL, NULL, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "", "S", "[]", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s\xfe", "S", "[]", 1, &err), CF_EINVAL);
	fill(big, sizeof(big), 's', 65);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", big, "S", "[]", 1, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "", "s1", "S", "[]", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", "", "[]", 1, &err), CF_EINVAL);
	fill(big, sizeof(big), 'n', 201);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", big, "[]", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", "S", NULL, 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", "S", "", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", "S", "{}", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", "S", "[1]", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", "S", "[\"\"]", 1, &err), CF_EINVAL);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", "S", "[\"a\",", 1, &err), CF_EINVAL);
	/* Collection names: 1..64 bytes each. */
	memcpy(coll, "[\"", 2);
	fill(coll + 2, sizeof(coll) - 2, 'c', 65);
	memcpy(coll + 67, "\"]", 3);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s1", "S", coll, 1, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	memcpy(coll + 66, "\"]", 3);
	OK(cf_st_subdivision_put(tx, "o1", "social", "s1", "S", coll, 1, E_));
	OK(cf_st_subdivision_get(tx, "o1", "s1", &j, E_));
	assert_int_equal(json_string_length(json_array_get(json_object_get(j, "collections"), 0)), 64);
	json_decref(j);
	commit(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_subdivision_put(tx, "o1", "social", "s2", "S", "[]", 1, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_subdivision_set_blocked(tx, "o1", "ccas", true, &err), CF_EINTERNAL);
	commit(tx);

	/* Behind the store's back: stored compact, creation time kept, the domain fixed in SQL too. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT created_us FROM subdivisions WHERE org = 'o1' AND id = 'ccas'"), 10);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM subdivisions WHERE org = 'o1' AND id = 'ccas'"
				     " AND collections = '[\"aides\"]'"),
			 1);
	assert_int_not_equal(raw_exec(db, "UPDATE subdivisions SET domain = 'civil' WHERE org = 'o1' AND id = 'ccas'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "cannot move"));
	assert_int_not_equal(raw_exec(db, "UPDATE subdivisions SET blocked = 2 WHERE org = 'o1' AND id = 'ccas'"),
			     SQLITE_OK);
	sqlite3_close(db);
}

/* Two orgs; in o1 domains social (subdivisions ccas, creche) and civil (accueil); in o2 domain social (ccas). */
static void make_places(fx *f)
{
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	tx = begin(f, true);
	OK(cf_st_domain_put(tx, "o1", "social", "Social", 1, E_));
	OK(cf_st_domain_put(tx, "o1", "civil", "Civil", 1, E_));
	OK(cf_st_domain_put(tx, "o2", "social", "Social", 1, E_));
	OK(cf_st_subdivision_put(tx, "o1", "social", "ccas", "CCAS", "[]", 1, E_));
	OK(cf_st_subdivision_put(tx, "o1", "social", "creche", "Creche", "[]", 1, E_));
	OK(cf_st_subdivision_put(tx, "o1", "civil", "accueil", "Accueil", "[]", 1, E_));
	OK(cf_st_subdivision_put(tx, "o2", "social", "ccas", "CCAS", "[]", 1, E_));
	commit(tx);
}

/* Asserts the member's five new columns (NULL expected = unset). */
static void assert_place(cf_tx *tx, int64_t user_id, const char *org, const char *domain, const char *subdivision,
			 const char *level, const char *language, const char *email)
{
	const char *want[5] = {domain, subdivision, level, language, email};
	cf_member_row m;
	const char *got[5];
	size_t i;

	OK(cf_st_member_get(tx, user_id, org, &m, E_));
	got[0] = m.domain;
	got[1] = m.subdivision;
	got[2] = m.admin_level;
	got[3] = m.language;
	got[4] = m.email;
	for (i = 0; i < 5; i++) {
		if (want[i] == NULL)
			assert_null(got[i]);
		else
			assert_string_equal(got[i], want[i]);
	}
	cf_member_row_release(&m);
	assert_null(m.domain);
	assert_null(m.email);
}

static void test_member_scope(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_member_row m;
	json_t *j = NULL;
	int64_t alice, bob;
	sqlite3 *db;
	cf_tx *tx;

	make_places(f);
	alice = make_user(f, "alice");
	bob = make_user(f, "bob");
	make_member(f, alice, "o1");
	make_member(f, bob, "o1");

	tx = begin(f, true);
	/* A new member sits nowhere; the existing columns are as before. */
	OK(cf_st_member_get(tx, alice, "o1", &m, E_));
	assert_string_equal(m.org, "o1");
	assert_string_equal(m.roles, "[]");
	assert_null(m.domain);
	assert_null(m.subdivision);
	assert_null(m.admin_level);
	assert_null(m.language);
	assert_null(m.email);
	cf_member_row_release(&m);

	/* Domain only, then subdivision, then each admin level. */
	OK(cf_st_member_set_scope(tx, alice, "o1", "social", NULL, NULL, E_));
	assert_place(tx, alice, "o1", "social", NULL, NULL, NULL, NULL);
	OK(cf_st_member_set_scope(tx, alice, "o1", "social", "ccas", NULL, E_));
	assert_place(tx, alice, "o1", "social", "ccas", NULL, NULL, NULL);
	OK(cf_st_member_set_scope(tx, alice, "o1", "social", "ccas", "subdivision", E_));
	assert_place(tx, alice, "o1", "social", "ccas", "subdivision", NULL, NULL);
	OK(cf_st_member_set_scope(tx, alice, "o1", "social", NULL, "local", E_));
	assert_place(tx, alice, "o1", "social", NULL, "local", NULL, NULL);
	OK(cf_st_member_set_scope(tx, alice, "o1", "civil", "accueil", "co_local", E_));
	assert_place(tx, alice, "o1", "civil", "accueil", "co_local", NULL, NULL);
	OK(cf_st_member_set_scope(tx, bob, "o1", "social", "creche", NULL, E_));
	/* Clear everything. */
	OK(cf_st_member_set_scope(tx, alice, "o1", NULL, NULL, NULL, E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, NULL, NULL);
	assert_place(tx, bob, "o1", "social", "creche", NULL, NULL, NULL);

	/* The list keeps its shape. */
	OK(cf_st_member_list(tx, "o1", &j, E_));
	assert_json(j, "[{\"blocked\":false,\"created_us\":1700000000000000,\"roles\":[],\"username\":\"alice\"},"
		       "{\"blocked\":false,\"created_us\":1700000000000000,\"roles\":[],\"username\":\"bob\"}]");
	json_decref(j);

	OK(cf_st_member_set_scope(tx, alice, "o1", "social", "ccas", "subdivision", E_));
	/* Refused: a subdivision of another domain, or without its domain. */
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "civil", "ccas", NULL, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "social", "accueil", NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", NULL, "ccas", NULL, &err), CF_EINVAL);
	/* Refused: admin levels without what they manage, unknown levels. */
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "social", NULL, "subdivision", &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", NULL, NULL, "subdivision", &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", NULL, NULL, "local", &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", NULL, NULL, "co_local", &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "social", NULL, "admin", &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "social", NULL, "LOCAL", &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "social", NULL, "", &err), CF_EINVAL);
	/* Missing objects: domain, subdivision (also one of another org), membership. */
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "nope", NULL, NULL, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "nope", NULL, "local", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "social", "nope", NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o2", "social", "ccas", NULL, &err), CF_ENOTFOUND);
	assert_non_null(strstr(err.detail, "membership"));
	assert_int_equal(cf_st_member_set_scope(tx, 999, "o1", "social", NULL, NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o9", NULL, NULL, NULL, &err), CF_ENOTFOUND);
	/* Refused ids. */
	assert_int_equal(cf_st_member_set_scope(tx, alice, "", NULL, NULL, NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "", NULL, NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", "social", "", NULL, &err), CF_EINVAL);
	/* None of the refusals changed anything. */
	assert_place(tx, alice, "o1", "social", "ccas", "subdivision", NULL, NULL);
	commit(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_member_set_scope(tx, alice, "o1", NULL, NULL, NULL, &err), CF_EINTERNAL);
	assert_place(tx, alice, "o1", "social", "ccas", "subdivision", NULL, NULL);
	commit(tx);

	/* Behind the store's back, SQL keeps the same rules (foreign keys are off on this connection). */
	db = raw_open(f, "vault.db");
	assert_int_not_equal(raw_exec(db, "UPDATE members SET admin_level = 'boss' WHERE user_id = 1"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE members SET subdivision = NULL WHERE user_id = 1"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE members SET domain = NULL, subdivision = NULL, admin_level = 'local'"
					  " WHERE user_id = 1"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE members SET domain = NULL, admin_level = NULL WHERE user_id = 1"),
			     SQLITE_OK);
	assert_int_equal(raw_exec(db, "PRAGMA foreign_keys = ON"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE members SET domain = 'gone', subdivision = NULL, admin_level = NULL"
					  " WHERE user_id = 1"),
			     SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM members WHERE user_id = 1 AND subdivision = 'ccas'"), 1);
	sqlite3_close(db);
}

static void test_member_attributes(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	char big[300];
	int64_t alice;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	alice = make_user(f, "alice");
	make_member(f, alice, "o1");
	make_member(f, alice, "o2");

	tx = begin(f, true);
	OK(cf_st_member_set_attributes(tx, alice, "o1", "fr", "alice@mairie.example", E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, "fr", "alice@mairie.example");
	assert_place(tx, alice, "o2", NULL, NULL, NULL, NULL, NULL); /* per membership */
	/* NULL keeps a value. */
	OK(cf_st_member_set_attributes(tx, alice, "o1", NULL, "a.martin@mairie.example", E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, "fr", "a.martin@mairie.example");
	OK(cf_st_member_set_attributes(tx, alice, "o1", "fr-BE", NULL, E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, "fr-BE", "a.martin@mairie.example");
	OK(cf_st_member_set_attributes(tx, alice, "o1", NULL, NULL, E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, "fr-BE", "a.martin@mairie.example");
	/* "" clears it. */
	OK(cf_st_member_set_attributes(tx, alice, "o1", "", NULL, E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, NULL, "a.martin@mairie.example");
	OK(cf_st_member_set_attributes(tx, alice, "o1", "en", "", E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, "en", NULL);
	OK(cf_st_member_set_attributes(tx, alice, "o1", "", "", E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, NULL, NULL);

	/* Limits: language 16 bytes of letters, digits and '-'; email 254 bytes of UTF-8. */
	fill(big, sizeof(big), 'a', 16);
	OK(cf_st_member_set_attributes(tx, alice, "o1", big, NULL, E_));
	fill(big, sizeof(big), 'a', 17);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o1", big, NULL, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o1", "fr_FR", NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o1", "fr FR", NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o1", "fr\xc3\xa9", NULL, &err), CF_EINVAL);
	fill(big, sizeof(big), 'e', 254);
	OK(cf_st_member_set_attributes(tx, alice, "o1", NULL, big, E_));
	fill(big, sizeof(big), 'e', 255);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o1", NULL, big, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o1", NULL, "a\xff@b", &err), CF_EINVAL);
	OK(cf_st_member_set_attributes(tx, alice, "o1", NULL, "\xc3\xa9lise@mairie.example", E_));
	/* A refused pair changes neither value. */
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o1", "de", "a\xff@b", &err), CF_EINVAL);
	fill(big, sizeof(big), 'a', 16);
	assert_place(tx, alice, "o1", NULL, NULL, NULL, big, "\xc3\xa9lise@mairie.example");
	/* Missing membership, bad org. */
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o9", "fr", NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_set_attributes(tx, 999, "o1", NULL, NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "", "fr", NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, NULL, "fr", NULL, &err), CF_EINVAL);
	commit(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_member_set_attributes(tx, alice, "o1", "fr", NULL, &err), CF_EINTERNAL);
	commit(tx);
}

static void test_member_delete(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_member_row m;
	cf_user_row u;
	json_t *j = NULL;
	int64_t alice, bob;
	cf_tx *tx;

	make_places(f);
	alice = make_user(f, "alice");
	bob = make_user(f, "bob");
	make_member(f, alice, "o1");
	make_member(f, alice, "o2");
	make_member(f, bob, "o1");

	tx = begin(f, true);
	OK(cf_st_member_set_scope(tx, alice, "o1", "social", "ccas", "subdivision", E_));
	OK(cf_st_member_set_attributes(tx, alice, "o1", "fr", "alice@example.org", E_));
	OK(cf_st_domain_set_technical(tx, "o1", "social", "alice", E_));
	OK(cf_st_domain_set_technical(tx, "o1", "civil", "bob", E_));
	OK(cf_st_domain_set_technical(tx, "o2", "social", "alice", E_));

	OK(cf_st_member_delete(tx, alice, "o1", E_));
	assert_int_equal(cf_st_member_get(tx, alice, "o1", &m, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_delete(tx, alice, "o1", &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	/* The user and their other membership stay. */
	OK(cf_st_user_get_by_id(tx, alice, &u, E_));
	assert_string_equal(u.username, "alice");
	cf_user_row_release(&u);
	OK(cf_st_member_get(tx, alice, "o2", &m, E_));
	cf_member_row_release(&m);
	/* The domains of o1 lose her as technical user; bob's and o2's are untouched. */
	OK(cf_st_domain_list(tx, "o1", &j, E_));
	assert_json(j, "[{\"contact_email\":null,\"id\":\"civil\",\"name\":\"Civil\",\"technical_user\":\"bob\"},"
		       "{\"contact_email\":null,\"id\":\"social\",\"name\":\"Social\",\"technical_user\":null}]");
	json_decref(j);
	OK(cf_st_domain_get(tx, "o2", "social", &j, E_));
	assert_json(j, "{\"contact_email\":null,\"id\":\"social\",\"name\":\"Social\",\"technical_user\":\"alice\"}");
	json_decref(j);
	OK(cf_st_member_list(tx, "o1", &j, E_));
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "username")), "bob");
	json_decref(j);
	/* She can join again, with a fresh (empty) place. */
	OK(cf_st_member_insert(tx, alice, "o1", "[\"clerk\"]", 5, E_));
	assert_place(tx, alice, "o1", NULL, NULL, NULL, NULL, NULL);

	assert_int_equal(cf_st_member_delete(tx, 999, "o1", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_delete(tx, bob, "o2", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_member_delete(tx, bob, "", &err), CF_EINVAL);
	assert_int_equal(cf_st_member_delete(tx, bob, NULL, &err), CF_EINVAL);
	commit(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_member_delete(tx, bob, "o1", &err), CF_EINTERNAL);
	commit(tx);
	tx = begin(f, false);
	OK(cf_st_member_get(tx, bob, "o1", &m, E_));
	cf_member_row_release(&m);
	commit(tx);
}

/* The usernames of a search answer, comma-separated, into buf. */
static void search_names(cf_tx *tx, const char *org, const char *domain, const char *subdivision, const char *query,
			 size_t limit, char *buf, size_t cap)
{
	json_t *j = NULL, *e;
	size_t i, used = 0;

	OK(cf_st_member_search(tx, org, domain, subdivision, query, limit, &j, E_));
	buf[0] = '\0';
	json_array_foreach(j, i, e) {
		const char *name = json_string_value(json_object_get(e, "username"));

		assert_non_null(name);
		assert_int_equal(cf_snprintf(buf + used, cap - used, "%s%s", i > 0 ? "," : "", name), CF_OK);
		used += strlen(buf + used);
	}
	json_decref(j);
}

static void test_member_search(void **state)
{
	static const char *const users[] = {"alice", "Bob", "a%b", "a_b", "axb", "AXB_admin", "zed"};
	fx *f = *state;
	cf_err err = {0};
	int64_t ids[CF_ARRAY_LEN(users)];
	json_t *j = (json_t *)0x1;
	char names[256], big[300];
	size_t i;
	cf_tx *tx;

	make_places(f);
	for (i = 0; i < CF_ARRAY_LEN(users); i++) {
		ids[i] = make_user(f, users[i]);
		make_member(f, ids[i], "o1");
	}
	make_member(f, ids[0], "o2");
	tx = begin(f, true);
	OK(cf_st_member_set_scope(tx, ids[0], "o1", "social", "ccas", "subdivision", E_)); /* alice */
	OK(cf_st_member_set_scope(tx, ids[1], "o1", "social", "creche", NULL, E_));         /* Bob */
	OK(cf_st_member_set_scope(tx, ids[2], "o1", "social", NULL, "local", E_));          /* a%b */
	OK(cf_st_member_set_scope(tx, ids[3], "o1", "civil", "accueil", NULL, E_));         /* a_b */
	OK(cf_st_member_set_scope(tx, ids[5], "o1", "social", "ccas", NULL, E_));           /* AXB_admin */
	OK(cf_st_member_set_scope(tx, ids[0], "o2", "social", "ccas", NULL, E_));
	OK(cf_st_member_set_attributes(tx, ids[0], "o1", "fr", "alice@example.org", E_));
	OK(cf_st_member_update(tx, ids[1], "o1", "[\"clerk\"]", 1, E_));
	commit(tx);

	tx = begin(f, false);
	/* No filter: everyone, ordered by username (binary order), full shape. */
	search_names(tx, "o1", NULL, NULL, NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,Bob,a%b,a_b,alice,axb,zed");
	OK(cf_st_member_search(tx, "o1", "social", "ccas", NULL, 10, &j, E_));
	assert_json(j, "[{\"admin_level\":null,\"blocked\":false,\"domain\":\"social\",\"email\":null,\"language\":null,"
		       "\"roles\":[],\"subdivision\":\"ccas\",\"username\":\"AXB_admin\"},"
		       "{\"admin_level\":\"subdivision\",\"blocked\":false,\"domain\":\"social\","
		       "\"email\":\"alice@example.org\",\"language\":\"fr\",\"roles\":[],\"subdivision\":\"ccas\","
		       "\"username\":\"alice\"}]");
	json_decref(j);
	OK(cf_st_member_search(tx, "o1", NULL, NULL, "zed", 10, &j, E_));
	assert_json(j, "[{\"admin_level\":null,\"blocked\":false,\"domain\":null,\"email\":null,\"language\":null,"
		       "\"roles\":[],\"subdivision\":null,\"username\":\"zed\"}]");
	json_decref(j);
	OK(cf_st_member_search(tx, "o1", NULL, NULL, "bob", 10, &j, E_));
	assert_json(j, "[{\"admin_level\":null,\"blocked\":true,\"domain\":\"social\",\"email\":null,\"language\":null,"
		       "\"roles\":[\"clerk\"],\"subdivision\":\"creche\",\"username\":\"Bob\"}]");
	json_decref(j);

	/* By domain, by subdivision, both (AND), a subdivision outside the domain. */
	search_names(tx, "o1", "social", NULL, NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,Bob,a%b,alice");
	search_names(tx, "o1", "civil", NULL, NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "a_b");
	search_names(tx, "o1", NULL, "ccas", NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,alice");
	search_names(tx, "o1", "social", "creche", NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "Bob");
	search_names(tx, "o1", "civil", "ccas", NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "");
	search_names(tx, "o1", "nope", NULL, NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "");
	/* Per organization. */
	search_names(tx, "o2", NULL, "ccas", NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "alice");
	search_names(tx, "o9", NULL, NULL, NULL, 1000, names, sizeof(names));
	assert_string_equal(names, "");

	/* Query: a case-insensitive substring; '%' and '_' are plain characters. */
	search_names(tx, "o1", NULL, NULL, "XB", 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,axb");
	search_names(tx, "o1", NULL, NULL, "a", 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,a%b,a_b,alice,axb");
	search_names(tx, "o1", NULL, NULL, "LIC", 1000, names, sizeof(names));
	assert_string_equal(names, "alice");
	search_names(tx, "o1", NULL, NULL, "%", 1000, names, sizeof(names));
	assert_string_equal(names, "a%b");
	search_names(tx, "o1", NULL, NULL, "_", 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,a_b");
	search_names(tx, "o1", NULL, NULL, "a_b", 1000, names, sizeof(names));
	assert_string_equal(names, "a_b");
	search_names(tx, "o1", NULL, NULL, "a%", 1000, names, sizeof(names));
	assert_string_equal(names, "a%b");
	search_names(tx, "o1", NULL, NULL, "%%", 1000, names, sizeof(names));
	assert_string_equal(names, "");
	search_names(tx, "o1", NULL, NULL, "_admin", 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin");
	search_names(tx, "o1", NULL, NULL, "", 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,Bob,a%b,a_b,alice,axb,zed");
	search_names(tx, "o1", NULL, NULL, "nobody", 1000, names, sizeof(names));
	assert_string_equal(names, "");
	/* All filters at once. */
	search_names(tx, "o1", "social", "ccas", "ALI", 1000, names, sizeof(names));
	assert_string_equal(names, "alice");
	search_names(tx, "o1", "social", NULL, "b", 1000, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,Bob,a%b");

	/* Limit: the first ones in order; 0 answers nothing; at most 1000. */
	search_names(tx, "o1", NULL, NULL, NULL, 2, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,Bob");
	search_names(tx, "o1", NULL, NULL, "a", 3, names, sizeof(names));
	assert_string_equal(names, "AXB_admin,a%b,a_b");
	search_names(tx, "o1", NULL, NULL, NULL, 0, names, sizeof(names));
	assert_string_equal(names, "");
	j = (json_t *)0x1;
	assert_int_equal(cf_st_member_search(tx, "o1", NULL, NULL, NULL, 1001, &j, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	assert_null(j);
	assert_int_equal(cf_st_member_search(tx, "o1", NULL, NULL, NULL, SIZE_MAX, &j, &err), CF_EINVAL);

	/* Refused arguments. */
	assert_int_equal(cf_st_member_search(tx, "", NULL, NULL, NULL, 10, &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_search(tx, NULL, NULL, NULL, NULL, 10, &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_search(tx, "o1", "", NULL, NULL, 10, &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_member_search(tx, "o1", NULL, "", NULL, 10, &j, &err), CF_EINVAL);
	fill(big, sizeof(big), 'q', 257);
	assert_int_equal(cf_st_member_search(tx, "o1", NULL, NULL, big, 10, &j, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_null(strstr(err.detail, "qqq"));
	assert_int_equal(cf_st_member_search(tx, "o1", NULL, NULL, NULL, 10, NULL, &err), CF_EINTERNAL);
	commit(tx);
}

/* ---- citizens' rights: erasure requests, erased subjects, legal holds -- */

static void make_subject(fx *f, const char *org, const char *pseudonym, const char *blind_index)
{
	cf_tx *tx = begin(f, true);

	OK(cf_st_subject_insert(tx, org, pseudonym, blind_index, (const uint8_t *)"nid", 3, f->clock, E_));
	commit(tx);
}

/* A new (pending) request; reason and by are borrowed, not copied. */
static cf_erasure_row erasure_row(const char *org, const char *id, const char *subject, const char *reason,
				  const char *by, int64_t at)
{
	cf_erasure_row e;

	memset(&e, 0, sizeof(e));
	assert_true(strlen(org) < sizeof(e.org) && strlen(id) < sizeof(e.id) && strlen(subject) < sizeof(e.subject));
	memcpy(e.org, org, strlen(org) + 1);
	memcpy(e.id, id, strlen(id) + 1);
	memcpy(e.subject, subject, strlen(subject) + 1);
	memcpy(e.status, "pending", sizeof("pending"));
	e.request_reason = (char *)reason;
	e.requested_by = (char *)by;
	e.requested_us = at;
	return e;
}

static void refuse_erasure(cf_tx *tx, const cf_erasure_row *e, cf_rc want, cf_problem problem)
{
	cf_err err = {0};

	assert_int_equal(cf_st_erasure_insert(tx, e, &err), want);
	assert_int_equal(err.problem, problem);
}

static void assert_erasure(cf_tx *tx, const char *org, const char *id, const char *subject, const char *status,
			   const char *request_reason, const char *decision_reason, const char *requested_by,
			   const char *decided_by, int64_t requested_us, int64_t decided_us)
{
	cf_erasure_row got;

	memset(&got, 0x5a, sizeof(got));
	OK(cf_st_erasure_get(tx, org, id, &got, E_));
	assert_string_equal(got.id, id);
	assert_string_equal(got.org, org);
	assert_string_equal(got.subject, subject);
	assert_string_equal(got.status, status);
	if (request_reason == NULL)
		assert_null(got.request_reason);
	else
		assert_string_equal(got.request_reason, request_reason);
	if (decision_reason == NULL)
		assert_null(got.decision_reason);
	else
		assert_string_equal(got.decision_reason, decision_reason);
	assert_string_equal(got.requested_by, requested_by);
	if (decided_by == NULL)
		assert_null(got.decided_by);
	else
		assert_string_equal(got.decided_by, decided_by);
	assert_int_equal(got.requested_us, requested_us);
	assert_int_equal(got.decided_us, decided_us);
	cf_erasure_row_release(&got);
	assert_null(got.requested_by);
}

static void test_erasure_requests(void **state)
{
	fx *f = *state;
	cf_erasure_row e, got;
	cf_err err = {0};
	json_t *j = NULL;
	char long_reason[1002], max_reason[1001];
	sqlite3 *db;
	cf_tx *tx;

	fill(max_reason, sizeof(max_reason), 'r', 1000);
	fill(long_reason, sizeof(long_reason), 'r', 1001);
	make_org(f, "o1");
	make_org(f, "o2");
	make_subject(f, "o1", "p1", "bi1");
	make_subject(f, "o1", "p2", "bi2");
	make_subject(f, "o2", "p1", "bi1");

	tx = begin(f, true);
	e = erasure_row("o1", "er-1", "p1", "asked by letter", "alice", 100);
	OK(cf_st_erasure_insert(tx, &e, E_));
	e = erasure_row("o1", "er-2", "p2", NULL, "bob", 200);
	OK(cf_st_erasure_insert(tx, &e, E_));
	e = erasure_row("o1", "er-3", "p1", "please forget me", "alice", 150);
	e.status[0] = '\0'; /* an unset status is a new, pending request */
	OK(cf_st_erasure_insert(tx, &e, E_));
	e = erasure_row("o1", "er-4", "p2", max_reason, "bob", 250); /* the longest reason */
	OK(cf_st_erasure_insert(tx, &e, E_));
	e = erasure_row("o2", "er-1", "p1", "ids are per organization", "carol", 50);
	OK(cf_st_erasure_insert(tx, &e, E_));

	/* Refused: a taken id, a missing subject or organization, a request that carries a decision. */
	e = erasure_row("o1", "er-1", "p2", NULL, "bob", 300);
	refuse_erasure(tx, &e, CF_EEXIST, CF_P_CONFLICT);
	e = erasure_row("o1", "er-9", "p9", NULL, "bob", 300);
	refuse_erasure(tx, &e, CF_ENOTFOUND, CF_P_NOT_FOUND);
	e = erasure_row("o9", "er-9", "p1", NULL, "bob", 300);
	refuse_erasure(tx, &e, CF_ENOTFOUND, CF_P_NOT_FOUND);
	e = erasure_row("o1", "er-9", "p1", NULL, "bob", 300);
	memcpy(e.status, "approved", sizeof("approved"));
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	memcpy(e.status, "refused", sizeof("refused"));
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	memcpy(e.status, "bogus", sizeof("bogus"));
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	memset(e.status, 'p', sizeof(e.status)); /* unterminated: read within its bounds, refused */
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_TOO_LONG);
	e = erasure_row("o1", "er-9", "p1", NULL, "bob", 300);
	e.decided_by = (char *)"dpo";
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("o1", "er-9", "p1", NULL, "bob", 300);
	e.decision_reason = (char *)"why";
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("o1", "er-9", "p1", NULL, "bob", 300);
	e.decided_us = 1;
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	/* Input checks on the request's own fields. */
	e = erasure_row("o1", "er-9", "p1", "", "bob", 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("o1", "er-9", "p1", long_reason, "bob", 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_TOO_LONG);
	e = erasure_row("o1", "er-9", "p1", "bad \xff utf-8", "bob", 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("o1", "er-9", "p1", NULL, NULL, 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_MISSING_KEY);
	e = erasure_row("o1", "er-9", "p1", NULL, "", 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("o1", "", "p1", NULL, "bob", 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("o1", "er-\xfe", "p1", NULL, "bob", 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("o1", "er-9", "", NULL, "bob", 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("", "er-9", "p1", NULL, "bob", 300);
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_INVALID_VALUE);
	e = erasure_row("o1", "er-9", "p1", NULL, "bob", 300);
	memset(e.id, 'i', sizeof(e.id)); /* 65 bytes, no terminator */
	refuse_erasure(tx, &e, CF_EINVAL, CF_P_TOO_LONG);
	assert_int_equal(cf_st_erasure_insert(tx, NULL, &err), CF_EINTERNAL);
	commit(tx);

	/* get: every column, back as stored. */
	tx = begin(f, false);
	assert_erasure(tx, "o1", "er-1", "p1", "pending", "asked by letter", NULL, "alice", NULL, 100, 0);
	assert_erasure(tx, "o1", "er-2", "p2", "pending", NULL, NULL, "bob", NULL, 200, 0);
	assert_erasure(tx, "o1", "er-3", "p1", "pending", "please forget me", NULL, "alice", NULL, 150, 0);
	assert_erasure(tx, "o1", "er-4", "p2", "pending", max_reason, NULL, "bob", NULL, 250, 0);
	assert_erasure(tx, "o2", "er-1", "p1", "pending", "ids are per organization", NULL, "carol", NULL, 50, 0);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(cf_st_erasure_get(tx, "o1", "er-9", &got, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_string_equal(got.id, "");
	assert_null(got.requested_by);
	assert_int_equal(cf_st_erasure_get(tx, "o2", "er-2", &got, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_erasure_get(tx, "", "er-1", &got, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_get(tx, "o1", NULL, &got, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_get(tx, "o1", "er-1", NULL, &err), CF_EINTERNAL);

	/* list: the organization's, or one subject's, oldest request first, with nulls for what is unset. */
	OK(cf_st_erasure_list(tx, "o1", NULL, &j, E_));
	assert_ids(j, "er-1,er-3,er-2,er-4");
	OK(cf_st_erasure_list(tx, "o1", "p2", &j, E_));
	assert_ids(j, "er-2,er-4");
	OK(cf_st_erasure_list(tx, "o1", "p1", &j, E_));
	assert_json(j, "[{\"decided_by\":null,\"decided_us\":0,\"decision_reason\":null,\"id\":\"er-1\","
		       "\"request_reason\":\"asked by letter\",\"requested_by\":\"alice\",\"requested_us\":100,"
		       "\"status\":\"pending\",\"subject\":\"p1\"},"
		       "{\"decided_by\":null,\"decided_us\":0,\"decision_reason\":null,\"id\":\"er-3\","
		       "\"request_reason\":\"please forget me\",\"requested_by\":\"alice\",\"requested_us\":150,"
		       "\"status\":\"pending\",\"subject\":\"p1\"}]");
	json_decref(j);
	OK(cf_st_erasure_list(tx, "o2", NULL, &j, E_));
	assert_ids(j, "er-1");
	OK(cf_st_erasure_list(tx, "o1", "p9", &j, E_));
	assert_json(j, "[]");
	json_decref(j);
	OK(cf_st_erasure_list(tx, "o9", NULL, &j, E_));
	assert_json(j, "[]");
	json_decref(j);
	j = (json_t *)0x1;
	assert_int_equal(cf_st_erasure_list(tx, "o1", "", &j, &err), CF_EINVAL);
	assert_null(j);
	assert_int_equal(cf_st_erasure_list(tx, NULL, NULL, &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_list(tx, "o1", NULL, NULL, &err), CF_EINTERNAL);
	/* A decision is a write. */
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-1", "approved", NULL, "dpo", 300, &err), CF_EINTERNAL);
	commit(tx);

	/* decide: pending -> approved, once. */
	tx = begin(f, true);
	OK(cf_st_erasure_decide(tx, "o1", "er-1", "approved", "lawful request", "dpo", 300, E_));
	assert_erasure(tx, "o1", "er-1", "p1", "approved", "asked by letter", "lawful request", "alice", "dpo", 100,
		       300);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-1", "refused", "changed my mind", "dpo2", 400, &err),
			 CF_EEXIST);
	assert_int_equal(err.problem, CF_P_CONFLICT);
	assert_non_null(strstr(err.detail, "already decided"));
	assert_null(strstr(err.detail, "er-1"));
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-1", "approved", "again", "dpo", 400, &err), CF_EEXIST);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-9", "approved", NULL, "dpo", 400, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_erasure_decide(tx, "o2", "er-2", "approved", NULL, "dpo", 400, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_erasure_decide(tx, "o9", "er-1", "approved", NULL, "dpo", 400, &err), CF_ENOTFOUND);
	/* The other organization's er-1 is another request, still pending. */
	assert_erasure(tx, "o2", "er-1", "p1", "pending", "ids are per organization", NULL, "carol", NULL, 50, 0);
	/* pending -> refused, without a reason (whether one is required is the vault's rule). */
	OK(cf_st_erasure_decide(tx, "o1", "er-2", "refused", NULL, "dpo", 500, E_));
	assert_erasure(tx, "o1", "er-2", "p2", "refused", NULL, NULL, "bob", "dpo", 200, 500);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-2", "approved", NULL, "dpo", 600, &err), CF_EEXIST);
	/* Refused arguments leave er-3 pending. */
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "pending", NULL, "dpo", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "maybe", NULL, "dpo", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "", NULL, "dpo", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", NULL, NULL, "dpo", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "approved-and-much-longer", NULL, "dpo", 600, &err),
			 CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "approved", "", "dpo", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "approved", long_reason, "dpo", 600, &err),
			 CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "approved", "\xc3", "dpo", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "approved", NULL, NULL, 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "er-3", "approved", NULL, "", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, "o1", "", "approved", NULL, "dpo", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_erasure_decide(tx, NULL, "er-3", "approved", NULL, "dpo", 600, &err), CF_EINVAL);
	assert_erasure(tx, "o1", "er-3", "p1", "pending", "please forget me", NULL, "alice", NULL, 150, 0);
	commit(tx);

	/* The list shows the decisions, nulls where a refusal gave no reason or a request none. */
	tx = begin(f, false);
	OK(cf_st_erasure_list(tx, "o1", NULL, &j, E_));
	assert_int_equal(json_array_size(j), 4);
	assert_json(json_array_get(j, 0),
		    "{\"decided_by\":\"dpo\",\"decided_us\":300,\"decision_reason\":\"lawful request\","
		    "\"id\":\"er-1\",\"request_reason\":\"asked by letter\",\"requested_by\":\"alice\","
		    "\"requested_us\":100,\"status\":\"approved\",\"subject\":\"p1\"}");
	assert_json(json_array_get(j, 2),
		    "{\"decided_by\":\"dpo\",\"decided_us\":500,\"decision_reason\":null,\"id\":\"er-2\","
		    "\"request_reason\":null,\"requested_by\":\"bob\",\"requested_us\":200,\"status\":\"refused\","
		    "\"subject\":\"p2\"}");
	json_decref(j);
	commit(tx);

	/* Behind the store's back: a decision is final, nothing is deleted or replaced, a request is not rewritten. */
	db = raw_open(f, "vault.db");
	assert_int_not_equal(raw_exec(db, "UPDATE erasure_requests SET status = 'refused' WHERE org = 'o1' AND id = 'er-1'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "a decided erasure request cannot be changed"));
	assert_int_not_equal(raw_exec(db, "UPDATE erasure_requests SET decision_reason = 'x', decided_us = 1"
					  " WHERE org = 'o1' AND id = 'er-2'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "a decided erasure request cannot be changed"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM erasure_requests WHERE org = 'o1' AND id = 'er-1'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "erasure requests cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM erasure_requests WHERE org = 'o1' AND id = 'er-3'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "erasure requests cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "INSERT OR REPLACE INTO erasure_requests (org, id, subject, status,"
					  " requested_by, requested_us) VALUES ('o1', 'er-1', 'p1', 'pending', 'x', 1)"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "erasure requests are written once"));
	assert_int_not_equal(raw_exec(db, "UPDATE erasure_requests SET id = 'er-7' WHERE org = 'o1' AND id = 'er-3'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "an erasure request cannot be rewritten"));
	assert_int_not_equal(raw_exec(db, "UPDATE OR REPLACE erasure_requests SET id = 'er-1'"
					  " WHERE org = 'o1' AND id = 'er-3'"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE erasure_requests SET request_reason = NULL"
					  " WHERE org = 'o1' AND id = 'er-3'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "an erasure request cannot be rewritten"));
	/* The row's own rules: a decided request names its decider, a pending one has no decision. */
	assert_int_not_equal(raw_exec(db, "UPDATE erasure_requests SET status = 'approved'"
					  " WHERE org = 'o1' AND id = 'er-3'"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE erasure_requests SET decided_us = 5 WHERE org = 'o1' AND id = 'er-3'"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO erasure_requests (org, id, subject, status, requested_by,"
					  " requested_us) VALUES ('o1', 'er-8', 'p1', 'done', 'x', 1)"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO erasure_requests (org, id, subject, status, requested_by,"
					  " decided_by, requested_us) VALUES ('o1', 'er-8', 'p1', 'pending', 'x', 'y', 1)"),
			     SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM erasure_requests"), 5);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM erasure_requests WHERE org = 'o1' AND id = 'er-1'"
				     " AND status = 'approved' AND decided_us = 300 AND subject = 'p1'"),
			 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM erasure_requests WHERE org = 'o1' AND id = 'er-3'"
				     " AND status = 'pending' AND decided_us = 0 AND decided_by IS NULL"),
			 1);
	sqlite3_close(db);
}


static void test_subject_erase(void **state)
{
	fx *f = *state;
	static const uint8_t nid[] = "NID-ct-forget-me-0123456789";
	static const char bi[] = "bi-forget-me-9876543210";
	cf_erasure_row e;
	cf_err err = {0};
	char p[CF_ID_MAX + 1];
	int64_t at = -1;
	sqlite3 *db;
	cf_tx *tx;

	make_org(f, "o1");
	make_org(f, "o2");
	tx = begin(f, true);
	OK(cf_st_subject_insert(tx, "o1", "p1", bi, nid, sizeof(nid), 10, E_));
	OK(cf_st_subject_insert(tx, "o1", "p2", "bi2", NULL, 0, 10, E_)); /* an empty ciphertext is not NULL */
	OK(cf_st_subject_insert(tx, "o2", "p1", bi, nid, sizeof(nid), 10, E_));
	commit(tx);
	/* The values are on disk before the erasure (the test can see them when they are there). */
	fx_close(f);
	assert_true(file_contains(f, "vault.db", nid, sizeof(nid)));
	assert_true(file_contains(f, "vault.db", (const uint8_t *)bi, strlen(bi)));
	fx_open(f, NULL);

	tx = begin(f, true);
	assert_int_equal(cf_st_subject_erased(tx, "o1", "p1", &at, &err), CF_ENOTFOUND);
	assert_int_equal(at, 0);
	OK(cf_st_subject_erase(tx, "o1", "p1", 500, E_));
	/* Not found by its blind index any more, but it still exists, with the time of its erasure. */
	memcpy(p, "junk", 5);
	assert_int_equal(cf_st_subject_find(tx, "o1", bi, p, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_string_equal(p, "");
	OK(cf_st_subject_exists(tx, "o1", "p1", E_));
	OK(cf_st_subject_erased(tx, "o1", "p1", &at, E_));
	assert_int_equal(at, 500);
	OK(cf_st_subject_erased(tx, "o1", "p1", NULL, E_));
	/* The other organization's subject with the same blind index is untouched. */
	OK(cf_st_subject_find(tx, "o2", bi, p, E_));
	assert_string_equal(p, "p1");
	assert_int_equal(cf_st_subject_erased(tx, "o2", "p1", &at, &err), CF_ENOTFOUND);
	assert_int_equal(at, 0);
	assert_int_equal(cf_st_subject_erased(tx, "o1", "p2", &at, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_subject_erased(tx, "o1", "p9", &at, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	/* Erasing again is fine and keeps the first time. */
	OK(cf_st_subject_erase(tx, "o1", "p1", 900, E_));
	OK(cf_st_subject_erased(tx, "o1", "p1", &at, E_));
	assert_int_equal(at, 500);
	/* Refused: a missing subject, bad arguments. */
	assert_int_equal(cf_st_subject_erase(tx, "o1", "p9", 900, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_subject_erase(tx, "o9", "p1", 900, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_subject_erase(tx, "o1", "", 900, &err), CF_EINVAL);
	assert_int_equal(cf_st_subject_erase(tx, NULL, "p1", 900, &err), CF_EINVAL);
	assert_int_equal(cf_st_subject_erased(tx, "o1", NULL, &at, &err), CF_EINVAL);
	assert_int_equal(cf_st_subject_erased(tx, "", "p1", &at, &err), CF_EINVAL);
	/* The same person can come back: the erased subject's NULL blind index takes no room. */
	OK(cf_st_subject_insert(tx, "o1", "p3", bi, nid, sizeof(nid), 1000, E_));
	OK(cf_st_subject_find(tx, "o1", bi, p, E_));
	assert_string_equal(p, "p3");
	assert_int_equal(cf_st_subject_insert(tx, "o1", "p4", bi, nid, sizeof(nid), 1000, &err), CF_EEXIST);
	/* A second erased subject: several NULL blind indexes live side by side. */
	OK(cf_st_subject_erase(tx, "o1", "p3", 1100, E_));
	OK(cf_st_subject_insert(tx, "o1", "p4", bi, nid, sizeof(nid), 1200, E_));
	/* The pseudonym stays a subject: requests (and records) still name it. */
	e = erasure_row("o1", "er-1", "p1", NULL, "alice", 1300);
	OK(cf_st_erasure_insert(tx, &e, E_));
	commit(tx);

	tx = begin(f, false);
	assert_int_equal(cf_st_subject_erase(tx, "o1", "p2", 900, &err), CF_EINTERNAL);
	OK(cf_st_subject_erased(tx, "o1", "p1", &at, E_)); /* a read */
	commit(tx);

	/* Behind the store's back: both values are NULL, and an erased subject stays erased. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM subjects WHERE org = 'o1' AND pseudonym = 'p1'"
				     " AND blind_index IS NULL AND enc_nid IS NULL AND erased_us = 500"),
			 1);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM subjects WHERE blind_index IS NULL"), 2);
	assert_int_not_equal(raw_exec(db, "UPDATE subjects SET blind_index = 'bi-x', enc_nid = x'00'"
					  " WHERE org = 'o1' AND pseudonym = 'p1'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "an erased subject cannot be changed"));
	assert_int_not_equal(raw_exec(db, "UPDATE subjects SET erased_us = NULL WHERE org = 'o1' AND pseudonym = 'p1'"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE subjects SET erased_us = 1 WHERE org = 'o1' AND pseudonym = 'p1'"),
			     SQLITE_OK);
	/* A live subject has both values, an erased one neither. */
	assert_int_not_equal(raw_exec(db, "UPDATE subjects SET erased_us = 7 WHERE org = 'o1' AND pseudonym = 'p2'"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "UPDATE subjects SET blind_index = NULL WHERE org = 'o1' AND pseudonym = 'p2'"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO subjects (org, pseudonym, blind_index, created_us)"
					  " VALUES ('o1', 'p8', 'bi8', 1)"),
			     SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM subjects WHERE org = 'o1' AND pseudonym = 'p2'"
				     " AND blind_index = 'bi2' AND enc_nid = x'' AND erased_us IS NULL"),
			 1);
	sqlite3_close(db);

	/*
	 * After the o2 subject is erased too, neither value is left in the
	 * files (secure_delete zeroes what the update freed) once the WAL is
	 * checkpointed at close; o1's p4 still holds them, so it goes first.
	 */
	tx = begin(f, true);
	OK(cf_st_subject_erase(tx, "o1", "p4", 1400, E_));
	OK(cf_st_subject_erase(tx, "o2", "p1", 1400, E_));
	commit(tx);
	fx_close(f);
	assert_false(file_contains(f, "vault.db", nid, sizeof(nid)));
	assert_false(file_contains(f, "vault.db", (const uint8_t *)bi, strlen(bi)));
	assert_false(file_contains(f, "vault.db-wal", nid, sizeof(nid)));
	fx_open(f, NULL);
}

static void test_legal_holds(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	json_t *j = NULL;
	char long_reason[1002], max_reason[1001], long_id[CF_ID_MAX + 2];
	sqlite3 *db;
	cf_tx *tx;

	fill(max_reason, sizeof(max_reason), 'h', 1000);
	fill(long_reason, sizeof(long_reason), 'h', 1001);
	fill(long_id, sizeof(long_id), 'r', CF_ID_MAX + 1);
	make_org(f, "o1");
	make_org(f, "o2");
	make_subject(f, "o1", "p1", "bi1");
	make_subject(f, "o1", "p2", "bi2");
	make_subject(f, "o2", "p1", "bi1");

	tx = begin(f, true);
	assert_int_equal(cf_st_hold_active(tx, "o1", "p1", NULL, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_hold_active(tx, "o1", "p1", "r1", &err), CF_ENOTFOUND);

	/* A subject-wide hold covers the subject and every record of it. */
	OK(cf_st_hold_put(tx, "o1", "h1", "p1", NULL, "court order 2024/17", "dpo", 100, E_));
	OK(cf_st_hold_active(tx, "o1", "p1", NULL, E_));
	OK(cf_st_hold_active(tx, "o1", "p1", "r1", E_));
	OK(cf_st_hold_active(tx, "o1", "p1", "any-record", E_));
	assert_int_equal(cf_st_hold_active(tx, "o1", "p2", NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_active(tx, "o2", "p1", NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_active(tx, "o2", "p1", "r1", &err), CF_ENOTFOUND);

	/* A record hold covers that record only, not the subject as a whole. */
	OK(cf_st_hold_put(tx, "o1", "h2", "p2", "r7", max_reason, "dpo", 200, E_));
	OK(cf_st_hold_active(tx, "o1", "p2", "r7", E_));
	assert_int_equal(cf_st_hold_active(tx, "o1", "p2", "r8", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_active(tx, "o1", "p2", NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_active(tx, "o1", "p1", "r7", &err), CF_OK); /* p1's own hold */
	OK(cf_st_hold_put(tx, "o2", "h1", "p1", "r1", "ids are per organization", "auditor", 300, E_));
	OK(cf_st_hold_active(tx, "o2", "p1", "r1", E_));
	assert_int_equal(cf_st_hold_active(tx, "o2", "p1", NULL, &err), CF_ENOTFOUND);

	/* Refused puts. */
	assert_int_equal(cf_st_hold_put(tx, "o1", "h1", "p2", NULL, "again", "dpo", 400, &err), CF_EEXIST);
	assert_int_equal(err.problem, CF_P_CONFLICT);
	assert_null(strstr(err.detail, "h1"));
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p9", NULL, "no subject", "dpo", 400, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_hold_put(tx, "o9", "h9", "p1", NULL, "no org", "dpo", 400, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", NULL, NULL, "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_MISSING_KEY);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", NULL, "", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", NULL, long_reason, "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", NULL, "bad \x80", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", NULL, "why", NULL, 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", NULL, "why", "", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", "", "why", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", long_id, "why", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", "p1", "r\xff", "why", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "o1", "", "p1", NULL, "why", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "o1", NULL, "p1", NULL, "why", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "o1", "h9", NULL, NULL, "why", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_put(tx, "", "h9", "p1", NULL, "why", "dpo", 400, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_active(tx, "o1", "p1", "", &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_active(tx, "o1", "p1", long_id, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_active(tx, "o1", NULL, NULL, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_active(tx, "", "p1", NULL, &err), CF_EINVAL);
	commit(tx);

	/* list: every hold of one subject, oldest first. */
	tx = begin(f, false);
	OK(cf_st_hold_list(tx, "o1", "p1", &j, E_));
	assert_json(j, "[{\"by\":\"dpo\",\"created_us\":100,\"id\":\"h1\",\"reason\":\"court order 2024/17\","
		       "\"record\":null,\"released_us\":null,\"subject\":\"p1\"}]");
	json_decref(j);
	OK(cf_st_hold_list(tx, "o1", "p2", &j, E_));
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "reason")), max_reason);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "record")), "r7");
	json_decref(j);
	OK(cf_st_hold_list(tx, "o1", "p9", &j, E_));
	assert_json(j, "[]");
	json_decref(j);
	j = (json_t *)0x1;
	assert_int_equal(cf_st_hold_list(tx, "o1", NULL, &j, &err), CF_EINVAL);
	assert_null(j);
	assert_int_equal(cf_st_hold_list(tx, "", "p1", &j, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_list(tx, "o1", "p1", NULL, &err), CF_EINTERNAL);
	/* Holds are put and released in write transactions; asking is a read. */
	OK(cf_st_hold_active(tx, "o1", "p1", NULL, E_));
	assert_int_equal(cf_st_hold_put(tx, "o1", "h8", "p1", NULL, "why", "dpo", 400, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_hold_release(tx, "o1", "h1", 400, &err), CF_EINTERNAL);
	commit(tx);

	/* release: once; the hold stays, with its release time, and covers nothing any more. */
	tx = begin(f, true);
	OK(cf_st_hold_put(tx, "o1", "h3", "p1", NULL, "a second hold", "dpo", 450, E_));
	OK(cf_st_hold_release(tx, "o1", "h1", 500, E_));
	OK(cf_st_hold_active(tx, "o1", "p1", "r1", E_)); /* h3 still holds */
	OK(cf_st_hold_release(tx, "o1", "h3", 550, E_));
	assert_int_equal(cf_st_hold_active(tx, "o1", "p1", NULL, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_active(tx, "o1", "p1", "r1", &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_release(tx, "o1", "h1", 600, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_int_equal(cf_st_hold_release(tx, "o1", "h9", 600, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_release(tx, "o2", "h2", 600, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_hold_release(tx, "o1", "", 600, &err), CF_EINVAL);
	assert_int_equal(cf_st_hold_release(tx, NULL, "h2", 600, &err), CF_EINVAL);
	OK(cf_st_hold_active(tx, "o1", "p2", "r7", E_)); /* another subject's hold is untouched */
	OK(cf_st_hold_list(tx, "o1", "p1", &j, E_));
	assert_json(j, "[{\"by\":\"dpo\",\"created_us\":100,\"id\":\"h1\",\"reason\":\"court order 2024/17\","
		       "\"record\":null,\"released_us\":500,\"subject\":\"p1\"},"
		       "{\"by\":\"dpo\",\"created_us\":450,\"id\":\"h3\",\"reason\":\"a second hold\","
		       "\"record\":null,\"released_us\":550,\"subject\":\"p1\"}]");
	json_decref(j);
	/* A released id is not free again. */
	assert_int_equal(cf_st_hold_put(tx, "o1", "h1", "p1", NULL, "reuse", "dpo", 700, &err), CF_EEXIST);
	commit(tx);

	/* Behind the store's back: a release is final, a hold is not rewritten, replaced or deleted. */
	db = raw_open(f, "vault.db");
	assert_int_not_equal(raw_exec(db, "UPDATE legal_holds SET released_us = NULL WHERE org = 'o1' AND id = 'h1'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "a released legal hold cannot be changed"));
	assert_int_not_equal(raw_exec(db, "UPDATE legal_holds SET record = 'r9' WHERE org = 'o1' AND id = 'h2'"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "a legal hold cannot be rewritten"));
	assert_int_not_equal(raw_exec(db, "UPDATE legal_holds SET id = 'h7' WHERE org = 'o1' AND id = 'h2'"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "DELETE FROM legal_holds WHERE org = 'o1' AND id = 'h2'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "legal holds cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "INSERT OR REPLACE INTO legal_holds (org, id, subject, reason, by, created_us)"
					  " VALUES ('o1', 'h1', 'p1', 'x', 'y', 1)"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "legal holds are written once"));
	/* The store's own release path: an active hold takes its release time. */
	assert_int_equal(raw_exec(db, "UPDATE legal_holds SET released_us = 800 WHERE org = 'o1' AND id = 'h2'"),
			 SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM legal_holds"), 4);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM legal_holds WHERE released_us IS NULL"), 1);
	sqlite3_close(db);
}

/* ---- rectification history -------------------------------------------- */

/* A record row of o1 with explicit times (record_row fixes created_us at 1000). */
static cf_record_row timed_row(const char *collection, const char *id, const char *subject, int64_t version,
			       int64_t created_us, int64_t updated_us)
{
	cf_record_row r = record_row(collection, id, subject, version);

	r.created_us = created_us;
	r.updated_us = updated_us;
	return r;
}

static void assert_field(const cf_field_ct *f, const char *name, const uint8_t *ct, size_t len)
{
	assert_string_equal(f->name, name);
	assert_int_equal(f->len, len);
	assert_non_null(f->ct);
	if (len > 0)
		assert_memory_equal(f->ct, ct, len);
}

static void test_record_history(void **state)
{
	fx *f = *state;
	static uint8_t ct_a1[] = {1}, ct_b1[] = {2, 0, 2}, ct_a2[] = {3, 3}, ct_c3[] = {4, 4, 4, 4};
	cf_field_ct v1[] = {{(char *)"b", ct_b1, sizeof(ct_b1)}, {(char *)"a", ct_a1, sizeof(ct_a1)}};
	cf_field_ct v2[] = {{(char *)"a", ct_a2, sizeof(ct_a2)}};
	cf_field_ct v3[] = {{(char *)"c", ct_c3, sizeof(ct_c3)}, {(char *)"a", ct_a2, sizeof(ct_a2)}};
	char long_id[CF_ID_MAX + 2];
	cf_record_version *h = NULL;
	cf_err err = {0};
	cf_record_row r;
	size_t n = 0;
	sqlite3 *db;
	cf_tx *tx;

	fill(long_id, sizeof(long_id), 'r', CF_ID_MAX + 1);
	record_fixture(f);
	tx = begin(f, true);
	r = timed_row("people", "r1", "p1", 1, 1000, 1000);
	OK(cf_st_record_insert(tx, &r, v1, 2, E_));
	r = timed_row("people", "r1", "p1", 2, 1000, 2000);
	OK(cf_st_record_update(tx, &r, v2, 1, E_));
	r = timed_row("people", "r1", "p1", 3, 1000, 3500);
	OK(cf_st_record_update(tx, &r, v3, 2, E_));
	/* Another record with the same id in another collection, and a record without fields. */
	r = timed_row("benefits", "r1", "p1", 1, 7000, 7000);
	OK(cf_st_record_insert(tx, &r, v2, 1, E_));
	r = timed_row("people", "r2", "p2", 1, 8000, 8000);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = timed_row("people", "r2", "p2", 2, 8000, 8100);
	OK(cf_st_record_update(tx, &r, NULL, 0, E_));
	/* A refused update (stale version) writes no version time. */
	assert_int_equal(cf_st_record_update(tx, &r, NULL, 0, &err), CF_EEXIST);
	commit(tx);

	/* Read transaction: every version, ascending, with its time and its ciphertexts ordered by name. */
	tx = begin(f, false);
	OK(cf_st_record_history(tx, "o1", "people", "r1", &h, &n, E_));
	assert_int_equal(n, 3);
	assert_int_equal(h[0].version, 1);
	assert_int_equal(h[0].written_us, 1000);
	assert_int_equal(h[0].n, 2);
	assert_field(&h[0].fields[0], "a", ct_a1, sizeof(ct_a1));
	assert_field(&h[0].fields[1], "b", ct_b1, sizeof(ct_b1));
	assert_int_equal(h[1].version, 2);
	assert_int_equal(h[1].written_us, 2000);
	assert_int_equal(h[1].n, 1);
	assert_field(&h[1].fields[0], "a", ct_a2, sizeof(ct_a2));
	assert_int_equal(h[2].version, 3);
	assert_int_equal(h[2].written_us, 3500);
	assert_int_equal(h[2].n, 2);
	assert_field(&h[2].fields[0], "a", ct_a2, sizeof(ct_a2));
	assert_field(&h[2].fields[1], "c", ct_c3, sizeof(ct_c3));
	cf_record_versions_free(h, n);
	h = NULL;

	OK(cf_st_record_history(tx, "o1", "benefits", "r1", &h, &n, E_));
	assert_int_equal(n, 1);
	assert_int_equal(h[0].version, 1);
	assert_int_equal(h[0].written_us, 7000);
	assert_int_equal(h[0].n, 1);
	assert_field(&h[0].fields[0], "a", ct_a2, sizeof(ct_a2));
	cf_record_versions_free(h, n);
	h = NULL;

	/* Versions without any field are versions all the same. */
	OK(cf_st_record_history(tx, "o1", "people", "r2", &h, &n, E_));
	assert_int_equal(n, 2);
	assert_int_equal(h[0].version, 1);
	assert_int_equal(h[0].written_us, 8000);
	assert_int_equal(h[0].n, 0);
	assert_null(h[0].fields);
	assert_int_equal(h[1].version, 2);
	assert_int_equal(h[1].written_us, 8100);
	assert_int_equal(h[1].n, 0);
	cf_record_versions_free(h, n);
	h = NULL;

	/* Refused: missing record, bad keys, no output; the outputs are cleared. */
	h = (cf_record_version *)0x1;
	n = 7;
	assert_int_equal(cf_st_record_history(tx, "o1", "people", "r9", &h, &n, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_null(h);
	assert_int_equal(n, 0);
	assert_int_equal(cf_st_record_history(tx, "o2", "people", "r1", &h, &n, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_record_history(tx, "o1", "nope", "r1", &h, &n, &err), CF_ENOTFOUND);
	assert_int_equal(cf_st_record_history(tx, "o1", "people", "", &h, &n, &err), CF_EINVAL);
	assert_int_equal(cf_st_record_history(tx, "o1", "people", NULL, &h, &n, &err), CF_EINVAL);
	assert_int_equal(cf_st_record_history(tx, "o1", "people", long_id, &h, &n, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_record_history(tx, "", "people", "r1", &h, &n, &err), CF_EINVAL);
	assert_int_equal(cf_st_record_history(tx, "o1", "", "r1", &h, &n, &err), CF_EINVAL);
	assert_int_equal(cf_st_record_history(tx, "o1", "people", "r1", NULL, &n, &err), CF_EINTERNAL);
	assert_int_equal(cf_st_record_history(tx, "o1", "people", "r1", &h, NULL, &err), CF_EINTERNAL);
	commit(tx);

	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_versions WHERE org = 'o1' AND collection = 'people'"
				     " AND record_id = 'r1'"),
			 3);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_versions"), 6);
	/* A version is its row: without it (impossible through the store) the version is not listed. */
	assert_int_equal(raw_exec(db, "DELETE FROM record_versions WHERE collection = 'people' AND record_id = 'r1'"
				      " AND version = 2"),
			 SQLITE_OK);
	/* A time row must belong to a record. */
	assert_int_not_equal(raw_exec(db, "PRAGMA foreign_keys = ON; INSERT INTO record_versions"
					  " (org, collection, record_id, version, written_us)"
					  " VALUES ('o1', 'people', 'r9', 1, 1)"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO record_versions (org, collection, record_id, version, written_us)"
					  " VALUES ('o1', 'people', 'r1', 0, 1)"),
			     SQLITE_OK);
	sqlite3_close(db);
	tx = begin(f, false);
	OK(cf_st_record_history(tx, "o1", "people", "r1", &h, &n, E_));
	assert_int_equal(n, 2);
	assert_int_equal(h[0].version, 1);
	assert_int_equal(h[1].version, 3);
	assert_int_equal(h[1].written_us, 3500);
	assert_int_equal(h[1].n, 2);
	cf_record_versions_free(h, n);
	h = NULL;
	commit(tx);

	/* Delete takes the versions' times with the record: no history any more. */
	tx = begin(f, true);
	OK(cf_st_record_delete(tx, "o1", "people", "r1", E_));
	assert_int_equal(cf_st_record_history(tx, "o1", "people", "r1", &h, &n, &err), CF_ENOTFOUND);
	assert_null(h);
	assert_int_equal(n, 0);
	OK(cf_st_record_delete(tx, "o1", "people", "r2", E_));
	commit(tx);
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_versions WHERE collection = 'people'"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_versions WHERE collection = 'benefits'"), 1);
	sqlite3_close(db);

	/* The same id again starts a new history. */
	tx = begin(f, true);
	r = timed_row("people", "r1", "p1", 1, 9000, 9000);
	OK(cf_st_record_insert(tx, &r, v2, 1, E_));
	OK(cf_st_record_history(tx, "o1", "people", "r1", &h, &n, E_));
	assert_int_equal(n, 1);
	assert_int_equal(h[0].version, 1);
	assert_int_equal(h[0].written_us, 9000);
	cf_record_versions_free(h, n);
	commit(tx);
	cf_record_versions_free(NULL, 5);
}


/* The record fixture and one record, people/r1 at version 1 with the given fields. */
static void fixture_with_r1(fx *f, const cf_field_ct *fields, size_t n)
{
	cf_record_row r = record_row("people", "r1", "p1", 1);
	cf_tx *tx;

	record_fixture(f);
	tx = begin(f, true);
	OK(cf_st_record_insert(tx, &r, fields, n, E_));
	commit(tx);
}

/* Version 3 keyed the tree's nodes (level, idx); at open they move to completion order, every hash kept. */
static void test_schema_3_migrates_to_5(void **state)
{
	fx *f = *state;
	static uint8_t before[7][64][CF_HASH_LEN];
	uint8_t h[CF_HASH_LEN];
	cf_err err = {0};
	sqlite3 *db;
	cf_tx *tx;

	tx = begin(f, true);
	for (int i = 0; i < 100; i++)
		(void)append(tx, "{\"n\":1}", "o1", "o1", "p1");
	for (int l = 1; l <= 6; l++)
		for (int64_t i = 0; i < (100 >> l); i++)
			OK(cf_st_audit_node_get(tx, l, i, before[l][i], E_));
	commit(tx);
	db = closed_as(f, reshape_to_v3);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit_nodes"), 97);
	sqlite3_close(db);

	db = migrated(f);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit_nodes"), 97);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM audit_nodes"
				     " WHERE pos = ((((idx + 1) << level) - 1) << 6) + level"),
			 97);
	/* in completion order: the entry that completes a node never decreases along the table */
	assert_int_equal(raw_int(db, "SELECT count(*) FROM (SELECT pos >> 6 AS p, lag(pos >> 6) OVER (ORDER BY pos)"
				     " AS q FROM audit_nodes) WHERE p < q"),
			 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"
				     " AND tbl_name = 'audit_nodes'"),
			 3);
	sqlite3_close(db);
	tx = begin(f, true);
	for (int l = 1; l <= 6; l++)
		for (int64_t i = 0; i < (100 >> l); i++) {
			OK(cf_st_audit_node_get(tx, l, i, h, E_));
			assert_memory_equal(h, before[l][i], CF_HASH_LEN);
		}
	assert_int_equal(cf_st_audit_node_get(tx, 1, 50, h, &err), CF_ENOTFOUND);
	/* the tree goes on from the migrated edge: entries 100 and 101 complete node (1, 50) */
	(void)append(tx, "{\"n\":2}", "o1", "o1", "p1");
	(void)append(tx, "{\"n\":3}", "o1", "o1", "p1");
	OK(cf_st_audit_node_get(tx, 1, 50, h, E_));
	commit(tx);
}

/* Version 2 stored a row per field; at open, each version's rows become one blob, nothing lost. */
static void test_schema_2_migrates_to_5(void **state)
{
	fx *f = *state;
	static const uint8_t ct_a1[] = {3}, ct_b1[] = {1, 2}, ct_z1[] = {0xaa}, ct_q2[] = {0xbb, 0};
	cf_record_version *h = NULL;
	cf_field_ct *fields = NULL;
	cf_record_row r;
	size_t n = 0;
	sqlite3 *db;
	cf_tx *tx;

	record_fixture(f);
	tx = begin(f, true);
	r = timed_row("people", "r1", "p1", 1, 1000, 1000);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = timed_row("people", "r1", "p1", 2, 1000, 2000);
	OK(cf_st_record_update(tx, &r, NULL, 0, E_));
	r = timed_row("people", "r2", "p2", 1, 3000, 3000);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	commit(tx);
	db = closed_as(f, reshape_to_v2);
	/* r2's version 2 has ciphertexts but no time row (version 2 could not make that through the store) */
	assert_int_equal(raw_exec(db, "INSERT INTO record_fields VALUES ('o1', 'people', 'r1', 1, 'b', x'0102'),"
				      " ('o1', 'people', 'r1', 1, 'a', x'03'), ('o1', 'people', 'r1', 2, 'a', x''),"
				      " ('o1', 'people', 'r2', 1, 'z', x'aa'), ('o1', 'people', 'r2', 2, 'q', x'bb00')"),
			 SQLITE_OK);
	sqlite3_close(db);

	db = migrated(f);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'record_fields'"), 0);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM record_cts"), 4);
	sqlite3_close(db);

	tx = begin(f, false);
	OK(cf_st_record_get(tx, "o1", "people", "r1", &r, &fields, &n, E_));
	assert_int_equal(r.version, 2);
	assert_int_equal(n, 1);
	assert_field(&fields[0], "a", NULL, 0);
	cf_field_cts_free(fields, n);
	OK(cf_st_record_history(tx, "o1", "people", "r1", &h, &n, E_));
	assert_int_equal(n, 2);
	assert_int_equal(h[0].written_us, 1000);
	assert_int_equal(h[0].n, 2);
	assert_field(&h[0].fields[0], "a", ct_a1, sizeof(ct_a1));
	assert_field(&h[0].fields[1], "b", ct_b1, sizeof(ct_b1));
	assert_int_equal(h[1].written_us, 2000);
	assert_int_equal(h[1].n, 1);
	cf_record_versions_free(h, n);
	OK(cf_st_record_history(tx, "o1", "people", "r2", &h, &n, E_));
	assert_int_equal(n, 2);
	assert_int_equal(h[0].n, 1);
	assert_field(&h[0].fields[0], "z", ct_z1, sizeof(ct_z1));
	assert_int_equal(h[1].version, 2);
	assert_int_equal(h[1].written_us, 0);
	assert_int_equal(h[1].n, 1);
	assert_field(&h[1].fields[0], "q", ct_q2, sizeof(ct_q2));
	cf_record_versions_free(h, n);
	commit(tx);
}

/* A damaged row stops the migration whole: the vault stays at version 2, untouched, and does not open. */
static void test_schema_3_migration_refuses_damage(void **state)
{
	fx *f = *state;
	static const char *const bad[] = {
		"INSERT INTO record_fields VALUES ('o1', 'people', 'r1', 1, '', x'01')", /* an empty field name */
		"INSERT INTO record_fields VALUES ('o1', 'people', 'r1', 1, 'a', 'text')", /* not a blob */
	};
	cf_store *s = NULL;
	cf_record_row r;
	cf_err err = {0};
	sqlite3 *db;
	cf_tx *tx;

	fixture_with_r1(f, NULL, 0);
	db = closed_as(f, reshape_to_v2);
	sqlite3_close(db);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		db = raw_open(f, "vault.db");
		assert_int_equal(raw_exec(db, "DELETE FROM record_fields; INSERT INTO record_fields VALUES"
					      " ('o1', 'people', 'r1', 1, 'b', x'02')"),
				 SQLITE_OK);
		/* STRICT refuses text in a BLOB column: the second case is written by a laxer table */
		if (i == 1)
			assert_int_equal(raw_exec(db, "ALTER TABLE record_fields RENAME TO rf_strict;"
						      " CREATE TABLE record_fields (org, collection, record_id, version,"
						      " field, ct); INSERT INTO record_fields SELECT * FROM rf_strict;"
						      " DROP TABLE rf_strict"),
					 SQLITE_OK);
		assert_int_equal(raw_exec(db, bad[i]), SQLITE_OK);
		sqlite3_close(db);
		assert_int_not_equal(cf_store_open(f->dir, &f->env, NULL, &s, &err), CF_OK);
		assert_null(s);
		db = raw_open(f, "vault.db");
		assert_int_equal(raw_int(db, "PRAGMA user_version"), 2);
		assert_int_equal(raw_int(db, "SELECT count(*) FROM record_fields"), 2);
		assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'record_cts'"), 0);
		sqlite3_close(db);
	}
	/* the damaged row removed, the same vault migrates */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "DELETE FROM record_fields WHERE field <> 'b'"), SQLITE_OK);
	sqlite3_close(db);
	fx_open(f, NULL);
	tx = begin(f, false);
	{
		cf_field_ct *fields = NULL;
		size_t n = 0;
		OK(cf_st_record_get(tx, "o1", "people", "r1", &r, &fields, &n, E_));
		assert_int_equal(n, 1);
		assert_string_equal(fields[0].name, "b");
		cf_field_cts_free(fields, n);
	}
	commit(tx);
}

/* A blob that is not what the store packs reads as an integrity error, never as fields. */
static void test_stored_ciphertexts_malformed(void **state)
{
	fx *f = *state;
	static const struct {
		const char *blob;
		const char *why;
	} bad[] = {
		{"x'00'", "a name of length 0"},
		{"x'4178'", "a name longer than CF_ID_MAX"},
		{"x'0161'", "a name without its ciphertext length"},
		{"x'016100000002aa'", "a ciphertext shorter than its length"},
		{"x'01610000000000'", "a byte after the last field"},
		{"x'0162000000000161'", "b before a: names out of order"},
		{"x'016100000000016100000000'", "a name twice"},
		{"x'02610000000000'", "a name with a NUL"},
		{"x'0161ffffffff'", "a ciphertext length past the cap"},
		{"'text'", "not a blob"},
	};
	static const cf_field_ct one[] = {{(char *)"a", (uint8_t *)"\x01", 1}};
	cf_field_ct *fields = (cf_field_ct *)0x1;
	cf_record_version *h = NULL;
	cf_record_row r;
	cf_err err = {0};
	size_t n = 7;
	char sql[256];
	sqlite3 *db;
	cf_tx *tx;

	fixture_with_r1(f, one, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		db = raw_open(f, "vault.db");
		(void)snprintf(sql, sizeof(sql), "PRAGMA ignore_check_constraints = ON; UPDATE record_cts SET cts = %s",
			       bad[i].blob);
		/* STRICT keeps text out of the column: that case is checked on the read path's type test alone */
		if (raw_exec(db, sql) != SQLITE_OK) {
			assert_string_equal(bad[i].blob, "'text'");
			sqlite3_close(db);
			continue;
		}
		sqlite3_close(db);
		tx = begin(f, false);
		fields = (cf_field_ct *)0x1;
		n = 7;
		print_message("case: %s\n", bad[i].why);
		assert_int_equal(cf_st_record_get(tx, "o1", "people", "r1", &r, &fields, &n, &err), CF_EINTEGRITY);
		assert_int_equal(err.problem, CF_P_INTEGRITY);
		assert_null(fields);
		assert_int_equal(n, 0);
		assert_int_equal(cf_st_record_history(tx, "o1", "people", "r1", &h, &n, &err), CF_EINTEGRITY);
		assert_null(h);
		commit(tx);
	}
	/* and the well-formed blob of the same field reads again */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_exec(db, "UPDATE record_cts SET cts = x'01610000000101'"), SQLITE_OK);
	sqlite3_close(db);
	tx = begin(f, false);
	OK(cf_st_record_get(tx, "o1", "people", "r1", &r, &fields, &n, E_));
	assert_int_equal(n, 1);
	assert_field(&fields[0], "a", (const uint8_t *)"\x01", 1);
	cf_field_cts_free(fields, n);
	commit(tx);
}
static void test_record_history_keeps_last_1000(void **state)
{
	fx *f = *state;
	static uint8_t ct[] = {5};
	cf_field_ct one[] = {{(char *)"a", ct, sizeof(ct)}};
	cf_record_version *h = NULL;
	cf_record_row r;
	size_t n = 0, i;
	int64_t v;
	cf_tx *tx;

	record_fixture(f);
	tx = begin(f, true);
	r = timed_row("people", "r1", "p1", 1, 10, 10);
	OK(cf_st_record_insert(tx, &r, one, 1, E_));
	for (v = 2; v <= 1003; v++) {
		r = timed_row("people", "r1", "p1", v, 10, 10 * v);
		OK(cf_st_record_update(tx, &r, one, 1, E_));
	}
	OK(cf_st_record_history(tx, "o1", "people", "r1", &h, &n, E_));
	assert_int_equal(n, CF_RECORD_HISTORY_MAX);
	assert_int_equal(CF_RECORD_HISTORY_MAX, 1000);
	/* The newest 1000 of 1003, still ascending: versions 4..1003. */
	for (i = 0; i < n; i++) {
		assert_int_equal(h[i].version, (int64_t)i + 4);
		assert_int_equal(h[i].written_us, 10 * ((int64_t)i + 4));
		assert_int_equal(h[i].n, 1);
	}
	cf_record_versions_free(h, n);
	commit(tx);
}

/* ---- retention: scans, counts, all collections, disposals ------------- */

/* The ids of a scan answer, space-separated. */
static void assert_scan_ids(json_t *list, const char *expected)
{
	char buf[512] = "";
	size_t i, used = 0;
	json_t *e;

	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e, "id"));

		assert_non_null(id);
		assert_true(used + strlen(id) + 2 < sizeof(buf));
		if (used > 0)
			buf[used++] = ' ';
		memcpy(buf + used, id, strlen(id) + 1);
		used += strlen(id);
	}
	assert_string_equal(buf, expected);
}

static void scan_ids(cf_tx *tx, const char *collection, const char *column, int64_t before_us, const char *after_id,
		     size_t limit, const char *expected)
{
	json_t *list = NULL;

	OK(cf_st_record_scan(tx, "o1", collection, column, before_us, after_id, limit, &list, E_));
	assert_scan_ids(list, expected);
	json_decref(list);
}

static void refuse_scan(cf_tx *tx, const char *org, const char *collection, const char *column, const char *after_id,
			size_t limit, cf_rc want, cf_problem problem)
{
	json_t *list = (json_t *)0x1;
	cf_err err = {0};

	assert_int_equal(cf_st_record_scan(tx, org, collection, column, 100, after_id, limit, &list, &err), want);
	assert_int_equal(err.problem, problem);
	assert_null(list);
	/* The detail names the rule, never the caller's text. */
	if (column != NULL && column[0] != '\0')
		assert_null(strstr(err.detail, column));
}

static void test_record_scan(void **state)
{
	fx *f = *state;
	char long_id[CF_ID_MAX + 2], max_id[CF_ID_MAX + 1];
	json_t *list = NULL;
	cf_record_row r;
	cf_err err = {0};
	cf_tx *tx;

	fill(long_id, sizeof(long_id), 'r', CF_ID_MAX + 1);
	fill(max_id, sizeof(max_id), 'z', CF_ID_MAX);
	record_fixture(f);
	tx = begin(f, true);
	r = timed_row("people", "r3", "p2", 1, 300, 900);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = timed_row("people", "r1", "p1", 1, 100, 100);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = timed_row("people", "r1", "p1", 2, 100, 500);
	OK(cf_st_record_update(tx, &r, NULL, 0, E_));
	r = timed_row("people", "r4", "p1", 1, 299, 299);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = timed_row("people", "r2", "p2", 1, 200, 200);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = timed_row("benefits", "r5", "p1", 1, 50, 50);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	commit(tx);

	tx = begin(f, false);
	/* Without a column: every record of the collection, in id order, with its metadata. */
	OK(cf_st_record_scan(tx, "o1", "people", NULL, 0, "", 10, &list, E_));
	assert_json(list, "[{\"created_us\":100,\"id\":\"r1\",\"subject\":\"p1\",\"updated_us\":500,\"version\":2},"
			  "{\"created_us\":200,\"id\":\"r2\",\"subject\":\"p2\",\"updated_us\":200,\"version\":1},"
			  "{\"created_us\":300,\"id\":\"r3\",\"subject\":\"p2\",\"updated_us\":900,\"version\":1},"
			  "{\"created_us\":299,\"id\":\"r4\",\"subject\":\"p1\",\"updated_us\":299,\"version\":1}]");
	json_decref(list);
	scan_ids(tx, "people", NULL, INT64_MIN, "", 10000, "r1 r2 r3 r4"); /* before_us ignored */
	scan_ids(tx, "benefits", NULL, 0, "", 10, "r5");
	scan_ids(tx, "nope", NULL, 0, "", 10, "");
	OK(cf_st_record_scan(tx, "o2", "people", NULL, 0, "", 10, &list, E_));
	assert_json(list, "[]");
	json_decref(list);

	/* created: strictly before the cut-off (exactly at it is kept, one microsecond earlier goes). */
	scan_ids(tx, "people", "created", 300, "", 10, "r1 r2 r4");
	scan_ids(tx, "people", "created", 301, "", 10, "r1 r2 r3 r4");
	scan_ids(tx, "people", "created", 299, "", 10, "r1 r2");
	scan_ids(tx, "people", "created", 100, "", 10, "");
	scan_ids(tx, "people", "created", 101, "", 10, "r1");
	/* updated: the last update counts, not the creation. */
	scan_ids(tx, "people", "updated", 500, "", 10, "r2 r4");
	scan_ids(tx, "people", "updated", 501, "", 10, "r1 r2 r4");
	scan_ids(tx, "people", "updated", 901, "", 10, "r1 r2 r3 r4");
	scan_ids(tx, "people", "updated", INT64_MAX, "", 10, "r1 r2 r3 r4");
	scan_ids(tx, "people", "updated", INT64_MIN, "", 10, "");
	scan_ids(tx, "benefits", "updated", 51, "", 10, "r5");

	/* Paging: after the last id of the previous page, at most limit. */
	scan_ids(tx, "people", NULL, 0, "", 2, "r1 r2");
	scan_ids(tx, "people", NULL, 0, "r2", 2, "r3 r4");
	scan_ids(tx, "people", NULL, 0, "r4", 2, "");
	scan_ids(tx, "people", NULL, 0, "r0", 1, "r1");
	scan_ids(tx, "people", NULL, 0, "r2a", 10, "r3 r4"); /* any text works as a position */
	scan_ids(tx, "people", NULL, 0, max_id, 10, "");
	scan_ids(tx, "people", "created", 1000, "r1", 1, "r2");
	scan_ids(tx, "people", "created", 300, "r2", 5, "r4");
	scan_ids(tx, "people", "updated", 501, "r1", 1, "r2");
	scan_ids(tx, "people", "updated", 501, "r2", 1, "r4");
	scan_ids(tx, "people", "updated", 501, "r4", 1, "");

	/* Refused: a column other than created/updated (never put into SQL), limits, ids, no output. */
	refuse_scan(tx, "o1", "people", "Created", "", 10, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", "created_us", "", 10, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", "id", "", 10, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", "created < 1 OR 1", "", 10, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", "created_us < 1 OR 1 = 1", "", 10, CF_EINVAL, CF_P_TOO_LONG);
	refuse_scan(tx, "o1", "people", "created;", "", 10, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", "", "", 10, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", NULL, "", 0, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", "created", "", 10001, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", NULL, "", SIZE_MAX, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", "people", NULL, NULL, 10, CF_EINVAL, CF_P_MISSING_KEY);
	refuse_scan(tx, "o1", "people", NULL, long_id, 10, CF_EINVAL, CF_P_TOO_LONG);
	refuse_scan(tx, "", "people", NULL, "", 10, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, NULL, "people", NULL, "", 10, CF_EINVAL, CF_P_MISSING_KEY);
	refuse_scan(tx, "o1", "", NULL, "", 10, CF_EINVAL, CF_P_INVALID_VALUE);
	refuse_scan(tx, "o1", long_id, NULL, "", 10, CF_EINVAL, CF_P_TOO_LONG);
	assert_int_equal(cf_st_record_scan(tx, "o1", "people", NULL, 0, "", 10, NULL, &err), CF_EINTERNAL);
	commit(tx);
}

static void test_subject_record_count(void **state)
{
	fx *f = *state;
	char long_id[CF_ID_MAX + 2];
	cf_record_row r;
	cf_err err = {0};
	int64_t count = -1;
	cf_tx *tx;

	fill(long_id, sizeof(long_id), 'p', CF_ID_MAX + 1);
	record_fixture(f);
	make_org(f, "o2");
	make_subject(f, "o2", "p1", "bi1");
	tx = begin(f, true);
	OK(cf_st_subject_record_count(tx, "o1", "p1", &count, E_));
	assert_int_equal(count, 0);
	r = record_row("people", "r1", "p1", 1);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = record_row("people", "r2", "p1", 1);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = record_row("benefits", "r1", "p1", 1);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = record_row("people", "r3", "p2", 1);
	OK(cf_st_record_insert(tx, &r, NULL, 0, E_));
	r = record_row("people", "r1", "p1", 2); /* versions are not records */
	OK(cf_st_record_update(tx, &r, NULL, 0, E_));
	commit(tx);

	tx = begin(f, false);
	OK(cf_st_subject_record_count(tx, "o1", "p1", &count, E_));
	assert_int_equal(count, 3);
	OK(cf_st_subject_record_count(tx, "o1", "p2", &count, E_));
	assert_int_equal(count, 1);
	OK(cf_st_subject_record_count(tx, "o1", "p9", &count, E_)); /* no such subject: nothing left */
	assert_int_equal(count, 0);
	OK(cf_st_subject_record_count(tx, "o2", "p1", &count, E_)); /* pseudonyms are per organization */
	assert_int_equal(count, 0);
	count = 42;
	assert_int_equal(cf_st_subject_record_count(tx, "o1", "", &count, &err), CF_EINVAL);
	assert_int_equal(count, 0);
	assert_int_equal(cf_st_subject_record_count(tx, "o1", NULL, &count, &err), CF_EINVAL);
	assert_int_equal(cf_st_subject_record_count(tx, "o1", long_id, &count, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_int_equal(cf_st_subject_record_count(tx, "", "p1", &count, &err), CF_EINVAL);
	assert_int_equal(cf_st_subject_record_count(tx, "o1", "p1", NULL, &err), CF_EINTERNAL);
	commit(tx);

	tx = begin(f, true);
	OK(cf_st_record_delete(tx, "o1", "people", "r1", E_));
	OK(cf_st_subject_record_count(tx, "o1", "p1", &count, E_));
	assert_int_equal(count, 2);
	OK(cf_st_record_delete(tx, "o1", "people", "r2", E_));
	OK(cf_st_record_delete(tx, "o1", "benefits", "r1", E_));
	OK(cf_st_subject_record_count(tx, "o1", "p1", &count, E_));
	assert_int_equal(count, 0);
	commit(tx);
}

static void test_collection_list_all(void **state)
{
	fx *f = *state;
	json_t *list = NULL;
	cf_err err = {0};
	int64_t v;
	cf_tx *tx;

	tx = begin(f, false);
	OK(cf_st_collection_list_all(tx, &list, E_));
	assert_json(list, "[]");
	json_decref(list);
	commit(tx);

	make_org(f, "o2");
	make_org(f, "o1");
	make_org(f, "o3"); /* an organization without collections lists nothing */
	tx = begin(f, true);
	OK(cf_st_collection_put(tx, "o2", "zeta", "{\"z\":1}", 10, &v, E_));
	OK(cf_st_collection_put(tx, "o1", "people", "{\"v\":1}", 10, &v, E_));
	OK(cf_st_collection_put(tx, "o2", "alpha", "{\"a\":[1,2]}", 10, &v, E_));
	OK(cf_st_collection_put(tx, "o1", "benefits", "{\"retention\":\"P10Y\"}", 10, &v, E_));
	OK(cf_st_collection_put(tx, "o1", "people", "{\"v\":2}", 20, &v, E_)); /* the current definition */
	commit(tx);

	tx = begin(f, false);
	OK(cf_st_collection_list_all(tx, &list, E_));
	/* def is the stored text, a string, not a parsed object. */
	assert_json(list, "[{\"def\":\"{\\\"retention\\\":\\\"P10Y\\\"}\",\"name\":\"benefits\",\"org\":\"o1\"},"
			  "{\"def\":\"{\\\"v\\\":2}\",\"name\":\"people\",\"org\":\"o1\"},"
			  "{\"def\":\"{\\\"a\\\":[1,2]}\",\"name\":\"alpha\",\"org\":\"o2\"},"
			  "{\"def\":\"{\\\"z\\\":1}\",\"name\":\"zeta\",\"org\":\"o2\"}]");
	json_decref(list);
	assert_int_equal(cf_st_collection_list_all(tx, NULL, &err), CF_EINTERNAL);
	commit(tx);
}

/* A disposal record of one item per record id in ids (space-separated is not needed: one or two). */
static cf_disposal_row disposal_row(const char *org, const char *id, const char *collection, int64_t at,
				    int64_t count, const char *records, int64_t audit_index)
{
	cf_disposal_row d;

	memset(&d, 0, sizeof(d));
	assert_true(strlen(org) < sizeof(d.org) && strlen(id) < sizeof(d.id) &&
		    strlen(collection) < sizeof(d.collection));
	memcpy(d.org, org, strlen(org) + 1);
	memcpy(d.id, id, strlen(id) + 1);
	memcpy(d.collection, collection, strlen(collection) + 1);
	d.retention = "P10Y";
	d.retention_start = "closed_on";
	d.disposed_us = at;
	d.count = count;
	d.records_json = records;
	d.audit_index = audit_index;
	return d;
}

static void refuse_disposal(cf_tx *tx, const cf_disposal_row *d, cf_rc want, cf_problem problem)
{
	cf_err err = {0};

	assert_int_equal(cf_st_disposal_insert(tx, d, &err), want);
	assert_int_equal(err.problem, problem);
	/* Never a value in the detail: not the id, not what the records hold. */
	if (d != NULL && d->id[0] != '\0' && memchr(d->id, '\0', sizeof(d->id)) != NULL)
		assert_null(strstr(err.detail, d->id));
	assert_null(strstr(err.detail, "r_1"));
	assert_null(strstr(err.detail, "s_1"));
	assert_null(strstr(err.detail, "Jane"));
}

#define REC1 "[{\"id\":\"r_1\",\"subject\":\"s_1\",\"expired_us\":5}]"

static void test_disposals(void **state)
{
	fx *f = *state;
	char long_id[CF_ID_MAX + 2], max_id[CF_ID_MAX + 1], records[512];
	cf_disposal_row d;
	json_t *list = NULL;
	cf_err err = {0};
	sqlite3 *db;
	cf_tx *tx;

	fill(long_id, sizeof(long_id), 'x', CF_ID_MAX + 1);
	fill(max_id, sizeof(max_id), 'y', CF_ID_MAX);
	make_org(f, "o1");
	make_org(f, "o2");

	tx = begin(f, true);
	OK(cf_st_disposal_list(tx, "o1", 10, &list, E_));
	assert_json(list, "[]");
	json_decref(list);
	/* Stored compact with sorted keys, whatever the spacing and order given. */
	d = disposal_row("o1", "d_1", "aid_files", 100,
			 2, "[ {\"subject\": \"s_1\", \"id\": \"r_1\", \"expired_us\": 50},"
			    " {\"subject_forgotten\": true, \"expired_us\": 60, \"id\": \"r_2\", \"subject\": \"s_2\"} ]",
			 7);
	OK(cf_st_disposal_insert(tx, &d, E_));
	d = disposal_row("o1", "d_2", "aid_files", 300, 1, REC1, 9);
	OK(cf_st_disposal_insert(tx, &d, E_));
	d = disposal_row("o1", "d_3", "people", 200, 1, REC1, 8);
	d.retention = "P1Y";
	d.retention_start = "created";
	OK(cf_st_disposal_insert(tx, &d, E_));
	/* Ids are per organization. */
	d = disposal_row("o2", "d_1", "aid_files", 400, 1, REC1, 0);
	OK(cf_st_disposal_insert(tx, &d, E_));
	/* Same time: the larger id first. */
	d = disposal_row("o1", "d_0", "people", 300, 1, REC1, 10);
	OK(cf_st_disposal_insert(tx, &d, E_));
	d = disposal_row("o1", max_id, "people", 50, 1, REC1, 0);
	OK(cf_st_disposal_insert(tx, &d, E_));

	/* Refused inserts. */
	d = disposal_row("o1", "d_1", "other", 500, 1, REC1, 11);
	refuse_disposal(tx, &d, CF_EEXIST, CF_P_CONFLICT);
	d = disposal_row("o9", "d_9", "aid_files", 500, 1, REC1, 11);
	refuse_disposal(tx, &d, CF_ENOTFOUND, CF_P_NOT_FOUND);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, "{\"id\":\"r_1\"}", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, "not json", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, REC1 " trailing", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, NULL, 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_MISSING_KEY);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, "", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, "[]", 11); /* count is not the number of items */
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 2, REC1, 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 0, "[]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, -1, REC1, 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	/* Items carry ids, pseudonyms and times only: a value cannot ride along. */
	d = disposal_row("o1", "d_9", "aid_files", 500, 1,
			 "[{\"id\":\"r_1\",\"subject\":\"s_1\",\"expired_us\":5,\"name\":\"s_Jane\"}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, "[{\"id\":\"r_1\",\"subject\":\"s_1\"}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1,
			 "[{\"id\":\"r_1\",\"subject\":\"s_1\",\"expired_us\":5,\"subject_forgotten\":1}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1,
			 "[{\"id\":\"r_1\",\"subject\":\"s_1\",\"subject_forgotten\":true,\"x\":5}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1,
			 "[{\"id\":\"r_1\",\"subject\":\"s_1\",\"expired_us\":\"5\"}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1,
			 "[{\"id\":\"r_1\",\"subject\":\"s_1\",\"expired_us\":5.5}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, "[{\"id\":\"\",\"subject\":\"s_1\",\"expired_us\":5}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, "[{\"id\":7,\"subject\":\"s_1\",\"expired_us\":5}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	assert_int_equal(cf_snprintf(records, sizeof(records),
				     "[{\"id\":\"%s\",\"subject\":\"s_1\",\"expired_us\":5}]", long_id),
			 CF_OK);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, records, 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1,
			 "[{\"id\":\"r_1\",\"id\":\"r_2\",\"subject\":\"s_1\",\"expired_us\":5}]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, "[\"r_1\"]", 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, REC1, -1);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, REC1, 11);
	d.retention = "";
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d.retention = NULL;
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_MISSING_KEY);
	d.retention = long_id;
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_TOO_LONG);
	d.retention = "P1Y";
	d.retention_start = "bad \x80";
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d.retention_start = NULL;
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_MISSING_KEY);
	d = disposal_row("o1", "", "aid_files", 500, 1, REC1, 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_\xff", "aid_files", 500, 1, REC1, 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("o1", "d_9", "", 500, 1, REC1, 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	d = disposal_row("", "d_9", "aid_files", 500, 1, REC1, 11);
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_INVALID_VALUE);
	/* An id filling the whole array (no terminator) is too long, not read past. */
	d = disposal_row("o1", "d_9", "aid_files", 500, 1, REC1, 11);
	memset(d.id, 'q', sizeof(d.id));
	refuse_disposal(tx, &d, CF_EINVAL, CF_P_TOO_LONG);
	assert_int_equal(cf_st_disposal_insert(tx, NULL, &err), CF_EINTERNAL);
	commit(tx);

	/* list: newest first, ties by id descending, records parsed. */
	tx = begin(f, false);
	OK(cf_st_disposal_list(tx, "o1", 3, &list, E_));
	assert_json(list, "[{\"audit_index\":9,\"collection\":\"aid_files\",\"count\":1,\"disposed_us\":300,"
			  "\"id\":\"d_2\",\"records\":[{\"expired_us\":5,\"id\":\"r_1\",\"subject\":\"s_1\"}],"
			  "\"retention\":\"P10Y\",\"retention_start\":\"closed_on\"},"
			  "{\"audit_index\":10,\"collection\":\"people\",\"count\":1,\"disposed_us\":300,"
			  "\"id\":\"d_0\",\"records\":[{\"expired_us\":5,\"id\":\"r_1\",\"subject\":\"s_1\"}],"
			  "\"retention\":\"P10Y\",\"retention_start\":\"closed_on\"},"
			  "{\"audit_index\":8,\"collection\":\"people\",\"count\":1,\"disposed_us\":200,"
			  "\"id\":\"d_3\",\"records\":[{\"expired_us\":5,\"id\":\"r_1\",\"subject\":\"s_1\"}],"
			  "\"retention\":\"P1Y\",\"retention_start\":\"created\"}]");
	json_decref(list);
	OK(cf_st_disposal_list(tx, "o1", 1000, &list, E_));
	assert_int_equal(json_array_size(list), 5);
	assert_json(json_array_get(list, 3),
		    "{\"audit_index\":7,\"collection\":\"aid_files\",\"count\":2,\"disposed_us\":100,\"id\":\"d_1\","
		    "\"records\":[{\"expired_us\":50,\"id\":\"r_1\",\"subject\":\"s_1\"},"
		    "{\"expired_us\":60,\"id\":\"r_2\",\"subject\":\"s_2\",\"subject_forgotten\":true}],"
		    "\"retention\":\"P10Y\",\"retention_start\":\"closed_on\"}");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 4), "id")), max_id);
	json_decref(list);
	OK(cf_st_disposal_list(tx, "o1", 1, &list, E_));
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "id")), "d_2");
	json_decref(list);
	OK(cf_st_disposal_list(tx, "o2", 10, &list, E_));
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "disposed_us")), 400);
	json_decref(list);
	OK(cf_st_disposal_list(tx, "o9", 10, &list, E_));
	assert_json(list, "[]");
	json_decref(list);
	list = (json_t *)0x1;
	assert_int_equal(cf_st_disposal_list(tx, "o1", 0, &list, &err), CF_EINVAL);
	assert_null(list);
	assert_int_equal(cf_st_disposal_list(tx, "o1", 1001, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_disposal_list(tx, "o1", SIZE_MAX, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_disposal_list(tx, "", 10, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_disposal_list(tx, NULL, 10, &list, &err), CF_EINVAL);
	assert_int_equal(cf_st_disposal_list(tx, "o1", 10, NULL, &err), CF_EINTERNAL);
	/* Written in write transactions only. */
	d = disposal_row("o1", "d_8", "aid_files", 500, 1, REC1, 11);
	assert_int_equal(cf_st_disposal_insert(tx, &d, &err), CF_EINTERNAL);
	commit(tx);

	/* Behind the store's back: stored compact; never changed, deleted or replaced. */
	db = raw_open(f, "vault.db");
	assert_int_equal(raw_int(db, "SELECT records = '[{\"expired_us\":50,\"id\":\"r_1\",\"subject\":\"s_1\"},"
				     "{\"expired_us\":60,\"id\":\"r_2\",\"subject\":\"s_2\",\"subject_forgotten\":true}]'"
				     " FROM disposals WHERE org = 'o1' AND id = 'd_1'"),
			 1);
	assert_int_not_equal(raw_exec(db, "UPDATE disposals SET count = 5 WHERE org = 'o1' AND id = 'd_1'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "disposal records cannot be changed"));
	assert_int_not_equal(raw_exec(db, "UPDATE disposals SET id = 'd_7' WHERE org = 'o1' AND id = 'd_1'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "disposal records cannot be changed"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM disposals WHERE org = 'o1' AND id = 'd_1'"), SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "disposal records cannot be deleted"));
	assert_int_not_equal(raw_exec(db, "DELETE FROM disposals"), SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT OR REPLACE INTO disposals (org, id, collection, retention,"
					  " retention_start, disposed_us, count, records, audit_index)"
					  " VALUES ('o1', 'd_1', 'x', 'P1Y', 'created', 1, 1, '[]', 0)"),
			     SQLITE_OK);
	assert_non_null(strstr(sqlite3_errmsg(db), "disposal records are written once"));
	/* The CHECKs hold behind the store's back too. */
	assert_int_not_equal(raw_exec(db, "INSERT INTO disposals (org, id, collection, retention, retention_start,"
					  " disposed_us, count, records, audit_index)"
					  " VALUES ('o1', 'd_5', 'x', 'P1Y', 'created', 1, 0, '[]', 0)"),
			     SQLITE_OK);
	assert_int_not_equal(raw_exec(db, "INSERT INTO disposals (org, id, collection, retention, retention_start,"
					  " disposed_us, count, records, audit_index)"
					  " VALUES ('o1', 'd_5', 'x', 'P1Y', 'created', 1, 1, '[]', -1)"),
			     SQLITE_OK);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM disposals"), 6);
	assert_int_equal(raw_int(db, "SELECT count FROM disposals WHERE org = 'o1' AND id = 'd_1'"), 2);
	assert_int_equal(raw_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'index'"
				     " AND name = 'disposals_by_time'"),
			 1);
	sqlite3_close(db);
}

/* ---- savepoints -------------------------------------------------------- */

static bool org_exists(fx *f, const char *id)
{
	cf_tx *tx = begin(f, false);
	char *name = NULL;
	cf_err err = {0};
	cf_rc rc = cf_st_org_get(tx, id, &name, &err);

	free(name);
	commit(tx);
	if (rc != CF_OK && rc != CF_ENOTFOUND)
		fail_msg("cf_st_org_get: %d %s", rc, err.detail);
	return rc == CF_OK;
}

static void test_savepoint_release_and_rollback_to(void **state)
{
	fx *f = *state;
	uint8_t h[CF_HASH_LEN];
	cf_err err = {0};
	int64_t n = -1;
	cf_tx *tx;

	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "before", "work before any job", 1, E_));
	/* Job 1 succeeds and is released. */
	OK(cf_tx_savepoint(tx, E_));
	assert_int_equal(cf_tx_savepoint(tx, &err), CF_EINTERNAL); /* never nested */
	OK(cf_st_org_insert(tx, "job1", "x", 1, E_));
	assert_int_equal(append(tx, "{\"n\":0}", "job1", NULL, NULL), 0);
	OK(cf_tx_release(tx, E_));
	assert_int_equal(cf_tx_release(tx, &err), CF_EINTERNAL); /* nothing left to release */
	/* Job 2 fails and is undone alone, audit entry and node included. */
	OK(cf_tx_savepoint(tx, E_));
	OK(cf_st_org_insert(tx, "job2", "x", 1, E_));
	assert_int_equal(append(tx, "{\"n\":1}", "job2", NULL, NULL), 1);
	OK(cf_st_audit_node_get(tx, 1, 0, h, E_)); /* the append completed node (1, 0) */
	cf_tx_rollback_to(tx);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, 1);
	assert_int_equal(cf_st_audit_node_get(tx, 1, 0, h, &err), CF_ENOTFOUND);
	/* Job 3 takes the index job 2 gave back. */
	OK(cf_tx_savepoint(tx, E_));
	OK(cf_st_org_insert(tx, "job3", "x", 1, E_));
	assert_int_equal(append(tx, "{\"n\":1}", "job3", NULL, NULL), 1);
	OK(cf_tx_release(tx, E_));
	OK(cf_st_org_insert(tx, "after", "work after the jobs", 1, E_));
	commit(tx);

	assert_true(org_exists(f, "before"));
	assert_true(org_exists(f, "job1"));
	assert_false(org_exists(f, "job2"));
	assert_true(org_exists(f, "job3"));
	assert_true(org_exists(f, "after"));
	tx = begin(f, false);
	OK(cf_st_audit_count(tx, &n, E_));
	assert_int_equal(n, 2);
	OK(cf_st_audit_node_get(tx, 1, 0, h, E_)); /* job 3's append completed it again */
	assert_int_equal(cf_st_audit_node_get(tx, 1, 1, h, &err), CF_ENOTFOUND);
	commit(tx);
}

static void test_savepoint_failed_statement_then_rollback_to(void **state)
{
	fx *f = *state;
	uint8_t h[CF_HASH_LEN] = {0};
	cf_err err = {0};
	cf_tx *tx;

	make_org(f, "o1");
	tx = begin(f, true);
	OK(cf_tx_savepoint(tx, E_));
	OK(cf_st_org_insert(tx, "o5", "x", 1, E_));
	OK(cf_st_audit_node_put(tx, 1, 0, h, E_));
	/* Statement-level failures inside the job: the transaction lives on. */
	assert_int_equal(cf_st_org_insert(tx, "o1", "duplicate", 1, &err), CF_EEXIST);
	assert_int_equal(cf_st_audit_node_put(tx, 1, 0, h, &err), CF_EEXIST);
	cf_tx_rollback_to(tx);
	OK(cf_st_org_insert(tx, "o6", "x", 1, E_));
	OK(cf_tx_savepoint(tx, E_));
	OK(cf_st_audit_node_put(tx, 1, 0, h, E_)); /* the undone node can be written again */
	OK(cf_tx_release(tx, E_));
	commit(tx);
	assert_false(org_exists(f, "o5"));
	assert_true(org_exists(f, "o6"));
}

static void test_savepoint_refused(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	cf_tx *tx;

	/* Not in a read transaction. */
	tx = begin(f, false);
	assert_int_equal(cf_tx_savepoint(tx, &err), CF_EINTERNAL);
	assert_non_null(strstr(err.detail, "read transaction"));
	assert_int_equal(cf_tx_release(tx, &err), CF_EINTERNAL);
	commit(tx);
	assert_int_equal(cf_tx_savepoint(NULL, &err), CF_EINTERNAL);
	assert_int_equal(cf_tx_release(NULL, &err), CF_EINTERNAL);
	cf_tx_rollback_to(NULL);

	/* Commit with a job neither released nor undone: a bug, and nothing is kept. */
	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "o1", "x", 1, E_));
	OK(cf_tx_savepoint(tx, E_));
	OK(cf_st_org_insert(tx, "o2", "x", 1, E_));
	assert_int_equal(cf_tx_commit(tx, &err), CF_EINTERNAL);
	assert_false(org_exists(f, "o1"));
	assert_false(org_exists(f, "o2"));

	/* Undoing a job that has no savepoint cannot undo anything: the whole transaction is lost. */
	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "o3", "x", 1, E_));
	cf_tx_rollback_to(tx);
	assert_int_equal(cf_st_org_insert(tx, "o4", "x", 1, &err), CF_ESTORE);
	assert_int_equal(cf_tx_savepoint(tx, &err), CF_ESTORE);
	assert_int_equal(cf_tx_commit(tx, &err), CF_ESTORE);
	assert_false(org_exists(f, "o3"));
	assert_false(org_exists(f, "o4"));

	/* The store is fine afterwards. */
	make_org(f, "o5");
	assert_true(org_exists(f, "o5"));
}

/*
 * SQLite rolls the whole transaction back by itself after an I/O error,
 * savepoints included. A file size limit makes the keystore's WAL write
 * fail while a large value spills out of the page cache (the writer's keystore
 * is 8 MiB: the value is twice that, the largest the store takes).
 */
static void test_savepoint_full_rollback_poisons_tx(void **state)
{
	fx *f = *state;
	const size_t big = 16u << 20;
	struct rlimit old_lim, lim;
	void (*old_sig)(int);
	uint8_t *wrapped;
	cf_err err = {0};
	cf_rc rc;
	cf_tx *tx;

	wrapped = malloc(big);
	assert_non_null(wrapped);
	memset(wrapped, 0x5A, big);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);

	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "before", "x", 1, E_));
	OK(cf_tx_savepoint(tx, E_));
	OK(cf_st_org_insert(tx, "job1", "x", 1, E_));
	OK(cf_tx_release(tx, E_));
	OK(cf_tx_savepoint(tx, E_));
	old_sig = signal(SIGXFSZ, SIG_IGN);
	lim = old_lim;
	lim.rlim_cur = 2u << 20;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = cf_st_key_put(tx, "org", "before", "big", wrapped, big, 1, &err);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
	(void)signal(SIGXFSZ, old_sig);
	assert_int_equal(rc, CF_ESTORE);
	/* Undoing the job cannot bring the transaction back, nor may a new savepoint start a fresh one. */
	cf_tx_rollback_to(tx);
	assert_int_equal(cf_tx_savepoint(tx, &err), CF_ESTORE);
	assert_non_null(strstr(err.detail, "rolled back"));
	assert_int_equal(cf_st_org_insert(tx, "after", "x", 1, &err), CF_ESTORE);
	assert_int_equal(cf_tx_release(tx, &err), CF_ESTORE);
	assert_int_equal(cf_tx_commit(tx, &err), CF_ESTORE);
	free(wrapped);

	/* Nothing of the transaction was committed, released job included; the store goes on. */
	assert_false(org_exists(f, "before"));
	assert_false(org_exists(f, "job1"));
	assert_false(org_exists(f, "after"));
	make_org(f, "later");
	assert_true(org_exists(f, "later"));
}

/* ---- main ------------------------------------------------------------- */

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_close_reopen_keeps_data),
		T(test_open_refused),
		T(test_newer_schema_refused),
		T(test_schema_4_migrates_to_5),
		T(test_schema_1_migrates_to_5),
		T(test_keystore_1_migrates_to_2),
		T(test_schema_3_migrates_to_5),
		T(test_schema_2_migrates_to_5),
		T(test_schema_3_migration_refuses_damage),
		T(test_stored_ciphertexts_malformed),
		T(test_audit_by_subject_across_slices),
		T(test_file_modes_0600),
		T(test_sync_full_and_timeout_options),
		T(test_sync_setting_read_back),
		T(test_scan_reads),
		T(test_sync_full_log_writes_gathered),
		T(test_checkpoints_off_the_writer),
		T(test_check),
		T(test_rollback_leaves_nothing),
		T(test_statement_error_keeps_tx_usable),
		T(test_write_in_read_tx_refused),
		T(test_double_begin_same_thread_refused),
		T(test_contention_bounded_wait),
		T(test_threads_share_the_store),
		T(test_meta),
		T(test_orgs),
		T(test_users),
		T(test_members),
		T(test_tokens),
		T(test_apikeys),
		T(test_collections),
		T(test_grants),
		T(test_subjects),
		T(test_records),
		T(test_keys),
		T(test_keystore_only_in_keys_db),
		T(test_audit_append_only),
		T(test_audit_leaf_and_meta),
		T(test_audit_append_builds_the_tree),
		T(test_readers),
		T(test_audit_nodes),
		T(test_audit_scan),
		T(test_audit_scan_large),
		T(test_audit_list),
		T(test_checkpoints),
		T(test_agreement_insert_get),
		T(test_agreement_status_and_revocation),
		T(test_agreement_count_access),
		T(test_agreement_list),
		T(test_commitments),
		T(test_commitment_acceptances),
		T(test_domains),
		T(test_subdivisions),
		T(test_member_scope),
		T(test_member_attributes),
		T(test_member_delete),
		T(test_member_search),
		T(test_erasure_requests),
		T(test_subject_erase),
		T(test_legal_holds),
		T(test_record_history),
		T(test_record_history_keeps_last_1000),
		T(test_record_scan),
		T(test_subject_record_count),
		T(test_collection_list_all),
		T(test_disposals),
		T(test_savepoint_release_and_rollback_to),
		T(test_savepoint_failed_statement_then_rollback_to),
		T(test_savepoint_refused),
		T(test_savepoint_full_rollback_poisons_tx),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

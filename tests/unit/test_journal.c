/*
 * test_journal.c - the store's audit journal: entries appended by an
 * append transaction are durable in audit.journal (not yet in the tables)
 * when its commit returns; the next write transaction or a flush moves
 * them to the tables, in order, with their tree nodes, and the next round
 * is written over the one before from offset 0; a process that stops without closing leaves them to the next
 * open, which replays whole frames only (a torn tail, a damaged frame, an
 * earlier round's frame end the journal), refuses a journal that does not
 * follow the tables, and verifies; a failed journal write leaves nothing
 * acknowledged and the next append at the same index; a second opener of
 * the same store does not own the journal. A move (cf_store_move_journal)
 * holds the database connection, not the journal: appends are synced
 * while it waits, and what it did not take stays for the next.
 *
 * Each test works in its own mkdtemp directory, removed afterwards; it
 * looks at the files with sqlite3 and stat directly where it must see
 * behind the store's back.
 */
#include "common/cf.h"
#include "store/store.h"
#include "audit/verify.h"
#include "merkle/merkle.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

typedef struct fx {
	char dir[64];
	char journal[PATH_MAX];
	char db[PATH_MAX];
	cf_store *s;
} fx;

static void fx_open(fx *f)
{
	cf_err err = {0};
	cf_rc rc = cf_store_open(f->dir, cf_env_system(), NULL, &f->s, &err);
	if (rc != CF_OK)
		fail_msg("cf_store_open: %d %s", rc, err.detail);
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	memcpy(f->dir, "/tmp/cf_journal_test_XXXXXX", sizeof("/tmp/cf_journal_test_XXXXXX"));
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(cf_snprintf(f->journal, sizeof(f->journal), "%s/audit.journal", f->dir), CF_OK);
	assert_int_equal(cf_snprintf(f->db, sizeof(f->db), "%s/vault.db", f->dir), CF_OK);
	fx_open(f);
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

static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* One integer from the database file itself, behind the store's back. */
static int64_t sql_int(fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_exec(fx *f, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t table_count(fx *f)
{
	return sql_int(f, "SELECT count(*) FROM audit");
}

static void entry_text(int64_t i, char *buf, size_t n)
{
	assert_int_equal(cf_snprintf(buf, n, "{\"action\":\"test.read\",\"index\":%lld,\"n\":\"entry-%lld\"}",
				     (long long)i, (long long)i),
			 CF_OK);
}

/* Appends entries [first, first + n) in one transaction, journal or tables; returns the commit's result. */
static cf_rc append_n(cf_store *s, bool journal, int64_t first, int n, cf_err *err)
{
	cf_tx *tx = NULL;
	cf_rc rc = journal ? cf_store_begin_append(s, &tx, err) : cf_store_begin(s, true, &tx, err);

	if (rc != CF_OK)
		return rc;
	for (int i = 0; i < n && rc == CF_OK; i++) {
		char e[128];
		uint8_t leaf[32];
		cf_audit_meta meta = {"cpas", "cpas", "s_subject"};
		int64_t idx = -1;
		entry_text(first + i, e, sizeof(e));
		cf_merkle_leaf_hash(e, strlen(e), leaf);
		rc = cf_st_audit_append(tx, e, strlen(e), leaf, &meta, &idx, err);
		if (rc == CF_OK && idx != first + i)
			fail_msg("appended at %lld, expected %lld", (long long)idx, (long long)(first + i));
	}
	if (rc != CF_OK) {
		cf_tx_rollback(tx);
		return rc;
	}
	return cf_tx_commit(tx, err);
}

static void append_ok(fx *f, bool journal, int64_t first, int n)
{
	cf_err err = {0};
	cf_rc rc = append_n(f->s, journal, first, n, &err);
	if (rc != CF_OK)
		fail_msg("append: %d %s", rc, err.detail);
}

/* The whole trail verifies (leaves from the bytes, every stored node) and holds n entries. */
static void verify_ok(fx *f, int64_t n)
{
	cf_verify_report rep;
	cf_err err = {0};
	cf_rc rc = cf_audit_verify(f->s, NULL, NULL, 0, &rep, &err);
	if (rc != CF_OK)
		fail_msg("verify: %d %s", rc, err.detail);
	if (!rep.ok)
		fail_msg("verify: %s", rep.problem);
	assert_int_equal(rep.entries, n);
}

/* Each stored entry is the one appended at its index. */
static void entries_match(fx *f, int64_t n)
{
	cf_tx *tx = NULL;
	assert_int_equal(cf_store_begin(f->s, false, &tx, NULL), CF_OK);
	for (int64_t i = 0; i < n; i++) {
		char want[128], *got = NULL;
		size_t len = 0;
		entry_text(i, want, sizeof(want));
		assert_int_equal(cf_st_audit_get(tx, i, &got, &len, NULL, NULL), CF_OK);
		assert_int_equal(len, strlen(want));
		assert_memory_equal(got, want, len);
		free(got);
	}
	cf_tx_rollback(tx);
}

/*
 * A child process appends journal batches of `per` entries `batches` times,
 * moves the first `move` of them to the tables, appends a batch of `then`
 * entries after them (none: 0), and ends without closing the store.
 */
static void crash_after_moving(fx *f, int64_t first, int batches, int per, size_t move, int then)
{
	pid_t pid;
	int status = 0;

	cf_store_close(f->s);
	f->s = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		cf_store *s = NULL;
		cf_err err = {0};
		if (cf_store_open(f->dir, cf_env_system(), NULL, &s, &err) != CF_OK)
			_exit(2);
		for (int b = 0; b < batches; b++)
			if (append_n(s, true, first + (int64_t)b * per, per, &err) != CF_OK)
				_exit(3);
		if (move > 0 && cf_store_flush_journal(s, move, true, &err) != CF_OK)
			_exit(4);
		if (then > 0 && append_n(s, true, first + (int64_t)batches * per, then, &err) != CF_OK)
			_exit(5);
		_exit(0); /* no close: what the journal holds is all there is */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void crash_after_journal(fx *f, int64_t first, int batches, int per)
{
	crash_after_moving(f, first, batches, per, 0, 0);
}

/* The whole file, malloc'd; *size its length. */
static uint8_t *slurp(const char *path, off_t *size)
{
	uint8_t *buf;
	int fd;

	*size = file_size(path);
	buf = malloc((size_t)*size + 1);
	assert_non_null(buf);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, (size_t)*size), (ssize_t)*size);
	close(fd);
	return buf;
}

/* The tables hold exactly entries [0, n), and verify. */
static void tables_hold(fx *f, int64_t n)
{
	assert_int_equal(table_count(f), n);
	entries_match(f, n);
	verify_ok(f, n);
}

/* Opens the store again (replaying the journal): the tables then hold exactly entries [0, n). */
static void reopen_holds(fx *f, int64_t n)
{
	fx_open(f);
	tables_hold(f, n);
}

/* Writes n bytes at off of the file, behind the store's back. */
static void put_bytes(const char *path, const void *buf, size_t n, off_t off)
{
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, n, off), (ssize_t)n);
	close(fd);
}

/* ---- tests ---- */

static void test_append_is_journaled_then_flushed(void **state)
{
	fx *f = *state;
	struct stat st;
	cf_err err = {0};
	off_t size;

	assert_int_equal(file_size(f->journal), 0);
	assert_int_equal(stat(f->journal, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	append_ok(f, true, 0, 3);
	/* durable in the journal, not in the tables */
	assert_true(file_size(f->journal) > 3 * 58);
	assert_int_equal(table_count(f), 0);
	assert_int_equal(cf_store_journal_backlog(f->s), 3);
	append_ok(f, true, 3, 2);
	assert_int_equal(cf_store_journal_backlog(f->s), 5);
	assert_int_equal(table_count(f), 0);
	size = file_size(f->journal);

	assert_int_equal(cf_store_flush_journal(f->s, CF_STORE_FLUSH_ALL, true, &err), CF_OK);
	assert_int_equal(table_count(f), 5);
	/* perfect subtrees of level >= 1 in 5 leaves: 2 + 1 */
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit_nodes"), 3);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit WHERE actor_org = 'cpas' AND subject = 's_subject'"), 5);
	assert_int_equal(cf_store_journal_backlog(f->s), 0);
	/* the next round goes over this one: the file keeps its size (no inode write at each sync) */
	assert_int_equal(file_size(f->journal), size);
	/* nothing to do when empty */
	assert_int_equal(cf_store_flush_journal(f->s, CF_STORE_FLUSH_ALL, true, &err), CF_OK);
	entries_match(f, 5);
	verify_ok(f, 5);
}

static void test_write_transaction_inserts_the_backlog_first(void **state)
{
	fx *f = *state;

	append_ok(f, true, 0, 2);
	append_ok(f, false, 2, 1); /* its entry takes the index after the backlog's */
	assert_int_equal(table_count(f), 3);
	assert_int_equal(cf_store_journal_backlog(f->s), 0);
	append_ok(f, true, 3, 2);
	append_ok(f, true, 5, 1);
	append_ok(f, false, 6, 2);
	entries_match(f, 8);
	verify_ok(f, 8);
}

static void test_a_close_moves_the_backlog(void **state)
{
	fx *f = *state;

	append_ok(f, true, 0, 4);
	cf_store_close(f->s);
	f->s = NULL;
	assert_int_equal(table_count(f), 4);
	assert_int_equal(file_size(f->journal), 0);
	fx_open(f);
	entries_match(f, 4);
	verify_ok(f, 4);
}

static void test_replay_after_a_crash(void **state)
{
	fx *f = *state;

	append_ok(f, false, 0, 2);
	crash_after_journal(f, 2, 3, 4);
	assert_int_equal(table_count(f), 2);
	assert_true(file_size(f->journal) > 0);
	fx_open(f);
	assert_int_equal(table_count(f), 14);
	assert_int_equal(file_size(f->journal), 0);
	assert_int_equal(cf_store_journal_backlog(f->s), 0);
	entries_match(f, 14);
	verify_ok(f, 14);
	/* and the trail goes on from there */
	append_ok(f, true, 14, 1);
	append_ok(f, false, 15, 1);
	verify_ok(f, 16);
}

static void test_a_torn_tail_is_dropped(void **state)
{
	fx *f = *state;
	off_t size;

	crash_after_journal(f, 0, 5, 1);
	size = file_size(f->journal);
	assert_int_equal(truncate(f->journal, size - 7), 0);
	reopen_holds(f, 4);
}

static void test_garbage_after_the_frames_is_ignored(void **state)
{
	fx *f = *state;
	int fd;
	uint8_t junk[300];

	crash_after_journal(f, 0, 2, 3);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	memcpy(junk, "CFJ1", 4); /* even a frame's magic */
	fd = open(f->journal, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	fx_open(f);
	assert_int_equal(table_count(f), 6);
	verify_ok(f, 6);
}

/* A byte changed in the third frame: the first two are replayed, nothing from the damage on. */
static void test_a_damaged_frame_ends_the_replay(void **state)
{
	fx *f = *state;
	off_t size;
	int fd;
	uint8_t b;

	crash_after_journal(f, 0, 5, 1);
	size = file_size(f->journal);
	fd = open(f->journal, O_RDWR);
	assert_true(fd >= 0);
	/* five frames of equal size: the middle of the third */
	assert_int_equal(pread(fd, &b, 1, size / 2), 1);
	b ^= 0x01;
	assert_int_equal(pwrite(fd, &b, 1, size / 2), 1);
	close(fd);
	reopen_holds(f, 2);
}

/* Frames of an earlier round left behind (the truncation did not reach the disk): told apart by their index. */
static void test_an_earlier_rounds_frames_are_not_replayed(void **state)
{
	fx *f = *state;
	uint8_t *old;
	off_t old_size, size;

	crash_after_journal(f, 0, 1, 6); /* frames 0..5 */
	old = slurp(f->journal, &old_size);
	fx_open(f); /* replays 0..5 and empties the journal */
	assert_int_equal(table_count(f), 6);
	crash_after_journal(f, 6, 1, 2); /* frames 6, 7 from offset 0 */
	size = file_size(f->journal);
	/* the old round's bytes put back after them, as if the old file had been longer */
	put_bytes(f->journal, old, (size_t)old_size, size);
	free(old);
	reopen_holds(f, 8);
}

/* Frames the tables already hold are skipped (a crash between the move and the truncation). */
static void test_frames_already_in_the_tables_are_skipped(void **state)
{
	fx *f = *state;
	uint8_t *saved;
	off_t size;

	crash_after_journal(f, 0, 2, 2);
	saved = slurp(f->journal, &size);
	fx_open(f);
	assert_int_equal(table_count(f), 4);
	cf_store_close(f->s);
	f->s = NULL;
	put_bytes(f->journal, saved, (size_t)size, 0);
	free(saved);
	fx_open(f);
	assert_int_equal(table_count(f), 4);
	assert_int_equal(file_size(f->journal), 0);
	verify_ok(f, 4);
}

static void test_a_journal_that_does_not_follow_the_tables_is_refused(void **state)
{
	fx *f = *state;
	cf_store *s = NULL;
	cf_err err = {0};

	append_ok(f, false, 0, 2);
	crash_after_journal(f, 2, 1, 2);
	/* the table loses its last entry behind the store's back: the journal's entries 2, 3 follow nothing */
	sql_exec(f, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE idx = 1");
	assert_int_equal(cf_store_open(f->dir, cf_env_system(), NULL, &s, &err), CF_EINTEGRITY);
	assert_null(s);
	assert_non_null(strstr(err.detail, "does not follow"));
	/* nothing was changed by the refused open */
	assert_int_equal(table_count(f), 1);
	assert_true(file_size(f->journal) > 0);
}

static void test_a_second_opener_does_not_own_the_journal(void **state)
{
	fx *f = *state;
	cf_store *other = NULL;
	cf_err err = {0};

	assert_int_equal(cf_store_open(f->dir, cf_env_system(), NULL, &other, &err), CF_OK);
	assert_int_equal(append_n(other, true, 0, 1, &err), CF_ESTORE);
	assert_non_null(strstr(err.detail, "held by another process"));
	cf_store_close(other);
	/* one that must write the trail (a daemon) does not open at all */
	{
		cf_store_options own = {.own_trail = true};
		other = (cf_store *)0x1;
		assert_int_equal(cf_store_open(f->dir, cf_env_system(), &own, &other, &err), CF_ESTORE);
		assert_null(other);
		assert_non_null(strstr(err.detail, "another process has this data directory open"));
	}
	/* the owner is unaffected */
	append_ok(f, true, 0, 2);
	assert_int_equal(cf_store_flush_journal(f->s, CF_STORE_FLUSH_ALL, true, &err), CF_OK);
	verify_ok(f, 2);
}

/* The descriptor of audit.journal in this process (the owner's). */
static int journal_fd(fx *f)
{
	char link[64], target[PATH_MAX];
	for (int fd = 3; fd < 1024; fd++) {
		ssize_t n;
		if (cf_snprintf(link, sizeof(link), "/proc/self/fd/%d", fd) != CF_OK)
			break;
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, f->journal) == 0)
			return fd;
	}
	fail_msg("no descriptor for %s", f->journal);
	return -1;
}

/*
 * Runs one journal append of n entries at first while the owner's
 * descriptor is read-only (writes fail with EBADF), then puts the original
 * back (a duplicate kept it open, and its lock with it). Returns the append's result.
 */
static cf_rc append_while_broken(fx *f, int64_t first, int n, cf_err *err)
{
	int jfd = journal_fd(f), saved = dup(jfd), rdonly = open(f->journal, O_RDONLY);
	cf_rc rc;

	assert_true(saved >= 0 && rdonly >= 0);
	assert_int_equal(dup2(rdonly, jfd), jfd);
	rc = append_n(f->s, true, first, n, err);
	assert_int_equal(dup2(saved, jfd), jfd);
	close(saved);
	close(rdonly);
	return rc;
}

static void test_a_failed_journal_write_acknowledges_nothing(void **state)
{
	fx *f = *state;
	cf_err err = {0};

	append_ok(f, true, 0, 2);
	assert_int_equal(append_while_broken(f, 2, 3, &err), CF_ESTORE);
	assert_non_null(strstr(err.detail, "audit journal cannot be written"));
	assert_int_equal(cf_store_journal_backlog(f->s), 2);
	/* the same indexes are used again: nothing of the failed batch counts */
	append_ok(f, true, 2, 3);
	assert_int_equal(cf_store_journal_backlog(f->s), 5);
	assert_int_equal(cf_store_flush_journal(f->s, CF_STORE_FLUSH_ALL, true, &err), CF_OK);
	entries_match(f, 5);
	verify_ok(f, 5);
}

/* A write cut short (the file size limit) leaves no part of the refused batch behind. */
static void test_a_short_write_is_cut_back(void **state)
{
	fx *f = *state;
	struct rlimit old, lim;
	cf_err err = {0};
	off_t before;

	append_ok(f, true, 0, 2);
	before = file_size(f->journal);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	assert_true(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
	lim = old;
	lim.rlim_cur = (rlim_t)before + 100; /* room for part of the next frame only */
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(append_n(f->s, true, 2, 3, &err), CF_ESTORE);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_non_null(strstr(err.detail, "audit journal cannot be written"));
	assert_int_equal(file_size(f->journal), before);
	assert_int_equal(cf_store_journal_backlog(f->s), 2);
	append_ok(f, true, 2, 1);
	cf_store_close(f->s);
	f->s = NULL;
	reopen_holds(f, 3);
}

static void test_a_rolled_back_append_leaves_nothing(void **state)
{
	fx *f = *state;
	cf_tx *tx = NULL;
	cf_err err = {0};
	uint8_t leaf[32];
	int64_t idx = -1;

	assert_int_equal(cf_store_begin_append(f->s, &tx, &err), CF_OK);
	cf_merkle_leaf_hash("{}", 2, leaf);
	assert_int_equal(cf_st_audit_append(tx, "{}", 2, leaf, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);
	/* only appends: anything else that writes is refused */
	assert_int_equal(cf_st_meta_set(tx, "k", "v", &err), CF_EINTERNAL);
	cf_tx_rollback(tx);
	assert_int_equal(cf_store_journal_backlog(f->s), 0);
	assert_int_equal(file_size(f->journal), 0);
	append_ok(f, true, 0, 1);
	assert_int_equal(cf_store_flush_journal(f->s, CF_STORE_FLUSH_ALL, true, &err), CF_OK);
	entries_match(f, 1);
	verify_ok(f, 1);
}

/* While the tables refuse the backlog, it stays (durable in the journal) and write transactions fail. */
static void test_a_failed_move_keeps_the_backlog(void **state)
{
	fx *f = *state;
	cf_tx *tx = NULL;
	cf_err err = {0};

	append_ok(f, true, 0, 3);
	sql_exec(f, "CREATE TRIGGER refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'refused'); END");
	assert_int_equal(cf_store_flush_journal(f->s, CF_STORE_FLUSH_ALL, true, &err), CF_EAUDIT);
	assert_int_equal(cf_store_begin(f->s, true, &tx, &err), CF_EAUDIT);
	assert_null(tx);
	assert_int_equal(cf_store_journal_backlog(f->s), 3);
	assert_true(file_size(f->journal) > 0);
	/* appends to the journal go on */
	append_ok(f, true, 3, 1);
	sql_exec(f, "DROP TRIGGER refuse");
	assert_int_equal(cf_store_flush_journal(f->s, CF_STORE_FLUSH_ALL, true, &err), CF_OK);
	tables_hold(f, 4);
}

/* A move in parts: the first entries reach the tables, the rest stays in the journal, in order. */
static void test_a_move_in_parts(void **state)
{
	fx *f = *state;
	cf_err err = {0};

	append_ok(f, true, 0, 10);
	assert_int_equal(cf_store_flush_journal(f->s, 3, true, &err), CF_OK);
	assert_int_equal(table_count(f), 3);
	/* nodes whose leaves are all in: (1,0) only */
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit_nodes"), 1);
	assert_int_equal(cf_store_journal_backlog(f->s), 7);
	assert_true(file_size(f->journal) > 0); /* it still holds entries the tables lack */
	assert_int_equal(cf_store_flush_journal(f->s, 4, true, &err), CF_OK);
	assert_int_equal(table_count(f), 7);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM audit_nodes"), 4); /* (1,0) (1,1) (1,2) (2,0) */
	/* a failed journal write drops the cached edge: it is rebuilt from the tables and the rest of the backlog */
	assert_int_equal(append_while_broken(f, 10, 1, &err), CF_ESTORE);
	append_ok(f, true, 10, 2);
	append_ok(f, false, 12, 1); /* a write transaction takes the rest first */
	assert_int_equal(table_count(f), 13);
	assert_int_equal(cf_store_journal_backlog(f->s), 0);
	entries_match(f, 13);
	verify_ok(f, 13);
}

/* A crash after a move in parts: the replay skips what the tables hold and appends the rest. */
static void test_a_crash_after_a_move_in_parts(void **state)
{
	fx *f = *state;

	crash_after_moving(f, 0, 1, 9, 5, 0);
	assert_int_equal(table_count(f), 5);
	reopen_holds(f, 9);
}

/*
 * A round after a move is written from offset 0 over the round before,
 * whose frames stay beyond it: a crash then replays the new round's frames
 * only, and the file never grew for it.
 */
static void test_a_round_goes_over_the_one_before(void **state)
{
	fx *f = *state;
	off_t first_round;

	/* the first round: two batches of four, all moved; the next: three entries */
	crash_after_moving(f, 0, 2, 4, CF_STORE_FLUSH_ALL, 3);
	assert_int_equal(table_count(f), 8);
	/* the file holds the first round's eight frames' bytes and no more: the second round went over them */
	first_round = 0;
	for (int64_t i = 0; i < 8; i++) {
		char e[128];
		entry_text(i, e, sizeof(e));
		first_round += 58 + (off_t)strlen(e) + (off_t)strlen("cpascpass_subject") + 16;
	}
	assert_int_equal(file_size(f->journal), first_round);
	{
		/* the three new frames lie at offset 0: the file starts with entry 8's frame */
		off_t size;
		uint8_t *buf = slurp(f->journal, &size);
		char want[128];
		entry_text(8, want, sizeof(want));
		assert_memory_equal(buf, "CFJ1", 4);
		assert_memory_equal(buf + 58, want, strlen(want));
		free(buf);
	}
	reopen_holds(f, 11);
	/* the open emptied it; the trail goes on */
	assert_int_equal(file_size(f->journal), 0);
	append_ok(f, true, 11, 1);
	append_ok(f, false, 12, 1);
	verify_ok(f, 13);
}

/* A move of the whole backlog on a thread of its own. */
typedef struct mover {
	cf_store *s;
	size_t moved;
	cf_rc rc;
	cf_err err;
	atomic_bool done;
} mover;

static void *move_all(void *arg)
{
	mover *m = arg;
	m->rc = cf_store_move_journal(m->s, CF_STORE_FLUSH_ALL, true, &m->moved, &m->err);
	atomic_store(&m->done, true);
	return NULL;
}

/*
 * A move waiting for the database (another connection holds its write
 * lock, as `coffre` run beside the daemon would) holds the store's
 * connection: journal appends are synced meanwhile, and the move then
 * takes them too. Were the move holding the journal as well, the appends
 * would wait for it, and it for the lock released only after them.
 */
static void test_appends_go_on_during_a_move(void **state)
{
	fx *f = *state;
	struct timespec pause = {0, 100 * 1000 * 1000};
	mover m = {.s = f->s};
	sqlite3 *db = NULL;
	pthread_t th;

	append_ok(f, true, 0, 3);
	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(pthread_create(&th, NULL, move_all, &m), 0);
	nanosleep(&pause, NULL); /* the move is in its transaction, waiting for the lock */
	append_ok(f, true, 3, 2);
	assert_false(atomic_load(&m.done));
	assert_int_equal(cf_store_journal_backlog(f->s), 5);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(pthread_join(th, NULL), 0);
	if (m.rc != CF_OK)
		fail_msg("move: %d %s", m.rc, m.err.detail);
	assert_int_equal(m.moved, 5);
	assert_int_equal(cf_store_journal_backlog(f->s), 0);
	tables_hold(f, 5);
}

/*
 * A move of part of the backlog says how much it took; the rest and the
 * appends after it stay in the journal, which goes on at its end until
 * the tables hold everything, and starts over only then.
 */
static void test_a_partial_move_keeps_the_rest(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	size_t moved = 0;
	off_t five;

	append_ok(f, true, 0, 3);
	assert_int_equal(cf_store_move_journal(f->s, 2, true, &moved, &err), CF_OK);
	assert_int_equal(moved, 2);
	assert_int_equal(table_count(f), 2);
	assert_int_equal(cf_store_journal_backlog(f->s), 1);
	append_ok(f, true, 3, 2);
	five = file_size(f->journal);
	assert_int_equal(cf_store_journal_backlog(f->s), 3);
	assert_int_equal(cf_store_move_journal(f->s, CF_STORE_FLUSH_ALL, true, &moved, &err), CF_OK);
	assert_int_equal(moved, 3);
	assert_int_equal(cf_store_journal_backlog(f->s), 0);
	/* nothing left to move: nothing moved */
	assert_int_equal(cf_store_move_journal(f->s, CF_STORE_FLUSH_ALL, true, &moved, &err), CF_OK);
	assert_int_equal(moved, 0);
	/* the next round starts at offset 0: the file keeps its size */
	append_ok(f, true, 5, 1);
	assert_int_equal(file_size(f->journal), five);
	entries_match(f, 5);
	cf_store_close(f->s);
	f->s = NULL;
	reopen_holds(f, 6);
}

/* A thread with its own journal append open cannot also move the journal: refused, and the append goes on. */
static void test_a_move_inside_an_append_is_refused(void **state)
{
	fx *f = *state;
	cf_tx *tx = NULL;
	cf_err err = {0};
	uint8_t leaf[32];
	size_t moved = 7;
	int64_t idx = -1;
	char e[128];

	append_ok(f, true, 0, 2);
	assert_int_equal(cf_store_begin_append(f->s, &tx, &err), CF_OK);
	assert_int_equal(cf_store_move_journal(f->s, CF_STORE_FLUSH_ALL, true, &moved, &err), CF_EAUDIT);
	assert_int_equal(moved, 0);
	assert_non_null(strstr(err.detail, "already has a transaction open"));
	entry_text(2, e, sizeof(e));
	cf_merkle_leaf_hash(e, strlen(e), leaf);
	assert_int_equal(cf_st_audit_append(tx, e, strlen(e), leaf, NULL, &idx, &err), CF_OK);
	assert_int_equal(idx, 2);
	assert_int_equal(cf_tx_commit(tx, &err), CF_OK);
	assert_int_equal(cf_store_journal_backlog(f->s), 3);
	assert_int_equal(cf_store_move_journal(f->s, CF_STORE_FLUSH_ALL, true, &moved, &err), CF_OK);
	assert_int_equal(moved, 3);
	tables_hold(f, 3);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_append_is_journaled_then_flushed),
		T(test_write_transaction_inserts_the_backlog_first),
		T(test_a_close_moves_the_backlog),
		T(test_replay_after_a_crash),
		T(test_a_torn_tail_is_dropped),
		T(test_garbage_after_the_frames_is_ignored),
		T(test_a_damaged_frame_ends_the_replay),
		T(test_an_earlier_rounds_frames_are_not_replayed),
		T(test_frames_already_in_the_tables_are_skipped),
		T(test_a_journal_that_does_not_follow_the_tables_is_refused),
		T(test_a_second_opener_does_not_own_the_journal),
		T(test_a_failed_journal_write_acknowledges_nothing),
		T(test_a_short_write_is_cut_back),
		T(test_a_rolled_back_append_leaves_nothing),
		T(test_a_failed_move_keeps_the_backlog),
		T(test_a_move_in_parts),
		T(test_a_crash_after_a_move_in_parts),
		T(test_a_round_goes_over_the_one_before),
		T(test_appends_go_on_during_a_move),
		T(test_a_partial_move_keeps_the_rest),
		T(test_a_move_inside_an_append_is_refused),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

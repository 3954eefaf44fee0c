/*
 * test_verify.c - offline verification of the audit trail. A trail of 300
 * entries is built through cf_audit_append, with checkpoints signed at
 * sizes 50, 150 and 300; then the database is tampered with directly
 * through SQLite (the append-only triggers dropped first, as an attacker
 * with the file would) and cf_audit_verify must notice and name the first
 * bad index: one changed byte, two swapped rows, a removed tail, a removed
 * middle row, a changed or missing tree node, a changed checkpoint, a
 * rollback of the whole file (caught only by a checkpoint kept outside),
 * a forked or foreign external checkpoint, and checkpoints signed by
 * another key. The untouched trail verifies, with and without an external
 * checkpoint.
 *
 * The pass reads in chunks on one thread and hashes them on another, so
 * every test above runs three times: with the default chunks (the trail
 * fits in one, hashed inline), with chunks of 3 entries and with chunks of
 * one entry (the byte cap, smaller than any entry), both on the second
 * thread. Then tests aimed at the chunk boundaries, with exact problems and
 * indexes: tampers at the first and last entry of a chunk and of the trail,
 * trails that are an exact multiple of the chunk size and one more, a node
 * completed in the chunk after its first leaf, missing nodes of levels that
 * span many chunks, checkpoints inside and at the edge of a chunk, and a
 * failing store read in the middle of the pass (an error, both threads
 * stopped; ASan and TSan builds check the rest).
 *
 * Each test works in its own mkdtemp directory, removed afterwards.
 */
#include "common/cf.h"
#include "audit/verify.h"
#include "audit/audit.h"
#include "audit/note.h"
#include "crypto/crypto.h"
#include "merkle/merkle.h"
#include "store/store.h"

#include <dirent.h>
#include <limits.h>
#include <sqlite3.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#define ORIGIN "coffre.test/verify"
#define N_ENTRIES 300
#define PER_TX 25

/* Checkpoint sizes signed while building (ascending); the last is N_ENTRIES. */
static const int64_t CK_SIZES[] = {50, 150, 300};
#define N_CK 3

typedef struct fx {
	char dir[64];
	cf_store *s;
	cf_note_signer *signer, *other;
	cf_note_verifier v, v_other;
	char *notes[N_CK]; /* the signed notes, as an auditor would keep them elsewhere */
} fx;

/* ---- helpers ---------------------------------------------------------- */

static void open_store(fx *f)
{
	cf_store_options so = {.busy_timeout_ms = 0, .sync_full = false};
	cf_err err = {0};
	cf_rc rc = cf_store_open(f->dir, cf_env_system(), &so, &f->s, &err);

	if (rc != CF_OK)
		fail_msg("cf_store_open: %d %s", rc, err.detail);
}

static cf_note_signer *new_signer(const char *name, cf_note_verifier *v)
{
	cf_key *k = cf_key_new_random(cf_env_system());
	cf_note_signer *sg = NULL;
	char *vk;

	assert_non_null(k);
	assert_int_equal(cf_note_signer_new(name, k, &sg, NULL), CF_OK);
	cf_key_free(k);
	vk = cf_note_verifier_key(sg);
	assert_non_null(vk);
	assert_int_equal(cf_note_verifier_parse(vk, v, NULL), CF_OK);
	free(vk);
	return sg;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(cf_crypto_init(), CF_OK);
	memcpy(f->dir, "/tmp/cf_verify_XXXXXX", sizeof("/tmp/cf_verify_XXXXXX"));
	assert_non_null(mkdtemp(f->dir));
	f->signer = new_signer(ORIGIN, &f->v);
	/* same name, another key: what a forger without the key would produce */
	f->other = new_signer(ORIGIN, &f->v_other);
	open_store(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	cf_store_close(f->s);
	cf_note_signer_free(f->signer);
	cf_note_signer_free(f->other);
	for (int i = 0; i < N_CK; i++)
		free(f->notes[i]);
	remove_dir(f->dir);
	free(f);
	return 0;
}

static cf_rc tx_node_get(void *ctx, int level, int64_t index, uint8_t out[32])
{
	return cf_st_audit_node_get(ctx, level, index, out, NULL);
}

static void root_of(fx *f, int64_t size, uint8_t root[32])
{
	cf_tx *tx = NULL;

	assert_int_equal(cf_store_begin(f->s, false, &tx, NULL), CF_OK);
	assert_int_equal(cf_merkle_root(size, tx_node_get, tx, root), CF_OK);
	cf_tx_rollback(tx);
}

static int64_t count_of(fx *f)
{
	cf_tx *tx = NULL;
	int64_t n = -1;

	assert_int_equal(cf_store_begin(f->s, false, &tx, NULL), CF_OK);
	assert_int_equal(cf_st_audit_count(tx, &n, NULL), CF_OK);
	cf_tx_rollback(tx);
	return n;
}

/* A signed note for (size, root) by sg; stored in the checkpoints table when store is true. */
static char *sign_at(fx *f, const cf_note_signer *sg, int64_t size, const uint8_t root[32], bool store)
{
	char *note = NULL;
	cf_tx *tx = NULL;
	cf_err err = {0};

	assert_int_equal(cf_checkpoint_sign(sg, ORIGIN, size, root, &note, &err), CF_OK);
	if (store) {
		assert_int_equal(cf_store_begin(f->s, true, &tx, NULL), CF_OK);
		assert_int_equal(cf_st_checkpoint_put(tx, size, root, note, cf_now_us(cf_env_system()), &err), CF_OK);
		assert_int_equal(cf_tx_commit(tx, &err), CF_OK);
	}
	return note;
}

/* Appends entries [from, to) in transactions of PER_TX, signing and storing a checkpoint at each CK size by sg. */
static void append_range(fx *f, const cf_note_signer *sg, int64_t from, int64_t to)
{
	int64_t i = from;

	while (i < to) {
		cf_tx *tx = NULL;
		cf_err err = {0};
		int64_t stop = i + PER_TX < to ? i + PER_TX : to;

		for (int c = 0; c < N_CK; c++) /* a transaction ends at each checkpoint size */
			if (CK_SIZES[c] > i && CK_SIZES[c] < stop)
				stop = CK_SIZES[c];
		assert_int_equal(cf_store_begin(f->s, true, &tx, &err), CF_OK);
		for (; i < stop; i++) {
			json_t *e = json_pack("{s:s,s:I,s:{s:s,s:s}}", "action", "record.read", "n", (json_int_t)i,
					      "resource", "org", "org1", "subject", "p-0001");
			int64_t idx = -1;

			assert_non_null(e);
			assert_int_equal(cf_audit_append(tx, e, &idx, &err), CF_OK);
			assert_int_equal(idx, i);
			json_decref(e);
		}
		assert_int_equal(cf_tx_commit(tx, &err), CF_OK);
		for (int c = 0; c < N_CK; c++) {
			if (CK_SIZES[c] == i) {
				uint8_t root[32];

				root_of(f, i, root);
				free(f->notes[c]);
				f->notes[c] = sign_at(f, sg, i, root, true);
			}
		}
	}
}

static void build_trail(fx *f, const cf_note_signer *sg)
{
	append_range(f, sg, 0, N_ENTRIES);
	assert_int_equal(count_of(f), N_ENTRIES);
}

static void hex32(const uint8_t b[32], char out[65])
{
	static const char d[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[64] = '\0';
}

/* Runs cf_audit_verify, which must run (CF_OK); the verdict is in rep. */
static void verify(fx *f, const cf_note_verifier *key, const char *external, cf_verify_report *rep)
{
	cf_err err = {0};
	cf_rc rc = cf_audit_verify(f->s, key, external, external ? strlen(external) : 0, rep, &err);

	if (rc != CF_OK)
		fail_msg("cf_audit_verify did not run: %d %s", rc, err.detail);
	if (rep->ok)
		assert_string_equal(rep->problem, "");
	else
		assert_true(rep->problem[0] != '\0');
}

static void path_of(const fx *f, const char *file, char *out, size_t cap)
{
	assert_int_equal(cf_snprintf(out, cap, "%s/%s", f->dir, file), CF_OK);
}

/* Runs sql on DIR/vault.db behind the store's back (the store is closed meanwhile). */
static void tamper(fx *f, const char *sql)
{
	char path[PATH_MAX];
	char *msg = NULL;
	sqlite3 *db = NULL;
	int src;

	cf_store_close(f->s);
	f->s = NULL;
	path_of(f, "vault.db", path, sizeof(path));
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	src = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (src != SQLITE_OK) {
		char copy[256];

		(void)snprintf(copy, sizeof(copy), "%s", msg ? msg : "?");
		sqlite3_free(msg);
		sqlite3_close(db);
		fail_msg("tamper SQL failed: %s", copy);
	}
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	open_store(f);
}

static void entry_bytes(fx *f, int64_t index, char **bytes, size_t *len)
{
	cf_tx *tx = NULL;

	assert_int_equal(cf_store_begin(f->s, false, &tx, NULL), CF_OK);
	assert_int_equal(cf_st_audit_get(tx, index, bytes, len, NULL, NULL), CF_OK);
	cf_tx_rollback(tx);
}

/* verify() with chunks of `entries` entries and `bytes` bytes (0: the default); the default again afterwards. */
static void verify_chunked(fx *f, size_t entries, size_t bytes, const cf_note_verifier *key, const char *external,
			   cf_verify_report *rep)
{
	cf_audit_verify_set_chunk_for_tests(entries, bytes);
	verify(f, key, external, rep);
	cf_audit_verify_set_chunk_for_tests(0, 0);
}

/* One byte of entry `index` changed behind the store's back ("n" becomes "m"); its stored leaf kept. */
static void change_entry(fx *f, int64_t index)
{
	char sql[512];

	assert_int_equal(cf_snprintf(sql, sizeof(sql),
				     "DROP TRIGGER IF EXISTS audit_no_update;"
				     "UPDATE audit SET entry = CAST(replace(CAST(entry AS TEXT), '\"n\":', '\"m\":') AS BLOB)"
				     " WHERE idx = %lld;",
				     (long long)index),
			 CF_OK);
	tamper(f, sql);
}

/*
 * Entry `index` rewritten (the first `from` in its bytes replaced by `to`) together with a
 * matching leaf: only its stated index and the nodes above it can tell.
 */
static void rewrite_entry_and_leaf(fx *f, int64_t index, const char *from, const char *to)
{
	char *bytes = NULL, *p, *out, *hexentry, sql[2048], hexleaf[65];
	size_t len = 0, flen = strlen(from), tlen = strlen(to), olen, pos = 0;
	uint8_t leaf[32];

	entry_bytes(f, index, &bytes, &len);
	p = memmem(bytes, len, from, flen);
	assert_non_null(p);
	olen = len - flen + tlen;
	out = malloc(olen);
	assert_non_null(out);
	memcpy(out, bytes, (size_t)(p - bytes));
	memcpy(out + (p - bytes), to, tlen);
	memcpy(out + (p - bytes) + tlen, p + flen, len - (size_t)(p - bytes) - flen);
	cf_merkle_leaf_hash(out, olen, leaf);
	hex32(leaf, hexleaf);
	hexentry = calloc(2 * olen + 1, 1);
	assert_non_null(hexentry);
	for (size_t i = 0; i < olen; i++, pos += 2)
		assert_int_equal(cf_snprintf(hexentry + pos, 3, "%02x", (unsigned char)out[i]), CF_OK);
	assert_int_equal(cf_snprintf(sql, sizeof(sql),
				     "DROP TRIGGER IF EXISTS audit_no_update;"
				     "UPDATE audit SET entry = X'%s', leaf = X'%s' WHERE idx = %lld;",
				     hexentry, hexleaf, (long long)index),
			 CF_OK);
	free(hexentry);
	free(out);
	free(bytes);
	tamper(f, sql);
}

static void delete_node(fx *f, int level, int64_t index)
{
	char sql[256];

	assert_int_equal(cf_snprintf(sql, sizeof(sql),
				     "DROP TRIGGER IF EXISTS audit_nodes_no_delete;"
				     "DELETE FROM audit_nodes WHERE level = %d AND idx = %lld;",
				     level, (long long)index),
			 CF_OK);
	tamper(f, sql);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out;
	size_t n;

	assert_non_null(in);
	out = fopen(to, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	assert_int_equal(ferror(in), 0);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/* ---- the untouched trail ---------------------------------------------- */

static void test_untouched_trail_verifies(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	uint8_t root[32];
	char want_hex[65];

	build_trail(f, f->signer);
	root_of(f, N_ENTRIES, root);
	hex32(root, want_hex);

	verify(f, &f->v, NULL, &rep);
	assert_true(rep.ok);
	assert_int_equal(rep.entries, N_ENTRIES);
	assert_int_equal(rep.checkpoints, N_CK);
	assert_int_equal(rep.latest_checkpoint, N_ENTRIES);
	assert_int_equal(rep.external_size, -1);
	assert_int_equal(rep.first_bad_index, -1);
	assert_string_equal(rep.root_hex, want_hex);

	/* with each correct checkpoint kept elsewhere */
	for (int c = 0; c < N_CK; c++) {
		verify(f, &f->v, f->notes[c], &rep);
		assert_true(rep.ok);
		assert_int_equal(rep.external_size, CK_SIZES[c]);
		assert_int_equal(rep.first_bad_index, -1);
		assert_string_equal(rep.root_hex, want_hex);
	}

	/* no key: the structure is still checked, the signatures are not */
	verify(f, NULL, NULL, &rep);
	assert_true(rep.ok);
	assert_int_equal(rep.checkpoints, N_CK);
	assert_string_equal(rep.root_hex, want_hex);
}

static void test_empty_trail(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	verify(f, &f->v, NULL, &rep);
	assert_true(rep.ok);
	assert_int_equal(rep.entries, 0);
	assert_int_equal(rep.checkpoints, 0);
	assert_int_equal(rep.latest_checkpoint, -1);
	assert_int_equal(rep.first_bad_index, -1);
	/* SHA-256 of the empty string: the RFC 9162 empty tree */
	assert_string_equal(rep.root_hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_external_without_key_refused(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	cf_err err = {0};

	build_trail(f, f->signer);
	assert_int_equal(cf_audit_verify(f->s, NULL, f->notes[0], strlen(f->notes[0]), &rep, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
}

/* ---- tampered entries ---------------------------------------------------- */

static void test_one_byte_changed(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	char *before = NULL, *after = NULL;
	size_t blen = 0, alen = 0, diff = 0;

	build_trail(f, f->signer);
	entry_bytes(f, 123, &before, &blen);
	tamper(f, "DROP TRIGGER audit_no_update;"
		  "UPDATE audit SET entry = CAST(replace(CAST(entry AS TEXT), '\"n\":123', '\"n\":923') AS BLOB)"
		  " WHERE idx = 123;");
	entry_bytes(f, 123, &after, &alen);
	assert_int_equal(alen, blen);
	for (size_t i = 0; i < blen; i++)
		diff += before[i] != after[i];
	assert_int_equal(diff, 1);
	free(before);
	free(after);

	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_index, 123);
	assert_int_equal(rep.entries, N_ENTRIES);
	assert_non_null(strstr(rep.problem, "entry 123"));
	/* without a key too: this is a structural check */
	verify(f, NULL, NULL, &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_index, 123);
}

/* The entry rewritten with a matching leaf hash: the tree nodes above it still catch it. */
static void test_entry_and_leaf_rewritten(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	char *bytes = NULL, *p, sql[512], hexleaf[65];
	uint8_t leaf[32];
	size_t len = 0;

	build_trail(f, f->signer);
	entry_bytes(f, 123, &bytes, &len);
	p = memmem(bytes, len, "\"n\":123", 7);
	assert_non_null(p);
	p[4] = '9';
	cf_merkle_leaf_hash(bytes, len, leaf);
	hex32(leaf, hexleaf);
	assert_int_equal(cf_snprintf(sql, sizeof(sql),
				     "DROP TRIGGER audit_no_update;"
				     "UPDATE audit SET entry = CAST(replace(CAST(entry AS TEXT), '\"n\":123', '\"n\":923') AS BLOB),"
				     " leaf = X'%s' WHERE idx = 123;",
				     hexleaf),
			 CF_OK);
	free(bytes);
	tamper(f, sql);

	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	/* node (level 1, index 61) covers leaves 122 and 123 */
	assert_in_range(rep.first_bad_index, 122, 123);
	assert_non_null(strstr(rep.problem, "tree node"));
}

static void test_rows_swapped(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	tamper(f, "DROP TRIGGER audit_no_update;"
		  "CREATE TEMP TABLE keep AS SELECT idx, entry, leaf FROM audit WHERE idx IN (40, 41);"
		  "UPDATE audit SET entry = (SELECT entry FROM keep WHERE keep.idx = 81 - audit.idx),"
		  " leaf = (SELECT leaf FROM keep WHERE keep.idx = 81 - audit.idx) WHERE idx IN (40, 41);");
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_index, 40);
	assert_non_null(strstr(rep.problem, "entry 40"));
}

static void test_tail_removed(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	tamper(f, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE idx >= 290;");
	assert_int_equal(count_of(f), N_ENTRIES - 10);
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.entries, N_ENTRIES - 10);
	assert_int_equal(rep.latest_checkpoint, N_ENTRIES);
	assert_int_equal(rep.first_bad_index, N_ENTRIES - 10);
}

static void test_middle_row_removed(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	tamper(f, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE idx = 200;");
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.entries, N_ENTRIES); /* the count is max(idx) + 1 */
	assert_int_equal(rep.first_bad_index, 200);
	assert_non_null(strstr(rep.problem, "entry 200 is missing"));
}

/* ---- tampered nodes --------------------------------------------------------- */

static void test_node_changed(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	/* node (level 3, index 7) covers leaves 56..63 */
	tamper(f, "DROP TRIGGER audit_nodes_no_update;"
		  "UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 3 AND idx = 7;");
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_in_range(rep.first_bad_index, 56, 63);
	assert_non_null(strstr(rep.problem, "does not match the entries"));
}

static void test_node_missing(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	/* node (level 6, index 2) covers leaves 128..191 */
	tamper(f, "DROP TRIGGER audit_nodes_no_delete; DELETE FROM audit_nodes WHERE level = 6 AND idx = 2;");
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_in_range(rep.first_bad_index, 128, 191);
	assert_non_null(strstr(rep.problem, "is missing"));
}

/* The last node of a level gone: the level's cursor runs out before the pass does. */
static void test_last_node_of_a_level_missing(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	tamper(f, "DROP TRIGGER audit_nodes_no_delete;"
		  "DELETE FROM audit_nodes WHERE level = 1 AND idx = (SELECT max(idx) FROM audit_nodes WHERE level = 1);");
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_non_null(strstr(rep.problem, "tree node (level 1,"));
	assert_non_null(strstr(rep.problem, "is missing"));
}

/* ---- tampered checkpoints ----------------------------------------------------- */

static void test_stored_checkpoint_note_tampered(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	/* the size line of the note of size 150 now says 151: the signature no longer covers it */
	tamper(f, "DROP TRIGGER checkpoints_no_update;"
		  "UPDATE checkpoints SET note = replace(note, char(10) || '150' || char(10), char(10) || '151' || char(10))"
		  " WHERE size = 150;");
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_index, -1);
	assert_non_null(strstr(rep.problem, "size 150 does not verify"));
}

static void test_stored_checkpoint_root_changed(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	tamper(f, "DROP TRIGGER checkpoints_no_update;"
		  "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 150;");
	/* with the key: the stored root is not the signed one */
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_non_null(strstr(rep.problem, "does not match its signed note"));
	/* without: the stored root is not the entries' root; the last good checkpoint was 50 */
	verify(f, NULL, NULL, &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_index, 50);
}

static void test_store_checkpoints_by_other_key(void **state)
{
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->other);
	verify(f, &f->v, NULL, &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_index, -1);
	assert_non_null(strstr(rep.problem, "does not verify"));
	/* the right key for them verifies */
	verify(f, &f->v_other, NULL, &rep);
	assert_true(rep.ok);
}

/* ---- external checkpoints ------------------------------------------------------- */

static void test_external_by_other_key(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	uint8_t root[32];
	char *forged;

	build_trail(f, f->signer);
	root_of(f, N_ENTRIES, root);
	forged = sign_at(f, f->other, N_ENTRIES, root, false);
	verify(f, &f->v, forged, &rep);
	free(forged);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_index, -1);
	assert_non_null(strstr(rep.problem, "the given checkpoint does not verify"));
}

static void test_external_fork(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	uint8_t root[32];
	char *fork;

	build_trail(f, f->signer);
	/* properly signed, but over another tree of size 200 */
	memset(root, 0xab, sizeof(root));
	fork = sign_at(f, f->signer, 200, root, false);
	verify(f, &f->v, fork, &rep);
	free(fork);
	assert_false(rep.ok);
	assert_int_equal(rep.external_size, 200);
	assert_int_equal(rep.first_bad_index, 150); /* the last checkpoint that matched */
}

static void test_external_larger_than_store(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	uint8_t root[32];
	char *ext;

	build_trail(f, f->signer);
	/* a checkpoint of 400 entries seen elsewhere: the store has lost 100 */
	memset(root, 0x11, sizeof(root));
	ext = sign_at(f, f->signer, 400, root, false);
	verify(f, &f->v, ext, &rep);
	free(ext);
	assert_false(rep.ok);
	assert_int_equal(rep.external_size, 400);
	assert_int_equal(rep.first_bad_index, N_ENTRIES);
}

/* The whole database replaced by an older copy: consistent in itself, caught only from outside. */
static void test_rollback_of_the_file(void **state)
{
	fx *f = *state;
	char db[PATH_MAX], bak[PATH_MAX], wal[PATH_MAX], shm[PATH_MAX], bak_wal[PATH_MAX];
	cf_verify_report rep;
	bool had_wal;

	path_of(f, "vault.db", db, sizeof(db));
	path_of(f, "vault.db.bak", bak, sizeof(bak));
	path_of(f, "vault.db-wal", wal, sizeof(wal));
	path_of(f, "vault.db-shm", shm, sizeof(shm));
	path_of(f, "vault.db-wal.bak", bak_wal, sizeof(bak_wal));

	append_range(f, f->signer, 0, 250); /* checkpoints 50 and 150 */
	cf_store_close(f->s);
	f->s = NULL;
	copy_file(db, bak);
	had_wal = access(wal, F_OK) == 0;
	if (had_wal)
		copy_file(wal, bak_wal);
	open_store(f);
	append_range(f, f->signer, 250, N_ENTRIES); /* checkpoint 300, kept by an auditor */
	assert_non_null(f->notes[2]);
	verify(f, &f->v, f->notes[2], &rep);
	assert_true(rep.ok);

	cf_store_close(f->s);
	f->s = NULL;
	(void)unlink(wal);
	(void)unlink(shm);
	assert_int_equal(rename(bak, db), 0);
	if (had_wal)
		assert_int_equal(rename(bak_wal, wal), 0);
	open_store(f);
	assert_int_equal(count_of(f), 250);

	/* the old copy is consistent in itself */
	verify(f, &f->v, NULL, &rep);
	assert_true(rep.ok);
	assert_int_equal(rep.latest_checkpoint, 150);
	/* the checkpoint kept outside names what is gone */
	verify(f, &f->v, f->notes[2], &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.entries, 250);
	assert_int_equal(rep.external_size, N_ENTRIES);
	assert_int_equal(rep.first_bad_index, 250);
	assert_non_null(strstr(rep.problem, "rolled back"));
	/* an older outside checkpoint is still consistent with it */
	verify(f, &f->v, f->notes[1], &rep);
	assert_true(rep.ok);
}

static void test_external_garbage(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	char *bad;
	size_t n;

	build_trail(f, f->signer);
	verify(f, &f->v, "not a checkpoint\n", &rep);
	assert_false(rep.ok);
	assert_int_equal(rep.first_bad_index, -1);
	/* a correct note with its signature line cut */
	n = strlen(f->notes[1]);
	bad = cf_strdup(f->notes[1]);
	assert_non_null(bad);
	bad[n - 10] = '\n';
	bad[n - 9] = '\0';
	verify(f, &f->v, bad, &rep);
	free(bad);
	assert_false(rep.ok);
}


/* ---- chunk boundaries ------------------------------------------------------------ */

/*
 * Chunk sizes around the trail's 300 entries and its checkpoints at 50, 150
 * and 300: divisors of 300 (an exact multiple), sizes of which 300 is a
 * multiple plus one (13, 23, 299: a last chunk of one entry), sizes that
 * put a checkpoint inside a chunk or at its edge, one entry per chunk, and
 * chunks larger than the trail.
 */
static const size_t CHUNKS[] = {1, 2, 3, 4, 5, 7, 8, 13, 16, 23, 25, 49, 50, 51, 64, 100, 128,
				149, 150, 151, 256, 299, 300, 301, 4096};
#define N_CHUNKS (sizeof(CHUNKS) / sizeof(CHUNKS[0]))

static int teardown_chunks(void **state)
{
	cf_audit_verify_set_chunk_for_tests(0, 0);
	return teardown(state);
}

static void test_chunked_untouched_trail_verifies(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	uint8_t root[32];
	char want_hex[65];

	build_trail(f, f->signer);
	root_of(f, N_ENTRIES, root);
	hex32(root, want_hex);
	for (size_t i = 0; i < N_CHUNKS; i++) {
		verify_chunked(f, CHUNKS[i], 0, &f->v, f->notes[1], &rep);
		if (!rep.ok)
			fail_msg("chunks of %zu: %s", CHUNKS[i], rep.problem);
		assert_int_equal(rep.entries, N_ENTRIES);
		assert_int_equal(rep.checkpoints, N_CK);
		assert_int_equal(rep.latest_checkpoint, N_ENTRIES);
		assert_int_equal(rep.external_size, CK_SIZES[1]);
		assert_int_equal(rep.first_bad_index, -1);
		assert_string_equal(rep.root_hex, want_hex);
	}
	/* chunks closed by their bytes: about 10 test entries (of some 90 bytes) per chunk, inline and threaded */
	verify_chunked(f, 0, 1000, &f->v, NULL, &rep);
	assert_true(rep.ok);
	assert_string_equal(rep.root_hex, want_hex);
	verify_chunked(f, 299, 1000, &f->v, NULL, &rep);
	assert_true(rep.ok);
	assert_string_equal(rep.root_hex, want_hex);
	/* every entry larger than a chunk's bytes: one entry per chunk */
	verify_chunked(f, 299, 1, &f->v, NULL, &rep);
	assert_true(rep.ok);
	assert_string_equal(rep.root_hex, want_hex);
}

/* One entry more than a multiple of the chunk: the last chunk holds only entry 300. */
static void test_chunked_one_more_than_a_multiple(void **state)
{
	static const size_t sizes[] = {1, 3, 4, 100, 150, 300, 301, 302};
	fx *f = *state;
	cf_verify_report rep;
	uint8_t root[32];
	char want_hex[65];

	build_trail(f, f->signer);
	append_range(f, f->signer, N_ENTRIES, N_ENTRIES + 1);
	root_of(f, N_ENTRIES + 1, root);
	hex32(root, want_hex);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_true(rep.ok);
		assert_int_equal(rep.entries, N_ENTRIES + 1);
		assert_string_equal(rep.root_hex, want_hex);
	}
	/* the last entry, alone in its chunk, changed */
	change_entry(f, N_ENTRIES);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, N_ENTRIES);
		assert_string_equal(rep.problem, "entry 300 was changed: its bytes do not match its leaf hash");
	}
}

/* With chunks of 3, entry 123 opens chunk 41 and 125 closes it; 0 opens the trail and 299 closes it. */
static void test_chunked_tamper_at_chunk_edges(void **state)
{
	static const size_t sizes[] = {3, 1, 2, 299, 300, 0};
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	change_entry(f, 299); /* the trail's last entry, the last of a chunk (300 = 100 * 3) */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, 299);
		assert_string_equal(rep.problem, "entry 299 was changed: its bytes do not match its leaf hash");
	}
	change_entry(f, 125); /* last of chunk 41 */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_int_equal(rep.first_bad_index, 125);
		assert_string_equal(rep.problem, "entry 125 was changed: its bytes do not match its leaf hash");
	}
	change_entry(f, 123); /* first of chunk 41 */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_int_equal(rep.first_bad_index, 123);
		assert_string_equal(rep.problem, "entry 123 was changed: its bytes do not match its leaf hash");
	}
	change_entry(f, 0); /* the very first */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_int_equal(rep.first_bad_index, 0);
		assert_string_equal(rep.problem, "entry 0 was changed: its bytes do not match its leaf hash");
	}
}

/* Rows 41 and 42 swapped with their leaves: with chunks of 3 they sit on both sides of a boundary. */
static void test_chunked_swap_across_a_boundary(void **state)
{
	static const size_t sizes[] = {3, 1, 42, 0};
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	tamper(f, "DROP TRIGGER audit_no_update;"
		  "CREATE TEMP TABLE keep AS SELECT idx, entry, leaf FROM audit WHERE idx IN (41, 42);"
		  "UPDATE audit SET entry = (SELECT entry FROM keep WHERE keep.idx = 83 - audit.idx),"
		  " leaf = (SELECT leaf FROM keep WHERE keep.idx = 83 - audit.idx) WHERE idx IN (41, 42);");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, 41);
		assert_string_equal(rep.problem, "entry 41 is out of place: it states index 42");
	}
}

/*
 * Entry 128 and its leaf rewritten: node (1, 64) over leaves 128 and 129 is
 * completed by leaf 129, which with chunks of 3 is in the chunk after 128's.
 */
static void test_chunked_node_completed_in_the_next_chunk(void **state)
{
	static const size_t sizes[] = {3, 1, 129, 0};
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	rewrite_entry_and_leaf(f, 128, "\"n\":", "\"m\":");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, 128);
		assert_string_equal(rep.problem, "tree node (level 1, index 64) does not match the entries: an entry "
						 "between index 128 and 129 was changed, removed or reordered");
	}
}

/*
 * Stated indexes read as strtoll reads them, within the entry's bytes:
 * each entry rewritten with a matching leaf, from the highest index down so
 * that each rewrite becomes the first problem. Whitespace and a plus sign
 * are skipped (the index is right; only the nodes catch the rewrite); a
 * sign, an overflow either way, a quoted number and a missing member are
 * named.
 */
static void test_stated_index_forms(void **state)
{
	static const size_t sizes[] = {3, 1, 0};
	static const struct {
		int64_t index;
		const char *from, *to;
		int64_t first_bad;
		const char *problem;
	} cases[] = {
		{17, "\"index\":17,", "\"index\": \t17,", 16,
		 "tree node (level 1, index 8) does not match the entries: an entry between index 16 and 17 was changed, "
		 "removed or reordered"},
		{13, "\"index\":13,", "\"index\":+13,", 12,
		 "tree node (level 1, index 6) does not match the entries: an entry between index 12 and 13 was changed, "
		 "removed or reordered"},
		{11, "\"index\":11,", "\"index\":-99999999999999999999,", 11,
		 "entry 11 is out of place: it states index -9223372036854775808"},
		{9, "\"index\":9,", "\"index\":\"9\",", 9, "entry 9 is out of place: it states index -1"},
		{8, "\"index\":8,", "\"index\":99999999999999999999,", 8,
		 "entry 8 is out of place: it states index 9223372036854775807"},
		{7, "\"index\":7,", "\"index\":-7,", 7, "entry 7 is out of place: it states index -7"},
		{5, "\"index\":5,", "\"indey\":5,", 5, "entry 5 is out of place: it states index -1"},
	};
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		rewrite_entry_and_leaf(f, cases[c].index, cases[c].from, cases[c].to);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
			assert_false(rep.ok);
			assert_int_equal(rep.first_bad_index, cases[c].first_bad);
			assert_string_equal(rep.problem, cases[c].problem);
		}
	}
}

/* Missing nodes of levels whose nodes span many chunks; the first one in pass order is named. */
static void test_chunked_missing_nodes(void **state)
{
	static const size_t sizes[] = {3, 1, 7, 64, 100, 0};
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	delete_node(f, 6, 2); /* leaves 128..191, completed by leaf 191 */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, 128);
		assert_string_equal(rep.problem, "tree node (level 6, index 2) is missing: an entry between index 128 "
						 "and 191 was changed, removed or reordered");
	}
	delete_node(f, 1, 64); /* leaves 128..129: completed before node (6, 2), so named instead */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_int_equal(rep.first_bad_index, 128);
		assert_string_equal(rep.problem, "tree node (level 1, index 64) is missing: an entry between index 128 "
						 "and 129 was changed, removed or reordered");
	}
}

/* The last node of level 1 gone: its cursor runs out in the last chunk. */
static void test_chunked_last_node_missing(void **state)
{
	static const size_t sizes[] = {3, 1, 2, 299, 0};
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	delete_node(f, 1, 149); /* leaves 298..299, the last level-1 node of 300 entries */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, 298);
		assert_string_equal(rep.problem, "tree node (level 1, index 149) is missing: an entry between index 298 "
						 "and 299 was changed, removed or reordered");
	}
}

/*
 * A stored node hash of the wrong length (CHECK constraints off, as an
 * attacker with the file can): the cursor cannot read it, which is a
 * verdict naming the node, as before the pass was split.
 */
static void test_chunked_malformed_node(void **state)
{
	static const size_t sizes[] = {3, 1, 0};
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	tamper(f, "PRAGMA ignore_check_constraints = ON; DROP TRIGGER audit_nodes_no_update;"
		  "UPDATE audit_nodes SET hash = zeroblob(31) WHERE level = 2 AND idx = 20;");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		verify_chunked(f, sizes[i], 0, &f->v, NULL, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, 80);
		assert_string_equal(rep.problem, "tree node (level 2, index 20) is missing: an entry between index 80 "
						 "and 83 was changed, removed or reordered");
	}
}

/*
 * Checkpoint roots checked inside a chunk and at its edges: the stored
 * root of size 150 zeroed, without a key (with one the note catches it
 * first). With chunks of 3, size 50 falls inside a chunk and 150 at an
 * edge; with 7, 50 ends the chunk's first entry and 150 its third; with 25
 * and 50 both are edges.
 */
static void test_chunked_checkpoint_edges(void **state)
{
	fx *f = *state;
	cf_verify_report rep;
	uint8_t root[32];
	char *ext;

	build_trail(f, f->signer);
	/* a correct external checkpoint at 200, and a forked one at 200 */
	root_of(f, 200, root);
	ext = sign_at(f, f->signer, 200, root, false);
	for (size_t i = 0; i < N_CHUNKS; i++) {
		verify_chunked(f, CHUNKS[i], 0, &f->v, ext, &rep);
		assert_true(rep.ok);
		assert_int_equal(rep.external_size, 200);
	}
	free(ext);
	memset(root, 0xab, sizeof(root));
	ext = sign_at(f, f->signer, 200, root, false);
	for (size_t i = 0; i < N_CHUNKS; i++) {
		verify_chunked(f, CHUNKS[i], 0, &f->v, ext, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, 150);
		assert_string_equal(rep.problem, "the entries do not match the signed checkpoint of size 200: an entry at "
						 "or after index 150 and before 200 was changed, removed or reordered");
	}
	free(ext);

	tamper(f, "DROP TRIGGER checkpoints_no_update; UPDATE checkpoints SET root = zeroblob(32) WHERE size = 150;");
	for (size_t i = 0; i < N_CHUNKS; i++) {
		verify_chunked(f, CHUNKS[i], 0, NULL, NULL, &rep);
		assert_false(rep.ok);
		assert_int_equal(rep.first_bad_index, 50);
		assert_string_equal(rep.problem, "the entries do not match the signed checkpoint of size 150: an entry at "
						 "or after index 50 and before 150 was changed, removed or reordered");
	}
	tamper(f, "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 50;");
	for (size_t i = 0; i < N_CHUNKS; i++) {
		verify_chunked(f, CHUNKS[i], 0, NULL, NULL, &rep);
		assert_int_equal(rep.first_bad_index, 0);
		assert_string_equal(rep.problem, "the entries do not match the signed checkpoint of size 50: an entry at "
						 "or after index 0 and before 50 was changed, removed or reordered");
	}
}

/*
 * A stored leaf of the wrong length at 200: the store's scan fails in the
 * middle of the pass. Verification does not run (an error, not a verdict),
 * the hashing thread stops, and the store is usable afterwards.
 */
static void test_chunked_store_failure_stops_the_pass(void **state)
{
	static const size_t sizes[] = {3, 1, 199, 200, 201, 0};
	fx *f = *state;
	cf_verify_report rep;

	build_trail(f, f->signer);
	tamper(f, "PRAGMA ignore_check_constraints = ON; DROP TRIGGER audit_no_update;"
		  "UPDATE audit SET leaf = zeroblob(31) WHERE idx = 200;");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cf_err err = {0};

		cf_audit_verify_set_chunk_for_tests(sizes[i], 0);
		assert_int_equal(cf_audit_verify(f->s, &f->v, NULL, 0, &rep, &err), CF_EINTEGRITY);
		cf_audit_verify_set_chunk_for_tests(0, 0);
		assert_int_equal(err.problem, CF_P_INTEGRITY);
		assert_string_equal(err.detail, "store: a stored audit hash is malformed");
	}
	assert_int_equal(count_of(f), N_ENTRIES);
}

static int chunks_of_3(void **state)
{
	cf_audit_verify_set_chunk_for_tests(3, 0);
	return 0;
}

/* Chunks closed by a byte cap smaller than any entry: one entry each. */
static int chunks_of_1_byte(void **state)
{
	cf_audit_verify_set_chunk_for_tests(2, 1);
	return 0;
}

static int default_chunks(void **state)
{
	cf_audit_verify_set_chunk_for_tests(0, 0);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_untouched_trail_verifies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_trail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_without_key_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_byte_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_and_leaf_rewritten, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rows_swapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_middle_row_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_node_of_a_level_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_checkpoint_note_tampered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stored_checkpoint_root_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_checkpoints_by_other_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_by_other_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_larger_than_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_of_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_garbage, setup, teardown),
	};
	const struct CMUnitTest chunk_tests[] = {
		cmocka_unit_test_setup_teardown(test_chunked_untouched_trail_verifies, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_one_more_than_a_multiple, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_tamper_at_chunk_edges, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_swap_across_a_boundary, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_node_completed_in_the_next_chunk, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_stated_index_forms, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_missing_nodes, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_last_node_missing, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_malformed_node, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_checkpoint_edges, setup, teardown_chunks),
		cmocka_unit_test_setup_teardown(test_chunked_store_failure_stops_the_pass, setup, teardown_chunks),
	};
	int failed = 0;

	failed += cmocka_run_group_tests_name("verify", tests, default_chunks, default_chunks);
	failed += cmocka_run_group_tests_name("verify, chunks of 3 entries", tests, chunks_of_3, default_chunks);
	failed += cmocka_run_group_tests_name("verify, chunks of one entry", tests, chunks_of_1_byte, default_chunks);
	failed += cmocka_run_group_tests_name("verify across chunk boundaries", chunk_tests, NULL, NULL);
	return failed;
}

/*
 * test_audit.c - audit entries: the exact canonical bytes built from an
 * actor, an action, a resource and an outcome under a fixed clock;
 * NULL members left out; roles copied, not borrowed; appending into a real
 * store numbers entries 0, 1, 2 and stores exactly the canonical bytes; and
 * any refusal of the store becomes CF_EAUDIT / audit-unavailable (fail
 * closed), with nothing appended.
 *
 * Each store test works in its own mkdtemp directory, removed afterwards.
 * Expected entries are written out whole, byte for byte.
 */
#include "common/cf.h"
#include "audit/audit.h"
#include "common/json.h"
#include "store/store.h"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

/* ---- helpers ---------------------------------------------------------- */

/* 2023-11-14T22:13:20.123456Z */
#define T0 1700000000123456LL
#define T0_TEXT "2023-11-14T22:13:20.123456Z"

static int64_t fake_now(void *ctx)
{
	return *(const int64_t *)ctx;
}

/* Counts up from the byte ctx points to: predictable, never used for secrets here. */
static void counting_random(void *ctx, void *buf, size_t len)
{
	uint8_t *c = ctx, *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (*c)++;
}

typedef struct fx {
	char dir[64];
	int64_t clock;
	uint8_t rng;
	cf_env env;
	cf_store *s;
	json_t *roles;
	cf_actor actor;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->clock = T0;
	f->env = (cf_env){fake_now, &f->clock, counting_random, &f->rng};
	f->roles = json_pack("[s,s]", "clerk", "auditor");
	assert_non_null(f->roles);
	f->actor = (cf_actor){.user = "alice",
			      .org = "acme",
			      .roles = f->roles,
			      .auth = "password",
			      .ip = "192.0.2.7",
			      .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"};
	*state = f;
	return 0;
}

static int setup_store(void **state)
{
	fx *f;
	cf_err err = {0};
	cf_rc rc;

	setup(state);
	f = *state;
	memcpy(f->dir, "/tmp/cf_audit_test_XXXXXX", sizeof("/tmp/cf_audit_test_XXXXXX"));
	assert_non_null(mkdtemp(f->dir));
	rc = cf_store_open(f->dir, &f->env, NULL, &f->s, &err);
	if (rc != CF_OK)
		fail_msg("cf_store_open: %d %s", rc, err.detail);
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	if (f->s != NULL)
		cf_store_close(f->s);
	if (f->dir[0] != '\0')
		remove_dir(f->dir);
	json_decref(f->roles);
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

/*
 * The stored bytes of entry `index`. The store's audit_get grew a leaf-hash
 * out-parameter with the Merkle trail (CF_HASH_LEN marks that version);
 * this test reads only the bytes either way.
 */
static cf_rc audit_get(cf_tx *tx, int64_t index, char **entry, size_t *len, cf_err *err)
{
#ifdef CF_HASH_LEN
	return cf_st_audit_get(tx, index, entry, len, NULL, err);
#else
	return cf_st_audit_get(tx, index, entry, len, err);
#endif
}

static int64_t audit_count(fx *f)
{
	cf_err err = {0};
	int64_t n = -1;
	cf_tx *tx = begin(f, false);

	if (cf_st_audit_count(tx, &n, &err) != CF_OK)
		fail_msg("cf_st_audit_count: %s", err.detail);
	cf_tx_rollback(tx);
	return n;
}

/* Canonical text of e (compared whole by the caller). */
static char *dump(const json_t *e)
{
	char *s = cf_json_dump_canonical(e);
	assert_non_null(s);
	return s;
}

#define ACTOR_TEXT                                                                                                   \
	"\"actor\":{\"auth\":\"password\",\"ip\":\"192.0.2.7\",\"org\":\"acme\",\"roles\":[\"clerk\",\"auditor\"]," \
	"\"user\":\"alice\"}"

/* ---- building entries --------------------------------------------------- */

static void test_entry_new_exact(void **state)
{
	fx *f = *state;
	json_t *e = cf_audit_entry_new(&f->env, &f->actor, "record.read");
	char *s;

	assert_non_null(e);
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"record.read\"," ACTOR_TEXT ",\"time\":\"" T0_TEXT "\","
			       "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}");
	free(s);

	/* resource, purpose, legal basis, fields, outcome */
	cf_audit_set_resource(e, "acme", "patients", "rec-1", "psn-9f2c");
	cf_audit_set(e, "purpose", "care");
	cf_audit_set(e, "legal_basis", "art6-1-e");
	cf_audit_outcome(e, true, NULL);
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"record.read\"," ACTOR_TEXT ",\"legal_basis\":\"art6-1-e\","
			       "\"outcome\":\"allowed\",\"purpose\":\"care\","
			       "\"resource\":{\"collection\":\"patients\",\"org\":\"acme\",\"record\":\"rec-1\","
			       "\"subject\":\"psn-9f2c\"},"
			       "\"time\":\"" T0_TEXT "\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}");
	free(s);
	json_decref(e);

	/* the time is the injected clock's, at microsecond precision */
	f->clock = 951782400000001LL;
	e = cf_audit_entry_new(&f->env, NULL, "sys.unseal");
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"sys.unseal\",\"actor\":{},\"time\":\"2000-02-29T00:00:00.000001Z\"}");
	free(s);
	json_decref(e);
}

static void test_entry_outcomes(void **state)
{
	fx *f = *state;
	json_t *e;
	char *s;

	/* denied with a reason */
	e = cf_audit_entry_new(&f->env, NULL, "record.read");
	cf_audit_outcome(e, false, "field-not-granted");
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"record.read\",\"actor\":{},\"outcome\":\"denied\","
			       "\"reason\":\"field-not-granted\",\"time\":\"" T0_TEXT "\"}");
	free(s);
	json_decref(e);

	/* denied without one, or with an empty one: no reason member */
	e = cf_audit_entry_new(&f->env, NULL, "record.read");
	cf_audit_outcome(e, false, NULL);
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"record.read\",\"actor\":{},\"outcome\":\"denied\",\"time\":\"" T0_TEXT "\"}");
	free(s);
	cf_audit_outcome(e, false, "");
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"record.read\",\"actor\":{},\"outcome\":\"denied\",\"time\":\"" T0_TEXT "\"}");
	free(s);
	json_decref(e);

	/* allowed never carries a reason, even when given one */
	e = cf_audit_entry_new(&f->env, NULL, "record.read");
	cf_audit_outcome(e, true, "ignored");
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"record.read\",\"actor\":{},\"outcome\":\"allowed\",\"time\":\"" T0_TEXT "\"}");
	free(s);
	json_decref(e);
}

static void test_entry_null_members(void **state)
{
	fx *f = *state;
	cf_actor partial = {.user = "bob", .ip = "2001:db8::1"};
	json_t *e;
	char *s;

	/* unknown actor members are left out, not written as null */
	e = cf_audit_entry_new(&f->env, &partial, "auth.login");
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"auth.login\",\"actor\":{\"ip\":\"2001:db8::1\",\"user\":\"bob\"},"
			       "\"time\":\"" T0_TEXT "\"}");
	free(s);

	/* NULL resource members are left out; all NULL gives an empty object */
	cf_audit_set_resource(e, "acme", NULL, NULL, "psn-1");
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"auth.login\",\"actor\":{\"ip\":\"2001:db8::1\",\"user\":\"bob\"},"
			       "\"resource\":{\"org\":\"acme\",\"subject\":\"psn-1\"},\"time\":\"" T0_TEXT "\"}");
	free(s);
	cf_audit_set_resource(e, NULL, NULL, NULL, NULL);
	cf_audit_set(e, "purpose", NULL);
	s = dump(e);
	assert_string_equal(s, "{\"action\":\"auth.login\",\"actor\":{\"ip\":\"2001:db8::1\",\"user\":\"bob\"},"
			       "\"resource\":{},\"time\":\"" T0_TEXT "\"}");
	free(s);
	json_decref(e);

	/* no action, no actor: only the time and an empty actor */
	e = cf_audit_entry_new(&f->env, NULL, NULL);
	s = dump(e);
	assert_string_equal(s, "{\"actor\":{},\"time\":\"" T0_TEXT "\"}");
	free(s);
	json_decref(e);

	/* an all-NULL actor is the same as none */
	{
		cf_actor none = {0};
		e = cf_audit_entry_new(&f->env, &none, "x");
		s = dump(e);
		assert_string_equal(s, "{\"action\":\"x\",\"actor\":{},\"time\":\"" T0_TEXT "\"}");
		free(s);
		json_decref(e);
	}
}

static void test_entry_roles_copied(void **state)
{
	fx *f = *state;
	json_t *e = cf_audit_entry_new(&f->env, &f->actor, "org.get");
	char *s;

	/* changing the caller's roles afterwards does not change the entry */
	assert_int_equal(json_array_append_new(f->roles, json_string("admin")), 0);
	assert_int_equal(json_array_set_new(f->roles, 0, json_string("changed")), 0);
	s = dump(e);
	assert_non_null(strstr(s, "\"roles\":[\"clerk\",\"auditor\"]"));
	free(s);
	json_decref(e);
	/* and the entry dropped its copy: the caller's reference count is untouched */
	assert_int_equal(f->roles->refcount, 1);
}

/* ---- appending ---------------------------------------------------------- */

/*
 * The expected stored text: head (through the actor member), then the
 * "index" member when the audit module records the entry's position in the
 * entry itself (it sorts right after "actor"), then the tail.
 */
static char *expected(const char *head, const json_t *e, int64_t idx, const char *tail)
{
	char *s = malloc(1024);
	const json_t *ji = json_object_get(e, "index");

	assert_non_null(s);
	if (ji != NULL) {
		assert_true(json_is_integer(ji));
		assert_int_equal(json_integer_value(ji), idx);
		assert_int_equal(cf_snprintf(s, 1024, "%s,\"index\":%lld%s", head, (long long)idx, tail), CF_OK);
	} else {
		assert_int_equal(cf_snprintf(s, 1024, "%s%s", head, tail), CF_OK);
	}
	return s;
}

static void test_append_indexes_and_bytes(void **state)
{
	fx *f = *state;
	static const char *heads[] = {
		"{\"action\":\"org.create\"," ACTOR_TEXT,
		"{\"action\":\"user.add\"," ACTOR_TEXT,
		"{\"action\":\"record.read\"," ACTOR_TEXT,
	};
	static const char *tails[] = {
		",\"outcome\":\"allowed\",\"resource\":{\"org\":\"acme\"},"
		"\"time\":\"2023-11-14T22:13:20.123456Z\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}",
		",\"outcome\":\"denied\",\"reason\":\"forbidden\",\"resource\":{\"org\":\"acme\"},"
		"\"time\":\"2023-11-14T22:13:20.123457Z\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}",
		",\"outcome\":\"allowed\",\"purpose\":\"care\",\"resource\":{\"collection\":\"patients\","
		"\"org\":\"acme\",\"record\":\"rec-1\",\"subject\":\"psn-9f2c\"},"
		"\"time\":\"2023-11-14T22:13:20.123458Z\",\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\"}",
	};
	char *want[3];
	cf_err err = {0};
	cf_tx *tx;

	/* three entries in one transaction: 0, 1, 2 */
	tx = begin(f, true);
	for (int i = 0; i < 3; i++) {
		json_t *e;
		int64_t idx = -7;
		char *after;
		f->clock = T0 + i;
		e = cf_audit_entry_new(&f->env, &f->actor, i == 0 ? "org.create" : i == 1 ? "user.add" : "record.read");
		cf_audit_set_resource(e, "acme", i == 2 ? "patients" : NULL, i == 2 ? "rec-1" : NULL,
				      i == 2 ? "psn-9f2c" : NULL);
		if (i == 2)
			cf_audit_set(e, "purpose", "care");
		cf_audit_outcome(e, i != 1, i == 1 ? "forbidden" : NULL);
		if (cf_audit_append(tx, e, &idx, &err) != CF_OK)
			fail_msg("cf_audit_append: %s", err.detail);
		assert_int_equal(idx, i);
		want[i] = expected(heads[i], e, idx, tails[i]);
		/* what was stored is the canonical text of the entry as it stands after the append */
		after = dump(e);
		assert_string_equal(after, want[i]);
		free(after);
		json_decref(e);
	}
	commit(tx);

	/* the store holds exactly those bytes, no more (no terminator, no newline) */
	tx = begin(f, false);
	for (int i = 0; i < 3; i++) {
		char *got = NULL;
		size_t len = 0;
		if (audit_get(tx, i, &got, &len, &err) != CF_OK)
			fail_msg("cf_st_audit_get %d: %s", i, err.detail);
		assert_int_equal(len, strlen(want[i]));
		assert_memory_equal(got, want[i], len);
		free(got);
		free(want[i]);
	}
	{
		char *got = NULL;
		size_t len = 0;
		assert_int_equal(audit_get(tx, 3, &got, &len, &err), CF_ENOTFOUND);
		assert_null(got);
	}
	cf_tx_rollback(tx);
	assert_int_equal(audit_count(f), 3);

	/* numbering goes on in a later transaction; a NULL index_out and err are fine */
	tx = begin(f, true);
	{
		json_t *e = cf_audit_entry_new(&f->env, NULL, "auth.logout");
		int64_t idx = -1;
		assert_int_equal(cf_audit_append(tx, e, &idx, NULL), CF_OK);
		assert_int_equal(idx, 3);
		assert_int_equal(cf_audit_append(tx, e, NULL, &err), CF_OK);
		json_decref(e);
	}
	commit(tx);
	assert_int_equal(audit_count(f), 5);
}

static void test_append_rolled_back(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	int64_t idx = -1;
	json_t *e = cf_audit_entry_new(&f->env, &f->actor, "record.delete");
	cf_tx *tx = begin(f, true);

	/* an entry in a transaction that is rolled back is gone, and its index is reused */
	assert_int_equal(cf_audit_append(tx, e, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);
	cf_tx_rollback(tx);
	assert_int_equal(audit_count(f), 0);

	tx = begin(f, true);
	assert_int_equal(cf_audit_append(tx, e, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);
	commit(tx);
	assert_int_equal(audit_count(f), 1);
	json_decref(e);
}

static void test_append_refused(void **state)
{
	fx *f = *state;
	cf_err err = {0};
	int64_t idx = 42;
	json_t *e = cf_audit_entry_new(&f->env, &f->actor, "record.read");
	cf_tx *tx;

	/* the store refuses a write in a read transaction: fail closed as audit-unavailable */
	tx = begin(f, false);
	memset(&err, 0, sizeof(err));
	assert_int_equal(cf_audit_append(tx, e, &idx, &err), CF_EAUDIT);
	assert_int_equal(err.rc, CF_EAUDIT);
	assert_int_equal(err.problem, CF_P_AUDIT_UNAVAILABLE);
	assert_string_equal(err.detail, "the audit trail cannot be written");
	assert_true(idx == 42 || idx == -1); /* never a position in the trail */
	/* NULL err: still the same rc */
	assert_int_equal(cf_audit_append(tx, e, NULL, NULL), CF_EAUDIT);
	cf_tx_rollback(tx);
	assert_int_equal(audit_count(f), 0);

	/* no entry at all (allocation failed upstream) */
	tx = begin(f, true);
	cf_err_clear(&err);
	assert_int_equal(cf_audit_append(tx, NULL, &idx, &err), CF_EAUDIT);
	assert_int_equal(err.problem, CF_P_AUDIT_UNAVAILABLE);
	assert_string_equal(err.detail, "audit entry could not be built");
	cf_tx_rollback(tx);
	assert_int_equal(audit_count(f), 0);

	/* the problem maps to 503 */
	assert_int_equal(cf_problem_get(err.problem)->status, 503);
	json_decref(e);
}

/* Reads entry idx back and compares it with the canonical text of e stating that index. */
static void assert_stored_as(fx *f, int64_t idx, json_t *e)
{
	cf_err err = {0};
	char *got = NULL, *want;
	size_t len = 0;
	cf_tx *tx = begin(f, false);

	assert_int_equal(json_object_set_new(e, "index", json_integer(idx)), 0);
	want = dump(e);
	if (audit_get(tx, idx, &got, &len, &err) != CF_OK)
		fail_msg("cf_st_audit_get %lld: %s", (long long)idx, err.detail);
	cf_tx_rollback(tx);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
}

static void test_append_encoded(void **state)
{
	fx *f = *state;
	cf_audit_encoded enc[3];
	json_t *e[3];
	char *long_reason = malloc(5000);
	cf_err err = {0};
	cf_tx *tx;

	/* eleven entries first: the encoded ones take positions of two digits */
	tx = begin(f, true);
	for (int i = 0; i < 11; i++) {
		json_t *x = cf_audit_entry_new(&f->env, &f->actor, "auth.login");
		assert_int_equal(cf_audit_append(tx, x, NULL, &err), CF_OK);
		json_decref(x);
	}
	commit(tx);

	/* encoded off the transaction, appended in it: the bytes are the canonical text with the position */
	memset(long_reason, 'r', 4999);
	long_reason[4999] = '\0';
	for (int i = 0; i < 3; i++) {
		e[i] = cf_audit_entry_new(&f->env, &f->actor, "record.read");
		cf_audit_set_resource(e[i], "acme", "patients", "rec-1", "psn-9f2c");
		/* a member sorted before "index" whose text quotes it: escaped, so it is not the slot */
		cf_audit_set(e[i], "action", i == 1 ? "x\"index\":0" : "record.read");
		cf_audit_outcome(e[i], i != 2, i == 2 ? long_reason : NULL); /* past the append's stack buffer */
		if (cf_audit_encode(e[i], &enc[i], &err) != CF_OK)
			fail_msg("cf_audit_encode: %s", err.detail);
		assert_int_equal(enc[i].bytes[enc[i].slot], '0');
		assert_string_equal(enc[i].meta.resource_org, "acme");
		assert_string_equal(enc[i].meta.subject, "psn-9f2c");
	}
	tx = begin(f, true);
	for (int i = 0; i < 3; i++) {
		int64_t idx = -1;
		if (cf_audit_append_encoded(tx, &enc[i], &idx, &err) != CF_OK)
			fail_msg("cf_audit_append_encoded: %s", err.detail);
		assert_int_equal(idx, 11 + i);
	}
	commit(tx);
	for (int i = 0; i < 3; i++) {
		assert_stored_as(f, 11 + i, e[i]);
		cf_audit_encoded_free(&enc[i]);
		assert_null(enc[i].bytes);
		json_decref(e[i]);
	}
	free(long_reason);
	assert_int_equal(audit_count(f), 14);
}

/*
 * An encoding owns what the append needs: its entry may be released first
 * (on the submitter's thread, before the writer appends it), and the row
 * is still filed under the entry's organizations and subject.
 */
static void test_encoded_outlives_its_entry(void **state)
{
	fx *f = *state;
	cf_audit_encoded enc;
	json_t *e = cf_audit_entry_new(&f->env, &f->actor, "record.read"), *other, *got = NULL;
	cf_err err = {0};
	int64_t idx = -1;
	cf_tx *tx;

	cf_audit_set_resource(e, "acme", "patients", "rec-1", "psn-9f2c");
	cf_audit_outcome(e, true, NULL);
	assert_int_equal(cf_audit_encode(e, &enc, &err), CF_OK);
	json_decref(e);
	/* what the entry's memory now holds is someone else's */
	other = cf_audit_entry_new(&f->env, &f->actor, "record.read");
	cf_audit_set_resource(other, "zeta", "patients", "rec-2", "psn-0000");
	assert_string_equal(enc.meta.resource_org, "acme");
	assert_string_equal(enc.meta.subject, "psn-9f2c");
	tx = begin(f, true);
	assert_int_equal(cf_audit_append_encoded(tx, &enc, &idx, &err), CF_OK);
	assert_int_equal(idx, 0);
	assert_int_equal(cf_st_audit_by_subject(tx, "acme", "psn-9f2c", 10, &got, &err), CF_OK);
	assert_int_equal(json_array_size(got), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(got, 0), "index")), 0);
	json_decref(got);
	assert_int_equal(cf_st_audit_by_subject(tx, "zeta", "psn-0000", 10, &got, &err), CF_OK);
	assert_int_equal(json_array_size(got), 0);
	json_decref(got);
	commit(tx);
	json_decref(other);
	cf_audit_encoded_free(&enc);
}

static void test_append_encoded_refused(void **state)
{
	fx *f = *state;
	cf_audit_encoded enc;
	cf_err err = {0};
	json_t *e;
	cf_tx *tx;

	/* not an object, or none at all */
	e = json_array();
	assert_int_equal(cf_audit_encode(e, &enc, &err), CF_EAUDIT);
	assert_string_equal(err.detail, "audit entry could not be built");
	assert_null(enc.bytes);
	json_decref(e);
	assert_int_equal(cf_audit_encode(NULL, &enc, NULL), CF_EAUDIT);

	/* a nested "index" ahead of the entry's own would be read as its position: refused */
	e = cf_audit_entry_new(&f->env, &f->actor, "record.read");
	json_object_set_new(json_object_get(e, "actor"), "index", json_integer(0));
	cf_err_clear(&err);
	assert_int_equal(cf_audit_encode(e, &enc, &err), CF_EAUDIT);
	assert_string_equal(err.detail, "audit entry could not be encoded");
	assert_int_equal(err.problem, CF_P_AUDIT_UNAVAILABLE);
	assert_null(enc.bytes);
	json_decref(e);

	/* one after it is only data: the entry's own comes first */
	e = cf_audit_entry_new(&f->env, &f->actor, "record.read");
	{
		json_t *r = json_object();
		json_object_set_new(r, "index", json_integer(0));
		json_object_set_new(e, "resource", r);
	}
	assert_int_equal(cf_audit_encode(e, &enc, &err), CF_OK);
	tx = begin(f, true);
	assert_int_equal(cf_audit_append_encoded(tx, &enc, NULL, &err), CF_OK);
	commit(tx);
	assert_stored_as(f, 0, e);

	/* an encoding whose slot no longer holds the 0 is refused, nothing appended */
	enc.slot--;
	tx = begin(f, true);
	cf_err_clear(&err);
	assert_int_equal(cf_audit_append_encoded(tx, &enc, NULL, &err), CF_EAUDIT);
	assert_string_equal(err.detail, "audit entry could not be built");
	assert_int_equal(cf_audit_append_encoded(tx, NULL, NULL, NULL), CF_EAUDIT);
	commit(tx);
	assert_int_equal(audit_count(f), 1);
	cf_audit_encoded_free(&enc);
	json_decref(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entry_new_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_outcomes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_null_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_roles_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_indexes_and_bytes, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_append_rolled_back, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_append_refused, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_append_encoded, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_encoded_outlives_its_entry, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_append_encoded_refused, setup_store, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

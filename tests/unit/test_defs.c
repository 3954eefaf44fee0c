/*
 * test_defs.c - the shared parses of collections and grants (vault_defs.c):
 * a parse is reused only for the exact text the request's transaction
 * read, a change is seen by the next transaction, what a request holds
 * outlives its replacement, and a damaged definition is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdir.h"

#include "common/cf.h"
#include "vault/vault_int.h"

#include <pthread.h>
#include <unistd.h>

#define OK(x) assert_int_equal((x), CF_OK)
#define N_WORKERS 4 /* threads of the last test, and the store's readers */

static const char PEOPLE_V1[] =
	"{\"fields\": {\"first_name\": {\"type\": \"string\", \"category\": \"identity\"}},"
	" \"purposes\": {\"social-aid\": {\"legal_basis\": \"art. 60\"}}, \"retention\": \"P10Y\"}";
static const char PEOPLE_V2[] =
	"{\"fields\": {\"first_name\": {\"type\": \"string\", \"category\": \"identity\"},"
	" \"iban\": {\"type\": \"string\", \"category\": \"financial\"}},"
	" \"purposes\": {\"social-aid\": {\"legal_basis\": \"art. 60\"}}, \"retention\": \"P10Y\"}";
static const char READ_ALL[] =
	"[{\"collection\": \"people\", \"actions\": [\"read\"], \"purposes\": [\"social-aid\"], \"fields\": [\"*\"]}]";

typedef struct fx {
	char dir[64];
	cf_store *s;
	vault_defs *c;
} fx;

static cf_tx *begin(fx *f, bool write)
{
	cf_err err = {0};
	cf_tx *tx = NULL;

	if (cf_store_begin(f->s, write, &tx, &err) != CF_OK)
		fail_msg("cf_store_begin: %s", err.detail);
	return tx;
}

static void put_collection(fx *f, const char *org, const char *name, const char *def)
{
	cf_tx *tx = begin(f, true);
	int64_t version = 0;

	OK(cf_st_collection_put(tx, org, name, def, 1, &version, NULL));
	OK(cf_tx_commit(tx, NULL));
}

static void put_grants(fx *f, const char *org, const char *role, const char *grants)
{
	cf_tx *tx = begin(f, true);

	OK(cf_st_grants_put(tx, org, role, grants, 1, NULL));
	OK(cf_tx_commit(tx, NULL));
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	cf_tx *tx;

	assert_non_null(f);
	memcpy(f->dir, "/tmp/cf_defs_test_XXXXXX", sizeof("/tmp/cf_defs_test_XXXXXX"));
	assert_non_null(mkdtemp(f->dir));
	OK(cf_store_open(f->dir, cf_env_system(), &(cf_store_options){.busy_timeout_ms = 2000, .readers = N_WORKERS},
			 &f->s, NULL));
	f->c = vault_defs_new();
	assert_non_null(f->c);
	tx = begin(f, true);
	OK(cf_st_org_insert(tx, "o1", "Org one", 1, NULL));
	OK(cf_st_org_insert(tx, "o2", "Org two", 1, NULL));
	OK(cf_tx_commit(tx, NULL));
	put_collection(f, "o1", "people", PEOPLE_V1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	vault_defs_free(f->c);
	cf_store_close(f->s);
	remove_dir(f->dir);
	free(f);
	return 0;
}

/* The same stored text: the same parse; another organization's collection of the same name: its own. */
static void test_same_text_shares_one_parse(void **state)
{
	fx *f = *state;
	const cf_collection *a = NULL, *b = NULL, *other = NULL;
	vault_def *ha = NULL, *hb = NULL, *ho = NULL;
	cf_tx *tx;

	put_collection(f, "o2", "people", PEOPLE_V2);
	tx = begin(f, false);
	OK(vault_collection_get(f->c, tx, "o1", "people", &a, &ha, NULL));
	OK(vault_collection_get(f->c, tx, "o1", "people", &b, &hb, NULL));
	OK(vault_collection_get(f->c, tx, "o2", "people", &other, &ho, NULL));
	cf_tx_rollback(tx);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, other);
	assert_int_equal(cf_collection_field_count(a), 1);
	assert_int_equal(cf_collection_field_count(other), 2);
	vault_def_release(f->c, ha);
	vault_def_release(f->c, hb);
	vault_def_release(f->c, ho);
}

/*
 * A changed definition is what the next transaction uses; a transaction
 * begun before the change still decides on what it read; the parse a
 * request holds stays valid after it was replaced (ASan checks the reads).
 */
static void test_a_change_is_seen_by_the_next_transaction(void **state)
{
	fx *f = *state;
	const cf_collection *old = NULL, *now = NULL, *again = NULL;
	vault_def *hold_old = NULL, *hold_now = NULL, *hold_again = NULL;
	cf_tx *before = begin(f, false), *after;

	OK(vault_collection_get(f->c, before, "o1", "people", &old, &hold_old, NULL));
	put_collection(f, "o1", "people", PEOPLE_V2);
	/* the open transaction's snapshot still holds version 1: it gets version 1 */
	OK(vault_collection_get(f->c, before, "o1", "people", &again, &hold_again, NULL));
	assert_int_equal(cf_collection_field_count(again), 1);
	cf_tx_rollback(before);
	after = begin(f, false);
	OK(vault_collection_get(f->c, after, "o1", "people", &now, &hold_now, NULL));
	cf_tx_rollback(after);
	assert_int_equal(cf_collection_field_count(now), 2);
	assert_non_null(cf_collection_field(now, "iban"));
	/* the replaced parse is intact while held */
	assert_int_equal(cf_collection_field_count(old), 1);
	assert_string_equal(cf_collection_name(old), "people");
	assert_null(cf_collection_field(old, "iban"));
	vault_def_release(f->c, hold_old);
	vault_def_release(f->c, hold_again);
	vault_def_release(f->c, hold_now);
}

/* Whether the grants of role "agent" in o1, as read now, let it read people for social aid. */
static bool agent_may_read(fx *f, const cf_collection *coll)
{
	const char *roles[1] = {"agent"};
	const cf_grant_set *g = NULL;
	cf_policy_input in = {0};
	cf_decision d = {0};
	vault_def *hg = NULL;
	cf_tx *tx = begin(f, false);
	bool allow;

	OK(vault_grants_get(f->c, tx, "o1", "agent", &g, &hg, NULL));
	cf_tx_rollback(tx);
	in.roles = roles;
	in.grants = &g;
	in.n_roles = 1;
	in.collection = coll;
	in.action = CF_ACT_READ;
	in.purpose = "social-aid";
	OK(cf_policy_decide(&in, &d));
	allow = d.allow;
	cf_decision_release(&d);
	vault_def_release(f->c, hg);
	return allow;
}

/* Grants: none declared is the empty set; granted then revoked is seen at once. */
static void test_grants_follow_the_store(void **state)
{
	fx *f = *state;
	const cf_collection *coll = NULL;
	vault_def *hc = NULL;
	cf_tx *tx = begin(f, false);

	OK(vault_collection_get(f->c, tx, "o1", "people", &coll, &hc, NULL));
	cf_tx_rollback(tx);
	assert_false(agent_may_read(f, coll));
	put_grants(f, "o1", "agent", READ_ALL);
	assert_true(agent_may_read(f, coll));
	assert_true(agent_may_read(f, coll));
	put_grants(f, "o1", "agent", "[]");
	assert_false(agent_may_read(f, coll));
	vault_def_release(f->c, hc);
}

/* A missing collection and an unreadable stored definition are refused, and nothing is kept of them. */
static void test_missing_and_damaged_are_refused(void **state)
{
	fx *f = *state;
	const cf_collection *coll = NULL;
	const cf_grant_set *g = NULL;
	vault_def *h = NULL;
	cf_err err = {0};
	cf_tx *tx;

	tx = begin(f, false);
	assert_int_equal(vault_collection_get(f->c, tx, "o1", "nothing", &coll, &h, &err), CF_ENOTFOUND);
	assert_int_equal(err.problem, CF_P_NOT_FOUND);
	assert_null(coll);
	assert_null(h);
	cf_tx_rollback(tx);

	put_collection(f, "o1", "broken", "{\"fields\": 3}");
	put_grants(f, "o1", "odd", "[{\"collection\": 7}]");
	for (int round = 0; round < 2; round++) {
		memset(&err, 0, sizeof(err));
		tx = begin(f, false);
		assert_int_not_equal(vault_collection_get(f->c, tx, "o1", "broken", &coll, &h, &err), CF_OK);
		assert_null(h);
		assert_int_not_equal(vault_grants_get(f->c, tx, "o1", "odd", &g, &h, &err), CF_OK);
		assert_null(h);
		cf_tx_rollback(tx);
	}
}

/*
 * More names than slots, from several threads, each holding what it got
 * while others replace it: every parse read is the right one, and every
 * entry is freed once (ASan and LeakSanitizer check).
 */
#define N_NAMES 700

typedef struct worker {
	fx *f;
	int seed;
	int wrong;
	cf_rc rc;
} worker;

static void *worker_main(void *arg)
{
	worker *w = arg;
	cf_tx *tx = begin(w->f, false);

	for (int i = 0; i < 3 * N_NAMES && w->rc == CF_OK; i++) {
		int k = (i * 7 + w->seed * 131) % N_NAMES;
		char name[32];
		const cf_collection *c = NULL, *c2 = NULL;
		vault_def *h = NULL, *h2 = NULL;

		(void)snprintf(name, sizeof(name), "c%d", k);
		w->rc = vault_collection_get(w->f->c, tx, "o1", name, &c, &h, NULL);
		if (w->rc != CF_OK)
			break;
		/* a neighbour that may take the same slot, while c is held */
		(void)snprintf(name, sizeof(name), "c%d", (k + 1) % N_NAMES);
		w->rc = vault_collection_get(w->f->c, tx, "o1", name, &c2, &h2, NULL);
		if (w->rc == CF_OK) {
			char want[32];
			(void)snprintf(want, sizeof(want), "c%d", k);
			w->wrong += strcmp(cf_collection_name(c), want) != 0;
			w->wrong += cf_collection_field_count(c) != (size_t)(k % 2 + 1);
			vault_def_release(w->f->c, h2);
		}
		vault_def_release(w->f->c, h);
	}
	cf_tx_rollback(tx);
	return NULL;
}

static void test_many_names_and_threads(void **state)
{
	fx *f = *state;
	cf_tx *tx = begin(f, true);
	pthread_t th[N_WORKERS];
	worker w[N_WORKERS];
	int64_t version = 0;

	for (int k = 0; k < N_NAMES; k++) {
		char name[32];
		(void)snprintf(name, sizeof(name), "c%d", k);
		OK(cf_st_collection_put(tx, "o1", name, k % 2 ? PEOPLE_V2 : PEOPLE_V1, 1, &version, NULL));
	}
	OK(cf_tx_commit(tx, NULL));
	for (int i = 0; i < N_WORKERS; i++) {
		w[i] = (worker){f, i, 0, CF_OK};
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < N_WORKERS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].rc, CF_OK);
		assert_int_equal(w[i].wrong, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_text_shares_one_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_change_is_seen_by_the_next_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grants_follow_the_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_damaged_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_names_and_threads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

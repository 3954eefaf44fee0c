/*
 * test_policy.c - grants parsing and checking, and the access decision:
 * hand-checked cases with exact reasons, then every combination of a
 * small matrix (role subsets x actions x purposes x written field sets)
 * against a reference model written from the specification with
 * hand-computed field masks. Then agreement grants and the shared-access
 * decision, each check of the documented order with its exact reason.
 */
#include "common/cf.h"
#include "policy/policy.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static json_t *J(const char *sq)
{
	size_t len = strlen(sq);
	char *buf = malloc(len + 1);
	json_error_t jerr;
	json_t *v;

	assert_non_null(buf);
	for (size_t i = 0; i <= len; i++)
		buf[i] = sq[i] == '\'' ? '"' : sq[i];
	v = json_loads(buf, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (v == NULL)
		fail_msg("bad test JSON: %s: %s", jerr.text, buf);
	free(buf);
	return v;
}

/* Fields in cf_collection_field_at order (sorted by name). */
enum { F_AID, F_DIAG, F_EMAIL, F_FIRST, F_IBAN, F_LAST, N_FIELDS };
static const char *const field_names[N_FIELDS] = {"aid_amount", "diagnosis", "email", "first_name", "iban", "last_name"};
#define ALL_FIELDS 0x3Fu
#define BIT(f) (1u << (f))

static const char SOCIAL_AID[] =
	"{'fields': {'first_name': {'type': 'string', 'category': 'identity', 'required': true},"
	" 'last_name': {'type': 'string', 'category': 'identity', 'required': true},"
	" 'aid_amount': {'type': 'integer', 'category': 'social'},"
	" 'diagnosis': {'type': 'string', 'category': 'health'},"
	" 'iban': {'type': 'string', 'category': 'financial'},"
	" 'email': {'type': 'email', 'category': 'contact'}},"
	" 'purposes': {'social-aid': {'legal_basis': 'organic law on welfare centres, art. 60'},"
	"              'audit': {'legal_basis': 'art. 89 internal control'},"
	"              'debt-mediation': {'legal_basis': 'law of 5 July 1998'}},"
	" 'retention': 'P10Y'}";

static const char HOUSING[] = "{'fields': {'address': {'type': 'string', 'category': 'housing'},"
			      " 'first_name': {'type': 'string', 'category': 'identity'}},"
			      " 'purposes': {'housing': {'legal_basis': 'housing code'}}, 'retention': 'P5Y'}";

/* The roles of the matrix and their grants, as JSON and as the reference model. */
enum { R_AGENT, R_AUDITOR, R_MEDIATOR, R_CLEANER, R_VIEWER, R_IDREADER, R_NOBODY, N_ROLES };
static const char *const role_names[N_ROLES] = {"agent", "auditor", "mediator", "cleaner", "viewer", "idreader", "nobody"};
static const char *const role_grants[N_ROLES] = {
	"[{'collection': 'social_aid', 'actions': ['read', 'write'], 'purposes': ['social-aid'], 'fields': ['*']}]",
	"[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit'], 'categories': ['identity']}]",
	"[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['debt-mediation'],"
	"  'fields': ['first_name', 'last_name'], 'categories': ['financial']},"
	" {'collection': 'social_aid', 'actions': ['write'], 'purposes': ['debt-mediation'], 'fields': ['iban']},"
	" {'collection': 'housing', 'actions': ['read', 'write', 'delete'], 'purposes': ['housing'], 'fields': ['*']}]",
	"[{'collection': 'social_aid', 'actions': ['delete'], 'purposes': ['social-aid'], 'fields': ['first_name']}]",
	"[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['social-aid'], 'fields': ['aid_amount']}]",
	"[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['social-aid', 'audit'],"
	"  'categories': ['identity', 'health']}]",
	NULL,
};

typedef struct mgrant {
	int role;
	bool social_aid; /* else the housing collection */
	unsigned acts;
	const char *purposes[3];
	unsigned mask; /* social_aid fields, computed by hand from fields and categories */
} mgrant;

static const mgrant model[] = {
	{R_AGENT, true, CF_ACT_READ | CF_ACT_WRITE, {"social-aid"}, ALL_FIELDS},
	{R_AUDITOR, true, CF_ACT_READ, {"audit"}, BIT(F_FIRST) | BIT(F_LAST)},
	{R_MEDIATOR, true, CF_ACT_READ, {"debt-mediation"}, BIT(F_FIRST) | BIT(F_LAST) | BIT(F_IBAN)},
	{R_MEDIATOR, true, CF_ACT_WRITE, {"debt-mediation"}, BIT(F_IBAN)},
	{R_MEDIATOR, false, CF_ACT_READ | CF_ACT_WRITE | CF_ACT_DELETE, {"housing"}, 0},
	{R_CLEANER, true, CF_ACT_DELETE, {"social-aid"}, BIT(F_FIRST)},
	{R_VIEWER, true, CF_ACT_READ, {"social-aid"}, BIT(F_AID)},
	{R_IDREADER, true, CF_ACT_READ, {"social-aid", "audit"}, BIT(F_FIRST) | BIT(F_LAST) | BIT(F_DIAG)},
};

static cf_collection *social, *housing;
static cf_grant_set *sets[N_ROLES];

static cf_collection *coll(const char *name, const char *sq)
{
	json_t *def = J(sq);
	cf_collection *c = NULL;
	cf_err err;

	if (cf_collection_parse(name, def, &c, &err) != CF_OK)
		fail_msg("collection refused: %s", err.detail);
	json_decref(def);
	return c;
}

static const cf_collection *lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "social_aid") == 0)
		return social;
	if (strcmp(name, "housing") == 0)
		return housing;
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	social = coll("social_aid", SOCIAL_AID);
	housing = coll("housing", HOUSING);
	for (int r = 0; r < N_ROLES; r++) {
		json_t *arr;
		cf_err err;

		if (role_grants[r] == NULL)
			continue;
		arr = J(role_grants[r]);
		if (cf_grants_parse(arr, &sets[r], &err) != CF_OK)
			fail_msg("grants of %s refused: %s", role_names[r], err.detail);
		if (cf_grants_check(sets[r], lookup, NULL, &err) != CF_OK)
			fail_msg("grants of %s do not check: %s", role_names[r], err.detail);
		json_decref(arr);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int r = 0; r < N_ROLES; r++)
		cf_grants_free(sets[r]);
	cf_collection_free(social);
	cf_collection_free(housing);
	return 0;
}

/* One decision over the given roles (indices into role_names). */
static void decide(const int *roles, size_t n, const cf_collection *c, cf_action a, const char *purpose,
		   const char *const *fields, size_t n_fields, cf_decision *d)
{
	const char *names[N_ROLES + 4];
	const cf_grant_set *grants[N_ROLES + 4];
	cf_policy_input in;

	for (size_t i = 0; i < n; i++) {
		names[i] = role_names[roles[i]];
		grants[i] = sets[roles[i]];
	}
	memset(&in, 0, sizeof(in));
	in.roles = names;
	in.grants = grants;
	in.n_roles = n;
	in.collection = c;
	in.action = a;
	in.purpose = purpose;
	in.fields = fields;
	in.n_fields = n_fields;
	assert_int_equal(cf_policy_decide(&in, d), CF_OK);
}

static void assert_allowed_mask(const cf_decision *d, unsigned mask)
{
	assert_true(d->allow);
	assert_int_equal(d->problem, CF_P_NONE);
	assert_non_null(d->allowed);
	assert_int_equal(d->n_allowed, N_FIELDS);
	for (size_t i = 0; i < N_FIELDS; i++)
		if (d->allowed[i] != ((mask & (1u << i)) != 0))
			fail_msg("field %s: allowed %d, want %d", field_names[i], d->allowed[i], (mask >> i) & 1u);
}

static void assert_denied(const cf_decision *d, cf_problem p, const char *reason)
{
	if (d->allow || d->problem != p || (reason != NULL && strcmp(d->reason, reason) != 0))
		fail_msg("allow %d problem %d reason \"%s\"; want problem %d reason \"%s\"", d->allow, d->problem,
			 d->reason, p, reason != NULL ? reason : "(any)");
	assert_null(d->allowed);
	assert_int_equal(d->n_allowed, 0);
	assert_null(d->role);
}

/* ---- hand-checked decisions ---- */

static void test_allow_agent(void **state)
{
	int roles[] = {R_AGENT};
	const char *w[] = {"aid_amount", "first_name"};
	cf_decision d;

	(void)state;
	decide(roles, 1, social, CF_ACT_WRITE, "social-aid", w, 2, &d);
	assert_allowed_mask(&d, ALL_FIELDS);
	assert_string_equal(d.role, "agent");
	assert_string_equal(d.legal_basis, "organic law on welfare centres, art. 60");
	assert_ptr_equal(d.legal_basis, cf_collection_legal_basis(social, "social-aid"));
	assert_string_equal(d.reason, "write on 'social_aid' for purpose 'social-aid' granted to role 'agent'");
	cf_decision_release(&d);
	assert_null(d.allowed);
	cf_decision_release(&d); /* twice is harmless */
	cf_decision_release(NULL);

	decide(roles, 1, social, CF_ACT_READ, "social-aid", NULL, 0, &d);
	assert_allowed_mask(&d, ALL_FIELDS);
	cf_decision_release(&d);
}

static void test_purpose_required(void **state)
{
	int roles[] = {R_AGENT};
	cf_decision d;

	(void)state;
	decide(roles, 1, social, CF_ACT_READ, NULL, NULL, 0, &d);
	assert_denied(&d, CF_P_PURPOSE_REQUIRED, "a purpose is required to read 'social_aid'");
	assert_null(d.legal_basis);
	decide(roles, 1, social, CF_ACT_WRITE, "", NULL, 0, &d);
	assert_denied(&d, CF_P_PURPOSE_REQUIRED, "a purpose is required to write 'social_aid'");
	/* before anything else: even without roles */
	decide(roles, 0, social, CF_ACT_DELETE, NULL, NULL, 0, &d);
	assert_denied(&d, CF_P_PURPOSE_REQUIRED, "a purpose is required to delete 'social_aid'");
}

static void test_purpose_not_declared(void **state)
{
	int roles[] = {R_AGENT};
	cf_decision d;

	(void)state;
	decide(roles, 1, social, CF_ACT_READ, "marketing", NULL, 0, &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "purpose 'marketing' is not declared for collection 'social_aid'");
	assert_null(d.legal_basis);
	/* declared by another collection only */
	decide(roles, 1, social, CF_ACT_READ, "housing", NULL, 0, &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "purpose 'housing' is not declared for collection 'social_aid'");
	/* not a purpose name: not echoed */
	decide(roles, 1, social, CF_ACT_READ, "Social Aid <script>", NULL, 0, &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "the purpose is not a valid purpose name ([a-z][a-z0-9_-]{0,63})");
	assert_null(strstr(d.reason, "script"));
}

static void test_purpose_not_allowed_vs_forbidden(void **state)
{
	int agent[] = {R_AGENT}, auditor[] = {R_AUDITOR}, both[] = {R_AGENT, R_AUDITOR};
	cf_decision d;

	(void)state;
	/* agent may write, but for social-aid only */
	decide(agent, 1, social, CF_ACT_WRITE, "audit", NULL, 0, &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED,
		      "no grant of roles [agent] allows write on 'social_aid' for purpose 'audit'");
	/* the purpose is denied even though it is declared, and its legal basis is known for the audit trail */
	assert_string_equal(d.legal_basis, "art. 89 internal control");
	/* auditor has no write grant at all */
	decide(auditor, 1, social, CF_ACT_WRITE, "audit", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [auditor] allows write on 'social_aid'");
	decide(both, 2, social, CF_ACT_WRITE, "audit", NULL, 0, &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED,
		      "no grant of roles [agent, auditor] allows write on 'social_aid' for purpose 'audit'");
	decide(both, 2, social, CF_ACT_DELETE, "social-aid", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [agent, auditor] allows delete on 'social_aid'");
}

static void test_no_roles_and_null_grants(void **state)
{
	int nobody[] = {R_NOBODY}, nobody_agent[] = {R_NOBODY, R_AGENT};
	cf_decision d;

	(void)state;
	decide(nobody, 0, social, CF_ACT_READ, "social-aid", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [] allows read on 'social_aid'");
	decide(nobody, 1, social, CF_ACT_READ, "social-aid", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [nobody] allows read on 'social_aid'");
	/* a role without grants does not hide the next one */
	decide(nobody_agent, 2, social, CF_ACT_READ, "social-aid", NULL, 0, &d);
	assert_allowed_mask(&d, ALL_FIELDS);
	assert_string_equal(d.role, "agent");
	cf_decision_release(&d);
}

static void test_write_field_outside_grant(void **state)
{
	int mediator[] = {R_MEDIATOR};
	const char *ok[] = {"iban"}, *bad[] = {"iban", "aid_amount", "diagnosis"}, *unknown[] = {"salary"};
	const char *weird[] = {"Bad Name"};
	cf_decision d;

	(void)state;
	decide(mediator, 1, social, CF_ACT_WRITE, "debt-mediation", ok, 1, &d);
	assert_allowed_mask(&d, BIT(F_IBAN));
	assert_string_equal(d.role, "mediator");
	assert_string_equal(d.legal_basis, "law of 5 July 1998");
	cf_decision_release(&d);
	decide(mediator, 1, social, CF_ACT_WRITE, "debt-mediation", bad, 3, &d);
	assert_denied(&d, CF_P_FIELD_NOT_GRANTED, "field 'aid_amount' is outside the grant for write on 'social_aid'");
	decide(mediator, 1, social, CF_ACT_WRITE, "debt-mediation", unknown, 1, &d);
	assert_denied(&d, CF_P_FIELD_NOT_GRANTED, "field 'salary' is outside the grant for write on 'social_aid'");
	decide(mediator, 1, social, CF_ACT_WRITE, "debt-mediation", weird, 1, &d);
	assert_denied(&d, CF_P_FIELD_NOT_GRANTED, "a field is outside the grant for write on 'social_aid'");
	/* a write of no field at all needs the grant, nothing more */
	decide(mediator, 1, social, CF_ACT_WRITE, "debt-mediation", NULL, 0, &d);
	assert_allowed_mask(&d, BIT(F_IBAN));
	cf_decision_release(&d);
	/* the read grant's fields do not extend the write grant */
	decide(mediator, 1, social, CF_ACT_WRITE, "debt-mediation", (const char *const[]){"first_name"}, 1, &d);
	assert_denied(&d, CF_P_FIELD_NOT_GRANTED, "field 'first_name' is outside the grant for write on 'social_aid'");
}

static void test_read_categories_only(void **state)
{
	int auditor[] = {R_AUDITOR}, idreader[] = {R_IDREADER};
	cf_decision d;

	(void)state;
	decide(auditor, 1, social, CF_ACT_READ, "audit", NULL, 0, &d);
	assert_allowed_mask(&d, BIT(F_FIRST) | BIT(F_LAST));
	assert_string_equal(d.role, "auditor");
	cf_decision_release(&d);
	decide(idreader, 1, social, CF_ACT_READ, "audit", NULL, 0, &d);
	assert_allowed_mask(&d, BIT(F_FIRST) | BIT(F_LAST) | BIT(F_DIAG));
	cf_decision_release(&d);
}

static void test_union_of_roles(void **state)
{
	int vi[] = {R_VIEWER, R_IDREADER}, iv[] = {R_IDREADER, R_VIEWER}, va[] = {R_VIEWER, R_AGENT};
	cf_decision d;

	(void)state;
	decide(vi, 2, social, CF_ACT_READ, "social-aid", NULL, 0, &d);
	assert_allowed_mask(&d, BIT(F_AID) | BIT(F_FIRST) | BIT(F_LAST) | BIT(F_DIAG));
	assert_string_equal(d.role, "viewer"); /* the first role whose grant matched */
	cf_decision_release(&d);
	decide(iv, 2, social, CF_ACT_READ, "social-aid", NULL, 0, &d);
	assert_allowed_mask(&d, BIT(F_AID) | BIT(F_FIRST) | BIT(F_LAST) | BIT(F_DIAG));
	assert_string_equal(d.role, "idreader");
	cf_decision_release(&d);
	decide(va, 2, social, CF_ACT_READ, "social-aid", NULL, 0, &d);
	assert_allowed_mask(&d, ALL_FIELDS);
	assert_string_equal(d.role, "viewer");
	cf_decision_release(&d);
	/* a purpose only one of them has: only that one's fields */
	decide(vi, 2, social, CF_ACT_READ, "audit", NULL, 0, &d);
	assert_allowed_mask(&d, BIT(F_FIRST) | BIT(F_LAST) | BIT(F_DIAG));
	assert_string_equal(d.role, "idreader");
	cf_decision_release(&d);
}

static void test_delete(void **state)
{
	int agent[] = {R_AGENT}, cleaner[] = {R_CLEANER}, mediator[] = {R_MEDIATOR};
	cf_decision d;

	(void)state;
	decide(agent, 1, social, CF_ACT_DELETE, "social-aid", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [agent] allows delete on 'social_aid'");
	decide(cleaner, 1, social, CF_ACT_DELETE, "social-aid", NULL, 0, &d);
	assert_allowed_mask(&d, BIT(F_FIRST));
	assert_string_equal(d.role, "cleaner");
	cf_decision_release(&d);
	decide(cleaner, 1, social, CF_ACT_READ, "social-aid", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [cleaner] allows read on 'social_aid'");
	/* a delete grant on another collection does not count */
	decide(mediator, 1, social, CF_ACT_DELETE, "debt-mediation", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [mediator] allows delete on 'social_aid'");
	decide(mediator, 1, housing, CF_ACT_DELETE, "housing", NULL, 0, &d);
	assert_true(d.allow);
	assert_int_equal(d.n_allowed, 2);
	assert_true(d.allowed[0] && d.allowed[1]);
	assert_string_equal(d.legal_basis, "housing code");
	cf_decision_release(&d);
}

static void test_read_needs_one_field(void **state)
{
	cf_grant_set *gs = NULL;
	json_t *arr = J("[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['social-aid'],"
			"  'categories': ['biometric', 'judicial']}]");
	const char *names[] = {"bio"};
	const cf_grant_set *grants[1];
	cf_policy_input in = {0};
	cf_decision d;

	(void)state;
	assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
	grants[0] = gs;
	in.roles = names;
	in.grants = grants;
	in.n_roles = 1;
	in.collection = social;
	in.action = CF_ACT_READ;
	in.purpose = "social-aid";
	assert_int_equal(cf_policy_decide(&in, &d), CF_OK);
	assert_denied(&d, CF_P_FIELD_NOT_GRANTED,
		      "no field of 'social_aid' is within the grants of roles [bio] for read for purpose 'social-aid'");
	cf_grants_free(gs);
	json_decref(arr);
}

static void test_stale_grant_field_ignored(void **state)
{
	cf_grant_set *gs = NULL;
	json_t *arr = J("[{'collection': 'social_aid', 'actions': ['read', 'write'], 'purposes': ['social-aid'],"
			"  'fields': ['old_field', 'email']}]");
	const char *names[] = {"r"};
	const cf_grant_set *grants[1];
	const char *w[] = {"old_field"};
	cf_policy_input in = {0};
	cf_decision d;
	cf_err err;

	(void)state;
	assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
	/* cf_grants_check refuses it ... */
	cf_err_clear(&err);
	assert_int_equal(cf_grants_check(gs, lookup, NULL, &err), CF_EINVAL);
	assert_string_equal(err.detail, "grants[0]: field 'old_field' is not declared in collection 'social_aid'");
	/* ... and if the schema changed after the check, the decision ignores the stale name */
	grants[0] = gs;
	in.roles = names;
	in.grants = grants;
	in.n_roles = 1;
	in.collection = social;
	in.action = CF_ACT_READ;
	in.purpose = "social-aid";
	assert_int_equal(cf_policy_decide(&in, &d), CF_OK);
	assert_allowed_mask(&d, BIT(F_EMAIL));
	cf_decision_release(&d);
	in.action = CF_ACT_WRITE;
	in.fields = w;
	in.n_fields = 1;
	assert_int_equal(cf_policy_decide(&in, &d), CF_OK);
	assert_denied(&d, CF_P_FIELD_NOT_GRANTED, "field 'old_field' is outside the grant for write on 'social_aid'");
	cf_grants_free(gs);
	json_decref(arr);
}

static void test_unknown_action(void **state)
{
	int agent[] = {R_AGENT};
	cf_decision d;

	(void)state;
	decide(agent, 1, social, (cf_action)0, "social-aid", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "unknown action on 'social_aid'");
	decide(agent, 1, social, (cf_action)(CF_ACT_READ | CF_ACT_WRITE), "social-aid", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "unknown action on 'social_aid'");
	decide(agent, 1, social, (cf_action)8, "social-aid", NULL, 0, &d);
	assert_denied(&d, CF_P_FORBIDDEN, "unknown action on 'social_aid'");
	assert_string_equal(cf_action_name(CF_ACT_READ), "read");
	assert_string_equal(cf_action_name(CF_ACT_WRITE), "write");
	assert_string_equal(cf_action_name(CF_ACT_DELETE), "delete");
	assert_string_equal(cf_action_name((cf_action)0), "unknown");
}

static void test_many_roles_reason_bounded(void **state)
{
	const char *names[12];
	const cf_grant_set *grants[12] = {0};
	char buf[12][48];
	cf_policy_input in = {0};
	cf_decision d;

	(void)state;
	for (int i = 0; i < 12; i++) {
		(void)snprintf(buf[i], sizeof(buf[i]), "role-with-a-rather-long-name-%02d", i);
		names[i] = buf[i];
	}
	names[3] = "Not A Label";
	in.roles = names;
	in.grants = grants;
	in.n_roles = 12;
	in.collection = social;
	in.action = CF_ACT_READ;
	in.purpose = "social-aid";
	assert_int_equal(cf_policy_decide(&in, &d), CF_OK);
	assert_false(d.allow);
	assert_int_equal(d.problem, CF_P_FORBIDDEN);
	assert_true(strlen(d.reason) < sizeof(d.reason));
	assert_non_null(strstr(d.reason, "no grant of roles [role-with-a-rather-long-name-00, "));
	assert_non_null(strstr(d.reason, "-02, ?, "));
	assert_non_null(strstr(d.reason, ", ...] allows read on 'social_aid'"));
	assert_null(strstr(d.reason, "Not A Label"));
}

/* ---- the whole matrix against the reference model ---- */

static bool has(const char *const *list, const char *s)
{
	for (size_t i = 0; i < 3 && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

typedef struct expect {
	bool allow;
	cf_problem problem;
	unsigned mask;
	int role;
} expect;

static expect reference(const int *roles, size_t n, cf_action a, const char *purpose, unsigned written)
{
	expect e = {false, CF_P_NONE, 0, -1};
	bool other_purpose = false, matched = false;

	if (purpose == NULL || purpose[0] == '\0') {
		e.problem = CF_P_PURPOSE_REQUIRED;
		return e;
	}
	if (strcmp(purpose, "social-aid") != 0 && strcmp(purpose, "audit") != 0 &&
	    strcmp(purpose, "debt-mediation") != 0) {
		e.problem = CF_P_PURPOSE_NOT_ALLOWED;
		return e;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t g = 0; g < CF_ARRAY_LEN(model); g++) {
			const mgrant *m = &model[g];

			if (m->role != roles[i] || !m->social_aid || !(m->acts & (unsigned)a))
				continue;
			if (!has(m->purposes, purpose)) {
				other_purpose = true;
				continue;
			}
			if (!matched)
				e.role = roles[i];
			matched = true;
			e.mask |= m->mask;
		}
	}
	if (!matched) {
		e.problem = other_purpose ? CF_P_PURPOSE_NOT_ALLOWED : CF_P_FORBIDDEN;
		e.role = -1;
		return e;
	}
	if ((a == CF_ACT_WRITE && (written & ~e.mask) != 0) || (a == CF_ACT_READ && e.mask == 0)) {
		e.problem = CF_P_FIELD_NOT_GRANTED;
		e.role = -1;
		return e;
	}
	e.allow = true;
	return e;
}

static void test_matrix(void **state)
{
	static const char *const purposes[] = {NULL, "", "social-aid", "audit", "debt-mediation", "housing",
					       "marketing", "Social Aid"};
	static const cf_action acts[] = {CF_ACT_READ, CF_ACT_WRITE, CF_ACT_DELETE};
	size_t decisions = 0, allows = 0;
	unsigned seen_problems = 0;

	(void)state;
	for (unsigned subset = 0; subset < (1u << N_ROLES); subset++) {
		int roles[N_ROLES];
		size_t n = 0;

		for (int r = 0; r < N_ROLES; r++)
			if (subset & (1u << r))
				roles[n++] = r;
		for (size_t p = 0; p < CF_ARRAY_LEN(purposes); p++) {
			for (size_t a = 0; a < CF_ARRAY_LEN(acts); a++) {
				unsigned n_sets = acts[a] == CF_ACT_WRITE ? (1u << N_FIELDS) : 1u;

				for (unsigned written = 0; written < n_sets; written++) {
					const char *w[N_FIELDS + 1];
					size_t nw = 0;
					expect e;
					cf_decision d;

					for (int f = 0; f < N_FIELDS; f++)
						if (written & (1u << f))
							w[nw++] = field_names[f];
					/* the written set may also carry an undeclared field */
					if (written == ALL_FIELDS)
						w[nw++] = "salary";
					e = reference(roles, n, acts[a], purposes[p],
						      written == ALL_FIELDS ? 0xFFFFu : written);
					decide(roles, n, social, acts[a], purposes[p], nw > 0 ? w : NULL, nw, &d);
					decisions++;
					if (d.allow != e.allow || d.problem != e.problem)
						fail_msg("roles 0x%x %s purpose %s written 0x%x: allow %d problem %d, "
							 "want allow %d problem %d (%s)",
							 subset, cf_action_name(acts[a]),
							 purposes[p] ? purposes[p] : "(null)", written, d.allow,
							 d.problem, e.allow, e.problem, d.reason);
					seen_problems |= 1u << e.problem;
					if (e.allow) {
						allows++;
						assert_allowed_mask(&d, e.mask);
						assert_string_equal(d.role, role_names[e.role]);
						assert_ptr_equal(d.legal_basis,
								 cf_collection_legal_basis(social, purposes[p]));
					} else {
						assert_null(d.allowed);
						assert_null(d.role);
						assert_true(d.reason[0] != '\0');
					}
					cf_decision_release(&d);
				}
			}
		}
	}
	/* the matrix reaches every outcome */
	assert_true(allows > 1000);
	assert_true(decisions > allows);
	assert_int_equal(seen_problems, (1u << CF_P_NONE) | (1u << CF_P_PURPOSE_REQUIRED) |
						(1u << CF_P_PURPOSE_NOT_ALLOWED) | (1u << CF_P_FORBIDDEN) |
						(1u << CF_P_FIELD_NOT_GRANTED));
}

/* ---- grants parsing ---- */

static void grants_fail(const char *sq, cf_problem p, const char *detail_part)
{
	json_t *arr = J(sq);
	cf_grant_set *gs = (cf_grant_set *)(uintptr_t)1;
	cf_err err;
	cf_rc rc;

	cf_err_clear(&err);
	rc = cf_grants_parse(arr, &gs, &err);
	if (rc != CF_EINVAL || err.problem != p || strstr(err.detail, detail_part) == NULL)
		fail_msg("rc %d problem %d detail \"%s\" (want problem %d and \"%s\") for %s", rc, err.problem,
			 err.detail, p, detail_part, sq);
	assert_null(gs);
	json_decref(arr);
}

static void test_grants_to_json_round_trip(void **state)
{
	json_t *arr = J("[{'collection': 'social_aid', 'actions': ['delete', 'read'], 'purposes': ['b', 'a'],"
			"  'fields': ['last_name', '*'], 'categories': ['health']},"
			" {'categories': ['identity', 'contact'], 'purposes': ['audit'], 'actions': ['write'],"
			"  'collection': 'housing'}]");
	json_t *want = J("[{'collection': 'social_aid', 'actions': ['read', 'delete'], 'purposes': ['b', 'a'],"
			 "  'fields': ['last_name', '*'], 'categories': ['health']},"
			 " {'collection': 'housing', 'actions': ['write'], 'purposes': ['audit'],"
			 "  'categories': ['identity', 'contact']}]");
	cf_grant_set *gs = NULL, *gs2 = NULL;
	json_t *out, *out2;

	(void)state;
	assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
	out = cf_grants_to_json(gs);
	assert_true(json_equal(out, want));
	assert_int_equal(cf_grants_parse(out, &gs2, NULL), CF_OK);
	out2 = cf_grants_to_json(gs2);
	assert_true(json_equal(out2, out));
	json_decref(arr);
	json_decref(want);
	json_decref(out);
	json_decref(out2);
	cf_grants_free(gs);
	cf_grants_free(gs2);
	cf_grants_free(NULL);

	/* an empty list is a role with no grants */
	arr = J("[]");
	assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
	out = cf_grants_to_json(gs);
	assert_true(json_is_array(out) && json_array_size(out) == 0);
	json_decref(out);
	json_decref(arr);
	cf_grants_free(gs);
}

static void test_grants_refusals(void **state)
{
	(void)state;
	grants_fail("{}", CF_P_WRONG_TYPE, "grants must be a JSON array");
	grants_fail("'x'", CF_P_WRONG_TYPE, "grants must be a JSON array");
	grants_fail("[1]", CF_P_WRONG_TYPE, "grants[0]");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*'], 'expires': 1}]",
		    CF_P_UNKNOWN_KEY, "grants[0]");
	grants_fail("[{'actions': ['read'], 'purposes': ['p'], 'fields': ['*']}]", CF_P_MISSING_KEY, "collection");
	grants_fail("[{'collection': 'c', 'purposes': ['p'], 'fields': ['*']}]", CF_P_MISSING_KEY, "actions");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'fields': ['*']}]", CF_P_MISSING_KEY, "purposes");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p']}]", CF_P_MISSING_KEY,
		    "grants[0]: fields or categories is required");
	grants_fail("[{'collection': 5, 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']}]", CF_P_WRONG_TYPE,
		    "collection must be a string");
	grants_fail("[{'collection': 'Social', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']}]",
		    CF_P_INVALID_VALUE, "collection does not match");
	grants_fail("[{'collection': 'c', 'actions': [], 'purposes': ['p'], 'fields': ['*']}]", CF_P_INVALID_VALUE,
		    "actions must not be empty");
	grants_fail("[{'collection': 'c', 'actions': 'read', 'purposes': ['p'], 'fields': ['*']}]", CF_P_WRONG_TYPE,
		    "actions must be an array");
	grants_fail("[{'collection': 'c', 'actions': ['read', 'admin'], 'purposes': ['p'], 'fields': ['*']}]",
		    CF_P_INVALID_VALUE, "actions[1] must be read, write or delete");
	grants_fail("[{'collection': 'c', 'actions': ['Read'], 'purposes': ['p'], 'fields': ['*']}]",
		    CF_P_INVALID_VALUE, "actions[0] must be read, write or delete");
	grants_fail("[{'collection': 'c', 'actions': ['read', 'read'], 'purposes': ['p'], 'fields': ['*']}]",
		    CF_P_INVALID_VALUE, "actions[1] is repeated");
	grants_fail("[{'collection': 'c', 'actions': [1], 'purposes': ['p'], 'fields': ['*']}]", CF_P_WRONG_TYPE,
		    "actions[0] must be a string");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': [], 'fields': ['*']}]", CF_P_INVALID_VALUE,
		    "purposes must not be empty");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['Social Aid'], 'fields': ['*']}]",
		    CF_P_INVALID_VALUE, "purposes[0] does not match");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p', 'p'], 'fields': ['*']}]",
		    CF_P_INVALID_VALUE, "purposes[1] repeats purposes[0]");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': [null], 'fields': ['*']}]",
		    CF_P_WRONG_TYPE, "purposes[0] must be a string");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': []}]", CF_P_INVALID_VALUE,
		    "fields must not be empty");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['First']}]",
		    CF_P_INVALID_VALUE, "fields[0] must be");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['**']}]",
		    CF_P_INVALID_VALUE, "fields[0] must be");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': 'first_name'}]",
		    CF_P_WRONG_TYPE, "fields must be an array");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'categories': ['medical']}]",
		    CF_P_INVALID_VALUE, "categories[0] is not a known category");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'categories': []}]",
		    CF_P_INVALID_VALUE, "categories must not be empty");
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*'],"
		    " 'categories': ['health', 'health']}]",
		    CF_P_INVALID_VALUE, "categories[1] repeats categories[0]");
	/* the second grant is the one named */
	grants_fail("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']},"
		    " {'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*'], 'x': 1}]",
		    CF_P_UNKNOWN_KEY, "grants[1]");
}

static void test_grants_limits_and_nul(void **state)
{
	json_t *arr = json_array(), *g;
	cf_grant_set *gs = NULL;
	cf_err err;

	(void)state;
	for (int i = 0; i < 256; i++)
		json_array_append_new(arr, J("{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']}"));
	assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
	cf_grants_free(gs);
	json_array_append_new(arr, J("{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']}"));
	cf_err_clear(&err);
	assert_int_equal(cf_grants_parse(arr, &gs, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	assert_null(gs);
	json_decref(arr);

	/* 64 purposes in one grant, not 65 */
	arr = J("[{'collection': 'c', 'actions': ['read'], 'purposes': [], 'fields': ['*']}]");
	g = json_object_get(json_array_get(arr, 0), "purposes");
	for (int i = 0; i < 64; i++) {
		char p[16];

		(void)snprintf(p, sizeof(p), "p%d", i);
		json_array_append_new(g, json_string(p));
	}
	assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
	cf_grants_free(gs);
	json_array_append_new(g, json_string("p64"));
	cf_err_clear(&err);
	assert_int_equal(cf_grants_parse(arr, &gs, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_TOO_LONG);
	json_decref(arr);

	/* embedded NUL: "social_aid\0x" must not become "social_aid" */
	arr = J("[{'collection': 'c', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']}]");
	g = json_array_get(arr, 0);
	json_object_set_new(g, "collection", json_stringn("social_aid\0x", 12));
	cf_err_clear(&err);
	assert_int_equal(cf_grants_parse(arr, &gs, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	json_object_set_new(g, "collection", json_string("social_aid"));
	json_object_set_new(g, "actions", J("[]"));
	json_array_append_new(json_object_get(g, "actions"), json_stringn("read\0", 5));
	cf_err_clear(&err);
	assert_int_equal(cf_grants_parse(arr, &gs, &err), CF_EINVAL);
	json_object_set_new(g, "actions", J("['read']"));
	json_object_set_new(g, "fields", J("[]"));
	json_array_append_new(json_object_get(g, "fields"), json_stringn("*\0", 2));
	cf_err_clear(&err);
	assert_int_equal(cf_grants_parse(arr, &gs, &err), CF_EINVAL);
	assert_null(gs);
	json_decref(arr);
	cf_err_clear(&err);
	assert_int_equal(cf_grants_parse(NULL, &gs, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
}

static void test_grants_check(void **state)
{
	static const struct {
		const char *sq;
		const char *detail; /* NULL = accepted */
	} cases[] = {
		{"[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit'], 'fields': ['*']}]", NULL},
		{"[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit', 'social-aid'],"
		 "  'fields': ['iban', 'email'], 'categories': ['biometric']}]",
		 NULL},
		{"[{'collection': 'housing', 'actions': ['delete'], 'purposes': ['housing'], 'categories': ['housing']}]",
		 NULL},
		{"[{'collection': 'welfare', 'actions': ['read'], 'purposes': ['audit'], 'fields': ['*']}]",
		 "grants[0]: collection 'welfare' is not declared"},
		{"[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit'], 'fields': ['*']},"
		 " {'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit'], 'fields': ['salary']}]",
		 "grants[1]: field 'salary' is not declared in collection 'social_aid'"},
		{"[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit', 'marketing'], 'fields': ['*']}]",
		 "grants[0]: purpose 'marketing' is not declared for collection 'social_aid'"},
		{"[{'collection': 'housing', 'actions': ['read'], 'purposes': ['social-aid'], 'fields': ['address']}]",
		 "grants[0]: purpose 'social-aid' is not declared for collection 'housing'"},
		{"[{'collection': 'housing', 'actions': ['read'], 'purposes': ['housing'], 'fields': ['iban']}]",
		 "grants[0]: field 'iban' is not declared in collection 'housing'"},
	};

	(void)state;
	for (size_t i = 0; i < CF_ARRAY_LEN(cases); i++) {
		json_t *arr = J(cases[i].sq);
		cf_grant_set *gs = NULL;
		cf_err err;
		cf_rc rc;

		assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
		cf_err_clear(&err);
		rc = cf_grants_check(gs, lookup, NULL, &err);
		if (cases[i].detail == NULL) {
			if (rc != CF_OK)
				fail_msg("case %zu refused: %s", i, err.detail);
		} else {
			assert_int_equal(rc, CF_EINVAL);
			assert_int_equal(err.problem, CF_P_INVALID_VALUE);
			assert_string_equal(err.detail, cases[i].detail);
		}
		cf_grants_free(gs);
		json_decref(arr);
	}
}

/* ---- agreement grants ---- */

static cf_grant_set *parse_ok(const char *sq)
{
	json_t *arr = J(sq);
	cf_grant_set *gs = NULL;
	cf_err err;

	cf_err_clear(&err);
	if (cf_grants_parse(arr, &gs, &err) != CF_OK)
		fail_msg("grants refused: %s: %s", err.detail, sq);
	json_decref(arr);
	return gs;
}

/* Refused with exactly this detail. */
static void grants_fail_exact(const char *sq, cf_problem p, const char *detail)
{
	json_t *arr = J(sq);
	cf_grant_set *gs = (cf_grant_set *)(uintptr_t)1;
	cf_err err;
	cf_rc rc;

	cf_err_clear(&err);
	rc = cf_grants_parse(arr, &gs, &err);
	if (rc != CF_EINVAL || err.problem != p || strcmp(err.detail, detail) != 0)
		fail_msg("rc %d problem %d detail \"%s\" (want problem %d and \"%s\") for %s", rc, err.problem,
			 err.detail, p, detail, sq);
	assert_null(gs);
	json_decref(arr);
}

static void test_agreement_grants_accepted(void **state)
{
	cf_grant_set *gs;
	json_t *arr, *out, *want;
	char id64[65];

	(void)state;
	gs = parse_ok("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['audit']}]");
	out = cf_grants_to_json(gs);
	want = J("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['audit']}]");
	assert_true(json_equal(out, want));
	json_decref(out);
	json_decref(want);
	cf_grants_free(gs);

	/* every character of the id alphabet, key order free, several purposes */
	gs = parse_ok("[{'purposes': ['social-aid', 'audit'], 'actions': ['read'],"
		      " 'agreement': 'AZaz09_-'}]");
	cf_grants_free(gs);
	/* an id may look like a collection name: it still names an agreement */
	gs = parse_ok("[{'agreement': 'social_aid', 'actions': ['read'], 'purposes': ['audit']}]");
	cf_grants_free(gs);

	/* 64 characters, not 65 */
	memset(id64, 'a', 64);
	id64[64] = '\0';
	arr = J("[{'agreement': 'x', 'actions': ['read'], 'purposes': ['p']}]");
	json_object_set_new(json_array_get(arr, 0), "agreement", json_string(id64));
	gs = NULL;
	assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
	cf_grants_free(gs);
	json_decref(arr);
}

static void test_agreement_grants_refused(void **state)
{
	static const char *const bad_actions[] = {"['write']", "['delete']", "['read', 'write']", "['write', 'read']",
						  "['read', 'read']", "[]", "'read'", "[1]", "['Read']", "null",
						  "[['read']]"};
	static const char *const bad_ids[] = {"''", "'agr 1'", "'agr.1'", "'agr/1'", "'\\u00e9'", "'agr-1\\n'"};
	cf_grant_set *gs = NULL;
	json_t *arr;
	cf_err err;
	char id65[66];

	(void)state;
	/* exactly one target */
	grants_fail_exact("[{'collection': 'social_aid', 'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['p']}]",
			  CF_P_INVALID_VALUE, "grants[0]: a grant names a collection or an agreement, not both");
	grants_fail_exact("[{'collection': 'social_aid', 'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['p'],"
			  " 'fields': ['*']}]",
			  CF_P_INVALID_VALUE, "grants[0]: a grant names a collection or an agreement, not both");
	grants_fail_exact("[{'actions': ['read'], 'purposes': ['p']}]", CF_P_MISSING_KEY,
			  "grants[0]: collection or agreement is required");
	grants_fail_exact("[{'actions': ['read'], 'purposes': ['p'], 'fields': ['*']}]", CF_P_MISSING_KEY,
			  "grants[0]: collection or agreement is required");
	/* read only, exactly ["read"] */
	for (size_t i = 0; i < CF_ARRAY_LEN(bad_actions); i++) {
		char sq[160];

		(void)snprintf(sq, sizeof(sq), "[{'agreement': 'agr-1', 'actions': %s, 'purposes': ['p']}]",
			       bad_actions[i]);
		grants_fail_exact(sq, CF_P_INVALID_VALUE,
				  "grants[0]: agreement grants only allow read (actions must be [\"read\"])");
	}
	grants_fail("[{'agreement': 'agr-1', 'purposes': ['p']}]", CF_P_MISSING_KEY, "actions");
	/* the agreement says which fields */
	grants_fail_exact("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']}]",
			  CF_P_UNKNOWN_KEY,
			  "grants[0]: fields is not allowed in an agreement grant (the agreement says which fields)");
	grants_fail_exact("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['p'], 'fields': []}]",
			  CF_P_UNKNOWN_KEY,
			  "grants[0]: fields is not allowed in an agreement grant (the agreement says which fields)");
	grants_fail_exact("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['p'], 'categories': ['identity']}]",
			  CF_P_UNKNOWN_KEY,
			  "grants[0]: categories is not allowed in an agreement grant (the agreement says which fields)");
	grants_fail("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['p'], 'expires': 1}]", CF_P_UNKNOWN_KEY,
		    "grants[0]");
	/* the id */
	for (size_t i = 0; i < CF_ARRAY_LEN(bad_ids); i++) {
		char sq[160];

		(void)snprintf(sq, sizeof(sq), "[{'agreement': %s, 'actions': ['read'], 'purposes': ['p']}]", bad_ids[i]);
		grants_fail_exact(sq, CF_P_INVALID_VALUE, "grants[0]: agreement does not match [A-Za-z0-9_-]{1,64}");
	}
	grants_fail_exact("[{'agreement': 7, 'actions': ['read'], 'purposes': ['p']}]", CF_P_WRONG_TYPE,
			  "grants[0]: agreement must be a string");
	grants_fail_exact("[{'agreement': null, 'actions': ['read'], 'purposes': ['p']}]", CF_P_WRONG_TYPE,
			  "grants[0]: agreement must be a string");
	memset(id65, 'a', 65);
	id65[65] = '\0';
	arr = J("[{'agreement': 'x', 'actions': ['read'], 'purposes': ['p']}]");
	json_object_set_new(json_array_get(arr, 0), "agreement", json_string(id65));
	cf_err_clear(&err);
	assert_int_equal(cf_grants_parse(arr, &gs, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	assert_string_equal(err.detail, "grants[0]: agreement does not match [A-Za-z0-9_-]{1,64}");
	assert_null(gs);
	/* embedded NUL: "agr-1\0x" must not become "agr-1" */
	json_object_set_new(json_array_get(arr, 0), "agreement", json_stringn("agr-1\0x", 7));
	cf_err_clear(&err);
	assert_int_equal(cf_grants_parse(arr, &gs, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_WRONG_TYPE);
	assert_null(gs);
	json_decref(arr);
	/* purposes, validated as for collection grants */
	grants_fail_exact("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['audit', 'audit']}]",
			  CF_P_INVALID_VALUE, "grants[0]: purposes[1] repeats purposes[0]");
	grants_fail_exact("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': []}]", CF_P_INVALID_VALUE,
			  "grants[0]: purposes must not be empty");
	grants_fail_exact("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['Audit']}]", CF_P_INVALID_VALUE,
			  "grants[0]: purposes[0] does not match [a-z][a-z0-9_-]{0,63}");
	grants_fail_exact("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': 'audit'}]", CF_P_WRONG_TYPE,
			  "grants[0]: purposes must be an array of strings");
	grants_fail("[{'agreement': 'agr-1', 'actions': ['read']}]", CF_P_MISSING_KEY, "purposes");
	/* a bad agreement grant after a good collection grant is named by its index */
	grants_fail_exact("[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']},"
			  " {'agreement': 'agr-1', 'actions': ['write'], 'purposes': ['p']}]",
			  CF_P_INVALID_VALUE, "grants[1]: agreement grants only allow read (actions must be [\"read\"])");
}

static void test_agreement_grants_round_trip(void **state)
{
	json_t *arr = J("[{'collection': 'social_aid', 'actions': ['write', 'read'], 'purposes': ['audit'],"
			"  'fields': ['iban']},"
			" {'purposes': ['social-aid', 'audit'], 'actions': ['read'], 'agreement': 'agr-1'},"
			" {'agreement': 'agr-2', 'actions': ['read'], 'purposes': ['housing']}]");
	json_t *want = J("[{'collection': 'social_aid', 'actions': ['read', 'write'], 'purposes': ['audit'],"
			 "  'fields': ['iban']},"
			 " {'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['social-aid', 'audit']},"
			 " {'agreement': 'agr-2', 'actions': ['read'], 'purposes': ['housing']}]");
	cf_grant_set *gs = NULL, *gs2 = NULL;
	json_t *out, *out2;

	(void)state;
	assert_int_equal(cf_grants_parse(arr, &gs, NULL), CF_OK);
	out = cf_grants_to_json(gs);
	assert_true(json_equal(out, want));
	/* exactly the three keys: no collection, fields nor categories */
	assert_int_equal(json_object_size(json_array_get(out, 1)), 3);
	assert_null(json_object_get(json_array_get(out, 1), "collection"));
	assert_int_equal(cf_grants_parse(out, &gs2, NULL), CF_OK);
	out2 = cf_grants_to_json(gs2);
	assert_true(json_equal(out2, out));
	json_decref(arr);
	json_decref(want);
	json_decref(out);
	json_decref(out2);
	cf_grants_free(gs);
	cf_grants_free(gs2);
}

static void test_agreement_grants_check_skipped(void **state)
{
	cf_grant_set *gs;
	cf_err err;

	(void)state;
	/* neither the agreement nor its purpose exists among the collections: not cf_grants_check's business */
	gs = parse_ok("[{'agreement': 'agr-unknown', 'actions': ['read'], 'purposes': ['marketing']},"
		      " {'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit'], 'fields': ['iban']},"
		      " {'agreement': 'social_aid', 'actions': ['read'], 'purposes': ['housing']}]");
	cf_err_clear(&err);
	assert_int_equal(cf_grants_check(gs, lookup, NULL, &err), CF_OK);
	cf_grants_free(gs);
	/* collection grants in the same set are still checked, under their own index */
	gs = parse_ok("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['audit']},"
		      " {'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit'], 'fields': ['salary']}]");
	cf_err_clear(&err);
	assert_int_equal(cf_grants_check(gs, lookup, NULL, &err), CF_EINVAL);
	assert_int_equal(err.problem, CF_P_INVALID_VALUE);
	assert_string_equal(err.detail, "grants[1]: field 'salary' is not declared in collection 'social_aid'");
	cf_grants_free(gs);
	gs = parse_ok("[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['audit']},"
		      " {'collection': 'welfare', 'actions': ['read'], 'purposes': ['audit'], 'fields': ['*']}]");
	cf_err_clear(&err);
	assert_int_equal(cf_grants_check(gs, lookup, NULL, &err), CF_EINVAL);
	assert_string_equal(err.detail, "grants[1]: collection 'welfare' is not declared");
	cf_grants_free(gs);
}

static void test_agreement_grants_open_nothing_locally(void **state)
{
	/* an agreement named like the collection, for the very action and purpose */
	cf_grant_set *gs = parse_ok("[{'agreement': 'social_aid', 'actions': ['read'], 'purposes': ['social-aid', 'audit']},"
				    " {'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['social-aid']}]");
	cf_grant_set *mixed = parse_ok("[{'agreement': 'social_aid', 'actions': ['read'], 'purposes': ['social-aid']},"
				       " {'collection': 'social_aid', 'actions': ['read'], 'purposes': ['audit'],"
				       "  'fields': ['email']}]");
	const char *names[] = {"partner"};
	const cf_grant_set *grants[1] = {gs};
	cf_policy_input in = {0};
	cf_decision d;

	(void)state;
	in.roles = names;
	in.grants = grants;
	in.n_roles = 1;
	in.collection = social;
	in.action = CF_ACT_READ;
	in.purpose = "social-aid";
	assert_int_equal(cf_policy_decide(&in, &d), CF_OK);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [partner] allows read on 'social_aid'");
	/* not even a purpose-not-allowed: an agreement grant is no grant on the collection */
	in.purpose = "debt-mediation";
	assert_int_equal(cf_policy_decide(&in, &d), CF_OK);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [partner] allows read on 'social_aid'");
	/* with a collection grant beside it, only the collection grant counts */
	grants[0] = mixed;
	in.purpose = "social-aid";
	assert_int_equal(cf_policy_decide(&in, &d), CF_OK);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED,
		      "no grant of roles [partner] allows read on 'social_aid' for purpose 'social-aid'");
	in.purpose = "audit";
	assert_int_equal(cf_policy_decide(&in, &d), CF_OK);
	assert_allowed_mask(&d, BIT(F_EMAIL));
	assert_string_equal(d.role, "partner");
	cf_decision_release(&d);
	cf_grants_free(gs);
	cf_grants_free(mixed);
}

static void test_grants_agreements_list(void **state)
{
	cf_grant_set *gs = parse_ok("[{'agreement': 'B', 'actions': ['read'], 'purposes': ['p']},"
				    " {'agreement': 'A', 'actions': ['read'], 'purposes': ['q']},"
				    " {'collection': 'social_aid', 'actions': ['read'], 'purposes': ['p'], 'fields': ['*']},"
				    " {'agreement': 'B', 'actions': ['read'], 'purposes': ['q']},"
				    " {'agreement': 'agr-3', 'actions': ['read'], 'purposes': ['p']},"
				    " {'agreement': 'A', 'actions': ['read'], 'purposes': ['r']},"
				    " {'agreement': 'b', 'actions': ['read'], 'purposes': ['p']}]");
	cf_grant_set *none = parse_ok("[{'collection': 'social_aid', 'actions': ['read'], 'purposes': ['p'],"
				      "  'fields': ['*']}]");
	cf_grant_set *empty = parse_ok("[]");
	json_t *want = J("['B', 'A', 'agr-3', 'b']"), *got;

	(void)state;
	got = cf_grants_agreements(gs);
	assert_true(json_equal(got, want));
	json_decref(got);
	got = cf_grants_agreements(none);
	assert_true(json_is_array(got) && json_array_size(got) == 0);
	json_decref(got);
	got = cf_grants_agreements(empty);
	assert_true(json_is_array(got) && json_array_size(got) == 0);
	json_decref(got);
	got = cf_grants_agreements(NULL);
	assert_true(json_is_array(got) && json_array_size(got) == 0);
	json_decref(got);
	json_decref(want);
	cf_grants_free(gs);
	cf_grants_free(none);
	cf_grants_free(empty);
}

/* ---- shared access ---- */

enum { S_PARTNER, S_AUDITONLY, S_OTHERAGR, S_LOCAL, S_NAMESAKE, S_WRITER, N_SHARE_ROLES };
static const char *const share_role_names[N_SHARE_ROLES] = {"partner", "auditonly", "otheragr", "local", "namesake",
							    "writer"};
static const char *const share_role_grants[N_SHARE_ROLES] = {
	"[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['social-aid', 'audit']}]",
	"[{'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['audit']}]",
	"[{'agreement': 'agr-2', 'actions': ['read'], 'purposes': ['social-aid', 'audit', 'debt-mediation']}]",
	"[{'collection': 'social_aid', 'actions': ['read', 'write', 'delete'], 'purposes': ['social-aid', 'audit'],"
	"  'fields': ['*']}]",
	"[{'agreement': 'social_aid', 'actions': ['read'], 'purposes': ['social-aid']}]",
	"[{'collection': 'social_aid', 'actions': ['write'], 'purposes': ['social-aid'], 'fields': ['*']},"
	" {'agreement': 'agr-1', 'actions': ['read'], 'purposes': ['social-aid']}]",
};

/* The agreement of a shared decision. */
typedef struct agreement {
	const char *id;
	const char *const *fields;
	size_t n_fields;
	const char *const *categories;
	size_t n_categories;
	const char *const *purposes;
	size_t n_purposes;
} agreement;

static const char *const agr_purposes[] = {"social-aid", "debt-mediation"};
static const char *const agr_fields[] = {"iban", "email"};
static const agreement AGR1 = {"agr-1", agr_fields, 2, NULL, 0, agr_purposes, 2};

static void share(const int *roles, size_t n, const cf_collection *c, const agreement *a, cf_action act,
		  const char *purpose, cf_decision *d)
{
	const char *names[N_SHARE_ROLES + 2];
	const cf_grant_set *grants[N_SHARE_ROLES + 2];
	cf_grant_set *sets_[N_SHARE_ROLES + 2] = {0};
	cf_share_input in;

	for (size_t i = 0; i < n; i++) {
		names[i] = share_role_names[roles[i]];
		sets_[i] = parse_ok(share_role_grants[roles[i]]);
		grants[i] = sets_[i];
	}
	memset(&in, 0, sizeof(in));
	in.roles = names;
	in.grants = grants;
	in.n_roles = n;
	in.collection = c;
	in.agreement = a->id;
	in.fields = a->fields;
	in.n_fields = a->n_fields;
	in.categories = a->categories;
	in.n_categories = a->n_categories;
	in.purposes = a->purposes;
	in.n_purposes = a->n_purposes;
	in.purpose = purpose;
	in.action = act;
	memset(d, 0x5A, sizeof(*d)); /* every member must be set by the decision */
	assert_int_equal(cf_policy_decide_shared(&in, d), CF_OK);
	for (size_t i = 0; i < n; i++)
		cf_grants_free(sets_[i]);
	/* role points into the caller's roles: translate it to the static name before they go */
	if (d->role != NULL) {
		for (size_t i = 0; i < n; i++)
			if (d->role == names[i])
				d->role = share_role_names[roles[i]];
	}
	assert_null(d->legal_basis);
}

static void assert_shared_allowed(const cf_decision *d, unsigned mask, const char *role)
{
	assert_allowed_mask(d, mask);
	assert_string_equal(d->role, role);
	assert_null(d->legal_basis);
}

static void test_shared_allowed_fields(void **state)
{
	int partner[] = {S_PARTNER};
	cf_decision d;

	(void)state;
	share(partner, 1, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_IBAN) | BIT(F_EMAIL), "partner");
	assert_string_equal(d.reason,
			    "read on 'social_aid' for purpose 'social-aid' under agreement 'agr-1' granted to role 'partner'");
	cf_decision_release(&d);
	assert_null(d.allowed);
	assert_int_equal(d.n_allowed, 0);
}

static void test_shared_allowed_categories(void **state)
{
	static const char *const identity[] = {"identity"}, *const id_health[] = {"identity", "health"};
	static const char *const all_cats[] = {"identity", "contact", "financial", "social", "health"};
	agreement a = {"agr-1", NULL, 0, identity, 1, agr_purposes, 2};
	int partner[] = {S_PARTNER};
	cf_decision d;

	(void)state;
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_FIRST) | BIT(F_LAST), "partner");
	cf_decision_release(&d);
	a.categories = id_health;
	a.n_categories = 2;
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_FIRST) | BIT(F_LAST) | BIT(F_DIAG), "partner");
	cf_decision_release(&d);
	a.categories = all_cats;
	a.n_categories = 5;
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, ALL_FIELDS, "partner");
	cf_decision_release(&d);
	/* agreed, but partner's grant does not cover it */
	share(partner, 1, social, &a, CF_ACT_READ, "debt-mediation", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED,
		      "no grant of roles [partner] allows read under agreement 'agr-1' for purpose 'debt-mediation'");
}

static void test_shared_union_and_unknown_names(void **state)
{
	static const char *const f1[] = {"aid_amount", "iban"}, *const c1[] = {"financial", "identity"};
	static const char *const f2[] = {"salary", "email", "Bad Name", "*"}, *const c2[] = {"judicial", "housing"};
	static const char *const f3[] = {"address", "iban"}, *const hp[] = {"housing"};
	agreement a = {"agr-1", f1, 2, c1, 2, agr_purposes, 2};
	int partner[] = {S_PARTNER}, otheragr[] = {S_OTHERAGR};
	cf_decision d;

	(void)state;
	/* names and categories add up; iban is both named and in a category */
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_AID) | BIT(F_IBAN) | BIT(F_FIRST) | BIT(F_LAST), "partner");
	cf_decision_release(&d);
	/* names the collection does not have are ignored ("*" is not a wildcard here), so are absent categories */
	a.fields = f2;
	a.n_fields = 4;
	a.categories = c2;
	a.n_categories = 2;
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_EMAIL), "partner");
	cf_decision_release(&d);
	/* the mask is sized to the provider's collection */
	a.fields = f3;
	a.n_fields = 2;
	a.n_categories = 0;
	a.categories = NULL;
	a.purposes = hp;
	a.n_purposes = 1;
	a.id = "agr-2";
	share(otheragr, 1, housing, &a, CF_ACT_READ, "housing", &d);
	/* otheragr's grant on agr-2 does not cover 'housing' */
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED,
		      "no grant of roles [otheragr] allows read under agreement 'agr-2' for purpose 'housing'");
	a.purposes = agr_purposes;
	a.n_purposes = 2;
	share(otheragr, 1, housing, &a, CF_ACT_READ, "debt-mediation", &d);
	assert_true(d.allow);
	assert_int_equal(d.n_allowed, 2);
	assert_true(d.allowed[0]);  /* address */
	assert_false(d.allowed[1]); /* first_name */
	assert_string_equal(d.role, "otheragr");
	cf_decision_release(&d);
}

static void test_shared_no_field(void **state)
{
	static const char *const f[] = {"salary", "address"}, *const c[] = {"housing", "biometric"};
	agreement a = {"agr-1", f, 2, c, 2, agr_purposes, 2};
	int partner[] = {S_PARTNER}, local[] = {S_LOCAL};
	cf_decision d;

	(void)state;
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "agreement 'agr-1' covers no field of 'social_aid'");
	a.n_fields = 0;
	a.fields = NULL;
	a.n_categories = 0;
	a.categories = NULL;
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "agreement 'agr-1' covers no field of 'social_aid'");
	/* the grant is looked at before the fields */
	share(local, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [local] names agreement 'agr-1'");
}

static void test_shared_purpose_required(void **state)
{
	int partner[] = {S_PARTNER};
	agreement none = {"agr-1", NULL, 0, NULL, 0, NULL, 0};
	cf_decision d;

	(void)state;
	share(partner, 1, social, &AGR1, CF_ACT_READ, NULL, &d);
	assert_denied(&d, CF_P_PURPOSE_REQUIRED, "a purpose is required to access 'social_aid' under agreement 'agr-1'");
	share(partner, 1, social, &AGR1, CF_ACT_READ, "", &d);
	assert_denied(&d, CF_P_PURPOSE_REQUIRED, "a purpose is required to access 'social_aid' under agreement 'agr-1'");
	/* first of all: before the action, the agreement's purposes and the roles */
	share(partner, 0, social, &none, CF_ACT_WRITE, NULL, &d);
	assert_denied(&d, CF_P_PURPOSE_REQUIRED, "a purpose is required to access 'social_aid' under agreement 'agr-1'");
}

static void test_shared_read_only(void **state)
{
	int partner[] = {S_PARTNER}, writer[] = {S_WRITER};
	cf_decision d;

	(void)state;
	share(partner, 1, social, &AGR1, CF_ACT_WRITE, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN,
		      "agreements only allow reading: write on 'social_aid' under agreement 'agr-1' refused");
	share(partner, 1, social, &AGR1, CF_ACT_DELETE, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN,
		      "agreements only allow reading: delete on 'social_aid' under agreement 'agr-1' refused");
	/* before the purpose is matched against the agreement */
	share(partner, 1, social, &AGR1, CF_ACT_WRITE, "marketing", &d);
	assert_denied(&d, CF_P_FORBIDDEN,
		      "agreements only allow reading: write on 'social_aid' under agreement 'agr-1' refused");
	/* a consumer's own write grant on a namesake collection changes nothing */
	share(writer, 1, social, &AGR1, CF_ACT_WRITE, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN,
		      "agreements only allow reading: write on 'social_aid' under agreement 'agr-1' refused");
	share(partner, 1, social, &AGR1, (cf_action)0, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN,
		      "agreements only allow reading: unknown on 'social_aid' under agreement 'agr-1' refused");
	share(partner, 1, social, &AGR1, (cf_action)(CF_ACT_READ | CF_ACT_WRITE), "social-aid", &d);
	assert_false(d.allow);
	assert_int_equal(d.problem, CF_P_FORBIDDEN);
	/* and writer may read under agr-1 */
	share(writer, 1, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_IBAN) | BIT(F_EMAIL), "writer");
	cf_decision_release(&d);
}

static void test_shared_purpose_not_agreed(void **state)
{
	int partner[] = {S_PARTNER}, local[] = {S_LOCAL};
	agreement a = AGR1;
	cf_decision d;

	(void)state;
	/* partner's grant covers audit, the agreement does not */
	share(partner, 1, social, &AGR1, CF_ACT_READ, "audit", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "purpose 'audit' is not covered by agreement 'agr-1'");
	share(partner, 1, social, &AGR1, CF_ACT_READ, "marketing", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "purpose 'marketing' is not covered by agreement 'agr-1'");
	/* before the roles */
	share(local, 1, social, &AGR1, CF_ACT_READ, "audit", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "purpose 'audit' is not covered by agreement 'agr-1'");
	share(local, 0, social, &AGR1, CF_ACT_READ, "audit", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "purpose 'audit' is not covered by agreement 'agr-1'");
	/* not a purpose name: not echoed */
	share(partner, 1, social, &AGR1, CF_ACT_READ, "Social Aid <script>", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "the purpose is not a valid purpose name ([a-z][a-z0-9_-]{0,63})");
	/* an agreement without purposes covers none */
	a.purposes = NULL;
	a.n_purposes = 0;
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "purpose 'social-aid' is not covered by agreement 'agr-1'");
}

static void test_shared_grants(void **state)
{
	int local[] = {S_LOCAL}, auditonly[] = {S_AUDITONLY}, otheragr[] = {S_OTHERAGR};
	int two[] = {S_LOCAL, S_PARTNER}, three[] = {S_AUDITONLY, S_OTHERAGR, S_WRITER, S_PARTNER};
	int local_other[] = {S_LOCAL, S_OTHERAGR}, other_audit[] = {S_OTHERAGR, S_AUDITONLY}, partner_only[] = {S_PARTNER};
	static const char *const all_purposes[] = {"social-aid", "debt-mediation", "audit"};
	agreement a = AGR1;
	cf_decision d;

	(void)state;
	/* no grant names the agreement */
	share(local, 0, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [] names agreement 'agr-1'");
	share(otheragr, 1, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [otheragr] names agreement 'agr-1'");
	share(local_other, 2, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [local, otheragr] names agreement 'agr-1'");
	/* named, for another purpose only */
	share(auditonly, 1, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED,
		      "no grant of roles [auditonly] allows read under agreement 'agr-1' for purpose 'social-aid'");
	share(other_audit, 2, social, &AGR1, CF_ACT_READ, "debt-mediation", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED,
		      "no grant of roles [otheragr, auditonly] allows read under agreement 'agr-1' for purpose "
		      "'debt-mediation'");
	/* only the second role grants */
	share(two, 2, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_IBAN) | BIT(F_EMAIL), "partner");
	assert_string_equal(d.reason,
			    "read on 'social_aid' for purpose 'social-aid' under agreement 'agr-1' granted to role 'partner'");
	cf_decision_release(&d);
	/* the first granting role, after one that names the agreement for another purpose */
	share(three, 4, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_IBAN) | BIT(F_EMAIL), "writer");
	cf_decision_release(&d);
	a.purposes = all_purposes;
	a.n_purposes = 3;
	share(three, 4, social, &a, CF_ACT_READ, "audit", &d);
	assert_shared_allowed(&d, BIT(F_IBAN) | BIT(F_EMAIL), "auditonly");
	cf_decision_release(&d);
	/* the grants of agr-2 do not open agr-1, and agr-1's grants do not open agr-2 */
	a.id = "agr-2";
	share(three, 4, social, &a, CF_ACT_READ, "debt-mediation", &d);
	assert_shared_allowed(&d, BIT(F_IBAN) | BIT(F_EMAIL), "otheragr");
	cf_decision_release(&d);
	share(partner_only, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [partner] names agreement 'agr-2'");
	/* ids are compared exactly */
	a.id = "AGR-1";
	share(partner_only, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [partner] names agreement 'AGR-1'");
}

static void test_shared_own_collection_grants_irrelevant(void **state)
{
	int local[] = {S_LOCAL}, namesake[] = {S_NAMESAKE}, writer[] = {S_WRITER};
	agreement a = AGR1;
	cf_decision d;

	(void)state;
	/* local may do anything on its own social_aid, nothing on the provider's through agr-1 */
	share(local, 1, social, &AGR1, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [local] names agreement 'agr-1'");
	/* even when the agreement id is the collection's name */
	a.id = "social_aid";
	share(local, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [local] names agreement 'social_aid'");
	/* writer's collection grant is ignored, its agreement grant is what counts */
	share(writer, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [writer] names agreement 'social_aid'");
	/* an agreement grant with that id opens only that agreement's fields */
	share(namesake, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_shared_allowed(&d, BIT(F_IBAN) | BIT(F_EMAIL), "namesake");
	cf_decision_release(&d);
}

static void test_shared_names_not_echoed(void **state)
{
	int partner[] = {S_PARTNER};
	agreement a = AGR1;
	const cf_grant_set *grants[2] = {NULL, NULL};
	const char *names[2] = {"Evil <b>", "partner"};
	cf_grant_set *gs = parse_ok(share_role_grants[S_PARTNER]);
	cf_share_input in = {0};
	cf_decision d;

	(void)state;
	a.id = "agr 1 <script>";
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [partner] names agreement '?'");
	share(partner, 1, social, &a, CF_ACT_READ, "audit", &d);
	assert_denied(&d, CF_P_PURPOSE_NOT_ALLOWED, "purpose 'audit' is not covered by agreement '?'");
	a.id = NULL;
	share(partner, 1, social, &a, CF_ACT_READ, "social-aid", &d);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [partner] names agreement '?'");
	/* a role name that is not a label, and a NULL grant set, in front of the granting role */
	grants[1] = gs;
	in.roles = names;
	in.grants = grants;
	in.n_roles = 1;
	in.collection = social;
	in.agreement = "agr-1";
	in.fields = agr_fields;
	in.n_fields = 2;
	in.purposes = agr_purposes;
	in.n_purposes = 2;
	in.purpose = "social-aid";
	in.action = CF_ACT_READ;
	assert_int_equal(cf_policy_decide_shared(&in, &d), CF_OK);
	assert_denied(&d, CF_P_FORBIDDEN, "no grant of roles [?] names agreement 'agr-1'");
	in.n_roles = 2;
	assert_int_equal(cf_policy_decide_shared(&in, &d), CF_OK);
	assert_true(d.allow);
	assert_ptr_equal(d.role, names[1]);
	assert_string_equal(d.role, "partner");
	cf_decision_release(&d);
	cf_grants_free(gs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allow_agent),
		cmocka_unit_test(test_purpose_required),
		cmocka_unit_test(test_purpose_not_declared),
		cmocka_unit_test(test_purpose_not_allowed_vs_forbidden),
		cmocka_unit_test(test_no_roles_and_null_grants),
		cmocka_unit_test(test_write_field_outside_grant),
		cmocka_unit_test(test_read_categories_only),
		cmocka_unit_test(test_union_of_roles),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_read_needs_one_field),
		cmocka_unit_test(test_stale_grant_field_ignored),
		cmocka_unit_test(test_unknown_action),
		cmocka_unit_test(test_many_roles_reason_bounded),
		cmocka_unit_test(test_matrix),
		cmocka_unit_test(test_grants_to_json_round_trip),
		cmocka_unit_test(test_grants_refusals),
		cmocka_unit_test(test_grants_limits_and_nul),
		cmocka_unit_test(test_grants_check),
		cmocka_unit_test(test_agreement_grants_accepted),
		cmocka_unit_test(test_agreement_grants_refused),
		cmocka_unit_test(test_agreement_grants_round_trip),
		cmocka_unit_test(test_agreement_grants_check_skipped),
		cmocka_unit_test(test_agreement_grants_open_nothing_locally),
		cmocka_unit_test(test_grants_agreements_list),
		cmocka_unit_test(test_shared_allowed_fields),
		cmocka_unit_test(test_shared_allowed_categories),
		cmocka_unit_test(test_shared_union_and_unknown_names),
		cmocka_unit_test(test_shared_no_field),
		cmocka_unit_test(test_shared_purpose_required),
		cmocka_unit_test(test_shared_read_only),
		cmocka_unit_test(test_shared_purpose_not_agreed),
		cmocka_unit_test(test_shared_grants),
		cmocka_unit_test(test_shared_own_collection_grants_irrelevant),
		cmocka_unit_test(test_shared_names_not_echoed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * admin.c - the delegated-administration table and its decision (see
 * admin.h). The table is the single source for enforcement and for the
 * documentation; a test checks docs/roles.md equals its rendering.
 */
#include "common/cf.h"
#include "policy/admin.h"

/* What scope a level gets for an operation. */
typedef enum scope {
	NO = 0,   /* not allowed */
	ORG,      /* anywhere in the organization */
	DOMAIN,   /* inside the manager's own domain */
	SUBDIV,   /* inside the manager's own subdivision */
} scope;

typedef struct op_row {
	cf_admin_op op;
	const char *name;
	const char *description;
	scope by[CF_ADM_MAIN + 1]; /* indexed by cf_admin_level */
} op_row;

#define ROW(o, n, d, sub, co, loc, main) {o, n, d, {NO, sub, co, loc, main}}
static const op_row table[CF_OP__COUNT] = {
	ROW(CF_OP_DOMAIN_DEFINE, "domain.define", "define domains of activity", NO, NO, NO, ORG),
	ROW(CF_OP_DOMAIN_CONTACT, "domain.contact", "set a domain's contact email", NO, DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_DOMAIN_TECHNICAL, "domain.technical_user", "designate the technical user for batch exchanges", NO,
	    DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_APPOINT_LOCAL, "manager.local", "appoint, block, unblock or remove local managers", NO, NO, NO, ORG),
	ROW(CF_OP_APPOINT_CO_LOCAL, "manager.co_local", "appoint, block, unblock or remove co-local managers", NO, NO,
	    DOMAIN, ORG),
	ROW(CF_OP_SUBDIVISION_MANAGE, "subdivision.manage", "create, block, unblock subdivisions; their collections", NO,
	    DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_APPOINT_SUBDIVISION, "manager.subdivision", "appoint, block, unblock or remove subdivision managers",
	    NO, DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_USER_REGISTER, "user.register", "register users", SUBDIV, DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_USER_AUTHORIZE, "user.authorize", "assign and withdraw users' roles", SUBDIV, DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_USER_ATTRIBUTES, "user.attributes", "change users' language and email", SUBDIV, DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_USER_BLOCK, "user.block", "block and unblock users", SUBDIV, DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_USER_DELETE, "user.delete", "remove users", SUBDIV, DOMAIN, DOMAIN, ORG),
	ROW(CF_OP_USER_SEARCH, "user.search", "search users", SUBDIV, DOMAIN, DOMAIN, ORG),
};

static const char *level_names[] = {"none", "subdivision", "co_local", "local", "main"};
static const char *scope_words[] = {"-", "organization", "own domain", "own subdivision"};

const char *cf_admin_op_name(cf_admin_op op)
{
	return (unsigned)op < CF_OP__COUNT ? table[op].name : "unknown";
}

const char *cf_admin_level_name(cf_admin_level l)
{
	return (unsigned)l <= CF_ADM_MAIN ? level_names[l] : "unknown";
}

cf_admin_level cf_admin_level_parse(const char *s)
{
	if (s == NULL)
		return CF_ADM_NONE;
	if (strcmp(s, "local") == 0)
		return CF_ADM_LOCAL;
	if (strcmp(s, "co_local") == 0)
		return CF_ADM_CO_LOCAL;
	if (strcmp(s, "subdivision") == 0)
		return CF_ADM_SUBDIVISION;
	return CF_ADM_NONE;
}

bool cf_admin_role_reserved(const char *role)
{
	static const char *reserved[] = {"security_manager", "auditor", "dpo"};
	for (size_t i = 0; i < CF_ARRAY_LEN(reserved); i++)
		if (strcmp(role, reserved[i]) == 0)
			return true;
	return false;
}

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static bool refuse(char *reason, size_t size, const char *fmt, ...) CF_PRINTF(3, 4);
static bool refuse(char *reason, size_t size, const char *fmt, ...)
{
	va_list ap;
	if (reason != NULL && size > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(reason, size, fmt, ap);
		va_end(ap);
	}
	return false;
}

bool cf_admin_allowed(const cf_admin_actor *a, cf_admin_op op, const cf_admin_target *t, char *reason, size_t size)
{
	scope sc;

	if ((unsigned)op >= CF_OP__COUNT || (unsigned)a->level > CF_ADM_MAIN)
		return refuse(reason, size, "unknown operation");
	sc = table[op].by[a->level];
	if (sc == NO)
		return refuse(reason, size, "%s is not allowed to a %s manager", table[op].name,
			      cf_admin_level_name(a->level));
	/* looking someone up (oneself included) changes nothing: only scope applies to a search */
	if (op != CF_OP_USER_SEARCH && t->user_id != 0 && t->user_id == a->user_id)
		return refuse(reason, size, "nobody changes their own rights or status");
	/* managers act on managers below them; main security managers also on each other */
	if (op != CF_OP_USER_SEARCH && t->user_id != 0 && t->level != CF_ADM_NONE && t->level >= a->level &&
	    a->level != CF_ADM_MAIN)
		return refuse(reason, size, "a %s manager cannot act on a %s manager", cf_admin_level_name(a->level),
			      cf_admin_level_name(t->level));
	switch (sc) {
	case ORG:
		return true;
	case DOMAIN:
		if (!same(a->domain, t->domain))
			return refuse(reason, size, "outside the manager's domain");
		return true;
	case SUBDIV:
		if (!same(a->subdivision, t->subdivision) || (t->domain != NULL && !same(a->domain, t->domain)))
			return refuse(reason, size, "outside the manager's subdivision");
		return true;
	case NO:
		break;
	}
	return refuse(reason, size, "not allowed");
}

json_t *cf_admin_table_json(void)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < CF_OP__COUNT; i++) {
		const op_row *r = &table[i];
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "operation", r->name,
						     "description", r->description, "main", scope_words[r->by[CF_ADM_MAIN]],
						     "local", scope_words[r->by[CF_ADM_LOCAL]], "co_local",
						     scope_words[r->by[CF_ADM_CO_LOCAL]], "subdivision",
						     scope_words[r->by[CF_ADM_SUBDIVISION]]));
	}
	return arr;
}

void cf_admin_table_markdown(FILE *f)
{
	fprintf(f, "# Delegated administration: who may do what\n\n"
		   "Generated from the table in `src/lib/policy/admin.c` (`coffre roles --markdown`);\n"
		   "a test checks that this file matches it. Beyond the table: nobody acts on\n"
		   "themselves; a manager acts only on managers below their own level (main\n"
		   "security managers also on each other); roles\n"
		   "`security_manager`, `auditor` and `dpo` are assigned by the main security\n"
		   "manager only; every act, allowed or refused, is an audit entry.\n\n"
		   "| operation | what | main security manager | local manager | co-local manager | subdivision manager |\n"
		   "|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < CF_OP__COUNT; i++) {
		const op_row *r = &table[i];
		fprintf(f, "| `%s` | %s | %s | %s | %s | %s |\n", r->name, r->description, scope_words[r->by[CF_ADM_MAIN]],
			scope_words[r->by[CF_ADM_LOCAL]], scope_words[r->by[CF_ADM_CO_LOCAL]],
			scope_words[r->by[CF_ADM_SUBDIVISION]]);
	}
}

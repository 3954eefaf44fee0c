/*
 * admin.h - who may administer whom inside an organization (seed 004:
 * delegated administration along domains of activity). One table, in
 * admin.c, lists every administrative operation and which manager level
 * may perform it on which scope; the decision and the documentation
 * (docs/roles.md, `coffre roles`) both come from it. Pure: no I/O.
 */
#ifndef CF_POLICY_ADMIN_H
#define CF_POLICY_ADMIN_H

#include "common/cf.h"
#include <jansson.h>

/* Manager levels, weakest first. */
typedef enum cf_admin_level {
	CF_ADM_NONE = 0,     /* not a manager */
	CF_ADM_SUBDIVISION,  /* manager of one subdivision */
	CF_ADM_CO_LOCAL,     /* co-local manager of one domain */
	CF_ADM_LOCAL,        /* local manager of one domain */
	CF_ADM_MAIN,         /* the organization's security manager */
} cf_admin_level;

typedef enum cf_admin_op {
	CF_OP_DOMAIN_DEFINE,          /* create or rename a domain */
	CF_OP_DOMAIN_CONTACT,         /* set the domain's contact email */
	CF_OP_DOMAIN_TECHNICAL,       /* designate the domain's technical user for batch exchanges */
	CF_OP_APPOINT_LOCAL,          /* appoint, block, unblock or remove a local manager */
	CF_OP_APPOINT_CO_LOCAL,       /* appoint, block, unblock or remove a co-local manager */
	CF_OP_SUBDIVISION_MANAGE,     /* create, rename, block, unblock a subdivision; its collections */
	CF_OP_APPOINT_SUBDIVISION,    /* appoint, block, unblock or remove a subdivision manager */
	CF_OP_USER_REGISTER,          /* register a user (membership) */
	CF_OP_USER_AUTHORIZE,         /* assign or withdraw a user's roles */
	CF_OP_USER_ATTRIBUTES,        /* change language, email */
	CF_OP_USER_BLOCK,             /* block or unblock a user */
	CF_OP_USER_DELETE,            /* remove a user's membership */
	CF_OP_USER_SEARCH,            /* search users */
	CF_OP__COUNT
} cf_admin_op;

/* Who acts: their level and the domain/subdivision they manage (NULL when none). */
typedef struct cf_admin_actor {
	cf_admin_level level;
	const char *domain;
	const char *subdivision;
	int64_t user_id;
} cf_admin_actor;

/* What is acted on: the domain/subdivision concerned and, for a user, who. */
typedef struct cf_admin_target {
	const char *domain;      /* NULL: organization-wide (no domain) */
	const char *subdivision; /* NULL: not in a subdivision */
	cf_admin_level level;    /* the target user's manager level (CF_ADM_NONE for users and non-user targets) */
	int64_t user_id;         /* 0 when the target is not a user */
} cf_admin_target;

/*
 * Decides. Rules beyond the table: nobody acts on themselves; a manager
 * acts only on users whose level is below their own (main security
 * managers also act on each other);
 * a domain-scoped actor acts only inside their domain, a subdivision
 * manager only inside their subdivision. On refusal, reason says why
 * (names only ids and levels).
 */
bool cf_admin_allowed(const cf_admin_actor *a, cf_admin_op op, const cf_admin_target *t, char *reason, size_t size);

/* Roles only the main security manager may assign (administrative roles). */
bool cf_admin_role_reserved(const char *role);

const char *cf_admin_op_name(cf_admin_op op);
const char *cf_admin_level_name(cf_admin_level l);
/* "local", "co_local", "subdivision" -> level; CF_ADM_NONE otherwise. */
cf_admin_level cf_admin_level_parse(const char *s);

/* The table as JSON: [{"operation","description","main","local","co_local","subdivision"}] with scope words. */
json_t *cf_admin_table_json(void);
/* The table as Markdown (docs/roles.md is this text). */
void cf_admin_table_markdown(FILE *f);

#endif

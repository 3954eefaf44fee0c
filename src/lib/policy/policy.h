/*
 * policy.h - who may do what with personal data. Pure functions of their
 * inputs (no I/O, no clock): grants parsed from JSON, and a decision for a
 * principal's roles x action x collection x purpose x fields. Every deny
 * carries a problem type and a reason safe to show the caller.
 */
#ifndef CF_POLICY_H
#define CF_POLICY_H

#include "common/cf.h"
#include "schema/schema.h"
#include <jansson.h>

typedef enum cf_action {
	CF_ACT_READ = 1u << 0,
	CF_ACT_WRITE = 1u << 1,
	CF_ACT_DELETE = 1u << 2,
} cf_action;

const char *cf_action_name(cf_action a); /* "read", "write", "delete" */

typedef struct cf_grant_set cf_grant_set; /* opaque: the grants of one role in one organization */

/*
 * Parses the body of PUT .../roles/{role}/grants: a JSON array of
 *   {"collection": NAME, "actions": ["read"|"write"|"delete", ...] (non-empty),
 *    "purposes": [PURPOSE, ...] (non-empty),
 *    "fields": [FIELD | "*", ...]?, "categories": [CATEGORY, ...]?}
 * At least one of fields/categories. Strict: unknown keys refused. At most
 * 256 grants. Names are syntax-checked here; existence against the declared
 * collections is checked by cf_grants_check.
 */
cf_rc cf_grants_parse(json_t *arr, cf_grant_set **out, cf_err *err) CF_MUST_CHECK;
void cf_grants_free(cf_grant_set *g);
json_t *cf_grants_to_json(const cf_grant_set *g); /* new reference, normalized */

/*
 * Checks each grant against the collection it names: the collection exists
 * (lookup returns non-NULL), named fields exist, purposes are declared.
 */
typedef const cf_collection *(*cf_collection_lookup_fn)(void *ctx, const char *name);
cf_rc cf_grants_check(const cf_grant_set *g, cf_collection_lookup_fn lookup, void *ctx, cf_err *err) CF_MUST_CHECK;

/* Input of one decision. grants[i] are the grants of roles[i] (NULL = none). */
typedef struct cf_policy_input {
	const char *const *roles;
	const cf_grant_set *const *grants;
	size_t n_roles;
	const cf_collection *collection;
	cf_action action;
	const char *purpose;              /* NULL or "" -> purpose-required */
	const char *const *fields;        /* write: the fields the caller writes; read: NULL */
	size_t n_fields;
} cf_policy_input;

typedef struct cf_decision {
	bool allow;
	cf_problem problem;     /* when denied: PURPOSE_REQUIRED, PURPOSE_NOT_ALLOWED, FORBIDDEN, FIELD_NOT_GRANTED */
	char reason[200];       /* safe to show: names roles, collection, purpose, field */
	const char *role;       /* first role whose grant allowed (points into input.roles) */
	const char *legal_basis;/* the collection's legal basis for the purpose (points into collection) */
	/* allowed[i] is true when field i of the collection (cf_collection_field_at order) may be
	 * read (read) or written (write). malloc'd, cf_collection_field_count entries; cf_decision_release. */
	bool *allowed;
	size_t n_allowed;
} cf_decision;

/*
 * Decides. Order of checks: purpose present; purpose declared by the
 * collection; some role has a grant on the collection for the action AND
 * the purpose (otherwise PURPOSE_NOT_ALLOWED when a grant exists for the
 * action with other purposes, FORBIDDEN when none); union of the matching
 * grants' fields ("*" = all) and categories; for write, every requested
 * field within it (FIELD_NOT_GRANTED names the first one outside); for read,
 * at least one field. Returns CF_ENOMEM only; the decision is in *out.
 */
cf_rc cf_policy_decide(const cf_policy_input *in, cf_decision *out) CF_MUST_CHECK;
void cf_decision_release(cf_decision *d);

/*
 * ---- Sharing agreements ----
 * A grant may name an agreement instead of a collection:
 *   {"agreement": ID, "actions": ["read"], "purposes": [PURPOSE, ...]}
 * (exactly one of "collection" or "agreement"; with "agreement", actions may
 * only be ["read"] and "fields"/"categories" are refused: the agreement
 * itself says which fields). Agreement ids match [A-Za-z0-9_-]{1,64}.
 * cf_grants_check ignores agreement grants (the vault checks them against
 * the recorded agreements); cf_grants_to_json keeps them.
 */
/* The distinct agreement ids the set names, as a JSON array of strings (new reference). */
json_t *cf_grants_agreements(const cf_grant_set *g);

/* A consumer organization's read of a provider's collection under an agreement. */
typedef struct cf_share_input {
	const char *const *roles;          /* the consumer's roles ... */
	const cf_grant_set *const *grants; /* ... and their grants in the consumer organization */
	size_t n_roles;
	const cf_collection *collection;   /* the provider's collection */
	const char *agreement;             /* the agreement's id */
	const char *const *fields;         /* the agreed field names */
	size_t n_fields;
	const char *const *categories;     /* the agreed categories */
	size_t n_categories;
	const char *const *purposes;       /* the agreed purposes */
	size_t n_purposes;
	const char *purpose;               /* X-Purpose */
	cf_action action;
} cf_share_input;

/*
 * Decides a shared access. Order: purpose present (PURPOSE_REQUIRED); action
 * is read (FORBIDDEN "agreements only allow reading"); purpose among the
 * agreed purposes (PURPOSE_NOT_ALLOWED "purpose 'p' is not covered by
 * agreement 'D'"); some consumer role has an agreement grant for this
 * agreement with the action and the purpose (FORBIDDEN when no grant names
 * the agreement, PURPOSE_NOT_ALLOWED when grants name it for other
 * purposes); allowed = the collection's fields named by the agreement or in
 * an agreed category (FORBIDDEN when none exist in the collection). On allow,
 * role is the first granting role; legal_basis is NULL (the agreement's
 * legal basis applies; the caller records it).
 */
cf_rc cf_policy_decide_shared(const cf_share_input *in, cf_decision *out) CF_MUST_CHECK;

#endif

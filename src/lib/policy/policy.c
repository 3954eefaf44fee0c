/*
 * policy.c - grants (what a role may do with which collections, fields and
 * categories, for which purposes) and the access decision every
 * personal-data call goes through. Pure: no I/O, no clock, no globals.
 * It must fail closed: anything not granted explicitly is denied, and an
 * allocation failure is a deny. Reasons name roles, collections, agreements,
 * purposes and fields, never a record value, and only names that pass the
 * syntax check are echoed. An agreement grant never opens the organization's
 * own collections: only cf_policy_decide_shared looks at it.
 */
#include "common/cf.h"
#include "policy/policy.h"

#include "common/json.h"

#define GRANTS_MAX 256
#define GRANT_PURPOSES_MAX 64
#define GRANT_CATEGORIES_MAX 16
#define ROLES_TEXT 112 /* "[agent, viewer, ...]" in a reason */
#define AGREEMENT_ID_MAX 64

/* Exactly one of collection and agreement is set. */
typedef struct grant {
	char *collection;
	char *agreement; /* an agreement grant: actions is CF_ACT_READ, no fields nor categories */
	unsigned actions; /* cf_action bits */
	char **purposes;
	size_t n_purposes;
	char **fields; /* names or "*" */
	size_t n_fields;
	bool has_fields;
	char **categories;
	size_t n_categories;
	bool has_categories;
} grant;

struct cf_grant_set {
	grant *g;
	size_t n;
};

static const struct {
	const char *name;
	cf_action action;
} actions[] = {
	{"read", CF_ACT_READ},
	{"write", CF_ACT_WRITE},
	{"delete", CF_ACT_DELETE},
};

const char *cf_action_name(cf_action a)
{
	for (size_t i = 0; i < CF_ARRAY_LEN(actions); i++)
		if (actions[i].action == a)
			return actions[i].name;
	return "unknown";
}

/* ---- parsing ---- */

static void strings_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void cf_grants_free(cf_grant_set *gs)
{
	if (gs == NULL)
		return;
	for (size_t i = 0; i < gs->n; i++) {
		grant *g = &gs->g[i];

		free(g->collection);
		free(g->agreement);
		strings_free(g->purposes, g->n_purposes);
		strings_free(g->fields, g->n_fields);
		strings_free(g->categories, g->n_categories);
	}
	free(gs->g);
	free(gs);
}

/* [A-Za-z0-9_-]{1,64} */
static bool agreement_id_valid(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strnlen(s, AGREEMENT_ID_MAX + 1);
	if (n == 0 || n > AGREEMENT_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
		      ch == '-'))
			return false;
	}
	return true;
}

static bool field_or_star_valid(const char *s)
{
	return strcmp(s, "*") == 0 || cf_name_valid(s);
}

/* A JSON string without NUL bytes, or NULL. */
static const char *plain_string(json_t *v)
{
	const char *s;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	return strlen(s) == json_string_length(v) ? s : NULL;
}

/*
 * A non-empty array of at most max distinct strings accepted by valid();
 * *out (allocated, caller frees with *n) is set even on failure so that
 * what was copied is released by the caller.
 */
static cf_rc string_list(json_t *arr, const char *what, const char *key, size_t max, bool (*valid)(const char *),
			 const char *rule, char ***out, size_t *n, cf_err *err)
{
	size_t i, count;
	json_t *v;

	if (!json_is_array(arr))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: %s must be an array of strings", what, key);
	count = json_array_size(arr);
	if (count == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: %s must not be empty", what, key);
	if (count > max)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "%s: %s has more than %zu entries", what, key, max);
	*out = calloc(count, sizeof(**out));
	if (*out == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	json_array_foreach(arr, i, v) {
		const char *s = plain_string(v);

		if (s == NULL)
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: %s[%zu] must be a string", what, key, i);
		if (!valid(s))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: %s[%zu] %s", what, key, i, rule);
		for (size_t j = 0; j < i; j++)
			if (strcmp((*out)[j], s) == 0)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: %s[%zu] repeats %s[%zu]",
						  what, key, i, key, j);
		(*out)[i] = cf_strdup(s);
		if ((*out)[i] == NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		*n = i + 1;
	}
	return CF_OK;
}

/* Action names to cf_action bits; refuses unknown or repeated names. */
static cf_rc parse_actions(json_t *arr, const char *what, unsigned *out, cf_err *err)
{
	size_t i;
	json_t *v;

	*out = 0;
	if (!json_is_array(arr))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: actions must be an array of strings", what);
	if (json_array_size(arr) == 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: actions must not be empty", what);
	json_array_foreach(arr, i, v) {
		const char *s = plain_string(v);
		unsigned bit = 0;

		if (s == NULL)
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: actions[%zu] must be a string", what, i);
		for (size_t k = 0; k < CF_ARRAY_LEN(actions); k++)
			if (strcmp(actions[k].name, s) == 0)
				bit = (unsigned)actions[k].action;
		if (bit == 0)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "%s: actions[%zu] must be read, write or delete", what, i);
		if (*out & bit)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: actions[%zu] is repeated", what, i);
		*out |= bit;
	}
	return CF_OK;
}

/*
 * The rest of an agreement grant: {"agreement": ID, "actions": ["read"],
 * "purposes": [...]}. Fields and categories are refused: the agreement
 * itself says which fields are shared, a grant must not seem to widen it.
 */
static cf_rc parse_agreement_grant(grant *g, const char *what, json_t *jagr, json_t *jactions, json_t *jpurposes,
				   json_t *jfields, json_t *jcats, cf_err *err)
{
	const char *s = plain_string(jagr);

	if (s == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: agreement must be a string", what);
	if (!agreement_id_valid(s))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: agreement does not match [A-Za-z0-9_-]{1,64}",
				  what);
	if (jfields != NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY,
				  "%s: fields is not allowed in an agreement grant (the agreement says which fields)", what);
	if (jcats != NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_UNKNOWN_KEY,
				  "%s: categories is not allowed in an agreement grant (the agreement says which fields)",
				  what);
	/* exactly ["read"]: anything else, whatever its shape, gets the same answer */
	if (!json_is_array(jactions) || json_array_size(jactions) != 1 ||
	    (s = plain_string(json_array_get(jactions, 0))) == NULL || strcmp(s, "read") != 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "%s: agreement grants only allow read (actions must be [\"read\"])", what);
	g->actions = (unsigned)CF_ACT_READ;
	g->agreement = cf_strdup(json_string_value(jagr));
	if (g->agreement == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	return string_list(jpurposes, what, "purposes", GRANT_PURPOSES_MAX, cf_label_valid,
			   "does not match [a-z][a-z0-9_-]{0,63}", &g->purposes, &g->n_purposes, err);
}

/* Parses one grant into g (zeroed by the caller; cf_grants_free releases it either way). */
static cf_rc parse_grant(grant *g, json_t *v, size_t index, cf_err *err)
{
	json_t *jcoll = NULL, *jagr = NULL, *jactions = NULL, *jpurposes = NULL, *jfields = NULL, *jcats = NULL;
	char what[32];
	const char *s;
	cf_rc rc;

	(void)snprintf(what, sizeof(what), "grants[%zu]", index);
	rc = cf_json_unpack(err, what, v, "{s?o, s?o, s:o, s:o, s?o, s?o}", "collection", &jcoll, "agreement", &jagr,
			    "actions", &jactions, "purposes", &jpurposes, "fields", &jfields, "categories", &jcats);
	if (rc != CF_OK)
		return rc;
	if (jcoll == NULL && jagr == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "%s: collection or agreement is required", what);
	if (jcoll != NULL && jagr != NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "%s: a grant names a collection or an agreement, not both", what);
	if (jagr != NULL)
		return parse_agreement_grant(g, what, jagr, jactions, jpurposes, jfields, jcats, err);
	s = plain_string(jcoll);
	if (s == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: collection must be a string", what);
	if (!cf_name_valid(s))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "%s: collection does not match [a-z][a-z0-9_]{0,63}", what);
	g->collection = cf_strdup(s);
	if (g->collection == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	rc = parse_actions(jactions, what, &g->actions, err);
	if (rc != CF_OK)
		return rc;
	rc = string_list(jpurposes, what, "purposes", GRANT_PURPOSES_MAX, cf_label_valid,
			 "does not match [a-z][a-z0-9_-]{0,63}", &g->purposes, &g->n_purposes, err);
	if (rc != CF_OK)
		return rc;
	if (jfields == NULL && jcats == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "%s: fields or categories is required", what);
	if (jfields != NULL) {
		g->has_fields = true;
		rc = string_list(jfields, what, "fields", CF_MAX_FIELDS + 1, field_or_star_valid,
				 "must be \"*\" or match [a-z][a-z0-9_]{0,63}", &g->fields, &g->n_fields, err);
		if (rc != CF_OK)
			return rc;
	}
	if (jcats != NULL) {
		g->has_categories = true;
		rc = string_list(jcats, what, "categories", GRANT_CATEGORIES_MAX, cf_category_valid,
				 "is not a known category", &g->categories, &g->n_categories, err);
		if (rc != CF_OK)
			return rc;
	}
	return CF_OK;
}

/* Allocates *out on success; on failure nothing is left allocated. */
cf_rc cf_grants_parse(json_t *arr, cf_grant_set **out, cf_err *err)
{
	cf_grant_set *gs = NULL;
	size_t i, n;
	json_t *v;
	cf_rc rc = CF_OK;

	CF_ASSERT(out != NULL);
	*out = NULL;
	if (!json_is_array(arr)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "grants must be a JSON array");
		goto out;
	}
	n = json_array_size(arr);
	if (n > GRANTS_MAX) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "more than %d grants", GRANTS_MAX);
		goto out;
	}
	gs = calloc(1, sizeof(*gs));
	if (gs == NULL || (n > 0 && (gs->g = calloc(n, sizeof(*gs->g))) == NULL)) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	json_array_foreach(arr, i, v) {
		gs->n = i + 1; /* counted first, so that cf_grants_free releases a half-parsed grant */
		rc = parse_grant(&gs->g[i], v, i, err);
		if (rc != CF_OK)
			goto out;
	}
	*out = gs;
	gs = NULL;
out:
	cf_grants_free(gs);
	return rc;
}

static json_t *strings_to_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* json_object_set_new that remembers a failure (jansson steals v either way). */
static void put(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

/* New reference, or NULL when out of memory. Actions come out in the order read, write, delete. */
json_t *cf_grants_to_json(const cf_grant_set *gs)
{
	json_t *arr = json_array();
	bool ok = arr != NULL;

	for (size_t i = 0; ok && i < gs->n; i++) {
		const grant *g = &gs->g[i];
		json_t *o = json_object(), *acts = json_array();

		if (o == NULL || acts == NULL) {
			json_decref(o);
			json_decref(acts);
			ok = false;
			break;
		}
		for (size_t k = 0; k < CF_ARRAY_LEN(actions); k++)
			if ((g->actions & (unsigned)actions[k].action) &&
			    json_array_append_new(acts, json_string(actions[k].name)) != 0)
				ok = false;
		if (g->agreement != NULL)
			put(o, "agreement", json_string(g->agreement), &ok);
		else
			put(o, "collection", json_string(g->collection), &ok);
		put(o, "actions", acts, &ok);
		put(o, "purposes", strings_to_json(g->purposes, g->n_purposes), &ok);
		if (g->has_fields)
			put(o, "fields", strings_to_json(g->fields, g->n_fields), &ok);
		if (g->has_categories)
			put(o, "categories", strings_to_json(g->categories, g->n_categories), &ok);
		if (json_array_append_new(arr, o) != 0)
			ok = false;
	}
	if (!ok) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* New reference, or NULL when out of memory. A NULL set names no agreement. */
json_t *cf_grants_agreements(const cf_grant_set *gs)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && gs != NULL && i < gs->n; i++) {
		const char *id = gs->g[i].agreement;
		bool seen = false;

		if (id == NULL)
			continue;
		for (size_t k = 0; k < i && !seen; k++)
			seen = gs->g[k].agreement != NULL && strcmp(gs->g[k].agreement, id) == 0;
		if (!seen && json_array_append_new(arr, json_string(id)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/*
 * Fails with CF_EINVAL (invalid-value) naming the first grant that refers to
 * an undeclared collection, field or purpose: a grant must never silently
 * cover nothing, nor something declared later under the same name by mistake.
 * Agreement grants are skipped: the vault checks them against its agreements.
 */
cf_rc cf_grants_check(const cf_grant_set *gs, cf_collection_lookup_fn lookup, void *ctx, cf_err *err)
{
	for (size_t i = 0; i < gs->n; i++) {
		const grant *g = &gs->g[i];
		const cf_collection *c;

		if (g->agreement != NULL)
			continue;
		c = lookup(ctx, g->collection);
		if (c == NULL)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "grants[%zu]: collection '%s' is not declared",
					  i, g->collection);
		for (size_t k = 0; k < g->n_fields; k++)
			if (strcmp(g->fields[k], "*") != 0 && cf_collection_field(c, g->fields[k]) == NULL)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "grants[%zu]: field '%s' is not declared in collection '%s'", i,
						  g->fields[k], g->collection);
		for (size_t k = 0; k < g->n_purposes; k++)
			if (cf_collection_legal_basis(c, g->purposes[k]) == NULL)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						  "grants[%zu]: purpose '%s' is not declared for collection '%s'", i,
						  g->purposes[k], g->collection);
	}
	return CF_OK;
}

/* ---- decision ---- */

static bool has_string(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* The same over a caller's list, whose NULL entries match nothing. */
static bool has_cstring(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL && strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Adds to allowed[] the collection's fields that grant g covers. */
static void grant_union(const grant *g, const cf_collection *c, bool *allowed)
{
	size_t n = cf_collection_field_count(c);

	for (size_t k = 0; k < g->n_fields; k++) {
		if (strcmp(g->fields[k], "*") == 0) {
			for (size_t i = 0; i < n; i++)
				allowed[i] = true;
			return;
		}
		long idx = cf_collection_field_index(c, g->fields[k]);
		if (idx >= 0)
			allowed[idx] = true; /* a field dropped from the schema since the grant is ignored */
	}
	if (g->n_categories == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (has_string(g->categories, g->n_categories, cf_field_category(cf_collection_field_at(c, i))))
			allowed[i] = true;
}

/* "[agent, viewer]", cut as "[agent, ...]" when the next name would not fit. */
static void roles_text(const char *const *roles, size_t n_roles, char out[ROLES_TEXT])
{
	size_t used = 1;

	out[0] = '[';
	for (size_t r = 0; r < n_roles; r++) {
		const char *name = cf_label_valid(roles[r]) ? roles[r] : "?";
		const char *sep = r > 0 ? ", " : "";
		size_t need = strlen(sep) + strlen(name);

		/* keep room for ", ...]" and the NUL after this name */
		if (used + need + 7 > ROLES_TEXT) {
			memcpy(out + used, sep, strlen(sep));
			used += strlen(sep);
			memcpy(out + used, "...", 3);
			used += 3;
			break;
		}
		memcpy(out + used, sep, strlen(sep));
		used += strlen(sep);
		memcpy(out + used, name, strlen(name));
		used += strlen(name);
	}
	out[used] = ']';
	out[used + 1] = '\0';
}

static void deny(cf_decision *out, cf_problem p, const char *fmt, ...) CF_PRINTF(3, 4);
static void deny(cf_decision *out, cf_problem p, const char *fmt, ...)
{
	va_list ap;

	out->allow = false;
	out->problem = p;
	out->role = NULL;
	free(out->allowed);
	out->allowed = NULL;
	out->n_allowed = 0;
	va_start(ap, fmt);
	(void)vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/*
 * Allocates out->allowed on allow (cf_decision_release frees it). On deny
 * allowed and role are NULL; legal_basis is set whenever the purpose is
 * declared, so that a denied access can be audited with it.
 */
cf_rc cf_policy_decide(const cf_policy_input *in, cf_decision *out)
{
	const cf_collection *c;
	const char *cname, *act, *purpose;
	char roles[ROLES_TEXT];
	bool any_for_action = false, matched = false, any_field = false;
	size_t n;

	CF_ASSERT(in != NULL && out != NULL && in->collection != NULL);
	CF_ASSERT(in->n_roles == 0 || (in->roles != NULL && in->grants != NULL));
	CF_ASSERT(in->n_fields == 0 || in->fields != NULL);
	memset(out, 0, sizeof(*out));
	c = in->collection;
	cname = cf_collection_name(c);
	purpose = in->purpose;
	act = cf_action_name(in->action);
	roles_text(in->roles, in->n_roles, roles);

	if (strcmp(act, "unknown") == 0) {
		deny(out, CF_P_FORBIDDEN, "unknown action on '%s'", cname);
		return CF_OK;
	}
	if (purpose == NULL || purpose[0] == '\0') {
		deny(out, CF_P_PURPOSE_REQUIRED, "a purpose is required to %s '%s'", act, cname);
		return CF_OK;
	}
	if (!cf_label_valid(purpose)) {
		deny(out, CF_P_PURPOSE_NOT_ALLOWED, "the purpose is not a valid purpose name ([a-z][a-z0-9_-]{0,63})");
		return CF_OK;
	}
	out->legal_basis = cf_collection_legal_basis(c, purpose);
	if (out->legal_basis == NULL) {
		deny(out, CF_P_PURPOSE_NOT_ALLOWED, "purpose '%s' is not declared for collection '%s'", purpose, cname);
		return CF_OK;
	}

	n = cf_collection_field_count(c);
	out->allowed = calloc(n > 0 ? n : 1, sizeof(*out->allowed));
	if (out->allowed == NULL) {
		deny(out, CF_P_INTERNAL, "out of memory");
		return CF_ENOMEM;
	}
	for (size_t r = 0; r < in->n_roles; r++) {
		const cf_grant_set *gs = in->grants[r];

		if (gs == NULL)
			continue;
		for (size_t i = 0; i < gs->n; i++) {
			const grant *g = &gs->g[i];

			/* an agreement grant opens a provider's collection, never one of ours */
			if (g->collection == NULL || strcmp(g->collection, cname) != 0 ||
			    !(g->actions & (unsigned)in->action))
				continue;
			if (!has_string(g->purposes, g->n_purposes, purpose)) {
				any_for_action = true;
				continue;
			}
			if (!matched)
				out->role = in->roles[r];
			matched = true;
			grant_union(g, c, out->allowed);
		}
	}
	if (!matched) {
		if (any_for_action)
			deny(out, CF_P_PURPOSE_NOT_ALLOWED, "no grant of roles %s allows %s on '%s' for purpose '%s'",
			     roles, act, cname, purpose);
		else
			deny(out, CF_P_FORBIDDEN, "no grant of roles %s allows %s on '%s'", roles, act, cname);
		return CF_OK;
	}

	if (in->action == CF_ACT_WRITE) {
		for (size_t k = 0; k < in->n_fields; k++) {
			const char *f = in->fields[k];
			long idx = cf_collection_field_index(c, f);

			if (idx >= 0 && out->allowed[idx])
				continue;
			if (cf_name_valid(f))
				deny(out, CF_P_FIELD_NOT_GRANTED, "field '%s' is outside the grant for write on '%s'", f,
				     cname);
			else
				deny(out, CF_P_FIELD_NOT_GRANTED, "a field is outside the grant for write on '%s'", cname);
			return CF_OK;
		}
	}
	if (in->action == CF_ACT_READ) {
		for (size_t i = 0; i < n && !any_field; i++)
			any_field = out->allowed[i];
		if (!any_field) {
			deny(out, CF_P_FIELD_NOT_GRANTED,
			     "no field of '%s' is within the grants of roles %s for read for purpose '%s'", cname, roles,
			     purpose);
			return CF_OK;
		}
	}
	out->allow = true;
	out->problem = CF_P_NONE;
	out->n_allowed = n;
	(void)snprintf(out->reason, sizeof(out->reason), "%s on '%s' for purpose '%s' granted to role '%s'", act,
		       cname, purpose, cf_label_valid(out->role) ? out->role : "?");
	return CF_OK;
}

/*
 * Allocates out->allowed on allow (cf_decision_release frees it); returns
 * CF_ENOMEM only, with a deny. The consumer's collection grants play no
 * part: only its agreement grants naming this agreement do, and the fields
 * are the agreement's, never widened by a grant. legal_basis stays NULL.
 */
cf_rc cf_policy_decide_shared(const cf_share_input *in, cf_decision *out)
{
	const cf_collection *c;
	const char *cname, *act, *purpose, *agr;
	char roles[ROLES_TEXT];
	bool named = false, matched = false, any_field = false;
	size_t n;

	CF_ASSERT(in != NULL && out != NULL && in->collection != NULL);
	CF_ASSERT(in->n_roles == 0 || (in->roles != NULL && in->grants != NULL));
	CF_ASSERT(in->n_fields == 0 || in->fields != NULL);
	CF_ASSERT(in->n_categories == 0 || in->categories != NULL);
	CF_ASSERT(in->n_purposes == 0 || in->purposes != NULL);
	memset(out, 0, sizeof(*out));
	c = in->collection;
	cname = cf_collection_name(c);
	purpose = in->purpose;
	act = cf_action_name(in->action);
	agr = agreement_id_valid(in->agreement) ? in->agreement : "?";
	roles_text(in->roles, in->n_roles, roles);

	if (purpose == NULL || purpose[0] == '\0') {
		deny(out, CF_P_PURPOSE_REQUIRED, "a purpose is required to access '%s' under agreement '%s'", cname, agr);
		return CF_OK;
	}
	if (in->action != CF_ACT_READ) {
		deny(out, CF_P_FORBIDDEN, "agreements only allow reading: %s on '%s' under agreement '%s' refused", act,
		     cname, agr);
		return CF_OK;
	}
	if (!cf_label_valid(purpose)) {
		deny(out, CF_P_PURPOSE_NOT_ALLOWED, "the purpose is not a valid purpose name ([a-z][a-z0-9_-]{0,63})");
		return CF_OK;
	}
	if (!has_cstring(in->purposes, in->n_purposes, purpose)) {
		deny(out, CF_P_PURPOSE_NOT_ALLOWED, "purpose '%s' is not covered by agreement '%s'", purpose, agr);
		return CF_OK;
	}

	for (size_t r = 0; r < in->n_roles && !matched; r++) {
		const cf_grant_set *gs = in->grants[r];

		for (size_t i = 0; gs != NULL && i < gs->n && !matched; i++) {
			const grant *g = &gs->g[i];

			if (g->agreement == NULL || in->agreement == NULL || strcmp(g->agreement, in->agreement) != 0 ||
			    !(g->actions & (unsigned)in->action))
				continue;
			named = true;
			if (has_string(g->purposes, g->n_purposes, purpose)) {
				matched = true;
				out->role = in->roles[r];
			}
		}
	}
	if (!matched) {
		if (named)
			deny(out, CF_P_PURPOSE_NOT_ALLOWED,
			     "no grant of roles %s allows read under agreement '%s' for purpose '%s'", roles, agr, purpose);
		else
			deny(out, CF_P_FORBIDDEN, "no grant of roles %s names agreement '%s'", roles, agr);
		return CF_OK;
	}

	n = cf_collection_field_count(c);
	out->allowed = calloc(n > 0 ? n : 1, sizeof(*out->allowed));
	if (out->allowed == NULL) {
		deny(out, CF_P_INTERNAL, "out of memory");
		return CF_ENOMEM;
	}
	for (size_t k = 0; k < in->n_fields; k++) {
		long idx = in->fields[k] != NULL ? cf_collection_field_index(c, in->fields[k]) : -1;

		if (idx >= 0)
			out->allowed[idx] = true; /* an agreed name the collection no longer has is ignored */
	}
	for (size_t i = 0; i < n; i++) {
		if (has_cstring(in->categories, in->n_categories, cf_field_category(cf_collection_field_at(c, i))))
			out->allowed[i] = true;
		any_field = any_field || out->allowed[i];
	}
	if (!any_field) {
		deny(out, CF_P_FORBIDDEN, "agreement '%s' covers no field of '%s'", agr, cname);
		return CF_OK;
	}
	out->allow = true;
	out->problem = CF_P_NONE;
	out->n_allowed = n;
	(void)snprintf(out->reason, sizeof(out->reason),
		       "read on '%s' for purpose '%s' under agreement '%s' granted to role '%s'", cname, purpose, agr,
		       cf_label_valid(out->role) ? out->role : "?");
	return CF_OK;
}

void cf_decision_release(cf_decision *d)
{
	if (d == NULL)
		return;
	free(d->allowed);
	d->allowed = NULL;
	d->n_allowed = 0;
}

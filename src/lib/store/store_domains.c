/*
 * store_domains.c - the store's side of delegated administration: an
 * organization's domains of activity ("qualities") with their contact and
 * technical user, the subdivisions of each domain with the collections
 * they work on, and where each member sits (domain, subdivision, admin
 * level) with their attributes (language, email); the member search.
 *
 * The store keeps what SQL can keep: a subdivision never leaves its domain,
 * a member's subdivision lies in the member's domain, a manager level has
 * the place it manages. Who may change any of it is the vault's and the
 * policy module's decision, never this file's. It must never build SQL
 * from a value and never put a value (an id, a name, an email, a username,
 * a search query) into an error detail.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"

#define NAME_MAX_LEN 200     /* domain and subdivision names */
#define EMAIL_MAX_LEN 254    /* RFC 5321 path limit */
#define LANGUAGE_MAX_LEN 16  /* a BCP 47 tag such as "fr" or "fr-BE" */
#define SEARCH_LIMIT_MAX 1000

static const char *const admin_levels[] = {"local", "co_local", "subdivision"};

/* ---- argument checks ---- */

/* A language tag: letters, digits and '-' (BCP 47 is ASCII), no more. */
static cf_rc check_language(const char *v, cf_err *err)
{
	size_t i, n;
	cf_rc rc;

	rc = cf_sti_check_str(v, "language", LANGUAGE_MAX_LEN, false, err);
	if (rc != CF_OK)
		return rc;
	n = strlen(v);
	for (i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "store: language must be a tag of letters, digits and '-'");
	}
	return CF_OK;
}

/* NULL is "no level"; anything else must be one of admin_levels. */
static cf_rc check_admin_level(const char *v, cf_err *err)
{
	size_t i;
	cf_rc rc;

	if (v == NULL)
		return CF_OK;
	rc = cf_sti_check_str(v, "admin level", CF_ID_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	for (i = 0; i < CF_ARRAY_LEN(admin_levels); i++)
		if (strcmp(v, admin_levels[i]) == 0)
			return CF_OK;
	return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
			  "store: admin level must be local, co_local or subdivision");
}

/*
 * A JSON array of collection names (non-empty strings of at most
 * CF_ID_MAX bytes), canonical (compact) into *out, malloc'd for the
 * caller, NULL on failure.
 */
static cf_rc canonical_collections(const char *v, char **out, cf_err *err)
{
	json_error_t jerr;
	json_t *arr = NULL, *e;
	size_t i;
	cf_rc rc;

	rc = cf_sti_canonical_json(v, "subdivision collections", JSON_ARRAY, true, out, err);
	if (rc != CF_OK)
		return rc;
	arr = json_loads(*out, JSON_REJECT_DUPLICATES, &jerr);
	if (arr == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	json_array_foreach(arr, i, e) {
		if (json_string_length(e) > CF_ID_MAX) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG,
					"store: a subdivision collection name is longer than %d bytes", CF_ID_MAX);
			goto out;
		}
	}
	rc = CF_OK;
out:
	json_decref(arr);
	if (rc != CF_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* ---- rows to JSON ---- */

/* A nullable text column, borrowed until the next step/reset (NULL for SQL NULL). */
static cf_rc col_opt(sqlite3_stmt *st, int i, const char **out, cf_err *err)
{
	*out = NULL;
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return CF_OK;
	return cf_sti_col_text(st, i, out, err);
}

/* Builds one JSON item from the current row; *item a new reference. */
typedef cf_rc (*item_fn)(sqlite3_stmt *st, json_t **item, cf_err *err);

static cf_rc pack_failed(cf_err *err)
{
	return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building an answer");
}

/* Columns id, name, contact_email, technical user's username: {"id","name","contact_email","technical_user"}. */
static cf_rc domain_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *id, *name, *email, *technical;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &id, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 1, &name, err);
	if (rc == CF_OK)
		rc = col_opt(st, 2, &email, err);
	if (rc == CF_OK)
		rc = col_opt(st, 3, &technical, err);
	if (rc != CF_OK)
		return rc;
	*item = json_pack("{s:s, s:s, s:s?, s:s?}", "id", id, "name", name, "contact_email", email,
			  "technical_user", technical);
	return *item == NULL ? pack_failed(err) : CF_OK;
}

/* Columns id, domain, name, blocked, collections: {"id","domain","name","blocked","collections":[..]}. */
static cf_rc subdivision_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *id, *domain, *name, *text;
	json_t *collections = NULL;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &id, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 1, &domain, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 2, &name, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 4, &text, err);
	if (rc == CF_OK)
		rc = cf_sti_load_json(text, "subdivision collections", &collections, err);
	if (rc != CF_OK)
		return rc;
	if (!json_is_array(collections)) {
		json_decref(collections);
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY,
				  "store: stored subdivision collections are not a JSON array");
	}
	/* "o" steals collections, also when packing fails. */
	*item = json_pack("{s:s, s:s, s:s, s:b, s:o}", "id", id, "domain", domain, "name", name, "blocked",
			  sqlite3_column_int64(st, 3) != 0, "collections", collections);
	return *item == NULL ? pack_failed(err) : CF_OK;
}

/*
 * Columns username, roles, blocked, domain, subdivision, admin_level,
 * language, email: one member search item, absent values null.
 */
static cf_rc member_item(sqlite3_stmt *st, json_t **item, cf_err *err)
{
	const char *username, *roles_text, *opt[5];
	json_t *roles = NULL;
	size_t i;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &username, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 1, &roles_text, err);
	for (i = 0; rc == CF_OK && i < CF_ARRAY_LEN(opt); i++)
		rc = col_opt(st, 3 + (int)i, &opt[i], err);
	if (rc == CF_OK)
		rc = cf_sti_load_json(roles_text, "roles", &roles, err);
	if (rc != CF_OK)
		return rc;
	/* "o" steals roles, also when packing fails. */
	*item = json_pack("{s:s, s:o, s:b, s:s?, s:s?, s:s?, s:s?, s:s?}", "username", username, "roles", roles,
			  "blocked", sqlite3_column_int64(st, 2) != 0, "domain", opt[0], "subdivision", opt[1],
			  "admin_level", opt[2], "language", opt[3], "email", opt[4]);
	return *item == NULL ? pack_failed(err) : CF_OK;
}

/* Steps a bound statement to its first row and builds the item (CF_ENOTFOUND when none). */
static cf_rc get_one(cf_tx *tx, sqlite3_stmt *st, int src, item_fn fn, const char *what, json_t **out,
		     cf_err *err)
{
	cf_rc rc;

	if (src != SQLITE_OK)
		return cf_sti_fail(tx->s, src, what, err);
	rc = cf_sti_row(tx->s, st, what, err);
	if (rc == CF_OK)
		rc = fn(st, out, err);
	return rc;
}

/* Steps a bound statement to the end, one item per row; *out a new array for the caller. */
static cf_rc collect(cf_tx *tx, sqlite3_stmt *st, int src, item_fn fn, const char *what, json_t **out,
		     cf_err *err)
{
	json_t *arr = NULL, *item = NULL;
	cf_rc rc;

	if (src != SQLITE_OK)
		return cf_sti_fail(tx->s, src, what, err);
	arr = json_array();
	if (arr == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = fn(st, &item, err);
		if (rc == CF_OK)
			rc = cf_sti_append(arr, item, err);
		item = NULL;
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, what, err);
		goto out;
	}
	*out = arr;
	arr = NULL;
	rc = CF_OK;
out:
	json_decref(arr);
	return rc;
}

/* ---- domains ---- */

/* Inserts, or renames an existing domain (created_us, contact and technical user kept). */
cf_rc cf_st_domain_put(cf_tx *tx, const char *org, const char *id, const char *name, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(id, "domain id", CF_ID_MAX, err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(name, "domain name", NAME_MAX_LEN, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_DOMAIN_PUT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	cf_sti_bind_text(st, &src, 3, name);
	cf_sti_bind_int(st, &src, 4, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "domain", err) : cf_sti_exec(tx->s, st, "domain", err);
	cf_sti_done(st);
	return rc;
}

/* *out is a new reference for the caller (NULL on failure). */
cf_rc cf_st_domain_get(cf_tx *tx, const char *org, const char *id, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "domain id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_DOMAIN_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	rc = get_one(tx, st, src, domain_item, "domain", out, err);
	cf_sti_done(st);
	return rc;
}

/* *out is a new reference for the caller; an unknown org has no domains ([]). */
cf_rc cf_st_domain_list(cf_tx *tx, const char *org, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_DOMAIN_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	rc = collect(tx, st, src, domain_item, "domain list", out, err);
	cf_sti_done(st);
	return rc;
}

/* email NULL clears the contact; an empty email is refused. CF_ENOTFOUND when the domain is absent. */
cf_rc cf_st_domain_set_contact(cf_tx *tx, const char *org, const char *id, const char *email, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "domain id", err);
	if (rc == CF_OK && email != NULL)
		rc = cf_sti_check_text(email, "contact email", EMAIL_MAX_LEN, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_DOMAIN_SET_CONTACT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	cf_sti_bind_text(st, &src, 3, email);
	rc = cf_sti_exec_one(tx, st, src, "domain", err);
	cf_sti_done(st);
	return rc;
}

/* The user id of a member of org named username; CF_ENOTFOUND for an unknown user and a non-member alike. */
static cf_rc member_id(cf_tx *tx, const char *org, const char *username, int64_t *user_id, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	*user_id = 0;
	rc = cf_sti_stmt(tx, STI_DOMAIN_MEMBER_ID, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, username);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "member", err)
				: cf_sti_row(tx->s, st, "member of the organization", err);
	if (rc == CF_OK)
		*user_id = sqlite3_column_int64(st, 0);
	cf_sti_done(st);
	return rc;
}

/*
 * username NULL clears the technical user. CF_ENOTFOUND when the user is
 * unknown or not a member of org, or when the domain is absent.
 */
cf_rc cf_st_domain_set_technical(cf_tx *tx, const char *org, const char *id, const char *username, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t user_id = 0;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "domain id", err);
	if (rc == CF_OK && username != NULL)
		rc = cf_sti_check_str(username, "username", CF_STI_NAME_MAX, false, err);
	if (rc == CF_OK && username != NULL)
		rc = member_id(tx, org, username, &user_id, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_DOMAIN_SET_TECHNICAL, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	if (username != NULL)
		cf_sti_bind_int(st, &src, 3, user_id);
	else
		cf_sti_bind_text(st, &src, 3, NULL);
	rc = cf_sti_exec_one(tx, st, src, "domain", err);
	cf_sti_done(st);
	return rc;
}

/* ---- subdivisions ---- */

/*
 * Inserts, or updates the name and collections of the subdivision in the
 * same domain (blocked and created_us kept). CF_ENOTFOUND when the domain
 * (or the organization) is absent; CF_EINVAL when the id is a subdivision
 * of another domain of the organization: a subdivision never moves.
 */
cf_rc cf_st_subdivision_put(cf_tx *tx, const char *org, const char *domain, const char *id, const char *name,
			    const char *collections_json, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	char *collections = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(domain, "domain id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(id, "subdivision id", CF_ID_MAX, err);
	if (rc == CF_OK)
		rc = cf_sti_check_text(name, "subdivision name", NAME_MAX_LEN, err);
	if (rc == CF_OK)
		rc = canonical_collections(collections_json, &collections, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_sti_stmt(tx, STI_SUBDIVISION_PUT, &st, err);
	if (rc != CF_OK)
		goto out;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	cf_sti_bind_text(st, &src, 3, domain);
	cf_sti_bind_text(st, &src, 4, name);
	cf_sti_bind_text(st, &src, 5, collections);
	cf_sti_bind_int(st, &src, 6, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "subdivision", err)
				: cf_sti_exec(tx->s, st, "subdivision", err);
	/* Nothing written: the id exists and the upsert's WHERE saw another domain. */
	if (rc == CF_OK && sqlite3_changes64(tx->s->db) == 0)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"store: the subdivision belongs to another domain; a subdivision cannot move");
out:
	cf_sti_done(st);
	free(collections);
	return rc;
}

/* *out is a new reference for the caller (NULL on failure). */
cf_rc cf_st_subdivision_get(cf_tx *tx, const char *org, const char *id, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "subdivision id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBDIVISION_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	rc = get_one(tx, st, src, subdivision_item, "subdivision", out, err);
	cf_sti_done(st);
	return rc;
}

/*
 * The subdivisions of one domain (domain NULL: of the whole organization),
 * ordered by id, as cf_st_subdivision_get items; an unknown domain has none.
 * *out is a new reference for the caller.
 */
cf_rc cf_st_subdivision_list(cf_tx *tx, const char *org, const char *domain, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK && domain != NULL)
		rc = cf_sti_check_id(domain, "domain id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBDIVISION_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, domain);
	rc = collect(tx, st, src, subdivision_item, "subdivision list", out, err);
	cf_sti_done(st);
	return rc;
}

/* CF_ENOTFOUND when the subdivision is absent; setting the current value again is fine. */
cf_rc cf_st_subdivision_set_blocked(cf_tx *tx, const char *org, const char *id, bool blocked, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(id, "subdivision id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_SUBDIVISION_SET_BLOCKED, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	cf_sti_bind_int(st, &src, 3, blocked ? 1 : 0);
	rc = cf_sti_exec_one(tx, st, src, "subdivision", err);
	cf_sti_done(st);
	return rc;
}

/* ---- members: place, attributes, removal, search ---- */

/* CF_ENOTFOUND when the subdivision is absent, CF_EINVAL when it lies in another domain than `domain`. */
static cf_rc check_in_domain(cf_tx *tx, const char *org, const char *domain, const char *subdivision, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *actual;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, STI_SUBDIVISION_DOMAIN, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, subdivision);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "subdivision", err)
				: cf_sti_row(tx->s, st, "subdivision", err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 0, &actual, err);
	if (rc == CF_OK && strcmp(actual, domain) != 0)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: the subdivision is not in the domain");
	cf_sti_done(st);
	return rc;
}

/*
 * Replaces the member's domain, subdivision and admin level together.
 * CF_EINVAL: a subdivision without its domain or in another domain, a
 * "subdivision" level without a subdivision, a "local"/"co_local" level
 * without a domain. CF_ENOTFOUND: the domain, the subdivision or the
 * membership is absent.
 */
cf_rc cf_st_member_set_scope(cf_tx *tx, int64_t user_id, const char *org, const char *domain,
			     const char *subdivision, const char *admin_level, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK && domain != NULL)
		rc = cf_sti_check_id(domain, "domain id", err);
	if (rc == CF_OK && subdivision != NULL)
		rc = cf_sti_check_id(subdivision, "subdivision id", err);
	if (rc == CF_OK)
		rc = check_admin_level(admin_level, err);
	if (rc != CF_OK)
		return rc;
	if (subdivision != NULL && domain == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: a subdivision needs its domain");
	if (admin_level != NULL && strcmp(admin_level, "subdivision") == 0 && subdivision == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "store: the subdivision admin level needs a subdivision");
	if (admin_level != NULL && domain == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "store: the local and co_local admin levels need a domain");
	if (subdivision != NULL) {
		rc = check_in_domain(tx, org, domain, subdivision, err);
		if (rc != CF_OK)
			return rc;
	}
	rc = cf_sti_stmt(tx, STI_MEMBER_SET_SCOPE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_text(st, &src, 3, domain);
	cf_sti_bind_text(st, &src, 4, subdivision);
	cf_sti_bind_text(st, &src, 5, admin_level);
	rc = cf_sti_exec_one(tx, st, src, "membership", err);
	cf_sti_done(st);
	return rc;
}

/* NULL keeps a value, "" clears it. CF_ENOTFOUND when the membership is absent. */
cf_rc cf_st_member_set_attributes(cf_tx *tx, int64_t user_id, const char *org, const char *language,
				  const char *email, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK && language != NULL && language[0] != '\0')
		rc = check_language(language, err);
	if (rc == CF_OK && email != NULL && email[0] != '\0')
		rc = cf_sti_check_text(email, "email", EMAIL_MAX_LEN, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_MEMBER_SET_ATTRIBUTES, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_text(st, &src, 3, language);
	cf_sti_bind_text(st, &src, 4, email);
	rc = cf_sti_exec_one(tx, st, src, "membership", err);
	cf_sti_done(st);
	return rc;
}

/* The vault validates the names; the store keeps the array's text as given (or NULL). */
cf_rc cf_st_member_set_collections(cf_tx *tx, int64_t user_id, const char *org, const char *collections_json,
				   cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK && collections_json != NULL)
		rc = cf_sti_check_text(collections_json, "collections", 65536, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_MEMBER_SET_COLLECTIONS, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_text(st, &src, 3, collections_json);
	rc = cf_sti_exec_one(tx, st, src, "membership", err);
	cf_sti_done(st);
	return rc;
}

/*
 * Removes the membership only: the user row stays (sessions and API keys
 * stop working because authentication reads the membership). The user
 * stops being the technical user of that organization's domains, which
 * must name a member.
 */
cf_rc cf_st_member_delete(cf_tx *tx, int64_t user_id, const char *org, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_MEMBER_DELETE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	rc = cf_sti_exec_one(tx, st, src, "membership", err);
	cf_sti_done(st);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_DOMAIN_CLEAR_TECHNICAL, &st, err);
	if (rc != CF_OK)
		return rc;
	src = SQLITE_OK;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_int(st, &src, 2, user_id);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "domain", err) : cf_sti_exec(tx->s, st, "domain", err);
	cf_sti_done(st);
	return rc;
}

/*
 * Filters (NULL = any) combine with AND. query is matched as a plain
 * substring of the username (instr, no LIKE wildcards; case folded for
 * ASCII letters, as SQLite's lower() does). limit is at most
 * SEARCH_LIMIT_MAX. *out is a new reference for the caller.
 */
cf_rc cf_st_member_search(cf_tx *tx, const char *org, const char *domain, const char *subdivision, const char *query,
			  size_t limit, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK && domain != NULL)
		rc = cf_sti_check_id(domain, "domain id", err);
	if (rc == CF_OK && subdivision != NULL)
		rc = cf_sti_check_id(subdivision, "subdivision id", err);
	if (rc == CF_OK && query != NULL)
		rc = cf_sti_check_str(query, "search query", CF_STI_NAME_MAX, true, err);
	if (rc != CF_OK)
		return rc;
	if (limit > SEARCH_LIMIT_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				  "store: a member search answers at most %d members", SEARCH_LIMIT_MAX);
	rc = cf_sti_stmt(tx, STI_MEMBER_SEARCH, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, domain);
	cf_sti_bind_text(st, &src, 3, subdivision);
	cf_sti_bind_text(st, &src, 4, query);
	cf_sti_bind_int(st, &src, 5, (int64_t)limit); /* capped above */
	rc = collect(tx, st, src, member_item, "member search", out, err);
	cf_sti_done(st);
	return rc;
}

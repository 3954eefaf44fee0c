/*
 * store_accounts.c - the store's instance metadata, organizations, users,
 * memberships, session tokens and API keys. Each function binds its
 * arguments to one cached statement and maps the outcome; none of them
 * decides who may do what (that is the auth and policy modules' job).
 * It never sees a plaintext secret: tokens and API keys arrive hashed,
 * passwords as Argon2id strings.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"

#include <limits.h>

#define HASH_MAX 64
#define METHOD_MAX 15

/* ---- meta ---- */

/* *value is malloc'd for the caller. */
cf_rc cf_st_meta_get(cf_tx *tx, const char *key, char **value, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (value == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*value = NULL;
	rc = cf_sti_check_str(key, "meta key", CF_STI_NAME_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_META_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, key);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "meta", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "meta key", err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 0, false, value, err);
out:
	cf_sti_done(st);
	return rc;
}

cf_rc cf_st_meta_set(cf_tx *tx, const char *key, const char *value, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_str(key, "meta key", CF_STI_NAME_MAX, false, err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(value, "meta value", CF_STI_JSON_MAX, true, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_META_SET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, key);
	cf_sti_bind_text(st, &src, 2, value);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "meta", err) : cf_sti_exec(tx->s, st, "meta", err);
	cf_sti_done(st);
	return rc;
}

/* ---- organizations ---- */

cf_rc cf_st_org_insert(cf_tx *tx, const char *id, const char *name, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(id, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(name, "organization name", CF_STI_TEXT_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_ORG_INSERT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, id);
	cf_sti_bind_text(st, &src, 2, name);
	cf_sti_bind_int(st, &src, 3, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "organization", err)
				: cf_sti_exec(tx->s, st, "organization", err);
	cf_sti_done(st);
	return rc;
}

/* *name is malloc'd for the caller. */
cf_rc cf_st_org_get(cf_tx *tx, const char *id, char **name, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (name == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*name = NULL;
	rc = cf_sti_check_id(id, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_ORG_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, id);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "organization", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "organization", err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 0, false, name, err);
out:
	cf_sti_done(st);
	return rc;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_org_list(cf_tx *tx, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	const char *id, *name;
	int src;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_stmt(tx, STI_ORG_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	arr = json_array();
	if (arr == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = cf_sti_col_text(st, 0, &id, err);
		if (rc == CF_OK)
			rc = cf_sti_col_text(st, 1, &name, err);
		if (rc == CF_OK)
			rc = cf_sti_append(arr, json_pack("{s:s, s:s, s:I}", "id", id, "name", name, "created_us",
							  (json_int_t)sqlite3_column_int64(st, 2)),
					   err);
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, "organization list", err);
		goto out;
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	cf_sti_done(st);
	return rc;
}

/* ---- users ---- */

void cf_user_row_release(cf_user_row *u)
{
	if (u == NULL)
		return;
	free(u->username);
	free(u->pwhash);
	free(u->instance_roles);
	memset(u, 0, sizeof(*u));
}

/* Roles are stored in canonical form, so "no role" is always the text "[]". */
static cf_rc canonical_roles(const char *roles_json, const char *what, char **out, cf_err *err)
{
	return cf_sti_canonical_json(roles_json, what, JSON_ARRAY, true, out, err);
}

cf_rc cf_st_user_insert(cf_tx *tx, const char *username, const char *pwhash, const char *instance_roles_json,
			int64_t now_us, int64_t *id_out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	char *roles = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (id_out != NULL)
		*id_out = 0;
	rc = cf_sti_check_str(username, "username", CF_STI_NAME_MAX, false, err);
	if (rc == CF_OK && pwhash != NULL)
		rc = cf_sti_check_str(pwhash, "password hash", CF_STI_TEXT_MAX, false, err);
	if (rc == CF_OK)
		rc = canonical_roles(instance_roles_json != NULL ? instance_roles_json : "[]", "instance roles",
				     &roles, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_sti_stmt(tx, STI_USER_INSERT, &st, err);
	if (rc != CF_OK)
		goto out;
	cf_sti_bind_text(st, &src, 1, username);
	cf_sti_bind_text(st, &src, 2, pwhash);
	cf_sti_bind_text(st, &src, 3, roles);
	cf_sti_bind_int(st, &src, 4, now_us);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "user", err);
		goto out;
	}
	rc = cf_sti_returning(tx->s, st, "user", err);
	if (rc != CF_OK)
		goto out;
	if (id_out != NULL)
		*id_out = sqlite3_column_int64(st, 0);
	rc = cf_sti_exec(tx->s, st, "user", err);
out:
	cf_sti_done(st);
	free(roles);
	return rc;
}

/* Fills *out from a users row (columns as in STI_USER_GET). */
static cf_rc read_user(sqlite3_stmt *st, cf_user_row *out, cf_err *err)
{
	int64_t failed = sqlite3_column_int64(st, 4);
	cf_rc rc;

	out->id = sqlite3_column_int64(st, 0);
	rc = cf_sti_col_dup(st, 1, false, &out->username, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 2, true, &out->pwhash, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 3, false, &out->instance_roles, err);
	if (rc != CF_OK)
		return rc;
	if (failed < 0 || failed > INT_MAX)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: stored failed-login count out of range");
	out->failed_logins = (int)failed;
	out->locked_until_us = sqlite3_column_int64(st, 5);
	out->created_us = sqlite3_column_int64(st, 6);
	return CF_OK;
}

/* Shared body of the two user lookups; *out is released by the caller, also on failure. */
static cf_rc user_get(cf_tx *tx, cf_sti_id id, const char *username, int64_t user_id, cf_user_row *out,
		      cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, id, &st, err);
	if (rc != CF_OK)
		return rc;
	if (username != NULL)
		cf_sti_bind_text(st, &src, 1, username);
	else
		cf_sti_bind_int(st, &src, 1, user_id);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "user", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "user", err);
	if (rc == CF_OK)
		rc = read_user(st, out, err);
out:
	cf_sti_done(st);
	if (rc != CF_OK)
		cf_user_row_release(out);
	return rc;
}

/* *out holds malloc'd strings: cf_user_row_release. */
cf_rc cf_st_user_get(cf_tx *tx, const char *username, cf_user_row *out, cf_err *err)
{
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(out, 0, sizeof(*out));
	rc = cf_sti_check_str(username, "username", CF_STI_NAME_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	return user_get(tx, STI_USER_GET, username, 0, out, err);
}

/* *out holds malloc'd strings: cf_user_row_release. */
cf_rc cf_st_user_get_by_id(cf_tx *tx, int64_t id, cf_user_row *out, cf_err *err)
{
	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(out, 0, sizeof(*out));
	return user_get(tx, STI_USER_GET_BY_ID, NULL, id, out, err);
}

cf_rc cf_st_user_set_login_state(cf_tx *tx, int64_t id, int failed_logins, int64_t locked_until_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (failed_logins < 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: failed-login count is negative");
	rc = cf_sti_stmt(tx, STI_USER_SET_LOGIN, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, id);
	cf_sti_bind_int(st, &src, 2, failed_logins);
	cf_sti_bind_int(st, &src, 3, locked_until_us);
	rc = cf_sti_exec_one(tx, st, src, "user", err);
	cf_sti_done(st);
	return rc;
}

/* pwhash NULL removes the password (the user then logs in otherwise). */
cf_rc cf_st_user_set_password(cf_tx *tx, int64_t id, const char *pwhash, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (pwhash != NULL) {
		rc = cf_sti_check_str(pwhash, "password hash", CF_STI_TEXT_MAX, false, err);
		if (rc != CF_OK)
			return rc;
	}
	rc = cf_sti_stmt(tx, STI_USER_SET_PASSWORD, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, id);
	cf_sti_bind_text(st, &src, 2, pwhash);
	rc = cf_sti_exec_one(tx, st, src, "user", err);
	cf_sti_done(st);
	return rc;
}

/* Adds {<name_key>: column 0, "roles": parsed column 1, ...} items; the rest by the caller. */
static cf_rc roles_item(sqlite3_stmt *st, const char *name_key, json_t **item, cf_err *err)
{
	const char *name, *roles_text;
	json_t *roles = NULL;
	cf_rc rc;

	*item = NULL;
	rc = cf_sti_col_text(st, 0, &name, err);
	if (rc == CF_OK)
		rc = cf_sti_col_text(st, 1, &roles_text, err);
	if (rc == CF_OK)
		rc = cf_sti_load_json(roles_text, "roles", &roles, err);
	if (rc != CF_OK)
		return rc;
	*item = json_pack("{s:s}", name_key, name);
	if (*item == NULL || json_object_set_new(*item, "roles", roles) != 0) {
		if (*item == NULL)
			json_decref(roles);
		json_decref(*item);
		*item = NULL;
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
	}
	return CF_OK;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_user_list_instance(cf_tx *tx, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL, *item = NULL;
	int src;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_stmt(tx, STI_USER_LIST_INSTANCE, &st, err);
	if (rc != CF_OK)
		return rc;
	arr = json_array();
	if (arr == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = roles_item(st, "username", &item, err);
		if (rc != CF_OK)
			goto out;
		if (json_object_set_new(item, "created_us", json_integer(sqlite3_column_int64(st, 2))) != 0) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
			goto out;
		}
		rc = cf_sti_append(arr, item, err);
		item = NULL;
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, "user list", err);
		goto out;
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(item);
	json_decref(arr);
	cf_sti_done(st);
	return rc;
}

/* ---- memberships ---- */

void cf_member_row_release(cf_member_row *m)
{
	if (m == NULL)
		return;
	free(m->org);
	free(m->roles);
	free(m->domain);
	free(m->subdivision);
	free(m->admin_level);
	free(m->language);
	free(m->email);
	free(m->collections);
	memset(m, 0, sizeof(*m));
}

cf_rc cf_st_member_insert(cf_tx *tx, int64_t user_id, const char *org, const char *roles_json, int64_t now_us,
			  cf_err *err)
{
	sqlite3_stmt *st = NULL;
	char *roles = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = canonical_roles(roles_json, "roles", &roles, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_sti_stmt(tx, STI_MEMBER_INSERT, &st, err);
	if (rc != CF_OK)
		goto out;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_text(st, &src, 3, roles);
	cf_sti_bind_int(st, &src, 4, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "membership", err)
				: cf_sti_exec(tx->s, st, "membership", err);
out:
	cf_sti_done(st);
	free(roles);
	return rc;
}

/* *out holds malloc'd strings: cf_member_row_release. */
cf_rc cf_st_member_get(cf_tx *tx, int64_t user_id, const char *org, cf_member_row *out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(out, 0, sizeof(*out));
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_MEMBER_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "membership", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "membership", err);
	if (rc != CF_OK)
		goto out;
	out->user_id = sqlite3_column_int64(st, 0);
	rc = cf_sti_col_dup(st, 1, false, &out->org, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 2, false, &out->roles, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 5, true, &out->domain, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 6, true, &out->subdivision, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 7, true, &out->admin_level, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 8, true, &out->language, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 9, true, &out->email, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 10, true, &out->collections, err);
	out->blocked = sqlite3_column_int64(st, 3) != 0;
	out->created_us = sqlite3_column_int64(st, 4);
out:
	cf_sti_done(st);
	if (rc != CF_OK)
		cf_member_row_release(out);
	return rc;
}

cf_rc cf_st_member_update(cf_tx *tx, int64_t user_id, const char *org, const char *roles_json, int blocked,
			  cf_err *err)
{
	sqlite3_stmt *st = NULL;
	char *roles = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK && roles_json != NULL)
		rc = canonical_roles(roles_json, "roles", &roles, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_sti_stmt(tx, STI_MEMBER_UPDATE, &st, err);
	if (rc != CF_OK)
		goto out;
	cf_sti_bind_int(st, &src, 1, user_id);
	cf_sti_bind_text(st, &src, 2, org);
	cf_sti_bind_text(st, &src, 3, roles);
	cf_sti_bind_int(st, &src, 4, blocked < 0 ? -1 : (blocked > 0 ? 1 : 0));
	rc = cf_sti_exec_one(tx, st, src, "membership", err);
out:
	cf_sti_done(st);
	free(roles);
	return rc;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_member_list(cf_tx *tx, const char *org, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL, *item = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_MEMBER_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "membership list", err);
		goto out;
	}
	arr = json_array();
	if (arr == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = roles_item(st, "username", &item, err);
		if (rc != CF_OK)
			goto out;
		if (json_object_set_new(item, "blocked", json_boolean(sqlite3_column_int64(st, 2) != 0)) != 0 ||
		    json_object_set_new(item, "created_us", json_integer(sqlite3_column_int64(st, 3))) != 0) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory building a list");
			goto out;
		}
		rc = cf_sti_append(arr, item, err);
		item = NULL;
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, "membership list", err);
		goto out;
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(item);
	json_decref(arr);
	cf_sti_done(st);
	return rc;
}

/* ---- session tokens ---- */

void cf_token_row_release(cf_token_row *t)
{
	if (t == NULL)
		return;
	free(t->org);
	memset(t, 0, sizeof(*t));
}

cf_rc cf_st_token_insert(cf_tx *tx, const cf_token_row *t, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (t == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no token");
	rc = cf_sti_check_str(t->hash, "token hash", HASH_MAX, false, err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(t->method, "token method", METHOD_MAX, false, err);
	if (rc == CF_OK && t->org != NULL)
		rc = cf_sti_check_id(t->org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_TOKEN_INSERT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, t->hash);
	cf_sti_bind_int(st, &src, 2, t->user_id);
	cf_sti_bind_text(st, &src, 3, t->org);
	cf_sti_bind_text(st, &src, 4, t->method);
	cf_sti_bind_int(st, &src, 5, t->created_us);
	cf_sti_bind_int(st, &src, 6, t->expires_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "token", err) : cf_sti_exec(tx->s, st, "token", err);
	cf_sti_done(st);
	return rc;
}

/* *out->org is malloc'd: cf_token_row_release. Expiry is the caller's decision. */
cf_rc cf_st_token_get(cf_tx *tx, const char *hash, cf_token_row *out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(out, 0, sizeof(*out));
	rc = cf_sti_check_str(hash, "token hash", HASH_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_TOKEN_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, hash);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "token", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "token", err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 0, out->hash, sizeof(out->hash), err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 2, true, &out->org, err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 3, out->method, sizeof(out->method), err);
	if (rc != CF_OK)
		goto out;
	out->user_id = sqlite3_column_int64(st, 1);
	out->created_us = sqlite3_column_int64(st, 4);
	out->expires_us = sqlite3_column_int64(st, 5);
out:
	cf_sti_done(st);
	if (rc != CF_OK)
		cf_token_row_release(out);
	return rc;
}

cf_rc cf_st_token_delete(cf_tx *tx, const char *hash, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_str(hash, "token hash", HASH_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_TOKEN_DELETE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, hash);
	rc = cf_sti_exec_one(tx, st, src, "token", err);
	cf_sti_done(st);
	return rc;
}

/* Deletes every token whose expiry is at or before now_us. */
cf_rc cf_st_token_purge_expired(cf_tx *tx, int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, STI_TOKEN_PURGE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "token", err) : cf_sti_exec(tx->s, st, "token", err);
	cf_sti_done(st);
	return rc;
}

/* ---- API keys ---- */

void cf_apikey_row_release(cf_apikey_row *k)
{
	if (k == NULL)
		return;
	free(k->org);
	free(k->description);
	memset(k, 0, sizeof(*k));
}

/* A NULL description is stored as "". */
cf_rc cf_st_apikey_insert(cf_tx *tx, const cf_apikey_row *k, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *desc;
	int src = SQLITE_OK;
	cf_rc rc;

	if (k == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no API key");
	desc = k->description != NULL ? k->description : "";
	rc = cf_sti_check_str(k->id, "API key id", CF_ID_MAX, false, err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(k->hash, "API key hash", HASH_MAX, false, err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(k->org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(desc, "API key description", CF_STI_TEXT_MAX, true, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_APIKEY_INSERT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, k->id);
	cf_sti_bind_text(st, &src, 2, k->hash);
	cf_sti_bind_int(st, &src, 3, k->user_id);
	cf_sti_bind_text(st, &src, 4, k->org);
	cf_sti_bind_text(st, &src, 5, desc);
	cf_sti_bind_int(st, &src, 6, k->created_us);
	cf_sti_bind_int(st, &src, 7, k->revoked ? 1 : 0);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "API key", err) : cf_sti_exec(tx->s, st, "API key", err);
	cf_sti_done(st);
	return rc;
}

/* *out holds malloc'd strings: cf_apikey_row_release. Revocation is the caller's decision. */
cf_rc cf_st_apikey_get(cf_tx *tx, const char *id, cf_apikey_row *out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(out, 0, sizeof(*out));
	rc = cf_sti_check_str(id, "API key id", CF_ID_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_APIKEY_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, id);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "API key", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "API key", err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 0, out->id, sizeof(out->id), err);
	if (rc == CF_OK)
		rc = cf_sti_col_copy(st, 1, out->hash, sizeof(out->hash), err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 3, false, &out->org, err);
	if (rc == CF_OK)
		rc = cf_sti_col_dup(st, 4, false, &out->description, err);
	if (rc != CF_OK)
		goto out;
	out->user_id = sqlite3_column_int64(st, 2);
	out->created_us = sqlite3_column_int64(st, 5);
	out->revoked = sqlite3_column_int64(st, 6) != 0;
out:
	cf_sti_done(st);
	if (rc != CF_OK)
		cf_apikey_row_release(out);
	return rc;
}

/* CF_ENOTFOUND unless the key exists in that organization; revoking twice is fine. */
cf_rc cf_st_apikey_revoke(cf_tx *tx, const char *org, const char *id, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_str(id, "API key id", CF_ID_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_APIKEY_REVOKE, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	cf_sti_bind_text(st, &src, 2, id);
	rc = cf_sti_exec_one(tx, st, src, "API key", err);
	cf_sti_done(st);
	return rc;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_apikey_list(cf_tx *tx, const char *org, json_t **out, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	const char *id, *username, *desc;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_APIKEY_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_text(st, &src, 1, org);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "API key list", err);
		goto out;
	}
	arr = json_array();
	if (arr == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = cf_sti_col_text(st, 0, &id, err);
		if (rc == CF_OK)
			rc = cf_sti_col_text(st, 1, &username, err);
		if (rc == CF_OK)
			rc = cf_sti_col_text(st, 2, &desc, err);
		if (rc == CF_OK)
			rc = cf_sti_append(arr,
					   json_pack("{s:s, s:s, s:s, s:I, s:b}", "id", id, "username", username,
						     "description", desc, "created_us",
						     (json_int_t)sqlite3_column_int64(st, 3), "revoked",
						     sqlite3_column_int64(st, 4) != 0),
					   err);
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, "API key list", err);
		goto out;
	}
	*out = arr;
	arr = NULL;
out:
	json_decref(arr);
	cf_sti_done(st);
	return rc;
}

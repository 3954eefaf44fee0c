/*
 * vault_users.c - members and delegated administration (seed 004): the
 * organization's domains of activity and subdivisions, their managers, and
 * every operation on a member, each decided by the one table in
 * policy/admin.c against the caller's level and scope. Nobody manages a
 * user outside their scope, assigns a role they cannot hold, or changes
 * their own rights. Every act, allowed or refused, is an audit entry.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"
#include "policy/admin.h"

#define MIN_PASSWORD 12
#define MAX_PASSWORD 1024
#define SEARCH_LIMIT 1000

/* A member's level: security managers are main; else the stored admin level. */
static cf_admin_level level_of(const cf_member_row *m)
{
	json_t *roles = json_loads(m->roles ? m->roles : "[]", 0, NULL);
	cf_principal tmp = {0};
	cf_admin_level l;
	tmp.roles = roles;
	l = (roles != NULL && vault_has_role(&tmp, CF_ROLE_SECURITY_MANAGER)) ? CF_ADM_MAIN
									      : cf_admin_level_parse(m->admin_level);
	json_decref(roles);
	return l;
}

/* The caller as an administrator of org (their membership read in tx). */
typedef struct actor {
	cf_admin_actor a;
	cf_member_row m;
} actor;

static cf_rc load_actor(cf_tx *tx, const cf_request *r, actor *out, cf_err *err)
{
	cf_rc rc;
	memset(out, 0, sizeof(*out));
	rc = cf_st_member_get(tx, r->who.user_id, r->who.org, &out->m, err);
	if (rc != CF_OK)
		return rc;
	out->a.level = level_of(&out->m);
	out->a.domain = out->m.domain;
	out->a.subdivision = out->m.subdivision;
	out->a.user_id = r->who.user_id;
	return CF_OK;
}

/*
 * The gate of every administrative operation: the caller acts for org, and
 * the table allows op on the target. A refusal is audited (entry consumed).
 */
static cf_rc gate(cf_vault *v, cf_request *r, cf_tx *tx, const char *org, cf_admin_op op, const cf_admin_target *t,
		  json_t *entry, cf_err *err)
{
	actor ac;
	char reason[200];
	cf_rc rc;

	if (r->who.org[0] == '\0' || strcmp(r->who.org, org) != 0) {
		cf_tx_rollback(tx);
		return vault_deny(v, entry, CF_EDENIED, r->who.org[0] ? CF_P_WRONG_ORGANIZATION : CF_P_FORBIDDEN,
				  r->who.org[0] ? "the token acts for another organization"
						: "instance users do not administer an organization's members",
				  err);
	}
	rc = load_actor(tx, r, &ac, err);
	if (rc != CF_OK) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return rc;
	}
	if (!cf_admin_allowed(&ac.a, op, t, reason, sizeof(reason))) {
		cf_member_row_release(&ac.m);
		cf_tx_rollback(tx);
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN, reason, err);
	}
	cf_member_row_release(&ac.m);
	return CF_OK;
}

static void set_str_or_null(json_t *o, const char *k, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, k, json_string(v));
}

static json_t *member_json(const char *username, const char *org, const cf_member_row *m, const char *roles_text,
			   int blocked)
{
	json_t *roles = json_loads(roles_text ? roles_text : (m->roles ? m->roles : "[]"), 0, NULL);
	json_t *o = json_pack("{s:s, s:s, s:o, s:b}", "username", username, "org", org, "roles",
			      roles ? roles : json_array(), "blocked", blocked < 0 ? m->blocked : blocked != 0);
	set_str_or_null(o, "domain", m->domain);
	set_str_or_null(o, "subdivision", m->subdivision);
	set_str_or_null(o, "admin_level", m->admin_level);
	set_str_or_null(o, "language", m->language);
	set_str_or_null(o, "email", m->email);
	if (m->collections != NULL) {
		json_t *c = json_loads(m->collections, 0, NULL);
		if (c != NULL)
			json_object_set_new(o, "collections", c);
	}
	return o;
}

static bool email_valid(const char *s)
{
	const char *at = s ? strchr(s, '@') : NULL;
	size_t n = s ? strlen(s) : 0;
	return n >= 3 && n <= 254 && at != NULL && at != s && strchr(at + 1, '.') != NULL && strchr(at + 1, '@') == NULL &&
	       strpbrk(s, " \t\r\n") == NULL;
}

static bool lang_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 2 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '-'))
			return false;
	return true;
}

/* Roles only the main security manager may assign. */
static cf_rc reserved_roles(json_t *roles, cf_admin_level caller, cf_err *err)
{
	size_t i;
	json_t *x;
	if (caller == CF_ADM_MAIN)
		return CF_OK;
	json_array_foreach(roles, i, x)
	{
		if (cf_admin_role_reserved(json_string_value(x)))
			return cf_err_set(err, CF_EDENIED, CF_P_FORBIDDEN,
					  "only the main security manager assigns the role '%s'", json_string_value(x));
	}
	return CF_OK;
}

cf_rc cf_vault_user_add(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer, cf_err *err)
{
	const char *username = NULL, *password = NULL, *domain = NULL, *sub = NULL, *lang = NULL, *email = NULL;
	json_t *roles = NULL, *entry = vault_entry(v, r, "user.create");
	char hash[CF_PWHASH_STR_LEN] = "";
	char *roles_text = NULL;
	cf_user_row u = {0};
	cf_member_row m = {0};
	cf_admin_target t = {0};
	cf_tx *tx = NULL;
	int64_t uid = 0, now = cf_now_us(v->env);
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	rc = cf_json_unpack(err, "user", body, "{s:s, s?:s, s:o, s?:s, s?:s, s?:s, s?:s}", "username", &username,
			    "password", &password, "roles", &roles, "domain", &domain, "subdivision", &sub, "language",
			    &lang, "email", &email);
	if (rc != CF_OK || (rc = vault_check_roles(roles, err)) != CF_OK)
		goto out;
	if (!vault_username_valid(username)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "username: 1 to 64 of [a-z0-9._@-]");
		goto out;
	}
	if ((domain != NULL && !vault_org_id_valid(domain)) || (sub != NULL && !vault_org_id_valid(sub)) ||
	    (sub != NULL && domain == NULL)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "domain and subdivision: ids, a subdivision within a domain");
		goto out;
	}
	if ((lang != NULL && !lang_valid(lang)) || (email != NULL && !email_valid(email))) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "language (e.g. fr) or email not valid");
		goto out;
	}
	cf_audit_set(entry, "target", username);
	if (r->who.is_admin) {
		/* the instance administrator appoints an organization's first security managers, nothing else */
		rc = vault_check_org(v, r, org, true, true, entry, err);
		entry = rc == CF_OK ? entry : NULL;
		if (rc != CF_OK)
			goto out;
		if (json_array_size(roles) != 1 ||
		    strcmp(json_string_value(json_array_get(roles, 0)), CF_ROLE_SECURITY_MANAGER) != 0 || domain != NULL) {
			rc = vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN,
					"the instance administrator only appoints security managers", err);
			entry = NULL;
			goto out;
		}
	}
	if (!r->who.is_admin) {
		/* decide before spending an Argon2id hash on a caller who may not register anyone here */
		cf_tx *rtx = NULL;
		t.domain = domain;
		t.subdivision = sub;
		if ((rc = cf_store_begin(v->store, false, &rtx, err)) != CF_OK)
			goto out;
		rc = gate(v, r, rtx, org, CF_OP_USER_REGISTER, &t, json_incref(entry), err);
		if (rc != CF_OK) {
			json_decref(entry);
			entry = NULL;
			goto out;
		}
		json_decref(entry);
		cf_tx_rollback(rtx);
	}
	if (password != NULL) {
		size_t n = strlen(password);
		if (n < MIN_PASSWORD || n > MAX_PASSWORD) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "password: %d to %d characters", MIN_PASSWORD,
					MAX_PASSWORD);
			goto out;
		}
		if ((rc = cf_password_hash(password, n, hash)) != CF_OK) {
			rc = cf_err_set(err, rc, CF_P_INTERNAL, "cannot hash the password");
			goto out;
		}
	}
	if ((roles_text = cf_json_dump_canonical(roles)) == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK)
		goto out;
	if (!r->who.is_admin) {
		actor ac;
		t.domain = domain;
		t.subdivision = sub;
		rc = gate(v, r, tx, org, CF_OP_USER_REGISTER, &t, entry, err);
		if (rc != CF_OK) {
			tx = NULL;
			entry = NULL;
			goto out;
		}
		if ((rc = load_actor(tx, r, &ac, err)) == CF_OK) {
			rc = reserved_roles(roles, ac.a.level, err);
			cf_member_row_release(&ac.m);
		}
		if (rc == CF_EDENIED) {
			char reason[sizeof(err->detail)];
			(void)snprintf(reason, sizeof(reason), "%s", err->detail);
			cf_tx_rollback(tx);
			tx = NULL;
			rc = vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN, reason, err);
			entry = NULL;
			goto out;
		}
		if (rc != CF_OK)
			goto out;
	}
	rc = cf_st_user_get(tx, username, &u, err);
	if (rc == CF_OK) {
		uid = u.id;
		if (password != NULL)
			rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT,
					"user '%s' exists; omit the password to add a membership", username);
	} else if (rc == CF_ENOTFOUND) {
		rc = password == NULL ? cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "password: required for a new user")
				      : cf_st_user_insert(tx, username, hash, "[]", now, &uid, err);
	}
	if (rc == CF_OK) {
		rc = cf_st_member_insert(tx, uid, org, roles_text, now, err);
		if (rc == CF_EEXIST)
			cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "'%s' is already a member of '%s'", username, org);
	}
	if (rc == CF_OK && domain != NULL) {
		rc = cf_st_member_set_scope(tx, uid, org, domain, sub, NULL, err);
		if (rc == CF_ENOTFOUND || rc == CF_EINVAL)
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "no such domain or subdivision in '%s'", org);
	}
	if (rc == CF_OK && (lang != NULL || email != NULL))
		rc = cf_st_member_set_attributes(tx, uid, org, lang, email, err);
	if (rc == CF_OK)
		rc = cf_st_member_get(tx, uid, org, &m, err);
	rc = vault_finish(tx, entry, rc, err);
	tx = NULL;
	entry = NULL;
	if (rc == CF_OK)
		*answer = member_json(username, org, &m, NULL, -1);
out:
	cf_tx_rollback(tx);
	cf_wipe(hash, sizeof(hash));
	free(roles_text);
	cf_user_row_release(&u);
	cf_member_row_release(&m);
	json_decref(entry);
	return rc;
}

/* Reads the target member and gates op on them. On refusal everything is released and audited. */
static cf_rc gate_member(cf_vault *v, cf_request *r, cf_tx *tx, const char *org, const char *username, cf_admin_op op,
			 cf_user_row *u, cf_member_row *m, json_t *entry, cf_err *err)
{
	cf_admin_target t = {0};
	cf_rc rc;

	if (r->who.org[0] == '\0' || strcmp(r->who.org, org) != 0)
		return gate(v, r, tx, org, op, &t, entry, err);
	rc = vault_get_member(tx, org, username, u, m, err);
	if (rc != CF_OK) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return rc;
	}
	t.domain = m->domain;
	t.subdivision = m->subdivision;
	t.level = level_of(m);
	t.user_id = u->id;
	/* acting on a manager is managing managers of that level */
	if (t.level == CF_ADM_LOCAL && op != CF_OP_USER_SEARCH)
		op = CF_OP_APPOINT_LOCAL;
	else if (t.level == CF_ADM_CO_LOCAL && op != CF_OP_USER_SEARCH)
		op = CF_OP_APPOINT_CO_LOCAL;
	else if (t.level == CF_ADM_SUBDIVISION && op != CF_OP_USER_SEARCH)
		op = CF_OP_APPOINT_SUBDIVISION;
	return gate(v, r, tx, org, op, &t, entry, err);
}

cf_rc cf_vault_user_get(cf_vault *v, cf_request *r, const char *org, const char *username, json_t **answer,
			cf_err *err)
{
	cf_user_row u = {0};
	cf_member_row m = {0};
	cf_tx *tx = NULL;
	json_t *entry = vault_entry(v, r, "user.read");
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	rc = gate_member(v, r, tx, org, username, CF_OP_USER_SEARCH, &u, &m, entry, err);
	if (rc == CF_OK) {
		cf_tx_rollback(tx);
		json_decref(entry);
		*answer = member_json(username, org, &m, NULL, -1);
	}
	cf_user_row_release(&u);
	cf_member_row_release(&m);
	return rc;
}

cf_rc cf_vault_user_list(cf_vault *v, cf_request *r, const char *org, const char *domain, const char *sub,
			 const char *query, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "user.search"), *list = NULL;
	cf_admin_target t = {0};
	cf_tx *tx = NULL;
	actor ac = {0};
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	if ((query != NULL && strlen(query) > 64) || (domain != NULL && !vault_org_id_valid(domain)) ||
	    (sub != NULL && !vault_org_id_valid(sub))) {
		json_decref(entry);
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "q: at most 64 characters; domain, subdivision: ids");
	}
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	/* a scoped manager searches inside their scope: the filter defaults to it and may not leave it */
	if (r->who.org[0] != '\0' && strcmp(r->who.org, org) == 0 && load_actor(tx, r, &ac, NULL) == CF_OK) {
		if (ac.a.level == CF_ADM_LOCAL || ac.a.level == CF_ADM_CO_LOCAL) {
			if (domain == NULL)
				domain = ac.m.domain;
		} else if (ac.a.level == CF_ADM_SUBDIVISION) {
			if (domain == NULL)
				domain = ac.m.domain;
			if (sub == NULL)
				sub = ac.m.subdivision;
		}
	}
	t.domain = domain;
	t.subdivision = sub;
	rc = gate(v, r, tx, org, CF_OP_USER_SEARCH, &t, entry, err);
	if (rc != CF_OK) {
		cf_member_row_release(&ac.m);
		return rc;
	}
	rc = cf_st_member_search(tx, org, domain, sub, query, SEARCH_LIMIT, &list, err);
	cf_tx_rollback(tx);
	json_decref(entry);
	cf_member_row_release(&ac.m);
	if (rc == CF_OK) {
		size_t i;
		json_t *it;
		json_array_foreach(list, i, it)
		{
			const char *k;
			json_t *val;
			void *tmp;
			json_object_foreach_safe(it, tmp, k, val)
			{
				if (json_is_null(val))
					json_object_del(it, k);
			}
		}
		*answer = json_pack("{s:o}", "users", list);
	}
	return rc;
}

cf_rc cf_vault_user_patch(cf_vault *v, cf_request *r, const char *org, const char *username, json_t *body,
			  json_t **answer, cf_err *err)
{
	json_t *roles = NULL, *blocked = NULL, *colls = NULL, *entry = vault_entry(v, r, "user.update");
	const char *lang = NULL, *email = NULL;
	char *roles_text = NULL, *colls_text = NULL;
	cf_user_row u = {0};
	cf_member_row m = {0};
	cf_admin_op op;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	cf_audit_set(entry, "target", vault_username_valid(username) ? username : NULL);
	rc = cf_json_unpack(err, "user change", body, "{s?:o, s?:o, s?:s, s?:s, s?:o}", "roles", &roles, "blocked",
			    &blocked, "language", &lang, "email", &email, "collections", &colls);
	if (rc != CF_OK)
		goto out;
	if (roles == NULL && blocked == NULL && lang == NULL && email == NULL && colls == NULL) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "give roles, blocked, language, email and/or collections");
		goto out;
	}
	if (colls != NULL && !json_is_null(colls) && !json_is_array(colls)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "collections: an array of collection names, or null");
		goto out;
	}
	if ((roles != NULL) + (blocked != NULL) + (lang != NULL || email != NULL || colls != NULL) > 1) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
				"change one thing per request: roles, blocked, or attributes (language, email)");
		goto out;
	}
	if (blocked != NULL && !json_is_boolean(blocked)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "blocked: a boolean");
		goto out;
	}
	if ((lang != NULL && lang[0] != '\0' && !lang_valid(lang)) || (email != NULL && email[0] != '\0' && !email_valid(email))) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "language (e.g. fr) or email not valid");
		goto out;
	}
	if (roles != NULL) {
		if ((rc = vault_check_roles(roles, err)) != CF_OK)
			goto out;
		if ((roles_text = cf_json_dump_canonical(roles)) == NULL) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
			goto out;
		}
	}
	op = roles != NULL ? CF_OP_USER_AUTHORIZE : blocked != NULL ? CF_OP_USER_BLOCK : CF_OP_USER_ATTRIBUTES;
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK)
		goto out;
	rc = gate_member(v, r, tx, org, username, op, &u, &m, entry, err);
	if (rc != CF_OK) {
		tx = NULL;
		entry = NULL;
		goto out;
	}
	if (roles != NULL) {
		actor ac;
		if ((rc = load_actor(tx, r, &ac, err)) == CF_OK) {
			rc = reserved_roles(roles, ac.a.level, err);
			cf_member_row_release(&ac.m);
		}
		if (rc == CF_EDENIED) {
			char reason[sizeof(err->detail)];
			(void)snprintf(reason, sizeof(reason), "%s", err->detail);
			cf_tx_rollback(tx);
			tx = NULL;
			rc = vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN, reason, err);
			entry = NULL;
			goto out;
		}
	}
	if (rc == CF_OK && (roles != NULL || blocked != NULL))
		rc = cf_st_member_update(tx, u.id, org, roles_text, blocked ? (json_is_true(blocked) ? 1 : 0) : -1, err);
	if (rc == CF_OK && (lang != NULL || email != NULL))
		rc = cf_st_member_set_attributes(tx, u.id, org, lang, email, err);
	if (rc == CF_OK && colls != NULL) {
		/* "access to collections": only collections the organization declared */
		size_t i;
		json_t *c;
		json_array_foreach(colls, i, c)
		{
			char *def = NULL;
			int64_t ver = 0;
			const char *cn = json_string_value(c);
			if (cn == NULL || !cf_name_valid(cn) || cf_st_collection_get(tx, org, cn, &def, &ver, NULL) != CF_OK) {
				rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "collections: '%.64s' is not a collection of '%s'",
						cn ? cn : "?", org);
				break;
			}
			free(def);
		}
		if (rc == CF_OK && json_is_array(colls) && (colls_text = cf_json_dump_canonical(colls)) == NULL)
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		if (rc == CF_OK)
			rc = cf_st_member_set_collections(tx, u.id, org, colls_text, err);
	}
	if (rc == CF_OK)
		cf_audit_set(entry, "change", blocked ? (json_is_true(blocked) ? "blocked" : "unblocked")
					      : roles   ? "roles"
							: "attributes");
	cf_member_row_release(&m);
	memset(&m, 0, sizeof(m));
	if (rc == CF_OK)
		rc = cf_st_member_get(tx, u.id, org, &m, err);
	rc = vault_finish(tx, entry, rc, err);
	tx = NULL;
	entry = NULL;
	if (rc == CF_OK)
		*answer = member_json(username, org, &m, NULL, -1);
out:
	cf_tx_rollback(tx);
	free(roles_text);
	free(colls_text);
	json_decref(entry);
	cf_user_row_release(&u);
	cf_member_row_release(&m);
	return rc;
}

cf_rc cf_vault_user_delete(cf_vault *v, cf_request *r, const char *org, const char *username, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "user.delete");
	cf_user_row u = {0};
	cf_member_row m = {0};
	cf_tx *tx = NULL;
	cf_rc rc;

	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	cf_audit_set(entry, "target", vault_username_valid(username) ? username : NULL);
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	rc = gate_member(v, r, tx, org, username, CF_OP_USER_DELETE, &u, &m, entry, err);
	if (rc == CF_OK) {
		rc = cf_st_member_delete(tx, u.id, org, err);
		rc = vault_finish(tx, entry, rc, err);
	}
	cf_user_row_release(&u);
	cf_member_row_release(&m);
	return rc;
}

/* ---- domains, subdivisions, managers ---- */

static cf_rc domain_gate(cf_vault *v, cf_request *r, cf_tx *tx, const char *org, const char *domain, cf_admin_op op,
			 json_t *entry, cf_err *err)
{
	cf_admin_target t = {0};
	t.domain = domain;
	if (!vault_org_id_valid(domain)) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "domain ids are [a-z][a-z0-9_-]{0,63}");
	}
	return gate(v, r, tx, org, op, &t, entry, err);
}

cf_rc cf_vault_domain_put(cf_vault *v, cf_request *r, const char *org, const char *domain, json_t *body,
			  json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "domain.define");
	const char *name = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	cf_audit_set(entry, "domain", vault_org_id_valid(domain) ? domain : NULL);
	rc = cf_json_unpack(err, "domain", body, "{s:s}", "name", &name);
	if (rc == CF_OK && (name[0] == '\0' || strlen(name) > 200))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "name: 1 to 200 characters");
	if (rc != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = domain_gate(v, r, tx, org, domain, CF_OP_DOMAIN_DEFINE, entry, err)) != CF_OK)
		return rc;
	rc = cf_st_domain_put(tx, org, domain, name, cf_now_us(v->env), err);
	if (rc == CF_OK)
		rc = cf_st_domain_get(tx, org, domain, answer, err);
	rc = vault_finish(tx, entry, rc, err);
	if (rc != CF_OK) {
		json_decref(*answer);
		*answer = NULL;
	}
	return rc;
}

cf_rc cf_vault_domain_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err)
{
	json_t *list = NULL, *it;
	cf_tx *tx = NULL;
	size_t i;
	cf_rc rc;

	*answer = NULL;
	{
		json_t *entry = vault_entry(v, r, "domain.list");
		rc = vault_check_org(v, r, org, false, false, entry, err);
		if (rc != CF_OK)
			return rc; /* consumed by the refusal */
		json_decref(entry);
	}
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		return rc;
	rc = cf_st_domain_list(tx, org, &list, err);
	json_array_foreach(list, i, it)
	{
		json_t *subs = NULL;
		if (rc == CF_OK && (rc = cf_st_subdivision_list(tx, org, json_string_value(json_object_get(it, "id")),
								&subs, err)) == CF_OK)
			json_object_set_new(it, "subdivisions", subs);
	}
	cf_tx_rollback(tx);
	if (rc == CF_OK)
		*answer = json_pack("{s:o}", "domains", list);
	else
		json_decref(list);
	return rc;
}

cf_rc cf_vault_domain_contact(cf_vault *v, cf_request *r, const char *org, const char *domain, json_t *body,
			      json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "domain.contact");
	const char *email = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	cf_audit_set(entry, "domain", vault_org_id_valid(domain) ? domain : NULL);
	rc = cf_json_unpack(err, "contact", body, "{s:s}", "email", &email);
	if (rc == CF_OK && !email_valid(email))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "email: not a valid address");
	if (rc == CF_OK)
		rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = domain_gate(v, r, tx, org, domain, CF_OP_DOMAIN_CONTACT, entry, err)) != CF_OK)
		return rc;
	rc = cf_st_domain_set_contact(tx, org, domain, email, err);
	if (rc == CF_ENOTFOUND)
		cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such domain");
	if (rc == CF_OK)
		rc = cf_st_domain_get(tx, org, domain, answer, err);
	rc = vault_finish(tx, entry, rc, err);
	if (rc != CF_OK) {
		json_decref(*answer);
		*answer = NULL;
	}
	return rc;
}

cf_rc cf_vault_domain_technical(cf_vault *v, cf_request *r, const char *org, const char *domain, json_t *body,
				json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "domain.technical_user"), *mroles = NULL;
	const char *username = NULL;
	cf_user_row u = {0};
	cf_member_row m = {0};
	cf_principal tmp = {0};
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	cf_audit_set(entry, "domain", vault_org_id_valid(domain) ? domain : NULL);
	rc = cf_json_unpack(err, "technical user", body, "{s:s}", "username", &username);
	if (rc == CF_OK)
		rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = domain_gate(v, r, tx, org, domain, CF_OP_DOMAIN_TECHNICAL, entry, err)) != CF_OK)
		return rc;
	cf_audit_set(entry, "target", vault_username_valid(username) ? username : NULL);
	rc = vault_get_member(tx, org, username, &u, &m, err);
	if (rc == CF_OK) {
		mroles = json_loads(m.roles, 0, NULL);
		tmp.roles = mroles;
		if (mroles == NULL || !vault_has_role(&tmp, "technical") || m.domain == NULL || strcmp(m.domain, domain) != 0)
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"the technical user must be a member of the domain with the technical role");
	}
	if (rc == CF_OK)
		rc = cf_st_domain_set_technical(tx, org, domain, username, err);
	if (rc == CF_OK)
		rc = cf_st_domain_get(tx, org, domain, answer, err);
	rc = vault_finish(tx, entry, rc, err);
	if (rc != CF_OK) {
		json_decref(*answer);
		*answer = NULL;
	}
	json_decref(mroles);
	cf_user_row_release(&u);
	cf_member_row_release(&m);
	return rc;
}

cf_rc cf_vault_subdivision_put(cf_vault *v, cf_request *r, const char *org, const char *domain, const char *sub,
			       json_t *body, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "subdivision.manage"), *colls = NULL, *blocked = NULL, *c;
	const char *name = NULL;
	char *colls_text = NULL;
	cf_tx *tx = NULL;
	size_t i;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	cf_audit_set(entry, "domain", vault_org_id_valid(domain) ? domain : NULL);
	cf_audit_set(entry, "subdivision", vault_org_id_valid(sub) ? sub : NULL);
	rc = cf_json_unpack(err, "subdivision", body, "{s:s, s?:o, s?:o}", "name", &name, "collections", &colls,
			    "blocked", &blocked);
	if (rc == CF_OK && (name[0] == '\0' || strlen(name) > 200))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "name: 1 to 200 characters");
	if (rc == CF_OK && !vault_org_id_valid(sub))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "subdivision ids are [a-z][a-z0-9_-]{0,63}");
	if (rc == CF_OK && blocked != NULL && !json_is_boolean(blocked))
		rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "blocked: a boolean");
	if (rc == CF_OK && colls != NULL && !json_is_array(colls))
		rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "collections: an array of collection names");
	if (rc != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if ((rc = domain_gate(v, r, tx, org, domain, CF_OP_SUBDIVISION_MANAGE, entry, err)) != CF_OK)
		return rc;
	json_array_foreach(colls, i, c)
	{
		char *def = NULL;
		int64_t ver = 0;
		const char *cn = json_string_value(c);
		if (cn == NULL || !cf_name_valid(cn) || cf_st_collection_get(tx, org, cn, &def, &ver, NULL) != CF_OK) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "collections: '%.64s' is not a collection of '%s'",
					cn ? cn : "?", org);
			break;
		}
		free(def);
	}
	if (rc == CF_OK) {
		colls_text = colls ? cf_json_dump_canonical(colls) : cf_strdup("[]");
		rc = colls_text ? cf_st_subdivision_put(tx, org, domain, sub, name, colls_text, cf_now_us(v->env), err)
				: cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		if (rc == CF_ENOTFOUND)
			cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such domain");
		else if (rc == CF_EINVAL)
			cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "subdivision '%s' belongs to another domain", sub);
	}
	if (rc == CF_OK && blocked != NULL)
		rc = cf_st_subdivision_set_blocked(tx, org, sub, json_is_true(blocked), err);
	if (rc == CF_OK)
		rc = cf_st_subdivision_get(tx, org, sub, answer, err);
	rc = vault_finish(tx, entry, rc, err);
	if (rc != CF_OK) {
		json_decref(*answer);
		*answer = NULL;
	}
	free(colls_text);
	return rc;
}

cf_rc cf_vault_manager_put(cf_vault *v, cf_request *r, const char *org, const char *domain, const char *username,
			   json_t *body, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "manager.appoint");
	const char *level_s = NULL, *sub = NULL;
	cf_admin_level level;
	cf_admin_op op;
	cf_user_row u = {0};
	cf_member_row m = {0};
	cf_admin_target t = {0};
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	cf_audit_set(entry, "domain", vault_org_id_valid(domain) ? domain : NULL);
	cf_audit_set(entry, "target", vault_username_valid(username) ? username : NULL);
	rc = cf_json_unpack(err, "manager", body, "{s:s, s?:s}", "level", &level_s, "subdivision", &sub);
	level = rc == CF_OK ? cf_admin_level_parse(level_s) : CF_ADM_NONE;
	if (rc == CF_OK && level == CF_ADM_NONE)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "level: local, co_local or subdivision");
	if (rc == CF_OK && (level == CF_ADM_SUBDIVISION) != (sub != NULL))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "subdivision: required for, and only for, level subdivision");
	if (rc != CF_OK) {
		json_decref(entry);
		return rc;
	}
	op = level == CF_ADM_LOCAL ? CF_OP_APPOINT_LOCAL : level == CF_ADM_CO_LOCAL ? CF_OP_APPOINT_CO_LOCAL
										   : CF_OP_APPOINT_SUBDIVISION;
	cf_audit_set(entry, "level", level_s);
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	if (!vault_org_id_valid(domain)) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "domain ids are [a-z][a-z0-9_-]{0,63}");
	}
	/* the target: the future manager (their current level must be below the caller's) */
	if (r->who.org[0] != '\0' && strcmp(r->who.org, org) == 0) {
		rc = vault_get_member(tx, org, username, &u, &m, err);
		if (rc != CF_OK) {
			cf_tx_rollback(tx);
			json_decref(entry);
			return rc;
		}
		t.user_id = u.id;
		t.level = level_of(&m);
		/* the member must already sit inside the caller's scope: nobody pulls people in from elsewhere */
		t.domain = m.domain;
		t.subdivision = m.subdivision;
		rc = gate(v, r, tx, org, op, &t, json_incref(entry), err);
		json_decref(entry); /* the extra reference: gate consumed it on refusal, or it is unused */
		if (rc != CF_OK)
			goto out;
	}
	t.domain = domain;
	t.subdivision = sub;
	if ((rc = gate(v, r, tx, org, op, &t, entry, err)) != CF_OK)
		goto out;
	rc = cf_st_member_set_scope(tx, u.id, org, domain, sub, level_s, err);
	if (rc == CF_ENOTFOUND || rc == CF_EINVAL)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "no such domain or subdivision (in that domain)");
	cf_member_row_release(&m);
	memset(&m, 0, sizeof(m));
	if (rc == CF_OK)
		rc = cf_st_member_get(tx, u.id, org, &m, err);
	rc = vault_finish(tx, entry, rc, err);
	if (rc == CF_OK)
		*answer = member_json(username, org, &m, NULL, -1);
out:
	cf_user_row_release(&u);
	cf_member_row_release(&m);
	return rc;
}

cf_rc cf_vault_manager_remove(cf_vault *v, cf_request *r, const char *org, const char *domain, const char *username,
			      cf_err *err)
{
	json_t *entry = vault_entry(v, r, "manager.remove");
	cf_user_row u = {0};
	cf_member_row m = {0};
	cf_tx *tx = NULL;
	cf_rc rc;

	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	cf_audit_set(entry, "domain", vault_org_id_valid(domain) ? domain : NULL);
	cf_audit_set(entry, "target", vault_username_valid(username) ? username : NULL);
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	/* gate_member maps a manager target to the appoint operation of their level */
	rc = gate_member(v, r, tx, org, username, CF_OP_USER_AUTHORIZE, &u, &m, entry, err);
	if (rc != CF_OK)
		goto out;
	if (m.admin_level == NULL || m.domain == NULL || strcmp(m.domain, domain) != 0) {
		cf_tx_rollback(tx);
		json_decref(entry);
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "'%s' manages nothing in domain '%s'", username, domain);
		goto out;
	}
	rc = cf_st_member_set_scope(tx, u.id, org, m.domain, m.admin_level && strcmp(m.admin_level, "subdivision") == 0
								 ? m.subdivision
								 : NULL,
				    NULL, err);
	rc = vault_finish(tx, entry, rc, err);
out:
	cf_user_row_release(&u);
	cf_member_row_release(&m);
	return rc;
}

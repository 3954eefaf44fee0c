/*
 * vault_admin.c - organizations, users and memberships, API keys,
 * collections and grants. Administration never touches personal data: the
 * instance administrator creates organizations and appoints their first
 * security manager; each organization's security managers run it from there.
 * Nobody changes their own rights. Every act, allowed or refused, is audited.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"

#define MAX_ROLES 32
#define MIN_PASSWORD 12
#define MAX_PASSWORD 1024

cf_rc vault_collection_text(cf_tx *tx, const char *org, const char *name, char **def, cf_err *err)
{
	int64_t version = 0;
	cf_rc rc = cf_st_collection_get(tx, org, name, def, &version, err);

	if (rc == CF_ENOTFOUND)
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no collection '%s' in this organization", name);
	return rc;
}

cf_rc vault_grants_text(cf_tx *tx, const char *org, const char *role, char **text, cf_err *err)
{
	cf_rc rc = cf_st_grants_get(tx, org, role, text, err);

	if (rc != CF_ENOTFOUND)
		return rc;
	/* none declared: the empty set */
	*text = cf_strdup("[]");
	return *text != NULL ? CF_OK : cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
}

/* Parses a stored definition: a collection (name != NULL) or grants. */
cf_rc vault_parse_def(const char *name, const char *text, void **out, cf_err *err)
{
	json_t *j = json_loads(text, 0, NULL);
	cf_rc rc;

	*out = NULL;
	if (j == NULL)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "stored %s unreadable",
				  name != NULL ? "collection" : "grants");
	if (name != NULL)
		rc = cf_collection_parse(name, j, (cf_collection **)out, err);
	else
		rc = cf_grants_parse(j, (cf_grant_set **)out, err);
	json_decref(j);
	return rc;
}

cf_rc vault_load_collection(cf_tx *tx, const char *org, const char *name, cf_collection **out, cf_err *err)
{
	char *def = NULL;
	cf_rc rc;

	*out = NULL;
	rc = vault_collection_text(tx, org, name, &def, err);
	if (rc == CF_OK)
		rc = vault_parse_def(name, def, (void **)out, err);
	free(def);
	return rc;
}

cf_rc vault_load_grants(cf_tx *tx, const char *org, const char *role, cf_grant_set **out, cf_err *err)
{
	char *text = NULL;
	cf_rc rc;

	*out = NULL;
	rc = vault_grants_text(tx, org, role, &text, err);
	if (rc == CF_OK)
		rc = vault_parse_def(NULL, text, (void **)out, err);
	free(text);
	return rc;
}

cf_rc vault_check_org(cf_vault *v, cf_request *r, const char *org, bool need_sm, bool allow_admin, json_t *entry,
		      cf_err *err)
{
	const cf_principal *p = &r->who;
	cf_tx *tx = NULL;
	char *name = NULL;
	cf_rc rc;

	if (p->org[0] != '\0') {
		if (strcmp(p->org, org) != 0)
			return vault_deny(v, entry, CF_EDENIED, CF_P_WRONG_ORGANIZATION,
					  "the token acts for another organization", err);
		if (need_sm && !vault_has_role(p, CF_ROLE_SECURITY_MANAGER))
			return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN,
					  "this requires the security_manager role", err);
		return CF_OK;
	}
	if (!(allow_admin && p->is_admin))
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN,
				  "instance users do not act inside an organization here", err);
	if (!vault_org_id_valid(org))
		return vault_deny(v, entry, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such organization", err);
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK) {
		json_decref(entry);
		return rc;
	}
	rc = cf_st_org_get(tx, org, &name, err);
	cf_tx_rollback(tx);
	free(name);
	if (rc == CF_ENOTFOUND)
		return vault_deny(v, entry, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such organization", err);
	if (rc != CF_OK)
		json_decref(entry);
	return rc;
}

/* Store timestamps (microseconds) are internal: lists answer with the contract's members only. */
static json_t *public_list(json_t *list)
{
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *k;
		json_t *val;
		void *tmp;
		json_object_foreach_safe(item, tmp, k, val)
		{
			size_t n = strlen(k);
			if (n > 3 && strcmp(k + n - 3, "_us") == 0)
				json_object_del(item, k);
		}
	}
	return list;
}

/* Access check for operations that change nothing: only refusals are audited. */
static cf_rc check_read(cf_vault *v, cf_request *r, const char *org, bool need_sm, bool allow_admin,
			const char *action, cf_err *err)
{
	json_t *entry = vault_entry(v, r, action);
	cf_rc rc;

	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	rc = vault_check_org(v, r, org, need_sm, allow_admin, entry, err);
	if (rc == CF_OK)
		json_decref(entry);
	return rc;
}

/* Roles: a non-empty array of distinct labels, none of them an instance role. */
cf_rc vault_check_roles(json_t *roles, cf_err *err)
{
	size_t i, j;
	json_t *a, *b;

	if (!json_is_array(roles))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "roles: an array of role names");
	if (json_array_size(roles) == 0 || json_array_size(roles) > MAX_ROLES)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "roles: 1 to %d role names", MAX_ROLES);
	json_array_foreach(roles, i, a)
	{
		const char *s = json_string_value(a);
		if (s == NULL)
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "roles: every role is a string");
		if (!cf_label_valid(s))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "roles: role names are [a-z][a-z0-9_-]{0,63}");
		if (strcmp(s, CF_ROLE_ADMIN) == 0 || strcmp(s, "authority") == 0)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					  "roles: '%s' is an instance role, not an organization role", s);
		for (j = 0; j < i; j++) {
			b = json_array_get(roles, j);
			if (strcmp(json_string_value(b), s) == 0)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "roles: '%s' is repeated", s);
		}
	}
	return CF_OK;
}

/* Runs tx-bound work then the audit entry in the same transaction. */
cf_rc vault_finish(cf_tx *tx, json_t *entry, cf_rc rc, cf_err *err)
{
	if (rc != CF_OK) {
		cf_tx_rollback(tx);
		json_decref(entry);
		return rc;
	}
	cf_audit_outcome(entry, true, NULL);
	rc = vault_audit(tx, entry, err);
	if (rc != CF_OK) {
		cf_tx_rollback(tx);
		return rc;
	}
	return vault_commit(tx, err);
}

cf_rc cf_vault_org_create(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err)
{
	const char *id = NULL, *name = NULL;
	json_t *entry = vault_entry(v, r, "org.create");
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if (!r->who.is_admin)
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN, "only the instance administrator creates organizations",
				  err);
	rc = cf_json_unpack(err, "organization", body, "{s:s, s:s}", "id", &id, "name", &name);
	if (rc != CF_OK)
		goto bad;
	if (!vault_org_id_valid(id)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "id: [a-z][a-z0-9_-]{0,63}");
		goto bad;
	}
	if (name[0] == '\0' || strlen(name) > 200) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "name: 1 to 200 characters");
		goto bad;
	}
	cf_audit_set_resource(entry, id, NULL, NULL, NULL);
	rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK)
		goto bad;
	rc = cf_st_org_insert(tx, id, name, cf_now_us(v->env), err);
	if (rc == CF_EEXIST)
		cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "organization '%s' already exists", id);
	if (rc == CF_OK)
		rc = vault_org_keys_create(v, tx, id, err);
	rc = vault_finish(tx, entry, rc, err);
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:s}", "id", id, "name", name);
	return rc;
bad:
	json_decref(entry);
	return rc;
}

cf_rc cf_vault_org_list(cf_vault *v, cf_request *r, json_t **answer, cf_err *err)
{
	json_t *list = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if (!r->who.is_admin)
		return vault_deny(v, vault_entry(v, r, "org.list"), CF_EDENIED, CF_P_FORBIDDEN,
				  "only the instance administrator lists organizations", err);
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_org_list(tx, &list, err);
	cf_tx_rollback(tx);
	if (rc == CF_OK)
		*answer = json_pack("{s:o}", "orgs", public_list(list));
	return rc;
}

cf_rc cf_vault_org_get(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err)
{
	char *name = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	rc = check_read(v, r, org, false, true, "org.read", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_org_get(tx, org, &name, err);
	cf_tx_rollback(tx);
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:s}", "id", org, "name", name);
	free(name);
	return rc;
}

cf_rc vault_get_member(cf_tx *tx, const char *org, const char *username, cf_user_row *u, cf_member_row *m,
		       cf_err *err)
{
	cf_rc rc;
	if (!vault_username_valid(username))
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such user in this organization");
	rc = cf_st_user_get(tx, username, u, err);
	if (rc == CF_OK)
		rc = cf_st_member_get(tx, u->id, org, m, err);
	if (rc == CF_ENOTFOUND)
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such user in this organization");
	return rc;
}

cf_rc cf_vault_apikey_create(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer,
			     cf_err *err)
{
	const char *username = NULL, *description = NULL;
	json_t *entry = vault_entry(v, r, "apikey.create"), *mroles = NULL;
	cf_apikey_row k = {0};
	cf_user_row u = {0};
	cf_member_row m = {0};
	char secret[64], key[160];
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, org, NULL, NULL, NULL);
	rc = vault_check_org(v, r, org, true, false, entry, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_json_unpack(err, "API key", body, "{s:s, s?:s}", "username", &username, "description", &description);
	if (rc != CF_OK)
		goto out;
	if (description != NULL && strlen(description) > 200) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "description: at most 200 characters");
		goto out;
	}
	cf_audit_set(entry, "target", vault_username_valid(username) ? username : NULL);
	if ((rc = vault_new_id(v, "k", k.id)) != CF_OK || (rc = cf_random_token(v->env, 32, secret, sizeof(secret))) != CF_OK ||
	    (rc = cf_snprintf(key, sizeof(key), "cfk_%s.%s", k.id, secret)) != CF_OK) {
		rc = cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "cannot make an API key");
		goto out;
	}
	cf_hash_secret(key, strlen(key), k.hash);
	rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK)
		goto out;
	rc = vault_get_member(tx, org, username, &u, &m, err);
	if (rc == CF_OK) {
		cf_principal tmp = {0};
		mroles = json_loads(m.roles, 0, NULL);
		tmp.roles = mroles;
		if (mroles == NULL || !vault_has_role(&tmp, "technical"))
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"API keys are for members with the technical role");
	}
	if (rc == CF_OK) {
		k.user_id = u.id;
		k.org = (char *)org;
		k.description = (char *)(description ? description : "");
		k.created_us = cf_now_us(v->env);
		rc = cf_st_apikey_insert(tx, &k, err);
		cf_audit_set(entry, "apikey", k.id);
	}
	rc = vault_finish(tx, entry, rc, err);
	entry = NULL;
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:s, s:s, s:s}", "id", k.id, "key", key, "username", username, "org", org);
out:
	cf_wipe(secret, sizeof(secret));
	cf_wipe(key, sizeof(key));
	json_decref(entry);
	json_decref(mroles);
	cf_user_row_release(&u);
	cf_member_row_release(&m);
	return rc;
}

cf_rc cf_vault_apikey_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err)
{
	json_t *list = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	rc = check_read(v, r, org, true, false, "apikey.list", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_apikey_list(tx, org, &list, err);
	cf_tx_rollback(tx);
	if (rc == CF_OK)
		*answer = json_pack("{s:o}", "api_keys", public_list(list));
	return rc;
}

cf_rc cf_vault_apikey_revoke(cf_vault *v, cf_request *r, const char *org, const char *id, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "apikey.revoke");
	cf_tx *tx = NULL;
	cf_rc rc;

	cf_audit_set_resource(entry, org, NULL, NULL, NULL);
	rc = vault_check_org(v, r, org, true, false, entry, err);
	if (rc != CF_OK)
		return rc;
	if (strlen(id) > CF_ID_MAX) {
		json_decref(entry);
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such API key");
	}
	cf_audit_set(entry, "apikey", id);
	rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK) {
		json_decref(entry);
		return rc;
	}
	rc = cf_st_apikey_revoke(tx, org, id, err);
	if (rc == CF_ENOTFOUND)
		cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such API key");
	return vault_finish(tx, entry, rc, err);
}

cf_rc cf_vault_collection_put(cf_vault *v, cf_request *r, const char *org, const char *name, json_t *body,
			      json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "collection.put"), *norm = NULL;
	cf_collection *c = NULL;
	char *text = NULL;
	int64_t version = 0;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, org, cf_name_valid(name) ? name : NULL, NULL, NULL);
	rc = vault_check_org(v, r, org, true, false, entry, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_collection_parse(name, body, &c, err);
	if (rc != CF_OK)
		goto out;
	norm = cf_collection_to_json(c);
	text = norm ? cf_json_dump_canonical(norm) : NULL;
	if (text == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_st_collection_put(tx, org, name, text, cf_now_us(v->env), &version, err);
	rc = vault_finish(tx, entry, rc, err);
	entry = NULL;
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:I, s:O}", "name", name, "version", (json_int_t)version, "definition", norm);
out:
	free(text);
	json_decref(norm);
	json_decref(entry);
	cf_collection_free(c);
	return rc;
}

cf_rc cf_vault_collection_get(cf_vault *v, cf_request *r, const char *org, const char *name, json_t **answer,
			      cf_err *err)
{
	char *def = NULL;
	int64_t version = 0;
	cf_tx *tx = NULL;
	json_t *j;
	cf_rc rc;

	*answer = NULL;
	rc = check_read(v, r, org, false, true, "collection.read", err);
	if (rc != CF_OK)
		return rc;
	if (!cf_name_valid(name))
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such collection");
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_collection_get(tx, org, name, &def, &version, err);
	cf_tx_rollback(tx);
	if (rc == CF_ENOTFOUND)
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no collection '%s' in this organization", name);
	if (rc != CF_OK)
		return rc;
	j = json_loads(def, 0, NULL);
	free(def);
	if (j == NULL)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "stored collection unreadable");
	*answer = json_pack("{s:s, s:I, s:o}", "name", name, "version", (json_int_t)version, "definition", j);
	return CF_OK;
}

cf_rc cf_vault_collection_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err)
{
	json_t *list = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	rc = check_read(v, r, org, false, true, "collection.list", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_collection_list(tx, org, &list, err);
	cf_tx_rollback(tx);
	if (rc == CF_OK)
		*answer = json_pack("{s:o}", "collections", public_list(list));
	return rc;
}

/* The grants checker's view of the organization's collections, loaded on demand. */
typedef struct coll_cache {
	cf_tx *tx;
	const char *org;
	cf_collection *items[64];
	size_t n;
} coll_cache;

static const cf_collection *cache_lookup(void *ctx, const char *name)
{
	coll_cache *cc = ctx;
	cf_collection *c = NULL;

	for (size_t i = 0; i < cc->n; i++)
		if (strcmp(cf_collection_name(cc->items[i]), name) == 0)
			return cc->items[i];
	if (cc->n == CF_ARRAY_LEN(cc->items) || !cf_name_valid(name))
		return NULL;
	if (vault_load_collection(cc->tx, cc->org, name, &c, NULL) != CF_OK)
		return NULL;
	cc->items[cc->n++] = c;
	return c;
}

cf_rc cf_vault_grants_put(cf_vault *v, cf_request *r, const char *org, const char *role, json_t *body,
			  json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "grants.put"), *norm = NULL;
	cf_grant_set *g = NULL;
	coll_cache cc = {0};
	char *text = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, org, NULL, NULL, NULL);
	cf_audit_set(entry, "role", cf_label_valid(role) ? role : NULL);
	rc = vault_check_org(v, r, org, true, false, entry, err);
	if (rc != CF_OK)
		return rc;
	if (!cf_label_valid(role)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "role names are [a-z][a-z0-9_-]{0,63}");
		goto out;
	}
	if (strcmp(role, CF_ROLE_SECURITY_MANAGER) == 0 || strcmp(role, CF_ROLE_AUDITOR) == 0) {
		rc = vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN,
				"personal-data grants cannot be given to the security_manager or auditor roles", err);
		entry = NULL;
		goto out;
	}
	rc = cf_grants_parse(body, &g, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_store_begin(v->store, true, &tx, err);
	if (rc != CF_OK)
		goto out;
	cc.tx = tx;
	cc.org = org;
	rc = cf_grants_check(g, cache_lookup, &cc, err);
	if (rc == CF_OK) {
		/* grants naming agreements: each must exist, name this organization as consumer, and not be revoked */
		json_t *ids = cf_grants_agreements(g), *id;
		size_t i;
		json_array_foreach(ids, i, id)
		{
			cf_agreement_row a = {0};
			const char *s = json_string_value(id);
			cf_rc arc = cf_st_agreement_get(tx, s, &a, NULL);
			if (arc != CF_OK || strcmp(a.consumer, org) != 0 || strcmp(a.status, "revoked") == 0)
				rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
						"agreement '%.64s' does not exist, is revoked, or does not name '%s' as consumer", s,
						org);
			cf_agreement_row_release(&a);
			if (rc != CF_OK)
				break;
		}
		json_decref(ids);
	}
	if (rc == CF_OK) {
		norm = cf_grants_to_json(g);
		text = norm ? cf_json_dump_canonical(norm) : NULL;
		rc = text ? cf_st_grants_put(tx, org, role, text, cf_now_us(v->env), err)
			  : cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	}
	rc = vault_finish(tx, entry, rc, err);
	entry = NULL;
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:O}", "role", role, "grants", norm);
out:
	for (size_t i = 0; i < cc.n; i++)
		cf_collection_free(cc.items[i]);
	free(text);
	json_decref(norm);
	json_decref(entry);
	cf_grants_free(g);
	return rc;
}

cf_rc cf_vault_grants_get(cf_vault *v, cf_request *r, const char *org, const char *role, json_t **answer,
			  cf_err *err)
{
	char *text = NULL;
	cf_tx *tx = NULL;
	json_t *j;
	cf_rc rc;

	*answer = NULL;
	rc = check_read(v, r, org, true, false, "grants.read", err);
	if (rc != CF_OK)
		return rc;
	if (!cf_label_valid(role))
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such role");
	rc = cf_store_begin(v->store, false, &tx, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_st_grants_get(tx, org, role, &text, err);
	cf_tx_rollback(tx);
	if (rc == CF_ENOTFOUND) {
		j = json_array();
		rc = CF_OK;
	} else if (rc != CF_OK) {
		return rc;
	} else {
		j = json_loads(text, 0, NULL);
		free(text);
	}
	if (j == NULL)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "stored grants unreadable");
	*answer = json_pack("{s:s, s:o}", "role", role, "grants", j);
	return rc;
}

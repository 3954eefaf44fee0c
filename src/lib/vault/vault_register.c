/*
 * vault_register.c - the register of processing activities (GDPR art. 30):
 * for each organization, what it collects (collections, fields, data
 * categories), why (purposes and their legal bases), for how long
 * (retention and where it runs from), who receives it (sharing agreements),
 * where it is stored and how it is protected. Always current: it is built
 * from the declarations the vault enforces, at the moment it is asked for.
 *
 * It holds no personal value (declarations and counts only), so the
 * instance's administrator, sharing authority and auditors may read it for
 * every organization; an organization's data protection officer, security
 * managers and auditors for their own. Every reading is audited.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"

/* The organization's collections as the register lists them. */
static cf_rc org_collections(cf_tx *tx, const char *org, json_t *agreements, json_t **out, cf_err *err)
{
	json_t *list = NULL, *colls = json_array(), *item;
	size_t i;
	cf_rc rc;

	*out = NULL;
	if (colls == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if ((rc = cf_st_collection_list(tx, org, &list, err)) != CF_OK)
		goto out;
	json_array_foreach(list, i, item)
	{
		const char *name = json_string_value(json_object_get(item, "name"));
		cf_collection *c = NULL;
		json_t *def, *fields = json_array(), *cats = json_array(), *special = json_array(), *purposes = json_array();
		json_t *recipients = json_array(), *seen = json_object(), *a, *one;
		int64_t count = 0;
		size_t k;

		rc = name != NULL ? vault_load_collection(tx, org, name, &c, err) : CF_EINTEGRITY;
		if (rc == CF_OK)
			rc = cf_st_collection_record_count(tx, org, name, &count, err);
		def = c != NULL ? cf_collection_to_json(c) : NULL;
		for (k = 0; rc == CF_OK && k < cf_collection_field_count(c); k++) {
			const cf_field *f = cf_collection_field_at(c, k);
			const char *cat = cf_field_category(f);
			json_array_append_new(fields, json_pack("{s:s, s:s, s:s, s:b, s:b}", "name", cf_field_name(f), "type",
								cf_field_type_name(cf_field_type_of(f)), "category", cat,
								"special", cf_category_special(cat), "required",
								cf_field_required(f)));
			if (json_object_get(seen, cat) == NULL) {
				json_object_set_new(seen, cat, json_true());
				json_array_append_new(cats, json_string(cat));
				if (cf_category_special(cat))
					json_array_append_new(special, json_string(cat));
			}
		}
		for (k = 0; rc == CF_OK && k < cf_collection_purpose_count(c); k++) {
			const char *p = cf_collection_purpose_at(c, k);
			json_t *pdef = json_object_get(json_object_get(def, "purposes"), p);
			json_array_append_new(purposes,
					      json_pack("{s:s, s:s?, s:O*}", "purpose", p, "legal_basis",
							cf_collection_legal_basis(c, p), "description",
							json_object_get(pdef, "description")));
		}
		json_array_foreach(agreements, k, a)
		{
			if (strcmp(json_string_value(json_object_get(a, "provider")), org) != 0 ||
			    strcmp(json_string_value(json_object_get(a, "collection")), name ? name : "") != 0)
				continue;
			json_array_append_new(
			    recipients,
			    json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "organization",
				      json_object_get(a, "consumer"), "agreement", json_object_get(a, "id"), "fields",
				      json_object_get(a, "fields"), "categories", json_object_get(a, "categories"), "purposes",
				      json_object_get(a, "purposes"), "legal_basis", json_object_get(a, "legal_basis"),
				      "status", json_object_get(a, "status"), "valid_from", json_object_get(a, "valid_from"),
				      "valid_until", json_object_get(a, "valid_until")));
		}
		one = rc == CF_OK ? json_pack("{s:s, s:O*, s:O, s:I, s:O, s:O, s:O, s:O, s:s, s:s, s:O}", "name", name,
					      "description", json_object_get(def, "description"), "version",
					      json_object_get(item, "version"), "records", (json_int_t)count, "fields",
					      fields, "categories", cats, "special_categories", special, "purposes",
					      purposes, "retention", cf_collection_retention(c), "retention_start",
					      cf_collection_retention_start(c), "recipients", recipients)
				  : NULL;
		if (rc == CF_OK && one == NULL)
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		if (one != NULL)
			json_array_append_new(colls, one);
		json_decref(def);
		json_decref(fields);
		json_decref(cats);
		json_decref(special);
		json_decref(purposes);
		json_decref(recipients);
		json_decref(seen);
		cf_collection_free(c);
		if (rc != CF_OK)
			goto out;
	}
	*out = colls;
	colls = NULL;
out:
	json_decref(colls);
	json_decref(list);
	return rc;
}

/* What the organization receives from others under agreements. */
static json_t *org_received(const char *org, json_t *agreements)
{
	json_t *out = json_array(), *a;
	size_t i;

	json_array_foreach(agreements, i, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "consumer")), org) != 0)
			continue;
		json_array_append_new(out, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "provider",
						     json_object_get(a, "provider"), "collection",
						     json_object_get(a, "collection"), "agreement", json_object_get(a, "id"),
						     "fields", json_object_get(a, "fields"), "purposes",
						     json_object_get(a, "purposes"), "legal_basis",
						     json_object_get(a, "legal_basis"), "status", json_object_get(a, "status")));
	}
	return out;
}

/* The measures the vault applies, stated from what it does and how it is configured. */
static json_t *security_measures(cf_vault *v)
{
	char line[256];
	json_t *m = json_array();

	json_array_append_new(m, json_string("HTTPS only (TLS 1.2 and 1.3, GnuTLS), HSTS; no plain-HTTP listener"));
	json_array_append_new(m, json_string("every field value encrypted (XChaCha20-Poly1305) under a data key per "
					     "subject and organization, bound to its organization, collection, record, "
					     "version and field"));
	(void)snprintf(line, sizeof(line),
		       "key hierarchy: data keys wrapped by the organization's key, wrapped by the root key (%s); "
		       "the keystore is a separate file",
		       v->mode == CF_SEAL_PASSPHRASE ? "sealed by a passphrase, Argon2id" : "development key file");
	json_array_append_new(m, json_string(line));
	json_array_append_new(m, json_string("national identifiers never stored in clear: found by a keyed blind "
					     "index, kept encrypted"));
	json_array_append_new(m, json_string("access bound to a role, an organization and a declared purpose with its "
					     "legal basis; sharing only under recorded agreements"));
	json_array_append_new(m, json_string("every access, allowed or refused, in an append-only audit trail (RFC "
					     "9162 Merkle tree, Ed25519-signed C2SP checkpoints), committed before the "
					     "answer (fail closed)"));
	(void)snprintf(line, sizeof(line),
		       "passwords hashed with Argon2id; an account locks after %ld failed logins; tokens expire after "
		       "%ld s",
		       v->cfg.login_max_failures, v->cfg.token_ttl_seconds);
	json_array_append_new(m, json_string(line));
	json_array_append_new(m, json_string("erasure by destroying the subject's data key (crypto-shredding); "
					     "retention enforced by a sweeper; freed pages zeroed (secure_delete)"));
	return m;
}

static bool may_read_all(const cf_request *r)
{
	return r->who.authenticated && r->who.org[0] == '\0' &&
	       (vault_has_role(&r->who, CF_ROLE_ADMIN) || vault_has_role(&r->who, "authority") ||
		vault_has_role(&r->who, CF_ROLE_AUDITOR));
}

static bool may_read_own(const cf_request *r)
{
	return r->who.authenticated && r->who.org[0] != '\0' &&
	       (vault_has_role(&r->who, "dpo") || vault_has_role(&r->who, CF_ROLE_SECURITY_MANAGER) ||
		vault_has_role(&r->who, CF_ROLE_AUDITOR));
}

cf_rc cf_vault_report_processing(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "report.processing"), *orgs = NULL, *agreements = NULL, *out_orgs = NULL, *o;
	char now[CF_TIME_STR_LEN], path[PATH_MAX], keys[PATH_MAX];
	cf_tx *tx = NULL;
	size_t i;
	cf_rc rc;

	*answer = NULL;
	if (org != NULL && org[0] == '\0')
		org = NULL;
	if (org != NULL)
		cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	if (r->who.org[0] != '\0' && org == NULL)
		org = r->who.org; /* a member reads its own organization's register */
	if (!may_read_all(r) && !(may_read_own(r) && strcmp(r->who.org, org) == 0))
		return vault_deny(v, entry, CF_EDENIED,
				  r->who.org[0] != '\0' && may_read_own(r) ? CF_P_WRONG_ORGANIZATION : CF_P_FORBIDDEN,
				  "the register is for the organization's data protection officer, security managers and "
				  "auditors, and for the instance's administrator, authority and auditors",
				  err);
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		goto out;
	if ((rc = cf_st_org_list(tx, &orgs, err)) != CF_OK ||
	    (rc = cf_st_agreement_list(tx, NULL, NULL, NULL, NULL, &agreements, err)) != CF_OK)
		goto out;
	out_orgs = json_array();
	json_array_foreach(orgs, i, o)
	{
		const char *id = json_string_value(json_object_get(o, "id"));
		json_t *colls = NULL;
		if (org != NULL && strcmp(id, org) != 0)
			continue;
		if ((rc = org_collections(tx, id, agreements, &colls, err)) != CF_OK)
			goto out;
		json_array_append_new(out_orgs, json_pack("{s:s, s:O, s:o, s:o}", "id", id, "name",
							  json_object_get(o, "name"), "collections", colls, "received",
							  org_received(id, agreements)));
	}
	if (org != NULL && json_array_size(out_orgs) == 0) {
		cf_tx_rollback(tx);
		tx = NULL;
		rc = vault_deny(v, entry, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such organization", err);
		entry = NULL;
		goto out;
	}
	cf_tx_rollback(tx);
	tx = NULL;
	cf_audit_outcome(entry, true, NULL);
	rc = cf_trail_submit(v->trail, entry, NULL, NULL, NULL, err);
	entry = NULL;
	if (rc != CF_OK)
		goto out;
	cf_time_format(cf_now_us(v->env), now);
	if ((rc = cf_vault_path(v->dir, "vault.db", path, sizeof(path))) != CF_OK ||
	    (rc = cf_vault_path(v->dir, "keys.db", keys, sizeof(keys))) != CF_OK) {
		rc = cf_err_set(err, rc, CF_P_INTERNAL, "path too long");
		goto out;
	}
	*answer = json_pack("{s:s, s:{s:s, s:{s:s, s:s, s:s, s:s}, s:o}, s:O}", "generated_at", now, "instance",
			    "environment", cf_environment_name(v->cfg.environment), "storage", "engine",
			    "SQLite 3 (WAL, secure_delete), one file per role", "records", path, "keystore", keys,
			    "location", "the data directory of this coffre instance, on its own server",
			    "security_measures", security_measures(v), "organizations", out_orgs);
	if (*answer == NULL)
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
out:
	if (tx != NULL)
		cf_tx_rollback(tx);
	json_decref(entry);
	json_decref(orgs);
	json_decref(agreements);
	json_decref(out_orgs);
	return rc;
}

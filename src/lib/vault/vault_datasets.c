/*
 * vault_datasets.c - datasets for environments other than production.
 *
 * The export (`coffre export --pseudonymize`) gives an organization's data
 * with every identifier and personal value replaced by a format-valid
 * synthetic one (src/lib/synth): the same person keeps one synthetic
 * national identifier across records, every value still validates against
 * its collection, nothing of the source remains. Only the organization's
 * data protection officer exports; the source values never leave this
 * file and are wiped once the synthetic dataset is built.
 *
 * The import loads such a dataset into an acceptance, test or development
 * vault, for the organization's security manager. Production refuses it,
 * and a vault that imported one is marked (meta test_data) so that a
 * production daemon refuses to start on it: test data never reaches
 * production, by either door.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "synth/synth.h"

#define DATASET_FORMAT "coffre-pseudonymized-dataset/1"
#define DATASET_MAX_RECORDS 100000

/* A member of org holding role, past the confidentiality commitment; refusals audited (entry consumed). */
static cf_rc member_gate(cf_vault *v, cf_request *r, const char *org, const char *role, const char *why, json_t *entry,
			 cf_err *err)
{
	cf_tx *tx = NULL;
	cf_err cerr = {0};
	cf_rc rc;

	if (r->who.org[0] == '\0' || strcmp(r->who.org, org) != 0)
		return vault_deny(v, entry, CF_EDENIED, r->who.org[0] ? CF_P_WRONG_ORGANIZATION : CF_P_FORBIDDEN, why,
				  err);
	if (!vault_has_role(&r->who, role))
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN, why, err);
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK) {
		json_decref(entry);
		return rc;
	}
	rc = vault_commitment_check(tx, r, &cerr);
	cf_tx_rollback(tx);
	if (rc == CF_EDENIED)
		return vault_deny(v, entry, rc, cerr.problem, cerr.detail, err);
	if (rc != CF_OK) {
		json_decref(entry);
		return cf_err_set(err, rc, CF_P_NONE, "cannot read the commitment");
	}
	return CF_OK;
}

/* The organization's collections: definitions by name, and the parsed forms for opening records. */
typedef struct colls {
	json_t *defs; /* {name: normalized definition} */
	cf_collection **c;
	size_t n;
} colls;

static void colls_free(colls *cs)
{
	for (size_t i = 0; i < cs->n; i++)
		cf_collection_free(cs->c[i]);
	free(cs->c);
	json_decref(cs->defs);
	memset(cs, 0, sizeof(*cs));
}

static cf_rc colls_load(cf_tx *tx, const char *org, colls *cs, cf_err *err)
{
	json_t *list = NULL, *item;
	size_t i;
	cf_rc rc;

	memset(cs, 0, sizeof(*cs));
	if ((rc = cf_st_collection_list(tx, org, &list, err)) != CF_OK)
		return rc;
	cs->defs = json_object();
	cs->c = calloc(json_array_size(list) + 1, sizeof(*cs->c));
	if (cs->defs == NULL || cs->c == NULL)
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	json_array_foreach(rc == CF_OK ? list : NULL, i, item)
	{
		const char *name = json_string_value(json_object_get(item, "name"));
		if ((rc = vault_load_collection(tx, org, name, &cs->c[cs->n], err)) != CF_OK)
			break;
		json_object_set_new(cs->defs, name, cf_collection_to_json(cs->c[cs->n]));
		cs->n++;
	}
	json_decref(list);
	if (rc != CF_OK)
		colls_free(cs);
	return rc;
}

static const cf_collection *colls_find(const colls *cs, const char *name)
{
	for (size_t i = 0; name != NULL && i < cs->n; i++)
		if (strcmp(cf_collection_name(cs->c[i]), name) == 0)
			return cs->c[i];
	return NULL;
}

/* One subject's identifier and records, opened: {"national_id", "records": [{"collection","id","fields"}]}. */
static cf_rc source_subject(cf_vault *v, cf_tx *tx, const char *org, const colls *cs, const char *pseudonym,
			    size_t *total, json_t **out, cf_err *err)
{
	cf_key *dek = NULL;
	char nid[CF_NID_LEN] = "";
	json_t *list = NULL, *recs = json_array(), *item;
	size_t i;
	cf_rc rc;

	*out = NULL;
	if (recs == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if ((rc = vault_subject_key(v, tx, org, pseudonym, &dek, err)) != CF_OK ||
	    (rc = vault_subject_nid(tx, org, pseudonym, dek, nid, err)) != CF_OK ||
	    (rc = cf_st_record_list_by_subject(tx, org, pseudonym, &list, err)) != CF_OK)
		goto out;
	json_array_foreach(list, i, item)
	{
		const char *cname = json_string_value(json_object_get(item, "collection"));
		const char *id = json_string_value(json_object_get(item, "id"));
		const cf_collection *c = colls_find(cs, cname);
		cf_record_row row = {0};
		cf_field_ct *cts = NULL;
		size_t n = 0;
		json_t *fields = NULL;

		if (c == NULL) {
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "a record names an undeclared collection");
			goto out;
		}
		if (++*total > DATASET_MAX_RECORDS) {
			rc = cf_err_set(err, CF_ETOOBIG, CF_P_INVALID_VALUE,
					"the organization holds more than %d records: too many for one dataset",
					DATASET_MAX_RECORDS);
			goto out;
		}
		rc = cf_st_record_get(tx, org, cname, id, &row, &cts, &n, err);
		if (rc == CF_OK)
			rc = vault_open_fields(c, dek, &row, cts, n, NULL, &fields, err);
		cf_field_cts_free(cts, n);
		if (rc != CF_OK)
			goto out;
		json_array_append_new(recs, json_pack("{s:s, s:s, s:o}", "collection", cname, "id", id, "fields", fields));
	}
	*out = json_pack("{s:s, s:O}", "national_id", nid, "records", recs);
	if (*out == NULL)
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
out:
	if (*out == NULL)
		cf_json_wipe(recs);
	json_decref(recs);
	json_decref(list);
	cf_wipe(nid, sizeof(nid));
	cf_key_free(dek);
	return rc;
}

cf_rc cf_vault_dataset_export(cf_vault *v, cf_request *r, const char *org, const char *pseudonymize, json_t **answer,
			      cf_err *err)
{
	json_t *entry = vault_entry(v, r, "dataset.export"), *subjects = NULL, *list = NULL, *source = NULL, *out = NULL;
	json_t *item;
	colls cs = {0};
	cf_tx *tx = NULL;
	size_t i, total = 0;
	char now[CF_TIME_STR_LEN];
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	rc = member_gate(v, r, org, "dpo", "only the organization's data protection officer exports a pseudonymized dataset",
			 entry, err);
	if (rc != CF_OK)
		return rc;
	if (pseudonymize == NULL || strcmp(pseudonymize, "true") != 0)
		return vault_deny(v, entry, CF_EINVAL, CF_P_INVALID_VALUE,
				  "pseudonymize=true is required: only a pseudonymized dataset is exported", err);
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		goto out;
	if ((rc = colls_load(tx, org, &cs, err)) != CF_OK || (rc = cf_st_subject_list(tx, org, &list, err)) != CF_OK)
		goto out;
	subjects = json_array();
	json_array_foreach(list, i, item)
	{
		json_t *one = NULL;
		if (json_is_true(json_object_get(item, "erased")))
			continue; /* nothing of an erased subject can be read, nor should be */
		rc = source_subject(v, tx, org, &cs, json_string_value(json_object_get(item, "pseudonym")), &total, &one,
				    err);
		if (rc != CF_OK)
			goto out;
		json_array_append_new(subjects, one);
	}
	cf_tx_rollback(tx);
	tx = NULL;
	source = json_pack("{s:s, s:O, s:O}", "org", org, "collections", cs.defs, "subjects", subjects);
	if (source == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = cf_synth_dataset(v->env, source, &out, err)) != CF_OK)
		goto out;
	/* nothing leaves before the export's own entry is durable */
	json_object_set_new(entry, "count", json_integer((json_int_t)total));
	cf_audit_outcome(entry, true, NULL);
	rc = cf_trail_submit(v->trail, entry, NULL, NULL, NULL, err);
	entry = NULL;
	if (rc != CF_OK)
		goto out;
	cf_time_format(cf_now_us(v->env), now);
	json_object_set_new(out, "source_org", json_string(org));
	json_object_set_new(out, "source_environment", json_string(cf_environment_name(v->cfg.environment)));
	json_object_set_new(out, "generated_at", json_string(now));
	*answer = out;
	out = NULL;
out:
	if (tx != NULL)
		cf_tx_rollback(tx);
	cf_json_wipe(source);
	cf_json_wipe(subjects);
	json_decref(source);
	json_decref(subjects);
	json_decref(list);
	json_decref(out);
	json_decref(entry);
	colls_free(&cs);
	return rc;
}

/* Declares the dataset's collections: new ones are created, existing ones must be identical. */
static cf_rc import_collections(cf_vault *v, cf_tx *tx, const char *org, json_t *defs, colls *cs, cf_err *err)
{
	const char *name;
	json_t *def;
	cf_rc rc = CF_OK;

	cs->c = calloc(json_object_size(defs) + 1, sizeof(*cs->c));
	if (cs->c == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	json_object_foreach(defs, name, def)
	{
		cf_collection *c = NULL;
		char *stored = NULL, *text = NULL;
		json_t *norm = NULL;
		int64_t version = 0;

		if ((rc = cf_collection_parse(name, def, &c, err)) != CF_OK) {
			cf_err_prefix(err, "collections");
			return rc;
		}
		cs->c[cs->n++] = c;
		norm = cf_collection_to_json(c);
		rc = cf_st_collection_get(tx, org, name, &stored, &version, err);
		if (rc == CF_OK) {
			json_t *have = json_loads(stored, 0, NULL);
			if (have == NULL || !json_equal(have, norm))
				rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT,
						"collection '%s' exists with another definition", name);
			json_decref(have);
		} else if (rc == CF_ENOTFOUND) {
			text = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
			rc = text != NULL ? cf_st_collection_put(tx, org, name, text, cf_now_us(v->env), &version, err)
					  : cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		}
		free(stored);
		free(text);
		json_decref(norm);
		if (rc != CF_OK)
			return rc;
	}
	return CF_OK;
}

/* Writes the dataset's subjects and records; *n_records counts them. */
static cf_rc import_subjects(cf_vault *v, cf_tx *tx, const char *org, json_t *subjects, const colls *cs,
			     size_t *n_records, cf_err *err)
{
	json_t *s, *rec;
	size_t i, k;
	cf_rc rc = CF_OK;

	json_array_foreach(subjects, i, s)
	{
		const char *nid = NULL;
		json_t *recs = NULL;
		char where[64];

		(void)snprintf(where, sizeof(where), "subjects[%zu]", i);
		rc = cf_json_unpack(err, where, s, "{s:s, s:o}", "national_id", &nid, "records", &recs);
		if (rc == CF_OK && !json_is_array(recs))
			rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s.records: an array", where);
		if (rc != CF_OK)
			return rc;
		json_array_foreach(recs, k, rec)
		{
			const char *cname = NULL, *id = NULL;
			json_t *fields = NULL;
			const cf_collection *c;
			cf_record_row row;

			(void)snprintf(where, sizeof(where), "subjects[%zu].records[%zu]", i, k);
			rc = cf_json_unpack(err, where, rec, "{s:s, s?:s, s:o}", "collection", &cname, "id", &id, "fields",
					    &fields);
			if (rc != CF_OK)
				return rc;
			if ((c = colls_find(cs, cname)) == NULL)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: collection not in the dataset", where);
			if (++*n_records > DATASET_MAX_RECORDS)
				return cf_err_set(err, CF_ETOOBIG, CF_P_INVALID_VALUE, "more than %d records in one dataset",
						  DATASET_MAX_RECORDS);
			if (!json_is_object(fields))
				return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s.fields: an object", where);
			if ((rc = cf_collection_validate(c, fields, false, err)) != CF_OK) {
				cf_err_prefix(err, where);
				return rc;
			}
			if ((rc = vault_record_import(v, tx, org, c, nid, fields, &row, err)) != CF_OK) {
				cf_err_prefix(err, where);
				return rc;
			}
		}
	}
	return rc;
}

cf_rc cf_vault_dataset_import(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "dataset.import"), *defs = NULL, *subjects = NULL;
	const char *format = NULL, *src_org = NULL, *src_env = NULL, *generated = NULL;
	int pseudonymized = 0;
	colls cs = {0};
	size_t n_records = 0;
	int64_t idx = -1;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	rc = member_gate(v, r, org, CF_ROLE_SECURITY_MANAGER,
			 "only the organization's security manager imports a dataset", entry, err);
	if (rc != CF_OK)
		return rc;
	if (v->cfg.environment == CF_ENV_PRODUCTION)
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN,
				  "production refuses test data: a pseudonymized dataset is imported only in acceptance, "
				  "test or development",
				  err);
	rc = cf_json_unpack(err, "dataset", body, "{s:s, s:b, s:o, s:o, s?:s, s?:s, s?:s}", "format", &format,
			    "pseudonymized", &pseudonymized, "collections", &defs, "subjects", &subjects, "source_org",
			    &src_org, "source_environment", &src_env, "generated_at", &generated);
	if (rc == CF_OK && strcmp(format, DATASET_FORMAT) != 0)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "format: must be " DATASET_FORMAT);
	if (rc == CF_OK && !pseudonymized)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "pseudonymized: only a pseudonymized dataset is imported");
	if (rc == CF_OK && (!json_is_object(defs) || !json_is_array(subjects)))
		rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "collections: an object; subjects: an array");
	if (rc != CF_OK)
		goto out;
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK)
		goto out;
	if ((rc = import_collections(v, tx, org, defs, &cs, err)) != CF_OK ||
	    (rc = import_subjects(v, tx, org, subjects, &cs, &n_records, err)) != CF_OK ||
	    (rc = cf_st_meta_set(tx, "test_data", "imported", err)) != CF_OK)
		goto out;
	json_object_set_new(entry, "count", json_integer((json_int_t)n_records));
	cf_audit_outcome(entry, true, NULL);
	rc = cf_audit_append(tx, entry, &idx, err);
	if (rc != CF_OK)
		goto out;
	rc = vault_commit(tx, err);
	tx = NULL;
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:I, s:I, s:I}", "org", org, "collections", (json_int_t)json_object_size(defs),
				    "subjects", (json_int_t)json_array_size(subjects), "records", (json_int_t)n_records);
out:
	if (tx != NULL)
		cf_tx_rollback(tx);
	json_decref(entry);
	colls_free(&cs);
	return rc;
}

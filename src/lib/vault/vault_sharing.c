/*
 * vault_sharing.c - sharing agreements between organizations and the
 * confidentiality commitment.
 *
 * An agreement is recorded by the instance-level authority (who reads no
 * personal data): provider, consumer, collection, agreed fields and/or
 * categories, purposes, legal basis, validity dates, optional volume cap.
 * It can be suspended, resumed and revoked; revocation is final and takes
 * effect on the next request, since every shared access resolves the
 * agreement afresh. Resolution never reads a record, so a refusal reveals
 * nothing about the provider's data.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"

#include <time.h>

#define ROLE_AUTHORITY "authority"

void vault_today(cf_vault *v, char out[11])
{
	char ts[CF_TIME_STR_LEN];
	cf_time_format(cf_now_us(v->env), ts);
	memcpy(out, ts, 10);
	out[10] = '\0';
}

void vault_share_release(vault_share *s)
{
	cf_agreement_row_release(&s->agr);
	cf_decision_release(&s->dec);
}

static bool date_valid(const char *s)
{
	int y, m, d;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

/* A JSON array of strings as a NULL-terminated vector of borrowed pointers. */
static const char **strv(json_t *arr, size_t *n)
{
	const char **v;
	size_t i;
	json_t *x;
	*n = json_array_size(arr);
	v = calloc(*n + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	json_array_foreach(arr, i, x) v[i] = json_string_value(x);
	return v;
}

static const char *why_not(const cf_agreement_row *a, const char *today)
{
	if (strcmp(a->status, "revoked") == 0)
		return "revoked";
	if (strcmp(a->status, "suspended") == 0)
		return "suspended";
	if (strcmp(today, a->valid_from) < 0)
		return "not yet valid";
	if (strcmp(today, a->valid_until) > 0)
		return "expired";
	return NULL;
}

cf_rc vault_share_resolve(cf_vault *v, cf_tx *tx, const cf_request *r, const char *provider, const cf_collection *c,
			  const char *const *roles, const cf_grant_set *const *grants, size_t n_roles, vault_share *s,
			  cf_err *err)
{
	json_t *all = NULL, *item;
	char today[11];
	size_t i;
	bool first_refusal = true;
	cf_rc rc;

	memset(s, 0, sizeof(*s));
	vault_today(v, today);
	rc = cf_st_agreement_list(tx, provider, r->who.org, NULL, NULL, &all, err);
	if (rc != CF_OK)
		return rc;
	s->any = json_array_size(all) > 0;
	s->problem = CF_P_NO_AGREEMENT;
	(void)snprintf(s->reason, sizeof(s->reason), "no agreement lets '%s' read collection '%s' of '%s'", r->who.org,
		       cf_collection_name(c), provider);
	json_array_foreach(all, i, item)
	{
		const char *id = json_string_value(json_object_get(item, "id"));
		const char *coll = json_string_value(json_object_get(item, "collection"));
		cf_agreement_row a = {0};
		cf_share_input in = {0};
		const char **f = NULL, **cat = NULL, **pur = NULL;
		const char *bad;
		cf_decision d = {0};

		if (id == NULL || coll == NULL || strcmp(coll, cf_collection_name(c)) != 0)
			continue;
		if (r->agreement != NULL && strcmp(r->agreement, id) != 0)
			continue;
		if ((rc = cf_st_agreement_get(tx, id, &a, err)) != CF_OK)
			break;
		bad = why_not(&a, today);
		if (bad != NULL) {
			if (first_refusal) {
				(void)snprintf(s->reason, sizeof(s->reason), "agreement '%s' is %s", id, bad);
				first_refusal = false;
			}
			cf_agreement_row_release(&a);
			continue;
		}
		f = strv(json_object_get(item, "fields"), &in.n_fields);
		cat = strv(json_object_get(item, "categories"), &in.n_categories);
		pur = strv(json_object_get(item, "purposes"), &in.n_purposes);
		if (f == NULL || cat == NULL || pur == NULL) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		} else {
			in.roles = roles;
			in.grants = grants;
			in.n_roles = n_roles;
			in.collection = c;
			in.agreement = id;
			in.fields = f;
			in.categories = cat;
			in.purposes = pur;
			in.purpose = r->purpose;
			in.action = CF_ACT_READ;
			rc = cf_policy_decide_shared(&in, &d);
		}
		free(f);
		free(cat);
		free(pur);
		if (rc != CF_OK) {
			cf_agreement_row_release(&a);
			break;
		}
		if (d.allow) {
			s->agr = a;
			s->dec = d;
			break;
		}
		if (first_refusal || d.problem == CF_P_PURPOSE_REQUIRED) {
			s->problem = d.problem;
			(void)snprintf(s->reason, sizeof(s->reason), "%s", d.reason);
			first_refusal = false;
		}
		cf_decision_release(&d);
		cf_agreement_row_release(&a);
	}
	if (r->agreement != NULL && first_refusal && !s->dec.allow)
		(void)snprintf(s->reason, sizeof(s->reason), "agreement '%.64s' does not cover collection '%s' of '%s' for '%s'",
			       r->agreement, cf_collection_name(c), provider, r->who.org);
	json_decref(all);
	return rc;
}

/* ---- agreements: the authority's routes ---- */

static bool is_authority(const cf_request *r)
{
	return r->who.authenticated && r->who.org[0] == '\0' && vault_has_role(&r->who, ROLE_AUTHORITY);
}

/* A non-empty array of distinct strings each passing valid(); NULL array allowed when optional. */
static cf_rc names(json_t *arr, const char *what, bool optional, bool (*valid)(const char *), cf_err *err)
{
	size_t i, j;
	json_t *x;
	if (arr == NULL)
		return optional ? CF_OK : cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "%s: required", what);
	if (!json_is_array(arr))
		return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: an array of names", what);
	if (json_array_size(arr) == 0 || json_array_size(arr) > 256)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: 1 to 256 names", what);
	json_array_foreach(arr, i, x)
	{
		const char *s = json_string_value(x);
		if (s == NULL)
			return cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "%s: every item is a string", what);
		if (!valid(s))
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: '%.64s' is not a valid name", what, s);
		for (j = 0; j < i; j++)
			if (strcmp(json_string_value(json_array_get(arr, j)), s) == 0)
				return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "%s: '%s' is repeated", what, s);
	}
	return CF_OK;
}

static json_t *agreement_json(const cf_agreement_row *a)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:s, s:s, s:s, s:o, s:I, s:s}", "id", a->id, "provider",
			 a->provider, "consumer", a->consumer, "collection", a->collection, "fields",
			 json_loads(a->fields, 0, NULL), "categories", json_loads(a->categories, 0, NULL), "purposes",
			 json_loads(a->purposes, 0, NULL), "legal_basis", a->legal_basis, "valid_from", a->valid_from,
			 "valid_until", a->valid_until, "max_accesses",
			 a->max_accesses < 0 ? json_null() : json_integer((json_int_t)a->max_accesses), "accesses",
			 (json_int_t)a->accesses, "status", a->status);
}

cf_rc cf_vault_agreement_create(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err)
{
	const char *provider = NULL, *consumer = NULL, *coll = NULL, *legal = NULL, *from = NULL, *until = NULL;
	json_t *fields = NULL, *cats = NULL, *purposes = NULL, *cap = NULL, *entry = vault_entry(v, r, "agreement.create");
	cf_agreement_row a = {0};
	cf_collection *c = NULL;
	char *name = NULL;
	cf_tx *tx = NULL;
	size_t i;
	json_t *x;
	cf_rc rc;

	*answer = NULL;
	if (!is_authority(r))
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN, "only the sharing authority records agreements", err);
	rc = cf_json_unpack(err, "agreement", body, "{s:s, s:s, s:s, s?:o, s?:o, s:o, s:s, s:s, s:s, s?:o}", "provider",
			    &provider, "consumer", &consumer, "collection", &coll, "fields", &fields, "categories", &cats,
			    "purposes", &purposes, "legal_basis", &legal, "valid_from", &from, "valid_until", &until,
			    "max_accesses", &cap);
	if (rc != CF_OK)
		goto out;
	if (!vault_org_id_valid(provider) || !vault_org_id_valid(consumer) || strcmp(provider, consumer) == 0) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "provider and consumer: two different organization ids");
		goto out;
	}
	if (!cf_name_valid(coll)) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "collection: not a valid name");
		goto out;
	}
	if (fields == NULL && cats == NULL) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "fields and/or categories: say what is shared");
		goto out;
	}
	if ((rc = names(fields, "fields", true, cf_name_valid, err)) != CF_OK ||
	    (rc = names(cats, "categories", true, cf_category_valid, err)) != CF_OK ||
	    (rc = names(purposes, "purposes", false, cf_label_valid, err)) != CF_OK)
		goto out;
	if (legal[0] == '\0' || strlen(legal) > 500) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "legal_basis: 1 to 500 characters");
		goto out;
	}
	if (!date_valid(from) || !date_valid(until) || strcmp(from, until) > 0) {
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "valid_from and valid_until: dates YYYY-MM-DD, in order");
		goto out;
	}
	a.max_accesses = -1;
	if (cap != NULL) {
		if (!json_is_integer(cap) || json_integer_value(cap) < 1) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "max_accesses: a positive integer");
			goto out;
		}
		a.max_accesses = (int64_t)json_integer_value(cap);
	}
	if ((rc = vault_new_id(v, "ag_", a.id)) != CF_OK)
		goto out;
	memcpy(a.provider, provider, strlen(provider) + 1);
	memcpy(a.consumer, consumer, strlen(consumer) + 1);
	memcpy(a.collection, coll, strlen(coll) + 1);
	memcpy(a.valid_from, from, 11);
	memcpy(a.valid_until, until, 11);
	memcpy(a.status, "active", sizeof("active"));
	a.legal_basis = (char *)legal;
	a.fields = fields ? cf_json_dump_canonical(fields) : cf_strdup("[]");
	a.categories = cats ? cf_json_dump_canonical(cats) : cf_strdup("[]");
	a.purposes = cf_json_dump_canonical(purposes);
	a.created_us = a.changed_us = cf_now_us(v->env);
	if (a.fields == NULL || a.categories == NULL || a.purposes == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK)
		goto out;
	for (i = 0; i < 2; i++) {
		if (cf_st_org_get(tx, i == 0 ? provider : consumer, &name, NULL) != CF_OK) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE,
					"provider and consumer must be existing organizations");
			goto out;
		}
		free(name);
		name = NULL;
	}
	rc = vault_load_collection(tx, provider, coll, &c, err);
	if (rc == CF_ENOTFOUND)
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "collection '%s' is not declared by '%s'", coll, provider);
	if (rc != CF_OK)
		goto out;
	json_array_foreach(fields, i, x)
	{
		if (cf_collection_field(c, json_string_value(x)) == NULL) {
			rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "field '%s' is not in collection '%s'",
					json_string_value(x), coll);
			goto out;
		}
	}
	if ((rc = cf_st_agreement_insert(tx, &a, err)) != CF_OK)
		goto out;
	cf_audit_set_resource(entry, provider, coll, NULL, NULL);
	cf_audit_set(entry, "agreement", a.id);
	cf_audit_set(entry, "consumer", consumer);
	cf_audit_outcome(entry, true, NULL);
	rc = vault_audit(tx, entry, err);
	entry = NULL;
	if (rc == CF_OK) {
		rc = vault_commit(tx, err);
		tx = NULL;
	}
	if (rc == CF_OK)
		*answer = agreement_json(&a);
out:
	cf_tx_rollback(tx);
	a.legal_basis = NULL;
	cf_agreement_row_release(&a);
	cf_collection_free(c);
	free(name);
	json_decref(entry);
	return rc;
}

/* The authority sees every agreement; an organization's members those it is a party to. */
static bool may_see(const cf_request *r, const cf_agreement_row *a)
{
	if (is_authority(r))
		return true;
	return r->who.org[0] != '\0' && (strcmp(r->who.org, a->provider) == 0 || strcmp(r->who.org, a->consumer) == 0);
}

cf_rc cf_vault_agreement_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err)
{
	json_t *list = NULL;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if (org == NULL && !is_authority(r))
		return vault_deny(v, vault_entry(v, r, "agreement.list"), CF_EDENIED, CF_P_FORBIDDEN,
				  "only the sharing authority lists every agreement", err);
	if (org != NULL && (r->who.org[0] == '\0' || strcmp(r->who.org, org) != 0))
		return vault_deny(v, vault_entry(v, r, "agreement.list"), CF_EDENIED,
				  r->who.org[0] ? CF_P_WRONG_ORGANIZATION : CF_P_FORBIDDEN,
				  "an organization's agreements are listed by its members", err);
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		return rc;
	rc = cf_st_agreement_list(tx, NULL, NULL, NULL, org, &list, err);
	cf_tx_rollback(tx);
	if (rc == CF_OK) {
		size_t i;
		json_t *it;
		json_array_foreach(list, i, it)
		{
			json_object_del(it, "created_us");
			json_object_del(it, "changed_us");
		}
		*answer = json_pack("{s:o}", "agreements", list);
	}
	return rc;
}

cf_rc cf_vault_agreement_get(cf_vault *v, cf_request *r, const char *id, json_t **answer, cf_err *err)
{
	cf_agreement_row a = {0};
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if (strlen(id) > CF_ID_MAX)
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such agreement");
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		return rc;
	rc = cf_st_agreement_get(tx, id, &a, err);
	cf_tx_rollback(tx);
	if (rc == CF_ENOTFOUND || (rc == CF_OK && !may_see(r, &a)))
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such agreement");
	if (rc == CF_OK)
		*answer = agreement_json(&a);
	cf_agreement_row_release(&a);
	return rc;
}

cf_rc cf_vault_agreement_set_status(cf_vault *v, cf_request *r, const char *id, const char *status, json_t **answer,
				    cf_err *err)
{
	static const char *actions[] = {"agreement.suspend", "agreement.resume", "agreement.revoke"};
	const char *action = strcmp(status, "suspended") == 0 ? actions[0]
			     : strcmp(status, "active") == 0  ? actions[1]
							      : actions[2];
	json_t *entry = vault_entry(v, r, action);
	cf_agreement_row a = {0};
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if (!is_authority(r))
		return vault_deny(v, entry, CF_EDENIED, CF_P_FORBIDDEN, "only the sharing authority changes agreements", err);
	if (strlen(id) > CF_ID_MAX) {
		json_decref(entry);
		return cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such agreement");
	}
	cf_audit_set(entry, "agreement", id);
	if ((rc = cf_store_begin(v->store, true, &tx, err)) != CF_OK)
		goto out;
	rc = cf_st_agreement_get(tx, id, &a, err);
	if (rc == CF_ENOTFOUND)
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such agreement");
	if (rc != CF_OK)
		goto out;
	if (strcmp(a.status, "revoked") == 0) {
		rc = cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "agreement '%s' is revoked: a revocation is final", id);
		goto out;
	}
	if ((rc = cf_st_agreement_set_status(tx, id, status, cf_now_us(v->env), err)) != CF_OK)
		goto out;
	cf_audit_set_resource(entry, a.provider, a.collection, NULL, NULL);
	cf_audit_set(entry, "consumer", a.consumer);
	cf_audit_outcome(entry, true, NULL);
	rc = vault_audit(tx, entry, err);
	entry = NULL;
	if (rc == CF_OK) {
		rc = vault_commit(tx, err);
		tx = NULL;
	}
	if (rc == CF_OK) {
		memcpy(a.status, status, strlen(status) + 1);
		*answer = agreement_json(&a);
	}
out:
	cf_tx_rollback(tx);
	json_decref(entry);
	cf_agreement_row_release(&a);
	return rc;
}

/* ---- confidentiality commitment ---- */

cf_rc vault_commitment_check(cf_tx *tx, const cf_request *r, cf_err *err)
{
	int64_t cur = 0, acc = 0;
	cf_rc rc;

	if (r->who.org[0] == '\0')
		return CF_OK;
	rc = cf_st_commitment_current(tx, r->who.org, &cur, NULL, NULL, err);
	if (rc == CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK)
		return rc;
	rc = cf_st_commitment_accepted(tx, r->who.user_id, r->who.org, &acc, NULL, err);
	if (rc == CF_ENOTFOUND || (rc == CF_OK && acc < cur))
		return cf_err_set(err, CF_EDENIED, CF_P_COMMITMENT_REQUIRED,
				  "accept version %lld of the confidentiality commitment of '%s' first (POST /v1/me/commitment/accept)",
				  (long long)cur, r->who.org);
	return rc;
}

cf_rc cf_vault_commitment_put(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer,
			      cf_err *err)
{
	json_t *entry = vault_entry(v, r, "commitment.put");
	const char *text = NULL;
	int64_t version = 0;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	cf_audit_set_resource(entry, vault_org_id_valid(org) ? org : NULL, NULL, NULL, NULL);
	rc = vault_check_org(v, r, org, true, false, entry, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_json_unpack(err, "commitment", body, "{s:s}", "text", &text);
	if (rc == CF_OK && (text[0] == '\0' || strlen(text) > 65536))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "text: 1 to 65536 bytes");
	if (rc == CF_OK)
		rc = cf_store_begin(v->store, true, &tx, err);
	if (rc == CF_OK)
		rc = cf_st_commitment_put(tx, org, text, cf_now_us(v->env), &version, err);
	if (rc == CF_OK) {
		char ver[32];
		(void)snprintf(ver, sizeof(ver), "%lld", (long long)version);
		cf_audit_set(entry, "version", ver);
		cf_audit_outcome(entry, true, NULL);
		rc = vault_audit(tx, entry, err);
		entry = NULL;
	}
	if (rc == CF_OK) {
		rc = vault_commit(tx, err);
		tx = NULL;
	}
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:I, s:s}", "org", org, "version", (json_int_t)version, "text", text);
	cf_tx_rollback(tx);
	json_decref(entry);
	return rc;
}

static cf_rc commitment_json(cf_tx *tx, const char *org, int64_t user_id, json_t **answer, cf_err *err)
{
	int64_t cur = 0, acc = 0, created = 0;
	char *text = NULL;
	char when[CF_TIME_STR_LEN];
	cf_rc rc = cf_st_commitment_current(tx, org, &cur, &text, &created, err);

	if (rc == CF_ENOTFOUND) {
		*answer = json_pack("{s:s, s:n}", "org", org, "version");
		return CF_OK;
	}
	if (rc != CF_OK)
		return rc;
	cf_time_format(created, when);
	*answer = json_pack("{s:s, s:I, s:s, s:s}", "org", org, "version", (json_int_t)cur, "text", text, "set_at", when);
	free(text);
	if (user_id > 0) {
		rc = cf_st_commitment_accepted(tx, user_id, org, &acc, NULL, err);
		if (rc == CF_ENOTFOUND) {
			acc = 0;
			rc = CF_OK;
		}
		json_object_set_new(*answer, "accepted_version", acc ? json_integer((json_int_t)acc) : json_null());
		json_object_set_new(*answer, "accepted", json_boolean(acc >= cur));
	}
	return rc;
}

cf_rc cf_vault_commitment_get(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "commitment.read");
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	rc = vault_check_org(v, r, org, false, false, entry, err);
	if (rc != CF_OK)
		return rc;
	json_decref(entry);
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		return rc;
	rc = commitment_json(tx, org, 0, answer, err);
	cf_tx_rollback(tx);
	return rc;
}

cf_rc cf_vault_my_commitment(cf_vault *v, cf_request *r, json_t **answer, cf_err *err)
{
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if (r->who.org[0] == '\0')
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "instance users have no organization commitment");
	if ((rc = cf_store_begin(v->store, false, &tx, err)) != CF_OK)
		return rc;
	rc = commitment_json(tx, r->who.org, r->who.user_id, answer, err);
	cf_tx_rollback(tx);
	return rc;
}

cf_rc cf_vault_commitment_accept(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err)
{
	json_t *entry = vault_entry(v, r, "commitment.accept");
	json_int_t version = 0;
	int64_t cur = 0;
	cf_tx *tx = NULL;
	cf_rc rc;

	*answer = NULL;
	if (r->who.org[0] == '\0') {
		json_decref(entry);
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "instance users have no organization commitment");
	}
	cf_audit_set_resource(entry, r->who.org, NULL, NULL, NULL);
	rc = cf_json_unpack(err, "acceptance", body, "{s:I}", "version", &version);
	if (rc == CF_OK)
		rc = cf_store_begin(v->store, true, &tx, err);
	if (rc == CF_OK) {
		rc = cf_st_commitment_current(tx, r->who.org, &cur, NULL, NULL, err);
		if (rc == CF_ENOTFOUND)
			rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "the organization has no confidentiality commitment");
		else if (rc == CF_OK && version != cur)
			rc = cf_err_set(err, CF_EEXIST, CF_P_VERSION_CONFLICT,
					"the current version is %lld: read it (GET /v1/me/commitment) and accept that one",
					(long long)cur);
	}
	if (rc == CF_OK)
		rc = cf_st_commitment_accept(tx, r->who.user_id, r->who.org, cur, cf_now_us(v->env), err);
	if (rc == CF_OK) {
		char ver[32];
		(void)snprintf(ver, sizeof(ver), "%lld", (long long)cur);
		cf_audit_set(entry, "version", ver);
		cf_audit_outcome(entry, true, NULL);
		rc = vault_audit(tx, entry, err);
		entry = NULL;
	}
	if (rc == CF_OK) {
		rc = vault_commit(tx, err);
		tx = NULL;
	}
	if (rc == CF_OK)
		*answer = json_pack("{s:s, s:I, s:b}", "org", r->who.org, "version", (json_int_t)cur, "accepted", true);
	cf_tx_rollback(tx);
	json_decref(entry);
	return rc;
}

/* ---- the map of data flows (seed norm 13.2.1) ---- */

typedef struct flows_ctx {
	json_t *counts; /* agreement id -> count */
	const char *from, *to; /* YYYY-MM-DD bounds, inclusive; NULL = open */
} flows_ctx;

static cf_rc count_flow(void *ctx, int64_t index, const char *entry, size_t len, const uint8_t leaf[32])
{
	flows_ctx *f = ctx;
	json_t *e, *id;
	const char *t, *out;

	/* cheap filter before parsing: only entries naming an agreement */
	if (memmem(entry, len, "\"agreement\":", 12) == NULL)
		return CF_OK;
	e = json_loadb(entry, len, 0, NULL);
	if (e == NULL)
		return CF_OK;
	id = json_object_get(e, "agreement");
	t = json_string_value(json_object_get(e, "time"));
	out = json_string_value(json_object_get(e, "outcome"));
	if (json_is_string(id) && t != NULL && out != NULL && strcmp(out, "allowed") == 0 &&
	    (f->from == NULL || strncmp(t, f->from, 10) >= 0) && (f->to == NULL || strncmp(t, f->to, 10) <= 0)) {
		const char *action = json_string_value(json_object_get(e, "action"));
		/* shared reads and lookups; not the authority's own acts on the agreement */
		if (action != NULL && (strcmp(action, "record.read") == 0 || strcmp(action, "subject.lookup") == 0)) {
			const char *a = json_string_value(id);
			json_t *n = json_object_get(f->counts, a);
			json_object_set_new(f->counts, a, json_integer(n ? json_integer_value(n) + 1 : 1));
		}
	}
	json_decref(e);
	(void)index;
	(void)leaf;
	return CF_OK;
}

cf_rc cf_vault_report_flows(cf_vault *v, cf_request *r, const char *from, const char *to, json_t **answer,
			    cf_err *err)
{
	flows_ctx f = {0};
	json_t *agreements = NULL, *flows = NULL, *it;
	cf_tx *tx = NULL;
	int64_t size = 0;
	size_t i;
	cf_rc rc;

	*answer = NULL;
	if (!(is_authority(r) || (r->who.org[0] == '\0' && vault_has_role(&r->who, CF_ROLE_AUDITOR))))
		return vault_deny(v, vault_entry(v, r, "report.flows"), CF_EDENIED, CF_P_FORBIDDEN,
				  "the flows report is for the sharing authority and instance auditors", err);
	if ((from != NULL && !date_valid(from)) || (to != NULL && !date_valid(to)))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "from and to: dates YYYY-MM-DD");
	f.from = from;
	f.to = to;
	f.counts = json_object();
	if ((rc = vault_begin_trail_read(v, &tx, err)) != CF_OK)
		goto out;
	if ((rc = cf_st_agreement_list(tx, NULL, NULL, NULL, NULL, &agreements, err)) != CF_OK)
		goto out;
	if ((rc = cf_st_audit_count(tx, &size, err)) != CF_OK)
		goto out;
	if ((rc = cf_st_audit_scan(tx, 0, size, count_flow, &f, err)) != CF_OK)
		goto out;
	flows = json_array();
	json_array_foreach(agreements, i, it)
	{
		const char *id = json_string_value(json_object_get(it, "id"));
		json_t *n = json_object_get(f.counts, id);
		json_array_append_new(
		    flows, json_pack("{s:O, s:O, s:O, s:s, s:O, s:O, s:O, s:O, s:O, s:I}", "provider",
				     json_object_get(it, "provider"), "consumer", json_object_get(it, "consumer"), "collection",
				     json_object_get(it, "collection"), "agreement", id, "fields", json_object_get(it, "fields"),
				     "categories", json_object_get(it, "categories"), "purposes", json_object_get(it, "purposes"),
				     "legal_basis", json_object_get(it, "legal_basis"), "status", json_object_get(it, "status"),
				     "accesses", (json_int_t)(n ? json_integer_value(n) : 0)));
	}
	*answer = json_pack("{s:s?, s:s?, s:O}", "from", from, "to", to, "flows", flows);
out:
	cf_tx_rollback(tx);
	json_decref(agreements);
	json_decref(flows);
	json_decref(f.counts);
	return rc;
}

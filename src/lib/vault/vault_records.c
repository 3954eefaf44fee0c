/*
 * vault_records.c - subjects and records: the personal-data path.
 *
 * Every call: organization check -> collection -> grants -> policy decision
 * (purpose, action, fields) -> keys -> encrypt/decrypt -> audit entry ->
 * commit -> answer. A write's entry is committed in the same transaction
 * as the data; a read's entry is committed before the answer is returned.
 * If the entry cannot be committed nothing is returned (fail closed).
 *
 * Field values are sealed one by one with XChaCha20-Poly1305 under the
 * subject's data key, with associated data binding organization,
 * collection, record, version and field name. National identifiers are
 * kept only as a keyed blind index and a ciphertext. Plaintexts are wiped
 * as soon as the answer is built. Nothing here logs a value.
 */
#include "common/cf.h"
#include "vault/vault_int.h"
#include "common/json.h"
#include "common/log.h"

#define FIELD_AD "coffre/v1/field|"
#define DEK_AD "coffre/v1/subject-dek|"
#define NID_AD "coffre/v1/nid|"
#define BIDX_DOMAIN "national_id/be"

/* The state of one personal-data operation. */
typedef struct op {
	cf_vault *v;
	const cf_env *env; /* its clock and random bytes: v->env, or a pool over it (op_pool_begin) */
	cf_request *r;
	const char *org;
	cf_tx *tx;
	json_t *entry;
	const cf_collection *coll;
	vault_def *coll_def;   /* holds coll */
	const cf_grant_set **grants;
	vault_def **grant_defs; /* hold grants */
	size_t n_roles;
	const char **roles;
	cf_decision dec;
	/* phase 2 (the writer's transaction): what the request prepared */
	const char *coll_name;
	const char *nid;      /* create: the national identifier as given */
	json_t *values;       /* create: the fields; patch: the merged new field set */
	json_t *changes;      /* patch: the fields changed */
	cf_record_row row;
	const char *rec_id;   /* the record named by the route, if any */
	bool shared;          /* a consumer organization reading under an agreement */
	bool lookup;          /* a lookup: a collection out of reach is skipped, not refused */
	bool skipped;         /* set by op_load when it skipped the collection */
	char agreement[CF_ID_MAX + 1]; /* the agreement used, when shared */
	struct create_prep *prep;      /* create: what the request prepared for a new subject, or NULL */
	json_t *done_entry;            /* create: a copy of the entry as a prepared create leaves it */
	cf_audit_encoded enc;          /* ... encoded (its ids are done_entry's) */
} op;

/* Lets go of what op_load took: the collection and the roles' grants. */
static void op_unload(op *o)
{
	vault_def_release(o->v->defs, o->coll_def);
	o->coll = NULL;
	o->coll_def = NULL;
	for (size_t i = 0; i < o->n_roles; i++)
		vault_def_release(o->v->defs, o->grant_defs ? o->grant_defs[i] : NULL);
	free(o->grants);
	free(o->grant_defs);
	free(o->roles);
	o->grants = NULL;
	o->grant_defs = NULL;
	o->roles = NULL;
	o->n_roles = 0;
}

static void op_release(op *o)
{
	cf_tx_rollback(o->tx);
	o->tx = NULL;
	json_decref(o->entry);
	o->entry = NULL;
	cf_audit_encoded_free(&o->enc);
	json_decref(o->done_entry);
	o->done_entry = NULL;
	op_unload(o);
	cf_decision_release(&o->dec);
}

/*
 * The operation's random draws (ids, keys, nonces) come from pool until
 * op_pool_end: one call into the generator for all of them.
 */
static void op_pool_begin(op *o, cf_random_pool *pool)
{
	o->env = cf_random_pool_begin(pool, o->v->env);
}

static void op_pool_end(op *o, cf_random_pool *pool)
{
	cf_random_pool_end(pool);
	o->env = o->v->env;
}

/* Refuses: rolls back, audits the refusal in its own transaction. */
static cf_rc op_deny(op *o, cf_rc rc, cf_problem p, const char *reason, cf_err *err)
{
	json_t *e = o->entry;
	/* actor.role names the role whose grant allowed: a refusal has none */
	json_object_del(json_object_get(e, "actor"), "role");
	cf_tx_rollback(o->tx);
	o->tx = NULL;
	o->entry = NULL;
	return vault_deny(o->v, e, rc, p, reason, err);
}

/*
 * Organization check, a read transaction, the confidentiality commitment.
 * A token of another organization goes further only on shareable routes
 * (record read, lookup), where an agreement may cover it.
 */
static cf_rc op_begin(op *o, cf_vault *v, cf_request *r, const char *org, const char *coll, const char *id,
		      const char *action, bool shareable, cf_err *err)
{
	cf_err cerr = {0};
	cf_rc rc;

	memset(o, 0, sizeof(*o));
	/* authentication's read transaction, when the route kept it: released with the op, or by a refusal */
	o->tx = r->tx;
	r->tx = NULL;
	o->v = v;
	o->env = v->env;
	o->r = r;
	o->org = org;
	o->rec_id = id;
	o->entry = vault_entry(v, r, action);
	if (o->entry == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	cf_audit_set_resource(o->entry, vault_org_id_valid(org) ? org : NULL,
			      coll != NULL && cf_name_valid(coll) ? coll : NULL,
			      id != NULL && strlen(id) <= CF_ID_MAX ? id : NULL, NULL);
	if (r->who.org[0] == '\0')
		return op_deny(o, CF_EDENIED, CF_P_FORBIDDEN, "instance users never access personal data", err);
	if (strcmp(r->who.org, org) != 0) {
		if (!shareable || !vault_org_id_valid(org))
			return op_deny(o, CF_EDENIED, CF_P_WRONG_ORGANIZATION, "the token acts for another organization",
				       err);
		o->shared = true;
	}
	if (o->tx == NULL && (rc = cf_store_begin(v->store, false, &o->tx, err)) != CF_OK)
		return rc;
	rc = vault_commitment_check(o->tx, r, &cerr);
	if (rc == CF_EDENIED)
		return op_deny(o, rc, cerr.problem, cerr.detail, err);
	if (rc != CF_OK && err != NULL)
		*err = cerr;
	return rc;
}

/* Loads the collection and the grants of every role of the caller. */
static cf_rc op_load(op *o, const char *coll_name, cf_err *err)
{
	size_t i;
	json_t *role;
	cf_rc rc;

	if (o->shared) {
		/*
		 * Another organization's token: without any agreement between the two, the
		 * answer is the same whatever the path names; with one, an unknown collection
		 * is refused like an uncovered one. Nothing of the provider's schema leaks.
		 */
		json_t *any = NULL;
		rc = cf_st_agreement_list(o->tx, o->org, o->r->who.org, NULL, NULL, &any, err);
		if (rc != CF_OK)
			return rc;
		if (json_array_size(any) == 0) {
			json_decref(any);
			return op_deny(o, CF_EDENIED, CF_P_WRONG_ORGANIZATION,
				       "the token acts for another organization and no agreement exists between them", err);
		}
		json_decref(any);
		if (!cf_name_valid(coll_name) ||
		    vault_collection_get(o->v->defs, o->tx, o->org, coll_name, &o->coll, &o->coll_def, NULL) != CF_OK) {
			char reason[200];
			(void)snprintf(reason, sizeof(reason), "no agreement lets '%s' read collection '%.64s' of '%s'",
				       o->r->who.org, cf_name_valid(coll_name) ? coll_name : "?", o->org);
			return op_deny(o, CF_EDENIED, CF_P_NO_AGREEMENT, reason, err);
		}
		rc = CF_OK;
	} else {
		if (!cf_name_valid(coll_name))
			return op_deny(o, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such collection", err);
		rc = vault_collection_get(o->v->defs, o->tx, o->org, coll_name, &o->coll, &o->coll_def, err);
	}
	if (rc == CF_ENOTFOUND)
		return op_deny(o, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such collection", err);
	if (rc != CF_OK)
		return rc;
	if (!o->shared) {
		/* a member of a subdivision reaches only the collections ("applications") associated with it */
		cf_member_row m = {0};
		json_t *sub = NULL, *colls, *c;
		size_t k;
		bool listed = false, restricted = false;
		bool in_member_list = true;
		if (cf_st_member_get(o->tx, o->r->who.user_id, o->r->who.org, &m, NULL) == CF_OK && m.subdivision != NULL &&
		    cf_st_subdivision_get(o->tx, o->org, m.subdivision, &sub, NULL) == CF_OK) {
			colls = json_object_get(sub, "collections");
			restricted = json_array_size(colls) > 0;
			json_array_foreach(colls, k, c)
			{
				if (json_is_string(c) && strcmp(json_string_value(c), coll_name) == 0)
					listed = true;
			}
		}
		json_decref(sub);
		if (m.collections != NULL) {
			/* the member's own "access to collections" attribute, set by their manager */
			json_t *mine = json_loads(m.collections, 0, NULL);
			in_member_list = false;
			json_array_foreach(mine, k, c)
			{
				if (json_is_string(c) && strcmp(json_string_value(c), coll_name) == 0)
					in_member_list = true;
			}
			json_decref(mine);
		}
		if (!in_member_list) {
			restricted = true;
			listed = false;
		}
		cf_member_row_release(&m);
		if (restricted && !listed && o->lookup) {
			o->skipped = true;
			return CF_EDENIED;
		}
		if (restricted && !listed) {
			char reason[200];
			(void)snprintf(reason, sizeof(reason),
				       "collection '%s' is not among the applications of the member's subdivision", coll_name);
			return op_deny(o, CF_EDENIED, CF_P_FORBIDDEN, reason, err);
		}
	}
	o->n_roles = json_array_size(o->r->who.roles);
	o->grants = calloc(o->n_roles ? o->n_roles : 1, sizeof(*o->grants));
	o->grant_defs = calloc(o->n_roles ? o->n_roles : 1, sizeof(*o->grant_defs));
	o->roles = calloc(o->n_roles ? o->n_roles : 1, sizeof(*o->roles));
	if (o->grants == NULL || o->grant_defs == NULL || o->roles == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	json_array_foreach(o->r->who.roles, i, role)
	{
		o->roles[i] = json_string_value(role);
		/* grants are always the caller's own organization's */
		rc = vault_grants_get(o->v->defs, o->tx, o->r->who.org, o->roles[i], &o->grants[i], &o->grant_defs[i],
				      err);
		if (rc != CF_OK)
			return rc;
	}
	return CF_OK;
}

/* A consumer organization's read: the agreement decides (see vault_share_resolve). */
static cf_rc op_decide_shared(op *o, cf_err *err)
{
	vault_share sh;
	json_t *actor = json_object_get(o->entry, "actor");
	cf_rc rc = vault_share_resolve(o->v, o->tx, o->r, o->org, o->coll, o->roles,
				       (const cf_grant_set *const *)o->grants, o->n_roles, &sh, err);
	if (rc != CF_OK) {
		vault_share_release(&sh);
		return rc;
	}
	if (!sh.any) {
		vault_share_release(&sh);
		return op_deny(o, CF_EDENIED, CF_P_WRONG_ORGANIZATION,
			       "the token acts for another organization and no agreement exists between them", err);
	}
	if (!sh.dec.allow) {
		char reason[sizeof(sh.reason)];
		cf_problem p = sh.problem;
		memcpy(reason, sh.reason, sizeof(reason));
		vault_share_release(&sh);
		return op_deny(o, p == CF_P_PURPOSE_REQUIRED ? CF_EINVAL : CF_EDENIED, p, reason, err);
	}
	cf_decision_release(&o->dec);
	o->dec = sh.dec;
	memset(&sh.dec, 0, sizeof(sh.dec));
	memcpy(o->agreement, sh.agr.id, sizeof(o->agreement));
	cf_audit_set(o->entry, "agreement", sh.agr.id);
	cf_audit_set(o->entry, "legal_basis", sh.agr.legal_basis);
	if (o->dec.role != NULL)
		json_object_set_new(actor, "role", json_string(o->dec.role));
	vault_share_release(&sh);
	return CF_OK;
}

/* The policy decision; a refusal is audited and returned. */
static cf_rc op_decide(op *o, cf_action action, const char *const *fields, size_t n, cf_err *err)
{
	cf_policy_input in = {0};
	cf_rc rc;

	if (o->shared)
		return op_decide_shared(o, err);
	in.roles = o->roles;
	in.grants = (const cf_grant_set *const *)o->grants;
	in.n_roles = o->n_roles;
	in.collection = o->coll;
	in.action = action;
	in.purpose = o->r->purpose;
	in.fields = fields;
	in.n_fields = n;
	cf_decision_release(&o->dec);
	rc = cf_policy_decide(&in, &o->dec);
	if (rc != CF_OK)
		return cf_err_set(err, rc, CF_P_INTERNAL, "out of memory");
	if (!o->dec.allow) {
		cf_rc drc = o->dec.problem == CF_P_PURPOSE_REQUIRED ? CF_EINVAL : CF_EDENIED;
		char reason[sizeof(o->dec.reason)];
		memcpy(reason, o->dec.reason, sizeof(reason));
		/*
		 * A refused attempt on one of the caller's own organization's records names its
		 * subject, so the citizen's access report shows it. (Other organizations' records are
		 * never looked up: their refusal happens before any read.)
		 */
		if (o->rec_id != NULL && strlen(o->rec_id) <= CF_ID_MAX) {
			cf_record_row row = {0};
			cf_field_ct *cts = NULL;
			size_t nct = 0;
			if (cf_st_record_get(o->tx, o->org, cf_collection_name(o->coll), o->rec_id, &row, &cts, &nct, NULL) ==
			    CF_OK)
				cf_audit_set_resource(o->entry, o->org, row.collection, row.id, row.subject);
			cf_field_cts_free(cts, nct);
		}
		return op_deny(o, drc, o->dec.problem, reason, err);
	}
	if (o->dec.legal_basis != NULL)
		cf_audit_set(o->entry, "legal_basis", o->dec.legal_basis);
	if (o->dec.role != NULL) {
		json_t *a = json_object_get(o->entry, "actor");
		json_object_set_new(a, "role", json_string(o->dec.role));
	}
	return CF_OK;
}

/*
 * Ends the request's read transaction and hands the entry (and the work,
 * if any) to the audit writer: the answer may leave only when this returns
 * CF_OK, i.e. when the entry (and the work) are durable.
 */
/* A shared read counts against its agreement's volume cap, in the writer's transaction. */
static cf_rc apply_share_count(void *ctx, cf_tx *tx, json_t *entry, cf_err *err)
{
	op *o = ctx;
	int64_t n = 0;
	cf_rc rc = cf_st_agreement_count_access(tx, o->agreement, &n, err);
	if (rc == CF_ETOOBIG)
		return cf_err_set(err, CF_EDENIED, CF_P_AGREEMENT_CAP, "agreement '%s' has reached its volume cap",
				  o->agreement);
	if (rc == CF_OK)
		cf_audit_outcome(entry, true, NULL);
	return rc;
}

static cf_rc op_submit(op *o, cf_trail_apply_fn apply, cf_err *err)
{
	if (apply == NULL && o->shared)
		apply = apply_share_count;
	json_t *e = o->entry;
	cf_tx_rollback(o->tx);
	o->tx = NULL;
	o->entry = NULL;
	if (apply == NULL)
		cf_audit_outcome(e, true, NULL);
	return cf_trail_submit_encoded(o->v->trail, e, &o->enc, apply, o, NULL, err);
}

static cf_rc field_ad(const char *org, const char *coll, const char *id, int64_t version, const char *field,
		      char *out, size_t size)
{
	return cf_snprintf(out, size, FIELD_AD "%s|%s|%s|%lld|%s", org, coll, id, (long long)version, field);
}

/* The subject's data key, unwrapped with the organization key. Caller frees. */
cf_rc vault_subject_key(cf_vault *v, cf_tx *tx, const char *org, const char *pseudonym, cf_key **dek, cf_err *err)
{
	const cf_key *kek = NULL, *bidx = NULL;
	uint8_t *wrapped = NULL;
	size_t wlen = 0;
	char ad[256];
	cf_rc rc;

	*dek = NULL;
	rc = vault_org_keys_get(v, tx, org, &kek, &bidx, err);
	if (rc != CF_OK)
		return rc;
	if ((rc = cf_snprintf(ad, sizeof(ad), DEK_AD "%s|%s", org, pseudonym)) != CF_OK)
		return cf_err_set(err, rc, CF_P_INTERNAL, "identifier too long");
	rc = cf_st_key_get(tx, "subject", org, pseudonym, &wrapped, &wlen, err);
	if (rc == CF_ENOTFOUND) /* crypto-shredded: whatever copy of the records this is, they stay unreadable */
		return cf_err_set(err, CF_ENOTFOUND, CF_P_ERASED, "the subject's data was erased");
	if (rc != CF_OK)
		return rc;
	rc = cf_key_unwrap(kek, wrapped, wlen, ad, dek);
	free(wrapped);
	if (rc != CF_OK)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "the subject's key failed its integrity check");
	return CF_OK;
}

static cf_rc subject_key(op *o, const char *pseudonym, cf_key **dek, cf_err *err)
{
	return vault_subject_key(o->v, o->tx, o->org, pseudonym, dek, err);
}

/* Normalizes a national identifier and computes its blind index. */
static cf_rc blind_index(op *o, const char *nid_in, char nid[CF_NID_LEN], char bidx_hex[CF_HEX256_LEN],
			 cf_err *err)
{
	const cf_key *kek = NULL, *bidx = NULL;
	cf_rc rc = cf_nid_normalize(nid_in, nid, err);
	if (rc != CF_OK)
		return rc;
	rc = vault_org_keys_get(o->v, o->tx, o->org, &kek, &bidx, err);
	if (rc != CF_OK)
		return rc;
	cf_blind_index(bidx, BIDX_DOMAIN, nid, strlen(nid), bidx_hex);
	return CF_OK;
}

/*
 * A new subject's keys, made outside any transaction: a data key, wrapped by
 * the organization key (AD names the organization and the pseudonym), and
 * the normalized identifier sealed under it. *dek, *wrapped and *enc are the
 * caller's (cf_key_free, free).
 */
static cf_rc new_subject_keys(const cf_env *env, const cf_key *kek, const char *org, const char *pseudonym,
			      const char *nid, cf_key **dek, uint8_t **wrapped, size_t *wlen, uint8_t **enc, size_t *elen,
			      cf_err *err)
{
	char ad[256];

	*dek = cf_key_new_random(env);
	if (*dek == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	if (cf_snprintf(ad, sizeof(ad), DEK_AD "%s|%s", org, pseudonym) != CF_OK ||
	    cf_key_wrap(env, kek, *dek, ad, wrapped, wlen) != CF_OK ||
	    cf_snprintf(ad, sizeof(ad), NID_AD "%s|%s", org, pseudonym) != CF_OK ||
	    cf_aead_seal(env, *dek, (const uint8_t *)nid, strlen(nid), (const uint8_t *)ad, strlen(ad), enc, elen) !=
		    CF_OK)
		return cf_err_set(err, CF_ECRYPTO, CF_P_INTERNAL, "cannot protect the subject's key");
	return CF_OK;
}

/* Stores a new subject: its wrapped key in the keystore, its row. */
static cf_rc store_subject(op *o, const char *pseudonym, const char *bidx_hex, const uint8_t *wrapped, size_t wlen,
			   const uint8_t *enc, size_t elen, cf_err *err)
{
	cf_rc rc = cf_st_key_put(o->tx, "subject", o->org, pseudonym, wrapped, wlen, cf_now_us(o->v->env), err);
	if (rc == CF_OK)
		rc = cf_st_subject_insert(o->tx, o->org, pseudonym, bidx_hex, enc, elen, cf_now_us(o->v->env), err);
	return rc;
}

/* Finds the subject of a national identifier in this organization, or creates it with a fresh data key. */
static cf_rc subject_find_or_create(op *o, const char *nid_in, char pseudonym[CF_ID_MAX + 1], cf_err *err)
{
	char nid[CF_NID_LEN], bidx_hex[CF_HEX256_LEN];
	const cf_key *kek = NULL, *bk = NULL;
	cf_key *dek = NULL;
	uint8_t *wrapped = NULL, *enc = NULL;
	size_t wlen = 0, elen = 0;
	cf_rc rc;

	rc = blind_index(o, nid_in, nid, bidx_hex, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_st_subject_find(o->tx, o->org, bidx_hex, pseudonym, err);
	if (rc != CF_ENOTFOUND)
		goto out;
	if ((rc = vault_new_local_id(o->v, o->env, "s_", pseudonym)) != CF_OK)
		goto out;
	if ((rc = vault_org_keys_get(o->v, o->tx, o->org, &kek, &bk, err)) != CF_OK)
		goto out;
	rc = new_subject_keys(o->env, kek, o->org, pseudonym, nid, &dek, &wrapped, &wlen, &enc, &elen, err);
	if (rc == CF_OK)
		rc = store_subject(o, pseudonym, bidx_hex, wrapped, wlen, enc, elen, err);
out:
	cf_wipe(nid, sizeof(nid));
	cf_key_free(dek);
	free(wrapped);
	free(enc);
	return rc;
}

/* Seals each value of `fields` (an object) for record row at row->version. */
static cf_rc seal_fields(op *o, const cf_key *dek, const cf_record_row *row, json_t *fields, cf_field_ct **out,
			 size_t *n_out, cf_err *err)
{
	size_t n = json_object_size(fields), i = 0;
	cf_field_ct *cts = calloc(n ? n : 1, sizeof(*cts));
	const char *name;
	json_t *value;
	cf_rc rc = CF_OK;

	*out = NULL;
	*n_out = 0;
	if (cts == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	json_object_foreach(fields, name, value)
	{
		char ad[512];
		char *pt = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
		if (pt == NULL) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
			break;
		}
		cts[i].name = cf_strdup(name);
		rc = field_ad(row->org, row->collection, row->id, row->version, name, ad, sizeof(ad));
		if (rc == CF_OK)
			rc = cf_aead_seal(o->env, dek, (const uint8_t *)pt, strlen(pt), (const uint8_t *)ad, strlen(ad),
					  &cts[i].ct, &cts[i].len);
		cf_wipe_free(pt, strlen(pt));
		i++;
		if (rc != CF_OK || cts[i - 1].name == NULL) {
			rc = cf_err_set(err, CF_ECRYPTO, CF_P_INTERNAL, "cannot seal a field");
			break;
		}
	}
	if (rc != CF_OK) {
		cf_field_cts_free(cts, i);
		return rc;
	}
	*out = cts;
	*n_out = n;
	return CF_OK;
}

/*
 * Opens the stored fields of row into an object. Only fields with
 * allowed[index] (or all when allowed is NULL) are opened. A field that
 * fails its integrity check fails the whole read (CF_EINTEGRITY).
 */
cf_rc vault_open_fields(const cf_collection *coll, const cf_key *dek, const cf_record_row *row, const cf_field_ct *cts,
		       size_t n, const bool *allowed, json_t **out, cf_err *err)
{
	json_t *obj = json_object();
	cf_rc rc = CF_OK;

	*out = NULL;
	if (obj == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		char ad[512];
		uint8_t *pt = NULL;
		size_t ptlen = 0;
		json_t *val;
		long idx = cf_collection_field_index(coll, cts[i].name);

		if (allowed != NULL && (idx < 0 || !allowed[idx]))
			continue;
		rc = field_ad(row->org, row->collection, row->id, row->version, cts[i].name, ad, sizeof(ad));
		if (rc != CF_OK)
			break;
		rc = cf_aead_open(dek, cts[i].ct, cts[i].len, (const uint8_t *)ad, strlen(ad), &pt, &ptlen);
		if (rc != CF_OK) {
			cf_log(CF_LOG_ERROR, "integrity: field '%s' of record %s failed to decrypt", cts[i].name, row->id);
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY,
					"field '%s' failed its integrity check (moved or altered ciphertext)", cts[i].name);
			break;
		}
		val = json_loadb((const char *)pt, ptlen, JSON_DECODE_ANY, NULL);
		cf_wipe_free(pt, ptlen + 1);
		if (val == NULL) {
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "field '%s' holds an unreadable value", cts[i].name);
			break;
		}
		json_object_set_new(obj, cts[i].name, val);
	}
	if (rc != CF_OK) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return CF_OK;
}

static cf_rc open_fields(op *o, const cf_key *dek, const cf_record_row *row, const cf_field_ct *cts, size_t n,
			 const bool *allowed, json_t **out, cf_err *err)
{
	return vault_open_fields(o->coll, dek, row, cts, n, allowed, out, err);
}

/* Field names of an object, for the policy (borrowed strings). */
static const char **object_keys(json_t *obj, size_t *n)
{
	const char **names = calloc(json_object_size(obj) + 1, sizeof(*names));
	const char *k;
	json_t *val;
	size_t i = 0;
	if (names == NULL)
		return NULL;
	json_object_foreach(obj, k, val) names[i++] = k;
	*n = i;
	return names;
}

static json_t *names_array(json_t *obj)
{
	json_t *a = json_array();
	const char *k;
	json_t *val;
	json_object_foreach(obj, k, val) json_array_append_new(a, json_string(k));
	return a;
}

static json_t *record_answer(const cf_record_row *row, json_t *fields)
{
	char c[CF_TIME_STR_LEN], u[CF_TIME_STR_LEN];
	cf_time_format(row->created_us, c);
	cf_time_format(row->updated_us, u);
	if (fields == NULL)
		return json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", row->id, "subject", row->subject, "collection",
				 row->collection, "version", (json_int_t)row->version, "created_at", c);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:O}", "id", row->id, "subject", row->subject, "collection",
			 row->collection, "version", (json_int_t)row->version, "created_at", c, "updated_at", u,
			 "fields", fields);
}

/* Phase 2 of a create, in the writer's transaction: subject, key, ciphertexts, row. */
/*
 * A create prepared on the request's thread, before the writer takes it:
 * everything a new subject and its first record need that is not a store
 * write (the blind index, a pseudonym, a data key wrapped by the
 * organization key, the identifier sealed under it, the record's id and
 * its fields sealed under that key for version 1). The writer, the one
 * thread every write waits for, then only looks the blind index up and
 * inserts. When the identifier already has a subject (found in the
 * writer's transaction, which decides), the preparation is dropped (its
 * key wiped) and the writer seals the fields under the subject's own key,
 * as it always did.
 */
typedef struct create_prep {
	char bidx_hex[CF_HEX256_LEN];
	char pseudonym[CF_ID_MAX + 1];
	cf_key *dek;
	uint8_t *wrapped, *enc;
	size_t wlen, elen;
	cf_record_row row; /* without its subject until the writer knows which */
	cf_field_ct *cts;
	size_t n_cts;
} create_prep;

static void create_prep_free(create_prep *p)
{
	if (p == NULL)
		return;
	cf_key_free(p->dek);
	free(p->wrapped);
	free(p->enc);
	cf_field_cts_free(p->cts, p->n_cts);
	free(p);
}

/*
 * Prepares o's create in the request's read transaction (o->tx). NULL when
 * it cannot (the organization's keys not at hand, memory): the writer then
 * does all of it, as before.
 */
static create_prep *prepare_create(op *o)
{
	char nid[CF_NID_LEN];
	const cf_key *kek = NULL, *bk = NULL;
	create_prep *p = calloc(1, sizeof(*p));
	cf_random_pool pool;
	cf_err e = {0};
	bool ok;

	if (p == NULL)
		return NULL;
	op_pool_begin(o, &pool);
	ok = blind_index(o, o->nid, nid, p->bidx_hex, &e) == CF_OK &&
	     vault_org_keys_get(o->v, o->tx, o->org, &kek, &bk, &e) == CF_OK &&
	     vault_new_local_id(o->v, o->env, "s_", p->pseudonym) == CF_OK &&
	     new_subject_keys(o->env, kek, o->org, p->pseudonym, nid, &p->dek, &p->wrapped, &p->wlen, &p->enc,
			      &p->elen, &e) == CF_OK &&
	     vault_new_local_id(o->v, o->env, "r_", p->row.id) == CF_OK;
	cf_wipe(nid, sizeof(nid));
	if (ok) {
		memcpy(p->row.org, o->org, strlen(o->org) + 1);
		memcpy(p->row.collection, o->coll_name, strlen(o->coll_name) + 1);
		p->row.version = 1;
		p->row.created_us = p->row.updated_us = cf_now_us(o->env);
		ok = seal_fields(o, p->dek, &p->row, o->values, &p->cts, &p->n_cts, &e) == CF_OK;
	}
	op_pool_end(o, &pool);
	if (!ok) {
		create_prep_free(p);
		return NULL;
	}
	return p;
}

/*
 * The writer's side of a prepared create: CF_OK with *used when the
 * identifier had no subject (the prepared one and its record are
 * stored), CF_OK without *used when it had one (o->row then names that
 * subject and the prepared record id; the caller seals for it), or the
 * store's error.
 */
static cf_rc apply_prepared(op *o, cf_tx *tx, bool *used, cf_err *err)
{
	create_prep *p = o->prep;
	char found[CF_ID_MAX + 1];
	cf_rc rc;

	*used = false;
	rc = cf_st_subject_find(tx, o->org, p->bidx_hex, found, err);
	if (rc == CF_OK) {
		memcpy(o->row.subject, found, strlen(found) + 1);
		memcpy(o->row.id, p->row.id, strlen(p->row.id) + 1);
	}
	if (rc != CF_ENOTFOUND)
		return rc;
	rc = store_subject(o, p->pseudonym, p->bidx_hex, p->wrapped, p->wlen, p->enc, p->elen, err);
	if (rc != CF_OK)
		return rc;
	o->row = p->row;
	memcpy(o->row.subject, p->pseudonym, strlen(p->pseudonym) + 1);
	rc = cf_st_record_insert(tx, &o->row, p->cts, p->n_cts, err);
	*used = rc == CF_OK;
	return rc;
}

/* What a create's entry says once it is done: the record, its subject, the fields' names. */
static void create_audited(op *o, json_t *entry, const char *id, const char *subject)
{
	cf_audit_set_resource(entry, o->org, o->coll_name, id, subject);
	json_object_set_new(entry, "fields", names_array(o->values));
	cf_audit_outcome(entry, true, NULL);
}

/*
 * A prepared create's entry as the writer will leave it when it stores
 * the prepared subject, encoded on the request's thread (the writer then
 * only writes its position in). A copy: the entry itself stays as it is
 * for any other end (a failure is marked on it). Nothing is lost if it
 * cannot be made: the writer encodes the entry.
 */
static void prepare_entry(op *o)
{
	o->done_entry = json_deep_copy(o->entry);
	if (o->done_entry == NULL)
		return;
	create_audited(o, o->done_entry, o->prep->row.id, o->prep->pseudonym);
	if (cf_audit_encode(o->done_entry, &o->enc, NULL) != CF_OK)
		cf_audit_encoded_free(&o->enc);
}

static cf_rc apply_create(void *ctx, cf_tx *tx, json_t *entry, cf_err *err)
{
	op *o = ctx;
	cf_field_ct *cts = NULL;
	size_t n_cts = 0;
	cf_key *dek = NULL;
	cf_random_pool pool;
	cf_rc rc;

	o->tx = tx;
	op_pool_begin(o, &pool);
	if (o->prep != NULL) {
		bool used = false;
		if ((rc = apply_prepared(o, tx, &used, err)) != CF_OK)
			goto out;
		if (used && o->enc.bytes != NULL)
			goto out; /* its entry is done_entry, encoded: the writer appends that */
		if (used)
			goto audited; /* done_entry could not be made: the entry says it */
	} else if ((rc = subject_find_or_create(o, o->nid, o->row.subject, err)) != CF_OK ||
		   (rc = vault_new_local_id(o->v, o->env, "r_", o->row.id)) != CF_OK) {
		goto out;
	}
	memcpy(o->row.org, o->org, strlen(o->org) + 1);
	memcpy(o->row.collection, o->coll_name, strlen(o->coll_name) + 1);
	o->row.version = 1;
	o->row.created_us = o->row.updated_us = cf_now_us(o->v->env);
	if ((rc = subject_key(o, o->row.subject, &dek, err)) != CF_OK)
		goto out;
	if ((rc = seal_fields(o, dek, &o->row, o->values, &cts, &n_cts, err)) != CF_OK)
		goto out;
	if ((rc = cf_st_record_insert(tx, &o->row, cts, n_cts, err)) != CF_OK)
		goto out;
audited:
	/* the entry changes (another subject than the prepared one, or no encoding): the encoding goes */
	cf_audit_encoded_free(&o->enc);
	create_audited(o, entry, o->row.id, o->row.subject);
out:
	op_pool_end(o, &pool);
	o->tx = NULL;
	cf_field_cts_free(cts, n_cts);
	cf_key_free(dek);
	return rc;
}

/*
 * A record written by an import, in the caller's write transaction: finds
 * or creates the subject, seals the (already validated) fields, inserts
 * version 1. No policy, no audit entry: the import is one audited action.
 */
cf_rc vault_record_import(cf_vault *v, cf_tx *tx, const char *org, const cf_collection *coll, const char *nid,
			  json_t *fields, cf_record_row *row, cf_err *err)
{
	op o;
	cf_field_ct *cts = NULL;
	size_t n_cts = 0;
	cf_key *dek = NULL;
	const char *name = cf_collection_name(coll);
	cf_random_pool pool;
	cf_rc rc;

	memset(&o, 0, sizeof(o));
	memset(row, 0, sizeof(*row));
	o.v = v;
	o.tx = tx;
	o.org = org;
	if (strlen(org) > CF_ID_MAX || strlen(name) > CF_ID_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "identifier too long");
	op_pool_begin(&o, &pool);
	if ((rc = subject_find_or_create(&o, nid, row->subject, err)) != CF_OK)
		goto out;
	if ((rc = vault_new_local_id(v, o.env, "r_", row->id)) != CF_OK)
		goto out;
	memcpy(row->org, org, strlen(org) + 1);
	memcpy(row->collection, name, strlen(name) + 1);
	row->version = 1;
	row->created_us = row->updated_us = cf_now_us(v->env);
	if ((rc = subject_key(&o, row->subject, &dek, err)) != CF_OK)
		goto out;
	if ((rc = seal_fields(&o, dek, row, fields, &cts, &n_cts, err)) != CF_OK)
		goto out;
	rc = cf_st_record_insert(tx, row, cts, n_cts, err);
out:
	op_pool_end(&o, &pool);
	cf_field_cts_free(cts, n_cts);
	cf_key_free(dek);
	return rc;
}

/* The subject's national identifier (normalized), opened with its data key. */
cf_rc vault_subject_nid(cf_tx *tx, const char *org, const char *pseudonym, const cf_key *dek, char nid[CF_NID_LEN],
			cf_err *err)
{
	uint8_t *enc = NULL, *pt = NULL;
	size_t elen = 0, plen = 0;
	char ad[256];
	cf_rc rc;

	if ((rc = cf_st_subject_enc_nid(tx, org, pseudonym, &enc, &elen, err)) != CF_OK)
		return rc;
	rc = cf_snprintf(ad, sizeof(ad), NID_AD "%s|%s", org, pseudonym);
	if (rc == CF_OK)
		rc = cf_aead_open(dek, enc, elen, (const uint8_t *)ad, strlen(ad), &pt, &plen);
	free(enc);
	if (rc != CF_OK || plen != CF_NID_LEN - 1) {
		if (pt != NULL)
			cf_wipe_free(pt, plen + 1);
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "a subject's identifier failed its integrity check");
	}
	memcpy(nid, pt, CF_NID_LEN - 1);
	nid[CF_NID_LEN - 1] = '\0';
	cf_wipe_free(pt, plen + 1);
	return CF_OK;
}

cf_rc cf_vault_record_create(cf_vault *v, cf_request *r, const char *org, const char *coll, json_t *body,
			     json_t **answer, cf_err *err)
{
	const char *nid = NULL;
	json_t *subject = NULL, *fields = NULL;
	const char **names = NULL;
	size_t n_names = 0;
	op o;
	cf_rc rc;

	*answer = NULL;
	rc = op_begin(&o, v, r, org, coll, NULL, "record.create", false, err);
	if (rc != CF_OK)
		goto out;
	rc = cf_json_unpack(err, "record", body, "{s:o, s:o}", "subject", &subject, "fields", &fields);
	if (rc == CF_OK)
		rc = cf_json_unpack(err, "subject", subject, "{s:s}", "national_id", &nid);
	if (rc == CF_OK && !json_is_object(fields))
		rc = cf_err_set(err, CF_EINVAL, CF_P_WRONG_TYPE, "fields: an object");
	if (rc != CF_OK)
		goto out;
	if ((rc = op_load(&o, coll, err)) != CF_OK)
		goto out;
	names = object_keys(fields, &n_names);
	if (names == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = cf_collection_validate(o.coll, fields, false, err)) != CF_OK)
		goto out;
	{
		char norm[CF_NID_LEN];
		rc = cf_nid_normalize(nid, norm, err);
		cf_wipe(norm, sizeof(norm));
		if (rc != CF_OK)
			goto out;
	}
	if ((rc = op_decide(&o, CF_ACT_WRITE, names, n_names, err)) != CF_OK)
		goto out;
	o.coll_name = coll;
	o.nid = nid;
	o.values = fields;
	o.prep = prepare_create(&o);
	if (o.prep != NULL)
		prepare_entry(&o);
	if ((rc = op_submit(&o, apply_create, err)) != CF_OK)
		goto out;
	*answer = record_answer(&o.row, NULL);
out:
	cf_json_wipe(body);
	free(names);
	create_prep_free(o.prep);
	o.prep = NULL;
	op_release(&o);
	return rc;
}

/* Reads the current row; a missing record is a refusal like any other (audited, 404). */
static cf_rc op_get_record(op *o, const char *coll, const char *id, cf_record_row *row, cf_field_ct **cts, size_t *n,
			   cf_err *err)
{
	cf_rc rc;
	if (strlen(id) > CF_ID_MAX)
		return op_deny(o, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such record", err);
	cf_audit_set_resource(o->entry, o->org, coll, id, NULL);
	rc = cf_st_record_get(o->tx, o->org, coll, id, row, cts, n, err);
	if (rc == CF_ENOTFOUND)
		return op_deny(o, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such record", err);
	if (rc == CF_OK)
		cf_audit_set_resource(o->entry, o->org, coll, id, row->subject);
	return rc;
}

cf_rc cf_vault_record_get(cf_vault *v, cf_request *r, const char *org, const char *coll, const char *id,
			  json_t **answer, cf_err *err)
{
	cf_record_row row = {0};
	cf_field_ct *cts = NULL;
	size_t n = 0;
	json_t *fields = NULL;
	cf_key *dek = NULL;
	op o;
	cf_rc rc;

	*answer = NULL;
	if ((rc = op_begin(&o, v, r, org, coll, id, "record.read", true, err)) != CF_OK)
		goto out;
	if ((rc = op_load(&o, coll, err)) != CF_OK)
		goto out;
	if ((rc = op_decide(&o, CF_ACT_READ, NULL, 0, err)) != CF_OK)
		goto out;
	if ((rc = op_get_record(&o, coll, id, &row, &cts, &n, err)) != CF_OK)
		goto out;
	if ((rc = subject_key(&o, row.subject, &dek, err)) != CF_OK ||
	    (rc = open_fields(&o, dek, &row, cts, n, o.dec.allowed, &fields, err)) != CF_OK) {
		/* erased data or a failed integrity check: the attempt is still a trace */
		if (err != NULL && o.entry != NULL) {
			char reason[sizeof(err->detail)];
			cf_problem p = err->problem;
			(void)snprintf(reason, sizeof(reason), "%s", err->detail);
			rc = op_deny(&o, rc, p, reason, err);
		}
		goto out;
	}
	json_object_set_new(o.entry, "fields", names_array(fields));
	/* Nothing leaves before the entry is durable. */
	if ((rc = op_submit(&o, NULL, err)) != CF_OK)
		goto out;
	/* The answer takes the values; the HTTP layer wipes it once sent. */
	*answer = record_answer(&row, fields);
out:
	if (*answer == NULL)
		cf_json_wipe(fields);
	json_decref(fields);
	cf_field_cts_free(cts, n);
	cf_key_free(dek);
	op_release(&o);
	return rc;
}

/* Phase 2 of a change: seal the new version; a concurrent change makes it a version conflict. */
static cf_rc apply_patch(void *ctx, cf_tx *tx, json_t *entry, cf_err *err)
{
	op *o = ctx;
	cf_field_ct *cts = NULL;
	size_t n = 0;
	cf_key *dek = NULL;
	cf_random_pool pool;
	cf_rc rc;

	o->tx = tx;
	op_pool_begin(o, &pool);
	if ((rc = subject_key(o, o->row.subject, &dek, err)) != CF_OK)
		goto out;
	if ((rc = seal_fields(o, dek, &o->row, o->values, &cts, &n, err)) != CF_OK)
		goto out;
	rc = cf_st_record_update(tx, &o->row, cts, n, err);
	if (rc == CF_EEXIST)
		rc = cf_err_set(err, CF_EEXIST, CF_P_VERSION_CONFLICT, "the record changed meanwhile");
	if (rc == CF_OK) {
		json_object_set_new(entry, "fields", names_array(o->changes));
		cf_audit_outcome(entry, true, NULL);
	}
out:
	op_pool_end(o, &pool);
	o->tx = NULL;
	cf_field_cts_free(cts, n);
	cf_key_free(dek);
	return rc;
}

cf_rc cf_vault_record_patch(cf_vault *v, cf_request *r, const char *org, const char *coll, const char *id,
			    json_t *body, json_t **answer, cf_err *err)
{
	json_t *changes = NULL, *current = NULL;
	json_int_t expected = -1;
	const char **names = NULL;
	size_t n_names = 0, n = 0;
	cf_field_ct *cts = NULL;
	cf_key *dek = NULL;
	op o;
	cf_rc rc;

	*answer = NULL;
	if ((rc = op_begin(&o, v, r, org, coll, id, "record.update", false, err)) != CF_OK)
		goto out;
	rc = cf_json_unpack(err, "record change", body, "{s:o, s?:I}", "fields", &changes, "version", &expected);
	if (rc == CF_OK && (!json_is_object(changes) || json_object_size(changes) == 0))
		rc = cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "fields: a non-empty object");
	if (rc != CF_OK)
		goto out;
	if ((rc = op_load(&o, coll, err)) != CF_OK)
		goto out;
	if ((names = object_keys(changes, &n_names)) == NULL) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = cf_collection_validate(o.coll, changes, true, err)) != CF_OK)
		goto out;
	if ((rc = op_decide(&o, CF_ACT_WRITE, names, n_names, err)) != CF_OK)
		goto out;
	if ((rc = op_get_record(&o, coll, id, &o.row, &cts, &n, err)) != CF_OK)
		goto out;
	if (expected >= 0 && expected != o.row.version) {
		rc = cf_err_set(err, CF_EEXIST, CF_P_VERSION_CONFLICT, "the record is at version %lld",
				(long long)o.row.version);
		goto out;
	}
	if ((rc = subject_key(&o, o.row.subject, &dek, err)) != CF_OK)
		goto out;
	/* The new version carries every field: the old values re-sealed under the new version. */
	if ((rc = open_fields(&o, dek, &o.row, cts, n, NULL, &current, err)) != CF_OK)
		goto out;
	if (json_object_update(current, changes) != 0) {
		rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "out of memory");
		goto out;
	}
	o.row.version += 1;
	o.row.updated_us = cf_now_us(v->env);
	o.values = current;
	o.changes = changes;
	if ((rc = op_submit(&o, apply_patch, err)) != CF_OK)
		goto out;
	*answer = record_answer(&o.row, NULL);
out:
	cf_json_wipe(current);
	json_decref(current);
	cf_json_wipe(body);
	free(names);
	cf_field_cts_free(cts, n);
	cf_key_free(dek);
	op_release(&o);
	return rc;
}

static cf_rc apply_delete(void *ctx, cf_tx *tx, json_t *entry, cf_err *err)
{
	op *o = ctx;
	cf_rc rc = cf_st_record_delete(tx, o->org, o->row.collection, o->row.id, err);
	if (rc == CF_ENOTFOUND)
		rc = cf_err_set(err, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such record");
	if (rc == CF_OK)
		cf_audit_outcome(entry, true, NULL);
	return rc;
}

cf_rc cf_vault_record_delete(cf_vault *v, cf_request *r, const char *org, const char *coll, const char *id,
			     cf_err *err)
{
	cf_field_ct *cts = NULL;
	size_t n = 0;
	op o;
	cf_rc rc;

	if ((rc = op_begin(&o, v, r, org, coll, id, "record.delete", false, err)) != CF_OK)
		goto out;
	if ((rc = op_load(&o, coll, err)) != CF_OK)
		goto out;
	if ((rc = op_decide(&o, CF_ACT_DELETE, NULL, 0, err)) != CF_OK)
		goto out;
	if ((rc = op_get_record(&o, coll, id, &o.row, &cts, &n, err)) != CF_OK)
		goto out;
	rc = op_submit(&o, apply_delete, err);
out:
	cf_field_cts_free(cts, n);
	op_release(&o);
	return rc;
}

cf_rc cf_vault_subject_lookup(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer,
			      cf_err *err)
{
	const char *nid_in = NULL;
	char nid[CF_NID_LEN] = "", bidx_hex[CF_HEX256_LEN], pseudonym[CF_ID_MAX + 1];
	json_t *colls = NULL, *records = NULL, *readable = json_object(), *item, *out_list = NULL;
	cf_problem first_problem = CF_P_NONE;
	bool any_agreement = false;
	char first_reason[200] = "";
	size_t i;
	op o;
	cf_rc rc;

	*answer = NULL;
	if ((rc = op_begin(&o, v, r, org, NULL, NULL, "subject.lookup", true, err)) != CF_OK)
		goto out;
	rc = cf_json_unpack(err, "lookup", body, "{s:s}", "national_id", &nid_in);
	if (rc != CF_OK)
		goto out;
	if ((rc = cf_st_collection_list(o.tx, org, &colls, err)) != CF_OK)
		goto out;
	/* The collections this caller may read for this purpose. */
	json_array_foreach(colls, i, item)
	{
		const char *name = json_string_value(json_object_get(item, "name"));
		cf_policy_input in = {0};
		cf_decision d = {0};

		if (name == NULL)
			continue;
		op_unload(&o);
		o.lookup = true;
		o.skipped = false;
		if ((rc = op_load(&o, name, err)) != CF_OK) {
			if (o.skipped) {
				rc = CF_OK;
				continue;
			}
			goto out;
		}
		if (o.shared) {
			/* a consumer organization: only collections an agreement covers */
			vault_share sh;
			rc = vault_share_resolve(v, o.tx, r, org, o.coll, o.roles, (const cf_grant_set *const *)o.grants,
						 o.n_roles, &sh, err);
			if (rc != CF_OK) {
				vault_share_release(&sh);
				goto out;
			}
			any_agreement = any_agreement || sh.any;
			d = sh.dec;
			memset(&sh.dec, 0, sizeof(sh.dec));
			if (!d.allow) {
				d.problem = sh.problem;
				(void)snprintf(d.reason, sizeof(d.reason), "%s", sh.reason);
			} else if (o.agreement[0] == '\0') {
				memcpy(o.agreement, sh.agr.id, sizeof(o.agreement));
				cf_audit_set(o.entry, "agreement", sh.agr.id);
				cf_audit_set(o.entry, "legal_basis", sh.agr.legal_basis);
			}
			vault_share_release(&sh);
		} else {
			in.roles = o.roles;
			in.grants = (const cf_grant_set *const *)o.grants;
			in.n_roles = o.n_roles;
			in.collection = o.coll;
			in.action = CF_ACT_READ;
			in.purpose = r->purpose;
			if ((rc = cf_policy_decide(&in, &d)) != CF_OK) {
				rc = cf_err_set(err, rc, CF_P_INTERNAL, "out of memory");
				goto out;
			}
		}
		if (d.allow) {
			json_object_set_new(readable, name, json_true());
			if (d.role != NULL && json_object_get(json_object_get(o.entry, "actor"), "role") == NULL)
				json_object_set_new(json_object_get(o.entry, "actor"), "role", json_string(d.role));
		}
		else if (first_problem == CF_P_NONE || d.problem == CF_P_PURPOSE_REQUIRED ||
			 (first_problem == CF_P_PURPOSE_NOT_ALLOWED && d.problem == CF_P_FORBIDDEN)) {
			first_problem = d.problem;
			memcpy(first_reason, d.reason, sizeof(first_reason));
		}
		cf_decision_release(&d);
	}
	if (o.shared && !any_agreement) {
		rc = op_deny(&o, CF_EDENIED, CF_P_WRONG_ORGANIZATION,
			     "the token acts for another organization and no agreement exists between them", err);
		goto out;
	}
	if (r->purpose == NULL || r->purpose[0] == '\0') {
		rc = op_deny(&o, CF_EINVAL, CF_P_PURPOSE_REQUIRED, "X-Purpose is required", err);
		goto out;
	}
	if (json_object_size(readable) == 0) {
		if (first_problem == CF_P_NONE) {
			first_problem = CF_P_FORBIDDEN;
			memcpy(first_reason, "no collection is readable", sizeof("no collection is readable"));
		}
		rc = op_deny(&o, CF_EDENIED, first_problem, first_reason, err);
		goto out;
	}
	if ((rc = blind_index(&o, nid_in, nid, bidx_hex, err)) != CF_OK)
		goto out;
	rc = cf_st_subject_find(o.tx, org, bidx_hex, pseudonym, err);
	if (rc == CF_ENOTFOUND) {
		rc = op_deny(&o, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such subject", err);
		goto out;
	}
	if (rc != CF_OK)
		goto out;
	cf_audit_set_resource(o.entry, org, NULL, NULL, pseudonym);
	if ((rc = cf_st_record_list_by_subject(o.tx, org, pseudonym, &records, err)) != CF_OK)
		goto out;
	out_list = json_array();
	json_array_foreach(records, i, item)
	{
		const char *c = json_string_value(json_object_get(item, "collection"));
		if (c != NULL && json_object_get(readable, c) != NULL)
			json_array_append_new(out_list,
					      json_pack("{s:s, s:O, s:O}", "collection", c, "id", json_object_get(item, "id"),
							"version", json_object_get(item, "version")));
	}
	if ((rc = op_submit(&o, NULL, err)) != CF_OK)
		goto out;
	*answer = json_pack("{s:s, s:O}", "subject", pseudonym, "records", out_list);
out:
	cf_wipe(nid, sizeof(nid));
	cf_json_wipe(body);
	json_decref(colls);
	json_decref(records);
	json_decref(readable);
	json_decref(out_list);
	op_release(&o);
	return rc;
}

/* ---- the right of access: everything held about a subject ---- */

/*
 * Rectification history: every stored version of the record, opened, and
 * what each changed ({"field": {"from": old or null, "to": new or null}}).
 * The values are personal data: each version's are wiped once compared,
 * the history holds copies, and the answer is wiped once sent.
 */
static json_t *record_history(op *o, const cf_key *dek, const cf_record_row *row, cf_err *err)
{
	cf_record_version *vers = NULL;
	size_t nv = 0, k;
	json_t *hist = json_array(), *prev = json_object(), *out = NULL;

	if (hist == NULL || prev == NULL ||
	    cf_st_record_history(o->tx, row->org, row->collection, row->id, &vers, &nv, err) != CF_OK)
		goto out;
	for (k = 0; k < nv; k++) {
		cf_record_row vrow = *row;
		json_t *vals = NULL, *changes = json_object(), *val;
		const char *name;
		char when[CF_TIME_STR_LEN];

		vrow.version = vers[k].version;
		if (changes == NULL ||
		    vault_open_fields(o->coll, dek, &vrow, vers[k].fields, vers[k].n, NULL, &vals, err) != CF_OK) {
			json_decref(changes);
			goto out;
		}
		json_object_foreach(vals, name, val)
		{
			json_t *before = json_object_get(prev, name);
			if (before == NULL || !json_equal(before, val))
				json_object_set_new(changes, name, json_pack("{s:o, s:o}", "from",
									  before ? json_deep_copy(before) : json_null(),
									  "to", json_deep_copy(val)));
		}
		json_object_foreach(prev, name, val)
		{
			if (json_object_get(vals, name) == NULL)
				json_object_set_new(changes, name, json_pack("{s:o, s:n}", "from", json_deep_copy(val), "to"));
		}
		cf_time_format(vers[k].written_us, when);
		json_array_append_new(hist, json_pack("{s:I, s:s, s:o}", "version", (json_int_t)vers[k].version, "at",
						      when, "changes", changes));
		cf_json_wipe(prev);
		json_decref(prev);
		prev = vals;
	}
	out = hist;
	hist = NULL;
out:
	if (hist != NULL)
		cf_json_wipe(hist);
	json_decref(hist);
	cf_json_wipe(prev);
	json_decref(prev);
	cf_record_versions_free(vers, nv);
	return out;
}

static json_t *export_record(op *o, const cf_key *dek, const char *coll, const char *id, cf_err *err)
{
	cf_record_row row = {0};
	cf_field_ct *cts = NULL;
	size_t n = 0, i;
	json_t *fields = NULL, *out = NULL, *described = json_object(), *purposes = json_array(), *recipients = NULL;
	json_t *agreements = NULL, *a, *history = NULL;
	const char *name;
	json_t *val;
	char c[CF_TIME_STR_LEN], u[CF_TIME_STR_LEN];

	vault_def_release(o->v->defs, o->coll_def);
	o->coll = NULL;
	o->coll_def = NULL;
	if (vault_collection_get(o->v->defs, o->tx, o->org, coll, &o->coll, &o->coll_def, err) != CF_OK ||
	    cf_st_record_get(o->tx, o->org, coll, id, &row, &cts, &n, err) != CF_OK ||
	    open_fields(o, dek, &row, cts, n, NULL, &fields, err) != CF_OK ||
	    (history = record_history(o, dek, &row, err)) == NULL)
		goto out;
	json_object_foreach(fields, name, val)
	{
		const cf_field *f = cf_collection_field(o->coll, name);
		json_object_set_new(described, name,
				    json_pack("{s:O, s:s?}", "value", val, "category", f ? cf_field_category(f) : NULL));
	}
	for (i = 0; i < cf_collection_purpose_count(o->coll); i++) {
		const char *p = cf_collection_purpose_at(o->coll, i);
		json_array_append_new(purposes, json_pack("{s:s, s:s?}", "purpose", p, "legal_basis",
							  cf_collection_legal_basis(o->coll, p)));
	}
	/* recipients: the organizations an agreement lets read this collection */
	recipients = json_array();
	if (cf_st_agreement_list(o->tx, o->org, NULL, coll, NULL, &agreements, NULL) == CF_OK) {
		json_array_foreach(agreements, i, a)
		{
			json_array_append_new(recipients,
					      json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "organization",
							json_object_get(a, "consumer"), "agreement", json_object_get(a, "id"),
							"fields", json_object_get(a, "fields"), "categories",
							json_object_get(a, "categories"), "purposes", json_object_get(a, "purposes"),
							"legal_basis", json_object_get(a, "legal_basis"), "status",
							json_object_get(a, "status")));
		}
	}
	cf_time_format(row.created_us, c);
	cf_time_format(row.updated_us, u);
	out = json_pack("{s:s, s:s, s:I, s:s, s:s, s:O, s:O, s:s, s:s, s:O, s:O}", "collection", coll, "id", id,
			"version", (json_int_t)row.version, "created_at", c, "updated_at", u, "fields", described,
			"purposes", purposes, "retention", cf_collection_retention(o->coll), "retention_start",
			cf_collection_retention_start(o->coll), "recipients", recipients, "history", history);
out:
	/* the values now belong to the answer, which the HTTP layer wipes once sent */
	if (out == NULL) {
		cf_json_wipe(fields);
		cf_json_wipe(history);
	}
	json_decref(history);
	json_decref(fields);
	json_decref(described);
	json_decref(purposes);
	json_decref(recipients);
	json_decref(agreements);
	cf_field_cts_free(cts, n);
	return out;
}

cf_rc cf_vault_subject_export(cf_vault *v, cf_request *r, const char *org, const char *subject, const char *format,
			      json_t **answer, cf_err *err)
{
	json_t *records = NULL, *items = NULL, *item, *erasures = NULL, *holds = NULL, *report = NULL;
	cf_key *dek = NULL;
	int64_t erased = 0;
	char now[CF_TIME_STR_LEN];
	size_t i;
	op o;
	cf_rc rc;

	*answer = NULL;
	if ((rc = op_begin(&o, v, r, org, NULL, NULL, "subject.export", false, err)) != CF_OK)
		goto out;
	if (strlen(subject) <= CF_ID_MAX)
		cf_audit_set_resource(o.entry, org, NULL, NULL, subject);
	if (!vault_has_role(&r->who, "dpo")) {
		rc = op_deny(&o, CF_EDENIED, CF_P_FORBIDDEN, "only the organization's data protection officer exports a subject",
			     err);
		goto out;
	}
	if (strlen(subject) > CF_ID_MAX || cf_st_subject_exists(o.tx, org, subject, NULL) != CF_OK) {
		rc = op_deny(&o, CF_ENOTFOUND, CF_P_NOT_FOUND, "no such subject", err);
		goto out;
	}
	if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "markdown") != 0) {
		rc = op_deny(&o, CF_EINVAL, CF_P_INVALID_VALUE, "format: json or markdown", err);
		goto out;
	}
	if (cf_st_subject_erased(o.tx, org, subject, &erased, NULL) == CF_OK) {
		rc = op_deny(&o, CF_ENOTFOUND, CF_P_ERASED, "the subject's data was erased", err);
		goto out;
	}
	if ((rc = subject_key(&o, subject, &dek, err)) != CF_OK) {
		char reason[sizeof(err->detail)];
		cf_problem p = err ? err->problem : CF_P_INTERNAL;
		(void)snprintf(reason, sizeof(reason), "%s", err ? err->detail : "no key");
		rc = op_deny(&o, rc, p, reason, err);
		goto out;
	}
	if ((rc = cf_st_record_list_by_subject(o.tx, org, subject, &records, err)) != CF_OK)
		goto out;
	items = json_array();
	json_array_foreach(records, i, item)
	{
		json_t *one = export_record(&o, dek, json_string_value(json_object_get(item, "collection")),
					    json_string_value(json_object_get(item, "id")), err);
		if (one == NULL) {
			rc = err && err->rc != CF_OK ? err->rc : CF_ENOMEM;
			goto out;
		}
		json_array_append_new(items, one);
	}
	if ((rc = cf_st_erasure_list(o.tx, org, subject, &erasures, err)) != CF_OK ||
	    (rc = cf_st_hold_list(o.tx, org, subject, &holds, err)) != CF_OK)
		goto out;
	/* nothing leaves before the export's own entry is durable */
	if ((rc = op_submit(&o, NULL, err)) != CF_OK)
		goto out;
	/* the access report, with its receipts, is part of what the subject is entitled to */
	if ((rc = cf_vault_subject_access_log(v, r, org, subject, &report, err)) != CF_OK)
		goto out;
	cf_time_format(cf_now_us(v->env), now);
	*answer = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O}", "org", org, "subject", subject, "exported_at", now,
			    "records", items, "erasure_requests", erasures, "legal_holds", holds, "access_report", report);
out:
	if (*answer == NULL)
		cf_json_wipe(items);
	json_decref(items);
	json_decref(records);
	json_decref(erasures);
	json_decref(holds);
	json_decref(report);
	cf_key_free(dek);
	op_release(&o);
	return rc;
}

/*
 * audit.c - building and appending audit entries (see audit.h).
 */
#include "common/cf.h"
#include "audit/audit.h"
#include "common/json.h"
#include "common/log.h"
#include "merkle/merkle.h"

static void set_str(json_t *o, const char *key, const char *value)
{
	if (value != NULL)
		json_object_set_new(o, key, json_string(value));
}

json_t *cf_audit_entry_new(const cf_env *env, const cf_actor *actor, const char *action)
{
	char ts[CF_TIME_STR_LEN];
	json_t *e = json_object(), *a = json_object();

	if (e == NULL || a == NULL) {
		json_decref(e);
		json_decref(a);
		return NULL;
	}
	cf_time_format(cf_now_us(env), ts);
	set_str(e, "time", ts);
	set_str(e, "action", action);
	if (actor != NULL) {
		set_str(e, "trace_id", actor->trace_id);
		set_str(a, "user", actor->user);
		set_str(a, "org", actor->org);
		set_str(a, "auth", actor->auth);
		set_str(a, "ip", actor->ip);
		if (actor->roles != NULL)
			json_object_set_new(a, "roles", json_deep_copy(actor->roles));
	}
	json_object_set_new(e, "actor", a);
	return e;
}

void cf_audit_set_resource(json_t *entry, const char *org, const char *collection, const char *record,
			   const char *subject)
{
	json_t *r = json_object();
	if (r == NULL)
		return;
	set_str(r, "org", org);
	set_str(r, "collection", collection);
	set_str(r, "record", record);
	set_str(r, "subject", subject);
	json_object_set_new(entry, "resource", r);
}

void cf_audit_set(json_t *entry, const char *key, const char *value)
{
	set_str(entry, key, value);
}

void cf_audit_outcome(json_t *entry, bool allowed, const char *reason)
{
	set_str(entry, "outcome", allowed ? "allowed" : "denied");
	if (!allowed && reason != NULL && reason[0] != '\0')
		set_str(entry, "reason", reason);
}

static const char *member(const json_t *entry, const char *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(entry, obj), key));
}

cf_rc cf_audit_append(cf_tx *tx, const json_t *entry, int64_t *index_out, cf_err *err)
{
	uint8_t leaf[CF_MERKLE_HASH_LEN];
	cf_audit_meta meta;
	char *bytes;
	cf_err serr = {0};
	int64_t idx = -1;
	size_t len;
	cf_rc rc;

	if (entry == NULL)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be built");
	/* The entry states its own position, so a moved or dropped row is named by verification. */
	rc = cf_st_audit_count(tx, &idx, &serr);
	if (rc != CF_OK) {
		cf_log(CF_LOG_ERROR, "audit: cannot read the trail size: %s", serr.detail);
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit trail cannot be written");
	}
	if (json_object_set_new((json_t *)entry, "index", json_integer((json_int_t)idx)) != 0)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be built");
	bytes = cf_json_dump_canonical(entry);
	if (bytes == NULL)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be encoded");
	len = strlen(bytes);
	cf_merkle_leaf_hash(bytes, len, leaf);
	meta.actor_org = member(entry, "actor", "org");
	meta.resource_org = member(entry, "resource", "org");
	meta.subject = member(entry, "resource", "subject");
	{
		int64_t got = -1;
		rc = cf_st_audit_append(tx, bytes, len, leaf, &meta, &got, &serr);
		if (rc == CF_OK && got != idx)
			rc = cf_err_set(&serr, CF_EINTEGRITY, CF_P_INTEGRITY, "trail index moved during append");
	}
	free(bytes);
	/* the store completed the tree's nodes with the leaf */
	if (rc != CF_OK) {
		cf_log(CF_LOG_ERROR, "audit: append failed: %s", serr.detail[0] ? serr.detail : "tree nodes not stored");
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit trail cannot be written");
	}
	if (index_out != NULL)
		*index_out = idx;
	return CF_OK;
}

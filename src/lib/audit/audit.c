/*
 * audit.c - building and appending audit entries (see audit.h).
 */
#include "common/cf.h"
#include "audit/audit.h"
#include "common/json.h"
#include "common/log.h"

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

cf_rc cf_audit_append(cf_tx *tx, const json_t *entry, int64_t *index_out, cf_err *err)
{
	char *bytes;
	cf_err serr = {0};
	cf_rc rc;

	if (entry == NULL)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be built");
	bytes = cf_json_dump_canonical(entry);
	if (bytes == NULL)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be encoded");
	rc = cf_st_audit_append(tx, bytes, strlen(bytes), index_out, &serr);
	free(bytes);
	if (rc != CF_OK) {
		cf_log(CF_LOG_ERROR, "audit: append failed: %s", serr.detail);
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit trail cannot be written");
	}
	return CF_OK;
}

/*
 * audit.c - building and appending audit entries (see audit.h).
 */
#include "common/cf.h"
#include "audit/audit.h"
#include "common/json.h"
#include "common/log.h"
#include "merkle/merkle.h"

#include <inttypes.h>

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

/*
 * Whether bytes[at] lies directly in the top-level object: outside every
 * string and nested value (canonical JSON: no spaces, escaped quotes).
 */
static bool at_top_level(const char *bytes, size_t at)
{
	int depth = 0;
	bool in_string = false;

	for (size_t i = 0; i < at; i++) {
		char c = bytes[i];
		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return depth == 1 && !in_string;
}

/*
 * Copies the entry's metadata after the bytes' terminating NUL, and points
 * out->meta there: the encoding borrows nothing from the entry, which its
 * maker may then release on its own thread.
 */
static cf_rc keep_meta(cf_audit_encoded *out, const char *actor_org, const char *resource_org, const char *subject)
{
	const char *v[3] = {actor_org, resource_org, subject};
	const char **dst[3] = {&out->meta.actor_org, &out->meta.resource_org, &out->meta.subject};
	size_t n[3], total = out->len + 1, at = out->len + 1;
	char *b;

	for (int i = 0; i < 3; i++) {
		n[i] = v[i] != NULL ? strlen(v[i]) + 1 : 0;
		total += n[i];
	}
	b = realloc(out->bytes, total);
	if (b == NULL)
		return CF_ENOMEM;
	out->bytes = b;
	for (int i = 0; i < 3; i++) {
		*dst[i] = NULL;
		if (v[i] != NULL) {
			memcpy(b + at, v[i], n[i]);
			*dst[i] = b + at;
			at += n[i];
		}
	}
	return CF_OK;
}

cf_rc cf_audit_encode(json_t *entry, cf_audit_encoded *out, cf_err *err)
{
	static const char key[] = "\"index\":";
	const char *at;

	memset(out, 0, sizeof(*out));
	if (entry == NULL || !json_is_object(entry))
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be built");
	if (json_object_set_new(entry, "index", json_integer(0)) != 0)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be built");
	out->bytes = cf_json_dump_canonical(entry);
	if (out->bytes == NULL)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be encoded");
	out->len = strlen(out->bytes);
	/*
	 * The slot is the first "index": in the bytes, as verification reads
	 * it, and must be the top-level member holding our 0: an entry with a
	 * nested "index" ahead of it would read as out of place, so it is
	 * refused here.
	 */
	at = memmem(out->bytes, out->len, key, sizeof(key) - 1);
	if (at == NULL || (size_t)(at - out->bytes) + sizeof(key) >= out->len || at[sizeof(key) - 1] != '0' ||
	    (at[sizeof(key)] != ',' && at[sizeof(key)] != '}') || !at_top_level(out->bytes, (size_t)(at - out->bytes))) {
		cf_audit_encoded_free(out);
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be encoded");
	}
	out->slot = (size_t)(at - out->bytes) + sizeof(key) - 1;
	if (keep_meta(out, member(entry, "actor", "org"), member(entry, "resource", "org"),
		      member(entry, "resource", "subject")) != CF_OK) {
		cf_audit_encoded_free(out);
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be encoded");
	}
	return CF_OK;
}

void cf_audit_encoded_free(cf_audit_encoded *enc)
{
	if (enc == NULL)
		return;
	free(enc->bytes);
	memset(enc, 0, sizeof(*enc));
}

cf_rc cf_audit_append_encoded(cf_tx *tx, const cf_audit_encoded *enc, int64_t *index_out, cf_err *err)
{
	uint8_t leaf[CF_MERKLE_HASH_LEN];
	char digits[24], stack[2048], *bytes;
	cf_err serr = {0};
	int64_t idx = -1, got = -1;
	size_t nd, len;
	cf_rc rc;

	if (enc == NULL || enc->bytes == NULL || enc->slot >= enc->len || enc->bytes[enc->slot] != '0')
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be built");
	/* The entry states its own position, so a moved or dropped row is named by verification. */
	rc = cf_st_audit_count(tx, &idx, &serr);
	if (rc != CF_OK) {
		cf_log(CF_LOG_ERROR, "audit: cannot read the trail size: %s", serr.detail);
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "the audit trail cannot be written");
	}
	/* the decimal form jansson gives an integer */
	nd = (size_t)snprintf(digits, sizeof(digits), "%" PRId64, idx);
	len = enc->len - 1 + nd;
	bytes = len < sizeof(stack) ? stack : malloc(len + 1);
	if (bytes == NULL)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be encoded");
	memcpy(bytes, enc->bytes, enc->slot);
	memcpy(bytes + enc->slot, digits, nd);
	memcpy(bytes + enc->slot + nd, enc->bytes + enc->slot + 1, enc->len - enc->slot - 1);
	bytes[len] = '\0';
	cf_merkle_leaf_hash(bytes, len, leaf);
	rc = cf_st_audit_append(tx, bytes, len, leaf, &enc->meta, &got, &serr);
	if (rc == CF_OK && got != idx)
		rc = cf_err_set(&serr, CF_EINTEGRITY, CF_P_INTEGRITY, "trail index moved during append");
	if (bytes != stack)
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

cf_rc cf_audit_append(cf_tx *tx, const json_t *entry, int64_t *index_out, cf_err *err)
{
	cf_audit_encoded enc;
	int64_t idx = -1;
	cf_rc rc;

	if (entry == NULL)
		return cf_err_set(err, CF_EAUDIT, CF_P_AUDIT_UNAVAILABLE, "audit entry could not be built");
	rc = cf_audit_encode((json_t *)entry, &enc, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_audit_append_encoded(tx, &enc, &idx, err);
	cf_audit_encoded_free(&enc);
	if (rc != CF_OK)
		return rc;
	/* the entry says what was appended */
	(void)json_object_set_new((json_t *)entry, "index", json_integer((json_int_t)idx));
	if (index_out != NULL)
		*index_out = idx;
	return CF_OK;
}

/*
 * audit.h - audit entries: who (user, organization, roles, auth method,
 * client address), when, what (action, resource, field names), why
 * (purpose, legal basis) and the outcome. An entry is canonical JSON
 * (sorted keys, no spaces) appended to the trail through the store, in the
 * caller's transaction. It must never contain a personal value: subjects
 * appear only as pseudonyms, fields only by name.
 */
#ifndef CF_AUDIT_H
#define CF_AUDIT_H

#include "common/cf.h"
#include "store/store.h"
#include <jansson.h>

/* Who acts and from where; any member may be NULL when unknown. */
typedef struct cf_actor {
	const char *user;
	const char *org;
	const json_t *roles; /* JSON array of strings, borrowed */
	const char *auth;    /* "password", "api_key" */
	const char *ip;
	const char *trace_id;
} cf_actor;

/* A new entry {time, trace_id, actor, action}; NULL on allocation failure. */
json_t *cf_audit_entry_new(const cf_env *env, const cf_actor *actor, const char *action);
/* Sets resource {org, collection, record, subject}; NULL members are omitted. */
void cf_audit_set_resource(json_t *entry, const char *org, const char *collection, const char *record,
			   const char *subject);
/* Sets a string member (purpose, legal_basis, reason, outcome, ...) when value is non-NULL. */
void cf_audit_set(json_t *entry, const char *key, const char *value);
/* Sets "outcome" and, when denied, "reason". */
void cf_audit_outcome(json_t *entry, bool allowed, const char *reason);

/*
 * An entry encoded ahead of its append, on the submitter's thread: its
 * canonical bytes with the top-level "index" member set to 0, the offset
 * of that 0, and the ids the store indexes (borrowed from the entry, which
 * must outlive the encoding). The append only writes the index in.
 */
typedef struct cf_audit_encoded {
	char *bytes; /* malloc'd, NUL-terminated; the meta's strings follow the NUL */
	size_t len;
	size_t slot; /* bytes[slot] is the index's single digit 0 */
	cf_audit_meta meta; /* points into bytes: the encoding owns everything it needs */
} cf_audit_encoded;

/*
 * Encodes entry (sets its "index" member to 0). CF_EAUDIT /
 * audit-unavailable when it cannot be encoded; *out is then empty.
 */
cf_rc cf_audit_encode(json_t *entry, cf_audit_encoded *out, cf_err *err) CF_MUST_CHECK;
void cf_audit_encoded_free(cf_audit_encoded *enc);

/*
 * Appends an encoded entry in tx at its position in the trail (the bytes
 * appended are the encoding with that position as its "index"), and
 * stores the Merkle tree nodes the new leaf completes. Any failure is
 * reported as CF_EAUDIT / audit-unavailable: the caller must then roll
 * back and answer 503 without revealing anything (fail closed).
 */
cf_rc cf_audit_append_encoded(cf_tx *tx, const cf_audit_encoded *enc, int64_t *index_out, cf_err *err) CF_MUST_CHECK;

/*
 * Encodes and appends entry in one step, then sets its "index" member to
 * the position it took (entry is modified). Failures as above.
 */
cf_rc cf_audit_append(cf_tx *tx, const json_t *entry, int64_t *index_out, cf_err *err) CF_MUST_CHECK;

#endif

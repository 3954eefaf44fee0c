/*
 * vault_int.h - what the vault's files share and nobody else may see.
 */
#ifndef CF_VAULT_INT_H
#define CF_VAULT_INT_H

#include "common/cf.h"
#include "audit/audit.h"
#include "audit/trail.h"
#include "crypto/crypto.h"
#include "store/store.h"
#include "vault/vault.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct org_keys {
	char org[65];
	cf_key *kek;  /* the organization's key-encryption key */
	cf_key *bidx; /* blind-index key, derived from the kek */
	struct org_keys *next;
} org_keys;

struct cf_vault {
	char dir[PATH_MAX];
	cf_config cfg;
	const cf_env *env;
	cf_store *store;
	cf_seal_mode mode;
	/*
	 * The keys are published once and freed only at close, when no request
	 * runs: a request reads them with no lock (acquire loads), so that no
	 * global lock sits on its path. mu serializes their publication (the
	 * unseal, an organization key's first load) and nothing else.
	 */
	pthread_mutex_t mu;
	_Atomic(cf_key *) root;     /* NULL while sealed; published after user_key */
	_Atomic(cf_key *) user_key; /* derived from root: pseudonymous user ids in the trail */
	_Atomic(org_keys *) keys;   /* a list that only grows at its head: a published node never changes */
	cf_trail *trail;    /* group-commit writer and checkpoint signer */
	struct vault_defs *defs; /* parsed collections and grants (vault_defs.c) */
	char origin[96];    /* the log's name in checkpoints */
	/* the retention sweeper (vault_retention.c) */
	pthread_t sweeper;
	bool sweeper_running;
	pthread_mutex_t sweep_mu; /* guards sweep_stop and sweeps */
	pthread_cond_t sweep_cv;
	bool sweep_stop;
	int64_t sweeps; /* sweeps completed */
};

/* Stops the retention sweeper, if started, and waits for it. */
void vault_sweeper_stop(cf_vault *v);

#define CF_ROLE_SECURITY_MANAGER "security_manager"
#define CF_ROLE_AUDITOR "auditor"
#define CF_ROLE_ADMIN "admin"

/* Key hierarchy (vault_core.c). */
cf_rc vault_org_keys_create(cf_vault *v, cf_tx *tx, const char *org, cf_err *err) CF_MUST_CHECK;
/* Borrowed pointers valid for the vault's life (keys are never evicted while open). */
cf_rc vault_org_keys_get(cf_vault *v, cf_tx *tx, const char *org, const cf_key **kek, const cf_key **bidx,
			 cf_err *err) CF_MUST_CHECK;

/* Audit helpers (vault_core.c). */
void vault_actor(const cf_request *r, cf_actor *a);
json_t *vault_entry(cf_vault *v, const cf_request *r, const char *action);
/*
 * Records a refused attempt in its own transaction and returns `rc` with
 * err set to (problem, reason); if the entry cannot be written, returns
 * CF_EAUDIT instead (fail closed). `entry` is consumed.
 */
cf_rc vault_deny(cf_vault *v, json_t *entry, cf_rc rc, cf_problem problem, const char *reason,
		 cf_err *err) CF_MUST_CHECK;
/* Appends entry in tx (consumed). */
cf_rc vault_audit(cf_tx *tx, json_t *entry, cf_err *err) CF_MUST_CHECK;
/* A read transaction over the whole trail: the store's audit journal is moved to the tables first. */
cf_rc vault_begin_trail_read(cf_vault *v, cf_tx **tx, cf_err *err) CF_MUST_CHECK;
/* Commits; a commit failure of a transaction that holds an audit entry is audit-unavailable. */
cf_rc vault_commit(cf_tx *tx, cf_err *err) CF_MUST_CHECK;

/* The audit id of a user ("u_" + 24 hex): keyed, stable, opaque. CF_ESEALED while sealed. */
cf_rc vault_user_audit_id(cf_vault *v, int64_t user_id, char out[32]) CF_MUST_CHECK;

/* Members (vault_admin.c). */
/* Roles: a non-empty array of distinct labels, none an instance role. */
cf_rc vault_check_roles(json_t *roles, cf_err *err) CF_MUST_CHECK;
/* A member of org by username; CF_ENOTFOUND (not-found) when not a member. */
cf_rc vault_get_member(cf_tx *tx, const char *org, const char *username, cf_user_row *u, cf_member_row *m,
		       cf_err *err) CF_MUST_CHECK;
/* Runs tx-bound work's end: audit entry in the same transaction, commit (entry consumed). */
cf_rc vault_finish(cf_tx *tx, json_t *entry, cf_rc rc, cf_err *err) CF_MUST_CHECK;

/* Role helpers. */
bool vault_has_role(const cf_principal *p, const char *role);
bool vault_is_member(const cf_request *r, const char *org);

/* Identifier syntax. */
bool vault_org_id_valid(const char *s);
bool vault_username_valid(const char *s);
/* Opaque random identifier with a prefix, e.g. "r_" + 22 base64url chars. */
cf_rc vault_new_id(cf_vault *v, const char *prefix, char out[CF_ID_MAX + 1]) CF_MUST_CHECK;
/*
 * The same for records and subjects: ids made in the same minute share a
 * keyed two-byte prefix (vault_core.c). The clock and the random bytes are
 * env's (v->env, or an operation's random pool over it).
 */
cf_rc vault_new_local_id(cf_vault *v, const cf_env *env, const char *prefix, char out[CF_ID_MAX + 1]) CF_MUST_CHECK;

/* Collections and grants as stored (vault_admin.c). */
#include "policy/policy.h"
#include "schema/schema.h"
cf_rc vault_load_collection(cf_tx *tx, const char *org, const char *name, cf_collection **out,
			    cf_err *err) CF_MUST_CHECK;
/* The grants of one role (empty set when none were declared). */
cf_rc vault_load_grants(cf_tx *tx, const char *org, const char *role, cf_grant_set **out, cf_err *err) CF_MUST_CHECK;

/* What they are made from: the stored text (caller frees), and its parse (name NULL: grants). */
cf_rc vault_collection_text(cf_tx *tx, const char *org, const char *name, char **def, cf_err *err) CF_MUST_CHECK;
cf_rc vault_grants_text(cf_tx *tx, const char *org, const char *role, char **text, cf_err *err) CF_MUST_CHECK;
cf_rc vault_parse_def(const char *name, const char *text, void **out, cf_err *err) CF_MUST_CHECK;

/*
 * The same, parsed once and shared between requests (vault_defs.c): the
 * stored text is read in tx, and a parse is reused only for that exact
 * text. *out stays valid until vault_def_release(c, *hold).
 */
typedef struct vault_defs vault_defs;
typedef struct vault_def vault_def;
vault_defs *vault_defs_new(void);
void vault_defs_free(vault_defs *c);
cf_rc vault_collection_get(vault_defs *c, cf_tx *tx, const char *org, const char *name, const cf_collection **out,
			   vault_def **hold, cf_err *err) CF_MUST_CHECK;
cf_rc vault_grants_get(vault_defs *c, cf_tx *tx, const char *org, const char *role, const cf_grant_set **out,
		       vault_def **hold, cf_err *err) CF_MUST_CHECK;
void vault_def_release(vault_defs *c, vault_def *d);

/*
 * Checks that the caller may act on organization `org`: a member of `org`
 * (with role security_manager when need_sm), or the instance administrator
 * when allow_admin. Refusals are audited through vault_deny (entry consumed
 * on refusal only). For the administrator, the organization must exist.
 */
cf_rc vault_check_org(cf_vault *v, cf_request *r, const char *org, bool need_sm, bool allow_admin, json_t *entry,
		      cf_err *err) CF_MUST_CHECK;

/* Sharing and commitments (vault_sharing.c). */
/*
 * CF_OK when the caller's organization has no confidentiality commitment or
 * the caller accepted its current version; else CF_EDENIED with
 * problem commitment-required and a reason in err.
 */
cf_rc vault_commitment_check(cf_tx *tx, const cf_request *r, cf_err *err) CF_MUST_CHECK;

/* The outcome of resolving an agreement for a shared access. */
typedef struct vault_share {
	bool any;               /* some agreement (any state) exists from provider to consumer */
	cf_agreement_row agr;   /* the agreement chosen (valid when allowed) */
	cf_decision dec;        /* the decision under it */
	cf_problem problem;     /* when refused */
	char reason[240];
} vault_share;
void vault_share_release(vault_share *s);
/*
 * Finds the agreement under which the consumer (r->who.org) may read
 * collection c of provider for r->purpose (X-Agreement, if given, must
 * name it): active, within its dates, and allowed by the consumer's
 * agreement grants (roles/grants). Returns CF_OK with s->dec.allow set
 * either way; errors only for store failures. Never reads a record.
 */
cf_rc vault_share_resolve(cf_vault *v, cf_tx *tx, const cf_request *r, const char *provider, const cf_collection *c,
			  const char *const *roles, const cf_grant_set *const *grants, size_t n_roles, vault_share *s,
			  cf_err *err) CF_MUST_CHECK;
/* Records (vault_records.c). */
/* The subject's data key in org (caller frees); CF_ENOTFOUND / problem erased once crypto-shredded. */
cf_rc vault_subject_key(cf_vault *v, cf_tx *tx, const char *org, const char *pseudonym, cf_key **dek,
			cf_err *err) CF_MUST_CHECK;
/*
 * Opens the stored fields of row (at row->version) into a new object; only
 * fields with allowed[index in coll] when allowed is non-NULL. A field that
 * fails its integrity check fails the whole read (CF_EINTEGRITY). The
 * values are personal data: the caller wipes them (cf_json_wipe).
 */
cf_rc vault_open_fields(const cf_collection *coll, const cf_key *dek, const cf_record_row *row, const cf_field_ct *cts,
			size_t n, const bool *allowed, json_t **out, cf_err *err) CF_MUST_CHECK;

/*
 * Imports one record (fields already validated) in the caller's write
 * transaction: the subject found or created, fields sealed, version 1
 * inserted; row filled. No policy and no audit entry of its own.
 */
cf_rc vault_record_import(cf_vault *v, cf_tx *tx, const char *org, const cf_collection *coll, const char *nid,
			  json_t *fields, cf_record_row *row, cf_err *err) CF_MUST_CHECK;
/* The subject's national identifier (normalized, NUL-terminated), opened with its data key; the caller wipes it. */
cf_rc vault_subject_nid(cf_tx *tx, const char *org, const char *pseudonym, const cf_key *dek, char nid[CF_NID_LEN],
			cf_err *err) CF_MUST_CHECK;

/* Crypto-shreds a subject (data key destroyed, blind index and identifier forgotten) in tx (vault_rights.c). */
cf_rc vault_subject_shred(cf_tx *tx, const char *org, const char *subject, int64_t now_us, cf_err *err) CF_MUST_CHECK;

/* Today's date (UTC) as YYYY-MM-DD from the vault's clock. */
void vault_today(cf_vault *v, char out[11]);

#endif

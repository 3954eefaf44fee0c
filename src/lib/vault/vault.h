/*
 * vault.h - the core of coffre: every operation on organizations, users,
 * collections, grants, subjects and records goes through here, with its
 * authorization check and its audit entry. The HTTP layer only parses,
 * routes and answers; the CLI only calls the HTTP API.
 *
 * The vault holds the unsealed root key (or none while sealed), caches
 * organization keys in guarded memory, and never returns or logs a key.
 * Personal values exist in clear only inside a request, in memory that is
 * wiped when the answer has been built.
 */
#ifndef CF_VAULT_H
#define CF_VAULT_H

#include "common/cf.h"
#include "config/config.h"
#include <jansson.h>

typedef struct cf_vault cf_vault;

#define CF_USERNAME_MAX 64

/* The authenticated caller of one request. */
typedef struct cf_principal {
	bool authenticated;
	int64_t user_id;
	char username[CF_USERNAME_MAX + 1];
	char org[65];      /* "" for an instance-level session */
	json_t *roles;     /* array of strings: org roles, or instance roles; owned */
	bool is_admin;     /* instance administrator */
	char auth[16];     /* "password" | "api_key" */
	char token_hash[65];
	char audit_id[32]; /* how the trail names this user (see vault_user_audit_id) */
} cf_principal;

/* Per-request context: caller, client address, trace id, purpose. */
typedef struct cf_request {
	cf_principal who;
	const char *ip;
	const char *trace_id;
	const char *purpose; /* X-Purpose, or NULL */
	const char *agreement; /* X-Agreement, or NULL */
	/*
	 * keep_tx: authentication leaves its read transaction open in tx, for
	 * the operation to take as its own (one transaction, one snapshot per
	 * request). Only for routes whose operation begins with it: a second
	 * read transaction on the same thread could wait on this one's
	 * connection. Whoever is left holding tx rolls it back.
	 */
	bool keep_tx;
	struct cf_tx *tx;
} cf_request;

void cf_principal_release(cf_principal *p);
/* The end of a request: its principal, and the transaction if the operation did not take it. */
void cf_request_release(cf_request *r);

/* Root key protection chosen at init. */
typedef enum cf_seal_mode { CF_SEAL_DEV_KEYFILE, CF_SEAL_PASSPHRASE } cf_seal_mode;

/*
 * Creates a new vault in dir (created 0700 if absent; must be empty of a
 * previous vault): key hierarchy, store, configuration template, dev PKI
 * (dir/tls), instance administrator "admin" with a random one-time password
 * written to admin_password (NUL-terminated, caller wipes).
 */
cf_rc cf_vault_init(const char *dir, cf_seal_mode mode, const char *passphrase, size_t passlen, const char *listen,
		    const cf_env *env, char *admin_password, size_t pwsize, cf_err *err) CF_MUST_CHECK;

/* Opens an existing vault; unsealed at once in key-file mode, sealed in passphrase mode. */
cf_rc cf_vault_open(const char *dir, const cf_config *cfg, const cf_env *env, cf_vault **out,
		    cf_err *err) CF_MUST_CHECK;
void cf_vault_close(cf_vault *v);
bool cf_vault_sealed(cf_vault *v);
/* Unseals with the passphrase; CF_EUNAUTH when wrong. Already unsealed: CF_OK. */
cf_rc cf_vault_unseal(cf_vault *v, const char *pass, size_t passlen, cf_err *err) CF_MUST_CHECK;
/* false while the audit trail cannot be written; detail says why. */
bool cf_vault_audit_healthy(cf_vault *v, char *detail, size_t size);
/*
 * A request's handling begins or ends: while requests are being handled,
 * the trail may hold a batch of entries a little for theirs (cf_trail_request_begin).
 */
void cf_vault_request_begin(cf_vault *v);
void cf_vault_request_end(cf_vault *v);
/* Path of a file in the vault's directory (static buffer per call site is not used: writes into out). */
cf_rc cf_vault_path(const char *dir, const char *name, char *out, size_t outsize) CF_MUST_CHECK;

/* Authentication. */
cf_rc cf_vault_login(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_logout(cf_vault *v, cf_request *r, cf_err *err) CF_MUST_CHECK;
/* Resolves "Bearer ..." credentials into r->who. */
cf_rc cf_vault_authenticate(cf_vault *v, cf_request *r, const char *bearer, cf_err *err) CF_MUST_CHECK;
json_t *cf_vault_me(const cf_request *r);

/* Administration. Each checks the caller's right and writes an audit entry. */
cf_rc cf_vault_org_create(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_org_list(cf_vault *v, cf_request *r, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_org_get(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_user_add(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer,
			cf_err *err) CF_MUST_CHECK;
/* Search within the caller's scope (domain/subdivision managers are held to theirs); filters optional. */
cf_rc cf_vault_user_list(cf_vault *v, cf_request *r, const char *org, const char *domain, const char *subdivision,
			 const char *query, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_user_delete(cf_vault *v, cf_request *r, const char *org, const char *username, cf_err *err) CF_MUST_CHECK;

/* Delegated administration (policy/admin.h decides): domains, subdivisions, their managers. */
cf_rc cf_vault_domain_put(cf_vault *v, cf_request *r, const char *org, const char *domain, json_t *body,
			  json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_domain_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_domain_contact(cf_vault *v, cf_request *r, const char *org, const char *domain, json_t *body,
			      json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_domain_technical(cf_vault *v, cf_request *r, const char *org, const char *domain, json_t *body,
				json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_subdivision_put(cf_vault *v, cf_request *r, const char *org, const char *domain, const char *sub,
			       json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_manager_put(cf_vault *v, cf_request *r, const char *org, const char *domain, const char *username,
			   json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_manager_remove(cf_vault *v, cf_request *r, const char *org, const char *domain, const char *username,
			      cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_user_get(cf_vault *v, cf_request *r, const char *org, const char *username, json_t **answer,
			cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_user_patch(cf_vault *v, cf_request *r, const char *org, const char *username, json_t *body,
			  json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_apikey_create(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer,
			     cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_apikey_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_apikey_revoke(cf_vault *v, cf_request *r, const char *org, const char *id, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_collection_put(cf_vault *v, cf_request *r, const char *org, const char *name, json_t *body,
			      json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_collection_get(cf_vault *v, cf_request *r, const char *org, const char *name, json_t **answer,
			      cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_collection_list(cf_vault *v, cf_request *r, const char *org, json_t **answer,
			       cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_grants_put(cf_vault *v, cf_request *r, const char *org, const char *role, json_t *body,
			  json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_grants_get(cf_vault *v, cf_request *r, const char *org, const char *role, json_t **answer,
			  cf_err *err) CF_MUST_CHECK;

/* Instance-level users (auditors, the sharing authority): the administrator only. */
cf_rc cf_vault_instance_user_add(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;

/*
 * The audit trail, for auditors: an organization's auditors see the entries
 * that concern their organization, instance auditors all of them. Every
 * read of the trail is itself an entry.
 */
cf_rc cf_vault_audit_checkpoint(cf_vault *v, cf_request *r, char **note, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_audit_key(cf_vault *v, cf_request *r, char **key, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_audit_entries(cf_vault *v, cf_request *r, const char *start, const char *end, json_t **answer,
			     cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_audit_inclusion(cf_vault *v, cf_request *r, const char *index, const char *tree_size,
			       json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_audit_consistency(cf_vault *v, cf_request *r, const char *first, const char *second,
				 json_t **answer, cf_err *err) CF_MUST_CHECK;
/* A subject's access report, for the organization's data protection officer. */
cf_rc cf_vault_subject_access_log(cf_vault *v, cf_request *r, const char *org, const char *subject,
				  json_t **answer, cf_err *err) CF_MUST_CHECK;

/* Sharing agreements (the instance-level authority records them). */
cf_rc cf_vault_agreement_create(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_agreement_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_agreement_get(cf_vault *v, cf_request *r, const char *id, json_t **answer, cf_err *err) CF_MUST_CHECK;
/* status: "suspended", "active" (resume) or "revoked" (final). */
cf_rc cf_vault_agreement_set_status(cf_vault *v, cf_request *r, const char *id, const char *status, json_t **answer,
				    cf_err *err) CF_MUST_CHECK;

/*
 * The map of data flows between organizations: every agreement with the
 * number of shared accesses served under it between from and to (dates,
 * inclusive, NULL = open). For the authority and instance auditors.
 */
cf_rc cf_vault_report_flows(cf_vault *v, cf_request *r, const char *from, const char *to, json_t **answer,
			    cf_err *err) CF_MUST_CHECK;

/*
 * The register of processing activities: every organization's collections,
 * fields and categories, purposes and legal bases, retention, recipients
 * under agreements, what it receives, storage and security measures. org
 * NULL: every organization (instance administrator, authority, auditors);
 * a member (DPO, security manager, auditor) reads their own. Audited.
 */
cf_rc cf_vault_report_processing(cf_vault *v, cf_request *r, const char *org, json_t **answer,
				 cf_err *err) CF_MUST_CHECK;

/* Confidentiality commitment (seed norm 7.1). */
cf_rc cf_vault_commitment_put(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer,
			      cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_commitment_get(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_my_commitment(cf_vault *v, cf_request *r, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_commitment_accept(cf_vault *v, cf_request *r, json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;

/*
 * Citizens' rights, for the organization's data protection officer:
 * erasure requests (approval crypto-shreds the subject's data key and
 * forgets the blind index, and answers an erasure certificate), legal
 * holds (which suspend erasure), and the export of everything held about a
 * subject (JSON, or a readable Markdown document when markdown is true).
 */
cf_rc cf_vault_erasure_request(cf_vault *v, cf_request *r, const char *org, const char *subject, json_t *body,
			       json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_erasure_list(cf_vault *v, cf_request *r, const char *org, const char *subject, json_t **answer,
			    cf_err *err) CF_MUST_CHECK;
/* approve: true to approve, false to refuse. */
cf_rc cf_vault_erasure_decide(cf_vault *v, cf_request *r, const char *org, const char *subject, const char *id,
			      bool approve, json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_hold_put(cf_vault *v, cf_request *r, const char *org, const char *subject, json_t *body,
			json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_hold_release(cf_vault *v, cf_request *r, const char *org, const char *subject, const char *id,
			    json_t **answer, cf_err *err) CF_MUST_CHECK;
/* format: NULL, "json" or "markdown" (the caller renders it); another value is refused once the caller is known. */
cf_rc cf_vault_subject_export(cf_vault *v, cf_request *r, const char *org, const char *subject, const char *format,
			      json_t **answer, cf_err *err) CF_MUST_CHECK;

/*
 * Retention. One sweep disposes of every record whose retention has ended
 * (see vault_retention.c), in batches of cfg.retention_batch, each with a
 * disposal record and an audit entry; *disposed says how many. CF_ESEALED
 * while sealed. The sweeper thread runs a sweep at start and then every
 * cfg.retention_sweep_interval_seconds until the vault is closed.
 */
cf_rc cf_vault_retention_sweep(cf_vault *v, int64_t *disposed, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_sweeper_start(cf_vault *v, cf_err *err) CF_MUST_CHECK;
/* Sweeps completed since start (health, tests). */
int64_t cf_vault_retention_sweeps(cf_vault *v);
/* The organization's disposal records, newest first (its DPO and auditors). */
cf_rc cf_vault_disposal_list(cf_vault *v, cf_request *r, const char *org, json_t **answer, cf_err *err) CF_MUST_CHECK;

/*
 * Datasets for non-production environments. The export, for the
 * organization's DPO, replaces every identifier and personal value with a
 * format-valid synthetic one (consistent across records). The import, for
 * its security manager, loads such a dataset; production refuses it, and
 * a vault that imported one refuses to open in production.
 */
/* pseudonymize must be "true": the only form exported says so explicitly (refused once the caller is known). */
cf_rc cf_vault_dataset_export(cf_vault *v, cf_request *r, const char *org, const char *pseudonymize, json_t **answer,
			      cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_dataset_import(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer,
			      cf_err *err) CF_MUST_CHECK;

/* Personal data. Each requires r->purpose and writes its audit entry before answering. */
cf_rc cf_vault_record_create(cf_vault *v, cf_request *r, const char *org, const char *coll, json_t *body,
			     json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_record_get(cf_vault *v, cf_request *r, const char *org, const char *coll, const char *id,
			  json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_record_patch(cf_vault *v, cf_request *r, const char *org, const char *coll, const char *id,
			    json_t *body, json_t **answer, cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_record_delete(cf_vault *v, cf_request *r, const char *org, const char *coll, const char *id,
			     cf_err *err) CF_MUST_CHECK;
cf_rc cf_vault_subject_lookup(cf_vault *v, cf_request *r, const char *org, json_t *body, json_t **answer,
			      cf_err *err) CF_MUST_CHECK;

#endif

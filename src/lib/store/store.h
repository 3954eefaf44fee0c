/*
 * store.h - the one persistence interface of coffre. SQLite is behind it
 * (store_sqlite.c); nothing above this header knows SQL or SQLite, and no
 * SQL exists outside this module. The keystore (wrapped keys) lives in its
 * own file, DIR/keys.db, apart from the records in DIR/vault.db, so that a
 * copy of the record store never carries a key.
 *
 * Every operation runs inside a transaction (cf_tx). A transaction holds the
 * store for its thread until commit or rollback; waits are bounded
 * (busy timeout), after which CF_ESTORE is returned: the store never hangs
 * a request. The store stores only what it is given: ciphertexts, hashes,
 * pseudonyms, blind indexes. It never sees a plaintext personal value.
 *
 * Strings returned through out-parameters are malloc'd and owned by the
 * caller; row structs are released with their _release function.
 * Lookups of a missing object return CF_ENOTFOUND; inserting a duplicate
 * returns CF_EEXIST; any SQLite failure returns CF_ESTORE with the detail.
 */
#ifndef CF_STORE_H
#define CF_STORE_H

#include "common/cf.h"
#include <jansson.h>

typedef struct cf_store cf_store;
typedef struct cf_tx cf_tx;

#define CF_ID_MAX 64        /* org ids, record ids, pseudonyms, key names */

typedef struct cf_store_options {
	int busy_timeout_ms; /* bounded wait for locks; default 5000 when 0 */
	/*
	 * PRAGMA synchronous=FULL (durable commit; the writer's connection then
	 * writes each commit's log pages in one call, store_vfs.c); NORMAL when
	 * false.
	 */
	bool sync_full;
	/*
	 * Read-only connections beside the writer's (0 to CF_STORE_MAX_READERS):
	 * read transactions then run on one of them and never wait for a write
	 * transaction, its commit or its sync (WAL readers see the last commit).
	 * 0: reads share the writer's connection and lock.
	 */
	int readers;
	/*
	 * This connection reads whole tables in order (offline verification):
	 * the database files are read ahead, 64 KiB per system call instead
	 * of a page, each block kept until the transaction ends
	 * (store_vfs.c says why that cannot serve a stale page).
	 */
	bool scan_reads;
	/*
	 * This process writes the audit trail: opening fails when another
	 * process holds the store's audit journal (a second daemon on the same
	 * directory). Without it, such an opener reads the tables only.
	 */
	bool own_trail;
} cf_store_options;
#define CF_STORE_MAX_READERS 64

/*
 * Opens (creating if needed, mode 0600) DIR/vault.db and DIR/keys.db, sets
 * WAL, foreign keys, secure_delete, and migrates the schema (user_version).
 * `opts` may be NULL for defaults.
 */
cf_rc cf_store_open(const char *dir, const cf_env *env, const cf_store_options *opts, cf_store **out,
		    cf_err *err) CF_MUST_CHECK;
void cf_store_close(cf_store *s);
/*
 * Tests only: the keystore's synchronous setting ("OFF", "NORMAL", "FULL"
 * or "EXTRA"; NULL: the store's own) for connections opened from now on,
 * so that a test can watch the store refuse to open a connection whose
 * setting is not the one the store needs. Any other text is ignored.
 */
void cf_store_set_keystore_sync_for_tests(const char *setting);

/* Begin a transaction (write=true: immediate write lock). */
cf_rc cf_store_begin(cf_store *s, bool write, cf_tx **out, cf_err *err) CF_MUST_CHECK;
/*
 * Begin a transaction that only appends audit entries (cf_st_audit_append;
 * it reads and writes no table: the tree's edge is kept in memory). Its
 * commit writes the entries to the audit journal with one write and one
 * sync: they are durable then, and a move (cf_store_move_journal) or the
 * next write transaction inserts them into the tables before anything
 * else. It does not hold the database connection, so a move on another
 * thread runs meanwhile. Fails at commit in a process that does not hold
 * the journal.
 */
cf_rc cf_store_begin_append(cf_store *s, cf_tx **out, cf_err *err) CF_MUST_CHECK;
/*
 * Inserts the journal's first max entries (CF_STORE_FLUSH_ALL: all of them)
 * into the tables now, in one write transaction; nothing to do when the
 * journal holds nothing the tables lack. wait: for another connection's
 * lock on the database, up to the busy timeout (else fail at once).
 * Any failure is CF_EAUDIT: the trail cannot be written.
 */
#define CF_STORE_FLUSH_ALL SIZE_MAX
cf_rc cf_store_flush_journal(cf_store *s, size_t max, bool wait, cf_err *err) CF_MUST_CHECK;
/*
 * The same move of at most max entries (their number in *moved), in a
 * transaction that lets journal appends (cf_store_begin_append) run
 * meanwhile, on other threads: the entries appended during it stay in the
 * journal for the next move. A write transaction still waits for it.
 */
cf_rc cf_store_move_journal(cf_store *s, size_t max, bool wait, size_t *moved, cf_err *err) CF_MUST_CHECK;
/* Entries in the journal not yet in the tables. */
size_t cf_store_journal_backlog(cf_store *s);
/* Checkpoints of the write-ahead log the store's own thread completed (-1: no such thread: no readers). */
int64_t cf_store_checkpoints(cf_store *s);
/* Commit; the tx is freed whatever the result. On failure, everything is rolled back. */
cf_rc cf_tx_commit(cf_tx *tx, cf_err *err) CF_MUST_CHECK;
/* Roll back and free; NULL is fine. */
void cf_tx_rollback(cf_tx *tx);

/* Instance metadata, key -> text value. */
cf_rc cf_st_meta_get(cf_tx *tx, const char *key, char **value, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_meta_set(cf_tx *tx, const char *key, const char *value, cf_err *err) CF_MUST_CHECK;

/* Organizations. */
cf_rc cf_st_org_insert(cf_tx *tx, const char *id, const char *name, int64_t now_us, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_org_get(cf_tx *tx, const char *id, char **name, cf_err *err) CF_MUST_CHECK;
/* [{"id","name","created_us"}] ordered by id; new reference. */
cf_rc cf_st_org_list(cf_tx *tx, json_t **out, cf_err *err) CF_MUST_CHECK;

/* Users (global: a person may be a member of several organizations). */
typedef struct cf_user_row {
	int64_t id;
	char *username;
	char *pwhash;          /* Argon2id string, or NULL for users that log in otherwise */
	char *instance_roles;  /* JSON array text, e.g. ["admin"] or [] */
	int failed_logins;
	int64_t locked_until_us;
	int64_t created_us;
} cf_user_row;
void cf_user_row_release(cf_user_row *u);

cf_rc cf_st_user_insert(cf_tx *tx, const char *username, const char *pwhash, const char *instance_roles_json,
			int64_t now_us, int64_t *id_out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_user_get(cf_tx *tx, const char *username, cf_user_row *out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_user_get_by_id(cf_tx *tx, int64_t id, cf_user_row *out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_user_set_login_state(cf_tx *tx, int64_t id, int failed_logins, int64_t locked_until_us,
				 cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_user_set_password(cf_tx *tx, int64_t id, const char *pwhash, cf_err *err) CF_MUST_CHECK;
/* Users with a non-empty instance_roles: [{"username","roles":[..],"created_us"}]. */
cf_rc cf_st_user_list_instance(cf_tx *tx, json_t **out, cf_err *err) CF_MUST_CHECK;

/* Memberships: a user's roles in one organization. */
typedef struct cf_member_row {
	int64_t user_id;
	char *org;
	char *roles;        /* JSON array text */
	bool blocked;
	int64_t created_us;
	/* delegated administration: where the member sits and what they manage (NULL when unset) */
	char *domain;       /* domain of activity ("quality") */
	char *subdivision;  /* subdivision inside the domain */
	char *admin_level;  /* "local", "co_local" or "subdivision" (managers of domain/subdivision), else NULL */
	char *language;     /* attribute, e.g. "fr" */
	char *email;        /* attribute */
	char *collections;  /* attribute: JSON array of the collections the member may reach, NULL = no restriction */
} cf_member_row;
void cf_member_row_release(cf_member_row *m);

cf_rc cf_st_member_insert(cf_tx *tx, int64_t user_id, const char *org, const char *roles_json, int64_t now_us,
			  cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_member_get(cf_tx *tx, int64_t user_id, const char *org, cf_member_row *out, cf_err *err) CF_MUST_CHECK;
/* roles_json NULL keeps the roles; blocked < 0 keeps the flag. */
cf_rc cf_st_member_update(cf_tx *tx, int64_t user_id, const char *org, const char *roles_json, int blocked,
			  cf_err *err) CF_MUST_CHECK;
/* [{"username","roles":[..],"blocked":bool,"created_us"}] ordered by username. */
cf_rc cf_st_member_list(cf_tx *tx, const char *org, json_t **out, cf_err *err) CF_MUST_CHECK;

/* Session tokens, stored by the hash of the token. */
typedef struct cf_token_row {
	char hash[65];
	int64_t user_id;
	char *org;        /* NULL for an instance-level session */
	char method[16];  /* "password" */
	int64_t created_us;
	int64_t expires_us;
} cf_token_row;
void cf_token_row_release(cf_token_row *t);
cf_rc cf_st_token_insert(cf_tx *tx, const cf_token_row *t, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_token_get(cf_tx *tx, const char *hash, cf_token_row *out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_token_delete(cf_tx *tx, const char *hash, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_token_purge_expired(cf_tx *tx, int64_t now_us, cf_err *err) CF_MUST_CHECK;

/* API keys for technical users, stored by the hash of the secret. */
typedef struct cf_apikey_row {
	char id[CF_ID_MAX + 1];
	char hash[65];
	int64_t user_id;
	char *org;
	char *description;
	int64_t created_us;
	bool revoked;
} cf_apikey_row;
void cf_apikey_row_release(cf_apikey_row *k);
cf_rc cf_st_apikey_insert(cf_tx *tx, const cf_apikey_row *k, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_apikey_get(cf_tx *tx, const char *id, cf_apikey_row *out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_apikey_revoke(cf_tx *tx, const char *org, const char *id, cf_err *err) CF_MUST_CHECK;
/* [{"id","username","description","created_us","revoked"}] of one org. */
cf_rc cf_st_apikey_list(cf_tx *tx, const char *org, json_t **out, cf_err *err) CF_MUST_CHECK;

/* Collections: the normalized definition as JSON text; put bumps the version. */
cf_rc cf_st_collection_put(cf_tx *tx, const char *org, const char *name, const char *def_json, int64_t now_us,
			   int64_t *version_out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_collection_get(cf_tx *tx, const char *org, const char *name, char **def_json, int64_t *version,
			   cf_err *err) CF_MUST_CHECK;
/* [{"name","version","updated_us"}] ordered by name. */
cf_rc cf_st_collection_list(cf_tx *tx, const char *org, json_t **out, cf_err *err) CF_MUST_CHECK;

/* Grants of a role in an org, as normalized JSON text. get: CF_ENOTFOUND when none set. */
cf_rc cf_st_grants_put(cf_tx *tx, const char *org, const char *role, const char *grants_json, int64_t now_us,
		       cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_grants_get(cf_tx *tx, const char *org, const char *role, char **grants_json, cf_err *err) CF_MUST_CHECK;
/* {"role": [grants...], ...} for one org. */
cf_rc cf_st_grants_list(cf_tx *tx, const char *org, json_t **out, cf_err *err) CF_MUST_CHECK;

/* Subjects: found by keyed blind index, named by a per-organization pseudonym. */
cf_rc cf_st_subject_find(cf_tx *tx, const char *org, const char *blind_index, char pseudonym[CF_ID_MAX + 1],
			 cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_subject_insert(cf_tx *tx, const char *org, const char *pseudonym, const char *blind_index,
			   const uint8_t *enc_nid, size_t enc_len, int64_t now_us, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_subject_exists(cf_tx *tx, const char *org, const char *pseudonym, cf_err *err) CF_MUST_CHECK;

/* Records: metadata in clear, each field value a separate ciphertext. */
typedef struct cf_record_row {
	char id[CF_ID_MAX + 1];
	char org[CF_ID_MAX + 1];
	char collection[CF_ID_MAX + 1];
	char subject[CF_ID_MAX + 1]; /* pseudonym */
	int64_t version;             /* starts at 1 */
	int64_t created_us;
	int64_t updated_us;
} cf_record_row;

typedef struct cf_field_ct {
	char *name;
	uint8_t *ct;
	size_t len;
} cf_field_ct;
void cf_field_cts_free(cf_field_ct *f, size_t n);

/* Inserts a record at row->version with its field ciphertexts. */
cf_rc cf_st_record_insert(cf_tx *tx, const cf_record_row *row, const cf_field_ct *fields, size_t n,
			  cf_err *err) CF_MUST_CHECK;
/* The current version of a live record and its field ciphertexts (*fields malloc'd, cf_field_cts_free). */
cf_rc cf_st_record_get(cf_tx *tx, const char *org, const char *collection, const char *id, cf_record_row *row,
		       cf_field_ct **fields, size_t *n, cf_err *err) CF_MUST_CHECK;
/*
 * Stores a new version: row->version must be the current version + 1 (else
 * CF_EEXIST: a concurrent update won). Earlier versions are kept (history for
 * rectification); fields are the complete field set of the new version.
 */
cf_rc cf_st_record_update(cf_tx *tx, const cf_record_row *row, const cf_field_ct *fields, size_t n,
			  cf_err *err) CF_MUST_CHECK;
/* Deletes a record and every version's ciphertexts (secure_delete zeroes the pages). */
cf_rc cf_st_record_delete(cf_tx *tx, const char *org, const char *collection, const char *id,
			  cf_err *err) CF_MUST_CHECK;
/* [{"collection","id","version","created_us","updated_us"}] of one subject in one org. */
cf_rc cf_st_record_list_by_subject(cf_tx *tx, const char *org, const char *subject, json_t **out,
				   cf_err *err) CF_MUST_CHECK;
/*
 * Rectification history. Insert and update also record when each version
 * was written (insert: created_us, update: updated_us); delete removes those
 * times with the record.
 */
typedef struct cf_record_version {
	int64_t version;
	int64_t written_us;
	cf_field_ct *fields; /* that version's field ciphertexts, ordered by name */
	size_t n;
} cf_record_version;
void cf_record_versions_free(cf_record_version *v, size_t n);
/*
 * Every stored version of a live record, ascending by version, each with its
 * field ciphertexts (fields ordered by name). At most the LAST 1000
 * versions are returned (still ascending): older ones are left out.
 * CF_ENOTFOUND when the record does not exist; CF_EINTEGRITY when a
 * version's stored ciphertexts are malformed. *out is malloc'd (cf_record_versions_free); NULL and *n 0 on failure.
 */
#define CF_RECORD_HISTORY_MAX 1000
cf_rc cf_st_record_history(cf_tx *tx, const char *org, const char *collection, const char *id,
			   cf_record_version **out, size_t *n, cf_err *err) CF_MUST_CHECK;

/*
 * Keystore (DIR/keys.db): wrapped keys by (kind, org, name). kind is a short
 * label such as "org" or "subject"; org is "" for instance keys.
 */
cf_rc cf_st_key_put(cf_tx *tx, const char *kind, const char *org, const char *name, const uint8_t *wrapped,
		    size_t len, int64_t now_us, cf_err *err) CF_MUST_CHECK; /* CF_EEXIST if present */
cf_rc cf_st_key_get(cf_tx *tx, const char *kind, const char *org, const char *name, uint8_t **wrapped, size_t *len,
		    cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_key_delete(cf_tx *tx, const char *kind, const char *org, const char *name, cf_err *err) CF_MUST_CHECK;

/*
 * Audit trail: append-only entries, numbered from 0 in commit order, each
 * with its RFC 6962 leaf hash and the metadata used to filter it (the
 * organization of the actor and of the resource, the subject pseudonym;
 * never a personal value). The Merkle tree's perfect subtrees are stored as
 * nodes (level >= 1, index i covers leaves [i*2^level, (i+1)*2^level)),
 * each written by the append that completes it; level 0 is the leaf hash
 * column of the entries. Entries, nodes and checkpoints are append-only in
 * SQL too (triggers refuse UPDATE/DELETE).
 *
 * The store keeps the tree's right edge and size in memory: an append
 * numbers its entry and completes its nodes without a query, and
 * cf_st_audit_root answers the root without one.
 */
#define CF_HASH_LEN 32
typedef struct cf_audit_meta {
	const char *actor_org;    /* NULL for instance-level actors or unauthenticated callers */
	const char *resource_org; /* NULL when the entry concerns no organization */
	const char *subject;      /* pseudonym, or NULL */
} cf_audit_meta;

/* Appends at index = the current size (write transactions), storing the tree nodes it completes. */
cf_rc cf_st_audit_append(cf_tx *tx, const char *entry, size_t len, const uint8_t leaf[CF_HASH_LEN],
			 const cf_audit_meta *meta, int64_t *index_out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_audit_count(cf_tx *tx, int64_t *count, cf_err *err) CF_MUST_CHECK;
/* The root of the whole current tree and its size (RFC 9162 MTH; SHA-256("") when empty). */
cf_rc cf_st_audit_root(cf_tx *tx, int64_t *size, uint8_t root[CF_HASH_LEN], cf_err *err) CF_MUST_CHECK;
/* entry/len and leaf are optional (NULL to skip). */
cf_rc cf_st_audit_get(cf_tx *tx, int64_t index, char **entry, size_t *len, uint8_t leaf[CF_HASH_LEN],
		      cf_err *err) CF_MUST_CHECK;
/* Perfect-subtree hash; level 0 reads an entry's leaf hash. CF_ENOTFOUND when absent. */
cf_rc cf_st_audit_node_get(cf_tx *tx, int level, int64_t index, uint8_t hash[CF_HASH_LEN], cf_err *err) CF_MUST_CHECK;
/* Stores a node of level >= 1 (CF_EEXIST when present). */
cf_rc cf_st_audit_node_put(cf_tx *tx, int level, int64_t index, const uint8_t hash[CF_HASH_LEN],
			   cf_err *err) CF_MUST_CHECK;
/*
 * Streams entries start <= index < end in index order to fn (stops early
 * and returns fn's result when it is not CF_OK). For verification.
 */
typedef cf_rc (*cf_audit_scan_fn)(void *ctx, int64_t index, const char *entry, size_t len,
				  const uint8_t leaf[CF_HASH_LEN]);
cf_rc cf_st_audit_scan(cf_tx *tx, int64_t start, int64_t end, cf_audit_scan_fn fn, void *ctx,
		       cf_err *err) CF_MUST_CHECK;
/*
 * Nodes are stored in the order appends complete them: node (level, index)
 * is completed by entry (index + 1) * 2^level - 1, and its position is
 * that entry's index * 64 + level. False when level is outside
 * 1 .. CF_AUDIT_NODE_LEVEL_MAX or the subtree's leaves would pass 2^57.
 */
#define CF_AUDIT_NODE_LEVEL_MAX 56
bool cf_audit_node_pos(int level, int64_t index, int64_t *pos);
/*
 * A cursor over the stored nodes in position order from from_pos (at or
 * after it), for verification's one pass: it reads the nodes in the order
 * its recomputation completes them instead of searching for each. Close
 * every cursor before its transaction ends.
 */
typedef struct cf_audit_node_cursor cf_audit_node_cursor;
cf_rc cf_st_audit_node_cursor_open(cf_tx *tx, int64_t from_pos, cf_audit_node_cursor **out,
				   cf_err *err) CF_MUST_CHECK;
/*
 * CF_OK with the next stored node's position and hash; CF_EINTEGRITY, with
 * *pos set, when that node's stored hash is malformed (the cursor can go on
 * past it); CF_ENOTFOUND past the last.
 */
cf_rc cf_st_audit_node_cursor_next(cf_audit_node_cursor *c, int64_t *pos, uint8_t hash[CF_HASH_LEN],
				   cf_err *err) CF_MUST_CHECK;
void cf_st_audit_node_cursor_close(cf_audit_node_cursor *c);
/* Streams every stored node (level >= 1) to fn, ordered by level then index. */
typedef cf_rc (*cf_audit_node_fn)(void *ctx, int level, int64_t index, const uint8_t hash[CF_HASH_LEN]);
cf_rc cf_st_audit_nodes_scan(cf_tx *tx, cf_audit_node_fn fn, void *ctx, cf_err *err) CF_MUST_CHECK;
/*
 * Entries start <= index < end, at most `limit`, as [{"index":N,"entry":"<bytes>"}];
 * with org non-NULL only those whose actor_org or resource_org is org.
 */
cf_rc cf_st_audit_list(cf_tx *tx, int64_t start, int64_t end, const char *org, size_t limit, json_t **out,
		       cf_err *err) CF_MUST_CHECK;
/* Entries about one subject in one organization, ascending, at most limit: [{"index","entry"}]. */
cf_rc cf_st_audit_by_subject(cf_tx *tx, const char *org, const char *subject, size_t limit, json_t **out,
			     cf_err *err) CF_MUST_CHECK;

/* Signed checkpoints (C2SP tlog-checkpoint notes), one per tree size. */
cf_rc cf_st_checkpoint_put(cf_tx *tx, int64_t size, const uint8_t root[CF_HASH_LEN], const char *note,
			   int64_t now_us, cf_err *err) CF_MUST_CHECK; /* CF_EEXIST when that size has one */
/* The checkpoint with the largest size. CF_ENOTFOUND when none. */
cf_rc cf_st_checkpoint_latest(cf_tx *tx, int64_t *size, uint8_t root[CF_HASH_LEN], char **note,
			      cf_err *err) CF_MUST_CHECK;
/* The newest checkpoint whose size <= max_size (CF_ENOTFOUND when none). */
cf_rc cf_st_checkpoint_at_most(cf_tx *tx, int64_t max_size, int64_t *size, uint8_t root[CF_HASH_LEN], char **note,
			       cf_err *err) CF_MUST_CHECK;
/* Streams every checkpoint in ascending size to fn. */
typedef cf_rc (*cf_checkpoint_fn)(void *ctx, int64_t size, const uint8_t root[CF_HASH_LEN], const char *note);
cf_rc cf_st_checkpoint_scan(cf_tx *tx, cf_checkpoint_fn fn, void *ctx, cf_err *err) CF_MUST_CHECK;

/*
 * Sharing agreements between organizations (recorded by the instance-level
 * authority). Stored as given: the vault validates them. status is
 * "active", "suspended" or "revoked"; a revoked agreement never changes
 * again. accesses counts the shared reads served under the agreement.
 */
typedef struct cf_agreement_row {
	char id[CF_ID_MAX + 1];
	char provider[CF_ID_MAX + 1];
	char consumer[CF_ID_MAX + 1];
	char collection[CF_ID_MAX + 1];
	char *fields;      /* JSON array text (field names), "[]" when none */
	char *categories;  /* JSON array text, "[]" when none */
	char *purposes;    /* JSON array text, non-empty */
	char *legal_basis;
	char valid_from[11];  /* YYYY-MM-DD */
	char valid_until[11]; /* YYYY-MM-DD */
	int64_t max_accesses; /* -1: no cap */
	int64_t accesses;
	char status[16];
	int64_t created_us;
	int64_t changed_us;
} cf_agreement_row;
void cf_agreement_row_release(cf_agreement_row *a);

cf_rc cf_st_agreement_insert(cf_tx *tx, const cf_agreement_row *a, cf_err *err) CF_MUST_CHECK; /* CF_EEXIST on id */
cf_rc cf_st_agreement_get(cf_tx *tx, const char *id, cf_agreement_row *out, cf_err *err) CF_MUST_CHECK;
/* Sets status and changed_us (CF_ENOTFOUND when absent). */
cf_rc cf_st_agreement_set_status(cf_tx *tx, const char *id, const char *status, int64_t now_us,
				 cf_err *err) CF_MUST_CHECK;
/*
 * Adds one access if the cap allows it: CF_OK and *accesses_out = the new
 * count, or CF_ETOOBIG when max_accesses >= 0 and accesses >= max_accesses.
 */
cf_rc cf_st_agreement_count_access(cf_tx *tx, const char *id, int64_t *accesses_out, cf_err *err) CF_MUST_CHECK;
/*
 * Agreements as a JSON array of objects with every column (fields,
 * categories and purposes parsed as arrays; max_accesses null when -1),
 * ordered by created_us then id. Filters (NULL = any): provider, consumer,
 * collection; org matches provider OR consumer.
 */
cf_rc cf_st_agreement_list(cf_tx *tx, const char *provider, const char *consumer, const char *collection,
			   const char *org, json_t **out, cf_err *err) CF_MUST_CHECK;

/*
 * Confidentiality commitments (seed norm 7.1): each organization's text, in
 * versions 1, 2, ...; and who accepted which version when.
 */
/* Stores a new version (previous + 1, or 1) and returns it. */
cf_rc cf_st_commitment_put(cf_tx *tx, const char *org, const char *text, int64_t now_us, int64_t *version_out,
			   cf_err *err) CF_MUST_CHECK;
/* The current (highest) version; CF_ENOTFOUND when the org has none. text optional. */
cf_rc cf_st_commitment_current(cf_tx *tx, const char *org, int64_t *version, char **text, int64_t *created_us,
			       cf_err *err) CF_MUST_CHECK;
/* Records an acceptance (idempotent for the same user, org and version). */
cf_rc cf_st_commitment_accept(cf_tx *tx, int64_t user_id, const char *org, int64_t version, int64_t now_us,
			      cf_err *err) CF_MUST_CHECK;
/* The highest version this user accepted in org; CF_ENOTFOUND when none. */
cf_rc cf_st_commitment_accepted(cf_tx *tx, int64_t user_id, const char *org, int64_t *version,
				int64_t *accepted_us, cf_err *err) CF_MUST_CHECK;

/*
 * Delegated administration: an organization's domains of activity
 * ("qualities") and their subdivisions; where each member sits.
 */
cf_rc cf_st_domain_put(cf_tx *tx, const char *org, const char *id, const char *name, int64_t now_us,
		       cf_err *err) CF_MUST_CHECK; /* insert or rename */
/* {"id","name","contact_email"|null,"technical_user"|null} or CF_ENOTFOUND. */
cf_rc cf_st_domain_get(cf_tx *tx, const char *org, const char *id, json_t **out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_domain_list(cf_tx *tx, const char *org, json_t **out, cf_err *err) CF_MUST_CHECK; /* ordered by id */
cf_rc cf_st_domain_set_contact(cf_tx *tx, const char *org, const char *id, const char *email,
			       cf_err *err) CF_MUST_CHECK;
/* technical user by username (must be a member of org); NULL clears. */
cf_rc cf_st_domain_set_technical(cf_tx *tx, const char *org, const char *id, const char *username,
				 cf_err *err) CF_MUST_CHECK;
/* Subdivisions: insert or update name and collections (JSON array text of collection names). */
cf_rc cf_st_subdivision_put(cf_tx *tx, const char *org, const char *domain, const char *id, const char *name,
			    const char *collections_json, int64_t now_us, cf_err *err) CF_MUST_CHECK;
/* {"id","domain","name","blocked","collections":[...]} or CF_ENOTFOUND. */
cf_rc cf_st_subdivision_get(cf_tx *tx, const char *org, const char *id, json_t **out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_subdivision_list(cf_tx *tx, const char *org, const char *domain, json_t **out, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_subdivision_set_blocked(cf_tx *tx, const char *org, const char *id, bool blocked,
				    cf_err *err) CF_MUST_CHECK;
/*
 * A member's place and admin level (NULLs clear them). The domain and the
 * subdivision must exist (CF_ENOTFOUND), and the subdivision must belong
 * to the domain (CF_EINVAL).
 */
cf_rc cf_st_member_set_scope(cf_tx *tx, int64_t user_id, const char *org, const char *domain,
			     const char *subdivision, const char *admin_level, cf_err *err) CF_MUST_CHECK;
/* Attributes; NULL keeps a value, "" clears it. */
cf_rc cf_st_member_set_attributes(cf_tx *tx, int64_t user_id, const char *org, const char *language,
				  const char *email, cf_err *err) CF_MUST_CHECK;
/* Restricts the collections a member may reach (JSON array text of names); NULL lifts the restriction. */
cf_rc cf_st_member_set_collections(cf_tx *tx, int64_t user_id, const char *org, const char *collections_json,
				   cf_err *err) CF_MUST_CHECK;
/* Removes a membership (the user stays if they belong elsewhere). CF_ENOTFOUND when absent. */
cf_rc cf_st_member_delete(cf_tx *tx, int64_t user_id, const char *org, cf_err *err) CF_MUST_CHECK;
/*
 * Members of org, optionally only those of domain and/or subdivision and
 * whose username contains `query` (case-insensitive, NULL = all), at most
 * limit, ordered by username: [{"username","roles","blocked","domain",
 * "subdivision","admin_level","language","email"}] (absent values null).
 */
cf_rc cf_st_member_search(cf_tx *tx, const char *org, const char *domain, const char *subdivision, const char *query,
			  size_t limit, json_t **out, cf_err *err) CF_MUST_CHECK;

/*
 * Citizens' rights: erasure requests (crypto-shredding is done by the vault
 * with cf_st_key_delete; the store forgets the blind index) and legal holds.
 * status of a request: "pending", "approved" or "refused" (final).
 */
typedef struct cf_erasure_row {
	char id[CF_ID_MAX + 1];
	char org[CF_ID_MAX + 1];
	char subject[CF_ID_MAX + 1];
	char status[16];
	char *request_reason;  /* may be NULL */
	char *decision_reason; /* NULL while pending */
	char *requested_by;    /* username */
	char *decided_by;      /* username, NULL while pending */
	int64_t requested_us;
	int64_t decided_us;    /* 0 while pending */
} cf_erasure_row;
void cf_erasure_row_release(cf_erasure_row *e);
cf_rc cf_st_erasure_insert(cf_tx *tx, const cf_erasure_row *e, cf_err *err) CF_MUST_CHECK;
cf_rc cf_st_erasure_get(cf_tx *tx, const char *org, const char *id, cf_erasure_row *out, cf_err *err) CF_MUST_CHECK;
/* pending -> approved|refused; CF_EEXIST when already decided, CF_ENOTFOUND when absent. */
cf_rc cf_st_erasure_decide(cf_tx *tx, const char *org, const char *id, const char *status, const char *reason,
			   const char *decided_by, int64_t now_us, cf_err *err) CF_MUST_CHECK;
/* [{"id","subject","status","request_reason","decision_reason","requested_by","decided_by","requested_us","decided_us"}] */
cf_rc cf_st_erasure_list(cf_tx *tx, const char *org, const char *subject, json_t **out, cf_err *err) CF_MUST_CHECK;
/*
 * Forgets how to find a subject: clears its blind index and encrypted
 * national identifier and records when (subjects.erased_us). Idempotent.
 */
cf_rc cf_st_subject_erase(cf_tx *tx, const char *org, const char *pseudonym, int64_t now_us, cf_err *err) CF_MUST_CHECK;
/* CF_OK with *erased_us when the subject was erased, CF_ENOTFOUND when it exists and was not (or does not exist). */
cf_rc cf_st_subject_erased(cf_tx *tx, const char *org, const char *pseudonym, int64_t *erased_us,
			   cf_err *err) CF_MUST_CHECK;
/* Legal holds on a subject (record NULL) or on one record; released holds are kept. */
cf_rc cf_st_hold_put(cf_tx *tx, const char *org, const char *id, const char *subject, const char *record,
		     const char *reason, const char *by, int64_t now_us, cf_err *err) CF_MUST_CHECK;
/* CF_ENOTFOUND when absent or already released. */
cf_rc cf_st_hold_release(cf_tx *tx, const char *org, const char *id, int64_t now_us, cf_err *err) CF_MUST_CHECK;
/* CF_OK when an active hold covers the subject (subject-wide) or, with record non-NULL, that record; else CF_ENOTFOUND. */
cf_rc cf_st_hold_active(cf_tx *tx, const char *org, const char *subject, const char *record, cf_err *err) CF_MUST_CHECK;
/* [{"id","subject","record","reason","by","created_us","released_us"}] of a subject (all holds, released too). */
cf_rc cf_st_hold_list(cf_tx *tx, const char *org, const char *subject, json_t **out, cf_err *err) CF_MUST_CHECK;

/*
 * Retention: what the sweeper reads to find expired records, and the
 * disposal records it leaves behind (one per batch; written once, never
 * changed, never deleted, in SQL too). A disposal record names records by
 * id and pseudonym only, never a value.
 */
/*
 * Records of one collection in id order after `after_id` ("" = from the start), at most `limit` (1..10000):
 * [{"id","subject","version","created_us","updated_us"}]. With column "created" or "updated",
 * only records whose created_us / updated_us is < before_us; with column NULL, all of them.
 * Any other column name is CF_EINVAL (never interpolated into SQL: choose between two fixed statements).
 */
cf_rc cf_st_record_scan(cf_tx *tx, const char *org, const char *collection, const char *column, int64_t before_us,
			const char *after_id, size_t limit, json_t **out, cf_err *err) CF_MUST_CHECK;
/* Number of records in one collection of org (the register of processing). */
cf_rc cf_st_collection_record_count(cf_tx *tx, const char *org, const char *collection, int64_t *count,
				    cf_err *err) CF_MUST_CHECK;
/* Every subject of org by pseudonym: [{"pseudonym","erased":bool}] (pseudonyms only, never an identifier). */
cf_rc cf_st_subject_list(cf_tx *tx, const char *org, json_t **out, cf_err *err) CF_MUST_CHECK;
/* The subject's encrypted national identifier (malloc'd); CF_ENOTFOUND when absent or erased. */
cf_rc cf_st_subject_enc_nid(cf_tx *tx, const char *org, const char *pseudonym, uint8_t **enc, size_t *len,
			    cf_err *err) CF_MUST_CHECK;

/* Number of records a subject still has in org. */
cf_rc cf_st_subject_record_count(cf_tx *tx, const char *org, const char *subject, int64_t *count,
				 cf_err *err) CF_MUST_CHECK;
/* Every collection of every organization: [{"org","name","def"}] ordered by org, name (def is the stored JSON text). */
cf_rc cf_st_collection_list_all(cf_tx *tx, json_t **out, cf_err *err) CF_MUST_CHECK;

typedef struct cf_disposal_row {
	char org[CF_ID_MAX + 1];
	char id[CF_ID_MAX + 1];
	char collection[CF_ID_MAX + 1];
	const char *retention;       /* the collection's retention period, e.g. "P10Y" */
	const char *retention_start; /* what the period ran from, e.g. "created" or a date field */
	int64_t disposed_us;
	int64_t count;               /* >= 1: the number of items in records_json */
	const char *records_json;    /* [{"id":"r_...","subject":"s_...","expired_us":N[,"subject_forgotten":true]}, ...] */
	int64_t audit_index;         /* >= 0: the audit entry that reported the batch */
} cf_disposal_row;
/*
 * CF_EEXIST if the id exists in org; CF_ENOTFOUND if org does not exist;
 * records_json must parse as a JSON array else CF_EINVAL. Beyond that
 * contract (CF_EINVAL too): each item has exactly "id" and "subject"
 * (non-empty strings of at most CF_ID_MAX bytes), "expired_us" (an integer)
 * and optionally "subject_forgotten" (a boolean), nothing else; count is
 * the number of items. Stored compact with sorted keys.
 */
cf_rc cf_st_disposal_insert(cf_tx *tx, const cf_disposal_row *d, cf_err *err) CF_MUST_CHECK;
/*
 * The organization's disposal records, newest first (ties by id, descending), at most limit (1..1000):
 * [{"id","collection","retention","retention_start","disposed_us","count","records":[...parsed...],"audit_index"}].
 */
cf_rc cf_st_disposal_list(cf_tx *tx, const char *org, size_t limit, json_t **out, cf_err *err) CF_MUST_CHECK;

/*
 * Savepoints inside a write transaction: the group-commit writer runs each
 * request's work under one, so a failing request is undone alone and the
 * batch commits once. Nested savepoints are not needed.
 */
cf_rc cf_tx_savepoint(cf_tx *tx, cf_err *err) CF_MUST_CHECK;
cf_rc cf_tx_release(cf_tx *tx, cf_err *err) CF_MUST_CHECK;
/* Undoes everything since the savepoint and releases it. */
void cf_tx_rollback_to(cf_tx *tx);

/*
 * ---- Added by the store module (not in the original contract) ----
 * Integrity check of both files (PRAGMA quick_check on vault.db and
 * keys.db). Takes the store lock like a transaction (bounded wait).
 * CF_OK when both are sound, CF_EINTEGRITY when either is damaged,
 * CF_ESTORE when the check could not run.
 */
cf_rc cf_store_check(cf_store *s, cf_err *err) CF_MUST_CHECK;

#endif

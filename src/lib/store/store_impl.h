/*
 * store_impl.h - private to the store module: the connection and
 * transaction structs, the prepared-statement catalogue, and the small
 * helpers the store_*.c files share. Nothing outside src/lib/store may
 * include it: the rest of coffre sees only store.h and never SQLite.
 */
#ifndef CF_STORE_IMPL_H
#define CF_STORE_IMPL_H

#include "common/cf.h"
#include "store/store.h"
#include "merkle/merkle.h"

#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>

/* Every statement the store runs after open, by name; SQL text in store_sql.c. */
typedef enum cf_sti_id {
	STI_BEGIN_READ,
	STI_BEGIN_WRITE,
	STI_COMMIT,
	STI_ROLLBACK,
	STI_SAVEPOINT,
	STI_RELEASE,
	STI_ROLLBACK_TO,
	STI_META_GET,
	STI_META_SET,
	STI_ORG_INSERT,
	STI_ORG_GET,
	STI_ORG_LIST,
	STI_USER_INSERT,
	STI_USER_GET,
	STI_USER_GET_BY_ID,
	STI_USER_SET_LOGIN,
	STI_USER_SET_PASSWORD,
	STI_USER_LIST_INSTANCE,
	STI_MEMBER_INSERT,
	STI_MEMBER_GET,
	STI_MEMBER_UPDATE,
	STI_MEMBER_LIST,
	STI_MEMBER_SEARCH,
	STI_MEMBER_SET_SCOPE,
	STI_MEMBER_SET_ATTRIBUTES,
	STI_MEMBER_SET_COLLECTIONS,
	STI_MEMBER_DELETE,
	STI_TOKEN_INSERT,
	STI_TOKEN_GET,
	STI_TOKEN_DELETE,
	STI_TOKEN_PURGE,
	STI_APIKEY_INSERT,
	STI_APIKEY_GET,
	STI_APIKEY_REVOKE,
	STI_APIKEY_LIST,
	STI_COLLECTION_PUT,
	STI_COLLECTION_GET,
	STI_COLLECTION_LIST,
	STI_GRANTS_PUT,
	STI_GRANTS_GET,
	STI_GRANTS_LIST,
	STI_SUBJECT_FIND,
	STI_SUBJECT_INSERT,
	STI_SUBJECT_EXISTS,
	STI_RECORD_INSERT,
	STI_RECORD_GET,
	STI_RECORD_BUMP,
	STI_RECORD_DELETE,
	STI_RECORD_LIST_BY_SUBJECT,
	STI_RECORD_READ,
	STI_CTS_INSERT,
	STI_CTS_DELETE_ONE,
	STI_CTS_DELETE,
	STI_VERSION_INSERT,
	STI_VERSIONS_DELETE,
	STI_RECORD_HISTORY,
	STI_KEY_PUT,
	STI_KEY_GET,
	STI_KEY_DELETE,
	STI_AUDIT_APPEND,
	STI_AUDIT_COUNT,
	STI_AUDIT_GET,
	STI_AUDIT_LEAF_GET,
	STI_AUDIT_NODE_GET,
	STI_AUDIT_NODE_PUT,
	STI_AUDIT_SCAN,
	STI_AUDIT_NODES_SCAN,
	STI_AUDIT_LIST,
	STI_AUDIT_LIST_ORG,
	STI_AUDIT_BY_SUBJECT,
	STI_CHECKPOINT_PUT,
	STI_CHECKPOINT_LATEST,
	STI_CHECKPOINT_AT_MOST,
	STI_CHECKPOINT_SCAN,
	STI_AGREEMENT_INSERT,
	STI_AGREEMENT_GET,
	STI_AGREEMENT_EXISTS,
	STI_AGREEMENT_SET_STATUS,
	STI_AGREEMENT_COUNT_ACCESS,
	STI_AGREEMENT_LIST,
	STI_AGREEMENT_LIST_PROVIDER,
	STI_AGREEMENT_LIST_CONSUMER,
	STI_AGREEMENT_LIST_ORG,
	STI_COMMITMENT_PUT,
	STI_COMMITMENT_CURRENT,
	STI_COMMITMENT_ACCEPT,
	STI_COMMITMENT_ACCEPTED,
	STI_DOMAIN_PUT,
	STI_DOMAIN_GET,
	STI_DOMAIN_LIST,
	STI_DOMAIN_SET_CONTACT,
	STI_DOMAIN_SET_TECHNICAL,
	STI_DOMAIN_MEMBER_ID,
	STI_DOMAIN_CLEAR_TECHNICAL,
	STI_SUBDIVISION_PUT,
	STI_SUBDIVISION_GET,
	STI_SUBDIVISION_LIST,
	STI_SUBDIVISION_SET_BLOCKED,
	STI_SUBDIVISION_DOMAIN,
	STI_SUBJECT_ERASE,
	STI_SUBJECT_ERASED,
	STI_ERASURE_INSERT,
	STI_ERASURE_GET,
	STI_ERASURE_EXISTS,
	STI_ERASURE_DECIDE,
	STI_ERASURE_LIST,
	STI_ERASURE_LIST_SUBJECT,
	STI_HOLD_PUT,
	STI_HOLD_RELEASE,
	STI_HOLD_ACTIVE,
	STI_HOLD_LIST,
	STI_RECORD_SCAN,
	STI_RECORD_SCAN_CREATED,
	STI_RECORD_SCAN_UPDATED,
	STI_SUBJECT_RECORD_COUNT,
	STI_COLLECTION_LIST_ALL,
	STI_COLLECTION_RECORD_COUNT,
	STI_SUBJECT_LIST,
	STI_SUBJECT_ENC_NID,
	STI_DISPOSAL_INSERT,
	STI_DISPOSAL_LIST,
	STI__COUNT
} cf_sti_id;

/* SQL text of each statement (store_sql.c); every value is a bound parameter. */
extern const char *const cf_sti_sql[STI__COUNT];
/*
 * The schema scripts (constant text, no values): each file's version 1,
 * then the steps from one version to the next. main is at version 5, ks
 * at version 2.
 */
#define CF_STI_MAIN_VERSION 5
#define CF_STI_KS_VERSION 2
extern const char cf_sti_schema_main_v1[];
extern const char cf_sti_schema_main_v2[]; /* from 1 to 2 */
/* from 2 to 3: before, cf_sti_migrate_fields_v3, after */
extern const char cf_sti_schema_main_v3_before[];
extern const char cf_sti_schema_main_v3_after[];
extern const char cf_sti_schema_main_v4[]; /* from 3 to 4 */
extern const char cf_sti_schema_main_v5[]; /* from 4 to 5 */
/*
 * The name of coffre's VFS (store_vfs.c) reading database files ahead, or
 * gathering each commit's log writes into one call (exactly one of the
 * two); registered on first use. NULL if it cannot be.
 */
const char *cf_sti_vfs(bool scan_reads, bool batch_log_writes);
/* Packs each version's rows of record_fields into a record_cts blob (the migration's transaction, on s->db). */
cf_rc cf_sti_migrate_fields_v3(cf_store *s, cf_err *err) CF_MUST_CHECK;
extern const char cf_sti_schema_ks_v1[];
extern const char cf_sti_schema_ks_v2[]; /* from 1 to 2 */
/*
 * Entries per slice of the audit trail in the by-subject index, as a shift
 * (the index is keyed by idx >> this; changing it takes a schema version).
 */
#define CF_STI_AUDIT_SLICE_BITS 12
#define CF_STI_STR(x) #x
#define CF_STI_XSTR(x) CF_STI_STR(x)

/*
 * The audit journal (store_journal.c): entries made durable by one write and
 * one sync of a file of their own, ahead of the tables. A row is one entry
 * with what the tables index it by; a list keeps rows in index order with
 * the tree nodes they complete.
 */
typedef struct cf_jrow {
	struct cf_jrow *next;
	int64_t idx;
	uint8_t leaf[CF_HASH_LEN];
	const char *actor_org, *resource_org, *subject; /* NULL or inside this allocation */
	size_t len;
	char entry[]; /* len bytes, then the three ids, each NUL-terminated */
} cf_jrow;

typedef struct cf_jnode {
	int level;
	int64_t idx;
	uint8_t hash[CF_HASH_LEN];
} cf_jnode;

typedef struct cf_jlist {
	cf_jrow *head, *tail;
	size_t n;
	size_t bytes; /* frames' size in the journal */
	cf_jnode *nodes;
	size_t n_nodes, cap_nodes;
} cf_jlist;

struct cf_store {
	sqlite3 *db;
	pthread_mutex_t mu; /* the connection: held by the one open cf_tx that uses it */
	/*
	 * The journal's lock, on the writer's store: guards tree, tree_valid,
	 * the backlog, joff and jcut. A transaction on the writer's connection
	 * holds it from its beginning to its end, after mu, and so does a
	 * journal append, which holds mu only to reload the tree's edge from
	 * the tables. A move (cf_store_move_journal) holds mu alone, and this
	 * lock only while it reads the backlog's head and while it drops what
	 * it inserted: a move runs while the next entries are synced to the
	 * journal. Order: mu, then jmu.
	 */
	pthread_mutex_t jmu;
	int busy_timeout_ms;
	const cf_env *env;
	sqlite3_stmt *stmts[STI__COUNT]; /* prepared lazily, finalized at close */
	/*
	 * The audit tree's right edge (the perfect subtrees the trail's size
	 * decomposes into) and its size, so that an append needs neither a
	 * count nor a node lookup (store_audit.c). Guarded by jmu; loaded from
	 * the tables when not valid, and made not valid by the end of any
	 * transaction that appended without committing.
	 */
	cf_merkle_builder tree;
	bool tree_valid;
	/* read-only connections (each a cf_store of its own, is_reader set); read transactions go there */
	struct cf_store **readers;
	int n_readers;
	unsigned next_reader; /* round robin, atomically incremented */
	bool is_reader;
	/*
	 * The audit journal, on the writer's connection of the process that
	 * holds its lock (jfd -1 otherwise). backlog: entries synced to the
	 * journal and not yet in the tables, inserted by a move or by the next
	 * write transaction before anything else. joff: where the next frame
	 * goes. All three guarded by jmu.
	 */
	struct cf_sti_ckpt *ckpt; /* the checkpoint thread (store_checkpoint.c), writer's connection with readers only */
	int jfd;
	int64_t joff;
	bool jcut; /* a failed write may have left frames after joff: cut them off before the next */
	cf_jlist backlog;
	size_t backlog_count; /* backlog.n, published after each change for readers without the lock */
	char jpath[PATH_MAX];
};

struct cf_tx {
	cf_store *s;
	bool write;
	bool locked;  /* holds s->mu: the connection (a journal append only to reload the tree) */
	bool jlocked; /* holds s->jmu (every transaction on the writer's connection but a move) */
	bool appended; /* an audit entry was appended: s->tree follows this transaction */
	bool savepoint; /* "cf_job" is open (write transactions only, never nested) */
	/*
	 * Sticky: SQLite rolled the transaction back by itself, or a savepoint
	 * could not be undone. Nothing more runs in it and commit fails, even if
	 * the connection were somehow inside a transaction again.
	 */
	bool lost;
	/* cf_store_begin_append: appends go to the journal (pending), nothing else writes */
	bool journal;
	cf_jlist pending;
	cf_merkle_builder tree_before; /* the edge to restore when the journal write fails */
	/* rows and nodes of the backlog this transaction inserted (its first ones) */
	size_t flushed_rows, flushed_nodes;
};

/* store_journal.c */
/* The log's checkpoints on their own thread and connection conn (consumed, even on failure). */
typedef struct cf_sti_ckpt cf_sti_ckpt;
cf_rc cf_sti_ckpt_start(cf_store *s, cf_store *conn, cf_err *err) CF_MUST_CHECK;
void cf_sti_ckpt_stop(cf_store *s);

cf_rc cf_sti_journal_open(cf_store *s, const char *dir, bool own, cf_err *err) CF_MUST_CHECK;
void cf_sti_journal_close(cf_store *s);
/* A row for the journal's pending list (copies everything). */
cf_rc cf_sti_journal_add(cf_jlist *l, int64_t idx, const char *entry, size_t len, const uint8_t leaf[CF_HASH_LEN],
			 const char *actor_org, const char *resource_org, const char *subject, cf_err *err) CF_MUST_CHECK;
cf_rc cf_sti_journal_add_node(cf_jlist *l, int level, int64_t idx, const uint8_t hash[CF_HASH_LEN],
			      cf_err *err) CF_MUST_CHECK;
void cf_sti_journal_free(cf_jlist *l);
/* Writes and syncs tx's pending rows, then moves them to the backlog. */
cf_rc cf_sti_journal_commit(cf_tx *tx, cf_err *err) CF_MUST_CHECK;
/* Inserts the backlog's first max_rows entries (with the nodes they complete) into the tables inside write tx. */
cf_rc cf_sti_journal_flush(cf_tx *tx, size_t max_rows, cf_err *err) CF_MUST_CHECK;
/* tx committed: what it inserted leaves the backlog; an empty backlog starts the journal over. */
void cf_sti_journal_flushed(cf_tx *tx);
/* Inserts one row and its nodes (store_audit.c): the backlog's way into the tables. */
cf_rc cf_sti_audit_insert(cf_tx *tx, int64_t idx, const char *entry, size_t len, const uint8_t leaf[CF_HASH_LEN],
			  const cf_audit_meta *meta, cf_err *err) CF_MUST_CHECK;

/* Statements run outside the cached catalogue (several open at once): SQL text in store_sql.c. */
extern const char cf_sti_sql_node_cursor[];

/* Caps on what the store accepts (the layers above enforce tighter rules). */
#define CF_STI_NAME_MAX 256           /* usernames, meta keys */
#define CF_STI_TEXT_MAX 4096          /* descriptions, password hash strings */
#define CF_STI_JSON_MAX (1u << 20)    /* roles, definitions, grants, meta values */
#define CF_STI_BLOB_MAX (16u << 20)   /* one ciphertext, one audit entry, one wrapped key */
#define CF_STI_FIELDS_MAX 1024        /* fields in one record version */
#define CF_STI_CTS_MAX (128u << 20)   /* one version's ciphertexts, packed */
#define CF_STI_NOTE_MAX (64u << 10)   /* one signed checkpoint note */
#define CF_STI_LIST_MAX 10000         /* rows in one audit list answer (it is held in memory) */

/*
 * The cached statement `id` for a call inside tx, reset and ready to bind.
 * Fails when tx is not live (SQLite rolled it back after an I/O error),
 * when a statement that writes is used in a read transaction, and when the
 * statement is still stepping (a scan callback calling back into the same
 * scan would otherwise reset it under the scan's feet).
 */
cf_rc cf_sti_stmt(cf_tx *tx, cf_sti_id id, sqlite3_stmt **out, cf_err *err) CF_MUST_CHECK;
/* Resets a statement and drops its bindings, so no value outlives the call. */
void cf_sti_done(sqlite3_stmt *st);

/*
 * Maps an SQLite result code to a coffre one and fills err: unique/primary
 * key -> CF_EEXIST, foreign key -> CF_ENOTFOUND (a referenced object is
 * missing), check/not-null/type -> CF_EINVAL, out of memory -> CF_ENOMEM,
 * anything else -> CF_ESTORE. `what` names the object, never a value.
 */
cf_rc cf_sti_fail(cf_store *s, int src, const char *what, cf_err *err);

/* Binders that do nothing once *src is an error, so a call binds all then checks once. */
void cf_sti_bind_text(sqlite3_stmt *st, int *src, int i, const char *v); /* NULL binds NULL */
void cf_sti_bind_int(sqlite3_stmt *st, int *src, int i, int64_t v);
void cf_sti_bind_blob(sqlite3_stmt *st, int *src, int i, const void *p, size_t n);

/* Steps a statement that returns no row (or whose rows are ignored) to the end. */
cf_rc cf_sti_exec(cf_store *s, sqlite3_stmt *st, const char *what, cf_err *err) CF_MUST_CHECK;
/* Steps to the first row: CF_OK with a row, CF_ENOTFOUND when none. */
cf_rc cf_sti_row(cf_store *s, sqlite3_stmt *st, const char *what, cf_err *err) CF_MUST_CHECK;

/*
 * Steps an UPDATE/DELETE that must touch a row: CF_ENOTFOUND ("no such
 * <what>") when none matched. src is the binders' result, checked first.
 */
cf_rc cf_sti_exec_one(cf_tx *tx, sqlite3_stmt *st, int src, const char *what, cf_err *err) CF_MUST_CHECK;

/* Steps an INSERT ... RETURNING to its row: no row is a store failure, not "not found". */
cf_rc cf_sti_returning(cf_store *s, sqlite3_stmt *st, const char *what, cf_err *err) CF_MUST_CHECK;

/* A required text column, borrowed until the next step/reset. */
cf_rc cf_sti_col_text(sqlite3_stmt *st, int i, const char **out, cf_err *err) CF_MUST_CHECK;
/* A text column copied to a malloc'd string (*out NULL for SQL NULL when nullable). */
cf_rc cf_sti_col_dup(sqlite3_stmt *st, int i, bool nullable, char **out, cf_err *err) CF_MUST_CHECK;
/* A required text column copied into buf[cap] (CF_EINTEGRITY if it does not fit). */
cf_rc cf_sti_col_copy(sqlite3_stmt *st, int i, char *buf, size_t cap, cf_err *err) CF_MUST_CHECK;
/* A required blob column copied to malloc'd bytes (at least one byte allocated). */
cf_rc cf_sti_col_blob(sqlite3_stmt *st, int i, uint8_t **out, size_t *len, cf_err *err) CF_MUST_CHECK;

/* Argument checks: NULL, empty (unless allowed) and over-long strings are refused. */
cf_rc cf_sti_check_str(const char *v, const char *what, size_t max, bool allow_empty, cf_err *err) CF_MUST_CHECK;
#define cf_sti_check_id(v, what, err) cf_sti_check_str((v), (what), CF_ID_MAX, false, (err))
/*
 * cf_sti_check_str (non-empty) and valid UTF-8: for text that lists hand
 * out inside JSON, refused when stored rather than when listed.
 */
cf_rc cf_sti_check_text(const char *v, const char *what, size_t max, cf_err *err) CF_MUST_CHECK;
/*
 * JSON text that must parse (strict, duplicate keys refused) to `type`
 * (JSON_ARRAY or JSON_OBJECT); for roles, an array of non-empty strings.
 */
cf_rc cf_sti_check_json(const char *v, const char *what, json_type type, bool strings_only,
			cf_err *err) CF_MUST_CHECK;
/* The same check, then the value re-serialized compact (so "[ ]" is stored as "[]"). */
cf_rc cf_sti_canonical_json(const char *v, const char *what, json_type type, bool strings_only, char **out,
			    cf_err *err) CF_MUST_CHECK;
/* Parses stored JSON text for a list result; CF_EINTEGRITY if it no longer parses. */
cf_rc cf_sti_load_json(const char *text, const char *what, json_t **out, cf_err *err) CF_MUST_CHECK;
/* Appends a new reference (stolen, also on failure) to a list array. */
cf_rc cf_sti_append(json_t *arr, json_t *item, cf_err *err) CF_MUST_CHECK;
/*
 * Runs a bound statement (src: the binding result) and collects one JSON
 * item per row, built by item(), into a new array in *out. what names the
 * list in errors.
 */
typedef cf_rc (*cf_sti_item_fn)(sqlite3_stmt *st, json_t **item, cf_err *err);
cf_rc cf_sti_collect(cf_tx *tx, sqlite3_stmt *st, int src, const char *what, cf_sti_item_fn item, json_t **out,
		     cf_err *err) CF_MUST_CHECK;

#endif

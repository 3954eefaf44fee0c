/*
 * store_audit.c - the audit trail's storage: append-only entries with
 * their RFC 6962 leaf hashes and filter metadata, the stored perfect
 * subtrees of the Merkle tree, signed checkpoints, and the streaming scans
 * that verification walks. It keeps the hashes and bytes it is given; it
 * never computes a hash nor decides what an entry says (the audit and
 * merkle modules do).
 *
 * It must never change or remove what was written, never hold a whole
 * trail in memory (scans stream one row at a time from one statement), and
 * never put an entry's content or a metadata value into an error detail.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"

#include <limits.h>

#define NODE_LEVEL_MAX CF_AUDIT_NODE_LEVEL_MAX

/* ---- helpers ---- */

/* A 32-byte hash column copied into out; any other shape is damage the schema should have made impossible. */
static cf_rc col_hash(sqlite3_stmt *st, int i, uint8_t out[CF_HASH_LEN], cf_err *err)
{
	const void *p;

	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a stored audit hash is malformed");
	p = sqlite3_column_blob(st, i);
	if (sqlite3_column_bytes(st, i) != CF_HASH_LEN)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a stored audit hash is malformed");
	if (p == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory reading a column");
	memcpy(out, p, CF_HASH_LEN);
	return CF_OK;
}

/*
 * An entry column as bytes borrowed until the next step or reset, with a
 * NUL after its len bytes (SQLite adds it when asked for text), so that a
 * consumer treating the entry as a string cannot read past it.
 */
static cf_rc col_entry(cf_store *s, sqlite3_stmt *st, int i, const char **out, size_t *len, cf_err *err)
{
	const unsigned char *t;

	*out = NULL;
	*len = 0;
	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a stored audit entry is not a blob");
	t = sqlite3_column_text(st, i);
	*len = (size_t)sqlite3_column_bytes(st, i);
	if (t == NULL) {
		if (*len > 0 || sqlite3_errcode(s->db) == SQLITE_NOMEM)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory reading a column");
		t = (const unsigned char *)"";
	}
	*out = (const char *)t;
	return CF_OK;
}

/*
 * The entry bytes as a new JSON string. json_stringn returns NULL both for
 * invalid UTF-8 and when out of memory; the unchecked variant tells the
 * two apart. `stored` says whether bad bytes are the caller's (CF_EINVAL)
 * or came out of the database (CF_EINTEGRITY).
 */
static cf_rc entry_string(const void *p, size_t n, bool stored, json_t **out, cf_err *err)
{
	const char *text = (n == 0) ? "" : p;
	json_t *probe;

	*out = json_stringn(text, n);
	if (*out != NULL)
		return CF_OK;
	probe = json_stringn_nocheck(text, n);
	if (probe == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	json_decref(probe);
	if (stored)
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a stored audit entry is not UTF-8 text");
	return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: audit entry is not UTF-8 text");
}

/*
 * Steps an INSERT into a written-once table. The BEFORE INSERT trigger
 * sees an existing key before the primary key does, so both mean
 * CF_EEXIST (no other trigger fires on these inserts).
 */
static cf_rc insert_once(cf_store *s, sqlite3_stmt *st, const char *what, cf_err *err)
{
	int src = sqlite3_step(st);

	if (src == SQLITE_DONE)
		return CF_OK;
	if (src == SQLITE_CONSTRAINT_TRIGGER || src == SQLITE_CONSTRAINT_PRIMARYKEY)
		return cf_err_set(err, CF_EEXIST, CF_P_CONFLICT, "store: %s already exists", what);
	return cf_sti_fail(s, src, what, err);
}

static cf_rc check_range(int64_t start, int64_t end, cf_err *err)
{
	if (start < 0 || end < start)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: audit index range is invalid");
	return CF_OK;
}

/* A list answer is built in memory: its length is capped here, whatever the layers above allow. */
static cf_rc check_limit(size_t limit, cf_err *err)
{
	if (limit > CF_STI_LIST_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: an audit list holds at most %d entries",
				  CF_STI_LIST_MAX);
	return CF_OK;
}

static cf_rc check_meta(const cf_audit_meta *meta, cf_err *err)
{
	cf_rc rc = CF_OK;

	if (meta->actor_org != NULL)
		rc = cf_sti_check_id(meta->actor_org, "actor organization id", err);
	if (rc == CF_OK && meta->resource_org != NULL)
		rc = cf_sti_check_id(meta->resource_org, "resource organization id", err);
	if (rc == CF_OK && meta->subject != NULL)
		rc = cf_sti_check_id(meta->subject, "pseudonym", err);
	return rc;
}

/* ---- entries ---- */

static cf_rc tree_load(cf_tx *tx, cf_err *err);

typedef struct node_sink {
	cf_tx *tx;
	cf_rc rc;
	cf_err *err;
} node_sink;

/* The builder's completed subtrees go to the table (the first failure sticks). */
static void store_node(void *ctx, int level, int64_t index, const uint8_t hash[CF_HASH_LEN])
{
	node_sink *k = ctx;
	if (k->rc == CF_OK)
		k->rc = cf_st_audit_node_put(k->tx, level, index, hash, k->err);
}


/* A failure here is the caller's cue to refuse the audited operation (CF_EAUDIT is theirs to map). */
/* One entry row at idx (its nodes are the caller's): the table's trigger refuses any other position. */
cf_rc cf_sti_audit_insert(cf_tx *tx, int64_t idx, const char *entry, size_t len, const uint8_t leaf[CF_HASH_LEN],
			  const cf_audit_meta *meta, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	rc = cf_sti_stmt(tx, STI_AUDIT_APPEND, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_blob(st, &src, 1, entry, len);
	cf_sti_bind_blob(st, &src, 2, leaf, CF_HASH_LEN);
	cf_sti_bind_text(st, &src, 3, meta->actor_org);
	cf_sti_bind_text(st, &src, 4, meta->resource_org);
	cf_sti_bind_text(st, &src, 5, meta->subject);
	cf_sti_bind_int(st, &src, 6, idx);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "audit entry", err) : cf_sti_exec(tx->s, st, "audit entry", err);
	cf_sti_done(st);
	return rc;
}

/* The builder's completed subtrees join the journal's pending rows. */
static void pend_node(void *ctx, int level, int64_t index, const uint8_t hash[CF_HASH_LEN])
{
	node_sink *k = ctx;
	if (k->rc == CF_OK)
		k->rc = cf_sti_journal_add_node(&k->tx->pending, level, index, hash, k->err);
}

cf_rc cf_st_audit_append(cf_tx *tx, const char *entry, size_t len, const uint8_t leaf[CF_HASH_LEN],
			 const cf_audit_meta *meta, int64_t *index_out, cf_err *err)
{
	static const cf_audit_meta no_meta = {NULL, NULL, NULL};
	json_t *text = NULL;
	int64_t idx;
	cf_rc rc;

	if (index_out != NULL)
		*index_out = -1;
	if ((entry == NULL && len > 0) || len > CF_STI_BLOB_MAX)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: audit entry is invalid");
	if (leaf == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "store: audit leaf hash is missing");
	if (meta == NULL)
		meta = &no_meta;
	rc = check_meta(meta, err);
	if (rc != CF_OK)
		return rc;
	/* Lists hand entries out as JSON strings: bytes that cannot be one are refused now, not then. */
	rc = entry_string(entry, len, false, &text, err);
	json_decref(text);
	if (rc != CF_OK)
		return rc;
	if (!tx->write && !tx->journal)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: a write in a read transaction");
	rc = tree_load(tx, err);
	if (rc != CF_OK)
		return rc;
	idx = tx->s->tree.size;
	if (tx->journal) {
		/* to the journal with the nodes it completes; the commit writes and syncs them */
		node_sink k = {tx, CF_OK, err};
		rc = cf_sti_journal_add(&tx->pending, idx, entry == NULL ? "" : entry, len, leaf, meta->actor_org,
					meta->resource_org, meta->subject, err);
		if (rc != CF_OK)
			return rc;
		cf_merkle_builder_push(&tx->s->tree, leaf, pend_node, &k);
		rc = k.rc;
	} else {
		rc = cf_sti_audit_insert(tx, idx, entry, len, leaf, meta, err);
		if (rc != CF_OK)
			return rc;
		/* from here the cached edge follows this transaction: its end keeps it or drops it */
		tx->appended = true;
		node_sink k = {tx, CF_OK, err};
		cf_merkle_builder_push(&tx->s->tree, leaf, store_node, &k);
		rc = k.rc;
	}
	if (rc == CF_OK && index_out != NULL)
		*index_out = idx;
	return rc;
}

cf_rc cf_st_audit_count(cf_tx *tx, int64_t *count, cf_err *err)
{
	cf_rc rc;

	if (count == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*count = 0;
	rc = tree_load(tx, err);
	if (rc == CF_OK)
		*count = tx->s->tree.size;
	return rc;
}

/* *entry is malloc'd for the caller, NUL-terminated after its len bytes; on failure nothing is returned. */
cf_rc cf_st_audit_get(cf_tx *tx, int64_t index, char **entry, size_t *len, uint8_t leaf[CF_HASH_LEN], cf_err *err)
{
	sqlite3_stmt *st = NULL;
	uint8_t *bytes = NULL;
	size_t n = 0;
	int src = SQLITE_OK;
	cf_rc rc;

	if ((entry == NULL) != (len == NULL))
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: an entry and its length go together");
	if (entry != NULL) {
		*entry = NULL;
		*len = 0;
	}
	if (leaf != NULL)
		memset(leaf, 0, CF_HASH_LEN);
	rc = cf_sti_stmt(tx, STI_AUDIT_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, index);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "audit entry", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "audit entry", err);
	if (rc == CF_OK && entry != NULL)
		rc = cf_sti_col_blob(st, 0, &bytes, &n, err);
	if (rc == CF_OK && leaf != NULL)
		rc = col_hash(st, 1, leaf, err);
	if (rc != CF_OK)
		goto out;
	if (entry != NULL) {
		*entry = (char *)bytes;
		*len = n;
		bytes = NULL;
	}
out:
	free(bytes);
	if (rc != CF_OK && leaf != NULL)
		memset(leaf, 0, CF_HASH_LEN);
	cf_sti_done(st);
	return rc;
}

/* ---- Merkle tree nodes ---- */


/* Loads the right edge of the tree (its perfect subtrees, largest first) and its size. */
static cf_rc tree_load(cf_tx *tx, cf_err *err)
{
	cf_store *s = tx->s;
	sqlite3_stmt *st = NULL;
	int64_t size, offset = 0;
	int top = 0;
	cf_rc rc;

	/* a reader's connection does not see the writer's appends in its cache: it reads the tables each time */
	if (s->tree_valid && !s->is_reader)
		return CF_OK;
	rc = cf_sti_stmt(tx, STI_AUDIT_COUNT, &st, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_returning(s, st, "audit count", err);
	size = rc == CF_OK ? sqlite3_column_int64(st, 0) : 0;
	cf_sti_done(st);
	if (rc != CF_OK)
		return rc;
	cf_merkle_builder_init(&s->tree);
	for (int level = 62; level >= 0; level--) {
		if ((size & ((int64_t)1 << level)) == 0)
			continue;
		rc = cf_st_audit_node_get(tx, level, offset >> level, s->tree.stack[top], err);
		if (rc == CF_ENOTFOUND)
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: the audit tree lacks node (%d, %lld)",
					level, (long long)(offset >> level));
		if (rc != CF_OK)
			return rc;
		top++;
		offset += (int64_t)1 << level;
	}
	s->tree.size = size;
	/* the writer's edge also covers what of the journal's backlog the tables lack */
	if (!s->is_reader && s->backlog.n > 0) {
		int64_t first = s->backlog.head->idx;
		if (size < first || size > first + (int64_t)s->backlog.n)
			return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY,
					  "store: the audit journal does not follow the audit table");
		for (const cf_jrow *r = s->backlog.head; r != NULL; r = r->next)
			if (r->idx >= size)
				cf_merkle_builder_push(&s->tree, r->leaf, NULL, NULL);
	}
	s->tree_valid = !s->is_reader;
	return CF_OK;
}

cf_rc cf_st_audit_root(cf_tx *tx, int64_t *size, uint8_t root[CF_HASH_LEN], cf_err *err)
{
	cf_rc rc;

	if (size == NULL || root == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	rc = tree_load(tx, err);
	if (rc != CF_OK)
		return rc;
	*size = tx->s->tree.size;
	cf_merkle_builder_root(&tx->s->tree, root);
	return CF_OK;
}

bool cf_audit_node_pos(int level, int64_t index, int64_t *pos)
{
	if (level < 1 || level > CF_AUDIT_NODE_LEVEL_MAX || index < 0 ||
	    index >= ((int64_t)1 << (CF_AUDIT_NODE_LEVEL_MAX + 1 - level)))
		return false;
	*pos = ((((index + 1) << level) - 1) << 6) + level;
	return true;
}

cf_rc cf_st_audit_node_get(cf_tx *tx, int level, int64_t index, uint8_t hash[CF_HASH_LEN], cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t pos = 0;
	int src = SQLITE_OK;
	cf_rc rc;

	if (hash == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	memset(hash, 0, CF_HASH_LEN);
	/* Level 0 is the leaf hash column of the entries, not a stored node. */
	if (level != 0 && !cf_audit_node_pos(level, index, &pos))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: audit node level or index is out of range");
	rc = cf_sti_stmt(tx, level == 0 ? STI_AUDIT_LEAF_GET : STI_AUDIT_NODE_GET, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, level == 0 ? index : pos);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "audit node", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "audit node", err);
	if (rc == CF_OK)
		rc = col_hash(st, 0, hash, err);
	if (rc != CF_OK)
		memset(hash, 0, CF_HASH_LEN);
out:
	cf_sti_done(st);
	return rc;
}

/* CF_EEXIST when that node is already stored: nodes are written once. */
cf_rc cf_st_audit_node_put(cf_tx *tx, int level, int64_t index, const uint8_t hash[CF_HASH_LEN], cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t pos;
	int src = SQLITE_OK;
	cf_rc rc;

	if (hash == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "store: audit node hash is missing");
	if (!cf_audit_node_pos(level, index, &pos))
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: audit node level or index is out of range");
	rc = cf_sti_stmt(tx, STI_AUDIT_NODE_PUT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, pos);
	cf_sti_bind_int(st, &src, 2, level);
	cf_sti_bind_int(st, &src, 3, index);
	cf_sti_bind_blob(st, &src, 4, hash, CF_HASH_LEN);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "audit node", err)
				: insert_once(tx->s, st, "audit node", err);
	cf_sti_done(st);
	return rc;
}

/* ---- node cursor ---- */

struct cf_audit_node_cursor {
	cf_store *s;
	sqlite3_stmt *st;
};

/* *out is the caller's, closed with cf_st_audit_node_cursor_close. */
cf_rc cf_st_audit_node_cursor_open(cf_tx *tx, int64_t from_pos, cf_audit_node_cursor **out, cf_err *err)
{
	cf_audit_node_cursor *c;
	int src;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	if (from_pos < 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: audit node position out of range");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	c->s = tx->s;
	src = sqlite3_prepare_v2(tx->s->db, cf_sti_sql_node_cursor, -1, &c->st, NULL);
	if (src == SQLITE_OK)
		src = sqlite3_bind_int64(c->st, 1, from_pos);
	if (src != SQLITE_OK) {
		cf_rc rc = cf_sti_fail(tx->s, src, "audit node cursor", err);
		cf_st_audit_node_cursor_close(c);
		return rc;
	}
	*out = c;
	return CF_OK;
}

cf_rc cf_st_audit_node_cursor_next(cf_audit_node_cursor *c, int64_t *pos, uint8_t hash[CF_HASH_LEN], cf_err *err)
{
	int src;

	if (c == NULL || pos == NULL || hash == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no cursor");
	src = sqlite3_step(c->st);
	if (src == SQLITE_DONE)
		return CF_ENOTFOUND;
	if (src != SQLITE_ROW)
		return cf_sti_fail(c->s, src, "audit node cursor", err);
	*pos = sqlite3_column_int64(c->st, 0);
	return col_hash(c->st, 1, hash, err);
}

void cf_st_audit_node_cursor_close(cf_audit_node_cursor *c)
{
	if (c == NULL)
		return;
	(void)sqlite3_finalize(c->st);
	free(c);
}

/* ---- streaming scans ---- */

/*
 * One statement stepped row by row: memory stays flat however long the
 * trail. fn gets borrowed pointers valid for the call only; it may use the
 * transaction for other reads but must not start this same scan again
 * (refused) nor write the audit tables. When fn stops the scan, its result
 * is returned and err is left to fn's owner.
 */
cf_rc cf_st_audit_scan(cf_tx *tx, int64_t start, int64_t end, cf_audit_scan_fn fn, void *ctx, cf_err *err)
{
	uint8_t leaf[CF_HASH_LEN];
	sqlite3_stmt *st = NULL;
	const char *entry;
	size_t len;
	int src = SQLITE_OK;
	cf_rc rc;

	if (fn == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no scan callback");
	rc = check_range(start, end, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_AUDIT_SCAN, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, start);
	cf_sti_bind_int(st, &src, 2, end);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "audit scan", err);
		goto out;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = col_entry(tx->s, st, 1, &entry, &len, err);
		if (rc == CF_OK)
			rc = col_hash(st, 2, leaf, err);
		if (rc == CF_OK)
			rc = fn(ctx, sqlite3_column_int64(st, 0), entry, len, leaf);
		if (rc != CF_OK)
			goto out;
	}
	rc = (src == SQLITE_DONE) ? CF_OK : cf_sti_fail(tx->s, src, "audit scan", err);
out:
	cf_sti_done(st);
	return rc;
}

/* Same streaming and callback rules as cf_st_audit_scan. */
cf_rc cf_st_audit_nodes_scan(cf_tx *tx, cf_audit_node_fn fn, void *ctx, cf_err *err)
{
	uint8_t hash[CF_HASH_LEN];
	sqlite3_stmt *st = NULL;
	int64_t level;
	int src;
	cf_rc rc;

	if (fn == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no scan callback");
	rc = cf_sti_stmt(tx, STI_AUDIT_NODES_SCAN, &st, err);
	if (rc != CF_OK)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		level = sqlite3_column_int64(st, 0);
		if (level < 1 || level > NODE_LEVEL_MAX) {
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a stored audit node is malformed");
			goto out;
		}
		rc = col_hash(st, 2, hash, err);
		if (rc == CF_OK)
			rc = fn(ctx, (int)level, sqlite3_column_int64(st, 1), hash);
		if (rc != CF_OK)
			goto out;
	}
	rc = (src == SQLITE_DONE) ? CF_OK : cf_sti_fail(tx->s, src, "audit node scan", err);
out:
	cf_sti_done(st);
	return rc;
}

/* ---- lists ---- */

/* Steps a bound list statement (idx, entry) into [{"index":N,"entry":"..."}]; *out a new reference. */
static cf_rc list_rows(cf_tx *tx, sqlite3_stmt *st, const char *what, json_t **out, cf_err *err)
{
	json_t *arr = NULL, *text = NULL;
	const void *p;
	size_t n;
	int src;
	cf_rc rc;

	arr = json_array();
	if (arr == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 1) != SQLITE_BLOB) {
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: a stored audit entry is not a blob");
			goto out;
		}
		p = sqlite3_column_blob(st, 1);
		n = (size_t)sqlite3_column_bytes(st, 1);
		if (p == NULL && n > 0) {
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory reading a column");
			goto out;
		}
		rc = entry_string(p, n, true, &text, err);
		if (rc != CF_OK)
			goto out;
		/* "o" steals text, also when packing fails. */
		rc = cf_sti_append(arr,
				   json_pack("{s:I, s:o}", "index", (json_int_t)sqlite3_column_int64(st, 0), "entry",
					     text),
				   err);
		if (rc != CF_OK)
			goto out;
	}
	if (src != SQLITE_DONE) {
		rc = cf_sti_fail(tx->s, src, what, err);
		goto out;
	}
	*out = arr;
	arr = NULL;
	rc = CF_OK;
out:
	json_decref(arr);
	return rc;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_audit_list(cf_tx *tx, int64_t start, int64_t end, const char *org, size_t limit, json_t **out,
		       cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = check_range(start, end, err);
	if (rc == CF_OK)
		rc = check_limit(limit, err);
	if (rc == CF_OK && org != NULL)
		rc = cf_sti_check_id(org, "organization id", err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, org != NULL ? STI_AUDIT_LIST_ORG : STI_AUDIT_LIST, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, start);
	cf_sti_bind_int(st, &src, 2, end);
	cf_sti_bind_int(st, &src, 3, (int64_t)limit); /* capped above: never negative (no limit at all to SQLite) */
	if (org != NULL)
		cf_sti_bind_text(st, &src, 4, org);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "audit list", err)
				: list_rows(tx, st, "audit list", out, err);
	cf_sti_done(st);
	return rc;
}

/* *out is a new reference for the caller. */
cf_rc cf_st_audit_by_subject(cf_tx *tx, const char *org, const char *subject, size_t limit, json_t **out,
			     cf_err *err)
{
	sqlite3_stmt *st = NULL;
	json_t *all;
	int64_t size;
	int src = SQLITE_OK;
	cf_rc rc;

	if (out == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no output");
	*out = NULL;
	rc = cf_sti_check_id(org, "organization id", err);
	if (rc == CF_OK)
		rc = cf_sti_check_id(subject, "pseudonym", err);
	if (rc == CF_OK)
		rc = check_limit(limit, err);
	if (rc != CF_OK)
		return rc;
	/* the tables' size (not the writer's cached edge): slices up to the last entry stored */
	rc = cf_sti_stmt(tx, STI_AUDIT_COUNT, &st, err);
	if (rc == CF_OK)
		rc = cf_sti_returning(tx->s, st, "audit count", err);
	size = rc == CF_OK ? sqlite3_column_int64(st, 0) : 0;
	cf_sti_done(st);
	if (rc != CF_OK)
		return rc;
	all = json_array();
	if (all == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	/* the index is keyed by slice first: one lookup per slice, oldest first, until the limit */
	for (int64_t slice = 0; size > 0 && slice <= (size - 1) >> CF_STI_AUDIT_SLICE_BITS && rc == CF_OK &&
				json_array_size(all) < limit;
	     slice++) {
		json_t *part = NULL;
		rc = cf_sti_stmt(tx, STI_AUDIT_BY_SUBJECT, &st, err);
		if (rc != CF_OK)
			break;
		cf_sti_bind_text(st, &src, 1, org);
		cf_sti_bind_text(st, &src, 2, subject);
		cf_sti_bind_int(st, &src, 3, (int64_t)(limit - json_array_size(all)));
		cf_sti_bind_int(st, &src, 4, slice);
		rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "audit list", err)
					: list_rows(tx, st, "audit list", &part, err);
		cf_sti_done(st);
		if (rc == CF_OK && json_array_extend(all, part) != 0)
			rc = cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		json_decref(part);
	}
	if (rc != CF_OK) {
		json_decref(all);
		return rc;
	}
	*out = all;
	return CF_OK;
}

/* ---- checkpoints ---- */

/* CF_EEXIST when that tree size already has a checkpoint: checkpoints are written once. */
cf_rc cf_st_checkpoint_put(cf_tx *tx, int64_t size, const uint8_t root[CF_HASH_LEN], const char *note,
			   int64_t now_us, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (size < 0)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: checkpoint size is negative");
	if (root == NULL)
		return cf_err_set(err, CF_EINVAL, CF_P_MISSING_KEY, "store: checkpoint root is missing");
	rc = cf_sti_check_str(note, "checkpoint note", CF_STI_NOTE_MAX, false, err);
	if (rc != CF_OK)
		return rc;
	rc = cf_sti_stmt(tx, STI_CHECKPOINT_PUT, &st, err);
	if (rc != CF_OK)
		return rc;
	cf_sti_bind_int(st, &src, 1, size);
	cf_sti_bind_blob(st, &src, 2, root, CF_HASH_LEN);
	cf_sti_bind_text(st, &src, 3, note);
	cf_sti_bind_int(st, &src, 4, now_us);
	rc = (src != SQLITE_OK) ? cf_sti_fail(tx->s, src, "checkpoint", err)
				: insert_once(tx->s, st, "checkpoint", err);
	cf_sti_done(st);
	return rc;
}

/*
 * The one checkpoint row of statement id (bound to max_size when `bounded`).
 * Every output is optional; *note is malloc'd for the caller. On failure
 * the outputs are cleared.
 */
static cf_rc checkpoint_one(cf_tx *tx, cf_sti_id id, bool bounded, int64_t max_size, int64_t *size,
			    uint8_t root[CF_HASH_LEN], char **note, cf_err *err)
{
	sqlite3_stmt *st = NULL;
	int src = SQLITE_OK;
	cf_rc rc;

	if (size != NULL)
		*size = -1;
	if (root != NULL)
		memset(root, 0, CF_HASH_LEN);
	if (note != NULL)
		*note = NULL;
	rc = cf_sti_stmt(tx, id, &st, err);
	if (rc != CF_OK)
		return rc;
	if (bounded)
		cf_sti_bind_int(st, &src, 1, max_size);
	if (src != SQLITE_OK) {
		rc = cf_sti_fail(tx->s, src, "checkpoint", err);
		goto out;
	}
	rc = cf_sti_row(tx->s, st, "checkpoint", err);
	if (rc == CF_OK && root != NULL)
		rc = col_hash(st, 1, root, err);
	if (rc == CF_OK && note != NULL)
		rc = cf_sti_col_dup(st, 2, false, note, err);
	if (rc != CF_OK) {
		if (root != NULL)
			memset(root, 0, CF_HASH_LEN);
		goto out;
	}
	if (size != NULL)
		*size = sqlite3_column_int64(st, 0);
out:
	cf_sti_done(st);
	return rc;
}

cf_rc cf_st_checkpoint_latest(cf_tx *tx, int64_t *size, uint8_t root[CF_HASH_LEN], char **note, cf_err *err)
{
	return checkpoint_one(tx, STI_CHECKPOINT_LATEST, false, 0, size, root, note, err);
}

cf_rc cf_st_checkpoint_at_most(cf_tx *tx, int64_t max_size, int64_t *size, uint8_t root[CF_HASH_LEN], char **note,
			       cf_err *err)
{
	return checkpoint_one(tx, STI_CHECKPOINT_AT_MOST, true, max_size, size, root, note, err);
}

/* Same streaming and callback rules as cf_st_audit_scan. */
cf_rc cf_st_checkpoint_scan(cf_tx *tx, cf_checkpoint_fn fn, void *ctx, cf_err *err)
{
	uint8_t root[CF_HASH_LEN];
	sqlite3_stmt *st = NULL;
	const char *note;
	int src;
	cf_rc rc;

	if (fn == NULL)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: no scan callback");
	rc = cf_sti_stmt(tx, STI_CHECKPOINT_SCAN, &st, err);
	if (rc != CF_OK)
		return rc;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		rc = col_hash(st, 1, root, err);
		if (rc == CF_OK)
			rc = cf_sti_col_text(st, 2, &note, err);
		if (rc == CF_OK)
			rc = fn(ctx, sqlite3_column_int64(st, 0), root, note);
		if (rc != CF_OK)
			goto out;
	}
	rc = (src == SQLITE_DONE) ? CF_OK : cf_sti_fail(tx->s, src, "checkpoint scan", err);
out:
	cf_sti_done(st);
	return rc;
}

/*
 * store_journal.c - the audit journal: audit entries made durable with one
 * write and one sync of a file of their own, ahead of the tables.
 *
 * A transaction begun with cf_store_begin_append only appends audit
 * entries. Its commit encodes them as frames, writes them to
 * `audit.journal` at the current offset with one call and syncs the file;
 * the entries and the tree nodes they complete then wait in memory, in
 * index order, as the backlog. A move (cf_store_move_journal), or the next
 * write transaction, whoever begins it, first inserts the backlog into the
 * audit tables, in its SQLite transaction; once a commit leaves the
 * backlog empty, the journal starts over at offset 0. So an audited read
 * costs one append to a file and a share of one sync, and leaves the
 * database (and every reader's page cache) alone.
 *
 * An append holds the journal's lock (jmu), not the database connection
 * (mu): a move, which holds the connection, takes the journal's lock only
 * to look at the backlog's head and to drop what it inserted, so the
 * entries of the next batches are written and synced while it inserts.
 *
 * Starting over writes over the round before instead of truncating the
 * file: a sync of bytes inside the file writes the data and flushes the
 * disk, one that also changes the file's size first writes its inode and
 * waits for it (measured on ext4 here: 215 against 285 us per write and
 * sync). The file keeps the size of its largest round; what lies beyond
 * the current round's frames is an earlier round's, already in the tables,
 * which a replay tells apart by its index (below).
 *
 * A frame: "CFJ1", u32 body length, i64 index, the 32-byte leaf hash, u32
 * entry length, u16 lengths of the actor organization, the resource
 * organization and the subject (0: none), the entry, the three ids, then
 * the first 16 bytes of SHA-256 over all of that: a torn or damaged frame
 * fails its check. Integers are little-endian.
 *
 * At open, the writer's connection replays the journal: frames are read
 * from offset 0 while each is whole and follows the one before (index + 1);
 * those the tables already hold must match them (else the scan stops:
 * frames of an earlier round beyond the current one), the others are
 * appended to the tables in one transaction. Once the tables hold the
 * backlog the open truncates the file: a full disk then stops journal
 * appends once a round outgrows the largest round since the open (no room
 * is set aside beyond that: a read lets through at most that many entries
 * that the tables might not take at once, each durable here and moved at
 * the next open), and a failed write is cut off, so that it leaves nothing
 * behind that looks valid.
 *
 * One process owns the journal (an exclusive flock, held while the store
 * is open). Another process opening the same store fails when it must
 * write the trail (cf_store_options.own_trail: a second daemon), else
 * (`coffre audit verify` beside a running vault) reads the tables only,
 * and its journal appends are refused.
 */
#include "common/cf.h"
#include "store/store.h"
#include "store/store_impl.h"
#include "merkle/merkle.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_FILE "audit.journal"
#define FRAME_MAGIC "CFJ1"
#define FRAME_HEAD 58 /* magic, body, index, leaf, entry length, three id lengths */
#define FRAME_CHECK 16
#define FRAME_SIZE(body) ((size_t)FRAME_HEAD + (body) + FRAME_CHECK)

/* ---- rows and lists ---- */

static size_t id_len(const char *id)
{
	return id == NULL ? 0 : strlen(id);
}

static size_t row_body(const cf_jrow *r)
{
	return r->len + id_len(r->actor_org) + id_len(r->resource_org) + id_len(r->subject);
}

cf_rc cf_sti_journal_add(cf_jlist *l, int64_t idx, const char *entry, size_t len, const uint8_t leaf[CF_HASH_LEN],
			 const char *actor_org, const char *resource_org, const char *subject, cf_err *err)
{
	const char *ids[3] = {actor_org, resource_org, subject};
	size_t lens[3], total = len + 1;
	cf_jrow *r;
	char *p;

	for (int i = 0; i < 3; i++) {
		lens[i] = id_len(ids[i]);
		if (lens[i] > UINT16_MAX)
			return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: an audit id is too long");
		total += lens[i] + 1;
	}
	if (len > UINT32_MAX / 2)
		return cf_err_set(err, CF_EINVAL, CF_P_INVALID_VALUE, "store: audit entry is invalid");
	r = malloc(sizeof(*r) + total);
	if (r == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	r->next = NULL;
	r->idx = idx;
	memcpy(r->leaf, leaf, CF_HASH_LEN);
	r->len = len;
	if (len > 0)
		memcpy(r->entry, entry, len);
	r->entry[len] = '\0';
	p = r->entry + len + 1;
	for (int i = 0; i < 3; i++) {
		const char *at = NULL;
		if (ids[i] != NULL) {
			memcpy(p, ids[i], lens[i]);
			p[lens[i]] = '\0';
			at = p;
			p += lens[i] + 1;
		}
		if (i == 0)
			r->actor_org = at;
		else if (i == 1)
			r->resource_org = at;
		else
			r->subject = at;
	}
	if (l->tail != NULL)
		l->tail->next = r;
	else
		l->head = r;
	l->tail = r;
	l->n++;
	l->bytes += FRAME_SIZE(row_body(r));
	return CF_OK;
}

cf_rc cf_sti_journal_add_node(cf_jlist *l, int level, int64_t idx, const uint8_t hash[CF_HASH_LEN], cf_err *err)
{
	if (l->n_nodes == l->cap_nodes) {
		size_t cap = l->cap_nodes ? l->cap_nodes * 2 : 64;
		cf_jnode *n = realloc(l->nodes, cap * sizeof(*n));
		if (n == NULL)
			return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
		l->nodes = n;
		l->cap_nodes = cap;
	}
	l->nodes[l->n_nodes].level = level;
	l->nodes[l->n_nodes].idx = idx;
	memcpy(l->nodes[l->n_nodes].hash, hash, CF_HASH_LEN);
	l->n_nodes++;
	return CF_OK;
}

void cf_sti_journal_free(cf_jlist *l)
{
	cf_jrow *r = l->head;
	while (r != NULL) {
		cf_jrow *next = r->next;
		free(r);
		r = next;
	}
	free(l->nodes);
	memset(l, 0, sizeof(*l));
}

/*
 * The backlog's size for cf_store_journal_backlog, which reads it without
 * the store's lock: the audit writer asks between batches, and must not
 * wait a busy timeout behind a transaction another thread holds.
 */
static void publish_backlog(cf_store *s)
{
	__atomic_store_n(&s->backlog_count, s->backlog.n, __ATOMIC_RELEASE);
}

/* Moves every row and node of from to the end of to (from is left empty). */
static cf_rc list_move(cf_jlist *to, cf_jlist *from, cf_err *err)
{
	for (size_t i = 0; i < from->n_nodes; i++) {
		cf_rc rc = cf_sti_journal_add_node(to, from->nodes[i].level, from->nodes[i].idx, from->nodes[i].hash, err);
		if (rc != CF_OK)
			return rc;
	}
	if (from->head != NULL) {
		if (to->tail != NULL)
			to->tail->next = from->head;
		else
			to->head = from->head;
		to->tail = from->tail;
	}
	to->n += from->n;
	to->bytes += from->bytes;
	free(from->nodes);
	memset(from, 0, sizeof(*from));
	return CF_OK;
}

/* ---- frames ---- */

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_i64(uint8_t *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(u >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int64_t get_i64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return (int64_t)v;
}

static void frame_check(const uint8_t *frame, size_t n, uint8_t out[FRAME_CHECK])
{
	uint8_t h[32];
	cf_sha256(frame, n, h);
	memcpy(out, h, FRAME_CHECK);
}

/* Encodes r at out (FRAME_SIZE(row_body(r)) bytes); returns the size. */
static size_t frame_encode(const cf_jrow *r, uint8_t *out)
{
	const char *ids[3] = {r->actor_org, r->resource_org, r->subject};
	size_t body = row_body(r), off = FRAME_HEAD;

	memcpy(out, FRAME_MAGIC, 4);
	put_u32(out + 4, (uint32_t)body);
	put_i64(out + 8, r->idx);
	memcpy(out + 16, r->leaf, CF_HASH_LEN);
	put_u32(out + 48, (uint32_t)r->len);
	for (int i = 0; i < 3; i++)
		put_u16(out + 52 + 2 * i, (uint16_t)id_len(ids[i]));
	memcpy(out + off, r->entry, r->len);
	off += r->len;
	for (int i = 0; i < 3; i++) {
		memcpy(out + off, ids[i] == NULL ? "" : ids[i], id_len(ids[i]));
		off += id_len(ids[i]);
	}
	frame_check(out, off, out + off);
	return off + FRAME_CHECK;
}

/* One whole, checked frame at p (avail bytes) into l; 0 when there is none (the journal ends there). */
static size_t frame_decode(const uint8_t *p, size_t avail, cf_jlist *l, cf_err *err, cf_rc *rc)
{
	char ids[3][CF_ID_MAX + 1];
	uint8_t check[FRAME_CHECK];
	size_t body, len, lens[3], off;

	*rc = CF_OK;
	if (avail < FRAME_SIZE(0) || memcmp(p, FRAME_MAGIC, 4) != 0)
		return 0;
	body = get_u32(p + 4);
	len = get_u32(p + 48);
	for (int i = 0; i < 3; i++)
		lens[i] = get_u16(p + 52 + 2 * i);
	if (body > avail - FRAME_SIZE(0) || len > CF_STI_BLOB_MAX || lens[0] > CF_ID_MAX || lens[1] > CF_ID_MAX ||
	    lens[2] > CF_ID_MAX || len + lens[0] + lens[1] + lens[2] != body)
		return 0;
	frame_check(p, FRAME_HEAD + body, check);
	if (memcmp(check, p + FRAME_HEAD + body, FRAME_CHECK) != 0)
		return 0;
	off = FRAME_HEAD + len;
	for (int i = 0; i < 3; i++) {
		memcpy(ids[i], p + off, lens[i]);
		ids[i][lens[i]] = '\0';
		off += lens[i];
	}
	*rc = cf_sti_journal_add(l, get_i64(p + 8), (const char *)p + FRAME_HEAD, len, p + 16,
				 lens[0] ? ids[0] : NULL, lens[1] ? ids[1] : NULL, lens[2] ? ids[2] : NULL, err);
	return *rc == CF_OK ? FRAME_SIZE(body) : 0;
}

/* ---- writing ---- */

static cf_rc write_all(int fd, const uint8_t *p, size_t n, int64_t off, cf_err *err)
{
	while (n > 0) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: the audit journal cannot be written: %s",
					  w < 0 ? strerror(errno) : "no progress");
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return CF_OK;
}

cf_rc cf_sti_journal_commit(cf_tx *tx, cf_err *err)
{
	cf_store *s = tx->s;
	uint8_t *buf, *p;
	cf_rc rc;

	if (tx->pending.n == 0)
		return CF_OK;
	if (s->jfd < 0)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE,
				  "store: the audit journal is held by another process");
	/*
	 * What a failed write left after joff was never acknowledged: were it
	 * left there, a shorter batch written over it could be followed by
	 * whole frames that read as the next entries.
	 */
	if (s->jcut) {
		if (ftruncate(s->jfd, (off_t)s->joff) != 0)
			return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE,
					  "store: the audit journal cannot be cut back: %s", strerror(errno));
		s->jcut = false;
	}
	buf = malloc(tx->pending.bytes);
	if (buf == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	p = buf;
	for (const cf_jrow *r = tx->pending.head; r != NULL; r = r->next)
		p += frame_encode(r, p);
	rc = write_all(s->jfd, buf, (size_t)(p - buf), s->joff, err);
	free(buf);
	if (rc == CF_OK && fdatasync(s->jfd) != 0)
		rc = cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: the audit journal cannot be synced: %s",
				strerror(errno));
	if (rc != CF_OK) {
		/* cut back now if it can be, else before the next write (which fails until it can) */
		s->jcut = ftruncate(s->jfd, (off_t)s->joff) != 0;
		return rc;
	}
	s->joff += (int64_t)tx->pending.bytes;
	rc = list_move(&s->backlog, &tx->pending, err);
	publish_backlog(s);
	return rc;
}

/* The last leaf under node (level, idx): the node can be stored once that leaf is. */
static int64_t node_last_leaf(const cf_jnode *n)
{
	return ((n->idx + 1) << n->level) - 1;
}

/*
 * The backlog's first rows and the nodes they complete are inserted as
 * they stand when the transaction looks: a move (a transaction without
 * the journal's lock) looks under it and inserts without it. The rows it
 * saw stay where they are until its commit drops them (only a holder of
 * the connection drops rows, and it holds the connection), and each is
 * complete: an append sets a row's next before it publishes the row under
 * the lock, and only the last row seen has its next set meanwhile, which
 * is never read here. The nodes' array may move with an append: the ones
 * seen are copied.
 */
cf_rc cf_sti_journal_flush(cf_tx *tx, size_t max_rows, cf_err *err)
{
	cf_store *s = tx->s;
	const cf_jlist *b = &s->backlog;
	const cf_jrow *head, *r;
	cf_jnode *nodes = NULL;
	int64_t last = -1;
	size_t rows, n_nodes = 0;
	cf_rc rc = CF_OK;

	/* an error-checking lock: this thread's own journal append, still open, is refused here */
	if (!tx->jlocked && pthread_mutex_lock(&s->jmu) != 0)
		return cf_err_set(err, CF_EINTERNAL, CF_P_INTERNAL, "store: this thread already has a transaction open");
	head = b->head;
	rows = b->n < max_rows ? b->n : max_rows;
	r = head;
	for (size_t i = 1; i < rows; i++)
		r = r->next;
	if (rows > 0)
		last = r->idx;
	/* nodes are kept in the order their last leaf was pushed */
	while (n_nodes < b->n_nodes && node_last_leaf(&b->nodes[n_nodes]) <= last)
		n_nodes++;
	if (n_nodes > 0 && (nodes = malloc(n_nodes * sizeof(*nodes))) != NULL)
		memcpy(nodes, b->nodes, n_nodes * sizeof(*nodes));
	if (!tx->jlocked)
		pthread_mutex_unlock(&s->jmu);
	if (n_nodes > 0 && nodes == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");

	r = head;
	for (size_t i = 0; i < rows && rc == CF_OK; i++) {
		cf_audit_meta meta = {r->actor_org, r->resource_org, r->subject};
		rc = cf_sti_audit_insert(tx, r->idx, r->entry, r->len, r->leaf, &meta, err);
		if (i + 1 < rows)
			r = r->next;
	}
	for (size_t i = 0; i < n_nodes && rc == CF_OK; i++)
		rc = cf_st_audit_node_put(tx, nodes[i].level, nodes[i].idx, nodes[i].hash, err);
	free(nodes);
	if (rc == CF_OK) {
		tx->flushed_rows = rows;
		tx->flushed_nodes = n_nodes;
	}
	return rc;
}

void cf_sti_journal_flushed(cf_tx *tx)
{
	cf_store *s = tx->s;
	cf_jlist *b = &s->backlog;

	/* taken and released by the same transaction's flush before: it cannot fail now */
	if (!tx->jlocked && pthread_mutex_lock(&s->jmu) != 0)
		CF_BUG("store: the journal's lock cannot be taken after a move");
	for (size_t i = 0; i < tx->flushed_rows && b->head != NULL; i++) {
		cf_jrow *r = b->head;
		b->head = r->next;
		b->n--;
		b->bytes -= FRAME_SIZE(row_body(r));
		free(r);
	}
	if (b->head == NULL)
		b->tail = NULL;
	if (b->nodes != NULL)
		memmove(b->nodes, b->nodes + tx->flushed_nodes, (b->n_nodes - tx->flushed_nodes) * sizeof(*b->nodes));
	b->n_nodes -= tx->flushed_nodes;
	publish_backlog(s);
	/*
	 * All in the tables: the next frames go over this round's from offset
	 * 0; a replay stops at the first old frame after them (its index does
	 * not follow), and finds the old frames before it already in the
	 * tables. No append is between its write and its backlog meanwhile:
	 * it holds the lock from one to the other.
	 */
	if (b->n == 0) {
		cf_sti_journal_free(b);
		s->joff = 0;
	}
	if (!tx->jlocked)
		pthread_mutex_unlock(&s->jmu);
}

/* ---- opening ---- */

/* The whole file into a malloc'd buffer. */
static cf_rc read_file(int fd, uint8_t **out, size_t *n, cf_err *err)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;

	*out = NULL;
	*n = 0;
	if (fstat(fd, &st) != 0)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: the audit journal cannot be read: %s",
				  strerror(errno));
	if (st.st_size > ((int64_t)1 << 32))
		return cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: the audit journal is implausibly large");
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		return cf_err_set(err, CF_ENOMEM, CF_P_INTERNAL, "store: out of memory");
	while (got < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	*out = buf;
	*n = got;
	return CF_OK;
}

/* Appends the journal's entries the tables lack, in one transaction. */
static cf_rc replay(cf_store *s, const uint8_t *buf, size_t n, cf_err *err)
{
	cf_jlist found = {0};
	cf_tx *tx = NULL;
	size_t off = 0;
	int64_t count = 0;
	cf_rc rc = CF_OK;

	while (off < n) {
		size_t used = frame_decode(buf + off, n - off, &found, err, &rc);
		if (rc != CF_OK)
			goto out;
		if (used == 0)
			break;
		if (found.n > 1 && found.tail->idx != found.head->idx + (int64_t)found.n - 1) {
			/* an earlier round's frame beyond this round's last: the journal ends here */
			cf_jrow *prev = found.head;
			while (prev->next != found.tail)
				prev = prev->next;
			free(found.tail);
			prev->next = NULL;
			found.tail = prev;
			found.n--;
			break;
		}
		off += used;
	}
	if (found.n == 0)
		goto out;
	if ((rc = cf_store_begin(s, true, &tx, err)) != CF_OK)
		goto out;
	rc = cf_st_audit_count(tx, &count, err);
	for (const cf_jrow *r = found.head; r != NULL && rc == CF_OK; r = r->next) {
		cf_audit_meta meta = {r->actor_org, r->resource_org, r->subject};
		uint8_t have[CF_HASH_LEN];
		int64_t got = -1;
		if (r->idx < count) {
			/* already in the tables: the same entry, or what follows is an earlier round's */
			rc = cf_st_audit_node_get(tx, 0, r->idx, have, err);
			if (rc != CF_OK || memcmp(have, r->leaf, CF_HASH_LEN) != 0)
				break;
			continue;
		}
		if (r->idx != count) {
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY,
					"store: the audit journal does not follow the audit table (entry %lld after %lld)",
					(long long)r->idx, (long long)count);
			break;
		}
		rc = cf_st_audit_append(tx, r->entry, r->len, r->leaf, &meta, &got, err);
		if (rc == CF_OK && got != r->idx)
			rc = cf_err_set(err, CF_EINTEGRITY, CF_P_INTEGRITY, "store: the audit journal replay moved an entry");
		count++;
	}
	if (rc == CF_OK)
		rc = cf_tx_commit(tx, err);
	else
		cf_tx_rollback(tx);
out:
	cf_sti_journal_free(&found);
	return rc;
}

cf_rc cf_sti_journal_open(cf_store *s, const char *dir, bool own, cf_err *err)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	int fd;
	cf_rc rc;

	s->jfd = -1;
	if (cf_snprintf(s->jpath, sizeof(s->jpath), "%s/%s", dir, JOURNAL_FILE) != CF_OK)
		return cf_err_set(err, CF_EINVAL, CF_P_TOO_LONG, "store: directory path too long");
	fd = open(s->jpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: the audit journal cannot be opened: %s",
				  strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		(void)close(fd);
		if (e == EWOULDBLOCK && own)
			return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE,
					  "store: another process has this data directory open (its audit journal is locked)");
		if (e == EWOULDBLOCK)
			return CF_OK; /* another process writes this store's trail: this one reads the tables */
		return cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: the audit journal cannot be locked: %s",
				  strerror(e));
	}
	if (fchmod(fd, 0600) != 0) {
		rc = cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: the audit journal's mode cannot be set");
		goto fail;
	}
	rc = read_file(fd, &buf, &n, err);
	if (rc == CF_OK)
		rc = replay(s, buf, n, err);
	free(buf);
	/* the tables hold everything now: the journal starts empty */
	if (rc == CF_OK && (ftruncate(fd, 0) != 0 || fsync(fd) != 0))
		rc = cf_err_set(err, CF_ESTORE, CF_P_STORE_UNAVAILABLE, "store: the audit journal cannot be emptied: %s",
				strerror(errno));
	if (rc != CF_OK)
		goto fail;
	s->jfd = fd;
	s->joff = 0;
	return CF_OK;
fail:
	(void)close(fd);
	return rc;
}

void cf_sti_journal_close(cf_store *s)
{
	/* all moved: the next opener finds an empty journal (not synced: a replay would skip the old frames) */
	if (s->jfd >= 0 && s->backlog.n == 0 && ftruncate(s->jfd, 0) != 0) {
		/* the old frames stay, and a replay tells them apart */
	}
	if (s->jfd >= 0)
		(void)close(s->jfd);
	s->jfd = -1;
	cf_sti_journal_free(&s->backlog);
	publish_backlog(s);
}

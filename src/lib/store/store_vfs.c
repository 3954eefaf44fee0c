/*
 * store_vfs.c - coffre's SQLite VFS: the default one, with two changes a
 * connection asks for when it opens (cf_sti_vfs).
 *
 * Reading ahead (cf_store_options.scan_reads, offline verification).
 * SQLite reads a database one page (4 KiB) per system call. On a virtual
 * machine a system call costs about a microsecond, and a memory map costs
 * as much per page touched for the first time (and ends the process with
 * SIGBUS when another process truncates the file). Here a page of a
 * database file is served from a block of BLOCK bytes read with one system
 * call, kept until the connection's transaction ends.
 *
 * Why a kept block cannot serve a stale page. Within one read transaction
 * SQLite reads a page from the database file only when the write-ahead log
 * holds no copy of it at or before the transaction's snapshot; a
 * checkpoint, by this or any other connection, copies only frames at or
 * before the oldest reader's snapshot, so it never rewrites such a page
 * while the transaction lasts. Between transactions the file may change:
 * every transaction begins and ends with a lock of the shared memory
 * (WAL) or of the file (rollback journal), and each of those empties the
 * block, as does any write or truncation through the handle.
 *
 * Writing the log in one call (the writer's connection, with
 * synchronous=FULL). SQLite writes each frame of the write-ahead log as two
 * calls, its 24-byte header then its page, so a commit of 70 pages made 140
 * system calls, each a partial page for the kernel. Here consecutive writes
 * to a log are gathered in a buffer and written in one call when SQLite
 * syncs the log, reads it, asks its size, truncates or closes it, or writes
 * elsewhere in it. Nothing is lost to a crash that SQLite would not lose:
 * a commit is durable only once the log is synced, and the sync writes the
 * buffer first. Nothing is seen early or late by another connection: with
 * synchronous=FULL SQLite syncs the log before it publishes a commit in
 * the shared memory, the only way another connection learns of new
 * frames. A write error surfaces at the sync, and fails that commit.
 */
#include "common/cf.h"
#include "store/store_impl.h"

#include <pthread.h>

/*
 * The unix VFS reads and writes fewer than 128 KiB per call (it masks a
 * write's length to 17 bits): blocks and gathered writes stay at 64 KiB,
 * 16 pages.
 */
#define BLOCK (64 * 1024)
#define LOG_BUFFER (64 * 1024)

typedef struct ra_file {
	sqlite3_file base;  /* pMethods: ra_methods */
	sqlite3_file *real; /* the wrapped VFS's file, in the same allocation */
	unsigned char *buf; /* reading ahead, database files only: the block, NULL otherwise */
	sqlite3_int64 off;  /* the block's offset in the file */
	int len;            /* its valid bytes; 0: empty */
	unsigned char *wbuf; /* gathering, logs only: the writes not yet made, NULL otherwise */
	sqlite3_int64 woff;  /* where they go */
	int wlen;            /* their bytes; 0: none */
} ra_file;

static sqlite3_vfs *base_vfs;
/* one VFS object per change, the same methods: xOpen tells them apart */
static sqlite3_vfs scan_vfs, batch_vfs;
static pthread_once_t ra_once = PTHREAD_ONCE_INIT;
static bool ra_registered;

static sqlite3_file *real_of(sqlite3_file *f)
{
	return ((ra_file *)f)->real;
}

static void forget(sqlite3_file *f)
{
	((ra_file *)f)->len = 0;
}

/* Makes the gathered log writes, in one call; SQLITE_OK when there were none. */
static int flush(sqlite3_file *f)
{
	ra_file *p = (ra_file *)f;
	int rc;

	if (p->wlen == 0)
		return SQLITE_OK;
	rc = p->real->pMethods->xWrite(p->real, p->wbuf, p->wlen, p->woff);
	p->wlen = 0;
	return rc;
}

static int ra_close(sqlite3_file *f)
{
	ra_file *p = (ra_file *)f;
	int frc = flush(f);
	int rc = p->real->pMethods->xClose(p->real);

	free(p->buf);
	free(p->wbuf);
	p->buf = NULL;
	p->wbuf = NULL;
	return frc != SQLITE_OK ? frc : rc;
}

static int ra_read(sqlite3_file *f, void *out, int amt, sqlite3_int64 off)
{
	ra_file *p = (ra_file *)f;
	sqlite3_int64 start;
	int rc;

	if (p->wbuf != NULL && (rc = flush(f)) != SQLITE_OK)
		return rc;
	if (p->buf == NULL || amt <= 0 || amt > BLOCK || off < 0)
		return p->real->pMethods->xRead(p->real, out, amt, off);
	if (p->len > 0 && off >= p->off && off + amt <= p->off + p->len) {
		memcpy(out, p->buf + (off - p->off), (size_t)amt);
		return SQLITE_OK;
	}
	start = off - off % BLOCK;
	if (off + amt > start + BLOCK) /* straddles two blocks: not a page of an aligned file */
		return p->real->pMethods->xRead(p->real, out, amt, off);
	rc = p->real->pMethods->xRead(p->real, p->buf, BLOCK, start);
	if (rc != SQLITE_OK) {
		/* the file's last, partial block (a short read), or an error: the page alone, as SQLite asked */
		p->len = 0;
		return p->real->pMethods->xRead(p->real, out, amt, off);
	}
	p->off = start;
	p->len = BLOCK;
	memcpy(out, p->buf + (off - start), (size_t)amt);
	return SQLITE_OK;
}

static int ra_write(sqlite3_file *f, const void *in, int amt, sqlite3_int64 off)
{
	ra_file *p = (ra_file *)f;
	int rc;

	forget(f);
	if (p->wbuf == NULL || amt <= 0 || off < 0)
		return p->real->pMethods->xWrite(p->real, in, amt, off);
	if (p->wlen > 0 && off == p->woff + p->wlen && amt <= LOG_BUFFER - p->wlen) {
		memcpy(p->wbuf + p->wlen, in, (size_t)amt);
		p->wlen += amt;
		return SQLITE_OK;
	}
	/* elsewhere in the log, or no room: what is gathered goes first */
	if ((rc = flush(f)) != SQLITE_OK)
		return rc;
	if (amt > LOG_BUFFER)
		return p->real->pMethods->xWrite(p->real, in, amt, off);
	memcpy(p->wbuf, in, (size_t)amt);
	p->woff = off;
	p->wlen = amt;
	return SQLITE_OK;
}

static int ra_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	int rc = flush(f);

	forget(f);
	return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int ra_sync(sqlite3_file *f, int flags)
{
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int ra_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFileSize(real_of(f), size);
}

static int ra_lock(sqlite3_file *f, int level)
{
	forget(f);
	return real_of(f)->pMethods->xLock(real_of(f), level);
}

static int ra_unlock(sqlite3_file *f, int level)
{
	forget(f);
	return real_of(f)->pMethods->xUnlock(real_of(f), level);
}

static int ra_check_reserved(sqlite3_file *f, int *out)
{
	return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}

static int ra_file_control(sqlite3_file *f, int op, void *arg)
{
	int rc = flush(f); /* whatever SQLite asks of the file, it asks of what it wrote */

	return rc != SQLITE_OK ? rc : real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}

static int ra_sector_size(sqlite3_file *f)
{
	return real_of(f)->pMethods->xSectorSize(real_of(f));
}

static int ra_device(sqlite3_file *f)
{
	return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

static int ra_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
	return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}

static int ra_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	forget(f);
	return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}

static void ra_shm_barrier(sqlite3_file *f)
{
	real_of(f)->pMethods->xShmBarrier(real_of(f));
}

static int ra_shm_unmap(sqlite3_file *f, int delete_flag)
{
	return real_of(f)->pMethods->xShmUnmap(real_of(f), delete_flag);
}

static int ra_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **out)
{
	return real_of(f)->pMethods->xFetch(real_of(f), off, amt, out);
}

static int ra_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return real_of(f)->pMethods->xUnfetch(real_of(f), off, p);
}

static const sqlite3_io_methods ra_methods = {
	3,
	ra_close,
	ra_read,
	ra_write,
	ra_truncate,
	ra_sync,
	ra_file_size,
	ra_lock,
	ra_unlock,
	ra_check_reserved,
	ra_file_control,
	ra_sector_size,
	ra_device,
	ra_shm_map,
	ra_shm_lock,
	ra_shm_barrier,
	ra_shm_unmap,
	ra_fetch,
	ra_unfetch,
};

static int ra_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	ra_file *p = (ra_file *)f;
	int rc;

	memset(p, 0, sizeof(*p));
	p->real = (sqlite3_file *)&p[1];
	rc = base_vfs->xOpen(base_vfs, name, p->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc; /* base.pMethods stays NULL: SQLite does not close it */
	/* every method above is forwarded: the wrapped file must have them all */
	if (p->real->pMethods == NULL || p->real->pMethods->iVersion < 3) {
		if (p->real->pMethods != NULL)
			(void)p->real->pMethods->xClose(p->real);
		return SQLITE_CANTOPEN;
	}
	if (vfs == &scan_vfs && (flags & SQLITE_OPEN_MAIN_DB))
		p->buf = malloc(BLOCK);
	if (vfs == &batch_vfs && (flags & SQLITE_OPEN_WAL))
		p->wbuf = malloc(LOG_BUFFER);
	if ((vfs == &scan_vfs && (flags & SQLITE_OPEN_MAIN_DB) && p->buf == NULL) ||
	    (vfs == &batch_vfs && (flags & SQLITE_OPEN_WAL) && p->wbuf == NULL)) {
		(void)p->real->pMethods->xClose(p->real);
		return SQLITE_NOMEM;
	}
	p->base.pMethods = &ra_methods;
	return SQLITE_OK;
}

static bool register_as(sqlite3_vfs *vfs, const char *name)
{
	*vfs = *base_vfs;
	vfs->pNext = NULL;
	vfs->zName = name;
	vfs->szOsFile = (int)(sizeof(ra_file) + (size_t)base_vfs->szOsFile);
	vfs->xOpen = ra_open;
	return sqlite3_vfs_register(vfs, 0) == SQLITE_OK;
}

static void ra_register(void)
{
	base_vfs = sqlite3_vfs_find(NULL);
	if (base_vfs == NULL || base_vfs->szOsFile < 0 || (size_t)base_vfs->szOsFile > INT_MAX - sizeof(ra_file))
		return;
	ra_registered = register_as(&scan_vfs, "coffre-scan") && register_as(&batch_vfs, "coffre-batch");
}

const char *cf_sti_vfs(bool scan_reads, bool batch_log_writes)
{
	(void)pthread_once(&ra_once, ra_register);
	if (!ra_registered || scan_reads == batch_log_writes)
		return NULL;
	return scan_reads ? scan_vfs.zName : batch_vfs.zName;
}

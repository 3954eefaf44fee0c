/*
 * store_readahead.c - a VFS for connections that read whole tables in
 * order (offline verification, cf_store_options.scan_reads).
 *
 * SQLite reads a database one page (4 KiB) per system call. On a virtual
 * machine a system call costs about a microsecond, and a memory map costs
 * as much per page touched for the first time (and ends the process with
 * SIGBUS when another process truncates the file). This VFS wraps the
 * default one and changes only xRead on database files: a page is served
 * from a block of BLOCK bytes read with one system call, kept until the
 * connection's transaction ends. Journals and write-ahead logs pass
 * through untouched.
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
 */
#include "common/cf.h"
#include "store/store_impl.h"

#include <pthread.h>

#define BLOCK (256 * 1024)
#define VFS_NAME "coffre-readahead"

typedef struct ra_file {
	sqlite3_file base;  /* pMethods: ra_methods */
	sqlite3_file *real; /* the wrapped VFS's file, in the same allocation */
	unsigned char *buf; /* database files only: the block, NULL otherwise */
	sqlite3_int64 off;  /* the block's offset in the file */
	int len;            /* its valid bytes; 0: empty */
} ra_file;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs ra_vfs;
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

static int ra_close(sqlite3_file *f)
{
	ra_file *p = (ra_file *)f;
	int rc = p->real->pMethods->xClose(p->real);

	free(p->buf);
	p->buf = NULL;
	return rc;
}

static int ra_read(sqlite3_file *f, void *out, int amt, sqlite3_int64 off)
{
	ra_file *p = (ra_file *)f;
	sqlite3_int64 start;
	int rc;

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
	forget(f);
	return real_of(f)->pMethods->xWrite(real_of(f), in, amt, off);
}

static int ra_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	forget(f);
	return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

static int ra_sync(sqlite3_file *f, int flags)
{
	return real_of(f)->pMethods->xSync(real_of(f), flags);
}

static int ra_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return real_of(f)->pMethods->xFileSize(real_of(f), size);
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
	return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
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

	(void)vfs;
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
	if (flags & SQLITE_OPEN_MAIN_DB) {
		p->buf = malloc(BLOCK);
		if (p->buf == NULL) {
			(void)p->real->pMethods->xClose(p->real);
			return SQLITE_NOMEM;
		}
	}
	p->base.pMethods = &ra_methods;
	return SQLITE_OK;
}

static void ra_register(void)
{
	base_vfs = sqlite3_vfs_find(NULL);
	if (base_vfs == NULL || base_vfs->szOsFile < 0 || (size_t)base_vfs->szOsFile > INT_MAX - sizeof(ra_file))
		return;
	ra_vfs = *base_vfs;
	ra_vfs.pNext = NULL;
	ra_vfs.zName = VFS_NAME;
	ra_vfs.szOsFile = (int)(sizeof(ra_file) + (size_t)base_vfs->szOsFile);
	ra_vfs.xOpen = ra_open;
	ra_registered = sqlite3_vfs_register(&ra_vfs, 0) == SQLITE_OK;
}

const char *cf_sti_readahead_vfs(void)
{
	(void)pthread_once(&ra_once, ra_register);
	return ra_registered ? VFS_NAME : NULL;
}

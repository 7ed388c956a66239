/* A fault-injecting SQLite VFS for tests (see faultvfs.h). */
#include <stdatomic.h>
#include <string.h>

#include <sqlite3.h>

#include "faultvfs.h"

struct ffile {
	sqlite3_file	 base;
	sqlite3_file	*real;
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fault_vfs;
static atomic_int failing;

#define REAL(f) (((struct ffile *)(f))->real)

static int
f_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (atomic_load(&failing))
		return SQLITE_FULL;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	if (atomic_load(&failing))
		return SQLITE_IOERR_TRUNCATE;
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
f_sync(sqlite3_file *f, int flags)
{
	if (atomic_load(&failing))
		return SQLITE_IOERR_FSYNC;
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
f_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
f_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}

static int
f_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}

static int
f_check(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
f_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
f_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
f_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
f_shmmap(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}

static int
f_shmlock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}

static void
f_shmbarrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
f_shmunmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}

/* No memory-mapped I/O, so every write goes through f_write. */
static int
f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	*pp = NULL;
	return SQLITE_OK;
}

static int
f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return SQLITE_OK;
}

static const sqlite3_io_methods fault_io = {
	3, f_close, f_read, f_write, f_truncate, f_sync, f_size, f_lock,
	f_unlock, f_check, f_fcntl, f_sector, f_devchar, f_shmmap, f_shmlock,
	f_shmbarrier, f_shmunmap, f_fetch, f_unfetch,
};

static int
f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *outflags)
{
	struct ffile *ff = (struct ffile *)f;
	int rc;

	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, outflags);
	ff->base.pMethods = rc == SQLITE_OK ? &fault_io : NULL;
	return rc;
}

static int
f_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
	return real_vfs->xDelete(real_vfs, name, sync);
}

static int
f_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int
f_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static int
f_random(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int
f_sleep(sqlite3_vfs *vfs, int us)
{
	return real_vfs->xSleep(real_vfs, us);
}

static int
f_time(sqlite3_vfs *vfs, double *out)
{
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int
f_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	return real_vfs->xGetLastError(real_vfs, n, out);
}

static int
f_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

int
faultvfs_install(void)
{
	if (real_vfs != NULL)
		return 0;
	if ((real_vfs = sqlite3_vfs_find(NULL)) == NULL)
		return -1;
	memset(&fault_vfs, 0, sizeof(fault_vfs));
	fault_vfs.iVersion = 2;
	fault_vfs.szOsFile = (int)sizeof(struct ffile) + real_vfs->szOsFile;
	fault_vfs.mxPathname = real_vfs->mxPathname;
	fault_vfs.zName = "signet-fault";
	fault_vfs.xOpen = f_open;
	fault_vfs.xDelete = f_delete;
	fault_vfs.xAccess = f_access;
	fault_vfs.xFullPathname = f_fullpath;
	fault_vfs.xRandomness = f_random;
	fault_vfs.xSleep = f_sleep;
	fault_vfs.xCurrentTime = f_time;
	fault_vfs.xGetLastError = f_lasterr;
	fault_vfs.xCurrentTimeInt64 = f_time64;
	return sqlite3_vfs_register(&fault_vfs, 1) == SQLITE_OK ? 0 : -1;
}

void
faultvfs_fail(int on)
{
	atomic_store(&failing, on);
}

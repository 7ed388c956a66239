/*
 * A SQLite VFS for tests that wraps the default one and, while armed,
 * fails every write, truncate and sync the way a full or failing disk
 * does (SQLITE_FULL, SQLITE_IOERR_FSYNC).  It is registered as the
 * default VFS so the code under test opens its files through it without
 * knowing.
 */
#ifndef SIGNET_TEST_FAULTVFS_H
#define SIGNET_TEST_FAULTVFS_H

/* Register (once) as the default VFS; 0 on success. */
int	faultvfs_install(void);
/* Arm (1) or disarm (0) the fault. */
void	faultvfs_fail(int on);

#endif

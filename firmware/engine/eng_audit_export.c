/*
 * Audit checkpoints leave the database as they are signed (issue 19): a
 * line per checkpoint to the log (syslog under systemd) and, when
 * storage.audit_checkpoint_export names a file, appended to it and
 * fsynced, so that an operator can ship it elsewhere.  Deleting the tail
 * of the ledger together with its checkpoints is then caught by
 * `signet-audit verify --checkpoints FILE` (docs/decisions.md).
 *
 * The ledger calls eng_ckpt_exported after the transaction holding the
 * checkpoint committed and before the batch's callers are answered, on
 * the one committing thread; the file was opened before the sandbox.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signet/audit.h>
#include <signet_log.h>

#include "eng_engine_local.h"

int
eng_ckpt_export_open(const char *path)
{
	int fd;

	if (path == NULL || path[0] == '\0')
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		fatal("msg=\"cannot open the audit checkpoint export\" path=%s",
		    path);
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void
eng_ckpt_exported(void *arg, const char *node, const struct audit_ckpt *ck)
{
	int fd = *(const int *)arg;
	char line[AUDIT_CKPT_LINE_MAX];
	size_t n;

	if (audit_ckpt_format(node, ck, line, sizeof(line) - 1) != AUDIT_OK) {
		log_warnx("msg=\"audit checkpoint not exported\" seq=%llu",
		    (unsigned long long)ck->seq);
		return;
	}
	log_info("msg=\"audit checkpoint\" line=\"%s\"", line);
	if (fd == -1)
		return;
	n = strlen(line);
	line[n++] = '\n';
	/* One write of a whole line under O_APPEND; durable before replies. */
	if (write_all(fd, line, n) == -1 || fsync(fd) == -1)
		log_warn("msg=\"audit checkpoint export failed\" seq=%llu",
		    (unsigned long long)ck->seq);
}

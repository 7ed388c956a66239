/*
 * Support for the ceremony unit tests: what the tool printed on stderr
 * (its warnx messages are what the operator reads) and scratch files.
 */
#ifndef SIGNET_CERTEST_H
#define SIGNET_CERTEST_H

#include <stddef.h>

/* From now on stderr goes to a file; cer_stderr_end returns its text. */
void cer_stderr_begin(void);
const char *cer_stderr_end(void);
/* A new scratch directory (mkdtemp) into dir. */
void cer_tmpdir(char *dir, size_t size);
void cer_rmdir(const char *dir);
void cer_put(const char *path, const char *text);
/* The file's text (static buffer), or NULL if it does not exist. */
const char *cer_get(const char *path);

#define assert_said(out, want)                                               \
	do {                                                                 \
		const char *said_ = (out);                                   \
                                                                             \
		if (strstr(said_, (want)) == NULL)                           \
			fail_msg("\"%s\" not in what was said:\n%s", (want), \
			    said_);                                          \
	} while (0)

#endif

/* Helpers shared by the device client's unit tests. */
#ifndef SDEV_TEST_UTIL_H
#define SDEV_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Reads tests/unit/device/data/name; aborts the test if it cannot. */
uint8_t	*tu_read_data(const char *name, size_t *len);
uint8_t	*tu_read_path(const char *path, size_t *len);
/* A fresh temporary directory (mode 0700); removed by tu_rmdir. */
void	 tu_tmpdir(char *buf, size_t size);
void	 tu_rmdir(const char *dir);
/* Runs a shell command, returns its exit status and its stdout+stderr. */
int	 tu_run(const char *cmd, char *out, size_t size);

#endif

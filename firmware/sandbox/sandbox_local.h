#ifndef SIGNET_SANDBOX_LOCAL_H
#define SIGNET_SANDBOX_LOCAL_H

#include <stddef.h>

#include <signet/sandbox.h>

#define SANDBOX_DEBUG_MSG "this is a debug build without the sandbox " \
	"(built with SIGNET_SANDBOX=OFF, no libseccomp); it cannot run as " \
	"the appliance"

void sandbox_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* sandbox_filter.c (or sandbox_none.c in a debug build). */
int sandbox_filter_load(enum sandbox_role role, char *err, size_t errlen);

#endif

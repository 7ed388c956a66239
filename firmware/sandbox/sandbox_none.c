/* A debug build without libseccomp: no filter, and it says so. */
#include "sandbox_local.h"

int
sandbox_built(void)
{
	return 0;
}

int
sandbox_filter_load(enum sandbox_role role, char *err, size_t errlen)
{
	(void)role;
	sandbox_err(err, errlen, "%s", SANDBOX_DEBUG_MSG);
	return -1;
}

/* Internal to the runtime builder (eng_rt*.c). */
#ifndef SIGNET_ENG_RT_LOCAL_H
#define SIGNET_ENG_RT_LOCAL_H

#include <stddef.h>

#include <signet/ca.h>
#include <signet/sconf.h>

/* One configured profile as a struct ca_profile; -1 with err set. */
int	eng_rt_profile(const struct sconf_tenant *st,
	    const struct sconf_profile *sp, const struct ca_issuer *iss,
	    struct ca_profile *p, char *err, size_t errlen);
void	eng_rt_profile_warn(const struct sconf_tenant *st,
	    const struct ca_profile *p);

#endif

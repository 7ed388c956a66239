/* Internal to the runtime builder (ca_rt*.c). */
#ifndef SIGNET_CA_RT_LOCAL_H
#define SIGNET_CA_RT_LOCAL_H

#include <stddef.h>

#include <signet/ca.h>
#include <signet/sconf.h>

/* One configured profile as a struct ca_profile; -1 with err set. */
int	ca_rt_profile(const struct sconf_tenant *st,
	    const struct sconf_profile *sp, const struct ca_issuer *iss,
	    struct ca_profile *p, char *err, size_t errlen);
void	ca_rt_profile_warn(const struct sconf_tenant *st,
	    const struct ca_profile *p);

#endif

/*
 * Where a validation may connect (docs/acme.md "The validator"), checked
 * in code before every connect (seccomp cannot read a sockaddr):
 *
 *   - never: unspecified (0.0.0.0/8, ::), multicast, 240.0.0.0/4 (with
 *     the broadcast address), IPv4-mapped and -compatible IPv6 (they
 *     would reach an IPv4 address around its own rules);
 *   - loopback and link-local only when an allow-list entry lies inside
 *     that range (127.0.0.0/8, 169.254.0.0/16, ::1/128, fe80::/10:
 *     "0.0.0.0/0" does not unlock them), or for loopback with the older
 *     test switch acme_validate_loopback;
 *   - anything else: inside one of acme_validate_allow's CIDRs, or any
 *     address when that list is empty.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "val_local.h"

/* Ranges an entry must lie inside to unlock (bits: the range's prefix). */
enum { VAL_NEVER, VAL_LOOPBACK, VAL_LINKLOCAL };

static const struct {
	const char	*cidr;
	int		 kind;
} val_special[] = {
	{ "0.0.0.0/8", VAL_NEVER },
	{ "224.0.0.0/4", VAL_NEVER },
	{ "240.0.0.0/4", VAL_NEVER },
	{ "::/128", VAL_NEVER },
	{ "ff00::/8", VAL_NEVER },
	{ "::ffff:0.0.0.0/96", VAL_NEVER },
	{ "127.0.0.0/8", VAL_LOOPBACK },
	{ "::1/128", VAL_LOOPBACK },
	{ "::/96", VAL_NEVER },	/* IPv4-compatible, after ::1 and :: */
	{ "169.254.0.0/16", VAL_LINKLOCAL },
	{ "fe80::/10", VAL_LINKLOCAL },
};

static int
val_in(const struct sconf_cidr *c, int family, const uint8_t *a)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (c->family != family || memcmp(c->addr, a, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((c->addr[full] ^ a[full]) &
	    (uint8_t)(0xff << (8 - rest))) == 0;
}

int
val_policy_init(struct val_policy *pol, const struct sconf *c, char *err,
    size_t errlen)
{
	size_t i;

	memset(pol, 0, sizeof(*pol));
	pol->loopback_ok = c->acme_validate_loopback;
	if (c->acme_validate_allow.n > VAL_MAX_ALLOW) {
		snprintf(err, errlen, "acme_validate_allow: more than %d "
		    "entries", VAL_MAX_ALLOW);
		return -1;
	}
	for (i = 0; i < c->acme_validate_allow.n; i++)
		if (sconf_cidr(c->acme_validate_allow.v[i],
		    &pol->allow[pol->nallow++]) != 0) {
			snprintf(err, errlen, "acme_validate_allow: \"%s\" is "
			    "not a CIDR", c->acme_validate_allow.v[i]);
			return -1;
		}
	return 0;
}

int
val_addr_allowed(const struct val_policy *pol, const struct sockaddr *sa)
{
	struct sconf_cidr sp;
	const uint8_t *a;
	size_t i, j;
	int family = sa->sa_family;

	if (family == AF_INET)
		a = (const uint8_t *)&((const struct sockaddr_in *)
		    (const void *)sa)->sin_addr;
	else if (family == AF_INET6)
		a = (const uint8_t *)&((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr;
	else
		return 0;
	for (i = 0; i < sizeof(val_special) / sizeof(val_special[0]); i++) {
		if (sconf_cidr(val_special[i].cidr, &sp) != 0 ||
		    !val_in(&sp, family, a))
			continue;
		if (val_special[i].kind == VAL_NEVER)
			return 0;
		if (val_special[i].kind == VAL_LOOPBACK && pol->loopback_ok)
			return 1;
		/* Only an entry inside this range unlocks it. */
		for (j = 0; j < pol->nallow; j++)
			if (pol->allow[j].bits >= sp.bits &&
			    val_in(&pol->allow[j], family, a))
				return 1;
		return 0;
	}
	if (pol->nallow == 0)
		return 1;
	for (j = 0; j < pol->nallow; j++)
		if (val_in(&pol->allow[j], family, a))
			return 1;
	return 0;
}

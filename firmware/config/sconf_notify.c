/*
 * Expiry notifications in the configuration (issue 19, docs/notify.md):
 * the thresholds' syntax and the checks that span sections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/sconf.h"

#define SCONF_NOTIFY_MAX	8	/* thresholds, webhooks per profile */
#define SCONF_NOTIFY_URL_MAX	1024	/* bytes of a webhook URL */

int sconf_notify_check(const struct sconf *c, char *err, size_t errlen);

int
sconf_threshold(const char *s, int64_t *secs, int *permille)
{
	size_t n;
	long whole = 0, frac = 0;
	const char *p;

	*secs = 0;
	*permille = 0;
	if (s == NULL || (n = strlen(s)) < 2 || n > 15)
		return -1;
	if (s[n - 1] != '%') {
		*secs = sconf_duration(s);
		return *secs > 0 ? 0 : -1;
	}
	/* "50%", "12.5%": one decimal at most, in permille. */
	for (p = s; *p >= '0' && *p <= '9' && p - s < 3; p++)
		whole = whole * 10 + (*p - '0');
	if (p == s)
		return -1;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		frac = p[1] - '0';
		p += 2;
	}
	if (*p != '%' || p[1] != '\0')
		return -1;
	*permille = (int)(whole * 10 + frac);
	if (*permille < 1 || *permille > 999) {
		*permille = 0;
		return -1;
	}
	return 0;
}

int
sconf_notify_wanted(const struct sconf *c)
{
	size_t i, j;

	for (i = 0; i < c->ntenants; i++)
		for (j = 0; j < c->tenants[i].nprofiles; j++)
			if (c->tenants[i].profiles[j].notify_webhooks.n > 0)
				return 1;
	return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int
check_profile(const struct sconf *c, const struct sconf_tenant *t,
    const struct sconf_profile *p, char *err, size_t errlen)
{
	size_t i;

	if (p->notify_thresholds.n == 0 && p->notify_webhooks.n == 0)
		return 0;
	if (p->notify_thresholds.n == 0 || p->notify_webhooks.n == 0)
		FAIL("%s: tenant \"%s\" profile \"%s\": notify needs both "
		    "thresholds and webhooks", c->path, t->name, p->name);
	if (p->notify_thresholds.n > SCONF_NOTIFY_MAX ||
	    p->notify_webhooks.n > SCONF_NOTIFY_MAX)
		FAIL("%s: tenant \"%s\" profile \"%s\": notify: at most %d "
		    "thresholds and %d webhooks", c->path, t->name, p->name,
		    SCONF_NOTIFY_MAX, SCONF_NOTIFY_MAX);
	for (i = 0; i < p->notify_webhooks.n; i++) {
		const char *u = p->notify_webhooks.v[i];

		/* The delivery client speaks plain HTTP (docs/notify.md);
		 * the HMAC signature, not the channel, authenticates. */
		if (strncmp(u, "http://", 7) != 0 || u[7] == '\0' ||
		    u[7] == '/' || strchr(u + 7, '/') == NULL ||
		    strlen(u) > SCONF_NOTIFY_URL_MAX)
			FAIL("%s: tenant \"%s\" profile \"%s\": webhook \"%s\" "
			    "is not http://host[:port]/path (at most %d bytes)",
			    c->path, t->name, p->name, u,
			    SCONF_NOTIFY_URL_MAX);
	}
	if (c->notify_secret_file == NULL)
		FAIL("%s: notify: secret_file is required when a profile has "
		    "webhooks (the HMAC key receivers verify with)", c->path);
	return 0;
}

int
sconf_notify_check(const struct sconf *c, char *err, size_t errlen)
{
	size_t i, j;

	if (c->notify_interval < 1 || c->notify_interval > 86400)
		FAIL("%s: notify: interval must be 1s..1d", c->path);
	if (c->notify_retry < 1 || c->notify_retry > 3600)
		FAIL("%s: notify: retry must be 1s..1h", c->path);
	/* A lease outlives a delivery attempt (half of it, at most 15 s). */
	if (c->notify_lease < 4 || c->notify_lease > 3600)
		FAIL("%s: notify: lease must be 4s..1h", c->path);
	if (c->notify_max_attempts < 1 || c->notify_max_attempts > 1000)
		FAIL("%s: notify: max_attempts must be 1..1000", c->path);
	for (i = 0; i < c->ntenants; i++)
		for (j = 0; j < c->tenants[i].nprofiles; j++)
			if (check_profile(c, &c->tenants[i],
			    &c->tenants[i].profiles[j], err, errlen) != 0)
				return -1;
	return 0;
}

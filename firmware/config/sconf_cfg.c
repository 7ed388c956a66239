/*
 * libconfuse helpers shared by signetd's configuration and the ceremony
 * file (signet/sconf_cfg.h), and the comment blanking both parse with.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "signet/sconf.h"
#include "signet/sconf_cfg.h"

/* The load in progress; libconfuse reports through a hook without one. */
static __thread struct sconf_cfg_load *load_ctx;

static void __attribute__((format(printf, 2, 0)))
on_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[SCONF_MAX_ERR];
	struct sconf_cfg_load *lc = load_ctx;

	if (lc == NULL || lc->have)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* libconfuse 3.3 passes its cfg_t; the other branch is defensive. */
	if (cfg != NULL)
		snprintf(lc->err, lc->errlen, "%s:%d: %s", lc->path, cfg->line,
		    msg);
	else
		snprintf(lc->err, lc->errlen, "%s: %s", lc->path, msg);
	lc->have = 1;
}

void
sconf_cfg_begin(cfg_t *cfg, struct sconf_cfg_load *lc)
{
	load_ctx = lc;
	if (cfg != NULL)
		cfg_set_error_function(cfg, on_error);
}

void
sconf_cfg_end(void)
{
	load_ctx = NULL;
}

void
sconf_cfg_validators(cfg_t *cfg, const struct sconf_cfg_validator *v,
    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		cfg_set_validate_func(cfg, v[i].path, v[i].fn);
}

int64_t
sconf_cfg_duration(const char *s, const struct sconf_durfmt *f)
{
	const struct sconf_unit *u;
	char *end;
	long long v;
	int64_t mul = 1;

	if (s == NULL)
		return -1;
	if (f->blanks ? *s == '\0' || *s == '-' || *s == '+' :
	    *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	if (*end != '\0') {
		for (u = f->units; u->suffix != '\0'; u++)
			if (u->suffix == *end)
				break;
		if (u->suffix == '\0' || end[1] != '\0')
			return -1;
		mul = u->secs;
	}
	if (v < f->min || v > INT64_MAX / mul)
		return -1;
	return (int64_t)v * mul;
}

int
sconf_cfg_check_duration(cfg_t *cfg, cfg_opt_t *opt,
    const struct sconf_durfmt *f)
{
	const char *v = cfg_opt_getnstr(opt, 0);

	if (v != NULL && sconf_cfg_duration(v, f) < 0) {
		cfg_error(cfg, "%s: \"%s\" is not a duration (e.g. %s)",
		    opt->name, v, f->examples);
		return -1;
	}
	return 0;
}

/*
 * Blanks out comments (#, // and C-style), keeping every newline and
 * leaving quoted strings alone.  libconfuse 3.3 miscounts lines after a
 * comment, so it is handed text without any and its line numbers stay
 * those of the file.
 */
void
sconf_blank_comments(char *s)
{
	char quote = 0;

	for (; *s != '\0'; s++) {
		if (quote) {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == quote)
				quote = 0;
		} else if (*s == '"' || *s == '\'') {
			quote = *s;
		} else if (*s == '#' || (*s == '/' && s[1] == '/')) {
			while (*s != '\0' && *s != '\n')
				*s++ = ' ';
			if (*s == '\0')
				break;
		} else if (*s == '/' && s[1] == '*') {
			*s++ = ' ';
			*s = ' ';
			while (s[1] != '\0' && !(s[1] == '*' && s[2] == '/')) {
				s++;
				if (*s != '\n')
					*s = ' ';
			}
			if (s[1] != '\0') {
				s[1] = ' ';
				s[2] = ' ';
				s += 2;
			}
		}
	}
}

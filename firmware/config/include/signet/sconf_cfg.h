/*
 * libconfuse helpers shared by signetd's configuration (firmware/config)
 * and the ceremony file (tools/ceremony/cer_conf.c): the error hook that
 * keeps the first message as "file:line: message", validator tables and
 * one duration parser.  The two files accept different durations by
 * design, so the parser takes a unit table and a minimum.
 *
 * Kept apart from sconf.h: only the two libconfuse users include it.
 */
#ifndef SIGNET_SCONF_CFG_H
#define SIGNET_SCONF_CFG_H

#include <stddef.h>
#include <stdint.h>

#include <confuse.h>

/* Where the load in progress reports its first error; the caller's. */
struct sconf_cfg_load {
	char		*err;
	size_t		 errlen;
	int		 have;		/* err holds a message */
	const char	*path;		/* the file, for messages */
};

/*
 * Routes cfg's messages into lc until sconf_cfg_end (one load per thread
 * at a time): the first message wins, later ones are dropped.
 */
void	sconf_cfg_begin(cfg_t *cfg, struct sconf_cfg_load *lc);
void	sconf_cfg_end(void);

struct sconf_cfg_validator {
	const char		*path;	/* "section|option" */
	cfg_validate_callback_t	 fn;
};

void	sconf_cfg_validators(cfg_t *cfg, const struct sconf_cfg_validator *v,
	    size_t n);

/* A duration's unit: a one-letter suffix and its seconds. */
struct sconf_unit {
	char		suffix;
	int64_t		secs;
};

/*
 * What a file accepts as a duration: decimal digits with at most one
 * suffix of units (none = seconds), at least min seconds before the
 * unit is applied.  blanks lets leading white space (and a '+' after
 * it) through, as strtoll does; without it the first character must be
 * a digit.  examples end the validator's message.
 */
struct sconf_durfmt {
	const struct sconf_unit	*units;		/* ends with suffix '\0' */
	int64_t			 min;
	int			 blanks;
	const char		*examples;
};

/* Seconds, or -1 if s is NULL, malformed, below min or overflows. */
int64_t	sconf_cfg_duration(const char *s, const struct sconf_durfmt *f);

/* A validator's body: 0, or -1 after cfg_error naming opt and f's examples. */
int	sconf_cfg_check_duration(cfg_t *cfg, cfg_opt_t *opt,
	    const struct sconf_durfmt *f);

#endif

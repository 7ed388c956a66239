/*
 * Failed authentications, aggregated per source and window so that a flood
 * writes a bounded number of audit rows and log lines: the first failure
 * of a source in a window is written as it happens (an attack is visible
 * at once); the rest are counted, and when the window has passed one row
 * says how many more there were and the last reason.  At most
 * ENG_AF_SOURCES sources are tracked; failures of further sources are
 * folded into one entry for all others ("*").  So a window writes at most
 * 2 * (ENG_AF_SOURCES + 1) rows, whatever arrives.
 *
 * Pure over a table and a clock (tests/unit/engine); the engine holds the
 * lock and writes the rows (eng_gate.c).
 */
#ifndef SIGNET_ENG_AUTHFAIL_H
#define SIGNET_ENG_AUTHFAIL_H

#include <stddef.h>
#include <stdint.h>

#include "eng_limit.h"

#define ENG_AF_SOURCES	1024
#define ENG_AF_TEXT	64	/* "2001:db8::/64", "127.0.0.1", "others" */
#define ENG_AF_REASON	128

struct eng_af_entry {
	char		key[ENG_LIMIT_KEY];	/* "" : free */
	char		text[ENG_AF_TEXT];
	uint64_t	start_s;	/* window opened */
	uint64_t	count;		/* failures not yet written */
	char		reason[ENG_AF_REASON];	/* the last one's */
};

struct eng_af_table {
	struct eng_af_entry	e[ENG_AF_SOURCES];
	struct eng_af_entry	others;
};

/* A summary row to write: count more failures from text in window. */
struct eng_af_summary {
	char		text[ENG_AF_TEXT];
	uint64_t	count;
	uint64_t	window_s;
	char		reason[ENG_AF_REASON];
};

/*
 * One failure of source key (text for humans) at now_s.  Returns 1 if it
 * is the first of its window (write it now), 0 if it was counted.  If
 * the source's previous window still held a count, *sum receives it and
 * *have_sum is 1 (write that first).  window_s 0: every failure is
 * written (returns 1, nothing counted).
 */
int	eng_af_note(struct eng_af_table *t, const char *key, const char *text,
	    const char *reason, uint64_t now_s, uint64_t window_s,
	    struct eng_af_summary *sum, int *have_sum);
/*
 * Windows that have passed by now_s with failures counted: up to max
 * summaries into out, their entries freed; returns how many.  force: all
 * of them, passed or not (at shutdown).
 */
size_t	eng_af_due(struct eng_af_table *t, uint64_t now_s, uint64_t window_s,
	    int force, struct eng_af_summary *out, size_t max);

#endif

/*
 * Aggregation of failed authentications (eng_authfail.h): which failure is
 * written at once, which is counted, and which counts are due.
 */
#include <stdio.h>
#include <string.h>

#include "eng_authfail.h"

static uint32_t
af_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The source's entry, a free one for it, or the one for all others. */
static struct eng_af_entry *
af_find(struct eng_af_table *t, const char *key, const char *text)
{
	struct eng_af_entry *e, *fresh = NULL;
	uint32_t h = af_hash(key);
	size_t i;

	for (i = 0; i < ENG_LIMIT_PROBE; i++) {
		e = &t->e[(h + i) % ENG_AF_SOURCES];
		if (strcmp(e->key, key) == 0 && e->key[0] != '\0')
			return e;
		if (e->key[0] == '\0' && fresh == NULL)
			fresh = e;
	}
	/* Full: no source may push another's count out of the log. */
	if (fresh == NULL) {
		e = &t->others;
		if (e->key[0] == '\0') {
			snprintf(e->key, sizeof(e->key), "*");
			snprintf(e->text, sizeof(e->text), "others");
		}
		return e;
	}
	memset(fresh, 0, sizeof(*fresh));
	snprintf(fresh->key, sizeof(fresh->key), "%s", key);
	snprintf(fresh->text, sizeof(fresh->text), "%s", text);
	return fresh;
}

static void
af_summary(const struct eng_af_entry *e, uint64_t window_s,
    struct eng_af_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	snprintf(sum->text, sizeof(sum->text), "%s", e->text);
	snprintf(sum->reason, sizeof(sum->reason), "%s", e->reason);
	sum->count = e->count;
	sum->window_s = window_s;
}

int
eng_af_note(struct eng_af_table *t, const char *key, const char *text,
    const char *reason, uint64_t now_s, uint64_t window_s,
    struct eng_af_summary *sum, int *have_sum)
{
	struct eng_af_entry *e;

	*have_sum = 0;
	if (window_s == 0)
		return 1;
	e = af_find(t, key != NULL ? key : "", text != NULL ? text : "-");
	if (e->start_s != 0 && now_s < e->start_s + window_s) {
		e->count++;
		snprintf(e->reason, sizeof(e->reason), "%s", reason);
		return 0;
	}
	/* A new window: what the old one counted is written first. */
	if (e->count > 0) {
		af_summary(e, window_s, sum);
		*have_sum = 1;
	}
	e->start_s = now_s > 0 ? now_s : 1;
	e->count = 0;
	e->reason[0] = '\0';
	return 1;
}

size_t
eng_af_due(struct eng_af_table *t, uint64_t now_s, uint64_t window_s,
    int force, struct eng_af_summary *out, size_t max)
{
	struct eng_af_entry *e;
	size_t i, n = 0;

	for (i = 0; i <= ENG_AF_SOURCES && n < max; i++) {
		e = i < ENG_AF_SOURCES ? &t->e[i] : &t->others;
		if (e->key[0] == '\0' || (!force &&
		    now_s < e->start_s + window_s))
			continue;
		if (e->count > 0)
			af_summary(e, window_s, &out[n++]);
		/* The window is over: the next failure is written again. */
		memset(e, 0, sizeof(*e));
	}
	return n;
}

/*
 * When to rebuild a CRL.  Pure logic over times the caller passes in, so
 * the rules can be tested without waiting: a revocation is published
 * within CA_CRL_MAX_DELAY seconds (the window opens at the first
 * revocation and later ones do not push it out, so a burst costs one
 * rebuild and the bound holds), and a CRL is replaced once two thirds
 * of its lifetime have passed, long before nextUpdate.
 */
#include <string.h>

#include "ca_crl_local.h"

int
ca_crl_sched_init(struct ca_crl_sched *s, int64_t debounce_secs)
{
	memset(s, 0, sizeof(*s));
	if (debounce_secs == 0)
		debounce_secs = CA_CRL_DEBOUNCE;
	/* policy: a revocation reaches a CRL within CA_CRL_MAX_DELAY s. */
	if (debounce_secs < 0 || debounce_secs > CA_CRL_MAX_DELAY)
		return CA_ERR_ARG;
	s->debounce = debounce_secs;
	return CA_OK;
}

void
ca_crl_sched_revoked(struct ca_crl_sched *s, time_t now)
{
	s->gen++;
	if (s->building && s->first_after_begin == 0)
		s->first_after_begin = now;
	if (!s->dirty) {
		s->dirty = 1;
		s->dirty_at = now;
	}
}

uint64_t
ca_crl_sched_begin(struct ca_crl_sched *s)
{
	s->building = 1;
	s->begin_gen = s->gen;
	s->first_after_begin = 0;
	return s->gen;
}

/*
 * A CRL listing the revocations up to generation gen is out.  Those that
 * came in while it was built are not in it: their window opened when
 * the first of them arrived.
 */
void
ca_crl_sched_built(struct ca_crl_sched *s, uint64_t gen, time_t this_update,
    time_t next_update)
{
	s->built = 1;
	s->this_update = this_update;
	s->next_update = next_update;
	if (gen == s->gen)
		s->dirty = 0;
	else if (s->building && s->first_after_begin != 0)
		s->dirty_at = s->first_after_begin;
	s->building = 0;
	s->first_after_begin = 0;
}

time_t
ca_crl_sched_due(const struct ca_crl_sched *s)
{
	time_t due, d;

	if (!s->built)
		return 0;
	/* RFC 5280 5.1.2.5: a fresh CRL well before nextUpdate. */
	due = s->this_update + (s->next_update - s->this_update) * 2 / 3;
	if (s->dirty) {
		d = s->dirty_at + (time_t)s->debounce;
		if (d < due)
			due = d;
	}
	return due;
}

int
ca_crl_sched_should_build(const struct ca_crl_sched *s, time_t now)
{
	return now >= ca_crl_sched_due(s);
}

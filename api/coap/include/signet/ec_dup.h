/*
 * The CoAP front end's exchanges with the engine, remembered per DTLS
 * session so that a retransmitted CON never reaches the engine twice
 * (RFC 7252 4.5: the recipient of a duplicate CON should answer it the
 * way it answered the first).  libcoap keeps no such cache (4.3.1 and
 * 4.3.4 alike).
 *
 * An exchange is keyed by its session (an opaque pointer here), message
 * id and token.  It is "in flight" from the moment its engine request is
 * sent until the answer is known, then "done" with the answer kept for
 * replay until it expires (EC_DUP_KEEP_MS) or is pushed out by newer
 * exchanges of the same session or of all sessions.  In-flight exchanges
 * are never pushed out: when a session (or the process) has no room, the
 * caller refuses the request (5.03) instead.
 *
 * Pure: no socket, no libcoap, the clock is passed in; unit-tested in
 * tests/unit/coap/ec_dup_test.c.  Ownership: an answer's data is
 * malloc'd by the caller and owned by the table after ec_dup_done().
 */
#ifndef SIGNET_EC_DUP_H
#define SIGNET_EC_DUP_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "signet/ec.h"

#define EC_DUP_SESSION	4		/* exchanges of one session */
#define EC_DUP_MAX	256		/* exchanges of all sessions */
#define EC_DUP_BYTES	(1024 * 1024)	/* answer bodies kept, in all */
#define EC_DUP_KEEP_MS	247000		/* RFC 7252 4.8.2 EXCHANGE_LIFETIME */
#define EC_DUP_TOKEN	8		/* RFC 7252 3: token length */

enum ec_dup_state {
	EC_DUP_INFLIGHT = 1,
	EC_DUP_DONE
};

/* What the client is answered, as often as it asks. */
struct ec_answer {
	int		 code;		/* 204, 205, 4xx, 5xx */
	unsigned	 ct;		/* Content-Format of data */
	uint32_t	 max_age;	/* 4.29: Max-Age, 0 for none */
	char		 diag[EC_MAX_DIAG + 1];	/* error answers */
	uint8_t		*data;		/* success answers, malloc'd */
	size_t		 len;
};

struct ec_dup_entry {
	TAILQ_ENTRY(ec_dup_entry) entry;
	uint64_t	 id;		/* never reused: engine callbacks */
	const void	*session;
	uint16_t	 mid;
	uint8_t		 token[EC_DUP_TOKEN];
	size_t		 toklen;
	int		 state;		/* enum ec_dup_state */
	int64_t		 done_ms;
	/* The caller's: non-NULL while its answer is still to be sent. */
	void		*app;
	int		 op, evkind;	/* the caller's: what was asked */
	unsigned	 rsp_ct;
	struct ec_answer ans;
};
TAILQ_HEAD(ec_dup_list, ec_dup_entry);

struct ec_dup {
	struct ec_dup_list	 list;	/* oldest first */
	size_t			 n;
	size_t			 bytes;	/* sum of ans.len of done ones */
	uint64_t		 next_id;
	uint64_t		 evicted;	/* done ones pushed out early */
};

void	ec_dup_init(struct ec_dup *);
void	ec_dup_free(struct ec_dup *);

/* The exchange (session, mid, token), in flight or done; NULL if none. */
struct ec_dup_entry *ec_dup_find(struct ec_dup *, const void *session,
	    uint16_t mid, const uint8_t *token, size_t toklen);
/* The exchange with this id, or NULL (it ended with its session). */
struct ec_dup_entry *ec_dup_byid(struct ec_dup *, uint64_t id);

/*
 * A new exchange, in flight.  Pushes out the oldest done exchange of the
 * session, or of all, to make room (never one whose app is set).  NULL
 * if the session's EC_DUP_SESSION exchanges, or all EC_DUP_MAX, are in
 * flight or unsent, the token is longer than EC_DUP_TOKEN, or memory ran
 * out.
 */
struct ec_dup_entry *ec_dup_start(struct ec_dup *, const void *session,
	    uint16_t mid, const uint8_t *token, size_t toklen);

/*
 * The exchange's answer, moved in (ans->data now belongs to the table;
 * *ans is zeroed).  Older done exchanges are pushed out while the bodies
 * kept exceed EC_DUP_BYTES.
 */
void	ec_dup_done(struct ec_dup *, struct ec_dup_entry *,
	    struct ec_answer *ans, int64_t now);

/* Forget one exchange (a request that never reached the engine). */
void	ec_dup_forget(struct ec_dup *, struct ec_dup_entry *);
/* Forget done exchanges older than EC_DUP_KEEP_MS. */
void	ec_dup_expire(struct ec_dup *, int64_t now);
/* Forget every exchange of a session (it ended); in-flight ones too. */
void	ec_dup_drop_session(struct ec_dup *, const void *session);

#endif /* SIGNET_EC_DUP_H */

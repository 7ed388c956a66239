/* Internal to the engine's ACME files (eng_acme*.c). */
#ifndef SIGNET_ENG_ACME_H
#define SIGNET_ENG_ACME_H

#include <openssl/evp.h>

#include <signet/ledger_acme.h>

#include "acme.h"
#include "eng_engine_local.h"

#define ENG_ACME_ID_MAX		22	/* 128 bits, base64url */
#define ENG_ACME_BASE_MAX	512	/* "https://host:port/acme/<label>" */
#define ENG_ACME_CONTACT_MAX	2048	/* contacts as a JSON array */

struct eng_acme_acct {
	int		 found;
	char		 id[ENG_ACME_ID_MAX + 1];
	char		 tenant[CA_MAX_ID + 1];
	char		 profile[CA_MAX_ID + 1];
	char		 status[16];
	char		 contact[ENG_ACME_CONTACT_MAX];
	EVP_PKEY	*key;	/* owned */
};

/* One ACME request being answered. */
struct eng_acme {
	struct eng_engine		*e;
	const struct eng_rt		*rt;
	const struct proto_acme_req	*q;
	const struct proto_evidence	*ev;	/* its source address */
	struct eng_reply		*r;
	const struct eng_rt_tenant	*t;
	const char			*tenant, *profile;	/* the label's */
	char				 base[ENG_ACME_BASE_MAX];
	struct acme_jws			*jws;	/* owned, verified */
	struct eng_acme_acct		 acct;	/* who signed it */
	char				 nonce[ACME_NONCE_LEN + 1];
	char				*out;	/* PROTO_MAX_BLOB bytes */
	size_t				 outlen;
	int				 overflow;
	uint32_t			 retry_after;	/* seconds, 0: none */
};

/* Building the answer (eng_acme.c). */
void	eng_acme_put(struct eng_acme *a, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	eng_acme_jstr(struct eng_acme *a, const char *s);
void	eng_acme_time(struct eng_acme *a, int64_t t);
/* Finish: the body so far, status, content type, Location; a nonce. */
int	eng_acme_answer(struct eng_acme *a, int status, int ctype,
	    const char *location);
/* A problem document instead of whatever was built. */
int	eng_acme_problem(struct eng_acme *a, enum acme_problem p,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with another HTTP status and a Location (409 key change). */
int	eng_acme_problem_at(struct eng_acme *a, int status,
	    const char *location, enum acme_problem p, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
int	eng_acme_newid(char out[ENG_ACME_ID_MAX + 1]);
int	eng_acme_id_ok(const char *id);
/* An account row (LA_ACCT_GET, LA_ACCT_BY_KEY) into the eng_acme_acct. */
int	eng_acme_acct_row(const struct ledger_val *v, size_t n, void *arg);

/* Accounts (eng_acme_acct.c). */
#define ENG_ACME_ORDERS_MAX	100	/* orders listed a page (7.1.2.1) */
#define ENG_ACME_ORDERS_PAGES	100	/* pages: 10,000 orders at most */
/* Contacts (mailto: only) as a JSON array into a->acct.contact. */
int	eng_acme_contacts(struct eng_acme *a, const char *const *contact,
	    size_t n);
int	eng_acme_account_answer(struct eng_acme *a, int status);
int	eng_acme_account(struct eng_acme *a);
int	eng_acme_key_change(struct eng_acme *a);
int	eng_acme_orders(struct eng_acme *a);

/* Revocation and renewal information (eng_acme_rev.c). */
int	eng_acme_revoke(struct eng_acme *a);
int	eng_acme_renewal_info(struct eng_acme *a);
/*
 * RFC 9773 `replaces` of a newOrder (the CertID text and its parse): a
 * certificate of this directory this account was issued, sharing an
 * identifier with the order.  -1 to go on, or the problem answered.
 */
int	eng_acme_replaces(struct eng_acme *a, const struct acme_certid *id,
	    const struct acme_new_order *no);

#define ENG_ACME_VA_RETRY	30	/* hand a validation out again after */
/* s: with CAA checking on, a reused authorization's CAA check (made at
   its validation) is at most this old (Boulder's 8 h, docs/acme.md). */
#define ENG_ACME_CAA_REUSE	(8 * 3600)
#define ENG_ACME_POLL_RETRY	1	/* Retry-After while it is under way */
#define ENG_ACME_VA_BODY	8192	/* the validator's body, at most */
#define ENG_ACME_MAX_AUTHZ	ACME_MAX_IDENTS

struct eng_acme_authz {
	char	id[ENG_ACME_ID_MAX + 1];
	char	type[8];
	char	value[ACME_MAX_IDENT + 1];
	char	status[16];
	int64_t	expires;
	char	chall[ENG_ACME_ID_MAX + 1];
	char	token[ENG_ACME_ID_MAX + 24];
	char	chall_status[16];
	int64_t	validated;
	char	error[ACME_MAX_PROBLEM + 1];
	char	order[ENG_ACME_ID_MAX + 1];
	char	account[ENG_ACME_ID_MAX + 1];
	char	thumb[44];
	char	chall_type[16];	/* the challenge chosen (http-01 before) */
};

struct eng_acme_order {
	int			 found;
	char			 status[16];
	int64_t			 expires;
	char			 error[ACME_MAX_PROBLEM + 1];
	char			 replaces[ACME_MAX_CERTID + 1];
	uint8_t			*cert;	/* owned DER */
	size_t			 cert_len;
	size_t			 nauthz;
	struct eng_acme_authz	*authz;	/* owned, ENG_ACME_MAX_AUTHZ */
};

/* Orders, authorizations, challenges (eng_acme_order.c). */
int	eng_acme_order_op(struct eng_acme *a);
void	eng_acme_copy(char *dst, size_t size, const struct ledger_val *v);
/* This account's order id and its authorizations; pending moves on. */
int	eng_acme_order_load(struct eng_acme *a, const char *id,
	    struct eng_acme_order *o);
void	eng_acme_order_free(struct eng_acme_order *o);
int	eng_acme_order_answer(struct eng_acme *a, const char *id,
	    const struct eng_acme_order *o, int status);
/* LEDGER_ORDER_STATUS: order from -> to, with a problem document. */
int	eng_acme_status_write(struct eng_acme *a, const char *order,
	    const char *to, const char *from, const char *error);
/* One authorization by stmt (LA_AUTHZ_GET, LA_AUTHZ_BY_CHALL); 0 found. */
int	eng_acme_authz_load(struct eng_acme *a, enum ledger_acme_stmt stmt,
	    const char *id, struct eng_acme_authz *z);
/*
 * Authorizations and their challenges (eng_acme_chall.c): the challenges
 * an identifier is offered, the one the client chose, what the validator
 * is asked to fetch and whether what it fetched proves control.
 */
int	eng_acme_authz(struct eng_acme *a);
int	eng_acme_challenge(struct eng_acme *a);
/* VA_NEXT: what to fetch for z ("http://...", "tls://...", "dns:..."). */
int	eng_acme_va_url(const struct sconf *c, const struct eng_acme_authz *z,
	    char *url, size_t size);
/* VA_RESULT: whether body (what the validator fetched) proves control. */
int	eng_acme_va_proves(const struct proto_blob *body,
	    const struct eng_acme_authz *z, char *why, size_t whylen);
/* Finalize and the certificate (eng_acme_fin.c). */
#define ENG_ACME_FIN_STALE	120	/* s: a shared ledger's finalize died */
int	eng_acme_finalize(struct eng_acme *a);
/* A processing order whose finalize died: invalid (eng_acme_order_load). */
void	eng_acme_fin_settle(struct eng_acme *a, const char *id,
	    struct eng_acme_order *o);
int	eng_acme_cert(struct eng_acme *a);

/*
 * Rate limits (eng_acme_limit.c, docs/acme.md "Rate limits").  Those
 * returning int answer -1 to go on, or the rateLimited problem made.
 */
/* newOrder: the account's failed validations and its orders. */
int	eng_acme_limit_order(struct eng_acme *a);
/* A validation of account's failed (the validator's verdict). */
void	eng_acme_limit_failed(struct eng_acme *a, const char *account);
/* newAccount about to be created: the source's accounts; and undone. */
int	eng_acme_limit_account(struct eng_acme *a);
void	eng_acme_limit_account_undo(struct eng_acme *a);
/* finalize: the tenant's bucket, as EST issuance (limits.rate_tenant). */
int	eng_acme_limit_cert(struct eng_acme *a);

#endif

/* Internal to the engine's ACME files (eng_acme.c, eng_acme_order.c). */
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
int	eng_acme_newid(char out[ENG_ACME_ID_MAX + 1]);

/* Orders, authorizations, challenges, finalize, cert (eng_acme_order.c). */
int	eng_acme_order_op(struct eng_acme *a);

#endif

/*
 * The EST test bench of api/https: an evhttp server on 127.0.0.1 whose
 * requests go to https_est() as signet-https's dispatcher sends them, a
 * libevent HTTP client on the same loop, and the engine's end of the
 * channel answering with real engine messages (https_test_peer.h).  With
 * tls, the server's TLS context is https_tls_init()'s own, from the
 * dev-host configuration with its files in a temporary directory.
 */
#ifndef HTTPS_TEST_EST_H
#define HTTPS_TEST_EST_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "https_local.h"
#include "https_test_peer.h"

#define P7_CERTS	"application/pkcs7-mime; smime-type=certs-only"

enum engine_mode {
	ENGINE_ANSWER,		/* reply with F->rep */
	ENGINE_SILENT,		/* never reply: the call times out */
	ENGINE_CLOSE		/* close the channel on the first request */
};

struct fix {
	struct event_base	*base;
	struct https_srv	*srv;
	struct evhttp		*http;
	struct evhttp_connection *conn;
	struct event		*safety;
	int			 timed_out;
	int			 port;
	int			 tls;
	char			 dir[64];	/* TLS: config files */
	char			 cwd[1024];
	/* The engine's end. */
	int			 peer;
	struct event		*peer_ev;
	int			 mode;		/* enum engine_mode */
	struct proto_reply	 rep;
	int			 nreq;
	struct peer_msg		 m;		/* the last request */
	/* What the client got. */
	int			 code;
	char			 ctype[128];
	char			 cte[32];
	char			 retry[16];
	char			 www[64];
	char			 cache[32];
	uint8_t			*body;
	size_t			 bodylen;
	/* Certificates for replies. */
	struct proto_blob	 certs[2];
	uint8_t			*ders[2];
	/* TLS: the client CA of tls.client_ca and its key. */
	X509			*client_ca;
	EVP_PKEY		*client_ca_key;
};

extern struct fix *F;

/* The bench, its engine channel timing out after timeout_ms. */
void	est_setup(int timeout_ms, int tls);
void	est_teardown(void);

/*
 * The tenant and profile an EST request names, as the engine message
 * carries them.  The only place that knows (see https_test_est.c).
 */
void	expect_target(const struct proto_request *req, const char *label,
	    const char *tenant, const char *profile);

/*
 * One request; returns the status code the client got.  ctype, auth,
 * body and cl2 (a second Content-Length field) may be NULL.
 */
int	request_cl(enum evhttp_cmd_type cmd, const char *path,
	    const char *ctype, const char *auth, const char *body,
	    size_t bodylen, const char *cl2);
int	get(const char *path);
int	post(const char *path, const char *ctype, const char *auth,
	    const char *body);
/* TLS: later requests go over a new connection presenting x (or none). */
void	est_connect(X509 *x, EVP_PKEY *k);

/* The answer body, base64 as EST has it, decoded into out. */
size_t	body_b64(uint8_t *out, size_t size);
/* The body is a base64 certs-only PKCS#7 of certs[0..n-1]. */
void	expect_p7(const struct proto_blob *certs, size_t n);
void	expect_body(const char *want);

/* A P-256 certificate for k, signed by issuer/ikey (NULL: self). */
X509	*test_x509(const char *cn, EVP_PKEY *k, X509 *issuer,
	    EVP_PKEY *ikey, int ca);
/* x as DER into a blob (OPENSSL_free the pointer). */
void	test_der(X509 *x, struct proto_blob *b);

#endif /* HTTPS_TEST_EST_H */

/*
 * The Signet device client: gives a device its identity from a Signet
 * appliance over EST-coaps (RFC 9148, CoAP over DTLS 1.2) or EST over
 * HTTPS (RFC 7030), on mbedTLS only, so that it ports to device firmware.
 *
 * One struct sdev is one client; it holds no global state, so a process
 * may run several.  All memory is bounded by the SDEV_MAX_* limits below.
 * Functions return SDEV_OK or a negative SDEV_E_* code; when they fail,
 * sdev_errmsg() says what failed in words (for example
 * "server answered 4.03: token already used").  Nothing here exits.
 */
#ifndef SIGNET_SDEV_H
#define SIGNET_SDEV_H

#include <stddef.h>
#include <stdint.h>

#include "signet/sdev_port.h"

/* Limits.  Everything the client reads from the network is capped here. */
#define SDEV_MAX_NAME		253	/* device DNS name (CN and SAN) */
#define SDEV_MAX_TOKEN		256	/* enrollment token "<id>.<secret>" */
#define SDEV_MAX_HOST		255
#define SDEV_MAX_PORT		5	/* decimal digits */
#define SDEV_MAX_LABEL		64	/* EST label (HTTPS path segment) */
#define SDEV_MAX_CSR		2048	/* DER CSR */
#define SDEV_MAX_CERT		4096	/* one DER certificate */
#define SDEV_MAX_CERTS		8	/* certificates in one response */
#define SDEV_MAX_BODY		32768	/* a response body, decoded */
#define SDEV_MAX_PEM		40960	/* a stored item */
#define SDEV_MAX_HTTP		65536	/* a whole HTTP response */
#define SDEV_MAX_DGRAM		1280	/* one CoAP message over DTLS */
#define SDEV_MAX_ERRMSG		256
#define SDEV_COAP_MAX_OPTS	16	/* options in one CoAP message */
#define SDEV_COAP_BLOCK_SZX	5	/* we ask for 2^(5+4) = 512 bytes */

/* Error codes. */
#define SDEV_OK			0
#define SDEV_E_ARG		(-1)	/* bad argument */
#define SDEV_E_NOMEM		(-2)
#define SDEV_E_NOTFOUND		(-3)	/* stored item or option absent */
#define SDEV_E_IO		(-4)	/* key storage failed */
#define SDEV_E_NET		(-5)	/* transport failed */
#define SDEV_E_TIMEOUT		(-6)	/* no answer in time */
#define SDEV_E_TLS		(-7)	/* (D)TLS failed */
#define SDEV_E_PROTO		(-8)	/* malformed or unexpected answer */
#define SDEV_E_TOOBIG		(-9)	/* over an SDEV_MAX_* limit */
#define SDEV_E_CRYPTO		(-10)	/* key generation, CSR, DRBG */
#define SDEV_E_REFUSED		(-11)	/* the server refused (4.xx, 4xx) */
#define SDEV_E_SERVER		(-12)	/* the server failed (5.xx, 5xx) */
#define SDEV_E_VERIFY		(-13)	/* certificate did not verify */
#define SDEV_E_AUTH		(-14)	/* (D)TLS peer authentication */

/* The message of an error code. */
const char	*sdev_strerror(int err);

/*
 * Whether err is a refusal or a verification failure (CLI exit 1) rather
 * than an operational error (exit 2).
 */
int	sdev_err_is_refusal(int err);

enum sdev_proto {
	SDEV_PROTO_COAPS = 0,	/* EST-coaps over DTLS 1.2 */
	SDEV_PROTO_HTTPS	/* EST over TLS 1.2 */
};

/* Where the appliance is.  Strings are the caller's. */
struct sdev_server {
	enum sdev_proto	 proto;
	const char	*host;
	const char	*port;
	const char	*label;	/* HTTPS: /.well-known/est/<label>/; or NULL */
};

struct sdev;

/*
 * A client over port (copied; its ctx must outlive the client).  The
 * caller frees *out with sdev_free.
 */
int	sdev_new(const struct sdev_port *port, struct sdev **out);
void	sdev_free(struct sdev *c);

/* What the last failure was, in words; "" if none. */
const char	*sdev_errmsg(const struct sdev *c);

/*
 * First enrollment: generate a P-256 key, ask for a certificate for name
 * (CN and dNSName), authenticated by token.  ca_pem (may be NULL) is the
 * trust anchor; without it the anchor already pinned in the store is used,
 * and without that the CA certificates are fetched once over the
 * token-authenticated DTLS session (EST-coaps only) and pinned.  The
 * certificate must chain to the anchor and carry the generated key before
 * key, certificate and chain are stored.
 */
int	sdev_enroll(struct sdev *c, const struct sdev_server *srv,
	    const char *token, const char *name, const uint8_t *ca_pem,
	    size_t ca_len);

/*
 * Renewal with the stored key and certificate: a new key, the same names,
 * authenticated by the current certificate.  Unless force is set, nothing
 * is sent when renewal is not yet due; *renewed says which happened.
 */
int	sdev_renew(struct sdev *c, const struct sdev_server *srv, int force,
	    int *renewed);

/* What is stored. */
struct sdev_info {
	char	 subject[SDEV_MAX_NAME + 8];
	char	 issuer[256];
	char	 serial[2 * 20 + 1];
	int64_t	 not_before;
	int64_t	 not_after;
	int64_t	 renew_at;
	int	 key_matches;	/* the stored key is the certificate's */
	int	 chain_ok;	/* the certificate chains to the anchor */
};

int	sdev_status(struct sdev *c, struct sdev_info *info);

/*
 * When a certificate valid from not_before to not_after should be renewed:
 * when a third of its lifetime remains.
 */
int64_t	sdev_renew_time(int64_t not_before, int64_t not_after);

/* Whether name is a DNS name the client will put in a CSR. */
int	sdev_name_ok(const char *name);

#endif /* SIGNET_SDEV_H */

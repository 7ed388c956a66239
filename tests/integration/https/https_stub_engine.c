/*
 * Test launcher and stand-in engine for signet-https: it opens the
 * listening sockets on loopback, makes the SOCK_SEQPACKET channel, execs
 * signet-https with the same command line signetd uses, and answers the
 * engine messages itself with a software CA key.
 *
 * It exists so the front end's HTTP, TLS, EST and JSON behaviour can be
 * tested with real clients (curl, openssl) before, and independently of,
 * the real engine; tests against signetd + signet-engine are the other
 * half.  It decides like the engine would for the cases the tests need:
 * a token is good once, a client whose certificate CN is "requester" may
 * not revoke, and everything it issues is signed by ca.key.
 *
 * usage: https_stub_engine signet-https config ca.pem ca.key https-port
 *     http-port token
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "signet/proto.h"

static X509 *ca;
static EVP_PKEY *cakey;
static uint8_t cader[4096], certder[4096];
static int cadlen, token_used;
static const char *token;
static pid_t child;

static void
on_term(int sig)
{
	if (child > 0)
		kill(child, SIGTERM);
}

static int
port_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0 || v > 65535) {
		fprintf(stderr, "stub: bad port %s\n", s);
		exit(2);
	}
	return (int)v;
}

static int
listen_on(int port)
{
	struct sockaddr_in sa;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    listen(fd, 128) == -1) {
		perror("listen");
		exit(2);
	}
	return fd;
}

static void
status(struct proto_reply *r, int result, const char *msg)
{
	r->status.result = (uint8_t)result;
	snprintf(r->status.message, sizeof(r->status.message), "%s", msg);
}

/* Signs a certificate for the CSR's key and subject, like a profile. */
static int
issue(const struct proto_request *q, struct proto_reply *r)
{
	const unsigned char *p = q->u.issue.csr.ptr;
	unsigned char *o = certder;
	X509_REQ *req;
	X509 *x = NULL;
	EVP_PKEY *k;
	uint8_t serial[16];
	BIGNUM *bn;
	int n = -1;

	if ((req = d2i_X509_REQ(NULL, &p, (long)q->u.issue.csr.len)) == NULL ||
	    (k = X509_REQ_get0_pubkey(req)) == NULL ||
	    X509_REQ_verify(req, k) != 1) {
		status(r, PROTO_R_BAD_REQUEST, "CSR does not parse or its "
		    "signature is wrong");
		goto out;
	}
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	x = X509_new();
	X509_set_version(x, 2);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_subject_name(x, X509_REQ_get_subject_name(req));
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_pubkey(x, k);
	if (X509_sign(x, cakey, EVP_sha256()) <= 0 ||
	    (n = i2d_X509(x, &o)) <= 0) {
		status(r, PROTO_R_INTERNAL, "signing failed");
		goto out;
	}
	r->u.cert.cert.ptr = certder;
	r->u.cert.cert.len = (size_t)n;
	r->u.cert.chain.ncerts = 1;
	r->u.cert.chain.certs[0].ptr = cader;
	r->u.cert.chain.certs[0].len = (size_t)cadlen;
out:
	X509_free(x);
	X509_REQ_free(req);
	return n;
}

/* The CN of the client's leaf certificate, "" if none. */
static void
client_cn(const struct proto_evidence *ev, char *cn, size_t len)
{
	const unsigned char *p;
	X509 *x;

	cn[0] = '\0';
	if (ev->kind != PROTO_EV_CERTS)
		return;
	p = ev->chain.certs[0].ptr;
	if ((x = d2i_X509(NULL, &p, (long)ev->chain.certs[0].len)) == NULL)
		return;
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, (int)len);
	X509_free(x);
}

static void
answer(const struct proto_request *q, struct proto_reply *r)
{
	char cn[256];

	status(r, PROTO_R_OK, "");
	client_cn(&q->ev, cn, sizeof(cn));
	switch (q->type) {
	case PROTO_T_CACERTS:
		r->u.chain.ncerts = 1;
		r->u.chain.certs[0].ptr = cader;
		r->u.chain.certs[0].len = (size_t)cadlen;
		break;
	case PROTO_T_CSRATTRS:
		break;
	case PROTO_T_ISSUE:
	case PROTO_T_REISSUE:
		if (q->ev.kind == PROTO_EV_TOKEN) {
			if (strcmp(q->ev.token, token) != 0 || token_used++) {
				status(r, PROTO_R_FORBIDDEN, "enrollment token "
				    "unknown, expired or already used");
				break;
			}
		} else if (q->ev.kind != PROTO_EV_CERTS) {
			status(r, PROTO_R_UNAUTHORIZED, "no credentials");
			break;
		}
		issue(q, r);
		break;
	case PROTO_T_REVOKE:
		if (strcmp(cn, "requester") == 0)
			status(r, PROTO_R_FORBIDDEN, "role requester may not "
			    "revoke");
		else
			r->u.revoked_at = 1700000000;
		break;
	case PROTO_T_HEALTH:
		r->u.health.state = PROTO_STATE_READY;
		r->u.health.token_ok = r->u.health.ledger_ok = 1;
		r->u.health.audit_ok = 1;
		snprintf(r->u.health.version, sizeof(r->u.health.version),
		    "stub");
		break;
	case PROTO_T_TOKEN_CREATE:
		snprintf(r->u.token.id, sizeof(r->u.token.id), "tok1");
		snprintf(r->u.token.secret, sizeof(r->u.token.secret), "%s",
		    token);
		r->u.token.expires_at = 1700000600;
		break;
	default:
		status(r, PROTO_R_NOT_FOUND, "not in the stub engine");
		break;
	}
}

static int
serve(int fd)
{
	static uint8_t buf[PROTO_MAX_MSG], out[PROTO_MAX_BODY];
	struct proto_request q;
	struct proto_reply r;
	struct proto_hdr h;
	const uint8_t *body;
	size_t len;
	int rc;

	for (;;) {
		if ((rc = proto_recv(fd, buf, sizeof(buf), &h, &body)) != 0)
			return rc == PROTO_ERR_EOF ? 0 : 1;
		if (proto_request_decode(h.type, body, h.len, &q) != 0 ||
		    proto_admit(&q, PROTO_PEER_HTTPS, PROTO_STATE_READY) !=
		    PROTO_PERM_ALLOW) {
			fprintf(stderr, "stub: refused message type %u\n",
			    h.type);
			return 1;
		}
		memset(&r, 0, sizeof(r));
		r.type = h.type;
		answer(&q, &r);
		if (proto_reply_encode(&r, out, sizeof(out), &len) != 0 ||
		    proto_send(fd, h.type | PROTO_T_REPLY, h.id, out, len))
			return 1;
	}
}

int
main(int argc, char **argv)
{
	char efd[16], sfd[16], pfd[16];
	unsigned char *p = cader;
	FILE *f;
	pid_t pid;
	int sp[2], hs, hp, st;

	if (argc != 8) {
		fprintf(stderr, "usage: https_stub_engine signet-https config "
		    "ca.pem ca.key https-port http-port token\n");
		return 2;
	}
	token = argv[7];
	if ((f = fopen(argv[3], "r")) == NULL ||
	    (ca = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		return 2;
	fclose(f);
	if ((f = fopen(argv[4], "r")) == NULL ||
	    (cakey = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		return 2;
	fclose(f);
	cadlen = i2d_X509(ca, &p);
	hs = listen_on(port_arg(argv[5]));
	hp = listen_on(port_arg(argv[6]));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1)
		return 2;
	snprintf(efd, sizeof(efd), "%d", sp[1]);
	snprintf(sfd, sizeof(sfd), "%d", hs);
	snprintf(pfd, sizeof(pfd), "%d", hp);
	if ((pid = child = fork()) == 0) {
		close(sp[0]);
		execl(argv[1], "signet-https", "-f", argv[2], "-E", efd, "-S",
		    sfd, "-P", pfd, (char *)NULL);
		perror("exec");
		_exit(127);
	}
	close(sp[1]);
	close(hs);
	close(hp);
	signal(SIGTERM, on_term);
	st = serve(sp[0]);
	close(sp[0]);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return st;
}

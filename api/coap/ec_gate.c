/*
 * The stateless cookie check in front of libcoap (issue 14; the reasons
 * and the measurements are in docs/decisions.md "Spoofed DTLS ClientHello
 * floods").
 *
 * libcoap 4.3.1 and 4.3.4 (coap_endpoint_get_session) make a session for
 * every datagram from a new source whose bytes 0 and 13 say "handshake,
 * ClientHello", before OpenSSL's DTLSv1_listen has seen a cookie, and free
 * such a session only when the same source returns libcoap's cookie, or
 * 30 s later, one per later new source.  Once max_coap_handshakes of them
 * exist, every new source is ignored: a few hundred datagrams with forged
 * source addresses lock every new device out for 30 s.
 *
 * libcoap cannot be handed a socket or a read function, but it reads its
 * endpoint socket only inside coap_io_process, one datagram per call.  So
 * before each call we look at the datagrams queued on that socket
 * (MSG_PEEK), up to the first one libcoap is to read.  A ClientHello-like
 * datagram from a source libcoap has no session for reaches libcoap only
 * if it carries a cookie we handed out (its source address is real), or
 * while fewer than `budget` such datagrams without one have reached
 * libcoap in the last EC_GATE_WINDOW_MS (so a device pays no extra round
 * trip unless the appliance is being flooded).  Otherwise we read it
 * ourselves and answer a HelloVerifyRequest with our cookie, keeping no
 * state (RFC 6347 4.2.1).  The device then sends its ClientHello with our
 * cookie and libcoap takes it from there.  Everything else is left to
 * libcoap.
 *
 * For that ClientHello to pass DTLSv1_listen inside libcoap, the cookie
 * must be the one OpenSSL checks there: we install our cookie callbacks
 * on libcoap's DTLS SSL_CTX (OpenSSL backend; the listening SSL and every
 * session's SSL share it in 4.3.1 and 4.3.4).  libcoap hands out no
 * SSL_CTX, only a session's SSL, so at start we open a client session
 * to our own endpoint (its ClientHello is one datagram to ourselves) and
 * take the SSL_CTX from it.  A second HelloVerifyRequest from libcoap
 * with a cookie of its own would not do: GnuTLS drops it as a replay
 * (both have message_seq 0).  The callbacks learn the client's address
 * from the datagram we looked at last, which is the one libcoap reads
 * next, since this process reads that socket in one thread.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "signet/ec_hello.h"
#include "ec_local.h"

#define GATE_PEEK	2048	/* more than any ClientHello in one datagram */
#define GATE_FD_SCAN	1024	/* libcoap's socket is among the first fds */

/* Does the socket fd have the local address a (address and port)? */
static int
same_local(int fd, const coap_address_t *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct stat sb;
	int type;
	socklen_t tlen = sizeof(type);

	if (fstat(fd, &sb) == -1 || !S_ISSOCK(sb.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
	    type != SOCK_DGRAM ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    ss.ss_family != a->addr.sa.sa_family)
		return 0;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *x = (struct sockaddr_in *)&ss;

		return x->sin_port == a->addr.sin.sin_port &&
		    x->sin_addr.s_addr == a->addr.sin.sin_addr.s_addr;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (struct sockaddr_in6 *)&ss;

		return x->sin6_port == a->addr.sin6.sin6_port &&
		    memcmp(&x->sin6_addr, &a->addr.sin6.sin6_addr,
		    sizeof(x->sin6_addr)) == 0;
	}
	return 0;
}

static int	gen_cookie(SSL *, unsigned char *, unsigned int *);
static int	verify_cookie(SSL *, const unsigned char *, unsigned int);

/* OpenSSL's cookie callbacks take no argument: one gate per process. */
static struct ec_gate *cur_gate;

/* libcoap's DTLS SSL_CTX, from a client session to our own endpoint. */
static SSL_CTX *
coap_ssl_ctx(struct ec_ctx *ctx, const coap_address_t *addr)
{
	static const uint8_t key[16];
	coap_dtls_cpsk_t cpsk;
	coap_tls_library_t lib = COAP_TLS_LIBRARY_NOTLS;
	coap_session_t *s;
	SSL_CTX *sctx = NULL;
	SSL *ssl;

	memset(&cpsk, 0, sizeof(cpsk));
	cpsk.version = COAP_DTLS_CPSK_SETUP_VERSION;
	cpsk.psk_info.identity.s = (const uint8_t *)"signet-probe";
	cpsk.psk_info.identity.length = strlen("signet-probe");
	cpsk.psk_info.key.s = key;
	cpsk.psk_info.key.length = sizeof(key);
	if ((s = coap_new_client_session_psk2(ctx->coap, NULL, addr,
	    COAP_PROTO_DTLS, &cpsk)) == NULL)
		return NULL;
	if ((ssl = coap_session_get_tls(s, &lib)) != NULL &&
	    lib == COAP_TLS_LIBRARY_OPENSSL)
		sctx = SSL_get_SSL_CTX(ssl);
	coap_session_release(s);
	return sctx;
}

int
ec_gate_init(struct ec_ctx *ctx, const coap_address_t *addr, size_t budget)
{
	struct ec_gate *g = &ctx->gate;
	SSL_CTX *sctx;
	size_t i;
	int fd;

	g->fd = -1;
	if (RAND_bytes(g->secret, sizeof(g->secret)) != 1)
		return -1;
	g->budget = budget;
	if (budget > 0 && (g->passed = calloc(budget,
	    sizeof(*g->passed))) == NULL)
		return -1;
	for (i = 0; i < budget; i++)
		g->passed[i] = INT64_MIN / 2;
	/* The one datagram socket bound to our address is libcoap's. */
	for (fd = 3; fd < GATE_FD_SCAN; fd++) {
		if (!same_local(fd, addr))
			continue;
		if (g->fd != -1)
			return -1;
		g->fd = fd;
	}
	if (g->fd == -1 || (sctx = coap_ssl_ctx(ctx, addr)) == NULL)
		return -1;
	cur_gate = g;
	SSL_CTX_set_cookie_generate_cb(sctx, gen_cookie);
	SSL_CTX_set_cookie_verify_cb(sctx, verify_cookie);
	return 0;
}

void
ec_gate_free(struct ec_ctx *ctx)
{
	OPENSSL_cleanse(ctx->gate.secret, sizeof(ctx->gate.secret));
	free(ctx->gate.passed);
	ctx->gate.passed = NULL;
	cur_gate = NULL;
}

/*
 * Our cookie for a source in a 30 s period: HMAC-SHA-256 over the period,
 * the address family, port and address, cut to EC_HELLO_COOKIE_LEN.
 */
static int
cookie(const struct ec_gate *g, int64_t period,
    const struct sockaddr_storage *ss, uint8_t out[EC_HELLO_COOKIE_LEN])
{
	uint8_t in[8 + 1 + 2 + 16], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t n = 0;
	int i;

	for (i = 7; i >= 0; i--)
		in[n++] = (uint8_t)((uint64_t)period >> (8 * i));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)ss;

		in[n++] = 4;
		memcpy(in + n, &x->sin_port, 2);
		memcpy(in + n + 2, &x->sin_addr, 4);
		n += 6;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)ss;

		in[n++] = 6;
		memcpy(in + n, &x->sin6_port, 2);
		memcpy(in + n + 2, &x->sin6_addr, 16);
		n += 18;
	} else
		return -1;
	if (HMAC(EVP_sha256(), g->secret, (int)sizeof(g->secret), in, n, md,
	    &mdlen) == NULL || mdlen < EC_HELLO_COOKIE_LEN)
		return -1;
	memcpy(out, md, EC_HELLO_COOKIE_LEN);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

/* Ours, of this period or the one before. */
static int
cookie_ok(const struct ec_gate *g, int64_t now,
    const struct sockaddr_storage *ss, const struct ec_hello *h)
{
	uint8_t want[EC_HELLO_COOKIE_LEN];
	int64_t p = now / EC_GATE_COOKIE_MS;

	if (h->cookie_len != EC_HELLO_COOKIE_LEN)
		return 0;
	if (cookie(g, p, ss, want) == 0 &&
	    CRYPTO_memcmp(want, h->cookie, sizeof(want)) == 0)
		return 1;
	if (cookie(g, p - 1, ss, want) == 0 &&
	    CRYPTO_memcmp(want, h->cookie, sizeof(want)) == 0)
		return 1;
	return 0;
}

/* OpenSSL asks for a cookie for libcoap's HelloVerifyRequest. */
static int
gen_cookie(SSL *ssl, unsigned char *out, unsigned int *len)
{
	struct ec_gate *g = cur_gate;

	if (g == NULL || !g->have_peer || cookie(g, ec_now_ms() /
	    EC_GATE_COOKIE_MS, &g->peer, out) != 0)
		return 0;
	*len = EC_HELLO_COOKIE_LEN;
	return 1;
}

/* OpenSSL checks a ClientHello's cookie inside libcoap. */
static int
verify_cookie(SSL *ssl, const unsigned char *c, unsigned int len)
{
	struct ec_gate *g = cur_gate;
	struct ec_hello h;

	if (g == NULL || !g->have_peer)
		return 0;
	memset(&h, 0, sizeof(h));
	h.cookie = c;
	h.cookie_len = len;
	return cookie_ok(g, ec_now_ms(), &g->peer, &h);
}

/* One more ClientHello without our cookie for libcoap, if the budget lets. */
static int
budget_take(struct ec_gate *g, int64_t now)
{
	if (g->budget == 0 || now - g->passed[g->next] < EC_GATE_WINDOW_MS)
		return 0;
	g->passed[g->next] = now;
	g->next = (g->next + 1) % g->budget;
	return 1;
}

/* The interface index and local address the datagram came in on. */
struct gate_pkt {
	struct sockaddr_storage	 from;
	int			 ifindex;
	int			 have_dst;
	struct in_pktinfo	 pi4;
	struct in6_pktinfo	 pi6;
};

static void
pkt_info(struct msghdr *mh, struct gate_pkt *pk)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			memcpy(&pk->pi4, CMSG_DATA(c), sizeof(pk->pi4));
			pk->ifindex = pk->pi4.ipi_ifindex;
			pk->have_dst = AF_INET;
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			memcpy(&pk->pi6, CMSG_DATA(c), sizeof(pk->pi6));
			pk->ifindex = (int)pk->pi6.ipi6_ifindex;
			pk->have_dst = AF_INET6;
		}
	}
}

/* Answer from the address the ClientHello was sent to (wildcard binds). */
static void
send_hvr(struct ec_gate *g, struct gate_pkt *pk, const uint8_t *buf,
    size_t len)
{
	union {
		struct cmsghdr	c;
		uint8_t		b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cb;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	memset(&cb, 0, sizeof(cb));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_name = &pk->from;
	mh.msg_namelen = pk->from.ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (pk->have_dst == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_ifindex = pk->pi4.ipi_ifindex;
		pi.ipi_spec_dst = pk->pi4.ipi_addr;
		mh.msg_control = cb.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else if (pk->have_dst == AF_INET6) {
		mh.msg_control = cb.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(pk->pi6));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pk->pi6));
		memcpy(CMSG_DATA(c), &pk->pi6, sizeof(pk->pi6));
	}
	/* Lost if the socket is full: the client sends its ClientHello again. */
	(void)sendmsg(g->fd, &mh, MSG_DONTWAIT);
}

/* Has libcoap a session for this source (then the datagram is its)? */
static int
known(struct ec_ctx *ctx, const struct gate_pkt *pk, socklen_t fromlen)
{
	coap_address_t a;

	if (fromlen > sizeof(a.addr))
		return 0;
	coap_address_init(&a);
	memcpy(&a.addr, &pk->from, fromlen);
	a.size = fromlen;
	return coap_session_get_by_peer(ctx->coap, &a, pk->ifindex) != NULL;
}

/*
 * The datagram at the head of libcoap's socket: 1 if we took it, 0 if it
 * is libcoap's to read, -1 if there is none.
 */
static int
gate_one(struct ec_ctx *ctx, int64_t now)
{
	struct ec_gate *g = &ctx->gate;
	uint8_t buf[GATE_PEEK], hvr[EC_HELLO_HVR_MAX];
	uint8_t ck[EC_HELLO_COOKIE_LEN];
	union {
		struct cmsghdr	c;
		uint8_t		b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} cb;
	struct gate_pkt pk;
	struct ec_hello h;
	struct msghdr mh;
	struct iovec iov;
	ssize_t n;
	size_t hlen;
	int bad;

	memset(&pk, 0, sizeof(pk));
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	mh.msg_name = &pk.from;
	mh.msg_namelen = sizeof(pk.from);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cb.b;
	mh.msg_controllen = sizeof(cb.b);
	if ((n = recvmsg(g->fd, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC)) < 0)
		return -1;
	/* libcoap reads this one next, unless we take it. */
	g->peer = pk.from;
	g->have_peer = 1;
	/*
	 * What libcoap would make a session of, if the source is new:
	 * anything longer than 13 bytes with "handshake" in byte 0 and
	 * "ClientHello" in byte 13.  The rest it reads and drops itself.
	 */
	if (n < EC_HELLO_REC_HDR + 1 || buf[0] != 22 ||
	    buf[EC_HELLO_REC_HDR] != 1)
		return 0;
	pkt_info(&mh, &pk);
	if (known(ctx, &pk, mh.msg_namelen))
		return 0;
	/* Whole and well formed, or DTLSv1_listen would refuse it anyway. */
	bad = (size_t)n > sizeof(buf) || (mh.msg_flags & MSG_TRUNC) != 0 ||
	    !ec_hello_parse(buf, (size_t)n, &h);
	if (!bad && cookie_ok(g, now, &pk.from, &h)) {
		ctx->st.hello_cookie++;
		return 0;
	}
	if (!bad && budget_take(g, now)) {
		ctx->st.hello_passed++;
		return 0;
	}
	/* Ours: take it off the socket. */
	if (recv(g->fd, buf, sizeof(buf), MSG_DONTWAIT) < 0)
		return -1;
	if (bad) {
		ctx->st.hello_bad++;
		return 1;
	}
	if (cookie(g, now / EC_GATE_COOKIE_MS, &pk.from, ck) == 0 &&
	    (hlen = ec_hello_verify_request(&h, ck, sizeof(ck), hvr,
	    sizeof(hvr))) > 0)
		send_hvr(g, &pk, hvr, hlen);
	ctx->st.hello_answered++;
	return 1;
}

void
ec_gate_run(struct ec_ctx *ctx, int64_t now)
{
	int i;

	if (ctx->gate.fd == -1)
		return;
	for (i = 0; i < EC_GATE_BATCH; i++)
		if (gate_one(ctx, now) != 1)
			break;
}

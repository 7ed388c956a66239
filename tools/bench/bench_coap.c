/*
 * signet-bench-coap: many DTLS sessions in one process (issue 17).  Each
 * request opens a new client session (a fresh DTLS handshake, PSK or
 * certificate), sends one CoAP request over it, waits for the answer and
 * closes the session; -w sessions are in flight at once, all in one
 * libcoap context driven by one thread.  So the figure is the server's
 * handshake-plus-request rate, not the cost of starting a client process
 * per request (what coap-client measured before).
 *
 * usage: signet-bench-coap -p port [-H host] -U path [-m get|post]
 *     [-f body.der] [-t content-format] [-A accept]
 *     (-i identity -k psk | -K psk-file | -c cert.pem -j key.pem)
 *     [-d seconds] [-N max requests] [-w in flight]
 *
 * -K names a file of "identity key" lines, one PSK credential per device:
 * slot i of the -w in flight always uses line i mod n.  Signet's engine
 * keeps at most 4 live one-time PSK handles per token id (docs/decisions.md,
 * "Enrollment tokens and the DTLS PSK"), so 16 handshakes in flight naming
 * one token id replace each other's handles and most of their enrollments
 * are refused; real devices each hold their own token, and so should the
 * load generator (one line per slot).
 *
 * Prints "W inflight  R requests/s  p50 ms  p99 ms  errors E  ok N", the
 * columns of signet-bench-est, then "cpu C ms": this process's CPU time
 * (user and system) per successful request, the client's share of the
 * machine.  A 2.xx answer is a success; anything else
 * (another code, a DTLS error, no answer within 10 s) is an error.
 */
#include <sys/resource.h>

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <coap3/coap.h>

#define MAX_INFLIGHT	256
#define MAX_SAMPLES	(1 << 20)
#define SLOT_TIMEOUT_S	10.0

struct slot {
	coap_session_t	*s;
	const char	*identity, *psk;	/* PSK credential of this slot */
	double		 t0;
	int		 state;	/* 0 idle, 1 waiting, 2 ok, 3 failed */
};

static struct slot slots[MAX_INFLIGHT];
static coap_context_t *ctx;
static coap_address_t dst;
static const char *path = "/", *identity, *psk, *cert, *key;
static uint8_t *body;
static size_t body_len;
static int method = COAP_REQUEST_CODE_GET, cformat = -1, accept_fmt = -1;
static double *lat;
static size_t nlat;
static unsigned long ok, errors;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct slot *
slot_of(coap_session_t *s)
{
	return coap_session_get_app_data(s);
}

static coap_response_t
on_response(coap_session_t *s, const coap_pdu_t *sent,
    const coap_pdu_t *rcvd, const coap_mid_t mid)
{
	struct slot *sl = slot_of(s);

	(void)sent;
	(void)mid;
	if (sl != NULL && sl->state == 1)
		sl->state = COAP_RESPONSE_CLASS(coap_pdu_get_code(rcvd)) == 2 ?
		    2 : 3;
	return COAP_RESPONSE_OK;
}

static void
on_nack(coap_session_t *s, const coap_pdu_t *sent,
    const coap_nack_reason_t reason, const coap_mid_t mid)
{
	struct slot *sl = slot_of(s);

	(void)sent;
	(void)reason;
	(void)mid;
	if (sl != NULL && sl->state == 1)
		sl->state = 3;
}

static int
on_event(coap_session_t *s, const coap_event_t ev)
{
	struct slot *sl = slot_of(s);

	if (sl != NULL && sl->state == 1 && (ev == COAP_EVENT_DTLS_ERROR ||
	    ev == COAP_EVENT_DTLS_CLOSED || ev == COAP_EVENT_SESSION_FAILED))
		sl->state = 3;
	return 0;
}

static coap_session_t *
new_session(const struct slot *sl)
{
	coap_dtls_cpsk_t c;
	coap_dtls_pki_t p;

	if (sl->psk != NULL) {
		memset(&c, 0, sizeof(c));
		c.version = COAP_DTLS_CPSK_SETUP_VERSION;
		c.psk_info.identity.s = (const uint8_t *)sl->identity;
		c.psk_info.identity.length = strlen(sl->identity);
		c.psk_info.key.s = (const uint8_t *)sl->psk;
		c.psk_info.key.length = strlen(sl->psk);
		return coap_new_client_session_psk2(ctx, NULL, &dst,
		    COAP_PROTO_DTLS, &c);
	}
	memset(&p, 0, sizeof(p));
	p.version = COAP_DTLS_PKI_SETUP_VERSION;
	p.pki_key.key_type = COAP_PKI_KEY_PEM;
	p.pki_key.key.pem.public_cert = cert;
	p.pki_key.key.pem.private_key = key;
	return coap_new_client_session_pki(ctx, NULL, &dst, COAP_PROTO_DTLS,
	    &p);
}

/* Opens a session for sl and queues its request; -1 on failure. */
static int
start(struct slot *sl)
{
	coap_pdu_t *pdu;
	coap_optlist_t *opts = NULL;
	uint8_t tok[8], buf[4];
	const char *p, *q;
	size_t toklen;

	sl->t0 = now();
	sl->state = 1;
	if ((sl->s = new_session(sl)) == NULL)
		return -1;
	coap_session_set_app_data(sl->s, sl);
	pdu = coap_pdu_init(COAP_MESSAGE_CON, (coap_pdu_code_t)method,
	    coap_new_message_id(sl->s), coap_session_max_pdu_size(sl->s));
	if (pdu == NULL)
		return -1;
	coap_session_new_token(sl->s, &toklen, tok);
	coap_add_token(pdu, toklen, tok);
	for (p = path; *p != '\0'; p = q) {
		while (*p == '/')
			p++;
		if ((q = strchr(p, '/')) == NULL)
			q = p + strlen(p);
		if (q > p)
			coap_insert_optlist(&opts, coap_new_optlist(
			    COAP_OPTION_URI_PATH, (size_t)(q - p),
			    (const uint8_t *)p));
	}
	if (cformat >= 0)
		coap_insert_optlist(&opts, coap_new_optlist(
		    COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf,
		    sizeof(buf), (unsigned)cformat), buf));
	if (accept_fmt >= 0)
		coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_ACCEPT,
		    coap_encode_var_safe(buf, sizeof(buf),
		    (unsigned)accept_fmt), buf));
	coap_add_optlist_pdu(pdu, &opts);
	coap_delete_optlist(opts);
	if (body_len > 0)
		coap_add_data_large_request(sl->s, pdu, body_len, body, NULL,
		    NULL);
	if (coap_send(sl->s, pdu) == COAP_INVALID_MID)
		return -1;
	return 0;
}

static void
finish(struct slot *sl)
{
	if (sl->state == 2) {
		ok++;
		if (nlat < MAX_SAMPLES)
			lat[nlat++] = now() - sl->t0;
	} else
		errors++;
	if (sl->s != NULL) {
		coap_session_set_app_data(sl->s, NULL);
		coap_session_release(sl->s);
	}
	sl->s = NULL;
	sl->state = 0;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint8_t *
slurp(const char *file, size_t *len)
{
	FILE *f;
	uint8_t *b;
	long n;

	if ((f = fopen(file, "rb")) == NULL || fseek(f, 0, SEEK_END) != 0 ||
	    (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    (b = malloc((size_t)n)) == NULL ||
	    fread(b, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "signet-bench-coap: cannot read %s\n", file);
		exit(2);
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

/*
 * Reads "identity key" lines into slots round-robin; exits on a bad file.
 * The strings live until exit.
 */
static void
psk_file(const char *file, int inflight)
{
	FILE *f;
	char line[512], *id, *k, *save;
	int n = 0, i;

	if ((f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "signet-bench-coap: cannot read %s\n", file);
		exit(2);
	}
	while (n < MAX_INFLIGHT && fgets(line, sizeof(line), f) != NULL) {
		if ((id = strtok_r(line, " \t\r\n", &save)) == NULL)
			continue;
		if ((k = strtok_r(NULL, " \t\r\n", &save)) == NULL) {
			fprintf(stderr, "signet-bench-coap: %s: a line without "
			    "a key\n", file);
			exit(2);
		}
		slots[n].identity = strdup(id);
		slots[n].psk = strdup(k);
		if (slots[n].identity == NULL || slots[n].psk == NULL)
			exit(2);
		n++;
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "signet-bench-coap: %s: no credentials\n",
		    file);
		exit(2);
	}
	if (n < inflight)
		fprintf(stderr, "signet-bench-coap: %d credentials for %d "
		    "in flight: slots share them\n", n, inflight);
	for (i = n; i < MAX_INFLIGHT; i++) {
		slots[i].identity = slots[i % n].identity;
		slots[i].psk = slots[i % n].psk;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: signet-bench-coap -p port [-H host] -U path "
	    "[-m get|post] [-f body] [-t format] [-A accept]\n"
	    "    (-i identity -k psk | -K psk-file | -c cert.pem -j key.pem) "
	    "[-d seconds] "
	    "[-N max] [-w inflight]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *pskfile = NULL;
	struct rusage ru;
	double t0, t_end, cpu;
	unsigned long max = 0, started = 0;
	int ch, port = 0, seconds = 10, inflight = 8, i, busy;

	while ((ch = getopt(argc, argv, "A:c:d:f:H:i:j:k:K:m:N:p:t:U:w:")) !=
	    -1) {
		switch (ch) {
		case 'A': accept_fmt = atoi(optarg); break;
		case 'c': cert = optarg; break;
		case 'd': seconds = atoi(optarg); break;
		case 'f': body = slurp(optarg, &body_len); break;
		case 'H': host = optarg; break;
		case 'i': identity = optarg; break;
		case 'j': key = optarg; break;
		case 'k': psk = optarg; break;
		case 'K': pskfile = optarg; break;
		case 'm':
			method = strcmp(optarg, "post") == 0 ?
			    COAP_REQUEST_CODE_POST : COAP_REQUEST_CODE_GET;
			break;
		case 'N': max = strtoul(optarg, NULL, 10); break;
		case 'p': port = atoi(optarg); break;
		case 't': cformat = atoi(optarg); break;
		case 'U': path = optarg; break;
		case 'w': inflight = atoi(optarg); break;
		default: usage();
		}
	}
	if (port <= 0 || seconds <= 0 || inflight < 1 ||
	    inflight > MAX_INFLIGHT ||
	    (psk != NULL) + (pskfile != NULL) + (cert != NULL) != 1 ||
	    (psk != NULL && identity == NULL) || (cert != NULL && key == NULL))
		usage();
	if (pskfile != NULL)
		psk_file(pskfile, inflight);
	else if (psk != NULL)
		for (i = 0; i < MAX_INFLIGHT; i++) {
			slots[i].identity = identity;
			slots[i].psk = psk;
		}
	coap_startup();
	coap_set_log_level(LOG_EMERG);
	coap_dtls_set_log_level(LOG_EMERG);
	if ((ctx = coap_new_context(NULL)) == NULL)
		return 1;
	coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP |
	    COAP_BLOCK_SINGLE_BODY);
	coap_register_response_handler(ctx, on_response);
	coap_register_nack_handler(ctx, on_nack);
	coap_register_event_handler(ctx, on_event);
	coap_address_init(&dst);
	dst.addr.sin.sin_family = AF_INET;
	dst.addr.sin.sin_port = htons((uint16_t)port);
	dst.size = sizeof(struct sockaddr_in);
	if (inet_pton(AF_INET, host, &dst.addr.sin.sin_addr) != 1)
		usage();
	lat = malloc(sizeof(double) * MAX_SAMPLES);
	t0 = now();
	t_end = t0 + seconds;
	for (;;) {
		busy = 0;
		for (i = 0; i < inflight; i++) {
			struct slot *sl = &slots[i];

			if (sl->state == 1 && now() - sl->t0 > SLOT_TIMEOUT_S)
				sl->state = 3;
			if (sl->state >= 2)
				finish(sl);
			if (sl->state == 0 && now() < t_end &&
			    (max == 0 || started < max)) {
				started++;
				if (start(sl) != 0)
					finish(sl);	/* counted as an error */
			}
			busy += sl->state == 1;
		}
		if (busy == 0 && (now() >= t_end || (max && started >= max)))
			break;
		coap_io_process(ctx, 5);
	}
	t0 = now() - t0;
	cpu = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	qsort(lat, nlat, sizeof(double), cmp);
	printf("%5d inflight  %9.1f requests/s  p50 %7.2f ms  p99 %7.2f ms  "
	    "errors %lu  ok %lu  cpu %.3f ms\n", inflight, (double)ok / t0,
	    nlat ? lat[nlat / 2] * 1e3 : 0, nlat ? lat[nlat * 99 / 100] * 1e3 :
	    0, errors, ok, ok ? cpu * 1e3 / (double)ok : 0);
	free(lat);
	free(body);
	coap_free_context(ctx);
	coap_cleanup();
	return 0;
}

/*
 * Crash consistency of signet-engine (issue 4): this program acts as the
 * parent (signetd) and as a front end.  It starts the real binary with a
 * SOCK_SEQPACKET control channel, passes it a front-end channel, keeps
 * several ISSUE requests in flight, and SIGKILLs the engine at a random
 * moment, again and again; every restart reconciles the ledger.  At the
 * end it checks that every certificate it received is in the ledger as
 * issued with identical DER, serials are unique, no row is left
 * RESERVED, the engine drains and exits 0 on EOF of its control channel,
 * and `signet-audit verify` accepts the audit chain.
 *
 * With STARTUP-KILLS it also SIGKILLs the engine that many times at a
 * random instant of its start-up (at least 200 ms, or as long as it takes
 * from exec to its first answer: configuration, token open, C_Login, which
 * makes SoftHSM rewrite token.object in place, ledger open): the
 * token must survive every one, with the same serial, and the engine must
 * serve afterwards (docs/decisions.md, "The token survives any kill").
 *
 * usage: engine_crash ENGINE AUDIT-CLI [ROUNDS [STARTUP-KILLS]]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sqlite3.h>

#include <signet/hsm.h>
#include <signet/proto.h>
#include <testtoken.h>

#define INFLIGHT 8
#define MAX_CERTS 4096

static struct test_token tok;
static const char *engine_bin, *audit_bin;
static EVP_PKEY *root_key, *leaf_key;
static X509 *root;
static uint8_t *certs[MAX_CERTS];
static size_t cert_len[MAX_CERTS], ncerts;
static uint8_t client_der[4096], csr_der[4096];
static size_t client_len, csr_len;

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "engine_crash: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	fprintf(stderr, "engine_crash: files and engine.log kept in %s\n",
	    tok.dir);
	exit(1);
}

static void
path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tok.dir, name);
}

static void
add_ext(X509 *x, int nid, const char *val)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, root, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, val)) == NULL ||
	    X509_add_ext(x, ext, -1) != 1)
		die("extension %d", nid);
	X509_EXTENSION_free(ext);
}

static X509 *
mk_cert(EVP_PKEY *pub, const char *cn, int ca)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();

	X509_set_version(x, 2);
	BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(root));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 5L * 365 * 86400);
	X509_set_pubkey(x, pub);
	add_ext(x, NID_basic_constraints, ca ? "critical,CA:TRUE,pathlen:0" :
	    "critical,CA:FALSE");
	add_ext(x, ca ? NID_key_usage : NID_ext_key_usage, ca ?
	    "critical,keyCertSign,cRLSign" : "clientAuth");
	add_ext(x, NID_subject_key_identifier, "hash");
	add_ext(x, NID_authority_key_identifier, "keyid");
	if (X509_sign(x, root_key, EVP_sha256()) <= 0)
		die("sign %s", cn);
	X509_NAME_free(n);
	return x;
}

static void
write_pem_cert(const char *name, X509 *x)
{
	char p[700];
	FILE *f;

	path(p, sizeof(p), name);
	if ((f = fopen(p, "w")) == NULL || PEM_write_X509(f, x) != 1)
		die("write %s", p);
	fclose(f);
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char p[700];
	int fd;

	path(p, sizeof(p), name);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("write %s", p);
	close(fd);
}

static void
load_root(void)
{
	const char *src = getenv("SIGNET_SOURCE_DIR");
	char p[700];
	FILE *f;

	snprintf(p, sizeof(p), "%s/tests/data/ca/keys/root.key",
	    src ? src : ".");
	if ((f = fopen(p, "r")) == NULL ||
	    (root_key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL)
		die("read %s", p);
	fclose(f);
	snprintf(p, sizeof(p), "%s/tests/data/ca/root.pem", src ? src : ".");
	if ((f = fopen(p, "r")) == NULL ||
	    (root = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		die("read %s", p);
	fclose(f);
	write_pem_cert("root.pem", root);
}

/* The token's issuer and audit keys, their certificate and public key. */
static void
make_token(void)
{
	struct hsm_config hc;
	struct hsm_keygen kg;
	struct hsm *hsm = NULL;
	struct hsm_key *inter = NULL, *audit = NULL;
	char pin[] = TEST_USER_PIN, p[700];
	X509 *x;
	FILE *f;

	memset(&hc, 0, sizeof(hc));
	hc.module = tok.module;
	hc.token_label = tok.label;
	if (hsm_open(&hc, pin, strlen(pin), &hsm) != HSM_OK)
		die("hsm_open");
	memset(&kg, 0, sizeof(kg));
	kg.type = HSM_KEY_EC_P256;
	kg.label = "inter";
	if (hsm_key_generate(hsm, &kg, &inter) != HSM_OK)
		die("keygen inter");
	kg.label = "audit";
	if (hsm_key_generate(hsm, &kg, &audit) != HSM_OK)
		die("keygen audit");
	x = mk_cert(hsm_key_public(inter), "Crash Test Intermediate", 1);
	write_pem_cert("inter.pem", x);
	X509_free(x);
	path(p, sizeof(p), "audit.pub");
	if ((f = fopen(p, "w")) == NULL ||
	    PEM_write_PUBKEY(f, hsm_key_public(audit)) != 1)
		die("write %s", p);
	fclose(f);
	hsm_key_free(inter);
	hsm_key_free(audit);
	hsm_close(hsm);
}

static void
write_config(void)
{
	char conf[8192];

	snprintf(conf, sizeof(conf),
	    "data_dir = \"%1$s\"\n"
	    "sandbox = false\n"	/* the engine is run by hand here */
	    "token {\n module = \"%2$s\"\n label = \"%3$s\"\n"
	    " pin_file = \"%1$s/user.pin\"\n pool = 4\n}\n"
	    "storage {\n backend = \"sqlite\"\n path = \"%1$s/ledger.db\"\n"
	    " audit_key = \"audit\"\n audit_checkpoint_every = 50\n}\n"
	    "tls {\n client_ca = { \"%1$s/root.pem\" }\n}\n"
	    "client \"svc\" {\n cn = \"svc-1\"\n role = \"requester\"\n"
	    " issuer_cert = { \"%1$s/root.pem\" }\n"
	    " tenants = { \"acme\" }\n}\n"
	    "tenant \"acme\" {\n issuer \"inter\" {\n  key = \"inter\"\n"
	    "  cert = \"%1$s/inter.pem\"\n  chain = \"%1$s/root.pem\"\n }\n"
	    " profile \"web\" {\n  issuer = \"inter\"\n"
	    "  domains = { \"example.com\" }\n  allow_subdomains = true\n"
	    "  ttl = \"1h\"\n  max_ttl = \"1h\"\n"
	    "  roles = { \"requester\" }\n }\n}\n",
	    tok.dir, tok.module, tok.label);
	write_file("signetd.conf", conf, 0644);
	write_file("user.pin", TEST_USER_PIN "\n", 0600);
}

static void
make_client(void)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *n = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *p;
	X509 *x;

	leaf_key = EVP_EC_gen("P-256");
	x = mk_cert(leaf_key, "svc-1", 0);
	p = client_der;
	client_len = (size_t)i2d_X509(x, &p);
	X509_free(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"crash.example.com", -1, -1, 0);
	X509_REQ_set_subject_name(r, n);
	X509_REQ_set_pubkey(r, leaf_key);
	sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(NULL, NULL,
	    NID_subject_alt_name, "DNS:crash.example.com"));
	X509_REQ_add_extensions(r, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_sign(r, leaf_key, EVP_sha256());
	p = csr_der;
	csr_len = (size_t)i2d_X509_REQ(r, &p);
	X509_REQ_free(r);
	X509_NAME_free(n);
}

struct engine {
	pid_t	pid;
	int	ctl;
	int	fe;
};

static void
start(struct engine *en)
{
	char conf[700], log[700], fdarg[16];
	int ctl[2], fe[2], lfd;

	path(conf, sizeof(conf), "signetd.conf");
	path(log, sizeof(log), "engine.log");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ctl) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fe) == -1)
		die("socketpair");
	if ((en->pid = fork()) == -1)
		die("fork");
	if (en->pid == 0) {
		close(ctl[0]);
		close(fe[0]);
		close(fe[1]);
		/* The engine's log stays with the test's files. */
		if ((lfd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) !=
		    -1)
			dup2(lfd, 2);
		snprintf(fdarg, sizeof(fdarg), "%d", ctl[1]);
		execl(engine_bin, "signet-engine", "-f", conf, "-C", fdarg,
		    (char *)NULL);
		_exit(127);
	}
	close(ctl[1]);
	if (proto_send_fd(ctl[0], PROTO_PEER_HTTPS, fe[1]) != 0)
		die("send fd");
	close(fe[1]);
	en->ctl = ctl[0];
	en->fe = fe[0];
}

static void
send_issue(int fd, uint32_t id)
{
	static uint8_t body[PROTO_MAX_BODY];
	struct proto_request req;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ISSUE;
	req.ev.peer = PROTO_PEER_HTTPS;
	req.ev.kind = PROTO_EV_CERTS;
	req.ev.chain.ncerts = 1;
	req.ev.chain.certs[0].ptr = client_der;
	req.ev.chain.certs[0].len = client_len;
	snprintf(req.u.issue.tenant, sizeof(req.u.issue.tenant), "acme");
	snprintf(req.u.issue.profile, sizeof(req.u.issue.profile), "web");
	req.u.issue.csr.ptr = csr_der;
	req.u.issue.csr.len = csr_len;
	if (proto_request_encode(&req, body, sizeof(body), &len) != PROTO_OK)
		die("encode");
	/* The engine may already be dead: a failed send is expected. */
	proto_send(fd, PROTO_T_ISSUE, id, body, len);
}

/* One reply: 1 certificate kept, 0 refusal, -1 channel gone. */
static int
read_reply(int fd, int timeout_ms)
{
	static uint8_t buf[PROTO_MAX_MSG];
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct proto_hdr hdr;
	struct proto_reply rep;
	const uint8_t *body;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -1;
	if (proto_recv(fd, buf, sizeof(buf), &hdr, &body) != PROTO_OK)
		return -1;
	if (proto_reply_decode(hdr.type, body, hdr.len, &rep) != PROTO_OK)
		die("reply does not decode");
	if (rep.status.result != PROTO_R_OK) {
		fprintf(stderr, "engine_crash: refused: %s\n",
		    rep.status.message);
		return 0;
	}
	if (ncerts >= MAX_CERTS)
		die("too many certificates");
	if ((certs[ncerts] = malloc(rep.u.cert.cert.len)) == NULL)
		die("malloc");
	memcpy(certs[ncerts], rep.u.cert.cert.ptr, rep.u.cert.cert.len);
	cert_len[ncerts++] = rep.u.cert.cert.len;
	return 1;
}

/* Keep INFLIGHT requests going; kill after `replies` answers. */
static void
round_kill(uint32_t *id, int replies)
{
	struct engine en;
	int i, got = 0, status;

	start(&en);
	for (i = 0; i < INFLIGHT; i++)
		send_issue(en.fe, (*id)++);
	while (got < replies) {
		if (read_reply(en.fe, 20000) < 0)
			die("engine stopped answering");
		got++;
		send_issue(en.fe, (*id)++);
	}
	/* A random moment: now, or a little later, mid-flight. */
	usleep((useconds_t)(rand() % 20000));
	kill(en.pid, SIGKILL);
	/* Replies already sent before the kill are real: keep them. */
	while (read_reply(en.fe, 0) >= 0)
		;
	waitpid(en.pid, &status, 0);
	close(en.fe);
	close(en.ctl);
}

/*
 * How long the engine takes from exec to its first answer (configuration,
 * token open, C_Login, ledger open, one issuance), in microseconds: the
 * start-up kills fall anywhere in it, however loaded the machine is.
 */
static long
startup_window(uint32_t *id)
{
	struct engine en;
	struct timespec a, b;
	int status;
	long us;

	clock_gettime(CLOCK_MONOTONIC, &a);
	start(&en);
	send_issue(en.fe, (*id)++);
	if (read_reply(en.fe, 60000) < 0)
		die("engine never answered its first request");
	clock_gettime(CLOCK_MONOTONIC, &b);
	kill(en.pid, SIGKILL);
	waitpid(en.pid, &status, 0);
	close(en.fe);
	close(en.ctl);
	us = (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
	return us < 200000 ? 200000 : us;
}

/*
 * An inotify watch on the token's directory: SoftHSM's in-place rewrite
 * of token.object at C_Login (ftruncate, then write) shows as IN_MODIFY.
 */
static int
watch_token(void)
{
	struct dirent *de;
	char dir[1200];
	DIR *d;
	int fd;

	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0 ||
	    (d = opendir(tok.tokendir)) == NULL)
		die("inotify on %s", tok.tokendir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%.600s/%.255s", tok.tokendir,
		    de->d_name);
		if (inotify_add_watch(fd, dir, IN_MODIFY) < 0)
			die("inotify_add_watch %s", dir);
	}
	closedir(d);
	return fd;
}

/* Waits up to ms for SoftHSM to write token.object; 1 if it did. */
static int
token_write_seen(int ifd, int ms)
{
	char buf[4096] __attribute__((aligned(8)));
	struct pollfd pfd = { ifd, POLLIN, 0 };
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	while (poll(&pfd, 1, ms) > 0) {
		if ((n = read(ifd, buf, sizeof(buf))) <= 0)
			return 0;
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			if (ev->len > 0 && strcmp(ev->name, "token.object") == 0)
				return 1;
		}
	}
	return 0;
}

/*
 * Kill the engine at a random instant of its start-up, or (every other
 * round) the moment SoftHSM starts rewriting token.object during C_Login:
 * the instant that emptied the token before the guard.
 */
static int token_hits;

static void
round_startup_kill(uint32_t *id, long window_us, int at_write)
{
	struct engine en;
	int status, ifd = -1;

	if (at_write)
		ifd = watch_token();
	start(&en);
	send_issue(en.fe, (*id)++);
	if (at_write) {
		token_hits += token_write_seen(ifd, (int)(window_us / 1000));
		close(ifd);
	} else
		usleep((useconds_t)(rand() % window_us));
	kill(en.pid, SIGKILL);
	while (read_reply(en.fe, 0) >= 0)
		;
	waitpid(en.pid, &status, 0);
	close(en.fe);
	close(en.ctl);
}

/* The token's serial as pkcs11-tool (not our code) reports it. */
static void
token_serial(char *out, size_t size)
{
	char buf[4096], *p, *e;

	if (test_capture(buf, sizeof(buf), "pkcs11-tool --module '%s' -L "
	    "2>/dev/null", tok.module) != 0 ||
	    (p = strstr(buf, "serial num")) == NULL ||
	    (p = strchr(p, ':')) == NULL)
		die("pkcs11-tool -L lists no token: %s", buf);
	p += 1 + strspn(p + 1, " ");
	e = p + strcspn(p, "\r\n ");
	snprintf(out, size, "%.*s", (int)(e - p), p);
}

/* A last clean run: HEALTH, then EOF on the control channel. */
static void
round_drain(uint32_t *id)
{
	struct engine en;
	int i, status;

	start(&en);
	for (i = 0; i < 4; i++)
		send_issue(en.fe, (*id)++);
	for (i = 0; i < 4; i++)
		if (read_reply(en.fe, 20000) < 0)
			die("engine stopped answering");
	close(en.ctl);
	if (waitpid(en.pid, &status, 0) != en.pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		die("engine did not drain and exit 0 (status %d)", status);
	close(en.fe);
}

static void
check_ledger(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char p[700];
	size_t i, k;
	X509 *x;
	const unsigned char *q;

	path(p, sizeof(p), "ledger.db");
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT status, der FROM certs WHERE "
	    "serial = ?1", -1, &st, NULL) != SQLITE_OK)
		die("open %s", p);
	for (i = 0; i < ncerts; i++) {
		const ASN1_INTEGER *sn;

		q = certs[i];
		if ((x = d2i_X509(NULL, &q, (long)cert_len[i])) == NULL)
			die("certificate %zu does not parse", i);
		sn = X509_get0_serialNumber(x);
		sqlite3_bind_blob(st, 1, sn->data, sn->length, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_ROW)
			die("certificate %zu is not in the ledger", i);
		if (sqlite3_column_int(st, 0) != 1)
			die("certificate %zu has status %d", i,
			    sqlite3_column_int(st, 0));
		if ((size_t)sqlite3_column_bytes(st, 1) != cert_len[i] ||
		    memcmp(sqlite3_column_blob(st, 1), certs[i],
		    cert_len[i]) != 0)
			die("certificate %zu differs from the ledger's", i);
		sqlite3_reset(st);
		X509_free(x);
		for (k = 0; k < i; k++)
			if (cert_len[k] == cert_len[i] &&
			    memcmp(certs[k], certs[i], cert_len[i]) == 0)
				die("certificate %zu received twice", i);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM certs WHERE "
	    "status = 0", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		die("count reserved");
	if (sqlite3_column_int(st, 0) != 0)
		die("%d rows left RESERVED", sqlite3_column_int(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int
main(int argc, char *argv[])
{
	char cmd[2048], db[700], pub[700], serial[64], serial2[64];
	uint32_t id = 1;
	int rounds, startup_kills, i;
	long window = 200000;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 3)
		die("usage: engine_crash ENGINE AUDIT-CLI [ROUNDS]");
	engine_bin = argv[1];
	audit_bin = argv[2];
	rounds = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 60;
	startup_kills = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 0;
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)time(NULL));
	test_token_create(&tok, "crash");
	load_root();
	make_token();
	write_config();
	make_client();
	token_serial(serial, sizeof(serial));
	if (startup_kills > 0) {
		window = startup_window(&id);
		printf("engine_crash: start-up (exec to first answer) takes "
		    "%ld ms: kills fall in it\n", window / 1000);
	}
	for (i = 0; i < startup_kills; i++)
		round_startup_kill(&id, window, i % 2);
	if (startup_kills > 1)
		printf("engine_crash: %d kill(s) the instant SoftHSM wrote "
		    "token.object\n", token_hits);
	for (i = 0; i < rounds; i++)
		round_kill(&id, rand() % (2 * INFLIGHT));
	round_drain(&id);
	token_serial(serial2, sizeof(serial2));
	if (strcmp(serial, serial2) != 0)
		die("token serial changed: %s, now %s", serial, serial2);
	check_ledger();
	path(db, sizeof(db), "ledger.db");
	path(pub, sizeof(pub), "audit.pub");
	snprintf(cmd, sizeof(cmd), "'%s' verify --db '%s' --pubkey '%s'",
	    audit_bin, db, pub);
	if (system(cmd) != 0)
		die("signet-audit verify failed");
	/* How often a kill had damaged the token (the guard's log line). */
	path(db, sizeof(db), "engine.log");
	if (test_capture(cmd, sizeof(cmd), "grep -c 'damaged token files put "
	    "right' '%s'", db) < 0)
		cmd[0] = '\0';
	printf("engine_crash: %d start-up kills, %d kills, %zu certificates, "
	    "all in the ledger, token %s intact; token files put right "
	    "after %d kill(s)\n", startup_kills, rounds, ncerts, serial,
	    (int)strtol(cmd, NULL, 10));
	test_token_destroy(&tok);
	return 0;
}

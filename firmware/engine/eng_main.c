/*
 * signet-engine -f CONFIG -C CTLFD [-d]
 *
 * Started by signetd with the configuration path and the descriptor of
 * its control channel.  The engine reads the PIN file itself (the PIN
 * goes nowhere else and is wiped by hsm_open), opens the token and the
 * ledger, builds its runtime from the configuration, reconciles the
 * ledger, and serves front-end channels until told to stop.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <signet/hsm.h>

#include <signet/sandbox.h>

#include "eng_engine_local.h"

struct eng_main_ctx {
	const char	*path;
	struct hsm	*hsm;
	const struct sconf *first;
};

static void
eng_usage(void)
{
	fprintf(stderr, "usage: signet-engine -f config -C ctlfd [-d]\n");
	exit(2);
}

static int
eng_parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0 || v > INT_MAX)
		eng_usage();
	return (int)v;
}

static int
eng_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* SIGHUP: the token and storage are fixed for the process's life. */
static int
eng_main_reload(void *arg, struct eng_rt **out)
{
	struct eng_main_ctx *ctx = arg;
	struct sconf *c = NULL;
	char err[SCONF_MAX_ERR];

	if (sconf_load(ctx->path, &c, err, sizeof(err)) != 0) {
		log_warnx("msg=\"configuration refused\" error=\"%s\"", err);
		return -1;
	}
	if (!eng_same(c->token_module, ctx->first->token_module) ||
	    !eng_same(c->token_label, ctx->first->token_label) ||
	    !eng_same(c->storage_path, ctx->first->storage_path))
		log_warnx("msg=\"token and storage changes take effect at"
		    " the next restart\"");
	if (eng_rt_build(c, ctx->hsm, sconf_free, out, err, sizeof(err)) !=
	    0) {
		log_warnx("msg=\"configuration refused\" error=\"%s\"", err);
		sconf_free(c);
		return -1;
	}
	return 0;
}

/*
 * SoftHSM rewrites its token files in place at every login; a kill at the
 * wrong instant empties them (docs/decisions.md, "The token survives any
 * kill").  hsm_open puts damaged files right from their copies by itself;
 * calling the guard first lets us say what it found.
 */
static void
eng_guard_token_files(void)
{
	struct hsm_guard_report r;
	int rc;

	rc = hsm_token_guard(NULL, &r);
	if (r.restored > 0 || r.quarantined > 0)
		log_warnx("msg=\"damaged token files put right\" "
		    "restored=%u moved_aside=%u last=\"%s\"", r.restored,
		    r.quarantined, r.last_path);
	if (rc != HSM_OK)
		log_warnx("msg=\"token file damaged beyond repair\" "
		    "file=\"%s\" error=\"%s\"", r.last_path,
		    hsm_strerror(rc));
	if (r.errors > 0)
		log_warnx("msg=\"token file copies incomplete\" "
		    "errors=%u", r.errors);
}

static struct hsm *
eng_open_token(const struct sconf *c)
{
	struct hsm_config hc;
	struct hsm *hsm = NULL;
	char pin[HSM_MAX_PIN];
	size_t pinlen = 0;
	int rc;

	memset(&hc, 0, sizeof(hc));
	hc.module = c->token_module;
	hc.token_label = c->token_label;
	hc.pool_size = c->token_pool > 0 ? (unsigned)c->token_pool : 0;
	hc.session_keys = c->token_session_keys;
	if ((rc = hsm_pin_from_file(c->token_pin_file, pin, sizeof(pin),
	    &pinlen)) != HSM_OK) {
		explicit_bzero(pin, sizeof(pin));
		fatalx("msg=\"cannot read PIN file\" file=%s error=\"%s\"",
		    c->token_pin_file, hsm_strerror(rc));
	}
	eng_guard_token_files();
	rc = hsm_open(&hc, pin, pinlen, &hsm);
	explicit_bzero(pin, sizeof(pin));
	if (rc != HSM_OK)
		fatalx("msg=\"cannot open token\" label=%s error=\"%s\"",
		    c->token_label ? c->token_label : "(first)",
		    hsm_strerror(rc));
	log_info("msg=\"token open\" label=%s", c->token_label ?
	    c->token_label : "(first)");
	return hsm;
}

/*
 * Issue 14: the SQLite ledger's page caches (writer, point reader, scan
 * lane; the ledger sizes them from cache_kib) live in one block reserved
 * now, before the token or the ledger opens SQLite.  In the hour's soak
 * the reader's cache, which WAL mode empties at every read
 * transaction after a write, refilled from malloc at each count HEALTH
 * makes and raised the heap's high-water mark until the cache reached its
 * size.  A refusal is logged and the caches use the heap, as before.
 */
static void
eng_reserve_sqlite(const struct sconf *c)
{
	size_t bytes;
	int rc;

	if (c->storage_backend != NULL &&
	    strcmp(c->storage_backend, "sqlite") != 0)
		return;
	rc = ledger_sqlite_reserve_cache(c->storage_cache_kib > 0 ?
	    (int)c->storage_cache_kib : LEDGER_SQLITE_CACHE_KIB, &bytes);
	if (rc != LEDGER_OK)
		log_warnx("msg=\"SQLite page cache not reserved; caches use "
		    "the heap\" error=\"%s\"", ledger_strerror(rc));
	else
		log_info("msg=\"SQLite page cache reserved\" kib=%zu",
		    bytes / 1024);
}

/* The export file's descriptor, for the life of the process. */
static int export_fd = -1;

static struct ledger *
eng_open_ledger(const struct sconf *c, struct hsm *hsm,
    struct hsm_key **audit_key)
{
	struct ledger_config lc;
	struct ledger *l = NULL;
	int rc;

	memset(&lc, 0, sizeof(lc));
	lc.cache_kib = (int)c->storage_cache_kib;
	if (c->audit_key_label != NULL) {
		if ((rc = hsm_key_find(hsm, c->audit_key_label, NULL, 0,
		    audit_key)) != HSM_OK)
			fatalx("msg=\"audit key\" key=%s error=\"%s\"",
			    c->audit_key_label, hsm_strerror(rc));
		lc.audit.key = hsm_key_evp(*audit_key);
		lc.audit.every_n = c->audit_checkpoint_every > 0 ?
		    (uint64_t)c->audit_checkpoint_every : 0;
		lc.audit.every_secs = c->audit_checkpoint_secs > 0 ?
		    c->audit_checkpoint_secs : 0;
		/* Issue 19: every checkpoint to the log and the export. */
		export_fd = eng_ckpt_export_open(c->audit_checkpoint_export);
		lc.audit.exported = eng_ckpt_exported;
		lc.audit.exported_arg = &export_fd;
	}
	if ((rc = ledger_open_config(c->storage_backend ? c->storage_backend :
	    "sqlite", c->storage_path, &lc, &l)) != LEDGER_OK)
		fatalx("msg=\"cannot open ledger\" path=%s error=\"%s\"",
		    c->storage_path, ledger_strerror(rc));
	return l;
}

int
eng_main(int argc, char *argv[])
{
	struct eng_main_ctx ctx;
	struct eng_engine_config ec;
	struct eng_serve_opts so;
	struct eng_engine *e = NULL;
	struct eng_rt *rt = NULL;
	struct hsm_key *audit_key = NULL;
	struct ledger *l;
	struct sconf *c = NULL;
	char err[SCONF_MAX_ERR];
	sigset_t set;
	int ch, ctl = -1, debug = 0, rc;

	/*
	 * Issue 13: whatever the engine creates (ledger and its WAL, token
	 * files and their guarded copies, CRLs) is its own user's alone,
	 * whatever umask it was started with.
	 */
	umask(077);
	/*
	 * Issue 14: glibc gives each worker thread its own malloc arena
	 * and keeps what it frees there; in the 1-hour soak the engine's
	 * RSS grew 22 -> 86 MiB with under 4 MiB live (heaptrack).  A few
	 * arenas, and a trim once a minute from the refresh thread
	 * (eng_serve.c), keep resident memory near what is in use.
	 */
	if (ENG_MALLOC_ARENAS > 0)
		mallopt(M_ARENA_MAX, ENG_MALLOC_ARENAS);
	/* Before any thread exists, so every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&ctx, 0, sizeof(ctx));
	while ((ch = getopt(argc, argv, "C:df:")) != -1) {
		switch (ch) {
		case 'C':
			ctl = eng_parse_fd(optarg);
			break;
		case 'd':
			debug = 1;
			break;
		case 'f':
			ctx.path = optarg;
			break;
		default:
			eng_usage();
		}
	}
	if (ctx.path == NULL || ctl == -1 || optind != argc)
		eng_usage();
	log_init("signet-engine", LOG_TO_STDERR, debug);
	if (sconf_load(ctx.path, &c, err, sizeof(err)) != 0)
		fatalx("msg=\"configuration refused\" error=\"%s\"", err);
	if (c->log_level != NULL && strcmp(c->log_level, "debug") == 0)
		log_init("signet-engine", LOG_TO_STDERR, 1);
	eng_reserve_sqlite(c);
	ctx.hsm = eng_open_token(c);
	ctx.first = c;
	l = eng_open_ledger(c, ctx.hsm, &audit_key);
	if (eng_rt_build(c, ctx.hsm, sconf_free, &rt, err, sizeof(err)) != 0)
		fatalx("msg=\"configuration refused\" error=\"%s\"", err);
	memset(&ec, 0, sizeof(ec));
	ec.hsm = ctx.hsm;
	ec.ledger = l;
	/* The reason (memory, or the token key: eng_psk.c) is logged. */
	if (eng_engine_new(&ec, rt, &e) != 0)
		fatalx("msg=\"cannot start the engine\"");
	if (eng_engine_reconcile(e) != 0)
		fatalx("msg=\"reconciliation failed; not serving\"");
	if (c->sandbox) {
		struct sandbox_conf sc = { SANDBOX_ENGINE, c->user, NULL, 0 };
		char serr[SANDBOX_MAX_ERR];

		/* The one call site: token, ledger and policy are open. */
		if (sandbox_enter(&sc, serr, sizeof(serr)) != 0)
			fatalx("msg=\"sandbox refused\" error=\"%s\"", serr);
		log_info("msg=\"sandboxed\" user=%s", sc.user);
	}
	memset(&so, 0, sizeof(so));
	so.ctl_fd = ctl;
	so.reload = eng_main_reload;
	so.arg = &ctx;
	/* The first sconf stays alive: it is the reference for reloads. */
	eng_rt_ref(rt);
	rc = eng_serve(e, &so);
	eng_engine_free(e);
	ledger_close(l);
	eng_rt_unref(rt);
	hsm_key_free(audit_key);
	hsm_close(ctx.hsm);
	return rc == 0 ? 0 : 1;
}

/*
 * The shim's control file: a few directives, re-read whenever stat() says
 * the file changed.  This runs before every PKCS#11 call, so the common
 * case (file unchanged) costs one stat() and one uncontended mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p11shim.h"

#define CTL_MAX_RULES	64
#define CTL_MAX_FILE	(64 * 1024)
#define CTL_MAX_TOKENS	16

#define RULE_FAIL	1
#define RULE_DELAY	2

struct ctl_rule {
	int		kind;
	unsigned char	fns[SHIM_FN_COUNT];	/* 1 where the rule applies */
	CK_RV		rv;			/* fail */
	unsigned long	ms;			/* delay_ms */
	long		remaining;		/* fail count; -1: unlimited */
	unsigned long	skip;			/* fail after: pass these first */
};

struct ctl_config {
	struct ctl_rule	rules[CTL_MAX_RULES];
	size_t		nrules;
	int		absent;
	int		invalidate;
};

/* What identifies one version of the file; present 0 means "no file". */
struct ctl_key {
	int		present;
	dev_t		dev;
	ino_t		ino;
	off_t		size;
	struct timespec	mtim;
	struct timespec	ctim;
};

struct ctl_token {
	const char	*s;
	size_t		 len;
};

static pthread_once_t	 ctl_once = PTHREAD_ONCE_INIT;
static char		*ctl_path;
static pthread_mutex_t	 ctl_mtx = PTHREAD_MUTEX_INITIALIZER;
static struct ctl_config ctl_cfg;	/* in force; under ctl_mtx */
static struct ctl_config ctl_next;	/* being parsed; under ctl_mtx */
static struct ctl_key	 ctl_cur;	/* version of ctl_cfg */
static int		 ctl_close_pending;

static void
ctl_init(void)
{
	const char *p = getenv("SIGNET_SHIM_CONTROL");

	if (p != NULL && *p != '\0' && (ctl_path = strdup(p)) == NULL) {
		shim_complain("out of memory");
		abort();
	}
}

static void
ctl_key_from_stat(struct ctl_key *k, const struct stat *st)
{
	memset(k, 0, sizeof(*k));
	k->present = 1;
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtim = st->st_mtim;
	k->ctim = st->st_ctim;
}

static int
ctl_key_equal(const struct ctl_key *a, const struct ctl_key *b)
{
	if (a->present != b->present)
		return 0;
	if (!a->present)
		return 1;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	    a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec &&
	    a->ctim.tv_sec == b->ctim.tv_sec &&
	    a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static void __attribute__((noreturn))
ctl_fatal(int line, const char *what, const struct ctl_token *tok)
{
	if (tok != NULL)
		shim_complain("%s:%d: %s: %.*s", ctl_path, line, what,
		    (int)tok->len, tok->s);
	else
		shim_complain("%s:%d: %s", ctl_path, line, what);
	abort();
}

/* Splits one line into whitespace-separated tokens; '#' starts a comment. */
static size_t
ctl_tokenize(const char *s, size_t len, struct ctl_token *tok, int line)
{
	size_t i = 0, n = 0, start;

	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i == len || s[i] == '#')
			return n;
		if (n == CTL_MAX_TOKENS)
			ctl_fatal(line, "too many words", NULL);
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		tok[n].s = s + start;
		tok[n].len = i - start;
		n++;
	}
}

static int
ctl_word(const struct ctl_token *t, const char *w)
{
	return t->len == strlen(w) && memcmp(t->s, w, t->len) == 0;
}

/* A decimal number below 2^31, so it fits counts and milliseconds alike. */
static unsigned long
ctl_number(const struct ctl_token *t, int line)
{
	unsigned long v = 0;
	size_t i;

	if (t->len == 0 || t->len > 10)
		ctl_fatal(line, "bad number", t);
	for (i = 0; i < t->len; i++) {
		if (t->s[i] < '0' || t->s[i] > '9')
			ctl_fatal(line, "bad number", t);
		v = v * 10 + (unsigned long)(t->s[i] - '0');
	}
	if (v > 0x7fffffffUL)
		ctl_fatal(line, "number too large", t);
	return v;
}

/* Adds the comma-separated function names in t to the rule's set. */
static void
ctl_funcs(struct ctl_rule *r, const struct ctl_token *t, int line)
{
	struct ctl_token one;
	const char *p = t->s, *end = t->s + t->len, *comma;
	int fn;

	while (p < end) {
		comma = memchr(p, ',', (size_t)(end - p));
		one.s = p;
		one.len = (size_t)((comma ? comma : end) - p);
		if ((fn = shim_fn_lookup(one.s, one.len)) < 0)
			ctl_fatal(line, "unknown function", &one);
		r->fns[fn] = 1;
		p = comma ? comma + 1 : end;
	}
}

/*
 * Without "func", a rule applies to everything but the three calls a
 * client needs to start over: C_GetFunctionList, C_Initialize, C_Finalize.
 */
static void
ctl_default_funcs(struct ctl_rule *r)
{
	memset(r->fns, 1, sizeof(r->fns));
	r->fns[SHIM_FN_C_GetFunctionList] = 0;
	r->fns[SHIM_FN_C_Initialize] = 0;
	r->fns[SHIM_FN_C_Finalize] = 0;
}

/* Parses "fail ..." or "delay_ms ..." (tok[0] is the directive). */
static void
ctl_rule(struct ctl_config *c, const struct ctl_token *tok, size_t n,
    int kind, int line)
{
	struct ctl_rule *r;
	size_t i;
	int have_funcs = 0;

	if (c->nrules == CTL_MAX_RULES)
		ctl_fatal(line, "too many rules", NULL);
	if (n < 2)
		ctl_fatal(line, "missing argument", &tok[0]);
	r = &c->rules[c->nrules++];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->remaining = -1;
	if (kind == RULE_FAIL) {
		if (shim_rv_lookup(tok[1].s, tok[1].len, &r->rv) != 0)
			ctl_fatal(line, "unknown CKR", &tok[1]);
	} else
		r->ms = ctl_number(&tok[1], line);
	for (i = 2; i < n; i += 2) {
		if (i + 1 >= n)
			ctl_fatal(line, "missing value after", &tok[i]);
		if (ctl_word(&tok[i], "func")) {
			ctl_funcs(r, &tok[i + 1], line);
			have_funcs = 1;
		} else if (kind == RULE_FAIL && ctl_word(&tok[i], "count"))
			r->remaining = (long)ctl_number(&tok[i + 1], line);
		else if (kind == RULE_FAIL && ctl_word(&tok[i], "after"))
			r->skip = ctl_number(&tok[i + 1], line);
		else
			ctl_fatal(line, "unknown option", &tok[i]);
	}
	if (!have_funcs)
		ctl_default_funcs(r);
}

static void
ctl_parse(struct ctl_config *c, const char *buf, size_t len)
{
	struct ctl_token tok[CTL_MAX_TOKENS];
	const char *p = buf, *end = buf + len, *nl;
	size_t n;
	int line = 0;

	memset(c, 0, sizeof(*c));
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = ctl_tokenize(p, (size_t)((nl ? nl : end) - p), tok, line);
		p = nl ? nl + 1 : end;
		if (n == 0)
			continue;
		if (ctl_word(&tok[0], "fail"))
			ctl_rule(c, tok, n, RULE_FAIL, line);
		else if (ctl_word(&tok[0], "delay_ms"))
			ctl_rule(c, tok, n, RULE_DELAY, line);
		else if (ctl_word(&tok[0], "token_absent") && n == 1)
			c->absent = 1;
		else if (ctl_word(&tok[0], "invalidate_sessions") && n == 1)
			c->invalidate = 1;
		else
			ctl_fatal(line, "unknown directive", &tok[0]);
	}
}

/*
 * Reads the file and the version it had.  If it changed while being read,
 * reads again, so that the version stored with a configuration is never
 * older than its text (an older one would make the next call parse the
 * same text again and reset its counts).  Returns the length read.
 */
static size_t
ctl_read(char *buf, struct ctl_key *key)
{
	struct stat st;
	struct ctl_key after;
	ssize_t r;
	size_t len;
	int fd, tries;

	for (tries = 0;; tries++) {
		memset(key, 0, sizeof(*key));
		if ((fd = open(ctl_path, O_RDONLY | O_CLOEXEC)) == -1) {
			if (errno == ENOENT)
				return 0;
			ctl_fatal(0, "cannot open the control file", NULL);
		}
		if (fstat(fd, &st) == -1)
			ctl_fatal(0, "cannot stat the control file", NULL);
		ctl_key_from_stat(key, &st);
		len = 0;
		do {
			r = read(fd, buf + len, CTL_MAX_FILE + 1 - len);
			if (r == -1 && errno != EINTR)
				ctl_fatal(0, "cannot read the control file", NULL);
			if (r > 0)
				len += (size_t)r;
		} while (r != 0 && len <= CTL_MAX_FILE);
		if (len > CTL_MAX_FILE)
			ctl_fatal(0, "control file too large", NULL);
		if (fstat(fd, &st) == -1)
			ctl_fatal(0, "cannot stat the control file", NULL);
		close(fd);
		ctl_key_from_stat(&after, &st);
		if (ctl_key_equal(key, &after) || tries == 10)
			return len;
	}
}

/* Called under ctl_mtx when a stat() suggested a new version. */
static void
ctl_reload(void)
{
	static char buf[CTL_MAX_FILE + 1];
	struct ctl_key key;
	size_t len;

	len = ctl_read(buf, &key);
	/* Another thread may have loaded this very version meanwhile. */
	if (ctl_key_equal(&key, &ctl_cur))
		return;
	ctl_parse(&ctl_next, buf, len);
	/* A token that is pulled loses its sessions, as a real one does. */
	if (ctl_next.invalidate || (ctl_next.absent && !ctl_cfg.absent))
		ctl_close_pending = 1;
	memcpy(&ctl_cfg, &ctl_next, sizeof(ctl_cfg));
	ctl_cur = key;
}

/* Applies the configuration to one call of fn; under ctl_mtx. */
static void
ctl_evaluate(enum shim_fn fn, struct shim_verdict *v)
{
	struct ctl_rule *r;
	size_t i;

	v->absent = ctl_cfg.absent;
	for (i = 0; i < ctl_cfg.nrules; i++) {
		r = &ctl_cfg.rules[i];
		if (!r->fns[fn])
			continue;
		if (r->kind == RULE_DELAY) {
			if (v->delay_ms == 0)
				v->delay_ms = r->ms;
			continue;
		}
		if (v->inject || r->remaining == 0)
			continue;
		if (r->skip > 0) {
			r->skip--;
			continue;
		}
		if (r->remaining > 0)
			r->remaining--;
		v->inject = 1;
		v->rv = r->rv;
	}
}

void
shim_ctl_check(enum shim_fn fn, int can_close, struct shim_verdict *v)
{
	struct stat st;
	struct ctl_key key;

	memset(v, 0, sizeof(*v));
	pthread_once(&ctl_once, ctl_init);
	if (ctl_path == NULL)
		return;
	memset(&key, 0, sizeof(key));
	if (stat(ctl_path, &st) == 0)
		ctl_key_from_stat(&key, &st);
	else if (errno != ENOENT)
		ctl_fatal(0, "cannot stat the control file", NULL);
	pthread_mutex_lock(&ctl_mtx);
	if (!ctl_key_equal(&key, &ctl_cur))
		ctl_reload();
	ctl_evaluate(fn, v);
	if (ctl_close_pending && can_close) {
		v->close_all = 1;
		ctl_close_pending = 0;
	}
	pthread_mutex_unlock(&ctl_mtx);
}

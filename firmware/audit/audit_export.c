/*
 * Checkpoints outside the database (issue 19): the pending list a writer
 * keeps until its transaction commits, the one-line export format, and
 * the loader the verifier uses to check a database against an exported
 * file (audit.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signet/audit.h>

#include "audit_impl.h"

#define CKPT_MAGIC "signet-audit-checkpoint v=1"
#define NODE_MAX 64	/* bytes of a node id in a line */

int
audit_pending_add(struct audit_pending *p, uint64_t seq, int64_t time,
    const uint8_t head[AUDIT_HASH_LEN], const uint8_t *sig, size_t siglen)
{
	struct audit_ckpt *grown, *c;
	size_t cap;

	if (siglen > AUDIT_MAX_SIG)
		return AUDIT_ERR_ARG;
	if (p->n == p->cap) {
		cap = p->cap ? p->cap * 2 : 4;
		if ((grown = reallocarray(p->v, cap, sizeof(*grown))) == NULL)
			return AUDIT_ERR_NOMEM;
		p->v = grown;
		p->cap = cap;
	}
	c = &p->v[p->n++];
	c->seq = seq;
	c->time = time;
	memcpy(c->head, head, AUDIT_HASH_LEN);
	memcpy(c->sig, sig, siglen);
	c->siglen = siglen;
	return AUDIT_OK;
}

void
audit_pending_flush(struct audit_pending *p, const struct audit_config *cfg,
    const char *node)
{
	size_t i;

	if (cfg->exported != NULL)
		for (i = 0; i < p->n; i++)
			cfg->exported(cfg->exported_arg, node, &p->v[i]);
	p->n = 0;
}

void
audit_pending_drop(struct audit_pending *p)
{
	p->n = 0;
}

void
audit_pending_free(struct audit_pending *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
audit_ckpt_format(const char *node, const struct audit_ckpt *ck, char *buf,
    size_t size)
{
	char h[2 * AUDIT_HASH_LEN + 1], s[2 * AUDIT_MAX_SIG + 1];
	int n;

	if (ck == NULL || buf == NULL || ck->siglen > AUDIT_MAX_SIG)
		return AUDIT_ERR_ARG;
	if (node == NULL || node[0] == '\0')
		node = "-";
	if (strcspn(node, " \t\r\n=") != strlen(node) || strlen(node) > NODE_MAX)
		return AUDIT_ERR_ARG;
	hex(ck->head, AUDIT_HASH_LEN, h);
	hex(ck->sig, ck->siglen, s);
	n = snprintf(buf, size, CKPT_MAGIC " node=%s seq=%" PRIu64
	    " time=%" PRId64 " head=%s sig=%s", node, ck->seq, ck->time, h, s);
	if (n < 0 || (size_t)n >= size)
		return AUDIT_ERR_ARG;
	return AUDIT_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
unhex(const char *s, size_t len, uint8_t *out, size_t max, size_t *outlen)
{
	size_t i;
	int hi, lo;

	if (len % 2 != 0 || len / 2 > max)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*outlen = len / 2;
	return 0;
}

/* The value of " key=" in line, its length in *len; NULL if absent. */
static const char *
field(const char *line, const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = line;

	while ((p = strchr(p, ' ')) != NULL) {
		p++;
		if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
			p += klen + 1;
			*len = strcspn(p, " \r\n");
			return p;
		}
	}
	return NULL;
}

static int
decimal(const char *p, size_t len, int sign, int64_t *out)
{
	char buf[24], *end;
	long long v;

	if (len == 0 || len >= sizeof(buf) || (!sign && p[0] == '-'))
		return -1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
audit_ckpt_parse(const char *line, char *node, size_t nodesize,
    struct audit_ckpt *ck)
{
	const char *p;
	size_t len, hl;
	int64_t v;

	memset(ck, 0, sizeof(*ck));
	if (strncmp(line, CKPT_MAGIC " ", sizeof(CKPT_MAGIC)) != 0)
		return AUDIT_ERR_ARG;
	if ((p = field(line, "node", &len)) == NULL || len == 0 ||
	    len >= nodesize)
		return AUDIT_ERR_ARG;
	memcpy(node, p, len);
	node[len] = '\0';
	if ((p = field(line, "seq", &len)) == NULL ||
	    decimal(p, len, 0, &v) != 0 || v < 1)
		return AUDIT_ERR_ARG;
	ck->seq = (uint64_t)v;
	if ((p = field(line, "time", &len)) == NULL ||
	    decimal(p, len, 1, &ck->time) != 0)
		return AUDIT_ERR_ARG;
	if ((p = field(line, "head", &len)) == NULL ||
	    unhex(p, len, ck->head, AUDIT_HASH_LEN, &hl) != 0 ||
	    hl != AUDIT_HASH_LEN)
		return AUDIT_ERR_ARG;
	if ((p = field(line, "sig", &len)) == NULL ||
	    unhex(p, len, ck->sig, AUDIT_MAX_SIG, &ck->siglen) != 0 ||
	    ck->siglen == 0)
		return AUDIT_ERR_ARG;
	return AUDIT_OK;
}

static int
ckpts_push(struct audit_ckpts *c, size_t *cap, const struct audit_ckpt *ck)
{
	struct audit_ckpt *grown;
	size_t ncap;

	if (c->n == *cap) {
		ncap = *cap ? *cap * 2 : 64;
		if ((grown = reallocarray(c->v, ncap, sizeof(*grown))) == NULL)
			return AUDIT_ERR_NOMEM;
		c->v = grown;
		*cap = ncap;
	}
	c->v[c->n++] = *ck;
	return AUDIT_OK;
}

int
audit_ckpts_load(const char *path, const char *node, struct audit_ckpts *out,
    char *err, size_t errlen)
{
	char line[AUDIT_CKPT_LINE_MAX + 2], lnode[NODE_MAX + 1];
	struct audit_ckpt ck;
	FILE *f = NULL;
	size_t cap = 0, lineno = 0;
	int rc = AUDIT_OK;

	memset(out, 0, sizeof(*out));
	if (node == NULL || node[0] == '\0')
		node = "-";
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return AUDIT_ERR_IO;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%zu: line too long", path,
			    lineno);
			rc = AUDIT_ERR_ARG;
			goto out;
		}
		if (audit_ckpt_parse(line, lnode, sizeof(lnode), &ck) !=
		    AUDIT_OK) {
			snprintf(err, errlen, "%s:%zu: not a signet audit "
			    "checkpoint line", path, lineno);
			rc = AUDIT_ERR_ARG;
			goto out;
		}
		if (strcmp(lnode, node) == 0 &&
		    (rc = ckpts_push(out, &cap, &ck)) != AUDIT_OK)
			goto out;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = AUDIT_ERR_IO;
	}
out:
	fclose(f);
	if (rc != AUDIT_OK)
		audit_ckpts_free(out);
	return rc;
}

void
audit_ckpts_free(struct audit_ckpts *c)
{
	if (c == NULL)
		return;
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

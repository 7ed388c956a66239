/*
 * The ceremony state: which secrets this ceremony's shares must belong
 * to (so a share of another ceremony is named, not combined), the root
 * key's id, the last CRL number (RFC 5280 5.2.3: monotonically
 * increasing) and the revoked intermediates.  A small text file, one
 * "key value" line each, rewritten whole at the end of a successful run.
 */
#include <err.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cer.h"

#define STATE_MAGIC "signet-ceremony-state 1"

static int
copy_field(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return -1;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
state_line(struct cer_state *st, char *line)
{
	char *k = line, *v, *end;
	struct cer_revoked *r;
	unsigned long long n;

	if ((v = strchr(line, ' ')) == NULL)
		return -1;
	*v++ = '\0';
	if (strcmp(k, "key_id") == 0)
		return copy_field(st->key_id, sizeof(st->key_id), v);
	if (strcmp(k, "user_pin") == 0)
		return copy_field(st->user_id, sizeof(st->user_id), v);
	if (strcmp(k, "so_pin") == 0)
		return copy_field(st->so_id, sizeof(st->so_id), v);
	if (strcmp(k, "kek") == 0)
		return copy_field(st->kek_id, sizeof(st->kek_id), v);
	if (strcmp(k, "crl_number") == 0) {
		errno = 0;
		n = strtoull(v, &end, 10);
		if (errno != 0 || *end != '\0' || end == v)
			return -1;
		st->crl_number = n;
		return 0;
	}
	if (strcmp(k, "revoked") == 0) {
		if (st->nrevoked >= CER_MAX_REVOKED)
			return -1;
		r = &st->revoked[st->nrevoked];
		if (sscanf(v, "%79s %" SCNd64 " %d", r->serial, &r->when,
		    &r->reason) != 3)
			return -1;
		st->nrevoked++;
		return 0;
	}
	return -1;
}

int
cer_state_load(const char *path, struct cer_state *st)
{
	uint8_t *text = NULL;
	char *line, *next;
	size_t len, lineno = 1;
	int rc = CER_ERR;

	memset(st, 0, sizeof(*st));
	if (cer_read_file(path, &text, &len) != CER_OK)
		return CER_ERR;
	line = (char *)text;
	if ((next = strchr(line, '\n')) != NULL)
		*next++ = '\0';
	if (strcmp(line, STATE_MAGIC) != 0) {
		warnx("%s:1: not a ceremony state file", path);
		goto out;
	}
	while ((line = next) != NULL && *line != '\0') {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (state_line(st, line) != 0) {
			warnx("%s:%zu: malformed line", path, lineno);
			goto out;
		}
	}
	rc = CER_OK;
out:
	free(text);
	return rc;
}

int
cer_state_format(const struct cer_state *st, char **out, size_t *len)
{
	char *buf = NULL;
	size_t size = 512 + st->nrevoked * 128, n;
	size_t i;

	if ((buf = malloc(size)) == NULL)
		return CER_ERR;
	n = (size_t)snprintf(buf, size, STATE_MAGIC "\nkey_id %s\n"
	    "user_pin %s\nso_pin %s\n", st->key_id, st->user_id, st->so_id);
	if (st->kek_id[0] != '\0')
		n += (size_t)snprintf(buf + n, size - n, "kek %s\n",
		    st->kek_id);
	n += (size_t)snprintf(buf + n, size - n, "crl_number %" PRIu64 "\n",
	    st->crl_number);
	for (i = 0; i < st->nrevoked && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "revoked %s %" PRId64
		    " %d\n", st->revoked[i].serial, st->revoked[i].when,
		    st->revoked[i].reason);
	if (n >= size) {
		free(buf);
		return CER_ERR;
	}
	*out = buf;
	*len = n;
	return CER_OK;
}

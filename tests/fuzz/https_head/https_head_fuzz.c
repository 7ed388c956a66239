/*
 * Fuzz target: the request-head scanner, fed the input in pieces of
 * every size the first byte picks (as TLS records and reads split it),
 * must find the same end and the same length as in one piece; the
 * Content-Length check on the input split into field values at NULs; and
 * the query string of GET /v1/audit (https_audit_args), whose accepted
 * filters must be within the engine protocol's bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "https.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_HEAD	4096

static int
scan(const uint8_t *p, size_t n, size_t step, size_t *end)
{
	struct https_head h;
	size_t off = 0, k, used;
	int rc = HTTPS_E_MORE;

	https_head_init(&h);
	while (off < n) {
		k = n - off < step ? n - off : step;
		rc = https_head_scan(&h, p + off, k, FUZZ_MAX_HEAD, &used);
		if (used > k)
			abort();
		if (rc != HTTPS_E_MORE) {
			*end = off + used;
			return rc;
		}
		off += k;
	}
	*end = off;
	return rc;
}

/* Accepted filters are bounded and encode; refusals say why. */
static void
audit_query(const uint8_t *data, size_t size)
{
	static struct proto_request req;
	static uint8_t buf[PROTO_MAX_BODY];
	const char *why = NULL;
	size_t len;
	int rc;

	memset(&req, 0, sizeof(req));
	rc = https_audit_args(data, size, &req.u.audit, &why);
	if (rc != HTTPS_OK) {
		if (why == NULL || why[0] == '\0')
			abort();
		return;
	}
	if (why != NULL || req.u.audit.limit == 0 ||
	    req.u.audit.limit > PROTO_MAX_AUDIT_LIMIT ||
	    req.u.audit.since > INT64_MAX || req.u.audit.until > INT64_MAX ||
	    req.u.audit.after > INT64_MAX ||
	    (req.u.audit.until != 0 &&
	    req.u.audit.since >= req.u.audit.until))
		abort();
	req.type = PROTO_T_AUDIT_QUERY;
	req.ev.peer = PROTO_PEER_HTTPS;
	if (proto_request_encode(&req, buf, sizeof(buf), &len) != PROTO_OK)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *vals[8];
	size_t e1, e2, n = 0, i, start = 0;
	uint64_t len;
	char *s;
	int r1, r2;

	if (size == 0)
		return 0;
	r1 = scan(data + 1, size - 1, size, &e1);
	r2 = scan(data + 1, size - 1, (size_t)data[0] % 16 + 1, &e2);
	if (r1 != r2 || (r1 == HTTPS_OK && e1 != e2))
		abort();
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (i = 0; i <= size && n < 8; i++)
		if (s[i] == '\0') {
			vals[n++] = s + start;
			start = i + 1;
		}
	if (https_content_length(vals, n, &len) == HTTPS_OK &&
	    len > 999999999999999999ULL)
		abort();
	free(s);
	audit_query(data, size);
	return 0;
}

/*
 * Fuzz target: the strict JSON reader of signet_acme.  Checks the tree's
 * invariants (every string NUL-terminated at its length, child counts,
 * the depth and count limits), that strict base64url has one encoding
 * per byte string (decode then encode gives the input back), and that a
 * problem document with any detail is JSON the reader accepts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
walk(const struct acme_jnode *n, int depth)
{
	const struct acme_jnode *c;
	size_t k = 0, total = 1;

	if (n->type == ACME_J_ARR || n->type == ACME_J_OBJ) {
		if (depth > ACME_MAX_DEPTH)
			abort();
		for (c = n->child; c != NULL; c = c->next) {
			if ((n->type == ACME_J_OBJ) != (c->name != NULL))
				abort();
			/* Duplicates were refused: a name finds its member. */
			if (n->type == ACME_J_OBJ &&
			    acme_json_get(n, c->name) != c)
				abort();
			total += walk(c, depth + 1);
			k++;
		}
		if (k != n->n || k > (n->type == ACME_J_OBJ ?
		    ACME_MAX_MEMBERS : ACME_MAX_ITEMS))
			abort();
	} else if (n->type == ACME_J_STR || n->type == ACME_J_NUM) {
		if (strlen(n->str) != n->len)
			abort();
	}
	return total;
}

static void
b64_roundtrip(const uint8_t *data, size_t size)
{
	static uint8_t out[ACME_MAX_BODY];
	static char enc[ACME_MAX_BODY * 2];
	size_t n;

	if (acme_b64url_decode((const char *)data, size, out, sizeof(out),
	    &n) != ACME_OK)
		return;
	if (acme_b64url_encode(out, n, enc, sizeof(enc)) != ACME_OK ||
	    strlen(enc) != size || memcmp(enc, data, size) != 0)
		abort();
}

static void
problem(const uint8_t *data, size_t size)
{
	static char out[ACME_MAX_PROBLEM];
	struct acme_json *j = NULL;
	char *detail;
	size_t n;

	if ((detail = malloc(size + 1)) == NULL)
		return;
	memcpy(detail, data, size);
	detail[size] = '\0';
	if (acme_problem_render((enum acme_problem)(size % ACME_P__COUNT),
	    detail, out, sizeof(out), &n) != ACME_OK)
		abort();
	if (acme_json_parse((const uint8_t *)out, n, &j) != ACME_OK)
		abort();
	acme_json_free(j);
	free(detail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_json *j = NULL;
	const char *s;
	uint64_t v;
	int b;

	if (acme_json_parse(data, size, &j) == ACME_OK) {
		if (walk(acme_json_root(j), 1) > ACME_MAX_NODES)
			abort();
		acme_json_str(acme_json_root(j), "type", &s, NULL);
		acme_json_u64(acme_json_root(j), "reason", &v);
		acme_json_bool(acme_json_root(j), "onlyReturnExisting", &b);
		acme_json_free(j);
	}
	if (size <= ACME_MAX_BODY)
		b64_roundtrip(data, size);
	problem(data, size);
	return 0;
}

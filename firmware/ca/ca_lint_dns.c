/*
 * Lints over each dNSName of the subjectAltName (RFC 5280 4.2.1.6,
 * RFC 1035 2.3.1, CABF BR 7.1.4.2), one rule per lint so a failure
 * names exactly what is wrong.
 */
#include <string.h>

#include "ca_lint_local.h"

#define FAIL(...) ca_fail(err, CA_ERR_LINT, __VA_ARGS__)

typedef int (*ca_label_fn)(const uint8_t *, size_t, size_t, struct ca_err *);

/* Calls fn(label, len, index) for each label of a dNSName. */
static int
ca_g_labels(const struct ca_tlv *gn, void *arg, struct ca_err *err)
{
	ca_label_fn fn = *(ca_label_fn *)arg;
	size_t start = 0, i, idx = 0;
	int rc;

	for (i = 0; i <= gn->len; i++) {
		if (i < gn->len && gn->val[i] != '.')
			continue;
		if ((rc = fn(gn->val + start, i - start, idx++, err)) != CA_OK)
			return rc;
		start = i + 1;
	}
	return CA_OK;
}

static int
ca_each_label(const struct ca_lint_ctx *c, ca_label_fn fn, struct ca_err *err)
{
	return ca_san_each(c, CA_T_CTX(2), &fn, err, ca_g_labels);
}

static int
ca_g_null(const struct ca_tlv *gn, void *arg, struct ca_err *err)
{
	if (memchr(gn->val, '\0', gn->len) != NULL)
		return FAIL("dNSName contains NUL");
	return CA_OK;
}

int
ca_lint_dns_null(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_san_each(c, CA_T_CTX(2), NULL, err, ca_g_null);
}

static int
ca_g_too_long(const struct ca_tlv *gn, void *arg, struct ca_err *err)
{
	if (gn->len > CA_MAX_DNS)
		return FAIL("dNSName is %zu octets", gn->len);
	return CA_OK;
}

int
ca_lint_dns_too_long(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_san_each(c, CA_T_CTX(2), NULL, err, ca_g_too_long);
}

static int
ca_l_empty(const uint8_t *l, size_t len, size_t idx, struct ca_err *err)
{
	return len == 0 ? FAIL("dNSName has an empty label") : CA_OK;
}

int
ca_lint_dns_empty_label(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_each_label(c, ca_l_empty, err);
}

static int
ca_l_long(const uint8_t *l, size_t len, size_t idx, struct ca_err *err)
{
	return len > CA_MAX_LABEL ? FAIL("dNSName label is %zu octets", len) :
	    CA_OK;
}

int
ca_lint_dns_label_long(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_each_label(c, ca_l_long, err);
}

static int
ca_l_char(const uint8_t *l, size_t len, size_t idx, struct ca_err *err)
{
	size_t i;
	uint8_t ch;

	for (i = 0; i < len; i++) {
		ch = l[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    (ch == '*' && idx == 0 && len == 1))
			continue;
		return FAIL("dNSName label contains 0x%02x", ch);
	}
	return CA_OK;
}

int
ca_lint_dns_bad_char(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_each_label(c, ca_l_char, err);
}

static int
ca_l_underscore(const uint8_t *l, size_t len, size_t idx, struct ca_err *err)
{
	return memchr(l, '_', len) != NULL ?
	    FAIL("dNSName contains an underscore") : CA_OK;
}

int
ca_lint_dns_underscore(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_each_label(c, ca_l_underscore, err);
}

static int
ca_l_hyphen(const uint8_t *l, size_t len, size_t idx, struct ca_err *err)
{
	if (len > 0 && (l[0] == '-' || l[len - 1] == '-'))
		return FAIL("dNSName label starts or ends with a hyphen");
	return CA_OK;
}

int
ca_lint_dns_hyphen(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_each_label(c, ca_l_hyphen, err);
}

static int
ca_l_wild(const uint8_t *l, size_t len, size_t idx, struct ca_err *err)
{
	if (memchr(l, '*', len) != NULL && (idx != 0 || len != 1))
		return FAIL("wildcard is not the whole leftmost label");
	return CA_OK;
}

int
ca_lint_dns_wildcard_left(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_each_label(c, ca_l_wild, err);
}

static int
ca_g_wild_tld(const struct ca_tlv *gn, void *arg, struct ca_err *err)
{
	if (gn->len >= 2 && gn->val[0] == '*' && gn->val[1] == '.' &&
	    memchr(gn->val + 2, '.', gn->len - 2) == NULL)
		return FAIL("wildcard covers a whole top-level domain");
	return CA_OK;
}

int
ca_lint_dns_wildcard_tld(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_san_each(c, CA_T_CTX(2), NULL, err, ca_g_wild_tld);
}

static int
ca_l_lower(const uint8_t *l, size_t len, size_t idx, struct ca_err *err)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (l[i] >= 'A' && l[i] <= 'Z')
			return FAIL("dNSName is not lowercase");
	return CA_OK;
}

/* policy: names are issued in their canonical lowercase form. */
int
ca_lint_dns_lowercase(const struct ca_lint_ctx *c, struct ca_err *err)
{
	return ca_each_label(c, ca_l_lower, err);
}

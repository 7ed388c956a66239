/*
 * The engine-facing ledger: argument checks, the backend table, and the
 * parts of issuance that do not depend on storage (the TBS hash check).
 * No SQL here: storage is the backend's business.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <signet/audit.h>
#include <signet/ledger.h>
#include <signet/ledger_backend.h>

#include "ledger_impl.h"

static const struct ledger_backend *const backends[] = {
	&ledger_backend_sqlite,
	&ledger_backend_pgsql,
};

const char *
ledger_strerror(int rc)
{
	static const char *const msg[] = {
		"success",
		"invalid argument",
		"out of memory",
		"no such certificate",
		"serial number already in the ledger",
		"certificate status does not allow this",
		"certificate does not match the reserved TBS hash",
		"ledger storage cannot be read or written",
		"ledger storage is full",
		"ledger database is locked",
		"ledger database has an unknown schema",
		"no ledger backend of that name",
		"audit record could not be written",
		"ledger database error",
		"ledger database is unreachable",
	};

	if (rc > 0 || (size_t)-rc >= sizeof(msg) / sizeof(msg[0]))
		return "unknown ledger error";
	return msg[-rc];
}

const char *
ledger_status_name(enum ledger_status status)
{
	static const char *const name[LEDGER_STATUS_COUNT] = {
		[LEDGER_RESERVED] = "reserved",
		[LEDGER_ISSUED] = "issued",
		[LEDGER_REVOKED] = "revoked",
		[LEDGER_ABANDONED] = "abandoned",
	};

	if ((int)status < 0 || status >= LEDGER_STATUS_COUNT)
		return "unknown";
	return name[status];
}

int64_t
ledger_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

int
ledger_text_ok(const char *s, int required)
{
	if (s == NULL)
		return !required;
	if (required && *s == '\0')
		return 0;
	return strnlen(s, LEDGER_MAX_TEXT + 1) <= LEDGER_MAX_TEXT;
}

int
ledger_auth_ok(const char *s)
{
	return s == NULL || strnlen(s, LEDGER_AUTH_MAX + 1) <= LEDGER_AUTH_MAX;
}

int
ledger_serial_ok(const struct ledger_serial *s)
{
	return s != NULL && s->len >= 1 && s->len <= LEDGER_SERIAL_MAX;
}

int
ledger_serial_hex(const struct ledger_serial *s, char *buf, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	if (!ledger_serial_ok(s) || buf == NULL || size < s->len * 2 + 1)
		return -1;
	for (i = 0; i < s->len; i++) {
		buf[2 * i] = digits[s->b[i] >> 4];
		buf[2 * i + 1] = digits[s->b[i] & 0xf];
	}
	buf[2 * s->len] = '\0';
	return 0;
}

int
ledger_serial_from_hex(const char *hex, struct ledger_serial *s)
{
	size_t i, n;
	int hi, lo;

	if (hex == NULL || s == NULL)
		return -1;
	n = strnlen(hex, 2 * LEDGER_SERIAL_MAX + 1);
	if (n == 0 || n % 2 != 0 || n > 2 * LEDGER_SERIAL_MAX)
		return -1;
	for (i = 0; i < n / 2; i++) {
		hi = OPENSSL_hexchar2int(hex[2 * i]);
		lo = OPENSSL_hexchar2int(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		s->b[i] = (uint8_t)(hi << 4 | lo);
	}
	s->len = n / 2;
	return 0;
}

void
ledger_cert_clear(struct ledger_cert *c)
{
	if (c == NULL)
		return;
	free(c->tenant);
	free(c->issuer);
	free(c->profile);
	free(c->subject);
	free(c->sans);
	free(c->requester);
	free(c->authorized_by);
	free(c->der);
	memset(c, 0, sizeof(*c));
}

void
ledger_certs_free(struct ledger_cert *certs, size_t n)
{
	size_t i;

	if (certs == NULL)
		return;
	for (i = 0; i < n; i++)
		ledger_cert_clear(&certs[i]);
	free(certs);
}

int
ledger_open(const char *backend, const char *target, struct ledger **out)
{
	return ledger_open_config(backend, target, NULL, out);
}

int
ledger_open_config(const char *backend, const char *target,
    const struct ledger_config *cfg, struct ledger **out)
{
	struct ledger *l = NULL;
	size_t i;
	int rc = LEDGER_ERR_BACKEND;

	if (backend == NULL || target == NULL || out == NULL)
		return LEDGER_ERR_ARG;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return LEDGER_ERR_NOMEM;
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, backend) == 0)
			l->be = backends[i];
	if (l->be == NULL)
		goto out;
	if ((rc = l->be->open(target, cfg, &l->state)) != LEDGER_OK)
		goto out;
	*out = l;
	l = NULL;
out:
	free(l);
	return rc;
}

void
ledger_close(struct ledger *l)
{
	if (l == NULL)
		return;
	l->be->close(l->state);
	free(l);
}

int
ledger_reserve(struct ledger *l, const struct ledger_intent *in)
{
	if (l == NULL || in == NULL || !ledger_serial_ok(&in->serial) ||
	    !ledger_text_ok(in->tenant, 1) || !ledger_text_ok(in->issuer, 1) ||
	    !ledger_text_ok(in->profile, 1) ||
	    !ledger_text_ok(in->subject, 0) || !ledger_text_ok(in->sans, 0) ||
	    !ledger_text_ok(in->requester, 0) ||
	    !ledger_auth_ok(in->authorized_by) ||
	    in->not_after < in->not_before)
		return LEDGER_ERR_ARG;
	return l->be->reserve(l->state, in);
}

/*
 * One DER TLV of tag at *p (before end): definite, minimal length that
 * fits.  *content and *clen its value; *p moves past it.  0 or -1.
 */
static int
der_tlv(const uint8_t **p, const uint8_t *end, uint8_t tag,
    const uint8_t **content, size_t *clen)
{
	const uint8_t *q = *p;
	size_t len, n;

	if (end - q < 2 || *q++ != tag)
		return -1;
	len = *q++;
	if (len & 0x80) {
		n = len & 0x7f;
		if (n == 0 || n > 3 || (size_t)(end - q) < n || *q == 0)
			return -1;	/* indefinite, too long or not minimal */
		for (len = 0; n > 0; n--)
			len = len << 8 | *q++;
		if (len < 0x80)
			return -1;
	}
	if ((size_t)(end - q) < len)
		return -1;
	*content = q;
	*clen = len;
	*p = q + len;
	return 0;
}

/*
 * SHA-256 over the TBSCertificate exactly as encoded inside der, after
 * checking that der is one certificate's outer structure and nothing more:
 * SEQUENCE { TBSCertificate SEQUENCE, AlgorithmIdentifier SEQUENCE,
 * BIT STRING }, ending at der + len (RFC 5280 4.1).  The engine built the
 * TBS it reserved and assembled the certificate around those bytes
 * (ca_issue.c): the hash compared by the backend is what proves the
 * certificate is the one reserved, so no X509 is decoded here (issue 17:
 * d2i_X509 spent a sixth of the engine's time in OpenSSL 3.0's key
 * decoders on every issuance).
 */
static int
tbs_hash(const uint8_t *der, size_t len, uint8_t out[LEDGER_HASH_LEN])
{
	const uint8_t *p = der, *end = der + len, *cert, *tbs, *v;
	size_t clen, vlen;

	if (len == 0 || len > LEDGER_MAX_DER ||
	    der_tlv(&p, end, 0x30, &cert, &clen) != 0 || p != end)
		return LEDGER_ERR_ARG;
	p = tbs = cert;
	if (der_tlv(&p, end, 0x30, &v, &vlen) != 0 || vlen == 0)
		return LEDGER_ERR_ARG;
	clen = (size_t)(p - tbs);
	if (der_tlv(&p, end, 0x30, &v, &vlen) != 0 || vlen == 0 ||
	    der_tlv(&p, end, 0x03, &v, &vlen) != 0 || vlen < 2 ||
	    v[0] != 0 || p != end)
		return LEDGER_ERR_ARG;
	if (!EVP_Digest(tbs, clen, out, NULL, EVP_sha256(), NULL))
		return LEDGER_ERR_ARG;
	return LEDGER_OK;
}

int
ledger_commit(struct ledger *l, const struct ledger_serial *serial,
    const uint8_t *der, size_t der_len, const struct audit_record *audit)
{
	struct ledger_transition t;
	uint8_t hash[LEDGER_HASH_LEN];
	int rc;

	if (l == NULL || !ledger_serial_ok(serial) || der == NULL ||
	    audit == NULL)
		return LEDGER_ERR_ARG;
	if ((rc = tbs_hash(der, der_len, hash)) != LEDGER_OK)
		return rc;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.from_mask = 1u << LEDGER_RESERVED;
	t.to = LEDGER_ISSUED;
	t.der = der;
	t.der_len = der_len;
	t.tbs_hash = hash;
	return l->be->transition(l->state, &t, audit);
}

int
ledger_abandon(struct ledger *l, const struct ledger_serial *serial,
    const struct audit_record *audit)
{
	struct ledger_transition t;

	if (l == NULL || !ledger_serial_ok(serial))
		return LEDGER_ERR_ARG;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.from_mask = 1u << LEDGER_RESERVED;
	t.to = LEDGER_ABANDONED;
	return l->be->transition(l->state, &t, audit);
}

/* RFC 5280 5.3.1: reason codes 0-10; 7 is not used. */
int
ledger_reason_ok(int reason)
{
	return reason >= 0 && reason <= 10 && reason != 7;
}

int
ledger_revoke(struct ledger *l, const char *tenant,
    const struct ledger_serial *serial, int reason, int64_t time,
    const struct audit_record *audit)
{
	struct ledger_transition t;

	if (l == NULL || !ledger_text_ok(tenant, 1) ||
	    !ledger_serial_ok(serial) || !ledger_reason_ok(reason) ||
	    time < 0 || audit == NULL)
		return LEDGER_ERR_ARG;
	memset(&t, 0, sizeof(t));
	t.serial = serial;
	t.tenant = tenant;
	t.from_mask = 1u << LEDGER_ISSUED;
	t.to = LEDGER_REVOKED;
	t.revoked_at = time != 0 ? time : ledger_now();
	t.reason = reason;
	return l->be->transition(l->state, &t, audit);
}

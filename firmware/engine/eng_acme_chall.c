/*
 * ACME authorizations and challenges (RFC 8555 7.5, 8; RFC 8737; RFC
 * 8738): which challenges an identifier is offered, the one the client
 * chose, what signet-validator is asked to fetch for it and whether what
 * it fetched proves control.  The engine judges every answer itself; the
 * validator only reports bytes (docs/acme.md "Challenges").
 *
 * An authorization's challenges share its one token and state (one
 * ledger row, like Boulder's authz2): the first challenge the client
 * answers is the one validated, and from then on the authorization lists
 * only that one.  Challenge URLs are chall/<id> (http-01), chall/<id>_d
 * (dns-01) and chall/<id>_t (tls-alpn-01).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "eng_acme.h"

enum eng_chall {
	ENG_CH_HTTP01 = 0,
	ENG_CH_DNS01,
	ENG_CH_TLSALPN01,
	ENG_CH_COUNT
};

static const struct {
	const char	*name;
	const char	*suffix;	/* of the challenge URL's id */
} eng_chall_types[ENG_CH_COUNT] = {
	[ENG_CH_HTTP01] = { "http-01", "" },
	[ENG_CH_DNS01] = { "dns-01", "_d" },
	[ENG_CH_TLSALPN01] = { "tls-alpn-01", "_t" },
};

/* RFC 8737 3: id-pe-acmeIdentifier. */
#define ENG_OID_ACME_IDENTIFIER	"1.3.6.1.5.5.7.1.31"

static int
eng_chall_wildcard(const struct eng_acme_authz *z)
{
	return strcmp(z->type, "dns") == 0 && strncmp(z->value, "*.", 2) == 0;
}

/*
 * What an identifier is offered: a wildcard dns-01 only (RFC 8555 7.1.3,
 * only DNS can prove a whole zone); an IP address http-01 and tls-alpn-01
 * (RFC 8738 7: no dns-01); a name all three.
 */
static unsigned
eng_chall_offered(const struct eng_acme_authz *z)
{
	if (eng_chall_wildcard(z))
		return 1u << ENG_CH_DNS01;
	if (strcmp(z->type, "ip") == 0)
		return 1u << ENG_CH_HTTP01 | 1u << ENG_CH_TLSALPN01;
	return 1u << ENG_CH_HTTP01 | 1u << ENG_CH_DNS01 |
	    1u << ENG_CH_TLSALPN01;
}

static int
eng_chall_by_name(const char *name)
{
	int t;

	for (t = 0; t < ENG_CH_COUNT; t++)
		if (strcmp(eng_chall_types[t].name, name) == 0)
			return t;
	return -1;
}

/* A challenge URL's id: the authorization's challenge id and a type. */
static int
eng_chall_parse(const char *id, char chall[ENG_ACME_ID_MAX + 1])
{
	size_t n = strlen(id);
	int t;

	if (n < ENG_ACME_ID_MAX)
		return -1;
	for (t = 0; t < ENG_CH_COUNT; t++)
		if (n == ENG_ACME_ID_MAX + strlen(eng_chall_types[t].suffix) &&
		    strcmp(id + ENG_ACME_ID_MAX, eng_chall_types[t].suffix) ==
		    0)
			break;
	if (t == ENG_CH_COUNT)
		return -1;
	memcpy(chall, id, ENG_ACME_ID_MAX);
	chall[ENG_ACME_ID_MAX] = '\0';
	return t;
}

/* The name a challenge proves: the identifier without a wildcard. */
static const char *
eng_chall_base(const struct eng_acme_authz *z)
{
	return eng_chall_wildcard(z) ? z->value + 2 : z->value;
}

static void
eng_chall_json(struct eng_acme *a, const struct eng_acme_authz *z, int t)
{
	int chosen = strcmp(z->chall_status, "pending") != 0 &&
	    eng_chall_by_name(z->chall_type) == t;

	eng_acme_put(a, "{\"type\":\"%s\",\"url\":\"%s/chall/%s%s\","
	    "\"token\":", eng_chall_types[t].name, a->base, z->chall,
	    eng_chall_types[t].suffix);
	eng_acme_jstr(a, z->token);
	eng_acme_put(a, ",\"status\":");
	eng_acme_jstr(a, chosen ? z->chall_status : "pending");
	if (chosen && z->validated != 0) {
		eng_acme_put(a, ",\"validated\":");
		eng_acme_time(a, z->validated);
	}
	if (chosen && z->error[0] == '{')
		eng_acme_put(a, ",\"error\":%s", z->error);
	eng_acme_put(a, "}");
}

int
eng_acme_authz(struct eng_acme *a)
{
	struct eng_acme_authz z;
	char loc[ENG_ACME_BASE_MAX + 64];
	unsigned offered;
	int t, n = 0, chosen;

	if (eng_acme_authz_load(a, LA_AUTHZ_GET, a->q->id, &z) != 0)
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "no such authorization");
	offered = eng_chall_offered(&z);
	chosen = strcmp(z.chall_status, "pending") != 0 ?
	    eng_chall_by_name(z.chall_type) : -1;
	eng_fmt(loc, sizeof(loc), "%s/authz/%s", a->base, z.id);
	eng_acme_put(a, "{\"status\":");
	eng_acme_jstr(a, z.status);
	eng_acme_put(a, ",\"expires\":");
	eng_acme_time(a, z.expires);
	/* RFC 8555 7.1.4: the identifier without "*.", and a flag. */
	eng_acme_put(a, ",\"identifier\":{\"type\":");
	eng_acme_jstr(a, z.type);
	eng_acme_put(a, ",\"value\":");
	eng_acme_jstr(a, eng_chall_base(&z));
	eng_acme_put(a, "}%s,\"challenges\":[", eng_chall_wildcard(&z) ?
	    ",\"wildcard\":true" : "");
	for (t = 0; t < ENG_CH_COUNT; t++) {
		/* Once one is chosen, the authorization shows only it. */
		if (!(offered & (1u << t)) || (chosen >= 0 && t != chosen))
			continue;
		eng_acme_put(a, "%s", n++ ? "," : "");
		eng_chall_json(a, &z, t);
	}
	eng_acme_put(a, "]}");
	/* RFC 8555 7.5.1: say when to look again while it validates. */
	if (strcmp(z.chall_status, "processing") == 0)
		a->retry_after = ENG_ACME_POLL_RETRY;
	return eng_acme_answer(a, 200, PROTO_ACME_CT_JSON, loc);
}

/* RFC 8555 7.5.1: the client says it is ready; queue the validation. */
int
eng_acme_challenge(struct eng_acme *a)
{
	struct ledger_acme_step st;
	struct eng_acme_authz z;
	char loc[ENG_ACME_BASE_MAX + 64], chall[ENG_ACME_ID_MAX + 1];
	int t, chosen, rc;

	if ((t = eng_chall_parse(a->q->id, chall)) < 0 ||
	    eng_acme_authz_load(a, LA_AUTHZ_BY_CHALL, chall, &z) != 0 ||
	    strcmp(z.account, a->acct.id) != 0 ||
	    !(eng_chall_offered(&z) & (1u << t)))
		return eng_acme_problem(a, ACME_P_MALFORMED,
		    "no such challenge");
	if (strcmp(z.chall_status, "pending") == 0 &&
	    strcmp(z.status, "pending") == 0) {
		memset(&st, 0, sizeof(st));
		st.stmt = LA_CHALL_START;
		st.one = 1;
		st.n = 3;
		st.v[0] = ledger_vt(z.chall);
		st.v[1] = ledger_vt(a->acct.id);
		st.v[2] = ledger_vt(eng_chall_types[t].name);
		rc = ledger_acme_write(a->e->ledger, &st, 1, NULL);
		/* Another request chose first: answer with what it chose. */
		if (rc == LEDGER_ERR_STATE && eng_acme_authz_load(a,
		    LA_AUTHZ_BY_CHALL, chall, &z) == 0)
			rc = LEDGER_OK;
		else if (rc == LEDGER_OK) {
			/* Queued (committed): the validator asks now. */
			eng_serve_wake(a->e, PROTO_PEER_VALIDATOR,
			    PROTO_T_ACME_VA);
			eng_fmt(z.chall_status, sizeof(z.chall_status),
			    "processing");
			eng_fmt(z.chall_type, sizeof(z.chall_type), "%s",
			    eng_chall_types[t].name);
		}
		if (rc != LEDGER_OK)
			return eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
			    "ledger");
	}
	chosen = strcmp(z.chall_status, "pending") != 0 ?
	    eng_chall_by_name(z.chall_type) : t;
	if (chosen != t)
		return eng_acme_problem(a, ACME_P_MALFORMED, "%s was chosen "
		    "for this authorization already, not %s", z.chall_type,
		    eng_chall_types[t].name);
	eng_fmt(loc, sizeof(loc), "%s/chall/%s%s", a->base, z.chall,
	    eng_chall_types[t].suffix);
	/* RFC 8555 7.5.1: Link rel="up" to the authorization. */
	eng_fmt(a->r->rep.u.acme.up, sizeof(a->r->rep.u.acme.up),
	    "%s/authz/%s", a->base, z.id);
	eng_chall_json(a, &z, t);
	if (strcmp(z.chall_status, "processing") == 0)
		a->retry_after = ENG_ACME_POLL_RETRY;
	return eng_acme_answer(a, 200, PROTO_ACME_CT_JSON, loc);
}

/* RFC 8738 6: the reverse-mapping name of an IP address, for SNI. */
static int
eng_chall_reverse(const char *ip, char *out, size_t size)
{
	uint8_t b[16];
	size_t i, o = 0;
	int n;

	if (inet_pton(AF_INET, ip, b) == 1) {
		eng_fmt(out, size, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2],
		    b[1], b[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, b) != 1 || size < 73)
		return -1;
	for (i = 16; i-- > 0; ) {
		n = snprintf(out + o, size - o, "%x.%x.", b[i] & 0xf, b[i] >> 4);
		if (n != 4)
			return -1;
		o += 4;
	}
	eng_fmt(out + o, size - o, "ip6.arpa");
	return 0;
}

int
eng_acme_va_url(const struct sconf *c, const struct eng_acme_authz *z,
    char *url, size_t size)
{
	const char *lb = strchr(z->value, ':') ? "[" : "";
	const char *rb = *lb ? "]" : "";
	char sni[80];

	switch (eng_chall_by_name(z->chall_type)) {
	case ENG_CH_HTTP01:
		/* RFC 8555 8.3: port 80 (configurable for tests, as pebble). */
		eng_fmt(url, size, "http://%s%s%s:%d/.well-known/"
		    "acme-challenge/%s", lb, z->value, rb, c->acme_http01_port,
		    z->token);
		return 0;
	case ENG_CH_TLSALPN01:
		/* RFC 8737 3: port 443, SNI the name (RFC 8738 6: for an
		   address, its reverse-mapping name). */
		if (strcmp(z->type, "ip") == 0) {
			if (eng_chall_reverse(z->value, sni, sizeof(sni)) != 0)
				return -1;
		} else
			eng_fmt(sni, sizeof(sni), "%s", z->value);
		eng_fmt(url, size, "tls://%s%s%s:%d/%s", lb, z->value, rb,
		    c->acme_tlsalpn01_port, sni);
		return 0;
	case ENG_CH_DNS01:
		/* RFC 8555 8.4: TXT at _acme-challenge, wildcard removed. */
		eng_fmt(url, size, "dns:_acme-challenge.%s",
		    eng_chall_base(z));
		return 0;
	default:
		return -1;
	}
}

/* The key authorization, token "." thumbprint (RFC 8555 8.1). */
static int
eng_chall_keyauth(const struct eng_acme_authz *z, char *out, size_t size)
{
	if (z->thumb[0] == '\0' || z->token[0] == '\0')
		return -1;
	eng_fmt(out, size, "%s.%s", z->token, z->thumb);
	return 0;
}

/* RFC 8555 8.3: the body, whitespace trimmed, is the key authorization. */
static int
eng_chall_http01(const struct proto_blob *b, const char *want)
{
	size_t s = 0, e = b->len;

	while (s < e && isspace(b->ptr[s]))
		s++;
	while (e > s && isspace(b->ptr[e - 1]))
		e--;
	return e - s == strlen(want) && memcmp(b->ptr + s, want, e - s) == 0;
}

/*
 * RFC 8555 8.4: one of the TXT records (the validator sends each on a
 * line, its strings joined) is base64url(SHA-256(key authorization)).
 */
static int
eng_chall_dns01(const struct proto_blob *b, const char *keyauth, char *why,
    size_t whylen)
{
	uint8_t md[32];
	char want[48];
	size_t len, s = 0, e, n = 0;

	if (EVP_Digest(keyauth, strlen(keyauth), md, NULL, EVP_sha256(),
	    NULL) != 1 || acme_b64url_encode(md, sizeof(md), want,
	    sizeof(want)) != ACME_OK)
		return 0;
	len = strlen(want);
	while (s < b->len) {
		for (e = s; e < b->len && b->ptr[e] != '\n'; e++)
			;
		n++;
		if (e - s == len && memcmp(b->ptr + s, want, len) == 0)
			return 1;
		s = e + 1;
	}
	eng_fmt(why, whylen, n ? "none of the %zu TXT records is the key "
	    "authorization's digest" : "no TXT record", n);
	return 0;
}

/*
 * RFC 8737 3: the certificate the server presented for acme-tls/1 has
 * exactly one subjectAltName, the identifier (a dNSName, or for an
 * address the iPAddress, RFC 8738 6), and a critical acmeIdentifier
 * extension holding SHA-256 of the key authorization.  The validator
 * checked that acme-tls/1 was negotiated; it cannot make a certificate
 * pass that was not made for this key authorization.
 */
static int
eng_chall_tlsalpn01(const struct proto_blob *b,
    const struct eng_acme_authz *z, const char *keyauth, char *why,
    size_t whylen)
{
	const uint8_t *p = b->ptr;
	X509 *x = NULL;
	ASN1_OBJECT *oid = NULL;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *val;
	GENERAL_NAMES *gens = NULL;
	const GENERAL_NAME *g;
	uint8_t md[32], want[34], ip[16];
	int idx, crit = -1, ok = 0;
	size_t iplen;

	if (b->len == 0 || (x = d2i_X509(NULL, &p, (long)b->len)) == NULL ||
	    p != b->ptr + b->len) {
		eng_fmt(why, whylen, "the validator sent no certificate");
		goto out;
	}
	if ((oid = OBJ_txt2obj(ENG_OID_ACME_IDENTIFIER, 1)) == NULL ||
	    (idx = X509_get_ext_by_OBJ(x, oid, -1)) < 0) {
		eng_fmt(why, whylen, "the certificate has no acmeIdentifier "
		    "extension");
		goto out;
	}
	if (X509_get_ext_by_OBJ(x, oid, idx) >= 0) {
		eng_fmt(why, whylen, "the certificate has two acmeIdentifier "
		    "extensions");
		goto out;
	}
	ext = X509_get_ext(x, idx);
	if (!X509_EXTENSION_get_critical(ext)) {
		eng_fmt(why, whylen, "the acmeIdentifier extension is not "
		    "critical");
		goto out;
	}
	/* extnValue is the DER of Authorization ::= OCTET STRING (SIZE (32)) */
	val = X509_EXTENSION_get_data(ext);
	want[0] = 0x04;
	want[1] = 32;
	if (EVP_Digest(keyauth, strlen(keyauth), md, NULL, EVP_sha256(),
	    NULL) != 1)
		goto out;
	memcpy(want + 2, md, sizeof(md));
	if (ASN1_STRING_length(val) != (int)sizeof(want) ||
	    memcmp(ASN1_STRING_get0_data(val), want, sizeof(want)) != 0) {
		eng_fmt(why, whylen, "the acmeIdentifier extension is not the "
		    "key authorization's digest");
		goto out;
	}
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL || sk_GENERAL_NAME_num(gens) != 1) {
		eng_fmt(why, whylen, "the certificate does not have exactly "
		    "one subjectAltName");
		goto out;
	}
	g = sk_GENERAL_NAME_value(gens, 0);
	if (strcmp(z->type, "ip") == 0) {
		iplen = inet_pton(AF_INET, z->value, ip) == 1 ? 4 :
		    inet_pton(AF_INET6, z->value, ip) == 1 ? 16 : 0;
		ok = g->type == GEN_IPADD && iplen != 0 &&
		    ASN1_STRING_length(g->d.ip) == (int)iplen &&
		    memcmp(ASN1_STRING_get0_data(g->d.ip), ip, iplen) == 0;
	} else
		ok = g->type == GEN_DNS &&
		    ASN1_STRING_length(g->d.dNSName) ==
		    (int)strlen(z->value) &&
		    strncasecmp((const char *)ASN1_STRING_get0_data(
		    g->d.dNSName), z->value, strlen(z->value)) == 0;
	if (!ok)
		eng_fmt(why, whylen, "the certificate's subjectAltName is not "
		    "%s", z->value);
out:
	GENERAL_NAMES_free(gens);
	ASN1_OBJECT_free(oid);
	X509_free(x);
	return ok;
}

int
eng_acme_va_proves(const struct proto_blob *body,
    const struct eng_acme_authz *z, char *why, size_t whylen)
{
	char keyauth[sizeof(z->token) + sizeof(z->thumb) + 2];

	why[0] = '\0';
	if (eng_chall_keyauth(z, keyauth, sizeof(keyauth)) != 0) {
		eng_fmt(why, whylen, "no key authorization");
		return 0;
	}
	switch (eng_chall_by_name(z->chall_type)) {
	case ENG_CH_HTTP01:
		if (eng_chall_http01(body, keyauth))
			return 1;
		eng_fmt(why, whylen, "the response is not the key "
		    "authorization");
		return 0;
	case ENG_CH_DNS01:
		return eng_chall_dns01(body, keyauth, why, whylen);
	case ENG_CH_TLSALPN01:
		return eng_chall_tlsalpn01(body, z, keyauth, why, whylen);
	default:
		eng_fmt(why, whylen, "unknown challenge type %s",
		    z->chall_type);
		return 0;
	}
}

/*
 * What the chain above a leaf imposes on it, as a verifier enforces it
 * (issue 13): every CA certificate's name constraints, its extended key
 * usage where it has one, and the chain's own basicConstraints, keyUsage
 * and path lengths.  Read once when the issuer is loaded; checked before
 * every signature, so a request outside them is refused (403) with the
 * constraint named instead of yielding a certificate `openssl verify`
 * rejects.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ca_local.h"

/* OpenSSL's XKU_* bits in CA_EKU_* order. */
static const unsigned ca_xku[6] = { XKU_SSL_SERVER, XKU_SSL_CLIENT,
	XKU_CODE_SIGN, XKU_SMIME, XKU_TIMESTAMP, XKU_OCSP_SIGN };
static const char *const ca_eku_txt[6] = { "serverAuth", "clientAuth",
	"codeSigning", "emailProtection", "timeStamping", "OCSPSigning" };

static void
ca_chain_who(struct ca_chain_cert *cc, X509 *x, size_t k)
{
	char cn[CA_MAX_ATTR + 1];

	if (k == 0) {
		snprintf(cc->who, sizeof(cc->who), "the issuer's");
		return;
	}
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)) <= 0)
		snprintf(cn, sizeof(cn), "#%zu", k);
	snprintf(cc->who, sizeof(cc->who), "chain CA \"%s\"'s", cn);
}

/* The CA facts a verifier checks of one certificate above the leaf. */
static void
ca_chain_ca(struct ca_chain *ch, X509 *x, size_t k, size_t below)
{
	struct ca_chain_cert *cc = &ch->c[k];
	uint32_t flags = X509_get_extension_flags(x), xku;
	long plen;
	int crit = -1;
	size_t i;

	ca_chain_who(cc, x, k);
	cc->nc = X509_get_ext_d2i(x, NID_name_constraints, &crit, NULL);
	if (ch->broken[0] != '\0')
		return;
	if ((flags & EXFLAG_INVALID) || (cc->nc == NULL && crit != -1))
		snprintf(ch->broken, sizeof(ch->broken), "%s extensions "
		    "cannot be decoded", cc->who);
	else if (X509_check_ca(x) == 0)
		snprintf(ch->broken, sizeof(ch->broken), "%s certificate is "
		    "not a CA (basicConstraints)", cc->who);
	else if ((flags & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & KU_KEY_CERT_SIGN))
		snprintf(ch->broken, sizeof(ch->broken), "%s keyUsage lacks "
		    "keyCertSign", cc->who);
	/* RFC 5280 4.2.1.9: non-self-issued CAs below it <= pathLen. */
	else if ((plen = X509_get_pathlen(x)) >= 0 && (size_t)plen < below)
		snprintf(ch->broken, sizeof(ch->broken), "%s "
		    "pathLenConstraint %ld allows fewer CAs below it than the "
		    "%zu in the chain", cc->who, plen, below);
	if (flags & EXFLAG_XKUSAGE) {
		cc->has_eku = 1;
		xku = X509_get_extended_key_usage(x);
		for (i = 0; i < 6; i++)
			if (xku & ca_xku[i])
				cc->eku |= 1u << i;
	}
}

int
ca_chain_load(struct ca_issuer *iss)
{
	struct ca_chain *ch;
	X509 *x;
	size_t k, below = 0;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return -1;
	for (k = 0; k < 1 + iss->nchain; k++) {
		x = k == 0 ? iss->cert : iss->chain[k - 1];
		ca_chain_ca(ch, x, k, below);
		if (ch->c[k].nc != NULL)
			ch->nnc++;
		if (!(X509_get_extension_flags(x) & EXFLAG_SI))
			below++;
	}
	ch->n = k;
	iss->rules = ch;
	return 0;
}

void
ca_chain_free(struct ca_chain *ch)
{
	size_t k;

	if (ch == NULL)
		return;
	for (k = 0; k < ch->n; k++)
		NAME_CONSTRAINTS_free(ch->c[k].nc);
	free(ch);
}

/* Printable text of a name or base, for messages. */
static void
ca_nc_text(int gtype, const uint8_t *v, size_t len, char *out, size_t size)
{
	char a[INET6_ADDRSTRLEN];
	size_t i, bits = 0, o = 0;

	if (gtype == GEN_IPADD && (len == 4 || len == 16)) {
		inet_ntop(len == 4 ? AF_INET : AF_INET6, v, out, size);
		return;
	}
	if (gtype == GEN_IPADD && (len == 8 || len == 32)) {
		inet_ntop(len == 8 ? AF_INET : AF_INET6, v, a, sizeof(a));
		for (i = len / 2; i < len; i++)
			bits += (size_t)__builtin_popcount(v[i]);
		snprintf(out, size, "%s/%zu", a, bits);
		return;
	}
	for (i = 0; i < len && o + 1 < size; i++)
		out[o++] = v[i] > 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
	out[o] = '\0';
}

static const char *
ca_nc_type_txt(int gtype)
{
	return gtype == GEN_DNS ? "DNS" : gtype == GEN_IPADD ? "IP" :
	    gtype == GEN_URI ? "URI" : "email";
}

static enum ca_nc_type
ca_nc_t(int gtype)
{
	return gtype == GEN_DNS ? CA_NC_DNS : gtype == GEN_IPADD ? CA_NC_IP :
	    gtype == GEN_URI ? CA_NC_URI : CA_NC_EMAIL;
}

/* RFC 5280 4.2.1.10: minimum is 0 and maximum absent, or refused. */
static int
ca_nc_minmax(const GENERAL_SUBTREE *st)
{
	return st->maximum == NULL && (st->minimum == NULL ||
	    ASN1_INTEGER_get(st->minimum) == 0);
}

/* One name against one certificate's constraints (OpenSSL's nc_match). */
static int
ca_nc_name(const struct ca_chain_cert *cc, int gtype, const uint8_t *v,
    size_t len, const char *what, struct ca_err *err)
{
	STACK_OF(GENERAL_SUBTREE) *l[2] = { cc->nc->permittedSubtrees,
	    cc->nc->excludedSubtrees };
	const GENERAL_SUBTREE *st;
	const ASN1_STRING *b;
	char name[CA_MAX_URI + 1], base[CA_MAX_ERRMSG], list[160];
	size_t o = 0;
	int i, j, r, have = 0, ok = 0;

	ca_nc_text(gtype, v, len, name, sizeof(name));
	list[0] = '\0';
	for (j = 0; j < 2; j++) {
		for (i = 0; i < sk_GENERAL_SUBTREE_num(l[j]); i++) {
			st = sk_GENERAL_SUBTREE_value(l[j], i);
			if (st->base->type != gtype)
				continue;
			if (!ca_nc_minmax(st))
				return ca_fail(err, CA_ERR_POLICY, "%s name "
				    "constraints have a minimum or maximum, "
				    "which verifiers refuse", cc->who);
			b = (const ASN1_STRING *)st->base->d.ptr;
			ca_nc_text(gtype, ASN1_STRING_get0_data(b),
			    (size_t)ASN1_STRING_length(b), base,
			    sizeof(base));
			if (j == 0) {
				have = 1;
				if (ok)
					continue;
			}
			r = ca_nc_within(ca_nc_t(gtype), v, len,
			    ASN1_STRING_get0_data(b),
			    (size_t)ASN1_STRING_length(b));
			if (r < 0)
				return ca_fail(err, CA_ERR_POLICY, "%s %s "
				    "cannot be checked against %s %s name "
				    "constraints (verifiers refuse it)", what,
				    name, cc->who, ca_nc_type_txt(gtype));
			if (j == 1 && r == 1)
				return ca_fail(err, CA_ERR_POLICY, "%s %s "
				    "violates %s excluded subtree %s", what,
				    name, cc->who, base);
			if (j == 0 && r == 1)
				ok = 1;
			else if (j == 0 && o + 4 < sizeof(list))
				o += (size_t)snprintf(list + o,
				    sizeof(list) - o, "%s%s", o ? ", " : "",
				    base);
		}
		if (j == 0 && have && !ok)
			return ca_fail(err, CA_ERR_POLICY, "%s %s is outside %s "
			    "permitted %s subtrees (%s)", what, name, cc->who,
			    ca_nc_type_txt(gtype), list);
	}
	return CA_OK;
}

int
ca_chain_check_names(const struct ca_issuer *iss, const struct ca_csr *csr,
    struct ca_err *err)
{
	static const int gt[] = { GEN_DNS, GEN_IPADD, GEN_URI };
	static const char *const what[] = { "name", "IP address", "URI" };
	const struct ca_chain *ch = iss->rules;
	const struct ca_name *n;
	size_t k, i;
	int rc, dns = 0;

	if (ch == NULL || ch->nnc == 0)
		return CA_OK;
	for (i = 0; i < csr->nnames; i++)
		dns |= csr->names[i].type == CA_NAME_DNS;
	for (k = 0; k < ch->n; k++) {
		if (ch->c[k].nc == NULL)
			continue;
		for (i = 0; i < csr->nnames; i++) {
			n = &csr->names[i];
			if ((rc = ca_nc_name(&ch->c[k], gt[n->type], n->val,
			    n->len, what[n->type], err)) != CA_OK)
				return rc;
		}
		/* Verifiers read a host-like CN as a DNS name without one. */
		if (!dns && csr->cn != NULL &&
		    ca_cn_is_dnsid(csr->cn, csr->cn_len) &&
		    (rc = ca_nc_name(&ch->c[k], GEN_DNS, csr->cn, csr->cn_len,
		    "commonName (a DNS name to verifiers when there is no "
		    "DNS SAN)", err)) != CA_OK)
			return rc;
	}
	return CA_OK;
}

/* What a profile's certificates need of the chain, whatever is asked. */
int
ca_chain_check_profile(const struct ca_profile *p, struct ca_err *err)
{
	const struct ca_chain *ch = p->issuer->rules;
	unsigned miss;
	size_t k, i, o;
	char have[96];

	if (ch == NULL)
		return CA_OK;
	if (ch->broken[0] != '\0')
		return ca_fail(err, CA_ERR_POLICY, "issuer %s cannot issue "
		    "certificates a verifier accepts: %s", p->issuer->name,
		    ch->broken);
	for (k = 0; k < ch->n; k++) {
		if (!ch->c[k].has_eku)
			continue;
		if ((miss = p->ext_key_usage & ~ch->c[k].eku) == 0)
			continue;
		for (i = 0, o = 0, have[0] = '\0'; i < 6; i++)
			if ((ch->c[k].eku & (1u << i)) && o < sizeof(have))
				o += (size_t)snprintf(have + o,
				    sizeof(have) - o, "%s%s", o ? ", " : "",
				    ca_eku_txt[i]);
		for (i = 0; !(miss & (1u << i)); i++)
			;
		return ca_fail(err, CA_ERR_POLICY, "extKeyUsage %s of profile "
		    "%s is outside %s extKeyUsage (%s)", ca_eku_txt[i],
		    p->name, ch->c[k].who, o ? have : "none we issue");
	}
	return CA_OK;
}

/* Every name below d (not d itself) is within base b. */
static int
ca_nc_covers_below(const char *d, const ASN1_STRING *b)
{
	const uint8_t *bp = ASN1_STRING_get0_data(b);
	size_t dl = strlen(d), bl = (size_t)ASN1_STRING_length(b);

	if (ca_nc_within(CA_NC_DNS, (const uint8_t *)d, dl, bp, bl) == 1)
		return 1;
	return bl > 0 && bp[0] == '.' && dl == bl - 1 &&
	    ca_nc_within(CA_NC_DNS, (const uint8_t *)d, dl, bp + 1, dl) == 1;
}

/* Some name below d is within base b. */
static int
ca_nc_meets_below(const char *d, const ASN1_STRING *b)
{
	const uint8_t *bp = ASN1_STRING_get0_data(b);
	size_t dl = strlen(d), bl = (size_t)ASN1_STRING_length(b);

	if (ca_nc_covers_below(d, b))
		return 1;
	if (bl > 0 && bp[0] == '.')
		bp++, bl--;
	/* The base is itself below d: that name, or one below it. */
	return bl > dl && ca_nc_within(CA_NC_DNS, bp, bl,
	    (const uint8_t *)d, dl) == 1;
}

/* Whether some subdomain of d passes one certificate's DNS subtrees. */
static int
ca_nc_below_ok(const struct ca_chain_cert *cc, const char *d, char *why,
    size_t size)
{
	const GENERAL_SUBTREE *st;
	char base[CA_MAX_ERRMSG];
	int i, have = 0, ok = 0;

	for (i = 0; i < sk_GENERAL_SUBTREE_num(cc->nc->excludedSubtrees);
	    i++) {
		st = sk_GENERAL_SUBTREE_value(cc->nc->excludedSubtrees, i);
		if (st->base->type != GEN_DNS ||
		    !ca_nc_covers_below(d, st->base->d.dNSName))
			continue;
		ca_nc_text(GEN_DNS, st->base->d.dNSName->data,
		    (size_t)st->base->d.dNSName->length, base, sizeof(base));
		/* A long name shortens the message, never overflows it. */
		if (snprintf(why, size, "names below %s are in %s excluded "
		    "subtree %s", d, cc->who, base) < 0)
			why[0] = '\0';
		return 0;
	}
	for (i = 0; i < sk_GENERAL_SUBTREE_num(cc->nc->permittedSubtrees);
	    i++) {
		st = sk_GENERAL_SUBTREE_value(cc->nc->permittedSubtrees, i);
		if (st->base->type != GEN_DNS)
			continue;
		have = 1;
		ok |= ca_nc_meets_below(d, st->base->d.dNSName);
	}
	if (have && !ok)
		snprintf(why, size, "names below %s are outside %s permitted "
		    "DNS subtrees", d, cc->who);
	return !have || ok;
}

/*
 * At load: can profile p issue any name under its domain i at all?  A
 * domain with a glob is not judged.  CA_OK, or CA_ERR_POLICY saying why
 * every name it allows would be refused.
 */
int
ca_chain_check_domain(const struct ca_profile *p, size_t i,
    struct ca_err *err)
{
	const struct ca_chain *ch = p->issuer->rules;
	const char *d = p->domains[i];
	struct ca_err e1;
	char why[CA_MAX_ERRMSG] = "";
	size_t k;
	int bare = 1, below = 1;

	if (ch == NULL || ch->nnc == 0 || strchr(d, '*') != NULL)
		return CA_OK;
	for (k = 0; k < ch->n; k++) {
		if (ch->c[k].nc == NULL)
			continue;
		if (bare && ca_nc_name(&ch->c[k], GEN_DNS, (const uint8_t *)d,
		    strlen(d), "name", &e1) != CA_OK)
			bare = 0;
		if (below && !ca_nc_below_ok(&ch->c[k], d, why, sizeof(why)))
			below = 0;
	}
	if ((p->flags & CA_P_BARE_DOMAINS) && bare)
		return CA_OK;
	if ((p->flags & CA_P_SUBDOMAINS) && below)
		return CA_OK;
	return ca_fail(err, CA_ERR_POLICY, "profile %s domain %s: %s",
	    p->name, d, (p->flags & CA_P_BARE_DOMAINS) && !bare ? e1.msg :
	    why[0] != '\0' ? why : "no name it allows is within the issuer's "
	    "name constraints");
}

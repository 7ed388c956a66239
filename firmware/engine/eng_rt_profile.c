/*
 * The configuration's profiles in firmware/ca terms.  Every name the
 * configuration uses (key types, key usages, extended key usages) is
 * looked up in a table; an unknown one is refused with a message that
 * names the tenant and the profile, so a typo never silently widens or
 * narrows a policy.
 */
#include <stdio.h>
#include <string.h>

#include "eng_engine_local.h"
#include "eng_rt_local.h"

static const struct {
	const char	*name;
	unsigned	 bit;
	unsigned	 rsa;		/* CA_RSA_*: one exact size */
} eng_key_names[] = {
	{ "p256", CA_KEY_P256, 0 },
	{ "p384", CA_KEY_P384, 0 },
	{ "p521", CA_KEY_P521, 0 },
	{ "ed25519", CA_KEY_ED25519, 0 },
	{ "rsa2048", CA_KEY_RSA, CA_RSA_2048 },
	{ "rsa3072", CA_KEY_RSA, CA_RSA_3072 },
	{ "rsa4096", CA_KEY_RSA, CA_RSA_4096 },
};

static const struct {
	const char	*name;
	unsigned	 bit;
} eng_ku_names[] = {
	{ "digitalSignature", CA_KU_DIGITAL_SIGNATURE },
	{ "nonRepudiation", CA_KU_NON_REPUDIATION },
	{ "keyEncipherment", CA_KU_KEY_ENCIPHERMENT },
	{ "dataEncipherment", CA_KU_DATA_ENCIPHERMENT },
	{ "keyAgreement", CA_KU_KEY_AGREEMENT },
}, eng_eku_names[] = {
	{ "serverAuth", CA_EKU_SERVER_AUTH },
	{ "clientAuth", CA_EKU_CLIENT_AUTH },
	{ "codeSigning", CA_EKU_CODE_SIGNING },
	{ "emailProtection", CA_EKU_EMAIL },
	{ "timeStamping", CA_EKU_TIME_STAMPING },
	{ "OCSPSigning", CA_EKU_OCSP_SIGNING },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
eng_rt_keys(const struct sconf_profile *sp, struct ca_profile *p,
    const char *where, char *err, size_t errlen)
{
	size_t i, k;

	p->key_types = 0;
	p->rsa_sizes = 0;
	for (i = 0; i < sp->key_types.n; i++) {
		for (k = 0; k < NELEM(eng_key_names); k++)
			if (strcmp(sp->key_types.v[i], eng_key_names[k].name) ==
			    0)
				break;
		if (k == NELEM(eng_key_names)) {
			eng_fmt(err, errlen, "%s: unknown key type \"%s\"",
			    where, sp->key_types.v[i]);
			return -1;
		}
		p->key_types |= eng_key_names[k].bit;
		p->rsa_sizes |= eng_key_names[k].rsa;
	}
	if (p->key_types == 0) {
		eng_fmt(err, errlen, "%s: no key types", where);
		return -1;
	}
	return 0;
}

static int
eng_rt_usages(const struct sconf_profile *sp, struct ca_profile *p,
    const char *where, char *err, size_t errlen)
{
	size_t i, k;

	p->key_usage = 0;
	for (i = 0; i < sp->key_usage.n; i++) {
		for (k = 0; k < NELEM(eng_ku_names); k++)
			if (strcmp(sp->key_usage.v[i], eng_ku_names[k].name) ==
			    0)
				break;
		if (k == NELEM(eng_ku_names)) {
			eng_fmt(err, errlen, "%s: unknown key usage \"%s\"",
			    where, sp->key_usage.v[i]);
			return -1;
		}
		p->key_usage |= eng_ku_names[k].bit;
	}
	p->ext_key_usage = 0;
	for (i = 0; i < sp->ext_key_usage.n; i++) {
		for (k = 0; k < NELEM(eng_eku_names); k++)
			if (strcmp(sp->ext_key_usage.v[i],
			    eng_eku_names[k].name) == 0)
				break;
		if (k == NELEM(eng_eku_names)) {
			eng_fmt(err, errlen, "%s: unknown extended key usage"
			    " \"%s\"", where, sp->ext_key_usage.v[i]);
			return -1;
		}
		p->ext_key_usage |= eng_eku_names[k].bit;
	}
	/* RFC 5280 4.2.1.3: a leaf must be usable for something. */
	if (p->key_usage == 0) {
		eng_fmt(err, errlen, "%s: no key usage", where);
		return -1;
	}
	return 0;
}

static unsigned
eng_rt_flags(const struct sconf_profile *sp)
{
	unsigned f = 0;

	f |= sp->allow_bare ? CA_P_BARE_DOMAINS : 0;
	f |= sp->allow_subdomains ? CA_P_SUBDOMAINS : 0;
	f |= sp->allow_glob ? CA_P_GLOB_DOMAINS : 0;
	f |= sp->allow_wildcard ? CA_P_WILDCARDS : 0;
	f |= sp->allow_localhost ? CA_P_LOCALHOST : 0;
	f |= sp->allow_ip ? CA_P_IP_SANS : 0;
	f |= sp->enforce_hostnames ? CA_P_ENFORCE_HOSTNAMES : 0;
	f |= sp->store ? CA_P_STORE : 0;
	return f;
}

/* Lists and subject attributes; the first bad value is named. */
static int
eng_rt_lists(const struct sconf_profile *sp, struct ca_profile *p,
    const char *where, char *err, size_t errlen)
{
	const char *subj[CA_ATTR_MAX] = {
		[CA_ATTR_C] = sp->subject_c,
		[CA_ATTR_ST] = sp->subject_st,
		[CA_ATTR_L] = sp->subject_l,
		[CA_ATTR_O] = sp->subject_o,
		[CA_ATTR_OU] = sp->subject_ou,
	};
	const char *what = NULL, *val = NULL;
	size_t i;

	for (i = 0; what == NULL && i < sp->domains.n; i++)
		if (ca_profile_add_domain(p, sp->domains.v[i]) != CA_OK)
			what = "domain", val = sp->domains.v[i];
	for (i = 0; what == NULL && i < sp->cidrs.n; i++)
		if (ca_profile_add_cidr(p, sp->cidrs.v[i]) != CA_OK)
			what = "CIDR", val = sp->cidrs.v[i];
	for (i = 0; what == NULL && i < sp->uri_patterns.n; i++)
		if (ca_profile_add_uri_pattern(p, sp->uri_patterns.v[i]) !=
		    CA_OK)
			what = "URI pattern", val = sp->uri_patterns.v[i];
	for (i = 0; what == NULL && i < sp->roles.n; i++)
		if (ca_profile_add_role(p, sp->roles.v[i]) != CA_OK)
			what = "role", val = sp->roles.v[i];
	for (i = 0; what == NULL && i < CA_ATTR_MAX; i++)
		if (subj[i] != NULL && ca_profile_set_subject(p,
		    (enum ca_attr)i, subj[i]) != CA_OK)
			what = "subject attribute", val = subj[i];
	if (what != NULL) {
		eng_fmt(err, errlen, "%s: bad %s \"%s\"", where, what, val);
		return -1;
	}
	return 0;
}

int
eng_rt_profile(const struct sconf_tenant *st, const struct sconf_profile *sp,
    const struct ca_issuer *iss, struct ca_profile *p, char *err,
    size_t errlen)
{
	char where[2 * CA_MAX_ID + 32];

	snprintf(where, sizeof(where), "tenant %s profile %s", st->name,
	    sp->name);
	if (ca_profile_init(p, sp->name, iss) != CA_OK) {
		eng_fmt(err, errlen, "%s: bad profile name", where);
		return -1;
	}
	p->flags = eng_rt_flags(sp);
	if (eng_rt_keys(sp, p, where, err, errlen) != 0 ||
	    eng_rt_usages(sp, p, where, err, errlen) != 0 ||
	    eng_rt_lists(sp, p, where, err, errlen) != 0)
		return -1;
	if (ca_profile_set_ttl(p, sp->ttl, sp->max_ttl) != CA_OK) {
		eng_fmt(err, errlen, "%s: ttl %lld and max_ttl %lld refused "
		    "(need 0 < ttl <= max_ttl)", where, (long long)sp->ttl,
		    (long long)sp->max_ttl);
		return -1;
	}
	p->on_issuer_expiry = sp->truncate_at_issuer_expiry ?
	    CA_EXPIRY_TRUNCATE : CA_EXPIRY_REFUSE;
	return 0;
}

/*
 * Issue 13: a profile whose certificates the issuer's chain forbids (an
 * extKeyUsage the intermediate does not list, a chain no verifier
 * accepts, a domain wholly outside its name constraints) is logged at
 * load; its requests are refused with 403 naming the constraint.
 */
void
eng_rt_profile_warn(const struct sconf_tenant *st, const struct ca_profile *p)
{
	struct ca_err cerr;
	size_t i;

	if (ca_chain_check_profile(p, &cerr) != CA_OK)
		log_warnx("msg=\"profile cannot issue under its issuer's "
		    "constraints\" tenant=%s profile=%s error=\"%s\"",
		    st->name, p->name, cerr.msg);
	for (i = 0; i < p->ndomains; i++)
		if (ca_chain_check_domain(p, i, &cerr) != CA_OK)
			log_warnx("msg=\"profile domain is outside its "
			    "issuer's name constraints\" tenant=%s profile=%s "
			    "error=\"%s\"", st->name, p->name, cerr.msg);
}

/*
 * The ceremony file: a reviewed, declarative description of what a
 * ceremony does, parsed with libconfuse like signetd.conf.  Unknown keys
 * and malformed values are errors naming the file and line.  It holds no
 * credential: PINs exist only as shares, entered at the ceremony.
 * Relative paths are taken from the ceremony file's own directory, so a
 * run does not depend on the directory it was started in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <confuse.h>

#include <signet/hsm.h>
#include <signet/sconf.h>
#include <signet/sconf_cfg.h>

#include "cer.h"

/* The ceremony's durations: validities, at least one second. */
static const struct sconf_unit units[] = {
	{ 'h', 3600 }, { 'd', 86400 }, { 'y', 365 * 86400LL }, { '\0', 0 }
};
static const struct sconf_durfmt durations = { units, 1, 0,
	"3650d, 10y, 720h" };

int64_t
cer_duration(const char *s)
{
	return sconf_cfg_duration(s, &durations);
}

static int
check_duration(cfg_t *cfg, cfg_opt_t *opt)
{
	return sconf_cfg_check_duration(cfg, opt, &durations);
}

static int
check_key(cfg_t *cfg, cfg_opt_t *opt)
{
	const char *v = cfg_opt_getnstr(opt, 0);
	enum hsm_key_type t = hsm_key_type_from_name(v);

	/* Ed25519 cannot sign through OpenSSL 3's X509_sign from a token. */
	if (t == HSM_KEY_NONE || t == HSM_KEY_AES_256 || t == HSM_KEY_ED25519 ||
	    t == HSM_KEY_HMAC_SHA256) {
		cfg_error(cfg, "%s: \"%s\" is not one of p256, p384, rsa2048, "
		    "rsa3072, rsa4096", opt->name, v);
		return -1;
	}
	return 0;
}

static int
check_pathlen(cfg_t *cfg, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v < 0 || v > 8) {
		cfg_error(cfg, "%s: %ld is not a path length (0..8)", opt->name,
		    v);
		return -1;
	}
	return 0;
}

#define SUBJECT_OPTS \
	CFG_STR("CN", NULL, CFGF_NODEFAULT), \
	CFG_STR("O", NULL, CFGF_NODEFAULT), \
	CFG_STR("OU", NULL, CFGF_NODEFAULT), \
	CFG_STR("C", NULL, CFGF_NODEFAULT), \
	CFG_STR("ST", NULL, CFGF_NODEFAULT), \
	CFG_STR("L", NULL, CFGF_NODEFAULT), \
	CFG_END()

static cfg_opt_t root_subject_opts[] = { SUBJECT_OPTS };
static cfg_opt_t int_subject_opts[] = { SUBJECT_OPTS };

static cfg_opt_t token_opts[] = {
	CFG_STR("module", "/usr/lib/softhsm/libsofthsm2.so", CFGF_NONE),
	CFG_STR("label", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_STR("key", "p256", CFGF_NONE),
	CFG_STR("key_label", "signet-root", CFGF_NONE),
	CFG_STR("validity", "3650d", CFGF_NONE),
	CFG_STR("cert", NULL, CFGF_NODEFAULT),
	CFG_SEC("subject", root_subject_opts, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t custody_opts[] = {
	CFG_STR_LIST("custodians", NULL, CFGF_NODEFAULT),
	CFG_STR("shares_dir", NULL, CFGF_NODEFAULT),
	CFG_BOOL("qr", cfg_false, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t int_opts[] = {
	CFG_STR("csr", NULL, CFGF_NODEFAULT),
	CFG_STR("cert", NULL, CFGF_NODEFAULT),
	CFG_STR("validity", "1825d", CFGF_NONE),
	CFG_INT("path_length", 0, CFGF_NONE),
	CFG_STR_LIST("permitted_dns", "{}", CFGF_NONE),
	CFG_STR_LIST("excluded_dns", "{}", CFGF_NONE),
	CFG_SEC("subject", int_subject_opts, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t crl_opts[] = {
	CFG_STR("file", NULL, CFGF_NODEFAULT),
	CFG_STR("next_update", "30d", CFGF_NONE),
	CFG_STR("url", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t backup_opts[] = {
	CFG_STR("blob", NULL, CFGF_NODEFAULT),
	CFG_STR("kek_label", "signet-backup-kek", CFGF_NONE),
	CFG_END()
};

static cfg_opt_t top_opts[] = {
	CFG_STR("state", NULL, CFGF_NODEFAULT),
	CFG_STR("transcript", NULL, CFGF_NODEFAULT),
	CFG_SEC("token", token_opts, CFGF_NONE),
	CFG_SEC("root", root_opts, CFGF_NONE),
	CFG_SEC("custody", custody_opts, CFGF_NONE),
	CFG_SEC("intermediate", int_opts, CFGF_NONE),
	CFG_SEC("crl", crl_opts, CFGF_NONE),
	CFG_SEC("backup", backup_opts, CFGF_NONE),
	CFG_END()
};

/* A path from the file, made relative to the file's directory. */
static char *
conf_path(const char *dir, const char *v)
{
	char *p;
	size_t n;

	if (v == NULL)
		return NULL;
	if (v[0] == '/' || dir == NULL)
		return strdup(v);
	n = strlen(dir) + strlen(v) + 2;
	if ((p = malloc(n)) != NULL)
		snprintf(p, n, "%s/%s", dir, v);
	return p;
}

static char *
dupstr(const char *v)
{
	return v != NULL ? strdup(v) : NULL;
}

static void
subject_get(cfg_t *sec, struct cer_subject *s)
{
	s->cn = dupstr(cfg_getstr(sec, "CN"));
	s->o = dupstr(cfg_getstr(sec, "O"));
	s->ou = dupstr(cfg_getstr(sec, "OU"));
	s->c = dupstr(cfg_getstr(sec, "C"));
	s->st = dupstr(cfg_getstr(sec, "ST"));
	s->l = dupstr(cfg_getstr(sec, "L"));
}

static int
list_get(cfg_t *sec, const char *name, char **v, size_t *n, size_t max)
{
	unsigned i, k = cfg_size(sec, name);

	if (k > max)
		return -1;
	for (i = 0; i < k; i++)
		v[i] = dupstr(cfg_getnstr(sec, name, i));
	*n = k;
	return 0;
}

static int
conf_convert(cfg_t *cfg, const char *dir, struct cer_conf *c, char *err,
    size_t errlen)
{
	cfg_t *tok = cfg_getsec(cfg, "token"), *root = cfg_getsec(cfg, "root");
	cfg_t *cus = cfg_getsec(cfg, "custody");
	cfg_t *in = cfg_getsec(cfg, "intermediate");
	cfg_t *crl = cfg_getsec(cfg, "crl"), *bk = cfg_getsec(cfg, "backup");
	size_t i;

	c->module = dupstr(cfg_getstr(tok, "module"));
	c->token_label = dupstr(cfg_getstr(tok, "label"));
	c->key_type = dupstr(cfg_getstr(root, "key"));
	c->key_label = dupstr(cfg_getstr(root, "key_label"));
	c->root_validity = cer_duration(cfg_getstr(root, "validity"));
	c->root_cert = conf_path(dir, cfg_getstr(root, "cert"));
	subject_get(cfg_getsec(root, "subject"), &c->root_subject);
	if (cfg_size(cus, "custodians") != CER_CUSTODIANS) {
		snprintf(err, errlen, "%s: custody: custodians must name "
		    "exactly %d people", c->path, CER_CUSTODIANS);
		return -1;
	}
	for (i = 0; i < CER_CUSTODIANS; i++)
		c->custodians[i] = dupstr(cfg_getnstr(cus, "custodians",
		    (unsigned)i));
	c->shares_dir = conf_path(dir, cfg_getstr(cus, "shares_dir"));
	c->qr = cfg_getbool(cus, "qr") ? 1 : 0;
	c->csr = conf_path(dir, cfg_getstr(in, "csr"));
	c->int_cert = conf_path(dir, cfg_getstr(in, "cert"));
	c->int_validity = cer_duration(cfg_getstr(in, "validity"));
	c->path_length = cfg_getint(in, "path_length");
	subject_get(cfg_getsec(in, "subject"), &c->int_subject);
	if (list_get(in, "permitted_dns", c->permitted, &c->npermitted,
	    CER_MAX_NC) != 0 || list_get(in, "excluded_dns", c->excluded,
	    &c->nexcluded, CER_MAX_NC) != 0) {
		snprintf(err, errlen, "%s: intermediate: more than %d name "
		    "constraints", c->path, CER_MAX_NC);
		return -1;
	}
	c->crl_file = conf_path(dir, cfg_getstr(crl, "file"));
	c->crl_url = dupstr(cfg_getstr(crl, "url"));
	c->crl_next_update = cer_duration(cfg_getstr(crl, "next_update"));
	c->blob = conf_path(dir, cfg_getstr(bk, "blob"));
	c->kek_label = dupstr(cfg_getstr(bk, "kek_label"));
	c->state = conf_path(dir, cfg_getstr(cfg, "state"));
	c->transcript = conf_path(dir, cfg_getstr(cfg, "transcript"));
	return 0;
}

/* What every verb needs; verbs check the parts only they use. */
static int
conf_check(const struct cer_conf *c, char *err, size_t errlen)
{
	const char *missing = NULL;

	if (c->token_label == NULL)
		missing = "token { label }";
	else if (c->root_cert == NULL)
		missing = "root { cert }";
	else if (c->root_subject.cn == NULL)
		missing = "root { subject { CN } }";
	else if (c->shares_dir == NULL)
		missing = "custody { shares_dir }";
	else if (c->state == NULL)
		missing = "state";
	else if (c->transcript == NULL)
		missing = "transcript";
	if (missing != NULL) {
		snprintf(err, errlen, "%s: %s is missing", c->path, missing);
		return -1;
	}
	return 0;
}

static const struct sconf_cfg_validator validators[] = {
	{ "root|key", check_key },
	{ "root|validity", check_duration },
	{ "intermediate|validity", check_duration },
	{ "intermediate|path_length", check_pathlen },
	{ "crl|next_update", check_duration },
};

int
cer_conf_load(const char *path, struct cer_conf **out, char *err,
    size_t errlen)
{
	struct sconf_cfg_load lc = { err, errlen, 0, path };
	struct cer_conf *c = NULL;
	cfg_t *cfg = NULL;
	uint8_t *text = NULL;
	char *dir = NULL, *slash;
	size_t len;
	int rc = CER_ERR;

	err[0] = '\0';
	if (cer_read_file(path, &text, &len) != CER_OK) {
		snprintf(err, errlen, "%s: cannot read", path);
		goto out;
	}
	if ((cfg = cfg_init(top_opts, CFGF_NONE)) == NULL)
		goto out;
	sconf_cfg_begin(cfg, &lc);
	sconf_cfg_validators(cfg, validators,
	    sizeof(validators) / sizeof(validators[0]));
	sconf_blank_comments((char *)text);
	rc = CER_FAIL;
	if (cfg_parse_buf(cfg, (char *)text) != CFG_SUCCESS) {
		if (!lc.have)
			snprintf(err, errlen, "%s: parse error", path);
		goto out;
	}
	rc = CER_ERR;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL || (dir = strdup(path)) == NULL)
		goto out;
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	rc = CER_FAIL;
	if (conf_convert(cfg, slash != NULL ? dir : NULL, c, err, errlen) != 0 ||
	    conf_check(c, err, errlen) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = CER_OK;
out:
	if (rc == CER_ERR && err[0] == '\0')
		snprintf(err, errlen, "%s: out of memory", path);
	sconf_cfg_end();
	free(text);
	free(dir);
	cer_conf_free(c);
	if (cfg != NULL)
		cfg_free(cfg);
	return rc;
}

static void
subject_free(struct cer_subject *s)
{
	free(s->cn);
	free(s->o);
	free(s->ou);
	free(s->c);
	free(s->st);
	free(s->l);
}

void
cer_conf_free(struct cer_conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->module);
	free(c->token_label);
	free(c->key_type);
	free(c->key_label);
	subject_free(&c->root_subject);
	free(c->root_cert);
	for (i = 0; i < CER_CUSTODIANS; i++)
		free(c->custodians[i]);
	free(c->shares_dir);
	free(c->csr);
	free(c->int_cert);
	subject_free(&c->int_subject);
	for (i = 0; i < c->npermitted; i++)
		free(c->permitted[i]);
	for (i = 0; i < c->nexcluded; i++)
		free(c->excluded[i]);
	free(c->crl_file);
	free(c->crl_url);
	free(c->blob);
	free(c->kek_label);
	free(c->state);
	free(c->transcript);
	free(c);
}

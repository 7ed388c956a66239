/*
 * `signet-provision config`: a commented signetd.conf for what the other
 * verbs installed under the data directory, so that an operator under a
 * ceremony root does not write one by hand (issue 18).
 *
 * It reads, never writes, the data directory:
 *   ca/intermediate.pem + ca/root.pem             tenant "default", issuer
 *                                                 "intermediate" (install
 *                                                 without -T/-n)
 *   ca/<tenant>/<name>.pem + <name>.chain.pem     one issuer each
 *   tls/server.pem, tls/server.key                the server identity (tls)
 *   ca/operators.pem, operator/<name>.pem         operator CA and operators
 * Each issuer's key label is found in the token by its public key, so a
 * certificate whose key is not in the token is refused here, not at
 * signetd's start.  Each tenant gets one example profile "service" on its
 * first issuer, whose domains are the issuer's permitted DNS subtrees
 * (example.internal when it has none): edit before production.  The
 * audit checkpoint key "signet-audit" is made in the token when missing.
 *
 * The file is written once (0644: it holds paths, never a PIN), atomically,
 * and never over an existing file; `signetd -n -f FILE` accepts it.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdarg.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <signet/hsm.h>

#include "prov.h"

#define CFG_MAX_ISSUERS	64
#define CFG_AUDIT_LABEL	"signet-audit"

struct cfg_issuer {
	char	tenant[65];
	char	name[65];
	char	cert[PATH_MAX];
	char	chain[PATH_MAX];
	char	label[256];
	char	domains[1024];	/* "a", "b" (the config's list syntax) */
};

/* A path, or exit 2 if it does not fit. */
static void __attribute__((format(printf, 3, 4)))
cfg_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		errx(2, "a path under the data directory is too long");
}

static X509 *
cfg_read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

static int
cfg_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The token key holding x's public key: its label, or exit 1. */
static void
cfg_label_of(struct hsm *h, X509 *x, const char *path, char *out,
    size_t size)
{
	struct hsm_key_info *v = NULL;
	struct hsm_key *k;
	size_t n, i;
	int rc, found = 0;

	if ((rc = hsm_key_list(h, &v, &n)) != HSM_OK)
		errx(2, "listing the token's keys: %s", hsm_strerror(rc));
	for (i = 0; i < n && !found; i++) {
		if (v[i].label[0] == '\0' || hsm_key_find(h, v[i].label, NULL,
		    0, &k) != HSM_OK)
			continue;
		if (hsm_key_public(k) != NULL &&
		    EVP_PKEY_eq(hsm_key_public(k), X509_get0_pubkey(x)) == 1) {
			snprintf(out, size, "%s", v[i].label);
			found = 1;
		}
		hsm_key_free(k);
	}
	free(v);
	if (!found)
		errx(1, "%s: its key is not in the token (install it with "
		    "signet-provision install first)", path);
}

/* The permitted DNS subtrees of x's name constraints, as a list. */
static void
cfg_domains(X509 *x, char *out, size_t size)
{
	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(x, NID_name_constraints,
	    NULL, NULL);
	size_t n = 0;
	int i;

	out[0] = '\0';
	for (i = 0; nc != NULL && i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees);
	    i++) {
		GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(
		    nc->permittedSubtrees, i);
		const unsigned char *d;
		int len, j, ok = 1;

		if (st->base->type != GEN_DNS)
			continue;
		d = ASN1_STRING_get0_data(st->base->d.dNSName);
		len = ASN1_STRING_length(st->base->d.dNSName);
		if (len > 0 && d[0] == '.') {
			d++;
			len--;
		}
		for (j = 0; j < len; j++)
			if (!((d[j] >= 'a' && d[j] <= 'z') ||
			    (d[j] >= '0' && d[j] <= '9') || d[j] == '-' ||
			    d[j] == '.'))
				ok = 0;
		if (!ok || len == 0 || n + (size_t)len + 6 >= size)
			continue;
		n += (size_t)snprintf(out + n, size - n, "%s\"%.*s\"",
		    n > 0 ? ", " : "", len, d);
	}
	NAME_CONSTRAINTS_free(nc);
	if (n == 0)
		snprintf(out, size, "\"example.internal\"");
}

static int
cfg_add(struct hsm *h, struct cfg_issuer *v, size_t *n, const char *tenant,
    const char *name, const char *cert, const char *chain)
{
	struct cfg_issuer *is;
	X509 *x;

	if (!cfg_exists(cert))
		return 0;
	if (!cfg_exists(chain))
		errx(1, "%s has no chain file %s (signet-provision install "
		    "writes both)", cert, chain);
	if (*n >= CFG_MAX_ISSUERS)
		errx(1, "more than %d installed issuers", CFG_MAX_ISSUERS);
	if ((x = cfg_read_cert(cert)) == NULL)
		errx(1, "%s: not a PEM certificate", cert);
	is = &v[(*n)++];
	memset(is, 0, sizeof(*is));
	snprintf(is->tenant, sizeof(is->tenant), "%s", tenant);
	snprintf(is->name, sizeof(is->name), "%s", name);
	snprintf(is->cert, sizeof(is->cert), "%s", cert);
	snprintf(is->chain, sizeof(is->chain), "%s", chain);
	cfg_label_of(h, x, cert, is->label, sizeof(is->label));
	cfg_domains(x, is->domains, sizeof(is->domains));
	X509_free(x);
	return 1;
}

static int
cfg_cmp(const void *a, const void *b)
{
	const struct cfg_issuer *x = a, *y = b;
	int c = strcmp(x->tenant, y->tenant);

	return c != 0 ? c : strcmp(x->name, y->name);
}

/* Every installed issuer, sorted by tenant and name. */
static size_t
cfg_issuers(struct hsm *h, const char *data, struct cfg_issuer *v)
{
	char ca[PATH_MAX], dir[PATH_MAX], cert[PATH_MAX], chain[PATH_MAX];
	struct dirent *de, *fe;
	DIR *d, *td;
	size_t n = 0, len;

	cfg_path(ca, sizeof(ca), "%s/ca", data);
	cfg_path(cert, sizeof(cert), "%s/intermediate.pem", ca);
	cfg_path(chain, sizeof(chain), "%s/root.pem", ca);
	(void)cfg_add(h, v, &n, "default", "intermediate", cert, chain);
	if ((d = opendir(ca)) == NULL)
		err(errno == ENOENT ? 1 : 2, "%s (signet-provision install "
		    "makes it)", ca);
	while ((de = readdir(d)) != NULL) {
		if (!prov_name_ok(de->d_name))
			continue;
		cfg_path(dir, sizeof(dir), "%s/%s", ca, de->d_name);
		if ((td = opendir(dir)) == NULL)
			continue;	/* a file, not a tenant */
		while ((fe = readdir(td)) != NULL) {
			len = strlen(fe->d_name);
			if (len <= 4 || strcmp(fe->d_name + len - 4, ".pem") ||
			    (len > 10 && !strcmp(fe->d_name + len - 10,
			    ".chain.pem")))
				continue;
			cfg_path(cert, sizeof(cert), "%s/%s", dir, fe->d_name);
			cfg_path(chain, sizeof(chain), "%s/%.*s.chain.pem",
			    dir, (int)(len - 4), fe->d_name);
			fe->d_name[len - 4] = '\0';
			if (prov_name_ok(fe->d_name))
				(void)cfg_add(h, v, &n, de->d_name,
				    fe->d_name, cert, chain);
		}
		closedir(td);
	}
	closedir(d);
	if (n == 0)
		errx(1, "no installed issuer under %s (signet-provision "
		    "install)", ca);
	qsort(v, n, sizeof(*v), cfg_cmp);
	return n;
}

static void
cfg_audit_key(struct hsm *h)
{
	struct hsm_keygen req = { .type = HSM_KEY_EC_P256,
		.label = CFG_AUDIT_LABEL };
	struct hsm_key *k = NULL;
	int rc;

	if (hsm_key_find(h, CFG_AUDIT_LABEL, NULL, 0, &k) == HSM_OK) {
		hsm_key_free(k);
		return;
	}
	if ((rc = hsm_key_generate(h, &req, &k)) != HSM_OK)
		errx(2, "generating the audit key \"%s\": %s", CFG_AUDIT_LABEL,
		    hsm_strerror(rc));
	hsm_key_free(k);
	printf("generated the audit checkpoint key \"%s\" in the token\n",
	    CFG_AUDIT_LABEL);
}

/* client blocks for data/operator/<name>.pem, trusting ca/operators.pem. */
static void
cfg_operators(FILE *f, const char *data)
{
	char dir[PATH_MAX], capath[PATH_MAX], path[PATH_MAX], cn[256];
	struct dirent *de;
	DIR *d;
	X509 *x;
	size_t len;
	int n = 0;

	cfg_path(capath, sizeof(capath), "%s/ca/operators.pem", data);
	cfg_path(dir, sizeof(dir), "%s/operator", data);
	fprintf(f, "# Operators: client certificates issued by the operator CA "
	    "(signet-provision\n# operator).  Each mapping names the CA it "
	    "trusts.\n");
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			len = strlen(de->d_name);
			if (len <= 4 || strcmp(de->d_name + len - 4, ".pem"))
				continue;
			cfg_path(path, sizeof(path), "%s/%s", dir, de->d_name);
			if ((x = cfg_read_cert(path)) == NULL)
				continue;
			if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
			    NID_commonName, cn, sizeof(cn)) > 0 &&
			    prov_name_ok(cn)) {
				fprintf(f, "client \"%s\" {\n\tcn = \"%s\"\n"
				    "\tissuer_cert = { \"%s\" }\n"
				    "\trole = \"operator\"\n"
				    "\ttenants = { \"*\" }\n}\n\n", cn, cn,
				    capath);
				n++;
			}
			X509_free(x);
		}
		closedir(d);
	}
	if (n == 0)
		fprintf(f, "# (none yet: signet-provision operator -N name "
		    "makes one)\n\n");
}

static void
cfg_write(FILE *f, const char *module, const char *token,
    const char *pin_file, const char *data, const char *base,
    const struct cfg_issuer *v, size_t n)
{
	size_t i, j;

	fprintf(f,
	    "# signetd.conf written by signet-provision config for the issuers "
	    "installed\n# under %s.  Review it before production: every "
	    "profile below is an\n# example.  Durations take s, m, h or d; "
	    "signetd -n -f FILE checks a change.\n\n", data);
	fprintf(f, "data_dir = \"%s\"\nlog = \"stderr\"\n"
	    "log_level = \"info\"\n"
	    "# /metrics over HTTPS to an auditor or operator certificate.\n"
	    "metrics = \"auditor\"\n"
	    "# The appliance runs sandboxed as root (README, \"The sandbox\"); "
	    "a workstation\n# without the users signet, signet-https and "
	    "signet-coap needs false.\nsandbox = false\n\n", data);
	fprintf(f, "# Which tenant/profile /.well-known/est/ (no label) "
	    "enrolls into.\nest_default = \"%s/service\"\n"
	    "token_max_ttl = \"7d\"\n\n", v[0].tenant);
	fprintf(f, "listen {\n\thttps = \"0.0.0.0:8443\"   # mutual TLS: "
	    "EST, /v1 JSON API\n\thttp = \"0.0.0.0:8080\"    # plain HTTP: "
	    "CA certificates, CRLs, OCSP\n\tcoap = \"0.0.0.0:5684\"    # "
	    "DTLS: EST-coaps\n}\n\n");
	fprintf(f, "# The PKCS#11 token holding every CA key; the PIN file is "
	    "its owner's only.\ntoken {\n\tmodule = \"%s\"\n\tlabel = \"%s\"\n"
	    "\tpin_file = \"%s\"\n}\n\n", module, token, pin_file);
	fprintf(f, "storage {\n\tbackend = \"sqlite\"\n"
	    "\tpath = \"%s/ledger.db\"\n\taudit_key = \"%s\"   # in the token, "
	    "signs audit checkpoints\n}\n\n", data, CFG_AUDIT_LABEL);
	fprintf(f, "# The server identity (signet-provision tls) and the CAs "
	    "of client certificates.\ntls {\n\tcert = \"%s/tls/server.pem\"\n"
	    "\tkey = \"%s/tls/server.key\"\n"
	    "\tclient_ca = { \"%s/ca/operators.pem\" }\n}\n\n", data, data,
	    data);
	fprintf(f, "# Written into every certificate: where relying parties "
	    "fetch them.\nurls {\n\tocsp = \"%s/ocsp\"\n"
	    "\tca_issuers = \"%s/ca/%%s.der\"\n\tcrl = \"%s/crl/%%s.crl\"\n}\n\n",
	    base, base, base);
	cfg_operators(f, data);
	for (i = 0; i < n; i = j) {
		fprintf(f, "tenant \"%s\" {\n", v[i].tenant);
		for (j = i; j < n && strcmp(v[j].tenant, v[i].tenant) == 0;
		    j++)
			fprintf(f, "\tissuer \"%s\" {\n\t\tkey = \"%s\"\n"
			    "\t\tcert = \"%s\"\n\t\tchain = \"%s\"\n\t}\n",
			    v[j].name, v[j].label, v[j].cert, v[j].chain);
		fprintf(f, "\t# An example: servers under the issuer's "
		    "permitted names, 25-hour\n\t# certificates.  Requesters "
		    "need an enrollment token (POST /v1/tokens).\n"
		    "\tprofile \"service\" {\n\t\tissuer = \"%s\"\n"
		    "\t\test_label = \"%s-service\"\n"
		    "\t\tdomains = { %s }\n\t\tallow_subdomains = true\n"
		    "\t\tkey_types = { \"p256\", \"p384\", \"rsa2048\" }\n"
		    "\t\tttl = \"25h\"\n\t\tmax_ttl = \"72h\"\n"
		    "\t\tkey_usage = { \"digitalSignature\" }\n"
		    "\t\text_key_usage = { \"serverAuth\", \"clientAuth\" }\n"
		    "\t\tstore = true\n"
		    "\t\troles = { \"requester\", \"agent\", \"operator\" }\n"
		    "\t}\n}\n\n", v[i].name, v[i].tenant, v[i].domains);
	}
}

int
prov_config(struct hsm *h, const char *module, const char *token,
    const char *pin_file, const char *data, const char *base,
    const char *out)
{
	struct cfg_issuer *v;
	char tmp[PATH_MAX + 16], path[PATH_MAX];
	size_t n;
	FILE *f;
	int fd;

	if (access(out, F_OK) == 0)
		errx(1, "%s exists: refusing to overwrite it", out);
	cfg_path(path, sizeof(path), "%s/tls/server.pem", data);
	if (!cfg_exists(path))
		errx(1, "%s missing (signet-provision tls makes it)", path);
	cfg_path(path, sizeof(path), "%s/ca/operators.pem", data);
	if (!cfg_exists(path))
		errx(1, "%s missing (signet-provision operator makes it)", path);
	if ((v = calloc(CFG_MAX_ISSUERS, sizeof(*v))) == NULL)
		err(2, "calloc");
	n = cfg_issuers(h, data, v);
	cfg_audit_key(h);
	cfg_path(tmp, sizeof(tmp), "%s.tmp", out);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) ==
	    -1 || (f = fdopen(fd, "w")) == NULL)
		err(2, "%s", tmp);
	cfg_write(f, module, token, pin_file, data, base, v, n);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
		unlink(tmp);
		err(2, "%s", tmp);
	}
	/* link(2), not rename(2): never over a file made meanwhile. */
	if (link(tmp, out) != 0) {
		unlink(tmp);
		err(errno == EEXIST ? 1 : 2, "%s", out);
	}
	unlink(tmp);
	printf("wrote %s: %zu issuer(s); check it with signetd -n -f %s\n",
	    out, n, out);
	free(v);
	return 0;
}

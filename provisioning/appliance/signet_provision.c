/*
 * signet-provision: gives the appliance its token and keys.
 *
 *   signet-provision init-token -m module -t label -S so-pin-file -p pin-file
 *   signet-provision keygen     -m module -t label -p pin-file -l key-label
 *                               [-k p256|p384|rsa2048|rsa3072|rsa4096|ed25519|
 *                                   hmac-sha256] [-B]
 *   signet-provision show       -m module -t label -p pin-file
 *   signet-provision dev-ca     -m module -t label -p pin-file -d data-dir
 *   signet-provision pubkey     -m module -t label -p pin-file -l key-label
 *   signet-provision csr        -m module -t label -p pin-file -l key-label
 *                               -s /O=Org/CN=Name -o intermediate.csr
 *   signet-provision install    -m module -t label -p pin-file -l key-label
 *                               -c intermediate.pem -r root.pem -d data-dir
 *                               [-T tenant -n issuer-name]
 *   signet-provision tls        -m module -t label -p pin-file -l key-label
 *                               -c issuer.pem -r chain.pem -N name[,name]
 *                               -d data-dir
 *   signet-provision operator   -m module -t label -p pin-file
 *                               -l operator-ca-key-label -N name -d data-dir
 *   signet-provision config     -m module -t label -p pin-file -d data-dir
 *                               -o signetd.conf [-u public-http-url]
 *   signet-provision export-key -m module -t label -p pin-file
 *                               -S so-pin-file -l key-label -c issuer.pem
 *                               -o key.wrapped -K share-dir
 *   signet-provision import-key -m module -t label -p pin-file
 *                               -S so-pin-file -c issuer.pem -i key.wrapped
 *                               -K share-file -K share-file
 *
 * One verb per run.  PINs come from files that only their owner can read
 * (never argv).  Exit 0 ok, 1 refused (e.g. the key exists), 2 operational
 * error.  keygen -B makes a key that may leave the token wrapped under
 * a key the SO marked trusted, for export-key to a cluster node
 * (prov_transfer.c).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <signet/hsm.h>

#include "prov.h"

struct opts {
	const char *module, *token, *pin_file, *so_pin_file, *label, *type;
	const char *data, *subject, *out, *cert, *root, *tenant, *name;
	const char *names, *url, *in;
	const char *kek[PROV_XFER_SHARES];
	size_t nkek;
	int backup;
};

static void __attribute__((noreturn))
usage(const char *missing)
{
	if (missing != NULL)
		fprintf(stderr, "signet-provision: missing %s\n", missing);
	fprintf(stderr,
	    "usage: signet-provision init-token -m module -t token-label "
	    "-S so-pin-file -p pin-file\n"
	    "       signet-provision keygen -m module -t token-label "
	    "-p pin-file -l key-label [-k type] [-B]\n"
	    "       signet-provision show -m module -t token-label "
	    "-p pin-file\n"
	    "       signet-provision dev-ca -m module -t token-label "
	    "-p pin-file -d data-dir\n"
	    "       signet-provision pubkey -m module -t token-label "
	    "-p pin-file -l key-label\n"
	    "       signet-provision csr -m module -t token-label -p pin-file "
	    "-l key-label -s subject -o csr-file\n"
	    "       signet-provision install -m module -t token-label "
	    "-p pin-file -l key-label -c cert -r root -d data-dir\n"
	    "                                [-T tenant -n issuer-name]\n"
	    "       signet-provision tls -m module -t token-label -p pin-file "
	    "-l key-label -c issuer -r chain -N names -d data-dir\n"
	    "       signet-provision operator -m module -t token-label "
	    "-p pin-file -l ca-key-label -N name -d data-dir\n"
	    "       signet-provision config -m module -t token-label "
	    "-p pin-file -d data-dir -o signetd.conf\n"
	    "                               [-u public-http-url]\n"
	    "       signet-provision export-key -m module -t token-label "
	    "-p pin-file -S so-pin-file\n"
	    "                               -l key-label -c issuer -o blob "
	    "-K share-dir\n"
	    "       signet-provision import-key -m module -t token-label "
	    "-p pin-file -S so-pin-file\n"
	    "                               -c issuer -i blob -K share "
	    "-K share\n");
	exit(2);
}

static void
read_pin(const char *path, char *buf, size_t size, size_t *len)
{
	int rc = hsm_pin_from_file(path, buf, size, len);

	if (rc != HSM_OK)
		errx(2, "%s: %s", path, hsm_strerror(rc));
}

static struct hsm *
open_token(const struct opts *o)
{
	struct hsm_config cfg = { .module = o->module, .token_label = o->token,
		.pool_size = 1 };
	char pin[HSM_MAX_PIN];
	size_t len;
	struct hsm *h = NULL;
	int rc;

	read_pin(o->pin_file, pin, sizeof(pin), &len);
	if ((rc = hsm_open(&cfg, pin, len, &h)) != HSM_OK)
		errx(2, "token \"%s\" in %s: %s", o->token, o->module,
		    hsm_strerror(rc));
	return h;
}

static int
cmd_init_token(const struct opts *o)
{
	char so[HSM_MAX_PIN + 1], user[HSM_MAX_PIN + 1];
	size_t sl, ul;
	int rc;

	if (o->so_pin_file == NULL)
		usage("-S so-pin-file");
	read_pin(o->so_pin_file, so, sizeof(so) - 1, &sl);
	read_pin(o->pin_file, user, sizeof(user) - 1, &ul);
	so[sl] = '\0';
	user[ul] = '\0';
	rc = hsm_token_init(o->module, o->token, so, user);
	OPENSSL_cleanse(so, sizeof(so));
	OPENSSL_cleanse(user, sizeof(user));
	if (rc != HSM_OK)
		errx(2, "initialising token \"%s\": %s", o->token,
		    hsm_strerror(rc));
	printf("token \"%s\" initialised\n", o->token);
	return 0;
}

static int
cmd_keygen(const struct opts *o)
{
	struct hsm_keygen req = { 0 };
	struct hsm_key *k = NULL;
	struct hsm *h;
	int rc;

	if (o->label == NULL)
		usage("-l key-label");
	req.label = o->label;
	req.type = hsm_key_type_from_name(o->type ? o->type : "p256");
	if (req.type == HSM_KEY_NONE || req.type == HSM_KEY_AES_256)
		errx(2, "unknown key type \"%s\"", o->type);
	/* Rule 1: wrappable only under a key the SO marked trusted. */
	if (o->backup) {
		if (req.type == HSM_KEY_HMAC_SHA256)
			errx(2, "-B: an HMAC key never leaves the token");
		req.flags = HSM_KEYGEN_BACKUP;
	}
	h = open_token(o);
	rc = hsm_key_generate(h, &req, &k);
	if (rc == HSM_ERR_EXISTS) {
		hsm_close(h);
		errx(1, "key \"%s\" already exists in token \"%s\"", o->label,
		    o->token);
	}
	if (rc != HSM_OK) {
		hsm_close(h);
		errx(2, "generating %s key \"%s\": %s",
		    hsm_key_type_name(req.type), o->label, hsm_strerror(rc));
	}
	printf("generated %s key \"%s\" in token \"%s\"%s\n",
	    hsm_key_type_name(req.type), o->label, o->token, o->backup ?
	    " (extractable only wrapped under a trusted key: export-key)" :
	    "");
	/* A secret (HMAC) key has no public half to show. */
	if (hsm_key_public(k) != NULL)
		PEM_write_PUBKEY(stdout, hsm_key_public(k));
	hsm_key_free(k);
	hsm_close(h);
	return 0;
}

static void
print_id(const uint8_t *id, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		printf("%02x", id[i]);
}

static int
cmd_show(const struct opts *o)
{
	struct hsm_token_info ti;
	struct hsm_key_info *v = NULL;
	struct hsm_status st;
	struct hsm *h = open_token(o);
	size_t n, i;
	int rc;

	if ((rc = hsm_token_info(h, &ti)) != HSM_OK ||
	    (rc = hsm_key_list(h, &v, &n)) != HSM_OK) {
		hsm_close(h);
		errx(2, "reading token \"%s\": %s", o->token, hsm_strerror(rc));
	}
	hsm_status(h, &st);
	printf("token: label=\"%s\" serial=%s manufacturer=\"%s\" model=\"%s\" "
	    "state=%s\n", ti.label, ti.serial, ti.manufacturer, ti.model,
	    hsm_state_name(st.state));
	printf("module: %s\n", o->module);
	printf("keys: %zu\n", n);
	for (i = 0; i < n; i++) {
		printf("  key label=\"%s\" type=%s id=", v[i].label,
		    hsm_key_type_name(v[i].type));
		print_id(v[i].id, v[i].id_len);
		printf(" sensitive=%s extractable=%s never_extractable=%s\n",
		    v[i].sensitive ? "yes" : "no",
		    v[i].extractable ? "yes" : "no",
		    v[i].never_extractable ? "yes" : "no");
	}
	free(v);
	hsm_close(h);
	return 0;
}

/* Prints a token key's public half as PEM (e.g. the audit key for
 * signet-audit verify --pubkey). */
static int
cmd_pubkey(const struct opts *o)
{
	struct hsm_key *k = NULL;
	struct hsm *h;
	int rc;

	if (o->label == NULL)
		usage("-l key-label");
	h = open_token(o);
	if ((rc = hsm_key_find(h, o->label, NULL, 0, &k)) != HSM_OK) {
		hsm_close(h);
		errx(rc == HSM_ERR_NO_KEY ? 1 : 2, "key \"%s\": %s", o->label,
		    hsm_strerror(rc));
	}
	PEM_write_PUBKEY(stdout, hsm_key_public(k));
	hsm_key_free(k);
	hsm_close(h);
	return 0;
}

/* csr and install: the appliance side of the offline root ceremony. */
static int
cmd_ceremony(const char *verb, const struct opts *o)
{
	struct hsm *h;
	int rc;

	if (o->label == NULL)
		usage("-l key-label");
	if (strcmp(verb, "csr") == 0 && (o->subject == NULL || o->out == NULL))
		usage(o->subject == NULL ? "-s subject" : "-o csr-file");
	if (strcmp(verb, "install") == 0 &&
	    (o->cert == NULL || o->root == NULL || o->data == NULL))
		usage(o->cert == NULL ? "-c cert" : o->root == NULL ?
		    "-r root" : "-d data-dir");
	h = open_token(o);
	rc = strcmp(verb, "csr") == 0 ?
	    prov_csr(h, o->label, o->subject, o->out) :
	    prov_install(h, o->label, o->cert, o->root, o->data, o->tenant,
	    o->name);
	hsm_close(h);
	return rc;
}

/* tls and operator: the server identity, the first operator. */
static int
cmd_identity(const char *verb, const struct opts *o)
{
	struct hsm *h;
	int rc, tls = strcmp(verb, "tls") == 0;

	if (o->label == NULL)
		usage("-l key-label");
	if (o->names == NULL || o->data == NULL)
		usage(o->names == NULL ? "-N names" : "-d data-dir");
	if (tls && (o->cert == NULL || o->root == NULL))
		usage(o->cert == NULL ? "-c issuer" : "-r chain");
	h = open_token(o);
	rc = tls ? prov_tls(h, o->label, o->cert, o->root, o->names, o->data) :
	    prov_operator(h, o->label, o->names, o->data);
	hsm_close(h);
	return rc;
}

/* config: a signetd.conf for the installed issuers (prov_config.c). */
static int
cmd_config(const struct opts *o)
{
	char host[256], base[300];
	struct hsm *h;
	int rc;

	if (o->data == NULL || o->out == NULL)
		usage(o->data == NULL ? "-d data-dir" : "-o signetd.conf");
	if (o->url == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(base, sizeof(base), "http://%s:8080", host);
	} else {
		if (strncmp(o->url, "http://", 7) != 0 ||
		    strlen(o->url) >= sizeof(base) ||
		    strpbrk(o->url, "\"\\ \t\n,") != NULL)
			errx(2, "-u %s: an http:// URL (relying parties fetch "
			    "CRLs and OCSP over plain HTTP)", o->url);
		snprintf(base, sizeof(base), "%s", o->url);
		if (base[strlen(base) - 1] == '/')
			base[strlen(base) - 1] = '\0';
	}
	h = open_token(o);
	rc = prov_config(h, o->module, o->token, o->pin_file, o->data, base,
	    o->out);
	hsm_close(h);
	return rc;
}

/* export-key and import-key: an issuer key for another cluster node. */
static int
cmd_transfer(const char *verb, const struct opts *o)
{
	struct prov_xfer x = { .module = o->module, .token = o->token,
		.pin_file = o->pin_file, .so_pin_file = o->so_pin_file,
		.label = o->label, .cert = o->cert };
	size_t i;

	if (o->so_pin_file == NULL)
		usage("-S so-pin-file");
	if (o->cert == NULL)
		usage("-c issuer-cert");
	if (strcmp(verb, "export-key") == 0) {
		if (o->label == NULL || o->out == NULL || o->nkek != 1)
			usage(o->label == NULL ? "-l key-label" :
			    o->out == NULL ? "-o blob" : "-K share-dir");
		x.blob = o->out;
		x.share_dir = o->kek[0];
		return prov_export_key(&x);
	}
	if (o->in == NULL)
		usage("-i blob");
	if (o->nkek < 2)
		usage("-K share-file (twice)");
	x.blob = o->in;
	for (i = 0; i < o->nkek; i++)
		x.shares[i] = o->kek[i];
	x.nshares = o->nkek;
	return prov_import_key(&x);
}

static int
cmd_dev_ca(const struct opts *o)
{
	struct hsm *h;

	if (o->data == NULL)
		usage("-d data-dir");
	h = open_token(o);
	/* Already provisioned is fine: dev-run calls this every time. */
	(void)prov_dev_ca(h, o->data);
	hsm_close(h);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	const char *verb;
	int c;

	if (argc < 2)
		usage(NULL);
	verb = argv[1];
	optind = 2;
	while ((c = getopt(argc, argv, "m:t:p:S:l:k:d:s:o:c:r:T:n:N:u:i:K:B")) != -1) {
		switch (c) {
		case 'm': o.module = optarg; break;
		case 't': o.token = optarg; break;
		case 'p': o.pin_file = optarg; break;
		case 'S': o.so_pin_file = optarg; break;
		case 'l': o.label = optarg; break;
		case 'k': o.type = optarg; break;
		case 'd': o.data = optarg; break;
		case 's': o.subject = optarg; break;
		case 'o': o.out = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'r': o.root = optarg; break;
		case 'T': o.tenant = optarg; break;
		case 'n': o.name = optarg; break;
		case 'N': o.names = optarg; break;
		case 'u': o.url = optarg; break;
		case 'i': o.in = optarg; break;
		case 'B': o.backup = 1; break;
		case 'K':
			if (o.nkek == PROV_XFER_SHARES)
				errx(2, "-K: at most %d", PROV_XFER_SHARES);
			o.kek[o.nkek++] = optarg;
			break;
		default: usage(NULL);
		}
	}
	if (optind != argc)
		usage(NULL);
	if (o.module == NULL)
		usage("-m module");
	if (o.token == NULL)
		usage("-t token-label");
	if (o.pin_file == NULL)
		usage("-p pin-file");
	if (strcmp(verb, "init-token") == 0)
		return cmd_init_token(&o);
	if (strcmp(verb, "keygen") == 0)
		return cmd_keygen(&o);
	if (strcmp(verb, "show") == 0)
		return cmd_show(&o);
	if (strcmp(verb, "dev-ca") == 0)
		return cmd_dev_ca(&o);
	if (strcmp(verb, "pubkey") == 0)
		return cmd_pubkey(&o);
	if (strcmp(verb, "csr") == 0 || strcmp(verb, "install") == 0)
		return cmd_ceremony(verb, &o);
	if (strcmp(verb, "tls") == 0 || strcmp(verb, "operator") == 0)
		return cmd_identity(verb, &o);
	if (strcmp(verb, "config") == 0)
		return cmd_config(&o);
	if (strcmp(verb, "export-key") == 0 ||
	    strcmp(verb, "import-key") == 0)
		return cmd_transfer(verb, &o);
	fprintf(stderr, "signet-provision: unknown verb \"%s\"\n", verb);
	usage(NULL);
}

#include "engine_fx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ca_test.h"
#include "faultvfs.h"
#include "testutil.h"

static char *
xs(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static void
list(struct sconf_list *l, const char *const *v, size_t n)
{
	size_t i;

	l->v = calloc(n + 1, sizeof(char *));
	assert_non_null(l->v);
	for (i = 0; i < n; i++)
		l->v[i] = xs(v[i]);
	l->n = n;
}

static void
data_path(char *buf, size_t size, const char *name)
{
	const char *src = getenv("SIGNET_SOURCE_DIR");

	snprintf(buf, size, "%s/tests/data/ca/%s", src ? src : ".", name);
}

static X509 *
mk_cert(struct efx *f, EVP_PKEY *pub, const char *cn, int ca, long from,
    long to)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = BN_new();

	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(BN_rand(bn, 127, BN_RAND_TOP_ONE,
	    BN_RAND_BOTTOM_ANY), 1);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, X509_get_subject_name(f->root));
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	assert_int_equal(X509_set_pubkey(x, pub), 1);
	if (ca) {
		ca_test_add_ext(x, f->root, NID_basic_constraints,
		    "critical,CA:TRUE,pathlen:0");
		ca_test_add_ext(x, f->root, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
	} else {
		ca_test_add_ext(x, f->root, NID_basic_constraints,
		    "critical,CA:FALSE");
		ca_test_add_ext(x, f->root, NID_ext_key_usage, "clientAuth");
	}
	ca_test_add_ext(x, f->root, NID_subject_key_identifier, "hash");
	ca_test_add_ext(x, f->root, NID_authority_key_identifier, "keyid");
	assert_true(X509_sign(x, f->root_key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

X509 *
efx_client(struct efx *f, const char *cn, long from, long to)
{
	return mk_cert(f, f->leaf_key, cn, 0, from, to);
}

/* An intermediate key in the token and its certificate on disk. */
static void
mk_issuer(struct efx *f, const char *label, const char *path)
{
	struct hsm_keygen kg;
	struct hsm_key *key = NULL;
	X509 *x;
	FILE *fp;

	memset(&kg, 0, sizeof(kg));
	kg.type = HSM_KEY_EC_P256;
	kg.label = label;
	assert_int_equal(hsm_key_generate(f->hsm, &kg, &key), HSM_OK);
	x = mk_cert(f, hsm_key_public(key), label, 1, -3600,
	    5L * 365 * 86400);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(PEM_write_X509(fp, x), 1);
	fclose(fp);
	X509_free(x);
	hsm_key_free(key);
}

static void
mk_profile(struct sconf_profile *p, const char *name, const char *issuer,
    const char *domain, const char *const *roles, size_t nroles)
{
	static const char *const keys[] = { "p256", "p384", "ed25519",
	    "rsa2048" };
	static const char *const ku[] = { "digitalSignature" };
	static const char *const eku[] = { "serverAuth", "clientAuth" };

	memset(p, 0, sizeof(*p));
	p->name = xs(name);
	p->issuer = xs(issuer);
	list(&p->domains, &domain, 1);
	p->allow_bare = p->allow_subdomains = p->enforce_hostnames = 1;
	list(&p->key_types, keys, 4);
	p->ttl = 3600;
	p->max_ttl = 86400;
	p->truncate_at_issuer_expiry = 1;
	list(&p->key_usage, ku, 1);
	list(&p->ext_key_usage, eku, 2);
	p->subject_o = xs("Acme");
	p->store = 1;
	list(&p->roles, roles, nroles);
}

static void
mk_tenant(struct efx *f, struct sconf_tenant *t, const char *name,
    const char *label, const char *domain)
{
	static const char *const all[] = { "requester", "agent", "operator" };
	static const char *const req[] = { "requester" };
	char path[800], sub[256];

	memset(t, 0, sizeof(*t));
	t->name = xs(name);
	t->issuers = calloc(1, sizeof(*t->issuers));
	t->nissuers = 1;
	t->issuers[0].name = xs("inter");
	t->issuers[0].key_label = xs(label);
	snprintf(path, sizeof(path), "%s/%s.pem", f->dir, label);
	mk_issuer(f, label, path);
	t->issuers[0].cert_file = xs(path);
	data_path(path, sizeof(path), "root.pem");
	t->issuers[0].chain_file = xs(path);
	t->profiles = calloc(2, sizeof(*t->profiles));
	t->nprofiles = 2;
	mk_profile(&t->profiles[0], "web", "inter", domain, all, 3);
	/* acme/web is est_default and also has a label (issue 15). */
	if (strcmp(name, "acme") == 0)
		t->profiles[0].est_label = xs("web");
	snprintf(sub, sizeof(sub), "devices.%s", domain);
	mk_profile(&t->profiles[1], "device", "inter", sub, req, 1);
}

/* A mapping trusting the test root (the client CA) by its file. */
static void
mk_client(struct sconf_client *c, const char *cn, const char *role,
    const char *tenant)
{
	char path[800];
	const char *p = path;

	memset(c, 0, sizeof(*c));
	c->name = xs(cn);
	c->match_cn = xs(cn);
	data_path(path, sizeof(path), "root.pem");
	list(&c->issuer_cert, &p, 1);
	c->role = xs(role);
	list(&c->tenants, &tenant, 1);
}

static void
mk_conf(struct efx *f)
{
	struct sconf *c;
	char path[800];

	assert_non_null(c = f->conf = calloc(1, sizeof(*c)));
	c->est_default = xs("acme/web");
	c->token_max_ttl = 86400;
	data_path(path, sizeof(path), "root.pem");
	list(&c->tls_client_ca, (const char *const []){ path }, 1);
	c->url_ocsp = xs("http://127.0.0.1:8080/ocsp");
	c->url_crl = xs("http://127.0.0.1:8080/crl/%s.crl");
	c->ntenants = 2;
	c->tenants = calloc(2, sizeof(*c->tenants));
	mk_tenant(f, &c->tenants[0], "acme", "inter-a", "example.com");
	mk_tenant(f, &c->tenants[1], "beta", "inter-b", "beta.test");
	c->nclients = 4;
	c->clients = calloc(4, sizeof(*c->clients));
	mk_client(&c->clients[0], "operator-1", "operator", "acme");
	mk_client(&c->clients[1], "agent-1", "agent", "acme");
	mk_client(&c->clients[2], "auditor-1", "auditor", "acme");
	mk_client(&c->clients[3], "svc-1", "requester", "acme");
}

void
efx_init(struct efx *f)
{
	struct hsm_config hc;
	struct eng_engine_config ec;
	struct eng_rt *rt = NULL;
	char pin[] = TEST_USER_PIN, err[512], path[800];
	FILE *fp;

	memset(f, 0, sizeof(*f));
	assert_int_equal(faultvfs_install(), 0);
	test_token_create(&f->tok, "engine-test");
	snprintf(f->dir, sizeof(f->dir), "%s", f->tok.dir);
	snprintf(f->db, sizeof(f->db), "%s/ledger.db", f->dir);
	memset(&hc, 0, sizeof(hc));
	hc.module = f->tok.module;
	hc.token_label = f->tok.label;
	assert_int_equal(hsm_open(&hc, pin, strlen(pin), &f->hsm), HSM_OK);
	data_path(path, sizeof(path), "keys/root.key");
	assert_non_null(fp = fopen(path, "r"));
	f->root_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	data_path(path, sizeof(path), "root.pem");
	assert_non_null(fp = fopen(path, "r"));
	f->root = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(f->root_key);
	assert_non_null(f->root);
	f->leaf_key = EVP_EC_gen("P-256");
	assert_non_null(f->leaf_key);
	mk_conf(f);
	if (eng_rt_build(f->conf, f->hsm, sconf_free, &rt, err, sizeof(err)) != 0)
		fail_msg("eng_rt_build: %s", err);
	assert_int_equal(ledger_open("sqlite", f->db, &f->ledger), LEDGER_OK);
	memset(&ec, 0, sizeof(ec));
	ec.hsm = f->hsm;
	ec.ledger = f->ledger;
	assert_int_equal(eng_engine_new(&ec, rt, &f->e), 0);
}

void
efx_free(struct efx *f)
{
	faultvfs_fail(0);
	eng_engine_free(f->e);
	ledger_close(f->ledger);
	hsm_close(f->hsm);
	test_token_destroy(&f->tok);
	EVP_PKEY_free(f->root_key);
	EVP_PKEY_free(f->leaf_key);
	X509_free(f->root);
}

uint8_t *
efx_csr(struct efx *f, const char *const *names, size_t n, size_t *len)
{
	X509_REQ *r = X509_REQ_new();
	X509_NAME *nm = X509_NAME_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	X509_EXTENSION *ext;
	char san[1024];
	unsigned char *der = NULL;
	size_t i, off = 0;
	int l;

	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)names[0], -1, -1, 0);
	X509_REQ_set_subject_name(r, nm);
	X509_REQ_set_pubkey(r, f->leaf_key);
	san[0] = '\0';
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(san + off, sizeof(san) - off,
		    "%sDNS:%s", i ? "," : "", names[i]);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
	assert_non_null(ext);
	sk_X509_EXTENSION_push(exts, ext);
	X509_REQ_add_extensions(r, exts);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	assert_true(X509_REQ_sign(r, f->leaf_key, EVP_sha256()) > 0);
	l = i2d_X509_REQ(r, &der);
	assert_true(l > 0);
	*len = (size_t)l;
	X509_NAME_free(nm);
	X509_REQ_free(r);
	{
		uint8_t *copy = malloc((size_t)l);

		memcpy(copy, der, (size_t)l);
		OPENSSL_free(der);
		return copy;
	}
}

void
efx_ev_cert(struct proto_request *req, int peer, X509 *x, uint8_t *der,
    size_t size)
{
	unsigned char *p = der;
	int l = i2d_X509(x, NULL);

	assert_true(l > 0 && (size_t)l <= size);
	i2d_X509(x, &p);
	req->ev.peer = (uint8_t)peer;
	req->ev.kind = PROTO_EV_CERTS;
	req->ev.chain.ncerts = 1;
	req->ev.chain.certs[0].ptr = der;
	req->ev.chain.certs[0].len = (size_t)l;
}

void
efx_ev_token(struct proto_request *req, const char *secret)
{
	req->ev.peer = PROTO_PEER_HTTPS;
	req->ev.kind = PROTO_EV_TOKEN;
	req->ev.token_src = PROTO_TOKSRC_HTTP_AUTH;
	snprintf(req->ev.token, sizeof(req->ev.token), "%s", secret);
}

int
efx_call(struct efx *f, int peer, struct proto_request *req,
    struct proto_reply *rep)
{
	static uint8_t body[PROTO_MAX_BODY];
	size_t len, outlen;
	int rc;

	req->ev.peer = (uint8_t)peer;
	assert_int_equal(proto_request_encode(req, body, sizeof(body), &len),
	    PROTO_OK);
	rc = eng_engine_request(f->e, peer, req->type, body, len, f->rbuf,
	    sizeof(f->rbuf), &outlen);
	if (rc == 0)
		assert_int_equal(proto_reply_decode(req->type, f->rbuf, outlen,
		    rep), PROTO_OK);
	return rc;
}

void
efx_expect(const struct proto_reply *rep, int result, const char *substr)
{
	if (rep->status.result != result)
		fail_msg("result %s (%s), want %s",
		    proto_result_name(rep->status.result), rep->status.message,
		    proto_result_name(result));
	if (substr != NULL && strstr(rep->status.message, substr) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", rep->status.message,
		    substr);
}

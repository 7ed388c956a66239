/*
 * Client mappings name their client CA (issue 13, DESIGN.md rule 9): a
 * look-alike CA issuing CN=signet-operator maps to nothing unless the
 * mapping names it by DN, key identifier or certificate file; a look-alike
 * with the same DN is told apart by key identifier and by file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <signet/sconf.h>
#include <signet/sconf_client.h>

static char dir[] = "/tmp/signet-sconf-client-XXXXXX";

struct pki {
	EVP_PKEY	*key;
	X509		*cert;
};

static X509 *
mk(const char *cn, EVP_PKEY *pub, const struct pki *issuer, int ca,
    int ski)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	    (const unsigned char *)"Test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert) :
	    n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pub);
	X509V3_set_ctx(&ctx, issuer ? issuer->cert : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (ski) {
		ext = X509V3_EXT_conf_nid(NULL, &ctx,
		    NID_subject_key_identifier, "hash");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer ? issuer->key : pub, EVP_sha256()) >
	    0);
	return x;
}

static void
ca_new(struct pki *p, const char *cn, int ski)
{
	p->key = EVP_EC_gen("P-256");
	assert_non_null(p->key);
	p->cert = mk(cn, p->key, NULL, 1, ski);
}

static STACK_OF(X509) *
chain_of(X509 *leaf, X509 *ca)
{
	STACK_OF(X509) *sk = sk_X509_new_null();

	sk_X509_push(sk, leaf);
	sk_X509_push(sk, ca);
	return sk;
}

static void
client(struct sconf_client *c, const char *issuer, const char *key_id,
    const char *file)
{
	static char *role = "operator", *cn = "signet-operator";

	memset(c, 0, sizeof(*c));
	c->name = "operator";
	c->match_cn = cn;
	c->role = role;
	c->issuer = (char *)issuer;
	c->issuer_key_id = (char *)key_id;
	if (file != NULL) {
		c->issuer_cert.v = calloc(1, sizeof(char *));
		c->issuer_cert.v[0] = (char *)file;
		c->issuer_cert.n = 1;
	}
}

/* Whether a mapping made of (issuer, key id, file) maps chain. */
static int
maps(const char *issuer, const char *key_id, const char *file,
    STACK_OF(X509) *chain)
{
	struct sconf conf;
	struct sconf_client c;
	struct sconf_trust *t = NULL;
	char err[512];
	int rc;

	memset(&conf, 0, sizeof(conf));
	client(&c, issuer, key_id, file);
	conf.clients = &c;
	conf.nclients = 1;
	if (sconf_trust_load(&conf, &t, err, sizeof(err)) != 0)
		fail_msg("sconf_trust_load: %s", err);
	rc = sconf_trust_map(t, chain) == &c;
	sconf_trust_free(t);
	free(c.issuer_cert.v);
	return rc;
}

static void
hex(X509 *x, char *buf, size_t size)
{
	const ASN1_OCTET_STRING *s = X509_get0_subject_key_id(x);
	size_t i, n = 0;

	assert_non_null(s);
	for (i = 0; i < (size_t)ASN1_STRING_length(s) && n + 4 < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%02X", i ? ":" : "",
		    ASN1_STRING_get0_data(s)[i]);
}

static void
test_lookalike(void **state)
{
	struct pki ops, rogue, twin;
	STACK_OF(X509) *good, *bad, *same;
	X509 *l1, *l2, *l3;
	EVP_PKEY *k = EVP_EC_gen("P-256");
	char path[1200], kid[200], twinfile[1200];
	FILE *f;

	(void)state;
	ca_new(&ops, "Operators", 1);
	ca_new(&rogue, "Partner CA", 1);
	ca_new(&twin, "Operators", 0);	/* same DN, other key, no SKI */
	l1 = mk("signet-operator", k, &ops, 0, 0);
	l2 = mk("signet-operator", k, &rogue, 0, 0);
	l3 = mk("signet-operator", k, &twin, 0, 0);
	good = chain_of(l1, ops.cert);
	bad = chain_of(l2, rogue.cert);
	same = chain_of(l3, twin.cert);
	snprintf(path, sizeof(path), "%s/ops.pem", dir);
	assert_non_null(f = fopen(path, "w"));
	PEM_write_X509(f, ops.cert);
	fclose(f);
	snprintf(twinfile, sizeof(twinfile), "%s/twin.pem", dir);
	assert_non_null(f = fopen(twinfile, "w"));
	PEM_write_X509(f, twin.cert);
	fclose(f);
	hex(ops.cert, kid, sizeof(kid));

	/* By DN: the look-alike with another DN is refused. */
	assert_true(maps("CN=Operators,O=Test", NULL, NULL, good));
	assert_false(maps("CN=Operators,O=Test", NULL, NULL, bad));
	/* ... but a DN cannot tell a twin with the same DN apart. */
	assert_true(maps("CN=Operators,O=Test", NULL, NULL, same));
	/* By key identifier and by file it can. */
	assert_true(maps(NULL, kid, NULL, good));
	assert_false(maps(NULL, kid, NULL, bad));
	assert_false(maps(NULL, kid, NULL, same));
	assert_true(maps(NULL, NULL, path, good));
	assert_false(maps(NULL, NULL, path, bad));
	assert_false(maps(NULL, NULL, path, same));
	assert_true(maps(NULL, NULL, twinfile, same));
	/* Every field given must hold. */
	assert_false(maps("CN=Operators,O=Test", NULL, twinfile, good));
	/* No CA named: nothing maps (sconf_check refuses such a file). */
	assert_false(maps(NULL, NULL, NULL, good));
	/* A leaf alone (no CA above it in the chain) never maps. */
	sk_X509_pop(good);
	assert_false(maps("CN=Operators,O=Test", NULL, NULL, good));
	unlink(path);
	unlink(twinfile);
	sk_X509_free(good);
	sk_X509_free(bad);
	sk_X509_free(same);
	X509_free(l1);
	X509_free(l2);
	X509_free(l3);
	EVP_PKEY_free(k);
	X509_free(ops.cert);
	X509_free(rogue.cert);
	X509_free(twin.cert);
	EVP_PKEY_free(ops.key);
	EVP_PKEY_free(rogue.key);
	EVP_PKEY_free(twin.key);
}

static void
test_load_errors(void **state)
{
	struct sconf conf;
	struct sconf_client c;
	struct sconf_trust *t = NULL;
	char err[512], path[1200];

	(void)state;
	memset(&conf, 0, sizeof(conf));
	snprintf(path, sizeof(path), "%s/missing.pem", dir);
	client(&c, NULL, NULL, path);
	conf.clients = &c;
	conf.nclients = 1;
	assert_int_equal(sconf_trust_load(&conf, &t, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "client \"operator\": issuer_cert: cannot "
	    "open"));
	assert_null(t);
	free(c.issuer_cert.v);
}

static void
test_hex(void **state)
{
	uint8_t b[4];
	size_t n;

	(void)state;
	assert_int_equal(sconf_hex("a1:B2:03", b, sizeof(b), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(b[1], 0xb2);
	assert_int_equal(sconf_hex("a1b2", b, sizeof(b), &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sconf_hex("a1b", b, sizeof(b), &n), -1);
	assert_int_equal(sconf_hex(":a1", b, sizeof(b), &n), -1);
	assert_int_equal(sconf_hex("a:1", b, sizeof(b), &n), -1);
	assert_int_equal(sconf_hex("", b, sizeof(b), &n), -1);
	assert_int_equal(sconf_hex("0102030405", b, sizeof(b), &n), -1);
	assert_int_equal(sconf_hex("zz", b, sizeof(b), &n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookalike),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_hex),
	};
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	rc = cmocka_run_group_tests_name("sconf_client", tests, NULL, NULL);
	rmdir(dir);
	return rc;
}

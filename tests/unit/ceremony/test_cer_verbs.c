/*
 * The ceremony's verbs through their entry points, as cer_main.c calls
 * them, on a fresh SoftHSMv2 token directory: init makes the token, the
 * root and 2-of-3 share files; sign, revoke and crl each open the root
 * with any two user shares and refuse one share, a share of another
 * secret, or a second init; every run is signed into the transcript.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "cer.h"
#include "cer_run.h"
#include "certest.h"
#include "testtoken.h"

static char W[512];

static const char *
at(const char *rel)
{
	static char buf[4][700];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", W, rel);
	return buf[i];
}

static int
setup(void **state)
{
	char text[2048];
	EVP_PKEY *k;
	X509_REQ *req;
	X509_NAME *n;
	FILE *f;

	(void)state;
	cer_tmpdir(W, sizeof(W));
	assert_int_equal(mkdir(at("tokens"), 0700), 0);
	assert_int_equal(mkdir(at("in"), 0755), 0);
	snprintf(text, sizeof(text),
	    "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n"
	    "slots.removable = false\n",
	    at("tokens"));
	cer_put(at("softhsm2.conf"), text);
	setenv("SOFTHSM2_CONF", at("softhsm2.conf"), 1);
	snprintf(text, sizeof(text),
	    "state = \"state/ceremony.state\"\n"
	    "transcript = \"state/transcript\"\n"
	    "token {\n\tmodule = \"%s\"\n\tlabel = \"unit-root\"\n}\n"
	    "root {\n\tcert = \"out/root.pem\"\n"
	    "\tsubject {\n\t\tCN = \"Unit Root\"\n\t}\n}\n"
	    "custody {\n\tcustodians = { \"alice\", \"bob\", \"carol\" }\n"
	    "\tshares_dir = \"shares\"\n}\n"
	    "intermediate {\n\tcsr = \"in/int.csr\"\n\tcert = \"out/int.pem\"\n"
	    "\tpermitted_dns = { \"example.com\" }\n"
	    "\tsubject {\n\t\tCN = \"Unit Issuing\"\n\t}\n}\n"
	    "crl {\n\tfile = \"out/root.crl\"\n}\n",
	    test_softhsm_module());
	cer_put(at("c.conf"), text);

	/* The appliance's CSR (its key stays on the appliance). */
	assert_non_null(k = EVP_EC_gen("P-256"));
	assert_non_null(req = X509_REQ_new());
	n = X509_REQ_get_subject_name(req);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"appliance", -1, -1, 0);
	X509_REQ_set_pubkey(req, k);
	assert_true(X509_REQ_sign(req, k, EVP_sha256()) > 0);
	assert_non_null(f = fopen(at("in/int.csr"), "w"));
	PEM_write_X509_REQ(f, req);
	fclose(f);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	cer_rmdir(W);
	unsetenv("SOFTHSM2_CONF");
	return 0;
}

/* Options as cer_main.c fills them: -f c.conf -y [-s a] [-s b]. */
static void
opts(struct cer_opts *o, const char *a, const char *b)
{
	static char conf[700], user[2][700], x[700];

	memset(o, 0, sizeof(*o));
	snprintf(conf, sizeof(conf), "%s", at("c.conf"));
	o->conf = conf;
	o->yes = 1;
	if (a != NULL) {
		snprintf(user[0], sizeof(user[0]), "%s", at(a));
		o->user[o->nuser++] = user[0];
	}
	if (b != NULL) {
		snprintf(user[1], sizeof(user[1]), "%s", at(b));
		o->user[o->nuser++] = user[1];
	}
	snprintf(x, sizeof(x), "%s", at("out/int.pem"));
	o->cert = x;
}

static X509 *
cert(const char *rel)
{
	FILE *f = fopen(at(rel), "r");
	X509 *x;

	if (f == NULL)
		fail_msg("%s: not written", rel);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static X509_CRL *
crl(void)
{
	FILE *f = fopen(at("out/root.crl"), "r");
	X509_CRL *c;

	assert_non_null(f);
	c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(c);
	return c;
}

static int
mode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == -1 ? -1 : (int)(sb.st_mode & 07777);
}

static void
test_verbs(void **state)
{
	static const char *const who[] = { "alice", "bob", "carol" };
	struct cer_opts o;
	struct cer_state st;
	X509 *root, *inter;
	X509_CRL *c;
	X509_REVOKED *rev = NULL;
	ASN1_INTEGER *num;
	uint8_t *tx;
	size_t len, i;
	unsigned nsigs;
	char err[CER_MAX_ERR], p[64];
	int (*verb)(const struct cer_opts *);

	(void)state;
	opts(&o, NULL, NULL);
	assert_int_equal(cer_init(&o), CER_OK);
	root = cert("out/root.pem");
	assert_int_equal(X509_check_ca(root), 1);
	assert_int_equal(X509_check_issued(root, root), X509_V_OK);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "shares/%s.user.share", who[i]);
		assert_int_equal(mode_of(at(p)), 0600);
		snprintf(p, sizeof(p), "shares/%s.so.share", who[i]);
		assert_int_equal(mode_of(at(p)), 0600);
	}
	assert_non_null(strstr(cer_get(at("shares/bob.user.share")),
	    "# share 2 of 3; any 2 recover the secret\n# custodian: bob\n"));
	/* Once only. */
	cer_stderr_begin();
	assert_int_equal(cer_init(&o), CER_FAIL);
	assert_said(cer_stderr_end(), "a ceremony already exists here");

	/* One share, or a share of the SO PIN, does not open the root;
	 * nothing is written. */
	opts(&o, "shares/alice.user.share", NULL);
	cer_stderr_begin();
	assert_int_not_equal(cer_sign(&o), CER_OK);
	assert_said(cer_stderr_end(), "2 needed");
	opts(&o, "shares/alice.user.share", "shares/bob.so.share");
	cer_stderr_begin();
	assert_int_equal(cer_sign(&o), CER_FAIL);
	assert_said(cer_stderr_end(),
	    "bob.so.share: is a SO-PIN share, not "
	    "a user-PIN share");
	assert_int_equal(mode_of(at("out/int.pem")), -1);

	/* Any two user shares sign the intermediate. */
	opts(&o, "shares/carol.user.share", "shares/alice.user.share");
	assert_int_equal(cer_sign(&o), CER_OK);
	inter = cert("out/int.pem");
	assert_int_equal(X509_check_issued(root, inter), X509_V_OK);
	assert_int_equal(X509_verify(inter, X509_get0_pubkey(root)), 1);
	assert_int_equal(X509_get_pathlen(inter), 0);
	assert_int_equal(X509_get_ext_by_NID(inter, NID_name_constraints, -1) >=
		0,
	    1);
	/* Never over the certificate just written. */
	cer_stderr_begin();
	assert_int_equal(cer_sign(&o), CER_FAIL);
	assert_said(cer_stderr_end(),
	    "int.pem: exists; refusing to "
	    "overwrite it");

	/* Revoke it, then a CRL that names it. */
	opts(&o, "shares/bob.user.share", "shares/carol.user.share");
	o.reason = CRL_REASON_KEY_COMPROMISE;
	assert_int_equal(cer_revoke(&o), CER_OK);
	cer_stderr_begin();
	assert_int_equal(cer_revoke(&o), CER_FAIL);
	assert_said(cer_stderr_end(), "is already revoked");
	verb = cer_crl;
	opts(&o, "shares/alice.user.share", "shares/bob.user.share");
	assert_int_equal(verb(&o), CER_OK);
	c = crl();
	assert_int_equal(X509_CRL_verify(c, X509_get0_pubkey(root)), 1);
	assert_int_equal(X509_CRL_get0_by_serial(c, &rev,
			     X509_get0_serialNumber(inter)),
	    1);
	assert_non_null(
	    num = X509_CRL_get_ext_d2i(c, NID_crl_number, NULL, NULL));
	assert_non_null(rev);
	assert_int_equal(cer_state_load(at("state/ceremony.state"), &st),
	    CER_OK);
	assert_int_equal(ASN1_INTEGER_get(num), (long)st.crl_number);
	assert_int_equal(st.nrevoked, 1);
	ASN1_INTEGER_free(num);
	X509_CRL_free(c);

	/* Each successful run signed the transcript with the root key. */
	assert_int_equal(cer_read_file(at("state/transcript"), &tx, &len),
	    CER_OK);
	if (cer_tx_verify(tx, len, X509_get0_pubkey(root), &nsigs, err,
		sizeof(err)) != CER_OK)
		fail_msg("transcript: %s", err);
	assert_true(nsigs >= 4);
	free(tx);
	X509_free(inter);
	X509_free(root);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verbs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

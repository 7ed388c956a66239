/* Test certificates for the ledger (see certgen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certgen.h"

static void
build(EVP_PKEY *key, const struct test_cert *c, X509 *x)
{
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_bin2bn(c->in.serial.b, (int)c->in.serial.len, NULL);
	ASN1_INTEGER *ai = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;

	if (name == NULL || ai == NULL || !X509_set_version(x, 2) ||
	    !X509_set_serialNumber(x, ai) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)c->cn, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
	    !ASN1_TIME_set(X509_getm_notBefore(x), (time_t)c->in.not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)c->in.not_after) ||
	    !X509_set_pubkey(x, key) || !X509_sign(x, key, EVP_sha256()))
		abort();
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	X509_NAME_free(name);
}

void
certgen(EVP_PKEY *key, uint64_t id, const char *tenant, const char *cn,
    int64_t not_before, int64_t not_after, struct test_cert *c)
{
	X509 *x = X509_new();
	unsigned char *der = NULL, *tbs = NULL;
	int i, len, tbs_len;

	memset(c, 0, sizeof(*c));
	c->in.serial.len = 9;
	c->in.serial.b[0] = 0x01;	/* positive, never a leading zero */
	for (i = 0; i < 8; i++)
		c->in.serial.b[1 + i] = (uint8_t)(id >> (8 * (7 - i)));
	snprintf(c->cn, sizeof(c->cn), "%s", cn);
	snprintf(c->sans, sizeof(c->sans), "%s,www.%s", cn, cn);
	c->in.tenant = tenant;
	c->in.issuer = "ica-1";
	c->in.profile = "service";
	c->in.subject = c->cn;
	c->in.sans = c->sans;
	c->in.requester = "CN=enroller";
	c->in.not_before = not_before;
	c->in.not_after = not_after;
	c->in.store_der = 1;
	if (x == NULL)
		abort();
	build(key, c, x);
	if ((len = i2d_X509(x, &der)) <= 0 ||
	    (tbs_len = i2d_re_X509_tbs(x, &tbs)) <= 0 ||
	    !EVP_Digest(tbs, (size_t)tbs_len, c->in.tbs_hash, NULL,
	    EVP_sha256(), NULL))
		abort();
	if ((c->der = malloc((size_t)len)) == NULL)
		abort();
	memcpy(c->der, der, (size_t)len);
	c->der_len = (size_t)len;
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	X509_free(x);
}

void
certgen_free(struct test_cert *c)
{
	free(c->der);
	c->der = NULL;
}

void
certgen_audit(const struct test_cert *c, struct audit_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->actor = c->in.requester;
	rec->role = "service";
	rec->tenant = c->in.tenant;
	rec->action = AUDIT_ISSUE;
	rec->object = c->cn;
	rec->result = "ok";
	rec->detail = c->sans;
}

int
certgen_issue(struct ledger *l, const struct test_cert *c)
{
	struct audit_record rec;
	int rc;

	if ((rc = ledger_reserve(l, &c->in)) != LEDGER_OK)
		return rc;
	certgen_audit(c, &rec);
	return ledger_commit(l, &c->in.serial, c->der, c->der_len, &rec);
}

int
sqfx_open(struct sqfx *f, const char *tag)
{
	snprintf(f->dir, sizeof(f->dir), "/tmp/signet-%s-XXXXXX", tag);
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/ledger.db", f->dir);
	f->l = NULL;
	return ledger_open("sqlite", f->path, &f->l) == LEDGER_OK ? 0 : -1;
}

void
sqfx_close(struct sqfx *f)
{
	char p[160];

	if (f->l != NULL)
		ledger_close(f->l);
	f->l = NULL;
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	unlink(f->path);
	rmdir(f->dir);
}

/*
 * What relying parties see: `crl show` fetches an issuer's CRL from the
 * plain-HTTP publication and checks its signature against the issuer's
 * certificate, itself checked against --cacert; `ocsp check` asks the
 * responder about one certificate (RFC 6960) and verifies the answer.
 * The DER comes from the network and is read by OpenSSL's decoders,
 * bounded by the HTTP client's CTL_MAX_BODY.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ctl_cmd.h"

static const char *const reasons[] = {
	"unspecified", "keyCompromise", "cACompromise", "affiliationChanged",
	"superseded", "cessationOfOperation", "certificateHold", "7",
	"removeFromCRL", "privilegeWithdrawn", "aACompromise"
};

static const char *
reason_name(int r)
{
	return r >= 0 && r <= 10 ? reasons[r] : "-";
}

/* RFC 3339 UTC of an ASN1_TIME, or "-". */
static void
asn1_time(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "-");
}

static void
serial_hex(const ASN1_INTEGER *s, char *buf, size_t size)
{
	BIGNUM *bn;
	char *hex = NULL, *p;

	snprintf(buf, size, "-");
	if ((bn = ASN1_INTEGER_to_BN(s, NULL)) == NULL)
		return;
	if ((hex = BN_bn2hex(bn)) != NULL) {
		for (p = hex; *p != '\0'; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p + 32);
		/* As the API writes it: an even number of digits, with a
		 * leading 00 when the high bit is set. */
		snprintf(buf, size, "%s%s", (strlen(hex) % 2 == 1) ? "0" :
		    (hex[0] >= '8' ? "00" : ""), hex);
	}
	OPENSSL_free(hex);
	BN_free(bn);
}

/* A certificate in DER or PEM from bytes (a fetch) or a file. */
static X509 *
cert_from(const uint8_t *p, size_t len)
{
	const unsigned char *q = p;
	X509 *x;
	BIO *b;

	if ((x = d2i_X509(NULL, &q, (long)len)) != NULL &&
	    q == p + len)
		return x;
	X509_free(x);
	if ((b = BIO_new_mem_buf(p, (int)len)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

static X509 *
cert_file(const char *path)
{
	X509 *x = NULL;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		ctl_err("%s: cannot open it", path);
		return NULL;
	}
	if ((x = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		ctl_err("%s: not a PEM certificate", path);
	fclose(f);
	return x;
}

/* GET url; the body of a 200 answer in *rep, else an exit code. */
static int
fetch(const struct ctl *c, const char *url, const char *what,
    struct ctl_reply *rep)
{
	int rc;

	if ((rc = ctl_request(c, "GET", url, NULL, NULL, 0, rep)) !=
	    CTL_EXIT_OK)
		return rc;
	if ((rc = ctl_status_exit(rep, what)) != CTL_EXIT_OK)
		ctl_reply_free(rep);
	return rc;
}

static X509 *
fetch_cert(const struct ctl *c, const char *url)
{
	struct ctl_reply rep;
	X509 *x;

	if (fetch(c, url, url, &rep) != CTL_EXIT_OK)
		return NULL;
	if ((x = cert_from(rep.r.body, rep.r.body_len)) == NULL)
		ctl_err("%s: not a certificate", url);
	ctl_reply_free(&rep);
	return x;
}

/* A store of --cacert (the roots this operator trusts). */
static X509_STORE *
trust_store(const struct ctl *c)
{
	X509_STORE *st;

	if ((st = X509_STORE_new()) == NULL)
		return NULL;
	if (c->cacert[0] == '\0' ? X509_STORE_set_default_paths(st) != 1 :
	    X509_STORE_load_file(st, c->cacert) != 1) {
		ctl_err("%s: no certificates to trust in it", c->cacert[0] ?
		    c->cacert : "the system's default paths");
		X509_STORE_free(st);
		return NULL;
	}
	return st;
}

/* The issuer certificate chains to --cacert; 1 yes, 0 no, -1 error. */
static int
issuer_trusted(const struct ctl *c, X509 *issuer, char *why, size_t size)
{
	X509_STORE *st;
	X509_STORE_CTX *ctx = NULL;
	int ok = -1;

	if ((st = trust_store(c)) == NULL)
		return -1;
	if ((ctx = X509_STORE_CTX_new()) != NULL &&
	    X509_STORE_CTX_init(ctx, st, issuer, NULL) == 1) {
		ok = X509_verify_cert(ctx) == 1;
		if (!ok)
			snprintf(why, size, "the issuer's certificate does not "
			    "chain to --cacert: %s",
			    X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx)));
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return ok;
}

struct crl_view {
	char	 issuer[512];
	char	 this_update[32];
	char	 next_update[32];
	char	 number[64];
	int	 verified;
	int	 stale;
	char	 why[256];
};

static void
crl_print_json(const struct crl_view *w, X509_CRL *crl)
{
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	const X509_REVOKED *r;
	ASN1_ENUMERATED *e;
	char ser[64], at[32];
	int i, n = sk_X509_REVOKED_num(revs), reason;

	fputs("{\"issuer\":", stdout);
	ctl_json_write_str(stdout, w->issuer);
	printf(",\"this_update\":\"%s\",\"next_update\":\"%s\","
	    "\"crl_number\":\"%s\",\"verified\":%s,\"stale\":%s,"
	    "\"entries\":[", w->this_update, w->next_update, w->number,
	    w->verified ? "true" : "false", w->stale ? "true" : "false");
	for (i = 0; i < n; i++) {
		r = sk_X509_REVOKED_value(revs, i);
		serial_hex(X509_REVOKED_get0_serialNumber(r), ser,
		    sizeof(ser));
		asn1_time(X509_REVOKED_get0_revocationDate(r), at, sizeof(at));
		e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		reason = e != NULL ? (int)ASN1_ENUMERATED_get(e) : -1;
		ASN1_ENUMERATED_free(e);
		printf("%s{\"serial\":\"%s\",\"revoked_at\":\"%s\","
		    "\"reason\":\"%s\"}", i ? "," : "", ser, at,
		    reason >= 0 ? reason_name(reason) : "unspecified");
	}
	puts("]}");
}

static int
crl_print_table(const struct crl_view *w, X509_CRL *crl)
{
	static const char *const names[] = {
		"issuer", "this_update", "next_update", "crl_number",
		"entries", "signature"
	};
	static const char *const heads[] = {
		"SERIAL", "REVOKED_AT", "REASON"
	};
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);
	const char *values[6], *cells[3];
	struct ctl_table *t;
	const X509_REVOKED *r;
	ASN1_ENUMERATED *e;
	char ser[64], at[32], count[16], sig[300];
	int i, n = sk_X509_REVOKED_num(revs), reason;

	snprintf(count, sizeof(count), "%d", n < 0 ? 0 : n);
	snprintf(sig, sizeof(sig), "%s%s", w->verified ? "verified" :
	    "NOT VERIFIED: ", w->verified ? (w->stale ? " (STALE: past "
	    "next_update)" : "") : w->why);
	values[0] = w->issuer;
	values[1] = w->this_update;
	values[2] = w->next_update;
	values[3] = w->number;
	values[4] = count;
	values[5] = sig;
	ctl_kv_print(stdout, names, values, 6);
	if (n <= 0)
		return CTL_EXIT_OK;
	if ((t = ctl_table_new(3, heads)) == NULL)
		return CTL_EXIT_ERR;
	for (i = 0; i < n; i++) {
		r = sk_X509_REVOKED_value(revs, i);
		serial_hex(X509_REVOKED_get0_serialNumber(r), ser,
		    sizeof(ser));
		asn1_time(X509_REVOKED_get0_revocationDate(r), at, sizeof(at));
		e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		reason = e != NULL ? (int)ASN1_ENUMERATED_get(e) : 0;
		ASN1_ENUMERATED_free(e);
		cells[0] = ser;
		cells[1] = at;
		cells[2] = reason_name(reason);
		ctl_table_add(t, cells);
	}
	putchar('\n');
	ctl_table_print(t, stdout);
	ctl_table_free(t);
	return CTL_EXIT_OK;
}

static void
crl_view(X509_CRL *crl, X509 *issuer, struct crl_view *w)
{
	ASN1_INTEGER *num;
	EVP_PKEY *pub;
	char *s;

	ctl_x509_name(X509_CRL_get_issuer(crl), w->issuer,
	    sizeof(w->issuer));
	asn1_time(X509_CRL_get0_lastUpdate(crl), w->this_update,
	    sizeof(w->this_update));
	asn1_time(X509_CRL_get0_nextUpdate(crl), w->next_update,
	    sizeof(w->next_update));
	snprintf(w->number, sizeof(w->number), "-");
	if ((num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL)) !=
	    NULL) {
		if ((s = i2s_ASN1_INTEGER(NULL, num)) != NULL)
			snprintf(w->number, sizeof(w->number), "%s", s);
		OPENSSL_free(s);
		ASN1_INTEGER_free(num);
	}
	w->stale = X509_CRL_get0_nextUpdate(crl) == NULL ||
	    X509_cmp_current_time(X509_CRL_get0_nextUpdate(crl)) < 0;
	/* RFC 5280 6.3.3: the issuer's name, then the signature. */
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(issuer)) != 0)
		snprintf(w->why, sizeof(w->why), "the CRL's issuer is not "
		    "the issuer certificate's subject");
	else if ((pub = X509_get0_pubkey(issuer)) == NULL ||
	    X509_CRL_verify(crl, pub) != 1)
		snprintf(w->why, sizeof(w->why), "the signature does not "
		    "verify with the issuer's key");
	else
		w->verified = 1;
}

int
ctl_cmd_crl_show(struct ctl *c, int argc, char **argv)
{
	enum { O_URL = 1, O_ICERT };
	static const struct option lo[] = {
		{ "issuer", required_argument, NULL, 'i' },
		{ "url", required_argument, NULL, O_URL },
		{ "issuer-cert", required_argument, NULL, O_ICERT },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find("crl", "show");
	const char *name = "intermediate", *url = NULL, *icert = NULL;
	char crlurl[CTL_MAX_URL * 2], caurl[CTL_MAX_URL * 2];
	struct crl_view w;
	struct ctl_reply rep;
	const unsigned char *p;
	X509_CRL *crl = NULL;
	X509 *issuer = NULL;
	size_t i, blen;
	int ch, rc;

	while ((ch = ctl_getopt(c, v, argc, argv, "i:", lo)) != -1) {
		if (ch == -3)
			return CTL_EXIT_OK;
		if (ch == -2)
			return CTL_EXIT_ERR;
		if (ch == 'i')
			name = optarg;
		else if (ch == O_URL)
			url = optarg;
		else
			icert = optarg;
	}
	if (optind != argc)
		return ctl_usage_err(v, "crl show takes no arguments");
	for (i = 0; name[i] != '\0'; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._-", name[i]) == NULL)
			return ctl_usage_err(v, "--issuer: letters, digits, "
			    "'.', '_' or '-'");
	blen = strlen(c->http);
	while (blen > 0 && c->http[blen - 1] == '/')
		blen--;
	snprintf(crlurl, sizeof(crlurl), "%s", url != NULL ? url : "");
	if (url == NULL)
		snprintf(crlurl, sizeof(crlurl), "%.*s/crl/%s.crl", (int)blen,
		    c->http, name);
	snprintf(caurl, sizeof(caurl), "%.*s/ca/%s.der", (int)blen, c->http,
	    name);
	memset(&w, 0, sizeof(w));
	if ((rc = fetch(c, crlurl, crlurl, &rep)) != CTL_EXIT_OK)
		return rc;
	p = rep.r.body;
	crl = d2i_X509_CRL(NULL, &p, (long)rep.r.body_len);
	if (crl == NULL || p != rep.r.body + rep.r.body_len) {
		ctl_err("%s: not a DER CRL", crlurl);
		rc = CTL_EXIT_ERR;
		goto out;
	}
	issuer = icert != NULL ? cert_file(icert) : fetch_cert(c, caurl);
	if (issuer == NULL) {
		rc = CTL_EXIT_ERR;
		goto out;
	}
	crl_view(crl, issuer, &w);
	if (w.verified && issuer_trusted(c, issuer, w.why, sizeof(w.why)) !=
	    1)
		w.verified = 0;
	rc = CTL_EXIT_OK;
	if (c->json)
		crl_print_json(&w, crl);
	else
		rc = crl_print_table(&w, crl);
	if (rc == CTL_EXIT_OK && (!w.verified || w.stale)) {
		ctl_err("%s: %s", crlurl, !w.verified ? w.why :
		    "stale: past its next_update");
		rc = CTL_EXIT_NO;
	}
out:
	X509_free(issuer);
	X509_CRL_free(crl);
	ctl_reply_free(&rep);
	return rc;
}

/* The certificate to ask about: --cert-file, or SERIAL from the API. */
static X509 *
ocsp_subject(struct ctl *c, const struct ctl_verb *v, const char *file,
    int argc, char **argv, int *rc)
{
	char serial[64], path[CTL_MAX_URL], what[96];
	struct ctl_reply rep;
	const char *pem;
	X509 *x = NULL;
	BIO *b;

	*rc = CTL_EXIT_ERR;
	if (file != NULL) {
		if (optind != argc) {
			ctl_usage_err(v, "either --cert-file or a serial");
			return NULL;
		}
		return cert_file(file);
	}
	if (optind + 1 != argc) {
		ctl_usage_err(v, "which certificate? a serial (with -T) or "
		    "--cert-file FILE");
		return NULL;
	}
	if (ctl_serial_norm(argv[optind], serial, sizeof(serial)) != CTL_OK) {
		ctl_usage_err(v, "the serial is hex");
		return NULL;
	}
	if (ctl_need_tenant(c, v) != 0)
		return NULL;
	snprintf(path, sizeof(path), "/v1/certs/%s?tenant=", serial);
	if (ctl_pct_encode(path, sizeof(path), c->tenant) != CTL_OK ||
	    (*rc = ctl_get(c, c->server, path, &rep)) != CTL_EXIT_OK)
		return NULL;
	snprintf(what, sizeof(what), "ocsp check %s", serial);
	if ((*rc = ctl_status_exit(&rep, what)) == CTL_EXIT_OK) {
		*rc = CTL_EXIT_ERR;
		pem = rep.have_json ? ctl_json_gets(&rep.j, 0,
		    "certificate") : NULL;
		if (pem != NULL && (b = BIO_new_mem_buf(pem, -1)) != NULL) {
			x = PEM_read_bio_X509(b, NULL, NULL, NULL);
			BIO_free(b);
		}
		if (x == NULL && pem == NULL && rep.have_json &&
		    ctl_json_get(&rep.j, 0, "stored") >= 0)
			ctl_err("%s: the appliance does not keep this "
			    "certificate (store = false); give --cert-file",
			    what);
		else if (x == NULL)
			ctl_err("%s: the answer has no certificate", what);
	}
	ctl_reply_free(&rep);
	return x;
}

/* The first URI of an AIA access method in the certificate. */
static int
aia_url(X509 *x, int nid, char *buf, size_t size)
{
	AUTHORITY_INFO_ACCESS *aia;
	ACCESS_DESCRIPTION *ad;
	int i, found = 0;

	if ((aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL)) == NULL)
		return 0;
	for (i = 0; i < sk_ACCESS_DESCRIPTION_num(aia) && !found; i++) {
		ad = sk_ACCESS_DESCRIPTION_value(aia, i);
		if (OBJ_obj2nid(ad->method) == nid &&
		    ad->location->type == GEN_URI &&
		    ASN1_STRING_length(ad->location->d.uniformResourceIdentifier)
		    < (int)size) {
			snprintf(buf, size, "%.*s", ASN1_STRING_length(
			    ad->location->d.uniformResourceIdentifier),
			    (const char *)ASN1_STRING_get0_data(
			    ad->location->d.uniformResourceIdentifier));
			found = 1;
		}
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	return found;
}

struct ocsp_view {
	char	 serial[64];
	int	 status;	/* V_OCSP_CERTSTATUS_* */
	int	 reason;
	char	 revoked_at[32];
	char	 this_update[32];
	char	 next_update[32];
	char	 url[CTL_MAX_URL];
};

/* Asks url about id and verifies the answer; fills w->status. */
static int
ocsp_ask(const struct ctl *c, OCSP_CERTID *id, X509 *issuer,
    struct ocsp_view *w)
{
	OCSP_REQUEST *req = NULL;
	OCSP_RESPONSE *resp = NULL;
	OCSP_BASICRESP *bs = NULL;
	STACK_OF(X509) *certs = NULL;
	X509_STORE *st = NULL;
	ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
	struct ctl_reply rep;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len, rc = CTL_EXIT_ERR;

	memset(&rep, 0, sizeof(rep));
	if ((req = OCSP_REQUEST_new()) == NULL ||
	    OCSP_request_add0_id(req, OCSP_CERTID_dup(id)) == NULL ||
	    OCSP_request_add1_nonce(req, NULL, -1) != 1 ||
	    (len = i2d_OCSP_REQUEST(req, &der)) <= 0)
		goto out;
	if ((rc = ctl_request(c, "POST", w->url, "application/ocsp-request",
	    der, (size_t)len, &rep)) != CTL_EXIT_OK)
		goto out;
	if ((rc = ctl_status_exit(&rep, w->url)) != CTL_EXIT_OK)
		goto out;
	rc = CTL_EXIT_ERR;
	p = rep.r.body;
	if ((resp = d2i_OCSP_RESPONSE(NULL, &p, (long)rep.r.body_len)) ==
	    NULL || p != rep.r.body + rep.r.body_len) {
		ctl_err("%s: not a DER OCSP response", w->url);
		goto out;
	}
	if (OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
	    (bs = OCSP_response_get1_basic(resp)) == NULL) {
		ctl_err("%s: the responder said %s", w->url,
		    OCSP_response_status_str(OCSP_response_status(resp)));
		goto out;
	}
	/* A cached answer carries no nonce (-1); a wrong one fails (0). */
	if (OCSP_check_nonce(req, bs) == 0) {
		ctl_err("%s: the answer's nonce is not ours", w->url);
		goto out;
	}
	if ((st = trust_store(c)) == NULL || (certs = sk_X509_new_null()) ==
	    NULL || !sk_X509_push(certs, issuer))
		goto out;
	if (OCSP_basic_verify(bs, certs, st, 0) <= 0) {
		ctl_err("%s: the answer does not verify against the issuer "
		    "and --cacert: %s", w->url,
		    ERR_reason_error_string(ERR_peek_last_error()));
		goto out;
	}
	if (OCSP_resp_find_status(bs, id, &w->status, &w->reason, &rev,
	    &thisupd, &nextupd) != 1) {
		ctl_err("%s: the answer is not about this certificate",
		    w->url);
		goto out;
	}
	if (OCSP_check_validity(thisupd, nextupd, 300, -1) != 1) {
		ctl_err("%s: the answer is outside its validity period",
		    w->url);
		goto out;
	}
	asn1_time(rev, w->revoked_at, sizeof(w->revoked_at));
	asn1_time(thisupd, w->this_update, sizeof(w->this_update));
	asn1_time(nextupd, w->next_update, sizeof(w->next_update));
	rc = CTL_EXIT_OK;
out:
	sk_X509_free(certs);
	X509_STORE_free(st);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	OPENSSL_free(der);
	ctl_reply_free(&rep);
	return rc;
}

static void
ocsp_print(const struct ctl *c, const struct ocsp_view *w)
{
	static const char *const names[] = {
		"serial", "status", "revoked_at", "reason", "this_update",
		"next_update", "responder"
	};
	const char *values[7];
	const char *st = OCSP_cert_status_str(w->status);
	int rev = w->status == V_OCSP_CERTSTATUS_REVOKED;

	if (c->json) {
		printf("{\"serial\":\"%s\",\"status\":\"%s\",\"revoked_at\":",
		    w->serial, st);
		if (rev)
			printf("\"%s\",\"reason\":\"%s\"", w->revoked_at,
			    reason_name(w->reason < 0 ? 0 : w->reason));
		else
			fputs("null,\"reason\":null", stdout);
		printf(",\"this_update\":\"%s\",\"next_update\":\"%s\","
		    "\"responder\":", w->this_update, w->next_update);
		ctl_json_write_str(stdout, w->url);
		puts("}");
		return;
	}
	values[0] = w->serial;
	values[1] = st;
	values[2] = rev ? w->revoked_at : "-";
	values[3] = rev ? reason_name(w->reason < 0 ? 0 : w->reason) : "-";
	values[4] = w->this_update;
	values[5] = w->next_update;
	values[6] = w->url;
	ctl_kv_print(stdout, names, values, 7);
}

int
ctl_cmd_ocsp_check(struct ctl *c, int argc, char **argv)
{
	enum { O_CFILE = 1, O_ICERT, O_URL };
	static const struct option lo[] = {
		{ "cert-file", required_argument, NULL, O_CFILE },
		{ "issuer-cert", required_argument, NULL, O_ICERT },
		{ "url", required_argument, NULL, O_URL },
		{ NULL, 0, NULL, 0 },
	};
	const struct ctl_verb *v = ctl_verb_find("ocsp", "check");
	const char *cfile = NULL, *icert = NULL, *url = NULL;
	char caurl[CTL_MAX_URL];
	struct ocsp_view w;
	OCSP_CERTID *id = NULL;
	X509 *x = NULL, *issuer = NULL;
	int ch, rc = CTL_EXIT_ERR;

	while ((ch = ctl_getopt(c, v, argc, argv, "", lo)) != -1) {
		if (ch == -3)
			return CTL_EXIT_OK;
		if (ch == -2)
			return CTL_EXIT_ERR;
		if (ch == O_CFILE)
			cfile = optarg;
		else if (ch == O_ICERT)
			icert = optarg;
		else
			url = optarg;
	}
	memset(&w, 0, sizeof(w));
	if ((x = ocsp_subject(c, v, cfile, argc, argv, &rc)) == NULL)
		goto out;
	rc = CTL_EXIT_ERR;
	serial_hex(X509_get0_serialNumber(x), w.serial, sizeof(w.serial));
	if (icert != NULL)
		issuer = cert_file(icert);
	else if (aia_url(x, NID_ad_ca_issuers, caurl, sizeof(caurl)))
		issuer = fetch_cert(c, caurl);
	else
		ctl_err("%s: no caIssuers URL in it; give --issuer-cert",
		    w.serial);
	if (issuer == NULL)
		goto out;
	if (url != NULL)
		snprintf(w.url, sizeof(w.url), "%s", url);
	else if (!aia_url(x, NID_ad_OCSP, w.url, sizeof(w.url))) {
		ctl_err("%s: no OCSP URL in it; give --url", w.serial);
		goto out;
	}
	/* RFC 6960 4.1.1: the issuer's name and key, the serial. */
	if ((id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), X509_get0_serialNumber(x))) ==
	    NULL)
		goto out;
	if ((rc = ocsp_ask(c, id, issuer, &w)) != CTL_EXIT_OK)
		goto out;
	ocsp_print(c, &w);
	/* Good is 0; revoked, and unknown (never issued here), are 1. */
	rc = w.status == V_OCSP_CERTSTATUS_GOOD ? CTL_EXIT_OK : CTL_EXIT_NO;
out:
	OCSP_CERTID_free(id);
	X509_free(issuer);
	X509_free(x);
	return rc;
}

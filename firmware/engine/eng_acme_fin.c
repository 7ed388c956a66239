/*
 * ACME finalize (RFC 8555 7.4): the order ready, the CSR naming exactly
 * its identifiers, then the one issuance path (eng_enroll_sign: policy,
 * lint, ledger, audit as for EST); and the certificate as a PEM chain
 * (7.4.2).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "eng_acme.h"

/* The CSR asks for exactly the order's identifiers (RFC 8555 7.4). */
struct eng_acme_fin {
	struct eng_acme			*a;
	const struct eng_acme_order	*o;
	int				 badcsr;
};

static int
eng_acme_fin_has(const struct eng_acme_order *o, const struct ca_name *nm)
{
	char ip[INET6_ADDRSTRLEN], name[ACME_MAX_IDENT + 1];
	size_t i;

	if (nm->type == CA_NAME_IP) {
		if (inet_ntop(nm->len == 4 ? AF_INET : AF_INET6, nm->val, ip,
		    sizeof(ip)) == NULL)
			return 0;
		eng_fmt(name, sizeof(name), "%s", ip);
	} else if (nm->type == CA_NAME_DNS && nm->len < sizeof(name)) {
		memcpy(name, nm->val, nm->len);
		name[nm->len] = '\0';
	} else
		return 0;
	for (i = 0; i < o->nauthz; i++)
		if (strcmp(o->authz[i].type, nm->type == CA_NAME_IP ? "ip" :
		    "dns") == 0 && strcasecmp(o->authz[i].value, name) == 0)
			return 1;
	return 0;
}

static int
eng_acme_fin_check(void *arg, const struct ca_csr *csr, char *authby,
    size_t authbylen, char *msg, size_t msglen)
{
	struct eng_acme_fin *f = arg;
	size_t i, j, n;

	for (i = 0; i < csr->nnames; i++)
		if (!eng_acme_fin_has(f->o, &csr->names[i])) {
			f->badcsr = 1;
			eng_fmt(msg, msglen, "CSR name %zu is not an "
			    "identifier of the order", i + 1);
			return PROTO_R_FORBIDDEN;
		}
	/* And every identifier is in the CSR (names are unique there). */
	for (j = 0, n = 0; j < f->o->nauthz; j++)
		for (i = 0; i < csr->nnames; i++) {
			struct eng_acme_order one = *f->o;

			one.authz = &f->o->authz[j];
			one.nauthz = 1;
			if (eng_acme_fin_has(&one, &csr->names[i])) {
				n++;
				break;
			}
		}
	if (n != f->o->nauthz) {
		f->badcsr = 1;
		eng_fmt(msg, msglen, "the CSR lacks identifiers of the order");
		return PROTO_R_FORBIDDEN;
	}
	eng_fmt(authby, authbylen, "acme:%s:%s", f->a->q->label,
	    f->a->acct.id);
	return PROTO_R_OK;
}

/*
 * A processing order carries, where a failed one carries its problem
 * document, who is finalizing it: "fin:<engine>:<since>", engine a random
 * id of this engine process.  An engine killed while finalizing leaves
 * the order processing; eng_acme_fin_settle then turns it invalid.
 */
static pthread_mutex_t	eng_acme_fin_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t		eng_acme_fin_boot;

static uint64_t
eng_acme_fin_engine(void)
{
	uint64_t id;

	pthread_mutex_lock(&eng_acme_fin_mu);
	while (eng_acme_fin_boot == 0 && RAND_bytes((unsigned char *)
	    &eng_acme_fin_boot, sizeof(eng_acme_fin_boot)) == 1)
		;
	id = eng_acme_fin_boot;
	pthread_mutex_unlock(&eng_acme_fin_mu);
	return id;
}

static void
eng_acme_fin_mark(struct eng_acme *a, char *out, size_t size)
{
	eng_fmt(out, size, "fin:%016llx:%lld",
	    (unsigned long long)eng_acme_fin_engine(),
	    (long long)eng_engine_now(a->e));
}

/*
 * An order left processing by a finalize that cannot finish any more:
 * that of another engine process, which with SQLite (one engine per
 * ledger) is a dead one, or with a shared ledger one that has been at it
 * for ENG_ACME_FIN_STALE.  It turns invalid (serverInternal: order
 * again).  A certificate the interrupted finalize may have made is in the
 * ledger and the audit log (eng_enroll_sign), never handed out; nothing
 * was handed out that is not recorded (DESIGN rule 4).
 */
void
eng_acme_fin_settle(struct eng_acme *a, const char *id,
    struct eng_acme_order *o)
{
	const char *be = a->rt->conf->storage_backend;
	unsigned long long eng = 0;
	long long since = 0;
	char err[ACME_MAX_PROBLEM + 1];
	size_t errlen;
	int shared = be != NULL && strcmp(be, "sqlite") != 0;

	if (strcmp(o->status, "processing") != 0 ||
	    sscanf(o->error, "fin:%16llx:%lld", &eng, &since) != 2 ||
	    eng == eng_acme_fin_engine() || (shared &&
	    eng_engine_now(a->e) - since < ENG_ACME_FIN_STALE))
		return;
	if (acme_problem_render(ACME_P_SERVER_INTERNAL, "finalize was "
	    "interrupted (the CA engine restarted): order again", err,
	    sizeof(err), &errlen) != ACME_OK)
		return;
	if (eng_acme_status_write(a, id, "invalid", "processing", err) !=
	    LEDGER_OK)
		return;
	log_warnx("msg=\"acme order settled\" order=%s status=invalid "
	    "reason=\"finalize interrupted by an engine restart\"", id);
	eng_fmt(o->status, sizeof(o->status), "invalid");
	eng_fmt(o->error, sizeof(o->error), "%s", err);
}

/* Finalize: ready -> processing -> valid, through eng_enroll_sign. */
int
eng_acme_finalize(struct eng_acme *a)
{
	struct ledger_acme_step st;
	struct eng_acme_order o;
	struct eng_acme_fin fin;
	struct acme_der *der = NULL;
	struct eng_ident id;
	struct eng_sign sg;
	struct ca_result res;
	char msg[PROTO_MAX_STR + 1], hex[2 * LEDGER_SERIAL_MAX + 1];
	char err[ACME_MAX_PROBLEM + 1], mark[64];
	size_t errlen;
	int rc, ans;

	memset(&res, 0, sizeof(res));
	memset(&id, 0, sizeof(id));
	if (eng_acme_order_load(a, a->q->id, &o) != LEDGER_OK || !o.found) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED, "no such order");
		goto out;
	}
	if (strcmp(o.status, "ready") != 0) {
		ans = eng_acme_problem(a, ACME_P_ORDER_NOT_READY,
		    "order is %s", o.status);
		goto out;
	}
	if ((der = calloc(1, sizeof(*der))) == NULL ||
	    (rc = acme_finalize_parse(a->jws->payload, a->jws->payloadlen,
	    der)) != ACME_OK) {
		ans = eng_acme_problem(a, ACME_P_BAD_CSR, "finalize: %s",
		    der == NULL ? "memory" : acme_strerror(rc));
		goto out;
	}
	/* Rate limit: the tenant's bucket, as for EST issuance. */
	if ((ans = eng_acme_limit_cert(a)) != -1)
		goto out;
	eng_acme_fin_mark(a, mark, sizeof(mark));
	if (eng_acme_status_write(a, a->q->id, "processing", "ready", mark) !=
	    LEDGER_OK) {
		ans = eng_acme_problem(a, ACME_P_ORDER_NOT_READY,
		    "order is being finalized");
		goto out;
	}
	id.kind = ENG_ID_ACME;
	eng_fmt(id.actor, sizeof(id.actor), "acme:%s:%s", a->q->label,
	    a->acct.id);
	eng_fmt(id.role, sizeof(id.role), "requester");
	eng_fmt(id.tenant, sizeof(id.tenant), "%s", a->acct.tenant);
	eng_fmt(id.profile, sizeof(id.profile), "%s", a->acct.profile);
	eng_ident_via(a->ev, &id);
	memset(&fin, 0, sizeof(fin));
	fin.a = a;
	fin.o = &o;
	memset(&sg, 0, sizeof(sg));
	sg.t = a->t;
	sg.pname = a->profile;
	sg.csr.ptr = der->der;
	sg.csr.len = der->len;
	sg.id = &id;
	sg.check = eng_acme_fin_check;
	sg.arg = &fin;
	rc = eng_enroll_sign(a->e, &sg, &res, hex, msg, sizeof(msg));
	/* Issue 19: ACME issuances count per target as ISSUE's do. */
	eng_stats_count(a->e->stats, a->tenant, a->profile, rc == PROTO_R_OK ?
	    ENG_ST_ISSUED : ENG_ST_REFUSED, rc);
	if (rc != PROTO_R_OK) {
		eng_audit_id(a->e, &id, a->tenant, AUDIT_REFUSE,
		    hex[0] ? hex : NULL, "denied", msg);
		if (acme_problem_render(fin.badcsr || rc == PROTO_R_BAD_REQUEST
		    ? ACME_P_BAD_CSR : ACME_P_UNAUTHORIZED, msg, err,
		    sizeof(err), &errlen) != ACME_OK)
			err[0] = '\0';
		eng_acme_status_write(a, a->q->id, "invalid", "processing",
		    err);
		ans = eng_acme_problem(a, fin.badcsr || rc ==
		    PROTO_R_BAD_REQUEST ? ACME_P_BAD_CSR : rc ==
		    PROTO_R_UNAVAILABLE ? ACME_P_SERVER_INTERNAL :
		    ACME_P_UNAUTHORIZED, "%s", msg);
		goto out;
	}
	memset(&st, 0, sizeof(st));
	st.stmt = LA_ORDER_CERT;
	st.one = 1;
	st.n = 3;
	st.v[0] = ledger_vt(a->q->id);
	st.v[1] = ledger_vb(res.serial, CA_SERIAL_LEN);
	st.v[2] = ledger_vb(res.cert, res.cert_len);
	/*
	 * The certificate and its audit row are durable (eng_enroll_sign);
	 * if this write fails the order stays processing and the
	 * certificate is found by authorized_by (docs/acme.md).
	 */
	if ((rc = ledger_acme_write(a->e->ledger, &st, 1, NULL)) !=
	    LEDGER_OK) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
		    "certificate %s issued but the order not updated: %s", hex,
		    ledger_strerror(rc));
		goto out;
	}
	eng_acme_order_free(&o);
	if (eng_acme_order_load(a, a->q->id, &o) != LEDGER_OK || !o.found)
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "ledger");
	else
		ans = eng_acme_order_answer(a, a->q->id, &o, 200);
out:
	ca_result_free(&res);
	free(der);
	eng_acme_order_free(&o);
	return ans;
}

/* The certificate and the issuer's chain, PEM (RFC 8555 7.4.2). */
int
eng_acme_cert(struct eng_acme *a)
{
	const struct eng_rt_issuer *ri = NULL;
	struct eng_acme_order o;
	const uint8_t *p;
	X509 *x = NULL, *c;
	BIO *bio = NULL;
	BUF_MEM *bm;
	size_t i;
	int ans, ok = 1;

	if (eng_acme_order_load(a, a->q->id, &o) != LEDGER_OK || !o.found ||
	    o.cert == NULL) {
		ans = eng_acme_problem(a, ACME_P_MALFORMED,
		    "no such certificate");
		goto out;
	}
	p = o.cert;
	if ((x = d2i_X509(NULL, &p, (long)o.cert_len)) != NULL)
		for (i = 0; ri == NULL && i < a->t->nissuers; i++)
			if (a->t->issuers[i].ready && X509_check_issued(
			    a->t->issuers[i].iss.cert, x) == X509_V_OK)
				ri = &a->t->issuers[i];
	if (ri == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL,
		    "issuer of the certificate not loaded");
		goto out;
	}
	ok = PEM_write_bio_X509(bio, x) == 1;
	for (i = 0; ok && i < ri->nder; i++) {
		p = ri->der[i];
		if ((c = d2i_X509(NULL, &p, (long)ri->der_len[i])) == NULL)
			ok = 0;
		else
			ok = PEM_write_bio_X509(bio, c) == 1;
		X509_free(c);
	}
	BIO_get_mem_ptr(bio, &bm);
	if (!ok || bm->length >= PROTO_MAX_BLOB) {
		ans = eng_acme_problem(a, ACME_P_SERVER_INTERNAL, "chain");
		goto out;
	}
	memcpy(a->out, bm->data, bm->length);
	a->outlen = bm->length;
	ans = eng_acme_answer(a, 200, PROTO_ACME_CT_PEM, NULL);
out:
	BIO_free(bio);
	X509_free(x);
	eng_acme_order_free(&o);
	return ans;
}

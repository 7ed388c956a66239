/*
 * signet-engine's handlers in-process, on a SoftHSMv2 token and a SQLite
 * ledger, through the same encode/decode path the front ends use: every
 * message type, role and tenant refusals, enrollment tokens (reuse
 * refused), re-enrollment rules, and failing closed when the ledger
 * cannot be written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <signet/sconf_client.h>

#include "engine_fx.h"
#include "faultvfs.h"
#include "testutil.h"

static struct efx F;

static int
setup(void **state)
{
	efx_init(&F);
	*state = &F;
	return 0;
}

static int
teardown(void **state)
{
	efx_free(&F);
	return 0;
}

/*
 * ISSUE for names as the holder of cert x; returns the reply.  A tenant
 * of "/label" comes by that EST label ("/" the unlabelled path).
 */
static void
issue_as(struct efx *f, int type, X509 *x, const char *secret,
    const char *tenant, const char *profile, const char *const *names,
    size_t n, struct proto_reply *rep)
{
	static uint8_t der[PROTO_MAX_CERT];
	struct proto_request req;
	uint8_t *csr;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.type = (uint16_t)type;
	if (x != NULL)
		efx_ev_cert(&req, PROTO_PEER_HTTPS, x, der, sizeof(der));
	else if (secret != NULL)
		efx_ev_token(&req, secret);
	csr = efx_csr(f, names, n, &len);
	if (tenant[0] == '/') {
		req.u.issue.via = PROTO_VIA_EST;
		snprintf(req.u.issue.label, sizeof(req.u.issue.label), "%s",
		    tenant + 1);
	} else {
		snprintf(req.u.issue.tenant, sizeof(req.u.issue.tenant), "%s",
		    tenant);
		snprintf(req.u.issue.profile, sizeof(req.u.issue.profile),
		    "%s", profile);
	}
	req.u.issue.csr.ptr = csr;
	req.u.issue.csr.len = len;
	if (type == PROTO_T_REISSUE && x != NULL) {
		req.u.issue.cur_cert.ptr = der;
		req.u.issue.cur_cert.len = req.ev.chain.certs[0].len;
	}
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, rep), 0);
	free(csr);
}

static X509 *
cert_of(const struct proto_reply *rep)
{
	const unsigned char *p = rep->u.cert.cert.ptr;
	X509 *x = d2i_X509(NULL, &p, (long)rep->u.cert.cert.len);

	assert_non_null(x);
	return x;
}

static void
serial_of(X509 *x, struct ledger_serial *s)
{
	const ASN1_INTEGER *sn = X509_get0_serialNumber(x);

	s->len = (size_t)sn->length;
	memcpy(s->b, sn->data, s->len);
}

/* The ledger's authorized_by of certificate x (issue 13). */
static void
assert_authby(struct efx *f, X509 *x, const char *want)
{
	struct ledger_serial s;
	struct ledger_cert row;

	serial_of(x, &s);
	assert_int_equal(ledger_get_any(f->ledger, &s, &row), LEDGER_OK);
	assert_string_equal(row.authorized_by, want);
	ledger_cert_clear(&row);
}

/* "<prefix>:<lower-case hex serial of x>" */
static void
serial_cred(const char *prefix, X509 *x, char *buf, size_t size)
{
	struct ledger_serial s;
	char hex[2 * LEDGER_SERIAL_MAX + 1];

	serial_of(x, &s);
	assert_int_equal(ledger_serial_hex(&s, hex, sizeof(hex)), 0);
	snprintf(buf, size, "%s:%s", prefix, hex);
}

/* "cert:sha256:<fingerprint of x>" */
static void
fp_cred(X509 *x, char *buf, size_t size)
{
	unsigned char md[32];
	unsigned int i, n = 0;
	size_t k;

	assert_int_equal(X509_digest(x, EVP_sha256(), md, &n), 1);
	k = (size_t)snprintf(buf, size, "cert:sha256:");
	for (i = 0; i < n; i++)
		k += (size_t)snprintf(buf + k, size - k, "%02x", md[i]);
}

static void
test_issue_and_ledger(void **state)
{
	struct efx *f = *state;
	static const char *const names[] = { "a.example.com",
	    "b.example.com" };
	struct proto_reply rep;
	struct ledger_serial s;
	struct ledger_cert row;
	X509 *svc = efx_client(f, "svc-1", -60, 3600), *x;
	X509 *agent = efx_client(f, "agent-1", -60, 3600);

	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 2, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	/* cert, the intermediate and the root */
	assert_int_equal(rep.u.cert.chain.ncerts, 2);
	x = cert_of(&rep);
	serial_of(x, &s);
	assert_int_equal(ledger_get(f->ledger, "acme", &s, &row), LEDGER_OK);
	assert_int_equal(row.status, LEDGER_ISSUED);
	assert_int_equal(row.der_len, rep.u.cert.cert.len);
	assert_memory_equal(row.der, rep.u.cert.cert.ptr, row.der_len);
	assert_string_equal(row.requester, "CN=svc-1");
	assert_string_equal(row.sans, "a.example.com,b.example.com");
	ledger_cert_clear(&row);
	/* Tenant isolation: beta's ledger view has no such serial. */
	assert_int_equal(ledger_get(f->ledger, "beta", &s, &row),
	    LEDGER_ERR_NOTFOUND);
	assert_int_equal(tu_sql_int(f->db, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'issue' AND actor = 'CN=svc-1'"), 1);

	/* Another tenant, a name outside the profile, a CA:TRUE request. */
	issue_as(f, PROTO_T_ISSUE, svc, NULL, "beta", "web",
	    (const char *const []){ "x.beta.test" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "may not issue in tenant beta");
	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web",
	    (const char *const []){ "x.beta.test" }, 1, &rep);
	efx_expect(&rep, PROTO_R_BAD_REQUEST, "x.beta.test");
	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "nosuch", names, 1,
	    &rep);
	efx_expect(&rep, PROTO_R_NOT_FOUND, "no profile nosuch");
	/* A requester of the device profile only by its roles list. */
	issue_as(f, PROTO_T_ISSUE, agent, NULL, "acme", "device",
	    (const char *const []){ "d.devices.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "role agent may not use profile");
	assert_true(tu_sql_int(f->db, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'refuse'") >= 4);
	X509_free(agent);
	X509_free(x);
	X509_free(svc);
}

static void
test_client_evidence(void **state)
{
	struct efx *f = *state;
	static const char *const names[] = { "c.example.com" };
	struct proto_reply rep;
	X509 *old = efx_client(f, "svc-1", -7200, -3600);
	X509 *stranger = efx_client(f, "nobody", -60, 3600);

	issue_as(f, PROTO_T_ISSUE, old, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "client certificate expired");
	issue_as(f, PROTO_T_ISSUE, stranger, NULL, "acme", "web", names, 1,
	    &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "no configured client");
	issue_as(f, PROTO_T_ISSUE, NULL, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "no client certificate");
	issue_as(f, PROTO_T_ISSUE, NULL, "00112233", "acme", "web", names, 1,
	    &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "unknown enrollment token");
	assert_true(tu_sql_int(f->db, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'auth_fail'") >= 3);
	X509_free(old);
	X509_free(stranger);
}

static void
revoke(struct efx *f, X509 *as, const char *tenant,
    const struct ledger_serial *s, struct proto_reply *rep)
{
	static uint8_t der[PROTO_MAX_CERT];
	struct proto_request req;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_REVOKE;
	efx_ev_cert(&req, PROTO_PEER_HTTPS, as, der, sizeof(der));
	snprintf(req.u.revoke.tenant, sizeof(req.u.revoke.tenant), "%s",
	    tenant);
	req.u.revoke.serial.ptr = s->b;
	req.u.revoke.serial.len = s->len;
	req.u.revoke.reason = 1;
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, rep), 0);
}

static void
test_reissue(void **state)
{
	struct efx *f = *state;
	static const char *const names[] = { "r.example.com",
	    "s.example.com" };
	struct proto_reply rep;
	struct ledger_serial s;
	X509 *svc = efx_client(f, "svc-1", -60, 3600), *mine, *op;

	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 2, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	mine = cert_of(&rep);
	/* Renewal with a subset of the names works, as a requester. */
	issue_as(f, PROTO_T_REISSUE, mine, NULL, "acme", "web", names, 1,
	    &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	/* A name the old certificate lacks, another profile, a stranger. */
	issue_as(f, PROTO_T_REISSUE, mine, NULL, "acme", "web",
	    (const char *const []){ "t.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "an issued certificate may only "
	    "renew itself: name t.example.com is not in the certificate");
	issue_as(f, PROTO_T_REISSUE, mine, NULL, "acme", "device",
	    (const char *const []){ "r.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "it is of profile web, not device");
	issue_as(f, PROTO_T_REISSUE, svc, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "needs a current certificate");
	issue_as(f, PROTO_T_REISSUE, mine, NULL, "beta", "web",
	    (const char *const []){ "r.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "tenant beta");
	/* Our own certificate may not revoke: requesters never can. */
	serial_of(mine, &s);
	revoke(f, mine, "acme", &s, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "role requester may not revoke");
	op = efx_client(f, "operator-1", -60, 3600);
	revoke(f, op, "acme", &s, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	revoke(f, op, "acme", &s, &rep);
	efx_expect(&rep, PROTO_R_CONFLICT, NULL);
	/* Revoked: no longer an identity. */
	issue_as(f, PROTO_T_REISSUE, mine, NULL, "acme", "web", names, 1,
	    &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "client certificate revoked");
	X509_free(svc);
	X509_free(mine);
	X509_free(op);
}

/* issue_as with a requested TTL. */
static void
issue_ttl(struct efx *f, X509 *x, const char *const *names, size_t n,
    uint64_t ttl, struct proto_reply *rep)
{
	static uint8_t der[PROTO_MAX_CERT];
	struct proto_request req;
	uint8_t *csr;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ISSUE;
	efx_ev_cert(&req, PROTO_PEER_HTTPS, x, der, sizeof(der));
	csr = efx_csr(f, names, n, &len);
	snprintf(req.u.issue.tenant, sizeof(req.u.issue.tenant), "acme");
	snprintf(req.u.issue.profile, sizeof(req.u.issue.profile), "web");
	req.u.issue.csr.ptr = csr;
	req.u.issue.csr.len = len;
	req.u.issue.ttl = ttl;
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, rep), 0);
	free(csr);
}

/*
 * DESIGN.md rule 9 (issue 13): a certificate this CA issued is a renewal
 * credential and nothing more, on ISSUE (EST simpleenroll, /v1/sign,
 * EST-coaps sen) as on REISSUE, unless its profile says self_service.
 */
static void
test_issued_renews_only_itself(void **state)
{
	struct efx *f = *state;
	static const char *const names[] = { "r.example.com",
	    "s.example.com" };
	struct proto_reply rep;
	X509 *svc = efx_client(f, "svc-1", -60, 3600), *mine, *x;
	const ASN1_TIME *na;
	char cred[160];
	int days, secs;

	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 2, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	mine = cert_of(&rep);
	/* Issue 13: a client-CA certificate is recorded by fingerprint. */
	fp_cred(svc, cred, sizeof(cred));
	assert_authby(f, mine, cred);
	/* New names: refused, and nothing is recorded for them. */
	issue_as(f, PROTO_T_ISSUE, mine, NULL, "acme", "web",
	    (const char *const []){ "t.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "an issued certificate may only "
	    "renew itself: name t.example.com is not in the certificate");
	issue_as(f, PROTO_T_ISSUE, mine, NULL, "acme", "web",
	    (const char *const []){ "r.example.com", "t.example.com" }, 2,
	    &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "name t.example.com");
	assert_int_equal(tu_sql_int(f->db, "SELECT count(*) FROM certs WHERE"
	    " sans LIKE '%t.example.com%'"), 0);
	/* Another profile of its tenant, by an explicit label: refused. */
	issue_as(f, PROTO_T_ISSUE, mine, NULL, "acme", "device",
	    (const char *const []){ "r.devices.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "it is of profile web, not device");
	/* Its own names (a subset) through simpleenroll: a renewal. */
	issue_as(f, PROTO_T_ISSUE, mine, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	x = cert_of(&rep);
	serial_cred("renewal", mine, cred, sizeof(cred));
	assert_authby(f, x, cred);
	X509_free(x);
	/* The TTL stays within the profile (max_ttl 86400). */
	issue_ttl(f, mine, names, 2, 30 * 86400, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	x = cert_of(&rep);
	na = X509_get0_notAfter(x);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, na), 1);
	assert_true(days * 86400 + secs <= 86400 + 60);
	X509_free(x);
	/* A profile that opts in: new names through simpleenroll only. */
	f->conf->tenants[0].profiles[0].self_service = 1;
	issue_as(f, PROTO_T_ISSUE, mine, NULL, "acme", "web",
	    (const char *const []){ "t.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	x = cert_of(&rep);
	serial_cred("self-service", mine, cred, sizeof(cred));
	assert_authby(f, x, cred);
	X509_free(x);
	assert_int_equal(tu_sql_int(f->db, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'issue' AND detail LIKE '%authorized_by=self-"
	    "service:%'"), 1);
	issue_as(f, PROTO_T_REISSUE, mine, NULL, "acme", "web",
	    (const char *const []){ "u.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "name u.example.com");
	issue_as(f, PROTO_T_ISSUE, mine, NULL, "acme", "device",
	    (const char *const []){ "r.devices.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "it is of profile web, not device");
	/* A mapped client certificate of role requester is not limited. */
	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web",
	    (const char *const []){ "v.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	X509_free(mine);
	X509_free(svc);
}

/*
 * A client mapping applies only to certificates from the client CA it
 * names (issue 13): with a mapping naming another CA's DN, the same
 * certificate maps to nothing; naming the right DN, it maps.
 */
static void
test_client_ca_mapping(void **state)
{
	struct efx *f = *state;
	static const char *const names[] = { "m.example.com" };
	struct sconf_client *c = &f->conf->clients[3];	/* svc-1 */
	struct proto_reply rep;
	X509 *svc = efx_client(f, "svc-1", -60, 3600);
	char dn[512];

	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	/*
	 * The mapping is changed in place, not by a reload (a new runtime):
	 * each step presents a certificate of its own (a new serial), so
	 * the runtime's identity cache (issue 17) has not seen it.
	 */
	X509_free(svc);
	svc = efx_client(f, "svc-1", -60, 3600);
	/* issuer_cert (the root's file) and an issuer DN of another CA. */
	c->issuer = strdup("CN=Look-alike Operators,O=Elsewhere");
	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "maps to no configured client "
	    "(none names its CA");
	/* The DN of the test root, as openssl -nameopt RFC2253 prints it. */
	free(c->issuer);
	assert_int_equal(sconf_client_dn(f->root, dn, sizeof(dn)), 0);
	c->issuer = strdup(dn);
	X509_free(svc);
	svc = efx_client(f, "svc-1", -60, 3600);
	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	X509_free(svc);
}

static void
test_admin_roles(void **state)
{
	struct efx *f = *state;
	static uint8_t der[PROTO_MAX_CERT];
	static const char *const names[] = { "l.example.com" };
	struct proto_request req;
	struct proto_reply rep;
	struct ledger_serial s;
	X509 *svc = efx_client(f, "svc-1", -60, 3600), *x;
	X509 *aud = efx_client(f, "auditor-1", -60, 3600);
	X509 *agent = efx_client(f, "agent-1", -60, 3600);

	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	x = cert_of(&rep);
	serial_of(x, &s);

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_GET_CERT;
	efx_ev_cert(&req, PROTO_PEER_HTTPS, aud, der, sizeof(der));
	snprintf(req.u.get.tenant, sizeof(req.u.get.tenant), "acme");
	req.u.get.serial.ptr = s.b;
	req.u.get.serial.len = s.len;
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(rep.u.get.sum.status, PROTO_CS_VALID);
	assert_string_equal(rep.u.get.sum.profile, "web");
	assert_int_equal(strncmp(rep.u.get.sum.authorized_by, "cert:sha256:",
	    12), 0);
	/* Another tenant: the auditor is not in beta. */
	snprintf(req.u.get.tenant, sizeof(req.u.get.tenant), "beta");
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "tenant beta");
	/* The requester cannot read. */
	efx_ev_cert(&req, PROTO_PEER_HTTPS, svc, der, sizeof(der));
	snprintf(req.u.get.tenant, sizeof(req.u.get.tenant), "acme");
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "role requester");

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_LIST_CERTS;
	efx_ev_cert(&req, PROTO_PEER_HTTPS, aud, der, sizeof(der));
	snprintf(req.u.list.tenant, sizeof(req.u.list.tenant), "acme");
	req.u.list.limit = 10;
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(rep.u.list.n, 1);
	assert_int_equal(rep.u.list.total, 1);
	/* The filter on the credential: the svc certificate's, another. */
	fp_cred(svc, req.u.list.authorized_by, sizeof(req.u.list.authorized_by));
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(rep.u.list.total, 1);
	snprintf(req.u.list.authorized_by, sizeof(req.u.list.authorized_by),
	    "token:nosuch");
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(rep.u.list.total, 0);

	/* The auditor may not revoke; the agent may; CoAP may not ask. */
	revoke(f, aud, "acme", &s, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "role auditor may not revoke");
	revoke(f, agent, "acme", &s, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_REVOKE;
	snprintf(req.u.revoke.tenant, sizeof(req.u.revoke.tenant), "acme");
	req.u.revoke.serial.ptr = s.b;
	req.u.revoke.serial.len = s.len;
	assert_int_equal(efx_call(f, PROTO_PEER_COAP, &req, &rep), -1);
	/* The parent's control channel is the local operator. */
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_LIST_CERTS;
	snprintf(req.u.list.tenant, sizeof(req.u.list.tenant), "beta");
	req.u.list.limit = 10;
	assert_int_equal(efx_call(f, PROTO_PEER_CONTROL, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(rep.u.list.n, 0);
	X509_free(x);
	X509_free(svc);
	X509_free(aud);
	X509_free(agent);
}

/* Issue 19: TIDY is an operator's, in its own tenants, never CoAP's. */
static void
test_tidy_roles(void **state)
{
	struct efx *f = *state;
	static uint8_t der[PROTO_MAX_CERT];
	static const char *const names[] = { "t.example.com" };
	struct proto_request req;
	struct proto_reply rep;
	X509 *svc = efx_client(f, "svc-1", -60, 3600);
	X509 *aud = efx_client(f, "auditor-1", -60, 3600);
	X509 *agent = efx_client(f, "agent-1", -60, 3600);
	X509 *op = efx_client(f, "operator-1", -60, 3600);
	X509 *who[3] = { aud, agent, svc };
	const char *why[3] = { "role auditor may not tidy",
	    "role agent may not tidy", "role requester may not tidy" };
	int i;

	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_TIDY;
	snprintf(req.u.tidy.tenant, sizeof(req.u.tidy.tenant), "acme");
	for (i = 0; i < 3; i++) {
		efx_ev_cert(&req, PROTO_PEER_HTTPS, who[i], der, sizeof(der));
		assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
		efx_expect(&rep, PROTO_R_FORBIDDEN, why[i]);
	}
	efx_ev_cert(&req, PROTO_PEER_HTTPS, op, der, sizeof(der));
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	/* The certificate is valid: nothing to remove, and done. */
	assert_int_equal(rep.u.tidy.certs, 0);
	assert_int_equal(rep.u.tidy.done, 1);
	snprintf(req.u.tidy.tenant, sizeof(req.u.tidy.tenant), "beta");
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "may not tidy in tenant beta");
	memset(&req.ev, 0, sizeof(req.ev));
	assert_int_equal(efx_call(f, PROTO_PEER_COAP, &req, &rep), -1);
	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_TIDY;
	snprintf(req.u.tidy.tenant, sizeof(req.u.tidy.tenant), "beta");
	assert_int_equal(efx_call(f, PROTO_PEER_CONTROL, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	X509_free(svc);
	X509_free(aud);
	X509_free(agent);
	X509_free(op);
}

static void
make_token(struct efx *f, X509 *as, const char *name, uint16_t uses,
    struct proto_reply *rep)
{
	static uint8_t der[PROTO_MAX_CERT];
	struct proto_request req;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_TOKEN_CREATE;
	efx_ev_cert(&req, PROTO_PEER_HTTPS, as, der, sizeof(der));
	snprintf(req.u.token.tenant, sizeof(req.u.token.tenant), "acme");
	snprintf(req.u.token.profile, sizeof(req.u.token.profile), "device");
	if (name != NULL) {
		req.u.token.nnames = 1;
		snprintf(req.u.token.names[0], sizeof(req.u.token.names[0]),
		    "%s", name);
	}
	req.u.token.lifetime = 600;
	req.u.token.uses = uses;
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, rep), 0);
}

static void
test_tokens(void **state)
{
	struct efx *f = *state;
	static const char *const dev[] = { "d1.devices.example.com" };
	struct proto_reply rep;
	char secret[PROTO_MAX_TOKEN + 1], cred[64];
	X509 *op = efx_client(f, "operator-1", -60, 3600), *x;
	X509 *agent = efx_client(f, "agent-1", -60, 3600);

	make_token(f, agent, NULL, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "may not create enrollment tokens");
	make_token(f, op, "d1.devices.example.com", 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	snprintf(secret, sizeof(secret), "%s", rep.u.token.secret);
	assert_int_equal(strlen(secret), 16 + 1 + 2 * ENG_TOKEN_SECRET_BYTES);
	assert_int_equal(strncmp(secret, rep.u.token.id, 16), 0);
	/* Only the hash is stored. */
	assert_int_equal(tu_sql_int(f->db, "SELECT count(*) FROM enroll_tokens"
	    " WHERE length(hash) = 32"), 1);

	/* The unlabelled EST path (est_default, acme/web) enrolls a token
	 * into its own profile (device), where this name is not allowed. */
	issue_as(f, PROTO_T_ISSUE, NULL, secret, "/", "",
	    (const char *const []){ "d1.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN,
	    "not allowed by the enrollment token");
	/*
	 * Issue 15: est_default's profile named explicitly, by its label or
	 * by name (/v1/sign), is not the unlabelled path: the token, of
	 * profile device, is refused there and not used up.
	 */
	issue_as(f, PROTO_T_ISSUE, NULL, secret, "/web", "", dev, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "enrollment token is for profile "
	    "device");
	issue_as(f, PROTO_T_ISSUE, NULL, secret, "acme", "web", dev, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN, "enrollment token is for profile "
	    "device");
	issue_as(f, PROTO_T_ISSUE, NULL, secret, "/nosuch", "", dev, 1, &rep);
	efx_expect(&rep, PROTO_R_NOT_FOUND, "unknown EST label");
	issue_as(f, PROTO_T_ISSUE, NULL, secret, "", "",
	    (const char *const []){ "d2.devices.example.com" }, 1, &rep);
	efx_expect(&rep, PROTO_R_FORBIDDEN,
	    "not allowed by the enrollment token");
	/* Empty tenant and profile: the token's own. */
	issue_as(f, PROTO_T_ISSUE, NULL, secret, "", "", dev, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	x = cert_of(&rep);
	snprintf(cred, sizeof(cred), "token:%.16s", secret);
	assert_authby(f, x, cred);
	X509_free(x);
	issue_as(f, PROTO_T_ISSUE, NULL, secret, "", "", dev, 1, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "already used");
	assert_int_equal(tu_sql_int(f->db, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'issue' AND actor LIKE 'token:%'"), 1);
	X509_free(op);
	X509_free(agent);
}

static void
test_public(void **state)
{
	struct efx *f = *state;
	struct proto_request req;
	struct proto_reply rep;
	const unsigned char *p;
	ASN1_TYPE *t;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_CACERTS;
	assert_int_equal(efx_call(f, PROTO_PEER_COAP, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(rep.u.chain.ncerts, 2);
	snprintf(req.u.target.tenant, sizeof(req.u.target.tenant), "nosuch");
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_NOT_FOUND, NULL);

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_CSRATTRS;
	snprintf(req.u.target.tenant, sizeof(req.u.target.tenant), "beta");
	snprintf(req.u.target.profile, sizeof(req.u.target.profile), "web");
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	p = rep.u.der.ptr;
	t = d2i_ASN1_TYPE(NULL, &p, (long)rep.u.der.len);
	assert_non_null(t);
	assert_int_equal(ASN1_TYPE_get(t), V_ASN1_SEQUENCE);
	assert_ptr_equal(p, rep.u.der.ptr + rep.u.der.len);
	ASN1_TYPE_free(t);

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_HEALTH;
	assert_int_equal(efx_call(f, PROTO_PEER_CONTROL, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(rep.u.health.state, PROTO_STATE_READY);
	assert_int_equal(rep.u.health.token_ok, 1);
	assert_int_equal(rep.u.health.ledger_ok, 1);

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_CRL;
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_UNAVAILABLE, "CRL");
}

static void
test_malformed(void **state)
{
	struct efx *f = *state;
	uint8_t junk[] = { 0x01, 0x02, 0x03 }, out[256];
	size_t outlen;

	/* A body that does not decode closes the channel, nothing else. */
	assert_int_equal(eng_engine_request(f->e, PROTO_PEER_HTTPS,
	    PROTO_T_ISSUE, junk, sizeof(junk), out, sizeof(out), &outlen), -1);
	assert_int_equal(eng_engine_request(f->e, PROTO_PEER_HTTPS, 77, junk,
	    0, out, sizeof(out), &outlen), -1);
}

static void
test_fail_closed(void **state)
{
	struct efx *f = *state;
	static const char *const names[] = { "fc.example.com" };
	struct proto_reply rep;
	X509 *svc = efx_client(f, "svc-1", -60, 3600);

	faultvfs_fail(1);
	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 1, &rep);
	faultvfs_fail(0);
	efx_expect(&rep, PROTO_R_UNAVAILABLE, "ledger");
	assert_int_equal(tu_sql_int(f->db, "SELECT count(*) FROM certs"
	    " WHERE status = 1"), 0);
	/* The disk is back: the next request is served. */
	issue_as(f, PROTO_T_ISSUE, svc, NULL, "acme", "web", names, 1, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(tu_sql_int(f->db, "SELECT count(*) FROM certs"
	    " WHERE status = 1"), 1);
	X509_free(svc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_issue_and_ledger, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_client_evidence, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reissue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_issued_renews_only_itself,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_ca_mapping, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_admin_roles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tidy_roles, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_fail_closed, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

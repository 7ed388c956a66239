/*
 * Enrollment tokens and the DTLS PSK (issue 13), in-process against a
 * SoftHSMv2 token and a SQLite ledger: the row the ledger stores does not
 * yield the PSK (nor the token), the engine serves the PSK that the
 * device computes from its token, the token key is a non-extractable
 * HMAC key in the token, an enrollment over CoAP needs the one-time
 * handle of a PSK lookup of that token (missing, foreign, reused and
 * evicted handles refused), and tokens stored in the old format stay
 * bearer tokens over HTTPS but get no PSK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "engine_fx.h"
#include "faultvfs.h"
#include "testutil.h"

static struct efx F;
static const char *const dev[] = { "d1.devices.example.com" };

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

static void
hex(const uint8_t *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The device's PSK (README): hex of HMAC(SHA-256(token), label)[0..16). */
static void
psk_from_key(const uint8_t key[32], char out[33])
{
	static const char label[] = "signet dtls psk";
	uint8_t mac[32];
	unsigned int len = sizeof(mac);

	assert_non_null(HMAC(EVP_sha256(), key, 32,
	    (const unsigned char *)label, sizeof(label) - 1, mac, &len));
	hex(mac, 16, out);
}

static void
device_psk(const char *token, char out[33])
{
	uint8_t h[32];

	SHA256((const unsigned char *)token, strlen(token), h);
	psk_from_key(h, out);
}

/* A token for acme/device with uses; its secret and id copied out. */
static void
make_token(struct efx *f, uint16_t uses, char *secret, size_t ssize,
    char *id, size_t isize)
{
	static uint8_t der[PROTO_MAX_CERT];
	struct proto_request req;
	struct proto_reply rep;
	X509 *op = efx_client(f, "operator-1", -60, 3600);

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_TOKEN_CREATE;
	efx_ev_cert(&req, PROTO_PEER_HTTPS, op, der, sizeof(der));
	snprintf(req.u.token.tenant, sizeof(req.u.token.tenant), "acme");
	snprintf(req.u.token.profile, sizeof(req.u.token.profile), "device");
	req.u.token.lifetime = 600;
	req.u.token.uses = uses;
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, &rep), 0);
	efx_expect(&rep, PROTO_R_OK, NULL);
	snprintf(secret, ssize, "%s", rep.u.token.secret);
	assert_true(strlen(rep.u.token.id) < isize);
	memcpy(id, rep.u.token.id, strlen(rep.u.token.id) + 1);
	X509_free(op);
}

static void
lookup(struct efx *f, const char *id, struct proto_reply *rep)
{
	struct proto_request req;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_PSK_LOOKUP;
	req.ev.peer = PROTO_PEER_COAP;
	snprintf(req.u.psk.identity, sizeof(req.u.psk.identity), "%s", id);
	assert_int_equal(efx_call(f, PROTO_PEER_COAP, &req, rep), 0);
}

/* ISSUE over CoAP as the DTLS front end says a PSK session of id asks. */
static void
coap_issue(struct efx *f, const char *id, const uint8_t *handle,
    struct proto_reply *rep)
{
	struct proto_request req;
	uint8_t *csr;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ISSUE;
	req.ev.peer = PROTO_PEER_COAP;
	req.ev.kind = PROTO_EV_TOKEN;
	req.ev.token_src = PROTO_TOKSRC_PSK_ID;
	snprintf(req.ev.token, sizeof(req.ev.token), "%s", id);
	if (handle != NULL)
		memcpy(req.ev.psk_handle, handle, PROTO_PSK_HANDLE_LEN);
	csr = efx_csr(f, dev, 1, &len);
	req.u.issue.csr.ptr = csr;
	req.u.issue.csr.len = len;
	assert_int_equal(efx_call(f, PROTO_PEER_COAP, &req, rep), 0);
	free(csr);
}

static void
https_issue(struct efx *f, const char *secret, struct proto_reply *rep)
{
	struct proto_request req;
	uint8_t *csr;
	size_t len;

	memset(&req, 0, sizeof(req));
	req.type = PROTO_T_ISSUE;
	efx_ev_token(&req, secret);
	csr = efx_csr(f, dev, 1, &len);
	req.u.issue.csr.ptr = csr;
	req.u.issue.csr.len = len;
	assert_int_equal(efx_call(f, PROTO_PEER_HTTPS, &req, rep), 0);
	free(csr);
}

static void
test_psk_not_from_ledger(void **state)
{
	struct efx *f = *state;
	static const char vlabel[] = "signet token verifier v2";
	struct ledger_token t;
	struct proto_reply rep;
	struct hsm_key_info *v = NULL;
	char secret[PROTO_MAX_TOKEN + 1], id[64], want[33], old[33];
	char got[33];
	uint8_t h[32], buf[256];
	size_t n, i, found = 0;

	make_token(f, 1, secret, sizeof(secret), id, sizeof(id));
	assert_int_equal(ledger_token_get_id(f->ledger, id, &t), LEDGER_OK);
	/* The stored row is neither SHA-256(token) (the PSK's key) ... */
	SHA256((const unsigned char *)secret, strlen(secret), h);
	assert_memory_not_equal(t.hash, h, 32);
	/* ... but the domain-separated verifier. */
	memcpy(buf, vlabel, sizeof(vlabel));
	memcpy(buf + sizeof(vlabel), secret, strlen(secret));
	SHA256(buf, sizeof(vlabel) + strlen(secret), h);
	assert_memory_equal(t.hash, h, 32);

	/* The engine serves the PSK the device computes from its token,
	 * which the old formula over the stored row does not give. */
	lookup(f, id, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	assert_int_equal(rep.u.psk.len, 32);
	memcpy(got, rep.u.psk.key, 32);
	got[32] = '\0';
	device_psk(secret, want);
	assert_string_equal(got, want);
	psk_from_key(t.hash, old);
	assert_string_not_equal(got, old);

	/* The token key: an HMAC secret that cannot leave the token. */
	assert_int_equal(hsm_key_list(f->hsm, &v, &n), HSM_OK);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].label, "signet-token-key") != 0)
			continue;
		found++;
		assert_int_equal(v[i].type, HSM_KEY_HMAC_SHA256);
		assert_true(v[i].sensitive);
		assert_false(v[i].extractable);
	}
	free(v);
	assert_int_equal(found, 1);
}

static void
test_psk_handle(void **state)
{
	struct efx *f = *state;
	struct proto_reply rep;
	char secret[PROTO_MAX_TOKEN + 1], id[64], s2[PROTO_MAX_TOKEN + 1];
	char id2[64];
	uint8_t h1[PROTO_PSK_HANDLE_LEN], h2[PROTO_PSK_HANDLE_LEN];
	uint8_t hs[5][PROTO_PSK_HANDLE_LEN], zero[PROTO_PSK_HANDLE_LEN];
	size_t i;

	make_token(f, 2, secret, sizeof(secret), id, sizeof(id));
	make_token(f, 1, s2, sizeof(s2), id2, sizeof(id2));
	memset(zero, 0, sizeof(zero));

	/* A token id the front end merely names: no handle, refused. */
	coap_issue(f, id, NULL, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "handshake again");
	coap_issue(f, id, zero, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "handshake again");

	lookup(f, id, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	memcpy(h1, rep.u.psk.handle, sizeof(h1));
	assert_memory_not_equal(h1, zero, sizeof(h1));
	/* A live handle presented for another token: refused, and spent. */
	coap_issue(f, id2, h1, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "handshake again");
	coap_issue(f, id, h1, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "handshake again");

	/* The right handle enrolls once; a replay is refused. */
	lookup(f, id, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	memcpy(h2, rep.u.psk.handle, sizeof(h2));
	assert_memory_not_equal(h1, h2, sizeof(h1));
	coap_issue(f, id, h2, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	coap_issue(f, id, h2, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "handshake again");
	assert_int_equal(tu_sql_int(f->db, "SELECT count(*) FROM audit_log"
	    " WHERE action = 'issue' AND actor LIKE 'token:%'"), 1);

	/* Bounded per token id: a fifth lookup evicts the first handle. */
	for (i = 0; i < 5; i++) {
		lookup(f, id, &rep);
		efx_expect(&rep, PROTO_R_OK, NULL);
		memcpy(hs[i], rep.u.psk.handle, sizeof(hs[i]));
	}
	coap_issue(f, id, hs[0], &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "handshake again");
	coap_issue(f, id, hs[4], &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	/* Used up: no PSK, hence no handle, any more. */
	lookup(f, id, &rep);
	efx_expect(&rep, PROTO_R_NOT_FOUND, NULL);
	coap_issue(f, id, hs[3], &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "already used");
}

static void
test_psk_legacy_row(void **state)
{
	struct efx *f = *state;
	struct ledger_token t;
	struct audit_record rec;
	struct proto_reply rep;
	char token[128], wrong[128];
	int64_t now = (int64_t)time(NULL);

	/* A row as the previous release stored it: SHA-256(token). */
	memset(&t, 0, sizeof(t));
	snprintf(t.id, sizeof(t.id), "0011223344556677");
	snprintf(token, sizeof(token), "%s.%s", t.id,
	    "00112233445566778899aabbccddeeff0011223344556677");
	SHA256((const unsigned char *)token, strlen(token), t.hash);
	snprintf(t.tenant, sizeof(t.tenant), "acme");
	snprintf(t.profile, sizeof(t.profile), "device");
	t.created = now;
	t.expires = now + 600;
	t.uses_left = 1;
	memset(&rec, 0, sizeof(rec));
	rec.actor = "test";
	rec.role = "operator";
	rec.tenant = "acme";
	rec.action = AUDIT_CONFIG;
	rec.object = t.id;
	rec.result = "ok";
	rec.detail = "legacy token";
	assert_int_equal(ledger_token_create(f->ledger, &t, &rec), LEDGER_OK);

	/* Its PSK would be computable from the row: never served. */
	lookup(f, t.id, &rep);
	efx_expect(&rep, PROTO_R_NOT_FOUND, NULL);
	/* A wrong secret under its id is no token at all. */
	snprintf(wrong, sizeof(wrong), "%s.%s", t.id,
	    "ff112233445566778899aabbccddeeff0011223344556677");
	https_issue(f, wrong, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "unknown enrollment token");
	https_issue(f, "no-dot-here", &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "unknown enrollment token");
	/* Over HTTPS it stays a bearer token until it expires. */
	https_issue(f, token, &rep);
	efx_expect(&rep, PROTO_R_OK, NULL);
	https_issue(f, token, &rep);
	efx_expect(&rep, PROTO_R_UNAUTHORIZED, "already used");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_psk_not_from_ledger,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_psk_handle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_psk_legacy_row, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

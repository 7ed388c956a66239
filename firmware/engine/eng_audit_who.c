/*
 * Who did it, in every audit record (issue 19): the client's address as
 * the front end saw the connection and the credential the engine
 * verified (a certificate's SHA-256 fingerprint, or an enrollment
 * token's public id), appended to the record's detail as
 * "src=<address> cred=<credential>".  They go in the detail, which the
 * chain already hashes, so the record encoding and every existing chain
 * stay as they are (docs/decisions.md).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "eng_engine_local.h"

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* The full address ("-" when the front end sent none). */
void
eng_audit_src(const struct proto_evidence *ev, char *out, size_t size)
{
	const uint8_t *src = ev->src;
	size_t len = ev->src_len;

	snprintf(out, size, "-");
	if (len == 16 && memcmp(src, v4mapped, sizeof(v4mapped)) == 0) {
		src += 12;
		len = 4;
	}
	if (len == 4 && inet_ntop(AF_INET, src, out, (socklen_t)size) == NULL)
		snprintf(out, size, "-");
	else if (len == 16 &&
	    inet_ntop(AF_INET6, src, out, (socklen_t)size) == NULL)
		snprintf(out, size, "-");
}

/* cert:sha256:<hex>, token:<id>, control, acme-jws, or "-". */
static void
eng_audit_cred(const struct eng_ident *id, char *out, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int i, mdlen = 0;
	size_t n;

	snprintf(out, size, "-");
	switch (id->kind) {
	case ENG_ID_PARENT:
		snprintf(out, size, "control");
		return;
	case ENG_ID_TOKEN:
		snprintf(out, size, "token:%s", id->tok.id);
		return;
	case ENG_ID_CLIENT:
	case ENG_ID_ISSUED:
		if (id->leaf == NULL ||
		    X509_digest(id->leaf, EVP_sha256(), md, &mdlen) != 1)
			return;
		n = (size_t)snprintf(out, size, "cert:sha256:");
		for (i = 0; i < mdlen && n + 2 < size; i++, n += 2)
			snprintf(out + n, size - n, "%02x", md[i]);
		return;
	case ENG_ID_ACME:
		/* The account's key signed it; the actor names the account. */
		snprintf(out, size, "acme-jws");
		return;
	}
}

void
eng_ident_via(const struct proto_evidence *ev, struct eng_ident *id)
{
	char src[INET6_ADDRSTRLEN], cred[sizeof(id->via)];

	if (ev != NULL)
		eng_audit_src(ev, src, sizeof(src));
	else
		snprintf(src, sizeof(src), "-");
	eng_audit_cred(id, cred, sizeof(cred));
	eng_fmt(id->via, sizeof(id->via), "src=%s cred=%s", src, cred);
}

const char *
eng_audit_detail(const struct eng_ident *id, const char *detail, char *buf,
    size_t size)
{
	if (id == NULL || id->via[0] == '\0')
		return detail;
	if (detail == NULL || detail[0] == '\0')
		eng_fmt(buf, size, "%s", id->via);
	else
		eng_fmt(buf, size, "%s %s", detail, id->via);
	return buf;
}

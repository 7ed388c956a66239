/*
 * One-time PSK handles of DTLS sessions.  The engine answers a PSK lookup
 * with the key and a random handle; an enrollment over that session must
 * present the handle (proto_evidence.psk_handle), which the engine accepts
 * once (a second enrollment on the session presents a spent handle and is
 * refused there).  This table keeps each session's handle from its
 * handshake until the session ends.  The front end is
 * single-threaded; the table is fixed in size, and a full table reuses
 * slots in turn (that session's enrollment is then refused by the engine
 * and its client handshakes again).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ec_local.h"

#define EC_PSK_SLOTS	1024	/* sessions with an unspent handle */

struct ec_psk_slot {
	const coap_session_t	*session;	/* NULL: free */
	uint8_t			 handle[PROTO_PSK_HANDLE_LEN];
	char			 tenant[PROTO_MAX_STR + 1];	/* token's */
	char			 profile[PROTO_MAX_STR + 1];
};

static struct ec_psk_slot slots[EC_PSK_SLOTS];
static size_t next_victim;

static struct ec_psk_slot *
find(const coap_session_t *s)
{
	size_t i;

	for (i = 0; i < EC_PSK_SLOTS; i++)
		if (slots[i].session == s)
			return &slots[i];
	return NULL;
}

void
ec_psk_put(const coap_session_t *s, const uint8_t h[PROTO_PSK_HANDLE_LEN],
    const char *tenant, const char *profile)
{
	struct ec_psk_slot *p;

	if ((p = find(s)) == NULL && (p = find(NULL)) == NULL) {
		p = &slots[next_victim];
		next_victim = (next_victim + 1) % EC_PSK_SLOTS;
	}
	p->session = s;
	memcpy(p->handle, h, PROTO_PSK_HANDLE_LEN);
	snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
	snprintf(p->profile, sizeof(p->profile), "%s", profile);
}

int
ec_psk_get(const coap_session_t *s, uint8_t h[PROTO_PSK_HANDLE_LEN])
{
	struct ec_psk_slot *p;

	memset(h, 0, PROTO_PSK_HANDLE_LEN);
	if (s == NULL || (p = find(s)) == NULL)
		return -1;
	memcpy(h, p->handle, PROTO_PSK_HANDLE_LEN);
	return 0;
}

int
ec_psk_target(const coap_session_t *s, const char **tenant,
    const char **profile)
{
	struct ec_psk_slot *p;

	if (s == NULL || (p = find(s)) == NULL || p->tenant[0] == '\0')
		return -1;
	*tenant = p->tenant;
	*profile = p->profile;
	return 0;
}

void
ec_psk_drop(const coap_session_t *s)
{
	struct ec_psk_slot *p;

	if (s != NULL && (p = find(s)) != NULL)
		OPENSSL_cleanse(p, sizeof(*p));
}

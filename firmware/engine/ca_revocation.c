/*
 * OCSP and CRL requests.  The responder and CRL builder live in
 * firmware/ca (signet/ca_revoke.h); until the engine is wired to them
 * these requests are answered UNAVAILABLE with a message, so relying
 * parties see a clear "not yet" rather than a closed channel.  DTLS PSK
 * bootstrap (PSK_LOOKUP) is not served yet either: every identity is
 * answered NOT_FOUND, so CoAP devices enroll with certificates only.
 */
#include "ca_engine_local.h"

int
ca_h_revocation(struct ca_engine *e, const struct ca_rt *rt,
    const struct proto_request *req, struct ca_reply *r)
{
	/* proto.h: NOT_FOUND never says whether the token exists. */
	if (req->type == PROTO_T_PSK_LOOKUP)
		return ca_reply_fail(r, PROTO_R_NOT_FOUND, "no PSK for this "
		    "identity");
	return ca_reply_fail(r, PROTO_R_UNAVAILABLE, "%s is not served by "
	    "this engine yet", req->type == PROTO_T_OCSP ? "OCSP" : "CRL");
}

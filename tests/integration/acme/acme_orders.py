#!/usr/bin/python3
"""The orders list in pages (RFC 8555 7.1.2.1), `replaces` (RFC 9773 5)
sharing an identifier, and revokeCert (issue 20).

usage: acme_orders.py DIRECTORY_URL CA_BUNDLE H01_PORT NAME EAB_KID
                      EAB_HMAC OUT_PEM
Writes the certificate it revokes to OUT_PEM (the shell checks OCSP and
/metrics).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Client, Key, b64u, fail, ok, problem, detail, serve_http01  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.x509.oid import ExtensionOID  # noqa: E402

DIR, CAFILE, PORT, NAME, KID, HMAC, OUT = sys.argv[1:8]
serve_http01(PORT)
c = Client(DIR, CAFILE)
k = Key()
st, h, b = c.new_account(k, KID, HMAC)
if st != 201:
    fail(f"newAccount: {st} {b}")
acct = h["Location"]


def certid(cert):
    aki = cert.extensions.get_extension_for_oid(
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value.key_identifier
    sn = cert.serial_number.to_bytes(
        (cert.serial_number.bit_length() + 8) // 8, "big")
    return b64u(aki) + "." + b64u(sn)


# replaces: an order sharing no identifier with the certificate is
# malformed; one sharing one of its names is accepted and echoes it.
_, _, ca = c.issue(k, acct, [f"r1.{NAME}", f"r2.{NAME}"])
_, _, cb = c.issue(k, acct, [f"r3.{NAME}"])
st, h, b = c.order(k, acct, [f"r4.{NAME}"], certid(ca))
if st != 400 or problem(b) != "malformed" or "shares no identifier" not in detail(b):
    fail(f"replaces with no shared identifier: {st} {b}")
ok("replaces naming a certificate that shares no identifier with the "
   "order: malformed")
st, h, b = c.order(k, acct, [f"r2.{NAME}", f"r4.{NAME}"], certid(ca))
if st != 201 or json.loads(b).get("replaces") != certid(ca):
    fail(f"replaces sharing r2: {st} {b}")
ok("replaces sharing one identifier (r2) of the two: accepted and echoed")

# revokeCert (the shell checks OCSP and the per-target metric).
der = cb.public_bytes(serialization.Encoding.DER)
st, h, b = c.post(c.d["revokeCert"], k, {"certificate": b64u(der),
                                         "reason": 4}, acct)
if st != 200:
    fail(f"revokeCert: {st} {b}")
open(OUT, "wb").write(cb.public_bytes(serialization.Encoding.PEM))
ok("revokeCert by the ordering account: 200")

# The orders list in pages: 101 more orders make 104 listed (the two
# valid ones, the pending replacement, 101 pending), 100 on the first
# page with Link rel="next", 4 on the second without.
for i in range(101):
    st, h, b = c.order(k, acct, [f"p{i}.{NAME}"])
    if st != 201:
        fail(f"order {i}: {st} {b}")
st, h, b = c.post(acct + "/orders", k, None, acct)
first = json.loads(b).get("orders", []) if st == 200 else []
nxt = [x for x in (h.get_all("Link") or []) if x.endswith(';rel="next"')]
if st != 200 or len(first) != 100 or nxt != [f'<{acct}/orders/1>;rel="next"']:
    fail(f"first page: {st}, {len(first)} orders, next {nxt}")
st, h, b = c.post(acct + "/orders/1", k, None, acct)
second = json.loads(b).get("orders", []) if st == 200 else []
nxt = [x for x in (h.get_all("Link") or []) if x.endswith(';rel="next"')]
if st != 200 or len(second) != 4 or nxt:
    fail(f"second page: {st}, {len(second)} orders, next {nxt}: {b}")
if len(set(first) | set(second)) != 104:
    fail("the pages overlap")
ok("orders list: 100 on the first page with Link rel=\"next\" to "
   "orders/1, the other 4 there without a next link")
# The page is part of the signed URL: orders/1 signed as orders is refused.
prot_url = acct + "/orders"
c.nonce = c.nonce or c.fetch("HEAD", c.d["newNonce"])[1]["Replay-Nonce"]
jws = k.sign({"alg": "ES256", "nonce": c.nonce, "url": prot_url, "kid": acct},
             None)
st, h, b = c.fetch("POST", acct + "/orders/1", json.dumps(jws).encode())
c.nonce = h.get("Replay-Nonce")
if st != 403 or problem(b) != "unauthorized":
    fail(f"orders/1 with the JWS url of orders: {st} {b}")
st, h, b = c.post(acct + "/orders/100", k, None, acct)
if st != 400 or problem(b) != "malformed":
    fail(f"page 100: {st} {b}")
ok("a page's URL is signed (another url: unauthorized); page 100 is malformed")

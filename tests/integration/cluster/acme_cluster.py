#!/usr/bin/python3
"""ACME across two cluster nodes (issue 20): every request is sent to the
node this script names, with the URLs the directory gives (the nodes share
one acme_base_url, the load balancer's), so each step is served by the node
chosen here and never retried: a nonce issued by one node is redeemed by
the other; the account and order made on A are validated, finalized and
downloaded on B; a nonce from A is accepted once on B and refused
(badNonce) the second time, on B and on A; with acme_authz_reuse set, a
second order for the name is ready at once and finalized on A.

usage: acme_cluster.py PUBLIC_DIR_URL NODE_A NODE_B CA_BUNDLE EAB_KID
                       EAB_HMAC H01_PORT NAME ORDER_LIFETIME_S OUT_PEM
NODE_*: host:port of each node's HTTPS listener.  Prints "ok - ..." per
check, exits non-zero at the first failure.
"""
import calendar
import hmac
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "acme"))
from acme_client import Answer, Key, b64u, b64u_dec, serve_http01  # noqa: E402 (one JWS key and http-01 server for every ACME test)

(DIR, NODE_A, NODE_B, CAFILE, KID, HMAC, PORT, NAME, LIFE,
 OUT) = sys.argv[1:11]
CTX = ssl.create_default_context(cafile=CAFILE)
NODES = {"A": NODE_A, "B": NODE_B}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def ok(msg):
    print("ok -", msg)


def fetch(node, method, url, body=None):
    """url (a public URL) sent to node's listener instead."""
    u = urllib.parse.urlsplit(url)._replace(netloc=NODES[node]).geturl()
    req = urllib.request.Request(u, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/jose+json")
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def problem(b):
    try:
        return json.loads(b).get("type", "").rsplit(":", 1)[-1]
    except ValueError:
        return "?"


st, _, b = fetch("A", "GET", DIR)
if st != 200:
    fail(f"directory on A: {st} {b}")
d = json.loads(b)
nonce = fetch("A", "HEAD", d["newNonce"])[1]["Replay-Nonce"]
nonce_from = "A"
key = Key()
acct = None


def post(node, url, payload, what):
    """A JWS POST to node with the last answer's nonce; no retry."""
    global nonce, nonce_from
    prot = {"alg": "ES256", "nonce": nonce, "url": url}
    if acct:
        prot["kid"] = acct
    else:
        prot["jwk"] = key.jwk
    st, h, b = fetch(node, "POST", url, json.dumps(key.sign(prot, payload)).encode())
    if st == 400 and problem(b) == "badNonce":
        fail(f"{what} on {node}: nonce of {nonce_from} refused: {b}")
    nonce, nonce_from = h.get("Replay-Nonce"), node
    if not nonce:
        fail(f"{what} on {node}: no Replay-Nonce")
    return st, h, b


def eab(url):
    prot = b64u(json.dumps({"alg": "HS256", "kid": KID, "url": url}).encode())
    pl = b64u(json.dumps(key.jwk).encode())
    mac = hmac.new(b64u_dec(HMAC), f"{prot}.{pl}".encode(), "sha256").digest()
    return {"protected": prot, "payload": pl, "signature": b64u(mac)}


serve_http01(PORT)

# Account and order on A.
st, h, b = post("A", d["newAccount"], {"termsOfServiceAgreed": True,
                "externalAccountBinding": eab(d["newAccount"])}, "newAccount")
if st != 201:
    fail(f"newAccount on A: {st} {b}")
acct = h["Location"]
t0 = time.time()
st, h, b = post("A", d["newOrder"], {"identifiers": [{"type": "dns",
                "value": NAME}]}, "newOrder")
if st != 201:
    fail(f"newOrder on A: {st} {b}")
ourl, o = h["Location"], json.loads(b)
exp = calendar.timegm(time.strptime(o["expires"], "%Y-%m-%dT%H:%M:%SZ"))
if abs(exp - (t0 + int(LIFE))) > 120:
    fail(f"order expires {o['expires']}, not about {LIFE} s from now")
ok(f"account and order made on A (nonce of A); the order expires in "
   f"acme_order_lifetime ({LIFE} s)")

# Validated on B: the authorization read, the challenge answered.
for az in o["authorizations"]:
    st, _, b = post("B", az, None, "authz")
    if st != 200:
        fail(f"authz on B: {st} {b}")
    a = json.loads(b)
    ch = [c for c in a["challenges"] if c["type"] == "http-01"][0]
    Answer.answers[ch["token"]] = ch["token"] + "." + key.thumb()
    st, _, b = post("B", ch["url"], {}, "challenge")
    if st != 200:
        fail(f"challenge on B: {st} {b}")
for i in range(150):
    o = json.loads(post("AB"[i % 2], ourl, None, "order")[2])
    if o["status"] != "pending":
        break
    time.sleep(0.2)
if o["status"] != "ready":
    fail(f"order after validation: {o}")
ok("authorization and challenge on B (nonce of A redeemed on B), order "
   "ready on both nodes")


def finalize(node, o, name):
    ck = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
           .sign(ck, hashes.SHA256()))
    st, _, b = post(node, o["finalize"], {"csr": b64u(csr.public_bytes(
        serialization.Encoding.DER))}, "finalize")
    o = json.loads(b)
    if st != 200 or o["status"] != "valid":
        fail(f"finalize on {node}: {st} {b}")
    st, _, pem = post(node, o["certificate"], None, "certificate")
    if st != 200:
        fail(f"certificate on {node}: {st} {pem}")
    c = x509.load_pem_x509_certificate(pem)
    sans = c.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    if sans.value.get_values_for_type(x509.DNSName) != [name]:
        fail(f"certificate names {sans}")
    return pem


pem = finalize("B", o, NAME)
with open(OUT, "wb") as f:
    f.write(pem)
ok(f"finalized and downloaded on B: a certificate for {NAME}")

# One nonce from A, used twice on B, then on A.
n1 = fetch("A", "HEAD", d["newNonce"])[1]["Replay-Nonce"]
jws = json.dumps(key.sign({"alg": "ES256", "nonce": n1, "url": acct,
                           "kid": acct}, None)).encode()
st, h, b = fetch("B", "POST", acct, jws)
if st != 200:
    fail(f"nonce of A, first use on B: {st} {b}")
for node in ("B", "A"):
    st, h, b = fetch(node, "POST", acct, jws)
    if st != 400 or problem(b) != "badNonce" or not h.get("Replay-Nonce"):
        fail(f"nonce of A replayed on {node}: {st} {b}")
ok("a nonce of A: accepted once on B, then badNonce on B and on A "
   "(with a fresh Replay-Nonce)")

# acme_authz_reuse: a second order for the name is ready at once.
nonce = h["Replay-Nonce"]
nonce_from = "A"
st, h, b = post("B", d["newOrder"], {"identifiers": [{"type": "dns",
                "value": NAME}]}, "newOrder 2")
if st != 201:
    fail(f"second newOrder on B: {st} {b}")
o2 = json.loads(b)
if o2["status"] != "ready":
    fail(f"second order within acme_authz_reuse is {o2['status']}: {b}")
a2 = json.loads(post("A", o2["authorizations"][0], None, "authz 2")[2])
if a2["status"] != "valid" or a2["identifier"]["value"] != NAME:
    fail(f"reused authorization: {a2}")
finalize("A", o2, NAME)
ok("acme_authz_reuse: a second order (B) ready without a challenge, its "
   "authorization valid, finalized on A")

#!/usr/bin/python3
"""RFC 8555 requests the Debian 12 clients cannot make (issue 20), written
out with the JWS spelled by hand so that each field is what the test says:
key rollover (7.3.5), the account's orders (7.1.2.1), onlyReturnExisting,
revokeCert with a reason no CRL uses, renewalInfo (RFC 9773) and
`replaces`, deactivation (7.3.6).  Only python3-cryptography from Debian.

usage: acme_raw.py DIRECTORY_URL CA_BUNDLE EAB_KID EAB_HMAC EAB_KID2
                   EAB_HMAC2 H01_PORT NAME OTHER_CERT_PEM
OTHER_CERT_PEM: a valid certificate another account ordered; this script
revokes it by holding authorizations for all its names (RFC 8555 7.6).
Prints "ok - ..." per check and exits non-zero at the first failure.
"""
import calendar
import hmac
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Answer, Key, b64u, b64u_dec, serve_http01  # noqa: E402 (one JWS key and http-01 server for every ACME test)

DIR, CAFILE, KID, HMAC, KID2, HMAC2, PORT, NAME, OTHER = sys.argv[1:10]
CTX = ssl.create_default_context(cafile=CAFILE)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def ok(msg):
    print("ok -", msg)


def fetch(method, url, body=None, ctype="application/jose+json"):
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, context=CTX, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


d = json.loads(fetch("GET", DIR)[2])
for m in ("revokeCert", "keyChange", "renewalInfo"):
    if m not in d:
        fail(f"directory lacks {m}: {d}")
ok("the directory names revokeCert, keyChange and renewalInfo")
nonce = None


def post(url, key, payload, kid=None, jwk=False):
    """A JWS POST; payload None is POST-as-GET.  Retries once on badNonce."""
    global nonce
    for _ in range(2):
        if nonce is None:
            nonce = fetch("HEAD", d["newNonce"])[1]["Replay-Nonce"]
        prot = {"alg": "ES256", "nonce": nonce, "url": url}
        if kid and not jwk:
            prot["kid"] = kid
        else:
            prot["jwk"] = key.jwk
        st, h, b = fetch("POST", url, json.dumps(key.sign(prot, payload)).encode())
        nonce = h.get("Replay-Nonce")
        if st == 400 and b"badNonce" in b:
            continue
        return st, h, b
    return st, h, b


def problem(b):
    try:
        return json.loads(b).get("type", "").rsplit(":", 1)[-1]
    except ValueError:
        return "?"


def eab(key, url, kid=KID, hmac_key=HMAC):
    prot = b64u(json.dumps({"alg": "HS256", "kid": kid, "url": url}).encode())
    pl = b64u(json.dumps(key.jwk).encode())
    mac = hmac.new(b64u_dec(hmac_key), f"{prot}.{pl}".encode(), "sha256").digest()
    return {"protected": prot, "payload": pl, "signature": b64u(mac)}


# An account (with EAB); its Link rel="index" names the directory.
k1 = Key()
st, h, b = post(d["newAccount"], k1, {"termsOfServiceAgreed": True,
                "contact": ["mailto:raw@svc.dev.internal"],
                "externalAccountBinding": eab(k1, d["newAccount"])})
if st != 201:
    fail(f"newAccount: {st} {b}")
acct = h["Location"]
links = h.get_all("Link") or []
if f'<{DIR}>;rel="index"' not in links:
    fail(f"newAccount answer lacks Link rel=index: {links}")
ok("newAccount with EAB: 201, Link rel=\"index\" to the directory")
if json.loads(b).get("orders") != acct + "/orders":
    fail(f"account object lacks its orders URL: {b}")

# onlyReturnExisting: the key's account, or accountDoesNotExist.
st, h, b = post(d["newAccount"], k1, {"onlyReturnExisting": True})
if st != 200 or h["Location"] != acct:
    fail(f"onlyReturnExisting (existing): {st} {b}")
st, h, b = post(d["newAccount"], Key(), {"onlyReturnExisting": True})
if st != 400 or problem(b) != "accountDoesNotExist":
    fail(f"onlyReturnExisting (unknown key): {st} {b}")
ok("onlyReturnExisting: the account for its key, accountDoesNotExist for another")


# One order, answered over http-01 by a server here, finalized.
srv = serve_http01(PORT)


def order(key, kid, name, replaces=None):
    pl = {"identifiers": [{"type": "dns", "value": name}]}
    if replaces:
        pl["replaces"] = replaces
    return post(d["newOrder"], key, pl, kid)


def authorize(key, kid, name, replaces=None):
    """An order for name, its http-01 challenge answered: ready."""
    st, h, b = order(key, kid, name, replaces)
    if st != 201:
        fail(f"newOrder {name}: {st} {b}")
    ourl, o = h["Location"], json.loads(b)
    for az in o["authorizations"]:
        a = json.loads(post(az, key, None, kid)[2])
        ch = [c for c in a["challenges"] if c["type"] == "http-01"][0]
        Answer.answers[ch["token"]] = ch["token"] + "." + key.thumb()
        # RFC 8555 7.5.1: processing, and when to look again (a
        # reused authorization is valid already: nothing to wait for).
        st, h, b = post(ch["url"], key, {}, kid)
        c = json.loads(b)
        if a["status"] == "pending" and ch["status"] == "pending" and (
                st != 200 or c["status"] != "processing" or
                h.get("Retry-After") != "1"):
            fail(f"challenge {name}: {st} {c} Retry-After "
                 f"{h.get('Retry-After')}")
    for _ in range(100):
        o = json.loads(post(ourl, key, None, kid)[2])
        if o["status"] != "pending":
            break
        time.sleep(0.2)
    if o["status"] != "ready":
        fail(f"order {name}: {o}")
    return ourl, o


def issue(key, kid, name):
    ourl, o = authorize(key, kid, name)
    ck = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
           .sign(ck, hashes.SHA256()))
    st, h, b = post(o["finalize"], key, {"csr": b64u(csr.public_bytes(
        serialization.Encoding.DER))}, kid)
    o = json.loads(b)
    if st != 200 or o["status"] != "valid":
        fail(f"finalize {name}: {st} {b}")
    pem = post(o["certificate"], key, None, kid)[2]
    return ourl, o, x509.load_pem_x509_certificate(pem)


ourl, o, cert = issue(k1, acct, "raw." + NAME)
ok(f"python client issued raw.{NAME}")

# The account's orders list names the order.
st, h, b = post(acct + "/orders", k1, None, acct)
if st != 200 or ourl not in json.loads(b).get("orders", []):
    fail(f"orders list: {st} {b}")
ok("the account's orders URL lists its order (RFC 8555 7.1.2.1)")


def certid(c):
    aki = c.extensions.get_extension_for_oid(
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER).value.key_identifier
    sn = c.serial_number.to_bytes((c.serial_number.bit_length() + 8) // 8, "big")
    return b64u(aki) + "." + b64u(sn)


def rfc3339(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


# ARI: the window lies inside the validity, from 2/3 of it.
cid = certid(cert)
st, h, b = fetch("GET", d["renewalInfo"] + "/" + cid)
if st != 200:
    fail(f"renewalInfo: {st} {b}")
w = json.loads(b)["suggestedWindow"]
# not_valid_* are naive datetimes in UTC.
nb = calendar.timegm(cert.not_valid_before.timetuple())
na = calendar.timegm(cert.not_valid_after.timetuple())
s, e = rfc3339(w["start"]), rfc3339(w["end"])
life = na - nb
if not (nb < s < e < na) or abs(s - (nb + life * 2 / 3)) > 2:
    fail(f"renewalInfo window {w} for validity {nb}..{na}")
ra = int(h.get("Retry-After", "0"))
if not 60 <= ra <= 21600:
    fail(f"renewalInfo Retry-After {ra}")
ok(f"renewalInfo: window {w['start']} .. {w['end']} inside the validity, "
   f"Retry-After {ra}")
st, h, b = fetch("GET", d["renewalInfo"] + "/" + cid[:-2] + "AA")
if st != 404:
    fail(f"renewalInfo of an unknown serial: {st} {b}")
ok("renewalInfo of an unknown CertID: 404")

# replaces: another account's certificate is refused; one's own is
# accepted once (alreadyReplaced after).
other = x509.load_pem_x509_certificate(open(OTHER, "rb").read())
st, h, b = order(k1, acct, "raw." + NAME, certid(other))
if st != 403 or problem(b) != "unauthorized":
    fail(f"replaces another account's certificate: {st} {b}")
ok("replaces naming another account's certificate: unauthorized")

# revokeCert by an account that holds valid authorizations for every
# name of a certificate another account ordered (RFC 8555 7.6).
oname = other.extensions.get_extension_for_oid(
    ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value.get_values_for_type(x509.DNSName)
oder = other.public_bytes(serialization.Encoding.DER)
st, h, b = post(d["revokeCert"], k1, {"certificate": b64u(oder)}, acct)
if st != 403 or problem(b) != "unauthorized":
    fail(f"revoking another account's certificate without authorizations: {st} {b}")
for n in oname:
    authorize(k1, acct, n)
st, h, b = post(d["revokeCert"], k1, {"certificate": b64u(oder), "reason": 4}, acct)
if st != 200:
    fail(f"revoking with authorizations for all names: {st} {b}")
ok("revokeCert of another account's certificate: unauthorized, then "
   "allowed once this account holds authorizations for all its names")
st, h, b = order(k1, acct, "raw." + NAME, cid)
if st != 201 or json.loads(b).get("replaces") != cid:
    fail(f"replaces: {st} {b}")
st, h, b = order(k1, acct, "raw." + NAME, cid)
if st != 409 or problem(b) != "alreadyReplaced":
    fail(f"replacing twice: {st} {b}")
ok("replaces: accepted and echoed once, alreadyReplaced (409) the second time")

# revokeCert with reason 7 (unused in RFC 5280): badRevocationReason.
der = cert.public_bytes(serialization.Encoding.DER)
# Signed with a jwk that is not the certificate's key: unauthorized.
st, h, b = post(d["revokeCert"], Key(), {"certificate": b64u(der)})
if st != 403 or problem(b) != "unauthorized":
    fail(f"revokeCert signed by a stranger's jwk: {st} {b}")
ok("revokeCert signed with a jwk that is not the certificate's key: unauthorized")
st, h, b = post(d["revokeCert"], k1, {"certificate": b64u(der), "reason": 7}, acct)
if st != 400 or problem(b) != "badRevocationReason":
    fail(f"reason 7: {st} {b}")
ok("revokeCert with reason 7: badRevocationReason")

# Key rollover: inner JWS by the new key; afterwards the old key fails.
k2 = Key()
inner_prot = {"alg": "ES256", "jwk": k2.jwk, "url": d["keyChange"]}
inner = k2.sign(inner_prot, {"account": acct, "oldKey": k1.jwk})
st, h, b = post(d["keyChange"], k1, inner, acct)
if st != 200:
    fail(f"keyChange: {st} {b}")
st, h, b = post(acct, k1, None, acct)
if st < 400:
    fail(f"old key still signs for the account: {st} {b}")
st, h, b = post(d["newAccount"], k2, {"onlyReturnExisting": True})
if st != 200 or h["Location"] != acct:
    fail(f"the new key does not find the account: {st} {b}")
ok("keyChange: the new key finds the account, the old one is refused")
inner = k2.sign({"alg": "ES256", "jwk": k2.jwk, "url": d["keyChange"]},
                {"account": acct, "oldKey": k2.jwk})
st, h, b = post(d["keyChange"], k2, inner, acct)
if st != 400 or problem(b) != "malformed":
    fail(f"keyChange to the same key: {st} {b}")
ok("keyChange to the current key: malformed")
# Rolling over to another account's key: 409 with that account's URL.
k3 = Key()
st, h, b = post(d["newAccount"], k3, {"termsOfServiceAgreed": True,
                "externalAccountBinding": eab(k3, d["newAccount"], KID2, HMAC2)})
if st != 201:
    fail(f"second account: {st} {b}")
acct3 = h["Location"]
inner = k3.sign({"alg": "ES256", "jwk": k3.jwk, "url": d["keyChange"]},
                {"account": acct, "oldKey": k2.jwk})
st, h, b = post(d["keyChange"], k2, inner, acct)
if st != 409 or h.get("Location") != acct3:
    fail(f"keyChange to another account's key: {st} {h.get('Location')} {b}")
ok("keyChange to another account's key: 409 with that account's Location")

# Contact update, then deactivation: later requests are unauthorized.
st, h, b = post(acct, k2, {"contact": ["mailto:new@svc.dev.internal"]}, acct)
if st != 200 or json.loads(b)["contact"] != ["mailto:new@svc.dev.internal"]:
    fail(f"contact update: {st} {b}")
st, h, b = post(acct, k2, {"status": "deactivated"}, acct)
if st != 200 or json.loads(b)["status"] != "deactivated":
    fail(f"deactivate: {st} {b}")
st, h, b = order(k2, acct, "raw2." + NAME)
if st != 403 or problem(b) != "unauthorized":
    fail(f"order by a deactivated account: {st} {b}")
ok("contact updated; deactivated account's requests: unauthorized")
srv.shutdown()

"""A small RFC 8555 client for the ACME integration tests (issue 20),
JWS spelled by hand as in acme_raw.py, with one addition: the source
address each request comes from (the rate limit per source), by
http.client's source_address.  Only python3-cryptography from Debian.

Import it with the test script's directory on sys.path; see
acme_limits.py and acme_orders.py.
"""
import base64
import hashlib
import hmac
import http.client
import http.server
import json
import ssl
import sys
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def ok(msg):
    print("ok -", msg)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def problem(b):
    try:
        return json.loads(b).get("type", "").rsplit(":", 1)[-1]
    except ValueError:
        return "?"


def detail(b):
    try:
        return json.loads(b).get("detail", "")
    except ValueError:
        return ""


class Key:
    def __init__(self):
        self.k = ec.generate_private_key(ec.SECP256R1())
        n = self.k.public_key().public_numbers()
        self.jwk = {"crv": "P-256", "kty": "EC",
                    "x": b64u(n.x.to_bytes(32, "big")),
                    "y": b64u(n.y.to_bytes(32, "big"))}

    def thumb(self):
        j = json.dumps(self.jwk, sort_keys=True, separators=(",", ":"))
        return b64u(hashlib.sha256(j.encode()).digest())

    def sign(self, prot, payload):
        p = b64u(json.dumps(prot).encode())
        pl = "" if payload is None else b64u(json.dumps(payload).encode())
        der = self.k.sign(f"{p}.{pl}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return {"protected": p, "payload": pl, "signature": b64u(sig)}


class Answer(http.server.BaseHTTPRequestHandler):
    """http-01 answers by token; an unknown token is 404."""
    answers = {}

    def do_GET(self):
        tok = self.path.rsplit("/", 1)[-1]
        body = self.answers.get(tok, "").encode()
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def serve_http01(port):
    srv = http.server.HTTPServer(("127.0.0.1", int(port)), Answer)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


class Client:
    def __init__(self, directory, cafile, src="127.0.0.1"):
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.src = src
        self.nonce = None
        self.d = json.loads(self.fetch("GET", directory)[2])

    def fetch(self, method, url, body=None):
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPSConnection(u.hostname, u.port, context=self.ctx,
                                        timeout=30,
                                        source_address=(self.src, 0))
        try:
            hdr = {"Content-Type": "application/jose+json"} if body else {}
            c.request(method, u.path, body=body, headers=hdr)
            r = c.getresponse()
            return r.status, r.headers, r.read()
        finally:
            c.close()

    def post(self, url, key, payload, kid=None):
        """A JWS POST (payload None: POST-as-GET); once more on badNonce."""
        for _ in range(2):
            if self.nonce is None:
                self.nonce = self.fetch("HEAD", self.d["newNonce"])[1][
                    "Replay-Nonce"]
            prot = {"alg": "ES256", "nonce": self.nonce, "url": url}
            if kid:
                prot["kid"] = kid
            else:
                prot["jwk"] = key.jwk
            st, h, b = self.fetch("POST", url, json.dumps(
                key.sign(prot, payload)).encode())
            self.nonce = h.get("Replay-Nonce")
            if st == 400 and b"badNonce" in b:
                continue
            return st, h, b
        return st, h, b

    def eab(self, key, kid, hmac_key):
        url = self.d["newAccount"]
        prot = b64u(json.dumps({"alg": "HS256", "kid": kid,
                                "url": url}).encode())
        pl = b64u(json.dumps(key.jwk).encode())
        mac = hmac.new(b64u_dec(hmac_key), f"{prot}.{pl}".encode(),
                       "sha256").digest()
        return {"protected": prot, "payload": pl, "signature": b64u(mac)}

    def new_account(self, key, kid, hmac_key):
        return self.post(self.d["newAccount"], key, {
            "termsOfServiceAgreed": True,
            "externalAccountBinding": self.eab(key, kid, hmac_key)})

    def order(self, key, acct, names, replaces=None):
        pl = {"identifiers": [{"type": "dns", "value": n} for n in names]}
        if replaces:
            pl["replaces"] = replaces
        return self.post(self.d["newOrder"], key, pl, acct)

    def challenge(self, key, acct, o, answer=True):
        """Answer (or not) each authorization's http-01; the authz URLs."""
        for az in o["authorizations"]:
            a = json.loads(self.post(az, key, None, acct)[2])
            ch = [c for c in a["challenges"] if c["type"] == "http-01"][0]
            if answer:
                Answer.answers[ch["token"]] = ch["token"] + "." + key.thumb()
            st, h, b = self.post(ch["url"], key, {}, acct)
            if st != 200:
                fail(f"challenge {ch['url']}: {st} {b}")
        return o["authorizations"]

    def wait_order(self, key, acct, ourl, until=("ready", "invalid")):
        """Poll the order while pending, bounded (60 s)."""
        for _ in range(300):
            o = json.loads(self.post(ourl, key, None, acct)[2])
            if o["status"] in until:
                return o
            time.sleep(0.2)
        fail(f"order {ourl} stayed {o['status']}")

    def issue(self, key, acct, names):
        """An order for names, validated, finalized: (order URL, order,
        certificate)."""
        st, h, b = self.order(key, acct, names)
        if st != 201:
            fail(f"newOrder {names}: {st} {b}")
        ourl, o = h["Location"], json.loads(b)
        self.challenge(key, acct, o)
        o = self.wait_order(key, acct, ourl)
        if o["status"] != "ready":
            fail(f"order {names}: {o}")
        ck = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(
                   NameOID.COMMON_NAME, names[0])]))
               .add_extension(x509.SubjectAlternativeName(
                   [x509.DNSName(n) for n in names]), False)
               .sign(ck, hashes.SHA256()))
        st, h, b = self.post(o["finalize"], key, {"csr": b64u(
            csr.public_bytes(serialization.Encoding.DER))}, acct)
        if st != 200 or json.loads(b)["status"] != "valid":
            fail(f"finalize {names}: {st} {b}")
        o = json.loads(b)
        pem = self.post(o["certificate"], key, None, acct)[2]
        return ourl, o, x509.load_pem_x509_certificate(pem)

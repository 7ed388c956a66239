#!/usr/bin/python3
"""kill -9 of the engine in the middle of ACME orders (issue 20): after
newOrder, after the challenge was accepted, inside finalize (the token
holds C_Sign for 3 s through the PKCS#11 shim, so the kill lands while
the certificate is being signed) and just after finalize.  signetd
starts the engine again; each order is then completed, or ends invalid
and a new order for the name is completed.  Writes the serial (lower
hex) of every certificate this client received to OUT, one a line, for
the shell to compare with the ledger.

usage: acme_kill.py DIRECTORY_URL CA_BUNDLE H01_PORT NAME EAB_KID EAB_HMAC
                    SIGNETD_PID SHIM_CONTROL LEDGER_DB OUT
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Client, Key, fail, ok, problem, serve_http01  # noqa: E402

from cryptography import x509  # noqa: E402

DIR, CAFILE, PORT, NAME, KID, HMAC, SPID, CTL, DB, OUT = sys.argv[1:11]
serve_http01(PORT)
c = Client(DIR, CAFILE)
k = Key()
st, h, b = c.new_account(k, KID, HMAC)
if st != 201:
    fail(f"newAccount: {st} {b}")
acct = h["Location"]
received = []


def engine_pid():
    r = subprocess.run(["pgrep", "-P", SPID, "-f", "signet-engine"],
                       capture_output=True, text=True)
    p = r.stdout.split()
    return int(p[0]) if p else None


def kill_engine(where):
    """kill -9 the engine, then wait (bounded) for signetd's new one to
    answer the directory."""
    old = engine_pid()
    if old is None:
        fail(f"{where}: no engine process")
    os.kill(old, signal.SIGKILL)
    for _ in range(300):
        new = engine_pid()
        if new is not None and new != old:
            try:
                if c.fetch("GET", DIR)[0] == 200:
                    c.nonce = None
                    return
            except OSError:
                pass
        time.sleep(0.2)
    fail(f"{where}: the engine did not come back")


def shim(text):
    """The shim's control file, written in one step (tests/p11shim)."""
    with open(CTL + ".tmp", "w") as f:
        f.write(text + "\n# " + str(time.time()) + "\n")
    os.rename(CTL + ".tmp", CTL)


def order_status(oid):
    db = sqlite3.connect(f"file:{DB}?mode=ro", uri=True, timeout=10)
    try:
        r = db.execute("SELECT status FROM acme_orders WHERE id = ?",
                       (oid,)).fetchone()
        return r[0] if r else None
    finally:
        db.close()


def keep(o):
    pem = c.post(o["certificate"], k, None, acct)
    if pem[0] != 200:
        fail(f"certificate download: {pem[0]} {pem[2]}")
    cert = x509.load_pem_x509_certificate(pem[2])
    received.append(format(cert.serial_number, "x"))
    return cert


def new_order(name):
    st, h, b = c.order(k, acct, [name])
    if st != 201:
        fail(f"newOrder {name}: {st} {b}")
    return h["Location"], json.loads(b)


def finish(ourl, o, name):
    """From pending (challenge not yet answered) to a certificate."""
    if o["status"] == "pending":
        c.challenge(k, acct, o)
    o = c.wait_order(k, acct, ourl)
    if o["status"] != "ready":
        fail(f"{name}: order {o}")
    return finalize(o, name)


def csr_b64(name):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from acme_client import b64u
    ck = ec.generate_private_key(ec.SECP256R1())
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(
               NameOID.COMMON_NAME, name)]))
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]),
                          False)
           .sign(ck, hashes.SHA256()))
    return b64u(csr.public_bytes(serialization.Encoding.DER))


def finalize(o, name):
    st, h, b = c.post(o["finalize"], k, {"csr": csr_b64(name)}, acct)
    if st != 200 or json.loads(b)["status"] != "valid":
        fail(f"finalize {name}: {st} {b}")
    return keep(json.loads(b))


# 1. Killed after newOrder: the order is completed afterwards.
n1 = "k1." + NAME
ourl, o = new_order(n1)
kill_engine("after newOrder")
finish(ourl, o, n1)
ok("engine killed after newOrder: the order is completed after the restart")

# 2. Killed after the challenge was accepted: the validation is handed
#    out again (the ledger is the queue) and the order completes.
n2 = "k2." + NAME
ourl, o = new_order(n2)
c.challenge(k, acct, o)
kill_engine("after the challenge")
o = c.wait_order(k, acct, ourl)
if o["status"] != "ready":
    fail(f"after the challenge: order {o}")
finalize(o, n2)
ok("engine killed after the challenge was accepted: validated again, completed")

# 3. Killed inside finalize, while the token signs (C_Sign held 3 s).
n3 = "k3." + NAME
ourl, o = new_order(n3)
c.challenge(k, acct, o)
o = c.wait_order(k, acct, ourl)
if o["status"] != "ready":
    fail(f"before finalize: order {o}")
oid = ourl.rsplit("/", 1)[-1]
shim("delay_ms 3000 func C_Sign")
res = {}
fin_body = {"csr": csr_b64(n3)}


def do_finalize():
    res["r"] = c.post(o["finalize"], k, fin_body, acct)


t = threading.Thread(target=do_finalize)
t.start()
for _ in range(150):
    if order_status(oid) == "processing":
        break
    time.sleep(0.1)
else:
    fail("finalize never reached processing")
time.sleep(0.5)		# inside the 3 s C_Sign
kill_engine("inside finalize")
t.join(60)
shim("# pass-through")
st, h, b = res.get("r", (0, {}, b""))
if st == 200:
    fail(f"finalize answered 200 although the engine died signing: {b}")
if st < 500 or problem(b) != "serverInternal":
    fail(f"finalize interrupted: {st} {b} (want a 5xx serverInternal)")
o3 = json.loads(c.post(ourl, k, None, acct)[2])
if o3["status"] != "invalid" or o3.get("error", {}).get(
        "type", "").rsplit(":", 1)[-1] != "serverInternal":
    fail(f"the interrupted order: {o3}")
st, h, b = c.post(o["finalize"], k, fin_body, acct)
if st != 403 or problem(b) != "orderNotReady":
    fail(f"finalize of the interrupted order again: {st} {b}")
ourl, o = new_order(n3)
finish(ourl, o, n3)
ok("engine killed while signing in finalize: a clean 5xx serverInternal, the "
   "order invalid (serverInternal), finalize again orderNotReady, a new "
   "order for the name completed")

# 4. Killed just after finalize answered: the certificate is downloaded
#    after the restart.
n4 = "k4." + NAME
ourl, o = new_order(n4)
c.challenge(k, acct, o)
o = c.wait_order(k, acct, ourl)
st, h, b = c.post(o["finalize"], k, {"csr": csr_b64(n4)}, acct)
if st != 200 or json.loads(b)["status"] != "valid":
    fail(f"finalize {n4}: {st} {b}")
kill_engine("after finalize")
o = json.loads(c.post(ourl, k, None, acct)[2])
if o["status"] != "valid":
    fail(f"after the restart: {o}")
keep(o)
ok("engine killed just after finalize: the order is valid, the certificate "
   "downloaded after the restart")
with open(OUT, "w") as f:
    f.write("\n".join(received) + "\n")

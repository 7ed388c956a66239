#!/usr/bin/python3
"""The validator runs validations side by side (issue 20): an http-01
target that accepts the connection and then says nothing holds up its own
challenge only.  Order A (hang.NAME) is answered by a target that hangs
until this script lets it go; while the validator waits on it, order B
(NAME) must become ready, with A's authorization still pending and the
hung request still open.  A one-at-a-time validator fails this: B's
challenge waits behind A's until A's deadline has passed (15 s) and A
has failed.  Then the target answers A properly and A becomes ready.

usage: acme_inflight.py DIRECTORY_URL CA_BUNDLE H01_PORT NAME EAB_KID EAB_HMAC
"""
import http.server
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Answer, Client, Key, fail, ok  # noqa: E402

DIR, CAFILE, PORT, NAME, KID, HMAC = sys.argv[1:7]
HANG = "hang." + NAME
held = threading.Event()	# the validator's request for A arrived
release = threading.Event()	# let it answer
closed = threading.Event()	# A's request ended (answered or dropped)


class Target(Answer):
    """http-01 answers; a request for HANG waits for `release` first."""

    def do_GET(self):
        if self.headers.get("Host", "").split(":")[0] == HANG:
            held.set()
            # Bounded: the script's own waits end before this does.
            release.wait(120)
            closed.set()
        Answer.do_GET(self)


class Srv(http.server.ThreadingHTTPServer):
    daemon_threads = True


srv = Srv(("127.0.0.1", int(PORT)), Target)
threading.Thread(target=srv.serve_forever, daemon=True).start()
c = Client(DIR, CAFILE)
k = Key()
st, h, b = c.new_account(k, KID, HMAC)
if st != 201:
    fail(f"newAccount: {st} {b}")
acct = h["Location"]


def new_order(name):
    st, h, b = c.order(k, acct, [name])
    if st != 201:
        fail(f"newOrder {name}: {st} {b}")
    return h["Location"], json.loads(b)


def authz_status(o):
    return json.loads(c.post(o["authorizations"][0], k, None, acct)[2])[
        "status"]


aurl, ao = new_order(HANG)
c.challenge(k, acct, ao)
if not held.wait(30):
    fail("the validator never fetched A's http-01 answer")
ok("A's target holds the validator's request")
burl, bo = new_order(NAME)
c.challenge(k, acct, bo)
# Bounded (60 s); a one-at-a-time validator gets B ready only after A's
# 15 s deadline, by which time A has failed.
bo = c.wait_order(k, acct, burl)
if bo["status"] != "ready":
    fail(f"order B ended {bo['status']}: {bo}")
st = authz_status(ao)
if closed.is_set() or st != "pending":
    fail(f"order B was validated only after A's validation ended "
         f"(A's authorization {st}, request closed {closed.is_set()})")
ok("order B became ready while A's validation still hung "
   f"(A's authorization {st})")
release.set()
ao = c.wait_order(k, acct, aurl)
if ao["status"] != "ready":
    fail(f"order A, answered after the hang, ended {ao['status']}: {ao}")
ok("order A became ready once its target answered")
srv.shutdown()

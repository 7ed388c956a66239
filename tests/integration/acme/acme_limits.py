#!/usr/bin/python3
"""ACME rate limits (issue 20, docs/acme.md "Rate limits") hit by
counting requests, never by speed: the appliance runs with 2 accounts
per source, 3 orders per account and 2 failed validations per account,
each per 7 days (a token comes back every 3.5 days at the fastest), so
the refusals below come after exactly that many requests however slowly
they run.

Then the engine is killed (kill -9; signetd starts a new one) and every
limit still refuses: the budgets live in the ledger, not in the engine
(docs/decisions.md "ACME rate limits in the ledger").

usage: acme_limits.py DIRECTORY_URL CA_BUNDLE H01_PORT NAME EAB_FILE
       SIGNETD_PID
EAB_FILE: lines "KID HMAC", at least 4 unused EAB keys.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_client import Client, Key, fail, ok, problem, detail, serve_http01  # noqa: E402

DIR, CAFILE, PORT, NAME, EABS, SPID = sys.argv[1:7]
eabs = [line.split() for line in open(EABS) if line.strip()]
if len(eabs) < 4:
    fail("need 4 EAB keys")
serve_http01(PORT)
c1 = Client(DIR, CAFILE, "127.0.0.1")
c2 = Client(DIR, CAFILE, "127.0.0.2")


def refused(st, h, b, what, limit):
    """429, rateLimited, a Retry-After in the future, detail names limit."""
    ra = h.get("Retry-After", "")
    if st != 429 or problem(b) != "rateLimited":
        fail(f"{what}: {st} {b} (want 429 rateLimited)")
    if not ra.isdigit() or int(ra) < 1:
        fail(f"{what}: Retry-After {ra!r}")
    if limit not in detail(b):
        fail(f"{what}: detail does not name {limit}: {detail(b)}")
    return int(ra)


# 1. New accounts per source: two from 127.0.0.1, the third refused
#    there (its EAB key not spent), accepted from 127.0.0.2.
keys = [Key() for _ in range(4)]
accts = []
for i in range(2):
    st, h, b = c1.new_account(keys[i], *eabs[i])
    if st != 201:
        fail(f"account {i + 1} from 127.0.0.1: {st} {b}")
    accts.append(h["Location"])
st, h, b = c1.new_account(keys[2], *eabs[2])
ra = refused(st, h, b, "third account from 127.0.0.1",
             "acme_accounts_per_source")
ok(f"new accounts per source: the third from 127.0.0.1 is 429 rateLimited, "
   f"Retry-After {ra} s, detail names acme_accounts_per_source")
# The existing account's key is still answered (no account is created).
st, h, b = c1.post(c1.d["newAccount"], keys[0], {"onlyReturnExisting": True})
if st != 200 or h["Location"] != accts[0]:
    fail(f"existing account from a source over its limit: {st} {b}")
st, h, b = c2.new_account(keys[2], *eabs[2])
if st != 201:
    fail(f"the same account from 127.0.0.2: {st} {b}")
accts.append(h["Location"])
ok("another source (127.0.0.2) creates the refused account with the same "
   "EAB key; the existing account's key is still answered at 127.0.0.1")

# 2. Orders per account: three for account 1, the fourth refused;
#    account 2 still orders.
k1, a1 = keys[0], accts[0]
for i in range(3):
    st, h, b = c1.order(k1, a1, [f"o{i}.{NAME}"])
    if st != 201:
        fail(f"order {i + 1} of account 1: {st} {b}")
st, h, b = c1.order(k1, a1, [f"o3.{NAME}"])
ra = refused(st, h, b, "fourth order of account 1", "acme_orders_per_account")
st, h, b = c1.post(a1 + "/orders", k1, None, a1)
n = len(json.loads(b).get("orders", [])) if st == 200 else -1
if n != 3:
    fail(f"account 1 lists {n} orders, want 3: {st} {b}")
ok(f"orders per account: the fourth newOrder is 429 rateLimited, Retry-After "
   f"{ra} s, and made no order (the account lists 3)")
k2, a2 = keys[1], accts[1]
st, h, b = c1.order(k2, a2, [f"p0.{NAME}"])
if st != 201:
    fail(f"account 2's order while account 1 is limited: {st} {b}")
ok("another account (same source) still orders")

# 3. Failed validations: account 3's challenges nobody answers (404)
#    fail twice; its next newOrder is refused, account 2's is not.
k3, a3 = keys[2], accts[2]
for i in range(2):
    st, h, b = c2.order(k3, a3, [f"f{i}.{NAME}"])
    if st != 201:
        fail(f"order {i + 1} of account 3: {st} {b}")
    ourl, o = h["Location"], json.loads(b)
    c2.challenge(k3, a3, o, answer=False)
    o = c2.wait_order(k3, a3, ourl)
    if o["status"] != "invalid":
        fail(f"unanswered challenge: order {o}")
st, h, b = c2.order(k3, a3, [f"f2.{NAME}"])
ra = refused(st, h, b, "newOrder after 2 failed validations",
             "acme_failed_authz_per_account")
ok(f"failed validations per account: after 2, newOrder is 429 rateLimited, "
   f"Retry-After {ra} s, detail names acme_failed_authz_per_account")
ourl, o, cert = c1.issue(k2, a2, [f"p1.{NAME}"])
ok("another account is issued a certificate meanwhile")


# 4. The engine restarts (kill -9): each limit still refuses.
def engine_pid():
    r = subprocess.run(["pgrep", "-P", SPID, "-f", "signet-engine"],
                       capture_output=True, text=True)
    p = r.stdout.split()
    return int(p[0]) if p else None


old = engine_pid()
if old is None:
    fail("no engine process under signetd")
os.kill(old, signal.SIGKILL)
for _ in range(300):
    new = engine_pid()
    if new is not None and new != old:
        try:
            if c1.fetch("GET", DIR)[0] == 200:
                break
        except OSError:
            pass
    time.sleep(0.2)
else:
    fail("the engine did not come back")
c1.nonce = None
c2.nonce = None
st, h, b = c1.new_account(keys[3], *eabs[3])
refused(st, h, b, "a new account from 127.0.0.1 after the engine restarted",
        "acme_accounts_per_source")
st, h, b = c1.order(k1, a1, [f"o4.{NAME}"])
refused(st, h, b, "account 1's order after the engine restarted",
        "acme_orders_per_account")
st, h, b = c2.order(k3, a3, [f"f3.{NAME}"])
refused(st, h, b, "account 3's order after the engine restarted",
        "acme_failed_authz_per_account")
ok("after kill -9 of the engine, new accounts from 127.0.0.1, account 1's "
   "orders and account 3's orders are still 429 rateLimited (the budgets "
   "are the ledger's)")

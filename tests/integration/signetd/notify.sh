#!/usr/bin/env bash
# Expiry notifications (issue 19) on the dev-host appliance: a profile of
# 90-second certificates with thresholds "7d" and "40%" and two webhooks,
# a local receiver on 127.0.0.1 and one on 0.0.0.0 (refused by the
# delivery address policy).  A certificate enrolled over EST with curl:
#   - the receiver gets the POST once the certificate crossed 40% of its
#     lifetime left, not before; no "7d" notice (the certificate never
#     lived 7 days); the body carries tenant, profile, serial, names,
#     not_after and threshold, and its X-Signet-Signature verifies
#     (HMAC-SHA256 under the secret file, checked here with Python);
#   - answered 500, it comes again with growing gaps (backoff);
#   - answered late while the engine is killed (kill -9) before it could
#     record the answer, it comes again after the restart (at least
#     once), then, answered 200, never again;
#   - the receiver on the refused address is never contacted.
#
# usage: notify.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
test_begin notify
rpids=()
test_cleanup() { for p in "${rpids[@]}"; do kill "$p" 2>/dev/null || true; done; }

test_ports
R1=$(free_port)
R2=$(free_port)
dev_provision
# The HMAC key, the engine's own file (0600), shared with the receiver.
as_engine sh -c 'umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n" > data/notify.key'
KEY=$(as_engine cat data/notify.key)
[ "${#KEY}" = 64 ] || fail "notify key not written"

dev_conf > signetd.conf.in
python3 - "$R1" "$R2" <<'PY'
import re, sys
r1, r2 = sys.argv[1], sys.argv[2]
c = open("signetd.conf.in").read()
c, n = re.subn(r"\nnotify \{[^}]*\}", """
notify {
	secret_file = "data/notify.key"
	interval = "1s"
	retry = "1s"
	lease = "30s"
	allow_loopback = true
}""", c, count=1)
assert n == 1, "no notify section in the dev-host configuration"
c = c.replace('\tprofile "acme" {', """\tprofile "short" {
		issuer = "intermediate"
		est_label = "dev-short"
		domains = { "svc.dev.internal" }
		allow_subdomains = true
		key_types = { "p256" }
		ttl = "90s"
		max_ttl = "90s"
		notify {
			thresholds = { "7d", "40%" }
			webhooks = { "http://127.0.0.1:R1/hook", "http://0.0.0.0:R2/hook" }
		}
	}
	profile "acme" {""".replace("R1", r1).replace("R2", r2), 1)
open("signetd.conf", "w").write(c)
PY
grep -q 'thresholds = { "7d", "40%" }' signetd.conf || fail "configuration not rewritten"

# The receiver's answers, POST by POST: three 500s, then one held while
# the receiver itself kills the engine (so the kill comes before the
# answer however slowly this script runs), then 200.
echo "500 500 500 kill 200" > mode1
echo 200 > mode2
python3 "$src/tests/integration/signetd/notify_receiver.py" 127.0.0.1 "$R1" hooks1.jsonl mode1 2> receiver1.err &
rpids+=($!)
python3 "$src/tests/integration/signetd/notify_receiver.py" 0.0.0.0 "$R2" hooks2.jsonl mode2 2> receiver2.err &
rpids+=($!)
# Both receivers listen, and are ours (a port taken meanwhile by another
# test would make the receiver exit and the POSTs go elsewhere).
for _ in $(seq 1 50); do
	(exec 3<>/dev/tcp/127.0.0.1/"$R1") 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/"$R2") 2>/dev/null && break
	sleep 0.2
done
for p in "${rpids[@]}"; do
	kill -0 "$p" 2>/dev/null || fail "a webhook receiver exited: $(cat receiver1.err receiver2.err)"
done
dev_start
grep -q 'signet-notify\[[0-9]*\].*msg=ready' signetd.log || {
	for _ in $(seq 1 50); do grep -q 'signet-notify\[[0-9]*\].*msg=ready' signetd.log && break; sleep 0.2; done
	grep -q 'signet-notify\[[0-9]*\].*msg=ready' signetd.log || fail "signet-notify did not start"
}
echo "$pid" > signetd.pid
pass "signetd started signet-notify for a profile with webhooks"

q() { # SQL -> one value, read as the engine's user
	as_engine python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
		data/ledger.db "$1"
}
posts() { [ -f hooks1.jsonl ] && wc -l < hooks1.jsonl || echo 0; }
wait_posts() { # N SECONDS
	local i
	for i in $(seq 1 $(($2 * 5))); do [ "$(posts)" -ge "$1" ] && return 0; sleep 0.2; done
	fail "the receiver got $(posts) POSTs, not $1, within $2 s (its stderr: $(tail -5 receiver1.err))"
}

# A 90-second certificate over EST with a one-time token.
T=$(dev_token short n1.svc.dev.internal)
[ -n "$T" ] || fail "no enrollment token"
dev_csr n1.svc.dev.internal n1.der
base64 -w0 n1.der > n1.b64
code=$(curl -s -o n1.p7 -w '%{http_code}' "${CA[@]}" -H "Authorization: Bearer $T" \
	-H 'Content-Type: application/pkcs10' --data-binary @n1.b64 \
	"$B/.well-known/est/dev-short/simpleenroll")
[ "$code" = 200 ] || fail "EST simpleenroll answered $code: $(cat n1.p7)"
base64 -d n1.p7 | openssl pkcs7 -inform der -print_certs > n1.pem || fail "no certificate in the EST answer"
SERIAL=$(openssl x509 -in n1.pem -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
NB=$(date -d "$(openssl x509 -in n1.pem -noout -startdate | cut -d= -f2)" +%s)
NA=$(date -d "$(openssl x509 -in n1.pem -noout -enddate | cut -d= -f2)" +%s)
CROSS=$((NA - (NA - NB) * 2 / 5))
pass "EST issued $SERIAL, valid $((NA - NB)) s (40% left from $(date -u -d @$CROSS +%T))"

# The first POST comes once 40% of the lifetime is left, not before.
wait_posts 1 $((CROSS - $(date +%s) + 20))
python3 - "$KEY" "$SERIAL" "$NA" "$CROSS" <<'PY' || fail "first POST: $(head -1 hooks1.jsonl)"
import base64, hashlib, hmac, json, sys, datetime
key, serial, na, cross = sys.argv[1].encode(), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
r = json.loads(open("hooks1.jsonl").readline())
body = base64.b64decode(r["body"])
sig = r["headers"].get("x-signet-signature", "")
want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
assert hmac.compare_digest(sig, want), "signature %r, want %r" % (sig, want)
assert r["headers"].get("content-type") == "application/json", r["headers"]
d = json.loads(body)
assert d["tenant"] == "dev" and d["profile"] == "short", d
assert d["serial"] == serial, (d["serial"], serial)
assert d["names"] == ["DNS:n1.svc.dev.internal"] or d["names"] == ["n1.svc.dev.internal"], d["names"]
assert d["threshold"] == "40%", d
t = datetime.datetime.strptime(d["not_after"], "%Y-%m-%dT%H:%M:%SZ")
assert int(t.replace(tzinfo=datetime.timezone.utc).timestamp()) == na, (d["not_after"], na)
assert d["attempt"] == 1, d
assert r["t"] >= cross - 1, "POST at %f, before the threshold %d" % (r["t"], cross)
# A forged body does not verify under the same signature.
forged = body.replace(b'"short"', b'"other"')
assert not hmac.compare_digest(sig, "sha256=" + hmac.new(key, forged, hashlib.sha256).hexdigest())
PY
pass "the receiver got the signed POST after the threshold; HMAC verifies, fields (tenant, profile, serial, names, not_after, threshold) match"

# /metrics: the certificate is past the 40% window and expires within the
# 7d one (the gauge counts expiring certificates, whatever their
# lifetime); the scrape passes the strict text-format check.
curl -sf "${CA[@]}" "${OP[@]}" -o metrics.txt "$B/metrics" || fail "/metrics"
# Debian's python3 has the parser (tools/install-deps.sh), a pyenv one may not.
PY=python3
$PY -c 'import prometheus_client.parser' 2>/dev/null || PY=/usr/bin/python3
$PY "$src/tests/integration/signetd/metrics_check.py" metrics.txt > metrics.s 2> check.err ||
	fail "metrics_check: $(cat check.err)"
grep -qx 'signet_certificates_expiring{profile="short",tenant="dev",window="40%"} 1' metrics.s ||
	fail "no expiring gauge of 1 for 40%: $(grep expiring metrics.s)"
grep -qx 'signet_certificates_expiring{profile="short",tenant="dev",window="7d"} 1' metrics.s ||
	fail "no expiring gauge of 1 for 7d: $(grep expiring metrics.s)"
grep -q '^signet_notify_deliveries{state="pending"} [1-9]' metrics.s ||
	fail "no pending deliveries in /metrics: $(grep notify metrics.s)"
pass "/metrics: signet_certificates_expiring{tenant,profile,window} 1 for 40% and 7d; deliveries pending"

# The next attempt: the receiver records it, kills the engine (kill -9)
# and only then answers 200, to a delivery process whose engine is gone.
# The claim (lease 30s) runs out and the notification is handed out
# again after the restart.
for _ in $(seq 1 150); do [ -f killed ] && break; sleep 0.2; done
[ -f killed ] || fail "the receiver did not kill the engine at the 4th POST ($(posts) POSTs)"
epid=$(cat killed)
st=$(q "SELECT state || ' attempts=' || attempts || ' claimed=' || claimed FROM notify_queue WHERE hex(serial) = upper('$SERIAL') AND threshold = '40%' AND webhook LIKE '%127.0.0.1%'")
touch release
[ "${st%% *}" = 0 ] ||
	fail "the delivery was recorded although the engine died first (state $st)"
for _ in $(seq 1 150); do
	curl -sf -o /dev/null "${CA[@]}" "${OP[@]}" "$B/v1/health" && [ "$(pgrep -P "$pid" -f signet-engine | head -1)" != "$epid" ] && break
	sleep 0.2
done
# (the backoff of the first attempts, from the receiver's record)
# Answered 500 before that: again, with growing gaps (retry 1s, doubled).
python3 - <<'PY' || fail "retries: $(cat hooks1.jsonl)"
import base64, json
rs = [json.loads(l) for l in open("hooks1.jsonl")][:4]
ds = [json.loads(base64.b64decode(r["body"])) for r in rs]
assert [d["attempt"] for d in ds] == [1, 2, 3, 4], [d["attempt"] for d in ds]
assert len({d["id"] for d in ds}) == 1 and len({d["serial"] for d in ds}) == 1
# retry = 1s, doubled per attempt: at least 1, 2, 4 seconds apart.
g = [rs[i + 1]["t"] - rs[i]["t"] for i in range(3)]
assert g[0] >= 1 and g[1] >= 2 and g[2] >= 4, g
open("gaps", "w").write(", ".join("%.1fs" % x for x in g))
PY
pass "answered 500 three times, the delivery came back after $(cat gaps) (backoff 1s doubled)"
wait_posts 5 60
python3 - "$SERIAL" <<'PY' || fail "after the restart: $(tail -2 hooks1.jsonl)"
import base64, json, sys
rs = [json.loads(l) for l in open("hooks1.jsonl")]
ds = [json.loads(base64.b64decode(r["body"])) for r in rs]
assert ds[4]["serial"] == sys.argv[1] and ds[4]["threshold"] == "40%", ds[4]
assert ds[4]["id"] == ds[3]["id"] and ds[4]["attempt"] == 5, ds[4]
# Offered again when the claim's lease (30 s) ran out, not before.
assert rs[4]["t"] - rs[3]["t"] >= 29, rs[4]["t"] - rs[3]["t"]
PY
pass "the engine killed before it recorded the answer: the same notification came again after the restart"

# Answered 200 now: recorded, and never sent again.
for _ in $(seq 1 50); do
	[ "$(q "SELECT state FROM notify_queue WHERE hex(serial) = upper('$SERIAL') AND webhook LIKE '%127.0.0.1%'")" = 1 ] && break
	sleep 0.2
done
[ "$(q "SELECT state FROM notify_queue WHERE hex(serial) = upper('$SERIAL') AND webhook LIKE '%127.0.0.1%'")" = 1 ] ||
	fail "the delivery is not recorded as delivered"
n=$(posts)
sleep 5
[ "$(posts)" = "$n" ] || fail "POSTs after the delivery was acknowledged: $(posts), was $n"
[ "$(q "SELECT count(*) FROM notify_queue WHERE threshold = '7d'")" = 0 ] || fail "a 7d notice for a 90 s certificate"
pass "answered 200: delivered, not sent again; no 7d notice for a certificate that never lived 7 days"

# The refused address: queued, attempted, never contacted.
[ ! -s hooks2.jsonl ] || fail "the receiver on 0.0.0.0 was contacted: $(cat hooks2.jsonl)"
grep -q 'signet-notify.*url="http://0.0.0.0:'"$R2"'/hook".*error="address not allowed"' signetd.log ||
	fail "no refused attempt for the 0.0.0.0 webhook in the log"
pass "the webhook on a refused address (0.0.0.0) is never contacted: address not allowed"

# As root (CI) the delivery process runs sandboxed: seccomp, not root.
if [ "$(id -u)" = 0 ]; then
	np=$(pgrep -P "$pid" -f signet-notify | head -1)
	[ -n "$np" ] || fail "signet-notify is not running"
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$np/status" || fail "signet-notify without seccomp"
	awk '/^Uid:/ { exit ($2 == 0) }' "/proc/$np/status" || fail "signet-notify runs as root"
	pass "signet-notify runs under its seccomp filter, not as root"
fi
# A reload drops the gauge's old windows at once, not at the next scan:
# first the scans go hourly, then the thresholds change; /metrics shows
# the new window and none of the old within seconds.
metrics_windows() {
	curl -sf "${CA[@]}" "${OP[@]}" "$B/metrics" | grep '^signet_certificates_expiring{' |
		sed 's/.*window="\([^"]*\)".*/\1/' | sort | tr '\n' ' '
}
sed -i 's/^\tinterval = "1s"/\tinterval = "1h"/' signetd.conf
kill -HUP "$pid"
sleep 3
sed -i 's/thresholds = { "7d", "40%" }/thresholds = { "50%" }/' signetd.conf
grep -q 'thresholds = { "50%" }' signetd.conf || fail "thresholds not rewritten"
kill -HUP "$pid"
for _ in $(seq 1 50); do
	[ "$(metrics_windows)" = "50% " ] && break
	sleep 0.2
done
[ "$(metrics_windows)" = "50% " ] || fail "expiring gauge windows after reload: $(metrics_windows)"
pass "after a reload (scans hourly) the expiring gauge has the new window (50%) and not the old ones"
daemon_stop
echo "$npass passed"

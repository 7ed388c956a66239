#!/usr/bin/env bash
# Expiry notifications on a cluster (issue 19): two signetd nodes on one
# PostgreSQL ledger, both scanning every second and both running
# signet-notify, one profile of 60-second certificates (120 s with the
# backdating) with thresholds "50%" and "40%" and two webhooks, each to
# its own local receiver.  Certificates enrolled over EST on both nodes
# (curl); then
#   - every (certificate, threshold, webhook) is POSTed exactly once,
#     counted at the receivers, although both nodes queue and deliver
#     (the queue's unique row and its claims with leases);
#   - the POSTs verify (HMAC under the shared secret file) and name the
#     certificate and threshold;
#   - no node logs a failed scan, and both nodes took part in delivery
#     over the run (the queue records the claiming node).
# Delivery is at least once, not exactly once: a node killed between the
# POST and recording its answer makes the other node POST again when the
# lease ends (tests/integration/signetd/notify.sh shows it on SQLite);
# nothing is killed here, so any second POST is a defect.
#
# Run under tests/support/pgtest.sh (a throwaway PostgreSQL server):
#
#   pgtest.sh run -- notify_cluster.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
: "${SIGNET_PG_CONNINFO:?run me under tests/support/pgtest.sh}"
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-notify-cluster-XXXXXX")
declare -A pid
rpids=()
cleanup() {
	for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
	for p in "${rpids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 1
	for n in "${!pid[@]}"; do kill -KILL "${pid[$n]}" 2>/dev/null || true; done
	pkill -KILL -f "$work/" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=../../support/cluster.sh
. "$src/tests/support/cluster.sh"
cd "$work"
NODES=(a1 a2)
NCERT=6

# Node a1 provisions the token and the PKI; a2 gets a copy (cluster.sh).
DATA=$work/a1/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$src/board/dev-host/run.sh" >a1-prov.log 2>&1 ||
	fail "provisioning"
mkdir -p "$work/a2"
cp -a "$work/a1/data" "$work/a2/data"
sed -i "s|$work/a1/data|$work/a2/data|" "$work/a2/data/softhsm2.conf"
# One HMAC key for the appliance: each node's engine reads its copy.
( umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/a1/data/notify.key" )
cp -p "$work/a1/data/notify.key" "$work/a2/data/notify.key"
KEY=$(cat "$work/a1/data/notify.key")
sbx='s/^$//'
if [ "$(id -u)" = 0 ]; then
	# shellcheck source=../../support/users.sh
	. "$src/tests/support/users.sh"
	sbx=$(sandbox_prepare "$work" "$work"/a1/data "$work"/a2/data) || fail "sandbox users"
	chmod 755 "$work"/a1 "$work"/a2
fi
R1=$(free_port)
R2=$(free_port)
declare -A HTTPS HTTP
for n in "${NODES[@]}"; do
	HTTPS[$n]=$(free_port); HTTP[$n]=$(free_port)
	sed -e "s/127.0.0.1:8443/127.0.0.1:${HTTPS[$n]}/; s/127.0.0.1:8080/127.0.0.1:${HTTP[$n]}/g" \
		-e '/coap = /d' -e 's/backend = "sqlite"/backend = "pgsql"/' \
		-e "s|path = \"data/ledger.db\"|path = \"$SIGNET_PG_CONNINFO node=$n\"|" -e "$sbx" \
		"$src/board/dev-host/signetd.conf" > "$work/$n/signetd.conf.in"
	python3 - "$work/$n/signetd.conf.in" "$work/$n/signetd.conf" "$R1" "$R2" <<'PY'
import re, sys
c = open(sys.argv[1]).read()
r1, r2 = sys.argv[3], sys.argv[4]
c, k = re.subn(r"\nnotify \{[^}]*\}", """
notify {
	secret_file = "data/notify.key"
	interval = "1s"
	retry = "1s"
	lease = "30s"
	allow_loopback = true
}""", c, count=1)
assert k == 1, "no notify section in the dev-host configuration"
c = c.replace('\tprofile "acme" {', """\tprofile "short" {
		issuer = "intermediate"
		est_label = "dev-short"
		domains = { "svc.dev.internal" }
		allow_subdomains = true
		key_types = { "p256" }
		ttl = "60s"
		max_ttl = "60s"
		notify {
			thresholds = { "50%", "40%" }
			webhooks = { "http://127.0.0.1:R1/one", "http://127.0.0.1:R2/two" }
		}
	}
	profile "acme" {""".replace("R1", r1).replace("R2", r2), 1)
assert 'profile "short"' in c, "no acme profile to insert before"
open(sys.argv[2], "w").write(c)
PY
	chmod 644 "$work/$n/signetd.conf"
	"$build/firmware/signetd/signetd" -n -f "$work/$n/signetd.conf" >/dev/null || fail "config $n"
done

# Each answer takes half a second, so while one node's signet-notify
# waits for it the other's finds the next delivery due: both deliver.
echo slow > mode
python3 "$src/tests/integration/signetd/notify_receiver.py" 127.0.0.1 "$R1" hooks1.jsonl mode &
rpids+=($!)
python3 "$src/tests/integration/signetd/notify_receiver.py" 127.0.0.1 "$R2" hooks2.jsonl mode &
rpids+=($!)

for n in "${NODES[@]}"; do start_node "$n"; done
for n in "${NODES[@]}"; do wait_node "$n" || fail "node $n did not come up"; done
for n in "${NODES[@]}"; do
	for _ in $(seq 1 50); do grep -q 'signet-notify\[[0-9]*\].*msg=ready' "$n.log" && break; sleep 0.2; done
	grep -q 'signet-notify\[[0-9]*\].*msg=ready' "$n.log" || fail "signet-notify of $n did not start"
done
pass "two signetd nodes on one PostgreSQL ledger, each with signet-notify"

D=$work/a1/data
CA=(--cacert "$D/ca/root.pem")
OP=(--cert "$D/operator/operator.pem" --key "$D/operator/operator.key")
# NCERT certificates, enrolled alternately on a1 and a2.
: > serials
for i in $(seq 1 "$NCERT"); do
	n=${NODES[$((i % 2))]}
	B="https://127.0.0.1:${HTTPS[$n]}"
	name=c$i.svc.dev.internal
	curl -s -o tok.json "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"dev\",\"profile\":\"short\",\"names\":[\"$name\"],\"ttl\":600,\"uses\":1}" \
		"$B/v1/tokens" || true
	T=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' tok.json)
	[ -n "$T" ] || fail "no enrollment token from $n: $(cat tok.json)"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "c$i.key" \
		-subj "/CN=$name" -addext "subjectAltName=DNS:$name" -outform DER 2>/dev/null |
		base64 -w0 > "c$i.b64"
	code=$(curl -s -o "c$i.p7" -w '%{http_code}' "${CA[@]}" -H "Authorization: Bearer $T" \
		-H 'Content-Type: application/pkcs10' --data-binary "@c$i.b64" \
		"$B/.well-known/est/dev-short/simpleenroll")
	[ "$code" = 200 ] || fail "EST simpleenroll on $n answered $code: $(cat "c$i.p7")"
	base64 -d "c$i.p7" | openssl pkcs7 -inform der -print_certs |
		openssl x509 -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' >> serials
done
[ "$(sort -u serials | wc -l)" = "$NCERT" ] || fail "serials: $(cat serials)"
pass "$NCERT certificates of 120 s enrolled over EST, alternately on a1 and a2"

WANT=$((NCERT * 2))	# per receiver: each certificate, each threshold
posts() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
# 40% of 120 s is left 72 s after notBefore, 12 s after issuance.
for _ in $(seq 1 300); do
	[ "$(posts hooks1.jsonl)" -ge "$WANT" ] && [ "$(posts hooks2.jsonl)" -ge "$WANT" ] && break
	sleep 0.2
done
[ "$(posts hooks1.jsonl)" -ge "$WANT" ] && [ "$(posts hooks2.jsonl)" -ge "$WANT" ] ||
	fail "receivers got $(posts hooks1.jsonl) and $(posts hooks2.jsonl) POSTs, want $WANT each, 60 s after the last issuance"
for _ in $(seq 1 100); do
	[ "$(psql_q "SELECT count(*) FROM notify_queue WHERE state = 1")" = $((WANT * 2)) ] && break
	sleep 0.2
done
# Both nodes keep scanning and polling: give them several more intervals.
sleep 8
python3 - "$KEY" "$NCERT" serials hooks1.jsonl hooks2.jsonl <<'PY' || fail "POSTs: see above"
import base64, collections, hashlib, hmac, json, sys
key, ncert, serials = sys.argv[1].encode(), int(sys.argv[2]), set(open(sys.argv[3]).read().split())
for log, path in ((sys.argv[4], "/one"), (sys.argv[5], "/two")):
    seen = collections.Counter()
    for line in open(log):
        r = json.loads(line)
        body = base64.b64decode(r["body"])
        want = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(r["headers"].get("x-signet-signature", ""), want), "bad signature"
        assert r["path"] == path, (r["path"], path)
        d = json.loads(body)
        assert d["tenant"] == "dev" and d["profile"] == "short", d
        assert d["serial"] in serials, d["serial"]
        seen[(d["serial"], d["threshold"])] += 1
    twice = {k: v for k, v in seen.items() if v > 1}
    if twice:
        sys.exit("%s: POSTed more than once: %r" % (log, twice))
    want = {(s, t) for s in serials for t in ("50%", "40%")}
    if set(seen) != want:
        sys.exit("%s: missing %r, unexpected %r" % (log, want - set(seen), set(seen) - want))
    print("# %s: %d POSTs, each (serial, threshold) once" % (log, sum(seen.values())))
PY
pass "each of $NCERT certificates x 2 thresholds x 2 webhooks POSTed exactly once ($WANT per receiver), HMAC verifies"

rows=$(psql_q "SELECT count(*) FROM notify_queue")
done1=$(psql_q "SELECT count(*) FROM notify_queue WHERE state = 1 AND attempts = 1")
[ "$rows" = $((WANT * 2)) ] && [ "$done1" = "$rows" ] ||
	fail "queue: $rows rows, $done1 delivered at the first attempt; want $((WANT * 2)): $(psql_q "SELECT state, attempts, node, error FROM notify_queue")"
for n in "${NODES[@]}"; do
	! grep -q 'notify: scan failed' "$n.log" || fail "$n: $(grep -m1 'notify: scan failed' "$n.log")"
	got=$(psql_q "SELECT count(*) FROM notify_queue WHERE node = '$n'")
	echo "# $n delivered $got of $rows"
	[ "$got" -gt 0 ] || fail "$n delivered nothing: the race was not run"
done
pass "queue: $rows rows, one per (certificate, threshold, webhook), all delivered at attempt 1; both nodes delivered; no failed scan"

for n in "${NODES[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
echo "$npass passed"

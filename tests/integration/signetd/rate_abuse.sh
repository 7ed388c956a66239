#!/usr/bin/env bash
# The engine's budgets under abuse (issue 14), against the real appliance
# (signetd, engine, two HTTPS workers, the CoAP front end) on a SoftHSMv2
# token, with real clients (curl, coap-client-gnutls) that must still be
# served while each abuse runs:
#   1. an unauthenticated EST flood (bogus tokens, one source) leaves the
#      tenant's legitimate client served and writes at most two audit rows
#      and log lines per window (the first failure, then the count);
#   2. an authenticated client over its rate gets 429 with Retry-After,
#      the configured rate holding for the whole appliance (two workers);
#   3. one device certificate re-enrolling over EST-coaps in a loop gets
#      4.29 with Max-Age, while another device is served;
# and /metrics counts each refusal.  Loopback only (sources 127.0.0.x);
# every loop is bounded.  As root (CI) it runs sandboxed.
#
# The checks count events, not seconds: an abuse goes on (in bounded
# batches) until it has been refused, the number served is checked
# against what the rate allows over the time the abuse actually took,
# and the audit rows are awaited (bounded), so a loaded machine makes
# the test slower, not different.
#
# usage: rate_abuse.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
FAIL_TAIL=30
test_begin rate
command -v coap-client-gnutls >/dev/null || fail "coap-client-gnutls missing (libcoap3-bin)"
command -v sqlite3 >/dev/null || fail "sqlite3 missing"
test_ports coap
dev_provision
dev_conf 's/^https_workers = 1/https_workers = 2/' \
	's/rate_identity = .*/rate_identity = 1/; s/burst_identity = .*/burst_identity = 5/' \
	's/rate_tenant = .*/rate_tenant = 10/; s/burst_tenant = .*/burst_tenant = 30/' \
	's/rate_auth_fail = .*/rate_auth_fail = 1/; s/burst_auth_fail = .*/burst_auth_fail = 10/' \
	's/auth_fail_window = .*/auth_fail_window = "4s"/' > signetd.conf
chmod 644 signetd.conf
grep -q 'rate_auth_fail = 1' signetd.conf || fail "the board configuration has no rate_auth_fail"
dev_start
pass "appliance up: two HTTPS workers and the CoAP front end"

# engine name -> the engine's counter (one engine: any worker's scrape)
engine() {
	curl -s "${CA[@]}" "${OP[@]}" "$B/metrics" |
		sed -n "s/^signet_engine_limit_total{event=\"$1\"} //p"
}
auth_rows() { as_engine sqlite3 data/ledger.db "SELECT count(*) FROM audit_log WHERE action = 'auth_fail'"; }

T1=$(dev_token service legit.svc.dev.internal)
T2=$(dev_token device d1.dev.devices.internal)
T3=$(dev_token device d2.dev.devices.internal)
[ -n "$T1" ] && [ -n "$T2" ] && [ -n "$T3" ] || fail "no enrollment tokens"
dev_csr legit.svc.dev.internal legit.csr
base64 -w0 legit.csr > legit.b64
dev_csr flood.svc.dev.internal flood.csr
base64 -w0 flood.csr > flood.b64
rows0=$(auth_rows)
fails0=$(grep -c 'authentication failed\|authentication failures' signetd.log || true)

# 1. Unauthenticated flood: enrollments with made-up tokens from
#    127.0.0.2, 8 at a time, in batches of 100 until the legitimate
#    client has been answered (at most 20 batches).
{
	for i in $(seq 1 100); do
		printf 'url = "%s/.well-known/est/simpleenroll"\n' "$B"
		printf 'header = "Authorization: Bearer bogus%04d.%s"\n' "$i" "$(printf '%048d' "$i")"
		printf 'header = "Content-Type: application/pkcs10"\n'
		printf 'data-binary = "@flood.b64"\ncacert = "data/ca/root.pem"\n'
		printf 'interface = "127.0.0.2"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
		[ "$i" -lt 100 ] && printf 'next\n'
	done
} > flood.cfg
t0=$(date +%s.%N)
(
	for _ in $(seq 1 20); do
		[ -f flood.stop ] && break
		timeout 60 curl -s -Z --parallel-max 8 -K flood.cfg 2>/dev/null || true
	done > flood.codes
) &
fpid=$!
until [ "$(wc -l < flood.codes 2>/dev/null || echo 0)" -ge 150 ]; do
	kill -0 "$fpid" 2>/dev/null || fail "the flood stopped early"
	sleep 0.1
done
r1=$(curl -s -o legit.p7 -w '%{http_code} %{time_total}' --max-time 15 "${CA[@]}" \
	-H "Authorization: Bearer $T1" -H 'Content-Type: application/pkcs10' \
	--data-binary @legit.b64 "$B/.well-known/est/simpleenroll" || true)
touch flood.stop
kill -0 "$fpid" 2>/dev/null && during=yes || during=no
wait "$fpid" || true
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", b - a + 1 }')
codes=$(sort flood.codes | uniq -c | awk '{ printf "%s x %s, ", $1, $2 }')
echo "  flood ($secs s): $codes legitimate enrollment: $r1 (flood still running: $during)"
nflood=$(wc -l < flood.codes)
[ "$during" = yes ] || fail "the flood ended before the legitimate client was answered"
[ "${r1%% *}" = 200 ] || fail "the tenant's legitimate client was not served during the flood: $r1"
base64 -d legit.p7 2>/dev/null | openssl pkcs7 -inform der -print_certs 2>/dev/null |
	grep -q 'subject=.*legit.svc.dev.internal' || fail "no certificate for the legitimate client"
! grep -q '^200$' flood.codes || fail "a made-up token enrolled"
grep -q '^429$' flood.codes || fail "the flooding source was never refused by its failure budget"
# One window (4 s) has the first failure and a row with the count of the
# rest; the count row comes once the window has passed: awaited until the
# rows account for every failure (60 s at most; then the check fails).
n401=$(grep -c '^401$' flood.codes || true)
for _ in $(seq 1 120); do
	counted=$(as_engine sqlite3 data/ledger.db "SELECT detail FROM audit_log WHERE action = 'auth_fail' AND actor = 'source:127.0.0.2'" |
		sed -n 's/^count=\([0-9]*\) .*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
	firsts=$(as_engine sqlite3 data/ledger.db "SELECT count(*) FROM audit_log WHERE action = 'auth_fail' AND detail LIKE '%(from 127.0.0.2;%'")
	[ $((firsts + counted)) -lt "$n401" ] || break
	sleep 0.5
done
rows=$(( $(auth_rows) - rows0 ))
lines=$(( $(grep -c 'authentication failed\|authentication failures' signetd.log || true) - fails0 ))
windows=$(( secs / 4 + 2 ))
echo "  $n401 failed authentications: $rows audit rows ($firsts first of a window, the rest counted: $counted); $lines log lines"
[ "$rows" -le $((2 * windows)) ] || fail "$rows auth_fail audit rows for the flood (at most 2 per 4 s window, $((2 * windows)))"
[ "$lines" -le $((2 * windows)) ] || fail "$lines log lines for the flood (at most $((2 * windows)))"
[ $((firsts + counted)) = "$n401" ] || fail "the audit rows account for $((firsts + counted)) of $n401 failures"
[ "$(engine auth_fail_aggregated)" = "$counted" ] || fail "aggregated failures not counted in /metrics"
pass "unauthenticated flood of $nflood from one source: legitimate enrollment ${r1%% *} in ${r1##* } s during it," \
	"$rows audit rows (one count row for $counted failures) and $lines log lines, tenant budget untouched, counted in /metrics"

# 2. An authenticated client over its rate (burst 5, 1/s), over two
#    workers: the appliance-wide number holds and 429 says Retry-After.
#    Batches of 20 at once until one is refused (at most 4): a loaded
#    machine may be slower than the refill, never 20 times slower.
sleep 6	# the operator's bucket refills after making tokens
{
	for i in $(seq 1 20); do
		printf 'url = "%s/v1/certs?tenant=dev"\ncacert = "data/ca/root.pem"\n' "$B"
		printf 'cert = "data/operator/operator.pem"\nkey = "data/operator/operator.key"\n'
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code} %%header{retry-after}\\n"\n'
		[ "$i" -lt 20 ] && printf 'next\n'
	done
} > op.cfg
: > op.codes
t0=$(date +%s.%N)
for _ in 1 2 3 4; do
	timeout 60 curl -s -Z --parallel-max 20 -K op.cfg 2>/dev/null |
		awk '{ print $1, ($2 == "" ? "-" : $2) }' >> op.codes || true
	grep -q '^429 ' op.codes && break
done
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", b - a + 1 }')
ok=$(grep -c '^200 ' op.codes || true)
nop=$(wc -l < op.codes)
echo "  $nop requests, 20 at a time, $secs s: $(sort op.codes | uniq -c | awk '{ printf "%s x %s %s, ", $1, $2, $3 }')"
[ "$ok" -le $((5 + secs)) ] || fail "$ok of $nop served in $secs s (burst 5, 1/s, appliance-wide)"
grep -q '^429 [1-9]' op.codes || fail "no 429 with Retry-After: $(cat op.codes)"
! grep -q '^429 -' op.codes || fail "a 429 without Retry-After"
[ "$(engine rate_identity)" -gt 0 ] || fail "identity refusals not counted in /metrics"
pass "authenticated client over its rate: $ok of $nop served in $secs s over two workers, the rest 429 with Retry-After"

# 3. EST-coaps: one device certificate re-enrolls in a loop.  The identity
#    bucket is one per certificate for every front end, and a loaded
#    machine runs one coap-client process per request slower than the
#    refill (1/s: 12 at once took 18 s at load 30), so the same
#    certificate's HTTPS re-enrollments (curl, 8 at a time) keep its
#    bucket empty while its CoAP requests go in: once HTTPS has been
#    refused (429), CoAP batches of 6 until one is refused.  Served in all
#    (HTTPS and CoAP) is checked against what the rate allows over the
#    time taken.
enroll_device() { # token name dir
	mkdir -p "$3"
	dev_csr "$2" "$3/csr"
	base64 -w0 "$3/csr" > "$3/csr.b64"
	curl -s "${CA[@]}" -H "Authorization: Bearer $1" -H 'Content-Type: application/pkcs10' \
		--data-binary @"$3/csr.b64" "$B/.well-known/est/dev-device/simpleenroll" |
		base64 -d | openssl pkcs7 -inform der -print_certs > "$3/cert.pem" 2>/dev/null || true
	grep -q 'BEGIN CERTIFICATE' "$3/cert.pem" || fail "device $2 did not enroll over HTTPS"
}
enroll_device "$T2" d1.dev.devices.internal d1
enroll_device "$T3" d2.dev.devices.internal d2
sleep 6	# both devices' and the tenant's buckets refill
sren() { # dir source -> the CoAP code (and Max-Age) of one re-enrollment
	timeout 20 coap-client-gnutls -v 7 -B 10 -a "$2" -c "$1/cert.pem" -j "$1/csr.key" \
		-m post -t 286 -A 287 -f "$1/csr" -o "$1/new.der" "$U/est/sren" > "$1/coap.out" 2>&1 || true
	local code age
	code=$(awk '/c:[245]\.[0-9][0-9]/ && / i:/ { c = $0 } END { print c }' "$1/coap.out" |
		sed -n 's/.* c:\([0-9.]*\) .*/\1/p')
	age=$({ grep -o 'Max-Age:[0-9]*' "$1/coap.out" || true; } | tail -1)
	echo "${code:-none} $age"
}
{
	for i in $(seq 1 40); do
		printf 'url = "%s/.well-known/est/dev-device/simplereenroll"\ncacert = "data/ca/root.pem"\n' "$B"
		printf 'cert = "d1/cert.pem"\nkey = "d1/csr.key"\ndata-binary = "@d1/csr.b64"\n'
		printf 'header = "Content-Type: application/pkcs10"\n'
		printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n'
		[ "$i" -lt 40 ] && printf 'next\n'
	done
} > d1.cfg
: > d1.codes
: > d1https.codes
rm -f d1.stop
t0=$(date +%s.%N)
(
	for _ in $(seq 1 30); do
		[ -f d1.stop ] && break
		timeout 60 curl -s -Z --parallel-max 8 -K d1.cfg 2>/dev/null || true
	done > d1https.codes
) &
dpid=$!
for _ in $(seq 1 600); do
	grep -q '^429$' d1https.codes && break
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
grep -q '^429$' d1https.codes || fail "HTTPS re-enrollments of one device were never refused: $(sort d1https.codes | uniq -c | tr '\n' ' ')"
for b in 1 2 3 4; do
	jobs=()
	for i in $(seq 1 6); do
		mkdir -p "d1/$b.$i"
		( cd "d1/$b.$i" && ln -sf ../cert.pem ../csr.key ../csr . && sren . 127.0.0.3 > code ) &
		jobs+=($!)
	done
	wait "${jobs[@]}"	# not signetd, also our child
	cat d1/"$b".*/code >> d1.codes
	grep -q '^4\.29' d1.codes && break
done
other=$(sren d2 127.0.0.4)
touch d1.stop
wait "$dpid" || true
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", b - a + 1 }')
ok=$(grep -c '^2\.04' d1.codes || true)
hok=$(grep -c '^200$' d1https.codes || true)
echo "  one device, $(wc -l < d1.codes) CoAP re-enrollments (6 at a time): $(sort d1.codes | uniq -c | awk '{ printf "%s x %s %s, ", $1, $2, $3 }')" \
	"beside $(wc -l < d1https.codes) over HTTPS: $(sort d1https.codes | uniq -c | awk '{ printf "%s x %s, ", $1, $2 }')in $secs s; another device: $other"
[ $((ok + hok)) -le $((5 + secs)) ] || fail "one device certificate got $((ok + hok)) certificates in $secs s (burst 5, 1/s)"
grep -q '^4\.29 Max-Age:[1-9]' d1.codes || fail "no 4.29 with Max-Age: $(cat d1.codes)"
[ "${other%% *}" = 2.04 ] || fail "another device was not served during the loop: $other"
pass "EST-coaps loop of one device: $ok of $(wc -l < d1.codes) served over CoAP and $hok over HTTPS in $secs s, the rest 4.29 with Max-Age (429 over HTTPS); another device served"

kill -TERM "$pid"
for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" && st=0 || st=$?
pid=
[ "$st" = 0 ] || fail "signetd exited $st on SIGTERM"
! grep -q 'child killed by the sandbox' signetd.log || fail "$(grep 'killed by the sandbox' signetd.log)"
! grep -q 'ERROR: AddressSanitizer\|runtime error' signetd.log || fail "sanitizer report in the log"
as_engine "$build/provisioning/appliance/signet-provision" pubkey -m /usr/lib/softhsm/libsofthsm2.so \
	-t signet-dev -p data/user.pin -l signet-audit > audit.pub || fail "audit public key"
as_engine "$build/tools/signet-audit/signet-audit" verify --db data/ledger.db --pubkey audit.pub >audit.out 2>&1 ||
	fail "audit verify: $(cat audit.out)"
pass "clean shutdown; the audit chain verifies ($(head -c 100 audit.out))"
echo "$npass passed, 0 failed"

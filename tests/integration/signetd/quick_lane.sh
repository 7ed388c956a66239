#!/usr/bin/env bash
# Quick reads are not queued behind issuances (issue 14, the soak's one
# error: "engine timed out type=psk_lookup" at the load peak).  Against
# the real appliance on a SoftHSMv2 token behind the PKCS#11 fault shim
# (tests/p11shim), which makes every signature take 600 ms: 96 keep-alive
# EST clients (signet-bench-est) keep every engine worker busy and a
# queue of issuances ~5 deep per worker waiting; meanwhile
#   1. a device enrolls over EST-coaps with its DTLS PSK: the handshake's
#      PSK lookup (its own HMAC in the token, 600 ms) is answered within
#      the CoAP front end's EC_PSK_TIMEOUT_MS (2 s), so the device gets
#      its certificate;
#   2. EST /cacerts (the engine's CACERTS, which the CoAP front end also
#      asks with the lookup's deadline) is answered in under 2 s.
# The token's session pool is larger than the workers, so what a lookup
# could wait for is a worker, not a session.  Before the reserved worker
# (eng_serve.c), the lookup waited for the ~80 issuances queued ahead of
# it (3 s and more), the handshake failed and so did 1; 2 took as long.
# Loopback only; bounded in time.  As root (CI) it runs sandboxed.
#
# usage: quick_lane.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
FAIL_TAIL=40
test_begin quicklane
trap 'fail "line $LINENO: a command failed"' ERR
command -v coap-client-gnutls >/dev/null || fail "coap-client-gnutls missing (libcoap3-bin)"
shim=$build/tests/p11shim/libsignet_p11shim.so
bench=$build/tools/bench/signet-bench-est
[ -f "$shim" ] || fail "no $shim"
[ -x "$bench" ] || fail "no $bench"
bench_pid=
test_cleanup() { [ -z "$bench_pid" ] || kill "$bench_pid" 2>/dev/null || true; }
test_ports coap
dev_provision
ctl=$work/shim.ctl
shim_set() { # control text: written in one step (tests/p11shim/README.md)
	printf '%s\n' "$1" > "$ctl.tmp"
	chmod 644 "$ctl.tmp"
	mv "$ctl.tmp" "$ctl"
}
shim_set "# pass-through"
export SIGNET_SHIM_TARGET=/usr/lib/softhsm/libsofthsm2.so SIGNET_SHIM_CONTROL=$ctl
dev_conf "s|module = \"/usr/lib/softhsm/libsofthsm2.so\"|module = \"$shim\"|" \
	's/^\([[:space:]]*pool = \)4/\132/' \
	's/rate_identity = .*/rate_identity = 100000000/; s/burst_identity = .*/burst_identity = 100000000/' \
	's/rate_tenant = .*/rate_tenant = 100000000/; s/burst_tenant = .*/burst_tenant = 100000000/' \
	> signetd.conf
chmod 644 signetd.conf
grep -q "module = \"$shim\"" signetd.conf || fail "the shim is not the token module"
grep -q '^[[:space:]]*pool = 32' signetd.conf || fail "the token pool was not raised"
dev_start
pass "appliance up, token behind the PKCS#11 shim, 32 token sessions"

T=$(curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d '{"tenant":"dev","profile":"device","names":["q.dev.devices.internal"],"ttl":3600,"uses":10}' \
	"$B/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$T" ] || fail "no enrollment token"
PSK=$(dev_psk "$T")
dev_csr q.dev.devices.internal q.csr
ms() { date +%s%3N; }

shim_set "delay_ms 600 func C_Sign"
"$bench" -p "$HTTPS" -c data/ca/root.pem -C data/operator/operator.pem \
	-K data/operator/operator.key -n 96 -d 25 > bench.out 2>&1 &
bench_pid=$!
# Until the queue is deep: the issuances' latency is the wait.
sleep 6
t=$(ms)
curl -sf -o cacerts.p7 -m 20 "${CA[@]}" "${OP[@]}" "$B/.well-known/est/cacerts" ||
	fail "EST cacerts failed under load"
cacerts_ms=$(($(ms) - t))
t=$(ms)
timeout 60 coap-client-gnutls -B 50 -m post -u "${T%%.*}" -k "$PSK" -t 286 -A 287 \
	-f q.csr -o q.der "$U/est/dev-device/sen" > q.out 2>&1 || true
coap_ms=$(($(ms) - t))
kill -0 "$bench_pid" 2>/dev/null || fail "the EST load ended before the checks: $(cat bench.out)"
wait "$bench_pid" || true
bench_pid=
shim_set "# pass-through again"
p50=$(awk '/ conns / { print $6 }' bench.out)
[ -n "$p50" ] || fail "signet-bench-est printed no result: $(tail -3 bench.out)"
echo "  EST under the slow token: $(grep ' conns ' bench.out)"
echo "  meanwhile: EST cacerts ${cacerts_ms} ms, EST-coaps PSK enrollment ${coap_ms} ms"
awk -v p="$p50" 'BEGIN { exit !(p >= 2500) }' ||
	fail "the issuances did not queue (p50 ${p50} ms): the test proves nothing"
if grep -q 'engine timed out type=psk_lookup' signetd.log; then
	fail "a PSK lookup waited behind the issuances: $(grep -m1 'engine timed out type=psk_lookup' signetd.log)"
fi
openssl x509 -inform der -in q.der -noout 2>/dev/null ||
	fail "the device was not enrolled while the workers were busy (${coap_ms} ms): $(tail -5 q.out)"
pass "a PSK handshake and enrollment succeeded (${coap_ms} ms) while every worker waited on the token (EST p50 ${p50} ms)"
[ -s cacerts.p7 ] || fail "EST cacerts answered nothing"
[ "$cacerts_ms" -lt 2000 ] || fail "EST cacerts took ${cacerts_ms} ms behind the issuances"
pass "CA certificates answered in ${cacerts_ms} ms behind the issuances"

kill -TERM "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" && st=0 || st=$?
pid=
[ "$st" = 0 ] || fail "signetd exited $st on SIGTERM"
! grep -q 'child killed by the sandbox' signetd.log || fail "$(grep 'killed by the sandbox' signetd.log)"
echo "PASS ($npass checks)"

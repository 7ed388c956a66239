#!/usr/bin/env bash
# Quick reads are not queued behind issuances (issue 14, the soak's one
# error: "engine timed out type=psk_lookup" at the load peak).  Against
# the real appliance on a SoftHSMv2 token behind the PKCS#11 fault shim
# (tests/p11shim), which makes every signature take 1 s: 64 EST clients
# (curl, one simpleenroll after another) keep every engine worker busy
# and a queue of issuances two to three deep per worker waiting;
# meanwhile
#   1. a device enrolls over EST-coaps with its DTLS PSK: the handshake's
#      PSK lookup (its own HMAC in the token, 1 s) is answered within
#      the CoAP front end's EC_PSK_TIMEOUT_MS (2 s), so the device gets
#      its certificate;
#   2. EST /cacerts (the engine's CACERTS, which the CoAP front end also
#      asks with the lookup's deadline) is answered in under 2 s.
# The token's session pool is larger than the workers, so what a lookup
# could wait for is a worker, not a session.  Before the reserved worker
# (eng_serve.c), the lookup waited for the issuances queued ahead of it
# (3 s and more), the handshake failed and so did 1; 2 took as long.
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
[ -f "$shim" ] || fail "no $shim"
loaders=()
test_cleanup() {
	local p
	for p in "${loaders[@]}"; do kill "$p" 2>/dev/null || true; done
}
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
	's/max_connections_per_source = .*/max_connections_per_source = 256/' \
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
dev_csr load.svc.dev.internal load.csr
base64 -w 64 load.csr > load.b64
ms() { date +%s%3N; }

# est_loop END: simpleenroll after simpleenroll until END (epoch s); a
# line per answer in est.res: "HTTP-status seconds".
est_loop() {
	while [ "$(date +%s)" -lt "$1" ]; do
		curl -s -o /dev/null -m 60 -w '%{http_code} %{time_total}\n' "${CA[@]}" "${OP[@]}" \
			-H 'Content-Type: application/pkcs10' --data-binary @load.b64 \
			"$B/.well-known/est/dev-service/simpleenroll" >>est.res 2>/dev/null || true
	done
}
shim_set "delay_ms 1000 func C_Sign"
: >est.res
end=$(($(date +%s) + 25))
for _ in $(seq 1 64); do
	est_loop "$end" &
	loaders+=("$!")
done
# Until the queue is deep.
sleep 8
t=$(ms)
curl -sf -o cacerts.p7 -m 20 "${CA[@]}" "${OP[@]}" "$B/.well-known/est/cacerts" ||
	fail "EST cacerts failed under load"
cacerts_ms=$(($(ms) - t))
t=$(ms)
timeout 60 coap-client-gnutls -B 50 -m post -u "${T%%.*}" -k "$PSK" -t 286 -A 287 \
	-f q.csr -o q.der "$U/est/dev-device/sen" > q.out 2>&1 || true
coap_ms=$(($(ms) - t))
[ "$(date +%s)" -lt "$end" ] || fail "the EST load ended before the checks"
for p in "${loaders[@]}"; do wait "$p" || true; done
loaders=()
shim_set "# pass-through again"
n=$(grep -c '^200 ' est.res || true)
p50=$(awk '$1 == 200 { print int($2 * 1000) }' est.res | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] + 0 }')
echo "  EST under the slow token: $n issued, p50 ${p50} ms, $(grep -vc '^200 ' est.res || true) other answers"
echo "  meanwhile: EST cacerts ${cacerts_ms} ms, EST-coaps PSK enrollment ${coap_ms} ms"
[ "$p50" -ge 2500 ] || fail "the issuances did not queue (p50 ${p50} ms): the test proves nothing"
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

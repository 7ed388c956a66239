#!/usr/bin/env bash
# Quick reads are not queued behind issuances (issue 14, the soak's one
# error: "engine timed out type=psk_lookup" at the load peak), with the
# token's session pool at its default size (4, fewer sessions than
# engine workers).  Against the real appliance on a SoftHSMv2 token
# behind the PKCS#11 fault shim (tests/p11shim), which makes every
# signature take 1 s: 48 OCSP clients (curl over plain HTTP, a dozen
# requests with a nonce one after another on one keep-alive connection:
# each answer is a signature) keep every engine worker busy, four of
# them signing and the rest waiting for a token session, and a queue
# waiting for the workers; meanwhile
#   1. a device enrolls over EST-coaps with its DTLS PSK: the handshake's
#      PSK lookup (the engine's quick worker, and its own HMAC in the
#      token, 1 s, on the session the token layer reserves for quick
#      operations) is answered within the CoAP front end's
#      EC_PSK_TIMEOUT_MS (2 s): no "engine timed out" type=psk_lookup,
#      the front end counts the lookup answered and none refused, and
#      the device's request gets a CoAP answer, not a DTLS failure.  Its
#      enrollment then queues for a worker and a signature like the
#      OCSP requests; whether it got its certificate is printed, not
#      judged;
#   2. EST /cacerts (the engine's CACERTS, which the CoAP front end also
#      asks with the lookup's deadline) is answered; its time to first
#      byte is printed, not judged (the front end's own scheduling under
#      ASan on a loaded machine is of the same order: 1.3-1.9 s against
#      2.5 s on the old engine).
# Before the reserved worker (eng_serve.c), the lookup waited for the
# signatures queued ahead of it; with the worker but no reserved token
# session, it waited for one of the four sessions behind up to 16
# workers' signatures (a 32-session pool hid that), and the handshake
# failed.  Loopback only; bounded in time.  As root (CI) it runs
# sandboxed.
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
	'/^[[:space:]]*pool = /d' \
	's/max_connections_per_source = .*/max_connections_per_source = 256/' \
	's/rate_identity = .*/rate_identity = 100000000/; s/burst_identity = .*/burst_identity = 100000000/' \
	's/rate_tenant = .*/rate_tenant = 100000000/; s/burst_tenant = .*/burst_tenant = 100000000/' \
	's/\(rate\|burst\)_ocsp_\(nonce\|sign\) = .*/\1_ocsp_\2 = 100000000/' \
	> signetd.conf
chmod 644 signetd.conf
grep -q "module = \"$shim\"" signetd.conf || fail "the shim is not the token module"
! grep -q '^[[:space:]]*pool = ' signetd.conf || fail "the token pool is configured: $(grep 'pool = ' signetd.conf)"
dev_start
pass "appliance up, token behind the PKCS#11 shim, the default pool of 4 token sessions"

T=$(curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d '{"tenant":"dev","profile":"device","names":["q.dev.devices.internal"],"ttl":3600,"uses":10}' \
	"$B/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$T" ] || fail "no enrollment token"
PSK=$(dev_psk "$T")
dev_csr q.dev.devices.internal q.csr
openssl ocsp -issuer data/ca/intermediate.pem -serial 0x0102030405 -reqout ocsp.req >/dev/null 2>&1 ||
	fail "openssl ocsp made no request"
openssl ocsp -reqin ocsp.req -req_text 2>/dev/null | grep -q 'OCSP Nonce' || fail "the OCSP request has no nonce"
ms() { date +%s%3N; }

# ocsp_client: a dozen OCSP requests with a nonce, one after another on
# one keep-alive connection; a line per answer in ocsp.res:
# "HTTP-status seconds".
ocsp_client() {
	local a=() i
	for i in $(seq 1 12); do
		a+=(-o /dev/null "http://127.0.0.1:$HTTP/ocsp")
	done
	curl -s -m 120 -w '%{http_code} %{time_total}\n' -H 'Content-Type: application/ocsp-request' \
		--data-binary @ocsp.req "${a[@]}" >>ocsp.res 2>/dev/null || true
}
shim_set "delay_ms 1000 func C_Sign"
: >ocsp.res
for _ in $(seq 1 48); do
	ocsp_client &
	loaders+=("$!")
done
# Until the queue is deep.
sleep 8
cacerts_ms=$(curl -sf -o cacerts.p7 -m 20 -w '%{time_pretransfer} %{time_starttransfer}' "${CA[@]}" "${OP[@]}" \
	"$B/.well-known/est/cacerts" | awk '{ printf "%d", ($2 - $1) * 1000 }') ||
	fail "EST cacerts failed under load"
t=$(ms)
timeout 60 coap-client-gnutls -B 50 -m post -u "${T%%.*}" -k "$PSK" -t 286 -A 287 \
	-f q.csr -o q.der "$U/est/dev-device/sen" > q.out 2>&1 || true
coap_ms=$(($(ms) - t))
busy=0
for p in "${loaders[@]}"; do ! kill -0 "$p" 2>/dev/null || busy=$((busy + 1)); done
[ "$busy" -ge 32 ] || fail "the OCSP load ended before the checks ($busy clients left)"
for p in "${loaders[@]}"; do wait "$p" || true; done
loaders=()
shim_set "# pass-through again"
n=$(grep -c '^200 ' ocsp.res || true)
p50=$(awk '$1 == 200 { print int($2 * 1000) }' ocsp.res | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] + 0 }')
echo "  OCSP under the slow token: $n signed answers, p50 ${p50} ms, $(grep -vc '^200 ' ocsp.res || true) other answers"
echo "  meanwhile: EST cacerts ${cacerts_ms} ms, EST-coaps PSK enrollment ${coap_ms} ms"
# With 4 sessions for 16 workers and 48 clients, a request waits for a
# worker and a session: it is answered after 2 s (twice the token's
# time) or not in the HTTPS front end's time for an engine call.  Most
# must have waited so, or the test proves nothing.
all=$(wc -l <ocsp.res)
waited=$(awk '$1 != 200 || $2 >= 2.0' ocsp.res | wc -l)
echo "  $waited of $all OCSP requests waited 2 s or more, or timed out"
[ "$all" -gt 0 ] && [ $((2 * waited)) -ge "$all" ] ||
	fail "the signatures did not queue ($waited of $all requests waited): the test proves nothing"
grep -q 'engine call timed out" type=ocsp' signetd.log ||
	fail "no OCSP request outlasted the HTTPS front end's engine deadline: the test proves nothing"
if grep -q 'engine timed out" type=psk_lookup' signetd.log; then
	fail "a PSK lookup waited behind the issuances: $(grep -m1 'engine timed out" type=psk_lookup' signetd.log)"
fi
sed 's/^/  coap-client: /' q.out | head -5
# libcoap prints a DTLS alert it receives or sends as "Alert '<name>'";
# a retransmitted handshake packet it discards is no failure.
if grep -q 'Alert' q.out; then
	fail "the device's DTLS handshake failed (${coap_ms} ms): $(grep -m1 'Alert' q.out)"
fi
if openssl x509 -inform der -in q.der -noout 2>/dev/null; then
	enrolled="and enrollment"
else
	# An answer other than a certificate came over the DTLS session.
	grep -q '^[245]\.[0-9][0-9]' q.out ||
		fail "the device got no CoAP answer (${coap_ms} ms): $(tail -5 q.out)"
	enrolled="(enrollment answered $(grep -m1 '^[245]\.[0-9][0-9]' q.out))"
fi
pass "a PSK handshake $enrolled succeeded (${coap_ms} ms) while every worker waited on the token ($waited of $all OCSP requests queued)"
[ -s cacerts.p7 ] || fail "EST cacerts answered nothing"
pass "CA certificates answered (${cacerts_ms} ms) behind the signatures"

kill -TERM "$pid"
for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" && st=0 || st=$?
pid=
[ "$st" = 0 ] || fail "signetd exited $st on SIGTERM"
! grep -q 'child killed by the sandbox' signetd.log || fail "$(grep 'killed by the sandbox' signetd.log)"
# The CoAP front end's count of PSK lookups, logged as it stops.
stop=$(grep 'msg="stopping" requests=' signetd.log | grep -m1 'psk_ok=') ||
	fail "the CoAP front end logged no counts as it stopped"
psk_ok=$(sed -n 's/.* psk_ok=\([0-9]*\).*/\1/p' <<<"$stop")
psk_refused=$(sed -n 's/.* psk_refused=\([0-9]*\).*/\1/p' <<<"$stop")
[ "${psk_ok:-0}" -ge 1 ] && [ "${psk_refused:-1}" = 0 ] ||
	fail "PSK lookups answered ${psk_ok:-?}, refused ${psk_refused:-?}: $stop"
pass "the CoAP front end answered $psk_ok PSK lookup(s) and refused none"
echo "PASS ($npass checks)"

#!/usr/bin/env bash
# /metrics for operators (issue 14, issue 19), against the real appliance
# (signetd, engine, HTTPS front end, CoAP front end) on a SoftHSMv2 token:
# every scrape parses with a Prometheus text-format parser and passes the
# strict checks of metrics_check.py (bounded labels: no serials, no
# names), and the counters move when they should:
#   - a CoAP enrollment (coap-client-gnutls, DTLS-PSK from a token) moves
#     signet-coap's requests, enrolled, handshakes and PSK lookups, which
#     the CoAP front end reports to the engine and /metrics shows;
#   - a refused CoAP enrollment (a name its token does not allow) moves
#     signet_coap_errors_total and signet_issuance_refused_total{tenant,
#     profile,reason="forbidden"}; a used token's PSK moves the refused
#     PSK lookups;
#   - issuance and revocation move signet_certificates_issued_total and
#     signet_certificates_revoked_total of their tenant and profile;
#   - the token's state and signing-time histogram, ledger writes and
#     the group-commit duration histogram, OCSP cache hits and the CRL's
#     size, entries and age per issuer.
# Loopback only; every wait is bounded.
#
# usage: metrics.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
test_begin metrics
command -v coap-client-gnutls >/dev/null || fail "coap-client-gnutls missing (libcoap3-bin)"
# Debian's python3-prometheus-client is for Debian's python3, which a
# developer's PATH may put behind another python3.
PY=python3
$PY -c 'import prometheus_client.parser' 2>/dev/null || PY=/usr/bin/python3
$PY -c 'import prometheus_client.parser' 2>/dev/null ||
	fail "python3-prometheus-client missing (tools/install-deps.sh)"
[ -x "$build/api/coap/signet-coap" ] || fail "signet-coap not built: the CoAP counters must be tested"
test_ports coap
dev_provision
dev_conf > signetd.conf
chmod 644 signetd.conf
dev_start
pass "appliance up with the CoAP front end"
JSON=(-H 'Content-Type: application/json')
n=0
# scrape: /metrics into m<n>.txt, checked; the checked series in m<n>.s
scrape() {
	n=$((n + 1))
	curl -sf -m 10 "${CA[@]}" "${OP[@]}" "$B/metrics" > "m$n.txt" || fail "/metrics did not answer"
	$PY "$src/tests/integration/signetd/metrics_check.py" "m$n.txt" > "m$n.s" 2> check.err ||
		fail "scrape $n does not parse: $(cat check.err)"
}
# val SERIES: its value in the last scrape (labels sorted), 0 if absent
val() { awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' "m$n.s"; }
# wait_for SERIES MIN: scrape until SERIES >= MIN (signet-coap reports
# at most once a second), at most 15 s
wait_for() {
	for _ in $(seq 1 30); do
		scrape
		[ "$(val "$1")" -ge "$2" ] && return 0
		sleep 0.5
	done
	fail "$1 is $(val "$1") after 15 s, wanted >= $2: $(grep -F "${1%%\{*}" "m$n.s" || true)"
}
C_REQ='signet_coap_requests_total{}'
C_ENR='signet_coap_enrolled_total{}'
C_ERR='signet_coap_errors_total{}'
C_HS='signet_coap_handshakes_total{result="ok"}'
C_PSK='signet_coap_psk_lookups_total{result="ok"}'
C_PSKNO='signet_coap_psk_lookups_total{result="refused"}'
C_HELLO='signet_coap_client_hellos_total{result="passed_unverified"}'
C_HELLOC='signet_coap_client_hellos_total{result="passed_cookie"}'
C_SESS='signet_coap_sessions_total{}'
DEV='profile="device",tenant="dev"'
ISS="signet_certificates_issued_total{$DEV}"
REV="signet_certificates_revoked_total{$DEV}"
FORB='signet_issuance_refused_total{profile="device",reason="forbidden",tenant="dev"}'

scrape
for s in "$C_REQ" "$C_ENR" "$C_ERR" "$C_HS" "$C_HELLO" "$C_SESS" 'signet_coap_refused_total{reason="rate_limited"}' \
	'signet_engine_limit_total{event="ocsp_sign_capped"}'; do
	grep -qF "$s " "m$n.s" || fail "no series $s in the first scrape"
done
grep -q '^signet_https_requests_total{' "m$n.s" || fail "the HTTPS counters are gone"
pass "/metrics parses with prometheus_client and the strict checks; CoAP and engine families present"
req0=$(val "$C_REQ") enr0=$(val "$C_ENR") err0=$(val "$C_ERR") hs0=$(val "$C_HS")
hello0=$(($(val "$C_HELLO") + $(val "$C_HELLOC"))) sess0=$(val "$C_SESS")
psk0=$(val "$C_PSK") pskno0=$(val "$C_PSKNO") iss0=$(val "$ISS") rev0=$(val "$REV") forb0=$(val "$FORB")
lc0=$(val 'signet_ledger_commit_seconds_count{}')

# 1. A CoAP enrollment over DTLS-PSK.
T1=$(dev_token device m1.dev.devices.internal)
[ -n "$T1" ] || fail "no enrollment token"
dev_csr m1.dev.devices.internal m1.csr
timeout 30 coap-client-gnutls -B 20 -m post -u "${T1%%.*}" -k "$(dev_psk "$T1")" -t 286 -A 287 \
	-f m1.csr -o m1.der "$U/est/dev-device/sen" > coap1.out 2>&1 || fail "coap enroll: $(cat coap1.out)"
openssl x509 -inform der -in m1.der -out m1.pem 2>/dev/null || fail "coap enroll answer: $(cat coap1.out)"
wait_for "$C_ENR" $((enr0 + 1))
[ "$(val "$C_REQ")" -ge $((req0 + 1)) ] || fail "CoAP requests did not move: $(val "$C_REQ")"
[ "$(val "$C_HS")" -ge $((hs0 + 1)) ] || fail "CoAP handshakes did not move: $(grep coap_handshakes "m$n.s")"
[ "$(val "$C_PSK")" -ge $((psk0 + 1)) ] || fail "PSK lookups did not move: $(grep psk_lookups "m$n.s")"
[ $(($(val "$C_HELLO") + $(val "$C_HELLOC"))) -ge $((hello0 + 1)) ] ||
	fail "the ClientHello passed to libcoap was not counted: $(grep client_hellos "m$n.s")"
[ "$(val "$C_SESS")" -ge $((sess0 + 1)) ] || fail "libcoap's new session was not counted: $(grep coap_sessions "m$n.s")"
[ "$(val "$ISS")" -ge $((iss0 + 1)) ] || fail "$ISS did not move: $(grep issued_total "m$n.s")"
[ "$(val "$C_ERR")" = "$err0" ] || fail "an enrollment counted as a CoAP error"
pass "a CoAP enrollment moves requests, enrolled, handshakes, ClientHellos, sessions, PSK lookups and issued{dev,device} ($(val "$C_ENR") enrolled)"

# 2. A refused CoAP enrollment: the token does not allow the CSR's name.
T2=$(dev_token device m2.dev.devices.internal)
[ -n "$T2" ] || fail "no enrollment token"
dev_csr evil.dev.devices.internal evil.csr
timeout 30 coap-client-gnutls -B 20 -m post -u "${T2%%.*}" -k "$(dev_psk "$T2")" -t 286 -A 287 \
	-f evil.csr -o evil.der "$U/est/dev-device/sen" > coap2.out 2>&1 || true
grep -q '4\.03' coap2.out || fail "the refused enrollment was not answered 4.03: $(cat coap2.out)"
wait_for "$C_ERR" $((err0 + 1))
[ "$(val "$FORB")" -ge $((forb0 + 1)) ] || fail "$FORB did not move: $(grep issuance_refused "m$n.s" || true)"
[ "$(val "$C_ENR")" = $((enr0 + 1)) ] || fail "the refused enrollment counted as enrolled"
pass "a refused CoAP enrollment moves signet_coap_errors_total and issuance_refused{dev,device,forbidden}"

# 3. The used token's PSK: refused at the handshake, counted.
timeout 30 coap-client-gnutls -B 10 -m post -u "${T1%%.*}" -k "$(dev_psk "$T1")" -t 286 -A 287 \
	-f m1.csr -o again.der "$U/est/dev-device/sen" > coap3.out 2>&1 || true
[ ! -s again.der ] || fail "a used token's PSK enrolled again"
wait_for "$C_PSKNO" $((pskno0 + 1))
pass "a used token's PSK moves psk_lookups{refused} ($(val "$C_PSKNO"))"

# 4. Revocation by the operator: revoked{dev,device}.
SER=$(openssl x509 -in m1.pem -noout -serial | cut -d= -f2)
code=$(curl -s -o rev.out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"serial\":\"$SER\",\"reason\":\"keyCompromise\"}" "$B/v1/revoke")
[ "$code" = 200 ] || fail "revoke answered $code: $(cat rev.out)"
scrape
[ "$(val "$REV")" = $((rev0 + 1)) ] || fail "$REV is $(val "$REV"), wanted $((rev0 + 1))"
! grep -qi "$SER" "m$n.txt" || fail "a serial appears in /metrics"
! grep -q 'm1\.dev\.devices' "m$n.txt" || fail "a name appears in /metrics"
pass "a revocation moves revoked{dev,device}; no serial and no name in /metrics"

# 5. The token, the ledger, the OCSP cache and the CRL (issue 19).
SIGN='signet_token_sign_seconds_count{}'
[ "$(val 'signet_token_state{state="up"}')" = 1 ] || fail "token not up in /metrics: $(grep token_state "m$n.s")"
[ "$(val "$SIGN")" -ge 1 ] || fail "no token signature counted: $(grep token_sign "m$n.s")"
[ "$(val 'signet_ledger_operations_total{}')" -ge 2 ] &&
	[ "$(val 'signet_ledger_transactions_total{}')" -ge 1 ] || fail "ledger writes not counted"
# Every group commit is timed: the histogram counts each transaction
# (failed batches too, so >=), and its +Inf bucket is its count.
LC='signet_ledger_commit_seconds_count{}'
[ "$(val "$LC")" -ge "$(val 'signet_ledger_transactions_total{}')" ] ||
	fail "commit durations: $(grep ledger_ "m$n.s")"
[ "$(val 'signet_ledger_commit_seconds_bucket{le="+Inf"}')" = "$(val "$LC")" ] ||
	fail "commit histogram +Inf bucket: $(grep ledger_commit "m$n.s")"
[ "$(val "$LC")" -gt "$lc0" ] || fail "issuances and a revocation did not move $LC from $lc0: $(grep ledger_ "m$n.s")"
# SQLite's heap in the engine (issue 14): there, and within its page
# caches' budget (2 x 2048 KiB) plus schema and statements.
sqm=$(val 'signet_ledger_sqlite_memory_bytes{}')
[ "$sqm" -gt 0 ] && [ "$sqm" -lt $((8 * 1024 * 1024)) ] || fail "signet_ledger_sqlite_memory_bytes is $sqm"
sign0=$(val "$SIGN") hit0=$(val 'signet_ocsp_cache_total{event="hit"}')
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem
for i in 1 2 3; do
	openssl ocsp -issuer data/ca/intermediate.pem -cert m1.pem -no_nonce \
		-url "http://127.0.0.1:$HTTP/ocsp" -CAfile chain.pem > "ocsp$i.out" 2>&1 || true
	grep -q 'm1.pem: revoked' "ocsp$i.out" || fail "OCSP: $(cat "ocsp$i.out")"
done
curl -sf -m 10 -o int.crl "http://127.0.0.1:$HTTP/crl/intermediate.crl" || fail "no CRL"
scrape
[ "$(val 'signet_ocsp_cache_total{event="hit"}')" -ge $((hit0 + 2)) ] ||
	fail "3 OCSP requests for one serial: $(grep ocsp_cache "m$n.s")"
[ "$(val "$SIGN")" -gt "$sign0" ] || fail "the OCSP answer's signature not counted"
bytes=$(stat -c %s int.crl)
[ "$(val 'signet_crl_bytes{issuer="intermediate"}')" = "$bytes" ] ||
	fail "CRL size $bytes, /metrics: $(grep signet_crl_ "m$n.s")"
# The revocation may still be in the CRL's debounce: compare, not expect.
entries=$(openssl crl -inform der -in int.crl -noout -text | grep -c 'Serial Number:' || true)
[ "$(val 'signet_crl_entries{issuer="intermediate"}')" = "$entries" ] ||
	fail "the CRL lists $entries, /metrics: $(grep signet_crl_ "m$n.s")"
age=$(val 'signet_crl_age_seconds{issuer="intermediate"}')
[ "$age" -le 120 ] || fail "CRL age $age s"
pass "token state and signing times, ledger writes and commit times, OCSP cache hits, CRL size/entries/age ($bytes bytes, $entries entries, $age s) in /metrics"

daemon_stop
! grep -q 'ERROR: AddressSanitizer\|runtime error' signetd.log || fail "sanitizer report in the log"
echo "$npass passed, 0 failed"

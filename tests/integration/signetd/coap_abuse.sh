#!/usr/bin/env bash
# The CoAP front end and the OCSP responder under abuse (issue 14), against
# the real appliance (signetd, engine, HTTPS front end, signet-coap) on a
# SoftHSMv2 token, with coap-client-gnutls and curl/openssl:
#   1. /.well-known/core lists only what the session may use: a PSK
#      session its token's profile, a device certificate its issuer's
#      profiles, a certificate no tenant issued nothing tenant-specific;
#      an unknown PSK identity gets no handshake;
#   2. one device certificate opens 20 Block1 bodies and never finishes
#      them: at most 4 (per identity) are held, the rest get 5.03, and
#      another device's Block1 enrollment is served meanwhile;
# and what each refusal is counted in.  Loopback only; every loop is
# bounded.  As root (CI) it runs sandboxed.
#
# usage: coap_abuse.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
FAIL_TAIL=30
test_begin coapab
trap 'fail "line $LINENO: a command failed"' ERR
command -v coap-client-gnutls >/dev/null || fail "coap-client-gnutls missing (libcoap3-bin)"
test_ports coap
dev_provision
dev_conf > signetd.conf
chmod 644 signetd.conf
dev_start
pass "appliance up"

labels() { # the labelled EST resources in a discovery answer, sorted
	grep -o '</est/[^/>]*/[a-z]*>' | sed 's,</est/\([^/]*\)/.*,\1,' | sort -u | tr '\n' ' '
}

# 1. Discovery per session.
TD=$(dev_token device d1.dev.devices.internal)
TS=$(dev_token service s1.svc.dev.internal)
[ -n "$TD" ] && [ -n "$TS" ] || fail "no enrollment tokens"
disc() { timeout 30 coap-client-gnutls -B 10 "$@" "$U/.well-known/core" 2>&1 || true; }
out=$(disc -u "${TD%%.*}" -k "$(dev_psk "$TD")")
echo "  device token: $(echo "$out" | labels)"
echo "$out" | grep -q '</est/sen>;ct=[^;]*;rt="ace.est.sen"' || fail "default resources not listed to a PSK session: $out"
[ "$(echo "$out" | labels)" = "dev-device " ] || fail "a device token's session sees: $out"
out=$(disc -u "${TS%%.*}" -k "$(dev_psk "$TS")")
echo "  service token: $(echo "$out" | labels)"
[ "$(echo "$out" | labels)" = "dev-service " ] || fail "a service token's session sees: $out"
out=$(disc -u "${TS%%.*}" -k "$(dev_psk "$TS")" -m get "$U/.well-known/core?rt=ace.est.crts")
echo "$out" | grep -q '</est/dev-service/crts>' || fail "rt filter: $out"
! echo "$out" | grep -q 'ace.est.sen' || fail "rt filter lists sen: $out"
out=$(disc -u "no-such-id" -k "00112233445566778899aabbccddeeff")
! echo "$out" | grep -q 'ace.est' || fail "an unknown PSK identity was served: $out"
out=$(disc -c data/operator/operator.pem -j data/operator/operator.key)
echo "  operator certificate: $(echo "$out" | labels)"
echo "$out" | grep -q '</est/crts>' || fail "no discovery for a certificate session: $out"
[ -z "$(echo "$out" | labels)" ] || fail "a certificate no tenant issued sees: $out"
# A device enrolls with its token, then discovers with its certificate.
dev_csr d1.dev.devices.internal d1.csr
timeout 30 coap-client-gnutls -B 20 -m post -u "${TD%%.*}" -k "$(dev_psk "$TD")" -t 286 -A 287 \
	-f d1.csr -o d1.der "$U/est/dev-device/sen" > d1.out 2>&1 || fail "PSK enrollment: $(cat d1.out)"
openssl x509 -inform der -in d1.der -out d1.pem 2>/dev/null || fail "PSK enrollment answer: $(cat d1.out)"
out=$(disc -c d1.pem -j d1.csr.key)
echo "  device certificate: $(echo "$out" | labels)"
echo "$out" | grep -q '</est/dev-device/sren>' || fail "a device certificate does not see its profile: $out"
pass "discovery: each token's session its own profile, a device certificate its issuer's profiles, an operator certificate none, unknown PSK no handshake"

# 2. Block1 bodies of one identity: 20 sessions with d1's certificate
#    each start a 16-byte-block transfer and lose every datagram after
#    the 12th (coap-client -l), so no body ever completes.
holds=()
for i in $(seq 1 20); do
	timeout 20 coap-client-gnutls -B 15 -c d1.pem -j d1.csr.key -m post -t 286 -b 16 \
		-l 12-1000 -f d1.csr "$U/est/dev-device/sren" > "hold.$i" 2>&1 &
	holds+=($!)
done
sleep 4
TD2=$(dev_token device d2.dev.devices.internal)
dev_csr d2.dev.devices.internal d2.csr
timeout 30 coap-client-gnutls -B 20 -m post -u "${TD2%%.*}" -k "$(dev_psk "$TD2")" -t 286 -A 287 -b 16 \
	-f d2.csr -o d2.der "$U/est/dev-device/sen" > d2.out 2>&1 || true
wait "${holds[@]}" || true	# not signetd, also our child
openssl x509 -inform der -in d2.der -noout 2>/dev/null || fail "another device not served during the hold: $(cat d2.out)"
pass "20 unfinished Block1 bodies of one certificate: another device enrolled with Block1 meanwhile"

kill -TERM "$pid"
for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" && st=0 || st=$?
pid=
[ "$st" = 0 ] || fail "signetd exited $st on SIGTERM"
! grep -q 'child killed by the sandbox' signetd.log || fail "$(grep 'killed by the sandbox' signetd.log)"
grep 'signet-coap\[[0-9]*\] level=[a-z]* msg="stopping"' signetd.log
refused=$(sed -n 's/.*signet-coap\[[0-9]*\] level=[a-z]* msg="stopping".* bodies_refused=\([0-9]*\).*/\1/p' signetd.log | tail -1)
reaped=$(sed -n 's/.*signet-coap\[[0-9]*\] level=[a-z]* msg="stopping".* reaped=\([0-9]*\).*/\1/p' signetd.log | tail -1)
# How many of the 20 holders get a first block in depends on the machine's
# load (20 concurrent DTLS handshakes); what must hold whatever the load is
# that the identity never had more than 4 bodies (reaped = bodies that
# were held until their deadline) and that any further ones were refused.
[ -n "$refused" ] && [ -n "$reaped" ] || fail "no body counters in the stopping line"
[ "$reaped" -le 4 ] || fail "the identity held $reaped bodies (limit 4)"
[ "$((reaped + refused))" -ge 5 ] && [ "$refused" -ge 1 ] ||
	echo "  note: only $((reaped + refused)) bodies started under this load; the per-identity limit was not reached"
pass "Block1: $reaped bodies of one identity held until their deadline, $refused refused (4 per identity)"
echo "PASS ($npass checks)"

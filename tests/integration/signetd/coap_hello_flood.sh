#!/usr/bin/env bash
# Spoofed DTLS ClientHello floods against the CoAP front end (issue 14),
# on the real appliance with coap-client-gnutls as the device:
#   0. a device is served (PSK of a fresh enrollment token);
#   1. control, same run: with the cookie check opened up
#      (coap_hello_unverified far above max_coap_handshakes, i.e. libcoap
#      alone), 3,000 forged sources a second for 3 s lock the device out;
#   2. after a reload with the shipped default, the same flood is answered
#      by our stateless HelloVerifyRequests and the device is served right
#      after it, and again during a flood of 3,000 sources a second, and
#      signet-enroll (Mbed TLS) enrolls right after one;
#   3. the counters: the flood was answered by us, at most the budget of
#      cookie-less ClientHellos reached libcoap.
# Forged sources are 127.1.0.0/16 on loopback (one datagram per address,
# as a forger sends them).  Every wait is bounded.  As root (CI) it runs
# sandboxed.
#
# usage: coap_hello_flood.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
abuse=$build/tests/integration/coap/ec_abuse
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
FAIL_TAIL=30
test_begin coaphello
trap 'fail "line $LINENO: a command failed"' ERR
command -v coap-client-gnutls >/dev/null || fail "coap-client-gnutls missing (libcoap3-bin)"
[ -x "$abuse" ] || fail "ec_abuse not built"
N=3000
test_ports coap
dev_provision
conf() { # coap_hello_unverified
	dev_conf "s/^\(\tcoap_hello_unverified = \)16\$/\1$1/" > signetd.conf.new
	grep -q "coap_hello_unverified = $1\$" signetd.conf.new || fail "no coap_hello_unverified in the dev-host config"
	mv signetd.conf.new signetd.conf
	chmod 644 signetd.conf
}
conf 1000000
dev_start
pass "appliance up, cookie check opened up (control)"

# One ClientHello as coap-client-gnutls sends it, caught on a UDP port.
python3 - hello.bin <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".port", "w").write(str(s.getsockname()[1]))
s.settimeout(20)
d, _ = s.recvfrom(65536)
open(sys.argv[1], "wb").write(d)
PY
cap=$!
for _ in $(seq 1 300); do [ -s hello.bin.port ] && break; sleep 0.1; done
timeout 5 coap-client-gnutls -B 2 -u x -k 00112233445566778899aabbccddeeff \
	"coaps://127.0.0.1:$(cat hello.bin.port)/.well-known/core" >/dev/null 2>&1 || true
wait "$cap" || fail "no ClientHello captured"

# A device: discovery over a PSK session; prints the seconds it took.
device() { # wait_seconds -> 0 if served
	local tok t0 out
	tok=$(dev_token device d1.dev.devices.internal)
	[ -n "$tok" ] || fail "no enrollment token"
	t0=$(date +%s%N)
	out=$(timeout $(($1 + 10)) coap-client-gnutls -B "$1" -u "${tok%%.*}" -k "$(dev_psk "$tok")" \
		"$U/.well-known/core" 2>&1 || true)
	ms=$((($(date +%s%N) - t0) / 1000000))
	echo "$out" | grep -q 'ace.est'
}
coap_ready() { grep -c 'signet-coap\[[0-9]*\] level=[a-z]* msg="ready"' signetd.log || true; }

device 10 || fail "device not served before any flood"
pass "device served with no flood (${ms} ms)"

# 1. Control: libcoap alone.  Three rounds, so that well over
#    max_coap_handshakes reach it even when the socket overflows.
"$abuse" spoof "$COAP" hello.bin $N 3
! device 8 || fail "control: the device was served right after $N forged ClientHellos with the check opened up (${ms} ms): the flood did not reach libcoap, so this test proves nothing"
pass "control: $N forged ClientHellos lock the device out with the check opened up (not served in ${ms} ms)"

# 2. The shipped default, after a reload (signet-coap starts afresh).
conf 16
before=$(coap_ready)
kill -HUP "$pid"
for _ in $(seq 1 100); do [ "$(coap_ready)" -gt "$before" ] && break; sleep 0.2; done
[ "$(coap_ready)" -gt "$before" ] || fail "signet-coap did not restart after SIGHUP"
"$abuse" spoof "$COAP" hello.bin $N 1
device 10 || fail "device not served right after $N forged ClientHellos (${ms} ms)"
pass "device served right after $N forged ClientHellos (${ms} ms)"
"$abuse" spoof "$COAP" hello.bin $N 8 &
fl=$!
sleep 2
device 10 || fail "device not served during a flood of $N forged sources a second (${ms} ms)"
pass "device served during a flood of $N forged sources a second (${ms} ms)"
wait "$fl" || fail "the flood tool failed"
# Our own device client (Mbed TLS) meets the same HelloVerifyRequest.
"$abuse" spoof "$COAP" hello.bin $N 1
tok=$(dev_token device d9.dev.devices.internal)
[ -n "$tok" ] || fail "no enrollment token"
t0=$(date +%s%N)
timeout 60 "$build/provisioning/device/signet-enroll" enroll --coaps "127.0.0.1:$COAP" \
	--token "$tok" --name d9.dev.devices.internal --dir d9 > enroll.out 2>&1 ||
	fail "signet-enroll not served right after $N forged ClientHellos: $(tail -3 enroll.out)"
ms=$((($(date +%s%N) - t0) / 1000000))
openssl x509 -in d9/cert.pem -noout -ext subjectAltName 2>/dev/null | grep -q 'DNS:d9.dev.devices.internal' ||
	fail "signet-enroll stored no certificate for d9: $(tail -3 enroll.out)"
pass "signet-enroll (Mbed TLS) enrolled right after $N forged ClientHellos (${ms} ms)"

# 3. The counters, in signet-coap's stopping lines (the control's first).
daemon_stop
grep 'signet-coap\[[0-9]*\].*msg="stopping"' signetd.log | sed 's/.*\(hello_passed\)/  \1/'
line=$(grep 'signet-coap\[[0-9]*\].*msg="stopping"' signetd.log | tail -1)
num() { echo "$line" | sed -n "s/.* $1=\([0-9]*\).*/\1/p"; }
[ "$(num hello_answered)" -ge $N ] || fail "the flood was not answered by the cookie check: $line"
[ "$(num hello_passed)" -le 16 ] || fail "more cookie-less ClientHellos than the budget reached libcoap: $line"
[ "$(num hello_cookie)" -ge 3 ] || fail "not every device came back with our cookie: $line"
pass "answered $(num hello_answered), let through $(num hello_passed) without and $(num hello_cookie) with our cookie"
echo "PASS ($npass checks)"

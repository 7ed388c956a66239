#!/usr/bin/env bash
# Spoofed DTLS ClientHello floods against the CoAP front end (issue 14):
# for each count N, N ClientHellos from N different source addresses
# (127.1.0.0/16 on loopback: as an attacker who forges source addresses
# would send them; no handshake is ever finished), spread evenly over one
# second, then a legitimate device handshakes with coap-client-gnutls (PSK
# of a fresh enrollment token) and asks /.well-known/core.  Prints, per
# mode and N, whether the device was served and how long it took.
#
# Two modes in the same run, each round on a fresh appliance:
#   libcoap   coap_hello_unverified = 1000000: every ClientHello reaches
#             libcoap, which keeps a session per source for 30 s and
#             ignores new sources beyond max_coap_handshakes (256);
#   cookie    the shipped default (16): beyond it signet-coap answers new
#             sources with its own stateless HelloVerifyRequest
#             (api/coap/ec_gate.c).
#
# usage: tools/bench/coap-hello-flood.sh [BUILD_DIR] [COUNTS...]
#        (BUILD_DIR default build-test; COUNTS default 0 512 2048 8000;
#        MODES="libcoap cookie" by default; AGAIN=S also tries S s later)
# Loopback only.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build-test}" && pwd)
shift || true
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(0 512 2048 8000)
abuse=$build/tests/integration/coap/ec_abuse
[ -x "$abuse" ] || { echo "$abuse missing (build the tests)" >&2; exit 1; }
command -v coap-client-gnutls >/dev/null || { echo "coap-client-gnutls missing (libcoap3-bin)" >&2; exit 1; }
work=$(mktemp -d /tmp/signet-helloflood-XXXXXX)
chmod 755 "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() { appliance_stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=../../tests/support/appliance.sh
. "$src/tests/support/appliance.sh"

psk() { # token -> its DTLS PSK (README)
	printf 'signet dtls psk' | openssl dgst -sha256 -mac HMAC \
		-macopt hexkey:"$(printf '%s' "$1" | openssl dgst -sha256 -hex | awk '{print $2}')" |
		awk '{print substr($2,1,32)}'
}

# One ClientHello as coap-client-gnutls sends it, caught on a UDP port.
capture() {
	python3 - "$1" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1] + ".port", "w").write(str(s.getsockname()[1]))
s.settimeout(20)
d, _ = s.recvfrom(65536)
open(sys.argv[1], "wb").write(d)
PY
	local py=$! port=
	for _ in $(seq 1 50); do [ -s "$1.port" ] && break; sleep 0.1; done
	port=$(cat "$1.port")
	timeout 3 coap-client-gnutls -u x -k 00112233445566778899aabbccddeeff \
		"coaps://127.0.0.1:$port/.well-known/core" >/dev/null 2>&1 || true
	wait "$py" || fail "no ClientHello captured"
}

printf '%-8s %-8s %-7s %s\n' mode sources served seconds
for mode in ${MODES:-libcoap cookie}; do
case $mode in
libcoap) hello=1000000 ;;
cookie) hello=16 ;;
*) fail "unknown mode $mode" ;;
esac
# shellcheck disable=SC2329
app_conf_extra() { sed "s/^\(\tcoap_hello_unverified = \)16\$/\1$hello/"; }
for n in "${counts[@]}"; do
	mkdir -p "$work/$mode$n"
	appliance_start "$src" "$build" "$work/$mode$n" >/dev/null
	grep -q "coap_hello_unverified = $hello\$" signetd.conf || fail "no coap_hello_unverified in the dev-host config"
	for _ in $(seq 1 100); do
		grep -q 'signet-coap\[[0-9]*\] level=[a-z]* msg="ready"' "$APP_LOG" && break
		sleep 0.2
	done
	[ -s "$work/hello" ] || capture "$work/hello"
	t0=$(date +%s%N)
	[ "$n" = 0 ] || "$abuse" spoof "$COAP" "$work/hello" "$n" 1
	fms=$((($(date +%s%N) - t0) / 1000000))
	for after in 0 ${AGAIN:-}; do
		sleep "$after"
		tok=$(curl -s -m 20 --cacert data/ca/root.pem --cert data/operator/operator.pem \
			--key data/operator/operator.key -H 'Content-Type: application/json' \
			-d '{"tenant":"dev","profile":"device","names":["d1.dev.devices.internal"],"ttl":3600,"uses":1}' \
			"https://127.0.0.1:$HTTPS/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
		[ -n "$tok" ] || fail "no enrollment token"
		t0=$(date +%s%N)
		out=$(timeout 60 coap-client-gnutls -B "${DEVICE_WAIT:-30}" -u "${tok%%.*}" -k "$(psk "$tok")" \
			"coaps://127.0.0.1:$COAP/.well-known/core" 2>&1 || true)
		ms=$((($(date +%s%N) - t0) / 1000000))
		served=no
		echo "$out" | grep -q 'ace.est' && served=yes
		printf '%-8s %-8s %-7s %d.%03d  (flood sent in %d ms; device %s s after it)\n' "$mode" "$n" \
			"$served" $((ms / 1000)) $((ms % 1000)) "$fms" "$after"
	done
	appliance_stop >/dev/null 2>&1 || true
	grep 'signet-coap\[[0-9]*\].*msg="stopping"' "$APP_LOG" | sed -n 's/.*\(hello_passed.*\)/         \1/p'
	[ -z "${VERBOSE:-}" ] || { echo "$out" | tail -3; grep -i 'coap' "$APP_LOG" | tail -5; } >&2
	cd "$work"
done
done

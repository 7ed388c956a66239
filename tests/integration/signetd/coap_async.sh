#!/usr/bin/env bash
# EST-coaps engine calls are asynchronous (issue 14, issue 17), against the
# real appliance on a SoftHSMv2 token behind the PKCS#11 fault shim
# (tests/p11shim), which makes every signature take 4 s:
#   1. while one device's re-enrollment waits for its signature, another
#      device's discovery and /est/crts are answered at once;
#   2. the slow request is answered once its signature is made, and is
#      issued once although the client retransmitted it: a UDP relay drops
#      the server's application data to that client for 8 s, so the empty
#      ACK and the first separate response are lost, the client repeats
#      its CON before and after the answer is known, and the repeat after
#      is answered from the session's cache (counted as replayed);
#   3. a slowed Block1 (16-byte blocks) re-enrollment is issued once.
# Issuances are counted in the ledger.  Loopback only; bounded in time.
# Before the engine calls were asynchronous, 1 took the slow call's 4 s
# and 2 issued two certificates.  As root (CI) it runs sandboxed.
#
# usage: coap_async.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
FAIL_TAIL=40
test_begin coapasync
trap 'fail "line $LINENO: a command failed"' ERR
command -v coap-client-gnutls >/dev/null || fail "coap-client-gnutls missing (libcoap3-bin)"
command -v sqlite3 >/dev/null || fail "sqlite3 missing"
shim=$build/tests/p11shim/libsignet_p11shim.so
[ -f "$shim" ] || fail "no $shim"
test_ports coap
RELAY=$(free_udp_port)
dev_provision
ctl=$work/shim.ctl
shim_set() { # control text: written in one step (tests/p11shim/README.md)
	printf '%s\n' "$1" > "$ctl.tmp"
	chmod 644 "$ctl.tmp"
	mv "$ctl.tmp" "$ctl"
}
shim_set "# pass-through"
export SIGNET_SHIM_TARGET=/usr/lib/softhsm/libsofthsm2.so SIGNET_SHIM_CONTROL=$ctl
dev_conf "s|module = \"/usr/lib/softhsm/libsofthsm2.so\"|module = \"$shim\"|" > signetd.conf
chmod 644 signetd.conf
grep -q "module = \"$shim\"" signetd.conf || fail "the shim is not the token module"
dev_start
pass "appliance up, token behind the PKCS#11 shim"

issued() { as_engine sqlite3 data/ledger.db "SELECT count(*) FROM certs"; }
ms() { date +%s%3N; }
# Waits until the ledger holds want certificates, then 6 s more (a
# second issuance of a repeated request would take one more 4 s
# signature); prints the count.
settle() {
	local want=$1 n
	for _ in $(seq 1 60); do
		n=$(issued)
		[ "$n" -ge "$want" ] && break
		sleep 0.2
	done
	sleep 6
	issued
}

# Two devices enroll with their tokens while signing is fast.
for d in d1 d2; do
	T=$(dev_token device "$d.dev.devices.internal")
	[ -n "$T" ] || fail "no enrollment token"
	dev_csr "$d.dev.devices.internal" "$d.csr"
	timeout 30 coap-client-gnutls -B 20 -m post -u "${T%%.*}" -k "$(dev_psk "$T")" -t 286 -A 287 \
		-f "$d.csr" -o "$d.der" "$U/est/dev-device/sen" > "$d.out" 2>&1 ||
		fail "PSK enrollment of $d: $(cat "$d.out")"
	openssl x509 -inform der -in "$d.der" -out "$d.pem" 2>/dev/null || fail "$d's answer: $(cat "$d.out")"
done
pass "two devices enrolled over PSK"

# 1. d1 re-enrolls while every signature takes 4 s; d2 is served meanwhile.
shim_set "delay_ms 4000 func C_Sign"
n0=$(issued)
t0=$(ms)
timeout 60 coap-client-gnutls -B 40 -c d1.pem -j d1.csr.key -m post -t 286 -A 287 \
	-f d1.csr -o r1.der "$U/est/dev-device/sren" > r1.out 2>&1 &
slow=$!
sleep 1
t=$(ms)
timeout 20 coap-client-gnutls -B 10 -c d2.pem -j d2.csr.key "$U/.well-known/core" > disc.out 2>&1 || true
disc_ms=$(($(ms) - t))
t=$(ms)
timeout 20 coap-client-gnutls -B 10 -c d2.pem -j d2.csr.key -A 287 -o crts.der "$U/est/dev-device/crts" > crts.out 2>&1 || true
crts_ms=$(($(ms) - t))
grep -q '</est/dev-device/sren>' disc.out || fail "d2's discovery: $(cat disc.out)"
openssl x509 -inform der -in crts.der -noout 2>/dev/null || fail "d2's /est/crts: $(cat crts.out)"
echo "  during d1's slow re-enrollment: d2 discovery ${disc_ms} ms, crts ${crts_ms} ms"
wait "$slow" || fail "d1's slow re-enrollment: $(cat r1.out)"
slow_ms=$(($(ms) - t0))
openssl x509 -inform der -in r1.der -noout 2>/dev/null || fail "d1's slow answer: $(cat r1.out)"
[ "$slow_ms" -ge 4000 ] || fail "the signature was not slowed (${slow_ms} ms)"
[ "$disc_ms" -lt 2000 ] && [ "$crts_ms" -lt 2000 ] ||
	fail "d2 waited for d1's signature: discovery ${disc_ms} ms, crts ${crts_ms} ms"
n=$(settle $((n0 + 1)))
[ "$n" = $((n0 + 1)) ] || fail "d1's re-enrollment was issued $((n - n0)) times"
pass "d2 served in ${disc_ms}/${crts_ms} ms while d1's re-enrollment waited ${slow_ms} ms for its signature; issued once"

# 2. The same through a relay that loses the server's application data to
#    d1 for 8 s from d1's first request: the client repeats its CON.
python3 - "$RELAY" "$COAP" 8 > relay.log 2>&1 <<'PY' &
import select, socket, sys, time
lport, sport, window = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
c.bind(("127.0.0.1", lport))
open("relay.ready", "w").close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", sport))
peer, first, dropped = None, None, 0
def appdata(d):   # any DTLS record of content type 23 in the datagram
    while len(d) >= 13:
        if d[0] == 23:
            return True
        d = d[13 + int.from_bytes(d[11:13], "big"):]
    return False
end = time.time() + 120
while time.time() < end:
    r, _, _ = select.select([c, s], [], [], 1)
    for sock in r:
        if sock is c:
            d, peer = c.recvfrom(65536)
            if first is None and appdata(d):
                first = time.time()
            s.send(d)
        else:
            d = s.recv(65536)
            if first is not None and appdata(d) and time.time() - first < window:
                dropped += 1
                print("dropped", dropped, flush=True)
                continue
            if peer:
                c.sendto(d, peer)
PY
relay=$!
# Python may take seconds to start on a loaded machine.
for _ in $(seq 1 300); do [ -e relay.ready ] && break; sleep 0.1; done
[ -e relay.ready ] || fail "the relay did not start"
n0=$(issued)
t0=$(ms)
timeout 60 coap-client-gnutls -B 45 -c d1.pem -j d1.csr.key -m post -t 286 -A 287 \
	-f d1.csr -o r2.der "coaps://127.0.0.1:$RELAY/est/dev-device/sren" > r2.out 2>&1 ||
	fail "d1's re-enrollment through the lossy relay: $(cat r2.out)"
lossy_ms=$(($(ms) - t0))
kill "$relay" 2>/dev/null || true
wait "$relay" 2>/dev/null || true
openssl x509 -inform der -in r2.der -noout 2>/dev/null || fail "d1's answer through the relay: $(cat r2.out)"
drops=$(grep -c dropped relay.log || true)
[ "$drops" -ge 2 ] || fail "the relay lost only $drops datagrams: no retransmission was provoked"
n=$(settle $((n0 + 1)))
[ "$n" = $((n0 + 1)) ] || fail "a retransmitted re-enrollment was issued $((n - n0)) times"
pass "answers lost for 8 s ($drops datagrams): the repeated CON was issued once, answered after ${lossy_ms} ms"

# 3. Block1 while slow: 16-byte blocks, one issuance.
n0=$(issued)
timeout 60 coap-client-gnutls -B 40 -c d2.pem -j d2.csr.key -m post -t 286 -A 287 -b 16 \
	-f d2.csr -o r3.der "$U/est/dev-device/sren" > r3.out 2>&1 ||
	fail "d2's slow Block1 re-enrollment: $(cat r3.out)"
openssl x509 -inform der -in r3.der -noout 2>/dev/null || fail "d2's Block1 answer: $(cat r3.out)"
n=$(settle $((n0 + 1)))
[ "$n" = $((n0 + 1)) ] || fail "d2's Block1 re-enrollment was issued $((n - n0)) times"
pass "a slowed Block1 re-enrollment (16-byte blocks) answered and issued once"
shim_set "# pass-through again"

kill -TERM "$pid"
for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" && st=0 || st=$?
pid=
[ "$st" = 0 ] || fail "signetd exited $st on SIGTERM"
! grep -q 'child killed by the sandbox' signetd.log || fail "$(grep 'killed by the sandbox' signetd.log)"
line=$(grep 'signet-coap\[[0-9]*\] level=[a-z]* msg="stopping"' signetd.log | tail -1)
echo "$line"
replayed=$(echo "$line" | sed -n 's/.* replayed=\([0-9]*\).*/\1/p')
[ -n "$replayed" ] || fail "no replayed counter in the stopping line"
[ "$replayed" -ge 1 ] || fail "no retransmission was answered from the cache (replayed=$replayed)"
pass "$replayed retransmission(s) answered from the session's cache"
echo "PASS ($npass checks)"

#!/bin/sh
# Robustness of signet-coap against a real DTLS client nobody here wrote
# (coap-client-gnutls) and hostile traffic, with no engine answering (the
# engine channel is held open by ec_spawn): certificate handshakes and the
# checks made before any engine call.  After each abuse a well-behaved
# client must still be served.
#
# Usage: coap_robust.sh SIGNET_COAP EC_SPAWN EC_ABUSE
set -eu
COAP=$1 SPAWN=$2 ABUSE=$3
T=$(mktemp -d)
PORT=$((20000 + $$ % 20000))
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	echo "--- signet-coap log:" >&2
	tail -20 "$T/coap.log" >&2 || true
	exit 1
}
cd "$T"

# A test PKI: CA, DTLS server, a client, a self-signed and an expired one.
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1" 2>/dev/null; }
key ca.key
openssl req -x509 -new -key ca.key -subj /CN=coap-test-ca -days 2 \
    -addext basicConstraints=critical,CA:true \
    -addext keyUsage=critical,keyCertSign -out ca.pem 2>/dev/null
leaf() {	# name eku days
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/CN=$1" -out "$1.csr"
	printf 'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\nsubjectAltName=DNS:localhost\n' "$2" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days "$3" -extfile "$1.ext" -out "$1.pem" \
	    2>/dev/null
}
leaf srv serverAuth 2
leaf cli clientAuth 2
leaf old clientAuth -1
key self.key
openssl req -x509 -new -key self.key -subj /CN=self -days 2 \
    -out self.pem 2>/dev/null
head -c 5000 /dev/urandom > big.bin

# As root (CI) signet-coap runs in its sandbox as the appliance runs it:
# chrooted into an empty directory as signet-coap, under its seccomp
# filter, so every abuse below also probes the filter.
SANDBOX=false
if [ "$(id -u)" = 0 ]; then
	. "$(dirname "$0")/../../support/users.sh"
	ensure_system_user signet-coap || fail "user signet-coap"
	mkdir -m 755 "$T/empty"
	SANDBOX=true
fi
cat > test.conf <<EOC
data_dir = "$T"
sandbox = $SANDBOX
sandbox_dir = "$T/empty"
est_default = "t/device"
listen {
	coap = "127.0.0.1:$PORT"
}
token {
	module = "/nonexistent.so"
	label = "unused"
	pin_file = "$T/pin"
}
storage {
	path = "$T/ledger.db"
	audit_key = "unused"
}
tls {
	cert = "$T/srv.pem"
	key = "$T/srv.key"
	client_ca = { "$T/ca.pem" }
}
limits {
	max_body = 4096
	read_timeout = "2s"
	max_coap_sessions = 32
	max_coap_handshakes = 64
}
tenant "t" {
	issuer "i" {
		key = "k"
		cert = "$T/ca.pem"
	}
	profile "device" {
		issuer = "i"
		est_label = "dev"
		domains = { "dev.example" }
		key_types = { "p256" }
		ttl = "1h"
		roles = { "requester" }
	}
}
EOC

"$SPAWN" "$COAP" -f "$T/test.conf" -E @EFD@ 2> coap.log &
PID=$!
i=0
until grep -q 'msg="ready"' coap.log; do
	i=$((i + 1))
	[ $i -lt 100 ] || fail "signet-coap did not start"
	kill -0 $PID 2>/dev/null || fail "signet-coap exited"
	sleep 0.1
done

U=coaps://127.0.0.1:$PORT
req() { coap-client-gnutls -B 4 -c cli.pem -j cli.key "$@" 2>&1 || true; }
expect() {	# what pattern coap-client-args...
	what=$1 pat=$2
	shift 2
	out=$(req "$@")
	echo "$out" | grep -q -- "$pat" || fail "$what: wanted '$pat', got: $out"
	echo "ok: $what"
}
served() {
	expect "still serving after $1" 'rt="ace.est.sen"' "$U/.well-known/core"
}

# RFC 9148 discovery.
out=$(req "$U/.well-known/core")
for r in crts sen sren att; do
	echo "$out" | grep -q "</est/$r>;ct=[^;]*;rt=\"ace.est.$r\"" ||
	    fail "discovery lacks /est/$r: $out"
done
echo "$out" | grep -q '</est/dev/sen>' || fail "labelled resources missing"
echo "ok: discovery"

# Checks made before the engine is asked.
expect "unknown content-format" '^4.15' -m post -t 0 -e x "$U/est/sen"
expect "no content-format" '^4.15' -m post -f cli.csr "$U/est/sen"
expect "wrong method" '^4.05' -m put -e x "$U/est/crts"
expect "unknown resource" '^4.04' "$U/est/skg"
expect "unknown label" '^4.04' "$U/est/nolabel/crts"
expect "unacceptable format" '^4.06' -A 281 "$U/est/att"
expect "body not DER" '^4.00' -m post -t 286 -e notder "$U/est/sen"
expect "body over the cap" '^4.13' -m post -t 286 -b 1024 -f big.bin \
    "$U/est/sen"
expect "huge block number" '^4.13' -m post -t 286 -b 1000000,1024 \
    -f big.bin "$U/est/sen"
expect "block in the middle" '^4.08' -m post -t 286 -b 2,16 -f big.bin \
    "$U/est/sen"

# Certificates the front end must refuse before CoAP.
for c in self old; do
	k=$c.key
	[ $c = old ] && k=cli.key
	out=$(coap-client-gnutls -B 3 -c $c.pem -j $k "$U/.well-known/core" \
	    2>&1 || true)
	echo "$out" | grep -q 'ace.est' && fail "$c certificate accepted"
	echo "ok: $c certificate refused"
done
out=$(coap-client-gnutls -B 3 "$U/.well-known/core" 2>&1 || true)
echo "$out" | grep -q 'ace.est' && fail "client without credential served"
echo "ok: no credential refused"
served "refused handshakes"

# A PSK identity nobody issued (the engine does not answer: refused).
out=$(coap-client-gnutls -B 4 -u no-such-token -k secret \
    "$U/.well-known/core" 2>&1 || true)
echo "$out" | grep -q 'ace.est' && fail "unknown PSK identity served"
echo "ok: unknown PSK identity refused"
served "unknown PSK identity"

# Random datagrams and DTLS-looking garbage.
"$ABUSE" junk $PORT 300
served "random datagrams"

# Truncated and replayed copies of every client record, through a relay.
"$ABUSE" proxy $((PORT + 1)) $PORT hello.bin &
PPID2=$!
sleep 0.2
coap-client-gnutls -B 4 -c cli.pem -j cli.key \
    "coaps://127.0.0.1:$((PORT + 1))/.well-known/core" > relay.out 2>&1 || true
wait $PPID2 || true
grep -q 'ace.est.sen' relay.out ||
    fail "truncated and replayed records broke the handshake"
echo "ok: truncated and replayed records ignored"
served "truncated and replayed records"

# A ClientHello flood from many source ports, below max_coap_handshakes.
# libcoap 4.3.1 keeps a session per ClientHello source for 30 s (even
# before the cookie is returned) and ignores new ClientHellos once
# max_coap_handshakes of them are pending, so a flood above the cap locks
# out new handshakes for 30 s: a known limit of 4.3.1, not tested here.
"$ABUSE" flood $PORT hello.bin 40
served "ClientHello flood"

# Block1 transfers abandoned mid-way (client killed, no close_notify):
# reaped after read_timeout.
for n in 1 2 3; do
	coap-client-gnutls -B 30 -c cli.pem -j cli.key -m post -t 286 -b 16 \
	    -l 12-1000 -f cli.csr "$U/est/sen" > /dev/null 2>&1 &
	sleep 1
	kill -9 $! 2>/dev/null || true
done
sleep 4
served "abandoned block transfers"

kill -TERM $PID
wait $PID || fail "signet-coap exited with $?"
PID=
grep 'msg="stopping"' coap.log
grep -q 'reaped=[1-9]' coap.log || fail "abandoned transfers not reaped"
grep -q 'too_large=[1-9]' coap.log || fail "no 4.13 counted"
if [ "$SANDBOX" = true ]; then
	grep -q 'msg="sandboxed" user=signet-coap' coap.log || fail "not sandboxed"
	echo "ok: all of the above under the sandbox (signet-coap, chroot, seccomp)"
fi
echo "PASS"

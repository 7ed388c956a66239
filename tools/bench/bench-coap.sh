#!/usr/bin/env bash
# The CoAP benchmark (issue 6), in one run on this machine:
#  1. full EST-coaps enrollments into signetd, each with a fresh DTLS
#     handshake: PSK from an enrollment token (/est/<label>/sen) and with the
#     device certificate (/est/<label>/sren);
#  2. the raw DTLS-PSK handshake rate of libcoap's own coap-server-openssl
#     answering a tiny GET, driven by the same client the same way.
# The client is libcoap's coap-client-gnutls, one process per request, W
# workers in parallel; process start-up is in both figures alike.
#
# usage: tools/bench/bench-coap.sh [BUILD_DIR] [REQUESTS] [WORKERS]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
n=${2:-200}
w=${3:-4}
work=$(mktemp -d /tmp/signet-bcoap-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 1
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_'"$1"'); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cd "$work"
DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$top/board/dev-host/run.sh" >provision.log 2>&1
export SOFTHSM2_CONF=$work/data/softhsm2.conf
HTTPS=$(free_port STREAM); HTTP=$(free_port STREAM); COAP=$(free_port DGRAM)
sed -e "s/127.0.0.1:8443/127.0.0.1:$HTTPS/; s/127.0.0.1:8080/127.0.0.1:$HTTP/g; s/127.0.0.1:5684\"/127.0.0.1:$COAP\"/" \
	-e 's/rate_identity = 50/rate_identity = 100000000/; s/burst_identity = 100/burst_identity = 100000000/' \
	-e 's/rate_tenant = 1000/rate_tenant = 100000000/; s/burst_tenant = 2000/burst_tenant = 100000000/' \
	"$top/board/dev-host/signetd.conf" > signetd.conf
"$build/firmware/signetd/signetd" -f signetd.conf >signetd.log 2>&1 &
pids+=("$!")
for _ in $(seq 1 300); do
	curl -sf -o /dev/null --cacert data/ca/root.pem "https://127.0.0.1:$HTTPS/.well-known/est/cacerts" && break
	sleep 0.1
done
T=$(curl -s --cacert data/ca/root.pem --cert data/operator/operator.pem --key data/operator/operator.key \
	-H 'Content-Type: application/json' \
	-d "{\"tenant\":\"dev\",\"profile\":\"device\",\"names\":[\"b.dev.devices.internal\"],\"ttl\":3600,\"uses\":$((n + 50))}" \
	"https://127.0.0.1:$HTTPS/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
PSK=$(printf 'signet dtls psk' | openssl dgst -sha256 -mac HMAC \
	-macopt hexkey:"$(printf '%s' "$T" | openssl dgst -sha256 -hex | awk '{print $2}')" | awk '{print substr($2,1,32)}')
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout b.key \
	-subj /CN=b.dev.devices.internal -addext subjectAltName=DNS:b.dev.devices.internal \
	-outform DER -out b.csr 2>/dev/null
coap-client-gnutls -m post -u "${T%%.*}" -k "$PSK" -t 286 -A 287 -f b.csr -o b.der \
	"coaps://127.0.0.1:$COAP/est/dev-device/sen" >/dev/null 2>&1
openssl x509 -inform der -in b.der -out b.pem

# run LABEL CMD...: n requests over w workers; prints rate and p99.
run() {
	local label=$1 i; shift
	rm -rf lat && mkdir lat
	local t0; t0=$(date +%s.%N)
	local wp=()
	for i in $(seq 1 "$w"); do
		( for j in $(seq 1 $((n / w))); do
			s=$(date +%s%N)
			if "$@" >/dev/null 2>&1; then echo $(( ($(date +%s%N) - s) / 1000 )) >> "lat/ok$i"; else echo fail >> "lat/err$i"; fi
		done ) &
		wp+=("$!")
	done
	wait "${wp[@]}" || true
	local t1; t1=$(date +%s.%N)
	local ok; ok=$(cat lat/ok* 2>/dev/null | wc -l || true)
	local errs; errs=$(cat lat/err* 2>/dev/null | wc -l || true)
	local p99; p99=$(cat lat/ok* 2>/dev/null | sort -n | awk '{a[NR]=$1} END {i=int(NR*0.99); if (i<1) i=1; printf "%.1f", a[i]/1000}')
	awk -v l="$label" -v ok="$ok" -v e="$errs" -v t0="$t0" -v t1="$t1" -v p="$p99" \
		'BEGIN {printf "| %s | %.1f/s | %s ms | %d |\n", l, ok/(t1-t0), p, e}'
}
echo "| what ($n requests, $w workers, fresh DTLS handshake each) | rate | p99 | errors |"
echo "|---|---|---|---|"
run "Signet EST-coaps enroll, DTLS-PSK token (/est/sen)" \
	coap-client-gnutls -m post -u "${T%%.*}" -k "$PSK" -t 286 -A 287 -f b.csr -o /dev/null \
	"coaps://127.0.0.1:$COAP/est/dev-device/sen"
run "Signet EST-coaps re-enroll, device certificate (/est/sren)" \
	coap-client-gnutls -m post -c b.pem -j b.key -t 286 -A 287 -f b.csr -o /dev/null \
	"coaps://127.0.0.1:$COAP/est/dev-device/sren"
RP=$(free_port DGRAM)
RKEY=benchmark-psk-0123456789abcdef
coap-server-openssl -A 127.0.0.1 -p $((RP - 1)) -k "$RKEY" -h ident >raw.log 2>&1 &
pids+=("$!")
sleep 1
run "raw: coap-server-openssl, DTLS-PSK handshake + tiny GET" \
	coap-client-gnutls -m get -u ident -k "$RKEY" -o /dev/null "coaps://127.0.0.1:$RP/"

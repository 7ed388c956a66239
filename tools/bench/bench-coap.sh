#!/usr/bin/env bash
# The CoAP benchmark (issues 6 and 17), in one run on this machine:
#  1. full EST-coaps enrollments into signetd, each with a fresh DTLS
#     handshake: PSK from an enrollment token (/est/<label>/sen) and with the
#     device certificate (/est/<label>/sren);
#  2. the same handshakes (PSK with the same identities; certificate, the
#     server verifying the device's chain) completed by libcoap's own
#     coap-server-openssl answering a tiny GET.
# Each session in flight enrolls with a token of its own (WORKERS tokens).
# The client is signet-bench-coap (issue 17): one process, one libcoap
# context, WORKERS sessions in flight, a new DTLS session per request, so
# no process start-up is measured (issue 6 ran coap-client per request).
#  3. the like-for-like share: Signet's PSK handshake (the engine's PSK
#     lookup included) answering discovery (/.well-known/core, served by
#     signet-coap alone), against the raw server's handshake + GET.
# ROUNDS rounds alternate the five runs; medians.  PERF=dir records
# perf profiles (call graphs, frame pointers) of signet-coap and
# signet-engine during round 1's enrollments and handshakes, and of
# coap-server-openssl during its PSK handshakes, into dir (PERF_OPTS: perf
# record's options, "-g -F 499" unless set).
#
# usage: tools/bench/bench-coap.sh [BUILD_DIR] [SECONDS] [WORKERS]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
secs=${2:-5}
w=${3:-16}
rounds=${ROUNDS:-3}
[ -x "$build/tools/bench/signet-bench-coap" ] || { echo "no $build/tools/bench/signet-bench-coap (libcoap-3-openssl)" >&2; exit 2; }
work=$(mktemp -d /tmp/signet-bcoap-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 1
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
# Below the ephemeral range, checked free (tests/support/ports.py says why).
free_port() { # STREAM | DGRAM
	python3 "$top/tests/support/ports.py" "$([ "$1" = DGRAM ] && echo udp || echo tcp)"
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
# token NAME: a new multi-use enrollment token for NAME.
token() {
	curl -s --cacert data/ca/root.pem --cert data/operator/operator.pem --key data/operator/operator.key \
		-H 'Content-Type: application/json' \
		-d "{\"tenant\":\"dev\",\"profile\":\"device\",\"names\":[\"$1\"],\"ttl\":3600,\"uses\":65535}" \
		"https://127.0.0.1:$HTTPS/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
# psk TOKEN: the device's DTLS PSK (docs/decisions.md, "Enrollment tokens and the DTLS PSK").
psk() {
	printf 'signet dtls psk' | openssl dgst -sha256 -mac HMAC \
		-macopt hexkey:"$(printf '%s' "$1" | openssl dgst -sha256 -hex | awk '{print $2}')" | awk '{print substr($2,1,32)}'
}
T=$(token b.dev.devices.internal)
PSK=$(psk "$T")
# One token per session in flight, as devices have: the engine keeps at
# most 4 live one-time PSK handles per token id, so 16 handshakes naming
# one id would replace each other's handles and their enrollments would be
# refused (what the first version of this script measured).
: > psks
for i in $(seq 1 "$w"); do
	t=$(token b.dev.devices.internal)
	[ -n "$t" ] || { echo "no token $i" >&2; exit 1; }
	echo "${t%%.*} $(psk "$t")" >> psks
done
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout b.key \
	-subj /CN=b.dev.devices.internal -addext subjectAltName=DNS:b.dev.devices.internal \
	-outform DER -out b.csr 2>/dev/null
coap-client-gnutls -m post -u "${T%%.*}" -k "$PSK" -t 286 -A 287 -f b.csr -o b.der \
	"coaps://127.0.0.1:$COAP/est/dev-device/sen" >/dev/null 2>&1
openssl x509 -inform der -in b.der -out b.pem ||
	{ tail -20 signetd.log; echo "the first EST-coaps enrollment failed" >&2; exit 1; }

# The raw server: the same PSK handshake (the same identities and keys,
# its -i file maps each identity to its key, so it also looks one up per
# handshake), and a certificate handshake that verifies the device's
# chain.  -R, not -C: libcoap's coap-server with -C sets check_common_ca,
# which refuses a client certificate not issued by the CA that issued the
# server's own (our throwaway server certificate is self-signed, so the
# device's chain was refused); -R trusts the given CAs and verifies the
# chain against them.  The device sends only its leaf, so the file holds
# the intermediate and the root, as signet-coap's trust store does.
RP=$(free_port DGRAM)
RKEY=benchmark-psk-0123456789abcdef
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout raw.key \
	-subj /CN=127.0.0.1 -days 2 -out raw.pem 2>/dev/null
cat data/ca/intermediate.pem data/ca/root.pem > raw-trust.pem
awk '{print "," $1 "," $2}' psks > raw-ids
coap-server-openssl -A 127.0.0.1 -p $((RP - 1)) -k "$RKEY" -i raw-ids -c raw.pem -j raw.key -R raw-trust.pem \
	>raw.log 2>&1 &
pids+=("$!")
sleep 1
# The raw server must refuse a certificate outside its trust, or its
# certificate figure does not include a verification (coap-server allows
# self-signed client certificates, so the rogue one has a CA of its own).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue-ca.key \
	-subj /CN=rogue-ca -days 2 -out rogue-ca.pem 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key \
	-subj /CN=rogue -out rogue.csr 2>/dev/null
openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial -days 2 \
	-out rogue.pem 2>/dev/null
if "$build/tools/bench/signet-bench-coap" -p "$RP" -U / -c rogue.pem -j rogue.key -N 1 -w 1 -d 5 | grep -q ' ok 1 '; then
	echo "coap-server-openssl accepted a certificate it does not trust" >&2; exit 1
fi
"$build/tools/bench/signet-bench-coap" -p "$RP" -U / -c b.pem -j b.key -N 1 -w 1 -d 5 | grep -q ' ok 1 ' ||
	{ tail -20 raw.log; echo "coap-server-openssl refused the device's certificate" >&2; exit 1; }

bc=$build/tools/bench/signet-bench-coap
# CPU time per request on each side: the servers' from /proc (user +
# system, all threads), the client's from signet-bench-coap's own line.
sigpids=$(pgrep -d' ' -x 'signet-coap|signet-engine' -P "${pids[0]}")
ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
hz=$(getconf CLK_TCK)
# run NAME PIDS ARGS...: one run of signet-bench-coap, the servers' CPU
# per successful request appended to its line ("srv X ms").
run() {
	local name=$1 ps=$2 t0 t1
	shift 2
	# shellcheck disable=SC2086
	t0=$(ticks $ps)
	"$bc" "$@" > "$work/$name.tmp"
	# shellcheck disable=SC2086
	t1=$(ticks $ps)
	awk -v d=$((t1 - t0)) -v hz="$hz" '{ printf "%s  srv %.3f ms\n", $0, ($14 > 0 ? 1000 * d / hz / $14 : 0) }' \
		"$work/$name.tmp" > "$work/$name.out"
}
perfpid=
wait_perf() { [ -z "$perfpid" ] || wait "$perfpid" || true; perfpid=; }
# perfrec NAME [PID]: profiles PID (signet-coap and signet-engine) for the
# next run.
perfrec() {
	local ps=${2:-}
	[ -n "$ps" ] || ps=$(pgrep -d, -x 'signet-coap|signet-engine' -P "${pids[0]}") || return 0
	# shellcheck disable=SC2086
	perf record -q ${PERF_OPTS:--g -F 499} -p "$ps" -o "$PERF/$1.data" -- sleep "$secs" >/dev/null 2>&1 &
	perfpid=$!
	sleep 0.2
}
[ -z "${PERF:-}" ] || mkdir -p "$PERF"
for r in $(seq 1 "$rounds"); do
	[ -z "${PERF:-}" ] || [ "$r" != 1 ] || perfrec sen
	run "sen-$r" "$sigpids" -p "$COAP" -U /est/dev-device/sen -m post -f b.csr -t 286 -A 287 -K psks \
		-d "$secs" -w "$w"
	wait_perf
	[ -z "${PERF:-}" ] || [ "$r" != 1 ] || perfrec wk
	run "wk-$r" "$sigpids" -p "$COAP" -U /.well-known/core -K psks -d "$secs" -w "$w"
	wait_perf
	run "sren-$r" "$sigpids" -p "$COAP" -U /est/dev-device/sren -m post -f b.csr -t 286 -A 287 \
		-c b.pem -j b.key -d "$secs" -w "$w"
	[ -z "${PERF:-}" ] || [ "$r" != 1 ] || perfrec rawpsk "${pids[1]}"
	run "rawpsk-$r" "${pids[1]}" -p "$RP" -U / -K psks -d "$secs" -w "$w"
	wait_perf
	run "rawpki-$r" "${pids[1]}" -p "$RP" -U / -c b.pem -j b.key -d "$secs" -w "$w"
done

# med KIND FIELD: the median over the rounds.
med() {
	for r in $(seq 1 "$rounds"); do awk -v f="$2" '{print $f}' "$work/$1-$r.out"; done |
		sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'
}
echo "signet-bench-coap: $w sessions in flight, a fresh DTLS handshake per request, $secs s per run, median of $rounds rounds"
echo
echo "| what | requests/s | p50 | p99 | errors | server CPU/request | client CPU/request |"
echo "|---|---|---|---|---|---|---|"
for k in sen wk sren rawpsk rawpki; do
	case $k in
	sen) l="Signet EST-coaps enroll, DTLS-PSK from a token (/est/sen)" ;;
	wk) l="Signet DTLS-PSK handshake (engine PSK lookup) + discovery GET (/.well-known/core)" ;;
	sren) l="Signet EST-coaps re-enroll, device certificate (/est/sren)" ;;
	rawpsk) l="coap-server-openssl, DTLS-PSK handshake + tiny GET" ;;
	rawpki) l="coap-server-openssl, certificate handshake (client chain verified) + tiny GET" ;;
	esac
	echo "| $l | $(med "$k" 3) | $(med "$k" 6) ms | $(med "$k" 9) ms | $(med "$k" 12) | $(med "$k" 19) ms | $(med "$k" 16) ms |"
done
echo
awk -v e="$(med wk 3)" -v a="$(med sen 3)" -v b="$(med rawpsk 3)" -v c="$(med sren 3)" -v d="$(med rawpki 3)" 'BEGIN {
	if (b > 0) printf "PSK: Signet enrollments at %.0f%% of the raw handshake rate\n", 100 * a / b
	if (b > 0) printf "PSK: Signet handshakes + discovery at %.0f%% of the raw handshake rate\n", 100 * e / b
	if (d > 0) printf "certificate: Signet re-enrollments at %.0f%% of the raw handshake rate\n", 100 * c / d }'
# Where CPU, not latency, bounds both (an idle machine: server and client
# share its cores), the rates stand as the CPU spent per request, both
# sides together.
awk -v ss="$(med sen 19)" -v sc="$(med sen 16)" -v ws="$(med wk 19)" -v wc="$(med wk 16)" \
	-v rs="$(med rawpsk 19)" -v rc="$(med rawpsk 16)" 'BEGIN {
	if (ss + sc > 0) printf "PSK, CPU-bound: Signet enrollments at %.0f%% of the raw handshake rate (CPU per request, server + client: %.3f ms against %.3f ms)\n", 100 * (rs + rc) / (ss + sc), ss + sc, rs + rc
	if (ws + wc > 0) printf "PSK, CPU-bound: Signet handshakes + discovery at %.0f%% (%.3f ms)\n", 100 * (rs + rc) / (ws + wc), ws + wc }'
echo
echo "each round (requests/s):"
for r in $(seq 1 "$rounds"); do
	printf "round %s:" "$r"
	for k in sen wk sren rawpsk rawpki; do printf "  %s %s" "$k" "$(awk '{print $3}' "$work/$k-$r.out")"; done
	echo
done

#!/usr/bin/env bash
# The appliance benchmark (issue 5): in one run on this machine,
#  1. Signet end to end: EST simpleenroll over keep-alive mutual TLS into
#     signetd (engine with the CA key in SoftHSMv2, durable SQLite ledger
#     and audit), 16 and 64 connections, plus the RSS of all its processes;
#  2. the raw hsm/ signing rate on the same kind of token (baseline);
#  3. CFSSL (Debian's golang-cfssl, `cfssl serve`, software P-256 CA key,
#     no storage) driven with the same kind of CSRs over plain HTTP.
#
# usage: tools/bench/bench-appliance.sh [BUILD_DIR] [SECONDS]
# Needs: tools/install-deps.sh --bench (golang-cfssl).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
secs=${2:-10}
work=$(mktemp -d /tmp/signet-bench-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 1
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
command -v cfssl >/dev/null || { echo "cfssl missing: tools/install-deps.sh --bench" >&2; exit 2; }
cd "$work"

# 1. Signet.
DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$top/board/dev-host/run.sh" >provision.log 2>&1
export SOFTHSM2_CONF=$work/data/softhsm2.conf
HTTPS=$(free_port); HTTP=$(free_port)
ncpu=$(nproc)
sed -e "s/127.0.0.1:8443/127.0.0.1:$HTTPS/; s/127.0.0.1:8080/127.0.0.1:$HTTP/g" -e '/coap = /d' \
	-e "s/https_workers = 1/https_workers = $ncpu/" \
	-e 's/rate_identity = 50/rate_identity = 100000000/; s/burst_identity = 100/burst_identity = 100000000/' \
	-e 's/rate_tenant = 1000/rate_tenant = 100000000/; s/burst_tenant = 2000/burst_tenant = 100000000/' \
	"$top/board/dev-host/signetd.conf" > signetd.conf
"$build/firmware/signetd/signetd" -f signetd.conf >signetd.log 2>&1 &
sd=$!
pids+=("$sd")
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP/ca/intermediate.der" && break; sleep 0.1; done
( sleep $((secs / 2)); ps --ppid "$sd" -o rss= | awk -v p="$(ps -o rss= -p "$sd")" '{s+=$1} END {print s+p}' > rss.kb ) &
"$build/tools/bench/signet-bench-est" -p "$HTTPS" -c data/ca/root.pem -C data/operator/operator.pem \
	-K data/operator/operator.key -d "$secs" -n 16,64 | tee signet.out
ps --ppid "$sd" -o rss= | awk -v p="$(ps -o rss= -p "$sd")" '{s+=$1} END {print s+p}' > rss-end.kb
kill -TERM "$sd"; wait "$sd" || true
issued=$(sqlite3 data/ledger.db 'select count(*) from certs where status=1')

# 2. Raw hsm/ signing rate, same machine, same run.
"$build/tools/bench/signet-bench-hsm" -s 1 > hsm.out
raw2=$(awk -F'|' '/raw C_SignInit\+C_Sign, token key/ && $3+0==2 {gsub(/ /,"",$4); print $4}' hsm.out)

# 3. CFSSL with a software key.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem \
	-subj "/CN=CFSSL Bench CA" -days 30 -out ca.pem 2>/dev/null
cat > cfssl.json <<'JSON'
{"signing":{"default":{"expiry":"25h","usages":["digital signature","server auth","client auth"]}}}
JSON
CP=$(free_port)
cfssl serve -address 127.0.0.1 -port "$CP" -ca ca.pem -ca-key ca-key.pem -config cfssl.json >cfssl.log 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$CP/api/v1/cfssl/scaninfo" && break; sleep 0.1; done
"$build/tools/bench/signet-bench-est" -m cfssl -p "$CP" -d "$secs" -n 16,64 | tee cfssl.out

rss=$(cat rss.kb 2>/dev/null || cat rss-end.kb)
row() { awk -v c="$2" '$1==c {print $3" "$6" "$9" "$12}' "$1"; }
echo
echo "| system | conns | issuances/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
for c in 16 64; do
	read -r r p50 p99 e <<<"$(row signet.out $c)"
	echo "| Signet EST, mTLS, key in SoftHSMv2, durable ledger+audit | $c | $r | $p50 | $p99 | $e |"
done
for c in 16 64; do
	read -r r p50 p99 e <<<"$(row cfssl.out $c)"
	echo "| CFSSL sign, plain HTTP, software key, no storage | $c | $r | $p50 | $p99 | $e |"
done
echo
echo "raw hsm/ signing, 2 threads, same token type: ${raw2:-?}/s"
s64=$(row signet.out 64 | awk '{print $1}')
[ -n "${raw2:-}" ] && awk -v s="$s64" -v r="$raw2" 'BEGIN {printf "Signet at 64 conns = %.0f%% of the raw 2-thread signing rate\n", 100*s/r}'
echo "RSS of signetd and all its children under load: $((rss / 1024)) MiB"
echo "certificates in the ledger after the run: $issued"

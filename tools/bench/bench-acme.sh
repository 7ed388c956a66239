#!/usr/bin/env bash
# The ACME benchmark (issue 20): one dev-host appliance (signetd, engine
# with the CA key in SoftHSMv2, durable SQLite ledger and audit, HTTPS
# front ends, signet-validator), driven in alternating rounds by
#   - signet-bench-est: EST simpleenroll over keep-alive mutual TLS, the
#     baseline (the same engine path, ca_check/ca_sign_out, one request
#     per certificate);
#   - signet-bench-acme: whole ACME orders (newOrder, authorization,
#     http-01 answered by the generator, finalize, download) with EAB
#     accounts made before the clock starts;
# at the same connection count, ROUNDS times, so that both see the same
# machine.  The machine is shared: the figures to read are the ratios
# (ACME per certificate against EST per certificate, in wall time and in
# the CPU time signetd and its children spent, from /proc) and the split
# of an order's time into steps and of the CPU into processes.  PERF=1
# (default) also samples the engine and the validator with perf during
# the last ACME round and prints their top symbols.
#
# usage: tools/bench/bench-acme.sh [BUILD_DIR] [SECONDS]
#   ROUNDS=3 CONNS=8 POLL_MS=20 PERF=1 CONF='sed script for signetd.conf'
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
secs=${2:-10}
rounds=${ROUNDS:-3}
conns=${CONNS:-8}
pollms=${POLL_MS:-20}
work=$(mktemp -d /tmp/signet-bench-acme-XXXXXX)
sd=
cleanup() {
	[ -z "$sd" ] || kill -TERM "$sd" 2>/dev/null || true
	[ -z "$sd" ] || wait "$sd" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
# Below the ephemeral range, checked free (tests/support/ports.py says why).
free_port() {
	python3 "$top/tests/support/ports.py" tcp
}
for b in firmware/signetd/signetd tools/bench/signet-bench-est tools/bench/signet-bench-acme; do
	[ -x "$build/$b" ] || { echo "$build/$b missing: build it first" >&2; exit 2; }
done
ncpu=$(nproc)
cd "$work"
DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$top/board/dev-host/run.sh" >provision.log 2>&1 ||
	{ tail -20 provision.log; exit 1; }
HTTPS=$(free_port); HTTP=$(free_port); H01=$(free_port)
# Budgets out of the way (as bench-appliance.sh); http-01 to the generator.
sed -e "s/127.0.0.1:8443/127.0.0.1:$HTTPS/; s/127.0.0.1:8080/127.0.0.1:$HTTP/g" -e '/coap = /d' \
	-e "s/https_workers = 1/https_workers = $ncpu/" \
	-e 's/max_connections_per_source = 64/max_connections_per_source = 1024/' \
	-e 's/rate_identity = 50/rate_identity = 100000000/; s/burst_identity = 100/burst_identity = 100000000/' \
	-e 's/rate_tenant = 1000/rate_tenant = 100000000/; s/burst_tenant = 2000/burst_tenant = 100000000/' \
	-e 's/^acme_orders_per_account = 300 /acme_orders_per_account = 0 /' \
	-e 's/^acme_accounts_per_source = 10 /acme_accounts_per_source = 0 /' \
	-e "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_http01_address = \"127.0.0.1\"\nacme_validate_allow = { \"127.0.0.0\/8\" }/" \
	-e "${CONF:-}" "$top/board/dev-host/signetd.conf" >signetd.conf
grep -q "acme_http01_port = $H01" signetd.conf || { echo "signetd.conf: no acme_http01_port" >&2; exit 1; }
grep -q "^acme_accounts_per_source = 0 " signetd.conf || { echo "signetd.conf: ACME rate limits not lifted" >&2; exit 1; }
export SOFTHSM2_CONF=$work/data/softhsm2.conf
"$build/firmware/signetd/signetd" -f "$work/signetd.conf" >signetd.log 2>&1 &
sd=$!
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP/ca/intermediate.der" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$HTTP/ca/intermediate.der" ||
	{ tail -20 signetd.log; echo "signetd did not come up" >&2; exit 1; }
for _ in $(seq 1 50); do grep -q 'signet-validator\[[0-9]*\].*msg=ready' signetd.log && break; sleep 0.1; done

# child PROGRAM: the pid of signetd's child running PROGRAM (first).
child() { ps --ppid "$sd" -o pid=,args= | awk -v p="$1" '$2 ~ p {print $1; exit}'; }
# ticks PID...: user+system clock ticks of those processes so far.
ticks() {
	local p t=0
	for p in "$@"; do t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done
	echo "$t"
}
eng=$(child signet-engine); val=$(child signet-validator)
https=$(ps --ppid "$sd" -o pid=,args= | awk '$2 ~ /signet-https/ {print $1}' | tr '\n' ' ')
[ -n "$eng" ] && [ -n "$val" ] && [ -n "$https" ] ||
	{ ps --ppid "$sd" -o pid=,args=; echo "children not found" >&2; exit 1; }
all="$sd $eng $val $https"
OPT=(-p "$HTTPS" -c data/ca/root.pem -C data/operator/operator.pem -K data/operator/operator.key -d "$secs" -n "$conns")

# measure KIND ROUND: one run, its figures and the CPU of each process.
measure() {
	local k=$1 r=$2 e0 v0 h0 a0
	e0=$(ticks "$eng"); v0=$(ticks "$val"); h0=$(ticks $https); a0=$(ticks $all)
	if [ "$k" = est ]; then
		"$build/tools/bench/signet-bench-est" "${OPT[@]}" >"$k-$r.out"
	else
		"$build/tools/bench/signet-bench-acme" "${OPT[@]}" -a "$H01" -i "$pollms" \
			>"$k-$r.out" 2>"$k-$r.err"
	fi
	echo "$(( $(ticks "$eng") - e0 )) $(( $(ticks "$val") - v0 )) $(( $(ticks $https) - h0 ))" \
		"$(( $(ticks $all) - a0 ))" >"$k-$r.cpu"
}

for r in $(seq 1 "$rounds"); do
	echo "== round $r: EST, then ACME ($conns connections, $secs s each)"
	measure est "$r"
	if [ "$r" = "$rounds" ] && [ "${PERF:-1}" = 1 ] && command -v perf >/dev/null; then
		perf record -q -F 999 -g -o perf-eng.data -p "$eng" -- sleep "$secs" >/dev/null 2>&1 &
		pe=$!
		perf record -q -F 999 -g -o perf-val.data -p "$val" -- sleep "$secs" >/dev/null 2>&1 &
		pv=$!
		measure acme "$r"
		wait "$pe" "$pv" || true
	else
		measure acme "$r"
	fi
	cat "est-$r.out" "acme-$r.out" | grep conns
done
kill -TERM "$sd"
wait "$sd" || true
sd=

hz=$(getconf CLK_TCK)
# field KIND COL: that column of the run lines, one per round.
field() { for r in $(seq 1 "$rounds"); do awk -v c="$2" '$2 == "conns" {print $c}' "$1-$r.out"; done; }
med() { sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print 0}'; }
# cpums KIND COL: CPU ms per certificate (column of the .cpu file), median.
cpums() {
	for r in $(seq 1 "$rounds"); do
		awk -v c="$2" -v hz="$hz" -v n="$(awk '$2 == "conns" {print $14}' "$1-$r.out")" \
			'{if (n > 0) printf "%.3f\n", 1000 * $c / hz / n}' "$1-$r.cpu"
	done | med
}
er=$(field est 3 | med); ar=$(field acme 3 | med)
echo
echo "median of $rounds rounds, EST and ACME alternating, $conns connections, $ncpu cores shared with the load generator (and other work)"
echo
echo "| run | certificates/s | p50 ms | p99 ms | errors | CPU ms/cert, all | engine | https | validator |"
echo "|---|---|---|---|---|---|---|---|---|"
for k in est acme; do
	echo "| $k | $(field $k 3 | med) | $(field $k 6 | med) | $(field $k 9 | med) | $(field $k 12 | med) |" \
		"$(cpums $k 4) | $(cpums $k 1) | $(cpums $k 3) | $(cpums $k 2) |"
done
echo
awk -v e="$er" -v a="$ar" -v ce="$(cpums est 4)" -v ca="$(cpums acme 4)" 'BEGIN {
	if (a > 0) printf "ACME per certificate: %.1fx the wall time of EST (rate %.2f of EST'"'"'s)", e / a, a / e;
	if (ce > 0) printf ", %.1fx its CPU (signetd and children)\n", ca / ce; else printf "\n" }'
echo
echo "an order's steps, mean ms (median of the rounds) and share of the order:"
for k in newOrder authz chall final cert; do
	for r in $(seq 1 "$rounds"); do
		awk -v k="$k" '$2 == "conns" {for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "acme-$r.out"
	done | med
done | awk 'BEGIN {split("newOrder authz chall final cert", n)} {v[NR] = $1; s += $1}
	END {for (i = 1; i <= NR; i++) printf "  %-9s %8.2f ms  %5.1f%%\n", n[i], v[i], s ? 100 * v[i] / s : 0}'
echo "  JWS POSTs per order (polls included): $(for r in $(seq 1 "$rounds"); do
	awk '$2 == "conns" {for (i = 1; i < NF; i++) if ($i == "posts/order") print $(i + 1)}' "acme-$r.out"; done | med); EST: 1 request per certificate"
if [ -f perf-eng.data ]; then
	for p in eng val; do
		echo
		echo "perf, $p (last ACME round), top symbols by self time:"
		perf report -i "perf-$p.data" --stdio --no-children -g none --percent-limit 1.5 \
			--sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' | sed 's/ *$//' | head -20
	done
fi
echo
echo "each round:"
cat est-*.out acme-*.out | grep conns
grep -h "worker" acme-*.err 2>/dev/null | sort | uniq -c | sort -rn | head -5 || true

#!/usr/bin/env bash
# The soak (issue 14): the real appliance (signetd, the engine on a
# SoftHSMv2 token, SOAK_WORKERS HTTPS workers, the CoAP front end) under
# EST over keep-alive mutual TLS (signet-bench-est -r) and EST-coaps
# (coap-client-gnutls, one process per request, alternating DTLS-PSK
# enrollments with a multi-use token and re-enrollments with a device
# certificate) at half the measured capacity, for SOAK_SECONDS after a
# warm-up.  Every process's RSS (VmRSS) and open descriptors are sampled
# every SOAK_SAMPLE seconds.  Passes when:
#   - no request failed (EST: a status other than 200 or a broken
#     connection; EST-coaps: no certificate back), over warm-up and soak;
#   - no process restarted, no sanitizer report, clean shutdown;
#   - per process, RSS grew less than 5% between the first window of
#     SOAK_WINDOW seconds after the warm-up and the last one, or by less
#     than SOAK_RSS_FLOOR KiB whatever the percentage (see below), by
#     both measures: the lowest sample of each window (what a leak
#     raises; the engine hands freed memory back once a minute,
#     ENG_TRIM_EVERY, so a window longer than that holds a sample just
#     after a trim) and the highest (what the process touches between
#     two trims: a transient that grows with the hour raises it); the
#     engine's growth is judged net of the growth of SQLite's heap
#     (signet_ledger_sqlite_memory_bytes in /metrics, sampled with RSS;
#     the windows' medians), as far as that stays within its page cache
#     budget (see below);
#   - per process, descriptors did not grow: the fewest held in the last
#     window is not above the most held in the first (a leak is
#     monotone; a keep-alive connection being replaced is not).
# Prints a table of both, the rates reached and p99 latencies.
#
# usage: tools/bench/soak.sh [BUILD_DIR]
# environment (defaults):
#   SOAK_SECONDS=600   measured span, after the warm-up
#   SOAK_WARMUP=60     load before the first measured sample
#   SOAK_MEASURE=20    both loads flat out first, for this long (EST on
#                      SOAK_CONNS connections, CoAP with SOAK_COAP_PAR
#                      processes at a time): the capacity, and the first
#                      part of the warm-up
#   SOAK_EST_RATE, SOAK_COAP_RATE   issuances per second; when either is
#                      unset, both are SOAK_FRACTION (0.5) of the rates
#                      reached flat out
#   SOAK_CONNS=4, SOAK_COAP_PAR=4, SOAK_WORKERS=2 (https_workers)
#   SOAK_SAMPLE=5      seconds between samples
#   SOAK_WINDOW=600    seconds of the first and the last window compared
#                      (at most half of SOAK_SECONDS, so they never
#                      overlap; keep it above the engine's 60 s trim)
#   SOAK_RSS_FLOOR=1024  KiB of growth that passes whatever the percentage
#   KEEP=1             keep the work directory
# Loopback only; as root it runs sandboxed, as the appliance does.
#
# SOAK_RSS_FLOOR: the parent and the CoAP front end are small (a few MiB
# in a Release build), and memory that is a bounded cache, not a leak,
# reaches its size in steps: glibc grows a heap by at least 128 KiB
# (M_TOP_PAD) per arena.  A leak passes the floor within a soak: one
# lost block per request is tens of MiB over the hour.
#
# SQLite: the ledger's page caches (writer and reader at
# storage.cache_kib each, 2048 by default, the scan lane at a quarter)
# live in a block the engine reserves and touches at start
# (ledger_sqlite_reserve_cache), so they are in its RSS from the first
# sample and not in SQLite's heap.  What SQLite still takes from the
# heap (statements, schema, sorts, and pages that overflow the block)
# is exported as signet_ledger_sqlite_memory_bytes (sqlite3_status64
# MEMORY_USED); the engine's RSS growth is judged less the growth of
# that figure, but never by more than two caches' budget (2 x
# cache_kib): SQLite memory beyond it (statements never finalized, say)
# counts as growth.  The raw growth is printed beside it.
#
# Under AddressSanitizer freed memory waits in a quarantine (256 MiB by
# default) before reuse, and the allocator keeps freed pages: RSS climbs
# for minutes while the quarantine fills and then stays at a high-water
# mark, bounded but read as growth (+7-11% per HTTPS worker in 120 s at
# CI rates with 16 MiB).  The soak appends quarantine_size_mb=0 (set
# SOAK_QUARANTINE_MB to change it) and allocator_release_to_os_interval_ms
# =1000 to ASAN_OPTIONS (harmless in other builds), so RSS follows live
# memory; use-after-free is the other tests' business, and LeakSanitizer
# still checks every process at the clean shutdown this script demands.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
# shellcheck source=tests/support/testlib.sh
. "$src/tests/support/testlib.sh"
secs=${SOAK_SECONDS:-600}
warmup=${SOAK_WARMUP:-60}
conns=${SOAK_CONNS:-4}
cpar=${SOAK_COAP_PAR:-4}
workers=${SOAK_WORKERS:-2}
every=${SOAK_SAMPLE:-5}
win=${SOAK_WINDOW:-600}
[ "$win" -le $((secs / 2)) ] || win=$((secs / 2))
floor=${SOAK_RSS_FLOOR:-1024}
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=${SOAK_QUARANTINE_MB:-0}:allocator_release_to_os_interval_ms=1000
FAIL_TAIL=30
test_begin soak
command -v coap-client-gnutls >/dev/null || fail "coap-client-gnutls missing (libcoap3-bin)"
[ -x "$build/tools/bench/signet-bench-est" ] || fail "no $build/tools/bench/signet-bench-est"
loaders=()
test_cleanup() {
	local p
	for p in "${loaders[@]}"; do kill -- "$p" 2>/dev/null || true; done
}
test_ports coap
dev_provision
dev_conf "s/^https_workers = 1/https_workers = $workers/" \
	's/rate_identity = .*/rate_identity = 100000000/; s/burst_identity = .*/burst_identity = 100000000/' \
	's/rate_tenant = .*/rate_tenant = 100000000/; s/burst_tenant = .*/burst_tenant = 100000000/' \
	> signetd.conf
chmod 644 signetd.conf
dev_start

# The CoAP device: a multi-use enrollment token (its PSK) and, enrolled
# with it, a certificate to re-enroll with.
T=$(curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"dev\",\"profile\":\"device\",\"names\":[\"b.dev.devices.internal\"],\"ttl\":604800,\"uses\":65535}" \
	"$B/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$T" ] || fail "no enrollment token"
PSK=$(dev_psk "$T")
dev_csr b.dev.devices.internal b.csr
coap-client-gnutls -B 30 -m post -u "${T%%.*}" -k "$PSK" -t 286 -A 287 -f b.csr -o b.der \
	"$U/est/dev-device/sen" >/dev/null 2>&1 || true
openssl x509 -inform der -in b.der -out b.pem 2>/dev/null || fail "the device did not enroll over EST-coaps"
mkdir -p coap
# Token uses left for DTLS-PSK enrollments (the rest re-enroll).
psk_left=65000

# coap_one N: one EST-coaps request; a line in coap.res ("ok MS" or
# "err N rc=RC", the client's output kept as coap/N.log).
coap_one() {
	local i=$1 out=coap/$1.der t0=${EPOCHREALTIME/./} rc=0 how
	if [ $((i % 2)) = 0 ] && [ "$i" -lt $((2 * psk_left)) ]; then
		how=(-u "${T%%.*}" -k "$PSK" "$U/est/dev-device/sen")
	else
		how=(-c b.pem -j b.csr.key "$U/est/dev-device/sren")
	fi
	timeout 45 coap-client-gnutls -B 30 -m post -t 286 -A 287 -f b.csr -o "$out" \
		"${how[@]}" >"coap/$i.log" 2>&1 || rc=$?
	if [ "$rc" = 0 ] && openssl x509 -inform der -in "$out" -noout 2>/dev/null; then
		echo "ok $(((${EPOCHREALTIME/./} - t0) / 1000))" >>coap.res
		rm -f "$out" "coap/$i.log"
	else
		echo "err $i rc=$rc" >>coap.res
	fi
}

# coap_drive RATE SECONDS PAR: requests at RATE a second, at most PAR at
# a time, for SECONDS.  Falling behind delays requests (the rate reached
# shows it); a stall never turns into a burst.
coap_drive() {
	local period end now next i=0
	period=$(awk -v r="$1" 'BEGIN { printf "%d", 1e6 / r }')
	next=${EPOCHREALTIME/./}
	end=$((next + $2 * 1000000))
	while :; do
		now=${EPOCHREALTIME/./}
		[ "$now" -lt "$end" ] || break
		if [ "$next" -gt "$now" ]; then
			sleep "$(printf '%d.%06d' $(((next - now) / 1000000)) $(((next - now) % 1000000)))"
		elif [ $((now - next)) -gt "$period" ]; then
			next=$now
		fi
		next=$((next + period))
		while [ "$(jobs -rp | wc -l)" -ge "$3" ]; do wait -n || true; done
		coap_one "$i" &
		i=$((i + 1))
	done
	wait
}

est_run() { # RATE SECONDS OUT: signet-bench-est paced (RATE 0: flat out)
	local r=()
	[ "$1" = 0 ] || r=(-r "$1")
	"$build/tools/bench/signet-bench-est" -p "$HTTPS" -c data/ca/root.pem \
		-C data/operator/operator.pem -K data/operator/operator.key \
		-n "$conns" -d "$2" "${r[@]}" >"$3" 2>&1
}
# est_field OUT N: field N of its result line (3 rate, 6 p50, 9 p99, 12 errors)
est_field() { awk -v f="$2" '/ conns / { print $f }' "$1"; }

# Flat out first: the capacity, and the first part of the warm-up (caches
# and, under ASan, the quarantine fill fastest at full load).
m=${SOAK_MEASURE:-20}
echo "== capacity: EST on $conns connections and EST-coaps $cpar at a time, both flat out, $m s"
: >coap.res
coap_drive 10000 "$m" "$cpar" &
loaders+=("$!")
est_run 0 "$m" est-measure.out
wait "${loaders[0]}"
loaders=()
est_cap=$(est_field est-measure.out 3)
coap_cap=$(awk -v s="$m" '$1 == "ok" { n++ } END { printf "%.2f", n / s }' coap.res)
merr=$(( $(est_field est-measure.out 12) + $(grep -c '^err' coap.res || true) ))
[ "$merr" = 0 ] || fail "$merr errors at full load: $(grep '^err' coap.res | head -3)"
echo "   reached: EST $est_cap/s, EST-coaps $coap_cap/s"
psk_left=$((psk_left - $(wc -l <coap.res)))
if [ -z "${SOAK_EST_RATE:-}" ] || [ -z "${SOAK_COAP_RATE:-}" ]; then
	frac=${SOAK_FRACTION:-0.5}
	SOAK_EST_RATE=$(awk -v c="$est_cap" -v f="$frac" 'BEGIN { printf "%.1f", c * f }')
	SOAK_COAP_RATE=$(awk -v c="$coap_cap" -v f="$frac" 'BEGIN { printf "%.2f", c * f }')
	echo "   soak at $frac of each"
fi
awk -v e="$SOAK_EST_RATE" -v c="$SOAK_COAP_RATE" 'BEGIN { exit !(e > 0 && c > 0) }' ||
	fail "rates must be positive: EST $SOAK_EST_RATE, EST-coaps $SOAK_COAP_RATE"

# sample: one line per process of the appliance, "T COMM PID RSS_KIB FDS".
sample() {
	local t=$1 p rss fds anon
	for p in "$pid" $(ps -o pid= --ppid "$pid"); do
		[ -r "/proc/$p/status" ] || continue
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status")
		fds=$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$p/status")
		echo "$t $(cat "/proc/$p/comm") $p $rss $fds $anon"
	done
}

total=$((warmup + secs))
echo "== soak: EST $SOAK_EST_RATE/s on $conns connections, EST-coaps $SOAK_COAP_RATE/s," \
	"$workers HTTPS workers; ${warmup} s warm-up, then $secs s measured, a sample every $every s"
: >coap.res
coap_drive "$SOAK_COAP_RATE" "$total" "$cpar" &
loaders+=("$!")
est_run "$SOAK_EST_RATE" "$total" est.out &
loaders+=("$!")
t0=$(date +%s)
sleep "$warmup"
# Samples while the load runs: the last one a second before it ends.
: >samples
: >ledger.kib
: >sqlite.kib
while :; do
	t=$(($(date +%s) - t0))
	sample "$t" >>samples
	echo "$t $(($(stat -c %s data/ledger.db) / 1024))" >>ledger.kib
	sq=$(curl -s -m 10 "${CA[@]}" "${OP[@]}" "$B/metrics" |
		sed -n 's/^signet_ledger_sqlite_memory_bytes //p')
	[ -z "$sq" ] || echo "$t $((sq / 1024))" >>sqlite.kib
	[ $((t + every)) -lt "$total" ] || break
	kill -0 "$pid" 2>/dev/null || fail "signetd exited during the soak"
	sleep "$every"
done
for p in "${loaders[@]}"; do wait "$p" || true; done
loaders=()

# Results.
fails=()
est_ok=$(est_field est.out 3)
est_err=$(est_field est.out 12)
[ -n "$est_ok" ] || fail "signet-bench-est printed no result: $(tail -3 est.out)"
coap_n=$(grep -c '^ok' coap.res || true)
coap_err=$(grep -c '^err' coap.res || true)
coap_p99=$(awk '$1 == "ok" { print $2 }' coap.res | sort -n |
	awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print a[i] + 0 }')
[ "$est_err" = 0 ] || fails+=("EST: $est_err errors")
if [ "$coap_err" != 0 ]; then
	e=$(grep -m1 '^err' coap.res | awk '{ print $2 }')
	fails+=("EST-coaps: $coap_err errors (first: $(grep '^err' coap.res | head -1);" \
		"$(tail -2 "coap/$e.log" 2>/dev/null | tr '\n' ' '))")
fi
echo
echo "| load | target/s | reached/s | p99 ms | errors |"
echo "|---|---|---|---|---|"
echo "| EST simpleenroll, mTLS keep-alive, $conns conns | $SOAK_EST_RATE | $est_ok | $(est_field est.out 9) | $est_err |"
awk -v n="$coap_n" -v t="$total" -v r="$SOAK_COAP_RATE" -v p="$coap_p99" -v e="$coap_err" \
	'BEGIN { printf "| EST-coaps sen (PSK) / sren (cert), process per request | %s | %.2f | %s | %s |\n", r, n / t, p, e }'

# Per process: the first window of $win s after the warm-up against the
# last one (sample times are seconds since the load began).
t_first=$(awk 'NR == 1 || $1 < m { m = $1 } END { print m }' samples)
t_last=$(awk 'NR == 1 || $1 > m { m = $1 } END { print m }' samples)
in_first() { awk -v a="$t_first" -v w="$win" '$1 < a + w'; }
in_last() { awk -v b="$t_last" -v w="$win" '$1 > b - w'; }
pids_first=$(awk -v t="$t_first" '$1 == t { print $3 }' samples | sort | tr '\n' ' ')
pids_last=$(awk -v t="$t_last" '$1 == t { print $3 }' samples | sort | tr '\n' ' ')
[ "$pids_first" = "$pids_last" ] || fails+=("processes changed during the soak: [$pids_first] -> [$pids_last]")
l0=$(head -1 ledger.kib | awk '{ print $2 }')
l1=$(tail -1 ledger.kib | awk '{ print $2 }')
# SQLite's heap in the engine, the median of each window (from the
# samples /metrics answered; a sample it did not answer is left out);
# the page cache budget is the ledger's two connections' cache_kib.
med() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }
sq0=$(in_first <sqlite.kib | awk '{ print $2 }' | med)
sq1=$(in_last <sqlite.kib | awk '{ print $2 }' | med)
cache_kib=$(sed -n 's/^[[:space:]]*cache_kib[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' signetd.conf)
sq_budget=$((2 * ${cache_kib:-2048}))
if [ -z "$sq0" ] || [ -z "$sq1" ] || [ "$sq1" = 0 ]; then
	fails+=("no signet_ledger_sqlite_memory_bytes in /metrics at the start or the end ($(wc -l <sqlite.kib) samples)")
	sq0=0 sq1=0
fi
sq_net=$(awk -v a="$sq0" -v b="$sq1" -v c="$sq_budget" 'BEGIN { d = b - a; print (d < 0 ? 0 : (d > c ? c : d)) }')
echo
echo "RSS KiB per process, the first $win s after the warm-up against the last $win s" \
	"(lowest and highest sample of each; the engine's growth net of SQLite's heap, raw in brackets):"
echo
echo "| process | pid | lowest first | lowest last | growth | highest first | highest last | growth | fds first (max) | fds last (min) | |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for p in $pids_first; do
	row=$(awk -v p="$p" -v a="$t_first" -v b="$t_last" -v w="$win" -v floor="$floor" -v sq="$sq_net" '
		function grow(x, y, net) {
			return sprintf("%+.2f%%", 100 * net / x) \
			    (net != y - x ? sprintf("(%+.2f%%)", 100 * (y - x) / x) : "")
		}
		$3 == p {
			comm = $2
			if ($1 < a + w) {
				if (!nf || $4 < fmin) fmin = $4
				if (!nf || $4 > fmax) fmax = $4
				if (!nf || $5 > ff) ff = $5
				nf++
			}
			if ($1 > b - w) {
				if (!nl || $4 < lmin) lmin = $4
				if (!nl || $4 > lmax) lmax = $4
				if (!nl || $5 < lf) lf = $5
				nl++
			}
		}
		END {
			if (!nf || !nl) { print "missing"; exit }
			d = comm == "signet-engine" ? sq : 0
			nmin = lmin - fmin - d; nmax = lmax - fmax - d
			amin = fmin * 0.05 > floor ? fmin * 0.05 : floor
			amax = fmax * 0.05 > floor ? fmax * 0.05 : floor
			ok = nmin < amin && nmax < amax && lf <= ff
			printf "%s %s %d %d %s %d %d %s %d %d %s\n", comm, p,
			    fmin, lmin, grow(fmin, lmin, nmin),
			    fmax, lmax, grow(fmax, lmax, nmax), ff, lf,
			    ok ? "ok" : "FAIL"
		}' samples)
	read -r -a f <<<"$row"
	[ "${f[0]}" != missing ] || { fails+=("pid $p missing from the last samples"); continue; }
	echo "| ${f[0]} | ${f[1]} | ${f[2]} | ${f[3]} | ${f[4]} | ${f[5]} | ${f[6]} | ${f[7]} | ${f[8]} | ${f[9]} | ${f[10]} |"
	[ "${f[10]}" = ok ] || fails+=("${f[0]}[${f[1]}]: lowest RSS ${f[2]} -> ${f[3]} KiB (${f[4]}), highest ${f[5]} -> ${f[6]} KiB (${f[7]}), fds ${f[8]} -> ${f[9]}")
done

kill -TERM "$pid"
for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
wait "$pid" && st=0 || st=$?
pid=
[ "$st" = 0 ] || fails+=("signetd exited $st on SIGTERM")
! grep -q 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error' signetd.log ||
	fails+=("sanitizer report in the log: $(grep -m1 'ERROR: \|runtime error' signetd.log)")
! grep -q 'child killed by the sandbox' signetd.log || fails+=("$(grep -m1 'killed by the sandbox' signetd.log)")
echo
echo "samples: $(wc -l <samples) over $secs s, windows of $win s; RSS floor $floor KiB; ledger $l0 -> $l1 KiB;" \
	"SQLite heap in the engine $sq0 -> $sq1 KiB (budget of its page caches $sq_budget KiB," \
	"$sq_net KiB taken off the engine's growth); $(grep -c 'level=warn' signetd.log || true) warnings," \
	"$(grep -c 'level=err' signetd.log || true) errors in the log"
if [ "${#fails[@]}" != 0 ]; then
	printf 'FAIL: %s\n' "${fails[@]}" >&2
	exit 1
fi
echo "ok - soak: zero errors, RSS growth (lowest and highest per window) under 5% (or ${floor} KiB), no descriptor growth, clean shutdown"

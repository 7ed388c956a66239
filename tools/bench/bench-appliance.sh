#!/usr/bin/env bash
# The appliance benchmark (issues 5 and 16): in one run on this machine,
#  1. Signet end to end: EST simpleenroll over keep-alive mutual TLS into
#     signetd (engine with the CA key in SoftHSMv2, durable SQLite ledger
#     and audit), 16 and 64 connections, plus the RSS of all its processes,
#     on each platform: "host" (this machine's Debian, BUILD_DIR) and
#     "trixie" (Debian 13, what the image ships: a Release build made in
#     the build root, tools/trixie-root.sh, and signetd run inside it);
#     ROUNDS rounds alternate the platforms and the median is reported;
#  2. the raw hsm/ signing rate on the same kind of token, per platform;
#  3. CFSSL (Debian's golang-cfssl, `cfssl serve`, software P-256 CA key,
#     no storage) driven with the same kind of CSRs over plain HTTP.
# One load generator for all: this machine's signet-bench-est.
# Issue 17: BUILDS="name=DIR ..." adds this machine's builds in other
# directories as platforms of their own (PLATFORMS="base new" to run only
# those), so a change is measured before and after in alternating rounds
# of one run; each run also reports the CPU time signetd and its children
# spent per issuance (user+system, from /proc), which a machine shared
# with other work disturbs less than the rate.  Each build is provisioned
# and configured from its own source tree (CMAKE_HOME_DIRECTORY of its
# CMakeCache.txt), and CONF_<name>="sed script" edits that platform's
# signetd.conf further (e.g. CONF_sk='s/session_keys = false/session_keys
# = true/' with BUILDS="... sk=build-rel" measures a setting on one build).
# Each run also counts the engine's fdatasync and fsync calls (perf stat
# on its syscall tracepoints, where perf may) and reports them per
# issuance: the group commit's syncs under load.
# Each round also drives the public HTTP listener for REQ_SECONDS (default
# 3; 0 skips) at 64 connections: a cached OCSP answer (GET, RFC 6960
# A.1, for a certificate issued in the round), the issuer's CRL, and the
# issuer's certificate, which the front end serves from its memory without
# the engine: the "static file" beside OCSP.
# Each round then paces 64 connections at PACE_FRAC (default 0.5; 0
# skips) of the rate the same round measured at 64 connections and
# reports that run's p99: the latency at a stated load, beside the p99 of
# the flat-out run, which by Little's law is 64 / rate whatever the code.
#
# usage: tools/bench/bench-appliance.sh [BUILD_DIR] [SECONDS]
#   PLATFORMS="host trixie" (default: trixie only if the root exists),
#   ROUNDS=3, TRIXIE_ROOT=build-trixie/root, BUILDS="name=DIR ..."
# Needs: tools/install-deps.sh --bench (golang-cfssl); root for trixie.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
secs=${2:-10}
rounds=${ROUNDS:-3}
reqsecs=${REQ_SECONDS:-3}
pacefrac=${PACE_FRAC:-0.5}
troot=${TRIXIE_ROOT:-$top/build-trixie/root}
if [ -z "${PLATFORMS:-}" ]; then
	PLATFORMS=host
	[ -f "$troot/.signet-root" ] && [ "$(id -u)" = 0 ] && PLATFORMS="host trixie"
fi
declare -A bdir=()
for b in ${BUILDS:-}; do bdir[${b%%=*}]=$(cd "${b#*=}" && pwd); done
work=$(mktemp -d /tmp/signet-bench-XXXXXX)
# The trixie runs live inside the tree (in-root.sh binds it, not /tmp).
twork=$top/build-trixie/bench-run.$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	sleep 1
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$work" "$twork"
}
trap cleanup EXIT
# Below the ephemeral range, checked free (tests/support/ports.py says why).
free_port() {
	python3 "$top/tests/support/ports.py" tcp
}
command -v cfssl >/dev/null || { echo "cfssl missing: tools/install-deps.sh --bench" >&2; exit 2; }
ncpu=$(nproc)

# The Debian 13 Release build, inside the root, of this tree.
tbuild=$top/build-trixie/bench
if [[ " $PLATFORMS " == *" trixie "* ]]; then
	echo "== Release build in the Debian 13 root ($tbuild)"
	"$top/tools/in-root.sh" -r "$troot" cmake -S "$top" -B "$tbuild" -DCMAKE_BUILD_TYPE=Release \
		-DSIGNET_TESTS=OFF >/dev/null
	"$top/tools/in-root.sh" -r "$troot" cmake --build "$tbuild" -j"$ncpu" >"$work/tbuild.log" 2>&1 ||
		{ tail -30 "$work/tbuild.log"; exit 1; }
fi

# run PLATFORM DIR: runs what follows in the platform (host: as is).
run() {
	local plat=$1
	shift
	if [ "$plat" = trixie ]; then
		"$top/tools/in-root.sh" -r "$troot" "$@"
	else
		"$@"
	fi
}

# The same in the background: exec, so that $! is the command itself.
run_bg() {
	local plat=$1
	shift
	if [ "$plat" = trixie ]; then
		exec "$top/tools/in-root.sh" -r "$troot" "$@"
	else
		exec "$@"
	fi
}

# cpu_ticks PID: user+system clock ticks of PID and its children so far.
cpu_ticks() {
	local p t=0
	for p in "$1" $(ps --ppid "$1" -o pid=); do
		t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
	done
	echo "$t"
}

# src_of BUILD_DIR: the source tree the build was configured from.
src_of() {
	local s
	s=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$1/CMakeCache.txt" 2>/dev/null)
	if [ -n "$s" ] && [ -f "$s/board/dev-host/signetd.conf" ]; then echo "$s"; else echo "$top"; fi
}

# reqs PLATFORM ROUND HTTP HTTPS: the public listener's request rates.
reqs() {
	local plat=$1 r=$2 http=$3 https=$4 b64 u
	[ "$reqsecs" -gt 0 ] || return 0
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ocsp.key \
		-subj "/CN=ocsp.svc.dev.internal" -addext "subjectAltName=DNS:ocsp.svc.dev.internal" \
		-outform DER -out ocsp.csr 2>/dev/null
	base64 -w0 ocsp.csr > ocsp.csr.b64
	curl -sf --cacert data/ca/root.pem --cert data/operator/operator.pem --key data/operator/operator.key \
		-H 'Content-Type: application/pkcs10' --data-binary @ocsp.csr.b64 \
		"https://127.0.0.1:$https/.well-known/est/simpleenroll" > ocsp.p7.b64 &&
	base64 -d ocsp.p7.b64 | openssl pkcs7 -inform DER -print_certs -out ocsp.pem 2>/dev/null &&
	openssl ocsp -issuer data/ca/intermediate.pem -cert ocsp.pem -no_nonce -reqout ocsp.req >/dev/null 2>&1 ||
		{ echo "$plat round $r: no certificate for the OCSP run" >&2; return 0; }
	b64=$(base64 -w0 ocsp.req)
	u=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$b64")
	# The first request signs and caches the answer; the run reads it.
	curl -sf -o ocsp.resp "http://127.0.0.1:$http/ocsp/$u" &&
	openssl ocsp -respin ocsp.resp -issuer data/ca/intermediate.pem -CAfile data/ca/root.pem \
		-cert ocsp.pem -no_nonce 2>/dev/null | grep -q ': good$' ||
		echo "$plat round $r: the OCSP answer is not 'good'" >&2
	curl -sf -o crl.der "http://127.0.0.1:$http/crl/intermediate.crl"
	curl -sf -o ca.der "http://127.0.0.1:$http/ca/intermediate.der"
	echo "ocsp $(stat -c %s ocsp.resp) crl $(stat -c %s crl.der) ca $(stat -c %s ca.der)" \
		> "$work/sizes-$plat-$r"
	for k in ocsp crl ca; do
		case $k in
		ocsp) u=/ocsp/$u ;;
		crl) u=/crl/intermediate.crl ;;
		ca) u=/ca/intermediate.der ;;
		esac
		"$build/tools/bench/signet-bench-est" -m get -u "$u" -p "$http" -d "$reqsecs" -n 64 \
			> "$work/$k-$plat-$r.out"
	done
}

# signet PLATFORM ROUND: provision, start signetd, drive it, stop it.
signet() {
	local plat=$1 r=$2 dir bin sd rp src cv
	if [ "$plat" = trixie ]; then dir=$twork/$r; bin=$tbuild; else dir=$work/$plat-$r; bin=${bdir[$plat]:-$build}; fi
	src=$top
	[ "$plat" = trixie ] || src=$(src_of "$bin")
	cv=CONF_$plat
	mkdir -p "$dir"
	cd "$dir"
	run "$plat" env DATA="$dir/data" BUILD="$bin" SIGNET_NO_DAEMON=1 \
		bash "$src/board/dev-host/run.sh" >provision.log 2>&1 ||
		{ tail -20 provision.log; exit 1; }
	HTTPS=$(free_port); HTTP=$(free_port)
	sed -e "s/127.0.0.1:8443/127.0.0.1:$HTTPS/; s/127.0.0.1:8080/127.0.0.1:$HTTP/g" -e '/coap = /d' \
		-e "s/https_workers = 1/https_workers = $ncpu/" \
		-e 's/max_connections_per_source = 64/max_connections_per_source = 1024/' \
		-e 's/rate_identity = 50/rate_identity = 100000000/; s/burst_identity = 100/burst_identity = 100000000/' \
		-e 's/rate_tenant = 1000/rate_tenant = 100000000/; s/burst_tenant = 2000/burst_tenant = 100000000/' \
		-e "${!cv:-}" "$src/board/dev-host/signetd.conf" > signetd.conf
	# run_bg and in-root.sh exec down to signetd: $! is signetd itself.
	run_bg "$plat" env SOFTHSM2_CONF="$dir/data/softhsm2.conf" \
		"$bin/firmware/signetd/signetd" -f "$dir/signetd.conf" >signetd.log 2>&1 &
	sd=$!
	pids+=("$sd")
	for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP/ca/intermediate.der" && break; sleep 0.1; done
	curl -sf -o /dev/null "http://127.0.0.1:$HTTP/ca/intermediate.der" ||
		{ tail -20 signetd.log; echo "$plat: signetd did not come up" >&2; exit 1; }
	( sleep $((secs / 2)); ps --ppid "$sd" -o rss= | awk -v p="$(ps -o rss= -p "$sd")" '{s+=$1} END {print s+p}' > rss.kb ) &
	rp=$!
	cpu_ticks "$sd" > cpu0
	# The engine's syncs over both runs (perf stat on its tracepoints).
	local eng sp=
	eng=$(pgrep -P "$sd" -x signet-engine || true)
	if [ -n "$eng" ] && perf stat -e syscalls:sys_enter_fdatasync -p "$eng" -- true >/dev/null 2>&1; then
		perf stat -x, -e syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_futex \
			-e syscalls:sys_enter_pwrite64,syscalls:sys_enter_write,context-switches -p "$eng" \
			-o "$work/syncs-$plat-$r.csv" &
		sp=$!
	fi
	"$build/tools/bench/signet-bench-est" -p "$HTTPS" -c data/ca/root.pem -C data/operator/operator.pem \
		-K data/operator/operator.key -d "$secs" -n 16,64 > "$work/signet-$plat-$r.out"
	[ -z "$sp" ] || { kill -INT "$sp"; wait "$sp" || true; }
	cpu_ticks "$sd" > cpu1
	echo $(( $(cat cpu1) - $(cat cpu0) )) > "$work/cpu-$plat-$r.ticks"
	wait "$rp" || true
	local pace
	pace=$(awk -v f="$pacefrac" '$1 == 64 && $2 == "conns" {printf "%.1f", $3 * f}' "$work/signet-$plat-$r.out")
	if awk -v p="${pace:-0}" 'BEGIN {exit !(p > 0)}'; then
		"$build/tools/bench/signet-bench-est" -p "$HTTPS" -c data/ca/root.pem -C data/operator/operator.pem \
			-K data/operator/operator.key -d "$secs" -n 64 -r "$pace" > "$work/paced-$plat-$r.out"
	fi
	reqs "$plat" "$r" "$HTTP" "$HTTPS"
	[ "$(cat "/proc/$sd/comm" 2>/dev/null)" = signetd ] ||
		echo "warning: pid $sd is not signetd; RSS figures are wrong" >&2
	kill -TERM "$sd" 2>/dev/null ||
		echo "warning: $plat round $r: signetd was gone before the end (killed from outside?)" >&2
	wait "$sd" || true
	cp rss.kb "$work/rss-$plat-$r.kb" 2>/dev/null || true
	# Raw signing on the same platform and token type (once a round for
	# the builds of this machine, which share a platform).
	if [ -z "${bdir[$plat]:-}" ] || [ "$plat" = "$first" ]; then
		run "$plat" env SOFTHSM2_CONF="$dir/data/softhsm2.conf" "$bin/tools/bench/signet-bench-hsm" -s 1 \
			> "$work/hsm-$plat-$r.out" 2>&1 || true
	fi
	cd "$work"
}

first=${PLATFORMS%% *}
for r in $(seq 1 "$rounds"); do
	for plat in $PLATFORMS; do
		echo "== round $r: Signet on $plat"
		signet "$plat" "$r"
	done
done

# CFSSL with a software key (this machine's Debian package).
cd "$work"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-key.pem \
	-subj "/CN=CFSSL Bench CA" -days 30 -out ca.pem 2>/dev/null
cat > cfssl.json <<'JSON'
{"signing":{"default":{"expiry":"25h","usages":["digital signature","server auth","client auth"]}}}
JSON
CP=$(free_port)
cfssl serve -address 127.0.0.1 -port "$CP" -ca ca.pem -ca-key ca-key.pem -config cfssl.json >cfssl.log 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$CP/api/v1/cfssl/scaninfo" && break; sleep 0.1; done
"$build/tools/bench/signet-bench-est" -m cfssl -p "$CP" -d "$secs" -n 16,64 > cfssl.out

# median FIELD CONNS PLATFORM over the rounds (signet-bench-est's columns).
median() {
	local f=$1 c=$2 plat=$3
	for r in $(seq 1 "$rounds"); do
		awk -v c="$c" -v f="$f" '$1==c {print $f}' "signet-$plat-$r.out"
	done | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'
}
rawmed() {
	local p=$1
	[ -f "hsm-$p-1.out" ] || p=$first
	for r in $(seq 1 "$rounds"); do
		awk -F'|' '/raw C_SignInit\+C_Sign, token key/ && $3+0==2 {gsub(/ /,"",$4); print $4}' "hsm-$p-$r.out"
	done | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'
}
echo
echo "median of $rounds rounds, platforms alternating; $ncpu cores, load generator on the same cores"
echo
echo "| system | platform | conns | issuances/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|"
for plat in $PLATFORMS; do
	for c in 16 64; do
		echo "| Signet EST, mTLS, key in SoftHSMv2, durable ledger+audit | $plat | $c |" \
			"$(median 3 "$c" "$plat") | $(median 6 "$c" "$plat") | $(median 9 "$c" "$plat") |" \
			"$(median 12 "$c" "$plat") |"
	done
done
for c in 16 64; do
	awk -v c="$c" '$1==c {printf "| CFSSL sign, plain HTTP, software key, no storage | host | %s | %s | %s | %s | %s |\n", c, $3, $6, $9, $12}' cfssl.out
done
echo
for plat in $PLATFORMS; do
	raw=$(rawmed "$plat")
	s64=$(median 3 64 "$plat")
	rss=$(for r in $(seq 1 "$rounds"); do cat "rss-$plat-$r.kb" 2>/dev/null; done | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}')
	# CPU ms of signetd and its children per issuance, median of the rounds.
	cpu=$(for r in $(seq 1 "$rounds"); do
		awk -v t="$(cat "cpu-$plat-$r.ticks" 2>/dev/null || echo 0)" -v hz="$(getconf CLK_TCK)" \
			'{n += $14} END {if (n) printf "%.3f\n", 1000 * t / hz / n}' "signet-$plat-$r.out"
	done | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}')
	cf=$(awk '$1==64 {print $3}' cfssl.out)
	# fdatasync+fsync of the engine per issuance, median of the rounds.
	syncs=$(for r in $(seq 1 "$rounds"); do
		[ -f "syncs-$plat-$r.csv" ] || continue
		awk -F, -v f="signet-$plat-$r.out" '/sys_enter_f(data)?sync/ {s += $1}
			END {while ((getline l < f) > 0) {split(l, a, " +"); if (l ~ /conns/) n += a[15]}
			if (n) printf "%.3f\n", s / n}' "syncs-$plat-$r.csv"
	done | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}')
	echo "$plat: raw hsm/ signing, 2 threads: ${raw:-?}/s;" \
		"$(awk -v s="$s64" -v r="${raw:-0}" 'BEGIN {if (r > 0) printf "Signet at 64 conns = %.0f%% of it", 100*s/r}');" \
		"$(awk -v s="$s64" -v c="${cf:-0}" 'BEGIN {if (c > 0) printf "%.2fx CFSSL at 64 conns", s/c}');" \
		"RSS of signetd and its children under load: $(( ${rss:-0} / 1024 )) MiB;" \
		"CPU of signetd and its children: ${cpu:-?} ms per issuance;" \
		"engine syncs (fdatasync+fsync): ${syncs:-?} per issuance"
	# The engine's other counts per issuance (median of the rounds).
	for ev in futex pwrite64 write context-switches; do
		for r in $(seq 1 "$rounds"); do
			[ -f "syncs-$plat-$r.csv" ] || continue
			awk -F, -v e="$ev" -v f="signet-$plat-$r.out" '$3 == e || $3 == "syscalls:sys_enter_" e {s += $1}
				END {while ((getline l < f) > 0) {split(l, a, " +"); if (l ~ /conns/) n += a[15]}
				if (n) printf "%.2f\n", s / n}' "syncs-$plat-$r.csv"
		done | sort -g | awk -v e="$ev" '{v[NR]=$1} END {if (NR) printf "%s %s; ", e, v[int((NR+1)/2)]}'
	done | sed "s/^/$plat: engine per issuance: /; s/; \$/\n/"
done
if awk -v f="$pacefrac" 'BEGIN {exit !(f > 0)}'; then
	echo
	echo "paced at $pacefrac of each round's own 64-connection rate, 64 connections, median of $rounds rounds:"
	echo
	echo "| platform | paced at /s | issuances/s | p50 ms | p99 ms | errors |"
	echo "|---|---|---|---|---|---|"
	for plat in $PLATFORMS; do
		for f in pace 3 6 9 12; do
			for r in $(seq 1 "$rounds"); do
				if [ "$f" = pace ]; then
					awk -v k="$pacefrac" '$1 == 64 && $2 == "conns" {printf "%.1f\n", $3 * k}' "signet-$plat-$r.out"
				else
					awk -v f="$f" '$1 == 64 && $2 == "conns" {print $f}' "paced-$plat-$r.out" 2>/dev/null
				fi
			done | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'
		done | paste -sd'|' | sed "s/|/ | /g; s/^/| $plat | /; s/\$/ |/"
	done
fi
# reqmed KIND FIELD PLATFORM: median over the rounds of the 64-conn GET run.
reqmed() {
	local k=$1 f=$2 plat=$3
	for r in $(seq 1 "$rounds"); do
		awk -v f="$f" '$1==64 {print $f}' "$k-$plat-$r.out" 2>/dev/null
	done | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'
}
if [ "$reqsecs" -gt 0 ]; then
	echo
	echo "public HTTP listener, 64 keep-alive connections, $reqsecs s per run, median of $rounds rounds:"
	echo
	echo "| platform | GET | bytes | requests/s | p50 ms | p99 ms | errors |"
	echo "|---|---|---|---|---|---|---|"
	for plat in $PLATFORMS; do
		for k in ocsp crl ca; do
			case $k in
			ocsp) what="/ocsp/<request> (pre-signed answer, cached)" ;;
			crl) what="/crl/intermediate.crl" ;;
			ca) what="/ca/intermediate.der (front end's memory)" ;;
			esac
			echo "| $plat | $what | $(awk -v k="$k" '{for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1)}' \
				"sizes-$plat-1" 2>/dev/null) | $(reqmed "$k" 3 "$plat") | $(reqmed "$k" 6 "$plat") |" \
				"$(reqmed "$k" 9 "$plat") | $(reqmed "$k" 12 "$plat") |"
		done
		o=$(reqmed ocsp 3 "$plat"); a=$(reqmed ca 3 "$plat")
		awk -v o="${o:-0}" -v a="${a:-0}" -v p="$plat" \
			'BEGIN {if (a > 0) printf "%s: cached OCSP at %.2fx the rate of the CA certificate from memory\n", p, o / a}'
	done
fi
echo
echo "each round (conns issuances/s p50 p99 errors; CPU ms per issuance over both runs):"
for r in $(seq 1 "$rounds"); do
	for plat in $PLATFORMS; do
		awk -v p="$plat" -v r="$r" -v t="$(cat "cpu-$plat-$r.ticks" 2>/dev/null || echo 0)" \
			-v hz="$(getconf CLK_TCK)" '$2 == "conns" {l = l sprintf("  %s: %s/s p50 %s p99 %s err %s", $1, $3, $6, $9, $12); n += $14}
			END {printf "round %s %-8s%s  cpu %.3f ms\n", r, p, l, n ? 1000 * t / hz / n : 0}' "signet-$plat-$r.out"
	done
done

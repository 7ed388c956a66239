#!/usr/bin/env bash
# What the sandbox costs: EST simpleenroll over keep-alive mutual TLS into
# signetd with sandbox = false and sandbox = true, same build, same token,
# same machine, alternating rounds (false, true, false, true, ...), then
# the median of each and their ratio.  Needs root (sandbox = true).
#
# usage: tools/bench/bench-sandbox.sh [BUILD_DIR] [SECONDS] [ROUNDS]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
secs=${2:-10}
rounds=${3:-3}
[ "$(id -u)" = 0 ] || { echo "bench-sandbox: needs root (sandbox = true)" >&2; exit 2; }
"$build/firmware/signetd/signetd" -V | grep -q sandbox=seccomp ||
	{ echo "bench-sandbox: $build has no sandbox" >&2; exit 2; }
# shellcheck source=../../tests/support/users.sh
. "$top/tests/support/users.sh"
work=$(mktemp -d /tmp/signet-bench-sbx-XXXXXX)
sd=
cleanup() {
	[ -n "$sd" ] && kill -TERM "$sd" 2>/dev/null && sleep 1
	[ -n "$sd" ] && kill -KILL "$sd" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
# Below the ephemeral range, checked free (tests/support/ports.py says why).
free_port() {
	python3 "$top/tests/support/ports.py" tcp
}
cd "$work"
DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$top/board/dev-host/run.sh" >provision.log 2>&1
export SOFTHSM2_CONF=$work/data/softhsm2.conf
sbx=$(sandbox_prepare "$work" data)
ncpu=$(nproc)
run() { # sandbox(0|1) -> prints enrollments/s at 16 connections
	local https http extra='s/^$//'
	https=$(free_port); http=$(free_port)
	# Unsandboxed, signetd (root) owns the data; sandboxed, the engine's user.
	if [ "$1" = 1 ]; then
		extra=$sbx
		chown -R signet:signet data
	else
		chown -R root:root data
	fi
	sed -e "s/127.0.0.1:8443/127.0.0.1:$https/; s/127.0.0.1:8080/127.0.0.1:$http/g" -e '/coap = /d' \
		-e "s/https_workers = 1/https_workers = $ncpu/" \
		-e 's/rate_identity = 50/rate_identity = 100000000/; s/burst_identity = 100/burst_identity = 100000000/' \
		-e 's/rate_tenant = 1000/rate_tenant = 100000000/; s/burst_tenant = 2000/burst_tenant = 100000000/' \
		-e "$extra" "$top/board/dev-host/signetd.conf" > signetd.conf
	chmod 644 signetd.conf
	"$build/firmware/signetd/signetd" -f signetd.conf >>signetd.log 2>&1 &
	sd=$!
	for _ in $(seq 1 100); do
		curl -sf -o /dev/null --cacert data/ca/root.pem \
			"https://127.0.0.1:$https/.well-known/est/cacerts" && break
		sleep 0.1
	done
	curl -sf -o /dev/null --cacert data/ca/root.pem \
		"https://127.0.0.1:$https/.well-known/est/cacerts" ||
		{ tail -5 signetd.log >&2; echo "bench-sandbox: signetd did not come up" >&2; exit 1; }
	timeout $((secs * 3 + 30)) "$build/tools/bench/signet-bench-est" -p "$https" -c data/ca/root.pem \
		-C data/operator/operator.pem -K data/operator/operator.key -d "$secs" -n 16 |
		awk '$2 == "conns" && $1 == 16 { print $3 }'
	kill -TERM "$sd"
	wait "$sd" || true
	sd=
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
: > off; : > on
for r in $(seq 1 "$rounds"); do
	run 0 >> off
	run 1 >> on
	echo "round $r: sandbox=false $(tail -1 off)/s  sandbox=true $(tail -1 on)/s"
done
grep -q 'child killed by the sandbox' signetd.log && { echo "a child was killed by the sandbox" >&2; exit 1; }
off_m=$(median < off); on_m=$(median < on)
echo
echo "| EST simpleenroll, 16 connections, $ncpu https workers, ${secs}s x $rounds rounds | enrollments/s (median) |"
echo "| --- | --- |"
echo "| sandbox = false | $off_m |"
echo "| sandbox = true  | $on_m ($(awk -v a="$on_m" -v b="$off_m" 'BEGIN { printf "%.1f%%", 100 * a / b }') of unsandboxed) |"

#!/usr/bin/env bash
# Issuance while tidy removes expired rows (issue 19), against baselines
# of the same run without tidy: the dev-host appliance from BUILD_DIR
# (a Release build), ROWS expired certificates written into its SQLite
# ledger (copies of one issued row under new serials, half of them
# revoked, DER kept: rows written behind the engine's back, without
# audit records, as bench_revoke_fill does; see the filler below), then
#   1. signet-bench-est (EST simpleenroll, 16 connections) for SECS: baseline
#   2. the same while `signetctl tidy` removes the ROWS rows
#   3. the same again after tidy: baseline
# Prints issuances/s and p99 of each, and tidy's rows/s and duration.
#
# While tidy runs, a sampler writes tidy-progress.out every 30 s (rows
# left, WAL size, load average).  With CACHE_KIB set, storage.cache_kib
# is that; with KEEP_DB=FILE, the filled ledger is copied there (sqlite3
# .backup) before the first measurement, for timing the deletes apart
# from the appliance.
#
# usage: tools/bench/tidy-bench.sh [BUILD_DIR] [ROWS] [SECS] [BATCH]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
src=$top
build=$(cd "${1:-$top/build}" && pwd)
ROWS=${2:-200000}
SECS=${3:-15}
BATCH=${4:-100}
# shellcheck source=../../tests/support/appliance.sh
. "$top/tests/support/appliance.sh"
test_begin tidybench
test_cleanup() { appliance_stop >/dev/null 2>&1; }
# shellcheck source=lib.sh
. "$top/tools/bench/lib.sh"
app_conf_extra() {
	if [ -n "${CACHE_KIB:-}" ]; then
		tidy_conf_sed "s/^storage {/storage {\n\tcache_kib = $CACHE_KIB/"
	else
		tidy_conf_sed
	fi
}
appliance_start "$src" "$build" "$work"
B="https://127.0.0.1:$HTTPS"
tidy_ctl_conf

# One issued row to copy.
est warmup >/dev/null
# The filler is SQL in the sqlite3 shell (INSERT ... SELECT over a
# recursive counter, 100,000 rows a transaction, with the copied row's
# columns): about 1.5 s of CPU per 100,000 rows, where the Python filler
# of the 200,000-row runs took minutes a run and made 1M impractical on
# a shared machine.  synchronous = OFF on the filler's own connection
# only (the fill is set-up, not measured); the engine's connections keep
# theirs.
t0=$(date +%s)
past=$(( $(date +%s) - 2 * 86400 ))
cols=$(as_engine sqlite3 data/ledger.db "SELECT group_concat(name, ',') FROM pragma_table_info('certs') WHERE name != 'id'")
sel=$(echo "$cols" | tr ',' '\n' | while read -r c; do
	case $c in
	serial) echo "X'5b' || randomblob(15)" ;;
	not_after) echo "$past" ;;
	status) echo "CASE WHEN n.i % 2 THEN 2 ELSE r.status END" ;;
	revoked_at) echo "CASE WHEN n.i % 2 THEN $((past - 3600)) ELSE r.revoked_at END" ;;
	reason) echo "CASE WHEN n.i % 2 THEN 1 ELSE r.reason END" ;;
	*) echo "r.$c" ;;
	esac
done | paste -sd,)
{
	echo "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; PRAGMA busy_timeout = 60000;"
	for ((s = 0; s < ROWS; s += 100000)); do
		c=$(( ROWS - s < 100000 ? ROWS - s : 100000 ))
		echo "BEGIN IMMEDIATE;"
		echo "WITH RECURSIVE n(i) AS (SELECT $s UNION ALL SELECT i + 1 FROM n WHERE i < $((s + c - 1)))"
		echo "INSERT INTO certs($cols) SELECT $sel FROM n,"
		echo " (SELECT $cols FROM certs WHERE status = 1 AND der IS NOT NULL LIMIT 1) AS r;"
		echo "COMMIT;"
	done
} > fill.sql
as_engine sqlite3 data/ledger.db < fill.sql > fill.out || fail "filling the ledger: $(tail -3 fill.out)"
total=$(as_engine sqlite3 data/ledger.db 'SELECT count(*) FROM certs')
echo "MEASURE: $ROWS expired rows written in $(( $(date +%s) - t0 ))s; ledger holds $total certificates, $(du -m data/ledger.db | cut -f1) MiB"

if [ -n "${KEEP_DB:-}" ]; then
	as_engine sqlite3 data/ledger.db ".backup data/keep.db" || fail "copying the filled ledger"
	cp data/keep.db "$KEEP_DB"
	as_engine rm -f data/keep.db
fi
grep -h 'cache_kib' signetd.conf | sed 's/^/MEASURE: signetd.conf: /' || echo "MEASURE: signetd.conf: cache_kib default"

est baseline-before
( s=$(date +%s%N); "$build/tools/signetctl/signetctl" tidy > tidy.out 2>&1; echo $(( ($(date +%s%N) - s) / 1000000 )) > tidy.ms ) &
tp=$!
( while kill -0 "$tp" 2>/dev/null; do
	echo "$(date +%T) rows=$(as_engine sqlite3 data/ledger.db 'SELECT count(*) FROM certs' 2>/dev/null)" \
		"wal=$(( $(stat -c %s data/ledger.db-wal 2>/dev/null || echo 0) >> 20 ))MiB" \
		"load=$(cut -d' ' -f1-3 /proc/loadavg)"
	sleep 30
done > tidy-progress.out ) &
est during-tidy
wait "$tp" || { cat tidy.out; fail "signetctl tidy"; }
echo "MEASURE: tidy: $(cat tidy.out) in $(cat tidy.ms) ms ($(( ROWS * 1000 / $(cat tidy.ms) )) rows/s)"
sed 's/^/MEASURE: progress: /' tidy-progress.out | awk 'NR % 4 == 1'
echo "MEASURE: signetctl retries: $(grep -c 'again in' tidy.out || true)"
curl -s --cacert data/ca/root.pem --cert data/operator/operator.pem --key data/operator/operator.key \
	"$B/metrics" | grep '^signet_ledger_commit_seconds' | sed 's/^/MEASURE: /' || true
tidy_after
appliance_stop || true

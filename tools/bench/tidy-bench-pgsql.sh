#!/usr/bin/env bash
# Issuance while tidy removes expired rows from a PostgreSQL ledger
# (issue 19), against baselines of the same run without tidy: the SQLite
# bench (tidy-bench.sh) with the dev-host appliance's ledger on a
# throwaway PostgreSQL server (tests/support/pgtest.sh: initdb defaults,
# fsync on, on this machine's disk).  ROWS expired certificates are
# written into `certs` behind the engine's back, as tidy-bench.sh does
# for SQLite: copies of one issued row (DER kept) under new serials, half
# of them revoked, in one INSERT ... SELECT per 100,000 rows, then
# VACUUM ANALYZE (what autovacuum would have done by the time a year of
# certificates expired) and CHECKPOINT (so the fill's writes are not
# flushed during the baseline).  Then
#   1. signet-bench-est (EST simpleenroll, 16 connections) for SECS: baseline
#   2. the same while `signetctl tidy` removes the ROWS rows
#      (tidy goes on after SECS until done; its duration is measured whole)
#   3. the same again after tidy: baseline
# Prints issuances/s and p99 of each, and tidy's rows/s and duration.
#
# usage: tools/bench/tidy-bench-pgsql.sh [BUILD_DIR] [ROWS] [SECS] [BATCH]
# (starts its own server through pgtest.sh unless SIGNET_PG_CONNINFO is set)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${SIGNET_PG_CONNINFO:-}" ]; then
	exec "$top/tests/support/pgtest.sh" run -- bash "$0" "$@"
fi
src=$top
build=$(cd "${1:-$top/build}" && pwd)
ROWS=${2:-1000000}
SECS=${3:-15}
BATCH=${4:-100}
# shellcheck source=../../tests/support/appliance.sh
. "$top/tests/support/appliance.sh"
# shellcheck source=lib.sh
. "$top/tools/bench/lib.sh"
test_begin tidybenchpg
test_cleanup() { appliance_stop >/dev/null 2>&1; }
app_conf_extra() {
	tidy_conf_sed 's/backend = "sqlite"/backend = "pgsql"/' \
		"s|path = \"data/ledger.db\"|path = \"$SIGNET_PG_CONNINFO node=bench\"|"
}
psql_q() { psql "$SIGNET_PG_CONNINFO" -Atqc "$1"; }
appliance_start "$src" "$build" "$work"
grep -q 'backend = "pgsql"' signetd.conf || fail "the ledger is not PostgreSQL"
tidy_ctl_conf

# One issued row to copy.
est warmup >/dev/null
[ "$(psql_q "SELECT count(*) FROM certs WHERE status = 1 AND der IS NOT NULL")" -gt 0 ] ||
	fail "no issued row with its DER to copy"
t0=$(date +%s)
past=$(( $(date +%s) - 2 * 86400 ))
for start in $(seq 1 100000 "$ROWS"); do
	end=$(( start + 99999 > ROWS ? ROWS : start + 99999 ))
	# Serials 0x5b + 15 bytes of the row number: unique, never random
	# (the engine's serials have their top byte from the RNG; 0x5b is
	# one of them, but a collision would fail loudly, not silently).
	psql_q "INSERT INTO certs(serial, tenant, issuer, profile, subject, sans,
		requester, not_before, not_after, created, tbs_hash, status,
		revoked_at, reason, der_stored, der, node, authorized_by)
		SELECT '\\x5b'::bytea || decode(lpad(to_hex(g), 30, '0'), 'hex'),
		tenant, issuer, profile, subject, sans, requester, not_before,
		$past, created, tbs_hash,
		CASE WHEN g % 2 = 1 THEN 2 ELSE 1 END,
		CASE WHEN g % 2 = 1 THEN $past - 3600 END,
		CASE WHEN g % 2 = 1 THEN 1 END, der_stored, der, node,
		authorized_by
		FROM (SELECT * FROM certs WHERE status = 1 AND der IS NOT NULL
		LIMIT 1) r, generate_series($start, $end) g" >/dev/null
done
psql_q "VACUUM ANALYZE certs" >/dev/null
# The fill's WAL is flushed now, not by a checkpoint during the baseline.
psql_q "CHECKPOINT" >/dev/null
total=$(psql_q "SELECT count(*) FROM certs")
size=$(psql_q "SELECT pg_total_relation_size('certs') / 1048576")
echo "MEASURE: $ROWS expired rows written in $(( $(date +%s) - t0 ))s; ledger holds $total certificates, certs $size MiB with indexes"

tidy_measure "$ROWS"
left=$(psql_q "SELECT count(*) FROM certs WHERE not_after = $past")
[ "$left" = 0 ] || fail "tidy left $left of the expired rows"
tidy_after
echo "MEASURE: certs after tidy: $(psql_q "SELECT pg_total_relation_size('certs') / 1048576") MiB with indexes (dead space reused, not returned)"
appliance_stop || true

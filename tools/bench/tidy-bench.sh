#!/usr/bin/env bash
# Issuance while tidy removes expired rows (issue 19), against baselines
# of the same run without tidy: the dev-host appliance from BUILD_DIR
# (a Release build), ROWS expired certificates written into its SQLite
# ledger (copies of one issued row under new serials, half of them
# revoked, DER kept: rows written behind the engine's back, without
# audit records, as bench_revoke_fill does), then
#   1. signet-bench-est (EST simpleenroll, 16 connections) for SECS: baseline
#   2. the same while `signetctl tidy` removes the ROWS rows
#   3. the same again after tidy: baseline
# Prints issuances/s and p99 of each, and tidy's rows/s and duration.
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
app_conf_extra() {
	sed -e 's/^\tretention = "30d"/\tretention = "1s"/' \
		-e 's/^\tinterval = "1h"/\tinterval = "0"/' \
		-e "s/^\tbatch = 100/\tbatch = $BATCH/" \
		-e 's/^\trate_identity = .*/\trate_identity = 100000/' \
		-e 's/^\tburst_identity = .*/\tburst_identity = 100000/' \
		-e 's/^\trate_tenant = .*/\trate_tenant = 100000/' \
		-e 's/^\tburst_tenant = .*/\tburst_tenant = 100000/' \
		-e '/coap = "127.0.0.1:/d'
}
appliance_start "$src" "$build" "$work"
B="https://127.0.0.1:$HTTPS"
cat > signetctl.conf <<EOF
server = $B
cacert = data/ca/root.pem
cert = data/operator/operator.pem
key = data/operator/operator.key
tenant = dev
EOF
export SIGNETCTL_CONFIG=$work/signetctl.conf
est() { # label
	"$build/tools/bench/signet-bench-est" -p "$HTTPS" -c data/ca/root.pem -C data/operator/operator.pem \
		-K data/operator/operator.key -d "$SECS" -n 16 > "est-$1.out"
	echo "MEASURE: $1: $(grep -v '^#' "est-$1.out" | tail -1)"
}

# One issued row to copy.
est warmup >/dev/null
t0=$(date +%s)
as_engine python3 - data/ledger.db "$ROWS" <<'PY'
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=60)
cols = [r[1] for r in db.execute("PRAGMA table_info(certs)") if r[1] != "id"]
row = db.execute("SELECT %s FROM certs WHERE status = 1 AND der IS NOT NULL LIMIT 1" % ",".join(cols)).fetchone()
si, ni, sti, ri, rsi = (cols.index(c) for c in ("serial", "not_after", "status", "revoked_at", "reason"))
past = int(time.time()) - 2 * 86400
n = int(sys.argv[2])
sql = "INSERT INTO certs(%s) VALUES(%s)" % (",".join(cols), ",".join("?" * len(cols)))
for start in range(0, n, 50000):
    rows = []
    for i in range(start, min(n, start + 50000)):
        r = list(row)
        r[si] = b"\x5b" + os.urandom(15)
        r[ni] = past
        if i % 2:
            r[sti], r[ri], r[rsi] = 2, past - 3600, 1
        rows.append(r)
    db.executemany(sql, rows)
    db.commit()
PY
total=$(as_engine python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM certs").fetchone()[0])' data/ledger.db)
echo "MEASURE: $ROWS expired rows written in $(( $(date +%s) - t0 ))s; ledger holds $total certificates, $(du -m data/ledger.db | cut -f1) MiB"

est baseline-before
( s=$(date +%s%N); "$build/tools/signetctl/signetctl" tidy > tidy.out 2>&1; echo $(( ($(date +%s%N) - s) / 1000000 )) > tidy.ms ) &
tp=$!
est during-tidy
wait "$tp" || { cat tidy.out; fail "signetctl tidy"; }
echo "MEASURE: tidy: $(cat tidy.out) in $(cat tidy.ms) ms ($(( ROWS * 1000 / $(cat tidy.ms) )) rows/s)"
est baseline-after
grep 'msg=tidied' signetd.log | tail -3 | sed 's/^/MEASURE: /'
appliance_stop || true

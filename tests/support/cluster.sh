# shellcheck shell=bash
# What the PostgreSQL cluster tests (tests/integration/cluster) each wrote
# out for themselves: fail (the last CLUSTER_TAIL lines, default 25, of
# every log in $work), pass, free_port (tests/support/ports.py: below the
# ephemeral range) and psql_q on $SIGNET_PG_CONNINFO.  Set src and work,
# then source it; each test keeps its own cleanup (what it started).
# $work names its shell, so a test killed at its timeout has it removed
# by the next test that starts (sweep.sh).

# shellcheck source=sweep.sh
. "$src/tests/support/sweep.sh"
sweep_own "$work"

npass=0
fail() {
	echo "FAIL: $*" >&2
	for f in "$work"/*.log; do
		echo "--- $f" >&2
		tail -"${CLUSTER_TAIL:-25}" "$f" >&2
	done
	exit 1
}
pass() { echo "ok - $*"; npass=$((npass + 1)); }
free_port() {
	python3 "$src/tests/support/ports.py" tcp
}
psql_q() {
	psql "${SIGNET_PG_CONNINFO}" -Atqc "$1"
}

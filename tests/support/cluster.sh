# shellcheck shell=bash
# What the PostgreSQL cluster tests (tests/integration/cluster) each wrote
# out for themselves: fail (the last CLUSTER_TAIL lines, default 25, of
# every log in $work), pass, free_port (tests/support/ports.py: below the
# ephemeral range), psql_q on $SIGNET_PG_CONNINFO, and
#   start_node N   signetd of $build in $work/N on its signetd.conf (the
#                  node's data/softhsm2.conf), log $work/N.log, pid in
#                  pid[N] (the script's `declare -A pid`)
#   wait_node N    until node N's engine answers on https port HTTPS[N]
#                  (cacerts needs the engine, /ca/*.der does not); 1 if
#                  not within 60 s
# Set src and work, then source it; each test keeps its own cleanup (what
# it started).
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

start_node() {
	( cd "$work/$1" && SOFTHSM2_CONF=$work/$1/data/softhsm2.conf exec \
		"$build/firmware/signetd/signetd" -f signetd.conf ) >>"$work/$1.log" 2>&1 &
	pid[$1]=$!
}

wait_node() {
	for _ in $(seq 1 300); do
		curl -sf -o /dev/null --cacert "$work/a1/data/ca/root.pem" \
			"https://127.0.0.1:${HTTPS[$1]}/.well-known/est/cacerts" && return 0
		sleep 0.2
	done
	return 1
}

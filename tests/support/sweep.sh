# shellcheck shell=bash
# Work directories that outlive their test.  ctest (3.25, Debian 12) ends a
# test at its TIMEOUT with SIGKILL (TIMEOUT_SIGNAL_NAME came in 3.27), so
# no EXIT trap runs and the test's directory, and a throwaway PostgreSQL
# server in it, stay behind.  (SIGTERM, SIGINT and SIGHUP do run bash's
# EXIT trap.)  So each directory names the shell that owns it, and the
# next test to start removes those in ${TMPDIR:-/tmp} whose owner is gone.
#
#   sweep_own DIR         DIR/.owner: this shell's pid
#   sweep_stale GLOB      remove each ${TMPDIR:-/tmp}/GLOB with a .owner of
#                         ours whose shell is gone and that is over an hour
#                         old (a pid from another pid namespace that shares
#                         /tmp looks gone); a PostgreSQL server in it is
#                         stopped first
#   sweep_dir DIR         that removal, without the checks (tools/test.sh)
#
# A directory kept with KEEP has no .owner, so it is never swept.

sweep_pgtest=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pgtest.sh

sweep_own() {
	echo "$$" >"$1/.owner"
}

sweep_dir() {
	local pid
	for pid in "$1"/data/postmaster.pid "$1"/*/data/postmaster.pid; do
		[ -f "$pid" ] || continue
		bash "$sweep_pgtest" clean "${pid%/data/postmaster.pid}" || true
	done
	rm -rf "$1"
}

sweep_stale() {
	local d owner
	for d in "${TMPDIR:-/tmp}"/$1; do
		[ -O "$d/.owner" ] || continue
		[ -n "$(find "$d/.owner" -mmin +60 2>/dev/null)" ] || continue
		owner=$(cat "$d/.owner" 2>/dev/null) || continue
		case $owner in '' | *[!0-9]*) continue ;; esac
		[ ! -d "/proc/$owner" ] || continue
		echo "sweep: removing $d (its test was killed)" >&2
		sweep_dir "$d"
	done
}

#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests: a fresh cluster in a temporary
# directory, listening on 127.0.0.1 and on a unix socket inside that
# directory, on a free port, with trust authentication for the superuser
# "signet".  PostgreSQL refuses to run as root, so under root the server
# runs as the unprivileged user signet-pgtest (created if missing).
#
#   pgtest.sh run -- CMD...   start, run CMD with SIGNET_PG_CONNINFO and
#                             SIGNET_PGTEST_DIR set, stop, clean; CMD's status
#   pgtest.sh start DIR       create and start a server in the empty DIR
#   pgtest.sh stop DIR        pg_ctl stop -m fast (data kept)
#   pgtest.sh up DIR          start the stopped server again, same port
#   pgtest.sh clean DIR       stop and remove DIR
#
# A missing server is a failure, never a skip: CI installs it with
# tools/install-deps.sh --cluster.
set -euo pipefail

PGUSER_OS=signet-pgtest

die() {
	echo "pgtest: $*" >&2
	exit 1
}

bindir() {
	local d
	if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; then
		echo "$PG_BINDIR"
		return
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return
		fi
	done
	die "PostgreSQL server not installed (no initdb under" \
	    "/usr/lib/postgresql/*/bin); run tools/install-deps.sh --cluster"
}

# Run a server program as the unprivileged owner of the cluster.
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$PGUSER_OS" -- "$@"
	else
		"$@"
	fi
}

# shellcheck source=users.sh
. "$(dirname "$0")/users.sh"
# shellcheck source=sweep.sh
. "$(dirname "$0")/sweep.sh"
ensure_user() {
	[ "$(id -u)" = 0 ] || return 0
	ensure_system_user "$PGUSER_OS" || die "cannot create user $PGUSER_OS"
}

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Start the cluster in $1 on port $2; 0 if it came up.
pg_start() {
	local dir=$1 port=$2 bin
	bin=$(bindir)
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
	    -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1" \
	    start >/dev/null
}

cmd_start() {
	local dir=$1 bin port tries=0
	bin=$(bindir)
	[ -d "$dir" ] || die "no directory $dir"
	ensure_user
	mkdir -p "$dir/sock"
	if [ "$(id -u)" = 0 ]; then
		chown "$PGUSER_OS" "$dir" "$dir/sock"
		chmod 0755 "$dir"
	fi
	as_owner "$bin/initdb" -D "$dir/data" -U signet -A trust -E UTF8 \
	    --no-locale --no-sync >"$dir/initdb.log" 2>&1 ||
	    die "initdb failed: $(tail -5 "$dir/initdb.log")"
	# Durability stays on (fsync, synchronous_commit): tests measure it.
	while :; do
		port=$((20000 + RANDOM % 40000))
		tries=$((tries + 1))
		if ! port_busy "$port" && pg_start "$dir" "$port"; then
			break
		fi
		[ "$tries" -lt 10 ] || die "server did not start:" \
		    "$(tail -5 "$dir/server.log" 2>/dev/null)"
	done
	echo "$port" >"$dir/port"
	echo "host=$dir/sock port=$port user=signet dbname=postgres" \
	    >"$dir/conninfo"
	cat "$dir/conninfo"
}

cmd_stop() {
	local dir=$1 bin
	bin=$(bindir)
	as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
}

cmd_up() {
	local dir=$1
	[ -f "$dir/port" ] || die "no server in $dir"
	pg_start "$dir" "$(cat "$dir/port")" ||
	    die "server did not start: $(tail -5 "$dir/server.log")"
}

cmd_clean() {
	local dir=$1 bin
	# Also runs from the EXIT trap: clean up whatever fails.
	set +e
	[ -d "$dir" ] || return 0
	bin=$(bindir)
	if [ -f "$dir/data/postmaster.pid" ]; then
		as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop \
		    >/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

# The trap runs after cmd_run returns, so the directory is a global.
RUN_DIR=

cmd_run() {
	local dir rc=0
	[ "${1:-}" = "--" ] && shift
	[ $# -gt 0 ] || die "run: no command"
	bindir >/dev/null
	# A server whose run was killed (ctest's timeout) is stopped here.
	sweep_stale 'signet-*'
	dir=$(mktemp -d "${TMPDIR:-/tmp}/signet-pg.XXXXXX")
	RUN_DIR=$dir
	sweep_own "$dir"
	trap 'cmd_clean "$RUN_DIR"' EXIT
	trap 'exit 143' INT TERM
	cmd_start "$dir" >/dev/null
	SIGNET_PG_CONNINFO=$(cat "$dir/conninfo") SIGNET_PGTEST_DIR=$dir \
	    SIGNET_PGTEST=$0 "$@" || rc=$?
	if [ "$rc" != 0 ] && [ -f "$dir/server.log" ]; then
		echo "pgtest: server log tail:" >&2
		tail -20 "$dir/server.log" >&2
	fi
	cmd_clean "$dir"
	trap - EXIT
	exit "$rc"
}

case "${1:-}" in
run) shift; cmd_run "$@" ;;
start) cmd_start "${2:?directory}" ;;
stop) cmd_stop "${2:?directory}" ;;
up) cmd_up "${2:?directory}" ;;
clean) cmd_clean "${2:?directory}" ;;
*) echo "usage: pgtest.sh run -- cmd... | start|stop|up|clean DIR" >&2
   exit 2 ;;
esac

# shellcheck shell=sh
# System users for tests, made as a package install (or the image) makes
# them: no home, no login shell.  POSIX sh, so sh and bash tests source it.

# ensure_system_user NAME: 0 once NAME exists.  Under ctest -j another
# test may be adding a user right now (the password file is locked), so
# it tries a few times.
ensure_system_user() {
	for _try in 1 2 3 4 5; do
		id -u "$1" >/dev/null 2>&1 && return 0
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin "$1" 2>/dev/null && return 0
		sleep 1
	done
	id -u "$1" >/dev/null 2>&1 || { echo "cannot create user $1" >&2; return 1; }
}

# The appliance's users: the engine's, the HTTPS front ends', the CoAP
# front end's.  Tests that run signetd with sandbox = true (as root).
ensure_signet_users() {
	for _u in signet signet-https signet-coap; do
		ensure_system_user "$_u" || return 1
	done
}

# sandbox_prepare WORK DIR...: as the appliance has it, the data
# directories belong to the engine's user and WORK/empty is the front
# ends' empty root; prints the sed expression that turns a dev-host
# configuration into a sandboxed one.
sandbox_prepare() {
	_work=$1
	shift
	ensure_signet_users || return 1
	chmod 755 "$_work"
	chown -R signet:signet "$@"
	mkdir -p -m 755 "$_work/empty"
	printf 's|^sandbox = false|sandbox = true\\nsandbox_dir = "%s/empty"|' "$_work"
}

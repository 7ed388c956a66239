# shellcheck shell=bash
# The appliance's system users, as a package install (or the image) makes
# them: the engine's, the HTTPS front ends', the CoAP front end's.  Tests
# that run signetd with sandbox = true source this (as root).
signet_users=(signet signet-https signet-coap)

# ctest -j: another test may be adding the same user right now.
ensure_signet_users() {
	local u i
	for u in "${signet_users[@]}"; do
		for i in 1 2 3 4 5; do
			id -u "$u" >/dev/null 2>&1 && break
			useradd --system --no-create-home --home-dir /nonexistent \
			    --shell /usr/sbin/nologin "$u" 2>/dev/null && break
			sleep 1
		done
		id -u "$u" >/dev/null 2>&1 || { echo "cannot create user $u" >&2; return 1; }
	done
}

# sandbox_prepare WORK DIR...: as the appliance has it, the data
# directories belong to the engine's user and WORK/empty is the front
# ends' empty root; prints the sed expression that turns a dev-host
# configuration into a sandboxed one.
sandbox_prepare() {
	local work=$1
	shift
	ensure_signet_users || return 1
	chmod 755 "$work"
	chown -R signet:signet "$@"
	mkdir -p -m 755 "$work/empty"
	printf 's|^sandbox = false|sandbox = true\\nsandbox_dir = "%s/empty"|' "$work"
}

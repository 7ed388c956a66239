# shellcheck shell=bash
# The preamble every integration script had written out for itself: a work
# directory removed on exit, fail/pass, free loopback ports, provisioning
# the dev-host board, and the dev-host signetd.conf on those ports.  Bash;
# `set -euo pipefail`, set src and build, source it, then:
#
#   test_begin NAME       work=${TMPDIR:-/tmp}/signet-NAME-XXXXXX; npass=0;
#                         on exit test_cleanup (if the script defines
#                         it), the daemon in $pid stopped, $work removed
#                         (kept when KEEP is set); first, the directories
#                         of tests that were killed are removed (sweep.sh)
#   fail MSG              "FAIL: MSG" and the last FAIL_TAIL (40) lines of
#                         $work/signetd.log on stderr; exit 1
#   pass MSG              "ok - MSG"; counts in npass
#   free_port, free_udp_port
#   test_ports [coap]     HTTPS HTTP (and COAP) from free_port
#   dev_provision         in $work: the dev-host board as README command
#                         one provisions it (token, keys, dev PKI); exports
#                         SOFTHSM2_CONF; as root, the sandbox users and the
#                         sed expression in sbx that turns the sandbox on;
#                         as_engine CMD runs CMD as the engine's user
#   dev_conf [SED...]     the dev-host signetd.conf on HTTPS HTTP (and COAP,
#                         or without the CoAP listener when COAP is empty),
#                         sandboxed as above, each SED applied after, on
#                         stdout
#   dev_start             signetd on ./signetd.conf (checked with -n
#                         first), pid in $pid, log in signetd.log; sets B
#                         and U (HTTPS and CoAPS base URLs), CA and OP
#                         (curl options: the dev root, the operator);
#                         waits, bounded, for /v1/health and, with a
#                         CoAP port, for signet-coap's "ready"
#   dev_token PROFILE NAME  a one-use enrollment token of tenant dev
#   dev_psk TOKEN         the token's DTLS PSK (README, decisions.md)
#   dev_csr NAME OUT      a P-256 key (OUT.key) and a DER CSR (OUT) for
#                         CN and DNS name NAME
#   daemon_stop           SIGTERM $pid, up to 10 s, then SIGKILL; pid=

npass=0
pid=
sbx='s/^$//'
FAIL_TAIL=${FAIL_TAIL:-40}

as_engine() { "$@"; }

fail() {
	echo "FAIL: $*" >&2
	if [ -n "${work:-}" ] && [ -f "$work/signetd.log" ]; then
		tail -n "$FAIL_TAIL" "$work/signetd.log" >&2
	fi
	exit 1
}

pass() { echo "ok - $*"; npass=$((npass + 1)); }

# Loopback ports below the ephemeral range, checked free (ports.py says
# why); test_ports picks all of its ports in one pass, so they are distinct.
testlib_ports=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/ports.py

free_port() {
	python3 "$testlib_ports" tcp
}

free_udp_port() {
	python3 "$testlib_ports" udp
}

test_ports() {
	read -r HTTPS HTTP COAP < <(python3 "$testlib_ports" tcp tcp udp)
	[ "${1:-}" = coap ] || COAP=
}

daemon_stop() {
	if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	pid=
}

test_exit() {
	local st=$?
	if declare -F test_cleanup >/dev/null; then test_cleanup || true; fi
	daemon_stop
	if [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
	return "$st"
}

# shellcheck source=sweep.sh
. "$(dirname "${BASH_SOURCE[0]}")/sweep.sh"

test_begin() {
	sweep_stale 'signet-*'
	work=$(mktemp -d "${TMPDIR:-/tmp}/signet-$1-XXXXXX")
	[ -n "${KEEP:-}" ] || sweep_own "$work"
	trap test_exit EXIT
}

dev_provision() {
	cd "$work" || fail "cd $work"
	DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$src/board/dev-host/run.sh" >provision.log 2>&1 ||
		{ cat provision.log; fail "provisioning"; }
	export SOFTHSM2_CONF=$work/data/softhsm2.conf
	# As root (CI) the run is sandboxed as the appliance is: the engine as
	# `signet`, front ends as their own users in an empty chroot, seccomp.
	if [ "$(id -u)" = 0 ]; then
		# shellcheck source=users.sh
		. "$src/tests/support/users.sh"
		sbx=$(sandbox_prepare "$work" data) || fail "sandbox users"
		as_engine() { runuser -u signet -- "$@"; }
	else
		echo "NOTE: not root, so sandbox = false here; CI runs this as root, sandboxed"
	fi
}

# Each address is matched up to the character after its port, so that a
# port substituted first (say 56840) can never be rewritten by a later
# expression; the plain-HTTP port is also in the AIA/CRL URLs.
dev_conf() {
	local coap="s/127.0.0.1:5684\"/127.0.0.1:$COAP\"/" e args=()
	[ -n "${COAP:-}" ] || coap='/coap = "127.0.0.1:5684"/d'
	for e in "$@"; do args+=(-e "$e"); done
	sed -e "s/127\.0\.0\.1:8443\([^0-9]\)/127.0.0.1:$HTTPS\1/" \
		-e "s/127\.0\.0\.1:8080\([^0-9]\)/127.0.0.1:$HTTP\1/g" \
		-e "$coap" -e "$sbx" "${args[@]}" "$src/board/dev-host/signetd.conf"
}

dev_start() {
	"$build/firmware/signetd/signetd" -n -f signetd.conf >/dev/null || fail "signetd -n"
	"$build/firmware/signetd/signetd" -f signetd.conf >signetd.log 2>&1 &
	pid=$!
	B="https://127.0.0.1:$HTTPS"
	U="coaps://127.0.0.1:$COAP"
	CA=(--cacert data/ca/root.pem)
	OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
	for _ in $(seq 1 300); do
		{ [ -z "${COAP:-}" ] ||
			grep -q 'signet-coap\[[0-9]*\] level=[a-z]* msg="ready"' signetd.log 2>/dev/null; } &&
			curl -sf -o /dev/null "${CA[@]}" "${OP[@]}" "$B/v1/health" && break
		sleep 0.2
	done
	curl -sf -o /dev/null "${CA[@]}" "${OP[@]}" "$B/v1/health" || fail "appliance did not come up"
}

dev_token() {
	curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"dev\",\"profile\":\"$1\",\"names\":[\"$2\"],\"ttl\":3600,\"uses\":1}" \
		"$B/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

dev_psk() {
	printf 'signet dtls psk' | openssl dgst -sha256 -mac HMAC \
		-macopt hexkey:"$(printf '%s' "$1" | openssl dgst -sha256 -hex | awk '{print $2}')" |
		awk '{print substr($2,1,32)}'
}

dev_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -outform DER -out "$2" 2>/dev/null
}

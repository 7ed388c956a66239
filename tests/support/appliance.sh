# shellcheck shell=bash
# A running appliance for integration tests, set up as e2e.sh sets it up:
# board/dev-host provisioning (SoftHSMv2 token, dev PKI, operator
# certificate) in WORK/data, the dev-host signetd.conf on free ports,
# sandboxed as the appliance is when run as root, signetd started and
# waited for.  Bash; source it, then:
#
#   appliance_start SRC BUILD WORK   sets HTTPS HTTP COAP (ports), APP_PID,
#                                    APP_LOG; cwd becomes WORK; a function
#                                    app_conf_extra, if defined, filters
#                                    signetd.conf (stdin to stdout)
#   appliance_stop                   SIGTERM, waits; 0 if it exited 0
#   as_engine CMD...                 runs CMD as the engine's user
#
# It sources testlib.sh (fail, pass, free_port, dev_provision, dev_conf).

# shellcheck source=testlib.sh
. "$(dirname "${BASH_SOURCE[0]}")/testlib.sh"

appliance_start() {
	local src=$1 build=$2 work=$3
	test_ports coap
	APP_LOG=$work/signetd.log
	dev_provision
	dev_conf | if declare -F app_conf_extra >/dev/null; then app_conf_extra; else cat; fi > signetd.conf
	chmod 644 signetd.conf
	"$build/firmware/signetd/signetd" -f signetd.conf >"$APP_LOG" 2>&1 &
	APP_PID=$!
	# Ready means the engine answers (cacerts needs it).
	local code=
	for _ in $(seq 1 300); do
		code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --cacert data/ca/root.pem \
			"https://127.0.0.1:$HTTPS/.well-known/est/cacerts" 2>&1) || true
		[ "$code" = 200 ] && return 0
		kill -0 "$APP_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -0 "$APP_PID" 2>/dev/null && code="$code, signetd running" || code="$code, signetd exited"
	fail "the appliance did not come up (cacerts answered ${code})"
}

appliance_stop() {
	local st=0
	[ -n "${APP_PID:-}" ] || return 0
	kill -TERM "$APP_PID" 2>/dev/null || true
	for _ in $(seq 1 150); do kill -0 "$APP_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$APP_PID" 2>/dev/null || true
	wait "$APP_PID" || st=$?
	APP_PID=
	return "$st"
}

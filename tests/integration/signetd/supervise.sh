#!/usr/bin/env bash
# Supervision as an operator sees it (issue 18): signetd's children die
# with it (kill -9 of signetd leaves no front end holding a port, and a
# new signetd binds the same ports at once); a front end failing at
# start-up is shown failed, with its error, in /v1/health and serves
# again after the fix and SIGHUP; a reload naming a user that does not
# exist is refused, the running configuration kept; a configured file the
# engine's user cannot read is reported naming the file, the user and
# the mode, and a child failing at start-up with the same error is no
# longer restarted until SIGHUP.  Sandboxed, so as root.
#
# usage: supervise.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root: signetd starts the engine as its own user" >&2; exit 1; }
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
FAIL_TAIL=30
test_begin sup
test_ports coap
[ -x "$build/api/coap/signet-coap" ] || fail "signet-coap missing: the CoAP front end must be supervised too"
dev_provision
dev_conf > signetd.conf
chmod 644 signetd.conf

start() { # log file
	"$build/firmware/signetd/signetd" -f signetd.conf >"$1" 2>&1 &
	pid=$!
}
up() { # seconds: 0 once the engine answers through the HTTPS front end
	local i
	for i in $(seq 1 $(($1 * 5))); do
		curl -sf -o /dev/null --max-time 2 --cacert data/ca/root.pem \
			"https://127.0.0.1:$HTTPS/.well-known/est/cacerts" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
# A process is gone when it no longer exists or is a zombie (a container's
# init may be slow to reap what it inherited).
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$st" != Z ]
}

start signetd.log
up 60 || fail "appliance did not come up"
kids=$(pgrep -P "$pid" | tr '\n' ' ')
names=$(for k in $kids; do cat "/proc/$k/comm"; done | sort | tr '\n' ' ')
# The dev-host board offers ACME, so signet-validator runs too (issue 20;
# /proc/PID/comm keeps 15 characters).
[ "$names" = "signet-coap signet-engine signet-https signet-validato " ] ||
	fail "children: $names"
kill -KILL "$pid"
t0=$(date +%s%N)
gone=0
for _ in $(seq 1 40); do
	left=0
	for k in $kids; do alive "$k" && left=$((left + 1)); done
	[ "$left" = 0 ] && { gone=1; break; }
	sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$gone" = 1 ] || fail "children still alive 2 s after kill -9 of signetd: $(for k in $kids; do alive "$k" && cat "/proc/$k/comm"; done | tr '\n' ' ')"
pass "kill -9 of signetd: engine, https, coap and validator gone after $ms ms"
start signetd2.log
up 30 || { cp signetd2.log signetd.log; fail "restarted signetd did not come up"; }
grep -q 'Address already in use\|cannot listen' signetd2.log && fail "restart: $(grep -m1 listen signetd2.log)"
pass "a new signetd binds the same HTTPS, HTTP and CoAP ports at once"

# A reload naming a coap_user that does not exist is refused before
# anything restarts (issue 18): the error names the user, signet-coap
# keeps running and serving.
B="https://127.0.0.1:$HTTPS"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
health() { curl -s --max-time 10 -w '%{http_code}\n' "${CA[@]}" "$@" "$B/v1/health"; }
coap_core() {
	timeout 30 coap-client-gnutls -B 10 -c data/operator/operator.pem -j data/operator/operator.key \
		"coaps://127.0.0.1:$COAP/.well-known/core" 2>&1 || true
}
readies() { grep -c 'signet-coap\[[0-9]*\] level=info msg="ready"' signetd2.log || true; }
out=$(health "${OP[@]}")
echo "$out" | grep -q '"failed"' && fail "failed children before any failure: $out"
cp signetd.conf signetd.conf.good
cpid=$(pgrep -P "$pid" -x signet-coap) || fail "no signet-coap running"
sed -i '/^coap_user/d' signetd.conf
echo 'coap_user = "signet-nosuch"' >> signetd.conf
kill -HUP "$pid"
for _ in $(seq 1 100); do
	grep -q 'reload refused' signetd2.log && break
	sleep 0.1
done
line=$(grep -m1 'reload refused' signetd2.log) || { cp signetd2.log signetd.log; fail "a reload naming a coap_user that does not exist was not refused"; }
echo "$line" | grep -q 'keeping the running configuration.*user signet-nosuch does not exist' ||
	fail "the refusal does not name the user: $line"
grep -q 'configuration reloaded' signetd2.log && fail "the refused configuration was taken: $(grep -m1 'configuration reloaded' signetd2.log)"
out=$(coap_core)
echo "$out" | grep -q '</est/crts>' || fail "signet-coap does not serve after a refused reload: $out"
[ "$(pgrep -P "$pid" -x signet-coap)" = "$cpid" ] || fail "signet-coap was restarted by a refused reload"
grep -q 'signet-coap\[[0-9]*\] level=fatal' signetd2.log && fail "signet-coap failed: $(grep -m1 'signet-coap\[[0-9]*\] level=fatal' signetd2.log)"
pass "reload with a coap_user that does not exist: refused ($line); signet-coap kept serving"

# signet-coap failing at start-up: its user (it existed at the reload
# that named it) removed under the running appliance, and the front end
# stopped.  Each restart fails; after 5 it is marked failed and
# /v1/health says so, with its error for a client with a certificate;
# fixed and SIGHUP'd, it serves again.
# shellcheck source=../../support/users.sh
. "$src/tests/support/users.sh"
tmpu=signet-sup-gone
test_cleanup() { userdel -f "$tmpu" 2>/dev/null || true; }
ensure_system_user "$tmpu" || fail "cannot create user $tmpu"
cp signetd.conf.good signetd.conf
sed -i '/^coap_user/d' signetd.conf
echo "coap_user = \"$tmpu\"" >> signetd.conf
kill -HUP "$pid"
for _ in $(seq 1 300); do
	grep -q "signet-coap\[[0-9]*\] level=info msg=\"sandboxed\" user=$tmpu" signetd2.log && break
	sleep 0.2
done
grep -q "signet-coap\[[0-9]*\] level=info msg=\"sandboxed\" user=$tmpu" signetd2.log ||
	{ cp signetd2.log signetd.log; fail "signet-coap did not restart as $tmpu after the reload"; }
for _ in 1 2 3 4 5; do
	userdel -f "$tmpu" 2>/dev/null && break
	sleep 1
done
id -u "$tmpu" >/dev/null 2>&1 && fail "cannot remove user $tmpu"
cpid=$(pgrep -P "$pid" -x signet-coap) || fail "no signet-coap running as $tmpu"
kill -TERM "$cpid"
# Each try reaches the engine first (its CA certificates): seconds under
# ASan on a loaded machine.
for _ in $(seq 1 750); do
	grep -q 'not restarting it until SIGHUP.*child=coap' signetd2.log && break
	sleep 0.2
done
line=$(grep -m1 'not restarting it until SIGHUP.*child=coap' signetd2.log) || { cp signetd2.log signetd.log; fail "signet-coap was not marked failed"; }
echo "$line" | grep -q "$tmpu" || fail "the log line lacks the child's error: $line"
n=$(grep -c 'signet-coap\[[0-9]*\] level=fatal' signetd2.log)
[ "$n" = 5 ] || fail "signet-coap started $n times, not 5"
out=$(health "${OP[@]}")
echo "  /v1/health (operator): $out"
echo "$out" | grep -qF '"failed":[{"child":"coap","error":"msg=\"sandbox refused\" error=\"user '"$tmpu"' does not exist' ||
	fail "/v1/health does not name the failed child and its error: $out"
echo "$out" | head -1 | grep -q '^{"status":"ready",' && [ "$(echo "$out" | tail -1)" = 200 ] ||
	fail "/v1/health status with a failed front end: $out"
anon=$(health)
echo "  /v1/health (anonymous): $anon"
echo "$anon" | grep -q '"failed":\[{"child":"coap"}\]' || fail "anonymous /v1/health: $anon"
echo "$anon" | grep -q "$tmpu" && fail "anonymous /v1/health shows the error: $anon"
pass "signet-coap failing at start-up: failed after 5 tries, /v1/health names it and its error"
sleep 3
[ "$(grep -c 'signet-coap\[[0-9]*\] level=fatal' signetd2.log)" = 5 ] || fail "a failed signet-coap was restarted without SIGHUP"
pass "no restart of a failed signet-coap in 3 s"
r0=$(readies)
cp signetd.conf.good signetd.conf
kill -HUP "$pid"
ok=0
for _ in $(seq 1 300); do
	out=$(health "${OP[@]}")
	if ! echo "$out" | grep -q '"failed"' && grep -q 'restarting a failed child after SIGHUP.*child=coap' signetd2.log &&
		[ "$(readies)" -gt "$r0" ]; then
		ok=1; break
	fi
	sleep 0.2
done
[ "$ok" = 1 ] || { cp signetd2.log signetd.log; fail "signet-coap not back after the fix and SIGHUP: $out"; }
out=$(timeout 30 coap-client-gnutls -B 10 -c data/operator/operator.pem -j data/operator/operator.key \
	"coaps://127.0.0.1:$COAP/.well-known/core" 2>&1 || true)
echo "$out" | grep -q '</est/crts>' || fail "signet-coap does not serve after SIGHUP: $out"
pass "fixed, SIGHUP: /v1/health lists no failed child and signet-coap serves"
kill -TERM "$pid"; wait "$pid" || true; pid=

# The seed operators.pem of the issue: mode 0600, root's; the engine runs
# as `signet` and cannot read it.
chown root:root data/ca/operators.pem
chmod 600 data/ca/operators.pem
start signetd.log
n=0
for _ in $(seq 1 100); do
	grep -q 'not restarting it until SIGHUP' signetd.log && break
	sleep 0.2
done
grep 'not restarting it until SIGHUP' signetd.log | grep -q 'child=engine' ||
	fail "the engine was not marked failed"
line=$(grep -m1 'child cannot start' signetd.log)
for w in 'permission denied' 'user signet' "$work/data/ca/operators.pem\|data/ca/operators.pem" 'mode 0600' 'owner uid 0'; do
	echo "$line" | grep -q -- "$w" || fail "error lacks \"$w\": $line"
done
n=$(grep -c 'child cannot start' signetd.log)
[ "$n" = 5 ] || fail "$n start attempts before giving up, not 5"
pass "unreadable operators.pem: reported ($line), engine failed after $n tries"
sleep 3
[ "$(grep -c 'child cannot start' signetd.log)" = 5 ] || fail "a failed engine was restarted without SIGHUP"
pgrep -P "$pid" >/dev/null && fail "children running while the engine is failed"
pass "no restart of a failed engine in 3 s"
# Nobody serves while the engine is failed: connections are refused at
# once, not left hanging in the listen backlog.
t0=$(date +%s%N)
rc=0; curl -s -o /dev/null --max-time 10 --cacert data/ca/root.pem \
	"https://127.0.0.1:$HTTPS/.well-known/est/cacerts" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 7 ] || fail "HTTPS while the engine is failed: curl exit $rc after $ms ms (want 7, refused)"
rc=0; curl -s -o /dev/null --max-time 10 "http://127.0.0.1:$HTTP/crl/intermediate.crl" || rc=$?
[ "$rc" = 7 ] || fail "HTTP while the engine is failed: curl exit $rc (want 7, refused)"
grep -q 'listeners closed' signetd.log || fail "no log line for the closed listeners"
pass "engine failed: HTTPS and HTTP refuse connections (${ms} ms), not hang"
chmod 644 data/ca/operators.pem
kill -HUP "$pid"
up 30 || fail "the engine did not come back after SIGHUP"
grep -q 'restarting a failed child after SIGHUP' signetd.log || fail "no log line for the retry"
grep -q 'listeners open again' signetd.log || fail "no log line for the reopened listeners"
pass "file fixed, SIGHUP: the appliance serves"
kill -TERM "$pid"; wait "$pid" || true; pid=

# SoftHSM's configuration ($SOFTHSM2_CONF) unreadable by the engine's
# user: named as such, not "module cannot be loaded or initialised".
chmod 600 "$SOFTHSM2_CONF"
chown root:root "$SOFTHSM2_CONF"
start signetd3.log
for _ in $(seq 1 100); do
	grep -q 'not restarting it until SIGHUP' signetd3.log && break
	sleep 0.2
done
line=$(grep -m1 'child cannot start' signetd3.log) || { cp signetd3.log signetd.log; fail "no 'child cannot start' for an unreadable softhsm2.conf"; }
for w in 'permission denied' 'user signet' "$SOFTHSM2_CONF" 'mode 0600'; do
	echo "$line" | grep -q -- "$w" || fail "error lacks \"$w\": $line"
done
pass "unreadable softhsm2.conf: reported ($line)"
chmod 644 "$SOFTHSM2_CONF"
kill -TERM "$pid"; wait "$pid" || true; pid=

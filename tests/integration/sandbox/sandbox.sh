#!/usr/bin/env bash
# The sandbox as a user of the appliance sees it: signetd (root) starts
# the engine as `signet`, each front end drops to its own user in an empty
# chroot, and each child runs under its own seccomp filter.  From outside,
# with /proc, ps-like reads and real clients (curl, coap-client-gnutls,
# openssl ocsp): who runs what, what each can reach, that a forbidden
# system call kills the process (a test build's SIGUSR2 hook calls
# execve) and that signetd restarts it and service resumes; and that
# signetd refuses a sandbox it cannot set up.
#
# usage: sandbox.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
[ "$(id -u)" = 0 ] || { echo "FAIL: needs root: signetd drops each child to its own user" >&2; exit 1; }
signetd=$build/firmware/signetd/signetd
"$signetd" -V | grep -q 'sandbox=seccomp test_hooks=yes' ||
	{ echo "FAIL: needs a build with the sandbox and -DSIGNET_TEST_HOOKS=ON ($("$signetd" -V))" >&2; exit 1; }
# shellcheck source=../../support/users.sh
. "$src/tests/support/users.sh"
ensure_signet_users

# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
FAIL_TAIL=30
test_begin sandbox
chmod 755 "$work"
test_ports coap
cd "$work"

DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$src/board/dev-host/run.sh" >provision.log 2>&1 ||
	{ cat provision.log; fail "provisioning"; }
export SOFTHSM2_CONF=$work/data/softhsm2.conf
# The data volume belongs to the engine's user, as on the appliance.
chown -R signet:signet data
mkdir -m 755 empty
sbx="s|^sandbox = false|sandbox = true\nsandbox_dir = \"$work/empty\"|"
# The token is reached through the fault-injecting PKCS#11 shim (in front
# of SoftHSMv2), so a token fault can be injected into the sandboxed engine.
shim=$build/tests/p11shim/libsignet_p11shim.so
[ -f "$shim" ] || fail "no PKCS#11 shim at $shim"
export SIGNET_SHIM_TARGET=/usr/lib/softhsm/libsofthsm2.so SIGNET_SHIM_CONTROL=$work/shim.ctl
: > shim.ctl
chmod 644 shim.ctl
dev_conf "s|module = \"/usr/lib/softhsm/libsofthsm2.so\"|module = \"$shim\"|" > signetd.conf
chmod 644 signetd.conf
grep -q "module = \"$shim\"" signetd.conf || fail "module line not replaced"
grep -q '^sandbox = true' signetd.conf || fail "config template changed"

# --- refusals: each a clear message, nothing started ---
refused() { # name config-file expected-message [runuser-user]
	local out
	if [ -n "${4:-}" ]; then
		out=$(runuser -u "$4" -- "$signetd" -f "$2" 2>&1) && fail "$1: signetd started"
	else
		out=$(timeout 20 "$signetd" -f "$2" 2>&1) && fail "$1: signetd started"
	fi
	grep -q "$3" <<<"$out" || fail "$1: expected '$3', got: $out"
	pass "refused: $1 ($(grep -o "$3[^\"]*" <<<"$out" | head -1))"
}
refused "not started as root" signetd.conf "start signetd as root" signet
dev_conf 's/^https_workers = 1/https_workers = 1\nhttps_user = "signet"/' > same.conf
refused "front end sharing the engine's user" same.conf "three different users"
dev_conf 's/^https_workers = 1/https_workers = 1\nuser = "no-such-user-xyz"/' > nouser.conf
refused "unknown user" nouser.conf "user no-such-user-xyz does not exist"
dev_conf 's/^https_workers = 1/https_workers = 1\nuser = "root"/' > root.conf
refused "root as the engine's user" root.conf "unprivileged user"
mkdir -m 755 full && touch full/x
sed "s|^sandbox_dir = .*|sandbox_dir = \"$work/full\"|" signetd.conf > full.conf
refused "a chroot that is not empty" full.conf "is not empty"
mkdir -m 777 open
sed "s|^sandbox_dir = .*|sandbox_dir = \"$work/open\"|" signetd.conf > open.conf
refused "a chroot others can write" open.conf "writable only by root"

# --- the running appliance ---
"$signetd" -f signetd.conf >signetd.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	curl -sf --max-time 5 -o /dev/null --cacert data/ca/root.pem \
		"https://127.0.0.1:$HTTPS/.well-known/est/cacerts" && break
	kill -0 "$pid" 2>/dev/null || fail "signetd exited"
	sleep 0.2
done
curl -sf --max-time 5 -o /dev/null --cacert data/ca/root.pem \
	"https://127.0.0.1:$HTTPS/.well-known/est/cacerts" || fail "not serving"
grep -q 'sandbox on' signetd.log || fail "no 'sandbox on' line"
child() { pgrep -P "$pid" -f "$1" | head -1; }
st() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status"; }
lim() { awk -v k="$2" 'index($0, k) == 1 { print $(NF-2); exit }' "/proc/$1/limits"; }
ep=$(child signet-engine); hp=$(child signet-https); cp=$(child signet-coap)
[ -n "$ep" ] && [ -n "$hp" ] && [ -n "$cp" ] || fail "children: engine=$ep https=$hp coap=$cp"
for r in "engine $ep signet /" "https $hp signet-https $work/empty" "coap $cp signet-coap $work/empty"; do
	set -- $r
	[ "$(st "$2" Uid | cut -f1)" = "$(id -u "$3")" ] || fail "$1 runs as uid $(st "$2" Uid), not $3"
	[ "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' /proc/$2/status)" = "$(id -u "$3")$(id -u "$3")$(id -u "$3")$(id -u "$3")" ] ||
		fail "$1: real/effective/saved uids differ"
	[ "$(st "$2" Gid)" = "$(id -g "$3")" ] || fail "$1 group"
	[ "$(st "$2" Groups)" = "$(id -g "$3")" ] || fail "$1 supplementary groups: $(st "$2" Groups)"
	[ "$(st "$2" NoNewPrivs)" = 1 ] || fail "$1 without no_new_privs"
	[ "$(st "$2" Seccomp)" = 2 ] || fail "$1 not under a seccomp filter"
	[ "$(st "$2" CapEff)" = 0000000000000000 ] && [ "$(st "$2" CapPrm)" = 0000000000000000 ] ||
		fail "$1 keeps capabilities $(st "$2" CapEff)"
	[ "$(readlink "/proc/$2/root")" = "$4" ] || fail "$1 root is $(readlink "/proc/$2/root"), not $4"
	[ "$(lim "$2" 'Max core file size')" = 0 ] || fail "$1 may write core files"
	# Not dumpable: its /proc files belong to root, not to its user.
	[ "$(stat -c %u "/proc/$2/mem")" = 0 ] || fail "$1 is dumpable"
	pass "$1 runs as $3 (no groups, no capabilities), no_new_privs, seccomp filter, root $4, no core, not dumpable"
done
for r in "https $hp" "coap $cp"; do
	set -- $r
	[ "$(lim "$2" 'Max processes')" = 0 ] || fail "$1 may fork"
	fds=$(ls -l "/proc/$2/fd" | grep -E 'tokens|ledger|\.pin|\.key' || true)
	[ -z "$fds" ] || fail "$1 holds files it must not: $fds"
	[ "$(st "$2" Threads)" = 1 ] || fail "$1 has $(st "$2" Threads) threads"
	pass "$1 front end: no fork, no token, ledger or key file open"
done
ls -l "/proc/$ep/fd" | grep -q 'ledger.db' || fail "the engine does not hold the ledger"
[ "$(st "$ep" Threads)" -gt 1 ] || fail "engine threads"
tthreads=0
for t in /proc/$ep/task/*; do
	[ "$(awk '$1 == "Seccomp:" { print $2 }' "$t/status")" = 2 ] || fail "engine thread ${t##*/} outside the filter"
	tthreads=$((tthreads + 1))
done
pass "the engine holds the ledger; all its $tthreads threads are under the filter"
pp=$(awk '$1 == "CapBnd:" { print $2 }' "/proc/$pid/status")
[ "$(st "$pid" NoNewPrivs)" = 1 ] && [ "$pp" != 000001ffffffffff ] && [ "$pp" != 000003ffffffffff ] ||
	fail "parent: no_new_privs $(st "$pid" NoNewPrivs), bounding set $pp"
pass "signetd itself: no_new_privs, capability bounding set reduced to $pp"

# --- service through the sandbox, with real clients ---
B="https://127.0.0.1:$HTTPS"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem
token() {
	curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' -d "$1" "$B/v1/tokens" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
est_enroll() { # name -> 0 when a verifying certificate came back
	local t
	t=$(token "{\"tenant\":\"dev\",\"profile\":\"service\",\"names\":[\"$1\"],\"ttl\":3600,\"uses\":1}")
	[ -n "$t" ] || return 1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -outform DER 2>/dev/null | base64 -w0 > "$1.csr"
	curl -sf "${CA[@]}" -H "Authorization: Bearer $t" -H 'Content-Type: application/pkcs10' \
		--data-binary @"$1.csr" "$B/.well-known/est/simpleenroll" | base64 -d |
		openssl pkcs7 -inform der -print_certs > "$1.pem" 2>/dev/null || return 1
	openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem "$1.pem" >/dev/null
}
coap_enroll() { # name -> 0 when a verifying certificate came back over DTLS-PSK
	local t psk
	t=$(token "{\"tenant\":\"dev\",\"profile\":\"device\",\"names\":[\"$1\"],\"ttl\":3600,\"uses\":1}")
	[ -n "$t" ] || return 1
	psk=$(printf 'signet dtls psk' | openssl dgst -sha256 -mac HMAC \
		-macopt hexkey:"$(printf '%s' "$t" | openssl dgst -sha256 -hex | awk '{print $2}')" | awk '{print substr($2,1,32)}')
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -outform DER -out "$1.csr" 2>/dev/null
	rm -f "$1.der"
	timeout 30 coap-client-gnutls -B 20 -m post -u "${t%%.*}" -k "$psk" -t 286 -A 287 -f "$1.csr" \
		-o "$1.der" "coaps://127.0.0.1:$COAP/est/dev-device/sen" >coap.out 2>&1 || return 1
	openssl x509 -inform der -in "$1.der" -out "$1.pem" 2>/dev/null &&
		openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem "$1.pem" >/dev/null
}
ocsp_good() {
	openssl ocsp -issuer data/ca/intermediate.pem -cert "$1.pem" -url "http://127.0.0.1:$HTTP/ocsp" \
		-CAfile chain.pem 2>&1 | grep -q "$1.pem: good"
}
est_enroll a.svc.dev.internal || fail "EST enrollment through the sandbox"
coap_enroll d1.dev.devices.internal || fail "EST-coaps enrollment through the sandbox: $(cat coap.out)"
ocsp_good a.svc.dev.internal || fail "OCSP through the sandbox"
pass "EST (curl), EST-coaps (coap-client-gnutls) and OCSP (openssl) all served under the sandbox"

# A token fault under the sandbox: the engine's recovery thread finalizes
# and re-initializes the module (SoftHSM re-reads its configuration and
# token directory) inside the filter, and recovers in place.
ep=$(child signet-engine)
echo token_absent > shim.ctl
t0=$(date +%s%N)
est_enroll down.svc.dev.internal && fail "enrolled while the token was absent"
[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 10000 ] || fail "refusal while the token is absent took too long"
sleep 1
: > shim.ctl
for _ in $(seq 1 50); do est_enroll up.svc.dev.internal && break; sleep 0.2; done
[ -s up.svc.dev.internal.pem ] || fail "no enrollment after the token came back"
[ "$(child signet-engine)" = "$ep" ] || fail "the engine was restarted instead of recovering in place"
pass "token unplugged and back under the sandbox: refused while down, the engine recovers in place (pid $ep)"
# SIGHUP: the engine re-reads the configuration inside its filter; the
# front ends restart (and sandbox themselves again) with it.
nlines=$(grep -c 'msg="sandboxed"' signetd.log)
kill -HUP "$pid"
for _ in $(seq 1 50); do
	[ "$(grep -c 'msg="sandboxed"' signetd.log)" -ge $((nlines + 2)) ] && break
	sleep 0.2
done
[ "$(grep -c 'msg="sandboxed"' signetd.log)" -ge $((nlines + 2)) ] || fail "front ends did not come back sandboxed after SIGHUP"
[ "$(child signet-engine)" = "$ep" ] || fail "the engine restarted on SIGHUP"
for _ in $(seq 1 50); do est_enroll hup.svc.dev.internal && break; sleep 0.2; done
[ -s hup.svc.dev.internal.pem ] || fail "no enrollment after SIGHUP"
pass "SIGHUP under the sandbox: engine reloads in place, front ends restart sandboxed, EST serves"
! grep -q 'child killed by the sandbox' signetd.log || fail "killed before the test: $(grep 'killed by' signetd.log)"

# --- a forbidden system call kills the process; signetd restarts it ---
ep=$(child signet-engine); hp=$(child signet-https); cp=$(child signet-coap)
killed() { # role old-pid -> waits for the log line and a new child
	local i np
	for i in $(seq 1 100); do
		grep -q "child killed by the sandbox.*child=$1 .*pid=$2 signal=31" signetd.log &&
			np=$(child "signet-$1") && [ -n "$np" ] && [ "$np" != "$2" ] && { echo "$np"; return 0; }
		sleep 0.1
	done
	return 1
}
kill -USR2 "$hp"
np=$(killed https "$hp") || fail "https worker $hp was not killed by SIGSYS and restarted"
for _ in $(seq 1 50); do est_enroll b.svc.dev.internal && break; sleep 0.2; done
ocsp_good b.svc.dev.internal || fail "service after the https front end was killed"
pass "https front end calling execve is killed by SIGSYS (pid $hp), restarted as $np, EST serves again"
kill -USR2 "$cp"
np=$(killed coap "$cp") || fail "coap front end $cp was not killed by SIGSYS and restarted"
for _ in $(seq 1 20); do coap_enroll d2.dev.devices.internal && break; sleep 0.3; done
[ -s d2.dev.devices.internal.pem ] || fail "CoAP after the coap front end was killed: $(cat coap.out)"
pass "coap front end calling execve is killed by SIGSYS (pid $cp), restarted as $np, EST-coaps serves again"
kill -USR2 "$ep"
np=$(killed engine "$ep") || fail "engine $ep was not killed by SIGSYS and restarted"
for _ in $(seq 1 100); do est_enroll c.svc.dev.internal && break; sleep 0.2; done
ocsp_good c.svc.dev.internal || fail "service after the engine was killed"
[ "$(st "$(child signet-engine)" Seccomp)" = 2 ] || fail "restarted engine not under the filter"
pass "engine calling execve is killed by SIGSYS (pid $ep), restarted as $np under the filter, issuing again"

kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
pid=
[ "$rc" = 0 ] || fail "signetd exited $rc on SIGTERM"
grep -q 'AddressSanitizer\|runtime error' signetd.log && fail "sanitizer report in the log"
pass "SIGTERM drains the sandboxed children and exits 0"
echo "$npass passed, 0 failed"

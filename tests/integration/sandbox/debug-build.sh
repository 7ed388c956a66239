#!/usr/bin/env bash
# A build without the sandbox (-DSIGNET_SANDBOX=OFF) is a debug build: it
# says so at configure time and in `signetd -V`, and signetd refuses to
# run as the appliance (sandbox = true, the default) with a message.
#
# usage: debug-build.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1
out=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$out"
cfg=$(cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Debug -DSIGNET_SANDBOX=OFF \
	-DSIGNET_TESTS=OFF -DSIGNET_SANITIZE=OFF 2>&1) || { echo "$cfg"; fail "configure"; }
grep -q 'SIGNET_SANDBOX=OFF: a debug build' <<<"$cfg" || fail "configure did not warn: $cfg"
echo "ok - configure warns: $(grep -o 'SIGNET_SANDBOX=OFF: a debug build[^;]*' <<<"$cfg")"
cmake --build "$out" -j"$(nproc)" --target signetd >"$out/build.log" 2>&1 ||
	{ tail -20 "$out/build.log"; fail "build"; }
v=$("$out/firmware/signetd/signetd" -V)
[ "$v" = "signetd sandbox=none test_hooks=no" ] || fail "signetd -V: $v"
echo "ok - signetd -V: $v"
sed 's/^sandbox = false/sandbox = true/' "$src/board/dev-host/signetd.conf" > "$out/s.conf"
cd "$out"
# Valid configuration...
"$out/firmware/signetd/signetd" -n -f "$out/s.conf" >/dev/null || fail "config refused by -n"
# ...but this build will not run it as the appliance.
rc=0
msg=$(timeout 20 "$out/firmware/signetd/signetd" -f "$out/s.conf" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "signetd started with sandbox = true in a build without the sandbox"
grep -q 'debug build without the sandbox.*cannot run as the appliance' <<<"$msg" || fail "message: $msg"
echo "ok - sandbox = true refused (exit $rc): $msg"
rm -rf "$out"

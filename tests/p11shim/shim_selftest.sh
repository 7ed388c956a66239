#!/bin/bash
# Self-test of the fault-injecting PKCS#11 shim: drives it with pkcs11-tool
# in front of a fresh SoftHSMv2 token and checks that each control-file
# directive changes exactly what it should.  It never skips: a missing tool
# is a failure, because CI must have SoftHSMv2 and OpenSC.
#
# usage: shim_selftest.sh path/to/libsignet_p11shim.so [path/to/shim_unit]
set -euo pipefail
ulimit -c 0	# step 9 makes the shim abort on purpose

shim=${1:?usage: shim_selftest.sh libsignet_p11shim.so [shim_unit]}
unit=${2:-}

fail() {
	echo "shim_selftest: FAIL: $*" >&2
	exit 1
}

for tool in softhsm2-util pkcs11-tool timeout; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done
[ -r "$shim" ] || fail "shim module $shim is missing"

work=$(mktemp -d "${TMPDIR:-/tmp}/p11shim-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir "$work/tokens"
cat >"$work/softhsm2.conf" <<EOF
directories.tokendir = $work/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF="$work/softhsm2.conf"
export SIGNET_SHIM_CONTROL="$work/control"
export SIGNET_SHIM_STATS="$work/stats"
unset SIGNET_SHIM_TARGET

timeout 30 softhsm2-util --init-token --free --label t --pin 1234 \
    --so-pin 12345678 >/dev/null || fail "softhsm2-util --init-token"

# p11 ARGS...: pkcs11-tool through the shim; output in $work/out.
p11() {
	timeout 30 pkcs11-tool --module "$shim" "$@" >"$work/out" 2>&1
}

# control TEXT: replaces the control file in one step (write, then rename),
# as tests should, so the shim never reads half a file.
control() {
	printf '%s\n' "$@" >"$work/control.new"
	mv "$work/control.new" "$work/control"
}

# stat_is KIND FUNC N: the statistics of the last run say KIND FUNC N.
stat_is() {
	local got
	got=$(awk -v k="$1" -v f="$2" '$1 == k && $2 == f { print $3 }' \
	    "$work/stats")
	[ "${got:-0}" = "$3" ] ||
	    fail "stats: expected '$1 $2 $3', got '${got:-0}'"
}

sign() {
	p11 --token-label t --login --pin 1234 --sign --id 01 -m ECDSA \
	    --input-file "$work/data" --output-file "$work/sig"
}

head -c 32 /dev/urandom >"$work/data"

echo "1. no control file: pass-through"
p11 -L || fail "listing slots without a control file"
grep -q 'token label *: t$' "$work/out" || fail "token t not listed"
p11 --token-label t --login --pin 1234 --keypairgen \
    --key-type EC:prime256v1 --id 01 --label k ||
    fail "EC key generation through the shim"
stat_is calls C_GenerateKeyPair 1
stat_is injected C_GenerateKeyPair 0

echo "2. empty control file: pass-through"
: >"$work/control"
sign || fail "signing with an empty control file"
[ -s "$work/sig" ] || fail "no signature written"
stat_is calls C_Sign 1

echo "3. token_absent"
control token_absent
p11 -L || fail "pkcs11-tool -L should still list the (empty) slots"
if grep -q 'token label' "$work/out"; then
	fail "token still listed while absent"
fi
if p11 -T; then
	fail "pkcs11-tool -T found a token while absent"
fi
if p11 --token-label t -O; then
	fail "objects listed while the token is absent"
fi
stat_is injected C_GetTokenInfo 2

echo "4. fail CKR_DEVICE_ERROR func C_Sign"
control "fail CKR_DEVICE_ERROR func C_Sign"
rm -f "$work/sig"
if sign; then
	fail "signing succeeded despite the injected CKR_DEVICE_ERROR"
fi
stat_is injected C_Sign 1
# pkcs11-tool retries a failed C_Sign as SignInit/SignUpdate/SignFinal,
# which raw ECDSA on SoftHSM refuses.  That second C_SignInit must not see
# CKR_OPERATION_ACTIVE: a failed C_Sign ends the operation, so the shim has
# to end the real module's operation as well.
stat_is calls C_SignInit 2
if grep -q 'CKR_OPERATION_ACTIVE' "$work/out"; then
	fail "the faked C_Sign failure left the real operation active"
fi
p11 --token-label t --login --pin 1234 --list-objects ||
    fail "listing objects must not be affected by a C_Sign fault"
grep -q 'label: *k' "$work/out" || fail "key k not listed"

echo "5. cleared control file: signing works again"
: >"$work/control"
sign || fail "signing after clearing the control file"
[ -s "$work/sig" ] || fail "no signature written"
stat_is injected C_Sign 0

echo "6. fail with count and hex code, missing file"
control "fail 0x32 count 1 func C_Sign"	# 0x32 is CKR_DEVICE_REMOVED
if sign; then
	fail "first signing should fail with count 1"
fi
stat_is injected C_Sign 1
# Counts live in each process that loads the shim: this run fails three
# mechanism queries, then passes the rest through.
control "fail CKR_GENERAL_ERROR count 3 after 2 func C_GetMechanismInfo"
p11 --token-label t -M || true
stat_is injected C_GetMechanismInfo 3
calls=$(awk '$1 == "calls" && $2 == "C_GetMechanismInfo" { print $3 }' \
    "$work/stats")
[ "${calls:-0}" -gt 5 ] ||
    fail "expected more than 5 C_GetMechanismInfo calls, saw ${calls:-0}"
rm -f "$work/control"
sign || fail "signing with the control file removed"

echo "7. fail without func spares C_Initialize"
control "fail CKR_DEVICE_ERROR"
if p11 -L; then
	fail "listing slots should fail"
fi
stat_is injected C_Initialize 0
stat_is injected C_GetSlotList 1
control "fail CKR_CRYPTOKI_NOT_INITIALIZED func C_Initialize"
if p11 -L; then
	fail "pkcs11-tool should fail when C_Initialize fails"
fi
stat_is injected C_Initialize 1

echo "8. delay_ms"
control "delay_ms 300 func C_GetInfo,C_GetSlotList"
start=$(date +%s%N)
p11 -L || fail "listing slots with a delay"
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -ge 300 ] || fail "delay_ms 300 took only ${elapsed} ms"

echo "9. a malformed control file is fatal and says why"
control "fail CKR_NO_SUCH_THING"
if p11 -L; then
	fail "a malformed control file was accepted"
fi
grep -q 'signet_p11shim: .*unknown CKR' "$work/out" ||
    fail "no diagnostic for a malformed control file"
rm -f "$work/control"

if [ -n "$unit" ]; then
	echo "10. threaded counting and invalidate_sessions (shim_unit)"
	rm -f "$work/stats"
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
	    timeout 120 "$unit" "$shim" "$work/control" ||
	    fail "shim_unit failed"
	# 1000 from "count 1000", one CKR_DEVICE_REMOVED under token_absent.
	stat_is injected C_GenerateRandom 1001
	stat_is injected C_Initialize 2
fi

echo "shim_selftest: all checks passed"

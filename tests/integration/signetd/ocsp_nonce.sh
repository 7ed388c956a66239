#!/usr/bin/env bash
# revocation.ignore_nonce (RFC 5019 deployments): with it set, an OCSP
# request carrying a nonce is answered from the pre-signed cache without
# echoing the nonce (no token signature per request); without it the nonce
# is echoed.  Driven by `openssl ocsp` against the real appliance.
#
# usage: ocsp_nonce.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d /tmp/signet-ocspnonce-XXXXXX)
chmod 755 "$work"	# the sandboxed engine reaches $work/a and $work/b
cleanup() {
	appliance_stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$work/signetd.log" ] && tail -30 "$work/signetd.log" >&2
	exit 1
}
pass() { echo "ok - $*"; npass=$((npass + 1)); }
npass=0
# shellcheck source=../../support/appliance.sh
. "$src/tests/support/appliance.sh"

ask() {	# $1: output file; an unknown serial is answered and signed too
	openssl ocsp -issuer data/ca/intermediate.pem -serial 0x0102030405 \
		-url "http://127.0.0.1:$HTTP/ocsp" -CAfile chain.pem > "$1" 2>&1 || true
	grep -q 'Response verify OK' "$1" || fail "ocsp answer not verified: $(cat "$1")"
}

# 1. Default: the nonce is echoed.
mkdir -p "$work/a" "$work/b"
appliance_start "$src" "$build" "$work/a"
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem
ask a.out
! grep -q 'WARNING: no nonce in response' a.out || fail "default config dropped the nonce: $(cat a.out)"
pass "default: the OCSP answer echoes the request's nonce"
appliance_stop || fail "signetd did not stop cleanly"

# 2. ignore_nonce = true: answered without it (from the cache).
app_conf_extra() { sed 's/^revocation {$/revocation {\n\tignore_nonce = true/'; }
appliance_start "$src" "$build" "$work/b"
grep -q 'ignore_nonce = true' signetd.conf || fail "the config filter did not apply"
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem
ask b1.out
ask b2.out
grep -q 'WARNING: no nonce in response' b1.out || fail "ignore_nonce: the nonce was echoed: $(cat b1.out)"
grep -q 'WARNING: no nonce in response' b2.out || fail "ignore_nonce: the nonce was echoed: $(cat b2.out)"
pass "revocation.ignore_nonce = true: answered without the nonce"
appliance_stop || fail "signetd did not stop cleanly"
echo "PASS ($npass checks)"

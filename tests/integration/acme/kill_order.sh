#!/usr/bin/env bash
# kill -9 of the engine in the middle of ACME orders (issue 20's Tests)
# against the running dev-host appliance, its SoftHSMv2 token behind the
# PKCS#11 fault shim (tests/p11shim), driven by acme_kill.py: killed
# after newOrder, after the challenge was accepted, while the token signs
# inside finalize (C_Sign held 3 s by the shim) and just after finalize.
# Each order is completed after signetd restarts the engine, or ends
# invalid (serverInternal) and a new order is completed; then
#   - every certificate the client received is an issued row of the
#     ledger (serials compared);
#   - every ACME order is valid or invalid, none left processing;
#   - no certificate row is left reserved;
#   - the audit chain verifies (signet-audit verify).
# Bounded: each wait in acme_kill.py 60 s, the script 900 s by ctest
# (about 6 minutes on a 2-core host under load 25, most of it the four
# engine restarts and the validator's 30 s retry).
#
# usage: kill_order.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

command -v pgrep >/dev/null || fail "pgrep missing (procps)"
test_begin acme-kill
test_ports
H01=$(free_port)
dev_provision
shim=$build/tests/p11shim/libsignet_p11shim.so
[ -f "$shim" ] || fail "no $shim"
ctl=$work/shim.ctl
echo "# pass-through" >"$ctl"
chmod 644 "$ctl"
export SIGNET_SHIM_TARGET=/usr/lib/softhsm/libsofthsm2.so SIGNET_SHIM_CONTROL=$ctl
dev_conf "s|module = \"/usr/lib/softhsm/libsofthsm2.so\"|module = \"$shim\"|" \
	"s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_validate_loopback = true\nacme_http01_address = \"127.0.0.1\"/" >signetd.conf
grep -q "module = \"$shim\"" signetd.conf || fail "the shim is not the token module"
dev_start
DIR="$B/acme/dev-acme/directory"
curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d '{"tenant":"dev","profile":"acme"}' "$B/v1/acme/eab" >eab.json
KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab.json)
HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab.json)
[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key: $(cat eab.json)"

/usr/bin/python3 "$src/tests/integration/acme/acme_kill.py" "$DIR" \
	"$work/data/ca/root.pem" "$H01" svc.dev.internal "$KID" "$HMAC" "$pid" \
	"$ctl" "$work/data/ledger.db" received >kill.out 2>&1 || { cat kill.out; fail "acme_kill.py"; }
cat kill.out
npass=$((npass + $(grep -c '^ok - ' kill.out)))
[ "$(grep -c . received)" = 4 ] || fail "the client received $(grep -c . received) certificates, want 4"

q() { as_engine sqlite3 data/ledger.db "$1"; }
# status 1: issued (ledger.h enum ledger_status: reserved 0, issued 1).
q "SELECT lower(hex(serial)) FROM certs WHERE status = 1" | sed 's/^0*//' | sort >issued
sed 's/^0*//' received | sort >got
missing=$(comm -23 got issued)
[ -z "$missing" ] || fail "certificates received but not issued rows of the ledger: $missing"
pass "each of the 4 certificates the client received is an issued row of the ledger"
left=$(q "SELECT count(*) FROM acme_orders WHERE status NOT IN ('valid', 'invalid', 'pending', 'ready')")
[ "$left" = 0 ] || fail "$left orders left $(q "SELECT group_concat(status) FROM acme_orders")"
reserved=$(q "SELECT count(*) FROM certs WHERE status = 0")
[ "$reserved" = 0 ] || fail "$reserved certificate rows left reserved"
pass "no order left processing, no certificate row left reserved"

as_engine "$build/provisioning/appliance/signet-provision" pubkey -m /usr/lib/softhsm/libsofthsm2.so \
	-t signet-dev -p data/user.pin -l signet-audit >audit.pub || fail "audit public key"
as_engine "$build/tools/signet-audit/signet-audit" verify --db data/ledger.db --pubkey audit.pub \
	>verify.out 2>&1 || fail "signet-audit verify: $(cat verify.out)"
pass "the audit chain verifies after four engine kills: $(tr '\n' ' ' <verify.out)"
echo "$npass passed"

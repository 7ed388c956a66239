#!/usr/bin/env bash
# The validator's validations side by side (issue 20), against the
# running dev-host appliance, driven by acme_inflight.py: an http-01
# target that hangs holds up its own order only; another order's
# challenge is validated meanwhile.  Fails on a validator that takes one
# validation at a time.
# Bounded: each wait in acme_inflight.py 60 s, the script 300 s by ctest.
#
# usage: inflight.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

test_begin acme-inflight
test_ports
H01=$(free_port)
dev_provision
dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_validate_loopback = true\nacme_http01_address = \"127.0.0.1\"/" >signetd.conf
dev_start
DIR="$B/acme/dev-acme/directory"
curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d '{"tenant":"dev","profile":"acme"}' "$B/v1/acme/eab" >eab.json
KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab.json)
HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab.json)
[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key: $(cat eab.json)"

/usr/bin/python3 "$src/tests/integration/acme/acme_inflight.py" "$DIR" \
	"$work/data/ca/root.pem" "$H01" svc.dev.internal "$KID" "$HMAC" \
	>inflight.out 2>&1 || { cat inflight.out; fail "acme_inflight.py"; }
cat inflight.out
npass=$((npass + $(grep -c '^ok - ' inflight.out)))
grep -q 'msg="ready".*inflight=8\|msg=ready.*inflight=8' signetd.log ||
	fail "the validator did not say how many validations it runs at once"
pass "the validator runs 8 validations at once"
echo "$npass passed"

#!/usr/bin/env bash
# ACME orders and revocation details (issue 20) against the running
# dev-host appliance, driven by acme_orders.py:
#   - `replaces` (RFC 9773 5): a certificate sharing no identifier with
#     the new order is malformed, one sharing a name is accepted;
#   - revokeCert: OCSP says revoked and /metrics counts it per tenant and
#     profile (signet_certificates_revoked_total{tenant,profile}) as /v1
#     revocations are;
#   - the orders list (RFC 8555 7.1.2.1) in pages of 100 with Link
#     rel="next"; the page is part of the signed URL.
# Bounded: the script 300 s by ctest.
#
# usage: orders.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

test_begin acme-orders
test_ports
H01=$(free_port)
dev_provision
dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_validate_loopback = true\nacme_http01_address = \"127.0.0.1\"/" >signetd.conf
dev_start
DIR="$B/acme/dev-acme/directory"
cat data/ca/intermediate.pem data/ca/root.pem >chain.pem

revoked() {
	curl -s "${CA[@]}" "${OP[@]}" "$B/metrics" |
		sed -n 's/^signet_certificates_revoked_total{tenant="dev",profile="acme"} //p'
}
r0=$(revoked)
r0=${r0:-0}
curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d '{"tenant":"dev","profile":"acme"}' "$B/v1/acme/eab" >eab.json
KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab.json)
HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab.json)
[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key: $(cat eab.json)"

/usr/bin/python3 "$src/tests/integration/acme/acme_orders.py" "$DIR" \
	"$work/data/ca/root.pem" "$H01" svc.dev.internal "$KID" "$HMAC" \
	revoked.pem >orders.out 2>&1 || { cat orders.out; fail "acme_orders.py"; }
cat orders.out
npass=$((npass + $(grep -c '^ok - ' orders.out)))

openssl ocsp -issuer data/ca/intermediate.pem -cert revoked.pem \
	-url "http://127.0.0.1:$HTTP/ocsp" -CAfile chain.pem >ocsp.out 2>&1
grep -q "revoked.pem: revoked" ocsp.out || fail "OCSP after revokeCert: $(cat ocsp.out)"
r1=$(revoked)
[ "${r1:-0}" = $((r0 + 1)) ] ||
	fail "signet_certificates_revoked_total{dev,acme}: $r0 -> ${r1:-none}, want +1"
pass "revokeCert: OCSP revoked; signet_certificates_revoked_total{tenant=dev,profile=acme} $r0 -> $r1"
echo "$npass passed"

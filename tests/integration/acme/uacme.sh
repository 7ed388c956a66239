#!/usr/bin/env bash
# uacme (Debian 12's uacme 1.7.4, libcurl with GnuTLS) against the running
# dev-host appliance (issue 20):
#   - `uacme new` without EAB stops at the directory's
#     externalAccountRequired;
#   - `uacme -e KID:KEY new` makes an account with an operator's EAB key;
#   - `uacme -h hook issue NAME` enrolls with http-01: the hook writes the
#     key authorization into a directory python3's http.server serves on
#     the test port; the certificate chains to the dev root and names NAME.
# uacme has no option for a CA file and libcurl reads none from the
# environment, so it runs in a private mount namespace where the system
# bundle is replaced by the dev root (the host's trust store is untouched).
#   - `uacme -t RSA issue NAME2`: uacme's RSA CSR asks for
#     keyEncipherment, which the dev acme profile allows for RSA keys
#     (key_usage = { digitalSignature, keyEncipherment }): the RSA
#     certificate has both bits, the EC one digitalSignature alone.
# Bounded: each uacme run 120 s, the script 300 s by ctest.
#
# usage: uacme.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

command -v uacme >/dev/null || fail "uacme is not installed (tools/install-deps.sh)"
test_begin acme-uacme
test_ports
H01=$(free_port)
dev_provision
dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_validate_loopback = true\nacme_http01_address = \"127.0.0.1\"/" >signetd.conf
dev_start
DIR="$B/acme/dev-acme/directory"
bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$bundle" ] || fail "no $bundle (ca-certificates)"
export WEBROOT=$work/www
mkdir -p "$WEBROOT"
python3 -m http.server --bind 127.0.0.1 --directory "$WEBROOT" "$H01" >www.log 2>&1 &
www=$!
test_cleanup() { kill "$www" 2>/dev/null || true; }

# uacme ARGS...: in a mount namespace trusting the dev root only.
ns=(unshare --mount)
[ "$(id -u)" = 0 ] || ns=(unshare --map-root-user --mount)
uac() {
	timeout 120 "${ns[@]}" sh -c 'mount --bind "$1" "$2" && shift 2 && exec uacme "$@"' \
		sh "$work/data/ca/root.pem" "$bundle" -v -t "${KT:-EC}" -a "$DIR" -c "$work/uacme" -y "$@"
}

if uac new >new0.out 2>&1; then
	fail "uacme made an account without EAB"
fi
# uacme reads meta.externalAccountRequired and refuses to ask without one
# (the server's own refusal is in certbot.sh, with python3-acme).
grep -q "requires external credentials" new0.out ||
	{ cat new0.out; fail "no-EAB: uacme did not see externalAccountRequired"; }
pass "uacme new without EAB stops: the directory says externalAccountRequired"

curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d '{"tenant":"dev","profile":"acme"}' "$B/v1/acme/eab" >eab.json
KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab.json)
HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab.json)
[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key: $(cat eab.json)"
uac -e "$KID:$HMAC" new ops@svc.dev.internal >new.out 2>&1 || { cat new.out; fail "uacme new with EAB"; }
pass "uacme new with EAB made an account"

NAME=uacme.svc.dev.internal
uac -h "$src/tests/integration/acme/uacme-hook.sh" issue "$NAME" >issue.out 2>&1 ||
	{ cat issue.out; fail "uacme issue"; }
crt=$work/uacme/$NAME/cert.pem
[ -f "$crt" ] || { cat issue.out; fail "uacme wrote no certificate"; }
openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem "$crt" >/dev/null ||
	fail "uacme's certificate does not chain to the dev root"
openssl x509 -in "$crt" -noout -ext subjectAltName | grep -q "DNS:$NAME" ||
	fail "uacme's certificate lacks $NAME"
st=$(sqlite3 data/ledger.db "SELECT chall_type || '/' || status FROM acme_authz WHERE value = '$NAME'")
[ "$st" = http-01/valid ] || fail "authorization of $NAME: $st"
pass "uacme issue with http-01 (hook + python3 http.server) enrolled $NAME"
ku=$(openssl x509 -in "$crt" -noout -ext keyUsage | tail -n +2 | tr -d ' ')
[ "$ku" = "DigitalSignature" ] || fail "keyUsage of the EC certificate: '$ku'"

# RSA: uacme's CSR asks for keyEncipherment (badCSR before the dev acme
# profile allowed it for RSA keys).
NAME2=uacme-rsa.svc.dev.internal
KT=RSA uac -h "$src/tests/integration/acme/uacme-hook.sh" issue "$NAME2" >issue2.out 2>&1 ||
	{ cat issue2.out; fail "uacme -t RSA issue"; }
crt2=$work/uacme/$NAME2/cert.pem
openssl x509 -in "$crt2" -noout -text | grep -q 'Public Key Algorithm: rsaEncryption' ||
	fail "uacme's second certificate is not RSA"
ku=$(openssl x509 -in "$crt2" -noout -ext keyUsage | tail -n +2 | tr -d ' ')
[ "$ku" = "DigitalSignature,KeyEncipherment" ] || fail "keyUsage of the RSA certificate: '$ku'"
pass "uacme -t RSA issue: the RSA CSR with keyEncipherment is served; RSA certificate DigitalSignature+KeyEncipherment, EC one DigitalSignature"
echo "$npass passed"

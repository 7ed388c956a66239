#!/usr/bin/env bash
# ACME (issue 20) against the running dev-host appliance (signetd, engine,
# HTTPS front end, signet-validator; SoftHSMv2 token, SQLite ledger) with
# clients nobody here wrote: certbot, lego and python3-acme from Debian 12.
#   - an operator makes an EAB key (POST /v1/acme/eab);
#   - `certbot certonly --standalone` with that EAB key and http-01 on a
#     loopback test port enrolls: the certificate chains to the dev root,
#     names the requested name, and its ledger row says
#     authorized_by=acme:dev-acme:<account>;
#   - `lego run` with its own EAB key and http-01 enrolls as well;
#   - the EAB key is one account's: a second account with it is refused;
#   - an account without EAB is refused (externalAccountRequired), with
#     python3-acme, since certbot itself refuses to ask without one;
#   - a challenge nobody answers (certbot's standalone server on another
#     port than the one validated) makes the authorization and the order
#     invalid, and nothing is issued for that name.
# Bounded: certbot is given 120 s per run, the script 300 s by ctest.
#
# usage: certbot.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

command -v certbot >/dev/null || fail "certbot is not installed (tools/install-deps.sh)"
command -v lego >/dev/null || fail "lego is not installed (tools/install-deps.sh)"
test_begin acme
# All in one pass, so OTHER cannot be signetd's HTTP port.
read -r HTTPS HTTP H01 OTHER < <(python3 "$testlib_ports" tcp tcp tcp tcp)
COAP=
dev_provision
dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_validate_loopback = true\nacme_http01_address = \"127.0.0.1\"/" >signetd.conf
dev_start
DIR="$B/acme/dev-acme/directory"
export REQUESTS_CA_BUNDLE=$work/data/ca/root.pem

# The directory says EAB is required.
curl -sf "${CA[@]}" "$DIR" >dir.json || fail "GET directory"
grep -q '"externalAccountRequired":true' dir.json || fail "directory: $(cat dir.json)"
pass "directory requires external account binding"

eab() {
	curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		-d '{"tenant":"dev","profile":"acme"}' "$B/v1/acme/eab"
}
eab >eab.json
KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab.json)
HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab.json)
[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key: $(cat eab.json)"
pass "operator made EAB key $KID"

cb() {
	local dir=$1
	shift
	timeout 120 certbot "$@" --non-interactive --agree-tos \
		--register-unsafely-without-email --server "$DIR" \
		--config-dir "$work/$dir/etc" --work-dir "$work/$dir/work" \
		--logs-dir "$work/$dir/logs" --no-random-sleep-on-renew
}

# issued_total{dev,acme} in /metrics (issue 19: ACME finalize counts).
ACME_ISS='signet_certificates_issued_total{tenant="dev",profile="acme"}'
acme_issued() {
	curl -sf -m 10 "${CA[@]}" "${OP[@]}" "$B/metrics" |
		awk -v k="$ACME_ISS" '$1 == k { v = $2 } END { print v + 0 }'
}
iss0=$(acme_issued)

NAME=www.svc.dev.internal
cb cb1 certonly --standalone --preferred-challenges http \
	--http-01-address 127.0.0.1 --http-01-port "$H01" \
	--eab-kid="$KID" --eab-hmac-key="$HMAC" -d "$NAME" >cb1.out 2>&1 ||
	{ cat cb1.out; tail -n 60 cb1/logs/letsencrypt.log; fail "certbot certonly"; }
LIVE=$work/cb1/etc/live/$NAME
[ -f "$LIVE/cert.pem" ] || fail "certbot wrote no certificate"
openssl verify -CAfile data/ca/root.pem -untrusted "$LIVE/chain.pem" \
	"$LIVE/cert.pem" >/dev/null || fail "certificate does not chain to the dev root"
openssl x509 -in "$LIVE/cert.pem" -noout -ext subjectAltName | grep -q "DNS:$NAME" ||
	fail "certificate lacks $NAME"
pass "certbot certonly --standalone with EAB and http-01 enrolled $NAME"

SERIAL=$(openssl x509 -in "$LIVE/cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
curl -sf "${CA[@]}" "${OP[@]}" "$B/v1/certs/$SERIAL?tenant=dev" >row.json ||
	fail "ledger row of $SERIAL"
grep -q '"authorized_by":"acme:dev-acme:' row.json || fail "ledger row: $(cat row.json)"
pass "the ledger records the ACME account that authorised $SERIAL"
[ "$(acme_issued)" = $((iss0 + 1)) ] || fail "$ACME_ISS is $(acme_issued) after one ACME issuance, not $((iss0 + 1))"
pass "the ACME issuance moves $ACME_ISS"

# lego (Debian 12) enrolls too, with its own EAB key and http-01.
{
	eab >eabl.json
	KIDL=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eabl.json)
	HMACL=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eabl.json)
	LNAME=lego.svc.dev.internal
	LEGO_CA_CERTIFICATES=$work/data/ca/root.pem timeout 120 lego \
		--server "$DIR" --email ops@svc.dev.internal --accept-tos \
		--eab --kid="$KIDL" --hmac="$HMACL" --domains "$LNAME" \
		--http --http.port "127.0.0.1:$H01" --path "$work/lego" \
		run >lego.out 2>&1 || { cat lego.out; fail "lego run"; }
	openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem \
		"$work/lego/certificates/$LNAME.crt" >/dev/null ||
		fail "lego's certificate does not chain to the dev root"
	openssl x509 -in "$work/lego/certificates/$LNAME.crt" -noout \
		-ext subjectAltName | grep -q "DNS:$LNAME" || fail "lego's certificate lacks $LNAME"
	pass "lego run with EAB and http-01 enrolled $LNAME"
}

# The EAB key bound one account; another account key with it is refused.
if cb cb2 register --eab-kid="$KID" --eab-hmac-key="$HMAC" >cb2.out 2>&1; then
	fail "a used EAB key bound a second account"
fi
grep -q "already bound an account" cb2.out cb2/logs/letsencrypt.log ||
	{ cat cb2.out; fail "second account: no 'already bound' refusal"; }
pass "an EAB key binds one account only"

# Without EAB: refused by the server (certbot refuses to ask, so python3-acme).
/usr/bin/python3 - "$DIR" >noeab.out 2>&1 <<'PY' || { cat noeab.out; fail "no-EAB client"; }
import sys
import josepy as jose
from cryptography.hazmat.primitives.asymmetric import ec
from acme import client, errors, messages
key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
net = client.ClientNetwork(key, alg=jose.ES256, user_agent="signet-test")
directory = client.ClientV2.get_directory(sys.argv[1], net)
acme = client.ClientV2(directory, net=net)
try:
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
except errors.Error as e:
    print("refused:", e)
    sys.exit(0 if "externalAccountRequired" in str(getattr(e, "typ", "")) else 1)
print("account created without EAB")
sys.exit(1)
PY
grep -q "refused:" noeab.out || fail "no-EAB: $(cat noeab.out)"
pass "an account without EAB is refused (externalAccountRequired)"

# A challenge nobody answers: certbot serves on another port than the one
# validated; the order goes invalid and nothing is issued.
eab >eab2.json
KID2=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab2.json)
HMAC2=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab2.json)
BAD=nobody.svc.dev.internal
if cb cb3 certonly --standalone --preferred-challenges http \
	--http-01-address 127.0.0.1 --http-01-port "$OTHER" \
	--eab-kid="$KID2" --eab-hmac-key="$HMAC2" -d "$BAD" >cb3.out 2>&1; then
	fail "a challenge nobody answered was accepted"
fi
grep -qi "connection" cb3.out || { cat cb3.out; fail "unanswered challenge: no connection error"; }
curl -sf "${CA[@]}" "${OP[@]}" "$B/v1/certs?tenant=dev&q=$BAD" >list.json || fail "list"
grep -q '"total":0' list.json || fail "something was issued for $BAD: $(cat list.json)"
st=$(sqlite3 data/ledger.db "SELECT o.status || '/' || z.status FROM acme_orders o
	JOIN acme_authz z ON z.order_id = o.id WHERE z.value = '$BAD'")
[ "$st" = invalid/invalid ] || fail "order/authorization of $BAD: $st, not invalid/invalid"
pass "an unanswered challenge fails the order and issues nothing"

grep -q 'signet-validator\[[0-9]*\].*msg=ready' signetd.log || fail "no validator"
# As root (CI) the validator runs sandboxed: seccomp filter, not root.
if [ "$(id -u)" = 0 ]; then
	vp=$(pgrep -P "$pid" -f signet-validator | head -1)
	[ -n "$vp" ] || fail "signet-validator is not running"
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$vp/status" || fail "validator without seccomp"
	awk '/^Uid:/ { exit ($2 == 0) }' "/proc/$vp/status" || fail "validator runs as root"
	pass "signet-validator runs under its seccomp filter, not as root"
fi
echo "$npass passed"

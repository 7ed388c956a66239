#!/usr/bin/env bash
# ACME after enrollment (issue 20) against the running dev-host appliance
# (signetd, engine, HTTPS front end, signet-validator; SoftHSMv2, SQLite):
#   - certbot update_account changes the account's contact;
#   - certbot revoke by the ordering account, with a reason: openssl ocsp
#     then says revoked (keyCompromise), the ledger row is revoked; a
#     second revoke is alreadyRevoked;
#   - another account may not revoke it (unauthorized, OCSP still good);
#   - certbot revoke with the certificate's own key (jwk, no account);
#   - lego revoke of lego's certificate;
#   - acme_raw.py (RFC 8555 by hand, python3-cryptography): Link
#     rel="index", onlyReturnExisting, the account's orders list,
#     revokeCert by an account holding authorizations for every name of a
#     certificate certbot's account ordered (refused before it holds them),
#     renewalInfo (RFC 9773) with its window inside the validity and a
#     Retry-After, `replaces` (another account's certificate refused,
#     alreadyReplaced the second time), badRevocationReason, key rollover
#     (the old key refused after; to the current key malformed; to another
#     account's key 409 with its Location), contact update, deactivation;
#   - certbot unregister deactivates the account in the ledger;
#   - signetctl eab create (JSON and table, refused for a profile without
#     ACME) and eab list --db.
# Bounded: each certbot/lego run 120 s, the script 900 s by ctest (it
# takes about 5 minutes on a 2-core host under load 30, most of it
# certbot's start-up).
#
# usage: lifecycle.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

command -v certbot >/dev/null || fail "certbot is not installed (tools/install-deps.sh)"
command -v lego >/dev/null || fail "lego is not installed (tools/install-deps.sh)"
test_begin acme-life
test_ports
H01=$(free_port)
dev_provision
dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_validate_loopback = true\nacme_http01_address = \"127.0.0.1\"/" >signetd.conf
dev_start
DIR="$B/acme/dev-acme/directory"
export REQUESTS_CA_BUNDLE=$work/data/ca/root.pem
cat data/ca/intermediate.pem data/ca/root.pem >chain.pem

# EAB keys by signetctl eab create (over POST /v1/acme/eab).
ctl() {
	"$build/tools/signetctl/signetctl" -s "$B" --cacert data/ca/root.pem \
		--cert data/operator/operator.pem --key data/operator/operator.key -T dev "$@"
}
new_eab() {
	ctl eab create -P acme --json >eab.json || fail "signetctl eab create: $(cat eab.json)"
	KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab.json)
	HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab.json)
	[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key: $(cat eab.json)"
}

cb() {
	local dir=$1
	shift
	timeout 120 certbot "$@" --non-interactive --agree-tos \
		--server "$DIR" --config-dir "$work/$dir/etc" \
		--work-dir "$work/$dir/work" --logs-dir "$work/$dir/logs"
}

enroll() {
	cb "$1" certonly --standalone --preferred-challenges http \
		--http-01-address 127.0.0.1 --http-01-port "$H01" "${@:3}" \
		-d "$2" >"$2.out" 2>&1 ||
		{ cat "$2.out"; tail -n 40 "$1/logs/letsencrypt.log"; fail "certbot certonly $2"; }
}

ocsp() {
	openssl ocsp -issuer data/ca/intermediate.pem -cert "$1" \
		-url "http://127.0.0.1:$HTTP/ocsp" -CAfile chain.pem 2>&1
}

serial_of() {
	openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'
}

# Account A (certbot) enrolls two names.
new_eab
A1=a1.svc.dev.internal
A2=a2.svc.dev.internal
enroll cb1 "$A1" --email ops@svc.dev.internal --eab-kid="$KID" --eab-hmac-key="$HMAC"
enroll cb1 "$A2"
FIRST_KID=$KID
ctl eab list --db data/ledger.db >eabs.out || fail "signetctl eab list"
grep -q "^$FIRST_KID .*used" eabs.out || fail "eab list: $(cat eabs.out)"
ctl eab create -P acme >eabt.out && grep -q '^hmac_key: ' eabt.out || fail "eab create table: $(cat eabt.out)"
if ctl eab create -P service >eabx.out 2>&1; then fail "an EAB key for a profile without ACME"; fi
pass "signetctl eab create/list: keys made, the first one used by certbot's account"
C1=$work/cb1/etc/live/$A1/cert.pem
C2=$work/cb1/etc/live/$A2/cert.pem
ocsp "$C1" | grep -q "cert.pem: good" || fail "OCSP of $A1 before revocation: $(ocsp "$C1")"
pass "certbot enrolled $A1 and $A2 with one account; OCSP says good"

# update_account: the contact in the ledger changes.
cb cb1 update_account --email sec@svc.dev.internal >upd.out 2>&1 ||
	{ cat upd.out; fail "certbot update_account"; }
ct=$(sqlite3 data/ledger.db "SELECT contact FROM acme_accounts WHERE contact LIKE '%sec@svc%'")
[ "$ct" = '["mailto:sec@svc.dev.internal"]' ] || fail "contact after update_account: '$ct'"
pass "certbot update_account: the account's contact is now sec@svc.dev.internal"

# Revocation by the account that ordered it, with a reason.
cb cb1 revoke --cert-name "$A1" --reason keycompromise --no-delete-after-revoke \
	>rev1.out 2>&1 || { cat rev1.out; tail -n 40 cb1/logs/letsencrypt.log; fail "certbot revoke"; }
ocsp "$C1" >ocsp1.out
grep -q "cert.pem: revoked" ocsp1.out || fail "OCSP after revoke: $(cat ocsp1.out)"
grep -q "Reason: keyCompromise" ocsp1.out || fail "OCSP reason: $(cat ocsp1.out)"
curl -sf "${CA[@]}" "${OP[@]}" "$B/v1/certs/$(serial_of "$C1")?tenant=dev" >row1.json ||
	fail "ledger row of $A1"
grep -q '"status":"revoked"' row1.json || fail "ledger row after revoke: $(cat row1.json)"
pass "certbot revoke (account, keyCompromise): OCSP revoked with the reason, ledger row revoked"

if cb cb1 revoke --cert-path "$C1" --no-delete-after-revoke >rev2.out 2>&1; then
	fail "a second revocation succeeded"
fi
grep -q "alreadyRevoked" rev2.out cb1/logs/letsencrypt.log ||
	{ cat rev2.out; fail "second revoke: not alreadyRevoked"; }
pass "revoking again: alreadyRevoked"

# Another account may not revoke account A's certificate.
new_eab
cb cb2 register --register-unsafely-without-email --eab-kid="$KID" \
	--eab-hmac-key="$HMAC" >reg2.out 2>&1 || { cat reg2.out; fail "certbot register (B)"; }
if cb cb2 revoke --cert-path "$C2" --no-delete-after-revoke >rev3.out 2>&1; then
	fail "account B revoked account A's certificate"
fi
grep -q "unauthorized" rev3.out cb2/logs/letsencrypt.log ||
	{ cat rev3.out; fail "B's revoke: not unauthorized"; }
ocsp "$C2" | grep -q "cert.pem: good" || fail "OCSP of $A2 after B's attempt: $(ocsp "$C2")"
pass "another account's revokeCert: unauthorized, the certificate stays good"

# Revocation signed with the certificate's own key (jwk), no account.
cb cbk revoke --cert-path "$C2" --key-path "$work/cb1/etc/live/$A2/privkey.pem" \
	--reason superseded --no-delete-after-revoke >rev4.out 2>&1 ||
	{ cat rev4.out; tail -n 40 cbk/logs/letsencrypt.log; fail "certbot revoke --key-path"; }
ocsp "$C2" >ocsp2.out
grep -q "cert.pem: revoked" ocsp2.out && grep -q "Reason: superseded" ocsp2.out ||
	fail "OCSP after revoke by the certificate key: $(cat ocsp2.out)"
pass "certbot revoke --key-path (the certificate's key): OCSP revoked, superseded"

# lego: run, then revoke.
new_eab
LNAME=lego.svc.dev.internal
lego_() {
	LEGO_CA_CERTIFICATES=$work/data/ca/root.pem timeout 120 lego \
		--server "$DIR" --email ops@svc.dev.internal --accept-tos \
		--eab --kid="$KID" --hmac="$HMAC" --domains "$LNAME" \
		--http --http.port "127.0.0.1:$H01" --path "$work/lego" "$@"
}
lego_ run >lego.out 2>&1 || { cat lego.out; fail "lego run"; }
LC=$work/lego/certificates/$LNAME.crt
openssl x509 -in "$LC" -out lego.pem
ocsp lego.pem | grep -q "lego.pem: good" || fail "OCSP of lego's certificate"
lego_ revoke >legorev.out 2>&1 || { cat legorev.out; fail "lego revoke"; }
ocsp lego.pem | grep -q "lego.pem: revoked" || fail "OCSP after lego revoke: $(ocsp lego.pem)"
pass "lego revoke: OCSP revoked"

# The rest by hand (acme_raw.py): its own accounts and EAB keys; A3,
# ordered by certbot's account, is what it revokes by authorizations.
A3=a3.svc.dev.internal
enroll cb1 "$A3"
C3=$work/cb1/etc/live/$A3/cert.pem
new_eab
KID1=$KID HMAC1=$HMAC
new_eab
/usr/bin/python3 "$src/tests/integration/acme/acme_raw.py" "$DIR" \
	"$work/data/ca/root.pem" "$KID1" "$HMAC1" "$KID" "$HMAC" "$H01" \
	svc.dev.internal "$C3" >raw.out 2>&1 || { cat raw.out; fail "acme_raw.py"; }
cat raw.out
ocsp "$C3" | grep -q "cert.pem: revoked" || fail "OCSP of $A3 after revocation by authorizations"
npass=$((npass + $(grep -c '^ok - ' raw.out)))

# certbot unregister: the account is deactivated in the ledger.
ids=$(sqlite3 data/ledger.db "SELECT count(*) FROM acme_accounts WHERE status = 'deactivated'")
cb cb1 unregister >unreg.out 2>&1 || { cat unreg.out; fail "certbot unregister"; }
ids2=$(sqlite3 data/ledger.db "SELECT count(*) FROM acme_accounts WHERE status = 'deactivated'")
[ "$ids2" -eq $((ids + 1)) ] || fail "certbot unregister: deactivated accounts $ids -> $ids2"
pass "certbot unregister: the account is deactivated"
echo "$npass passed"

#!/usr/bin/env bash
# A credential buys exactly what it names (DESIGN.md rule 9, issue 13),
# against the running appliance (signetd + engine + HTTPS + CoAP front
# ends, SoftHSMv2 token, SQLite ledger) with curl, openssl and
# coap-client-gnutls:
#   - a certificate Signet issued renews itself and nothing more: another
#     name (EST simpleenroll, /v1/sign, EST-coaps sen) or another profile
#     (an explicit EST label) is 403, its own names are served;
#   - a profile with self_service = true lets it enroll new names;
#   - a client mapping applies only to certificates from the client CA it
#     names: CN=signet-operator from another CA in tls.client_ca is 403,
#     and a mapping naming no client CA is refused at load;
#   - the ledger records which credential authorised each issuance
#     (token:<id>, renewal:<serial>, self-service:<serial>), GET
#     /v1/certs/<serial> shows it and /v1/certs?authorized_by= finds
#     everything one credential minted.
#
# usage: credentials.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
test_begin cred
test_ports coap
[ -x "$build/api/coap/signet-coap" ] && command -v coap-client-gnutls >/dev/null ||
	fail "signet-coap or coap-client-gnutls missing: the CoAP path must be tested"
dev_provision
# conf [sed expression]: the dev-host configuration on our ports.
conf() {
	dev_conf "${1:-s/^$//}" > signetd.conf
	chmod 644 signetd.conf
}
B="https://127.0.0.1:$HTTPS"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
JSON=(-H 'Content-Type: application/json')
start() {
	"$build/firmware/signetd/signetd" -f signetd.conf >>signetd.log 2>&1 &
	pid=$!
	for _ in $(seq 1 300); do
		curl -sf -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" && return 0
		kill -0 "$pid" 2>/dev/null || fail "signetd exited"
		sleep 0.2
	done
	fail "appliance did not come up"
}
token() {
	curl -s "${CA[@]}" "${OP[@]}" "${JSON[@]}" -d "$1" "$B/v1/tokens" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
csr() { # name keyfile [form] -> CSR (base64 DER, or PEM) on stdout
	if [ -f "$2" ]; then k=(-key "$2"); else k=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2"); fi
	if [ "${3:-}" = pem ]; then
		openssl req -new "${k[@]}" -subj "/CN=$1" -addext "subjectAltName=DNS:$1" 2>/dev/null
	else
		openssl req -new "${k[@]}" -subj "/CN=$1" -addext "subjectAltName=DNS:$1" -outform DER 2>/dev/null | base64 -w0
	fi
}
# est PATH OUT CURL-AUTH... < CSR: the HTTP status of an EST POST.
est() {
	p=$1 o=$2
	shift 2
	curl -s -o "$o" -w '%{http_code}' "${CA[@]}" "$@" -H 'Content-Type: application/pkcs10' \
		--data-binary @- "$B/.well-known/est/$p"
}
p7pem() { base64 -d "$1" | openssl pkcs7 -inform der -print_certs; }
# ser FILE [der]: a certificate's serial as the API writes it.
ser() { openssl x509 -inform "${2:-pem}" -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
p7ser() { p7pem "$1" | openssl x509 -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'; }
# authby SERIAL: authorized_by of the tenant dev's certificate, as the operator reads it.
authby() {
	curl -s "${CA[@]}" "${OP[@]}" "$B/v1/certs/$1?tenant=dev" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["authorized_by"])'
}
WEB=(--cert web.pem --key web.key)

conf
start
pass "appliance up (dev-host configuration)"

T=$(token '{"tenant":"dev","profile":"service","names":["web.svc.dev.internal"],"ttl":3600,"uses":1}')
[ -n "$T" ] || fail "operator could not create a token"
code=$(csr web.svc.dev.internal web.key | est simpleenroll web.p7 -H "Authorization: Bearer $T")
[ "$code" = 200 ] || fail "token enrollment answered $code: $(cat web.p7)"
p7pem web.p7 > web.pem
pass "a service enrolls web.svc.dev.internal with a one-time token"
WSER=$(ser web.pem)
got=$(authby "$WSER")
[ "$got" = "token:${T%%.*}" ] || fail "authorized_by of the token enrollment is '$got', not token:${T%%.*}"
pass "the ledger records the token that authorised it (authorized_by $got)"

# Another name with the issued certificate: EST simpleenroll, /v1/sign.
code=$(csr other.svc.dev.internal other.key | est simpleenroll out "${WEB[@]}")
[ "$code" = 403 ] || fail "simpleenroll of another name with an issued certificate answered $code: $(cat out)"
grep -q 'an issued certificate may only renew itself: name other.svc.dev.internal is not in the certificate' out ||
	fail "simpleenroll refusal says: $(cat out)"
pass "EST simpleenroll of another name with the issued certificate: 403 ($(cat out))"
pem=$(csr other.svc.dev.internal other.key pem | awk '{printf "%s\\n", $0}')
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${WEB[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"profile\":\"service\",\"csr\":\"$pem\",\"ttl\":3600}" "$B/v1/sign")
[ "$code" = 403 ] && grep -q 'may only renew itself' out || fail "/v1/sign of another name answered $code: $(cat out)"
pass "/v1/sign of another name with the issued certificate: 403"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${WEB[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"profile\":\"service\",\"csr\":\"$(csr web.svc.dev.internal web.key pem |
	awk '{printf "%s\\n", $0}')\",\"ttl\":600}" "$B/v1/sign")
[ "$code" = 200 ] || fail "/v1/sign of its own name answered $code: $(cat out)"
S1=$(python3 -c 'import json; print(json.load(open("out"))["serial"])')
pass "/v1/sign of its own name with the issued certificate: 200"

# Another profile through an explicit label.
code=$(csr x.dev.devices.internal dev.key | est dev-device/simpleenroll out "${WEB[@]}")
[ "$code" = 403 ] && grep -q 'may only renew itself: it is of profile service, not device' out ||
	fail "enrollment into profile device by label answered $code: $(cat out)"
pass "an explicit label naming another profile: 403 ($(cat out))"

# Its own name: simplereenroll and simpleenroll both renew.
code=$(csr web.svc.dev.internal web.key | est simplereenroll re.p7 "${WEB[@]}")
[ "$code" = 200 ] || fail "simplereenroll answered $code: $(cat re.p7)"
code=$(csr web.svc.dev.internal web.key | est dev-service/simpleenroll re2.p7 "${WEB[@]}")
[ "$code" = 200 ] || fail "simpleenroll of its own name answered $code: $(cat re2.p7)"
p7pem re2.p7 | openssl x509 -noout -ext subjectAltName | grep -q 'DNS:web.svc.dev.internal' || fail "renewed SAN"
pass "the issued certificate renews itself (simplereenroll, simpleenroll with its own name)"
R1=$(p7ser re.p7) R2=$(p7ser re2.p7)
for s in "$S1" "$R1" "$R2"; do
	got=$(authby "$s")
	[ "$got" = "renewal:$WSER" ] || fail "authorized_by of renewal $s is '$got', not renewal:$WSER"
done
pass "each renewal records renewal:<the serial renewed> (/v1/sign, simplereenroll, simpleenroll)"
# Everything one credential minted, as an operator looking for it sees it.
code=$(curl -s -o list.json -w '%{http_code}' "${CA[@]}" "${OP[@]}" \
	"$B/v1/certs?tenant=dev&status=any&authorized_by=renewal:$WSER")
[ "$code" = 200 ] || fail "list by authorized_by answered $code: $(cat list.json)"
got=$(python3 -c 'import json; d=json.load(open("list.json")); print(d["total"], " ".join(sorted(i["serial"] for i in d["items"])), set(i["authorized_by"] for i in d["items"]))')
want="3 $(printf '%s\n' "$S1" "$R1" "$R2" | sort | tr '\n' ' ' | sed 's/ $//') {'renewal:$WSER'}"
[ "$got" = "$want" ] || fail "list by authorized_by=renewal:$WSER: '$got', not '$want'"
got=$(curl -s "${CA[@]}" "${OP[@]}" "$B/v1/certs?tenant=dev&status=any&authorized_by=token:${T%%.*}" |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["total"], d["items"][0]["serial"])')
[ "$got" = "1 $WSER" ] || fail "list by authorized_by=token: '$got'"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "$B/v1/certs?tenant=dev&authorized_by=")
[ "$code" = 400 ] && grep -q 'authorized_by=<credential>' out || fail "an empty authorized_by filter answered $code: $(cat out)"
pass "/v1/certs?authorized_by= lists exactly what one credential minted (3 renewals; 1 by the token; empty filter 400)"

# EST-coaps sen with a device certificate, for another device's name.
DT=$(token '{"tenant":"dev","profile":"device","names":["d1.dev.devices.internal"],"ttl":3600,"uses":1}')
psk=$(printf 'signet dtls psk' | openssl dgst -sha256 -mac HMAC \
	-macopt hexkey:"$(printf '%s' "$DT" | openssl dgst -sha256 -hex | awk '{print $2}')" | awk '{print substr($2,1,32)}')
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout d1.key \
	-subj /CN=d1.dev.devices.internal -addext subjectAltName=DNS:d1.dev.devices.internal \
	-outform DER -out d1.csr 2>/dev/null
CB="coaps://127.0.0.1:$COAP"
timeout 30 coap-client-gnutls -B 20 -m post -u "${DT%%.*}" -k "$psk" -t 286 -A 287 -f d1.csr -o d1.der \
	"$CB/est/dev-device/sen" >coap.out 2>&1 || fail "coap PSK enroll: $(cat coap.out)"
openssl x509 -inform der -in d1.der -out d1.pem 2>/dev/null || fail "coap enroll answer: $(cat coap.out)"
D1SER=$(ser d1.pem)
got=$(authby "$D1SER")
[ "$got" = "token:${DT%%.*}" ] || fail "authorized_by of the PSK enrollment is '$got', not token:${DT%%.*}"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout d2.key \
	-subj /CN=d2.dev.devices.internal -addext subjectAltName=DNS:d2.dev.devices.internal \
	-outform DER -out d2.csr 2>/dev/null
rm -f d2.der
timeout 30 coap-client-gnutls -B 20 -m post -c d1.pem -j d1.key -t 286 -A 287 -f d2.csr -o d2.der \
	"$CB/est/dev-device/sen" >coap.out 2>&1 || true
if [ -s d2.der ] && openssl x509 -inform der -in d2.der -noout 2>/dev/null; then
	fail "EST-coaps sen with a device certificate enrolled another device's name"
fi
grep -q '4\.03' coap.out || fail "EST-coaps sen of another name: $(cat coap.out; cat d2.der 2>/dev/null)"
pass "EST-coaps sen with a device certificate for another device's name: 4.03"
openssl req -new -key d1.key -subj /CN=d1.dev.devices.internal \
	-addext subjectAltName=DNS:d1.dev.devices.internal -outform DER -out d1r.csr 2>/dev/null
timeout 30 coap-client-gnutls -B 20 -m post -c d1.pem -j d1.key -t 286 -A 287 -f d1r.csr -o d1r.der \
	"$CB/est/dev-device/sen" >coap.out 2>&1 || fail "coap sen of its own name: $(cat coap.out)"
openssl x509 -inform der -in d1r.der -noout 2>/dev/null || fail "sen of its own name: $(cat coap.out)"
got=$(authby "$(ser d1r.der der)")
[ "$got" = "renewal:$D1SER" ] || fail "authorized_by of the EST-coaps renewal is '$got', not renewal:$D1SER"
pass "EST-coaps sen with the device certificate for its own name is served; PSK enrollment and renewal recorded (token:, renewal:)"

# self_service = true on the profile: new names are the old behaviour.
daemon_stop
conf '0,/self_service = false/s//self_service = true/'
grep -q 'self_service = true' signetd.conf || fail "could not enable self_service"
start
code=$(csr other.svc.dev.internal other.key | est simpleenroll out "${WEB[@]}")
[ "$code" = 200 ] || fail "self_service profile: simpleenroll of another name answered $code: $(cat out)"
got=$(authby "$(p7ser out)")
[ "$got" = "self-service:$WSER" ] || fail "authorized_by of a self-service enrollment is '$got', not self-service:$WSER"
code=$(csr x.dev.devices.internal dev.key | est dev-device/simpleenroll out "${WEB[@]}")
[ "$code" = 403 ] || fail "self_service profile: another profile answered $code: $(cat out)"
pass "with self_service = true the issued certificate enrolls new names of its own profile, no other profile"
daemon_stop

# Client mappings name their client CA: a second CA in tls.client_ca (a
# partner's) issuing CN=signet-operator gets no role.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout partner.key \
	-subj "/O=Partner/CN=Partner Client CA" -days 2 -out partner.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fake-op.key \
	-subj "/O=Signet Dev/CN=signet-operator" -out fake-op.csr 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > op.ext
openssl x509 -req -in fake-op.csr -CA partner.pem -CAkey partner.key -CAcreateserial -days 1 \
	-extfile op.ext -out fake-op.pem 2>/dev/null
chmod 644 partner.pem
conf "s|client_ca = { \"data/ca/operators.pem\" }|client_ca = { \"data/ca/operators.pem\", \"$work/partner.pem\" }|"
grep -q partner.pem signetd.conf || fail "could not add the partner CA"
start
FAKE=(--cert fake-op.pem --key fake-op.key)
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${FAKE[@]}" "$B/v1/certs?tenant=dev")
[ "$code" = 403 ] && grep -q 'maps to no configured client' out ||
	fail "CN=signet-operator from a partner CA in tls.client_ca answered $code: $(cat out)"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${FAKE[@]}" "${JSON[@]}" \
	-d '{"tenant":"dev","profile":"service","names":["x.svc.dev.internal"],"ttl":3600,"uses":1}' "$B/v1/tokens")
[ "$code" = 403 ] || fail "the look-alike operator created a token ($code): $(cat out)"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${FAKE[@]}" "$B/metrics")
[ "$code" = 403 ] || fail "the look-alike operator read /metrics ($code)"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "$B/v1/certs?tenant=dev")
[ "$code" = 200 ] || fail "the operator from the operator CA answered $code: $(cat out)"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "$B/metrics")
[ "$code" = 200 ] || fail "the operator's /metrics answered $code"
pass "CN=signet-operator from another CA in tls.client_ca: 403 on /v1 and /metrics; the operator CA's operator: 200"
daemon_stop
# A mapping by issuer_key_id (the operator CA's subjectKeyIdentifier).
kid=$(openssl x509 -in data/ca/operators.pem -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' ')
[ -n "$kid" ] || fail "operator CA has no subjectKeyIdentifier"
conf "s|client_ca = { \"data/ca/operators.pem\" }|client_ca = { \"data/ca/operators.pem\", \"$work/partner.pem\" }|;
	s|issuer_cert = { \"data/ca/operators.pem\" }|issuer_key_id = \"$kid\"|"
grep -q "issuer_key_id = \"$kid\"" signetd.conf || fail "could not set issuer_key_id"
start
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${FAKE[@]}" "$B/v1/certs?tenant=dev")
[ "$code" = 403 ] || fail "issuer_key_id: the look-alike answered $code"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "$B/v1/certs?tenant=dev")
[ "$code" = 200 ] || fail "issuer_key_id: the operator answered $code: $(cat out)"
pass "a mapping by issuer_key_id maps the operator CA's certificates only"
daemon_stop
# A mapping that names no client CA is refused at load, with a reason.
conf '/issuer_cert = { "data\/ca\/operators.pem" }/d'
! grep -q 'issuer_cert = {' signetd.conf || fail "could not drop issuer_cert"
if "$build/firmware/signetd/signetd" -n -f signetd.conf >out 2>&1; then
	fail "a client mapping without its client CA was accepted"
fi
grep -q 'client "operator": name the client CA it trusts' out || fail "signetd -n said: $(cat out)"
pass "a client mapping that names no client CA is refused at load ($(head -c 160 out))"

! grep -q 'child killed by the sandbox' signetd.log || fail "$(grep 'killed by the sandbox' signetd.log)"
echo "$npass passed, 0 failed"

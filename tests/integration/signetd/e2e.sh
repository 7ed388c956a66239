#!/usr/bin/env bash
# The running appliance, end to end, with clients nobody here wrote:
# signetd (parent) + signet-engine + signet-https on a fresh SoftHSMv2
# token and SQLite ledger, driven by curl and openssl.
#
# usage: e2e.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
test_begin e2e
test_ports coap
have_coap=0
[ -x "$build/api/coap/signet-coap" ] && command -v coap-client-gnutls >/dev/null && have_coap=1
# Provision exactly as README command one does (token, keys, dev PKI).
dev_provision
dev_conf > signetd.conf
chmod 644 signetd.conf
"$build/firmware/signetd/signetd" -n -f signetd.conf >/dev/null || fail "signetd -n"
pass "configuration checks ($(grep -c '^sandbox = true' signetd.conf | sed 's/1/sandboxed/; s/0/unsandboxed/'))"

"$build/firmware/signetd/signetd" -f signetd.conf >signetd.log 2>&1 &
pid=$!
# Ready means the engine answers (cacerts needs it; /ca/*.der does not).
for _ in $(seq 1 300); do
	curl -sf -o /dev/null --cacert data/ca/root.pem \
		"https://127.0.0.1:$HTTPS/.well-known/est/cacerts" && break
	sleep 0.2
done
curl -sf -o inter.der "http://127.0.0.1:$HTTP/ca/intermediate.der" || fail "appliance did not come up"
cmp <(openssl x509 -in data/ca/intermediate.pem -outform der) inter.der || fail "published CA certificate differs"
pass "appliance up, CA certificate published over plain HTTP"

B="https://127.0.0.1:$HTTPS"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
JSON=(-H 'Content-Type: application/json')
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem

# EST cacerts (public).
curl -sf "${CA[@]}" "$B/.well-known/est/cacerts" | base64 -d | openssl pkcs7 -inform der -print_certs >cacerts.pem ||
	fail "cacerts"
grep -c BEGIN cacerts.pem | grep -q '^2$' || fail "cacerts should hold intermediate and root"
pass "EST cacerts returns the chain"

token() {
	curl -s "${CA[@]}" "${OP[@]}" "${JSON[@]}" -d "$1" "$B/v1/tokens" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
csr() { # name keyfile -> base64 DER CSR on stdout
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$2" -subj "/CN=$1" -addext "subjectAltName=DNS:$1" -outform DER 2>/dev/null | base64 -w0
}
enroll() { # token csrfile out -> http code
	curl -s -o "$3" -w '%{http_code}' "${CA[@]}" -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/pkcs10' --data-binary @"$2" "$B/.well-known/est/simpleenroll"
}

T=$(token '{"tenant":"dev","profile":"service","names":["web.svc.dev.internal"],"ttl":3600,"uses":1}')
[ -n "$T" ] || fail "operator could not create a token"
csr web.svc.dev.internal web.key > web.csr
code=$(enroll "$T" web.csr web.p7)
[ "$code" = 200 ] || fail "simpleenroll answered $code: $(cat web.p7)"
base64 -d web.p7 | openssl pkcs7 -inform der -print_certs > web.pem
openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem web.pem >/dev/null ||
	fail "issued certificate does not verify"
openssl x509 -in web.pem -noout -ext subjectAltName | grep -q 'DNS:web.svc.dev.internal' || fail "SAN"
nb=$(date -d "$(openssl x509 -in web.pem -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in web.pem -noout -enddate | cut -d= -f2)" +%s)
[ $((na - nb)) -le $((25 * 3600 + 60)) ] || fail "validity longer than the profile's 25h"
# The key in the certificate is the CSR's.
[ "$(openssl x509 -in web.pem -noout -pubkey)" = "$(openssl pkey -in web.key -pubout)" ] || fail "public key"
pass "EST simpleenroll with a one-time token, chain verifies, 25h, SAN, own key"

code=$(enroll "$T" web.csr again.out)
[ "$code" = 401 ] && grep -qi 'used' again.out || fail "token reuse answered $code: $(cat again.out)"
pass "a used token is refused (401: $(cat again.out))"

openssl req -new -key web.key -subj /CN=web.svc.dev.internal \
	-addext subjectAltName=DNS:web.svc.dev.internal -outform DER 2>/dev/null | base64 -w0 > re.csr
code=$(curl -s -o re.p7 -w '%{http_code}' "${CA[@]}" --cert web.pem --key web.key \
	-H 'Content-Type: application/pkcs10' --data-binary @re.csr "$B/.well-known/est/simplereenroll")
[ "$code" = 200 ] || fail "simplereenroll answered $code: $(cat re.p7)"
base64 -d re.p7 | openssl pkcs7 -inform der -print_certs > re.pem
[ "$(openssl x509 -in re.pem -noout -serial)" != "$(openssl x509 -in web.pem -noout -serial)" ] || fail "same serial"
openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem re.pem >/dev/null || fail "renewed cert"
pass "EST simplereenroll with the issued certificate"

SER=$(openssl x509 -in web.pem -noout -serial | cut -d= -f2)
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" --cert web.pem --key web.key "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"serial\":\"$SER\",\"reason\":\"keyCompromise\"}" "$B/v1/revoke")
[ "$code" = 403 ] || fail "a requester revoking answered $code: $(cat out)"
pass "a requester may not revoke (403: $(cat out))"

code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "$B/v1/certs?tenant=dev")
[ "$code" = 401 ] || fail "/v1 without a client certificate answered $code"
pass "/v1 without a client certificate is refused (401)"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key \
	-subj /CN=signet-operator -days 1 -out rogue.pem 2>/dev/null
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" --cert rogue.pem --key rogue.key "$B/v1/certs?tenant=dev" || true)
case "$code" in 000|401|403) ;; *) fail "a certificate from another CA answered $code" ;; esac
pass "a look-alike operator certificate from another CA is refused ($code)"

code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "$B/v1/certs/$SER?tenant=dev")
[ "$code" = 200 ] && grep -q "$SER" out || grep -qi "$SER" out || fail "get cert answered $code: $(head -c 200 out)"
pass "operator looks the certificate up by serial"

# IoT enrollment over CoAP/DTLS (EST-coaps, RFC 9148) with libcoap's
# GnuTLS client: PSK from a one-time token, then the issued certificate.
if [ "$have_coap" = 1 ]; then
	CB="coaps://127.0.0.1:$COAP"
	DT=$(token '{"tenant":"dev","profile":"device","names":["d1.dev.devices.internal"],"ttl":3600,"uses":1}')
	[ -n "$DT" ] || fail "device token"
	psk=$(printf 'signet dtls psk' | openssl dgst -sha256 -mac HMAC \
		-macopt hexkey:"$(printf '%s' "$DT" | openssl dgst -sha256 -hex | awk '{print $2}')" | awk '{print substr($2,1,32)}')
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout d1.key \
		-subj /CN=d1.dev.devices.internal -addext subjectAltName=DNS:d1.dev.devices.internal \
		-outform DER -out d1.csr 2>/dev/null
	timeout 30 coap-client-gnutls -B 20 -m post -u "${DT%%.*}" -k "$psk" -t 286 -A 287 -f d1.csr -o d1.der \
		"$CB/est/dev-device/sen" >coap.out 2>&1 || fail "coap PSK enroll: $(cat coap.out)"
	openssl x509 -inform der -in d1.der -out d1.pem 2>/dev/null || fail "coap enroll answer: $(cat coap.out)"
	openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem d1.pem >/dev/null ||
		fail "device certificate does not verify"
	pass "coap-client-gnutls enrolls over DTLS-PSK from a one-time token (/est/<label>/sen), chain verifies"
	timeout 30 coap-client-gnutls -B 20 -m post -u "${DT%%.*}" -k "$psk" -t 286 -A 287 -f d1.csr -o d1b.der \
		"$CB/est/dev-device/sen" >coap.out 2>&1 || true
	[ ! -s d1b.der ] || fail "a used token's PSK still enrolled"
	pass "the used token's PSK identity is refused at the handshake"
	timeout 30 coap-client-gnutls -B 20 -m get -A 281 -c d1.pem -j d1.key -o crts.p7 "$CB/est/crts" \
		>coap.out 2>&1 || fail "coap crts: $(cat coap.out)"
	openssl pkcs7 -inform der -in crts.p7 -print_certs > crts.pem || fail "crts is not PKCS#7"
	grep -c BEGIN crts.pem | grep -q '^2$' || fail "crts chain"
	pass "/est/crts over DTLS with the device certificate returns the chain"
	openssl req -new -key d1.key -subj /CN=d1.dev.devices.internal \
		-addext subjectAltName=DNS:d1.dev.devices.internal -outform DER -out d1r.csr 2>/dev/null
	timeout 30 coap-client-gnutls -B 20 -m post -c d1.pem -j d1.key -t 286 -A 287 -f d1r.csr -o d1r.der \
		"$CB/est/dev-device/sren" >coap.out 2>&1 || fail "coap sren: $(cat coap.out)"
	openssl x509 -inform der -in d1r.der -out d1r.pem 2>/dev/null || fail "sren answer: $(cat coap.out)"
	[ "$(openssl x509 -in d1r.pem -noout -serial)" != "$(openssl x509 -in d1.pem -noout -serial)" ] ||
		fail "sren returned the same certificate"
	openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem d1r.pem >/dev/null ||
		fail "re-enrolled device certificate"
	pass "re-enrollment over DTLS with the device certificate (/est/<label>/sren)"
else
	fail "signet-coap or coap-client-gnutls missing: the CoAP path must be tested"
fi

# Bad input: each a specific status with a message.
head -c 200000 /dev/urandom | base64 -w0 > big.csr
code=$(enroll "$T" big.csr out); [ "$code" = 413 ] || fail "oversized body answered $code"
pass "oversized body: 413"
T2=$(token '{"tenant":"dev","profile":"service","names":["web.svc.dev.internal"],"ttl":3600,"uses":5}')
printf '%%%%not base64%%%%' > bad.csr
code=$(enroll "$T2" bad.csr out); [ "$code" = 400 ] || fail "malformed base64 answered $code"
pass "malformed base64: 400 ($(head -c 80 out))"
head -c 300 /dev/urandom | base64 -w0 > garbage.csr
code=$(enroll "$T2" garbage.csr out); [ "$code" = 400 ] || fail "garbage CSR answered $code"
pass "garbage CSR: 400 ($(head -c 80 out))"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" -H "Authorization: Bearer $T2" \
	-H 'Content-Type: text/plain' --data-binary @web.csr "$B/.well-known/est/simpleenroll")
[ "$code" = 415 ] || fail "wrong media type answered $code"
pass "wrong media type: 415"
csr evil.example.com evil.key > evil.csr
code=$(enroll "$T2" evil.csr out); case "$code" in 400|403) ;; *) fail "name outside the profile answered $code" ;; esac
pass "a name outside the profile is refused ($code: $(head -c 100 out))"

big_hdr=$(head -c 20000 /dev/zero | tr '\0' a)
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" -H "X-Big: $big_hdr" "$B/.well-known/est/cacerts")
case "$code" in 400|413|431) ;; *) fail "oversized header answered $code" ;; esac
pass "oversized header refused ($code)"
code=$(curl -s -o out -w '%{http_code}' "http://127.0.0.1:$HTTP/ocsp/%%%")
[ "$code" = 400 ] || fail "malformed OCSP GET answered $code"
pass "malformed OCSP GET path: 400"

# Slowloris: half-open connections must not starve a real client.
slow=()
for _ in $(seq 20); do
	exec {fd}<>/dev/tcp/127.0.0.1/"$HTTPS"
	slow+=("$fd")
	printf '\x16\x03\x01' >&"$fd"
done
code=$(curl -s -o out -w '%{http_code}' --max-time 10 "${CA[@]}" "$B/.well-known/est/cacerts")
for fd in "${slow[@]}"; do exec {fd}>&-; done
[ "$code" = 200 ] || fail "a real client was not served while 20 slow connections hung ($code)"
pass "a real client is served while 20 slowloris connections hang"

# /metrics is for auditors and operators over mutual TLS (metrics = "auditor").
curl -s "${CA[@]}" "${OP[@]}" "$B/metrics" > metrics
grep -q 'signet_https_requests_total{route="est_simpleenroll",code="200"' metrics &&
	grep -q 'signet_https_request_seconds_bucket' metrics || fail "metrics"
pass "Prometheus metrics count requests by route and status"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "$B/metrics")
[ "$code" = 403 ] || fail "/metrics without a client certificate answered $code"
code=$(curl -s -o out -w '%{http_code}' "http://127.0.0.1:$HTTP/metrics")
[ "$code" = 404 ] || fail "/metrics on the public listener answered $code"
pass "/metrics refused without an auditor certificate (403) and on plain HTTP (404)"

# OCSP and revocation.
openssl ocsp -issuer data/ca/intermediate.pem -cert web.pem -url "http://127.0.0.1:$HTTP/ocsp" \
	-CAfile chain.pem > ocsp.out 2>&1 || fail "ocsp: $(cat ocsp.out)"
grep -q 'web.pem: good' ocsp.out && grep -q 'Response verify OK' ocsp.out || fail "ocsp good: $(cat ocsp.out)"
pass "OCSP: good, response verifies"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"serial\":\"$SER\",\"reason\":\"keyCompromise\"}" "$B/v1/revoke")
[ "$code" = 200 ] || fail "operator revoke answered $code: $(cat out)"
openssl ocsp -issuer data/ca/intermediate.pem -cert web.pem -url "http://127.0.0.1:$HTTP/ocsp" \
	-CAfile chain.pem > ocsp.out 2>&1 || true
grep -q 'web.pem: revoked' ocsp.out || fail "ocsp after revoke: $(cat ocsp.out)"
grep -qi 'key ?compromise' ocsp.out || grep -qi 'keyCompromise' ocsp.out || fail "ocsp reason"
pass "OCSP: revoked (keyCompromise) right after the operator revokes"
openssl x509 -in re.pem -out re2.pem
openssl ocsp -issuer data/ca/intermediate.pem -serial 0x0102030405 -url "http://127.0.0.1:$HTTP/ocsp" \
	-CAfile chain.pem > ocsp.out 2>&1 || true
grep -q ': unknown' ocsp.out || fail "ocsp unknown serial: $(cat ocsp.out)"
pass "OCSP: a serial this CA never issued is unknown, never good"

# Processes: a front end killed under way is restarted.
hp=$(pgrep -P "$pid" -f signet-https | head -1)
[ -n "$hp" ] || fail "no https child"
kill -KILL "$hp"
for _ in $(seq 1 100); do
	np=$(pgrep -P "$pid" -f signet-https | head -1 || true)
	[ -n "$np" ] && [ "$np" != "$hp" ] && curl -sf -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" && break
	sleep 0.1
done
[ -n "${np:-}" ] && [ "$np" != "$hp" ] || fail "https front end not restarted"
pass "SIGKILLed front end restarted by signetd and serving"

# The engine killed under load: every certificate a client got is in the ledger.
T3=$(token '{"tenant":"dev","profile":"service","names":["load.svc.dev.internal"],"ttl":3600,"uses":200}')
csr load.svc.dev.internal load.key > load.csr
mkdir -p got
( for i in $(seq 1 60); do enroll "$T3" load.csr "got/$i.p7" >"got/$i.code" || true; done ) &
loader=$!
sleep 1
ep=$(pgrep -P "$pid" -f signet-engine | head -1)
kill -KILL "$ep"
wait "$loader" || true
ok=0
for f in got/*.code; do
	n=${f%.code}
	[ "$(cat "$f")" = 200 ] || continue
	s=$(base64 -d "$n.p7" | openssl pkcs7 -inform der -print_certs | openssl x509 -noout -serial | cut -d= -f2)
	row=$(as_engine sqlite3 data/ledger.db "select status from certs where hex(serial)='$s'")
	[ "$row" = 1 ] || fail "certificate $s was returned but the ledger says '$row'"
	ok=$((ok + 1))
done
[ "$ok" -gt 0 ] || fail "no enrollment succeeded around the engine kill"
pass "engine SIGKILLed under load: all $ok certificates clients received are ISSUED in the ledger"
for _ in $(seq 1 100); do
	curl -sf -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" && break
	sleep 0.1
done
[ "$(as_engine sqlite3 data/ledger.db 'select count(*) from certs where status=0')" = 0 ] || fail "RESERVED rows left"
pass "after the restart no row is left half-finished"

# CRL: rebuilt after the debounce window, the revoked certificate fails.
sleep 31
curl -sf -o crl.der "http://127.0.0.1:$HTTP/crl/intermediate.crl" || fail "CRL fetch"
openssl crl -inform der -in crl.der -out crl.pem
openssl crl -in crl.pem -CAfile chain.pem -noout 2>&1 | grep -q 'verify OK' || fail "CRL signature"
cat chain.pem crl.pem > chaincrl.pem
openssl verify -crl_check -CAfile chaincrl.pem web.pem >out 2>&1 && fail "revoked certificate passed -crl_check"
grep -q 'revoked' out || fail "crl_check: $(cat out)"
openssl verify -crl_check -CAfile chaincrl.pem re.pem >/dev/null || fail "unrevoked certificate failed -crl_check"
pass "CRL verifies; the revoked certificate fails openssl verify -crl_check, the renewed one passes"

# Audit chain.
kill -TERM "$pid"
for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "signetd did not stop on SIGTERM"
wait "$pid" && st=0 || st=$?
pid=
[ "$st" = 0 ] || fail "signetd exited $st on SIGTERM"
pass "SIGTERM drains and exits 0"
# Everything above, under the filters: no child died of a forbidden call.
! grep -q 'child killed by the sandbox' signetd.log || fail "$(grep 'killed by the sandbox' signetd.log)"
grep -c 'msg="sandboxed"' signetd.log | grep -qv '^0$' || [ "$(id -u)" != 0 ] || fail "children did not enter the sandbox"
pass "no child made a forbidden system call during the run"

as_engine "$build/provisioning/appliance/signet-provision" pubkey -m /usr/lib/softhsm/libsofthsm2.so \
	-t signet-dev -p data/user.pin -l signet-audit > audit.pub || fail "audit public key"
as_engine "$build/tools/signet-audit/signet-audit" verify --db data/ledger.db --pubkey audit.pub >audit.out 2>&1 ||
	fail "audit verify: $(cat audit.out)"
pass "audit chain and its signed checkpoints verify ($(head -c 120 audit.out))"

echo "$npass passed, 0 failed"

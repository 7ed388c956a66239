#!/usr/bin/env bash
# signet-https with real clients (curl, openssl) against the stub engine
# (https_stub_engine.c): EST enrollment with a one-time token, renewal with
# the issued certificate, the JSON API, publication, and the refusals the
# issue lists (no client certificate, wrong CA, reused token, requester
# revoking, oversize, bad base64, wrong media type, slowloris).
#
# usage: https_stub.sh STUB SIGNET-HTTPS.  Loopback only; every request is
# bounded by --max-time, the whole script by ctest's timeout.
set -euo pipefail
stub=$1
bin=$2
work=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	for fd in "${slow[@]:-}"; do [ -n "$fd" ] && exec {fd}>&- ; done 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
fails=0
pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

# --- PKI: the issuing CA (the stub's), the server, client CAs and clients.
sslq() { openssl "$@" >/dev/null 2>&1; }
mkca() {
	sslq req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1.key" -out "$1.pem" -subj "/CN=$1" -days 2 \
	    -addext basicConstraints=critical,CA:true \
	    -addext keyUsage=critical,keyCertSign,cRLSign
}
mkleaf() { # name ca cn [ext]
	sslq req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$1.key" -out "$1.csr" -subj "/CN=$3"
	sslq x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
	    -CAcreateserial -out "$1.pem" -days 1 ${4:+-extfile <(printf '%s\n' "$4")}
}
mkca ca
mkca opca
mkca rogue
mkleaf server ca localhost "subjectAltName=DNS:localhost,IP:127.0.0.1"
mkleaf operator opca signet-operator
mkleaf requester opca requester
mkleaf outsider rogue signet-operator
sslq req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout dev.key -out dev.csr -subj "/CN=svc.dev.internal"
openssl req -in dev.csr -outform DER | base64 > dev.b64

port() { echo $((20000 + RANDOM % 20000)); }
hs=$(port); hp=$(port)
while [ "$hp" = "$hs" ]; do hp=$(port); done
token="tok-$RANDOM$RANDOM"
cat > signetd.conf <<CONF
data_dir = "$work"
log = "stderr"
sandbox = false
https_workers = 1
est_default = "dev/service"
listen {
	https = "127.0.0.1:$hs"
	http = "127.0.0.1:$hp"
}
token {
	module = "/usr/lib/softhsm/libsofthsm2.so"
	label = "unused"
	pin_file = "$work/pin"
}
storage {
	backend = "sqlite"
	path = "$work/ledger.db"
}
tls {
	cert = "$work/server.pem"
	key = "$work/server.key"
	client_ca = { "$work/opca.pem" }
}
limits {
	max_header = 4096
	max_body = 32768
	read_timeout = "3s"
	max_connections = 64
	rate_identity = 1000
	burst_identity = 1000
	rate_tenant = 1000
	burst_tenant = 1000
}
client "operator" {
	cn = "signet-operator"
	role = "operator"
	tenants = { "*" }
}
tenant "dev" {
	issuer "intermediate" {
		key = "unused"
		cert = "$work/ca.pem"
	}
	profile "service" {
		issuer = "intermediate"
		est_label = "dev-service"
		domains = { "svc.dev.internal" }
		ttl = "1h"
		max_ttl = "2h"
	}
}
CONF

"$stub" "$bin" signetd.conf ca.pem ca.key "$hs" "$hp" "$token" 2>stub.log &
pid=$!
for _ in $(seq 50); do
	curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$hp/metrics" && break
	sleep 0.1
done

base="https://localhost:$hs"
C=(curl -s --max-time 10 --cacert ca.pem --resolve "localhost:$hs:127.0.0.1")
# expect CODE DESCRIPTION curl-arguments...: status and, on error, a body.
expect() {
	local want=$1 what=$2 got
	shift 2
	got=$("${C[@]}" -o body -w '%{http_code}' "$@" || echo 000)
	if [ "$got" = "$want" ]; then pass "$what ($got)"
	else fail "$what: want $want, got $got: $(head -c 300 body 2>/dev/null)"; fi
}

# --- EST
expect 200 "cacerts without a client certificate" "$base/.well-known/est/cacerts"
if base64 -d body > p7.der && openssl pkcs7 -inform DER -in p7.der -print_certs \
    | grep -q "subject=CN = ca"; then pass "cacerts is a certs-only PKCS#7 with the CA"
else fail "cacerts body"; fi
expect 401 "simpleenroll without credentials" -H "Content-Type: application/pkcs10" \
    --data-binary @dev.b64 "$base/.well-known/est/simpleenroll"
expect 200 "simpleenroll with a one-time token (curl -u est:TOKEN)" -u "est:$token" \
    -H "Content-Type: application/pkcs10" --data-binary @dev.b64 \
    "$base/.well-known/est/dev-service/simpleenroll"
if base64 -d body > issued.p7 && openssl pkcs7 -inform DER -in issued.p7 -print_certs \
    -out issued.pem >/dev/null 2>&1 && openssl verify -CAfile ca.pem issued.pem >/dev/null; then
	pass "issued certificate verifies against the CA"
else fail "issued certificate"; fi
expect 403 "token reused" -H "Authorization: Bearer $token" \
    -H "Content-Type: application/pkcs10" --data-binary @dev.b64 \
    "$base/.well-known/est/simpleenroll"
expect 200 "simplereenroll with the issued certificate" --cert issued.pem --key dev.key \
    -H "Content-Type: application/pkcs10" --data-binary @dev.b64 \
    "$base/.well-known/est/simplereenroll"
expect 401 "simplereenroll without a certificate" -H "Content-Type: application/pkcs10" \
    --data-binary @dev.b64 "$base/.well-known/est/simplereenroll"
expect 400 "bad base64 body" --cert operator.pem --key operator.key \
    -H "Content-Type: application/pkcs10" --data-binary 'not*base64' \
    "$base/.well-known/est/simpleenroll"
expect 415 "wrong media type" --cert operator.pem --key operator.key \
    -H "Content-Type: text/plain" --data-binary @dev.b64 "$base/.well-known/est/simpleenroll"
head -c 40000 /dev/zero | tr '\0' 'A' > big
expect 413 "oversized body" --cert operator.pem --key operator.key \
    -H "Content-Type: application/pkcs10" --data-binary @big "$base/.well-known/est/simpleenroll"
expect 404 "unknown EST label" "$base/.well-known/est/nosuch/cacerts"
expect 204 "csrattrs with nothing to ask" "$base/.well-known/est/csrattrs"
expect 501 "serverkeygen" "$base/.well-known/est/serverkeygen"
big_hdr=$(head -c 6000 /dev/zero | tr '\0' 'x')
# libevent 2.1 answers an over-long header block with 400 and closes.
expect 400 "oversized header" -H "X-Big: $big_hdr" "$base/.well-known/est/cacerts"

# --- JSON API
jq_csr=$(awk '{printf "%s\\n", $0}' dev.csr)
printf '{"tenant":"dev","profile":"service","csr":"%s","ttl":600}' "$jq_csr" > sign.json
expect 401 "/v1/sign without a client certificate" -H "Content-Type: application/json" \
    --data-binary @sign.json "$base/v1/sign"
expect 403 "/v1/sign with a certificate from another CA" --cert outsider.pem \
    --key outsider.key -H "Content-Type: application/json" --data-binary @sign.json "$base/v1/sign"
expect 200 "/v1/sign as operator" --cert operator.pem --key operator.key \
    -H "Content-Type: application/json" --data-binary @sign.json "$base/v1/sign"
grep -q '"serial":"[0-9a-f]*","certificate":"-----BEGIN CERTIFICATE-----' body \
    && pass "/v1/sign answer has serial and PEM" || fail "/v1/sign body: $(head -c 200 body)"
expect 200 "/v1/sign with the EST-issued certificate" --cert issued.pem --key dev.key \
    -H "Content-Type: application/json" --data-binary @sign.json "$base/v1/sign"
expect 400 "/v1/sign with malformed JSON" --cert operator.pem --key operator.key \
    -H "Content-Type: application/json" --data-binary '{"tenant":' "$base/v1/sign"
expect 404 "/v1/sign into an unknown tenant" --cert operator.pem --key operator.key \
    -H "Content-Type: application/json" \
    --data-binary '{"tenant":"other","profile":"service","csr":"x"}' "$base/v1/sign"
expect 403 "/v1/revoke as requester" --cert requester.pem --key requester.key \
    -H "Content-Type: application/json" \
    --data-binary '{"tenant":"dev","serial":"0a1b","reason":"keyCompromise"}' "$base/v1/revoke"
expect 200 "/v1/revoke as operator" --cert operator.pem --key operator.key \
    -H "Content-Type: application/json" \
    --data-binary '{"tenant":"dev","serial":"0a1b","reason":1}' "$base/v1/revoke"
expect 400 "/v1/revoke with a bad reason" --cert operator.pem --key operator.key \
    -H "Content-Type: application/json" \
    --data-binary '{"tenant":"dev","serial":"0a1b","reason":7}' "$base/v1/revoke"
expect 200 "/v1/tokens" --cert operator.pem --key operator.key \
    -H "Content-Type: application/json" \
    --data-binary '{"tenant":"dev","profile":"service","names":["a.svc.dev.internal"],"ttl":600,"uses":1}' \
    "$base/v1/tokens"
expect 200 "/v1/health without a certificate" "$base/v1/health"
grep -qx '{"status":"ready"}' body && pass "short health form" || fail "health: $(cat body)"
expect 200 "/v1/health as operator" --cert operator.pem --key operator.key "$base/v1/health"
grep -q '"token":true' body && pass "full health form" || fail "health: $(cat body)"
expect 400 "/v1/certs with a bad filter" --cert operator.pem --key operator.key \
    "$base/v1/certs?tenant=dev&limit=1000"

# --- plain HTTP publication
H=(curl -s --max-time 10)
got=$("${H[@]}" -o ca.der -w '%{http_code}' "http://127.0.0.1:$hp/ca/intermediate.der")
[ "$got" = 200 ] && openssl x509 -inform DER -in ca.der -noout 2>/dev/null \
    && pass "/ca/intermediate.der" || fail "/ca/intermediate.der ($got)"
got=$("${H[@]}" -o body -w '%{http_code}' "http://127.0.0.1:$hp/ocsp/%%%")
[ "$got" = 400 ] && pass "OCSP GET with a malformed path (400)" || fail "OCSP GET ($got)"
got=$("${H[@]}" -o body -w '%{http_code}' -H "Content-Type: text/plain" \
    --data-binary x "http://127.0.0.1:$hp/ocsp")
[ "$got" = 415 ] && pass "OCSP POST with the wrong media type (415)" || fail "OCSP POST ($got)"

# --- slowloris: idle half-open connections must not starve a real client.
slow=()
for _ in $(seq 20); do
	exec {fd}<>/dev/tcp/127.0.0.1/"$hs"
	slow+=("$fd")
	printf '\x16\x03\x01' >&"$fd"
done
expect 200 "served while 20 slow connections hang" "$base/.well-known/est/cacerts"
for fd in "${slow[@]}"; do exec {fd}>&-; done
slow=()

"${H[@]}" "http://127.0.0.1:$hp/metrics" > metrics
grep -q 'signet_https_requests_total{route="est_simpleenroll",code="200"' metrics \
    && grep -q 'signet_https_request_seconds_bucket' metrics \
    && pass "metrics count requests by route and status" || fail "metrics"
kill -0 "$pid" 2>/dev/null && pass "front end still running" || fail "front end died"
if [ "$fails" -ne 0 ]; then
	echo "--- stub.log"; tail -30 stub.log
	exit 1
fi
echo "all passed"

#!/usr/bin/env bash
# Issuer constraints hold at issuance (issue 13): the dev tenant's issuer
# is an intermediate (its key in the token) signed under a root of this
# test with name constraints and an extended key usage.  Requests for
# names outside them get 403 naming the constraint, over EST and /v1/sign;
# what is issued passes `openssl verify` against that root; profiles the
# chain forbids are logged at start.
#
# usage: issuer_policy.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
test_begin ipol
test_ports
cd "$work"

DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$src/board/dev-host/run.sh" >provision.log 2>&1 ||
	{ cat provision.log; fail "provisioning"; }
export SOFTHSM2_CONF=$work/data/softhsm2.conf
# shellcheck source=../../../board/dev-host/board.env
. "$src/board/dev-host/board.env"
prov="$build/provisioning/appliance/signet-provision"
T=(-m "$SIGNET_PKCS11_MODULE" -t "$SIGNET_TOKEN_LABEL" -p data/user.pin)

# The constrained intermediate: the token's key, this test's root.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ncroot.key \
	-subj "/CN=Policy Test Root" -days 30 -out ncroot.pem \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
"$prov" csr "${T[@]}" -l "$SIGNET_CA_KEY_LABEL" -s "/CN=Constrained Issuing CA" -o nc.csr >/dev/null
cat > nc.ext <<'EXT'
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
extendedKeyUsage=serverAuth,clientAuth
nameConstraints=critical,permitted;DNS:svc.dev.internal,permitted;IP:127.0.0.0/255.0.0.0,excluded;DNS:.corp.svc.dev.internal,excluded;IP:127.0.0.66/255.255.255.255
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
openssl x509 -req -in nc.csr -CA ncroot.pem -CAkey ncroot.key -CAcreateserial -days 20 \
	-extfile nc.ext -out nc.pem 2>/dev/null || fail "signing the constrained intermediate"

# dev-host configuration, the dev issuer replaced by the constrained one,
# plus two profiles the chain forbids: a wholly excluded domain and an
# extended key usage the intermediate does not list.
python3 - "$src/board/dev-host/signetd.conf" "$HTTPS" "$HTTP" > signetd.conf <<'PY'
import sys
s = open(sys.argv[1]).read()
s = s.replace("127.0.0.1:8443", "127.0.0.1:" + sys.argv[2]).replace("127.0.0.1:8080", "127.0.0.1:" + sys.argv[3])
s = s.replace('coap = "127.0.0.1:5684"', '')
s = s.replace('cert = "data/ca/intermediate.pem"\n\t\tchain = "data/ca/root.pem"',
              'cert = "nc.pem"\n\t\tchain = "ncroot.pem"')
extra = '''
	profile "corp" {
		issuer = "intermediate"
		domains = { "corp.svc.dev.internal" }
		allow_bare = false
		allow_subdomains = true
		key_types = { "p256" }
		ext_key_usage = { "serverAuth" }
		roles = { "operator" }
	}
	profile "signing" {
		issuer = "intermediate"
		domains = { "svc.dev.internal" }
		key_types = { "p256" }
		ext_key_usage = { "codeSigning" }
		roles = { "operator" }
	}
}
'''
i = s.rindex("}")
print(s[:i] + extra.lstrip("\n"), end="")
PY
grep -q 'cert = "nc.pem"' signetd.conf || fail "configuration rewrite"
"$build/firmware/signetd/signetd" -f signetd.conf >signetd.log 2>&1 &
pid=$!
B="https://127.0.0.1:$HTTPS"
# The server's TLS certificate is the original intermediate's: trust both.
cat data/ca/root.pem data/ca/intermediate.pem > tls-trust.pem
CA=(--cacert tls-trust.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
for _ in $(seq 1 100); do
	curl -sf -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" && break
	kill -0 "$pid" 2>/dev/null || fail "signetd exited"
	sleep 0.2
done
curl -s "${CA[@]}" "$B/.well-known/est/cacerts" -o up.out -w '%{http_code}' | grep -q 200 ||
	fail "appliance did not come up: $(cat up.out)"
pass "appliance up with a name-constrained intermediate"

grep 'profile domain is outside' signetd.log | grep 'profile=corp' |
	grep -q 'excluded subtree .corp.svc.dev.internal' || fail "no warning for profile corp"
grep 'cannot issue under' signetd.log | grep 'profile=signing' | grep -q 'codeSigning' ||
	fail "no warning for profile signing"
pass "start-up warns of the profiles the chain forbids (excluded domain, extKeyUsage)"

token() {
	curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' -d "$1" "$B/v1/tokens" |
		sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
csr() { # keyfile subject san -> PEM CSR on stdout
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1" \
		-subj "$2" -addext "subjectAltName=$3" 2>/dev/null
}
enroll() { # name out -> http code (EST simpleenroll with a fresh token)
	local t
	t=$(token "{\"tenant\":\"dev\",\"profile\":\"service\",\"names\":[\"$1\"],\"ttl\":3600,\"uses\":1}")
	[ -n "$t" ] || fail "operator could not create a token for $1"
	csr k.key "/CN=$1" "DNS:$1" | openssl req -outform DER | base64 -w0 > e.csr
	curl -s -o "$2" -w '%{http_code}' "${CA[@]}" -H "Authorization: Bearer $t" \
		-H 'Content-Type: application/pkcs10' --data-binary @e.csr "$B/.well-known/est/simpleenroll"
}
sign() { # profile subject san out -> http code (/v1/sign as the operator)
	csr s.key "$2" "$3" > s.pem
	python3 -c 'import json,sys; print(json.dumps({"tenant":"dev","profile":sys.argv[1],"csr":open("s.pem").read()}))' \
		"$1" > s.json
	curl -s -o "$4" -w '%{http_code}' "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		--data-binary @s.json "$B/v1/sign"
}
verify() { # pem
	openssl verify -purpose sslserver -CAfile ncroot.pem -untrusted nc.pem "$1"
}

code=$(enroll db.corp.svc.dev.internal out)
[ "$code" = 403 ] || fail "EST for an excluded name answered $code: $(cat out)"
grep -q "name db.corp.svc.dev.internal violates the issuer's excluded subtree .corp.svc.dev.internal" out ||
	fail "EST refusal does not name the constraint: $(cat out)"
pass "EST: an excluded name gets 403 ($(cat out))"

code=$(enroll web.svc.dev.internal out)
[ "$code" = 200 ] || fail "EST for an allowed name answered $code: $(cat out)"
base64 -d out | openssl pkcs7 -inform der -print_certs > est.pem
verify est.pem >/dev/null 2>&1 || fail "EST certificate does not verify: $(verify est.pem 2>&1)"
pass "EST: an allowed name is issued and passes openssl verify under the constrained chain"

code=$(sign service /CN=db.corp.svc.dev.internal DNS:db.corp.svc.dev.internal out)
[ "$code" = 403 ] && grep -q "excluded subtree .corp.svc.dev.internal" out ||
	fail "/v1/sign for an excluded name answered $code: $(cat out)"
code=$(sign service /CN=x.svc.dev.internal DNS:x.svc.dev.internal,IP:127.0.0.66 out)
[ "$code" = 403 ] && grep -q "IP address 127.0.0.66 violates the issuer's excluded subtree 127.0.0.66/32" out ||
	fail "/v1/sign for an excluded IP answered $code: $(cat out)"
code=$(sign service /CN=localhost DNS:localhost out)
[ "$code" = 403 ] && grep -q "name localhost is outside the issuer's permitted DNS subtrees (svc.dev.internal)" out ||
	fail "/v1/sign for a name outside the permitted subtrees answered $code: $(cat out)"
code=$(sign service /CN=127.0.0.1 IP:127.0.0.1 out)
[ "$code" = 403 ] && grep -q "commonName (a DNS name to verifiers" out ||
	fail "/v1/sign with a host-like CN and no DNS SAN answered $code: $(cat out)"
pass "/v1/sign: excluded DNS and IP, names outside the permitted subtrees, host-like CN: 403 naming the constraint"

code=$(sign signing /CN=c.svc.dev.internal DNS:c.svc.dev.internal out)
[ "$code" = 403 ] && grep -q "extKeyUsage codeSigning of profile signing is outside the issuer's extKeyUsage (serverAuth, clientAuth)" out ||
	fail "/v1/sign with an EKU the intermediate lacks answered $code: $(cat out)"
pass "/v1/sign: a profile EKU outside the intermediate's gets 403 ($(cat out))"

code=$(sign service /CN=api.svc.dev.internal DNS:api.svc.dev.internal,IP:127.0.0.1 out)
[ "$code" = 200 ] || fail "/v1/sign for allowed names answered $code: $(cat out)"
python3 -c 'import json,sys; print(json.load(open("out"))["certificate"])' > v1.pem
verify v1.pem >/dev/null 2>&1 || fail "/v1 certificate does not verify: $(verify v1.pem 2>&1)"
openssl x509 -in v1.pem -noout -ext subjectAltName | grep -q 'DNS:api.svc.dev.internal, IP Address:127.0.0.1' ||
	fail "SAN of the /v1 certificate"
pass "/v1/sign: allowed DNS and IP names are issued and pass openssl verify"
echo "$npass passed, 0 failed"

#!/usr/bin/env bash
# Delta CRLs (issue 19, RFC 5280 5.2.4) on the dev-host appliance with curl
# and openssl: with delta_crl on, the complete CRL names the deltas in
# freshestCRL, a revocation goes into the delta CRL (deltaCRLIndicator
# naming the complete CRL's number) within revocation.freshness while the
# complete CRL stays as it was, and `openssl verify -crl_check
# -use_deltas` with the complete and the delta CRL reports the
# certificate revoked, where the complete CRL alone does not.  Issued
# certificates carry freshestCRL with delta_in_certs.
#
# usage: delta_crl.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/appliance.sh
. "$src/tests/support/appliance.sh"
test_begin delta
test_cleanup() { appliance_stop; }

FRESH=4
app_conf_extra() {
	sed -e "s/^\tfreshness = .*/\tfreshness = \"${FRESH}s\"/" \
		-e 's|^\tcrl = "http://127.0.0.1:\([0-9]*\)/crl/%s.crl"|&\n\tdelta_crl = "http://127.0.0.1:\1/crl/delta/%s.crl"|' \
		-e 's/^\t\tchain = "data\/ca\/root.pem"/&\n\t\tdelta_crl = true\n\t\tdelta_in_certs = true/' \
		-e '/coap = "127.0.0.1:/d'
}
appliance_start "$src" "$build" "$work"
grep -q 'delta_crl = true' signetd.conf && grep -q '/crl/delta/%s.crl' signetd.conf ||
	fail "configuration not rewritten"

B="https://127.0.0.1:$HTTPS"
P="http://127.0.0.1:$HTTP"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
JSON=(-H 'Content-Type: application/json')
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem

fetch() { # url out.pem
	local code
	code=$(curl -s -o crl.der -w '%{http_code}' "$1")
	[ "$code" = 200 ] || fail "GET $1 answered $code"
	openssl crl -inform der -in crl.der -out "$2" || fail "$1 does not parse"
	openssl crl -in "$2" -CAfile chain.pem -noout 2>&1 | grep -q 'verify OK' || fail "$1 signature"
}
number() { # crl.pem -> decimal cRLNumber
	local h
	h=$(openssl crl -in "$1" -noout -crlnumber | sed 's/.*=//; s/^0x//')
	echo $((16#$h))
}
sign() { # name -> serial (upper-case hex, as openssl prints it)
	local pem
	pem=$(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" 2>/dev/null | awk '{printf "%s\\n", $0}')
	curl -sf -o "$1.json" "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
		-d "{\"tenant\":\"dev\",\"profile\":\"service\",\"csr\":\"$pem\",\"ttl\":3600}" "$B/v1/sign" ||
		fail "/v1/sign $1"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"], end="")' \
		"$1.json" > "$1.pem"
	openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2
}

# The timer builds the complete CRL and its (empty) delta at start.
for _ in $(seq 1 50); do
	grep -q 'msg="delta CRL built" issuer=intermediate by=timer' signetd.log && break
	sleep 0.2
done
grep -q 'msg="delta CRL built" issuer=intermediate by=timer' signetd.log || fail "no delta CRL built at start"
SER=$(sign web.svc.dev.internal)
openssl x509 -in web.svc.dev.internal.pem -noout -text > cert.txt
grep -A2 'X509v3 Freshest CRL' cert.txt | grep -q "URI:http://127.0.0.1:$HTTP/crl/delta/intermediate.crl" ||
	fail "certificate has no freshestCRL: $(grep -A3 'CRL' cert.txt)"
fetch "$P/crl/intermediate.crl" base.pem
openssl crl -in base.pem -noout -text > base.txt
grep -A2 'X509v3 Freshest CRL' base.txt | grep -q "URI:http://127.0.0.1:$HTTP/crl/delta/intermediate.crl" ||
	fail "complete CRL has no freshestCRL: $(cat base.txt)"
grep -q 'Delta CRL Indicator' base.txt && fail "complete CRL is marked a delta"
nb=$(number base.pem)
pass "complete CRL $nb and the certificate name the delta CRLs in freshestCRL"

fetch "$P/crl/delta/intermediate.crl" delta0.pem
openssl crl -in delta0.pem -noout -text > delta0.txt
grep -A1 'X509v3 Delta CRL Indicator: critical' delta0.txt | grep -q "$nb" ||
	fail "delta CRL does not name base $nb: $(cat delta0.txt)"
grep -q "Serial Number: $SER" delta0.txt && fail "serial in the delta before revocation"
pass "delta CRL $(number delta0.pem) on base $nb, critical deltaCRLIndicator, no entries yet"

code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"serial\":\"$SER\",\"reason\":\"keyCompromise\"}" "$B/v1/revoke")
[ "$code" = 200 ] || fail "revoke answered $code: $(cat out)"
at=$(date +%s)
# Nobody fetches for the bound plus a tick: the timer builds the delta.
sleep $((FRESH + 1))
fetch "$P/crl/intermediate.crl" base2.pem
[ "$(number base2.pem)" = "$nb" ] || fail "the complete CRL was rebuilt ($nb -> $(number base2.pem))"
openssl crl -in base2.pem -noout -text | grep -q "Serial Number: $SER" && fail "revocation in the complete CRL"
fetch "$P/crl/delta/intermediate.crl" delta.pem
openssl crl -in delta.pem -noout -text > delta.txt
grep -q "Serial Number: $SER" delta.txt ||
	fail "revoked $SER not in the delta CRL $(( $(date +%s) - at ))s after: $(cat delta.txt)"
grep -A1 'X509v3 Delta CRL Indicator: critical' delta.txt | grep -q "$nb" || fail "delta not on base $nb"
nd=$(number delta.pem)
[ "$nd" -gt "$nb" ] || fail "delta number $nd not above its base $nb"
grep -q "msg=\"delta CRL built\" issuer=intermediate by=timer number=$nd entries=1 .* base=$nb" signetd.log ||
	fail "delta $nd not logged as a timer build on base $nb"
pass "revocation in delta CRL $nd (base $nb) within ${FRESH}s; the complete CRL is unchanged"

# openssl: the complete CRL alone says OK, with the delta it is revoked.
openssl verify -crl_check -CAfile chain.pem -CRLfile base2.pem web.svc.dev.internal.pem > v1.out 2>&1 ||
	fail "verify with the complete CRL alone: $(cat v1.out)"
openssl verify -crl_check -use_deltas -CAfile chain.pem -CRLfile base2.pem -CRLfile delta.pem \
	web.svc.dev.internal.pem > v2.out 2>&1 && fail "revoked certificate passed -use_deltas: $(cat v2.out)"
grep -q 'certificate revoked' v2.out || fail "-use_deltas: $(cat v2.out)"
pass "openssl verify -crl_check -use_deltas with base + delta: $(grep -o 'certificate revoked' v2.out)"

# Another issuer name's delta, a complete CRL asked as a delta path.
code=$(curl -s -o out -w '%{http_code}' "$P/crl/delta/nosuch.crl")
[ "$code" = 404 ] || fail "delta of an unknown issuer answered $code"
pass "the delta of an unknown issuer is 404"

appliance_stop || fail "signetd did not exit cleanly"
pass "appliance stopped cleanly"

#!/usr/bin/env bash
# The operator's path under a ceremony root, as docs/ceremony.md walks it,
# across two SoftHSMv2 tokens (the offline root's and the appliance's):
#
#   ceremony init (2-of-3) -> init-token, keygen, csr -> ceremony sign ->
#   install -> tls -> operator -> config -> signetd -n -> signetd ->
#   the new operator creates a token -> curl enrolls over EST ->
#   openssl verify to the ceremony root
#
# plus: a server name outside the intermediate's constraints is refused by
# tls; a requested name in the excluded subtree is refused at issuance
# (403 naming the constraint); a look-alike operator from another CA is
# refused; a second tenant with its own intermediate; rotation of the
# first tenant's issuer by one config change and SIGHUP, the old issuer
# still answering OCSP for its certificates, which can still be revoked.
#
# usage: operator_path.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1 build=$2
# shellcheck source=../../support/ceremony.sh
. "$src/tests/support/ceremony.sh"
ceremony_need "$build" openssl curl pkcs11-tool python3

W=$(mktemp -d "${TMPDIR:-/tmp}/signet-operator-XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
fail() { echo "FAIL - $*"; [ -f signetd.log ] && tail -n 20 signetd.log; exit 1; }
free_port() {
	python3 "$src/tests/support/ports.py" tcp	# below the ephemeral range
}

# Two tokens in two token directories: the air-gapped root's and the
# appliance's.
ceremony_tokens cer app
prov() { SOFTHSM2_CONF=$W/app/softhsm2.conf "$PROV" "$@"; }

# -- 1. ceremony init: the root, three custodians, any two sign ----------
ceremony_conf c1.conf in/issuing-1.csr out/issuing-1.pem corp.example.com out/root.wrapped
cer init -f c1.conf -y > init.log 2>&1 || { cat init.log; fail "ceremony init"; }
ok "ceremony init: root key in its own token, shares for alice, bob, carol"
SH=(-s shares/alice.user.share -s shares/carol.user.share)

# -- 2. the appliance: token, intermediate key, CSR -----------------------
umask 077
openssl rand -hex 16 > app/user.pin
openssl rand -hex 16 > app/so.pin
T=(-m "$M" -t appliance -p app/user.pin)
prov init-token "${T[@]}" -S app/so.pin > prov.log 2>&1 || { cat prov.log; fail "init-token"; }
# issuer KEY TENANT CONF: keygen, csr, ceremony sign, install.
issuer() {
	local key=$1 tenant=$2 conf=$3
	ceremony_conf "$conf" "in/$key.csr" "out/$key.pem" corp.example.com out/root.wrapped
	prov keygen "${T[@]}" -l "$key" -k p256 >> prov.log 2>&1 || { cat prov.log; fail "keygen $key"; }
	prov csr "${T[@]}" -l "$key" -s "/O=Example/CN=Example Issuing CA $key" \
		-o "cer/in/$key.csr" >> prov.log 2>&1 || { cat prov.log; fail "csr $key"; }
	cer sign -f "$conf" -y "${SH[@]}" >> sign.log 2>&1 || { cat sign.log; fail "ceremony sign $key"; }
	prov install "${T[@]}" -l "$key" -c "cer/out/$key.pem" -r cer/out/root.pem -d data \
		-T "$tenant" -n "$key" >> prov.log 2>&1 || { cat prov.log; fail "install $key"; }
}
issuer issuing-1 example c1.conf
[ -f data/ca/example/issuing-1.pem ] && [ -f data/ca/example/issuing-1.chain.pem ] &&
	ok "intermediate issuing-1: key in the appliance token, signed at the ceremony, installed" ||
	fail "install wrote no data/ca/example/issuing-1.pem"

# -- 3. server identity, first operator -----------------------------------
I1=(-c data/ca/example/issuing-1.pem -r data/ca/example/issuing-1.chain.pem)
if prov tls "${T[@]}" -l issuing-1 "${I1[@]}" -N db.corp.example.com -d data > tls.log 2>&1; then
	bad "tls issued a server certificate for an excluded name"
elif grep -q "outside the intermediate's name constraints" tls.log && [ ! -e data/tls/server.pem ]; then
	ok "tls refuses a server name outside the intermediate's constraints, writes nothing"
else
	bad "tls refusal: $(cat tls.log)"
fi
prov tls "${T[@]}" -l issuing-1 "${I1[@]}" -N ca.example.com -d data > tls.log 2>&1 &&
	ok "tls: server identity ca.example.com issued by issuing-1" || { cat tls.log; fail "tls"; }
prov operator "${T[@]}" -l operators-ca -N alice -d data > op.log 2>&1 ||
	{ cat op.log; fail "operator"; }
ok "operator alice: client certificate from the operator CA in the token"

# -- 4. a second tenant with its own intermediate --------------------------
issuer second-1 second c2.conf
ok "second tenant: intermediate second-1 installed the same way"

# -- 5. config, signetd -n, signetd ---------------------------------------
HTTPS=$(free_port) HTTP=$(free_port)
COAP=$(python3 "$src/tests/support/ports.py" udp)
prov config "${T[@]}" -d "$W/data" -o gen.conf -u "http://127.0.0.1:$HTTP" > config.log 2>&1 ||
	{ cat config.log; fail "config"; }
if prov config "${T[@]}" -d "$W/data" -o gen.conf > config2.log 2>&1; then
	bad "config overwrote its output"
else
	ok "config refuses to overwrite: $(tail -n 1 config2.log)"
fi
grep -q 'issuer "issuing-1"' gen.conf && grep -q 'issuer "second-1"' gen.conf &&
	grep -q 'key = "issuing-1"' gen.conf && grep -q 'client "alice"' gen.conf ||
	bad "config lacks an issuer or the operator: $(cat gen.conf)"
grep -qi 'pin = \|[0-9a-f]\{32\}' gen.conf && bad "config holds a PIN"
sed -e "s/0.0.0.0:8443/127.0.0.1:$HTTPS/; s/0.0.0.0:8080/127.0.0.1:$HTTP/; s/0.0.0.0:5684/127.0.0.1:$COAP/" \
	-e "s|pin_file = \"app/user.pin\"|pin_file = \"$W/app/user.pin\"|" gen.conf > signetd.conf
"$SIGNETD" -n -f signetd.conf > check.log 2>&1 && ok "signetd -n accepts the generated config" ||
	{ cat check.log; fail "signetd -n refuses the generated config"; }
export SOFTHSM2_CONF=$W/app/softhsm2.conf
"$SIGNETD" -f signetd.conf > signetd.log 2>&1 &
PID=$!
B="https://127.0.0.1:$HTTPS"
CA=(--cacert cer/out/root.pem --resolve "ca.example.com:$HTTPS:127.0.0.1")
B="https://ca.example.com:$HTTPS"
OP=(--cert data/operator/alice.pem --key data/operator/alice.key)
for _ in $(seq 1 300); do
	curl -sf -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" && break
	kill -0 "$PID" 2>/dev/null || fail "signetd exited"
	sleep 0.2
done
curl -sf -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" ||
	fail "the appliance did not come up"
ok "signetd serves; its server certificate verifies to the ceremony root as ca.example.com"

# -- 6. the operator's token, an EST enrollment ---------------------------
token() {	# token TENANT NAME -> the token
	curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"$1\",\"profile\":\"service\",\"names\":[\"$2\"],\"ttl\":3600,\"uses\":1}" \
		"$B/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
enroll() {	# enroll TOKEN NAME OUT -> HTTP code; OUT.pem, OUT.key
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$3.key" -subj "/CN=$2" -addext "subjectAltName=DNS:$2" -outform DER \
		2>/dev/null | base64 -w0 > "$3.csr"
	local code
	code=$(curl -s -o "$3.p7" -w '%{http_code}' "${CA[@]}" -H "Authorization: Bearer $1" \
		-H 'Content-Type: application/pkcs10' --data-binary @"$3.csr" \
		"$B/.well-known/est/simpleenroll")
	[ "$code" = 200 ] && base64 -d "$3.p7" | openssl pkcs7 -inform der -print_certs > "$3.pem"
	echo "$code"
}
tk=$(token example www.example.com)
[ -n "$tk" ] || fail "alice could not create an enrollment token"
code=$(enroll "$tk" www.example.com web1)
[ "$code" = 200 ] || fail "EST simpleenroll answered $code: $(cat web1.p7)"
openssl verify -CAfile cer/out/root.pem -untrusted data/ca/example/issuing-1.pem web1.pem > v.txt 2>&1 &&
	ok "EST enrollment with alice's token verifies to the ceremony root" ||
	bad "the issued certificate does not verify: $(cat v.txt)"

# -- 7. refusals ------------------------------------------------------------
tk=$(token example db.corp.example.com)
if [ -z "$tk" ]; then
	ok "no token for an excluded name (refused when the token is made)"
else
	code=$(enroll "$tk" db.corp.example.com corp)
	if [ "$code" = 403 ] && grep -qi 'constraint\|subtree' corp.p7; then
		ok "a name in the issuer's excluded subtree: 403 ($(head -c 120 corp.p7))"
	else
		bad "excluded name: HTTP $code $(head -c 200 corp.p7)"
	fi
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fake-ca.key \
	-out fake-ca.pem -days 2 -subj "/CN=Signet Operators" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout fake.key \
	-subj "/CN=alice" -out fake.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > fake.ext
openssl x509 -req -in fake.csr -CA fake-ca.pem -CAkey fake-ca.key -CAcreateserial -days 1 \
	-extfile fake.ext -out fake.pem 2>/dev/null
code=$(curl -s -o fake.out -w '%{http_code}' "${CA[@]}" --cert fake.pem --key fake.key \
	-H 'Content-Type: application/json' \
	-d '{"tenant":"example","profile":"service","names":["x.example.com"],"ttl":60,"uses":1}' \
	"$B/v1/tokens" 2>/dev/null)
if [ "$code" = 200 ]; then
	bad "a look-alike alice from another CA created a token"
else
	ok "a look-alike alice from another CA is refused (HTTP ${code:-none})"
fi

# -- 8. the second tenant ----------------------------------------------------
tk=$(token second api.example.com)
code=$(enroll "$tk" api.example.com api)
[ "$code" = 200 ] && openssl verify -CAfile cer/out/root.pem \
	-untrusted data/ca/second/second-1.pem api.pem >/dev/null 2>&1 &&
	ok "second tenant enrolls under second-1, verifies to the ceremony root" ||
	bad "second tenant enrollment: HTTP $code $(head -c 200 api.p7)"

# -- 9. rotation: issuing-2 takes over tenant example ---------------------
issuer issuing-2 example c3.conf
# One config change: the issuer block, and the profile moves to it.
python3 - signetd.conf "$W" <<'EOF'
import sys
p, w = sys.argv[1], sys.argv[2]
s = open(p).read()
blk = ('\tissuer "issuing-2" {\n\t\tkey = "issuing-2"\n'
       '\t\tcert = "%s/data/ca/example/issuing-2.pem"\n'
       '\t\tchain = "%s/data/ca/example/issuing-2.chain.pem"\n\t}\n') % (w, w)
t = s.index('tenant "example" {\n') + len('tenant "example" {\n')
s = s[:t] + blk + s[t:]
a = s.index('profile "service"', t)
s = s[:a] + s[a:].replace('issuer = "issuing-1"', 'issuer = "issuing-2"', 1)
open(p, 'w').write(s)
EOF
"$SIGNETD" -n -f signetd.conf > check.log 2>&1 || { cat check.log; fail "signetd -n refuses the rotated config"; }
kill -HUP "$PID"
ok=0
for _ in $(seq 1 50); do
	tk=$(token example www2.example.com)
	if [ -n "$tk" ]; then
		code=$(enroll "$tk" www2.example.com web2)
		if [ "$code" = 200 ] && openssl verify -CAfile cer/out/root.pem \
			-untrusted data/ca/example/issuing-2.pem web2.pem >/dev/null 2>&1; then
			ok=1
			break
		fi
	fi
	sleep 0.2
done
[ $ok = 1 ] && ok "after SIGHUP the profile issues under issuing-2" ||
	bad "rotation: no certificate under issuing-2 (HTTP $code $(head -c 200 web2.p7 2>/dev/null))"
ocsp() {	# ocsp CERT ISSUER -> openssl ocsp output
	openssl ocsp -issuer "$2" -cert "$1" -url "http://127.0.0.1:$HTTP/ocsp" \
		-CAfile cer/out/root.pem -timeout 10 2>&1
}
ocsp web1.pem data/ca/example/issuing-1.pem | grep -q 'web1.pem: good' &&
	ok "the old issuer still answers OCSP: good" || bad "old issuer OCSP: $(ocsp web1.pem data/ca/example/issuing-1.pem)"
SER=$(openssl x509 -in web1.pem -noout -serial | cut -d= -f2)
code=$(curl -s -o rev.out -w '%{http_code}' "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d "{\"tenant\":\"example\",\"serial\":\"$SER\",\"reason\":\"superseded\"}" "$B/v1/revoke")
[ "$code" = 200 ] || bad "revoking the old issuer's certificate: HTTP $code $(cat rev.out)"
ocsp web1.pem data/ca/example/issuing-1.pem | grep -q 'web1.pem: revoked' &&
	ok "the old issuer's certificate revoked after rotation: OCSP revoked" ||
	bad "old issuer OCSP after revoke: $(ocsp web1.pem data/ca/example/issuing-1.pem)"

kill "$PID" 2>/dev/null
wait "$PID" 2>/dev/null
PID=
if [ "$fails" -gt 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "operator path: all checks passed"

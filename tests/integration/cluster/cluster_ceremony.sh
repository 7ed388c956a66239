#!/usr/bin/env bash
# Two appliances under one ceremony root sharing one PostgreSQL ledger,
# provisioned as docs/cluster.md says, on three SoftHSMv2 tokens (the
# offline root's, node a's, node b's).  Both procedures:
#
#  1. One intermediate on every node: node a makes issuing-1 wrappable
#     (keygen -B), the ceremony signs it, export-key wraps it under a
#     transfer KEK split 2-of-3, import-key unwraps it into node b's token
#     with the attributes of a generated key (pkcs11-tool checks: sensitive,
#     not extractable, sign only), and no KEK is left in either token.
#     Tampered shares, a non-wrappable key and a blob for another
#     certificate are refused and leave nothing behind.
#  2. One intermediate per node: node b's own node-b, signed at the same
#     ceremony, in the same tenant, the key never leaving b's token.
#
# Then both nodes serve: a token made through a enrolls on b; every
# certificate verifies to the ceremony root with openssl; a revocation made
# through a is seen by b's OCSP (and a's) for issuing-1, by b's OCSP for
# node-b, and in both nodes' CRLs; the ledger records which node signed.
#
# usage: pgtest.sh run -- cluster_ceremony.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1 build=$2
: "${SIGNET_PG_CONNINFO:?run me under tests/support/pgtest.sh}"
# shellcheck source=../../support/ceremony.sh
. "$src/tests/support/ceremony.sh"
ceremony_need "$build" openssl curl pkcs11-tool python3 psql

W=$(mktemp -d "${TMPDIR:-/tmp}/signet-cluster-cer-XXXXXX")
declare -A PID
cleanup() {
	local n
	for n in "${!PID[@]}"; do kill "${PID[$n]}" 2>/dev/null && wait "${PID[$n]}" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
chmod 755 "$W"
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
fail() {
	echo "FAIL - $*"
	for f in a.log b.log; do [ -f $f ] && { echo "--- $f"; tail -n 20 $f; }; done
	exit 1
}
free_port() {
	python3 "$src/tests/support/ports.py" tcp	# below the ephemeral range
}
psql_q() { psql "$SIGNET_PG_CONNINFO" -Atqc "$1"; }

ceremony_tokens cer a b
pa() { SOFTHSM2_CONF=$W/a/softhsm2.conf "$PROV" "$@"; }
pb() { SOFTHSM2_CONF=$W/b/softhsm2.conf "$PROV" "$@"; }
# objects NODE: the token's objects as pkcs11-tool lists them.
objects() {
	SOFTHSM2_CONF=$W/$1/softhsm2.conf pkcs11-tool --module "$M" --token-label appliance \
		--login --pin "$(cat "$1/user.pin")" -O 2>/dev/null
}
# privattr NODE LABEL: "Usage|Access" of that private key.
privattr() {
	objects "$1" | awk -v l="$2" '
		/^Private Key Object/ { p = 1; next }
		/^[A-Z]/ { p = 0 }
		p && $1 == "label:" { lab = $2 }
		p && $1 == "Usage:" { sub(/^ *Usage: */, ""); u[lab] = $0 }
		p && $1 == "Access:" { sub(/^ *Access: */, ""); a[lab] = $0 }
		END { if (l in u) print u[l] "|" a[l] }'
}

# -- the ceremony root ------------------------------------------------------
ceremony_conf c1.conf in/issuing-1.csr out/issuing-1.pem
cer init -f c1.conf -y > init.log 2>&1 || { cat init.log; fail "ceremony init"; }
SH=(-s shares/alice.user.share -s shares/carol.user.share)
ok "ceremony init: the root in its own token"

umask 077
for n in a b; do
	openssl rand -hex 16 > $n/user.pin
	openssl rand -hex 16 > $n/so.pin
done
A=(-m "$M" -t appliance -p a/user.pin)
B=(-m "$M" -t appliance -p b/user.pin)
pa init-token "${A[@]}" -S a/so.pin > prov.log 2>&1 || { cat prov.log; fail "init-token a"; }
pb init-token "${B[@]}" -S b/so.pin >> prov.log 2>&1 || { cat prov.log; fail "init-token b"; }
# sign NODE KEY CONF: csr from NODE's token, signed at the ceremony.
sign() {
	ceremony_conf "$3" "in/$2.csr" "out/$2.pem"
	SOFTHSM2_CONF=$W/$1/softhsm2.conf "$PROV" csr -m "$M" -t appliance -p "$1/user.pin" \
		-l "$2" -s "/O=Example/CN=Example Issuing CA $2" -o "cer/in/$2.csr" >> prov.log 2>&1 ||
		{ cat prov.log; fail "csr $2"; }
	cer sign -f "$3" -y "${SH[@]}" >> sign.log 2>&1 || { cat sign.log; fail "ceremony sign $2"; }
}

# -- procedure 1: issuing-1 on both nodes -----------------------------------
pa keygen "${A[@]}" -l issuing-1 -k p256 -B >> prov.log 2>&1 || { cat prov.log; fail "keygen -B"; }
sign a issuing-1 c1.conf
pa install "${A[@]}" -l issuing-1 -c cer/out/issuing-1.pem -r cer/out/root.pem -d "$W/a/data" \
	-T example -n issuing-1 >> prov.log 2>&1 || { cat prov.log; fail "install issuing-1 on a"; }
mkdir -m 700 xfer
pa export-key "${A[@]}" -S a/so.pin -l issuing-1 -c cer/out/issuing-1.pem \
	-o xfer/issuing-1.wrapped -K xfer/shares > export.log 2>&1 || { cat export.log; fail "export-key"; }
[ "$(stat -c %a xfer/issuing-1.wrapped)" = 600 ] && [ "$(ls xfer/shares | wc -l)" = 3 ] &&
	[ "$(stat -c %a xfer/shares/issuing-1.kek.2.share)" = 600 ] ||
	bad "export-key outputs: $(ls -l xfer xfer/shares)"
! objects a | grep -q signet-transfer-kek && ok "export-key: issuing-1 wrapped (0600 blob, 3 KEK shares), no KEK left in a's token" ||
	bad "a transfer KEK is left in a's token: $(objects a)"
if pa export-key "${A[@]}" -S a/so.pin -l issuing-1 -c cer/out/issuing-1.pem \
	-o xfer/issuing-1.wrapped -K xfer/shares > again.log 2>&1; then
	bad "export-key wrote over its outputs"
else
	grep -q "exists: refusing to overwrite" again.log && ok "export-key refuses to overwrite: $(cat again.log)" ||
		bad "export-key again: $(cat again.log)"
fi

# Refusals first: a tampered share, then a blob for another certificate.
python3 - xfer/shares/issuing-1.kek.1.share bad.share <<'EOF2'
import sys
lines = open(sys.argv[1]).read().split('\n')
c = lines[3][5]
lines[3] = lines[3][:5] + ('B' if c == 'A' else 'A') + lines[3][6:]
open(sys.argv[2], 'w').write('\n'.join(lines))
EOF2
cmp -s bad.share xfer/shares/issuing-1.kek.1.share && fail "could not tamper with the share"
st=0
pb import-key "${B[@]}" -S b/so.pin -c cer/out/issuing-1.pem -i xfer/issuing-1.wrapped \
	-K bad.share -K xfer/shares/issuing-1.kek.3.share > imp.log 2>&1 || st=$?
if [ $st = 1 ] && grep -q 'bad.share' imp.log && [ -z "$(privattr b issuing-1)" ] &&
	! objects b | grep -q signet-transfer-kek; then
	ok "import-key with a tampered share: exit 1 naming it ($(tail -n 1 imp.log)), nothing in b's token"
else
	bad "tampered share: exit $st, $(cat imp.log); b: $(objects b)"
fi
# A second export draws a new KEK: its shares do not open the first blob.
pa export-key "${A[@]}" -S a/so.pin -l issuing-1 -c cer/out/issuing-1.pem \
	-o xfer/second.wrapped -K xfer/second > export.log 2>&1 || { cat export.log; fail "second export-key"; }
st=0
pb import-key "${B[@]}" -S b/so.pin -c cer/out/issuing-1.pem -i xfer/issuing-1.wrapped \
	-K xfer/second/issuing-1.kek.1.share -K xfer/second/issuing-1.kek.2.share > imp.log 2>&1 || st=$?
[ $st = 1 ] && grep -q 'belongs to secret' imp.log && [ -z "$(privattr b issuing-1)" ] &&
	ok "import-key with the shares of another export: exit 1 ($(tail -n 1 imp.log)), nothing imported" ||
	bad "shares of another export: exit $st, $(cat imp.log)"
st=0
pb import-key "${B[@]}" -S b/so.pin -c cer/out/root.pem -i xfer/issuing-1.wrapped \
	-K xfer/shares/issuing-1.kek.1.share -K xfer/shares/issuing-1.kek.3.share > imp.log 2>&1 || st=$?
[ $st = 1 ] && grep -q 'another certificate' imp.log && [ -z "$(privattr b issuing-1)" ] &&
	ok "import-key with the certificate of another key: exit 1, nothing imported" ||
	bad "import with another certificate: exit $st, $(cat imp.log)"

pb import-key "${B[@]}" -S b/so.pin -c cer/out/issuing-1.pem -i xfer/issuing-1.wrapped \
	-K xfer/shares/issuing-1.kek.1.share -K xfer/shares/issuing-1.kek.3.share > imp.log 2>&1 ||
	{ cat imp.log; fail "import-key"; }
got=$(privattr b issuing-1)
usage=${got%%|*} access=${got#*|}
gen=$(privattr a issuing-1)
if [ "$usage" = sign ] && [ "$usage" = "${gen%%|*}" ] && [[ "$access" == *sensitive* ]] &&
	[[ "$access" != *extractable* ]] && ! objects b | grep -q signet-transfer-kek; then
	ok "import-key: issuing-1 in b's token, Usage '$usage' as generated, Access '$access' (not extractable), no KEK left"
else
	bad "imported key attributes: b '$got', a (generated) '$gen'; $(objects b)"
fi
pb import-key "${B[@]}" -S b/so.pin -c cer/out/issuing-1.pem -i xfer/issuing-1.wrapped \
	-K xfer/shares/issuing-1.kek.2.share -K xfer/shares/issuing-1.kek.3.share > imp.log 2>&1 &&
	grep -q "already in token" imp.log && ok "import-key again: already there, exit 0" ||
	bad "import-key again: $(cat imp.log)"
pb install "${B[@]}" -l issuing-1 -c cer/out/issuing-1.pem -r cer/out/root.pem -d "$W/b/data" \
	-T example -n issuing-1 >> prov.log 2>&1 || { cat prov.log; fail "install issuing-1 on b"; }
ok "install on b: the ceremony's certificate certifies the imported key"

# -- procedure 2: node-b, b's own intermediate in the same tenant -----------
pb keygen "${B[@]}" -l node-b -k p256 >> prov.log 2>&1 || { cat prov.log; fail "keygen node-b"; }
sign b node-b c2.conf
pb install "${B[@]}" -l node-b -c cer/out/node-b.pem -r cer/out/root.pem -d "$W/b/data" \
	-T example -n node-b >> prov.log 2>&1 || { cat prov.log; fail "install node-b"; }
st=0
pb export-key "${B[@]}" -S b/so.pin -l node-b -c cer/out/node-b.pem -o xfer/node-b.wrapped \
	-K xfer/shares > exp.log 2>&1 || st=$?
[ $st = 1 ] && grep -q 'non-extractable' exp.log && [ ! -e xfer/node-b.wrapped ] &&
	! objects b | grep -q signet-transfer-kek &&
	ok "export-key of a key made without -B: exit 1 ($(cat exp.log)), nothing written" ||
	bad "export of node-b: exit $st, $(cat exp.log)"
ok "node-b: b's own intermediate, signed at the same ceremony, installed in tenant example"

# -- server identities, operators, configs ----------------------------------
for n in a b; do
	SOFTHSM2_CONF=$W/$n/softhsm2.conf "$PROV" tls -m "$M" -t appliance -p "$n/user.pin" \
		-l issuing-1 -c "$W/$n/data/ca/example/issuing-1.pem" \
		-r "$W/$n/data/ca/example/issuing-1.chain.pem" -N ca.example.com -d "$W/$n/data" \
		>> prov.log 2>&1 || { cat prov.log; fail "tls on $n"; }
	SOFTHSM2_CONF=$W/$n/softhsm2.conf "$PROV" operator -m "$M" -t appliance -p "$n/user.pin" \
		-l operators-ca -N alice -d "$W/$n/data" >> prov.log 2>&1 || { cat prov.log; fail "operator on $n"; }
done
ok "tls on b: its server certificate signed by the imported issuing-1"
declare -A HTTPS HTTP
for n in a b; do
	HTTPS[$n]=$(free_port) HTTP[$n]=$(free_port)
	SOFTHSM2_CONF=$W/$n/softhsm2.conf "$PROV" config -m "$M" -t appliance -p "$W/$n/user.pin" \
		-d "$W/$n/data" -o "$n/gen.conf" -u "http://127.0.0.1:${HTTP[$n]}" > config.log 2>&1 ||
		{ cat config.log; fail "config on $n"; }
	sed -e "s/0.0.0.0:8443/127.0.0.1:${HTTPS[$n]}/; s/0.0.0.0:8080/127.0.0.1:${HTTP[$n]}/" \
		-e '/coap = /d' -e 's/backend = "sqlite"/backend = "pgsql"/' \
		-e "s|path = \"$W/$n/data/ledger.db\"|path = \"$SIGNET_PG_CONNINFO node=$n\"|" \
		"$n/gen.conf" > "$n/signetd.conf"
done
grep -q 'issuer "node-b"' b/signetd.conf && grep -q 'issuer "issuing-1"' b/signetd.conf &&
	! grep -q 'issuer "node-b"' a/signetd.conf || bad "configs: $(grep -h 'issuer "' a/signetd.conf b/signetd.conf)"
# b's second profile issues from node-b (procedure 2).
python3 - b/signetd.conf <<'EOF'
import sys, re
p = sys.argv[1]
s = open(p).read()
a = s.index('\tprofile "service" {')
depth, i = 0, a
while True:
	if s[i] == '{': depth += 1
	elif s[i] == '}':
		depth -= 1
		if depth == 0: break
	i += 1
blk = s[a:i + 1]
nb = blk.replace('profile "service"', 'profile "service-b"').replace('issuer = "issuing-1"', 'issuer = "node-b"')
nb = re.sub(r'est_label = "([^"]*)"', r'est_label = "\1-b"', nb)
assert nb != blk and 'issuer = "node-b"' in nb
s = s[:i + 1] + '\n' + nb + s[i + 1:]
open(p, 'w').write(s)
EOF
for n in a b; do
	grep -q 'backend = "pgsql"' $n/signetd.conf || fail "$n: no pgsql backend in $(cat $n/signetd.conf)"
	"$SIGNETD" -n -f $n/signetd.conf > check.log 2>&1 || { cat check.log; fail "signetd -n on $n"; }
done
ok "config on each node, storage moved to the shared PostgreSQL ledger; signetd -n accepts both"
for n in a b; do
	( SOFTHSM2_CONF=$W/$n/softhsm2.conf exec "$SIGNETD" -f $n/signetd.conf ) > $n.log 2>&1 &
	PID[$n]=$!
done
CA=(--cacert cer/out/root.pem)
url() { echo "https://ca.example.com:${HTTPS[$1]}"; }
res() { echo "--resolve ca.example.com:${HTTPS[$1]}:127.0.0.1"; }
for n in a b; do
	for _ in $(seq 1 300); do
		# shellcheck disable=SC2046
		curl -sf -o /dev/null "${CA[@]}" $(res $n) "$(url $n)/.well-known/est/cacerts" && break
		kill -0 "${PID[$n]}" 2>/dev/null || fail "signetd on $n exited"
		sleep 0.2
	done
	# shellcheck disable=SC2046
	curl -sf -o /dev/null "${CA[@]}" $(res $n) "$(url $n)/.well-known/est/cacerts" || fail "$n did not come up"
done
ok "both nodes serve on one ledger; each server certificate verifies to the ceremony root"

# token NODE PROFILE NAME: made by alice through NODE.
token() {
	# shellcheck disable=SC2046
	curl -s "${CA[@]}" $(res $1) --cert "$1/data/operator/alice.pem" --key "$1/data/operator/alice.key" \
		-H 'Content-Type: application/json' \
		-d "{\"tenant\":\"example\",\"profile\":\"$2\",\"names\":[\"$3\"],\"ttl\":3600,\"uses\":1}" \
		"$(url $1)/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}
# enroll NODE TOKEN NAME OUT -> HTTP code; OUT.pem
enroll() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$4.key" \
		-subj "/CN=$3" -addext "subjectAltName=DNS:$3" -outform DER 2>/dev/null | base64 -w0 > "$4.csr"
	local code
	# shellcheck disable=SC2046
	code=$(curl -s -o "$4.p7" -w '%{http_code}' "${CA[@]}" $(res $1) -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/pkcs10' --data-binary @"$4.csr" \
		"$(url $1)/.well-known/est/simpleenroll")
	[ "$code" = 200 ] && base64 -d "$4.p7" | openssl pkcs7 -inform der -print_certs > "$4.pem"
	echo "$code"
}
vfy() { openssl verify -CAfile cer/out/root.pem -untrusted "cer/out/$2.pem" "$1.pem" > v.txt 2>&1; }
node_of() {
	psql_q "select node from certs where serial = '\\x$(openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2)'::bytea"
}
tk=$(token a service www1.example.com)
code=$(enroll a "$tk" www1.example.com c1)
[ "$code" = 200 ] && vfy c1 issuing-1 && [ "$(node_of c1)" = a ] &&
	ok "a issues under issuing-1; openssl verify to the ceremony root; ledger node a" ||
	bad "a's enrollment: HTTP $code $(head -c 200 c1.p7) $(cat v.txt) node=$(node_of c1)"
tk=$(token a service www2.example.com)
code=$(enroll b "$tk" www2.example.com c2)
[ "$code" = 200 ] && vfy c2 issuing-1 && [ "$(node_of c2)" = b ] &&
	ok "a token made through a enrolls on b, signed by b's copy of issuing-1; verifies to the root; ledger node b" ||
	bad "b's issuing-1 enrollment: HTTP $code $(head -c 200 c2.p7) $(cat v.txt) node=$(node_of c2)"
tk=$(token b service-b www3.example.com)
code=$(enroll b "$tk" www3.example.com c3)
[ "$code" = 200 ] && vfy c3 node-b && [ "$(node_of c3)" = b ] &&
	ok "b issues under its own node-b; verifies to the ceremony root" ||
	bad "node-b enrollment: HTTP $code $(head -c 200 c3.p7) $(cat v.txt)"

# -- a revocation through a, seen by b --------------------------------------
ocsp() {	# ocsp NODE CERT ISSUER -> openssl ocsp's verdict line
	openssl ocsp -no_nonce -issuer "cer/out/$3.pem" -cert "$2.pem" \
		-url "http://127.0.0.1:${HTTP[$1]}/ocsp" -CAfile cer/out/root.pem -timeout 10 2>&1
}
for c in c2:issuing-1 c3:node-b; do
	ocsp b ${c%%:*} ${c#*:} | grep -q "${c%%:*}.pem: good" || bad "b's OCSP for ${c%%:*} before: $(ocsp b ${c%%:*} ${c#*:})"
done
revoke() {
	local s
	s=$(openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2)
	# shellcheck disable=SC2046
	curl -s -o rev.out -w '%{http_code}' "${CA[@]}" $(res a) --cert a/data/operator/alice.pem \
		--key a/data/operator/alice.key -H 'Content-Type: application/json' \
		-d "{\"tenant\":\"example\",\"serial\":\"$s\",\"reason\":\"keyCompromise\"}" "$(url a)/v1/revoke"
}
for c in c2 c3; do
	code=$(revoke $c)
	[ "$code" = 200 ] || bad "revoking $c through a: HTTP $code $(cat rev.out)"
done
t0=$(date +%s)
# until NODE CERT ISSUER: waits (at most 60 s: the OCSP cache) for revoked.
until_revoked() {
	until ocsp "$1" "$2" "$3" | grep -q "$2.pem: revoked"; do
		[ $(($(date +%s) - t0)) -le 60 ] || return 1
		sleep 2
	done
}
until_revoked b c2 issuing-1 && until_revoked a c2 issuing-1 &&
	ok "c2 (issued by b under issuing-1) revoked through a: OCSP of b and a say revoked" ||
	bad "issuing-1 OCSP after revocation through a: b: $(ocsp b c2 issuing-1) a: $(ocsp a c2 issuing-1)"
until_revoked b c3 node-b &&
	ok "c3 (issued by b under node-b) revoked through a: b's OCSP says revoked" ||
	bad "node-b OCSP after revocation through a: $(ocsp b c3 node-b)"
S2=$(openssl x509 -in c2.pem -noout -serial | cut -d= -f2)
S3=$(openssl x509 -in c3.pem -noout -serial | cut -d= -f2)
crl_has() {	# crl_has NODE ISSUER SERIAL
	until curl -sf "http://127.0.0.1:${HTTP[$1]}/crl/$2.crl" > crl.der &&
		openssl crl -inform der -in crl.der -CAfile <(cat cer/out/root.pem "cer/out/$2.pem") \
			-noout 2>/dev/null &&
		openssl crl -inform der -in crl.der -noout -text | grep -qi "$3"; do
		[ $(($(date +%s) - t0)) -le 60 ] || return 1
		sleep 2
	done
}
crl_has a issuing-1 "$S2" && crl_has b issuing-1 "$S2" && crl_has b node-b "$S3" &&
	ok "the CRLs of issuing-1 (a and b) and node-b (b) list the revocations and verify to the root" ||
	bad "CRLs after revocation"

for n in a b; do kill "${PID[$n]}" 2>/dev/null; wait "${PID[$n]}" 2>/dev/null; unset "PID[$n]"; done
if [ "$fails" -gt 0 ]; then
	echo "$fails check(s) failed"
	for f in a.log b.log; do echo "--- $f"; tail -n 20 $f; done
	exit 1
fi
echo "cluster under a ceremony root: all checks passed"

#!/usr/bin/env bash
# The appliance side of the root ceremony with signet-provision: the
# intermediate key is generated in a fresh SoftHSMv2 token, its CSR is
# signed through the token and verifies, and install accepts only a CA
# certificate for that very key that chains to the given root.
# usage: install.sh SIGNET_PROVISION
set -euo pipefail
prov=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
npass=0
pass() { echo "ok - $*"; npass=$((npass + 1)); }
mkdir -p tokens
umask 077
printf 'directories.tokendir = %s/tokens\n' "$work" > softhsm2.conf
export SOFTHSM2_CONF=$work/softhsm2.conf
openssl rand -hex 16 > user.pin
openssl rand -hex 16 > so.pin
M=/usr/lib/softhsm/libsofthsm2.so
T=(-m "$M" -t appliance -p user.pin)
"$prov" init-token "${T[@]}" -S so.pin >/dev/null
"$prov" keygen "${T[@]}" -l intermediate -k p256 >/dev/null
"$prov" csr "${T[@]}" -l intermediate -s "/O=Example/CN=Example Issuing CA" -o inter.csr >/dev/null
openssl req -in inter.csr -verify -noout 2>&1 | grep -q 'verify OK' || fail "CSR signature"
openssl req -in inter.csr -noout -subject | grep -q 'CN = Example Issuing CA' || fail "CSR subject"
"$prov" csr "${T[@]}" -l intermediate -s "/O=X/CN=Y" -o inter.csr >/dev/null 2>&1 && fail "csr overwrote a file"
pass "CSR signed in the token verifies; an existing file is not overwritten"

# The ceremony's part, played here by openssl with a software root.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key \
	-subj "/CN=Test Root" -days 30 -out root.pem 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 20 \
	-extfile ca.ext -out inter.pem 2>/dev/null
# Wrong key: a CA certificate for some other key.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
	-subj "/CN=Other" -out other.csr 2>/dev/null
openssl x509 -req -in other.csr -CA root.pem -CAkey root.key -CAcreateserial -days 20 \
	-extfile ca.ext -out other.pem 2>/dev/null
set +e
"$prov" install "${T[@]}" -l intermediate -c other.pem -r root.pem -d data > out 2>&1; st=$?
set -e
[ "$st" = 1 ] && grep -q 'does not certify token key' out || fail "wrong key: $st $(cat out)"
[ ! -e data/ca/intermediate.pem ] || fail "wrong key left a file"
pass "a certificate for another key is refused (exit 1), nothing written"
# Right key, wrong root.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout evil.key \
	-subj "/CN=Evil Root" -days 30 -out evil.pem 2>/dev/null
set +e
"$prov" install "${T[@]}" -l intermediate -c inter.pem -r evil.pem -d data > out 2>&1; st=$?
set -e
[ "$st" = 1 ] && grep -q 'does not chain' out || fail "wrong root: $st $(cat out)"
pass "a certificate that does not chain to the root is refused (exit 1)"
# Not a CA.
printf 'basicConstraints=critical,CA:FALSE\n' > leaf.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 20 \
	-extfile leaf.ext -out leaf.pem 2>/dev/null
set +e
"$prov" install "${T[@]}" -l intermediate -c leaf.pem -r root.pem -d data > out 2>&1; st=$?
set -e
[ "$st" = 1 ] && grep -q 'not a CA' out || fail "not a CA: $st $(cat out)"
pass "a non-CA certificate is refused (exit 1)"
"$prov" install "${T[@]}" -l intermediate -c inter.pem -r root.pem -d data >/dev/null || fail "install"
cmp <(openssl x509 -in inter.pem -outform der) <(openssl x509 -in data/ca/intermediate.pem -outform der) ||
	fail "installed certificate differs"
openssl verify -CAfile data/ca/root.pem data/ca/intermediate.pem >/dev/null || fail "installed chain"
pass "the ceremony-signed intermediate is installed with its root (data/ca made by install)"
"$prov" install "${T[@]}" -l intermediate -c inter.pem -r root.pem -d data >out 2>&1 ||
	fail "install again: $(cat out)"
grep -q 'already installed' out || fail "install again: $(cat out)"
pass "install again with the same certificate: already installed, exit 0"
# Named issuers per tenant, in a data directory that does not exist yet.
"$prov" keygen "${T[@]}" -l beta-issuing -k p256 >/dev/null
"$prov" csr "${T[@]}" -l beta-issuing -s "/CN=Beta Issuing CA" -o beta.csr >/dev/null
openssl x509 -req -in beta.csr -CA root.pem -CAkey root.key -CAcreateserial -days 20 \
	-extfile ca.ext -out beta.pem 2>/dev/null
"$prov" install "${T[@]}" -l intermediate -c inter.pem -r root.pem -d fresh -T acme -n issuing-1 >out 2>&1 ||
	fail "named install: $(cat out)"
"$prov" install "${T[@]}" -l beta-issuing -c beta.pem -r root.pem -d fresh -T beta -n issuing-1 >out2 2>&1 ||
	fail "second tenant: $(cat out2)"
for f in fresh/ca/acme/issuing-1.pem fresh/ca/acme/issuing-1.chain.pem fresh/ca/beta/issuing-1.pem; do
	[ -f "$f" ] || fail "$f not written"
done
openssl verify -CAfile fresh/ca/beta/issuing-1.chain.pem fresh/ca/beta/issuing-1.pem >/dev/null ||
	fail "beta chain"
grep -q 'tenant "acme"' out && grep -q 'cert = "fresh/ca/acme/issuing-1.pem"' out ||
	fail "no configuration snippet: $(cat out)"
pass "two tenants' issuers under one new data directory, each with its chain"
cp fresh/ca/acme/issuing-1.pem before.pem
set +e
"$prov" install "${T[@]}" -l beta-issuing -c beta.pem -r root.pem -d fresh -T acme -n issuing-1 >out 2>&1; st=$?
set -e
[ "$st" = 1 ] && grep -q 'refusing to overwrite' out || fail "overwrite: $st $(cat out)"
cmp before.pem fresh/ca/acme/issuing-1.pem || fail "an installed issuer was overwritten"
[ -z "$(ls fresh/ca/acme | grep -v "\.pem$")" ] || fail "temporary file left: $(ls fresh/ca/acme)"
set +e
"$prov" install "${T[@]}" -l intermediate -c inter.pem -r root.pem -d fresh -T ../x -n a >out 2>&1; st=$?
set -e
[ "$st" = 2 ] || fail "a tenant name with a slash: $st"
pass "another certificate under an installed name is refused (exit 1), file unchanged; bad names refused"

# tls: the server identity from an installed, name-constrained issuer.
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nnameConstraints=critical,permitted;DNS:example.com\n' > nc.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 20 \
	-extfile nc.ext -out nc.pem 2>/dev/null
"$prov" install "${T[@]}" -l intermediate -c nc.pem -r root.pem -d fresh -T acme -n nc-1 >/dev/null
I=(-c fresh/ca/acme/nc-1.pem -r fresh/ca/acme/nc-1.chain.pem)
set +e
"$prov" tls "${T[@]}" -l intermediate "${I[@]}" -N ca.example.com,www.evil.org -d fresh >out 2>&1; st=$?
set -e
[ "$st" = 1 ] && grep -q "outside the intermediate's name constraints" out || fail "constraints: $st $(cat out)"
[ ! -e fresh/tls/server.pem ] && [ ! -e fresh/tls/server.key ] || fail "a refused name left files"
pass "tls: a name outside the intermediate's constraints is refused (exit 1), nothing written"
"$prov" tls "${T[@]}" -l intermediate "${I[@]}" -N ca.example.com,127.0.0.1 -d fresh >out 2>&1 ||
	fail "tls: $(cat out)"
[ "$(stat -c %a fresh/tls/server.key)" = 600 ] || fail "server key mode"
openssl verify -purpose sslserver -CAfile root.pem -untrusted fresh/ca/acme/nc-1.pem fresh/tls/server.pem >/dev/null ||
	fail "server certificate does not verify"
openssl x509 -in fresh/tls/server.pem -noout -ext subjectAltName | grep -q 'DNS:ca.example.com, IP Address:127.0.0.1' ||
	fail "server names"
[ "$(openssl x509 -in fresh/tls/server.pem -noout -pubkey)" = "$(openssl pkey -in fresh/tls/server.key -pubout)" ] ||
	fail "server key and certificate differ"
"$prov" tls "${T[@]}" -l intermediate "${I[@]}" -N ca.example.com,127.0.0.1 -d fresh >out 2>&1 ||
	fail "tls again: $(cat out)"
cp fresh/tls/server.pem srv.before
set +e
"$prov" tls "${T[@]}" -l intermediate "${I[@]}" -N other.example.com -d fresh >out 2>&1; st=$?
set -e
[ "$st" = 1 ] && grep -q 'refusing to overwrite' out || fail "tls overwrite: $st $(cat out)"
cmp srv.before fresh/tls/server.pem || fail "server certificate overwritten"
pass "tls: server identity issued in the token, verifies, 0600 key; re-run exit 0; other names refused"

# operator: an operator CA in the token and the first operator.
"$prov" operator "${T[@]}" -l operator-ca -N alice -d fresh >out 2>&1 || fail "operator: $(cat out)"
openssl verify -purpose sslclient -CAfile fresh/ca/operators.pem fresh/operator/alice.pem >/dev/null ||
	fail "operator certificate does not verify to the operator CA"
openssl x509 -in fresh/operator/alice.pem -noout -subject | grep -q 'CN *= *alice' || fail "operator CN"
"$prov" show "${T[@]}" | grep -q 'label="operator-ca"' || fail "operator CA key not in the token"
grep -q 'cn = "alice"' out || fail "no client block printed: $(cat out)"
grep -q 'issuer_cert = { ".*/ca/operators.pem" }' out || fail "client block names no client CA: $(cat out)"
"$prov" operator "${T[@]}" -l operator-ca -N alice -d fresh >out 2>&1 || fail "operator again: $(cat out)"
set +e
"$prov" operator "${T[@]}" -l intermediate -N bob -d fresh >out 2>&1; st=$?
set -e
[ "$st" = 1 ] && grep -q 'refusing to overwrite' out || fail "operator CA overwrite: $st $(cat out)"
pass "operator: CA key in the token, client certificate for alice verifies; re-run exit 0; another CA key refused"
echo "$npass passed, 0 failed"

#!/usr/bin/env bash
# The offline root ceremony end to end on SoftHSMv2 tokens in a temporary
# directory: init, every pair of shares, bad shares named, signing an
# intermediate, a chain and name constraints checked by `openssl verify`,
# key attributes by pkcs11-tool, revoke and CRL, backup, destroy, restore,
# transcript edits, and bad input refused with signify's exit codes and
# no partial output.  Usage: ceremony.sh signet-ceremony cer_pin_tool module
set -uo pipefail

CER=$(realpath "$1")
PINTOOL=$(realpath "$2")
MODULE=${3:-/usr/lib/softhsm/libsofthsm2.so}
case $MODULE in *NOTFOUND*|"") MODULE=/usr/lib/softhsm/libsofthsm2.so ;; esac
for t in openssl pkcs11-tool; do
	command -v $t >/dev/null || { echo "FAIL: $t is missing"; exit 1; }
done
[ -r "$MODULE" ] || { echo "FAIL: SoftHSMv2 module $MODULE missing"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/signet-ceremony-XXXXXX")
trap 'rm -rf "$W"' EXIT
cd "$W"
fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }

# expect STATUS PATTERN DESCRIPTION -- command...: exit status and stderr.
expect() {
	local want=$1 pat=$2 what=$3
	shift 4
	"$@" >out.log 2>err.log
	local got=$?
	if [ "$got" != "$want" ]; then
		bad "$what: exit $got, wanted $want"; cat err.log; return
	fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" err.log; then
		bad "$what: stderr lacks \"$pat\""; cat err.log; return
	fi
	ok "$what"
}
no_partial() {
	if ls "$W"/out/*.tmp.* "$W"/state/*.tmp.* "$W"/shares/*.tmp.* \
	    >/dev/null 2>&1; then
		bad "temporary files left behind"
	fi
}

mkdir tokens out in state
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$W" > softhsm2.conf
export SOFTHSM2_CONF=$W/softhsm2.conf

write_conf() {	# write_conf FILE INT_VALIDITY CSR CERT
	cat > "$1" <<EOF
# A ceremony file as the custodians review it.
state = "state/ceremony.state"
transcript = "state/transcript"
token {
	module = "$MODULE"
	label = "signet-root"
}
root {
	key = "p256"
	key_label = "signet-root"
	validity = "3650d"
	cert = "out/root.pem"
	subject {
		CN = "Signet Test Root"
		O = "Signet Test"
	}
}
custody {
	custodians = { "alice", "bob", "carol" }
	shares_dir = "shares"
	qr = true
}
intermediate {
	csr = "$3"
	cert = "$4"
	validity = "$2"
	path_length = 0
	permitted_dns = { "example.com" }
	excluded_dns = { "bad.example.com" }
	subject {
		CN = "Signet Test Intermediate"
		O = "Signet Test"
	}
}
crl {
	file = "out/root.crl"
	next_update = "30d"
}
backup {
	blob = "out/root.wrapped"
}
EOF
}
write_conf c.conf 1825d in/int.csr out/int.pem
S=shares

# -- init as docs/ceremony.md has it, in a directory with nothing in it --
token_absent() {	# token_absent LABEL: 0 if no token has that label
	! pkcs11-tool --module "$MODULE" -L 2>/dev/null | grep -q "token label *: *$1\$"
}
mkdir fresh
write_conf fresh/c.conf 1825d in/int.csr out/int.pem
sed -i 's/label = "signet-root"/label = "fresh-root"/' fresh/c.conf
: > fresh/out	# the output directory cannot be made
expect 2 "fresh/out" "init names an output directory it cannot make" -- \
    "$CER" init -f fresh/c.conf -y
token_absent fresh-root && ok "a failed init leaves no token" ||
    bad "a failed init left token fresh-root behind"
ls fresh/shares/*.share >/dev/null 2>&1 && bad "a failed init left shares"
rm fresh/out
if [ "$(id -u)" != 0 ]; then	# root writes anywhere: only as a user
	mkdir fresh/out && chmod 555 fresh/out
	expect 2 "cannot write" "init names a read-only output directory" -- \
	    "$CER" init -f fresh/c.conf -y
	token_absent fresh-root || bad "init into a read-only out/ left a token"
	chmod 755 fresh/out && rmdir fresh/out
fi
expect 0 "" "init in a fresh directory creates out/, state/, in/" -- \
    "$CER" init -f fresh/c.conf -y
[ -d fresh/out ] && [ -d fresh/state ] && [ -d fresh/in ] &&
    [ -f fresh/out/root.pem ] && [ "$(stat -c %a fresh/state)" = 700 ] &&
    ok "directories made (state/ 0700), root certificate written" ||
    bad "directories after init: $(ls -l fresh)"

# -- init -------------------------------------------------------------
expect 2 "missing -f" "usage names what is missing" -- "$CER" init
expect 0 "" "init" -- "$CER" init -f c.conf -y
for p in alice bob carol; do
	[ -f $S/$p.user.share ] && [ -f $S/$p.so.share ] ||
	    bad "share files for $p"
	[ "$(stat -c %a $S/$p.user.share)" = 600 ] || bad "$p share mode"
done
expect 1 "exists" "init refuses to run twice" -- "$CER" init -f c.conf -y

# -- key attributes with pkcs11-tool (PIN rebuilt by the test helper) --
PIN=$("$PINTOOL" $S/alice.user.share $S/bob.user.share)
pkcs11-tool --module "$MODULE" --token-label signet-root --login \
    --pin "$PIN" -O --type privkey > p11.txt 2>&1
if grep -q "sensitive" p11.txt && ! grep -q "never extractable" p11.txt &&
    grep -q "label: *signet-root" p11.txt; then
	ok "root key: sensitive, wrappable only (pkcs11-tool)"
else
	bad "root key attributes"; cat p11.txt
fi
pkcs11-tool --module "$MODULE" --token-label signet-root --login \
    --pin "$PIN" -O --type pubkey > pub.generated.txt 2>&1

# -- every pair of shares works; one alone, bad ones named -------------
n=0
for pair in "alice bob" "alice carol" "bob carol"; do
	set -- $pair
	expect 0 "" "shares $1+$2 open the root (crl)" -- \
	    "$CER" crl -f c.conf -y -s $S/$1.user.share -s $S/$2.user.share
	n=$((n + 1))
done
openssl crl -in out/root.crl -noout -text | grep -A1 "CRL Number" |
    grep -q "^ *$n\$" && ok "CRL number increased to $n" ||
    bad "CRL number is not $n"
expect 1 "1 user-PIN share given, 2 needed" "one share alone fails" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share
sed 's/^\([A-Z2-7]\)\([A-Z2-7]\)/\2\1/' $S/bob.user.share > in/typo.share
grep -q . in/typo.share; cmp -s in/typo.share $S/bob.user.share &&
    bad "typo not made"
expect 1 "in/typo.share: checksum mismatch" "corrupted share named" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share -s in/typo.share
cp $S/alice.user.share in/copy.share
expect 1 "in/copy.share: duplicates $S/alice.user.share" \
    "duplicated share named" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share -s in/copy.share
expect 1 "$S/bob.so.share: is a SO-PIN share" "relabelled share named" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share -s $S/bob.so.share
# A share of another ceremony's PIN.
mkdir other && (cd other && mkdir tokens state out &&
    sed "s|$W/tokens|$W/other/tokens|" ../softhsm2.conf > softhsm2.conf &&
    cp ../c.conf c.conf &&
    SOFTHSM2_CONF=$W/other/softhsm2.conf "$CER" init -f c.conf -y \
    >/dev/null 2>&1) || bad "second ceremony"
expect 1 "other/shares/bob.user.share: belongs to secret" \
    "share of another ceremony named" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share -s other/shares/bob.user.share
no_partial

# -- the appliance's CSR, signing, chain, name constraints -------------
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout in/int.key -subj "/CN=appliance" -out in/int.csr 2>/dev/null
# A CSR whose signature does not verify: flip a byte of the signature.
openssl req -in in/int.csr -outform DER -out in/int.der
python3 - in/int.der in/forged.der <<'EOF'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[-5] ^= 0x01
open(sys.argv[2], 'wb').write(d)
EOF
write_conf forged.conf 1825d in/forged.der out/forged.pem
expect 1 "CSR signature does not verify" "CSR with a bad signature" -- \
    "$CER" sign -f forged.conf -y -s $S/alice.user.share -s $S/bob.user.share
[ -e out/forged.pem ] && bad "forged CSR left a certificate"
write_conf long.conf 4000d in/int.csr out/long.pem
expect 1 "ends after the root's notAfter" "validity beyond the root" -- \
    "$CER" sign -f long.conf -y -s $S/alice.user.share -s $S/bob.user.share
[ -e out/long.pem ] && bad "over-long validity left a certificate"
printf 'root {\n\tpin = "1234"\n}\n' > unknown.conf
cat c.conf >> unknown.conf
expect 1 "unknown.conf:2:" "ceremony file with an unknown key" -- \
    "$CER" sign -f unknown.conf -y
expect 0 "" "sign the intermediate" -- \
    "$CER" sign -f c.conf -y -s $S/carol.user.share -s $S/bob.user.share
no_partial
openssl x509 -in out/int.pem -noout -text > int.txt
grep -q "CA:TRUE, pathlen:0" int.txt && grep -q "DNS:example.com" int.txt &&
    ok "intermediate: CA, pathlen 0, name constraints" ||
    bad "intermediate extensions"

leaf() {	# leaf NAME DNS [CA-CERT CA-KEY]: a server certificate
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout in/$1.key -subj "/CN=$2" -out in/$1.csr 2>/dev/null
	printf 'subjectAltName=DNS:%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
	    "$2" > in/$1.ext
	openssl x509 -req -in in/$1.csr -CA "${3:-out/int.pem}" \
	    -CAkey "${4:-in/int.key}" -CAcreateserial -days 1 \
	    -extfile in/$1.ext -out out/$1.pem 2>/dev/null
}
leaf good www.example.com
leaf outside www.example.org
leaf excluded x.bad.example.com
openssl verify -CAfile out/root.pem -untrusted out/int.pem out/good.pem \
    >/dev/null 2>&1 && ok "chain root -> intermediate -> leaf verifies" ||
    bad "chain does not verify"
for l in outside excluded; do
	if openssl verify -CAfile out/root.pem -untrusted out/int.pem \
	    out/$l.pem > v.txt 2>&1; then
		bad "leaf $l verified despite name constraints"
	elif grep -qi "name constraint\|subtree" v.txt; then
		ok "leaf $l refused by name constraints"
	else
		bad "leaf $l refused for another reason"; cat v.txt
	fi
done

# -- cross-signing: a new root, or another organisation's CA -----------
# A second root (as a rollover or a partner would bring it), its own
# intermediate and leaves; the old root cross-signs it under c.conf's
# constraints (permitted example.com, excluded bad.example.com).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout in/root2.key -out in/root2.pem -days 30 \
    -subj "/O=Partner/CN=Partner Root" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout in/int2.key -subj "/O=Partner/CN=Partner Issuing" \
    -out in/int2.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n' > in/int2.ext
openssl x509 -req -in in/int2.csr -CA in/root2.pem -CAkey in/root2.key \
    -CAcreateserial -days 10 -extfile in/int2.ext -out in/int2.pem 2>/dev/null
leaf pgood api.example.com in/int2.pem in/int2.key
leaf poutside api.example.org in/int2.pem in/int2.key
leaf pexcluded db.bad.example.com in/int2.pem in/int2.key
expect 1 "own root key" "cross-signing the ceremony's own root is refused" -- \
    "$CER" cross-sign -f c.conf -x out/root.pem -o out/self.pem -y \
    -s $S/alice.user.share -s $S/bob.user.share
expect 1 "not a CA certificate" "cross-signing a leaf is refused" -- \
    "$CER" cross-sign -f c.conf -x out/good.pem -o out/leaf.pem -y \
    -s $S/alice.user.share -s $S/bob.user.share
expect 1 "not self-signed" "cross-signing a CA that is not self-signed is refused" -- \
    "$CER" cross-sign -f c.conf -x in/int2.pem -o out/int2x.pem -y \
    -s $S/alice.user.share -s $S/bob.user.share
for f in self leaf int2x; do
	[ -e out/$f.pem ] && bad "a refused cross-sign left out/$f.pem"
done
expect 0 "" "cross-sign the partner root" -- \
    "$CER" cross-sign -f c.conf -x in/root2.pem -o out/cross2.pem -y \
    -s $S/alice.user.share -s $S/bob.user.share
no_partial
expect 1 "exists" "cross-sign refuses to overwrite its output" -- \
    "$CER" cross-sign -f c.conf -x in/root2.pem -o out/cross2.pem -y \
    -s $S/alice.user.share -s $S/bob.user.share
openssl x509 -in out/cross2.pem -noout -text > cross2.txt
if grep -q "CA:TRUE, pathlen:1" cross2.txt && grep -q "DNS:example.com" cross2.txt &&
    [ "$(openssl x509 -in out/cross2.pem -noout -subject)" = \
      "$(openssl x509 -in in/root2.pem -noout -subject)" ] &&
    [ "$(openssl x509 -in out/cross2.pem -noout -issuer | sed 's/^issuer/x/')" = \
      "$(openssl x509 -in out/root.pem -noout -subject | sed 's/^subject/x/')" ]; then
	ok "cross certificate: partner's subject, our root as issuer, pathlen 1, constraints"
else
	bad "cross certificate fields"; cat cross2.txt
fi
cat out/cross2.pem in/int2.pem > in/chain2.pem
openssl verify -CAfile out/root.pem -untrusted in/chain2.pem out/pgood.pem \
    >/dev/null 2>&1 && ok "partner leaf verifies to our root through the cross certificate" ||
    bad "partner leaf does not verify through the cross certificate"
openssl verify -CAfile in/root2.pem -untrusted in/int2.pem out/pgood.pem \
    >/dev/null 2>&1 && ok "the same leaf still verifies to the partner root" ||
    bad "partner leaf no longer verifies to its own root"
for l in poutside pexcluded; do
	if openssl verify -CAfile out/root.pem -untrusted in/chain2.pem \
	    out/$l.pem > v.txt 2>&1; then
		bad "partner leaf $l verified through the cross certificate despite constraints"
	elif grep -qi "subtree" v.txt; then
		ok "partner leaf $l refused through the cross certificate (name constraints)"
	else
		bad "partner leaf $l refused for another reason"; cat v.txt
	fi
done
grep -q "cross certificate file=out/cross2.pem" state/transcript &&
    ok "the transcript records the cross certificate" ||
    bad "no cross certificate in the transcript"

# -- revoke and CRL ------------------------------------------------------
expect 0 "" "revoke the intermediate" -- "$CER" revoke -f c.conf -x \
    out/int.pem -R 1 -y -s $S/alice.user.share -s $S/carol.user.share
expect 1 "already revoked" "revoking twice is refused" -- "$CER" revoke \
    -f c.conf -x out/int.pem -y -s $S/alice.user.share -s $S/carol.user.share
expect 0 "" "issue the CRL" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share -s $S/carol.user.share
serial=$(openssl x509 -in out/int.pem -noout -serial | cut -d= -f2)
openssl crl -in out/root.crl -CAfile out/root.pem -noout -text > crl.txt 2>&1
grep -q "verify OK" crl.txt && grep -q "$serial" crl.txt &&
    ok "root CRL verifies and lists the intermediate" || {
	bad "root CRL"; cat crl.txt; }

# -- backup, destroy the token, restore into a fresh one ---------------
expect 0 "" "backup" -- "$CER" backup -f c.conf -y \
    -s $S/alice.user.share -s $S/bob.user.share \
    -S $S/bob.so.share -S $S/carol.so.share
pkcs11-tool --module "$MODULE" --token-label signet-root -O 2>/dev/null |
    grep -q "Secret Key" && bad "KEK left in the token after backup"
rm -rf tokens && mkdir tokens
expect 2 "signet-root" "the destroyed token is gone" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share -s $S/bob.user.share
expect 1 "backup-KEK share" "restore with a PIN share for the KEK" -- \
    "$CER" restore -f c.conf -y -s $S/alice.user.share -s $S/bob.user.share \
    -S $S/alice.so.share -S $S/carol.so.share \
    -k $S/alice.kek.share -k $S/carol.so.share
rm -rf tokens && mkdir tokens
expect 0 "" "restore into a fresh token with two shares each" -- \
    "$CER" restore -f c.conf -y -s $S/carol.user.share -s $S/bob.user.share \
    -S $S/alice.so.share -S $S/carol.so.share \
    -k $S/bob.kek.share -k $S/carol.kek.share
expect 0 "" "the restored root signs a CRL" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share -s $S/carol.user.share
openssl crl -in out/root.crl -CAfile out/root.pem -noout 2>&1 |
    grep -q "verify OK" && ok "CRL from the restored key verifies" ||
    bad "CRL from the restored key"
no_partial
# The restored key carries exactly the generated one's attributes (usage,
# access), private and public, as pkcs11-tool shows them.  Only what
# PKCS#11 defines by the key's history differs: "local" (generated in
# this token) and "always sensitive"; they are left out of the compare.
PIN=$("$PINTOOL" $S/alice.user.share $S/bob.user.share)
p11norm() {
	grep -E '^ *(Private Key|Public Key|Usage|Access)' | sed -e 's/^ *//' -e 's/  */ /g' \
	    -e 's/always sensitive, //; s/, local$//; s/^Access: *local$/Access: none/' \
	    -e 's/^\(Private\|Public\) Key Object.*/\1/'
}
pkcs11-tool --module "$MODULE" --token-label signet-root --login \
    --pin "$PIN" -O --type privkey 2>&1 | p11norm > restored.txt
pkcs11-tool --module "$MODULE" --token-label signet-root --login \
    --pin "$PIN" -O --type pubkey 2>&1 | p11norm >> restored.txt
{ p11norm < p11.txt; p11norm < pub.generated.txt; } > generated.txt
if grep -q "^Usage: *sign$" restored.txt && [ "$(wc -l < restored.txt)" = 6 ] &&
    diff generated.txt restored.txt >/dev/null; then
	ok "restored root key: same usage and access as the generated one (pkcs11-tool)"
else
	bad "restored root key attributes differ from the generated key's"
	diff generated.txt restored.txt
fi
# -- the transcript ------------------------------------------------------
expect 0 "" "verify-transcript" -- "$CER" verify-transcript -f c.conf
expect 0 "" "verify-transcript -t -r" -- "$CER" verify-transcript \
    -t state/transcript -r out/root.pem
cp state/transcript t.orig
sed -i '3s/alice/mallory/' state/transcript
expect 1 "signature does not verify" "an edited step is found" -- \
    "$CER" verify-transcript -f c.conf
cp t.orig state/transcript
sed -i '5d' state/transcript
expect 1 "does not verify" "a deleted step is found" -- \
    "$CER" verify-transcript -f c.conf
cp t.orig state/transcript
echo "step 999 2030-01-01T00:00:00Z sign: forged" >> state/transcript
expect 1 "not covered by a signature" "an appended step is found" -- \
    "$CER" verify-transcript -f c.conf
cp t.orig state/transcript
sed -i '3s/alice/mallory/' state/transcript
expect 1 "signature does not verify" "a run refuses an edited transcript" -- \
    "$CER" crl -f c.conf -y -s $S/alice.user.share -s $S/carol.user.share
cp t.orig state/transcript

if [ $fails -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all ceremony checks passed"

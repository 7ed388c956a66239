#!/bin/sh
# Regenerates the CSR golden vectors and forgeries for tests/unit/ca with
# the openssl CLI.  Outputs are committed; keys here are test-only.
# Usage: tests/data/ca/make-vectors.sh  (from anywhere)
set -eu
cd "$(dirname "$0")"
umask 022
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

key() {	# key NAME ALG [OPTS]
	[ -f "keys/$1.key" ] && return 0
	n=$1; a=$2; shift 2
	openssl genpkey -algorithm "$a" "$@" -out "keys/$n.key" 2>/dev/null
}

req() {	# req OUT KEY SUBJ [req options...]
	o=$1; k=$2; s=$3; shift 3
	openssl req -new -key "keys/$k.key" -subj "$s" -outform DER \
	    -out "$o.der" "$@"
}

# hex of a DER header for tag $1 and length $2
hdr() {
	if [ "$2" -lt 128 ]; then printf '%s%02x' "$1" "$2"
	elif [ "$2" -lt 256 ]; then printf '%s81%02x' "$1" "$2"
	else printf '%s82%04x' "$1" "$2"; fi
}

# wrap TAG FILE...: DER element with the files' bytes as contents
wrap() {
	t=$1; shift
	n=$(cat "$@" | wc -c)
	{ hdr "$t" "$n" | xxd -r -p; cat "$@"; }
}

# body FILE: the contents of a DER element, header stripped
body() {
	b=$(od -An -tu1 -j1 -N1 "$1" | tr -d ' ')
	if [ "$b" -lt 128 ]; then tail -c +3 "$1"
	else tail -c +$((3 + b - 128)) "$1"; fi
}

# crafted OUT KEY DIGEST CONF: a CSR whose subject and attributes come
# from an asn1parse -genconf file (sections subject_s and attrs_s).
crafted() {
	o=$1; k=$2; d=$3; c=$4
	{ echo "asn1 = SEQUENCE:subject_s"; cat "$c"; } > "$T/c1"
	{ echo "asn1 = SEQUENCE:attrs_s"; cat "$c"; } > "$T/c2"
	openssl asn1parse -genconf "$T/c1" -out "$T/subj" >/dev/null
	openssl asn1parse -genconf "$T/c2" -out "$T/attrs" >/dev/null
	# genconf has no hex UTF8String: a hex OCTET STRING CN is retagged.
	if [ "${CN_RETAG:-}" ]; then
		printf '0c' | xxd -r -p |
		    dd of="$T/subj" bs=1 seek=11 conv=notrunc 2>/dev/null
	fi
	openssl pkey -in "keys/$k.key" -pubout -outform DER -out "$T/spki"
	printf '020100' | xxd -r -p > "$T/ver"
	body "$T/attrs" > "$T/attrb"
	wrap a0 "$T/attrb" > "$T/attr0"
	wrap 30 "$T/ver" "$T/subj" "$T/spki" "$T/attr0" > "$T/cri"
	openssl dgst "-$d" -sign "keys/$k.key" -out "$T/sig" "$T/cri"
	case $k in
	rsa*) alg=300d06092a864886f70d01010b0500 ;;
	*) alg=300a06082a8648ce3d040302 ;;
	esac
	printf '%s' "$alg" | xxd -r -p > "$T/alg"
	{ printf '00' | xxd -r -p; cat "$T/sig"; } > "$T/sigb"
	wrap 03 "$T/sigb" > "$T/bits"
	wrap 30 "$T/cri" "$T/alg" "$T/bits" > "$o.der"
}

mkdir -p keys
key p256 EC -pkeyopt ec_paramgen_curve:P-256
key p384 EC -pkeyopt ec_paramgen_curve:P-384
key p521 EC -pkeyopt ec_paramgen_curve:P-521
key rsa2048 RSA -pkeyopt rsa_keygen_bits:2048
key rsa1024 RSA -pkeyopt rsa_keygen_bits:1024
key ed25519 ED25519
key root EC -pkeyopt ec_paramgen_curve:P-256
key inter EC -pkeyopt ec_paramgen_curve:P-256
key secp256k1 EC -pkeyopt ec_paramgen_curve:secp256k1

SAN="subjectAltName=DNS:www.example.com,DNS:api.example.com"
S="/CN=www.example.com"
# Golden requests that a profile for example.com accepts.
req good_p256 p256 "$S" -addext "$SAN"
req good_p384 p384 "$S" -addext "$SAN"
req good_p521 p521 "$S" -addext "$SAN"
req good_rsa2048 rsa2048 "$S" -addext "$SAN"
req good_ed25519 ed25519 "$S" -addext "$SAN"
openssl req -in good_p256.der -inform DER -out good_p256.pem
req good_nocn p256 "/O=Ignored" -addext "$SAN"
req good_ip p256 "/CN=10.1.2.3" -addext "subjectAltName=IP:10.1.2.3,DNS:www.example.com"
req good_uri p256 "/CN=www.example.com" \
    -addext "subjectAltName=DNS:www.example.com,URI:spiffe://example.com/ns/prod/sa/web"
req good_wildcard p256 "/CN=*.example.com" -addext "subjectAltName=DNS:*.example.com"
req good_idn p256 "/CN=xn--bcher-kva.example.com" \
    -addext "subjectAltName=DNS:xn--bcher-kva.example.com"
req good_ca_false p256 "$S" -addext "$SAN" \
    -addext "basicConstraints=critical,CA:FALSE"
req good_other_tenant p256 "/CN=www.tenant-b.test" \
    -addext "subjectAltName=DNS:www.tenant-b.test"

# Forgeries and refusals.
req sha1 rsa2048 "$S" -addext "$SAN" -sha1
req rsa1024 rsa1024 "$S" -addext "$SAN"
req secp256k1 secp256k1 "$S" -addext "$SAN"
req ca_true_extreq p256 "$S" -addext "$SAN" \
    -addext "basicConstraints=critical,CA:TRUE"
req cn_not_in_san p256 "/CN=evil.example.com" -addext "$SAN"
req no_san p256 "$S"
req wildcard_tld p256 "/CN=*.com" -addext "subjectAltName=DNS:*.com"
req ip_outside p256 "/CN=192.168.1.1" -addext "subjectAltName=IP:192.168.1.1"
req unknown_critical p256 "$S" -addext "$SAN" \
    -addext "1.2.3.4=critical,DER:0500"
req uppercase p256 "/CN=WWW.example.com" \
    -addext "subjectAltName=DNS:WWW.example.com"
req trailing_dot p256 "/CN=www.example.com." \
    -addext "subjectAltName=DNS:www.example.com."
req email_san p256 "$S" -addext "$SAN,email:a@example.com"
req eku_codesign p256 "$S" -addext "$SAN" -addext "extendedKeyUsage=codeSigning"

cat > "$T/ms.cnf" <<'EOF'
[subject_s]
cn = SET:cn_rdn
[cn_rdn]
a = SEQUENCE:cn_atv
[cn_atv]
t = OID:commonName
v = UTF8:www.example.com
[attrs_s]
a = SEQUENCE:ms_attr
[ms_attr]
t = OID:1.3.6.1.4.1.311.2.1.14
v = SET:ms_vals
[ms_vals]
e = SEQUENCE:exts
[exts]
san = SEQUENCE:ext_san
bc = SEQUENCE:ext_bc
[ext_san]
id = OID:subjectAltName
v = OCTWRAP,SEQUENCE:names
[names]
d = IMPLICIT:2,IA5STRING:www.example.com
[ext_bc]
id = OID:basicConstraints
crit = BOOLEAN:TRUE
v = OCTWRAP,SEQUENCE:bc
[bc]
ca = BOOLEAN:TRUE
EOF
crafted ca_true_msextreq p256 sha256 "$T/ms.cnf"

sed -e 's/^v = UTF8:www.example.com$/v = FORMAT:HEX,OCTETSTRING:7777772e6578616d706c652e636f6d00/' \
    -e 's/1.3.6.1.4.1.311.2.1.14/1.2.840.113549.1.9.14/' \
    -e '/^bc = SEQUENCE:ext_bc$/d' "$T/ms.cnf" > "$T/nul.cnf"
CN_RETAG=1 crafted nul_cn p256 sha256 "$T/nul.cnf"

sed -e 's/1.3.6.1.4.1.311.2.1.14/1.2.840.113549.1.9.14/' \
    -e 's/^bc = SEQUENCE:ext_bc$/san2 = SEQUENCE:ext_san/' \
    "$T/ms.cnf" > "$T/dup.cnf"
crafted dup_ext p256 sha256 "$T/dup.cnf"

# Bad proof of possession: one bit of the signature flipped.
n=$(wc -c < good_p256.der)
last=$(tail -c 1 good_p256.der | od -An -tu1 | tr -d ' ')
{ head -c $((n - 1)) good_p256.der; printf '%02x' $((last ^ 1)) | xxd -r -p; } > bad_pop.der
# A subject changed after signing (signature no longer covers it).
sed 's/api\.example\.com/apx.example.com/' good_p256.der > bad_pop_subject.der
# Malformed encodings.
{ cat good_p256.der; printf '\000\000'; } > trailing_garbage.der
head -c $((n - 10)) good_p256.der > truncated.der
{ head -c 2 good_p256.der | xxd -p | sed 's/^3081/3082/' | xxd -r -p;
  printf '\001'; tail -c +3 good_p256.der; } > bad_length.der
d=0500; for i in $(seq 1 40); do d="30$(printf '%02x' $((${#d} / 2)))$d"; done
printf '%s' "$d" | xxd -r -p > deep_nesting.der
head -c 20000 /dev/zero | tr '\0' 'A' > oversize.der

# A root and a software intermediate for tests without a token.
openssl req -new -x509 -key keys/root.key -subj "/CN=Signet Test Root" \
    -days 3650 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.pem
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > "$T/ext"
openssl req -new -key keys/inter.key -subj "/CN=Signet Test Intermediate" \
    -out "$T/inter.csr"
openssl x509 -req -in "$T/inter.csr" -CA root.pem -CAkey keys/root.key \
    -set_serial 2 -days 1825 -extfile "$T/ext" -out inter.pem 2>/dev/null
echo "vectors written to $(pwd)"

#!/bin/sh
# Regenerates the seed corpus from the test CA in tests/data/ca.
set -e
cd "$(dirname "$0")/corpus"
D=../../../data/ca
O() { openssl ocsp "$@" >/dev/null 2>&1; }
O -issuer $D/inter.pem -serial 0x0123456789abcdef -no_nonce -reqout sha1_nononce.der
O -issuer $D/inter.pem -serial 0x0123456789abcdef -reqout sha1_nonce.der
O -sha256 -issuer $D/inter.pem -serial 0x7f112233445566778899aabbccddeeff -reqout sha256_nonce.der
O -issuer $D/inter.pem -serial 1 -serial 2 -serial 3 -serial 4 -no_nonce -reqout four.der
O -issuer $D/inter.pem -serial 1 -serial 2 -serial 3 -serial 4 -serial 5 -reqout five.der
O -issuer $D/root.pem -cert $D/inter.pem -signer $D/root.pem -signkey $D/keys/root.key -reqout signed.der
O -sha512 -issuer $D/inter.pem -serial 9 -no_nonce -reqout sha512.der

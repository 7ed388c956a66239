#!/bin/sh
# signet-enroll over EST-coaps (DTLS) against the real appliance: PSK
# enrollment from a token with the CA pinned from /est/crts, the token
# refused the second time, an unknown PSK identity refused, renewal over a
# certificate-authenticated DTLS session.
#
# Usage: device_coaps.sh TOP SIGNET_PROVISION SIGNETD SIGNET_ENROLL
TOP=$1 PROV=$2 SIGNETD=$3 ENROLL=$4
WAIT_COAP=1
. "$TOP/tests/integration/device/stack.sh"

N=d1.dev.devices.internal
TOK=$(new_token $N)
[ -n "$TOK" ] || fail "no token from POST /v1/tokens"
S="--coaps 127.0.0.1:$CP"

expect_exit 1 out "$ENROLL" enroll $S --token "nosuchid.secret" --name $N \
    --dir d0
grep -q "refused the PSK handshake" out || fail "unknown id: $(cat out)"

expect_exit 0 out "$ENROLL" enroll $S --token "$TOK" --name $N --dir d1
check_identity d1 $N
# The pinned anchor is the appliance's root.
cmp -s d1/ca.pem "$ROOT" ||
    [ "$(openssl x509 -in d1/ca.pem -noout -fingerprint)" = \
    "$(openssl x509 -in "$ROOT" -noout -fingerprint)" ] ||
    fail "pinned CA is not the root"

expect_exit 1 out "$ENROLL" enroll $S --token "$TOK" --name $N --dir d2

before=$(serial d1)
expect_exit 0 out "$ENROLL" renew $S --dir d1
grep -q "renewal not due" out || fail "renew did not say not due"
expect_exit 0 out "$ENROLL" renew $S --dir d1 --force
[ "$(serial d1)" != "$before" ] || fail "forced renewal kept the serial"
check_identity d1 $N
echo "device_coaps: ok"

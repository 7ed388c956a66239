#!/bin/sh
# signet-enroll over EST/HTTPS against the real appliance: enroll with a
# one-time token, the token refused the second time, a wrong trust anchor
# refused, renewal skipped when not due and done when forced.
#
# Usage: device_https.sh TOP SIGNET_PROVISION SIGNETD SIGNET_ENROLL
TOP=$1 PROV=$2 SIGNETD=$3 ENROLL=$4
. "$TOP/tests/integration/device/stack.sh"

N=d1.dev.devices.internal
TOK=$(new_token $N)
[ -n "$TOK" ] || fail "no token from POST /v1/tokens"
S="--https 127.0.0.1:$HP --label dev-device"

# Without a trust anchor the token is not sent anywhere.
expect_exit 2 out "$ENROLL" enroll $S --token "$TOK" --name $N --dir d0
grep -q -- "--ca" out || fail "no hint about --ca"

# A trust anchor that did not issue the server's certificate: refused.
expect_exit 1 out "$ENROLL" enroll $S --token "$TOK" --name $N \
    --ca data/ca/operators.pem --dir d0
grep -q "not trusted" out || fail "wrong CA not named: $(cat out)"
[ ! -e d0/key.pem ] || fail "a key was stored after a refusal"

expect_exit 0 out "$ENROLL" enroll $S --token "$TOK" --name $N \
    --ca "$ROOT" --dir d1
grep -q "^enrolled" out || fail "no success message"
check_identity d1 $N

# The token had one use.
expect_exit 1 out "$ENROLL" enroll $S --token "$TOK" --name $N \
    --ca "$ROOT" --dir d2
grep -q "server answered 4" out || fail "refusal not named: $(cat out)"

# A name the token does not cover.
TOK2=$(new_token d3.dev.devices.internal)
expect_exit 1 out "$ENROLL" enroll $S --token "$TOK2" \
    --name other.dev.devices.internal --ca "$ROOT" --dir d3
grep -q "server answered 4" out || fail "name refusal: $(cat out)"

before=$(serial d1)
expect_exit 0 out "$ENROLL" renew $S --dir d1
grep -q "renewal not due" out || fail "renew did not say not due"
[ "$(serial d1)" = "$before" ] || fail "renewed although not due"

oldkey=$(openssl pkey -in d1/key.pem -pubout)
expect_exit 0 out "$ENROLL" renew $S --dir d1 --force
grep -q "^renewed" out || fail "no renewal message"
[ "$(serial d1)" != "$before" ] || fail "forced renewal kept the serial"
[ "$(openssl pkey -in d1/key.pem -pubout)" != "$oldkey" ] ||
    fail "renewal kept the key"
check_identity d1 $N

expect_exit 0 out "$ENROLL" status --dir d1
grep -q "key matches: yes" out || fail "status: $(cat out)"
expect_exit 1 out "$ENROLL" status --dir d2
echo "device_https: ok"

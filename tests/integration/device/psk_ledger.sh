#!/bin/sh
# Issue 13: the DTLS PSK of an enrollment token cannot be computed from
# what the ledger stores.  Against the running appliance: read the live
# token's row from the ledger file, compute the PSK the old scheme derived
# from it (HMAC-SHA256(key = stored hash, "signet dtls psk")) and show that
# coap-client-gnutls cannot enroll with it, while the PSK the device
# computes from the token itself enrolls, once per handshake.  The token
# key was made by provisioning, so the engine did not have to create it.
#
# Usage: psk_ledger.sh TOP SIGNET_PROVISION SIGNETD SIGNET_ENROLL
TOP=$1 PROV=$2 SIGNETD=$3 ENROLL=$4
WAIT_COAP=1
command -v coap-client-gnutls >/dev/null ||
    { echo "FAIL: coap-client-gnutls missing (libcoap3-bin)" >&2; exit 1; }
command -v sqlite3 >/dev/null ||
    { echo "FAIL: sqlite3 missing" >&2; exit 1; }
. "$TOP/tests/integration/device/stack.sh"

N=d1.dev.devices.internal
TOK=$(curl -sS --max-time 10 --cacert "$ROOT" \
    --cert data/operator/operator.pem --key data/operator/operator.key \
    -H 'Content-Type: application/json' -X POST \
    -d "{\"tenant\":\"dev\",\"profile\":\"device\",\"names\":[\"$N\"],\"ttl\":3600,\"uses\":2}" \
    "https://127.0.0.1:$HP/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$TOK" ] || fail "no token from POST /v1/tokens"
ID=${TOK%%.*}
grep -q 'token key created' signetd.log &&
    fail "the engine created the token key: provisioning (dev-ca) should have"

# What a reader of the ledger (a backup, the shared database) has.
STORED=$(sqlite3 data/ledger.db "SELECT lower(hex(hash)) FROM enroll_tokens WHERE id = '$ID'")
[ ${#STORED} -eq 64 ] || fail "no ledger row for token $ID: '$STORED'"
SHA=$(printf '%s' "$TOK" | openssl dgst -sha256 -hex | awk '{print $2}')
[ "$STORED" != "$SHA" ] || fail "the ledger stores SHA-256(token), the PSK's key"
psk_of() { # hex key -> the README's PSK formula over that key
	printf 'signet dtls psk' | openssl dgst -sha256 -mac HMAC \
	    -macopt hexkey:"$1" | awk '{print substr($2,1,32)}'
}
OLD=$(psk_of "$STORED")
REAL=$(psk_of "$SHA")

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout d.key -subj "/CN=$N" -addext "subjectAltName=DNS:$N" \
    -outform DER -out d.csr 2>/dev/null
coap_sen() { # psk outfile
	rm -f "$2"
	timeout 30 coap-client-gnutls -B 20 -m post -u "$ID" -k "$1" -t 286 \
	    -A 287 -f d.csr -o "$2" "coaps://127.0.0.1:$CP/est/sen" \
	    > coap.out 2>&1 || true
}
coap_sen "$OLD" old.der
[ ! -s old.der ] || fail "the PSK computed from the ledger row enrolled"
grep -q 'msg="enrolled"' signetd.log && fail "an enrollment was logged"
echo "ok - the PSK computed from the ledger row cannot enroll"

# The device, holding the token: two uses, each on its own handshake
# (and so its own one-time handle).
for i in 1 2; do
	coap_sen "$REAL" d$i.der
	openssl x509 -inform der -in d$i.der -out d$i.pem 2>/dev/null ||
	    fail "enrollment $i with the token's PSK: $(cat coap.out)"
	openssl verify -CAfile "$ROOT" -untrusted data/ca/intermediate.pem \
	    d$i.pem > /dev/null || fail "d$i.pem does not verify"
done
echo "ok - the token's own PSK enrolls, once per handshake, twice"
coap_sen "$REAL" d3.der
[ ! -s d3.der ] || fail "a used-up token enrolled"
echo "ok - the used-up token's PSK is refused"

# The device client (mbedTLS) computes the same PSK from a new token.
TOK2=$(new_token $N)
[ -n "$TOK2" ] || fail "no second token"
expect_exit 0 out "$ENROLL" enroll --coaps "127.0.0.1:$CP" --token "$TOK2" \
    --name $N --dir e1
check_identity e1 $N
echo "psk_ledger: ok"

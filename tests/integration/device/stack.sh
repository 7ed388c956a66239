# Sourced by the device client's integration tests: the real appliance
# (signetd with the engine and both front ends) on a fresh SoftHSMv2 token
# and dev PKI in a temporary directory, on free loopback ports.
#
# Needs: PROV (signet-provision), SIGNETD, ENROLL (signet-enroll), TOP;
# WAIT_COAP=1 also waits for the CoAP front end.
# Sets: W, HP (HTTPS), WP (plain HTTP), CP (CoAP), ROOT; defines fail,
# expect_exit, new_token, cleanup (on EXIT).
set -eu
. "$TOP/board/dev-host/board.env"
W=$(mktemp -d "${TMPDIR:-/tmp}/sdev-it-XXXXXX")
SPID=
cleanup() {
	if [ -n "$SPID" ]; then
		kill "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	echo "--- signetd log (head):" >&2
	head -40 "$W/signetd.log" >&2 || true
	exit 1
}
# expect_exit CODE OUTFILE CMD...: runs CMD, checks its exit status.
expect_exit() {
	want=$1 out=$2
	shift 2
	set +e
	"$@" > "$out" 2>&1
	got=$?
	set -e
	[ "$got" -eq "$want" ] || { cat "$out" >&2; fail "exit $got, not $want: $*"; }
}

cd "$W"
umask 077
mkdir -p data/tokens
export SOFTHSM2_CONF="$W/data/softhsm2.conf"
printf 'directories.tokendir = %s/data/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
	"$W" > "$SOFTHSM2_CONF"
openssl rand -hex 16 > data/user.pin
openssl rand -hex 16 > data/so.pin
common="-m $SIGNET_PKCS11_MODULE -t $SIGNET_TOKEN_LABEL -p data/user.pin"
# shellcheck disable=SC2086
{
	"$PROV" init-token $common -S data/so.pin
	"$PROV" keygen $common -l "$SIGNET_CA_KEY_LABEL" -k "$SIGNET_CA_KEY_TYPE"
	"$PROV" dev-ca $common -d data
} > provision.log 2>&1 || { cat provision.log >&2; fail "provisioning"; }
ROOT="$W/data/ca/root.pem"

# Free ports below the ephemeral range (tests/support/ports.py says why).
set -- $(python3 "$TOP/tests/support/ports.py" tcp tcp udp)
HP=$1 WP=$2 CP=$3
sed -e "s/127.0.0.1:8443/127.0.0.1:$HP/" -e "s/127.0.0.1:8080/127.0.0.1:$WP/g" \
	-e "s/127.0.0.1:5684\"/127.0.0.1:$CP\"/" \
	"$TOP/board/dev-host/signetd.conf" > signetd.conf
"$SIGNETD" -f signetd.conf > signetd.log 2>&1 &
SPID=$!
# A deadline, not a count of tries: each try's curl may itself take
# seconds on a loaded machine (two cores shared by parallel tests).
up_by=$(($(date +%s) + 120))
until { [ -z "${WAIT_COAP:-}" ] ||
    grep -q 'signet-coap\[[0-9]*\] level=[a-z]* msg="ready"' signetd.log 2>/dev/null; } &&
    curl -s -o /dev/null --max-time 5 --cacert "$ROOT" \
    --cert data/operator/operator.pem --key data/operator/operator.key \
    "https://127.0.0.1:$HP/v1/health"; do
	[ "$(date +%s)" -lt "$up_by" ] || fail "signetd did not come up within 120 s"
	kill -0 "$SPID" 2>/dev/null || fail "signetd exited"
	sleep 0.5
done

# new_token NAME: a one-use enrollment token for NAME in dev/device.
new_token() {
	curl -sS --max-time 10 --cacert "$ROOT" \
	    --cert data/operator/operator.pem --key data/operator/operator.key \
	    -H 'Content-Type: application/json' -X POST \
	    -d "{\"tenant\":\"dev\",\"profile\":\"device\",\"names\":[\"$1\"],\"ttl\":3600,\"uses\":1}" \
	    "https://127.0.0.1:$HP/v1/tokens" |
	    sed -n 's/.*"token":"\([^"]*\)".*/\1/p'
}

# check_identity DIR NAME: what a relying party would check.
check_identity() {
	[ "$(stat -c %a "$1/key.pem")" = 600 ] || fail "$1/key.pem not 0600"
	openssl verify -CAfile "$ROOT" -untrusted "$1/chain.pem" \
	    "$1/cert.pem" > verify.out 2>&1 || { cat verify.out >&2;
	    fail "openssl verify $1/cert.pem"; }
	openssl x509 -in "$1/cert.pem" -noout -ext subjectAltName |
	    grep -q "DNS:$2" || fail "$1/cert.pem does not name $2"
	[ "$(openssl pkey -in "$1/key.pem" -pubout)" = \
	    "$(openssl x509 -in "$1/cert.pem" -noout -pubkey)" ] ||
	    fail "$1: key and certificate differ"
}
serial() { openssl x509 -in "$1/cert.pem" -noout -serial; }

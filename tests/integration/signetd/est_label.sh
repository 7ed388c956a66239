#!/usr/bin/env bash
# The engine resolves the EST label (issue 15), against the running
# appliance (signetd + engine + HTTPS front end, SoftHSMv2 token, SQLite
# ledger) with curl and openssl.  The dev-host est_default is dev/service:
#   - a one-time token of profile device on the explicit label of
#     est_default's profile (dev-service) is 403 "enrollment token is for
#     profile device", and not used up;
#   - on the unlabelled path the same token enrolls into its own profile;
#   - the device certificate so issued, on the explicit dev-service label
#     or by /v1/sign naming dev/service, is 403: an explicit
#     label is taken at its word, est_default's included; on the
#     unlabelled path it renews itself.
# Until the engine was told the label, the front ends sent est_default's
# tenant and profile for both paths and the engine could not tell them
# apart: each of the 403s above was a silent 200 into profile device.
#
# usage: est_label.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-label-XXXXXX")
pid=
stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	pid=
}
cleanup() { stop; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$work/signetd.log" ] && tail -40 "$work/signetd.log" >&2; exit 1; }
pass() { echo "ok - $*"; }

free_port() {
	python3 "$src/tests/support/ports.py" tcp	# below the ephemeral range
}
HTTPS=$(free_port); HTTP=$(free_port)
COAP=$(python3 "$src/tests/support/ports.py" udp)
cd "$work"

DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$src/board/dev-host/run.sh" >provision.log 2>&1 ||
	{ cat provision.log; fail "provisioning"; }
export SOFTHSM2_CONF=$work/data/softhsm2.conf
sbx='s/^$//'
if [ "$(id -u)" = 0 ]; then
	# shellcheck source=../../support/users.sh
	. "$src/tests/support/users.sh"
	sbx=$(sandbox_prepare "$work" data) || fail "sandbox users"
fi
sed -e "s/127.0.0.1:8443/127.0.0.1:$HTTPS/; s/127.0.0.1:8080/127.0.0.1:$HTTP/g" \
	-e "s/127.0.0.1:5684\"/127.0.0.1:$COAP\"/" -e "$sbx" \
	"$src/board/dev-host/signetd.conf" > signetd.conf
chmod 644 signetd.conf
B="https://127.0.0.1:$HTTPS"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
JSON=(-H 'Content-Type: application/json')
DEV=(--cert d1.pem --key d1.key)
N=d1.dev.devices.internal

"$build/firmware/signetd/signetd" -f signetd.conf >>signetd.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	curl -sf -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" && break
	kill -0 "$pid" 2>/dev/null || fail "signetd exited"
	sleep 0.2
done
curl -sf -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" || fail "appliance did not come up"
grep -q '^est_default = "dev/service"' signetd.conf || fail "dev-host est_default is not dev/service"
pass "appliance up (dev-host configuration, est_default dev/service)"

T=$(curl -s "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"profile\":\"device\",\"names\":[\"$N\"],\"ttl\":3600,\"uses\":1}" \
	"$B/v1/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$T" ] || fail "operator could not create a token"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout d1.key \
	-subj "/CN=$N" -addext "subjectAltName=DNS:$N" -outform DER 2>/dev/null | base64 -w0 > d1.b64
# est PATH OUT CURL-ARGS...: the HTTP status of an EST POST of d1's CSR.
est() {
	p=$1 o=$2
	shift 2
	curl -s -o "$o" -w '%{http_code}' "${CA[@]}" "$@" -H 'Content-Type: application/pkcs10' \
		--data-binary @d1.b64 "$B/.well-known/est/$p"
}

code=$(est dev-service/simpleenroll out -H "Authorization: Bearer $T")
[ "$code" = 403 ] && grep -q 'enrollment token is for profile device' out ||
	fail "a device token on est_default's explicit label answered $code: $(cat out)"
pass "a device token on the explicit label of est_default's profile: 403 ($(cat out))"

code=$(est simpleenroll d1.p7 -H "Authorization: Bearer $T")
[ "$code" = 200 ] || fail "the same token on the unlabelled path answered $code: $(cat d1.p7)"
base64 -d d1.p7 | openssl pkcs7 -inform der -print_certs > d1.pem
S=$(openssl x509 -in d1.pem -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
got=$(curl -s "${CA[@]}" "${OP[@]}" "$B/v1/certs/$S?tenant=dev" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["profile"])')
[ "$got" = device ] || fail "the unlabelled token enrollment went into profile '$got'"
pass "the token, not used up by the refusal, enrolls into its own profile on the unlabelled path"

code=$(est dev-service/simpleenroll out "${DEV[@]}")
[ "$code" = 403 ] && grep -q 'it is of profile device, not service' out ||
	fail "a device certificate on est_default's explicit label answered $code: $(cat out)"
pass "a device certificate on the explicit label of est_default's profile: 403"
pem=$(openssl req -new -key d1.key -subj "/CN=$N" -addext "subjectAltName=DNS:$N" 2>/dev/null |
	awk '{printf "%s\\n", $0}')
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${DEV[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"profile\":\"service\",\"csr\":\"$pem\"}" "$B/v1/sign")
[ "$code" = 403 ] && grep -q 'it is of profile device, not service' out ||
	fail "/v1/sign naming est_default's profile with a device certificate answered $code: $(cat out)"
pass "/v1/sign naming est_default's profile with a device certificate: 403"

code=$(est simpleenroll out "${DEV[@]}")
[ "$code" = 200 ] || fail "the device certificate on the unlabelled path answered $code: $(cat out)"
code=$(est nosuch/simpleenroll out "${DEV[@]}")
[ "$code" = 404 ] || fail "an unknown label answered $code: $(cat out)"
pass "on the unlabelled path it renews itself; an unknown label is 404"
echo "PASS"

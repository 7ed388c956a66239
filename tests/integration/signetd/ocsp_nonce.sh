#!/usr/bin/env bash
# revocation.ignore_nonce (RFC 5019 deployments): with it set, an OCSP
# request carrying a nonce is answered from the pre-signed cache without
# echoing the nonce (no token signature per request); without it the nonce
# is echoed.  limits.rate_ocsp_nonce: answers signed on demand (a nonce,
# a serial not cached) are budgeted per source address; over it a nonce
# is dropped and the cached answer served, with nothing cached the answer
# is tryLater, while another address is still served.
# limits.rate_ocsp_sign: the same signatures for all sources together, so
# two sources each within its own budget still get no more than the
# appliance-wide budget signed (counted as ocsp_sign_capped).  Driven by
# `openssl ocsp` and curl against the real appliance.
#
# usage: ocsp_nonce.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/appliance.sh
. "$src/tests/support/appliance.sh"
test_begin ocspnonce
chmod 755 "$work"	# the sandboxed engine reaches $work/a and $work/b
test_cleanup() { appliance_stop >/dev/null 2>&1; }

ask() {	# $1: output file; an unknown serial is answered and signed too
	openssl ocsp -issuer data/ca/intermediate.pem -serial 0x0102030405 \
		-url "http://127.0.0.1:$HTTP/ocsp" -CAfile chain.pem > "$1" 2>&1 || true
	grep -q 'Response verify OK' "$1" || fail "ocsp answer not verified: $(cat "$1")"
}

# 1. Default: the nonce is echoed.
mkdir -p "$work/a" "$work/b"
appliance_start "$src" "$build" "$work/a"
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem
ask a.out
! grep -q 'WARNING: no nonce in response' a.out || fail "default config dropped the nonce: $(cat a.out)"
pass "default: the OCSP answer echoes the request's nonce"
appliance_stop || fail "signetd did not stop cleanly"

# 2. ignore_nonce = true: answered without it (from the cache).
app_conf_extra() { sed 's/^revocation {$/revocation {\n\tignore_nonce = true/'; }
appliance_start "$src" "$build" "$work/b"
grep -q 'ignore_nonce = true' signetd.conf || fail "the config filter did not apply"
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem
ask b1.out
ask b2.out
grep -q 'WARNING: no nonce in response' b1.out || fail "ignore_nonce: the nonce was echoed: $(cat b1.out)"
grep -q 'WARNING: no nonce in response' b2.out || fail "ignore_nonce: the nonce was echoed: $(cat b2.out)"
pass "revocation.ignore_nonce = true: answered without the nonce"
appliance_stop || fail "signetd did not stop cleanly"

# 3. A budget of 2 signatures (1/s) per source.
mkdir -p "$work/c"
app_conf_extra() {
	sed -e '/^[[:space:]]*\(rate\|burst\)_ocsp_nonce/d' \
		-e 's/^limits {$/limits {\n\trate_ocsp_nonce = 1\n\tburst_ocsp_nonce = 2/'
}
appliance_start "$src" "$build" "$work/c"
[ "$(grep -c '_ocsp_nonce' signetd.conf)" = 2 ] && grep -q 'burst_ocsp_nonce = 2' signetd.conf ||
	fail "the config filter did not apply"
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem
# A certificate in the ledger (the operator signs through /v1/sign).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
	-subj /CN=ocsp.svc.dev.internal -addext subjectAltName=DNS:ocsp.svc.dev.internal \
	-out leaf.csr 2>/dev/null
python3 -c 'import json; print(json.dumps({"tenant":"dev","profile":"service","csr":open("leaf.csr").read()}))' > sign.json
code=$(curl -s -m 20 -o leaf.json -w '%{http_code}' --cacert data/ca/root.pem \
	--cert data/operator/operator.pem --key data/operator/operator.key \
	-H 'Content-Type: application/json' --data-binary @sign.json \
	"https://127.0.0.1:$HTTPS/v1/sign")
[ "$code" = 200 ] || fail "/v1/sign: $code $(cat leaf.json)"
python3 -c 'import json; print(json.load(open("leaf.json"))["certificate"], end="")' > leaf.pem
ocsp() {	# $1 output; the rest: openssl ocsp options
	local out=$1
	shift
	openssl ocsp -issuer data/ca/intermediate.pem "$@" \
		-url "http://127.0.0.1:$HTTP/ocsp" -CAfile chain.pem > "$out" 2>&1 || true
}
# The cache is filled by a request without a nonce (one signature).
ocsp c0.out -cert leaf.pem -no_nonce
grep -q 'leaf.pem: good' c0.out || fail "no good answer: $(cat c0.out)"
# flood REQ N OUTPREFIX [SOURCE]: POSTs of REQ on one connection from
# SOURCE (127.0.0.1), N of them and then on until one is refused (a
# tryLater or an answer without the nonce), 10 N at most; prints "seconds
# trylater_count nonce_echoed_count first_without_nonce requests".  The
# checks count events: the bounds allow a token per elapsed second (rate
# 1/s) plus the burst, and the flood goes on until it has been refused,
# so load makes the flood longer, never the checks different.
flood() {
	python3 - "$HTTP" "$@" <<'PY'
import http.client, math, sys, time
port, req, n, pre = int(sys.argv[1]), open(sys.argv[2], "rb").read(), int(sys.argv[3]), sys.argv[4]
src = sys.argv[5] if len(sys.argv) > 5 else "127.0.0.1"
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(src, 0))
oid = bytes.fromhex("06092b0601050507300102")	# id-pkix-ocsp-nonce
t0, later, echoed, plain, i = time.monotonic(), 0, 0, -1, 0
while i < n or (later == 0 and plain < 0 and i < 10 * n):
    c.request("POST", "/ocsp", req, {"Content-Type": "application/ocsp-request"})
    r = c.getresponse(); body = r.read()
    if r.status != 200: sys.exit("HTTP %d" % r.status)
    later += body == b"\x30\x03\x0a\x01\x03"
    if oid in body: echoed += 1
    elif plain < 0 and len(body) > 5: plain = i
    open("%s%d.der" % (pre, i), "wb").write(body)
    i += 1
print(math.ceil(time.monotonic() - t0), later, echoed, plain, i)
PY
}
# A flood of 20 nonces from 127.0.0.1: the burst has one signature left.
openssl ocsp -issuer data/ca/intermediate.pem -cert leaf.pem -reqout n.req >/dev/null 2>&1
read -r secs later echoed plain nn < <(flood n.req 20 n) || fail "the nonce flood failed"
[ "$echoed" -le $((2 + secs)) ] && [ "$plain" -ge 0 ] ||
	fail "$echoed of $nn nonces echoed in ${secs} s (budget: 1 left, 1/s)"
openssl ocsp -reqin n.req -respin "n$plain.der" -resp_text -CAfile chain.pem \
	-verify_other data/ca/intermediate.pem > np.out 2>&1 || true
grep -q 'Response verify OK' np.out && grep -q 'Cert Status: good' np.out &&
	grep -q 'WARNING: no nonce in response' np.out ||
	fail "a nonce over the budget was not answered from the cache: $(cat np.out)"
pass "over rate_ocsp_nonce the nonce is dropped and the cached answer served ($echoed of $nn echoed in ${secs} s)"
# Nothing cached (an unknown serial is never cached): tryLater.
openssl ocsp -issuer data/ca/intermediate.pem -serial 0x0102030405 -reqout u.req >/dev/null 2>&1
read -r usecs ulater _ _ un < <(flood u.req 20 u) || fail "the unknown-serial flood failed"
[ "$ulater" -ge $((un - 2 - usecs)) ] && [ "$ulater" -ge 1 ] ||
	fail "only $ulater of $un unknown-serial requests got tryLater in ${usecs} s"
openssl ocsp -respin "u$((un - 1)).der" -resp_text > ulast.out 2>&1 || true
pass "over the budget with nothing cached: tryLater ($ulater of $un, $(grep -o 'trylater' ulast.out | head -1))"
# Another address is served meanwhile, nonce echoed (curl from 127.0.0.2).
openssl ocsp -issuer data/ca/intermediate.pem -cert leaf.pem -reqout other.req >/dev/null 2>&1
code=$(curl -s -m 10 --interface 127.0.0.2 -o other.resp -w '%{http_code}' \
	-H 'Content-Type: application/ocsp-request' --data-binary @other.req \
	"http://127.0.0.1:$HTTP/ocsp")
[ "$code" = 200 ] || fail "127.0.0.2 got HTTP $code"
openssl ocsp -reqin other.req -respin other.resp -resp_text -CAfile chain.pem \
	-verify_other data/ca/intermediate.pem \
	> other.out 2>&1 || true
grep -q 'Response verify OK' other.out && grep -q 'Cert Status: good' other.out &&
	! grep -q 'WARNING: no nonce' other.out || fail "127.0.0.2 was not served: $(cat other.out)"
pass "another source is served with its nonce during the flood"
curl -s -m 10 --cacert data/ca/root.pem --cert data/operator/operator.pem \
	--key data/operator/operator.key "https://127.0.0.1:$HTTPS/metrics" > metrics.txt
dropped=$(sed -n 's/^signet_engine_limit_total{event="ocsp_nonce_dropped"} //p' metrics.txt)
[ -n "$dropped" ] && [ "$dropped" -ge $((nn - echoed)) ] ||
	fail "ocsp_nonce_dropped is '$dropped' after $((nn - echoed)) of $nn nonces were answered without: $(grep ocsp_nonce metrics.txt)"
grep -Eq '^signet_engine_limit_total\{event="ocsp_nonce_signed"\} [1-9]' metrics.txt ||
	fail "ocsp_nonce_signed not counted: $(grep ocsp_nonce metrics.txt)"
pass "/metrics counts nonces signed and dropped"
appliance_stop || fail "signetd did not stop cleanly"

# 4. Each source may sign 1000/s, the appliance 2 (then 1/s): two
#    sources flooding nonces at once get at most the appliance's budget.
mkdir -p "$work/d"
app_conf_extra() {
	sed -e '/^[[:space:]]*\(rate\|burst\)_ocsp_\(nonce\|sign\)/d' \
		-e 's/^limits {$/limits {\n\trate_ocsp_nonce = 1000\n\tburst_ocsp_nonce = 1000\n\trate_ocsp_sign = 1\n\tburst_ocsp_sign = 2/'
}
appliance_start "$src" "$build" "$work/d"
grep -q 'burst_ocsp_sign = 2' signetd.conf && grep -q 'burst_ocsp_nonce = 1000' signetd.conf ||
	fail "the config filter did not apply"
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem
openssl ocsp -issuer data/ca/intermediate.pem -serial 0x0102030405 -reqout g.req >/dev/null 2>&1
t0=$(date +%s.%N)
flood g.req 20 ga 127.0.0.1 > ga.res &
fa=$!
flood g.req 20 gb 127.0.0.2 > gb.res &
fb=$!
wait "$fa" && wait "$fb" || fail "the two-source flood failed"
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", b - a + 1 }')
read -r _ la ea _ na < ga.res
read -r _ lb eb _ nb < gb.res
ng=$((na + nb))
[ $((ea + eb)) -le $((2 + secs)) ] ||
	fail "$((ea + eb)) of $ng nonces signed for two sources in ${secs} s (appliance budget: 2, 1/s)"
[ $((la + lb)) -ge $((ng - 2 - secs)) ] && [ "$la" -ge 1 ] && [ "$lb" -ge 1 ] ||
	fail "only $((la + lb)) of $ng got tryLater in ${secs} s ($la and $lb)"
curl -s -m 10 --cacert data/ca/root.pem --cert data/operator/operator.pem \
	--key data/operator/operator.key "https://127.0.0.1:$HTTPS/metrics" > metrics4.txt
capped=$(sed -n 's/^signet_engine_limit_total{event="ocsp_sign_capped"} //p' metrics4.txt)
[ -n "$capped" ] && [ "$capped" -ge $((la + lb)) ] ||
	fail "ocsp_sign_capped is '$capped' after $((la + lb)) tryLater of $ng requests: $(grep ocsp_ metrics4.txt)"
pass "rate_ocsp_sign caps two sources together: $((ea + eb)) of $ng signed in ${secs} s, $((la + lb)) tryLater, ocsp_sign_capped $capped"
appliance_stop || fail "signetd did not stop cleanly"
echo "PASS ($npass checks)"

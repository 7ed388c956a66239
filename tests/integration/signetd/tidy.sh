#!/usr/bin/env bash
# Tidy (issue 19) on the dev-host appliance: with a short retention,
# `signetctl tidy` removes the expired certificates (issued and revoked)
# and the expired and spent enrollment tokens from the ledger and keeps
# everything else; the run is audited and `signet-audit verify` still
# passes; an expired revoked certificate stays off the CRL.  Then the
# schedule (tidy.interval) removes expired rows with nobody asking.
#
# usage: tidy.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/appliance.sh
. "$src/tests/support/appliance.sh"
test_begin tidy
epid=
test_cleanup() {
	[ -z "$epid" ] || kill -CONT "$epid" 2>/dev/null || true
	appliance_stop >/dev/null 2>&1
}

RET=2
INTERVAL=0
app_conf_extra() {
	sed -e "s/^\tretention = \"30d\"/\tretention = \"${RET}s\"/" \
		-e "s/^\tinterval = \"1h\"/\tinterval = \"${INTERVAL}s\"/" \
		-e 's/^\tbatch = 100/\tbatch = 50/' \
		-e 's/^\tfreshness = .*/\tfreshness = "4s"/' \
		-e '/coap = "127.0.0.1:/d'
}
appliance_start "$src" "$build" "$work"
grep -q "retention = \"${RET}s\"" signetd.conf || fail "configuration not rewritten"

B="https://127.0.0.1:$HTTPS"
P="http://127.0.0.1:$HTTP"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
JSON=(-H 'Content-Type: application/json')
ctl_bin=$build/tools/signetctl/signetctl
cat > signetctl.conf <<EOF
server = https://127.0.0.1:$HTTPS
http = "http://127.0.0.1:$HTTP"
cacert = data/ca/root.pem
cert = data/operator/operator.pem
key = data/operator/operator.key
tenant = dev
EOF
export SIGNETCTL_CONFIG=$work/signetctl.conf
ctl() { # EXPECTED ARGS...
	local want=$1 st=0
	shift
	"$ctl_bin" "$@" >out 2>err || st=$?
	[ "$st" = "$want" ] || fail "signetctl $* exited $st, not $want: $(cat out err)"
}
q() { # SQL -> one value, read as the engine's user (the file is its own)
	as_engine python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' \
		data/ledger.db "$1"
}
sign() { # name ttl -> serial (lower-case hex)
	local pem
	pem=$(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" 2>/dev/null | awk '{printf "%s\\n", $0}')
	curl -sf -o "$1.json" "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
		-d "{\"tenant\":\"dev\",\"profile\":\"service\",\"csr\":\"$pem\",\"ttl\":$2}" "$B/v1/sign" ||
		fail "/v1/sign $1"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"], end="")' \
		"$1.json" > "$1.pem"
	openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'
}
token() { # ttl uses -> "id token"
	curl -sf "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
		-d "{\"tenant\":\"dev\",\"profile\":\"service\",\"names\":[\"tok.svc.dev.internal\"],\"ttl\":$1,\"uses\":$2}" \
		"$B/v1/tokens" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["token"])'
}
have() { [ "$(q "SELECT count(*) FROM certs WHERE hex(serial) = upper('$1')")" = 1 ]; }
have_tok() { [ "$(q "SELECT count(*) FROM enroll_tokens WHERE id = '$1'")" = 1 ]; }

# Short-lived certificates (20s), one of them revoked; one long-lived.
S1=$(sign a.svc.dev.internal 20)
# Nothing is old enough yet: a tidy now removes nothing.
ctl 0 tidy --json
[ "$(python3 -c 'import json; d=json.load(open("out")); print(d["certs"], d["tokens"], d["done"])')" = "0 0 True" ] ||
	fail "tidy before expiry: $(cat out)"
have "$S1" || fail "tidy removed $S1 before it expired"
pass "tidy before expiry + retention removes nothing"
S2=$(sign b.svc.dev.internal 20)
S3=$(sign c.svc.dev.internal 20)
KEEP=$(sign keep.svc.dev.internal 3600)
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"serial\":\"$S3\",\"reason\":\"keyCompromise\"}" "$B/v1/revoke")
[ "$code" = 200 ] || fail "revoke answered $code"
# Tokens: one expiring at once, one spent now, one that stays usable.
read -r TEXP _ < <(token 1 1)
read -r TSPENT SECRET < <(token 3600 1)
read -r TKEEP _ < <(token 3600 1)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tok.key \
	-subj "/CN=tok.svc.dev.internal" -addext "subjectAltName=DNS:tok.svc.dev.internal" \
	-outform DER 2>/dev/null | base64 -w0 > tok.csr
code=$(curl -s -o tok.p7 -w '%{http_code}' "${CA[@]}" -H "Authorization: Bearer $SECRET" \
	-H 'Content-Type: application/pkcs10' --data-binary @tok.csr "$B/.well-known/est/simpleenroll")
[ "$code" = 200 ] || fail "enrollment with the token answered $code"
[ "$(q "SELECT uses_left FROM enroll_tokens WHERE id = '$TSPENT'")" = 0 ] || fail "token not spent"
for s in "$S1" "$S2" "$S3" "$KEEP"; do have "$s" || fail "serial $s not in the ledger"; done
for t in "$TEXP" "$TSPENT" "$TKEEP"; do have_tok "$t" || fail "token $t not in the ledger"; done
rows0=$(q "SELECT count(*) FROM certs")
pass "ledger holds 3 short-lived certificates (1 revoked), 1 long-lived, and the tokens ($rows0 rows)"

# Until the last short-lived one expired, plus the retention and a second.
end=$(date -d "$(openssl x509 -in c.svc.dev.internal.pem -noout -enddate | cut -d= -f2)" +%s)
while [ "$(date +%s)" -le $((end + RET + 1)) ]; do sleep 0.5; done
ctl 0 tidy
grep -q '^tenant dev: removed 3 certificates and 2 enrollment tokens that expired or were spent before ' out ||
	fail "tidy table: $(cat out)"
for s in "$S1" "$S2" "$S3"; do have "$s" && fail "expired $s still in the ledger"; done
have "$KEEP" || fail "the long-lived certificate was removed"
have_tok "$TEXP" && fail "expired token still in the ledger"
have_tok "$TSPENT" && fail "spent token still in the ledger"
have_tok "$TKEEP" || fail "the usable token was removed"
# The certificate the spent token paid for is valid 25h: it stays.
[ "$(q "SELECT count(*) FROM certs WHERE authorized_by = 'token:$TSPENT'")" = 1 ] ||
	fail "the certificate the token paid for was removed"
pass "signetctl tidy removed the 3 expired certificates (1 revoked), the expired and the spent token; kept the rest"

# A lookup of a removed serial is a 404 like any unknown serial.
ctl 1 certs show "$S1"
# The next CRL (made due by another revocation) lists that one, not the
# expired and removed one.
K2=$(sign k2.svc.dev.internal 3600)
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
	-d "{\"tenant\":\"dev\",\"serial\":\"$K2\",\"reason\":\"superseded\"}" "$B/v1/revoke")
[ "$code" = 200 ] || fail "revoke answered $code"
for _ in $(seq 1 40); do
	curl -sf -o crl.der "$P/crl/intermediate.crl" || fail "CRL fetch"
	openssl crl -inform der -in crl.der -noout -text > crl.txt || fail "CRL parse"
	grep -qi "Serial Number: $K2" crl.txt && break
	sleep 0.5
done
grep -qi "Serial Number: $K2" crl.txt || fail "revoked $K2 not on the CRL within 20s"
grep -qi "Serial Number: $S3" crl.txt && fail "expired revoked $S3 on the CRL"
pass "a removed serial is not found; the expired revoked one is not on the CRL"

# The run is audited and the chain still verifies.
[ "$(q "SELECT count(*) FROM audit_log WHERE action = 'tidy' AND detail LIKE 'certs=3 tokens=2 %'")" = 1 ] ||
	fail "no audit record of the tidy run: $(q "SELECT group_concat(detail, ' | ') FROM audit_log WHERE action = 'tidy'")"
[ "$(q "SELECT actor FROM audit_log WHERE action = 'tidy' AND detail LIKE 'certs=3 %'")" != "" ] ||
	fail "tidy audit record has no actor"
as_engine "$build/provisioning/appliance/signet-provision" pubkey -m /usr/lib/softhsm/libsofthsm2.so \
	-t signet-dev -p data/user.pin -l signet-audit > audit.pub || fail "audit public key"
as_engine "$build/tools/signet-audit/signet-audit" verify --db data/ledger.db --pubkey audit.pub > verify.out 2>&1 ||
	fail "signet-audit verify after tidy: $(cat verify.out)"
pass "the tidy run is audited (certs=3 tokens=2) and signet-audit verify passes: $(head -1 verify.out)"

# The route is an operator's: without a client certificate, 401.
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${JSON[@]}" -d '{"tenant":"dev"}' "$B/v1/tidy")
[ "$code" = 401 ] || fail "anonymous /v1/tidy answered $code"
code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "${JSON[@]}" -d '{"tenant":"nosuch"}' "$B/v1/tidy")
[ "$code" = 403 ] || fail "/v1/tidy of an unknown tenant answered $code"
pass "/v1/tidy: 401 without a client certificate, 403 for a tenant that is not there"

# A 503 is asked again: with the engine stopped (SIGSTOP) the front end
# answers 503 with Retry-After 5 at its 5 s deadline; signetctl says so,
# waits and asks again, and finishes once the engine runs again.  Bounded:
# with --retries 1 and the engine still stopped it gives up, exit 2.
epid=$(pgrep -P "$APP_PID" -f signet-engine | head -1)
[ -n "$epid" ] || fail "no signet-engine under signetd $APP_PID"
kill -STOP "$epid"
( sleep 8; kill -CONT "$epid" ) &
ctl 0 tidy
wait $!
grep -q '^signetctl: tidy: 503: ' err || fail "no 503 said: $(cat err)"
grep -q '^signetctl: tidy: again in 5 s (retry 1 of 8)$' err || fail "no retry said: $(cat err)"
grep -q '^tenant dev: removed 0 certificates and 0 enrollment tokens that expired or were spent before ' out ||
	fail "tidy after a 503: $(cat out err)"
pass "signetctl tidy asks again after a 503 (Retry-After 5) and finishes once the engine answers"
kill -STOP "$epid"
ctl 2 tidy --retries 1
kill -CONT "$epid"
[ "$(grep -c '^signetctl: tidy: 503: ' err)" = 2 ] || fail "not two 503s: $(cat err)"
grep -q '^signetctl: tidy: gave up after 1 retries in a row$' err || fail "no giving up said: $(cat err)"
ctl 0 tidy
pass "signetctl tidy --retries 1 gives up after one retry of a 503 (exit 2); the engine answers again"

appliance_stop || fail "signetd did not exit cleanly"

# The schedule: every 2s, with nobody asking.
INTERVAL=2
dev_conf() { cat signetd.conf.base; }
cp signetd.conf signetd.conf.base
sed -i "s/^\tinterval = \"0s\"/\tinterval = \"${INTERVAL}s\"/" signetd.conf.base
app_conf_extra() { cat; }
dev_provision() { cd "$work"; }
"$build/firmware/signetd/signetd" -f signetd.conf.base >>"$APP_LOG" 2>&1 &
APP_PID=$!
for _ in $(seq 1 300); do
	curl -s -m 5 -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" && break
	sleep 0.2
done
S4=$(sign d.svc.dev.internal 10)
have "$S4" || fail "$S4 not in the ledger"
end=$(date -d "$(openssl x509 -in d.svc.dev.internal.pem -noout -enddate | cut -d= -f2)" +%s)
for _ in $(seq 1 120); do have "$S4" || break; sleep 0.5; done
gone=$(date +%s)
have "$S4" && fail "the schedule did not remove $S4 within 60s"
[ "$gone" -ge $((end + RET)) ] || fail "$S4 removed at $gone, before its expiry $end + retention ${RET}s"
have "$KEEP" || fail "the schedule removed the long-lived certificate"
[ "$(q "SELECT count(*) FROM audit_log WHERE action = 'tidy' AND actor = 'signetd:tidy'")" -ge 1 ] ||
	fail "no audit record of a scheduled run"
as_engine "$build/tools/signet-audit/signet-audit" verify --db data/ledger.db --pubkey audit.pub > verify.out 2>&1 ||
	fail "signet-audit verify after scheduled tidy: $(cat verify.out)"
pass "the schedule (every ${INTERVAL}s) removed $S4 after expiry + retention, audited as signetd:tidy; audit verifies"

appliance_stop || fail "signetd did not exit cleanly"
pass "appliance stopped cleanly"

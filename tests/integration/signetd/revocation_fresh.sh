#!/usr/bin/env bash
# Revocation freshness (issue 19) on the dev-host appliance with curl and
# openssl: a revocation reaches the CRL within revocation.freshness even
# though nobody fetches the CRL meanwhile (the engine's timer built it:
# /metrics counts timer and fetch builds apart, and the CRL fetched after
# the bound was signed before the fetch), and cached OCSP answers are
# re-signed by the timer before they go stale.
#
# usage: revocation_fresh.sh SOURCE_DIR BUILD_DIR
# MEASURE=N (optional): also time CRL rebuilds with N more revoked rows.
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/appliance.sh
. "$src/tests/support/appliance.sh"
test_begin revfresh
test_cleanup() { appliance_stop; }

FRESH=4
# A short bound and a short OCSP validity (refresh at half of it), so the
# test waits seconds; the coap listener is not needed here.
app_conf_extra() {
	sed -e 's/^\tocsp_validity = .*/\tocsp_validity = "8s"/' \
		-e "s/^\tfreshness = .*/\tfreshness = \"${FRESH}s\"/" \
		-e 's/^\trefresh_signatures = .*/\trefresh_signatures = 8/' \
		-e '/coap = "127.0.0.1:/d'
}
appliance_start "$src" "$build" "$work"
grep -q "freshness = \"${FRESH}s\"" signetd.conf || fail "configuration not rewritten"

B="https://127.0.0.1:$HTTPS"
P="http://127.0.0.1:$HTTP"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
JSON=(-H 'Content-Type: application/json')
cat data/ca/intermediate.pem data/ca/root.pem > chain.pem

metric() { # event -> value of signet_revocation_refresh_total{event=...}
	curl -sf "${CA[@]}" "${OP[@]}" "$B/metrics" |
		sed -n "s/^signet_revocation_refresh_total{event=\"$1\"} \([0-9]*\)$/\1/p"
}
crl_fetch() { # out.pem
	curl -sf -o crl.der "$P/crl/intermediate.crl" || fail "CRL fetch"
	openssl crl -inform der -in crl.der -out "$1" || fail "CRL does not parse"
	openssl crl -in "$1" -CAfile chain.pem -noout 2>&1 | grep -q 'verify OK' || fail "CRL signature"
}
crl_number() { # decimal
	local h
	h=$(openssl crl -in "$1" -noout -crlnumber | sed 's/.*=//; s/^0x//')
	[[ "$h" =~ ^[0-9A-Fa-f]+$ ]] || fail "CRL number '$h'"
	echo $((16#$h))
}
crl_this() { date -d "$(openssl crl -in "$1" -noout -lastupdate | cut -d= -f2)" +%s; }
sign() { # name -> cert.pem of a fresh certificate; prints its serial
	local pem
	pem=$(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" 2>/dev/null | awk '{printf "%s\\n", $0}')
	curl -sf -o "$1.json" "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
		-d "{\"tenant\":\"dev\",\"profile\":\"service\",\"csr\":\"$pem\",\"ttl\":3600}" "$B/v1/sign" ||
		fail "/v1/sign $1"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["certificate"], end="")' \
		"$1.json" > "$1.pem"
	openssl x509 -in "$1.pem" -noout -serial | cut -d= -f2
}
revoke() { # serial
	local code
	code=$(curl -s -o out -w '%{http_code}' "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
		-d "{\"tenant\":\"dev\",\"serial\":\"$1\",\"reason\":\"keyCompromise\"}" "$B/v1/revoke")
	[ "$code" = 200 ] || fail "revoke $1 answered $code: $(cat out)"
}

# At start the timer builds every CRL; nobody has fetched one.
for _ in $(seq 1 50); do
	[ "$(metric crl_built_timer)" -ge 1 ] 2>/dev/null && break
	sleep 0.2
done
[ "$(metric crl_built_timer)" -ge 1 ] || fail "no CRL built by the timer after start"
[ "$(metric crl_built_fetch)" = 0 ] || fail "a CRL was built by a fetch nobody made"
grep -q 'msg="CRL built" issuer=intermediate by=timer' signetd.log || fail "no timer build logged"
pass "the timer built the CRL at start (crl_built_timer $(metric crl_built_timer), crl_built_fetch 0)"

SER=$(sign web.svc.dev.internal)
crl_fetch before.pem
n0=$(crl_number before.pem)
openssl crl -in before.pem -noout -text | grep -qi "Serial Number: $SER" && fail "serial listed before revocation"
f0=$(metric crl_built_fetch)
[ "$f0" = 0 ] || fail "the fetch built the CRL (crl_built_fetch $f0): the timer's was not served"
t0=$(metric crl_built_timer)
pass "the CRL fetched before revoking was the timer's (number $n0)"

revoke "$SER"
at=$(date +%s)
# OCSP knows at once (the cached answer was dropped on revocation).
openssl ocsp -issuer data/ca/intermediate.pem -cert web.svc.dev.internal.pem -url "$P/ocsp" \
	-CAfile chain.pem > ocsp.out 2>&1 || true
grep -q ': revoked' ocsp.out || fail "OCSP right after revoking: $(cat ocsp.out)"
pass "OCSP reports the revocation at once"

# Nobody fetches the CRL for the bound plus one tick.
sleep $((FRESH + 1))
t1=$(metric crl_built_timer)
[ "$t1" -gt "$t0" ] || fail "the timer did not rebuild the CRL within ${FRESH}s (crl_built_timer $t0 -> $t1)"
[ "$(metric crl_built_fetch)" = "$f0" ] || fail "a fetch built a CRL"
fetched=$(date +%s)
crl_fetch after.pem
n1=$(crl_number after.pem)
this=$(crl_this after.pem)
openssl crl -in after.pem -noout -text | grep -qi "Serial Number: $SER" ||
	fail "revoked serial $SER not in the CRL $((fetched - at))s after revoking"
[ "$(metric crl_built_fetch)" = "$f0" ] || fail "the fetch after the bound built the CRL itself"
[ "$n1" -gt "$n0" ] || fail "CRL number did not move ($n0 -> $n1)"
[ "$this" -le "$fetched" ] && [ "$this" -ge "$at" ] && [ "$this" -le $((at + FRESH)) ] ||
	fail "thisUpdate $this is not between the revocation ($at) and the bound ($((at + FRESH)))"
grep -q "msg=\"CRL built\" issuer=intermediate by=timer number=$n1 entries=1" signetd.log ||
	fail "CRL number $n1 not logged as a timer build"
cat chain.pem after.pem > chaincrl.pem
openssl verify -crl_check -CAfile chaincrl.pem web.svc.dev.internal.pem >out 2>&1 &&
	fail "revoked certificate passed -crl_check"
grep -q 'revoked' out || fail "crl_check: $(cat out)"
pass "revoked at $at, in CRL $n1 signed by the timer at $this (bound ${FRESH}s), no fetch built it"

# OCSP: a cached good answer is re-signed by the timer at half its
# validity (4s), so a client asking after that gets a newer one from cache.
SER2=$(sign api.svc.dev.internal)
ocsp_this() { sed -n 's/^ *This Update: //p' "$1" | head -1; }
openssl ocsp -issuer data/ca/intermediate.pem -cert api.svc.dev.internal.pem -url "$P/ocsp" \
	-CAfile chain.pem -no_nonce -resp_text > ocsp1.out 2>&1 || fail "OCSP: $(cat ocsp1.out)"
grep -q 'api.svc.dev.internal.pem: good' ocsp1.out || fail "OCSP good: $(cat ocsp1.out)"
r0=$(metric ocsp_refreshed)
sleep 6
r1=$(metric ocsp_refreshed)
[ "$r1" -gt "$r0" ] || fail "no cached OCSP answer re-signed by the timer ($r0 -> $r1)"
openssl ocsp -issuer data/ca/intermediate.pem -cert api.svc.dev.internal.pem -url "$P/ocsp" \
	-CAfile chain.pem -no_nonce -resp_text > ocsp2.out 2>&1 || fail "OCSP: $(cat ocsp2.out)"
grep -q 'Response verify OK' ocsp2.out && grep -q ': good' ocsp2.out || fail "OCSP again: $(cat ocsp2.out)"
[ "$(ocsp_this ocsp1.out)" != "$(ocsp_this ocsp2.out)" ] || fail "OCSP answer not re-signed"
pass "cached OCSP answer of $SER2 re-signed by the timer (ocsp_refreshed $r0 -> $r1)"

# Budget: at most refresh_signatures (8) timer signatures a second.
s0=$(( $(metric crl_built_timer) + $(metric ocsp_refreshed) ))
sleep 5
s1=$(( $(metric crl_built_timer) + $(metric ocsp_refreshed) ))
[ $((s1 - s0)) -le $((8 * 6)) ] || fail "timer signed $((s1 - s0)) in 5s, over 8 a second"
pass "timer signatures over 5s idle: $((s1 - s0)) (budget 8/s)"

if [ -n "${MEASURE:-}" ]; then
	# Cost of a timer rebuild with MEASURE more revoked rows, copies of
	# this run's revoked row under new serials (a measurement, not a test:
	# rows written behind the engine's back, no audit records).
	python3 - data/ledger.db "$MEASURE" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
cols = [r[1] for r in db.execute("PRAGMA table_info(certs)") if r[1] != "id"]
row = db.execute("SELECT %s FROM certs WHERE status = 2 LIMIT 1" % ",".join(cols)).fetchone()
si = cols.index("serial")
rows = []
for _ in range(int(sys.argv[2])):
    r = list(row)
    r[si] = b"\x5a" + os.urandom(15)
    rows.append(r)
db.executemany("INSERT INTO certs(%s) VALUES(%s)" % (",".join(cols), ",".join("?" * len(cols))), rows)
db.commit()
PY
	before=$(grep -c 'msg="CRL built" issuer=intermediate by=timer' signetd.log)
	# A revocation makes the CRL due; the timer rebuilds it with every row.
	revoke "$SER2"
	for _ in $(seq 1 100); do
		[ "$(grep -c 'msg="CRL built" issuer=intermediate by=timer' signetd.log)" -gt "$before" ] && break
		sleep 0.2
	done
	grep 'msg="CRL built" issuer=intermediate by=timer' signetd.log | tail -1 | sed 's/^/MEASURE: /'
	m0=$(date +%s%N)
	crl_fetch big.pem
	echo "MEASURE: fetch of the cached CRL $(( ($(date +%s%N) - m0) / 1000000 )) ms, $(stat -c %s crl.der) bytes"
	grep 'msg="CRL built" issuer=intermediate by=timer' signetd.log | sed 's/.*ms=//' | tr '\n' ' ' | sed 's/^/MEASURE: every timer build, ms: /'
	echo
fi

appliance_stop || fail "signetd did not exit cleanly"
pass "appliance stopped cleanly"

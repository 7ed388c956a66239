#!/usr/bin/env bash
# Audit checkpoints leave the database as they are signed (issue 19): with
# storage.audit_checkpoint_export set (dev-host sets it), every checkpoint is one line in
# that file and in the engine's log.  signet-audit verify --checkpoints
# passes against the exported file; after the tail of audit_log and its
# audit_checkpoint rows are deleted with the sqlite3 CLI (what an
# intruder with the database would do), plain verify still passes (the
# database alone cannot tell) but verify against the exported file fails
# and names the truncation.
#
# usage: audit_export.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/appliance.sh
. "$src/tests/support/appliance.sh"
test_begin audit_export
test_cleanup() { appliance_stop >/dev/null 2>&1; }

app_conf_extra() {
	sed -e 's/^\taudit_checkpoint_every = 1000/\taudit_checkpoint_every = 3/' \
		-e '/coap = "127.0.0.1:/d'
}
appliance_start "$src" "$build" "$work"
grep -q 'audit_checkpoint_export = "data/audit-checkpoints.log"' signetd.conf ||
	fail "configuration not rewritten"
command -v sqlite3 >/dev/null || fail "sqlite3 (the CLI) is missing: tools/install-deps.sh installs it"

B="https://127.0.0.1:$HTTPS"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
JSON=(-H 'Content-Type: application/json')
sign() { # name
	local pem
	pem=$(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" 2>/dev/null | awk '{printf "%s\\n", $0}')
	curl -sf -o "$1.json" "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
		-d "{\"tenant\":\"dev\",\"profile\":\"service\",\"csr\":\"$pem\"}" "$B/v1/sign" ||
		fail "/v1/sign $1"
}
for i in 1 2 3 4 5 6 7 8 9 10; do sign "s$i.svc.dev.internal"; done
# Issue 19: each record says where the request came from and which
# credential the engine verified (the operator certificate's SHA-256).
FP=$(openssl x509 -in data/operator/operator.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
det=$(as_engine sqlite3 data/ledger.db "SELECT detail FROM audit_log WHERE action = 'issue' ORDER BY seq DESC LIMIT 1")
case $det in
*" src=127.0.0.1 cred=cert:sha256:$FP") ;;
*) fail "the issue record lacks the client's address and fingerprint: $det" ;;
esac
curl -s -o bad.json "${CA[@]}" "${OP[@]}" "${JSON[@]}" \
	-d '{"tenant":"nosuch","serial":"01","reason":"keyCompromise"}' "$B/v1/revoke" || true
det=$(as_engine sqlite3 data/ledger.db "SELECT detail FROM audit_log WHERE action = 'refuse' ORDER BY seq DESC LIMIT 1")
case $det in
*" src=127.0.0.1 cred=cert:sha256:$FP") ;;
*) fail "the refusal record lacks the client's address and fingerprint: $det" ;;
esac
pass "issue and refusal records carry src=127.0.0.1 cred=cert:sha256:<the operator's fingerprint>"

EXP=data/audit-checkpoints.log
[ -s "$EXP" ] || fail "no checkpoint was exported to $EXP"
n=$(wc -l < "$EXP")
[ "$n" -ge 3 ] || fail "only $n checkpoints exported for 10+ records at every 3: $(cat "$EXP")"
grep -qv '^signet-audit-checkpoint v=1 node=- seq=[0-9]* time=[0-9]* head=[0-9a-f]\{64\} sig=[0-9a-f]*$' "$EXP" &&
	fail "a malformed export line: $(cat "$EXP")"
dbck=$(as_engine sqlite3 data/ledger.db "SELECT count(*) FROM audit_checkpoint")
[ "$dbck" = "$n" ] || fail "$n exported checkpoints, $dbck in the database"
last=$(tail -1 "$EXP" | sed 's/.* seq=\([0-9]*\) .*/\1/')
grep -q "msg=\"audit checkpoint\" line=\"signet-audit-checkpoint v=1 node=- seq=$last " "$APP_LOG" ||
	fail "checkpoint $last is not in the engine's log"
pass "$n checkpoints exported to the file and the log, the same as in the database (last at seq $last)"

as_engine "$build/provisioning/appliance/signet-provision" pubkey -m /usr/lib/softhsm/libsofthsm2.so \
	-t signet-dev -p data/user.pin -l signet-audit > audit.pub || fail "audit public key"
verify() { # EXPECTED ARGS...
	local want=$1 st=0
	shift
	as_engine "$build/tools/signet-audit/signet-audit" verify --db data/ledger.db --pubkey audit.pub "$@" \
		> verify.out 2>&1 || st=$?
	[ "$st" = "$want" ] || fail "signet-audit verify $* exited $st, not $want: $(cat verify.out)"
}
verify 0 --checkpoints "$EXP"
grep -q "exported checkpoints in $EXP match" verify.out || fail "verify did not use the export: $(cat verify.out)"
pass "verify against the exported checkpoints passes: $(tr '\n' ' ' < verify.out)"

# The tail goes, checkpoints and all, with the appliance stopped.
appliance_stop || fail "signetd did not stop cleanly"
cut=$((last - 2))
as_engine sqlite3 data/ledger.db \
	"DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_ckpt_no_delete;
	 DELETE FROM audit_log WHERE seq >= $cut; DELETE FROM audit_checkpoint WHERE seq >= $cut;" ||
	fail "sqlite3 could not cut the tail"
[ "$(as_engine sqlite3 data/ledger.db "SELECT max(seq) FROM audit_log")" = $((cut - 1)) ] ||
	fail "the tail was not cut"
verify 0
pass "without the export the database alone still verifies: $(tr '\n' ' ' < verify.out)"
verify 1 --checkpoints "$EXP"
grep -q "FAILED: log truncated: it ends at seq $((cut - 1)) but a signed exported checkpoint covers seq $last" verify.out ||
	fail "verify did not name the truncation: $(cat verify.out)"
pass "with the export, the cut tail is reported: $(cat verify.out)"
st=0
as_engine "$build/tools/signetctl/signetctl" audit verify --db data/ledger.db --pubkey audit.pub \
	--checkpoints "$EXP" > ctl.out 2>&1 || st=$?
[ "$st" = 1 ] && grep -q "FAILED: log truncated: it ends at seq $((cut - 1)) but a signed exported checkpoint" ctl.out ||
	fail "signetctl audit verify --checkpoints exited $st: $(cat ctl.out)"
pass "signetctl audit verify --checkpoints reports it too (exit 1)"

# A forged line (the signature of another checkpoint) is refused as such.
sed -n '1p' "$EXP" | sed "s/ seq=[0-9]* / seq=$((cut - 1)) /" > forged.log
chmod 644 forged.log
verify 1 --checkpoints forged.log
grep -q "exported checkpoint at seq $((cut - 1)) has a bad signature" verify.out ||
	fail "a forged exported checkpoint was not refused: $(cat verify.out)"
printf 'not a checkpoint\n' > junk.log
chmod 644 junk.log
verify 2 --checkpoints junk.log
grep -q "junk.log:1: not a signet audit checkpoint line" verify.out || fail "junk export: $(cat verify.out)"
pass "a forged export line fails its signature; a file that is not an export is an error"

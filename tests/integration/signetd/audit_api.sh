#!/usr/bin/env bash
# GET /v1/audit and `signetctl audit show` against the running appliance
# (issue 19): an auditor reads the audit log with filters (time, tenant,
# action, actor) and pages through it.  Two certificates in two tenants,
# one revoked; each filter must return exactly the records it names;
# bad parameters are 400 with a message; a client without the operator
# or auditor role is refused (403), and an auditor of one tenant reads
# only that tenant.  Real signetd, SoftHSMv2, SQLite, curl and signetctl.
#
# usage: audit_api.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/appliance.sh
. "$src/tests/support/appliance.sh"
test_begin auditapi
test_cleanup() { appliance_stop >/dev/null 2>&1; }

# A client CA of this test's own (a file key: test material only) for an
# agent and two auditors, a second tenant, and the client mappings.
clients_make() {
	mkdir -p clients
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout clients/ca.key -out data/ca/clients.pem -days 2 \
		-subj /CN=audit-test-clients >/dev/null 2>&1
	chmod 644 data/ca/clients.pem
	local n
	for n in agent-x auditor-all auditor-second; do
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "clients/$n.key" -subj "/CN=$n" -out "clients/$n.csr" 2>/dev/null
		openssl x509 -req -in "clients/$n.csr" -CA data/ca/clients.pem \
			-CAkey clients/ca.key -CAcreateserial -days 1 \
			-extfile <(printf 'extendedKeyUsage=clientAuth\n') \
			-out "clients/$n.pem" 2>/dev/null
	done
}
app_conf_extra() {
	clients_make
	python3 -c '
import sys
s = sys.stdin.read()
s = s.replace("client_ca = { \"data/ca/operators.pem\" }",
    "client_ca = { \"data/ca/operators.pem\", \"data/ca/clients.pem\" }")
for name, role, tenants in (("agent-x", "agent", "*"),
    ("auditor-all", "auditor", "*"), ("auditor-second", "auditor", "second")):
	s += """
client "%s" {
	cn = "%s"
	issuer_cert = { "data/ca/clients.pem" }
	role = "%s"
	tenants = { "%s" }
}
""" % (name, name, role, tenants)
s += """
tenant "second" {
	issuer "second-ca" {
		key = "signet-intermediate"
		cert = "data/ca/intermediate.pem"
		chain = "data/ca/root.pem"
	}
	profile "web" {
		issuer = "second-ca"
		domains = { "second.internal" }
		allow_bare = true
		allow_subdomains = true
		key_types = { "p256" }
		roles = { "operator" }
	}
}
"""
print(s, end="")'
}
appliance_start "$src" "$build" "$work"
B="https://127.0.0.1:$HTTPS"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
ctl_bin=$build/tools/signetctl/signetctl
OPFP=$(openssl x509 -in data/operator/operator.pem -outform der | sha256sum | cut -c1-64)

# get URL_SUFFIX [CLIENT]: GET /v1/audit..., body in got, status echoed.
get() {
	local who=("${OP[@]}")
	[ -n "${2:-}" ] && who=(--cert "clients/$2.pem" --key "clients/$2.key")
	curl -s -o got -w '%{http_code}' "${CA[@]}" "${who[@]}" "$B/v1/audit$1"
}
# Records of the last answer as "action object" lines, then next/more.
recs() { python3 -c 'import json; d=json.load(open("got")); [print(r["action"], r["object"]) for r in d["records"]]'; }
field() { python3 -c "import json; d=json.load(open('got')); print($1)"; }

sign() {	# TENANT PROFILE NAME -> serial (lower-case hex)
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$3.key" \
		-subj "/CN=$3" -addext "subjectAltName=DNS:$3" -out "$3.csr" 2>/dev/null
	python3 -c 'import json,sys; print(json.dumps({"tenant":sys.argv[1],"profile":sys.argv[2],"csr":open(sys.argv[3]).read()}))' \
		"$1" "$2" "$3.csr" > sign.json
	local code
	code=$(curl -s -o signed.json -w '%{http_code}' "${CA[@]}" "${OP[@]}" \
		-H 'Content-Type: application/json' --data-binary @sign.json "$B/v1/sign")
	[ "$code" = 200 ] || fail "/v1/sign $1/$2: $code $(cat signed.json)"
	python3 -c 'import json; print(json.load(open("signed.json"))["serial"])'
}

T0=$(date +%s)
SA=$(sign dev service a.svc.dev.internal)
sleep 2
TMID=$(date +%s)
SB=$(sign second web b.second.internal)
code=$(curl -s -o rev.json -w '%{http_code}' "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	--data-binary "{\"tenant\":\"second\",\"serial\":\"$SB\",\"reason\":\"keyCompromise\"}" "$B/v1/revoke")
[ "$code" = 200 ] || fail "/v1/revoke: $code $(cat rev.json)"
pass "issued $SA (tenant dev) and $SB (tenant second), revoked $SB"

# Filters: each returns exactly the records it names.
[ "$(get '?tenant=second')" = 200 ] || fail "tenant=second: $(cat got)"
[ "$(recs)" = "$(printf 'issue %s\nrevoke %s' "$SB" "$SB")" ] || fail "tenant=second: $(recs)"
[ "$(field 'd["more"], all(r["tenant"] == "second" and len(r["hash"]) == 64 for r in d["records"])')" = "False True" ] ||
	fail "tenant=second fields: $(cat got)"
[ "$(get '?tenant=dev&action=issue')" = 200 ] || fail "tenant=dev&action=issue: $(cat got)"
[ "$(recs)" = "issue $SA" ] || fail "tenant=dev&action=issue: $(recs)"
[ "$(get '?action=revoke')" = 200 ] && [ "$(recs)" = "revoke $SB" ] || fail "action=revoke: $(recs)"
[ "$(get "?actor=cert:sha256:$OPFP")" = 200 ] || fail "actor: $(cat got)"
[ "$(recs)" = "$(printf 'issue %s\nissue %s\nrevoke %s' "$SA" "$SB" "$SB")" ] || fail "actor=operator: $(recs)"
[ "$(field 'set(r["detail"].split()[-1] for r in d["records"])')" = "{'cred=cert:sha256:$OPFP'}" ] ||
	fail "actor=operator: details $(cat got)"
# Another fingerprint: the last digit changed (never to itself).
OTHER=${OPFP%?}$([ "${OPFP: -1}" = 0 ] && echo 1 || echo 0)
[ "$(get "?actor=cert:sha256:$OTHER")" = 200 ] && [ -z "$(recs)" ] || fail "another fingerprint matched: $(recs)"
[ "$(get "?actor=control")" = 200 ] && [ -z "$(recs)" ] || fail "actor=control matched: $(recs)"
[ "$(get "?since=$TMID&actor=cert:sha256:$OPFP")" = 200 ] || fail "since: $(cat got)"
[ "$(recs)" = "$(printf 'issue %s\nrevoke %s' "$SB" "$SB")" ] || fail "since=TMID: $(recs)"
[ "$(get "?until=$TMID&since=$T0&actor=cert:sha256:$OPFP")" = 200 ] && [ "$(recs)" = "issue $SA" ] ||
	fail "since..until: $(recs)"
UNTIL=$(date -u -d "@$TMID" +%Y-%m-%dT%H:%M:%SZ)
[ "$(get "?until=$UNTIL&tenant=dev")" = 200 ] && [ "$(recs)" = "issue $SA" ] || fail "until RFC 3339: $(recs)"
pass "filters: tenant, tenant+action, action, actor (cert fingerprint; others match nothing), since, since+until, until in RFC 3339"

# Paging: one record a page, next/more until the end (nothing is logged
# between these reads: reads are not audited).
q="actor=cert:sha256:$OPFP&limit=1"
got_all=
after=0
for i in 1 2 3; do
	[ "$(get "?$q&after=$after")" = 200 ] || fail "page $i: $(cat got)"
	# more: the log holds records past this page (none after the third).
	[ "$(field 'len(d["records"]), d["more"]')" = "1 $([ $i = 3 ] && echo False || echo True)" ] ||
		fail "page $i: $(cat got)"
	got_all="$got_all$(recs);"
	after=$(field 'd["next"]')
	[ "$after" = "$(field 'd["records"][0]["seq"]')" ] || fail "page $i: next is not the last seq"
done
[ "$(get "?$q&after=$after")" = 200 ] && [ "$(field 'len(d["records"]), d["more"], d["next"] >= '"$after")" = "0 False True" ] ||
	fail "past the last page: $(cat got)"
[ "$got_all" = "issue $SA;issue $SB;revoke $SB;" ] || fail "pages: $got_all"
pass "paging: limit=1 three times with after=next (more true, true, false), then an empty page"

# Bad parameters: 400 with a message.
for bad in 'limit=0' 'limit=1001' 'since=yesterday' 'until=2026-02-31T00:00:00Z' 'foo=1' \
	'tenant=a/b' 'after=-1' 'since=20&until=10' 'limit=5&limit=6' 'action=nosuch' 'tenant'; do
	code=$(get "?$bad")
	[ "$code" = 400 ] || fail "?$bad answered $code: $(cat got)"
	grep -q '"error"' got || fail "?$bad: no error message: $(cat got)"
done
pass "400 with a message for a bad limit, time, parameter, tenant, after, range, repetition, action"

# Who may read: not an agent (403); an auditor of tenant second reads
# tenant second only; an auditor of every tenant reads everything.
[ "$(get '?tenant=dev' agent-x)" = 403 ] || fail "agent read the audit log: $(cat got)"
grep -q 'role agent may not read the audit log' got || fail "agent: $(cat got)"
[ "$(get '' auditor-second)" = 403 ] || fail "auditor-second read every tenant: $(cat got)"
[ "$(get '?tenant=dev' auditor-second)" = 403 ] || fail "auditor-second read tenant dev: $(cat got)"
[ "$(get '?tenant=second' auditor-second)" = 200 ] || fail "auditor-second, tenant second: $(cat got)"
[ "$(recs)" = "$(printf 'issue %s\nrevoke %s' "$SB" "$SB")" ] || fail "auditor-second: $(recs)"
[ "$(get '?action=revoke' auditor-all)" = 200 ] && [ "$(recs)" = "revoke $SB" ] || fail "auditor-all: $(cat got)"
code=$(curl -s -o got -w '%{http_code}' "${CA[@]}" "$B/v1/audit")
[ "$code" = 401 ] || fail "no client certificate: $code"
# The refusals are themselves audited (refuse, denied).
[ "$(get '?action=refuse&tenant=dev')" = 200 ] || fail "refusals: $(cat got)"
[ "$(field 'sum("audit log" in r["detail"] for r in d["records"])')" -ge 2 ] || fail "refusals not audited: $(cat got)"
pass "403 for an agent and for an auditor outside its tenant; 200 inside it; 401 without a certificate; refusals audited"

# signetctl audit show: the same through the CLI.
cat > signetctl.conf <<EOF2
server = https://127.0.0.1:$HTTPS
cacert = data/ca/root.pem
cert = data/operator/operator.pem
key = data/operator/operator.key
EOF2
export SIGNETCTL_CONFIG=$work/signetctl.conf
ctl() {
	local want=$1 st=0
	shift
	"$ctl_bin" "$@" >out 2>err || st=$?
	[ "$st" = "$want" ] || fail "signetctl $* exited $st, not $want: $(cat err)"
}
ctl 0 audit show -T second --json
python3 - "$SB" <<'PY' || fail "audit show -T second --json: $(cat out)"
import json, sys
d = json.load(open("out"))
assert [(r["action"], r["object"]) for r in d["records"]] == [("issue", sys.argv[1]), ("revoke", sys.argv[1])], d
assert d["more"] is False and isinstance(d["next"], int), d
PY
ctl 0 audit show --actor "cert:sha256:$OPFP" --since "$(date -u -d "@$TMID" +%Y-%m-%dT%H:%M:%SZ)"
head -1 out | grep -q '^SEQ  *TIME  *ACTION  *RESULT  *TENANT  *OBJECT  *ACTOR  *DETAIL' || fail "audit show table head"
[ "$(tail -n +2 out | awk '{print $3, $6}')" = "$(printf 'issue %s\nrevoke %s' "$SB" "$SB")" ] ||
	fail "audit show table rows"
# --limit pages through the API (one record a request with --limit 2 of 3).
ctl 0 audit show --actor "cert:sha256:$OPFP" --limit 2 --json
[ "$(python3 -c 'import json; d=json.load(open("out")); print(len(d["records"]), d["more"])')" = "2 True" ] ||
	fail "audit show --limit 2: $(cat out)"
ctl 0 audit show --action revoke --until 1h
grep -q '^no audit records$' out || fail "audit show --until 1h (an hour ago) found records"
ctl 1 --cert clients/agent-x.pem --key clients/agent-x.key audit show -T dev
grep -q 'role agent may not read the audit log' err || fail "agent via signetctl: $(cat err)"
ctl 2 audit show --limit 0
ctl 2 audit show --since someday
ctl 2 audit show --action nosuch
# Off line on the ledger file, as before.
ctl 0 audit show --db data/ledger.db --action revoke --json
[ "$(python3 -c 'import json; d=json.load(open("out")); print([r["object"] for r in d["records"]])')" = "['$SB']" ] ||
	fail "audit show --db: $(cat out)"
pass "signetctl audit show: --json and table over /v1/audit, filters, --limit across pages, exit 1 refused, 2 bad flags, --db off line"

appliance_stop || fail "signetd did not stop cleanly"
echo "$npass passed, 0 failed"

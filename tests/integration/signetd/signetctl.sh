#!/usr/bin/env bash
# signetctl against the running appliance (issue 19): every verb, tables
# and --json, exit codes 0 / 1 (refused, not found, revoked) / 2 (bad
# flag, unreachable), revoke then `ocsp check` says revoked.  The
# appliance is the real one (signetd + engine + front ends on a SoftHSMv2
# token and a SQLite ledger, tests/support/appliance.sh).
#
# usage: signetctl.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/appliance.sh
. "$src/tests/support/appliance.sh"
test_begin ctl
test_cleanup() { appliance_stop >/dev/null 2>&1; }
# signetctl's own output first, then the appliance's log.
fail() {
	echo "FAIL: $*" >&2
	[ -f "$work/out" ] && { echo "--- stdout"; cat "$work/out"; } >&2
	[ -f "$work/err" ] && { echo "--- stderr"; cat "$work/err"; } >&2
	[ -f "$work/signetd.log" ] && tail -30 "$work/signetd.log" >&2
	exit 1
}

# A profile that keeps no certificates (store = false), besides dev-host's.
app_conf_extra() {
	python3 -c '
import sys
s = sys.stdin.read()
i = s.rindex("}")
print(s[:i] + """	profile "nostore" {
		issuer = "intermediate"
		domains = { "svc.dev.internal" }
		allow_subdomains = true
		key_types = { "p256" }
		store = false
		roles = { "operator" }
	}
}""")'
}
appliance_start "$src" "$build" "$work"
ctl_bin=$build/tools/signetctl/signetctl
# The operator's settings file, as README "Operating it" writes it; paths
# are relative to the file.
cat > signetctl.conf <<EOF
# signetctl settings for this appliance
server = https://127.0.0.1:$HTTPS
http = "http://127.0.0.1:$HTTP"
cacert = data/ca/root.pem
cert = data/operator/operator.pem
key = data/operator/operator.key   # a file name, never the key
tenant = dev
EOF
export SIGNETCTL_CONFIG=$work/signetctl.conf
# ctl EXPECTED ARGS...: runs signetctl, stdout in out, stderr in err, and
# fails unless it exits EXPECTED.
ctl() {
	local want=$1 st=0
	shift
	"$ctl_bin" "$@" >out 2>err || st=$?
	[ "$st" = "$want" ] || fail "signetctl $* exited $st, not $want"
}
json() { python3 -c "import json,sys; d=json.load(open('out')); print($1)"; }

# health
ctl 0 health
grep -q '^status: *ready$' out && grep -q '^token: *ok$' out && grep -q '^audit: *ok$' out ||
	fail "health table"
ctl 0 health --json
[ "$(json 'd["status"], d["ledger"], d["token"]')" = "ready True True" ] || fail "health json"
pass "health: a table and JSON (status ready, token, ledger, audit)"
"$ctl_bin" -c /dev/null --cacert data/ca/root.pem -s "https://127.0.0.1:$HTTPS" health >out 2>err ||
	fail "health without a client certificate"
[ "$(wc -l < out)" = 1 ] && grep -q '^status: *ready$' out || fail "anonymous health told more than its status"
pass "health without a client certificate tells only the status"

# tokens create, then an enrollment with it (curl, EST) gives a certificate.
ctl 0 tokens create -P service -n web.svc.dev.internal --ttl 1h --json
T=$(json 'd["token"]')
[ -n "$T" ] || fail "no token"
ctl 0 tokens create -P service -n api.svc.dev.internal --ttl 10m --uses 2
grep -q '^token: ' out && grep -q '^expires: ' out || fail "tokens create table"
pass "tokens create (JSON and table)"
csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2" \
		-subj "/CN=$1" -addext "subjectAltName=DNS:$1" -outform DER 2>/dev/null | base64 -w0
}
csr web.svc.dev.internal web.key > web.csr
code=$(curl -s -o web.p7 -w '%{http_code}' --cacert data/ca/root.pem -H "Authorization: Bearer $T" \
	-H 'Content-Type: application/pkcs10' --data-binary @web.csr \
	"https://127.0.0.1:$HTTPS/.well-known/est/simpleenroll")
[ "$code" = 200 ] || fail "enroll with the token signetctl made: $code"
base64 -d web.p7 | openssl pkcs7 -inform der -print_certs > web.pem
SER=$(openssl x509 -in web.pem -noout -serial | cut -d= -f2)
ser=$(printf '%s' "$SER" | tr 'A-F' 'a-f')

# certs list and show
ctl 0 certs list
head -1 out | grep -q '^SERIAL  *STATUS  *NOT_AFTER' || fail "certs list head"
grep -q "^$ser  *valid " out || fail "certs list row for $ser"
grep -q '^1 of 1 certificate$' out || fail "certs list footer"
ctl 0 certs list --json --status valid
[ "$(json 'd["total"], d["items"][0]["serial"]')" = "1 $ser" ] || fail "certs list json"
ctl 0 certs list --status revoked --json
[ "$(json 'd["total"]')" = 0 ] || fail "no certificate is revoked yet"
ctl 0 certs list -q web.svc --expiring-within 2d --limit 5
grep -q "^$ser " out || fail "filters q + expiring_within"
pass "certs list: a table, JSON, --status, -q, --expiring-within, --limit"
ctl 0 certs show "$SER"
grep -q "^serial: *$ser$" out && grep -q '^status: *valid$' out &&
	grep -q '^names: *web.svc.dev.internal$' out && grep -q '^profile: *service$' out ||
	fail "certs show table"
ctl 0 certs show --pem "$(openssl x509 -in web.pem -noout -serial | cut -d= -f2 | sed 's/../&:/g; s/:$//')"
cmp <(openssl x509 -in out) <(openssl x509 -in web.pem) || fail "certs show --pem is not the certificate"
ctl 0 certs show --json "$SER"
[ "$(json 'd["serial"], d["status"]')" = "$ser valid" ] || fail "certs show json"
pass "certs show: fields, names from the certificate, --pem (colon serial), JSON"
# Issue 13: which credential authorised it, and all it minted.
ctl 0 certs show "$SER"
grep -q "^authorized_by: *token:${T%%.*}$" out || fail "certs show authorized_by"
ctl 0 certs list --authorized-by "token:${T%%.*}" --status any --json
[ "$(json 'd["total"], d["items"][0]["serial"], d["items"][0]["authorized_by"]')" = "1 $ser token:${T%%.*}" ] ||
	fail "certs list --authorized-by token"
ctl 0 certs list --authorized-by "token:nosuch"
grep -q '^0 of 0 certificates$' out || fail "certs list --authorized-by of an unused credential"
ctl 2 certs list --authorized-by ""
pass "certs show prints authorized_by; certs list --authorized-by finds what one token minted"

# A certificate of a store = false profile: the row is shown, the DER is not kept.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ns.key \
	-subj /CN=ns.svc.dev.internal -addext subjectAltName=DNS:ns.svc.dev.internal -out ns.csr 2>/dev/null
python3 -c 'import json; print(json.dumps({"tenant":"dev","profile":"nostore","csr":open("ns.csr").read()}))' > sign.json
code=$(curl -s -o ns.json -w '%{http_code}' --cacert data/ca/root.pem --cert data/operator/operator.pem \
	--key data/operator/operator.key -H 'Content-Type: application/json' --data-binary @sign.json \
	"https://127.0.0.1:$HTTPS/v1/sign")
[ "$code" = 200 ] || fail "/v1/sign nostore: $code $(cat ns.json)"
nser=$(python3 -c 'import json; print(json.load(open("ns.json"))["serial"])')
ctl 0 certs show "$nser"
grep -q '^profile: *nostore$' out && grep -q '^stored: *no ' out && grep -q '^status: *valid$' out ||
	fail "certs show of an unstored certificate"
opfp=$(openssl x509 -in data/operator/operator.pem -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
grep -q "^authorized_by: *cert:sha256:$opfp$" out || fail "the operator's /v1/sign is not recorded as cert:sha256:$opfp"
ctl 1 certs show --pem "$nser"
grep -q 'store = false' err || fail "--pem of an unstored certificate: $(cat err)"
ctl 2 ocsp check "$nser"
grep -q 'give --cert-file' err || fail "ocsp check of an unstored certificate: $(cat err)"
python3 -c 'import json; print(json.load(open("ns.json"))["certificate"], end="")' > ns.pem
ctl 0 ocsp check --cert-file ns.pem
grep -q '^status: *good$' out || fail "ocsp check --cert-file of an unstored certificate"
pass "a store = false certificate: certs show tells the row (stored: no), --pem is 1, ocsp check needs --cert-file"

# Exit 1: not found, refused.
ctl 1 certs show 0102030405
grep -q '404' err || fail "missing serial: $(cat err)"
ctl 1 certs list -T nosuchtenant
grep -q '403' err || fail "unknown tenant: $(cat err)"
ctl 1 --cert web.pem --key web.key certs revoke "$SER"
grep -q '403' err || fail "a requester revoking: $(cat err)"
ctl 1 -c /dev/null --cacert data/ca/root.pem -s "https://127.0.0.1:$HTTPS" certs list -T dev
grep -q '401' err || fail "no client certificate: $(cat err)"
pass "exit 1: missing serial (404), unknown tenant (403), requester revoking (403), no certificate (401)"

# Exit 2: bad flags, unreachable server, untrusted server.
ctl 2 certs list --status bogus
grep -q 'any, valid, revoked or expired' err || fail "bad --status message"
ctl 2 certs list --nosuchflag
grep -q 'unknown option' err && grep -q '^usage: signetctl certs list' err || fail "bad flag message"
ctl 2 certs show not-hex
ctl 2 frobnicate
ctl 2 --key "$(cat data/operator/operator.key)" health
grep -q 'never its contents' err || fail "a key on the command line was taken"
dead=$(free_port)
ctl 2 -s "https://127.0.0.1:$dead" health
grep -q 'cannot connect' err || fail "unreachable: $(cat err)"
ctl 2 --cacert web.pem health
grep -q 'did not verify' err || fail "untrusted server: $(cat err)"
ctl 0 certs list --help
grep -q '^usage: signetctl certs list' out || fail "--help"
pass "exit 2: bad flag, bad value, unknown verb, a key's contents as --key, unreachable, untrusted server; --help exits 0"


# OCSP and CRL as relying parties see them, before and after a revocation.
ctl 0 ocsp check "$SER"
grep -q "^serial: *$ser$" out && grep -q '^status: *good$' out && grep -q "^responder: *http://127.0.0.1:$HTTP/ocsp$" out ||
	fail "ocsp check good"
ctl 0 ocsp check --cert-file web.pem --json
[ "$(json 'd["status"], d["revoked_at"]')" = "good None" ] || fail "ocsp check json"
pass "ocsp check: good, by serial through the API and by file (URLs from the certificate)"
ctl 0 crl show
grep -q '^signature: *verified$' out && grep -q '^entries: *0$' out || fail "crl show before"
ctl 0 crl show --json
[ "$(json 'd["verified"], len(d["entries"])')" = "True 0" ] || fail "crl show json"
pass "crl show: fetched, signature verified against the issuer and --cacert"

ctl 0 certs revoke -r keyCompromise "$SER"
grep -q "^$ser revoked at 20" out || fail "certs revoke output"
ctl 1 ocsp check "$SER"
grep -q '^status: *revoked$' out && grep -q '^reason: *keyCompromise$' out || fail "ocsp check after revoke"
ctl 1 ocsp check --json "$SER"
[ "$(json 'd["status"], d["reason"]')" = "revoked keyCompromise" ] || fail "ocsp revoked json"
ctl 0 certs show "$SER"
grep -q '^status: *revoked$' out && grep -q '^revoked_at: *20' out || fail "certs show after revoke"
ctl 0 certs list --status revoked --json
[ "$(json 'd["total"], d["items"][0]["serial"]')" = "1 $ser" ] || fail "revoked list"
ctl 1 certs revoke "$SER"
pass "certs revoke, then ocsp check says revoked (keyCompromise, exit 1); revoking again is refused (exit 1: $(head -c 80 err))"

# A serial this CA never issued: the responder says unknown (exit 1).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout stray.key \
	-subj /CN=stray -set_serial 0x0102030405 -days 1 -out stray.pem 2>/dev/null
ctl 1 ocsp check --cert-file stray.pem --issuer-cert data/ca/intermediate.pem --url "http://127.0.0.1:$HTTP/ocsp"
grep -q '^status: *unknown$' out || fail "ocsp unknown"
ctl 2 ocsp check --cert-file stray.pem --url "http://127.0.0.1:$HTTP/ocsp"
grep -q 'caIssuers' err || fail "no issuer: $(cat err)"
pass "ocsp check: a serial never issued is unknown (exit 1); no issuer to ask about is an error (exit 2)"

# The CRL lists the revocation once it is rebuilt (debounced, ~30 s):
# awaited, 180 s at most, so that a loaded machine only makes it later.
end=$((SECONDS + 180))
while [ "$SECONDS" -lt "$end" ]; do
	"$ctl_bin" crl show --json >out 2>err || true
	grep -q "\"$ser\"" out && break
	sleep 1
done
[ "$(json '[e["reason"] for e in d["entries"] if e["serial"] == "'"$ser"'"][0]')" = keyCompromise ] ||
	fail "the CRL never listed $ser"
ctl 0 crl show
grep -q "^$ser  *20.*  *keyCompromise$" out || fail "crl table row"
ctl 1 crl show --issuer-cert web.pem
grep -q 'issuer' err || fail "crl with the wrong issuer: $(cat err)"
ctl 1 crl show -i nosuchissuer
pass "crl show lists the revoked serial with its reason; a wrong issuer fails verification (1), an unknown issuer is not found (1)"

# Off line: config check (signetd's loader), audit verify / show and
# tokens list on the ledger file (read as the engine's user, whose it is).
ctl 0 config check -f signetd.conf
grep -q 'signetd.conf: configuration ok (1 tenant, 4 profiles' out || fail "config check"
ctl 0 config check -f signetd.conf --json
[ "$(json 'd["ok"], d["tenants"][0]["name"], d["tenants"][0]["profiles"]')" = "True dev ['service', 'acme', 'device', 'nostore']" ] ||
	fail "config check json"
sed 's/^https_workers = 1/https_workers = "one"/' signetd.conf > bad.conf
ctl 1 config check -f bad.conf
grep -q 'bad.conf:[0-9]' err || fail "config check names the line: $(cat err)"
ctl 2 config check -f nosuch.conf
pass "config check: ok with a summary, JSON; a bad value is 1 with file:line; a missing file is 2"

as_engine "$build/provisioning/appliance/signet-provision" pubkey -m /usr/lib/softhsm/libsofthsm2.so \
	-t signet-dev -p data/user.pin -l signet-audit > audit.pub || fail "audit public key"
actl() {
	local want=$1 st=0
	shift
	as_engine "$ctl_bin" "$@" >out 2>err || st=$?
	[ "$st" = "$want" ] || fail "signetctl $* (as the engine's user) exited $st, not $want"
}
actl 0 audit verify --db data/ledger.db --pubkey audit.pub
grep -q '^data/ledger.db: OK: ' out || fail "audit verify"
actl 0 audit verify --db data/ledger.db --pubkey audit.pub --json
[ "$(json 'd["ok"], d["first_bad"]')" = "True None" ] || fail "audit verify json"
actl 0 audit show --db data/ledger.db --action revoke
grep -q "revoke  *ok  *dev  *$ser " out && grep -q '^1 record$' out || fail "audit show revoke"
actl 0 audit show --db data/ledger.db --since 1h --json
python3 -c "
import json; d=json.load(open('out')); a=[r['action'] for r in d['records']]
assert 'issue' in a and 'revoke' in a, a
assert [r['seq'] for r in d['records']] == sorted(r['seq'] for r in d['records'])
" || fail "audit show json: $(head -c 300 out)"
mkdir -p tamper
[ "$(id -u)" != 0 ] || chown signet:signet tamper
as_engine sqlite3 data/ledger.db ".backup tamper/ledger.db"
as_engine sqlite3 tamper/ledger.db "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET detail='edited' WHERE seq=2;"
actl 1 audit verify --db tamper/ledger.db --pubkey audit.pub
grep -q 'FAILED' err && grep -q '2' err || fail "a tampered log verified: $(cat err)"
actl 2 audit verify --db nosuch.db --pubkey audit.pub
actl 2 audit verify --db data/ledger.db
pass "audit verify (0 ok, 1 for an edited record, 2 without a file or key) and audit show (filters, JSON) on the ledger"

actl 0 tokens list --db data/ledger.db -T dev
grep -q '^ID  *PROFILE  *USES_LEFT' out && grep -q ' used  *web.svc.dev.internal$' out &&
	grep -q ' 2  *20[^ ]*  *usable  *api.svc.dev.internal$' out && grep -q '^2 tokens$' out || fail "tokens list"
actl 0 tokens list --db data/ledger.db -T dev --json
[ "$(json 'sorted(t["state"] for t in d["tokens"])')" = "['usable', 'used']" ] || fail "tokens list json"
ctl 2 tokens list
grep -q -- '--db' err || fail "tokens list without --db: $(cat err)"
ctl 2 tokens revoke "${T%%.*}"
grep -q 'cannot revoke' err || fail "tokens revoke: $(cat err)"
pass "tokens list on the ledger (no secrets there): used and usable tokens, JSON; tokens revoke says the API cannot yet (2)"

# Every read is bounded in time and size: a server that accepts and never
# answers, one that sends a head without end, one that sends a body over
# the limit, one that answers with malformed JSON.  Each is exit 2, named.
cat > rogue.py <<'PY'
import socket, sys, threading, time
mode, port_file = sys.argv[1], sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(4)
open(port_file, "w").write(str(s.getsockname()[1]))
def serve(c):
    try:
        c.recv(65536)
        if mode == "silent":
            time.sleep(30)
        elif mode == "head":
            c.sendall(b"HTTP/1.1 200 OK\r\n")
            for _ in range(4096):
                c.sendall(b"X-Pad: " + b"a" * 64 + b"\r\n")
        elif mode == "body":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            chunk = b" " * 65536
            for _ in range(400):
                c.sendall(chunk)
        elif mode == "json":
            body = b'{"status":"ready",}'
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    except OSError:
        pass
    c.close()
deadline = time.time() + 60
s.settimeout(1)
while time.time() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
rogue() { # mode -> port in rport; server pid in rpid
	rm -f rport
	python3 rogue.py "$1" rport & rpid=$!
	for _ in $(seq 1 50); do [ -s rport ] && break; sleep 0.1; done
	[ -s rport ] || fail "rogue server $1"
}
rogue silent
ctl 2 -c /dev/null -t 2 -s "http://127.0.0.1:$(cat rport)" health
grep -q 'timed out while waiting for the answer' err || fail "silent server: $(cat err)"
kill "$rpid" 2>/dev/null || true
rogue head
ctl 2 -c /dev/null -s "http://127.0.0.1:$(cat rport)" health
grep -q 'too large' err || fail "endless head: $(cat err)"
kill "$rpid" 2>/dev/null || true
rogue body
ctl 2 -c /dev/null -s "http://127.0.0.1:$(cat rport)" health
grep -q 'over [0-9]* bytes' err || fail "endless body: $(cat err)"
kill "$rpid" 2>/dev/null || true
rogue json
ctl 2 -c /dev/null -s "http://127.0.0.1:$(cat rport)" health
grep -q 'not JSON' err || fail "malformed JSON: $(cat err)"
kill "$rpid" 2>/dev/null || true
pass "bounded: a silent server times out (-t 2), an endless head or body is refused at its limit, bad JSON is named (all exit 2)"

# tidy (issue 19; tests/integration/signetd/tidy.sh does the removing):
# nothing here has expired 30 days ago.
ctl 0 tidy --json
[ "$(json 'd["certs"], d["tokens"], d["done"], d["calls"]')" = "0 0 True 1" ] || fail "tidy json"
ctl 0 tidy --once
grep -q '^tenant dev: removed 0 certificates and 0 enrollment tokens' out || fail "tidy table"
pass "tidy: nothing old enough to remove (table and JSON)"

# Every verb has --help (exit 0) and a place in the man page.
"$ctl_bin" --help | sed -n '/^verbs:$/,/^signetctl VERB/s/^  \([a-z]\{1,\}\)\( [a-z]\{1,\}\)\{0,1\}\( .*\)\{0,1\}$/\1\2/p' > verbs
[ "$(wc -l < verbs)" = 15 ] || fail "signetctl --help lists $(wc -l < verbs) verbs: $(cat verbs)"
while read -r verb; do
	# shellcheck disable=SC2086
	ctl 0 $verb --help
	grep -q "^usage: signetctl $verb" out || fail "$verb --help"
	grep -q "^\.It Cm $verb" "$src/tools/signetctl/signetctl.1" || fail "$verb is not in signetctl.1"
done < verbs
pass "every verb ($(wc -l < verbs)) answers --help and is in the man page"

echo "$npass passed, 0 failed"

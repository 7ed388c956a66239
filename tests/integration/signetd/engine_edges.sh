#!/usr/bin/env bash
# The engine at the edges (issue 13), on the dev-host appliance with curl
# and openssl: the files it creates are its own alone whatever the umask.
#
# usage: engine_edges.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"
test_begin edges
test_ports
cd "$work"

DATA=$work/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$src/board/dev-host/run.sh" >provision.log 2>&1 ||
	{ cat provision.log; fail "provisioning"; }
export SOFTHSM2_CONF=$work/data/softhsm2.conf
python3 - "$src/board/dev-host/signetd.conf" "$HTTPS" "$HTTP" > signetd.conf <<'PY'
import sys
s = open(sys.argv[1]).read()
s = s.replace("127.0.0.1:8443", "127.0.0.1:" + sys.argv[2]).replace("127.0.0.1:8080", "127.0.0.1:" + sys.argv[3])
s = s.replace('coap = "127.0.0.1:5684"', '')
# A profile whose certificates the ledger records without their DER.
extra = """
	profile "nostore" {
		issuer = "intermediate"
		domains = { "svc.dev.internal" }
		key_types = { "p256" }
		store = false
		roles = { "operator" }
	}
}
"""
i = s.rindex("}")
print(s[:i] + extra.lstrip("\n"), end="")
PY
B="https://127.0.0.1:$HTTPS"
CA=(--cacert data/ca/root.pem)
OP=(--cert data/operator/operator.pem --key data/operator/operator.key)
# start: signetd, awaited until it answers or exits; 120 s bounds a hang
# (under ASan on a loaded 2-core machine the start takes tens of seconds).
start() {
	local end=$((SECONDS + 120))
	"$build/firmware/signetd/signetd" -f signetd.conf >>signetd.log 2>&1 &
	pid=$!
	while [ "$SECONDS" -lt "$end" ]; do
		curl -sf -m 10 -o /dev/null "${CA[@]}" "$B/.well-known/est/cacerts" && return 0
		kill -0 "$pid" 2>/dev/null || fail "signetd exited"
		sleep 0.2
	done
	fail "appliance did not come up in 120 s"
}

# umask 077 for everything under the data directory, whatever signetd's.
touch marker
sleep 1
umask 022
start
[ -f data/ledger.db ] || fail "no ledger after start"
for f in data/ledger.db data/ledger.db-wal data/ledger.db-shm; do
	[ -e "$f" ] || continue
	m=$(stat -c %a "$f")
	[ "$m" = 600 ] || fail "$f has mode $m under umask 022 (want 600)"
done
loose=$(find data -newer marker \( -type f -o -type d \) -perm /077 -print)
[ -z "$loose" ] || fail "created group/other-accessible under umask 022: $loose"
pass "under umask 022 the ledger is 0600 and nothing the engine created is group/other-accessible"

sign() { # profile csr-pem-file out -> http code (/v1/sign as the operator)
	python3 -c 'import json,sys; print(json.dumps({"tenant":"dev","profile":sys.argv[1],"csr":open(sys.argv[2]).read()}))' \
		"$1" "$2" > sign.json
	curl -s -o "$3" -w '%{http_code}' "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		--data-binary @sign.json "$B/v1/sign"
}
rsa_csr() { # bits name -> PEM CSR file name.csr
	openssl req -new -newkey "rsa:$1" -nodes -keyout "$2.key" -subj "/CN=$2.svc.dev.internal" \
		-addext "subjectAltName=DNS:$2.svc.dev.internal" -out "$2.csr" 2>/dev/null
}

# key_types are exact: the dev service profile lists rsa2048 and rsa3072.
rsa_csr 4096 r4096
code=$(sign service r4096.csr out)
[ "$code" = 400 ] && grep -q "RSA key of 4096 bits: profile service allows RSA of exactly 2048 or 3072 bits" out ||
	fail "an RSA-4096 CSR for a profile of rsa2048 and rsa3072 answered $code: $(cat out)"
rsa_csr 2048 r2048
code=$(sign service r2048.csr out)
[ "$code" = 200 ] || fail "an RSA-2048 CSR answered $code: $(cat out)"
pass "key_types are exact: RSA-4096 refused (400) where rsa2048 and rsa3072 are listed; RSA-2048 issued"

# A certificate from a store = false profile: looked up, answered with
# what the ledger knows (200, no DER), not 500.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ns.key \
	-subj /CN=ns.svc.dev.internal -addext subjectAltName=DNS:ns.svc.dev.internal -out ns.csr 2>/dev/null
code=$(sign nostore ns.csr out)
[ "$code" = 200 ] || fail "/v1/sign with the nostore profile answered $code: $(cat out)"
ser=$(python3 -c 'import json; print(json.load(open("out"))["serial"])')
code=$(curl -s -o got -w '%{http_code}' "${CA[@]}" "${OP[@]}" "$B/v1/certs/$ser?tenant=dev")
[ "$code" = 200 ] || fail "GET /v1/certs/<serial> of an unstored certificate answered $code: $(cat got)"
python3 - "$ser" got <<'PY' || fail "lookup of an unstored certificate: $(cat got)"
import json, sys
j = json.load(open(sys.argv[2]))
assert j["serial"].lower() == sys.argv[1].lower(), j
assert j["stored"] is False and j["certificate"] is None, j
assert j["profile"] == "nostore" and j["status"] == "valid", j
PY
code=$(sign service r2048.csr out2)
[ "$code" = 200 ] || fail "sign service: $code"
ser3=$(python3 -c 'import json; print(json.load(open("out2"))["serial"])')
code=$(curl -s -o got -w '%{http_code}' "${CA[@]}" "${OP[@]}" "$B/v1/certs/$ser3?tenant=dev")
[ "$code" = 200 ] && python3 -c 'import json; j=json.load(open("got")); assert j["stored"] is True and "BEGIN CERTIFICATE" in j["certificate"]' ||
	fail "lookup of a stored certificate: $code $(cat got)"
pass "GET /v1/certs/<serial> of a store = false certificate: 200 with what is known (stored false, no DER); stored ones keep their PEM"

# Every name is recorded (ledger, audit, search) or the request refused:
# many.svc.dev.internal and 39 names of 78 bytes (3,102 as text; the old
# record cut at 2,048) are found by the last one; 47 names (3,655, over
# 3,584) get 400.
many_csr() { # count out
	python3 - "$1" > many.cnf <<'PY'
import sys
n = int(sys.argv[1])
names = ",".join(["DNS:many.svc.dev.internal"] +
                 ["DNS:%02d%s.svc.dev.internal" % (i, "a" * 59) for i in range(1, n)])
print("[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=many.svc.dev.internal\n")
print("[ext]\nsubjectAltName=" + names)
PY
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout many.key \
		-config many.cnf -reqexts ext -out "$2" 2>/dev/null
}
many_csr 40 m40.csr
code=$(sign service m40.csr out)
[ "$code" = 200 ] || fail "40 long names answered $code: $(cat out)"
last="39$(printf 'a%.0s' $(seq 59)).svc.dev.internal"
code=$(curl -s -o got -w '%{http_code}' "${CA[@]}" "${OP[@]}" "$B/v1/certs?tenant=dev&q=$last")
[ "$code" = 200 ] && python3 -c 'import json; j=json.load(open("got")); assert j["total"] == 1, j' ||
	fail "the 40th name is not found by search: $code $(head -c 300 got)"
many_csr 47 m47.csr
code=$(sign service m47.csr out)
[ "$code" = 400 ] && grep -q "the 47 names take 3655 bytes as text and at most 3584 are recorded" out ||
	fail "47 long names answered $code: $(cat out)"
pass "every name is recorded: the 40th of 40 names (3,102 bytes) is found by search; 47 (over the record) get 400"

# Issuer names are one issuer across tenants: /crl/<name>.crl and
# /ca/<name>.der name the issuer alone.  A second tenant reusing the name
# is refused at load (it got the first tenant's CRL and CA certificate).
python3 - > twotenants.conf <<'PY'
s = open("signetd.conf").read()
s += """
tenant "second" {
	issuer "intermediate" {
		key = "signet-intermediate"
		cert = "data/ca/intermediate.pem"
	}
	profile "web" {
		domains = { "second.internal" }
		roles = { "operator" }
	}
}
"""
print(s, end="")
PY
set +e
"$build/firmware/signetd/signetd" -n -f twotenants.conf > out 2>&1; st=$?
set -e
[ "$st" = 1 ] && grep -q 'issuer "intermediate" is in tenant "dev" and tenant "second"' out ||
	fail "two tenants with one issuer name: exit $st: $(cat out)"
python3 -c 'import sys; s=open("twotenants.conf").read(); i=s.index("tenant \"second\""); print(s[:i] + s[i:].replace("issuer \"intermediate\"", "issuer \"second-ca\""), end="")' > renamed.conf
"$build/firmware/signetd/signetd" -n -f renamed.conf > out 2>&1 || fail "renamed issuer refused: $(cat out)"
pass "an issuer name used by two tenants is refused at load (signetd -n exit 1 naming both tenants); renamed, it loads"

echo "$npass passed, 0 failed"

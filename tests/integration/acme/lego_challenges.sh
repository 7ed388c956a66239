#!/usr/bin/env bash
# ACME challenges beyond http-01 (issue 20) against the running dev-host
# appliance (signetd, engine, HTTPS front end, signet-validator; SoftHSMv2
# token, SQLite ledger) with lego from Debian 12, and the validator's
# address allow-list:
#   phase 1, acme_validate_allow = { "10.0.0.0/8" } and a profile without
#   allow_wildcard:
#     - a wildcard order is refused (rejectedIdentifier);
#     - http-01 to a name that resolves to 127.0.0.1 fails "address not
#       allowed": loopback is outside the list, nothing is issued;
#   phase 2, acme_validate_allow = { "127.0.0.0/8" } (no
#   acme_validate_loopback), allow_wildcard = true:
#     - `lego --tls` (tls-alpn-01, RFC 8737) enrolls;
#     - `lego --dns exec` (dns-01) with a hook publishing the TXT record in
#       a dnsmasq on loopback (acme_dns_resolver) enrolls a name and a
#       wildcard;
#     - a TXT record with the wrong value fails the order
#       (incorrectResponse) and issues nothing.
# Bounded: lego is given 120 s per run, the script 400 s by ctest.
#
# usage: lego_challenges.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

command -v lego >/dev/null || fail "lego is not installed (tools/install-deps.sh)"
command -v dnsmasq >/dev/null || fail "dnsmasq is not installed (tools/install-deps.sh: dnsmasq-base)"
test_begin acme-chall
test_ports
H01=$(free_port)
TLSP=$(free_port)
DNS_PORT=$(free_udp_port)
export DNS_PORT DNS_DIR=$work/dns
mkdir -p "$DNS_DIR"
export EXEC_PATH=$src/tests/integration/acme/dns-hook.sh
export EXEC_PROPAGATION_TIMEOUT=30 EXEC_POLLING_INTERVAL=1 EXEC_SEQUENCE_INTERVAL=1
test_cleanup() { bash "$src/tests/integration/acme/dns-server.sh" stop; }
dev_provision

# $1: the allow-list, $2: lines after the acme profile's est_label.
conf() {
	dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_tlsalpn01_port = $TLSP\nacme_dns_resolver = \"127.0.0.1:$DNS_PORT\"\nacme_validate_allow = { \"$1\" }\nacme_http01_address = \"127.0.0.1\"/" \
		"s/^\(\t*\)est_label = \"dev-acme\"\$/&$2/" >signetd.conf
}
DIR=
start() {
	dev_start
	DIR="$B/acme/dev-acme/directory"
	grep -q 'signet-validator\[[0-9]*\].*msg=ready' signetd.log || sleep 1
}

eab() {
	curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		-d '{"tenant":"dev","profile":"acme"}' "$B/v1/acme/eab" >"$1.json"
	KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' "$1.json")
	HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' "$1.json")
	[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key: $(cat "$1.json")"
}

# lego OUT [lego options...]: an account with a fresh EAB key, run.
lego_run() {
	local out=$1
	shift
	eab "$out"
	LEGO_CA_CERTIFICATES=$work/data/ca/root.pem timeout 120 lego \
		--server "$DIR" --email ops@svc.dev.internal --accept-tos \
		--eab --kid="$KID" --hmac="$HMAC" --path "$work/$out" "$@" \
		run >"$out.out" 2>&1
}

issued_none() {
	curl -sf "${CA[@]}" "${OP[@]}" "$B/v1/certs?tenant=dev&q=$1" >list.json || fail "list"
	grep -q '"total":0' list.json || fail "something was issued for $1: $(cat list.json)"
}

chain_ok() {
	local crt=$work/$1/certificates/$2.crt
	openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem \
		"$crt" >/dev/null || fail "$2: certificate does not chain to the dev root"
	openssl x509 -in "$crt" -noout -ext subjectAltName >"$1.san"
}

# --- phase 1: loopback not in the allow-list, no wildcards -------------
conf "10.0.0.0\/8" ""
start
grep -q 'signet-validator\[[0-9]*\].*msg=ready.*allow=1' signetd.log ||
	fail "validator did not start with the allow-list"

if lego_run w0 --domains "*.w.svc.dev.internal" \
	--dns exec --dns.disable-cp; then
	fail "a wildcard was ordered under a profile without allow_wildcard"
fi
grep -q "rejectedIdentifier" w0.out || { cat w0.out; fail "wildcard: no rejectedIdentifier"; }
pass "a wildcard is rejectedIdentifier where the profile does not allow wildcards"

NA=na.svc.dev.internal
if lego_run na --domains "$NA" --http --http.port "127.0.0.1:$H01"; then
	fail "a validation reached 127.0.0.1 outside acme_validate_allow"
fi
grep -q "address not allowed" na.out || { cat na.out; fail "no 'address not allowed'"; }
issued_none "$NA"
pass "http-01 to an address outside acme_validate_allow fails (address not allowed), nothing issued"
daemon_stop

# --- phase 2: loopback allowed by the list, wildcards allowed ----------
conf "127.0.0.0\/8" "\n\\1allow_wildcard = true"
grep -q "allow_wildcard = true" signetd.conf || fail "conf: no allow_wildcard"
start
bash "$src/tests/integration/acme/dns-server.sh" start || fail "dnsmasq"

# tls-alpn-01: lego answers with its acme-tls/1 certificate.
TN=tls.svc.dev.internal
lego_run tls --domains "$TN" --tls --tls.port "127.0.0.1:$TLSP" ||
	{ cat tls.out; fail "lego --tls"; }
chain_ok tls "$TN"
grep -q "DNS:$TN" tls.san || fail "tls-alpn-01 certificate lacks $TN"
st=$(sqlite3 data/ledger.db "SELECT chall_type || '/' || status FROM acme_authz WHERE value = '$TN'")
[ "$st" = tls-alpn-01/valid ] || fail "authorization of $TN: $st"
pass "lego --tls (tls-alpn-01) enrolled $TN"

# dns-01: a name and a wildcard, TXT records published in dnsmasq.
DN=d.svc.dev.internal
lego_run dns --domains "$DN" --domains "*.$DN" --dns exec --dns.disable-cp ||
	{ cat dns.out; tail -20 "$DNS_DIR/dnsmasq.log" 2>/dev/null; fail "lego --dns exec"; }
chain_ok dns "$DN"
grep -q "DNS:$DN" dns.san && grep -qF "DNS:*.$DN" dns.san ||
	fail "dns-01 certificate lacks $DN or *.$DN: $(cat dns.san)"
st=$(sqlite3 data/ledger.db "SELECT group_concat(chall_type || '/' || status, ' ') FROM
	(SELECT * FROM acme_authz WHERE value IN ('$DN', '*.$DN') ORDER BY value)")
[ "$st" = "dns-01/valid dns-01/valid" ] || fail "authorizations of $DN: $st"
grep -q "_acme-challenge.$DN" "$DNS_DIR/dnsmasq.log" || fail "the validator did not ask dnsmasq"
pass "lego --dns exec (dns-01) enrolled $DN and *.$DN through the configured resolver"

# A wrong TXT value: the engine refuses it, the order fails, nothing issued.
BN=bad.svc.dev.internal
if DNS_BAD=1 lego_run bad --domains "$BN" --dns exec --dns.disable-cp; then
	fail "a wrong TXT record was accepted"
fi
grep -q "incorrectResponse" bad.out || { cat bad.out; fail "wrong TXT: no incorrectResponse"; }
issued_none "$BN"
st=$(sqlite3 data/ledger.db "SELECT o.status || '/' || z.status || '/' || z.chall_type FROM acme_orders o
	JOIN acme_authz z ON z.order_id = o.id WHERE z.value = '$BN'")
[ "$st" = invalid/invalid/dns-01 ] || fail "order/authorization of $BN: $st"
pass "a wrong dns-01 TXT record fails the order (incorrectResponse), nothing issued"

if [ "$(id -u)" = 0 ]; then
	vp=$(pgrep -P "$pid" -f signet-validator | head -1)
	[ -n "$vp" ] || fail "signet-validator is not running"
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$vp/status" || fail "validator without seccomp"
	pass "signet-validator did tls-alpn-01 and dns-01 under its seccomp filter"
fi
echo "$npass passed"

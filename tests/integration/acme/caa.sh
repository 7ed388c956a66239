#!/usr/bin/env bash
# CAA (RFC 8659) and A/AAAA through the configured resolver (issue 20),
# against the running dev-host appliance with lego's http-01 and the test
# DNS server (dnsmasq on loopback, acme_dns_resolver), with
# acme_caa_identities = { "ca.signet.test" } and no acme_http01_address:
# every name reaches lego's http-01 server only by its A record in
# dnsmasq, which the system resolver does not know.
#   - svc.dev.internal's CAA "issue" names ca.signet.test: a name under it
#     with no CAA of its own (the climb, RFC 8659 3) enrolls;
#   - a name whose own CAA names another CA: the order is invalid with
#     urn:ietf:params:acme:error:caa, nothing issued, lego never asked;
#   - a name with an unknown critical CAA property: caa as well;
#   - RFC 8657: the parent's record allows http-01 only
#     (validationmethods=http-01; lego's http-01 enrolls under it); a name
#     whose record names us for dns-01 only, and one whose record names us
#     for another account (accounturi), are caa with the parameter named;
#   - a name without an A record: "cannot resolve" (connection), nothing
#     issued: the validator asked dnsmasq, not /etc/hosts or glibc.
# Bounded: lego is given 120 s per run, the script 600 s by ctest (4
# lego runs after provisioning took up to 265 s on a loaded machine).
#
# usage: caa.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

command -v lego >/dev/null || fail "lego is not installed (tools/install-deps.sh)"
command -v dnsmasq >/dev/null || fail "dnsmasq is not installed (tools/install-deps.sh: dnsmasq-base)"
test_begin acme-caa
test_ports
H01=$(free_port)
DNS_PORT=$(free_udp_port)
export DNS_PORT DNS_DIR=$work/dns
mkdir -p "$DNS_DIR"
dns() { bash "$src/tests/integration/acme/dns-server.sh" "$@"; }
test_cleanup() { dns stop; }
dev_provision

OK=ok.caa.svc.dev.internal
OTHER=other.caa.svc.dev.internal
CRIT=crit.caa.svc.dev.internal
NOADDR=noaddr.caa.svc.dev.internal
METH=meth.caa.svc.dev.internal
ACCT=acct.caa.svc.dev.internal
dns caa svc.dev.internal 0 issue "ca.signet.test; validationmethods=http-01"
dns caa "$METH" 0 issue "ca.signet.test; validationmethods=dns-01"
dns caa "$ACCT" 0 issue "ca.signet.test; accounturi=https://127.0.0.1:1/acme/dev-acme/acct/someoneelse"
dns caa svc.dev.internal 0 iodef "mailto:security@svc.dev.internal"
dns caa "$OTHER" 0 issue "letsencrypt.org"
dns caa "$CRIT" 128 tbs "unknown"
dns caa "$CRIT" 0 issue "ca.signet.test"
for n in "$OK" "$OTHER" "$CRIT" "$METH" "$ACCT"; do dns addr "$n" 127.0.0.1; done
dns start || fail "dnsmasq"

dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_dns_resolver = \"127.0.0.1:$DNS_PORT\"\nacme_validate_allow = { \"127.0.0.0\/8\" }\nacme_caa_identities = { \"ca.signet.test\" }/" \
	>signetd.conf
grep -q 'acme_caa_identities' signetd.conf || fail "conf: no acme_caa_identities"
grep -q 'acme_http01_address' signetd.conf && fail "conf: acme_http01_address would bypass DNS"
dev_start
DIR="$B/acme/dev-acme/directory"
for _ in $(seq 1 50); do grep -q 'signet-validator\[[0-9]*\].*msg=ready' signetd.log && break; sleep 0.1; done
grep -q 'signet-validator\[[0-9]*\].*CAA check on.*first=ca.signet.test' signetd.log ||
	fail "the validator did not log its CAA identities: $(grep signet-validator signetd.log | head -5)"

eab() {
	curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		-d '{"tenant":"dev","profile":"acme"}' "$B/v1/acme/eab" >"$1.json"
	KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' "$1.json")
	HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' "$1.json")
	[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key: $(cat "$1.json")"
}
# lego_http OUT NAME: an account with a fresh EAB key, http-01 for NAME.
lego_http() {
	eab "$1"
	LEGO_CA_CERTIFICATES=$work/data/ca/root.pem timeout 120 lego \
		--server "$DIR" --email ops@svc.dev.internal --accept-tos \
		--eab --kid="$KID" --hmac="$HMAC" --path "$work/$1" \
		--domains "$2" --http --http.port "127.0.0.1:$H01" run >"$1.out" 2>&1
}
issued_none() {
	curl -sf "${CA[@]}" "${OP[@]}" "$B/v1/certs?tenant=dev&q=$1" >list.json || fail "list"
	grep -q '"total":0' list.json || fail "something was issued for $1: $(cat list.json)"
}
authz_state() {
	sqlite3 data/ledger.db "SELECT o.status || '/' || z.status FROM acme_orders o
		JOIN acme_authz z ON z.order_id = o.id WHERE z.value = '$1'"
}

# Ours at the parent: the climb finds it, the A record leads to lego.
lego_http ok "$OK" || { cat ok.out; tail -5 "$DNS_DIR/dnsmasq.log"; fail "lego ($OK)"; }
openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem \
	"$work/ok/certificates/$OK.crt" >/dev/null || fail "$OK: certificate does not chain"
grep -q "query\[CAA\] $OK" "$DNS_DIR/dnsmasq.log" || fail "no CAA query for $OK"
grep -q "query\[CAA\] caa.svc.dev.internal" "$DNS_DIR/dnsmasq.log" || fail "the CAA lookup did not climb"
grep -q "query\[A\] $OK" "$DNS_DIR/dnsmasq.log" || fail "the validator did not resolve $OK through dnsmasq"
pass "CAA at the parent naming ca.signet.test for http-01 (RFC 8657 validationmethods): $OK enrolled, its address from the configured resolver"

# Another CA named: caa, the order invalid, nothing issued.
if lego_http other "$OTHER"; then fail "$OTHER enrolled against a CAA record naming another CA"; fi
grep -q "urn:ietf:params:acme:error:caa" other.out || { cat other.out; fail "$OTHER: no caa problem"; }
grep -q "letsencrypt\|does not name\|names this CA" other.out || true
[ "$(authz_state "$OTHER")" = invalid/invalid ] || fail "order/authorization of $OTHER: $(authz_state "$OTHER")"
issued_none "$OTHER"
pass "CAA naming another CA: order invalid with urn:ietf:params:acme:error:caa, nothing issued"

# An unknown critical property forbids even beside our issue record.
if lego_http crit "$CRIT"; then fail "$CRIT enrolled despite an unknown critical CAA property"; fi
grep -q "urn:ietf:params:acme:error:caa" crit.out || { cat crit.out; fail "$CRIT: no caa problem"; }
grep -q "critical" crit.out || { cat crit.out; fail "$CRIT: the detail does not say critical"; }
issued_none "$CRIT"
pass "an unknown critical CAA property: caa, nothing issued"

# RFC 8657: our record, but for dns-01 only, or for another account.
if lego_http meth "$METH"; then fail "$METH enrolled by http-01 against validationmethods=dns-01"; fi
grep -q "urn:ietf:params:acme:error:caa" meth.out || { cat meth.out; fail "$METH: no caa problem"; }
grep -q "validationmethods" meth.out || { cat meth.out; fail "$METH: the detail does not name validationmethods"; }
issued_none "$METH"
if lego_http acct "$ACCT"; then fail "$ACCT enrolled against another account's accounturi"; fi
grep -q "urn:ietf:params:acme:error:caa" acct.out || { cat acct.out; fail "$ACCT: no caa problem"; }
grep -q "accounturi" acct.out || { cat acct.out; fail "$ACCT: the detail does not name accounturi"; }
issued_none "$ACCT"
pass "RFC 8657: a record naming this CA for dns-01 only, or for another account, refuses http-01 with caa naming the parameter; nothing issued"

# No A record in the configured resolver: the validator cannot connect.
if lego_http noaddr "$NOADDR"; then fail "$NOADDR enrolled without an address"; fi
grep -q "cannot resolve $NOADDR" noaddr.out || { cat noaddr.out; fail "$NOADDR: no 'cannot resolve'"; }
grep -q "urn:ietf:params:acme:error:connection" noaddr.out || { cat noaddr.out; fail "$NOADDR: not a connection problem"; }
issued_none "$NOADDR"
pass "a name without an A/AAAA record at the configured resolver: connection 'cannot resolve', nothing issued"
echo "$npass passed"

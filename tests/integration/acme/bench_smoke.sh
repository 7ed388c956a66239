#!/usr/bin/env bash
# signet-bench-acme cannot rot (issue 20): against the running dev-host
# appliance, 2 connections (2 EAB accounts) run 3 ACME orders each, end to
# end (newOrder, authorization, http-01 answered by the generator,
# finalize, certificate), and every one must succeed; the ledger then
# holds the 6 certificates and 6 valid orders.  No timing is asserted:
# speed is tools/bench/bench-acme.sh's business.
#
# usage: bench_smoke.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

test_begin acme-bench
test_ports
H01=$(free_port)
dev_provision
dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_http01_address = \"127.0.0.1\"\nacme_validate_allow = { \"127.0.0.0\/8\" }/" \
	>signetd.conf
dev_start
"$build/tools/bench/signet-bench-acme" -p "$HTTPS" -c data/ca/root.pem -C data/operator/operator.pem \
	-K data/operator/operator.key -a "$H01" -N 3 -n 2 >bench.out 2>bench.err ||
	{ cat bench.out bench.err; fail "signet-bench-acme: not every order succeeded"; }
cat bench.out
grep -q ' 2 conns .* errors 0  ok 6 ' bench.out || fail "bench: $(cat bench.out)"
grep -q 'http-01 requests served: 6$' bench.out || fail "the validator did not fetch 6 answers: $(cat bench.out)"
n=$(sqlite3 data/ledger.db "SELECT count(*) FROM acme_orders WHERE status = 'valid'")
[ "$n" = 6 ] || fail "$n valid orders in the ledger, not 6"
n=$(sqlite3 data/ledger.db "SELECT count(*) FROM certs WHERE authorized_by LIKE 'acme:dev-acme:%'")
[ "$n" = 6 ] || fail "$n certificates authorized by ACME accounts in the ledger, not 6"
pass "signet-bench-acme: 6 orders on 2 connections, all valid, 6 certificates recorded"
echo "$npass passed"

#!/usr/bin/env bash
# ACME rate limits (issue 20, docs/acme.md "Rate limits") against the
# running dev-host appliance (signetd, engine, HTTPS front end,
# signet-validator; SoftHSMv2, SQLite), driven by acme_limits.py:
#   - new accounts per source (2 per 7 days): the third from 127.0.0.1 is
#     429 rateLimited with Retry-After, the same from 127.0.0.2 works;
#   - orders per account (3 per 7 days): the fourth is refused, another
#     account still orders;
#   - failed validations per account (2 per 7 days): after two unanswered
#     challenges newOrder is refused, another account is issued;
#   - kill -9 of the engine: signetd's new engine still refuses each
#     (the budgets are in the ledger, not the engine's memory);
#   - each refusal counted in /metrics (signet_engine_limit_total: the
#     new engine's counters, one refusal of each kind since it started);
#   - signetd -n refuses bad limit settings.
# The limits are hit by counting requests (windows of 7 days), not by
# speed.  Bounded: the script 300 s by ctest.
#
# usage: rate_limits.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
# shellcheck source=../../support/testlib.sh
. "$src/tests/support/testlib.sh"

command -v pgrep >/dev/null || fail "pgrep missing (procps)"
test_begin acme-rate
test_ports
H01=$(free_port)
dev_provision

# signetd -n: the limits' settings are checked.
for bad in 's/^acme_orders_per_account = .*/acme_orders_per_account = -1/' \
	's/^acme_accounts_window = .*/acme_accounts_window = "0s"/' \
	's/^acme_failed_authz_window = .*/acme_failed_authz_window = "8d"/' \
	's/^acme_orders_window = .*/acme_orders_window = "soon"/'; do
	dev_conf "$bad" >bad.conf
	if "$build/firmware/signetd/signetd" -n -f bad.conf >bad.out 2>&1; then
		fail "signetd -n accepted: $bad"
	fi
	grep -q 'acme_' bad.out || fail "signetd -n did not name the setting: $(cat bad.out)"
done
pass "signetd -n refuses a negative count, a zero or 8-day window and a non-duration"

dev_conf "s/^acme_http01_port = 80\$/acme_http01_port = $H01\nacme_validate_loopback = true\nacme_http01_address = \"127.0.0.1\"/" \
	's/^acme_orders_per_account = .*/acme_orders_per_account = 3/' \
	's/^acme_orders_window = .*/acme_orders_window = "7d"/' \
	's/^acme_failed_authz_per_account = .*/acme_failed_authz_per_account = 2/' \
	's/^acme_failed_authz_window = .*/acme_failed_authz_window = "7d"/' \
	's/^acme_accounts_per_source = .*/acme_accounts_per_source = 2/' \
	's/^acme_accounts_window = .*/acme_accounts_window = "7d"/' >signetd.conf
grep -q '^acme_accounts_per_source = 2$' signetd.conf || fail "the board configuration has no acme_accounts_per_source"
dev_start
DIR="$B/acme/dev-acme/directory"

metric() {
	curl -s "${CA[@]}" "${OP[@]}" "$B/metrics" |
		sed -n "s/^signet_engine_limit_total{event=\"$1\"} //p"
}
for e in acme_rate_orders acme_rate_failed_authz acme_rate_accounts; do
	[ "$(metric "$e")" = 0 ] || fail "/metrics $e before: '$(metric "$e")'"
done

: >eabs
for _ in 1 2 3 4; do
	curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
		-d '{"tenant":"dev","profile":"acme"}' "$B/v1/acme/eab" >eab.json
	kid=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab.json)
	key=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab.json)
	[ -n "$kid" ] && [ -n "$key" ] || fail "EAB key: $(cat eab.json)"
	echo "$kid $key" >>eabs
done

/usr/bin/python3 "$src/tests/integration/acme/acme_limits.py" "$DIR" \
	"$work/data/ca/root.pem" "$H01" svc.dev.internal eabs "$pid" >limits.out 2>&1 ||
	{ cat limits.out; fail "acme_limits.py"; }
cat limits.out
npass=$((npass + $(grep -c '^ok - ' limits.out)))

for e in acme_rate_orders acme_rate_failed_authz acme_rate_accounts; do
	[ "$(metric "$e")" = 1 ] || fail "/metrics $e after one refusal: '$(metric "$e")'"
done
curl -s "${CA[@]}" "${OP[@]}" "$B/metrics" | grep 'signet_engine_limit_total{event="acme_' |
	grep -v 'event="acme_rate_\(orders\|failed_authz\|accounts\)"' && fail "unexpected ACME limit labels"
pass "/metrics: signet_engine_limit_total{event=acme_rate_orders|acme_rate_failed_authz|acme_rate_accounts} = 1 each (the restarted engine's)"
n=$(sqlite3 data/ledger.db "SELECT count(*) FROM acme_accounts")
[ "$n" = 3 ] || fail "accounts in the ledger: $n, want 3 (the refused one made none)"
pass "the ledger holds 3 accounts: the refused newAccount made none"
echo "$npass passed"

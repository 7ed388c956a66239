#!/usr/bin/env bash
# ACME on two signetd nodes sharing one PostgreSQL ledger (issue 20).
# Run under tests/support/pgtest.sh (a throwaway PostgreSQL server):
#
#   pgtest.sh run -- cluster_acme.sh SOURCE_DIR BUILD_DIR
#
# Nodes a1 and a2 (a2's token a copy of a1's, as in cluster.sh) share one
# acme_base_url, as nodes behind a load balancer do; acme_cluster.py sends
# each request to the node it names: account and order on a1, validation,
# finalize and download on a2, nonces of one node redeemed on the other
# (a replay refused with badNonce on both), a second order reusing the
# authorization (acme_authz_reuse) finalized on a1.  Then the ledger is
# checked: two valid orders, each certificate ISSUED and authorized_by
# the account, the redeemed nonces' ids in acme_nonces, one nonce key.
set -euo pipefail
src=$1
build=$2
: "${SIGNET_PG_CONNINFO:?run me under tests/support/pgtest.sh}"
work=$(mktemp -d "${TMPDIR:-/tmp}/signet-cluster-acme-XXXXXX")
declare -A pid
cleanup() {
	for n in "${!pid[@]}"; do kill -TERM "${pid[$n]}" 2>/dev/null || true; done
	for n in "${!pid[@]}"; do
		for _ in $(seq 1 50); do kill -0 "${pid[$n]}" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "${pid[$n]}" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=../../support/cluster.sh
. "$src/tests/support/cluster.sh"
cd "$work"

DATA=$work/a1/data BUILD=$build SIGNET_NO_DAEMON=1 bash "$src/board/dev-host/run.sh" >a1-prov.log 2>&1 ||
	fail "provisioning"
mkdir -p "$work/a2"
cp -a "$work/a1/data" "$work/a2/data"
sed -i "s|$work/a1/data|$work/a2/data|" "$work/a2/data/softhsm2.conf"
sbx='s/^$//'
if [ "$(id -u)" = 0 ]; then
	# shellcheck source=../../support/users.sh
	. "$src/tests/support/users.sh"
	sbx=$(sandbox_prepare "$work" "$work"/a1/data "$work"/a2/data) || fail "sandbox users"
	chmod 755 "$work"/a1 "$work"/a2
fi
# Every port in one pass (distinct, below the ephemeral range: ports.py).
# LB is the load balancer's port: in URLs only, nothing listens.
read -r H01 LB pa1 pb1 pa2 pb2 < <(python3 "$src/tests/support/ports.py" \
	tcp tcp tcp tcp tcp tcp)
LIFE=7200
declare -A HTTPS HTTP
HTTPS[a1]=$pa1; HTTP[a1]=$pb1; HTTPS[a2]=$pa2; HTTP[a2]=$pb2
for n in a1 a2; do
	sed -e "s/127.0.0.1:8443/127.0.0.1:${HTTPS[$n]}/; s/127.0.0.1:8080/127.0.0.1:${HTTP[$n]}/g" \
		-e '/coap = /d' -e 's/backend = "sqlite"/backend = "pgsql"/' \
		-e "s|path = \"data/ledger.db\"|path = \"$SIGNET_PG_CONNINFO node=$n\"|" -e "$sbx" \
		-e "s|^acme_http01_port = 80\$|acme_http01_port = $H01\nacme_validate_loopback = true\nacme_http01_address = \"127.0.0.1\"\nacme_base_url = \"https://127.0.0.1:$LB\"\nacme_order_lifetime = \"2h\"\nacme_authz_reuse = \"1h\"|" \
		"$src/board/dev-host/signetd.conf" > "$work/$n/signetd.conf"
	grep -q "acme_authz_reuse" "$work/$n/signetd.conf" || fail "config $n: no acme_http01_port line to extend"
	chmod 644 "$work/$n/signetd.conf"
	"$build/firmware/signetd/signetd" -n -f "$work/$n/signetd.conf" >/dev/null || fail "config $n"
done
for n in a1 a2; do start_node $n; done
for n in a1 a2; do wait_node $n || fail "node $n did not come up"; done
pass "two signetd nodes up on one PostgreSQL ledger, one acme_base_url"

D=$work/a1/data
CA=(--cacert "$D/ca/root.pem")
OP=(--cert "$D/operator/operator.pem" --key "$D/operator/operator.key")
curl -s "${CA[@]}" "${OP[@]}" -H 'Content-Type: application/json' \
	-d '{"tenant":"dev","profile":"acme"}' "https://127.0.0.1:${HTTPS[a1]}/v1/acme/eab" >eab.json
KID=$(sed -n 's/.*"kid":"\([^"]*\)".*/\1/p' eab.json)
HMAC=$(sed -n 's/.*"hmac_key":"\([^"]*\)".*/\1/p' eab.json)
[ -n "$KID" ] && [ -n "$HMAC" ] || fail "EAB key on a1: $(cat eab.json)"
pass "EAB key made on a1"

NAME=cluster.svc.dev.internal
python3 "$src/tests/integration/cluster/acme_cluster.py" \
	"https://127.0.0.1:$LB/acme/dev-acme/directory" "127.0.0.1:${HTTPS[a1]}" \
	"127.0.0.1:${HTTPS[a2]}" "$D/ca/root.pem" "$KID" "$HMAC" "$H01" "$NAME" \
	"$LIFE" cert.pem >client.log 2>&1 || { cat client.log; fail "acme_cluster.py"; }
cat client.log
npass=$((npass + $(grep -c '^ok - ' client.log)))

# The ledger: both orders valid, their certificates ISSUED and recorded
# as the account's, the nonces redeemed, one key for both nodes.
acct=$(psql_q "select id from acme_accounts")
[ "$(echo "$acct" | wc -l)" = 1 ] || fail "accounts: $acct"
[ "$(psql_q "select count(*) from acme_orders where status = 'valid' and cert is not null")" = 2 ] ||
	fail "orders: $(psql_q "select id, status from acme_orders")"
[ "$(psql_q "select count(*) from acme_authz where status = 'valid'")" = 2 ] ||
	fail "authorizations: $(psql_q "select id, order_id, status from acme_authz")"
issued=$(psql_q "select count(*) from certs where status = 1 and authorized_by = 'acme:dev-acme:$acct'")
[ "$issued" = 2 ] || fail "certificates ISSUED by the account: $issued"
s=$(openssl x509 -in cert.pem -noout -serial | cut -d= -f2)
[ "$(psql_q "select status from certs where serial = '\\x$s'::bytea")" = 1 ] ||
	fail "the certificate downloaded from a2 is not ISSUED in the ledger"
nn=$(psql_q "select count(*) from acme_nonces")
[ "$nn" -ge 10 ] || fail "only $nn nonces redeemed in the ledger"
[ "$(psql_q "select count(*) from acme_nonce_key")" = 1 ] || fail "nonce keys"
pass "ledger: 2 valid orders, 2 certificates ISSUED authorized_by acme:dev-acme:$acct, $nn nonce ids, one nonce key"
nodes=$(psql_q "select string_agg(distinct node, ',' order by node) from certs where authorized_by like 'acme:%'")
echo "# certificates reserved by nodes: $nodes"
[ "$nodes" = "a1,a2" ] || fail "the two certificates were not issued one by each node: $nodes"
pass "one certificate issued by each node (a2 for the first order, a1 for the reused one)"
echo "$npass passed, 0 failed"

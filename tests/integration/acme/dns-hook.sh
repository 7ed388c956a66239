#!/usr/bin/env bash
# lego's exec DNS provider hook (EXEC_PATH) for lego_challenges.sh: keeps
# the TXT records lego asks for in $DNS_DIR/records and restarts the test's
# dnsmasq (Debian's dnsmasq-base, loopback, port $DNS_PORT) with them, since
# dnsmasq reads txt-record only at start.  DNS_BAD=1 publishes a wrong
# value instead (a dns-01 answer the engine must refuse).
#   dns-hook.sh present|cleanup _acme-challenge.<name>. <value>
set -euo pipefail
dir=$DNS_DIR
name=${2%.}
value=$3
[ "${DNS_BAD:-0}" = 1 ] && value="not-the-key-authorization-digest"
touch "$dir/records"
case $1 in
present) echo "txt-record=$name,\"$value\"" >>"$dir/records" ;;
cleanup) grep -vF "txt-record=$name," "$dir/records" >"$dir/records.new" || true
	mv "$dir/records.new" "$dir/records" ;;
*) exit 0 ;;
esac
exec "$(dirname "$0")/dns-server.sh" restart

#!/usr/bin/env bash
# The test DNS server of lego_challenges.sh: dnsmasq (Debian dnsmasq-base)
# on 127.0.0.1:$DNS_PORT answering only the TXT records in
# $DNS_DIR/records (no upstream, no /etc/hosts).
#   dns-server.sh start|restart|stop
set -euo pipefail
dir=$DNS_DIR
stop() {
	local p
	[ -f "$dir/dnsmasq.pid" ] || return 0
	p=$(cat "$dir/dnsmasq.pid")
	rm -f "$dir/dnsmasq.pid"
	kill "$p" 2>/dev/null || return 0
	for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
	echo "dnsmasq $p did not stop" >&2
	return 1
}
case $1 in
stop) stop; exit ;;
start | restart) stop ;;
*) echo "usage: dns-server.sh start|restart|stop" >&2; exit 2 ;;
esac
touch "$dir/records"
{
	printf 'port=%s\nlisten-address=127.0.0.1\nbind-interfaces\n' "$DNS_PORT"
	printf 'no-resolv\nno-hosts\nno-poll\nlog-queries\nlog-facility=%s\n' "$dir/dnsmasq.log"
	cat "$dir/records"
} >"$dir/dnsmasq.conf"
dnsmasq --conf-file="$dir/dnsmasq.conf" --pid-file="$dir/dnsmasq.pid" \
	--user="$(id -un)" --group="$(id -gn)"
for _ in $(seq 1 50); do [ -s "$dir/dnsmasq.pid" ] && exit 0; sleep 0.1; done
echo "dnsmasq did not start" >&2
exit 1

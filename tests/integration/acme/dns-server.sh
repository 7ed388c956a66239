#!/usr/bin/env bash
# The test DNS server of lego_challenges.sh and caa.sh: dnsmasq (Debian
# dnsmasq-base) on 127.0.0.1:$DNS_PORT answering only the records in
# $DNS_DIR/records (no upstream, no /etc/hosts): TXT records, and what
# the two verbs below add there before a start.  Every name is local
# (local=/#/): one it has no record of the type for is NXDOMAIN or
# NODATA, never REFUSED (which a CAA lookup must treat as a failure).
#   dns-server.sh start|restart|stop
#   dns-server.sh caa NAME FLAGS TAG VALUE   a CAA record (RFC 8659 4.1)
#   dns-server.sh addr NAME ADDRESS          an A or AAAA record
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
caa)
	# RDATA: flags, tag length, tag, value (dnsmasq's dns-rr takes hex).
	printf 'dns-rr=%s,257,%02x%02x%s%s\n' "$2" "$3" "${#4}" \
		"$(printf '%s' "$4" | od -An -tx1 | tr -d ' \n')" \
		"$(printf '%s' "$5" | od -An -tx1 | tr -d ' \n')" >>"$dir/records"
	exit ;;
addr) echo "host-record=$2,$3" >>"$dir/records"; exit ;;
start | restart) stop ;;
*) echo "usage: dns-server.sh start|restart|stop" >&2; exit 2 ;;
esac
touch "$dir/records"
{
	printf 'port=%s\nlisten-address=127.0.0.1\nbind-interfaces\n' "$DNS_PORT"
	printf 'no-resolv\nno-hosts\nno-poll\nlocal=/#/\nlog-queries\nlog-facility=%s\n' "$dir/dnsmasq.log"
	cat "$dir/records"
} >"$dir/dnsmasq.conf"
dnsmasq --conf-file="$dir/dnsmasq.conf" --pid-file="$dir/dnsmasq.pid" \
	--user="$(id -un)" --group="$(id -gn)"
for _ in $(seq 1 50); do [ -s "$dir/dnsmasq.pid" ] && exit 0; sleep 0.1; done
echo "dnsmasq did not start" >&2
exit 1

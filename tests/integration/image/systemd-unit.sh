#!/usr/bin/env bash
# The systemd files for installs outside the image (firmware/systemd):
#
#   systemd-unit.sh SOURCE_DIR
#
# - signetd.service passes `systemd-analyze verify` without a single
#   warning (unknown keys, system calls or capabilities are warnings there,
#   not errors, so any output fails);
# - it runs signetd as root (no User=, no DynamicUser=: signetd drops
#   privileges per child) and its CapabilityBoundingSet is exactly the set
#   signetd keeps itself (parent_caps in firmware/sandbox/sandbox.c);
# - signet.sysusers.conf makes the three users, each with its own group
#   and no shell, and signet.tmpfiles.conf makes /var/lib/signet (signet's,
#   0700) and an empty /var/empty (root's, 0755), in a scratch root.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: systemd-unit.sh SOURCE_DIR" >&2; exit 2; }
src=$1
sd=$src/firmware/systemd
for t in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	command -v "$t" >/dev/null || { echo "FAIL: $t not found (install systemd)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }

# verify wants ExecStart's binary to exist: point it at a stub.
printf '#!/bin/sh\nexit 0\n' > "$work/signetd"
chmod 755 "$work/signetd"
sed "s|/usr/sbin/signetd|$work/signetd|g" "$sd/signetd.service" > "$work/signetd.service"
if systemd-analyze verify "$work/signetd.service" > "$work/verify.txt" 2>&1 &&
	[ ! -s "$work/verify.txt" ]; then
	ok "systemd-analyze verify signetd.service: no warnings"
else
	bad "systemd-analyze verify: $(cat "$work/verify.txt")"
fi

if grep -Eq '^(User|Group|DynamicUser)=' "$sd/signetd.service"; then
	bad "signetd.service sets $(grep -E '^(User|Group|DynamicUser)=' "$sd/signetd.service" | tr '\n' ' '); signetd must start as root"
else
	ok "signetd.service starts signetd as root"
fi
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$sd/signetd.service" | tr ' ' '\n' | sort | tr '\n' ' ')
code_caps=$(sed -n '/parent_caps\[\] = {/,/};/p' "$src/firmware/sandbox/sandbox.c" |
	grep -o 'CAP_[A-Z_]*' | sort | tr '\n' ' ')
if [ -n "$code_caps" ] && [ "$unit_caps" = "$code_caps" ]; then
	ok "CapabilityBoundingSet is what signetd keeps: $unit_caps"
else
	bad "CapabilityBoundingSet '$unit_caps' is not signetd's '$code_caps'"
fi

mkdir -p "$work/root/etc"
systemd-sysusers --root="$work/root" "$sd/signet.sysusers.conf" >/dev/null 2>&1 ||
	bad "systemd-sysusers signet.sysusers.conf failed"
for u in signet signet-https signet-coap; do
	line=$(grep "^$u:" "$work/root/etc/passwd" || true)
	IFS=: read -r _ _ uid gid _ _ shell <<<"$line"
	if [ -n "$line" ] && [ "$uid" != 0 ] && [ "$shell" = /usr/sbin/nologin ] &&
		grep -q "^$u:x:$gid:" "$work/root/etc/group"; then
		ok "sysusers: $u (uid $uid, own group, no shell)"
	else
		bad "sysusers: $u: '$line'"
	fi
done
[ "$(cut -d: -f3 "$work/root/etc/passwd" | sort -u | wc -l)" = 3 ] ||
	bad "sysusers: the three users do not have three different uids"
systemd-tmpfiles --root="$work/root" --create "$sd/signet.tmpfiles.conf" >/dev/null 2>&1 ||
	bad "systemd-tmpfiles signet.tmpfiles.conf failed"
signet_uid=$(grep '^signet:' "$work/root/etc/passwd" | cut -d: -f3)
[ "$(stat -c '%a %u' "$work/root/var/lib/signet" 2>/dev/null)" = "700 $signet_uid" ] &&
	ok "tmpfiles: /var/lib/signet is signet's, 0700" ||
	bad "tmpfiles: /var/lib/signet: $(stat -c '%a %u' "$work/root/var/lib/signet" 2>&1)"
[ "$(stat -c '%a %u' "$work/root/var/empty" 2>/dev/null)" = "755 0" ] &&
	[ -z "$(ls -A "$work/root/var/empty")" ] &&
	ok "tmpfiles: /var/empty is empty, root's, 0755" ||
	bad "tmpfiles: /var/empty: $(stat -c '%a %u' "$work/root/var/empty" 2>&1)"

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all systemd unit checks passed"

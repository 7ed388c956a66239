#!/usr/bin/env bash
# Makes (or reuses) the Debian 13 (trixie) build root in which Signet is
# compiled and tested against trixie's libraries, and from which the
# appliance image takes its kernel, busybox and libraries:
#
#   tools/trixie-root.sh [-u] [DIR]        (default DIR: build-trixie/root)
#
# debootstrap --variant=minbase from the Debian archive this machine
# already uses (tools/debian-archive.sh reads it from the APT sources: no
# host name lives here), then APT inside the root installs exactly the
# packages below from trixie, trixie-updates and trixie-security (the
# security archive is a different path on the mirror; if it does not serve
# trixie-security the root is made without it and this says so).
#
# The root is cached: when DIR holds a root made from the same package list
# (the stamp file DIR/.signet-root), nothing is done; -u refreshes a cached
# root (apt-get update && upgrade: new security fixes).  A fresh machine
# needs only debootstrap (tools/install-deps.sh installs it) and root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/debian-archive.sh"

suite=trixie
# Build and test: compiler, CMake, the -dev packages of cmake/SignetDeps.cmake
# and the tools the unit and end-to-end tests drive (SoftHSMv2, pkcs11-tool,
# openssl, curl, coap-client-gnutls, python3 for free ports).
PKGS="gcc make libc6-dev cmake pkgconf
libssl-dev openssl libp11-kit-dev libp11-dev libcmocka-dev
libsqlite3-dev sqlite3 libpq-dev libevent-dev libseccomp-dev libconfuse-dev
libcoap3-dev libcoap3-bin libmbedtls-dev libgfshare-dev libqrencode-dev
libc-ares-dev
softhsm2 opensc curl ca-certificates procps psmisc python3-minimal
file binutils"
# The image: Debian's kernel, busybox, e2fsprogs, kmod (modprobe
# --show-depends), cpio.
PKGS="$PKGS linux-image-amd64 busybox-static e2fsprogs kmod cpio"

update=0
while getopts u opt; do
	case $opt in
	u) update=1 ;;
	*) echo "usage: trixie-root.sh [-u] [DIR]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
dir=${1:-$top/build-trixie/root}
fail() { echo "trixie-root: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || fail "debootstrap missing (tools/install-deps.sh)"

stamp="signet-root $suite $(echo $PKGS | tr ' ' '\n' | sort | tr '\n' ' ')"

# Runs a command in the root with /proc, /sys and /dev/pts mounted in a
# private mount namespace: the mounts disappear with the command.
in_root() {
	unshare --mount --propagation private -- sh -ec '
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount -t sysfs sys "$r/sys"
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root \
			INITRD=No "$@"
	' sh "$@"
}

if [ -f "$dir/.signet-root" ] && [ "$(cat "$dir/.signet-root")" = "$stamp" ]; then
	if [ "$update" = 1 ]; then
		in_root "$dir" apt-get update -q
		in_root "$dir" apt-get -y -q -o Dpkg::Options::=--force-confold upgrade
		in_root "$dir" apt-get clean
	fi
	echo "trixie root in $dir (cached; -u to update)"
	exit 0
fi

main=$(debian_main_uri)
sec=$(debian_security_uri)
[ -n "$main" ] || fail "no Debian archive in the APT sources"
t0=$(date +%s)
tmp=$dir.new
rm -rf "$tmp" "$dir"
mkdir -p "$(dirname "$dir")"
echo "trixie-root: debootstrap $suite from $main"
debootstrap --variant=minbase "$suite" "$tmp" "$main" > "$tmp.log" 2>&1 ||
	{ tail -30 "$tmp.log"; fail "debootstrap failed (log: $tmp.log)"; }
rm -f "$tmp/etc/apt/sources.list"
{
	printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' \
		"$main" "$suite" "$suite"
	printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
	if [ -n "$sec" ] && curl -fsI -m 30 "$sec/dists/$suite-security/InRelease" >/dev/null; then
		printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$sec" "$suite"
		printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
	else
		echo "trixie-root: WARNING: the archive serves no $suite-security;" \
			"the root has no security updates" >&2
	fi
} > "$tmp/etc/apt/sources.list.d/debian.sources"
# No initramfs for the kernel: the image is its own initramfs.
mkdir -p "$tmp/etc/initramfs-tools"
echo 'update_initramfs=no' > "$tmp/etc/initramfs-tools/update-initramfs.conf"
printf 'path-exclude=/usr/share/doc/*\npath-exclude=/usr/share/man/*\npath-exclude=/usr/share/locale/*\npath-include=/usr/share/doc/*/copyright\n' \
	> "$tmp/etc/dpkg/dpkg.cfg.d/signet-nodoc"
# Our update-initramfs.conf (above) stays: keep existing conffiles.
apt_opts="-y -q -o Dpkg::Options::=--force-confold"
in_root "$tmp" apt-get update -q >> "$tmp.log" 2>&1 ||
	{ tail -30 "$tmp.log"; fail "apt-get update in the root failed"; }
in_root "$tmp" apt-get $apt_opts upgrade >> "$tmp.log" 2>&1 ||
	{ tail -30 "$tmp.log"; fail "apt-get upgrade in the root failed"; }
# shellcheck disable=SC2086
in_root "$tmp" apt-get $apt_opts install --no-install-recommends $PKGS >> "$tmp.log" 2>&1 ||
	{ tail -30 "$tmp.log"; fail "apt-get install in the root failed (log: $tmp.log)"; }
in_root "$tmp" apt-get clean
rm -rf "$tmp"/var/lib/apt/lists/*_Packages 2>/dev/null || true
echo "$stamp" > "$tmp/.signet-root"
mv "$tmp" "$dir"
mv "$tmp.log" "$dir.log"
echo "trixie root in $dir: $(du -sh "$dir" | cut -f1), made in $(($(date +%s) - t0)) s"

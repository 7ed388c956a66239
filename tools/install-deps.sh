#!/usr/bin/env bash
# Installs every Debian package Signet needs on a fresh Debian 12 machine.
# Idempotent: re-running only installs what is missing.
#
# libp11 0.4.13 (and its OpenSSL engine) come from bookworm-backports; the
# backports suite is added next to the machine's own Debian archive, whose
# address is read from the existing APT sources (no host name lives here;
# tools/debian-archive.sh).  debootstrap makes the Debian 13 build root
# (tools/trixie-root.sh) from that same archive.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

BASE_PKGS=(
	build-essential cmake pkg-config clang libclang-rt-14-dev clang-format
	openssl libssl-dev
	softhsm2 opensc libcmocka-dev libp11-kit-dev
	libsqlite3-dev sqlite3 libpq-dev
	libevent-dev libseccomp-dev libconfuse-dev
	libcoap3-dev libcoap3-bin libmbedtls-dev
	libgfshare-dev libgfshare-bin libqrencode-dev
	curl ca-certificates procps psmisc python3-prometheus-client
	certbot lego
	libc-ares-dev dnsmasq-base uacme
	debootstrap
)
BP_PKGS=(libp11-3 libp11-dev libengine-pkcs11-openssl)
EXTRA_PKGS=()
for arg in "$@"; do
	case "$arg" in
	--bench) EXTRA_PKGS+=(golang-cfssl sqlite3) ;;
	--cluster) EXTRA_PKGS+=(postgresql haproxy) ;;
	--image) EXTRA_PKGS+=(qemu-system-x86 linux-image-amd64 busybox-static cpio systemd) ;;
	*) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
	esac
done

# The Debian archive the machine already uses (debian_main_uri).
. "$(dirname "$0")/debian-archive.sh"

BP_FILE=/etc/apt/sources.list.d/signet-backports.sources
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	uri=$(debian_uri bookworm | head -n1)
	if [ -z "$uri" ]; then
		echo "install-deps: no Debian bookworm archive found in the APT sources" >&2
		exit 2
	fi
	$SUDO tee "$BP_FILE" >/dev/null <<SRC
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	NEED_UPDATE=1
fi

missing=()
for p in "${BASE_PKGS[@]}" "${EXTRA_PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
bp_missing=()
for p in "${BP_PKGS[@]}"; do
	v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
	case "$v" in 0.4.13*) ;; *) bp_missing+=("$p") ;; esac
done

if [ ${#missing[@]} -eq 0 ] && [ ${#bp_missing[@]} -eq 0 ]; then
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if [ -n "${NEED_UPDATE:-}" ] || [ ! -d /var/lib/apt/lists ] ||
	[ -z "$(ls /var/lib/apt/lists/*bookworm-backports* 2>/dev/null)" ] || [ ${#missing[@]} -gt 0 ]; then
	$SUDO apt-get update -q
fi
if [ ${#missing[@]} -gt 0 ]; then
	$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ${#bp_missing[@]} -gt 0 ]; then
	$SUDO apt-get install -y -q --no-install-recommends -t bookworm-backports "${bp_missing[@]}"
fi

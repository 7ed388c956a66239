#!/usr/bin/env bash
# Runs a command inside a Debian build root (tools/trixie-root.sh) with this
# source tree bind-mounted at the same path, so build trees, ctest files
# and image outputs under it mean the same inside and out:
#
#   tools/in-root.sh [-r ROOT] COMMAND [ARG...]   (ROOT: build-trixie/root)
#
# The command starts in the current directory (which must be inside the
# tree) with a clean environment: PATH, HOME, LC_ALL=C.UTF-8, and those of
# SOURCE_DATE_EPOCH, SIGNET_IMAGE_VERSION, CI, ASAN_OPTIONS, LSAN_OPTIONS,
# UBSAN_OPTIONS, FUZZ_SECONDS that are set.  /proc, /sys, /dev/pts, /dev/shm
# and /tmp (a fresh tmpfs) are mounted in a private mount namespace, so
# every mount goes away with the command, however it ends.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
root=$top/build-trixie/root
if [ "${1:-}" = -r ]; then
	root=$2
	shift 2
fi
[ $# -gt 0 ] || { echo "usage: in-root.sh [-r ROOT] COMMAND [ARG...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "in-root: needs root (chroot)" >&2; exit 1; }
root=$(cd "$root" && pwd) || { echo "in-root: no root $root (tools/trixie-root.sh)" >&2; exit 1; }
[ -f "$root/.signet-root" ] || { echo "in-root: $root is not a finished build root" >&2; exit 1; }
cwd=$(pwd)
case $cwd/ in "$top"/*) ;; *) cwd=$top ;; esac

envs=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=/root LC_ALL=C.UTF-8 TZ=UTC)
for v in SOURCE_DATE_EPOCH SIGNET_IMAGE_VERSION CI ASAN_OPTIONS LSAN_OPTIONS \
	UBSAN_OPTIONS FUZZ_SECONDS; do
	[ -z "${!v+x}" ] || envs+=("$v=${!v}")
done

exec unshare --mount --propagation private -- /bin/sh -ec '
	root=$1 top=$2 cwd=$3; shift 3
	mkdir -p "$root$top"
	mount --bind "$top" "$root$top"
	mount -t proc proc "$root/proc"
	mount -t sysfs sys "$root/sys"
	mount -t tmpfs -o mode=1777,size=4g tmpfs "$root/tmp"
	mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm" 2>/dev/null ||
		{ mkdir -p "$root/dev/shm"; mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"; }
	mkdir -p "$root/dev/pts"
	mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts" 2>/dev/null || true
	cd "$root"
	exec chroot "$root" /bin/sh -c "cd \"\$0\" && exec env -i \"\$@\"" "$cwd" "$@"
' sh "$root" "$top" "$cwd" "${envs[@]}" "$@"

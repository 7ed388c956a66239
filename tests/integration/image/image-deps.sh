#!/usr/bin/env bash
# Makes sure the image recipe's tools are installed before the image test:
# the Debian kernel, busybox-static, QEMU, cpio (tools/install-deps.sh
# --image).  tools/test.sh should install them up front; when it has not
# and this runs as root (CI), it installs them itself, otherwise it names
# what is missing and fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
missing=()
for t in qemu-system-x86_64 cpio modprobe debugfs mke2fs e2fsck; do
	command -v "$t" >/dev/null || missing+=("$t")
done
dpkg-query -W -f='${Status}' linux-image-amd64 2>/dev/null | grep -q 'install ok installed' ||
	missing+=(linux-image-amd64)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' ||
	missing+=(busybox-static)
if [ ${#missing[@]} -eq 0 ]; then
	echo "image tools present"
	exit 0
fi
echo "image tools missing: ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "run: sudo tools/install-deps.sh --image" >&2
	exit 1
fi
timeout 1200 bash "$top/tools/install-deps.sh" --image ||
	{ echo "image-deps: tools/install-deps.sh --image failed" >&2; exit 1; }
echo "installed the image tools"

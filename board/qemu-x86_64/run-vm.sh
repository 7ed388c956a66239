#!/usr/bin/env bash
# Runs the VM appliance built by firmware/image/build-image.sh:
#
#   board/qemu-x86_64/run-vm.sh IMAGE_DIR DATA_IMG [SEED_TAR]
#
# DATA_IMG is the persistent data disk (created blank, 1 GiB sparse, if it
# does not exist; the appliance formats it on first boot).  SEED_TAR is an
# optional seed disk (a tar of operators.pem and/or site.env).  HTTPS 8443,
# plain HTTP 8080 and CoAP 5684/udp are forwarded from 127.0.0.1 on the
# same port numbers (override with HTTPS_PORT, HTTP_PORT, COAP_PORT).
# Uses KVM when /dev/kvm is usable, else software emulation (TCG).
#
# The serial console is this terminal.  Stop the appliance cleanly with
# Ctrl-A C (QEMU monitor), then "system_powerdown"; Ctrl-A X kills the VM
# without unmounting the data disk.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: run-vm.sh IMAGE_DIR DATA_IMG [SEED_TAR]" >&2; exit 2; }
img=$1 data=$2 seed=${3:-}
for f in vmlinuz initrd.img cmdline; do
	[ -f "$img/$f" ] || { echo "run-vm: $img/$f missing (build-image.sh)" >&2; exit 1; }
done
[ -e "$data" ] || truncate -s 1G "$data"
accel=tcg
if [ -w /dev/kvm ]; then accel=kvm; fi
seedargs=()
if [ -n "$seed" ]; then
	seedargs=(-drive "file=$seed,if=none,id=seed,format=raw,readonly=on"
		-device virtio-blk-pci,drive=seed,serial=signet-seed)
fi
https=${HTTPS_PORT:-8443} http=${HTTP_PORT:-8080} coap=${COAP_PORT:-5684}
exec qemu-system-x86_64 -machine q35 -accel "$accel" -m 512 -smp 2 \
	-nographic -no-reboot \
	-kernel "$img/vmlinuz" -initrd "$img/initrd.img" -append "$(cat "$img/cmdline")" \
	-drive "file=$data,if=none,id=data,format=raw" \
	-device virtio-blk-pci,drive=data,serial=signet-data \
	"${seedargs[@]}" \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$http-:8080,hostfwd=tcp:127.0.0.1:$https-:8443,hostfwd=udp:127.0.0.1:$coap-:5684" \
	-device virtio-net-pci,netdev=n0 -device virtio-rng-pci

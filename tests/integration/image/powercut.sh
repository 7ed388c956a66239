#!/usr/bin/env bash
# Power cuts during boot (issue 13): the appliance image under QEMU, with
# QEMU killed by SIGKILL (the guest loses everything it had not written,
# as in a power cut) at random instants of its first and later boots.
#
#   powercut.sh -b build-dir -w work-dir
#
# 1. Two cuts during first-boot provisioning (token initialisation, key
#    generation, development PKI): the next boot starts provisioning again
#    from a clean slate and the appliance becomes ready.  Its token serial
#    and root certificate are recorded.
# 2. A cut while it serves, then three cuts at random instants after
#    signetd starts (engine start, C_Login, which makes SoftHSM rewrite
#    token.object in place).
# 3. A last boot: signetd ready, the same token serial and root, no
#    provisioning anew, and the CA certificate served over plain HTTP.
# Every wait is bounded.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)

usage() { echo "usage: powercut.sh -b build-dir -w work-dir" >&2; exit 2; }
build= work=
while getopts b:w: opt; do
	case $opt in
	b) build=$OPTARG ;;
	w) work=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$build" ] && [ -n "$work" ] || usage

failures=0
step() { echo "== $*"; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
die() { echo "FAIL $*"; echo "--- console (last 40 lines):"; tail -n 40 "$con" 2>/dev/null || true; exit 1; }

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
con=$work/console.log
qpid=
cleanup() {
	[ -n "$qpid" ] && kill -9 "$qpid" 2>/dev/null || true
}
trap cleanup EXIT
for t in qemu-system-x86_64 curl openssl; do
	command -v "$t" >/dev/null || die "$t not found (tools/install-deps.sh --image)"
done

step "build the image (board qemu-x86_64)"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 1700000000)}
timeout 600 bash "$top/firmware/image/build-image.sh" -b "$build" qemu-x86_64 "$work/img" \
	> "$work/build.log" 2>&1 || { tail -20 "$work/build.log"; die "build-image.sh failed"; }
truncate -s 256M "$work/data.img" || die "cannot create the data disk"

boot() {
	local n=$1
	con=$work/console$n.log
	http_port=$((20000 + (RANDOM % 4000) * 10))
	rm -f "$con"
	qemu-system-x86_64 -machine q35 -accel tcg -m 512 -smp 1 \
		-nographic -no-reboot \
		-kernel "$work/img/vmlinuz" -initrd "$work/img/initrd.img" \
		-append "$(cat "$work/img/cmdline")" \
		-drive "file=$work/data.img,if=none,id=data,format=raw" \
		-device virtio-blk-pci,drive=data,serial=signet-data \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$http_port-:8080" \
		-device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
		-serial "file:$con" -monitor none \
		> "$work/qemu$n.log" 2>&1 &
	qpid=$!
}
# wait_for PATTERN SECONDS: a console line, bounded; fails on a FATAL line.
wait_for() {
	local i=0
	while [ $i -lt $(($2 * 5)) ]; do
		grep -q "$1" "$con" 2>/dev/null && return 0
		grep -q 'signet-init: FATAL' "$con" 2>/dev/null && return 1
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}
# The power cut: no shutdown, no sync, no unmount.
cut() {
	kill -9 "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
}
# A random delay of 0 to $1 seconds, in tenths.
pause() { sleep "$((RANDOM % ($1 * 10 + 1) / 10)).$((RANDOM % 10))"; }
serial_of() { sed -n 's/.*token: label="signet" serial=\([0-9a-f]*\).*/\1/p' "$1" | head -n1; }
root_of() { sed -n '/signet-init: root certificate:/,/END CERTIFICATE/p' "$1" | sed -n 's/^signet-init:   //p'; }

step "power cuts during first-boot provisioning"
for n in 1 2; do
	boot "c$n"
	wait_for 'first boot: initialising token\|first boot did not finish' 400 ||
		die "cut $n: first-boot provisioning never started"
	pause 4
	if grep -q 'signetd ready' "$con"; then
		echo "cut $n: provisioning had already finished"
	fi
	cut
	ok "cut $n: power cut $(grep -c . "$con") console lines into first boot"
done

# Tenths of a second since the epoch.
now10() { echo $(($(date +%s%N) / 100000000)); }
# Waits until the engine serves the CA certificate over plain HTTP.
wait_served() {
	local i=0
	until curl -sS --max-time 10 -o "$work/inter.der" "http://127.0.0.1:$http_port/ca/intermediate.der" 2>/dev/null &&
		openssl x509 -inform der -in "$work/inter.der" -noout 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 240 ] || return 1
		sleep 0.5
	done
}

step "first boot to the end"
boot first
wait_for 'signetd started' 400 || die "the boot after the cuts never started signetd"
t0=$(now10)
wait_for 'signetd ready' 400 || die "the boot after the cuts never became ready"
wait_served || die "the boot after the cuts never served the CA certificate"
# The cuts below fall anywhere between signetd's start and the engine
# serving: engine start, token open, C_Login, ledger open.
window=$(($(now10) - t0 + 5))
echo "signetd start to first answer: $((window / 10)).$((window % 10)) s (cut window)"
if grep -q 'first boot did not finish before' "$work/console"c*.log "$con" 2>/dev/null; then
	ok "an unfinished first boot was started again from a clean slate"
fi
grep -q 'provisioning complete' "$con" || grep -q 'provisioning complete' "$work"/consolec*.log ||
	bad "no 'provisioning complete' line"
serial1=$(serial_of "$con")
root_of "$con" > "$work/root1.pem"
[ -n "$serial1" ] || die "no token serial on the console"
openssl x509 -in "$work/root1.pem" -noout >/dev/null 2>&1 || die "no root certificate on the console"
ok "ready with token $serial1"
pause 3
cut
ok "power cut while serving"

step "power cuts while signetd starts (engine start, token login)"
for n in 1 2 3 4; do
	boot "s$n"
	wait_for 'signetd started' 300 || die "cut s$n: signetd never started"
	d=$((RANDOM % window))
	sleep "$((d / 10)).$((d % 10))"
	cut
	echo "cut s$n: $((d / 10)).$((d % 10)) s after signetd started"
	ok "cut s$n: power cut $(grep -c . "$con") console lines into the boot"
done

step "the boot after the cuts"
boot last
wait_for 'signetd ready' 400 || die "the last boot never became ready"
serial2=$(serial_of "$con")
root_of "$con" > "$work/root2.pem"
[ "$serial1" = "$serial2" ] && ok "same token after every cut (serial $serial2)" ||
	bad "token serial changed: $serial1 -> $serial2"
cmp -s "$work/root1.pem" "$work/root2.pem" && ok "same root certificate" ||
	bad "root certificate changed"
if grep -q 'first boot' "$con"; then
	bad "the last boot provisioned again: $(grep 'first boot' "$con" | head -n1)"
else
	ok "the last boot did not provision again"
fi
wait_served && ok "serves the CA certificate over plain HTTP after the cuts" ||
	bad "the CA certificate is not served after the cuts"
cut

if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "power cuts: all checks passed"

#!/usr/bin/env bash
# Power cuts during boot (issue 13): the appliance image under QEMU, with
# QEMU killed by SIGKILL (the guest loses everything it had not written,
# as in a power cut) at random instants of its first and later boots.
#
#   powercut.sh -b build-dir -w work-dir
#
# 0. Disks made on the host: one holding someone else's data (neither
#    blank nor ext4): the appliance halts and says so, the data untouched;
#    one as a cut during mke2fs leaves it (the format stamp in the last MiB,
#    block group data but no superblock yet, since mke2fs writes the
#    superblock last): the next boot formats it again.
# 1. Cuts during first boot on that disk: within 1.5 s of formatting
#    starting, then at random instants of provisioning (token
#    initialisation, key generation, development PKI): the next boot
#    formats again or starts provisioning again from a clean slate, and the
#    appliance becomes ready.  Its token serial and root certificate are
#    recorded.
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

. "$(dirname "$0")/qemu.sh"

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
con=$work/console.log
trap qemu_cleanup EXIT
for t in qemu-system-x86_64 curl openssl; do
	command -v "$t" >/dev/null || die "$t not found (tools/install-deps.sh --image)"
done

step "build the image (board qemu-x86_64)"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 1700000000)}
timeout 600 bash "$top/firmware/image/build-image.sh" -b "$build" qemu-x86_64 "$work/img" \
	> "$work/build.log" 2>&1 || { tail -20 "$work/build.log"; die "build-image.sh failed"; }

boot() { qemu_boot "$1"; }
cut() { qemu_cut; }
# A random delay of 0 to $1 seconds, in tenths.
pause() { sleep "$((RANDOM % ($1 * 10 + 1) / 10)).$((RANDOM % 10))"; }
serial_of() { sed -n 's/.*token: label="signet" serial=\([0-9a-f]*\).*/\1/p' "$1" | head -n1; }
root_of() { sed -n '/signet-init: root certificate:/,/END CERTIFICATE/p' "$1" | sed -n 's/^signet-init:   //p'; }

# The stamp /init writes before mke2fs (firmware/image/init).
stamp="signet: formatting in progress"
disk_size=$((256 * 1024 * 1024))

step "a data disk holding someone else's data is never formatted"
truncate -s "$disk_size" "$work/data.img" || die "cannot create the data disk"
head -c 65536 /dev/urandom > "$work/foreign.bin"
dd if="$work/foreign.bin" of="$work/data.img" bs=4096 seek=1 conv=notrunc status=none
boot foreign
wait_for 'neither ext4 nor blank' 400 || true
if grep -q 'neither ext4 nor blank; not touching it' "$con"; then
	ok "the appliance refuses a disk that is neither blank nor ext4"
else
	bad "a foreign disk was not refused: $(grep 'signet-init' "$con" | tail -n 2)"
fi
cut
cmp -s <(dd if="$work/data.img" bs=4096 skip=1 count=16 status=none) "$work/foreign.bin" &&
	ok "its data is untouched" || bad "the foreign disk was written to"

step "a disk whose formatting a power cut interrupted is formatted again"
# What a cut during mke2fs leaves: the stamp, block group data, no superblock.
rm -f "$work/data.img"
truncate -s "$disk_size" "$work/data.img"
dd if="$work/foreign.bin" of="$work/data.img" bs=4096 seek=1 conv=notrunc status=none
printf '%s' "$stamp" | dd of="$work/data.img" bs=512 seek=$((disk_size / 512 - 2048)) \
	conv=notrunc status=none

step "power cuts during first boot (formatting, provisioning)"
for n in 1 2 3; do
	boot "c$n"
	wait_for 'signet-init: first boot\|signetd started' 400 ||
		die "cut $n: the boot after a cut during first boot failed"
	if grep -q 'signetd started' "$con" && ! grep -q 'first boot' "$con"; then
		# The previous boot had finished provisioning before its cut.
		cut
		echo "cut $n: provisioning had finished in boot c$((n - 1)); no more first-boot cuts"
		break
	fi
	if grep -q 'formatting of .* was interrupted' "$con"; then
		ok "cut $n: a data disk whose formatting was cut is formatted again"
	elif [ "$n" = 1 ]; then
		bad "cut 1: the interrupted format was not recognised: $(grep 'signet-init' "$con" | tail -n 2)"
	fi
	# The first cut falls into formatting (mke2fs), the others anywhere
	# in provisioning.
	if [ "$n" = 1 ]; then
		sleep "$((RANDOM % 16 / 10)).$((RANDOM % 10))"
	else
		pause 3
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

finish "power cuts"

#!/usr/bin/env bash
# The appliance image under QEMU (software emulation, no KVM):
#
#   test-image.sh -b build-dir -w work-dir [-m boot|serve] [-c]
#
# Builds the board/qemu-x86_64 image twice from build-dir (a build without
# sanitizers) and checks the two are byte-identical and under 64 MiB, that
# the recipe refuses a build with test hooks, and that the image has the
# sandbox's users, its empty chroot and libseccomp; boots
# it with a blank data disk and a seed disk carrying a test operator CA;
# waits for signetd; checks first-boot provisioning on the console, and
# that signetd runs as root with a reduced capability bounding set while
# the engine runs as signet and each front end as its own user chrooted
# in /var/empty, all under seccomp with no_new_privs and no capabilities
# (the "signet-init: sandbox:" lines /init prints from /proc); powers
# it off through ACPI (QEMU monitor system_powerdown) and checks the data
# disk was unmounted cleanly; boots again and checks the same token came
# back without provisioning anew.
#
# -m serve (the full stack: signet-engine and signet-https are built) also
# checks, from the host through QEMU's port forwarding: the intermediate
# over plain HTTP (/ca/intermediate.der), an EST simpleenroll over mutual
# TLS with the seed's operator certificate, OCSP "good" for the issued
# certificate with openssl ocsp; and after the reboot, OCSP still "good"
# for that certificate and the ledger on the data disk.  -c (signet-coap
# is built) adds EST-coaps over DTLS with coap-client-gnutls: discovery and
# /est/sen, authenticated with the certificate EST issued.
#
# With SIGNET_IMAGE_ROOT set (tools/trixie-root.sh: Debian 13), the image
# is assembled from that root's packages (build-image.sh -r); build-dir
# must then come from the same root (release-build.sh).
#
# Boot-to-ready time and image size are printed.  Every wait is bounded.
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)

usage() { echo "usage: test-image.sh -b build-dir -w work-dir [-m boot|serve] [-c]" >&2; exit 2; }
build= work= mode=boot coap=0
while getopts b:w:m:c opt; do
	case $opt in
	c) coap=1 ;;
	b) build=$OPTARG ;;
	w) work=$OPTARG ;;
	m) mode=$OPTARG ;;
	*) usage ;;
	esac
done
[ -n "$build" ] && [ -n "$work" ] || usage
case $mode in boot | serve) ;; *) usage ;; esac

. "$(dirname "$0")/qemu.sh"

rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
con=$work/console.log
trap qemu_cleanup EXIT

tools="qemu-system-x86_64 openssl curl debugfs"
[ "$coap" = 0 ] || tools="$tools coap-client-gnutls"
for t in $tools; do
	command -v "$t" >/dev/null || die "$t not found (tools/install-deps.sh --image)"
done

# 1. The image, twice: reproducible and small.
step "build the image (board qemu-x86_64)"
# Fixed inputs for both builds, even if the tree gets new commits meanwhile.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 1700000000)}
export SIGNET_IMAGE_VERSION=${SIGNET_IMAGE_VERSION:-test-$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)}
timeout 600 bash "$top/firmware/image/build-image.sh" -b "$build" qemu-x86_64 "$work/img" ||
	die "build-image.sh failed"
timeout 600 bash "$top/firmware/image/build-image.sh" -b "$build" qemu-x86_64 "$work/img2" >/dev/null 2>&1 ||
	die "second build-image.sh failed"
if cmp -s "$work/img/initrd.img" "$work/img2/initrd.img" &&
	cmp -s "$work/img/vmlinuz" "$work/img2/vmlinuz"; then
	ok "two builds from the same inputs are byte-identical"
else
	bad "two builds differ (not reproducible)"
fi
size=$(($(stat -c %s "$work/img/vmlinuz") + $(stat -c %s "$work/img/initrd.img")))
size_mib=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }')
if [ "$size" -lt $((64 * 1048576)) ]; then
	ok "image size $size_mib MiB (< 64 MiB)"
else
	bad "image size $size_mib MiB is not under 64 MiB"
fi

# The production image starts no shell: no getty/login applets, no debug
# console marker (only --variant debug has them).
listing=$(gzip -dc "$work/img/initrd.img" | cpio -t --quiet 2>/dev/null) ||
	die "cannot list initrd.img"
if grep -Eqx 'usr/bin/(getty|login|telnetd)|etc/signet/debug-console' <<<"$listing"; then
	bad "production image has a login path: $(grep -Ex 'usr/bin/(getty|login|telnetd)|etc/signet/debug-console' <<<"$listing" | tr '\n' ' ')"
else
	ok "production image: no getty, login or debug console"
fi
grep -qx 'usr/libexec/signet/signet-provision' <<<"$listing" && grep -qx 'init' <<<"$listing" ||
	bad "initrd.img lacks /init or signet-provision"

# The sandbox's parts: libseccomp, the front ends' empty root-owned
# chroot, the three system users without a shell.
if grep -Eq '^usr/lib/.*/libseccomp\.so\.[0-9.]+$' <<<"$listing"; then
	ok "libseccomp is in the image"
else
	bad "no libseccomp in the image"
fi
empty=$(gzip -dc "$work/img/initrd.img" | cpio -tv --quiet 2>/dev/null | awk '$NF == "var/empty" { print $1, $2, $3, $4 }')
if [ "$empty" = "drwxr-xr-x 2 root root" ] && ! grep -q '^var/empty/' <<<"$listing"; then
	ok "/var/empty: an empty directory, root's, 0755"
else
	bad "/var/empty is not an empty root-owned 0755 directory: '$empty' $(grep '^var/empty/' <<<"$listing" | head -3 | tr '\n' ' ')"
fi
mkdir -p "$work/etc"
(cd "$work/etc" && gzip -dc "$work/img/initrd.img" |
	cpio -i -d --quiet --no-absolute-filenames etc/passwd etc/group) ||
	die "cannot read /etc/passwd from the image"
for u in signet:100 signet-https:101 signet-coap:102; do
	n=${u%:*} id=${u#*:}
	if grep -qx "$n:x:$id:$id:[^:]*:[^:]*:/usr/sbin/nologin" "$work/etc/etc/passwd" &&
		grep -qx "$n:x:$id:" "$work/etc/etc/group"; then
		ok "user and group $n ($id), no shell"
	else
		bad "user $n: $(grep "^$n:" "$work/etc/etc/passwd" "$work/etc/etc/group" | tr '\n' ' ')"
	fi
done
[ ! -e "$work/etc/etc/shadow" ] && ! grep -q '^etc/shadow$' <<<"$listing" ||
	bad "the image has an /etc/shadow"

# Only a release build with the sandbox may become an image: a signetd
# that says it has test hooks (or no sandbox) is refused, with the reason.
mkdir -p "$work/fake/firmware/signetd"
for v in 'sandbox=seccomp test_hooks=yes' 'sandbox=none test_hooks=no'; do
	printf '#!/bin/sh\necho "signetd %s"\n' "$v" > "$work/fake/firmware/signetd/signetd"
	chmod 755 "$work/fake/firmware/signetd/signetd"
	if bash "$top/firmware/image/build-image.sh" -b "$work/fake" qemu-x86_64 \
		"$work/img-fake" > "$work/fake.log" 2>&1; then
		bad "build-image.sh built an image from a signetd with $v"
	elif grep -q "refusing .*signetd -V' says 'signetd $v'" "$work/fake.log"; then
		ok "build-image.sh refuses a signetd with $v"
	else
		bad "build-image.sh failed without saying why for $v: $(head -c 300 "$work/fake.log")"
	fi
done

# 2. A test operator CA (the seed disk) and the disks.
step "seed disk with a test operator CA, blank data disk"
mkdir -p "$work/seed"
operator_ca "$work/pki"
cp "$work/pki/opca.pem" "$work/seed/operators.pem"
tar -C "$work/seed" --owner=0 --group=0 -cf "$work/seed.tar" operators.pem ||
	die "cannot write the seed tar"
truncate -s 256M "$work/data.img" || die "cannot create the data disk"

# 3. Booting and stopping.
boot() {
	qemu_boot "$1" \
		-drive "file=$work/seed.tar,if=none,id=seed,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=seed,serial=signet-seed
}
powerdown() {
	local i=0
	timeout 10 sh -c "echo system_powerdown > '$work/mon.in'" ||
		die "cannot talk to the QEMU monitor"
	while kill -0 "$qpid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 120 ]; then
			bad "VM did not power off within 120 s of the ACPI power button"
			kill -9 "$qpid"
			break
		fi
		sleep 1
	done
	wait "$qpid" 2>/dev/null || true
	qpid=
	if grep -q 'signet-init: data disk unmounted cleanly' "$con"; then
		ok "ACPI power button: signetd stopped, data disk unmounted, powered off"
	else
		bad "no clean shutdown on the console"
	fi
}
http() { curl -sS --max-time 20 "$@"; }
# The engine and the HTTPS front end are up: /v1/health answers 200 over
# mutual TLS (polled for up to 180 s after signetd is ready).
wait_health() {
	local i=0
	until [ "$(http -o "$work/health.json" -w '%{http_code}' \
		--cacert "$work/root.pem" --cert "$work/pki/op.pem" --key "$work/pki/op.key" \
		"https://127.0.0.1:$https_port/v1/health" 2>"$work/curl.err")" = 200 ]; do
		i=$((i + 1))
		if [ $i -ge 180 ]; then
			echo "last answer: $(cat "$work/curl.err" "$work/health.json" 2>/dev/null | head -c 300)"
			return 1
		fi
		sleep 1
	done
}

# EST-coaps (RFC 9148) over DTLS with the certificate EST just issued:
# discovery, then /est/sen renewing that certificate's own name (an issued
# certificate may only renew itself); the server is checked against root
# and intermediate.
coap_enroll() {
	local u="coaps://127.0.0.1:$coap_port" c=(-B 60 -c "$work/leaf.pem" -j "$work/leaf.key" -R "$work/chain.pem")
	cat "$work/root.pem" "$work/inter.pem" > "$work/chain.pem"
	if timeout 120 coap-client-gnutls "${c[@]}" -m get "$u/.well-known/core" \
		> "$work/core.txt" 2>&1 && grep -q 'rt="ace.est.sen"' "$work/core.txt"; then
		ok "EST-coaps discovery over DTLS (coap-client-gnutls): /est/sen listed"
	else
		bad "EST-coaps discovery: $(head -c 300 "$work/core.txt")"
	fi
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$work/dev.key" -subj "/CN=web.svc.dev.internal" \
		-addext "subjectAltName=DNS:web.svc.dev.internal" -outform DER \
		-out "$work/dev.csr" >/dev/null 2>&1 || die "openssl req failed"
	rm -f "$work/dev.out"
	timeout 120 coap-client-gnutls "${c[@]}" -m post -t 286 -f "$work/dev.csr" \
		-o "$work/dev.out" "$u/est/sen" > "$work/coap.txt" 2>&1 || true
	# 281 (PKCS#7 certs-only) or 287 (a bare DER certificate).
	openssl pkcs7 -inform DER -in "$work/dev.out" -print_certs -out "$work/dev.pem" >/dev/null 2>&1 ||
		openssl x509 -inform DER -in "$work/dev.out" -out "$work/dev.pem" >/dev/null 2>&1 || true
	if [ -s "$work/dev.pem" ] &&
		openssl verify -CAfile "$work/root.pem" -untrusted "$work/inter.pem" "$work/dev.pem" >/dev/null 2>&1 &&
		openssl x509 -in "$work/dev.pem" -noout -ext subjectAltName | grep -q 'DNS:web.svc.dev.internal'; then
		ok "EST-coaps /est/sen (coap-client-gnutls, DTLS client certificate): certificate verifies"
	else
		bad "EST-coaps /est/sen: $(head -c 300 "$work/coap.txt")"
	fi
}

# The sandbox as /init reads it from /proc once signetd's children run:
# signetd is root with no_new_privs and only its eight capabilities in
# the bounding set (DAC_OVERRIDE, DAC_READ_SEARCH, KILL, SETGID, SETUID,
# SETPCAP, NET_BIND_SERVICE, SYS_CHROOT = 0x405e6); each child runs as its
# own user, no_new_privs, seccomp mode 2 (filter), no capabilities; the
# front ends' root is /var/empty.
check_sandbox() {
	local n=$1 roles=signetd i=0 r line
	grep -q 'signetd started (pid [0-9]*, as root' "$con" &&
		ok "boot $n: /init starts signetd as root" || bad "boot $n: signetd not started as root"
	[ "$mode" = serve ] && roles="$roles engine https"
	[ "$coap" = 1 ] && roles="$roles coap"
	for r in $roles; do
		until grep -q "signet-init: sandbox: $r " "$con"; do
			i=$((i + 1))
			if [ $i -ge 150 ]; then
				bad "boot $n: no 'sandbox: $r' line on the console"
				continue 2
			fi
			sleep 1
		done
	done
	grep -q 'msg="sandbox on"' "$con" || bad "boot $n: signetd did not log 'sandbox on'"
	for r in $roles; do
		line=$(grep "signet-init: sandbox: $r " "$con" | tail -n1 | tr -d '\r')
		[ -n "$line" ] || continue
		case $r in
		signetd) want='user=root uid=0 gid=0 nnp=1 seccomp=[0-9] capeff=00000000000405e6 capbnd=00000000000405e6 root=/$' ;;
		engine) want='user=signet uid=100 gid=100 nnp=1 seccomp=2 capeff=0000000000000000 capbnd=[0-9a-f]* root=/$' ;;
		https) want='user=signet-https uid=101 gid=101 nnp=1 seccomp=2 capeff=0000000000000000 capbnd=[0-9a-f]* root=/var/empty$' ;;
		coap) want='user=signet-coap uid=102 gid=102 nnp=1 seccomp=2 capeff=0000000000000000 capbnd=[0-9a-f]* root=/var/empty$' ;;
		esac
		if grep -q "sandbox: $r pid=[0-9]* $want" <<<"$line"; then
			ok "boot $n: ${line#*sandbox: }"
		else
			bad "boot $n: $r: ${line#*sandbox: }"
		fi
	done
}

# The first boot.
step "first boot (TCG, blank data disk)"
boot 1
wait_for 'signetd ready' 400 || die "first boot: signetd never became ready"
ready_s=$(($(date +%s) - boot_start))
grep -q 'first boot: formatting blank data disk' "$con" &&
	ok "blank data disk formatted on first boot" || bad "data disk not formatted"
grep -q 'first boot: initialising token signet' "$con" &&
	ok "token initialised on first boot" || bad "token not initialised"
grep -q 'key label="signet-intermediate" type=p256 .*sensitive=yes extractable=no' "$con" &&
	ok "intermediate key in the token, not extractable" || bad "no intermediate key shown"
grep -q 'signet-init: root file system read-only' "$con" &&
	ok "root file system read-only" || bad "root file system not read-only"
check_sandbox 1
if grep -q 'sh: can.t access tty\|login:' "$con"; then
	bad "a shell or login prompt on the production console"
fi
serial1=$(sed -n 's/.*token: label="signet" serial=\([0-9a-f]*\).*/\1/p' "$con" | head -n1)
[ -n "$serial1" ] || die "no token serial on the console"
sed -n '/signet-init: root certificate:/,/END CERTIFICATE/p' "$con" |
	sed -n 's/^signet-init:   //p' > "$work/root.pem"
openssl x509 -in "$work/root.pem" -noout 2>/dev/null ||
	die "the console did not show a root certificate"
ok "root certificate read from the console"

if [ "$mode" = serve ]; then
	step "serving: plain HTTP, EST over mutual TLS, OCSP"
	wait_health || die "GET /v1/health over mutual TLS never answered 200"
	ready_s=$(($(date +%s) - boot_start))
	ok "GET /v1/health (mutual TLS, the seed's operator certificate): 200"
	code=$(http -o "$work/inter.der" -w '%{http_code}' \
		"http://127.0.0.1:$http_port/ca/intermediate.der" 2>"$work/curl.err" || true)
	[ "$code" = 200 ] || bad "GET /ca/intermediate.der: HTTP $code $(cat "$work/curl.err")"
	openssl x509 -inform DER -in "$work/inter.der" -out "$work/inter.pem" 2>/dev/null &&
		openssl verify -CAfile "$work/root.pem" "$work/inter.pem" >/dev/null 2>&1 &&
		ok "GET /ca/intermediate.der: the intermediate, signed by the console's root" ||
		bad "/ca/intermediate.der is not an intermediate under the root"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$work/leaf.key" -subj "/CN=web.svc.dev.internal" \
		-addext "subjectAltName=DNS:web.svc.dev.internal" -outform DER \
		-out "$work/leaf.csr" >/dev/null 2>&1 || die "openssl req failed"
	base64 "$work/leaf.csr" > "$work/leaf.b64"
	code=$(http -o "$work/enroll.b64" -w '%{http_code}' \
		--cacert "$work/root.pem" --cert "$work/pki/op.pem" --key "$work/pki/op.key" \
		-H 'Content-Type: application/pkcs10' --data-binary @"$work/leaf.b64" \
		"https://127.0.0.1:$https_port/.well-known/est/simpleenroll" 2>"$work/curl.err" || true)
	if [ "$code" = 200 ] && base64 -d "$work/enroll.b64" > "$work/enroll.p7" 2>/dev/null &&
		openssl pkcs7 -inform DER -in "$work/enroll.p7" -print_certs \
			-out "$work/leaf.pem" >/dev/null 2>&1 &&
		openssl verify -CAfile "$work/root.pem" -untrusted "$work/inter.pem" \
			"$work/leaf.pem" >/dev/null 2>&1; then
		ok "EST simpleenroll (curl, mutual TLS as the seed's operator): certificate verifies"
	else
		bad "EST simpleenroll: HTTP $code $(cat "$work/curl.err"; head -c 200 "$work/enroll.b64" 2>/dev/null)"
	fi
	ocsp_good() {
		openssl ocsp -issuer "$work/inter.pem" -cert "$work/leaf.pem" \
			-url "http://127.0.0.1:$http_port/ocsp" -CAfile "$work/root.pem" \
			-timeout 20 > "$work/ocsp.txt" 2>&1 &&
			grep -q "leaf.pem: good" "$work/ocsp.txt" &&
			grep -q 'Response verify OK' "$work/ocsp.txt"
	}
	if [ -s "$work/leaf.pem" ] && ocsp_good; then
		ok "openssl ocsp: good, response verified"
	else
		bad "openssl ocsp: $(cat "$work/ocsp.txt" 2>/dev/null | head -5)"
	fi
	[ "$coap" = 1 ] && coap_enroll
fi
echo "boot-to-ready (first boot, with provisioning): ${ready_s}s"
powerdown

step "the data disk after shutdown"
debugfs -R 'ls -l /' "$work/data.img" > "$work/ls.txt" 2>/dev/null || die "debugfs cannot read the data disk"
for f in tokens user.pin ca tls; do
	grep -qw "$f" "$work/ls.txt" && ok "data disk holds $f" || bad "data disk lacks $f"
done
if [ "$mode" = serve ]; then
	grep -qw ledger.db "$work/ls.txt" && ok "data disk holds ledger.db" || bad "no ledger.db on the data disk"
fi
debugfs -R 'stat /user.pin' "$work/data.img" 2>/dev/null | grep -q 'Mode:  0600' &&
	ok "user.pin is mode 0600" || bad "user.pin is not mode 0600"

# The second boot: the same token, nothing provisioned again.
step "second boot"
boot 2
wait_for 'signetd ready' 400 || die "second boot: signetd never became ready"
ready2_s=$(($(date +%s) - boot_start))
if grep -q 'first boot' "$con"; then
	bad "second boot provisioned again: $(grep 'first boot' "$con" | head -n1)"
else
	ok "second boot did not format or provision"
fi
check_sandbox 2
serial2=$(sed -n 's/.*token: label="signet" serial=\([0-9a-f]*\).*/\1/p' "$con" | head -n1)
[ "$serial1" = "$serial2" ] && ok "same token after reboot (serial $serial2)" ||
	bad "token serial changed: $serial1 -> $serial2"
sed -n '/signet-init: root certificate:/,/END CERTIFICATE/p' "$con" |
	sed -n 's/^signet-init:   //p' > "$work/root2.pem"
cmp -s "$work/root.pem" "$work/root2.pem" && ok "same root certificate after reboot" ||
	bad "root certificate changed after reboot"
if [ "$mode" = serve ]; then
	wait_health || die "second boot: GET /v1/health never answered 200"
	ready2_s=$(($(date +%s) - boot_start))
	if [ -s "$work/leaf.pem" ] && ocsp_good; then
		ok "after reboot: OCSP still good for the certificate issued before (ledger kept)"
	else
		bad "after reboot: OCSP $(head -3 "$work/ocsp.txt" 2>/dev/null)"
	fi
	serial=$(openssl x509 -in "$work/leaf.pem" -noout -serial 2>/dev/null | sed 's/^serial=//')
	code=$(http -o "$work/cert.json" -w '%{http_code}' --cacert "$work/root.pem" \
		--cert "$work/pki/op.pem" --key "$work/pki/op.key" \
		"https://127.0.0.1:$https_port/v1/certs/$serial?tenant=dev" 2>"$work/curl.err" || true)
	if [ -n "$serial" ] && [ "$code" = 200 ] && grep -qi "$serial" "$work/cert.json"; then
		ok "after reboot: GET /v1/certs/$serial finds the certificate in the ledger"
	else
		bad "after reboot: /v1/certs/$serial: HTTP $code $(cat "$work/curl.err"; head -c 300 "$work/cert.json" 2>/dev/null)"
	fi
fi
echo "boot-to-ready (second boot): ${ready2_s}s"
powerdown

echo "image: $size_mib MiB; boot-to-ready ${ready_s}s first, ${ready2_s}s second (TCG)"
if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all image checks passed"

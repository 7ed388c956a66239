# Sourced by the image tests (test-image.sh, powercut.sh): reporting, and
# booting the qemu-x86_64 image under QEMU (TCG, no KVM) with its console
# in a file, every wait bounded.  The caller sets `work` (the work
# directory, holding img/ and data.img) before calling qemu_boot.

failures=0
con=
qpid=
step() { echo "== $*"; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }
die() {
	echo "FAIL $*"
	echo "--- console (last 60 lines):"
	tail -n 60 "$con" 2>/dev/null || true
	exit 1
}
# At the end of a test: a summary line and the exit status.
finish() {
	if [ "$failures" -gt 0 ]; then
		echo "$failures check(s) failed"
		exit 1
	fi
	echo "$1: all checks passed"
}

qemu_cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null || true
		sleep 1
		kill -9 "$qpid" 2>/dev/null || true
	fi
	jobs -p | xargs -r kill 2>/dev/null || true
}

ports() {
	local base=$((20000 + (RANDOM % 4000) * 10))
	http_port=$base https_port=$((base + 1)) coap_port=$((base + 2))
}

# qemu_boot NAME [QEMU ARG...]: boots $work/img with $work/data.img as the
# data disk (and the extra arguments: a seed disk, say), the console in
# $work/consoleNAME.log ($con) and the monitor on the fifos $work/mon.{in,out}.
# Ports for HTTP, HTTPS and CoAP are forwarded from 127.0.0.1
# ($http_port, $https_port, $coap_port); a port already taken means
# another try with others.
qemu_boot() {
	local n=$1 tries=0
	shift
	con=$work/console$n.log
	while :; do
		ports
		rm -f "$work/mon.in" "$work/mon.out" "$con"
		mkfifo "$work/mon.in" "$work/mon.out"
		cat "$work/mon.out" > "$work/monitor$n.log" &
		boot_start=$(date +%s)
		qemu-system-x86_64 -machine q35 -accel tcg -m 512 -smp 1 \
			-nographic -no-reboot \
			-kernel "$work/img/vmlinuz" -initrd "$work/img/initrd.img" \
			-append "$(cat "$work/img/cmdline")" \
			-drive "file=$work/data.img,if=none,id=data,format=raw" \
			-device virtio-blk-pci,drive=data,serial=signet-data \
			"$@" \
			-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$http_port-:8080,hostfwd=tcp:127.0.0.1:$https_port-:8443,hostfwd=udp:127.0.0.1:$coap_port-:5684" \
			-device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
			-serial "file:$con" -monitor "pipe:$work/mon" \
			> "$work/qemu$n.log" 2>&1 &
		qpid=$!
		sleep 2
		if kill -0 "$qpid" 2>/dev/null; then
			break
		fi
		tries=$((tries + 1))
		grep -q 'host forwarding' "$work/qemu$n.log" && [ $tries -lt 5 ] && continue
		cat "$work/qemu$n.log"
		die "boot $n: qemu did not start"
	done
	echo "boot $n: qemu pid $qpid, http $http_port https $https_port coap/udp $coap_port"
}

# wait_for PATTERN SECONDS: a console line, bounded; fails on a FATAL
# line or when QEMU has exited.
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
qemu_cut() {
	kill -9 "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
}

# operator_ca DIR: a test operator CA (opca.pem, opca.key) and its operator
# (op.pem, op.key, CN signet-operator) in DIR, as a site brings them on the
# seed disk.
operator_ca() {
	mkdir -p "$1"
	(
		cd "$1"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout opca.key -out opca.pem -days 2 -subj "/CN=Image Test Operators" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout op.key -out op.csr -subj "/CN=signet-operator" >/dev/null 2>&1
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > op.ext
		openssl x509 -req -in op.csr -CA opca.pem -CAkey opca.key -CAcreateserial \
			-days 1 -extfile op.ext -out op.pem >/dev/null 2>&1
	) || die "openssl could not make the test operator CA"
}

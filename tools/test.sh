#!/usr/bin/env bash
# README command two (and CI): install what Signet needs, build with
# AddressSanitizer + UndefinedBehaviorSanitizer and -Werror, run every test
# under ctest, then build the libFuzzer targets with clang and run each for
# FUZZ_SECONDS (default 60 in CI, 20 elsewhere; 0 skips fuzzing).
#
# Debian 13 (trixie), what the appliance image ships: the same run makes (or
# reuses) the trixie build root (tools/trixie-root.sh, build-trixie/root),
# so the image tests build and boot the Debian 13 image, then builds Signet
# inside the root with ASan+UBSan and -Werror against trixie's libraries
# (OpenSSL 3.5, libcoap 4.3.4, mbedTLS 3.6) and runs the unit tests and the
# end-to-end tests there.  SIGNET_TRIXIE=0 leaves Debian 13 out (a quick
# local run); CI never sets it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# --cluster: PostgreSQL for the pgsql ledger tests (they never skip).
# --image: kernel, busybox and QEMU for the image test.
bash tools/install-deps.sh --cluster --image
jobs=$(nproc)
trixie=${SIGNET_TRIXIE:-1}
[ "${CI:-}" = true ] && trixie=1
if [ "$trixie" != 0 ]; then
	t0=$(date +%s)
	bash tools/trixie-root.sh
	echo "== trixie root ready in $(($(date +%s) - t0)) s"
	export SIGNET_IMAGE_ROOT=$top/build-trixie/root
fi

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DSIGNET_SANITIZE=ON -DSIGNET_TEST_HOOKS=ON \
	-DSIGNET_WERROR=ON
cmake --build build-test -j"$jobs"
# Unit tests set their own ASAN_OPTIONS (cmake/SignetHelpers.cmake); these
# are for the daemons that integration scripts start.  Slow unwinding lets
# LSan attribute SoftHSM's own leak to libsofthsm2.so (tests/lsan.supp).
export ASAN_OPTIONS=${ASAN_OPTIONS:-fast_unwind_on_malloc=0:detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The tests' temporary directories under one for this run (TMPDIR),
# removed at the end however the tests ended: ctest ends a test at its
# timeout with SIGKILL, which no EXIT trap sees (tests/support/sweep.sh).
. tests/support/sweep.sh
run_tmp=$(mktemp -d /tmp/signet-run-XXXXXX)
chmod 1777 "$run_tmp"
trap 'sweep_dir "$run_tmp"' EXIT
(cd build-test && TMPDIR=$run_tmp ctest --output-on-failure -j"$jobs" --timeout 900)

if [ "$trixie" != 0 ]; then
	# The unit tests and the appliance end to end (signetd with curl,
	# openssl, coap-client-gnutls and the mbedTLS device client) on Debian 13.
	t0=$(date +%s)
	tools/in-root.sh cmake -S "$top" -B "$top/build-trixie/test" -DCMAKE_BUILD_TYPE=Debug \
		-DSIGNET_SANITIZE=ON -DSIGNET_TEST_HOOKS=ON -DSIGNET_WERROR=ON >/dev/null
	tools/in-root.sh cmake --build "$top/build-trixie/test" -j"$jobs" > build-trixie/test.log 2>&1 ||
		{ tail -60 build-trixie/test.log; echo "Debian 13 build failed"; exit 1; }
	echo "== Debian 13 ASan build in $(($(date +%s) - t0)) s"
	t0=$(date +%s)
	(cd build-trixie/test && "$top/tools/in-root.sh" ctest --output-on-failure -j"$jobs" \
		--timeout 900 -L '^unit$' -LE '^(image|pgsql)$')
	(cd build-trixie/test && "$top/tools/in-root.sh" ctest --output-on-failure -j"$jobs" \
		--timeout 900 -R '^(signetd_e2e|device_https_integration|device_coaps_integration|signetd_coap_hello_flood)$')
	echo "== Debian 13 tests in $(($(date +%s) - t0)) s"
fi

default_fuzz=20
[ "${CI:-}" = true ] && default_fuzz=60
FUZZ_SECONDS=${FUZZ_SECONDS:-$default_fuzz}
if [ "$FUZZ_SECONDS" -gt 0 ]; then
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug \
		-DSIGNET_SANITIZE=ON -DSIGNET_FUZZ=ON -DSIGNET_WERROR=ON \
		-DSIGNET_TESTS=ON >/dev/null
	cmake --build build-fuzz -j"$jobs"
	fails=0
	while IFS= read -r bin; do
		name=$(basename "$bin" _fuzz)
		corpus=$(mktemp -d)
		seeds=$(cat "$bin.corpus" 2>/dev/null || true)
		if [ -n "$seeds" ] && [ -d "$seeds" ]; then
			cp -r "$seeds"/. "$corpus"/
		fi
		echo "== fuzz $name for ${FUZZ_SECONDS}s"
		if ! "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="build-fuzz/$name-" "$corpus" \
			> "build-fuzz/$name.log" 2>&1; then
			echo "fuzz $name FAILED:"; tail -40 "build-fuzz/$name.log"
			fails=$((fails + 1))
		else
			grep -E 'stat::number_of_executed_units' "build-fuzz/$name.log" || true
		fi
		rm -rf "$corpus"
	done < <(find build-fuzz -type f -name '*_fuzz' -perm -u+x | sort)
	[ "$fails" -eq 0 ] || { echo "$fails fuzz target(s) failed"; exit 1; }
fi

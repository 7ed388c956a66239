#!/usr/bin/env bash
# README command two (and CI): install what Signet needs, build with
# AddressSanitizer + UndefinedBehaviorSanitizer and -Werror, run every test
# under ctest, then build the libFuzzer targets with clang and run each for
# FUZZ_SECONDS (default 60 in CI, 20 elsewhere; 0 skips fuzzing).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# --cluster: PostgreSQL for the pgsql ledger tests (they never skip).
# --image: kernel, busybox and QEMU for the image test.
bash tools/install-deps.sh --cluster --image
jobs=$(nproc)

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DSIGNET_SANITIZE=ON -DSIGNET_TEST_HOOKS=ON \
	-DSIGNET_WERROR=ON
cmake --build build-test -j"$jobs"
# Unit tests set their own ASAN_OPTIONS (cmake/SignetHelpers.cmake); these
# are for the daemons that integration scripts start.  Slow unwinding lets
# LSan attribute SoftHSM's own leak to libsofthsm2.so (tests/lsan.supp).
export ASAN_OPTIONS=${ASAN_OPTIONS:-fast_unwind_on_malloc=0:detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd build-test && ctest --output-on-failure -j"$jobs" --timeout 900)

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

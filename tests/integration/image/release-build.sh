#!/usr/bin/env bash
# Builds the binaries that go into the appliance image, without sanitizers
# and with _FORTIFY_SOURCE (a Release build, no tests), with the seccomp
# sandbox and without test hooks (build-image.sh refuses anything else):
#
#   release-build.sh SOURCE_DIR BUILD_DIR
#
# The image test and tools/check-hardening.sh use it when the tree under
# test is a sanitizer or Debug build (tools/test.sh builds with ASan).
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: release-build.sh SOURCE_DIR BUILD_DIR" >&2; exit 2; }
src=$1 out=$2
jobs=$(nproc)
timeout 600 cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release \
	-DSIGNET_SANITIZE=OFF -DSIGNET_FUZZ=OFF -DSIGNET_TESTS=OFF \
	-DSIGNET_SANDBOX=ON -DSIGNET_TEST_HOOKS=OFF -DSIGNET_WERROR=ON >/dev/null ||
	{ echo "release-build: cmake configure failed" >&2; exit 1; }
timeout 1200 cmake --build "$out" -j"$jobs" >"$out/build.log" 2>&1 ||
	{ tail -40 "$out/build.log"; echo "release-build: build failed" >&2; exit 1; }
echo "release build in $out"

#!/usr/bin/env bash
# Builds the binaries that go into the appliance image, without sanitizers
# and with _FORTIFY_SOURCE (a Release build, no tests), with the seccomp
# sandbox and without test hooks (build-image.sh refuses anything else):
#
#   release-build.sh SOURCE_DIR BUILD_DIR
#
# The image test and tools/check-hardening.sh use it when the tree under
# test is a sanitizer or Debug build (tools/test.sh builds with ASan).
# With SIGNET_IMAGE_ROOT set (a Debian build root, tools/trixie-root.sh)
# the build runs inside that root, against its libraries, as the image
# built from it needs; BUILD_DIR then remembers which root made it and is
# made anew when that changes.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: release-build.sh SOURCE_DIR BUILD_DIR" >&2; exit 2; }
src=$1 out=$2
top=$(cd "$(dirname "$0")/../../.." && pwd)
jobs=$(nproc)
run=()
made_in=host
if [ -n "${SIGNET_IMAGE_ROOT:-}" ]; then
	run=("$top/tools/in-root.sh" -r "$SIGNET_IMAGE_ROOT")
	made_in=$(cd "$SIGNET_IMAGE_ROOT" && pwd)
fi
if [ -f "$out/CMakeCache.txt" ] &&
	[ "$(cat "$out/.made-in" 2>/dev/null || echo host)" != "$made_in" ]; then
	rm -rf "$out"
fi
mkdir -p "$out"
echo "$made_in" > "$out/.made-in"
timeout 600 "${run[@]}" cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release \
	-DSIGNET_SANITIZE=OFF -DSIGNET_FUZZ=OFF -DSIGNET_TESTS=OFF \
	-DSIGNET_SANDBOX=ON -DSIGNET_TEST_HOOKS=OFF -DSIGNET_WERROR=ON >/dev/null ||
	{ echo "release-build: cmake configure failed" >&2; exit 1; }
timeout 1200 "${run[@]}" cmake --build "$out" -j"$jobs" >"$out/build.log" 2>&1 ||
	{ tail -40 "$out/build.log"; echo "release-build: build failed" >&2; exit 1; }
echo "release build in $out (made in: $made_in)"

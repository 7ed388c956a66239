#!/usr/bin/env bash
# The soak in CI (issue 14): tools/bench/soak.sh for 120 s after a 30 s
# warm-up, at a fixed modest rate that an ASan build keeps up with on two
# loaded cores (EST 5/s on 4 keep-alive connections, EST-coaps 1/s, one
# client process each), so that the figure does not depend on what else
# the machine runs.  Zero errors, RSS and descriptors flat (soak.sh says
# how that is judged).  The long run is tools/bench/soak.sh on a Release
# build (README, Benchmarks).
#
# usage: soak.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
export SOAK_SECONDS=${SOAK_SECONDS:-120}
export SOAK_WARMUP=${SOAK_WARMUP:-30}
export SOAK_MEASURE=${SOAK_MEASURE:-20}
export SOAK_EST_RATE=${SOAK_EST_RATE:-5}
export SOAK_COAP_RATE=${SOAK_COAP_RATE:-1}
exec bash "$src/tools/bench/soak.sh" "$build"

#!/usr/bin/env bash
# README command one: install what Signet needs, build it, and run the main
# job on the embedded defaults (board/dev-host: SoftHSMv2 token, SQLite).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec bash board/dev-host/run.sh

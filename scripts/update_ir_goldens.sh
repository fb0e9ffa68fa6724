#!/usr/bin/env bash
# Regenerates the expected output (the `// CHECK:` lines) of the IR golden tests under
# tests/ir/<pass>/*.kir from what the passes print now. Run it after an intended change
# to a pass, then read `git diff tests/ir`: that diff is what a reviewer checks.
#
#   scripts/update_ir_goldens.sh [BUILD_DIR]     (default: build)
#
# It builds test_passes in BUILD_DIR (configuring it first when needed) and runs the golden
# tests with KILN_UPDATE_GOLDENS=1, which makes them write instead of compare. Value and
# idempotence checks still run, so a rewrite that changes values fails here too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$root/build}"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S "$root" -B "$build"
fi
cmake --build "$build" --target test_passes -j "${KILN_BUILD_JOBS:-2}"
KILN_UPDATE_GOLDENS=1 "$build/tests/test_passes" --gtest_filter='Passes/IrGolden.*' --gtest_brief=1
git -C "$root" status --short -- tests/ir || true

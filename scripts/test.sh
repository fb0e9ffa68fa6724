#!/usr/bin/env bash
# The README's second command (and CI's, through .ci/run): sets kiln up (scripts/setup.sh),
# builds everything and runs the whole test suite with CTest. Extra arguments go to ctest,
# e.g. `scripts/test.sh -L none` or `scripts/test.sh -R package`.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

kiln_setup
kiln_log "running the tests"
ctest --test-dir "$KILN_BUILD_DIR" --output-on-failure -j "${KILN_TEST_JOBS:-2}" "$@"

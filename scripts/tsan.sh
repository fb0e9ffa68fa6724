#!/usr/bin/env bash
# The ThreadSanitizer run of docs/threads.md: configures build-tsan/ (KILN_SANITIZE=thread,
# RelWithDebInfo, no benchmarks) through scripts/setup.sh, builds only the test programs that
# hold the thread tests and the cache tests, and runs those tests with tests/tsan.supp.
#
#   scripts/tsan.sh [CTEST_ARG...]
#
# Environment: KILN_TSAN_BUILD_DIR (default <repo>/build-tsan), KILN_JOBS, KILN_CMAKE_ARGS
# (added to the sanitizer's), KILN_TEST_THREAD_ROUNDS (rounds of the thread tests; 20 here,
# since every access is checked).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KILN_BUILD_DIR="${KILN_TSAN_BUILD_DIR:-$root/build-tsan}"
export KILN_BUILD_TYPE=RelWithDebInfo
export KILN_CMAKE_ARGS="${KILN_CMAKE_ARGS:-} -DKILN_SANITIZE=thread -DKILN_BUILD_BENCH=OFF"
# shellcheck source=setup.sh
source "$root/scripts/setup.sh"
kiln_ensure_packages "${KILN_DEBIAN_PACKAGES[@]}"
kiln_configure
# test_runtime_cpu and test_runtime_opencl exist only when their backend is built.
targets=()
available="$(cmake --build "$KILN_BUILD_DIR" --target help)"
for t in test_ir test_frontend test_runtime test_runtime_cpu test_runtime_opencl; do
  if grep -q "^$t:" <<<"$available"; then targets+=("$t"); fi
done
kiln_build "${targets[@]}"

export TSAN_OPTIONS="suppressions=$root/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export KILN_TEST_THREAD_ROUNDS="${KILN_TEST_THREAD_ROUNDS:-20}"
ctest --test-dir "$KILN_BUILD_DIR" --output-on-failure -j "${KILN_JOBS:-2}" \
  -R 'Threads\.|ThreadPool\.|KernelCache|ProgramCache|PlanCache|HostMemoryPool' "$@"

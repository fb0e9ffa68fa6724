#!/usr/bin/env bash
# Builds kiln with sanitizers in a build directory of its own and runs tests under them.
# CI (.ci/run) runs the default: ASan+UBSan over the fast tests that need no OpenCL.
#
#   scripts/sanitize.sh [address,undefined|thread] [CTEST_ARG...]
#
# address,undefined (the default) builds without OpenCL and runs the fast part of the
# suite, `-L 'none|cpu-jit' -LE slow`. thread is the run of docs/threads.md: it builds only
# the test programs that hold the thread tests and the cache tests (every device, OpenCL
# included) and runs those, 20 rounds each (KILN_TEST_THREAD_ROUNDS), with tests/tsan.supp.
# ctest arguments given replace the default selection. Any finding fails the test that hit
# it: UBSan is built with -fno-sanitize-recover, and ASan, LSan and TSan exit nonzero after
# a report.
#
# Environment (besides scripts/setup.sh's KILN_JOBS, KILN_SKIP_APT, KILN_TEST_JOBS):
#   KILN_BUILD_DIR    build directory (default: <repo>/build-asan or <repo>/build-tsan)
#   KILN_CMAKE_ARGS   extra configure arguments, after this script's own (so they win):
#                     e.g. -DKILN_WITH_OPENCL=ON to also build the OpenCL device
#   ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS, TSAN_OPTIONS: added to the defaults below
set -euo pipefail

sanitizers=address,undefined
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
  sanitizers="$1"
  shift
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
targets=()
case "$sanitizers" in
  address | undefined | address,undefined | undefined,address)
    build_name=build-asan
    # The GEMM with AVX2's register tile, its shape sweep, the CNN example and the sweeps of
    # summation accuracy and transform lengths repeat under ASan (3 minutes of CI) what
    # other tests run on the same host code; their value is in the numbers, checked in the
    # normal build.
    default_selection=(-L 'none|cpu-jit' -LE slow
      -E '^(CpuGemm\.Lanes8|CpuGemm\.ShapeSweep|example_fashion_mnist_cnn|ReferenceSummation\.MeanAndVar|CpuFft\.EveryLengthFrom1To64OfEveryKind|CpuFft\.PrimesAndPowersOfTwo)$')
    # The fast labels need no OpenCL device. The ONNX importer runs under ASan+UBSan as a
    # fuzz target (scripts/fuzz.sh) instead of being compiled a third time here.
    cmake_args="-DKILN_WITH_OPENCL=OFF -DKILN_WITH_ONNX=OFF"
    ;;
  thread)
    build_name=build-tsan
    default_selection=(-R 'Threads\.|ThreadPool\.|KernelCache|ProgramCache|PlanCache|HostMemoryPool')
    cmake_args=""
    targets=(test_ir test_frontend test_runtime test_runtime_cpu test_runtime_opencl)
    # Every access is checked: fewer rounds of the thread tests say as much.
    export KILN_TEST_THREAD_ROUNDS="${KILN_TEST_THREAD_ROUNDS:-20}"
    export TSAN_OPTIONS="suppressions=$root/tests/tsan.supp${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
    ;;
  *)
    echo "scripts/sanitize.sh: unknown sanitizers '$sanitizers' (address,undefined or thread)" >&2
    exit 2
    ;;
esac

export KILN_BUILD_DIR="${KILN_BUILD_DIR:-$root/$build_name}"
# Optimized with line tables: -O1 -g1 compiles in half the time of RelWithDebInfo's -O2 -g,
# and reports still name each frame's file and line; no benchmarks.
export KILN_BUILD_TYPE=RelWithDebInfo
optimize=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG")
export KILN_CMAKE_ARGS="-DKILN_SANITIZE=$sanitizers -DKILN_BUILD_BENCH=OFF $cmake_args \
${KILN_CMAKE_ARGS:-}"
# Without the OpenCL device, the check that CI's OpenCL platform is there belongs to the
# normal build (scripts/test.sh), not to this one.
if [[ "$KILN_CMAKE_ARGS" != *-DKILN_WITH_OPENCL=ON* ]]; then
  unset KILN_REQUIRE_OPENCL
fi
# shellcheck source=scripts/setup.sh
source "$root/scripts/setup.sh"

# A directory configured before keeps its cache; make sure it is the sanitizer asked for.
if [ -f "$KILN_BUILD_DIR/CMakeCache.txt" ] &&
  ! grep -qx "KILN_SANITIZE:STRING=$sanitizers" "$KILN_BUILD_DIR/CMakeCache.txt"; then
  kiln_log "$KILN_BUILD_DIR was configured with other sanitizers; use another KILN_BUILD_DIR"
  exit 2
fi

# Reports name the source line; a finding ends the process with a nonzero status.
export ASAN_OPTIONS="detect_stack_use_after_return=1:strict_init_order=1:\
check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

kiln_ensure_packages "${KILN_DEBIAN_PACKAGES[@]}"
kiln_configure "${optimize[@]}"
if [ ${#targets[@]} -gt 0 ]; then
  # Only the programs that exist: test_runtime_cpu and _opencl need their backend.
  available="$(cmake --build "$KILN_BUILD_DIR" --target help)"
  built=()
  for t in "${targets[@]}"; do
    if grep -q "^$t:" <<<"$available"; then built+=("$t"); fi
  done
  kiln_build "${built[@]}"
else
  kiln_build
fi
if [ $# -eq 0 ]; then
  set -- "${default_selection[@]}"
fi
kiln_log "running the tests under $sanitizers"
ctest --test-dir "$KILN_BUILD_DIR" --output-on-failure -j "${KILN_TEST_JOBS:-2}" "$@"

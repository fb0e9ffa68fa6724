#!/usr/bin/env bash
# Builds and runs kiln's libFuzzer targets (fuzz/; fuzz/README.md).
#
#   scripts/fuzz.sh TARGET SECONDS   fuzz one target (ir_parser, npy, ...) for SECONDS
#   scripts/fuzz.sh all SECONDS      fuzz each target in turn, SECONDS each
#   scripts/fuzz.sh list             the targets
#
# A run starts from a temporary copy of the target's seed corpus (fuzz/corpus/TARGET/), so
# the repository is never written, and prints the executions and coverage it reached. The
# exit status is nonzero when a run found a crash, a sanitizer report, a leak, a timeout or
# an out-of-memory; the input that caused it is kept under the findings folder the script
# prints (reproduce with: build-fuzz/fuzz/fuzz_TARGET FILE).
#
# Environment:
#   KILN_FUZZ_BUILD_DIR  the clang build (default: <repo>/build-fuzz; configured when absent)
#   KILN_FUZZ_FINDINGS   where crashing inputs go (default: <build dir>/findings/TARGET/)
#   KILN_FUZZ_ARGS       extra libFuzzer flags, e.g. "-runs=1000000" or "-fork=2"
#   KILN_JOBS, KILN_CMAKE_ARGS, KILN_SKIP_APT as for scripts/setup.sh
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

FUZZ_BUILD_DIR="${KILN_FUZZ_BUILD_DIR:-$KILN_ROOT/build-fuzz}"
# Limits of one input: what no reader should need. A slower input, a larger resident set or
# a single allocation above the RSS limit is a finding, as is a leak.
FUZZ_LIMITS=(-timeout=10 -rss_limit_mb=2048 -max_len=8192 -detect_leaks=1)

usage() {
  sed -n '2,/^set /p' "${BASH_SOURCE[0]}" | sed -n 's/^# \{0,1\}//p' >&2
  exit 2
}

# The targets, as fuzz/CMakeLists.txt lists them.
fuzz_targets() {
  sed -n 's/^kiln_fuzzer(\([a-z0-9_]*\))$/\1/p' "$KILN_ROOT/fuzz/CMakeLists.txt"
}

fuzz_configure() {
  if [ -f "$FUZZ_BUILD_DIR/CMakeCache.txt" ]; then
    return 0
  fi
  local extra=()
  if [ -n "${KILN_CMAKE_ARGS:-}" ]; then
    read -r -a extra <<<"$KILN_CMAKE_ARGS"
  fi
  local generator=()
  if command -v ninja >/dev/null 2>&1; then
    generator=(-G Ninja)
  fi
  # Only the library and the targets: no backends (the readers do not compile or run
  # anything), no tests, no benchmarks. Clang 15, the first with the builtin that
  # libstdc++ 12's std::source_location needs; its libFuzzer is in libclang-common-15-dev.
  kiln_log "configuring $FUZZ_BUILD_DIR (clang, libFuzzer, ASan+UBSan)"
  cmake -S "$KILN_ROOT" -B "$FUZZ_BUILD_DIR" "${generator[@]}" "${extra[@]}" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-15 -DCMAKE_CXX_COMPILER=clang++-15 \
    -DKILN_BUILD_FUZZERS=ON -DKILN_BUILD_TESTS=OFF -DKILN_BUILD_BENCH=OFF \
    -DKILN_WITH_LLVM=OFF -DKILN_WITH_OPENCL=OFF
}

fuzz_build() {
  kiln_ensure_packages "${KILN_DEBIAN_PACKAGES[@]}" clang-15 libclang-common-15-dev
  fuzz_configure
  local jobs="${KILN_JOBS:-$(nproc 2>/dev/null || echo 2)}" targets=() t
  for t in "$@"; do targets+=("fuzz_$t"); done
  kiln_log "building ${targets[*]} in $FUZZ_BUILD_DIR ($jobs jobs)"
  cmake --build "$FUZZ_BUILD_DIR" --parallel "$jobs" --target "${targets[@]}"
}

# fuzz_run TARGET SECONDS: one run; returns libFuzzer's status.
fuzz_run() {
  local target="$1" seconds="$2"
  local findings="${KILN_FUZZ_FINDINGS:-$FUZZ_BUILD_DIR/findings}/$target"
  local work
  work="$(mktemp -d "${TMPDIR:-/tmp}/kiln-fuzz-$target.XXXXXX")"
  # The targets' scratch files (fuzz/fuzz_target.h) go to memory when it can: on a disk,
  # writing and mapping a file per input makes the file readers ten times slower.
  local scratch
  scratch="$(mktemp -d /dev/shm/kiln-fuzz-$target.XXXXXX 2>/dev/null || echo "$work/tmp")"
  mkdir -p "$findings" "$work/corpus" "$scratch"
  cp "$KILN_ROOT/fuzz/corpus/$target/"* "$work/corpus/"
  local args=("${FUZZ_LIMITS[@]}" -max_total_time="$seconds" -print_final_stats=1
    -artifact_prefix="$findings/")
  if [ -f "$KILN_ROOT/fuzz/dict/$target.dict" ]; then
    args+=(-dict="$KILN_ROOT/fuzz/dict/$target.dict")
  fi
  local extra=()
  if [ -n "${KILN_FUZZ_ARGS:-}" ]; then
    read -r -a extra <<<"$KILN_FUZZ_ARGS"
  fi
  kiln_log "fuzzing $target for ${seconds}s (log: $work/log)"
  local status=0 started=$SECONDS
  local symbolizer
  symbolizer="$(command -v llvm-symbolizer-15 || command -v llvm-symbolizer || true)"
  # Bad input mostly ends in a thrown kiln::Error, and at every throw ASan collects the
  # fake stacks of its stack-use-after-return check: turned off, the readers run twice as
  # many inputs per second.
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=0}" \
    ASAN_SYMBOLIZER_PATH="$symbolizer" TMPDIR="$scratch" \
    "$FUZZ_BUILD_DIR/fuzz/fuzz_$target" "${args[@]}" "${extra[@]}" "$work/corpus" \
    >"$work/log" 2>&1 || status=$?
  local took=$((SECONDS - started))
  rm -rf "$scratch"
  # The last status line ("#N DONE cov: C ft: F corp: ...") and the final statistics.
  local last execs rate
  last="$(grep -E '^#[0-9]+' "$work/log" | tail -n 1 || true)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log")"
  if [ "$status" -eq 0 ]; then
    printf '[kiln] fuzz %-12s %s executions (%s/s) in %ss, no finding: %s\n' \
      "$target" "${execs:-?}" "${rate:-?}" "$took" "$last"
    rm -rf "$work"
    return 0
  fi
  grep -E 'ERROR|finding|SUMMARY|^==[0-9]+==|runtime error' "$work/log" | head -n 20 >&2 || true
  printf '[kiln] fuzz %-12s FINDING (libFuzzer status %d) after %s executions: %s\n' \
    "$target" "$status" "${execs:-?}" "$last" >&2
  printf '[kiln] the input is under %s/ (newest: %s); the full log is %s/log\n' "$findings" \
    "$(ls -t "$findings" | head -n 1)" "$work" >&2
  return "$status"
}

main() {
  [ $# -ge 1 ] || usage
  local all
  all="$(fuzz_targets)"
  if [ "$1" = list ]; then
    echo "$all"
    return 0
  fi
  [ $# -eq 2 ] || usage
  local targets=() t
  if [ "$1" = all ]; then
    read -r -a targets <<<"$(echo "$all" | tr '\n' ' ')"
  elif grep -qx "$1" <<<"$all"; then
    targets=("$1")
  else
    kiln_log "unknown fuzz target '$1' (targets: $(echo "$all" | tr '\n' ' '))"
    return 2
  fi
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || usage  # 0 would mean no limit to libFuzzer
  fuzz_build "${targets[@]}"
  local failed=0
  for t in "${targets[@]}"; do
    fuzz_run "$t" "$2" || failed=1
  done
  return "$failed"
}

main "$@"

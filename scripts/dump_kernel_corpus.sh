#!/usr/bin/env bash
# Dumps the code kiln generates for a fixed corpus (every `// -----` case of the IR files
# under tests/, and the bench/compare workloads at a few shapes) as LLVM IR, KernelIR and
# OpenCL C for several device descriptions (bench/kernel_corpus.cpp), so that a refactor
# of lowering, the kernel passes or a renderer can show it changed no generated code:
#
#   scripts/dump_kernel_corpus.sh /tmp/before          # on the commit before the change
#   scripts/dump_kernel_corpus.sh /tmp/after /tmp/before   # after it: dump, then diff
#
# BUILD_DIR (default: build) must be configured; the script builds kiln_kernel_corpus.
# Exit status: 1 when a second directory is given and the dumps differ.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
out="${1:?usage: dump_kernel_corpus.sh OUT_DIR [BEFORE_DIR]}"
cmake --build "$build" --target kiln_kernel_corpus -j "${KILN_JOBS:-2}"
rm -rf "$out"
cd "$root"
mapfile -t files < <(find tests -name '*.kir' | sort)
"$build/bench/kiln_kernel_corpus" "$out" "${files[@]}"
if [[ $# -ge 2 ]]; then
  if diff -r "$2" "$out" >/dev/null; then
    echo "dump_kernel_corpus: $out and $2 are identical"
  else
    diff -r "$2" "$out" | head -100
    echo "dump_kernel_corpus: $out differs from $2 (diff -r $2 $out)"
    exit 1
  fi
fi

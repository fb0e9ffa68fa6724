#!/usr/bin/env bash
# Builds-or-uses kiln's OpenCL test and benchmark binaries on an NVIDIA GPU machine, registers
# NVIDIA's OpenCL ICD, and runs: the OpenCL test suite, a sweep of the renderer's tuning
# knobs, and bench/compare --device opencl (kiln vs PyTorch CUDA eager and torch.compile,
# cuBLAS / cuDNN with TF32 off, CLBlast). docs/gpu.md explains the setup.
#
#   bench/opencl_gpu.sh PREBUILT_DIR OUT_DIR
#
# PREBUILT_DIR holds bin/test_runtime_opencl, bin/opencl_bench and lib/ (their shared libraries,
# libclblast.so.1 among them for the CLBlast peer), and bin/clblast_tuner_xgemm for the
# tuned CLBlast row; when it has no bin/, the binaries are built from this checkout with
# -DKILN_WITH_LLVM=OFF. Every log lands in OUT_DIR.
#
# KILN_GPU_STAGES picks what runs, in this order (default: tests,example,sweep,compare):
#   tests, example, sweep, compare  as above (compare: every workload)
#   tune          clblast_tuner_xgemm for KILN_CLBLAST_TUNE_SECONDS (default 300); the JSON
#                 of each finished phase goes to OUT_DIR/clblast-tuning/ and to compare
#   contractions  bench/compare for sgemm, gemm_bias_gelu, dwconv1d and conv2d only
#   transforms    bench/compare for fft and rfft only (kiln's FFT kernels against cuFFT)
#   bert          bench/compare for bert_base only (all-MiniLM-L6-v2's forward pass against
#                 PyTorch CUDA eager and torch.compile; bench/bert_peers.py)
#   models        the M2-BERT layer and bert_base (--quick) against the same peers, then
#                 KILN_OPENCL_PROFILE's per-kernel table of each (where their time goes)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
pre="$(cd "$1" && pwd)"
out="$2"
mkdir -p "$out"

nvidia-smi -L || true

# NVIDIA's ICD: the driver's libnvidia-opencl, found by name or by searching
# (KILN_ICD_DIR names another folder of .icd files, for trying this script elsewhere).
mkdir -p /tmp/icd
lib=libnvidia-opencl.so.1
if ! ldconfig -p | grep -q "$lib"; then
  found=$(find / -name "$lib" -not -path "/proc/*" 2>/dev/null | head -1)
  [ -n "$found" ] && lib="$found"
fi
echo "$lib" > /tmp/icd/nvidia.icd
export OCL_ICD_VENDORS=${KILN_ICD_DIR:-/tmp/icd}
echo "ICD: $(cat "$OCL_ICD_VENDORS"/*.icd)"

if [ ! -x "$pre/bin/opencl_bench" ]; then
  cmake -S "$root" -B /tmp/kiln-build -DCMAKE_BUILD_TYPE=Release -DKILN_WITH_LLVM=OFF \
    -DCMAKE_PREFIX_PATH="$pre/prefix" > "$out/build.log" 2>&1 &&
    cmake --build /tmp/kiln-build -j 16 --target test_runtime_opencl opencl_bench kiln_depthwise_conv >> "$out/build.log" 2>&1 ||
    { tail -30 "$out/build.log"; exit 1; }
  mkdir -p "$pre/bin"
  cp /tmp/kiln-build/tests/test_runtime_opencl /tmp/kiln-build/bench/opencl_bench \
    /tmp/kiln-build/examples/kiln_depthwise_conv "$pre/bin/"
fi
export LD_LIBRARY_PATH="$pre/lib:${LD_LIBRARY_PATH:-}"
bench="$pre/bin/opencl_bench"
"$bench" --info || { export LD_LIBRARY_PATH="$pre/lib-extra:$LD_LIBRARY_PATH"; "$bench" --info; } || exit 1

export KILN_CACHE_DIR=/tmp/kiln-cache
stages=",${KILN_GPU_STAGES:-tests,example,sweep,compare},"
stage() { [[ "$stages" == *",$1,"* ]]; }

if stage tests; then
echo "== tests"
KILN_RANDOM_GRAPHS=${KILN_RANDOM_GRAPHS:-300} timeout "${KILN_TEST_TIMEOUT:-170}" "$pre/bin/test_runtime_opencl" > "$out/tests.log" 2>&1
echo "tests exit $?"
grep -E "^\[  (PASSED|FAILED) |FAILED TEST|tests ran" "$out/tests.log" | head -40

fi

if stage example; then
echo "== custom-kernel example on the GPU"
[ -x "$pre/bin/kiln_depthwise_conv" ] && KILN_DEVICE=opencl "$pre/bin/kiln_depthwise_conv"
echo "example exit $?"
fi

stage sweep && echo "== sweep (ms; rows of opencl_bench with one knob changed)"
sweep() {  # workload rows cols env...
  local w=$1 r=$(($2 / ${KILN_SWEEP_DIV:-1})) c=$3
  shift 3
  local line
  line=$(env "$@" timeout 60 "$bench" --workload "$w" --rows "$r" --cols "$c" --reps 10 --no-eval 2>&1 | grep '"kiln"')
  python3 - "$w" "$*" "$line" <<'PY'
import json, sys
w, knobs, line = sys.argv[1:4]
try:
    r = json.loads(line)
    print(f"  {w:10} {knobs or 'default':32} {r['seconds'] * 1e3:8.3f} ms {r['bytes'] / r['seconds'] / 1e9:8.1f} GB/s  {r['shapes']}")
except Exception:
    print(f"  {w:10} {knobs or 'default':32} failed: {line[:200]}")
PY
}
stage sweep && {
  sweep ew_chain 16384 16384
  sweep ew_chain 16384 16384 KILN_OPENCL_CAST_STORES=1
  sweep ew_chain 16384 16384 KILN_OPENCL_VECTOR=1
  sweep ew_chain 16384 16384 KILN_OPENCL_MAP_WG=512
  sweep sum_full 16384 16384
  sweep sum_full 16384 16384 KILN_OPENCL_ROW_WG=256
  sweep sum_rows 16384 16384
  sweep sum_rows 16384 16384 KILN_OPENCL_REGISTER_ROW=1
  sweep softmax 16384 8192
  sweep softmax 16384 8192 KILN_OPENCL_ROW_WG=512
  sweep softmax 16384 8192 KILN_OPENCL_REGISTER_ROW=1
  sweep softmax 16384 8192 KILN_OPENCL_CAST_STORES=1
  sweep layernorm 16384 8192
  sweep layernorm 16384 8192 KILN_OPENCL_ROW_WG=512
} 2>&1 | tee "$out/sweep.log"

# CLBlast's tuner on this GPU, at the default size of its own database (1024^3). Each of its
# four phases writes its best result when it finishes; the phases done in time are used.
tuning=()
if stage tune; then
  echo "== CLBlast tuning (${KILN_CLBLAST_TUNE_SECONDS:-300} s at most)"
  if [ -x "$pre/bin/clblast_tuner_xgemm" ]; then
    mkdir -p "$out/clblast-tuning"
    (cd "$out/clblast-tuning" && timeout "${KILN_CLBLAST_TUNE_SECONDS:-300}" \
      "$pre/bin/clblast_tuner_xgemm" -precision 32 > tuner.log 2>&1)
    echo "tuner exit $? (124: stopped at the time limit); results:"
    grep -h '"best_time"\|"best_parameters"' "$out"/clblast-tuning/*.json 2>/dev/null
    for f in "$out"/clblast-tuning/clblast_xgemm_*.json; do
      [ -f "$f" ] && tuning+=(--clblast-tuning "$f")
    done
    [ ${#tuning[@]} -eq 0 ] && echo "no tuning phase finished: no clblast_tuned row"
  else
    echo "no $pre/bin/clblast_tuner_xgemm (Debian clblast-utils): no clblast_tuned row"
  fi
fi

if stage compare; then
echo "== compare"
PYTHONUNBUFFERED=1 timeout "${KILN_COMPARE_TIMEOUT:-280}" python3 "$root/bench/compare.py" --device opencl \
  --opencl-binary "$bench" --json "$out/compare.json" "${tuning[@]}" 2>&1 | tee "$out/compare.log"
fi

if stage contractions; then
echo "== compare: GEMM and convolution workloads"
PYTHONUNBUFFERED=1 timeout "${KILN_COMPARE_TIMEOUT:-280}" python3 "$root/bench/compare.py" --device opencl \
  --opencl-binary "$bench" --workloads sgemm,gemm_bias_gelu,dwconv1d,conv2d \
  --json "$out/contractions.json" "${tuning[@]}" 2>&1 | tee "$out/contractions.log"
fi

if stage transforms; then
echo "== compare: FFT workloads"
PYTHONUNBUFFERED=1 timeout "${KILN_COMPARE_TIMEOUT:-280}" python3 "$root/bench/compare.py" --device opencl \
  --opencl-binary "$bench" --workloads fft,rfft --json "$out/transforms.json" 2>&1 | tee "$out/transforms.log"
fi

if stage bert; then
echo "== compare: bert_base"
PYTHONUNBUFFERED=1 timeout "${KILN_COMPARE_TIMEOUT:-280}" python3 "$root/bench/compare.py" --device opencl \
  --opencl-binary "$bench" --workloads bert_base --json "$out/bert.json" 2>&1 | tee "$out/bert.log"
fi

if stage models; then
echo "== compare: m2bert_layer and bert_base"
PYTHONUNBUFFERED=1 timeout "${KILN_COMPARE_TIMEOUT:-280}" python3 "$root/bench/compare.py" --quick \
  --device opencl --opencl-binary "$bench" --workloads m2bert_layer,bert_base \
  --json "$out/models.json" 2>&1 | tee "$out/models.log"
for w in "m2bert_layer 8,8192,768" "bert_base 32,128"; do
  set -- $w
  echo "== kernel profile: $1 $2"
  KILN_OPENCL_PROFILE=1 timeout 60 "$bench" --workload "$1" --dims "$2" --reps 5 --no-eval \
    > "$out/profile-$1.log" 2>&1
  grep -v '"impl"' "$out/profile-$1.log" | head -30
done
fi

# The program binaries (PTX on NVIDIA), for reading the generated machine code.
tar czf "$out/programs.tgz" -C /tmp kiln-cache 2>/dev/null || true

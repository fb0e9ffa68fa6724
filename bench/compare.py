"""bench/compare: runs the workloads of shared/BENCH.md on kiln and on its peers in one run
and prints a table of times, throughput, ratios to each peer and fractions of the measured
limit. Called through the bench/compare wrapper, which builds kiln_bench first.

  bench/compare [--quick] [--reduced] [--json FILE] [--workloads a,b] [--device cpu]
                [--baseline-binary OLD_KILN_BENCH]
  bench/compare --device opencl [--opencl-binary PATH] [--allow-any-platform] ...

The contraction workloads (sgemm, gemm_bias_gelu, sgemm_small, dwconv1d, conv2d) are read
against the FP32 peak of an FMA loop measured in the same process (kiln_bench's `limit`
row) or the copy bandwidth, and against NumPy and PyTorch (whose BLAS is printed and must
not be the reference BLAS), Eigen and OpenBLAS in-process (kiln_bench). `--reduced` runs
them at smaller sizes for a quick look. The issue's targets are printed as ratios measured
side by side in this run.

The OpenCL mode (run on the GPU machine, docs/gpu.md) checks that the OpenCL platform is
NVIDIA's, runs the GPU sizes of the workloads on kiln (bench/opencl_bench: data resident
on the device), PyTorch CUDA eager and torch.compile, and measures a copy kernel (the
bandwidth limit) and a bare clEnqueueNDRangeKernel (the launch limit); the transforms (fft,
rfft, fftconv) against cuFFT through PyTorch (bench/spectral.py). M2-BERT's layer
(m2bert_layer) runs against the same layer in PyTorch: eager on the CPU, CUDA eager and
torch.compile on the GPU (bench/m2bert.py). ONNX models exported from PyTorch (onnx_cnn,
onnx_transformer) run in kiln (kiln::onnx::load) and in onnxruntime's CPU execution provider
(bench/onnx_peers.py).

Every result is checked against the first peer's (or kiln's) before its time is reported:
a mismatch is printed and the run exits non-zero.
"""
import argparse
import json
import os
import platform
import sys
import tempfile

import bert_peers
import contractions
import fft_peers
import m2bert
import onnx_peers
import spectral
from benchlib import checksum, input_array, median_time, run_kiln_bench, run_opencl_bench

HERE = os.path.dirname(os.path.abspath(__file__))

# (workload, rows, cols): shapes of shared/BENCH.md for the 2-core CPU.
CPU_WORKLOADS = [
    ("ew_chain", 4096, 4096),
    ("sum_full", 4096, 4096),
    ("sum_rows", 4096, 4096),
    ("softmax", 4096, 4096),
    ("layernorm", 4096, 4096),
    ("dispatch", 8, 64),
]

# Workloads that only read their input (their output is tiny): measured against a read
# stream (kiln_bench's read_limit), not a copy, which also writes.
READ_ONLY = {"sum_full", "sum_rows"}

# Layers of the dispatch workload (kDispatchLayers in bench/workloads.h).
DISPATCH_LAYERS = 33


def numpy_impls(np, rows, cols):
    x = input_array(np, rows * cols, 1).reshape(rows, cols)
    b = input_array(np, cols, 2)
    w = input_array(np, cols, 3) + np.float32(1.0)

    def softmax():
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def layernorm():
        m = x.mean(axis=1, keepdims=True)
        v = ((x - m) ** 2).mean(axis=1, keepdims=True)
        return (x - m) / np.sqrt(v + np.float32(1e-5)) * w + b

    def dispatch():
        weights = w.reshape(cols, 1) * b.reshape(1, cols) * np.float32(1.0 / cols)
        y = x
        for _ in range(DISPATCH_LAYERS):
            y = np.maximum(y @ weights + b, np.float32(0))
        return y

    return {
        "dispatch": dispatch,
        "ew_chain": lambda: np.maximum((x + b) * np.float32(1.5) - x * x, np.float32(0))
        + np.float32(0.25),
        "sum_full": lambda: x.sum(),
        "sum_rows": lambda: x.sum(axis=1),
        "softmax": softmax,
        "layernorm": layernorm,
    }


def torch_impls(torch, np, rows, cols, device):
    x = torch.from_numpy(input_array(np, rows * cols, 1).reshape(rows, cols)).to(device)
    b = torch.from_numpy(input_array(np, cols, 2)).to(device)
    w = torch.from_numpy(input_array(np, cols, 3) + np.float32(1.0)).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def timed(f):
        def run():
            r = f()
            sync()
            return r

        return run

    def dispatch():
        weights = w.reshape(cols, 1) * b.reshape(1, cols) * (1.0 / cols)
        y = x
        for _ in range(DISPATCH_LAYERS):
            y = torch.relu(y @ weights + b)
        return y

    return {
        "dispatch": timed(dispatch),
        "ew_chain": timed(lambda: torch.clamp_min((x + b) * 1.5 - x * x, 0) + 0.25),
        "sum_full": timed(lambda: x.sum()),
        "sum_rows": timed(lambda: x.sum(dim=1)),
        "softmax": timed(lambda: torch.softmax(x, dim=1)),
        "layernorm": timed(
            lambda: torch.nn.functional.layer_norm(x, (cols,), w, b, 1e-5)
        ),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (< 2 minutes)")
    ap.add_argument("--reduced", action="store_true",
                    help="the contraction workloads at smaller sizes (a quick look)")
    ap.add_argument("--baseline-binary",
                    help="a kiln_bench built from an earlier commit: its kiln row is timed "
                         "beside the current one (the workloads it knows)")
    ap.add_argument("--json", help="write the results as a JSON array to this file")
    ap.add_argument("--workloads", help="comma-separated subset of the workloads")
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "bench", "kiln_bench"))
    ap.add_argument("--device", default="cpu", choices=["cpu", "opencl"])
    ap.add_argument("--opencl-binary",
                    default=os.path.join(HERE, "..", "build", "bench", "opencl_bench"))
    ap.add_argument("--clblast-tuning", action="append",
                    help="opencl mode: a clblast_tuner_xgemm JSON file (repeatable); the best "
                         "result is applied for the clblast_tuned row")
    ap.add_argument("--allow-any-platform", action="store_true",
                    help="opencl mode: run on a platform other than NVIDIA's (no GPU targets)")
    args = ap.parse_args()
    if args.device == "opencl":
        return main_opencl(args)

    # Before NumPy loads OpenBLAS: OpenBLAS reads its core type then.
    openblas_line = contractions.ensure_openblas_core()
    import numpy as np

    try:
        import torch

        torch.set_num_threads(os.cpu_count())
    except ImportError:
        torch = None
        print("note: PyTorch not importable; its column is skipped", file=sys.stderr)

    reps = 5 if args.quick else 15
    wanted = set(args.workloads.split(",")) if args.workloads else None
    records = []
    failures = []
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"numpy {np.__version__}" + (f", torch {torch.__version__} "
          f"({torch.get_num_threads()} threads)" if torch else "") + "; dtype f32")
    print(f"OpenBLAS: {openblas_line}")
    blas_lines, refused = contractions.blas_of_peers(np, torch)
    print("BLAS of the peers:\n  " + "\n  ".join(blas_lines))

    limit_gbs = None
    read_gbs = None
    verdicts = []
    for workload, rows, cols in CPU_WORKLOADS:
        if wanted and workload not in wanted:
            continue
        rows_out = []
        # Microsecond-scale workloads need many more repetitions for a stable median.
        wreps = reps * 20 if workload == "dispatch" else reps
        runs = run_kiln_bench(args.binary, workload, rows, cols, wreps)
        if args.baseline_binary:
            runs += [dict(r, impl="kiln_before")
                     for r in run_kiln_bench(args.baseline_binary, workload, rows, cols, wreps)
                     if r["impl"] == "kiln"]
        for r in runs:
            rows_out.append((r["impl"], r["device"], r["seconds"], r["checksum"], r["bytes"]))
            if r["impl"] == "limit":
                limit_gbs = r["bytes"] / r["seconds"] / 1e9
            if r["impl"] == "read_limit":
                read_gbs = r["bytes"] / r["seconds"] / 1e9
        reads_only = workload in READ_ONLY and read_gbs is not None
        own_limit = read_gbs if reads_only else limit_gbs
        kiln_bytes = next(b for i, _, _, _, b in rows_out if i == "kiln")
        peers = {"numpy": numpy_impls(np, rows, cols)}
        if torch:
            peers["torch"] = torch_impls(torch, np, rows, cols, "cpu")
        for name, impls in peers.items():
            if name in refused and workload in contractions.BLAS_WORKLOADS:
                print(f"note: {name} skipped on {workload}: it runs on the reference BLAS")
                continue
            f = impls[workload]
            t = median_time(f, wreps, 2)
            rows_out.append((name, "cpu", t, checksum(f()), kiln_bytes))
        ref = next(c for i, _, _, c, _ in rows_out if i in ("numpy", "kiln"))
        kiln_t = next(t for i, _, t, _, _ in rows_out if i == "kiln")
        print(f"\n{workload} f32[{rows},{cols}]"
              + (" (of limit: the read stream, read_limit)" if reads_only else ""))
        print(f"  {'impl':11} {'device':12} {'ms':>9} {'GB/s':>8} {'kiln speedup':>13} "
              f"{'of limit':>9}  check")
        for impl, device, t, c, nbytes in rows_out:
            gbs = nbytes / t / 1e9
            # The limits are a copy or a read of the input, not the workload: nothing to check.
            ok = impl in ("limit", "read_limit") or abs(c - ref) <= 1e-3 * max(1.0, abs(ref))
            if not ok:
                failures.append(f"{workload}/{impl}: checksum {c} vs numpy {ref}")
            speed = "" if impl in ("kiln",) else f"{t / kiln_t:12.2f}x"
            frac = f"{gbs / own_limit:8.0%}" if own_limit and workload != "dispatch" else ""
            print(f"  {impl:11} {device[:12]:12} {t * 1e3:9.3f} {gbs:8.1f} {speed:>13} {frac:>9}"
                  f"  {'ok' if ok else 'MISMATCH'}")
            records.append({"workload": workload, "impl": impl, "device": device,
                            "seconds": t, "metric": "GB/s", "value": gbs,
                            "checksum_ok": ok,
                            "of_limit": gbs / own_limit if own_limit else None})
        if reads_only:
            got = kiln_bytes / kiln_t / 1e9 / read_gbs
            verdicts.append((f"{workload} >= 90% of the read limit", got >= 0.9, f"{got:.0%}"))
            torch_t = next((t for i, _, t, _, _ in rows_out if i == "torch"), None)
            if torch_t is not None:
                verdicts.append((f"{workload} at least as fast as PyTorch", kiln_t <= torch_t,
                                 f"{torch_t / kiln_t:.2f}x"))
        before_t = next((t for i, _, t, _, _ in rows_out if i == "kiln_before"), None)
        if workload == "dispatch" and before_t is not None:
            verdicts.append(("dispatch >= 2x faster than the baseline binary (kiln eval)",
                             before_t >= 2 * kiln_t, f"{before_t / kiln_t:.2f}x"))

    if not wanted or wanted & contractions.NAMES:
        verdicts += contractions.run_cpu(args, np, torch, refused, records, failures)
    if not wanted or wanted & fft_peers.NAMES:
        verdicts += fft_peers.run_cpu(args, np, torch, records, failures)
    # M2-BERT's layer (bench/m2bert.py): kiln_bench against PyTorch eager.
    if not wanted or wanted & m2bert.NAMES:
        verdicts += m2bert.run_cpu(args, np, torch, records, failures)
    # bert_base: a whole model's forward pass (bench/bert_peers.py).
    if not wanted or wanted & bert_peers.NAMES:
        verdicts += bert_peers.run_cpu(args, np, torch, refused, records, failures)
    # Exported ONNX models: kiln_bench against onnxruntime (bench/onnx_peers.py).
    if not wanted or wanted & onnx_peers.NAMES:
        verdicts += onnx_peers.run_cpu(args, np, records, failures)

    if verdicts:
        print("\ntargets")
        for what, ok, value in verdicts:
            print(f"  {'met ' if ok else 'MISS'}  {what}: {value}")

    if not wanted or "compile" in wanted:
        records += compile_workload(args.binary)

    return finish(args, records, failures)


def finish(args, records, failures):
    """Writes the JSON records if asked; the exit status: 1 when a result mismatched."""
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    if failures:
        print("\nresult mismatches:\n  " + "\n  ".join(failures))
        return 1
    return 0


def compile_workload(binary):
    """Cold compile (fresh cache dir) and warm load (second process, same dir) per kernel."""
    out = []
    print("\ncompile (ms per kernel)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, KILN_CACHE_DIR=cache)
        cold_ms, warm_ms = [], []
        for workload, _, _ in CPU_WORKLOADS:
            if workload == "dispatch":
                continue
            cold = next(r for r in run_kiln_bench(binary, workload, 256, 256, 3, env)
                        if r["impl"] == "kiln")
            warm = next(r for r in run_kiln_bench(binary, workload, 256, 256, 3, env)
                        if r["impl"] == "kiln")
            k = max(1, cold["kernels_compiled"])
            cold_ms.append(cold["compile_seconds"] / k * 1e3)
            # Warm: reading and linking the disk entries, per kernel. The second process's
            # whole first run (JIT start-up, thread pool, first buffers) is shown beside it.
            hits = max(1, warm["cache_hits_disk"])
            warm_ms.append(warm["compile_seconds"] / hits * 1e3)
            first_ms = (warm["cold_seconds"] - warm["seconds"]) * 1e3
            print(f"  {workload:10} cold {cold_ms[-1]:7.2f}  warm {warm_ms[-1]:7.3f}"
                  f"  (kernels {cold['kernels_compiled']}, disk hits {warm['cache_hits_disk']};"
                  f" warm process's first run {first_ms:.2f} ms over its later runs)")
        cold_ms.sort()
        warm_ms.sort()
        med_c, med_w = cold_ms[len(cold_ms) // 2], warm_ms[len(warm_ms) // 2]
        print(f"  median     cold {med_c:7.2f}  warm {med_w:7.3f}")
        out.append({"workload": "compile", "impl": "kiln", "device": "cpu",
                    "seconds": med_c / 1e3, "metric": "ms/kernel cold", "value": med_c})
        out.append({"workload": "compile_warm", "impl": "kiln", "device": "cpu",
                    "seconds": med_w / 1e3, "metric": "ms/kernel warm", "value": med_w})
    return out


# (workload, rows, cols) on the GPU: large enough that each run is far past launch cost
# and its data is many times the L2 cache.
GPU_WORKLOADS = [
    ("ew_chain", 16384, 16384),   # 2^28 floats
    ("sum_full", 16384, 16384),
    ("sum_rows", 16384, 16384),
    ("softmax", 16384, 8192),
    ("layernorm", 16384, 8192),
    ("dispatch", 8, 64),          # launch-bound: a 33-layer MLP step
]

# Targets of the OpenCL issue on an H100 / H200: fraction of the copy bandwidth, and
# whether kiln must beat PyTorch eager.
GPU_TARGETS = {
    "ew_chain": (0.85, False),
    "sum_full": (0.85, False),
    "sum_rows": (0.85, False),
    "softmax": (0.75, True),
    "layernorm": (0.75, True),
}


def main_opencl(args):
    import numpy as np

    info = run_opencl_bench(args.opencl_binary, "--info")[0]
    print(f"OpenCL platform: {info['platform']} ({info['platform_vendor']}); device: "
          f"{info['device']}, {info['version']}, driver {info['driver']}, "
          f"{info['compute_units']} compute units")
    nvidia = "NVIDIA" in info["platform"] or "NVIDIA" in info["platform_vendor"]
    if not nvidia and not args.allow_any_platform:
        print("error: the OpenCL platform is not NVIDIA's; register NVIDIA's ICD "
              "(docs/gpu.md) or pass --allow-any-platform", file=sys.stderr)
        return 2
    try:
        import torch
        cuda = torch.cuda.is_available()
    except ImportError:
        torch, cuda = None, False
    if not cuda:
        print("note: PyTorch with CUDA is not available; its columns are skipped", file=sys.stderr)
    else:
        print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
        # FP32 means FP32 for every CUDA peer: no TF32 tensor-core rounding in cuBLAS or cuDNN.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        print(f"PyTorch CUDA: TF32 off (matmul.allow_tf32="
              f"{torch.backends.cuda.matmul.allow_tf32}, cudnn.allow_tf32="
              f"{torch.backends.cudnn.allow_tf32}), cuDNN {torch.backends.cudnn.version()}")

    reps = 10 if args.quick else 30
    wanted = set(args.workloads.split(",")) if args.workloads else None
    records, failures, verdicts = [], [], []
    quick = args.quick

    elements = 1 << (26 if quick else 28)
    limits = run_opencl_bench(args.opencl_binary, "--limits", "--elements", elements,
                              "--reps", reps)
    copy = next(r for r in limits if r["impl"] == "limit")
    limit_gbs = copy["bytes"] / copy["seconds"] / 1e9
    read = next(r for r in limits if r["impl"] == "read_limit")
    read_gbs = read["bytes"] / read["seconds"] / 1e9
    empty = next(r for r in limits if r["impl"] == "bare_opencl")["seconds"]
    bare = next(r for r in limits if r["impl"] == "bare_same_kernel")["seconds"]
    mine = next(r for r in limits if r["impl"] == "kiln")["seconds"]
    tiny_eval = next(r for r in limits if r["impl"] == "kiln_eval")["seconds"]
    print(f"\ncopy kernel (float4, {elements} floats): {copy['seconds'] * 1e3:.3f} ms, "
          f"{limit_gbs:.1f} GB/s (read + written)")
    print(f"read kernel (float4, {elements} floats): {read['seconds'] * 1e3:.3f} ms, "
          f"{read_gbs:.1f} GB/s (the limit of {', '.join(sorted(READ_ONLY))})")
    print(f"launch (per launch, many in a row): empty kernel {empty * 1e6:.2f} us; kiln's "
          f"kernel through the bare API {bare * 1e6:.2f} us, through kiln {mine * 1e6:.2f} us "
          f"({mine / bare:.2f}x); one tiny graph through eval {tiny_eval * 1e6:.1f} us")
    records.append({"workload": "copy", "impl": "limit", "device": info["device"],
                    "seconds": copy["seconds"], "metric": "GB/s", "value": limit_gbs})
    records.append({"workload": "read", "impl": "read_limit", "device": info["device"],
                    "seconds": read["seconds"], "metric": "GB/s", "value": read_gbs})
    records.append({"workload": "launch", "impl": "limit", "device": info["device"],
                    "seconds": bare, "metric": "us/launch", "value": bare * 1e6})
    records.append({"workload": "launch_empty", "impl": "limit", "device": info["device"],
                    "seconds": empty, "metric": "us/launch", "value": empty * 1e6})
    records.append({"workload": "launch", "impl": "kiln", "device": info["device"],
                    "seconds": mine, "metric": "us/launch", "value": mine * 1e6})
    records.append({"workload": "launch_eval", "impl": "kiln", "device": info["device"],
                    "seconds": tiny_eval, "metric": "us/graph", "value": tiny_eval * 1e6})
    if nvidia:
        verdicts.append(("launch overhead within 1.5x of bare", mine <= 1.5 * bare,
                         f"{mine / bare:.2f}x"))

    for workload, rows, cols in GPU_WORKLOADS:
        if wanted and workload not in wanted or not wanted and args.reduced:
            continue
        latency_bound = workload == "dispatch"
        if quick and not latency_bound:
            rows //= 4
        wreps = reps * 10 if latency_bound else reps
        out = run_opencl_bench(args.opencl_binary, "--workload", workload, "--rows", rows,
                               "--cols", cols, "--reps", wreps)
        kiln = next(r for r in out if r["impl"] == "kiln")
        kiln_eval = next(r for r in out if r["impl"] == "kiln_eval")
        nbytes = kiln["bytes"]
        rows_out = [("kiln", kiln["seconds"], kiln["checksum"]),
                    ("kiln_eval", kiln_eval["seconds"], kiln_eval["checksum"])]
        if cuda:
            impls = torch_impls(torch, np, rows, cols, "cuda")
            f = impls[workload]
            rows_out.append(("torch", median_time(f, wreps, 3), checksum(f())))
            try:
                compiled = torch.compile(f)
                compiled()  # compiles
                rows_out.append(("torch.compile", median_time(compiled, wreps, 3),
                                 checksum(compiled())))
            except Exception as e:  # torch.compile needs Triton and a compiler
                print(f"note: torch.compile failed for {workload}: {e}", file=sys.stderr)
            del impls, f
            torch.cuda.empty_cache()
        ref = next((c for i, _, c in rows_out if i == "torch"), kiln["checksum"])
        kiln_t = kiln["seconds"]
        own_limit = read_gbs if workload in READ_ONLY else limit_gbs
        print(f"\n{workload} f32[{rows},{cols}]  (kiln: {kiln['shapes']}, "
              f"{kiln['launches']} launches)"
              + ("; of limit: the read kernel" if workload in READ_ONLY else ""))
        print(f"  {'impl':14} {'ms':>9} {'GB/s':>8} {'kiln speedup':>13} {'of limit':>9}  check")
        for impl, t, c in rows_out:
            gbs = nbytes / t / 1e9
            ok = abs(c - ref) <= 1e-3 * max(1.0, abs(ref))
            if not ok:
                failures.append(f"{workload}/{impl}: checksum {c} vs {ref}")
            speed = "" if impl == "kiln" else f"{t / kiln_t:12.2f}x"
            frac = "" if latency_bound else f"{gbs / own_limit:8.0%}"
            print(f"  {impl:14} {t * 1e3:9.3f} {gbs:8.1f} {speed:>13} {frac:>9}"
                  f"  {'ok' if ok else 'MISMATCH'}")
            records.append({"workload": workload, "impl": impl, "device": info["device"]
                            if impl.startswith("kiln") else "cuda", "seconds": t,
                            "metric": "GB/s", "value": gbs, "checksum_ok": ok})
        if nvidia and workload in GPU_TARGETS:
            frac, beat_eager = GPU_TARGETS[workload]
            got = nbytes / kiln_t / 1e9 / limit_gbs
            verdicts.append((f"{workload} >= {frac:.0%} of copy bandwidth", got >= frac,
                             f"{got:.0%}"))
            if workload in READ_ONLY:
                got = nbytes / kiln_t / 1e9 / read_gbs
                verdicts.append((f"{workload} >= 90% of read bandwidth", got >= 0.9,
                                 f"{got:.0%}"))
            eager = next((t for i, t, _ in rows_out if i == "torch"), None)
            if beat_eager and eager is not None:
                verdicts.append((f"{workload} faster than PyTorch eager", kiln_t < eager,
                                 f"{eager / kiln_t:.2f}x"))

    if not wanted or wanted & contractions.NAMES:
        gpu_verdicts = contractions.run_gpu(args, np, torch if cuda else None, info, limit_gbs,
                                            records, failures)
        if nvidia:
            verdicts += gpu_verdicts

    if not wanted or wanted & spectral.NAMES:
        fft_verdicts = spectral.run_gpu(args, np, torch if cuda else None, info, records, failures)
        if nvidia:
            verdicts += fft_verdicts

    # M2-BERT's layer (bench/m2bert.py): opencl_bench against PyTorch CUDA eager and
    # torch.compile.
    if not wanted or wanted & m2bert.NAMES:
        m2_verdicts = m2bert.run_gpu(args, np, torch if cuda else None, info, records, failures)
        if nvidia:
            verdicts += m2_verdicts
    # bert_base: all-MiniLM-L6-v2's forward pass (bench/bert_peers.py).
    if not wanted or wanted & bert_peers.NAMES:
        bert_verdicts = bert_peers.run_gpu(args, np, torch if cuda else None, info, records,
                                           failures)
        if nvidia:
            verdicts += bert_verdicts

    if verdicts:
        print("\ntargets")
        for what, ok, value in verdicts:
            print(f"  {'met ' if ok else 'MISS'}  {what}: {value}")
    return finish(args, records, failures)


if __name__ == "__main__":
    sys.exit(main())

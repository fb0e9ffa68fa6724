"""bench/onnx_peers.py: the same exported ONNX model run by kiln (kiln_bench's onnx_cnn and
onnx_transformer workloads: kiln::onnx::load on the CPU JIT) and by onnxruntime (PyPI, CPU
execution provider), in one run. scripts/export_onnx_models.py --bench writes the models
into the build directory (next to kiln_bench, onnx_models/) the first time: the
Fashion-MNIST CNN at batch 64 and a TransformerEncoderLayer (d_model 64, 4 heads,
feed-forward 2048) at batch 8 x sequence 128.

Both sides run on the same input, benchlib.input_array(salt 1) in the model's input
shape, and their outputs' checksums are compared before any time is reported. Run alone:

  /usr/bin/python3 bench/onnx_peers.py [--binary build/bench/kiln_bench] [--reps 20]
"""
import argparse
import os
import subprocess
import sys

from benchlib import checksums, input_array, kiln_rows, median_time, run_kiln_bench

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = {"onnx_cnn", "onnx_transformer"}
# (workload, what its model is): the shapes are the exported models' own.
WORKLOADS = [("onnx_cnn", [64, 1, 28, 28]), ("onnx_transformer", [8, 128, 64])]
# Untimed runs before each side's timed ones: the first few runs of a process here take up
# to twice as long (kiln's and onnxruntime's alike), which five timed runs (--quick) would
# otherwise report.
WARMUP = 6


def models_dir(binary):
    """Where the benchmark models are (written there when missing)."""
    out = os.path.join(os.path.dirname(os.path.abspath(binary)), "onnx_models")
    if not all(os.path.exists(os.path.join(out, w + ".onnx")) for w, _ in WORKLOADS):
        script = os.path.join(HERE, "..", "scripts", "export_onnx_models.py")
        subprocess.run([sys.executable, script, "--bench", out], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return out


def ort_session(path):
    """onnxruntime on the CPU, as many intra-op threads as kiln's pool has (every core),
    every graph optimization on (its default); None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None, "onnxruntime not importable"
    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    note = (f"onnxruntime {ort.__version__}, CPUExecutionProvider, "
            f"{options.intra_op_num_threads} intra-op threads")
    return session, note


def run_cpu(args, np, records, failures, reps=None):
    """The onnx workloads inside bench/compare (CPU): kiln_bench's kiln and kiln_exec rows
    and onnxruntime, one table per model; returns the target (>= 1x onnxruntime, kiln's
    whole eval) as ratios of this run."""
    from contractions import print_rows

    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = reps or (5 if args.quick else 20)
    verdicts = []
    todo = [(w, d) for w, d in WORKLOADS if not wanted or w in wanted]
    if not todo:
        return verdicts
    folder = models_dir(args.binary)
    for workload, dims in todo:
        path = os.path.join(folder, workload + ".onnx")
        try:
            records_in = run_kiln_bench(args.binary, workload, 0, 0, reps,
                                        extra=["--model", path, "--warmup", str(WARMUP)])
        except RuntimeError as e:
            print(f"note: {workload} skipped: {e}", file=sys.stderr)
            continue
        rows, _, note = kiln_rows(records_in)
        flops, nbytes = rows[0][4], rows[0][5]
        session, ort_note = ort_session(path)
        if session is None:
            print(f"note: {ort_note}; {workload} has no peer", file=sys.stderr)
        else:
            name = session.get_inputs()[0].name
            x = input_array(np, int(np.prod(dims)), 1).reshape(dims)
            f = lambda: session.run(None, {name: x})[0]  # noqa: E731
            seconds = median_time(f, reps, WARMUP)
            rows.append(("onnxruntime", "cpu", seconds, checksums(f()), flops, nbytes, ort_note))
        print_rows(workload, dims, rows, None, note + f"; {os.path.basename(path)}", failures,
                   records, "cpu")
        ort_t = next((r[2] for r in rows if r[0] == "onnxruntime"), None)
        kiln_t = next((r[2] for r in rows if r[0] == "kiln"), None)
        if ort_t and kiln_t:
            verdicts.append((f"{workload} {'x'.join(map(str, dims))} >= 1x onnxruntime "
                             f"(kiln eval)", ort_t >= kiln_t, f"{ort_t / kiln_t:.2f}x"))
    return verdicts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "bench", "kiln_bench"))
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--workloads", help="onnx_cnn, onnx_transformer (default: both)")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import numpy as np

    records, failures = [], []
    verdicts = run_cpu(args, np, records, failures, args.reps)
    for what, ok, value in verdicts:
        print(f"  {'met ' if ok else 'MISS'}  {what}: {value}")
    if failures:
        print("\nresult mismatches:\n  " + "\n  ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

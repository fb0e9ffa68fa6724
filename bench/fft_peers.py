"""bench/fft_peers.py: the CPU peers of kiln's FFT workloads (fft, rfft, fftconv,
fftconv_short): NumPy (numpy.fft), PyTorch CPU (torch.fft) and the hand-written FFTW program
(bench/fft_peer.cpp, planned like kiln: KILN_FFTW_PLANNER). bench/compare.py imports the
pieces (FFT_WORKLOADS, fft_backends, numpy_impl, torch_impl, run_fft_peer); run alone it
times every peer and prints one JSON line per workload and peer, in kiln_bench's form:

  python3 bench/fft_peers.py [--fft-peer build/bench/fft_peer] [--workloads fft,rfft]
                             [--reps 15] [--reduced] [--json FILE]

The inputs mirror bench/fft_peer.cpp's (make_input of bench/workloads.cpp, through
benchlib.input_array): fft: c64[rows, n] with real parts from salt 1 and imaginary parts
from salt 2 (kiln's complex(re, im)); rfft: f32[rows, n] (salt 1); fftconv B, H, L: u (salt 1) [B, H, L], k (salt 2)
[H, L], D (salt 3) [H], gate v (salt 4) [B, H, L];
out = gelu(irfft(rfft(u, 2L) * rfft(k, 2L), 2L)[..., :L] + u * D) * v (exact gelu). Each
result's checksums are over its floats (complex values interleaved), as kiln_bench's, and
are checked against the FFTW program's.
"""
import argparse
import json
import math
import os
import subprocess
import sys

from benchlib import checksums, input_array, median_time

HERE = os.path.dirname(os.path.abspath(__file__))

# (workload, dims) at the sizes of the issue; dims: rows, n for the transforms and
# B, H, L (FFT size 2L) for the convolutions.
FFT_WORKLOADS = [
    ("fft", [1024, 4096]),
    ("fft", [64, 65536]),
    ("rfft", [1024, 4096]),
    ("rfft", [64, 65536]),
    ("fftconv", [8, 768, 8192]),
    ("fftconv_short", [8, 768, 1024]),
]
# --reduced: a quick look.
FFT_WORKLOADS_REDUCED = [
    ("fft", [256, 4096]),
    ("rfft", [256, 4096]),
    ("fftconv", [2, 128, 8192]),
    ("fftconv_short", [2, 128, 1024]),
]


def fft_backends(np, torch):
    """What each Python peer's FFT runs on, one line each."""
    major = int(np.__version__.split(".")[0])
    lines = [f"numpy {np.__version__}: numpy.fft on pocketfft, "
             + ("in the input's precision" if major >= 2 else
                "in float64 (complex128 results; NumPy < 2 has no float32 FFT)")
             + ", one thread"]
    if torch is not None:
        mkl = torch.backends.mkl.is_available()
        lines.append(f"torch {torch.__version__}: torch.fft on "
                     + ("MKL (Intel oneMKL DFTI)" if mkl else "pocketfft")
                     + f", float32, {torch.get_num_threads()} threads")
    return lines


def _inputs(np, workload, dims):
    if workload == "fft":
        rows, n = dims
        re = input_array(np, rows * n, 1).reshape(rows, n)
        im = input_array(np, rows * n, 2).reshape(rows, n)
        return {"x": (re + 1j * im).astype(np.complex64)}
    if workload == "rfft":
        rows, n = dims
        return {"x": input_array(np, rows * n, 1).reshape(rows, n)}
    b, h, length = dims
    return {
        "u": input_array(np, b * h * length, 1).reshape(b, h, length),
        "k": input_array(np, h * length, 2).reshape(h, length),
        "d": input_array(np, h, 3).reshape(h, 1),
        "v": input_array(np, b * h * length, 4).reshape(b, h, length),
    }


def as_floats(np, value):
    """A result as kiln_bench sums it: float32 values, complex ones interleaved."""
    if hasattr(value, "detach"):
        value = value.detach().cpu()
        if value.is_complex():
            import torch

            value = torch.view_as_real(value.to(torch.complex64))
        value = value.numpy()
    value = np.asarray(value)
    if np.iscomplexobj(value):
        value = np.ascontiguousarray(value.astype(np.complex64)).view(np.float32)
    return value.astype(np.float32)


def numpy_impl(np, workload, dims):
    """A function computing the workload with NumPy (SciPy's erf for the exact gelu)."""
    a = _inputs(np, workload, dims)
    if workload == "fft":
        return lambda: np.fft.fft(a["x"], axis=-1)
    if workload == "rfft":
        return lambda: np.fft.rfft(a["x"], axis=-1)
    from scipy.special import erf

    length = dims[2]
    n = 2 * length

    def fftconv():
        y = np.fft.irfft(np.fft.rfft(a["u"], n=n) * np.fft.rfft(a["k"], n=n), n=n)[..., :length]
        z = (y + a["u"] * a["d"]).astype(np.float32)
        return np.float32(0.5) * z * (np.float32(1) + erf(z * np.float32(1 / math.sqrt(2)))) * a["v"]

    return fftconv


def torch_impl(torch, np, workload, dims):
    """A function computing the workload with PyTorch on the CPU."""
    a = {k: torch.from_numpy(v) for k, v in _inputs(np, workload, dims).items()}
    if workload == "fft":
        return lambda: torch.fft.fft(a["x"], dim=-1)
    if workload == "rfft":
        return lambda: torch.fft.rfft(a["x"], dim=-1)
    length = dims[2]
    n = 2 * length

    def fftconv():
        y = torch.fft.irfft(torch.fft.rfft(a["u"], n=n) * torch.fft.rfft(a["k"], n=n), n=n)
        return torch.nn.functional.gelu(y[..., :length] + a["u"] * a["d"]) * a["v"]

    return fftconv


def run_fft_peer(binary, workload, dims, reps, env=None):
    """The FFTW program's JSON record for one workload."""
    cmd = [binary, "--workload", workload, "--dims", ",".join(map(str, dims)), "--reps", str(reps)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")][0]


NAMES = {w for w, _ in FFT_WORKLOADS}


def run_cpu(args, np, torch, records, failures):
    """The transform workloads inside bench/compare (CPU): kiln_bench's kiln, kiln_exec and
    copy-limit rows, the FFTW program, NumPy and PyTorch, in one table per workload; returns
    the issue's targets as ratios of this run (kiln_exec against the FFTW program, which
    also plans once and runs on resident data; kiln's whole eval against PyTorch)."""
    from benchlib import kiln_rows, run_kiln_bench
    from contractions import print_rows

    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = 5 if args.quick else 15
    peer = os.path.join(os.path.dirname(args.binary), "fft_peer")
    for line in fft_backends(np, torch):
        print("# " + line)
    times = {}
    for workload, dims in FFT_WORKLOADS_REDUCED if args.reduced else FFT_WORKLOADS:
        if wanted and workload not in wanted:
            continue
        rows, limit, note = kiln_rows(run_kiln_bench(args.binary, workload, 0, 0, reps, dims=dims),
                                      "copy bandwidth")
        flops, nbytes = rows[0][4], rows[0][5]
        if os.path.exists(peer):
            r = run_fft_peer(peer, workload, dims, reps)
            rows.append(("fftw", "cpu", r["seconds"],
                         (r["checksum"], r["weighted_checksum"], r["magnitude"]), flops, nbytes,
                         "hand-written FFTW program"))
        peers = [("numpy", numpy_impl(np, workload, dims))]
        if torch is not None:
            peers.append(("torch", torch_impl(torch, np, workload, dims)))
        for name, f in peers:
            rows.append((name, "cpu", median_time(f, reps, 2), checksums(as_floats(np, f())),
                         flops, nbytes, ""))
        for impl, _, t, *_ in rows:
            times[(workload, tuple(dims), impl)] = t
        print_rows(workload, dims, rows, limit, note, failures, records, "cpu")
    verdicts = []
    for workload, dims in FFT_WORKLOADS:
        key = (workload, tuple(dims))
        kiln, kiln_exec = times.get(key + ("kiln",)), times.get(key + ("kiln_exec",))
        fftw, torch_t = times.get(key + ("fftw",)), times.get(key + ("torch",))
        size = "x".join(map(str, dims))
        want = 0.9 if workload in ("fft", "rfft") else 1.0
        if kiln_exec and fftw:
            x = fftw / kiln_exec
            verdicts.append((f"{workload} {size} >= {want}x the FFTW program (kiln_exec)",
                             x >= want, f"{x:.2f}x"))
        if workload.startswith("fftconv") and kiln and torch_t:
            x = torch_t / kiln
            verdicts.append((f"{workload} {size} >= 2x PyTorch CPU (kiln eval)", x >= 2,
                             f"{x:.2f}x"))
    return verdicts


def close(a, b):
    return abs(a - b) <= 1e-3 * max(1.0, abs(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fft-peer", default=os.path.join(HERE, "..", "build", "bench", "fft_peer"))
    ap.add_argument("--workloads", help="comma-separated subset of fft, rfft, fftconv, fftconv_short")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--reduced", action="store_true", help="smaller sizes (a quick look)")
    ap.add_argument("--json", help="write the records as a JSON array to this file")
    args = ap.parse_args()

    import numpy as np

    try:
        import torch

        torch.set_num_threads(os.cpu_count())
    except ImportError:
        torch = None
        print("note: PyTorch not importable; its rows are skipped", file=sys.stderr)
    for line in fft_backends(np, torch):
        print("# " + line)
    wanted = set(args.workloads.split(",")) if args.workloads else None
    records, failures = [], []
    for workload, dims in FFT_WORKLOADS_REDUCED if args.reduced else FFT_WORKLOADS:
        if wanted and workload not in wanted:
            continue
        ref = run_fft_peer(args.fft_peer, workload, dims, args.reps)
        rows = [ref]
        peers = [("numpy", numpy_impl(np, workload, dims))]
        if torch is not None:
            peers.append(("torch", torch_impl(torch, np, workload, dims)))
        for name, f in peers:
            t = median_time(f, args.reps, 2)
            s, w, m = checksums(as_floats(np, f()))
            ok = close(s, ref["checksum"]) and close(w, ref["weighted_checksum"]) and \
                close(m, ref["magnitude"])
            if not ok:
                failures.append(f"{workload} {dims} {name}: checksums {s}, {w}, {m} vs FFTW's "
                                f"{ref['checksum']}, {ref['weighted_checksum']}, {ref['magnitude']}")
            rows.append({"workload": workload, "impl": name, "device": "cpu", "seconds": t,
                         "bytes": ref["bytes"], "flops": ref["flops"], "checksum": s,
                         "weighted_checksum": w, "magnitude": m, "dims": dims,
                         "checksum_ok": ok})
        for r in rows:
            print(json.dumps(r))
        sys.stdout.flush()
        records += rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)
    if failures:
        print("result mismatches:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

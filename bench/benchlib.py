"""Pieces that bench/compare.py and bench/contractions.py share: the mirror of kiln_bench's
inputs, timing, checksums, and running the C++ halves of the benchmark."""
import json
import subprocess
import time


def input_array(np, n, salt):
    """Mirror of kiln::bench::input_value (bench/workloads.cpp)."""
    i = np.arange(n, dtype=np.uint64)
    h = (i * np.uint64(2654435761) + np.uint64(salt * 40503)) % np.uint64(1000)
    return h.astype(np.float32) / np.float32(1000.0) - np.float32(0.5)


def median_time(fn, reps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def checksum(value):
    import numpy as np

    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return float(np.asarray(value, dtype=np.float64).sum())


def checksums(value):
    """kiln::bench::Checksum of a result: its sum, its sum weighted by (i % 7) - 3 over the
    flat index (which a transposed or permuted result fails), and its sum of magnitudes."""
    import numpy as np

    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    v = np.ascontiguousarray(value, dtype=np.float64).ravel()
    weights = (np.arange(v.size, dtype=np.int64) % 7 - 3).astype(np.float64)
    return float(v.sum()), float(v @ weights), float(np.abs(v).sum())


def run_kiln_bench(binary, workload, rows, cols, reps, env=None, dims=None, extra=()):
    cmd = [binary, "--workload", workload, "--rows", str(rows), "--cols", str(cols),
           "--reps", str(reps)]
    if dims:
        cmd += ["--dims", ",".join(map(str, dims))]
    cmd += list(extra)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def kiln_rows(records, limit_note=None):
    """kiln_bench's records as compare's table rows: (rows, limit, note). rows: (impl, device,
    seconds, checksums, flops, bytes, note) of each implementation (kiln's own without a
    note); limit: (GFLOP/s, GB/s, what, seconds) of the fastest run of the "limit" record,
    named `limit_note` or its own note, or None; note: kiln's variant."""
    rows, limit, note = [], None, ""
    for r in records:
        if r["impl"] == "limit":
            t = r["min_seconds"]
            what = limit_note or r["note"] or "copy bandwidth"
            limit = (r["flops"] / t / 1e9, r["bytes"] / t / 1e9, what, t)
            continue
        if r["impl"] == "kiln":
            note = r["note"]
        rows.append((r["impl"], r["device"], r["seconds"],
                     (r["checksum"], r["weighted_checksum"], r["magnitude"]), r["flops"],
                     r["bytes"], "" if r["impl"].startswith("kiln") else r["note"]))
    return rows, limit, note


def run_opencl_bench(binary, *args):
    cmd = [binary, *map(str, args)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]



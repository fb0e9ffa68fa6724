"""ctest bench_contraction_workloads: runs kiln_bench on each GEMM and convolution workload at
a tiny size and checks what bench/compare relies on: every implementation (kiln, the
prepared executable, Eigen, OpenBLAS) agrees with kiln's result by the weighted checksum,
the workloads have the limit their kind needs (the FMA peak for GEMMs and conv2d, the copy
for dwconv1d, none for sgemm_small) with a positive rate, and the convolutions compute what
their definition says (a direct loop here, on the mirrored inputs). Standard library only.

  python3 bench/check_workloads.py build/bench/kiln_bench
"""
import json
import subprocess
import sys


def input_value(i, salt):
    """Mirror of kiln::bench::input_value (bench/workloads.cpp)."""
    return ((i * 2654435761 + salt * 40503) % 1000) / 1000.0 - 0.5


def weighted(values):
    return sum(v * (i % 7 - 3) for i, v in enumerate(values))


def dwconv1d(b, c, length, taps):
    """y[n, ch, t] = sum_j w[ch, 0, j] x[n, ch, t + j - (taps - 1)], zero before the start."""
    x = [input_value(i, 1) for i in range(b * c * length)]
    w = [input_value(i, 3) for i in range(c * taps)]
    y = []
    for n in range(b):
        for ch in range(c):
            for t in range(length):
                s = 0.0
                for j in range(taps):
                    at = t + j - (taps - 1)
                    if at >= 0:
                        s += w[ch * taps + j] * x[(n * c + ch) * length + at]
                y.append(s)
    return y


def conv2d(b, ci, co, h, wd, k):
    """Stride 1, padding k // 2, w [co, ci, k, k]."""
    x = [input_value(i, 1) for i in range(b * ci * h * wd)]
    w = [input_value(i, 3) for i in range(co * ci * k * k)]
    p = k // 2
    y = []
    for n in range(b):
        for o in range(co):
            for r in range(h):
                for q in range(wd):
                    s = 0.0
                    for c in range(ci):
                        for i in range(k):
                            for j in range(k):
                                rr, qq = r + i - p, q + j - p
                                if 0 <= rr < h and 0 <= qq < wd:
                                    s += (w[((o * ci + c) * k + i) * k + j]
                                          * x[((n * ci + c) * h + rr) * wd + qq])
                    y.append(s)
    return y


# (workload, dims, the impls that must be there, limit kind, direct reference or None)
CASES = [
    ("sgemm", [17, 33, 65], {"kiln", "kiln_exec", "eigen"}, "peak", None),
    ("gemm_bias_gelu", [16, 31, 7], {"kiln", "kiln_exec"}, "peak", None),
    ("sgemm_small", [3, 64, 64], {"kiln", "kiln_exec", "eigen"}, None, None),
    ("dwconv1d", [2, 3, 50, 4], {"kiln", "kiln_exec"}, "copy", dwconv1d),
    ("conv2d", [2, 3, 5, 6, 7, 3], {"kiln", "kiln_exec"}, "peak", conv2d),
]


def main():
    binary = sys.argv[1]
    failures, failed = [], set()
    for workload, dims, needed, limit_kind, reference in CASES:
        before = len(failures)
        cmd = [binary, "--workload", workload, "--dims", ",".join(map(str, dims)), "--reps", "1",
               "--warmup", "1"]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            failures.append(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
            failed.add(workload)
            continue
        rows = {r["impl"]: r for r in map(json.loads, out.stdout.splitlines())}
        missing = needed - rows.keys()
        if missing:
            failures.append(f"{workload}: no {', '.join(sorted(missing))} row")
        kiln = rows.get("kiln")
        if not kiln:
            continue
        tolerance = 1e-5 * max(1.0, kiln["magnitude"])
        for impl, r in rows.items():
            if impl != "limit" and abs(r["weighted_checksum"] - kiln["weighted_checksum"]) > tolerance:
                failures.append(f"{workload}/{impl}: weighted checksum {r['weighted_checksum']} "
                                f"vs kiln's {kiln['weighted_checksum']}")
        if reference:
            expected = weighted(reference(*dims))
            if abs(expected - kiln["weighted_checksum"]) > tolerance:
                failures.append(f"{workload}: kiln's weighted checksum {kiln['weighted_checksum']}"
                                f" vs the direct loop's {expected}")
        limit = rows.get("limit")
        if limit_kind is None and limit:
            failures.append(f"{workload}: a limit row where none applies")
        if limit_kind == "peak" and not (limit and limit["flops"] > 0 and "FMA" in limit["note"]):
            failures.append(f"{workload}: no FMA peak limit row")
        if limit_kind == "copy" and not (limit and limit["bytes"] > 0 and limit["flops"] == 0):
            failures.append(f"{workload}: no copy limit row")
        print(f"{workload} {dims}: {', '.join(sorted(rows))}")
        if len(failures) > before:
            failed.add(workload)
    for f in failures:
        print("FAIL " + f)
    print(f"{len(CASES) - len(failed)} passed, {len(failed)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

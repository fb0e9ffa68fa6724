"""The contraction workloads of bench/compare (sgemm, gemm_bias_gelu, sgemm_small, dwconv1d,
conv2d): their Python peers, the check that those peers run on a real BLAS, the tables
(GFLOP/s and fraction of the measured FMA peak, or GB/s and fraction of the copy limit),
and the issue's targets as ratios measured side by side in one run. bench/compare.py
calls run_cpu and run_gpu; kiln_bench and opencl_bench (bench/workloads.cpp) hold the kiln
graphs, the in-process peers and the limits.
"""
import math
import os
import sys

from benchlib import (checksums, input_array, kiln_rows, median_time, run_kiln_bench,
                      run_opencl_bench)

# (workload, dims) at the sizes of the issue; dims as bench/workloads.cpp reads them:
# GEMMs m, n, k; dwconv1d batch, channels, length, taps; conv2d batch, c_in, c_out, h, w, k.
SMALL_ROWS = list(range(1, 17))  # sgemm_small: dispatch's layers, m rows by [64, 64]
CPU_CONTRACTIONS = [
    ("sgemm", [2048, 2048, 2048]),
    ("gemm_bias_gelu", [2048, 2048, 2048]),
    *[("sgemm_small", [m, 64, 64]) for m in SMALL_ROWS],
    ("dwconv1d", [8, 1024, 8192, 4]),
    ("conv2d", [8, 64, 64, 56, 56, 3]),
]
# --reduced: a quick look (about a minute on 2 cores).
CPU_CONTRACTIONS_REDUCED = [
    ("sgemm", [1024, 1024, 1024]),
    ("gemm_bias_gelu", [1024, 1024, 1024]),
    *[("sgemm_small", [m, 64, 64]) for m in (1, 4, 8, 16)],
    ("dwconv1d", [8, 256, 8192, 4]),
    ("conv2d", [2, 64, 64, 56, 56, 3]),
]
GPU_CONTRACTIONS = [
    ("sgemm", [4096, 4096, 4096]),
    ("gemm_bias_gelu", [4096, 4096, 4096]),
    ("dwconv1d", [8, 1024, 8192, 4]),
    ("conv2d", [8, 64, 64, 56, 56, 3]),
]
GPU_CONTRACTIONS_REDUCED = [
    ("sgemm", [1024, 1024, 1024]),
    ("gemm_bias_gelu", [1024, 1024, 1024]),
    ("dwconv1d", [2, 256, 8192, 4]),
    ("conv2d", [2, 64, 64, 56, 56, 3]),
]
NAMES = {"sgemm", "gemm_bias_gelu", "sgemm_small", "dwconv1d", "conv2d"}
# bert_base (bench/bert_peers.py) is a whole model, mostly matmuls.
COMPUTE_BOUND = {"sgemm", "gemm_bias_gelu", "conv2d", "bert_base"}
# Workloads whose peers call a BLAS: a peer on the reference BLAS is not reported there.
BLAS_WORKLOADS = {"sgemm", "gemm_bias_gelu", "sgemm_small", "dispatch"}

# OpenBLAS cores (its DYNAMIC_ARCH names) without AVX2 kernels: what it falls back to on a
# CPU it does not know (OpenBLAS 0.3.21 takes a Sapphire Rapids VM for a Prescott, and runs
# sgemm at a fifth of its speed).
PRE_AVX2_CORES = {"prescott", "katmai", "coppermine", "northwood", "core2", "penryn",
                  "dunnington", "nehalem", "atom", "banias", "sandybridge", "opteron",
                  "opteron_sse3", "barcelona", "bobcat", "bulldozer", "piledriver"}


def describe(dims):
    return "x".join(map(str, dims))


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def openblas_core_for(flags):
    """The OpenBLAS core type whose kernels fit these CPU flags, or None."""
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        return "Cooperlake" if "avx512_bf16" in flags else "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


def ensure_openblas_core():
    """Before NumPy is imported (OpenBLAS reads OPENBLAS_CORETYPE when it loads): if the
    OpenBLAS that NumPy would load takes this CPU for one without AVX2, names the core whose
    kernels fit its flags, for this process and its children (kiln_bench's cblas_sgemm).
    Returns a line for the report."""
    import json
    import subprocess

    if os.environ.get("OPENBLAS_CORETYPE"):
        return f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} (set by the caller)"
    probe = ("import json, numpy, threadpoolctl; print(json.dumps(["
             "i.get('architecture') for i in threadpoolctl.threadpool_info() "
             "if i.get('internal_api') == 'openblas']))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    if out.returncode != 0:
        return f"could not ask threadpoolctl for OpenBLAS's core: {out.stderr.strip()[-200:]}"
    cores = [c for c in json.loads(out.stdout) if c]
    wanted = openblas_core_for(cpu_flags())
    if wanted and any(c.lower() in PRE_AVX2_CORES for c in cores):
        os.environ["OPENBLAS_CORETYPE"] = wanted
        return (f"OpenBLAS detected this CPU as {'/'.join(cores)}, a core without AVX2 "
                f"kernels; set OPENBLAS_CORETYPE={wanted} (from the CPU's flags)")
    return f"OpenBLAS core as detected: {'/'.join(cores) or 'no OpenBLAS loaded by NumPy'}"


def mapped_blas():
    """The BLAS and LAPACK libraries mapped into this process, resolved through links."""
    paths = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and ("blas" in parts[5] or "mkl" in parts[5]):
                    paths.add(os.path.realpath(parts[5]))
    except OSError:
        pass
    return paths


def is_reference_blas(path):
    """Debian's reference BLAS (netlib): /usr/lib/<triplet>/blas/libblas.so.3."""
    return os.path.basename(path).startswith("libblas.so") and "openblas" not in path and \
        os.path.basename(os.path.dirname(path)) == "blas"


def blas_of_peers(np, torch):
    """Which BLAS NumPy and PyTorch run (threadpoolctl, and the libraries mapped), and the
    peers that run on the reference BLAS (not reported on BLAS workloads)."""
    import threadpoolctl

    info = threadpoolctl.threadpool_info()
    blas = [f"{i.get('internal_api')} {i.get('version')} core {i.get('architecture')}, "
            f"{i.get('num_threads')} threads ({os.path.basename(i.get('filepath', ''))})"
            for i in info if i.get("user_api") == "blas"]
    reference = sorted(p for p in mapped_blas() if is_reference_blas(p))
    lines, refused = [], set()
    what = "; ".join(blas) or "no BLAS that threadpoolctl knows"
    if reference:
        what += f"; reference BLAS mapped: {', '.join(reference)}"
    # NumPy and PyTorch (Debian's builds) both call sgemm through libblas.so.3, the one
    # library the alternatives system points at: they share whatever it is.
    libblas = sorted(p for p in mapped_blas() if "libblas.so" in os.path.basename(p) or
                     "libopenblas" in os.path.basename(p))
    for peer in ["numpy"] + (["torch"] if torch else []):
        on_reference = bool(reference) or not blas
        lines.append(f"{peer}: {what}" + ("  -> REFUSED on BLAS workloads (reference BLAS)"
                                          if on_reference else ""))
        if on_reference:
            refused.add(peer)
    if torch:
        lines.append(f"torch convolutions: oneDNN {'on' if torch.backends.mkldnn.is_available() else 'OFF'}"
                     f" ({torch.__config__.show().count('MKL-DNN') and 'built with MKL-DNN' or 'no MKL-DNN'})")
    lines.append(f"libraries mapped: {', '.join(libblas) or 'none'}")
    return lines, refused


def operands(np, workload, dims):
    """Mirror of the workload's operands (bench/workloads.cpp): shapes and salts."""
    def array(shape, salt):
        return input_array(np, math.prod(shape), salt).reshape(shape)

    if workload in ("sgemm", "sgemm_small", "gemm_bias_gelu"):
        m, n, k = dims
        ops = [array((m, k), 1), array((k, n), 4)]
        if workload == "gemm_bias_gelu":
            ops.append(array((n,), 2))
        return ops
    if workload == "dwconv1d":
        b, c, length, taps = dims
        return [array((b, c, length), 1), array((c, 1, taps), 3)]
    if workload == "conv2d":
        n, ci, co, h, w, k = dims
        return [array((n, ci, h, w), 1), array((co, ci, k, k), 3)]
    raise ValueError(workload)


def numpy_peer(np, workload, dims):
    """NumPy's version, or None where it has none (conv2d)."""
    ops = operands(np, workload, dims)
    if workload in ("sgemm", "sgemm_small"):
        a, b = ops
        return lambda: a @ b
    if workload == "gemm_bias_gelu":
        from scipy.special import erf  # NumPy has no erf; SciPy's is vectorised

        a, b, bias = ops
        half, root = np.float32(0.5), np.float32(1 / math.sqrt(2))

        def gemm_bias_gelu():
            y = a @ b + bias
            return y * half * (np.float32(1) + erf(y * root))

        return gemm_bias_gelu
    if workload == "dwconv1d":  # a shifted view of the padded input per tap
        x, w = ops
        taps, length = w.shape[2], x.shape[2]
        padded = np.pad(x, ((0, 0), (0, 0), (taps - 1, 0)))

        def dwconv1d():
            y = padded[:, :, 0:length] * w[:, :, 0]
            for j in range(1, taps):
                y += padded[:, :, j:j + length] * w[:, :, j]
            return y

        return dwconv1d
    return None


def torch_peer(torch, np, workload, dims, device):
    """PyTorch's version on `device` ("cpu" or "cuda"; TF32 is off, see run_gpu)."""
    ops = [torch.from_numpy(o).to(device) for o in operands(np, workload, dims)]
    F = torch.nn.functional
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    if workload in ("sgemm", "sgemm_small"):
        a, b = ops
        f = lambda: a @ b  # noqa: E731
    elif workload == "gemm_bias_gelu":  # the product, then the bias and the exact (erf) gelu
        a, b, bias = ops
        f = lambda: F.gelu(a @ b + bias)  # noqa: E731
    elif workload == "dwconv1d":  # the usual causal form: pad both sides, keep the first l
        x, w = ops
        taps, length, channels = w.shape[2], x.shape[2], x.shape[1]
        f = lambda: F.conv1d(x, w, padding=taps - 1, groups=channels)[..., :length]  # noqa
    elif workload == "conv2d":
        x, w = ops
        f = lambda: F.conv2d(x, w, padding=w.shape[2] // 2)  # noqa: E731
    else:
        raise ValueError(workload)

    def run():
        r = f()
        sync()
        return r

    return run


def checks_out(c, ref):
    """Result (sum, weighted, magnitude) against the reference's: the weighted sums agree to
    1e-5 of the sum of magnitudes (rounding differences stay far below that; a permuted or
    wrong result is far above it)."""
    return abs(c[1] - ref[1]) <= 1e-5 * max(1.0, ref[2])


def check_rows(workload, dims, rows, failures, records, limit=None):
    """Checks every row's result against kiln's and records it; returns [(row, ok, fraction
    of the limit)]. rows: [(impl, device, seconds, checksums, flops, bytes, note)]."""
    compute = workload in COMPUTE_BOUND
    ref = next((r[3] for r in rows if r[0] == "kiln"), rows[0][3])
    out = []
    for row in rows:
        impl, device, t, c, flops, nbytes, what = row
        ok = checks_out(c, ref)
        if not ok:
            failures.append(f"{workload} {describe(dims)}/{impl}: weighted checksum {c[1]} vs "
                            f"kiln's {ref[1]}")
        gflops, gbs = flops / t / 1e9, nbytes / t / 1e9
        frac = None
        if limit:
            frac = gflops / limit[0] if compute else gbs / limit[1]
        records.append({"workload": workload, "dims": dims, "impl": impl, "device": device,
                        "seconds": t, "metric": "GFLOP/s" if compute else "GB/s",
                        "value": gflops if compute else gbs, "gflops": gflops, "gbs": gbs,
                        "of_limit": frac, "checksum_ok": ok, "note": what})
        out.append((row, ok, frac))
    return out


def print_small(small_rows):
    """sgemm_small: microseconds per call, one line per m."""
    impls = []
    for _, rows in small_rows:
        impls += [r[0] for r in rows if r[0] not in impls]
    print("\nsgemm_small: m x 64 x 64, microseconds per call (kiln_exec: prepared, resident "
          "data; kiln: whole eval)")
    print("  " + f"{'m':>3} " + " ".join(f"{i:>10}" for i in impls)
          + f" {'openblas / kiln_exec':>21}")
    for dims, rows in small_rows:
        t = {r[0]: r[2] for r in rows}
        cells = " ".join(f"{t[i] * 1e6:10.2f}" if i in t else f"{'':>10}" for i in impls)
        speed = (f"{t['openblas'] / t['kiln_exec']:20.2f}x"
                 if "openblas" in t and "kiln_exec" in t else "")
        print(f"  {dims[0]:>3} {cells} {speed}")


def print_rows(workload, dims, rows, limit, note, failures, records, device_label):
    """rows: [(impl, device, seconds, checksums, flops, bytes, note)], kiln's first."""
    kiln_t = next((r[2] for r in rows if r[0] == "kiln"), None)
    print(f"\n{workload} {describe(dims)}" + (f" (kiln: {note})" if note else "")
          + (f"; limit: {limit[2]}" if limit else ""))
    print(f"  {'impl':14} {'device':10} {'ms':>10} {'GFLOP/s':>9} {'GB/s':>8} "
          f"{'of limit':>9} {'t / kiln':>9}  check  note")
    for (impl, device, t, c, flops, nbytes, what), ok, frac in check_rows(
            workload, dims, rows, failures, records, limit):
        gflops, gbs = flops / t / 1e9, nbytes / t / 1e9
        ratio = "" if impl == "kiln" or not kiln_t else f"{t / kiln_t:8.2f}x"
        print(f"  {impl:14} {device[:10]:10} {t * 1e3:10.4f} {gflops:9.1f} {gbs:8.1f} "
              f"{'' if frac is None else f'{frac:8.0%}':>9} {ratio:>9}  "
              f"{'ok   ' if ok else 'WRONG'}  {what}")
    compute = workload in COMPUTE_BOUND
    if limit:
        records.append({"workload": workload, "dims": dims, "impl": "limit",
                        "device": device_label, "seconds": limit[3],
                        "metric": "GFLOP/s" if compute else "GB/s",
                        "value": limit[0] if compute else limit[1], "note": limit[2]})


def opencl_rows(args, workload, dims, reps, extra=()):
    """opencl_bench's rows of one workload on resident data, as print_rows takes them, and
    kiln's note (how the graph is expressed, its kernel shapes and launches)."""
    out = run_opencl_bench(args.opencl_binary, "--workload", workload, "--dims",
                           ",".join(map(str, dims)), "--reps", reps, "--no-eval", *extra)
    rows, note = [], ""
    for r in out:
        if "skipped" in r:
            print(f"note: {r['impl']} skipped on {workload}: {r['skipped']}")
            continue
        if r["impl"] == "kiln":
            note = f"{r.get('note') or 'graph'}; {r['shapes']}, {r['launches']} launches"
        rows.append((r["impl"], r["device"], r["seconds"],
                     (r["checksum"], r["weighted_checksum"], r["magnitude"]), r["flops"],
                     r["bytes"], r.get("note", "") if r["impl"] != "kiln" else ""))
    return rows, note


def run_cpu(args, np, torch, refused, records, failures):
    """The CPU contraction workloads: kiln_bench (kiln, kiln_exec, the limit, Eigen,
    OpenBLAS) and NumPy / PyTorch beside it; returns the targets' verdicts."""
    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = 5 if args.quick else 15
    plan = CPU_CONTRACTIONS_REDUCED if args.reduced else CPU_CONTRACTIONS
    small_rows = []  # sgemm_small: one line per m, at the end
    times, rates = {}, {}  # (workload, m of sgemm_small or None, impl) -> seconds, flop/s
    limits = {}
    # The FMA peak is the machine's, but one measurement on a shared machine can come out
    # low (and a BLAS above 100% of it): it is measured first on its own (20 runs), again in
    # every compute-bound workload's process, and each fraction is of the highest so far.
    peak = None
    if any(w in COMPUTE_BOUND for w, _ in plan if not wanted or w in wanted):
        r = next(r for r in run_kiln_bench(args.binary, "peak", 16, 16, 20) if r["impl"] == "limit")
        peak = (r["flops"] / r["min_seconds"] / 1e9, 0, r["note"], r["min_seconds"])
        print(f"\nFMA peak: {peak[0]:.1f} GFLOP/s ({r['note']}; fastest of 20 runs; "
              f"median {r['flops'] / r['seconds'] / 1e9:.1f})")
        records.append({"workload": "peak", "impl": "limit", "device": "cpu",
                        "seconds": peak[3], "metric": "GFLOP/s", "value": peak[0],
                        "note": r["note"]})
    for workload, dims in plan:
        if wanted and workload not in wanted:
            continue
        small = workload == "sgemm_small"
        wreps = reps * 20 if small else reps
        out = run_kiln_bench(args.binary, workload, 0, 0, wreps, dims=dims)
        rows, limit, note = kiln_rows(out)
        if limit and workload in COMPUTE_BOUND:  # a peak: the fastest of its runs so far
            if peak is None or limit[0] > peak[0]:
                peak = limit
            limit = (peak[0], 0, f"{peak[2]}: {peak[0]:.1f} GFLOP/s, the highest "
                     f"measured so far (this process: {limit[0]:.1f})", peak[3])
        flops, nbytes = rows[0][4], rows[0][5]
        peers = {"numpy": numpy_peer(np, workload, dims)}
        if torch:
            peers["torch"] = torch_peer(torch, np, workload, dims, "cpu")
        for name, f in peers.items():
            if f is None:
                continue
            if name in refused and workload in BLAS_WORKLOADS:
                print(f"note: {name} skipped on {workload}: it runs on the reference BLAS")
                continue
            t = median_time(f, wreps, 2)
            rows.append((name, "cpu", t, checksums(f()), flops, nbytes, ""))
        key = dims[0] if small else None
        for impl, _, t, *_ in rows:
            times[(workload, key, impl)] = t
            rates[(workload, key, impl)] = flops / t
        rates[(workload, key, "kiln_bytes")] = nbytes / times[(workload, key, "kiln")]
        limits[workload] = limit
        if small:
            small_rows.append((dims, rows))
            check_rows(workload, dims, rows, failures, records)
        else:
            print_rows(workload, dims, rows, limit, note, failures, records, "cpu")
    if small_rows:
        print_small(small_rows)
    if peak:  # the targets read the highest peak of the whole run
        print(f"\nFMA peak, the highest of this run: {peak[0]:.1f} GFLOP/s ({peak[2]})")
        for w in COMPUTE_BOUND & limits.keys():
            limits[w] = peak
    return cpu_verdicts(times, rates, limits)


def cpu_verdicts(times, rates, limits):
    """The CPU targets of the issue, each a ratio of two figures of this run. Against
    in-process peers and the FMA peak kiln's row is kiln_exec (resident data, as a BLAS call
    is given); against NumPy and PyTorch it is the whole eval (both allocate their result)."""
    v = []

    def add(what, value, ok, shown):
        if value is not None:
            v.append((what, ok(value), shown.format(value)))

    def t(workload, impl, m=None):
        return times.get((workload, m, impl))

    def over(a, b):  # a / b where both were measured
        return a / b if a is not None and b is not None else None

    peak = limits.get("sgemm")
    rate = rates.get(("sgemm", None, "kiln_exec"))
    if peak and rate:
        add("sgemm >= 80% of the FMA peak (kiln_exec)", rate / 1e9 / peak[0],
            lambda x: x >= 0.8, "{:.0%}")
    add("sgemm >= 0.95x OpenBLAS in-process (kiln_exec)",
        over(t("sgemm", "openblas"), t("sgemm", "kiln_exec")), lambda x: x >= 0.95, "{:.2f}x")
    add("gemm_bias_gelu within 5% of kiln's bare sgemm (kiln_exec, time ratio)",
        over(t("gemm_bias_gelu", "kiln_exec"), t("sgemm", "kiln_exec")),
        lambda x: x <= 1.05, "{:.3f}")
    for peer in ("numpy", "torch"):
        add(f"gemm_bias_gelu >= 1.3x {peer}'s sgemm + bias + gelu (kiln eval)",
            over(t("gemm_bias_gelu", peer), t("gemm_bias_gelu", "kiln")),
            lambda x: x >= 1.3, "{:.2f}x")
    small = sorted({m for (w, m, _) in times if w == "sgemm_small"})
    speedups = [over(t("sgemm_small", "openblas", m), t("sgemm_small", "kiln_exec", m))
                for m in small]
    speedups = [s for s in speedups if s is not None]
    if speedups:
        geo = math.exp(sum(map(math.log, speedups)) / len(speedups))
        v.append((f"sgemm_small >= 2x OpenBLAS in-process at every m of {small[0]}..{small[-1]} "
                  "(kiln_exec)", min(speedups) >= 2,
                  f"min {min(speedups):.2f}x, geometric mean {geo:.2f}x"))
    copy = limits.get("dwconv1d")
    rate = rates.get(("dwconv1d", None, "kiln_bytes"))
    if copy and rate:
        add("dwconv1d >= 70% of the copy bandwidth (kiln eval)", rate / 1e9 / copy[1],
            lambda x: x >= 0.7, "{:.0%}")
    add("conv2d >= 1x PyTorch CPU (kiln eval)", over(t("conv2d", "torch"), t("conv2d", "kiln")),
        lambda x: x >= 1.0, "{:.2f}x")
    return v


def run_gpu(args, np, torch, info, copy_gbs, records, failures):
    """The GPU contraction workloads: opencl_bench (kiln's prepared executable, CLBlast untuned
    and tuned) and PyTorch CUDA with TF32 off (cuBLAS, cuDNN); returns the targets' verdicts
    (ratios of this run)."""
    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = 10 if args.quick else 30
    cuda = torch is not None and torch.cuda.is_available()  # TF32 off: see compare.py
    times = {}
    for workload, dims in GPU_CONTRACTIONS_REDUCED if args.reduced else GPU_CONTRACTIONS:
        if wanted and workload not in wanted:
            continue
        extra = []
        for f in args.clblast_tuning or []:
            extra += ["--clblast-tuning", f]
        rows, note = opencl_rows(args, workload, dims, reps, extra)
        flops, nbytes = rows[0][4], rows[0][5]
        if cuda:
            f = torch_peer(torch, np, workload, dims, "cuda")
            t = median_time(f, reps, 3)
            rows.append(("torch", "cuda", t, checksums(f()), flops, nbytes,
                         "cuDNN" if "conv" in workload else "cuBLAS"))
            del f
            torch.cuda.empty_cache()
        for impl, _, t, *_ in rows:
            times[(workload, impl)] = t
        limit = (None, copy_gbs, "float4 copy kernel", None) if workload == "dwconv1d" else None
        times[(workload, "kiln_gbs")] = nbytes / times[(workload, "kiln")] / 1e9
        print_rows(workload, dims, rows, limit, note, failures, records, info["device"])

    v = []

    def add(what, a, b, ok, shown, scale=1.0):
        if a in times and b in times:
            x = times[a] / times[b] * scale
            v.append((what, ok(x), shown.format(x)))

    add("sgemm >= 80% of cuBLAS FP32, TF32 off (time ratio)", ("sgemm", "torch"),
        ("sgemm", "kiln"), lambda x: x >= 0.8, "{:.0%}")
    add("sgemm >= 1.5x CLBlast untuned", ("sgemm", "clblast"), ("sgemm", "kiln"),
        lambda x: x >= 1.5, "{:.2f}x")
    add("sgemm vs CLBlast tuned (no target)", ("sgemm", "clblast_tuned"), ("sgemm", "kiln"),
        lambda x: True, "{:.2f}x")
    add("gemm_bias_gelu within 5% of kiln's bare sgemm (time ratio)", ("gemm_bias_gelu", "kiln"),
        ("sgemm", "kiln"), lambda x: x <= 1.05, "{:.3f}")
    if ("dwconv1d", "kiln_gbs") in times and copy_gbs:
        x = times[("dwconv1d", "kiln_gbs")] / copy_gbs
        v.append(("dwconv1d >= 80% of the copy bandwidth", x >= 0.8, f"{x:.0%}"))
    add("conv2d >= 0.8x cuDNN FP32", ("conv2d", "torch"), ("conv2d", "kiln"), lambda x: x >= 0.8,
        "{:.2f}x")
    return v

"""The transform workloads of bench/compare on the GPU (fft: complex64 rows made from two f32
arrays, rfft: f32 rows, fftconv: M2-BERT's long convolution; bench/workloads.cpp holds
kiln's graphs): kiln's FFT kernels
through opencl_bench, PyTorch CUDA eager (cuFFT, on the same graph: complex() then the
transform), cuFFT alone (torch.fft on a complex tensor already on the device),
torch.compile, and VkFFT's OpenCL back end for the plain transforms (bench/vkfft_peer.cpp,
when built beside opencl_bench: Debian's libvkfft-dev), side by side in one run, with the
issue's target (fft >= 0.8x cuFFT for powers of two, fftconv >= 1.5x PyTorch CUDA eager) as
ratios of that run. bench/compare.py calls run_gpu.
"""
import json
import math
import os
import subprocess

from benchlib import checksums, input_array, median_time
from contractions import opencl_rows, print_rows
from fft_peers import FFT_WORKLOADS as GPU_TRANSFORMS
from fft_peers import FFT_WORKLOADS_REDUCED as GPU_TRANSFORMS_REDUCED
from fft_peers import NAMES

# The workloads and sizes are the CPU's (bench/fft_peers.py): rows and the transform's
# length, or batch, channels and length for fftconv.


def timed(torch, f):
    """f, run and waited for; a complex result as interleaved parts, as kiln's is summed."""
    def run():
        y = f()
        torch.cuda.synchronize()
        return torch.view_as_real(y) if y.is_complex() else y
    return run


def compiled_peer(torch, graph, workload):
    """[the graph through torch.compile], or [] where it does not compile."""
    try:
        compiled = torch.compile(graph)
        compiled()
        return [("torch.compile", timed(torch, compiled), "inductor")]
    except Exception as e:  # torch.compile needs Triton and a compiler
        print(f"note: torch.compile failed for {workload}: {e}")
        return []


def torch_peers(torch, np, workload, dims):
    """[(impl, fn, note)]: the same graph in eager PyTorch, the bare cuFFT call (fft), and the
    graph through torch.compile (when it compiles)."""
    if workload.startswith("fftconv"):
        return fftconv_peers(torch, np, workload, dims)
    rows, n = dims

    def array(salt):
        return torch.from_numpy(input_array(np, rows * n, salt).reshape(rows, n)).to("cuda")

    re = array(1)
    if workload == "fft":
        im = array(2)
        graph = lambda: torch.fft.fft(torch.complex(re, im))  # noqa: E731
        z = torch.complex(re, im)
        bare = lambda: torch.fft.fft(z)  # noqa: E731
    else:
        graph = lambda: torch.fft.rfft(re)  # noqa: E731
    peers = [("torch", timed(torch, graph), "cuFFT, eager")]
    if workload == "fft":
        peers.append(("cufft", timed(torch, bare), "torch.fft.fft of a resident c64 tensor"))
    return peers + compiled_peer(torch, graph, workload)


def fftconv_peers(torch, np, workload, dims):
    """M2-BERT's fftconv_ref as PyTorch runs it (eager: one kernel per step; and through
    torch.compile), on the inputs of bench/workloads.cpp: u, k, D, gate v."""
    b, h, length = dims

    def array(n, salt, shape):
        return torch.from_numpy(input_array(np, n, salt).reshape(shape)).to("cuda")

    u = array(b * h * length, 1, (b, h, length))
    k = array(h * length, 2, (h, length))
    d = array(h, 3, (h, 1))
    v = array(b * h * length, 4, (b, h, length))
    size = 2 * length

    def graph():
        kf = torch.fft.rfft(k, n=size) / size
        y = torch.fft.irfft(torch.fft.rfft(u, n=size) * kf, n=size, norm="forward")[..., :length]
        return torch.nn.functional.gelu(y + u * d) * v

    return [("torch", timed(torch, graph), "cuFFT + eager pointwise kernels")] + \
        compiled_peer(torch, graph, workload)


def vkfft_row(args, workload, dims, reps, flops, nbytes):
    """VkFFT's row of a plain transform (fft, rfft), or None when vkfft_peer is not built."""
    binary = os.path.join(os.path.dirname(args.opencl_binary), "vkfft_peer")
    if workload not in ("fft", "rfft") or not os.path.exists(binary):
        return None
    out = subprocess.run([binary, "--workload", workload, "--dims", ",".join(map(str, dims)),
                          "--reps", str(reps)], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"note: vkfft_peer failed on {workload}: {out.stderr.strip()}")
        return None
    r = json.loads(out.stdout.splitlines()[-1])
    return ("vkfft", "opencl", r["seconds"], (r["checksum"], r["weighted_checksum"],
                                             r["magnitude"]), flops, nbytes, r["note"])


def run_gpu(args, np, torch, info, records, failures):
    """The transform workloads on the GPU; returns the targets' verdicts (ratios of this run)."""
    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = 10 if args.quick else 30
    cuda = torch is not None and torch.cuda.is_available()
    times = {}
    for workload, dims in GPU_TRANSFORMS_REDUCED if args.reduced else GPU_TRANSFORMS:
        if wanted and workload not in wanted:
            continue
        rows, note = opencl_rows(args, workload, dims, reps)
        flops, nbytes = rows[0][4], rows[0][5]
        vk = vkfft_row(args, workload, dims, reps, flops, nbytes)
        if vk:
            rows.append(vk)
        if cuda:
            for impl, f, what in torch_peers(torch, np, workload, dims):
                rows.append((impl, "cuda", median_time(f, reps, 3), checksums(f()), flops,
                             nbytes, what))
            torch.cuda.empty_cache()
        for impl, _, t, *_ in rows:
            times[(workload, tuple(dims), impl)] = t
        print_rows(workload, dims, rows, None, note, failures, records, info["device"])

    v = []
    for workload, dims in GPU_TRANSFORMS:
        key = (workload, tuple(dims))
        kiln = times.get(key + ("kiln",))
        peer = times.get(key + ("cufft" if workload == "fft" else "torch",))
        if kiln and peer and len(dims) == 2 and math.log2(dims[1]).is_integer():
            x = peer / kiln
            v.append((f"{workload} {dims[0]}x{dims[1]} >= 0.8x cuFFT (time ratio)", x >= 0.8,
                      f"{x:.2f}x"))
        vk = times.get(key + ("vkfft",))
        size = "x".join(map(str, dims))
        if kiln and vk:
            v.append((f"{workload} {size} vs VkFFT (no target)", True, f"{vk / kiln:.2f}x"))
        eager = times.get(key + ("torch",))
        if kiln and eager and workload.startswith("fftconv"):
            v.append((f"{workload} {size} >= 1.5x PyTorch CUDA eager", eager >= 1.5 * kiln,
                      f"{eager / kiln:.2f}x"))
        elif kiln and eager:
            v.append((f"{workload} {size} vs PyTorch eager (no target)", True,
                      f"{eager / kiln:.2f}x"))
    return v

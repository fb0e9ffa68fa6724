"""bench/m2bert.py: the peers of kiln's m2bert_layer workload (bench/workloads.cpp: one layer of
M2-BERT-80M, kiln::nn::M2BertLayer, on x [batch, length, hidden]): the same layer in PyTorch,
written once for the fixtures of tests/frontend/m2bert_test.cpp
(tests/fixtures/m2bert/make_fixtures.py) and imported from there, eager on the CPU (run_cpu,
which bench/compare.py calls), and eager CUDA and torch.compile on the GPU (run_gpu, which
bench/compare.py --device opencl calls, kiln running through opencl_bench).

Both sides compute on identical data: x is benchlib.input_array(salt 1), then each distinct
tensor of the layer's state_dict in sorted-name order gets the next salt (the sine
frequency a Hyena filter shares across its MLPs is one tensor under all its names), and
matrices (".weight" of rank >= 2) are scaled by 1 / sqrt(their last dimension). Run alone it
times the CPU peer and prints one JSON line per workload, in kiln_bench's form:

  /usr/bin/python3 bench/m2bert.py [--binary build/bench/kiln_bench] [--reps 5] [--reduced]
"""
import argparse
import json
import math
import os
import sys

from benchlib import checksums, input_array, kiln_rows, median_time, run_kiln_bench

HERE = os.path.dirname(os.path.abspath(__file__))

# dims: batch, length, hidden.
M2BERT_WORKLOADS = [("m2bert_layer", [8, 1024, 768]), ("m2bert_layer", [8, 8192, 768])]
M2BERT_WORKLOADS_REDUCED = [("m2bert_layer", [2, 1024, 768])]
NAMES = {w for w, _ in M2BERT_WORKLOADS}
def reference_layers():
    """The PyTorch layers of the fixture script."""
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "fixtures", "m2bert"))
    import make_fixtures

    return make_fixtures


def layer_config(length, hidden):
    """M2-BERT-80M's layer with long_conv_l_max = length (kiln's m2bert_80m_layer)."""
    return {
        "hidden_size": hidden, "intermediate_size": 4 * hidden, "layer_norm_eps": 1e-12,
        "long_conv_l_max": length, "hyena_w": 10, "hyena_w_mod": 1, "hyena_emb_dim": 5,
        "hyena_filter_order": 128, "bidirectional": True, "residual_long_conv": True,
        "use_glu_mlp": True, "use_monarch_mlp": True, "monarch_mlp_nblocks": 4,
    }


def shared_name(name):
    """'...implicit_filter_rev.5.freq' -> '...implicit_filter.1.freq' (kiln's
    m2bert_shared_name)."""
    if not name.endswith(".freq"):
        return name
    return name[:name.index(".implicit_filter")] + ".implicit_filter.1.freq"


def layer_and_input(torch, np, dims):
    """The layer (eval mode, f32, on the CPU) holding the workload's tensors, and x."""
    batch, length, hidden = dims
    layer = reference_layers().BertLayer(layer_config(length, hidden)).eval()
    state = layer.state_dict()
    values, salt = {}, 1
    for name in sorted(state):
        shared = shared_name(name)
        if shared not in values:
            salt += 1
            shape = tuple(state[name].shape)
            v = input_array(np, int(np.prod(shape)), salt).reshape(shape)
            if len(shape) >= 2 and name.endswith(".weight"):
                v = v * np.float32(1 / math.sqrt(shape[-1]))
            values[shared] = torch.from_numpy(v)
        state[name] = values[shared]
    layer.load_state_dict(state)
    x = torch.from_numpy(input_array(np, batch * length * hidden, 1).reshape(batch, length, hidden))
    return layer, x


def torch_cpu(torch, np, dims):
    layer, x = layer_and_input(torch, np, dims)

    def run():
        with torch.no_grad():
            return layer(x)

    return run


def run_cpu(args, np, torch, records, failures):
    """m2bert_layer inside bench/compare (CPU): kiln_bench's kiln and kiln_exec rows and
    PyTorch eager, in one table per size; returns the issue's target (>= 1.5x PyTorch CPU,
    kiln's whole eval) as ratios of this run."""
    from contractions import print_rows

    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = 3 if args.quick else 7
    verdicts = []
    for workload, dims in M2BERT_WORKLOADS_REDUCED if args.reduced else M2BERT_WORKLOADS:
        if wanted and workload not in wanted:
            continue
        rows, _, note = kiln_rows(run_kiln_bench(args.binary, workload, 0, 0, reps, dims=dims))
        flops, nbytes = rows[0][4], rows[0][5]
        if torch is not None:
            f = torch_cpu(torch, np, dims)
            rows.append(("torch", "cpu", median_time(f, reps, 1), checksums(f()), flops, nbytes,
                         f"eager, {torch.get_num_threads()} threads"))
        print_rows(workload, dims, rows, None, note, failures, records, "cpu")
        eager = next((r[2] for r in rows if r[0] == "torch"), None)
        kiln = next((r[2] for r in rows if r[0] == "kiln"), None)
        if eager and kiln:
            x = eager / kiln
            verdicts.append((f"{workload} {'x'.join(map(str, dims))} >= 1.5x PyTorch CPU "
                             f"(kiln eval)", x >= 1.5, f"{x:.2f}x"))
    return verdicts


def torch_gpu_peers(torch, np, dims):
    """[(impl, fn, note)]: the layer in PyTorch CUDA eager and through torch.compile."""
    layer, x = layer_and_input(torch, np, dims)
    layer, x = layer.cuda(), x.cuda()

    def timed(f):
        def run():
            with torch.no_grad():
                y = f(x)
            torch.cuda.synchronize()
            return y
        return run

    peers = [("torch", timed(layer), "eager")]
    try:
        compiled = torch.compile(layer)
        timed(compiled)()
        peers.append(("torch.compile", timed(compiled), "inductor"))
    except Exception as e:  # torch.compile needs Triton and a compiler
        print(f"note: torch.compile failed for m2bert_layer: {e}")
    return peers


def run_gpu(args, np, torch, info, records, failures):
    """m2bert_layer on the GPU: kiln through opencl_bench (data resident on the device),
    PyTorch CUDA eager and torch.compile; returns the target (>= 1x torch.compile) as
    ratios of this run."""
    from contractions import opencl_rows, print_rows

    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = 10 if args.quick else 30
    cuda = torch is not None and torch.cuda.is_available()
    verdicts = []
    for workload, dims in M2BERT_WORKLOADS_REDUCED if args.reduced else M2BERT_WORKLOADS:
        if wanted and workload not in wanted:
            continue
        rows, note = opencl_rows(args, workload, dims, reps)
        flops, nbytes = rows[0][4], rows[0][5]
        if cuda:
            for impl, f, what in torch_gpu_peers(torch, np, dims):
                rows.append((impl, "cuda", median_time(f, reps, 3), checksums(f()), flops,
                             nbytes, what))
            torch.cuda.empty_cache()
        print_rows(workload, dims, rows, None, note, failures, records, info["device"])
        times = {r[0]: r[2] for r in rows}
        size = "x".join(map(str, dims))
        if "kiln" in times and "torch.compile" in times:
            x = times["torch.compile"] / times["kiln"]
            verdicts.append((f"{workload} {size} >= 1x torch.compile", x >= 1, f"{x:.2f}x"))
        if "kiln" in times and "torch" in times:
            x = times["torch"] / times["kiln"]
            verdicts.append((f"{workload} {size} vs PyTorch CUDA eager (no target)", True,
                             f"{x:.2f}x"))
    return verdicts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "bench", "kiln_bench"))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--reduced", action="store_true", help="a smaller size (a quick look)")
    args = ap.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(os.cpu_count())
    ref = None
    for workload, dims in M2BERT_WORKLOADS_REDUCED if args.reduced else M2BERT_WORKLOADS:
        if os.path.exists(args.binary):
            ref = next(r for r in run_kiln_bench(args.binary, workload, 0, 0, args.reps, dims=dims)
                       if r["impl"] == "kiln")
            print(json.dumps(ref))
        f = torch_cpu(torch, np, dims)
        s, w, m = checksums(f())
        row = {"workload": workload, "impl": "torch", "device": "cpu",
               "seconds": median_time(f, args.reps, 1), "checksum": s, "weighted_checksum": w,
               "magnitude": m, "dims": dims}
        if ref:
            row["checksum_ok"] = abs(w - ref["weighted_checksum"]) <= 1e-5 * max(1.0, m)
        print(json.dumps(row))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""bench/bert_peers.py: the PyTorch peers of kiln's bert_base workload (all-MiniLM-L6-v2's
forward pass to normalized sentence embeddings, kiln::nn::BertModel in bench/workloads.cpp):
PyTorch eager on the CPU, and PyTorch CUDA eager and torch.compile on the GPU. bench/compare.py
calls run_cpu and run_gpu; run alone it times the CPU peer beside kiln_bench and prints one
JSON line per implementation:

  python3 bench/bert_peers.py [--binary build/bench/kiln_bench] [--dims 32,128] [--reps 5]

The inputs mirror bench/workloads.cpp's: one tensor per parameter of the model's state_dict
(transformers' names, sorted, without the pooler), tensor j from salt 10 + j; token ids
round((x + 0.5) * 1000) of input_array(salt 1), that is the hash itself; sentence b has
length - (37 b mod length / 2) tokens. The model is written with torch.nn modules, as eager
PyTorch code is; its results are checked against kiln's by the weighted checksum.
"""
import argparse
import json
import os
import sys

from benchlib import checksums, input_array, median_time

HERE = os.path.dirname(os.path.abspath(__file__))

# all-MiniLM-L6-v2's config.json.
MINILM = {"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
          "num_attention_heads": 12, "intermediate_size": 1536,
          "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12}

# (workload, dims: batch, length) on the CPU and the GPU; --reduced: a quick look.
BERT_WORKLOADS = [("bert_base", [32, 128])]
BERT_WORKLOADS_REDUCED = [("bert_base", [8, 128])]
NAMES = {"bert_base"}


def parameter_shapes(c=MINILM):
    """(name, shape) of BertModel's state_dict without the pooler, in kiln's (sorted) order."""
    h, i = c["hidden_size"], c["intermediate_size"]
    shapes = {"embeddings.word_embeddings.weight": (c["vocab_size"], h),
              "embeddings.position_embeddings.weight": (c["max_position_embeddings"], h),
              "embeddings.token_type_embeddings.weight": (c["type_vocab_size"], h),
              "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,)}
    for layer in range(c["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        linears = {"attention.self.query": (h, h), "attention.self.key": (h, h),
                   "attention.self.value": (h, h), "attention.output.dense": (h, h),
                   "intermediate.dense": (i, h), "output.dense": (h, i)}
        for name, shape in linears.items():
            shapes[p + name + ".weight"] = shape
            shapes[p + name + ".bias"] = (shape[0],)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[p + norm + ".weight"] = (h,)
            shapes[p + norm + ".bias"] = (h,)
    return sorted(shapes.items())


def make_model(torch, c=MINILM):
    """all-MiniLM-L6-v2 as torch.nn modules named as transformers names them."""
    nn, f = torch.nn, torch.nn.functional
    h, heads = c["hidden_size"], c["num_attention_heads"]

    class Norm(nn.LayerNorm):
        def __init__(self):
            super().__init__(h, eps=c["layer_norm_eps"])

    class Embeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.word_embeddings = nn.Embedding(c["vocab_size"], h)
            self.position_embeddings = nn.Embedding(c["max_position_embeddings"], h)
            self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], h)
            self.LayerNorm = Norm()

        def forward(self, ids):
            length = ids.shape[1]
            x = (self.word_embeddings(ids) + self.position_embeddings.weight[:length]
                 + self.token_type_embeddings.weight[0])
            return self.LayerNorm(x)

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)

        def forward(self, x, bias):
            n, length, _ = x.shape

            def split(t):
                return t.view(n, length, heads, h // heads).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            scores = q @ k.transpose(-1, -2) / (h // heads) ** 0.5 + bias
            return (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, length, h)

    class Residual(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.dense, self.LayerNorm = nn.Linear(inner, h), Norm()

        def forward(self, x, residual):
            return self.LayerNorm(self.dense(x) + residual)

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.self, self.output = SelfAttention(), Residual(h)

    class Intermediate(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(h, c["intermediate_size"])

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention, self.intermediate = Attention(), Intermediate()
            self.output = Residual(c["intermediate_size"])

        def forward(self, x, bias):
            a = self.attention.output(self.attention.self(x, bias), x)
            return self.output(f.gelu(self.intermediate.dense(a)), a)

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.ModuleList(Layer() for _ in range(c["num_hidden_layers"]))

    class SentenceEmbedder(nn.Module):
        """BertModel, then mean pooling over the mask and L2 normalization."""

        def __init__(self):
            super().__init__()
            self.embeddings, self.encoder = Embeddings(), Encoder()

        def forward(self, ids, mask):
            m = mask.to(torch.float32)
            bias = (1.0 - m[:, None, None, :]) * torch.finfo(torch.float32).min
            x = self.embeddings(ids)
            for layer in self.encoder.layer:
                x = layer(x, bias)
            pooled = (x * m[:, :, None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1e-9)
            return f.normalize(pooled, dim=-1)

    return SentenceEmbedder()


def inputs(np, dims):
    """(weights by name, ids, mask) as numpy arrays, mirroring bench/workloads.cpp."""
    batch, length = dims
    weights = {name: input_array(np, int(np.prod(shape)), 10 + j).reshape(shape)
               for j, (name, shape) in enumerate(parameter_shapes())}
    i = np.arange(batch * length, dtype=np.uint64)
    ids = ((i * np.uint64(2654435761) + np.uint64(40503)) % np.uint64(1000)).astype(np.int64)
    t = np.arange(length)[None, :]
    lengths = length - (37 * np.arange(batch)[:, None]) % (length // 2)
    return weights, ids.reshape(batch, length), (t < lengths).astype(np.int64)


def torch_peer(torch, np, dims, device):
    """The workload in eager PyTorch on `device`: a function returning the embeddings."""
    weights, ids, mask = inputs(np, dims)
    model = make_model(torch)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    model = model.eval().to(device)
    ids_t, mask_t = torch.from_numpy(ids).to(device), torch.from_numpy(mask).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def run(m=model):
        with torch.no_grad():
            y = m(ids_t, mask_t)
        sync()
        return y

    return model, run


def peers(torch, np, dims, device):
    """[(impl, fn, note)]: eager, and on the GPU torch.compile (where it compiles)."""
    model, eager = torch_peer(torch, np, dims, device)
    out = [("torch", eager, f"eager, torch.nn modules, {device}")]
    if device == "cuda":
        try:
            compiled = torch.compile(model)
            eager(compiled)  # compiles
            out.append(("torch.compile", lambda: eager(compiled), "inductor"))
        except Exception as e:  # torch.compile needs Triton and a compiler
            print(f"note: torch.compile failed for bert_base: {e}")
    return out


def run_cpu(args, np, torch, refused, records, failures):
    """bert_base inside bench/compare (CPU): kiln_bench's kiln, kiln_exec and FMA-peak rows
    and PyTorch eager; returns the issue's target (kiln eval >= 1.5x PyTorch CPU) as a
    ratio of this run."""
    from benchlib import kiln_rows, run_kiln_bench
    from contractions import print_rows

    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = 3 if args.quick else 7
    verdicts = []
    if torch is not None and "torch" in refused:
        print("note: torch skipped on bert_base: it runs on the reference BLAS")
        torch = None
    for workload, dims in BERT_WORKLOADS_REDUCED if args.reduced else BERT_WORKLOADS:
        if wanted and workload not in wanted:
            continue
        rows, limit, note = kiln_rows(run_kiln_bench(args.binary, workload, 0, 0, reps, dims=dims))
        flops, nbytes = rows[0][4], rows[0][5]
        if torch is not None:
            for impl, f, what in peers(torch, np, dims, "cpu"):
                rows.append((impl, "cpu", median_time(f, reps, 1), checksums(f()), flops,
                             nbytes, what))
        print_rows(workload, dims, rows, limit, note, failures, records, "cpu")
        times = {r[0]: r[2] for r in rows}
        if "kiln" in times and "torch" in times:
            x = times["torch"] / times["kiln"]
            verdicts.append((f"{workload} {dims[0]}x{dims[1]} >= 1.5x PyTorch CPU (kiln eval)",
                             x >= 1.5, f"{x:.2f}x"))
    return verdicts


def run_gpu(args, np, torch, info, records, failures):
    """bert_base on the GPU (bench/compare --device opencl): kiln's prepared executable
    through opencl_bench, PyTorch CUDA eager and torch.compile (TF32 off: kiln computes in
    f32), side by side; returns the target (kiln >= 1x torch.compile) as a ratio of this run."""
    from contractions import opencl_rows, print_rows

    wanted = set(args.workloads.split(",")) if args.workloads else None
    reps = 10 if args.quick else 30
    cuda = torch is not None and torch.cuda.is_available()  # TF32 off: see compare.py
    verdicts = []
    for workload, dims in BERT_WORKLOADS_REDUCED if args.reduced else BERT_WORKLOADS:
        if wanted and workload not in wanted:
            continue
        rows, note = opencl_rows(args, workload, dims, reps)
        flops, nbytes = rows[0][4], rows[0][5]
        if cuda:
            for impl, f, what in peers(torch, np, dims, "cuda"):
                rows.append((impl, "cuda", median_time(f, reps, 3), checksums(f()), flops,
                             nbytes, what))
            torch.cuda.empty_cache()
        print_rows(workload, dims, rows, None, note, failures, records, info["device"])
        times = {r[0]: r[2] for r in rows}
        if "kiln" in times and "torch.compile" in times:
            x = times["torch.compile"] / times["kiln"]
            verdicts.append((f"{workload} {dims[0]}x{dims[1]} >= 1x torch.compile", x >= 1.0,
                             f"{x:.2f}x"))
        if "kiln" in times and "torch" in times:
            verdicts.append((f"{workload} {dims[0]}x{dims[1]} vs PyTorch CUDA eager (no target)",
                             True, f"{times['torch'] / times['kiln']:.2f}x"))
    return verdicts


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "bench", "kiln_bench"))
    ap.add_argument("--dims", default="32,128", help="batch, length")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()

    import contractions

    # Before NumPy and PyTorch load OpenBLAS, which reads its core type then.
    print("# " + contractions.ensure_openblas_core())
    import numpy as np
    import torch

    from benchlib import run_kiln_bench

    torch.set_num_threads(os.cpu_count())
    lines, refused = contractions.blas_of_peers(np, torch)
    for line in lines:
        print("# " + line)
    if "torch" in refused:
        print("# warning: PyTorch runs on the reference BLAS: its time means little")
    dims = [int(v) for v in args.dims.split(",")]
    records = run_kiln_bench(args.binary, "bert_base", 0, 0, args.reps, dims=dims)
    ref = next(r for r in records if r["impl"] == "kiln")
    status = 0
    for impl, f, what in peers(torch, np, dims, "cpu"):
        t = median_time(f, args.reps, 1)
        s, w, m = checksums(f())
        ok = abs(w - ref["weighted_checksum"]) <= 1e-5 * max(1.0, ref["magnitude"])
        status |= 0 if ok else 1
        records.append({"workload": "bert_base", "impl": impl, "device": "cpu", "seconds": t,
                        "flops": ref["flops"], "bytes": ref["bytes"], "checksum": s,
                        "weighted_checksum": w, "magnitude": m, "dims": dims, "note": what,
                        "checksum_ok": ok})
    for r in records:
        print(json.dumps({k: r[k] for k in ("workload", "impl", "device", "seconds", "checksum",
                                            "weighted_checksum", "magnitude") if k in r}))
    return status


if __name__ == "__main__":
    sys.exit(main())

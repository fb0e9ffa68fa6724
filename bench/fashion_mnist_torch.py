"""The peer of examples/fashion_mnist: the same MLP (784-256-128-10, ReLU), Adam (lr 1e-3),
batch 128 and cross-entropy in PyTorch on the CPU; prints images/s per epoch.

    /usr/bin/python3 bench/fashion_mnist_torch.py [--epochs 2] [--data DIR]
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--device", default="cpu", help="cpu, or cuda for PyTorch CUDA eager")
    a = p.parse_args()
    torch.set_num_threads(os.cpu_count())  # as kiln's thread pool
    dev = torch.device(a.device)
    x = torch.tensor(read_idx(a.data + "/train-images-idx3-ubyte.gz").reshape(-1, 784),
                     dtype=torch.float32, device=dev) / 255
    y = torch.tensor(read_idx(a.data + "/train-labels-idx1-ubyte.gz"), dtype=torch.int64,
                     device=dev)
    print(f"torch {torch.__version__} on {a.device}, {torch.get_num_threads()} threads")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 128
    steps = x.shape[0] // batch
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(x.shape[0], device=dev)
        start = time.perf_counter()
        total = 0.0
        for s in range(steps):
            idx = order[s * batch:(s + 1) * batch]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        secs = time.perf_counter() - start
        print(f"epoch {epoch}: loss {total / steps:.4f}, {steps * batch / secs:.0f} images/s")


if __name__ == "__main__":
    main()

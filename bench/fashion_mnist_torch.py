"""The peer of examples/fashion_mnist: the same models in PyTorch, with the same
initialisation scheme (PyTorch's defaults, which kiln's follow), optimizer (Adam, lr 1e-3),
learning-rate schedule, batch (128) and cross-entropy; prints images/s per epoch and, with
--test, the test accuracy.

    --model mlp   784-256-128-10, ReLU
    --model cnn   conv 3x3 32 (padding 1), ReLU, max-pool 2, conv 3x3 64 (padding 1), ReLU,
                  max-pool 2, linear 3136-128, ReLU, linear 128-10

    /usr/bin/python3 bench/fashion_mnist_torch.py [--model mlp|cnn] [--epochs 2]
        [--schedule constant|cosine] [--threads N] [--test] [--train-limit N] [--data DIR]
        [--device cpu|cuda]
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


def load(data, prefix, dev, image):
    x = read_idx(f"{data}/{prefix}-images-idx3-ubyte.gz").reshape(-1, *image)
    y = read_idx(f"{data}/{prefix}-labels-idx1-ubyte.gz")
    return (torch.tensor(x, dtype=torch.float32, device=dev) / 255,
            torch.tensor(y, dtype=torch.int64, device=dev))


def model_of(name):
    nn = torch.nn
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=["mlp", "cnn"], default="mlp")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant",
                   help="cosine: from the rate down to 0 over all the run's steps")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="torch's threads (default: every core, as kiln's thread pool)")
    p.add_argument("--test", action="store_true", help="evaluate the test set at the end")
    p.add_argument("--train-limit", type=int, default=0,
                   help="train on the first N images (0: all 60,000), as kiln's --train-limit")
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--device", default="cpu", help="cpu, or cuda for PyTorch CUDA eager")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    image = (784,) if a.model == "mlp" else (1, 28, 28)
    x, y = load(a.data, "train", dev, image)
    if a.train_limit > 0:
        x, y = x[:a.train_limit], y[:a.train_limit]
    print(f"torch {torch.__version__} on {a.device}, {torch.get_num_threads()} threads; "
          f"MKL {torch.backends.mkl.is_available()}, oneDNN {torch.backends.mkldnn.is_available()}")
    for line in torch.__config__.show().splitlines():
        line = line.strip()
        if line.startswith("- Build settings:"):
            # One long line: only the items that say which BLAS and threads it uses.
            items = line[len("- Build settings:"):].split(",")
            print("  " + ", ".join(i.strip() for i in items if i.strip().startswith(
                ("BLAS_INFO", "LAPACK_INFO", "USE_MKLDNN", "USE_OPENMP"))))
        elif any(k in line for k in ("MKL", "oneDNN", "OpenMP", "CPU capability")):
            print("  " + line)
    torch.manual_seed(0)
    model = model_of(a.model).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 128
    steps = x.shape[0] // batch
    # Stepped after every update, as kiln's cosine_lr reads the update count.
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps * a.epochs, eta_min=0)
             if a.schedule == "cosine" else None)
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
            if sched:
                sched.step()
            total += loss.item()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        secs = time.perf_counter() - start
        print(f"epoch {epoch}: loss {total / steps:.4f}, {steps * batch / secs:.0f} images/s, "
              f"{secs:.1f} s", flush=True)
    if a.test:
        tx, ty = load(a.data, "t10k", dev, image)
        with torch.no_grad():
            correct = sum((model(tx[i:i + 1000]).argmax(1) == ty[i:i + 1000]).sum().item()
                          for i in range(0, tx.shape[0], 1000))
        print(f"test accuracy {correct / tx.shape[0]:.4f}")


if __name__ == "__main__":
    main()

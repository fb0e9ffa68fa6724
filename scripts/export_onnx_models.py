"""Exports the PyTorch models kiln's ONNX import is checked and measured on.

    /usr/bin/python3 scripts/export_onnx_models.py            # the test fixtures
    /usr/bin/python3 scripts/export_onnx_models.py --bench DIR  # the benchmark models

Fixtures (tests/fixtures/onnx/<model>/, read by tests/onnx/models_test.cpp) follow the
layout of ONNX's own test cases: model.onnx and test_data_set_0/input_<i>.pb and
output_<i>.pb, serialized TensorProtos of fixed inputs and of PyTorch's outputs for them.

  fashion_mnist_cnn  the CNN of examples/fashion_mnist (--model cnn: conv 3x3 (padding 1),
                     ReLU, max-pool 2, twice, then linear, ReLU, linear), opset 17; the
                     fixture narrows it (8 and 16 channels, 32 hidden) to stay small
  transformer_block  nn.TransformerEncoderLayer(d_model 64, 4 heads, feed-forward 128,
                     batch_first), eval mode, opset 13 (layer norm as its primitive ops)

--bench writes the same architectures at the sizes bench/ measures (kiln_bench's
onnx_cnn and onnx_transformer workloads, onnxruntime in bench/compare): the full CNN
(32 and 64 channels, 128 hidden) at batch 64, and the block with PyTorch's default
feed-forward width (2048) at batch 8 x sequence 128, as DIR/onnx_cnn.onnx and
DIR/onnx_transformer.onnx.

Weights and inputs come from fixed seeds, so reruns write the same values.
"""
import argparse
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cnn(c1, c2, hidden):
    return nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def transformer(feed_forward):
    return nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=feed_forward,
                                      dropout=0.0, batch_first=True)


# name -> (model, input shape, opset), fixture and bench sizes.
FIXTURES = {
    "fashion_mnist_cnn": (lambda: cnn(8, 16, 32), (2, 1, 28, 28), 17),
    "transformer_block": (lambda: transformer(128), (2, 8, 64), 13),
}
BENCH = {
    "onnx_cnn": (lambda: cnn(32, 64, 128), (64, 1, 28, 28), 17),
    "onnx_transformer": (lambda: transformer(2048), (8, 128, 64), 13),
}


def build(make, shape, seed):
    torch.manual_seed(seed)
    model = make().eval()
    x = torch.randn(*shape)
    return model, x


def export(model, x, opset, path):
    # Grad stays enabled while tracing: an encoder layer in eval mode under no_grad would
    # take PyTorch's fused fast path, which has no ONNX form.
    torch.onnx.export(model, (x,), path, opset_version=opset, input_names=["input"],
                      output_names=["output"], do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def write_fixture(name, make, shape, opset, out_dir):
    model, x = build(make, shape, seed=15)
    case = os.path.join(out_dir, name)
    data = os.path.join(case, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    export(model, x, opset, os.path.join(case, "model.onnx"))
    with torch.no_grad():
        y = model(x)
    for kind, value in (("input", x), ("output", y)):
        tensor = numpy_helper.from_array(value.numpy().astype(np.float32), kind)
        with open(os.path.join(data, kind + "_0.pb"), "wb") as f:
            f.write(tensor.SerializeToString())
    ops = sorted({n.op_type for n in onnx.load(os.path.join(case, "model.onnx")).graph.node})
    print(f"{case}: opset {opset}, input {list(shape)}, ops {' '.join(ops)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "onnx"),
                   help="where the fixtures go (default: tests/fixtures/onnx)")
    p.add_argument("--bench", metavar="DIR", help="write the benchmark models to DIR instead")
    args = p.parse_args()
    torch.set_num_threads(1)  # the same sums on every machine
    if args.bench:
        os.makedirs(args.bench, exist_ok=True)
        for name, (make, shape, opset) in BENCH.items():
            model, x = build(make, shape, seed=15)
            path = os.path.join(args.bench, name + ".onnx")
            export(model, x, opset, path)
            print(f"{path}: opset {opset}, input {list(shape)}")
        return
    for name, (make, shape, opset) in FIXTURES.items():
        write_fixture(name, make, shape, opset, args.out)


if __name__ == "__main__":
    main()

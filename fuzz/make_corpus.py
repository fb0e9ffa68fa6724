#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) and dictionaries
(fuzz/dict/<target>.dict) from the repository: IR functions from the pass tests chosen to
cover every op, small .npy and safetensors files built here byte by byte, and the IR
keywords and op names of ir/ops.def, and small ONNX models (built with the `onnx` package,
and one exported with PyTorch: run it with /usr/bin/python3, which has both; without them
the onnx corpus is left as it is). Run it again after the IR or the formats change;
the output is deterministic. Readers' findings go to corpus/<target>/regress-* by hand
and are kept."""
import json
import pathlib
import re
import shutil
import struct
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
DATA_SEPARATOR = b"\n//==== kiln-fuzz: data file follows ====\n"  # as in ir_file.cpp
DTYPES = ["bool", "i8", "u8", "i32", "i64", "f16", "bf16", "f32", "f64", "c64"]


def ops():
    """(name, attribute names) of every row of ir/ops.def."""
    rows = re.findall(r'^KILN_OP\(\w+, "(\w+)",.*"([^"]*)"\)$',
                      (ROOT / "ir/ops.def").read_text(), re.M)
    return [(name, [a.split(":")[0] for a in attrs.split(",") if a]) for name, attrs in rows]


def functions():
    """Every function of the IR pass tests and tool goldens, without CHECK lines."""
    for path in sorted(ROOT.glob("tests/**/*.kir")):
        for case in path.read_text().split("// -----"):
            body = [line for line in case.splitlines() if not line.startswith("//")]
            text = "\n".join(body).strip()
            if text.startswith("func"):
                yield text + "\n"


def ir_seeds():
    """Functions covering every op, fewest first, plus hand-written edge cases."""
    names = [name for name, _ in ops()]
    # custom and gather have seeds of their own below.
    uncovered = set(names) - {"parameter", "custom", "gather"}
    seeds = {}
    candidates = sorted(set(functions()), key=len)
    for text in candidates:
        used = {n for n in uncovered if re.search(r"= %s\b" % re.escape(n), text)}
        if used and len(text) < 2000:
            seeds["ops-" + "-".join(sorted(used))[:40]] = text
            uncovered -= used
    seeds["ops-rest"] = rest_of_ops(sorted(uncovered))
    seeds.update({
        "empty": "func @f() -> () {\n  return\n}\n",
        "comments": "// a comment\nfunc @f(%x: f32[]) -> (f32[]) { // trailing\n  return %x\n}\n",
        "constants": "\n".join([
            "func @c() -> (bool[2], i8[2], u8[], i32[2,2], i64[1], f16[2], bf16[2], f32[3],"
            " f64[2], c64[2], f32[0,3], f32[4]) {",
            "  %0 = constant dense<[true, false]> : bool[2]",
            "  %1 = constant dense<[-128, 127]> : i8[2]",
            "  %2 = constant dense<255> : u8[]",
            "  %3 = constant dense<[[-2147483648, 2147483647], [0, 1]]> : i32[2,2]",
            "  %4 = constant dense<[-9223372036854775808]> : i64[1]",
            "  %5 = constant dense<[65504.0, 0x7c01]> : f16[2]",
            "  %6 = constant dense<[1.0e38, -nan]> : bf16[2]",
            "  %7 = constant dense<[inf, -inf, 2.5e-08]> : f32[3]",
            "  %8 = constant dense<[1.7976931348623157e+308, 0x7ff8000000000001]> : f64[2]",
            "  %9 = constant dense<[(1.0, -2.0), (nan, inf)]> : c64[2]",
            "  %10 = constant dense<[]> : f32[0,3]",
            "  %11 = constant dense<0.5> : f32[4]",
            "  return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11",
            "}\n"]),
        "attrs": "\n".join([
            "func @a(%x: f32[2,3], %i: i64[2,3]) -> (f32[3,2], f32[2,3], f32[2,3]) {",
            "  %0 = permute %x {perm = [1, 0]} : f32[3,2]",
            "  %1 = pad %x {low = [0, 0], high = [0, 0], value = -inf} : f32[2,3]",
            "  %2 = gather %x, %i {axis = 1} : f32[2,3]",
            "  return %0, %1, %2",
            "}\n"]),
        "custom": "\n".join([
            "func @k(%x: f32[4]) -> (f32[4]) {",
            '  %0 = custom %x {name = "twice", source = "__kernel void twice(\\"\\x41\\t\\n\\\\)",'
            ' inputs = "x", outputs = "y", output = 0, types = "f32[4]", grid = [4],'
            ' local = [], params = ""} : f32[4]',
            "  return %0",
            "}\n"]),
        "rank8": "func @r(%x: f32[1,1,1,1,1,1,1,1]) -> (f32[]) {\n"
                 "  %0 = reshape %x : f32[]\n  return %0\n}\n",
    })
    return {name: text.encode() for name, text in seeds.items()}


def rest_of_ops(names):
    """One function applying each op in `names` to f32 (bool results for the predicates)."""
    info = dict(ops())
    lines, results = [], []
    for name in names:
        if info[name] == ["axes", "keepdims"]:
            line = "%%%d = %s %%x {axes = [0], keepdims = false} : i64[]" % (len(lines), name)
        elif info[name] == ["axis"]:
            line = "%%%d = %s %%x {axis = 0} : f32[2]" % (len(lines), name)
        elif name in ("ne", "le", "gt", "lt", "ge", "eq"):
            line = "%%%d = %s %%x, %%x : bool[2]" % (len(lines), name)
        elif name in ("or", "xor", "and"):
            line = "%%%d = %s %%b, %%b : bool[2]" % (len(lines), name)
        elif name in ("isnan", "isinf"):
            line = "%%%d = %s %%x : bool[2]" % (len(lines), name)
        elif name in ("pow", "mod", "atan2", "add", "sub", "mul", "div", "max", "min"):
            line = "%%%d = %s %%x, %%x : f32[2]" % (len(lines), name)
        else:
            line = "%%%d = %s %%x : f32[2]" % (len(lines), name)
        results.append((len(lines), line.rsplit(" : ", 1)[1]))
        lines.append("  " + line)
    signature = ", ".join(t for _, t in results)
    returned = ", ".join("%%%d" % i for i, _ in results)
    return "func @rest(%%x: f32[2], %%b: bool[2]) -> (%s) {\n%s\n  return %s\n}\n" % (
        signature, "\n".join(lines), returned)


def npy(descr, shape, payload, version=1, fortran=False, pad=True):
    shape_text = "(" + "".join("%d, " % d for d in shape).rstrip(" ")
    shape_text = (shape_text[:-1] if len(shape) > 1 else shape_text) + ")"
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_text)
    length_format = "<H" if version == 1 else "<I"
    prefix = 8 + struct.calcsize(length_format)
    if pad:
        header += " " * ((64 - (prefix + len(header) + 1) % 64) % 64)
    header += "\n"
    return (b"\x93NUMPY" + bytes([version, 0]) + struct.pack(length_format, len(header)) +
            header.encode() + payload)


def npy_seeds():
    return {
        "f32-2x3": npy("<f4", (2, 3), struct.pack("<6f", 1, 2, 3, 4, 5, 6)),
        "f64-big-endian": npy(">f8", (2,), struct.pack(">2d", 1.5, -0.0)),
        "i32-fortran": npy("<i4", (2, 3), struct.pack("<6i", 1, 4, 2, 5, 3, 6), fortran=True),
        "bool": npy("|b1", (3,), b"\x01\x00\x01"),
        "u8-scalar": npy("|u1", (), b"\xff"),
        "i8-v2": npy("|i1", (2,), b"\x80\x7f", version=2),
        "i64-v3": npy("<i8", (1,), struct.pack("<q", -1), version=3),
        "f16": npy("<f2", (2,), b"\x00\x3c\x00\x7c"),
        "c64-big-endian": npy(">c8", (1,), struct.pack(">2f", 1, -1)),
        "empty-0x3": npy("<f4", (0, 3), b""),
        "unpadded": npy("<f4", (1,), struct.pack("<f", 7), pad=False),
    }


def safetensors(tensors, metadata=None, pad=True):
    """tensors: (name, dtype, shape, payload) in data order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    return {
        "f32-metadata": safetensors([("w", "F32", (2, 2), struct.pack("<4f", 1, 2, 3, 4))],
                                    {"format": "pt"}),
        "dtypes": safetensors([
            ("b", "BOOL", (2,), b"\x00\x01"), ("u", "U8", (1,), b"\x07"),
            ("i", "I8", (1,), b"\xff"), ("h", "F16", (1,), b"\x00\x3c"),
            ("bf", "BF16", (1,), b"\x80\x3f"), ("n", "I32", (1,), struct.pack("<i", -5)),
            ("d", "F64", (1,), struct.pack("<d", 0.25)), ("l", "I64", (1,), struct.pack("<q", 9)),
            ("z", "C64", (1,), struct.pack("<2f", 1, 2))]),
        "unsupported-u16": safetensors([("x", "U16", (2,), b"\x01\x00\x02\x00")]),
        "zero-size": safetensors([("e", "F32", (0, 4), b""), ("s", "F32", (), b"\0\0\x80\x3f")]),
        "empty": safetensors([]),
        "unpadded": safetensors([("x", "I32", (1,), b"\1\0\0\0")], pad=False),
    }


def ir_file_seeds():
    weights = safetensors([("data0", "F32", (2, 2), struct.pack("<4f", 1, 2, 3, 4))],
                          {"format": "kiln-ir-data"})
    with_data = ("// kiln IR (kiln::save_ir); constants above 1 elements are in the data file"
                 " below.\n// data: model.kir.data\n"
                 "func @main(%x: f32[2,2], %data0: f32[2,2]) -> (f32[2,2]) {\n"
                 "  %0 = matmul %x, %data0 : f32[2,2]\n  return %0\n}\n").encode()
    inline = ("// kiln IR (kiln::save_ir).\n"
              "func @main(%x: f32[3]) -> (f32[3]) {\n"
              "  %0 = constant dense<[1.0, 2.0, 3.0]> : f32[3]\n"
              "  %1 = add %x, %0 : f32[3]\n  return %1\n}\n").encode()
    return {
        "with-data": with_data + DATA_SEPARATOR + weights,
        "inline": inline,
        "missing-data": with_data,
    }


def checkpoint_seeds():
    """The checkpoint target's first byte picks the mode (fuzz/checkpoint.cpp): 0 and a
    whole file (fixtures of tests/fixtures/checkpoints/, written there with torch), 1 and a
    data.pkl alone (3: read as big-endian)."""
    fixtures = ROOT / "tests/fixtures/checkpoints"
    seeds = {}
    for name in ["plain.pt", "views.pt", "malicious.pt", "compressed.npz"]:
        seeds["file-" + name] = b"\x00" + (fixtures / name).read_bytes()
    for name in ["plain", "views", "composer", "dtypes", "protocol4"]:
        with zipfile.ZipFile(fixtures / (name + ".pt")) as z:
            seeds["pickle-" + name] = b"\x01" + z.read(name + "/data.pkl")
    seeds["pickle-views-big"] = b"\x03" + seeds["pickle-views"][1:]
    return seeds


CHECKPOINT_WORDS = ["PK\x03\x04", "PK\x01\x02", "PK\x05\x06", "archive/data.pkl",
                    "archive/data/0", "archive/byteorder", "archive/constants.pkl", "big",
                    "little", ".npy", "\x93NUMPY", "storage", "cpu", "cuda:0",
                    "ctorch._utils\n_rebuild_tensor_v2\n", "ctorch._utils\n_rebuild_parameter\n",
                    "ccollections\nOrderedDict\n", "cbuiltins\nexec\n", "state_dict", "state",
                    "model", "module."]
CHECKPOINT_WORDS += ["ctorch\n%sStorage\n" % t for t in [
    "Float", "Half", "BFloat16", "Double", "Long", "Int", "Short", "Char", "Byte", "Bool",
    "ComplexFloat", "ComplexDouble"]]


def onnx_seeds():
    """Small models (under the 8 KB that scripts/fuzz.sh lets an input have) over the
    importer's paths: initializers in each storage (typed fields, raw_data, external data
    in the weights.bin that fuzz/onnx.cpp writes), attributes that became inputs across
    opsets, shape subgraphs folded at import, Constant nodes, and an encoder block
    exported by PyTorch. None when the onnx package is missing."""
    try:
        import numpy as np
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    f32 = TensorProto.FLOAT

    def model(nodes, inputs, outputs, opset, inits=()):
        ins = [helper.make_tensor_value_info(n, f32, s) for n, s in inputs]
        outs = [helper.make_tensor_value_info(n, f32, None) for n in outputs]
        g = helper.make_graph(nodes, "g", ins, outs, initializer=list(inits))
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        return m.SerializeToString()

    def ints(name, values):
        return numpy_helper.from_array(np.array(values, dtype=np.int64), name)

    n = helper.make_node
    seeds = {
        "add-relu": model([n("Add", ["x", "b"], ["s"]), n("Relu", ["s"], ["y"])],
                          [("x", [2, 3])], ["y"], 13,
                          [helper.make_tensor("b", f32, [3], [1.0, -2.0, 3.0])]),
        "raw-data": model([n("Mul", ["x", "w"], ["y"])], [("x", [4, 5])], ["y"], 7,
                          [numpy_helper.from_array(np.arange(20, dtype=np.float32)
                                                   .reshape(4, 5), "w")]),
        "shape-subgraph": model(
            [n("Shape", ["x"], ["s"]), n("Gather", ["s", "i"], ["d"], axis=0),
             n("Concat", ["d", "m"], ["t"], axis=0), n("Reshape", ["x", "t"], ["y"])],
            [("x", [2, 3, 4])], ["y"], 13, [ints("i", [0]), ints("m", [-1])]),
        "slice-squeeze": model(
            [n("Slice", ["x", "st", "en", "ax"], ["s"]), n("Squeeze", ["s"], ["q"], axes=[0]),
             n("Unsqueeze", ["q"], ["y"], axes=[1])],
            [("x", [3, 4])], ["y"], 11, [ints("st", [1]), ints("en", [2]), ints("ax", [0])]),
        "conv-pool": model(
            [n("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1]),
             n("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             n("Flatten", ["p"], ["f"]), n("Gemm", ["f", "fw"], ["y"], transB=1)],
            [("x", [1, 1, 4, 4])], ["y"], 11,
            [helper.make_tensor("w", f32, [2, 1, 3, 3], [0.1 * i for i in range(18)]),
             helper.make_tensor("b", f32, [2], [0.5, -0.5]),
             helper.make_tensor("fw", f32, [3, 8], [0.01 * i for i in range(24)])]),
        "attributes": model(
            [n("Transpose", ["x"], ["t"], perm=[1, 0]), n("Softmax", ["t"], ["s"], axis=-1),
             n("Clip", ["s", "lo", "hi"], ["c"]), n("ReduceMean", ["c"], ["r"], axes=[1]),
             n("Cast", ["r"], ["y"], to=f32)],
            [("x", [2, 3])], ["y"], 13,
            [helper.make_tensor("lo", f32, [], [0.1]), helper.make_tensor("hi", f32, [], [0.9])]),
        "constants": model(
            [n("Constant", [], ["c"], value=helper.make_tensor("v", f32, [2], [1.0, 2.0])),
             n("ConstantOfShape", ["shape"], ["z"],
               value=helper.make_tensor("v", f32, [1], [3.0])),
             n("Add", ["c", "z"], ["y"])],
            [], ["y"], 9, [ints("shape", [2])]),
        "dynamic-input": model([n("Neg", ["x"], ["y"])], [("x", ["N", 3])], ["y"], 13),
    }
    ext = TensorProto(name="w", data_type=f32, dims=[4])
    ext.data_location = TensorProto.EXTERNAL
    for key, value in [("location", "weights.bin"), ("offset", "16"), ("length", "16")]:
        ext.external_data.add(key=key, value=value)
    seeds["external-data"] = model([n("Sub", ["x", "w"], ["y"])], [("x", [4])], ["y"], 13,
                                   [ext])
    try:
        import io
        import torch
        torch.manual_seed(0)
        block = torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=4, dropout=0.0,
                                                 batch_first=True).eval()
        out = io.BytesIO()
        torch.onnx.export(block, (torch.randn(1, 3, 4),), out, opset_version=13)
        seeds["torch-encoder"] = out.getvalue()
    except ImportError:
        pass
    for name, data in seeds.items():
        assert len(data) <= 8192, (name, len(data))
    return seeds


ONNX_WORDS = ["Add", "Sub", "Mul", "Div", "Relu", "Conv", "MaxPool", "Gemm", "MatMul",
              "Reshape", "Shape", "Gather", "Concat", "Slice", "Squeeze", "Unsqueeze",
              "Transpose", "Softmax", "Clip", "Cast", "ReduceMean", "Constant",
              "ConstantOfShape", "LayerNormalization", "Split", "Resize", "axis", "axes",
              "perm", "pads", "strides", "kernel_shape", "dilations", "group", "value", "to",
              "keepdims", "transA", "transB", "location", "offset", "length", "weights.bin",
              "ai.onnx.ml"]


def dictionary(words):
    out = []
    for w in sorted(set(words)):
        escaped = "".join(c if 0x20 <= ord(c) < 0x7f and c not in '"\\' else "\\x%02x" % ord(c)
                          for c in w)
        out.append('"%s"' % escaped)
    return "\n".join(out) + "\n"


def ir_words():
    words = ["func", "return", "dense", "true", "false", "inf", "nan", "-inf", "-nan", "->",
             "@main", "%0", "%x", " = ", " : ", "{", "}", "<", ">", "[", "]", "(", ")", "0x",
             "e+308", "// ", "\\x", "\\\""]
    for name, attrs in ops():
        words.append(name)
        words += ["%s = " % a for a in attrs]
    words += ["%s[" % d for d in DTYPES]
    return words


def main():
    corpora = {"ir_parser": ir_seeds(), "npy": npy_seeds(),
               "safetensors": safetensors_seeds(), "ir_file": ir_file_seeds(),
               "checkpoint": checkpoint_seeds()}
    onnx = onnx_seeds()
    if onnx is not None:
        corpora["onnx"] = onnx
    for target, seeds in corpora.items():
        folder = FUZZ / "corpus" / target
        if folder.exists():
            for old in folder.iterdir():
                if not old.name.startswith("regress-"):
                    old.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in seeds.items():
            (folder / name).write_bytes(data)
    st_words = ["dtype", "shape", "data_offsets", "__metadata__", "format", "{", "}", "[",
                "]", ":", ",", "\"", "\\u0000", "18446744073709551615", "-1", "1e400",
                "true", "null", "\x00" * 8]
    st_words += ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64",
                 "I64", "U64", "C64", "F8_E5M2", "F8_E4M3"]
    npy_words = ["\x93NUMPY", "'descr'", "'fortran_order'", "'shape'", "True", "False",
                 "<f4", ">f8", "|b1", "|u1", "|i1", "<i4", "<i8", "<f2", "<c8", "<u2", "=f4",
                 "(", ")", ",", "{", "}", ": ", "9223372036854775807"]
    (FUZZ / "dict").mkdir(exist_ok=True)
    (FUZZ / "dict/ir_parser.dict").write_text(dictionary(ir_words()))
    (FUZZ / "dict/ir_file.dict").write_text(dictionary(
        ir_words() + st_words + ["// data: ", "model.kir.data",
                                 DATA_SEPARATOR.decode()]))
    (FUZZ / "dict/npy.dict").write_text(dictionary(npy_words))
    (FUZZ / "dict/safetensors.dict").write_text(dictionary(st_words))
    (FUZZ / "dict/checkpoint.dict").write_text(dictionary(CHECKPOINT_WORDS))
    (FUZZ / "dict/onnx.dict").write_text(dictionary(ONNX_WORDS))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark models for medtriage: real ImageNet architectures with seeded random weights.

    .venv/bin/python scripts/make_bench_models.py OUT_DIR [--resnet50] [--seed 0]

The `onnx` wheel ships "light" versions of a few model-zoo networks
(onnx/backend/test/data/light/light_*.onnx): the real graphs (opset 9, ir_version 3), whose
weights are not stored but generated at run time by ConstantOfShape nodes filling every tensor
with 0.02 (a handful of biases / BatchNorm parameters are stored as initializers). Such a
network computes the same value for every pixel and class, so this script replaces every
float weight (ConstantOfShape output or float initializer) by a seeded random tensor, chosen by
what consumes it so activations keep a sensible scale through the depth:

  Conv / Gemm weight    normal * sqrt(2 / fan_in)       (He)
  Conv / Gemm bias      normal * 0.05
  BatchNorm scale       1 + normal * 0.05   (0.3x that on the last BN of a ResNet branch)
  BatchNorm bias, mean  normal * 0.05
  BatchNorm variance    uniform(0.8, 1.2)

The ConstantOfShape nodes and their shape initializers are removed, initializers are no
longer listed as graph inputs (so the model has exactly one input) and ir_version becomes 8
(the opset, 9, is kept). Integer initializers (Reshape shapes) are kept as they are.

For each model NAME it writes:
  OUT_DIR/NAME.onnx          the model
  OUT_DIR/NAME.json          its medtriage manifest
  OUT_DIR/NAME_golden.json   onnxruntime output for a reproducible input tensor
  OUT_DIR/NAME_input.bin     that input tensor, raw little-endian f32, NCHW

The input tensor is made by splitmix64 so Rust can rebuild it without numpy: for element i
(0-based, NCHW order), state = seed + (i + 1) * 0x9E3779B97F4A7C15 (mod 2^64), z = state,
z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9, z = (z ^ (z >> 27)) * 0x94D049BB133111EB,
z = z ^ (z >> 31) (all mod 2^64), x = (z >> 40) / 2^24 * 4 - 2 (exact in f32, in [-2, 2)).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, numpy_helper

ONNX_VERSION = "1.23.2"
MODELS = {
    "squeezenet": "light_squeezenet.onnx",
    "shufflenet": "light_shufflenet.onnx",
    "inception_v1": "light_inception_v1.onnx",
    "densenet121": "light_densenet121.onnx",
    "resnet50": "light_resnet50.onnx",
}
# the spread of the logits after taming (see tame_logits): a few units, so probabilities are
# neither uniform nor one-hot, as a trained classifier's
LOGIT_STD = 2.0
INPUT_SEED = 12345


def light_model_bytes(filename):
    """The light model from the installed onnx wheel, or from a downloaded wheel if missing."""
    d = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"
    if (d / filename).exists():
        return (d / filename).read_bytes(), str(d / filename)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        f"onnx=={ONNX_VERSION}", "-d", tmp], check=True)
        whl = next(Path(tmp).glob("onnx-*.whl"))
        with zipfile.ZipFile(whl) as z:
            name = f"onnx/backend/test/data/light/{filename}"
            return z.read(name), f"{whl.name}:{name}"


def randomize(model, seed):
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consumers = defaultdict(list)  # tensor name -> [(node, input index)]
    for n in g.node:
        for k, name in enumerate(n.input):
            consumers[name].append((n, k))

    # which tensors are weights to generate, and their shapes
    shapes = {}
    cos_nodes = []
    for n in g.node:
        if n.op_type == "ConstantOfShape" and n.input[0] in inits:
            shapes[n.output[0]] = [int(v) for v in numpy_helper.to_array(inits[n.input[0]])]
            cos_nodes.append(n)
    for name, t in inits.items():
        if t.data_type == TensorProto.FLOAT and name not in shapes:
            shapes[name] = list(t.dims)

    # last BatchNorm of each residual branch (its output feeds a Sum / Add through Relu-free path)
    residual_bn = set()
    for n in g.node:
        if n.op_type in ("Sum", "Add"):
            for inp in n.input:
                for p in g.node:
                    if inp in p.output and p.op_type == "BatchNormalization":
                        residual_bn.add(p.output[0])

    rng = np.random.default_rng(seed)
    new = {}
    for name in sorted(shapes):  # sorted: independent of graph order quirks
        shape = shapes[name]
        uses = consumers.get(name, [])
        if not uses:
            continue  # unused (e.g. a stray blob): dropped
        node, k = uses[0]
        op = node.op_type
        if op in ("Conv", "Gemm") and k == 1:
            if op == "Conv":
                fan_in = int(np.prod(shape[1:]))
            else:
                trans_b = any(a.name == "transB" and a.i == 1 for a in node.attribute)
                fan_in = shape[1] if trans_b else shape[0]
            a = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        elif op == "BatchNormalization" and k == 1:
            s = 0.3 if node.output[0] in residual_bn else 1.0
            a = s * (1.0 + rng.standard_normal(shape) * 0.05)
        elif op == "BatchNormalization" and k == 4:
            a = rng.uniform(0.8, 1.2, size=shape)
        else:  # biases, BN bias and mean
            a = rng.standard_normal(shape) * 0.05
        new[name] = numpy_helper.from_array(a.astype(np.float32), name)

    # rebuild the graph: no ConstantOfShape weight generators, no shape / replaced initializers
    drop_nodes = {id(n) for n in cos_nodes}
    keep_nodes = [n for n in g.node if id(n) not in drop_nodes]
    cos_shape_inputs = {n.input[0] for n in cos_nodes}
    kept_inits = [t for t in g.initializer
                  if t.name not in shapes and t.name not in cos_shape_inputs
                  and consumers.get(t.name)]
    del g.node[:]
    g.node.extend(keep_nodes)
    del g.initializer[:]
    g.initializer.extend(kept_inits + [new[k] for k in sorted(new)])
    all_inits = {t.name for t in g.initializer} | set(shapes) | cos_shape_inputs
    real_inputs = [i for i in g.input if i.name not in all_inits]
    del g.input[:]
    g.input.extend(real_inputs)
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def tame_logits(model, x):
    """Scale the last Conv/Gemm (weight and bias) so the logits' standard deviation on `x` is
    LOGIT_STD. Everything after that layer in these graphs (Relu, pooling, reshape, Softmax's
    input) is positively homogeneous, so the logits scale by the same factor; random He
    weights otherwise give logits of hundreds, and one-hot probabilities."""
    g = model.graph
    last = g.node[-1]
    logits_name = last.input[0] if last.op_type == "Softmax" else g.output[0].name
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    if logits_name != g.output[0].name:
        probe.graph.output.append(onnx.helper.make_tensor_value_info(logits_name, TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(probe.SerializeToString(), so, providers=["CPUExecutionProvider"])
    z = sess.run([logits_name], {g.input[0].name: x})[0].astype(np.float64).ravel()
    f = LOGIT_STD / max(float(z.std()), 1e-12)
    head = next(n for n in reversed(g.node) if n.op_type in ("Conv", "Gemm"))
    inits = {t.name: t for t in g.initializer}
    for name in head.input[1:3]:
        if name in inits:
            a = numpy_helper.to_array(inits[name]).astype(np.float64) * f
            inits[name].CopyFrom(numpy_helper.from_array(a.astype(np.float32), name))
    return f


def splitmix_input(shape, seed):
    n = int(np.prod(shape))
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(seed) + i * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(40)).astype(np.float32) / np.float32(1 << 24)
    return (u * np.float32(4.0) - np.float32(2.0)).reshape(shape)


def dims(vi):
    return [d.dim_value if d.HasField("dim_value") else d.dim_param
            for d in vi.type.tensor_type.shape.dim]


def build(name, out_dir, seed):
    raw, origin = light_model_bytes(MODELS[name])
    model = randomize(onnx.load_from_string(raw), seed)
    scale = tame_logits(model, splitmix_input([1, 3, 224, 224], INPUT_SEED))
    data = model.SerializeToString(deterministic=True)
    path = out_dir / f"{name}.onnx"
    path.write_bytes(data)

    g = model.graph
    inp, out = g.input[0], g.output[0]
    in_shape, out_shape = dims(inp), dims(out)
    last = g.node[-1]
    kind = "probabilities" if last.op_type == "Softmax" and out.name in last.output else "logits"
    width = [d for d in out_shape[1:] if d != 1]
    assert len(width) == 1, out_shape
    k = int(width[0])
    assert in_shape[1:] == [3, 224, 224], in_shape

    manifest = {
        "name": f"{name}-random",
        "description": f"{name} graph from the onnx {onnx.__version__} wheel ({MODELS[name]}) with "
                       f"seeded random weights (seed {seed}) by scripts/make_bench_models.py; "
                       "for benchmarks only, its scores mean nothing",
        "input": {"width": 224, "height": 224, "layout": "nchw", "channels": "rgb",
                  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                  "resize": {"mode": "shorterSideCrop", "shorterSide": 256},
                  "name": inp.name},
        "output": {"kind": kind, "classes": [f"c{i}" for i in range(k)], "name": out.name},
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (out_dir / f"{name}.json").write_text(json.dumps(manifest, indent=1) + "\n")

    shape = [1, 3, 224, 224]
    x = splitmix_input(shape, INPUT_SEED)
    (out_dir / f"{name}_input.bin").write_bytes(x.astype("<f4").tobytes())
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    y = sess.run([out.name], {inp.name: x})[0]
    flat = y.reshape(-1).astype(np.float64)
    assert np.isfinite(flat).all()
    top = np.argsort(-flat)[:5]
    golden = {
        "generator": "scripts/make_bench_models.py",
        "onnxruntime": ort.__version__,
        "model": f"{name}.onnx",
        "source": origin,
        "weightSeed": seed,
        "headScale": scale,
        "input": {"name": inp.name, "shape": shape, "seed": INPUT_SEED,
                  "generator": "splitmix64: state = seed + (i+1)*0x9E3779B97F4A7C15; "
                               "z = (state ^ state>>30)*0xBF58476D1CE4E5B9; "
                               "z = (z ^ z>>27)*0x94D049BB133111EB; z ^= z>>31; "
                               "x = (z>>40)/2^24*4-2 (f32, NCHW order)",
                  "file": f"{name}_input.bin", "first": [float(v) for v in x.ravel()[:8]]},
        "output": {"name": out.name, "shape": list(y.shape), "kind": kind},
        "tolerance": 1e-4,
        "top5": [int(i) for i in top],
        "first20": [float(v) for v in flat[:20]],
        "values": [float(v) for v in flat],
    }
    (out_dir / f"{name}_golden.json").write_text(json.dumps(golden) + "\n")
    mx = float(flat.max())
    print(f"{name}: {path} {len(data) / 1e6:.1f} MB, input {inp.name} {in_shape}, output "
          f"{out.name} {out_shape} ({kind}, {k} classes), max {mx:.4g} at {top[0]}, "
          f"min {flat.min():.4g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--resnet50", action="store_true", help="also build resnet50 (~100 MB)")
    ap.add_argument("--all", action="store_true",
                    help="build every architecture: " + ", ".join(MODELS))
    ap.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    a = ap.parse_args()
    a.out_dir.mkdir(parents=True, exist_ok=True)
    names = list(MODELS) if a.all else ["squeezenet"] + (["resnet50"] if a.resnet50 else [])
    for name in names:
        build(name, a.out_dir, a.seed)


if __name__ == "__main__":
    main()

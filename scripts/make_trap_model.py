"""A real ONNX model that makes tract trap (panic) at inference on some images only.

The digits fixture model with one extra branch: idx = floor(mean(image) + 1) as int64, per image, then
Gather(zeros[1, 10], idx) added to the logits. For the digit samples (dark background, mean of
the normalized input < 0) idx is 0 and the logits are the fixture model's own; for a mostly
white image (mean >= 0) the index is out of range, which tract does not check at inference: it
panics, and in wasm a panic is a trap that poisons the instance. Used by the worker-pool fault
tests (tests/e2e/package.test.mjs). Writes tests/fixtures/trap/{model.onnx, manifest.json,
white.png}.
    .venv/bin/python scripts/make_trap_model.py
"""
import hashlib
import json
import pathlib
import struct
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

root = pathlib.Path(__file__).resolve().parent.parent
src = root / "tests/fixtures/digits"
out = root / "tests/fixtures/trap"
out.mkdir(parents=True, exist_ok=True)

m = onnx.load(src / "model.onnx")
g = m.graph
inp = g.input[0].name
old = "logits"
assert any(o.name == old for o in g.output), [o.name for o in g.output]
for n in g.node:  # rename the original logits so the new sum takes the output name
    n.output[:] = ["logits_base" if o == old else o for o in n.output]
g.initializer.extend(
    [
        numpy_helper.from_array(np.zeros((1, 10), np.float32), "trap_table"),
        numpy_helper.from_array(np.array(1.0, np.float32), "trap_one"),
    ]
)
g.node.extend(
    [
        helper.make_node("ReduceMean", [inp], ["trap_mean"], axes=[1, 2, 3], keepdims=0),  # per image: [N]
        helper.make_node("Add", ["trap_mean", "trap_one"], ["trap_shift"]),
        helper.make_node("Floor", ["trap_shift"], ["trap_floor"]),
        helper.make_node("Cast", ["trap_floor"], ["trap_idx"], to=TensorProto.INT64),
        helper.make_node("Gather", ["trap_table", "trap_idx"], ["trap_row"], axis=0),  # [N, 10]
        helper.make_node("Add", ["logits_base", "trap_row"], [old]),
    ]
)
onnx.checker.check_model(m)
data = m.SerializeToString()
(out / "model.onnx").write_bytes(data)

manifest = json.loads((src / "manifest.json").read_text())
manifest["name"] = "digits-cnn-trap"
manifest["description"] = "The digits fixture model plus a Gather whose index is out of range for bright images: tract panics (test fixture)"
manifest["output"].pop("embedding", None)
manifest["sha256"] = hashlib.sha256(data).hexdigest()
(out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def png_gray(w, h, value):
    raw = b"".join(b"\x00" + bytes([value]) * w for _ in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


(out / "white.png").write_bytes(png_gray(32, 32, 255))
print(f"wrote {out}/model.onnx ({len(data)} bytes), manifest.json, white.png")

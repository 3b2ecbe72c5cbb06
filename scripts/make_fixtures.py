#!/usr/bin/env python3
"""Generate the test fixtures and golden outputs of medtriage.

    .venv/bin/python scripts/make_fixtures.py

Deterministic (every random choice is seeded; BLAS is pinned to one thread): rerunning it on
the same machine rewrites byte-identical files.

What it writes (paths relative to the repository root):

  tests/fixtures/digits/model.onnx          small CNN trained here, in plain numpy, on the
                                            scikit-learn digits upscaled to 32x32
  tests/fixtures/digits/manifest.json       its manifest (logits + embedding)
  tests/fixtures/digits/probs_model.onnx    the same network with a Softmax appended
  tests/fixtures/digits/probs_manifest.json its manifest (kind "probabilities")
  tests/fixtures/digits/samples/*           24 held-out digits + format variants (v_*)
  tests/fixtures/bad/*                      inputs that must fail, see bad/README.md
  tests/golden/digits_scores.json           onnxruntime outputs for every sample
  tests/golden/digits_tensors.json          preprocessed input tensors + onnxruntime logits

The golden input tensors are computed the way src/engine/image.rs does it: decode, 8-bit / 255
or 16-bit / 65535 as f32, colour -> gray as 0.299 R + 0.587 G + 0.114 B on the [0, 1] floats
(alpha dropped, not composited), resize (image crate Triangle filter, reimplemented below) only
when the size differs, then (x - 0.5) * (1 / 0.5), NCHW.
"""

import os

# One BLAS thread: matrix products then sum in a fixed order, so training is reproducible.
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import hashlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
DIGITS = FIX / "digits"
SAMPLES = DIGITS / "samples"
BAD = FIX / "bad"
GOLDEN = ROOT / "tests" / "golden"

SEED = 20240531
N_TEST = 300
SIDE = 32
CLASSES = [str(i) for i in range(10)]
OPSET = 13
IR_VERSION = 8
MEAN, STD = 0.5, 0.5
GENERATOR = "scripts/make_fixtures.py"


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def load_data():
    """sklearn digits (8x8, 0..16) -> 32x32 uint8 gray: round(v*255/16), PIL bilinear resize."""
    d = load_digits()
    imgs = np.empty((len(d.images), SIDE, SIDE), dtype=np.uint8)
    for i, im in enumerate(d.images):
        small = np.rint(im * 255.0 / 16.0).astype(np.uint8)
        imgs[i] = np.asarray(Image.fromarray(small).resize((SIDE, SIDE), Image.BILINEAR))
    labels = d.target.astype(np.int64)
    perm = np.random.default_rng(SEED).permutation(len(imgs))
    test_idx, train_idx = np.sort(perm[:N_TEST]), np.sort(perm[N_TEST:])
    return imgs, labels, train_idx, test_idx


def normalize(u8):
    """uint8 (N,32,32) -> float32 (N,1,32,32), (x/255 - 0.5) / 0.5 exactly as the Rust side does."""
    x = u8.astype(np.float32) / np.float32(255.0)
    return ((x - np.float32(MEAN)) * np.float32(1.0 / STD))[:, None, :, :]


# --------------------------------------------------------------------------------------------
# the CNN, in numpy: Conv(1->8)+Relu+AvgPool2 -> Conv(8->16)+Relu+AvgPool2 -> Flatten(1024)
#                    -> Gemm(32)+Relu [embedding] -> Gemm(10) [logits]
# --------------------------------------------------------------------------------------------


def im2col3(x):
    """(N,C,H,W) -> (N*H*W, C*9) patches of a 3x3 / pad 1 / stride 1 convolution.
    Column order c*9 + ky*3 + kx matches an ONNX Conv weight (F,C,3,3) reshaped to (F,C*9)."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    p = np.stack([xp[:, :, ky:ky + h, kx:kx + w] for ky in range(3) for kx in range(3)], axis=2)
    return p.transpose(0, 3, 4, 1, 2).reshape(n * h * w, c * 9)


def col2im3(dcols, shape):
    n, c, h, w = shape
    d = dcols.reshape(n, h, w, c, 9).transpose(0, 3, 4, 1, 2)  # (N,C,9,H,W)
    dxp = np.zeros((n, c, h + 2, w + 2), dtype=dcols.dtype)
    k = 0
    for ky in range(3):
        for kx in range(3):
            dxp[:, :, ky:ky + h, kx:kx + w] += d[:, :, k]
            k += 1
    return dxp[:, :, 1:-1, 1:-1]


def conv_fwd(x, w, b):
    n, _, h, wd = x.shape
    f = w.shape[0]
    cols = im2col3(x)
    out = cols @ w.reshape(f, -1).T + b
    return out.reshape(n, h, wd, f).transpose(0, 3, 1, 2), cols


def conv_bwd(dout, cols, w, xshape):
    f = w.shape[0]
    d = dout.transpose(0, 2, 3, 1).reshape(-1, f)
    dw = (d.T @ cols).reshape(w.shape)
    db = d.sum(axis=0)
    dx = col2im3(d @ w.reshape(f, -1), xshape)
    return dx, dw, db


def pool_fwd(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5))


def pool_bwd(d):
    return np.repeat(np.repeat(d, 2, axis=2), 2, axis=3) * 0.25


def init_params(rng, side=SIDE, n_out=10):
    def he(shape, fan_in):
        return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)

    flat = 16 * (side // 4) * (side // 4)
    return {
        "c1w": he((8, 1, 3, 3), 9), "c1b": np.zeros(8),
        "c2w": he((16, 8, 3, 3), 72), "c2b": np.zeros(16),
        "f1w": he((32, flat), flat), "f1b": np.zeros(32),
        "f2w": rng.standard_normal((n_out, 32)) * np.sqrt(1.0 / 32), "f2b": np.zeros(n_out),
    }


def forward(p, x, keep=False):
    z1, cols1 = conv_fwd(x, p["c1w"], p["c1b"])
    a1 = np.maximum(z1, 0)
    p1 = pool_fwd(a1)
    z2, cols2 = conv_fwd(p1, p["c2w"], p["c2b"])
    a2 = np.maximum(z2, 0)
    p2 = pool_fwd(a2)
    flat = p2.reshape(len(x), -1)
    z3 = flat @ p["f1w"].T + p["f1b"]
    emb = np.maximum(z3, 0)
    logits = emb @ p["f2w"].T + p["f2b"]
    if not keep:
        return logits, emb
    return logits, emb, dict(x=x, z1=z1, cols1=cols1, p1=p1, z2=z2, cols2=cols2, p2=p2,
                             flat=flat, z3=z3, emb=emb)


def backward(p, cache, dlogits):
    g = {}
    g["f2w"] = dlogits.T @ cache["emb"]
    g["f2b"] = dlogits.sum(0)
    dz3 = (dlogits @ p["f2w"]) * (cache["z3"] > 0)
    g["f1w"] = dz3.T @ cache["flat"]
    g["f1b"] = dz3.sum(0)
    dp2 = (dz3 @ p["f1w"]).reshape(cache["p2"].shape)
    dz2 = pool_bwd(dp2) * (cache["z2"] > 0)
    dp1, g["c2w"], g["c2b"] = conv_bwd(dz2, cache["cols2"], p["c2w"], cache["p1"].shape)
    dz1 = pool_bwd(dp1) * (cache["z1"] > 0)
    _, g["c1w"], g["c1b"] = conv_bwd(dz1, cache["cols1"], p["c1w"], cache["x"].shape)
    return g


def softmax64(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def shift(u8, rng):
    """Random translation by up to 2 pixels (zero fill): cheap augmentation."""
    out = np.zeros_like(u8)
    for i in range(len(u8)):
        dy, dx = rng.integers(-2, 3, size=2)
        src = u8[i, max(0, -dy):SIDE - max(0, dy), max(0, -dx):SIDE - max(0, dx)]
        out[i, max(0, dy):max(0, dy) + src.shape[0], max(0, dx):max(0, dx) + src.shape[1]] = src
    return out


def train(x_u8, y, epochs=12, batch=32, lr=2e-3, side=SIDE, seed=SEED):
    rng = np.random.default_rng(seed + 1)
    p = init_params(rng, side)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    b1, b2, eps, t = 0.9, 0.999, 1e-8, 0
    n = len(x_u8)
    for ep in range(epochs):
        order = rng.permutation(n)
        aug = shift(x_u8, rng) if ep > 0 else x_u8
        xs = normalize(aug).astype(np.float64)
        lr_ep = lr * (0.5 * (1 + np.cos(np.pi * ep / epochs)))
        loss_sum = 0.0
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            logits, _, cache = forward(p, xs[idx], keep=True)
            pr = softmax64(logits)
            loss_sum += -np.log(pr[np.arange(len(idx)), y[idx]] + 1e-12).sum()
            d = pr.copy()
            d[np.arange(len(idx)), y[idx]] -= 1.0
            g = backward(p, cache, d / len(idx))
            t += 1
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
                mh = m[k] / (1 - b1 ** t)
                vh = v[k] / (1 - b2 ** t)
                p[k] -= lr_ep * mh / (np.sqrt(vh) + eps)
        print(f"  epoch {ep + 1:2d}/{epochs}  loss {loss_sum / n:.4f}", flush=True)
    return {k: val.astype(np.float32) for k, val in p.items()}


# --------------------------------------------------------------------------------------------
# ONNX export
# --------------------------------------------------------------------------------------------


def cnn_graph_nodes(p, prefix=""):
    """Nodes + initializers of the CNN from input 'image' to 'logits' and 'embedding'."""
    inits = [numpy_helper.from_array(np.ascontiguousarray(val, dtype=np.float32), name=k)
             for k, val in p.items()]
    nodes = [
        helper.make_node("Conv", ["image", "c1w", "c1b"], ["conv1"], name="conv1",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("AveragePool", ["relu1"], ["pool1"], name="pool1",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["pool1", "c2w", "c2b"], ["conv2"], name="conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("Relu", ["conv2"], ["relu2"], name="relu2"),
        helper.make_node("AveragePool", ["relu2"], ["pool2"], name="pool2",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool2"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "f1w", "f1b"], ["fc1"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["embedding"], name="relu3"),
        helper.make_node("Gemm", ["embedding", "f2w", "f2b"], ["logits"], name="fc2", transB=1),
    ]
    return nodes, inits


def make_model(nodes, inits, inputs, outputs, name, doc):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, producer_name="medtriage/make_fixtures.py",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.doc_string = doc
    onnx.checker.check_model(model, full_check=True)
    return model


def vi(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def export_cnn(p, side=SIDE, n_out=10, name="digits_cnn", doc=""):
    nodes, inits = cnn_graph_nodes(p)
    return make_model(nodes, inits, [vi("image", ["N", 1, side, side])],
                      [vi("logits", ["N", n_out]), vi("embedding", ["N", 32])], name, doc)


def save_model(model, path):
    data = model.SerializeToString(deterministic=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def session(path_or_bytes):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    src = str(path_or_bytes) if isinstance(path_or_bytes, Path) else path_or_bytes
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


# --------------------------------------------------------------------------------------------
# PNG helpers (PIL cannot write 16-bit RGB; its 16-bit RGB reader truncates to 8 bits)
# --------------------------------------------------------------------------------------------


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png16(path, arr):
    """arr uint16 (H,W) gray or (H,W,3) RGB -> 16-bit PNG, filter 0, zlib level 9."""
    arr = np.asarray(arr, dtype=">u2")
    h, w = arr.shape[:2]
    ctype = 0 if arr.ndim == 2 else 2
    raw = b"".join(b"\x00" + arr[y].tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))
    path.write_bytes(data)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png_raw(data):
    """Minimal non-interlaced PNG decoder (bit depth 8/16, gray/RGB/gray-alpha/RGBA) returning
    the exact stored samples as (H,W,C) uint16 plus the bit depth. Used to cross-check PIL."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        (ln,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + ln]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + ln
    w, h, depth, ctype, _, _, interlace = ihdr
    assert interlace == 0 and depth in (8, 16)
    nch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    bpp = nch * depth // 8
    stride = w * bpp
    raw = zlib.decompress(idat)
    out = bytearray()
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
        out += line
        prev = line
    dt = ">u2" if depth == 16 else np.uint8
    return np.frombuffer(bytes(out), dtype=dt).reshape(h, w, nch).astype(np.uint16), depth


# --------------------------------------------------------------------------------------------
# preprocessing exactly as src/engine/image.rs
# --------------------------------------------------------------------------------------------


def triangle_weights(src, dst):
    """image::imageops::resize (FilterType::Triangle) weights, computed in f32 as the crate does."""
    f32 = np.float32
    ratio = f32(src) / f32(dst)
    sratio = ratio if ratio >= 1 else f32(1.0)
    support = f32(1.0) * sratio
    rows = []
    for o in range(dst):
        centre = (f32(o) + f32(0.5)) * ratio
        left = int(np.floor(centre - support))
        left = min(max(left, 0), src - 1)
        right = int(np.ceil(centre + support))
        right = min(max(right, left + 1), src)
        centre = centre - f32(0.5)
        ws = []
        for i in range(left, right):
            x = (f32(i) - centre) / sratio
            ws.append(f32(1.0) - abs(x) if abs(x) < 1 else f32(0.0))
        s = f32(0.0)
        for w_ in ws:
            s = f32(s + w_)
        rows.append((left, [f32(w_ / s) for w_ in ws]))
    return rows


def resize_triangle(img, w, h):
    """(H,W) float32 -> (h,w), vertical pass then horizontal, accumulating in order (f32)."""
    sh, sw = img.shape
    tmp = np.zeros((h, sw), dtype=np.float32)
    for oy, (left, ws) in enumerate(triangle_weights(sh, h)):
        acc = np.zeros(sw, dtype=np.float32)
        for i, w_ in enumerate(ws):
            acc = acc + img[left + i] * w_
        tmp[oy] = acc
    out = np.zeros((h, w), dtype=np.float32)
    for ox, (left, ws) in enumerate(triangle_weights(sw, w)):
        acc = np.zeros(h, dtype=np.float32)
        for i, w_ in enumerate(ws):
            acc = acc + tmp[:, left + i] * w_
        out[:, ox] = np.clip(acc, 0.0, 1.0)
    return out


def decode_gray01(path):
    """File -> (H,W) float32 in [0,1], gray, and a description of how it was decoded."""
    data = path.read_bytes()
    f32 = np.float32
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        raw, depth = read_png_raw(data)
        # cross-check against PIL where PIL keeps the full precision
        im = Image.open(io.BytesIO(data))
        pil = np.asarray(im)
        if depth == 8 or raw.shape[2] == 1:
            assert np.array_equal(pil.reshape(raw.shape).astype(np.uint16), raw), path
        else:
            assert np.array_equal(pil.reshape(raw.shape[0], raw.shape[1], -1),
                                  (raw >> 8).astype(np.uint8)), path
        scale = f32(65535.0) if depth == 16 else f32(255.0)
        x = raw.astype(f32) / scale
    else:
        im = Image.open(io.BytesIO(data))
        im.load()
        assert im.mode in ("L", "RGB"), im.mode
        arr = np.asarray(im)
        x = (arr.astype(f32) / f32(255.0)).reshape(arr.shape[0], arr.shape[1], -1)
    nch = x.shape[2]
    if nch in (1, 2):  # gray (gray-alpha: alpha dropped)
        return x[:, :, 0], "gray"
    r, g, b = x[:, :, 0], x[:, :, 1], x[:, :, 2]
    return (f32(0.299) * r + f32(0.587) * g) + f32(0.114) * b, "bt601"


def file_tensor(path):
    g, how = decode_gray01(path)
    resized = g.shape != (SIDE, SIDE)
    if resized:
        g = resize_triangle(g, SIDE, SIDE)
    t = (g - np.float32(MEAN)) * np.float32(1.0 / STD)
    return t.reshape(1, 1, SIDE, SIDE).astype(np.float32), how, resized


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def stats(logits):
    p = softmax64(np.asarray(logits, dtype=np.float64))
    s = np.sort(p)[::-1]
    ent = float(-(p[p > 0] * np.log(p[p > 0])).sum())
    return p, ent, float(1.0 - s[0]), float(s[0] - s[1])


def fl(a):
    return [float(v) for v in np.asarray(a).ravel()]


def write_json(path, obj):
    path.write_text(json.dumps(obj, indent=1) + "\n")


def main():
    for d in (SAMPLES, BAD, GOLDEN):
        d.mkdir(parents=True, exist_ok=True)
    for old in list(SAMPLES.glob("*")):
        old.unlink()

    imgs, labels, tr, te = load_data()
    print(f"digits: {len(imgs)} images, train {len(tr)}, held-out {len(te)}")
    print("training the CNN (numpy, Adam, seeded)...")
    params = train(imgs[tr], labels[tr])

    # ---- evaluate ------------------------------------------------------------------------
    x_te = normalize(imgs[te])
    lg64, _ = forward({k: v.astype(np.float64) for k, v in params.items()}, x_te.astype(np.float64))
    acc = float((lg64.argmax(1) == labels[te]).mean())
    print(f"held-out accuracy (numpy): {acc * 100:.2f}% ({int(round(acc * len(te)))}/{len(te)})")
    if acc < 0.95:
        sys.exit("accuracy below 95%")

    # ---- export ------------------------------------------------------------------------
    model_path = DIGITS / "model.onnx"
    model = export_cnn(params, doc="Digits CNN trained by scripts/make_fixtures.py (numpy) on "
                       "scikit-learn digits upscaled to 32x32. Input (x/255-0.5)/0.5, NCHW gray.")
    sha = save_model(model, model_path)
    sess = session(model_path)
    o_logits, o_emb = sess.run(["logits", "embedding"], {"image": x_te})
    dmax = float(np.abs(o_logits - lg64).max())
    demb = float(np.abs(o_emb - forward({k: v.astype(np.float64) for k, v in params.items()},
                                        x_te.astype(np.float64))[1]).max())
    print(f"onnxruntime vs numpy: max |dlogits| {dmax:.2e}, max |dembedding| {demb:.2e}")
    assert dmax < 1e-5 and demb < 1e-5
    ort_acc = float((o_logits.argmax(1) == labels[te]).mean())
    assert ort_acc == acc

    manifest = {
        "name": "digits-cnn",
        "description": "Small CNN trained by scripts/make_fixtures.py on scikit-learn digits, "
                       "upscaled to 32x32 (test fixture, not a medical model)",
        "input": {"width": SIDE, "height": SIDE, "layout": "nchw", "channels": "gray",
                  "mean": [MEAN], "std": [STD], "resize": {"mode": "stretch"}},
        "output": {"kind": "logits", "classes": CLASSES, "name": "logits",
                   "embedding": "embedding"},
        "sha256": sha,
    }
    write_json(DIGITS / "manifest.json", manifest)

    # probabilities variant (good fixture)
    nodes, inits = cnn_graph_nodes(params)
    nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1))
    probs_model = make_model(nodes, inits, [vi("image", ["N", 1, SIDE, SIDE])],
                             [vi("probabilities", ["N", 10]), vi("embedding", ["N", 32])],
                             "digits_cnn_probs", "Digits CNN with a Softmax appended.")
    probs_sha = save_model(probs_model, DIGITS / "probs_model.onnx")
    pm = json.loads(json.dumps(manifest))
    pm["name"] = "digits-cnn-probs"
    pm["description"] = ("The digits CNN of scripts/make_fixtures.py with a Softmax appended "
                         "(outputs probabilities)")
    pm["output"] = {"kind": "probabilities", "classes": CLASSES, "name": "probabilities",
                    "embedding": "embedding"}
    pm["sha256"] = probs_sha
    write_json(DIGITS / "probs_manifest.json", pm)

    # ---- choose the 24 samples ---------------------------------------------------------
    p_te = softmax64(o_logits)
    pred = p_te.argmax(1)
    maxp = p_te.max(1)
    wrong = [i for i in np.argsort(maxp) if pred[i] != labels[te][i]]
    unsure_ok = [i for i in np.argsort(maxp) if pred[i] == labels[te][i]]
    hard = wrong[:4]
    hard += unsure_ok[:6 - len(hard)]
    rng = np.random.default_rng(SEED + 2)
    confident = [i for i in range(len(te)) if pred[i] == labels[te][i] and maxp[i] > 0.95]
    easy = []
    for rnd in range(2):
        for c in range(10):
            cand = [i for i in confident if labels[te][i] == c and i not in easy]
            if cand and len(easy) < 18:
                easy.append(int(rng.choice(cand)))
    chosen = [int(i) for i in hard] + easy
    assert len(chosen) == 24 and len(set(chosen)) == 24
    order = rng.permutation(24)
    chosen = [chosen[k] for k in order]

    samples = []  # (filename, label, test index, kind)
    for n, i in enumerate(chosen):
        lab = int(labels[te][i])
        fn = f"d{n:02d}_label{lab}.png"
        Image.fromarray(imgs[te][i]).save(SAMPLES / fn)
        kind = ("wrong" if pred[i] != lab else "unsure") if i in hard else "confident"
        samples.append((fn, lab, i, kind))

    # ---- format variants ---------------------------------------------------------------
    conf_samples = [s for s in samples if s[3] == "confident"]
    hard_samples = [s for s in samples if s[3] != "confident"]
    src_a = conf_samples[0]       # rgb8, rgba8
    src_b = hard_samples[0]       # gray16, rgb16 (an uncertain one: sensitive to tiny errors)
    src_c = conf_samples[1]       # JPEGs
    src_d = conf_samples[2]       # large
    src_e = conf_samples[3]       # colour

    def u8(s):
        return imgs[te][s[2]]

    variants = []  # (file, label, source, exact, note)
    a = u8(src_a)
    Image.fromarray(np.stack([a] * 3, -1)).save(SAMPLES / "v_rgb8.png")
    variants.append(("v_rgb8.png", src_a, True, "RGB 8-bit, R=G=B"))
    Image.fromarray(np.dstack([a, a, a, np.full_like(a, 255)])).save(SAMPLES / "v_rgba8.png")
    variants.append(("v_rgba8.png", src_a, True, "RGBA 8-bit, R=G=B, alpha 255"))
    b = u8(src_b).astype(np.uint16) * 257
    write_png16(SAMPLES / "v_gray16.png", b)
    variants.append(("v_gray16.png", src_b, True, "16-bit gray, value*257"))
    write_png16(SAMPLES / "v_rgb16.png", np.stack([b] * 3, -1))
    variants.append(("v_rgb16.png", src_b, True, "16-bit RGB, value*257, R=G=B"))
    c = u8(src_c)
    Image.fromarray(c).save(SAMPLES / "v_gray.jpg", quality=95)
    variants.append(("v_gray.jpg", src_c, False, "gray JPEG quality 95 (lossy)"))
    Image.fromarray(np.stack([c] * 3, -1)).save(SAMPLES / "v_rgb.jpg", quality=95)
    variants.append(("v_rgb.jpg", src_c, False, "RGB JPEG quality 95, R=G=B before encoding "
                     "(lossy, 4:2:0)"))
    d = Image.fromarray(u8(src_d)).resize((64, 48), Image.BILINEAR).convert("RGB")
    d.save(SAMPLES / "v_large.png")
    variants.append(("v_large.png", src_d, False, "64x48 RGB (PIL bilinear upscale of the 32x32 "
                     "digit, R=G=B); golden resized back to 32x32 with the image crate's Triangle "
                     "filter reimplemented in numpy"))
    # colourful: bright warm background gradient, strokes in saturated blue/magenta/green
    e = u8(src_e).astype(np.float64) / 255.0
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / (SIDE - 1)
    bg = np.stack([0.95 + 0.05 * xx, 0.75 + 0.2 * yy, 0.2 + 0.5 * (1 - xx)], -1)
    ink = np.stack([0.6 * xx, 0.1 + 0.3 * yy, 0.9 - 0.4 * xx * yy], -1)
    col = bg * (1 - e[..., None]) + ink * e[..., None]
    col8 = np.clip(np.rint(col * 255), 0, 255).astype(np.uint8)
    Image.fromarray(col8).save(SAMPLES / "v_color.png")
    variants.append(("v_color.png", src_e, True, "colourful RGB (light background, dark coloured "
                     "strokes): gray = 0.299R + 0.587G + 0.114B on the [0,1] floats (BT.601), NOT "
                     "the channel mean nor BT.709; inverted w.r.t. the training digits, so the "
                     "class is not meaningful, only the numbers"))

    # ---- golden scores -----------------------------------------------------------------
    items = []
    tensors = {}
    files = [(fn, lab, True, None, f"held-out digit #{int(te[i])} ({kind})")
             for fn, lab, i, kind in samples]
    files += [(fn, src[1], exact, src[0], note) for fn, src, exact, note in variants]
    for fn, lab, exact, source, note in files:
        x, how, resized = file_tensor(SAMPLES / fn)
        assert exact == (not resized and not fn.endswith(".jpg"))
        lo, em = sess.run(["logits", "embedding"], {"image": x})
        p, ent, lc, margin = stats(lo[0])
        item = {"file": f"samples/{fn}", "label": lab, "exact": exact,
                "logits": fl(lo[0]), "probabilities": fl(p), "embedding": fl(em[0]),
                "entropy": ent, "leastConfidence": lc, "margin": margin,
                "predicted": int(p.argmax()), "gray": how}
        if source:
            item["source"] = f"samples/{source}"
        item["note"] = note
        items.append(item)
        tensors[fn] = (x, lo[0])
    # variants of lossless sources must equal their source (same pixels)
    by = {it["file"]: it for it in items}
    for fn in ("v_rgb8.png", "v_rgba8.png", "v_gray16.png", "v_rgb16.png"):
        it = by["samples/" + fn]
        diff = np.abs(np.array(it["logits"]) - np.array(by[it["source"]]["logits"])).max()
        assert diff < 1e-4, (fn, diff)
    for fn in ("v_gray.jpg", "v_rgb.jpg", "v_large.png"):
        it = by["samples/" + fn]
        assert it["predicted"] == by[it["source"]]["predicted"], fn

    golden = {
        "generator": GENERATOR,
        "onnxruntime": ort.__version__,
        "tolerance": 1e-4,
        "classes": CLASSES,
        "preprocessing": "decode; 8-bit / 255, 16-bit / 65535 (f32); colour -> gray as "
                         "0.299*R + 0.587*G + 0.114*B on the [0,1] floats (alpha dropped, not "
                         "composited); gray images used directly; resize (image crate Triangle) "
                         "only when not 32x32; then (x - 0.5) / 0.5; NCHW [1,1,32,32]",
        "statistics": "probabilities = softmax(logits) in float64; entropy in nats (natural log); "
                      "leastConfidence = 1 - max p; margin = p1 - p2 (two largest)",
        "items": items,
    }
    write_json(GOLDEN / "digits_scores.json", golden)

    # raw tensors for 4 exact samples (2 hard + 2 confident)
    pick = [s[0] for s in hard_samples[:2]] + [s[0] for s in conf_samples[:2]]
    write_json(GOLDEN / "digits_tensors.json", {
        "generator": GENERATOR,
        "onnxruntime": ort.__version__,
        "tolerance": 1e-4,
        "model": "fixtures/digits/model.onnx",
        "shape": [1, 1, SIDE, SIDE],
        "items": [{"file": f"samples/{fn}", "input": fl(tensors[fn][0]),
                   "logits": fl(tensors[fn][1])} for fn in pick],
    })

    # ---- bad inputs --------------------------------------------------------------------
    make_bad(params, manifest, samples, variants)

    # ---- summary -----------------------------------------------------------------------
    print()
    print(f"held-out accuracy: {acc * 100:.2f}% on {len(te)} images")
    print(f"model.onnx: {model_path.stat().st_size} bytes, sha256 {sha}")
    print("hard samples (wrong / unsure):")
    for fn, lab, i, kind in samples:
        if kind != "confident":
            print(f"  {fn}: label {lab}, predicted {pred[i]}, max p {maxp[i]:.3f} ({kind})")
    print("files:")
    for f in sorted(list(DIGITS.rglob("*")) + list(BAD.rglob("*")) + list(GOLDEN.rglob("*"))):
        if f.is_file():
            print(f"  {f.relative_to(ROOT)}  {f.stat().st_size} bytes")


def make_bad(params, manifest, samples, variants):
    rng = np.random.default_rng(SEED + 3)
    for old in BAD.glob("*"):
        old.unlink()

    # images
    src_png = (SAMPLES / samples[0][0]).read_bytes()
    idat = src_png.find(b"IDAT")
    cut = len(src_png) // 2
    assert idat + 4 < cut < len(src_png) - 12  # inside the image data, before IEND
    (BAD / "truncated.png").write_bytes(src_png[:cut])
    garbage = rng.integers(0, 256, size=2048, dtype=np.uint8).tobytes()
    garbage = b"\x00\x13" + garbage[2:]  # no PNG/JPEG/GIF/BMP/... magic at the start
    (BAD / "garbage.png").write_bytes(garbage)
    (BAD / "empty.png").write_bytes(b"")
    tiny = io.BytesIO()
    Image.fromarray(np.zeros((1, 1), dtype=np.uint8)).save(tiny, format="PNG")
    tiny = bytearray(tiny.getvalue())
    assert tiny[12:16] == b"IHDR"
    tiny[16:24] = struct.pack(">II", 100000, 100000)
    tiny[29:33] = struct.pack(">I", zlib.crc32(bytes(tiny[12:29])))
    (BAD / "huge_header.png").write_bytes(bytes(tiny))
    jpg = (SAMPLES / "v_rgb.jpg").read_bytes()
    sos = jpg.find(b"\xff\xda")
    jcut = min(len(jpg) // 2, sos - 40)
    (BAD / "truncated.jpg").write_bytes(jpg[:jcut])

    # models
    for attempt in range(100):
        junk = rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes()
        try:
            onnx.ModelProto().ParseFromString(junk)
        except Exception:
            break
    else:
        raise RuntimeError("random bytes kept parsing as a ModelProto")
    (BAD / "not_a_model.onnx").write_bytes(junk)

    r = np.random.default_rng(SEED + 4)
    p28 = {k: v.astype(np.float32) for k, v in init_params(r, side=28).items()}
    sha_wi = save_model(export_cnn(p28, side=28, name="wrong_input",
                                   doc="Digits CNN architecture with a 28x28 input (random "
                                       "weights): must fail with shape_mismatch"),
                        BAD / "wrong_input.onnx")
    p7 = dict(params)
    p7["f2w"], p7["f2b"] = params["f2w"][:7].copy(), params["f2b"][:7].copy()
    sha_wc = save_model(export_cnn(p7, n_out=7, name="wrong_classes",
                                   doc="Digits CNN with 7 outputs: must fail with shape_mismatch"),
                        BAD / "wrong_classes.onnx")

    # NaN model: logits + 0.001 * Sqrt(mean(image)) -> NaN when the mean is negative; the shift is
    # the same for every class, so softmax is unchanged whenever it is finite.
    nodes, inits = cnn_graph_nodes(params)
    nodes[-1].output[0] = "raw_logits"
    nodes += [
        helper.make_node("ReduceMean", ["image"], ["mean4"], name="mean", axes=[1, 2, 3],
                         keepdims=1),
        helper.make_node("Flatten", ["mean4"], ["mean"], name="mean_flat", axis=1),
        helper.make_node("Sqrt", ["mean"], ["root"], name="sqrt"),
        helper.make_node("Mul", ["root", "eps"], ["shift"], name="scale"),
        helper.make_node("Add", ["raw_logits", "shift"], ["logits"], name="add"),
    ]
    inits.append(numpy_helper.from_array(np.array([0.001], dtype=np.float32), "eps"))
    nan_model = make_model(nodes, inits, [vi("image", ["N", 1, SIDE, SIDE])],
                           [vi("logits", ["N", 10]), vi("embedding", ["N", 32])], "nan_model",
                           "Digits CNN whose logits get + 0.001*sqrt(mean(image)): NaN when the "
                           "normalized input has a negative mean")
    sha_nan = save_model(nan_model, BAD / "nan_model.onnx")

    # which fixture images give NaN with the digits normalization
    s_nan = session(BAD / "nan_model.onnx")
    s_ok = session(DIGITS / "model.onnx")
    nan_files, finite_files = [], []
    names = [s[0] for s in samples] + [v[0] for v in variants]
    for fn in names:
        x, _, _ = file_tensor(SAMPLES / fn)
        out = s_nan.run(["logits"], {"image": x})[0]
        ref = s_ok.run(["logits"], {"image": x})[0]
        if np.isnan(out).any():
            assert np.isnan(out).all() and float(x.mean()) < 0
            nan_files.append((fn, float(x.mean())))
        else:
            assert np.isfinite(out).all() and float(x.mean()) >= 0
            assert np.allclose(softmax64(out), softmax64(ref), atol=1e-6)
            finite_files.append((fn, float(x.mean())))

    # matching manifests (the digits manifest with each model's sha256), so a test can load
    # them without tripping model_hash_mismatch first
    def bad_manifest(fname, sha):
        m = json.loads(json.dumps(manifest))
        m["name"] = f"bad-{fname}"
        m["sha256"] = sha
        write_json(BAD / fname, m)

    bad_manifest("wrong_input_manifest.json", sha_wi)
    bad_manifest("wrong_classes_manifest.json", sha_wc)
    bad_manifest("nan_manifest.json", sha_nan)

    nan_list = "\n".join(f"  - `samples/{fn}` (normalized mean {m:+.3f})" for fn, m in nan_files)
    fin_list = "\n".join(f"  - `samples/{fn}` (normalized mean {m:+.3f})" for fn, m in finite_files)
    readme = f"""# Bad inputs (generated by `scripts/make_fixtures.py`, do not edit)

Each file must be rejected with the given error code (`medtriage::ErrorKind::code()`). The
test suite reads this table (`tests/suite/bad.rs`): a new row is a new test case. `manifest` is
the one a model is loaded with (`digits` = `digits/manifest.json` without its `sha256`); images
are scored with the digits model. A `non_finite_output` model loads, and fails the images below.

| file | error code | manifest | what it is |
|---|---|---|---|
| `truncated.png` | `image_decode` | - | first half ({cut} of {len(src_png)} bytes) of `digits/samples/{samples[0][0]}`: cut inside IDAT, no IEND |
| `garbage.png` | `image_decode` | - | 2048 seeded random bytes (no known image signature) |
| `empty.png` | `image_decode` | - | 0 bytes |
| `huge_header.png` | `image_too_large` | - | a valid 1x1 gray PNG whose IHDR says 100000x100000 (IHDR CRC recomputed, so the header itself is valid) |
| `truncated.jpg` | `image_decode` | - | first {jcut} of {len(jpg)} bytes of `digits/samples/v_rgb.jpg`: cut before the start-of-scan marker, so there is no image data at all (a lenient decoder that zero-fills a truncated scan still has to fail) |
| `not_a_model.onnx` | `invalid_model` | `digits` | 4096 seeded random bytes (checked not to parse as an ONNX ModelProto) |
| `wrong_input.onnx` | `shape_mismatch` | `wrong_input_manifest.json` | the digits CNN architecture with input `image` [N,1,28,28] (random weights), outputs `logits` [N,10] and `embedding` [N,32] |
| `wrong_classes.onnx` | `shape_mismatch` | `wrong_classes_manifest.json` | the digits CNN (trained weights, last layer cut to 7 rows): input [N,1,32,32], outputs `logits` [N,7] and `embedding` [N,32] |
| `nan_model.onnx` | `non_finite_output` | `nan_manifest.json` | the digits CNN with `logits = raw_logits + 0.001 * Sqrt(ReduceMean(image))`: NaN in every logit when the normalized input has a negative mean, finite (and the same probabilities as `digits/model.onnx`) otherwise |

Use the models with `digits/manifest.json`. That manifest pins the SHA-256 of `digits/model.onnx`,
so either drop its `sha256` or use the matching manifests here (the digits manifest with the
right hash): `wrong_input_manifest.json`, `wrong_classes_manifest.json`, `nan_manifest.json`.

With the digits normalization `(x - 0.5) / 0.5`, `nan_model.onnx` gives NaN for:
{nan_list}

and finite logits for:
{fin_list}
"""
    (BAD / "README.md").write_text(readme)
    print(f"nan_model: NaN for {len(nan_files)} files, finite for "
          f"{[f for f, _ in finite_files]}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Ensemble members and test-time-augmentation goldens for medtriage.

    .venv/bin/python scripts/make_tta_fixtures.py            # members + goldens
    .venv/bin/python scripts/make_tta_fixtures.py --golden   # goldens only

Run after scripts/make_fixtures.py (it reuses its data, CNN, training loop and preprocessing
by import). Deterministic: every random choice is seeded and BLAS uses one thread.

What it writes (paths relative to the repository root):

  tests/fixtures/digits/member1.onnx   the digits CNN retrained (numpy, Adam) with another seed
  tests/fixtures/digits/member2.onnx   on a bootstrap resample of the training set (8 epochs)
  tests/golden/tta/manifest.json       the digits manifest with "members" (3 sha256 pins:
                                       model.onnx, member1.onnx, member2.onnx) and "tta"
  tests/golden/tta/ensemble.json       for the exact (lossless, 32x32) samples: onnxruntime
                                       logits and softmax rows of every member under every
                                       transform, and the multi-row measures in numpy
  tests/golden/tta/transforms.json     position-sensitive checksums of the transformed input
                                       tensors, plus a non-square NHWC RGB case

The transforms act on the preprocessed tensor exactly as src/engine/manifest.rs does
(`Transform::apply`): with out(c, y, x) = in(c, sy, sx),
  identity  sy = y,            sx = x
  hflip     sy = y,            sx = W-1-x
  vflip     sy = H-1-y,        sx = x
  shift     sy = y-dy,         sx = x-dx   (out of range: fill "black" = (0 - mean)/std per
                                            channel, in f32; or "edge" = clamp the index)
  rot90 k   numpy.rot90(x, k, axes=(H, W)): counter-clockwise as displayed; odd k needs H == W.
Rows are ordered member-major: row = member * len(tta) + transform.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (sets the one-thread BLAS variables before numpy)

import json  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

ROOT = mf.ROOT
DIGITS = mf.DIGITS
OUT = ROOT / "tests" / "golden" / "tta"
GENERATOR = "scripts/make_tta_fixtures.py"
MEMBER_SEEDS = {1: 7101, 2: 7202}
MEMBER_EPOCHS = 8

TTA = [
    {"op": "identity"},
    {"op": "hflip"},
    {"op": "vflip"},
    {"op": "shift", "dx": 2, "dy": -1},
    {"op": "shift", "dx": -3, "dy": 2, "fill": "edge"},
    {"op": "rot90", "k": 1},
]


# --------------------------------------------------------------------------------------------
# the transforms, on one image tensor (C, H, W) or (H, W, C)
# --------------------------------------------------------------------------------------------


def fill_values(mean, std):
    f32 = np.float32
    return [(f32(0.0) - f32(m)) * (f32(1.0) / f32(s)) for m, s in zip(mean, std)]


def apply(x, t, layout, mean, std):
    """x: one image, (C,H,W) for nchw or (H,W,C) for nhwc, float32."""
    chw = x if layout == "nchw" else np.transpose(x, (2, 0, 1))
    c, h, w = chw.shape
    op = t["op"]
    if op == "identity":
        out = chw.copy()
    elif op == "hflip":
        out = chw[:, :, ::-1].copy()
    elif op == "vflip":
        out = chw[:, ::-1, :].copy()
    elif op == "rot90":
        out = np.rot90(chw, t.get("k", 1), axes=(1, 2)).copy()
    elif op == "shift":
        dx, dy = t["dx"], t["dy"]
        ys = np.arange(h) - dy
        xs = np.arange(w) - dx
        if t.get("fill", "black") == "edge":
            out = chw[:, np.clip(ys, 0, h - 1)][:, :, np.clip(xs, 0, w - 1)].copy()
        else:
            fv = fill_values(mean, std)
            out = np.empty_like(chw)
            for ch in range(c):
                out[ch] = fv[ch]
            oky = (ys >= 0) & (ys < h)
            okx = (xs >= 0) & (xs < w)
            yi, xi = np.nonzero(oky)[0], np.nonzero(okx)[0]
            out[:, yi[:, None], xi[None, :]] = chw[:, ys[oky]][:, :, xs[okx]]
    else:
        raise ValueError(op)
    out = np.ascontiguousarray(out, dtype=np.float32)
    return out if layout == "nchw" else np.ascontiguousarray(np.transpose(out, (1, 2, 0)))


def checksum(x):
    """Position-sensitive checksum of a flat tensor: sum_i x_i * w_i, w_i = ((i*7919) % 1000 + 1)/1000."""
    flat = np.asarray(x, dtype=np.float64).ravel()
    i = np.arange(flat.size, dtype=np.int64)
    w = ((i * 7919) % 1000 + 1) / 1000.0
    return float((flat * w).sum())


# --------------------------------------------------------------------------------------------
# multi-row measures (the definitions of src/engine/triage/multi.rs), float64
# --------------------------------------------------------------------------------------------


def entropy(p):
    p = np.asarray(p, dtype=np.float64)
    q = p[p > 0]
    return max(float(-(q * np.log(q)).sum()), 0.0)


def measures(rows):
    rows = np.asarray(rows, dtype=np.float64)
    t, k = rows.shape
    mean = rows.mean(axis=0)
    pred = int(np.argmax(mean))  # numpy argmax: first maximum = lowest index
    p1 = float(mean[pred])
    p2 = max(float(np.max(np.delete(mean, pred))), 0.0)
    h = entropy(mean)
    eh = float(np.mean([entropy(r) for r in rows]))
    votes = np.bincount(rows.argmax(axis=1), minlength=k)
    modal = int(np.argmax(votes))
    return {
        "mean": [float(v) for v in mean],
        "predicted": pred,
        "confidence": p1,
        "leastConfidence": 1.0 - p1,
        "margin": p1 - p2,
        "ratio": p2 / p1 if p1 > 0 else 1.0,
        "entropy": h,
        "expectedEntropy": eh,
        "bald": max(h - eh, 0.0),
        "modalClass": modal,
        "variationRatio": 1.0 - votes[modal] / t,
    }


# --------------------------------------------------------------------------------------------
# members
# --------------------------------------------------------------------------------------------


def train_members():
    imgs, labels, tr, te = mf.load_data()
    x_te = mf.normalize(imgs[te]).astype(np.float64)
    for m, seed in MEMBER_SEEDS.items():
        rng = np.random.default_rng(seed)
        boot = np.sort(rng.choice(tr, size=len(tr), replace=True))
        print(f"member{m}: seed {seed}, bootstrap of {len(tr)} ({len(np.unique(boot))} distinct),"
              f" {MEMBER_EPOCHS} epochs", flush=True)
        params = mf.train(imgs[boot], labels[boot], epochs=MEMBER_EPOCHS, seed=seed)
        lg, _ = mf.forward({k: v.astype(np.float64) for k, v in params.items()}, x_te)
        acc = float((lg.argmax(1) == labels[te]).mean())
        print(f"member{m}: held-out accuracy {acc * 100:.2f}%", flush=True)
        if acc < 0.9:
            sys.exit(f"member{m} accuracy below 90%")
        model = mf.export_cnn(params, name=f"digits_cnn_member{m}",
                              doc=f"Digits CNN ensemble member {m}: trained by "
                                  f"scripts/make_tta_fixtures.py with seed {seed} on a bootstrap "
                                  f"resample of the training set. Input (x/255-0.5)/0.5, NCHW gray.")
        sha = mf.save_model(model, DIGITS / f"member{m}.onnx")
        print(f"member{m}.onnx: {(DIGITS / f'member{m}.onnx').stat().st_size} bytes, sha256 {sha}")


# --------------------------------------------------------------------------------------------
# goldens
# --------------------------------------------------------------------------------------------


def sha256_file(p):
    import hashlib
    return hashlib.sha256(p.read_bytes()).hexdigest()


def goldens():
    OUT.mkdir(parents=True, exist_ok=True)
    files = ["model.onnx", "member1.onnx", "member2.onnx"]
    base = json.loads((DIGITS / "manifest.json").read_text())
    man = dict(base)
    del man["sha256"]
    man["name"] = "digits-cnn-ensemble"
    man["description"] = ("The digits CNN and two retrained members (scripts/make_tta_fixtures.py) "
                          "with test-time augmentation (test fixture, not a medical model)")
    man["members"] = [{"name": f, "sha256": sha256_file(DIGITS / f)} for f in files]
    man["tta"] = TTA
    mf.write_json(OUT / "manifest.json", man)

    inp = man["input"]
    sessions = [mf.session(DIGITS / f) for f in files]
    scores = json.loads((ROOT / "tests" / "golden" / "digits_scores.json").read_text())
    exact = [it["file"] for it in scores["items"] if it["exact"]]
    items = []
    for fn in exact:
        x, _, resized = mf.file_tensor(DIGITS / fn)
        assert not resized
        img = x[0]
        rows = []
        for s in sessions:
            batch = np.stack([apply(img, t, "nchw", inp["mean"], inp["std"]) for t in TTA])
            lo = s.run(["logits"], {"image": batch})[0]
            for r in lo:
                rows.append([float(v) for v in mf.softmax64(r)])
        it = {"file": fn, "rows": rows}
        it.update(measures(rows))
        items.append(it)
    bald = [it["bald"] for it in items]
    vr = [it["variationRatio"] for it in items]
    print(f"{len(items)} items, T = {len(files) * len(TTA)}: BALD {min(bald):.3f}..{max(bald):.3f},"
          f" variation ratio {min(vr):.3f}..{max(vr):.3f}")
    mf.write_json(OUT / "ensemble.json", {
        "generator": GENERATOR,
        "onnxruntime": ort.__version__,
        "tolerance": {"rows": 1e-4, "measures": 1e-5},
        "members": files,
        "tta": TTA,
        "t": len(files) * len(TTA),
        "rowOrder": "member-major: row = member * len(tta) + transform",
        "statistics": "rows = softmax(onnxruntime logits) in float64; mean = row mean; entropy = "
                      "H(mean), expectedEntropy = mean H(row), bald = max(H(mean) - mean H(row), 0),"
                      " variationRatio = 1 - votes(modal)/T (argmax ties: lowest index); natural log",
        "items": items,
    })

    # transform checksums: the digits tensor (NCHW gray), and a random non-square NHWC RGB one
    x0, _, _ = mf.file_tensor(DIGITS / exact[0])
    cases = [{"name": "digits", "file": exact[0], "layout": "nchw", "c": 1, "h": 32, "w": 32,
              "mean": inp["mean"], "std": inp["std"], "input": None, "x": x0[0]}]
    rng = np.random.default_rng(mf.SEED + 77)
    h, w, c = 3, 5, 3
    xr = rng.integers(0, 256, size=(h, w, c)).astype(np.float32)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 2.0]
    xr = ((xr / np.float32(255.0) - np.array(mean, np.float32))
          * (np.float32(1.0) / np.array(std, np.float32))).astype(np.float32)
    cases.append({"name": "rgb_nhwc_5x3", "layout": "nhwc", "c": c, "h": h, "w": w,
                  "mean": mean, "std": std, "input": [float(v) for v in xr.ravel()], "x": xr})
    ops = [{"op": "identity"}, {"op": "hflip"}, {"op": "vflip"},
           {"op": "shift", "dx": 2, "dy": -1}, {"op": "shift", "dx": -3, "dy": 2, "fill": "edge"},
           {"op": "shift", "dx": 1, "dy": 1, "fill": "black"}, {"op": "shift", "dx": -4, "dy": 0},
           {"op": "rot90", "k": 2}]
    out_cases = []
    for cs in cases:
        tops = list(ops)
        if cs["h"] == cs["w"]:
            tops += [{"op": "rot90"}, {"op": "rot90", "k": 3}]
        res = []
        for t in tops:
            y = apply(cs["x"], t, cs["layout"], cs["mean"], cs["std"])
            entry = {"transform": t, "checksum": checksum(y)}
            if cs["input"] is not None:
                entry["output"] = [float(v) for v in y.ravel()]
            res.append(entry)
        d = {k: v for k, v in cs.items() if k != "x" and v is not None}
        d["results"] = res
        out_cases.append(d)
    mf.write_json(OUT / "transforms.json", {
        "generator": GENERATOR,
        "checksum": "sum_i x_i * w_i over the flat tensor (manifest layout), "
                    "w_i = ((i * 7919) % 1000 + 1) / 1000, float64",
        "cases": out_cases,
    })


def main():
    if "--golden" not in sys.argv:
        train_members()
    goldens()
    for f in sorted(OUT.glob("*")):
        print(f"  {f.relative_to(ROOT)}  {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A real ONNX model with a multi-label head, and its goldens from onnxruntime.

    .venv/bin/python scripts/make_multilabel_model.py

Run after scripts/make_fixtures.py (it reuses its data, the trained digits CNN and its
preprocessing by import) and scripts/make_tta_fixtures.py (its transforms). Deterministic.

The model: the digits CNN (tests/fixtures/digits/model.onnx) up to its 32-wide embedding,
then a new head Gemm(32 -> 4) giving one logit per "finding" of a digit, and a Sigmoid:

  findings   even (0 2 4 6 8), loop (0 6 8 9), prime (2 3 5 7), over4 (5 6 7 8 9)

A digit shows several findings at once (8 is even, has loops and is over 4), which is the
shape of a chest X-ray model's output (one independent probability per finding). The head
is four logistic regressions (scikit-learn LogisticRegression, lbfgs, C = 1) fitted on the
embeddings onnxruntime computes for the training digits. This is a test fixture, not a
medical model.

What it writes (paths relative to the repository root):

  tests/fixtures/multilabel/model.onnx            outputs "logits" [N,4], "probs" [N,4]
                                                  (= Sigmoid(logits)), "embedding" [N,32]
  tests/fixtures/multilabel/manifest.json         kind multiLabel, activation sigmoid, on "logits"
  tests/fixtures/multilabel/probs_manifest.json   kind multiLabel, activation none, on "probs"
  tests/fixtures/multilabel/tta_manifest.json     the first with tta (identity, hflip, shift)
  tests/golden/multilabel/scores.json             for the lossless 32x32 digit samples:
                                                  onnxruntime logits and probs, the per-finding
                                                  measures and image summary in numpy float64,
                                                  and the same under the three transforms
                                                  (BALD per finding)

Definitions (as src/engine/multilabel/score.rs): p = sigmoid(logit) in float64 (onnxruntime's
"probs" output is checked against it); H(p) = -p ln p - (1-p) ln(1-p); margin = |2p - 1|;
confidence = max(p, 1-p); with T rows: p = mean row, expectedEntropy = mean H(row),
bald = max(H(mean) - expectedEntropy, 0), variationRatio = 1 - max(votes p>=0.5, rest)/T;
summary: present = [j : p_j >= 0.5], pAnyWrong = 1 - prod confidence, leastConfident =
argmin confidence (first), entropy = sum H.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (sets the one-thread BLAS variables before numpy)
import make_tta_fixtures as mt  # noqa: E402

import json  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

ROOT = mf.ROOT
FIX = ROOT / "tests" / "fixtures" / "multilabel"
OUT = ROOT / "tests" / "golden" / "multilabel"
GENERATOR = "scripts/make_multilabel_model.py"
FINDINGS = {
    "even": {0, 2, 4, 6, 8},
    "loop": {0, 6, 8, 9},
    "prime": {2, 3, 5, 7},
    "over4": {5, 6, 7, 8, 9},
}
NAMES = list(FINDINGS)
TTA = [{"op": "identity"}, {"op": "hflip"}, {"op": "shift", "dx": 2, "dy": -1}]


def targets(labels):
    return np.array([[int(int(d) in FINDINGS[f]) for f in NAMES] for d in labels], dtype=np.int64)


def digits_params():
    m = onnx.load(str(mf.DIGITS / "model.onnx"))
    return {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}


def fit_head(emb, y):
    w, b = [], []
    for j, name in enumerate(NAMES):
        lr = LogisticRegression(C=1.0, max_iter=5000).fit(emb, y[:, j])
        w.append(lr.coef_[0])
        b.append(lr.intercept_[0])
    return np.array(w, dtype=np.float32), np.array(b, dtype=np.float32)


def build(params, w, b):
    p = {k: v for k, v in params.items() if k not in ("f2w", "f2b")}
    p["mlw"], p["mlb"] = w, b
    nodes, inits = mf.cnn_graph_nodes(p)
    nodes = [n for n in nodes if n.name != "fc2"]
    nodes.append(helper.make_node("Gemm", ["embedding", "mlw", "mlb"], ["logits"], name="head",
                                  transB=1))
    nodes.append(helper.make_node("Sigmoid", ["logits"], ["probs"], name="sigmoid"))
    k = len(NAMES)
    return mf.make_model(nodes, inits, [mf.vi("image", ["N", 1, mf.SIDE, mf.SIDE])],
                         [mf.vi("logits", ["N", k]), mf.vi("probs", ["N", k]),
                          mf.vi("embedding", ["N", 32])],
                         "digits_multilabel",
                         "Digits CNN body with a 4-finding multi-label head (even, loop, prime, "
                         "over4), trained by scripts/make_multilabel_model.py. Test fixture.")


def sigmoid64(z):
    z = np.asarray(z, dtype=np.float64)
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def h2(p):
    p = np.asarray(p, dtype=np.float64)
    out = np.zeros_like(p)
    for q in (p, 1.0 - p):
        m = q > 0
        out[m] -= q[m] * np.log(q[m])
    return np.maximum(out, 0.0)


def measures(rows):
    rows = np.asarray(rows, dtype=np.float64)
    t, k = rows.shape
    p = rows.mean(axis=0)
    ent = h2(p)
    conf = np.maximum(p, 1.0 - p)
    f = {"probability": p.tolist(), "present": [bool(v >= 0.5) for v in p],
         "confidence": conf.tolist(), "entropy": ent.tolist(),
         "margin": np.abs(2.0 * p - 1.0).tolist()}
    s = {"present": [j for j in range(k) if p[j] >= 0.5],
         "pAnyWrong": float(1.0 - np.prod(conf)),
         "leastConfident": int(np.argmin(conf)), "minConfidence": float(conf.min()),
         "entropy": float(ent.sum())}
    if t > 1:
        eh = h2(rows).mean(axis=0)
        bald = np.maximum(ent - eh, 0.0)
        yes = (rows >= 0.5).sum(axis=0)
        f["expectedEntropy"] = eh.tolist()
        f["bald"] = bald.tolist()
        f["variationRatio"] = (1.0 - np.maximum(yes, t - yes) / t).tolist()
        s["expectedEntropy"] = float(eh.sum())
        s["bald"] = float(bald.sum())
        s["maxBald"] = float(bald.max())
    return f, s


def main():
    FIX.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    imgs, labels, tr, te = mf.load_data()
    body = mf.session(mf.DIGITS / "model.onnx")
    emb_tr = body.run(["embedding"], {"image": mf.normalize(imgs[tr])})[0].astype(np.float64)
    w, b = fit_head(emb_tr, targets(labels[tr]))
    model = build(digits_params(), w, b)
    sha = mf.save_model(model, FIX / "model.onnx")
    sess = mf.session(FIX / "model.onnx")
    lo, pr = sess.run(["logits", "probs"], {"image": mf.normalize(imgs[te])})
    y_te = targets(labels[te])
    acc = ((pr >= 0.5) == (y_te == 1)).mean(axis=0)
    print("held-out accuracy per finding: "
          + ", ".join(f"{n} {a * 100:.1f}%" for n, a in zip(NAMES, acc)))
    assert acc.min() > 0.85, acc
    dsig = float(np.abs(pr - sigmoid64(lo)).max())
    print(f"onnxruntime Sigmoid vs float64 sigmoid of its logits: {dsig:.2e}")
    assert dsig < 1e-6

    inp = json.loads((mf.DIGITS / "manifest.json").read_text())["input"]
    man = {"name": "digits-multilabel",
           "description": "Digits CNN with a multi-label head of 4 findings "
                          "(scripts/make_multilabel_model.py; test fixture, not a medical model)",
           "input": inp,
           "output": {"kind": "multiLabel", "activation": "sigmoid", "classes": NAMES,
                      "name": "logits", "embedding": "embedding"},
           "sha256": sha}
    mf.write_json(FIX / "manifest.json", man)
    pm = json.loads(json.dumps(man))
    pm["output"] = {"kind": "multiLabel", "activation": "none", "classes": NAMES, "name": "probs"}
    mf.write_json(FIX / "probs_manifest.json", pm)
    tm = json.loads(json.dumps(man))
    tm["tta"] = TTA
    mf.write_json(FIX / "tta_manifest.json", tm)

    scores = json.loads((ROOT / "tests" / "golden" / "digits_scores.json").read_text())
    exact = [it["file"] for it in scores["items"] if it["exact"]]
    items = []
    for fn in exact:
        x, _, resized = mf.file_tensor(mf.DIGITS / fn)
        assert not resized
        lg, pb = sess.run(["logits", "probs"], {"image": x})
        f1, s1 = measures(sigmoid64(lg[0])[None, :])
        batch = np.stack([mt.apply(x[0], t, "nchw", inp["mean"], inp["std"]) for t in TTA])
        rows = sigmoid64(sess.run(["logits"], {"image": batch})[0])
        ft, st = measures(rows)
        items.append({"file": fn, "logits": mf.fl(lg[0]), "probs": mf.fl(pb[0]),
                      "findings": f1, "summary": s1,
                      "tta": {"rows": rows.tolist(), "findings": ft, "summary": st}})
    bald = [max(it["tta"]["findings"]["bald"]) for it in items]
    print(f"{len(items)} samples; largest BALD per image under TTA {min(bald):.4f}..{max(bald):.4f}")
    mf.write_json(OUT / "scores.json", {
        "generator": GENERATOR,
        "onnxruntime": ort.__version__,
        "findings": NAMES,
        "heldOutAccuracy": dict(zip(NAMES, [float(a) for a in acc])),
        "tolerance": {"probabilities": 1e-5, "measures": 1e-5},
        "tta": TTA,
        "definitions": __doc__.split("Definitions")[1].strip(),
        "items": items,
    })


if __name__ == "__main__":
    main()

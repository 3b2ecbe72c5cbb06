"""A verified set for the demo's review-queue panel: the digits CNN's probabilities
(onnxruntime) and true labels on the held-out digits that are not among the demo samples.

Regenerate: .venv/bin/python scripts/make_demo_verified.py
Writes tests/fixtures/digits/verified.json ({description, predProbs (n x k, row-major), n, k,
labels}); scripts/build.sh copies it to www/assets/digits/.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_fixtures as mf  # noqa: E402  (pins BLAS to one thread before numpy)
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

DIGITS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "digits"

imgs, labels, _tr, te = mf.load_data()
samples = [np.asarray(Image.open(p).convert("L")) for p in sorted((DIGITS / "samples").glob("d*.png"))]
keep = [i for i in te if not any(np.array_equal(imgs[i], s) for s in samples)]
assert len(te) - len(keep) == len(samples), (len(te), len(keep), len(samples))
sess = mf.session(DIGITS / "model.onnx")
(logits,) = sess.run(["logits"], {"image": mf.normalize(imgs[keep])})
probs = mf.softmax64(logits.astype(np.float64))
acc = float((probs.argmax(1) == labels[keep]).mean())
out = {
    "description": f"digits CNN (onnxruntime) on {len(keep)} held-out digits not among the demo samples; accuracy {acc:.4f}",
    "predProbs": [round(float(v), 9) for v in probs.ravel()],
    "n": len(keep),
    "k": int(probs.shape[1]),
    "labels": [int(v) for v in labels[keep]],
}
(DIGITS / "verified.json").write_text(json.dumps(out) + "\n")
print(f"wrote {DIGITS / 'verified.json'}: {len(keep)} items, accuracy {acc:.4f}")

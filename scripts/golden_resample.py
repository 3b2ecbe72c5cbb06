#!/usr/bin/env python3
"""Golden outputs of PIL's resize for tests/resample.rs (the manifest's `"mode": "pil"`).

Sources (real images with a clear licence, from the scikit-image wheel's data folder, CC0):
  retina.jpg          fundus photograph, M. Häggström, CC0 (decoded by PIL, a 131x117 crop
                      saved losslessly as PNG, so the test decodes exactly PIL's pixels)
  microaneurysms.png  retina detail (HRF database, A. Maier), CC0, 102x102 gray
  camera.png          "cameraman", L. Varshney, CC0 (a 100x80 crop)
They are written to tests/fixtures/resample/ as PNG. For every case PIL resizes the source
(`Image.resize((w, h), filter)`; with `shorterSide`, torchvision's Resize + CenterCrop
geometry), in mode "L"/"RGB" (8 bit, precision "uint8") or "F" (float, precision "float"),
and the outputs go to tests/golden/resample/{cases.json,outputs.bin} (uint8 bytes or
float32 little-endian, concatenated).

    .venv/bin/python scripts/golden_resample.py   # scikit-image: scripts/requirements-medical.txt
"""
import json
import os
from importlib.metadata import version

import numpy as np
from PIL import Image
import skimage

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
fix = os.path.join(root, "tests", "fixtures", "resample")
gold = os.path.join(root, "tests", "golden", "resample")
data = os.path.join(os.path.dirname(skimage.__file__), "data")

FILTERS = {"bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC}


def sources():
    retina = Image.open(os.path.join(data, "retina.jpg")).convert("RGB")
    # a crop across the optic disc and vessels (sharp edges and smooth background)
    w, h = retina.size
    x0, y0 = int(w * 0.55), int(h * 0.38)
    yield "retina_rgb.png", retina.crop((x0, y0, x0 + 131, y0 + 117))
    yield "microaneurysms_gray.png", Image.open(os.path.join(data, "microaneurysms.png")).convert("L")
    cam = Image.open(os.path.join(data, "camera.png")).convert("L")
    yield "camera_gray.png", cam.crop((200, 70, 300, 150))


def torchvision_geometry(w, h, shorter, cw, ch):
    # torchvision.transforms.functional: _compute_resized_output_size and center_crop
    if w <= h:
        nw, nh = shorter, int(shorter * h / w)
    else:
        nw, nh = int(shorter * w / h), shorter
    top = int(round((nh - ch) / 2.0))
    left = int(round((nw - cw) / 2.0))
    return nw, nh, (left, top, left + cw, top + ch)


def main():
    os.makedirs(fix, exist_ok=True)
    os.makedirs(gold, exist_ok=True)
    cases, blob = [], bytearray()
    for name, img in sources():
        img.save(os.path.join(fix, name), optimize=True)
        img = Image.open(os.path.join(fix, name))
        img.load()
        w, h = img.size
        sizes = [
            (w // 3, int(h / 2.6)),  # shrink both (antialiased)
            (w + 29, h * 2 - 7) if img.mode == "L" else (w + 29, h + 13),  # enlarge both
            (w * 2 - 3, h // 3),  # enlarge x, shrink y
            (w, h // 2 + 1),  # vertical pass only
            (w // 4 + 1, h),  # horizontal pass only
        ]
        for filt in FILTERS:
            for si, (tw, th) in enumerate(sizes):
                # float (PIL mode "F") on the shrinking and the mixed case only, to keep the
                # golden file small
                for prec in ("uint8", "float") if si in (0, 2) else ("uint8",):
                    src = img if prec == "uint8" else img.convert("F") if img.mode == "L" else None
                    if src is None:
                        # PIL has no float RGB mode: resize each channel as "F"
                        chans = [c.convert("F").resize((tw, th), FILTERS[filt]) for c in img.split()]
                        out = np.stack([np.asarray(c, dtype=np.float32) for c in chans], axis=-1)
                    else:
                        out = np.asarray(src.resize((tw, th), FILTERS[filt]))
                    out = out.astype(np.uint8 if prec == "uint8" else "<f4")
                    cases.append({"source": name, "filter": filt, "precision": prec,
                                  "width": tw, "height": th, "shorterSide": None,
                                  "offset": len(blob), "bytes": out.nbytes})
                    blob += out.tobytes()
            # torchvision Resize(shorter) + CenterCrop((ch, cw)), uint8 (PIL images)
            shorter, cw, ch = min(w, h) // 2 + 3, min(w, h) // 2 - 4, min(w, h) // 2 - 9
            nw, nh, box = torchvision_geometry(w, h, shorter, cw, ch)
            out = np.asarray(img.resize((nw, nh), FILTERS[filt]).crop(box)).astype(np.uint8)
            cases.append({"source": name, "filter": filt, "precision": "uint8",
                          "width": cw, "height": ch, "shorterSide": shorter,
                          "offset": len(blob), "bytes": out.nbytes})
            blob += out.tobytes()
    with open(os.path.join(gold, "outputs.bin"), "wb") as f:
        f.write(bytes(blob))
    meta = {"pillow": version("pillow"), "numpy": version("numpy"),
            "scikit-image (source images)": version("scikit-image"), "cases": cases}
    with open(os.path.join(gold, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"{len(cases)} cases, {len(blob)} bytes")


if __name__ == "__main__":
    main()

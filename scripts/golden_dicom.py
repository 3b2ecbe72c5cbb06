#!/usr/bin/env python3
"""Golden outputs for the DICOM reader, written with pydicom (the reference reader).

For every file of the DICOM fixture set (tests/fixtures/dicom/, copied from the test files of
the pydicom and pydicom-data wheels, see PROVENANCE.md there) this writes
tests/golden/dicom/<file>.json with what pydicom gives:

- `stored`: per frame, the SHA-256 of `pixel_array` (int64 little endian, samples interleaved,
  YBR converted to RGB as pydicom 3 does by default) and the values at up to 1024 evenly
  spaced sample positions (compared exactly on lossless files, within a stated tolerance on
  lossy ones);
- `voi`: for grayscale frames, the normalized VOI output `(y - y_min) / (y_max - y_min)` of
  `apply_voi_lut(apply_modality_lut(...))` (file window by index, VOI LUT Sequence) and of
  `apply_windowing` with a fixed window in each VOI LUT Function (LINEAR, LINEAR_EXACT,
  SIGMOID), plus min-max, at the same positions; MONOCHROME1 is inverted (1 - v) as the
  engine does by default (a deliberate difference: pydicom leaves it to the viewer);
- `colour`: for colour and palette frames, RGB in [0, 1] (`pixel_array / (2^BitsStored - 1)`,
  `apply_color_lut / (2^depth - 1)`);
- `error`: the exception type when pydicom cannot decode the file.

Usage:
  scripts/golden_dicom.py           # write the goldens from the committed fixtures
  scripts/golden_dicom.py --copy    # (re)copy the fixtures from the installed wheels first
  scripts/golden_dicom.py --bench DIR [RUNS]  # write DIR/bench-dicom.json (pydicom decode ms)
Needs `pip install -r scripts/requirements-dicom.txt` (scripts/bootstrap.sh python).
Files are listed from disk, never fetched: pydicom's get_testdata_file retries the network
for names pydicom-data lacks.
"""

import copy
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import time

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut
from pydicom.pixels.processing import apply_windowing

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "dicom")
GOLDEN = os.path.join(ROOT, "tests", "golden", "dicom")
SAMPLES = 1024
CANARY = "CANARY^Patient^7f3a91"

# (file, source): "pydicom" = pydicom/data/test_files, "pydicom-data" = data_store/data
FILES = [
    ("CT_small.dcm", "pydicom"),
    ("MR_small.dcm", "pydicom"),
    ("MR_small_implicit.dcm", "pydicom"),
    ("MR_small_bigendian.dcm", "pydicom"),
    ("MR_small_RLE.dcm", "pydicom"),
    ("MR_small_jp2klossless.dcm", "pydicom"),
    ("MR_small_jpeg_ls_lossless.dcm", "pydicom"),
    ("MR_small_padded.dcm", "pydicom"),
    ("MR_truncated.dcm", "pydicom"),
    ("image_dfl.dcm", "pydicom"),
    ("ExplVR_BigEnd.dcm", "pydicom"),
    ("JPEG-lossy.dcm", "pydicom"),
    ("JPGExtended.dcm", "pydicom"),
    ("JPEG2000.dcm", "pydicom"),
    ("693_J2KI.dcm", "pydicom"),
    ("GDCMJ2K_TextGBR.dcm", "pydicom"),
    ("J2K_pixelrep_mismatch.dcm", "pydicom"),
    ("JPEGLSNearLossless_08.dcm", "pydicom"),
    ("SC_rgb_jpeg_dcmtk.dcm", "pydicom"),
    ("SC_rgb_dcmtk_+eb+cy+np.dcm", "pydicom"),
    ("SC_rgb_dcmtk_+eb+cr.dcm", "pydicom"),
    ("SC_rgb_jpeg_gdcm.dcm", "pydicom"),
    ("SC_jpeg_no_color_transform.dcm", "pydicom"),
    ("SC_rgb_gdcm_KY.dcm", "pydicom"),
    ("SC_rgb_rle.dcm", "pydicom"),
    ("SC_rgb_rle_16bit_2frame.dcm", "pydicom"),
    ("SC_rgb_rle_32bit.dcm", "pydicom"),
    ("SC_rgb_small_odd.dcm", "pydicom"),
    ("SC_rgb_small_odd_big_endian.dcm", "pydicom"),
    ("SC_ybr_full_422_uncompressed.dcm", "pydicom"),
    ("liver_1frame.dcm", "pydicom"),
    ("examples_ybr_color.dcm", "pydicom"),
    ("examples_palette.dcm", "pydicom"),
    ("rtdose.dcm", "pydicom"),
    ("rtdose_rle_1frame.dcm", "pydicom"),
    ("rtplan.dcm", "pydicom"),
    ("emri_small.dcm", "pydicom-data"),
    ("emri_small_big_endian.dcm", "pydicom-data"),
    ("emri_small_RLE.dcm", "pydicom-data"),
    ("emri_small_jpeg_2k_lossless.dcm", "pydicom-data"),
    ("emri_small_jpeg_2k_lossless_too_short.dcm", "pydicom-data"),
    ("emri_small_jpeg_ls_lossless.dcm", "pydicom-data"),
    ("JPEG-LL.dcm", "pydicom-data"),
    ("693_J2KR.dcm", "pydicom-data"),
    ("MR2_J2KI.dcm", "pydicom-data"),
    ("US1_J2KR.dcm", "pydicom-data"),
    ("color-pl.dcm", "pydicom-data"),
    ("SC_ybr_full_uncompressed.dcm", "pydicom-data"),
    ("gdcm-US-ALOKA-16.dcm", "pydicom-data"),
    ("mlut_18.dcm", "pydicom-data"),
    ("vlut_04.dcm", "pydicom-data"),
]

LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.91",
         "1.2.840.10008.1.2.4.81"}


def source_dirs():
    spec = importlib.util.find_spec("pydicom")
    pyd = os.path.join(os.path.dirname(spec.origin), "data", "test_files")
    spec = importlib.util.find_spec("data_store")
    store = os.path.join(os.path.dirname(spec.origin), "data") if spec else None
    return {"pydicom": pyd, "pydicom-data": store}


def copy_fixtures():
    dirs = source_dirs()
    os.makedirs(FIXTURES, exist_ok=True)
    for name, src in FILES:
        shutil.copyfile(os.path.join(dirs[src], name), os.path.join(FIXTURES, name))
    # the privacy canary: MR_small with patient fields set to a string no output may contain
    ds = pydicom.dcmread(os.path.join(dirs["pydicom"], "MR_small.dcm"))
    ds.PatientName = CANARY
    ds.PatientID = "CANARY-ID-7f3a91"
    ds.PatientBirthDate = "19010101"
    ds.save_as(os.path.join(FIXTURES, "canary.dcm"))


def positions(n):
    if n <= SAMPLES:
        return list(range(n))
    return [int(i) for i in np.linspace(0, n - 1, SAMPLES).round()]


def y_range(ds):
    """pydicom's apply_windowing output range."""
    if ds.get("ModalityLUTSequence"):
        bits = ds.ModalityLUTSequence[0].LUTDescriptor[2]
        lo, hi = 0, 2**bits - 1
    elif ds.PixelRepresentation == 0:
        lo, hi = 0, 2**ds.BitsStored - 1
    else:
        lo, hi = -(2 ** (ds.BitsStored - 1)), 2 ** (ds.BitsStored - 1) - 1
    if ds.get("RescaleSlope") is not None and ds.get("RescaleIntercept") is not None:
        s, i = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        lo, hi = lo * s + i, hi * s + i
    return lo, hi


def frames_of(ds, arr):
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if n == 1:
        return [arr]
    return [arr[i] for i in range(n)]


def voi_entries(ds, frame, idx, inv):
    out = []
    m = apply_modality_lut(frame, ds).astype(np.float64)
    flat_m = m.reshape(-1)

    def add(window, values):
        v = np.asarray(values, dtype=np.float64).reshape(-1)[idx]
        if inv:
            v = 1.0 - v
        out.append({"window": window, "values": [round(float(x), 8) for x in v]})

    if ds.get("VOILUTSequence"):
        for k, item in enumerate(ds.VOILUTSequence):
            bits = item.LUTDescriptor[2]
            y = apply_voi_lut(m.astype(np.int64) if np.all(m == np.floor(m)) else m, ds, index=k)
            add({"mode": "file", "index": k}, np.asarray(y, dtype=np.float64) / (2**bits - 1))
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        wc, ww = ds["WindowCenter"], ds["WindowWidth"]
        count = wc.VM if wc.VM > 1 else 1
        lo, hi = y_range(ds)
        for k in range(min(count, 3)):
            y = apply_voi_lut(m, ds, index=k)
            add({"mode": "file", "index": k}, (np.asarray(y) - lo) / (hi - lo))
    # fixed windows in every function, centred on the data
    mn, mx = float(flat_m.min()), float(flat_m.max())
    center, width = round((mn + mx) / 2, 3), max(round((mx - mn) * 0.6, 3), 2.0)
    lo, hi = y_range(ds)
    for fn, name in [("LINEAR", "linear"), ("LINEAR_EXACT", "linearExact"), ("SIGMOID", "sigmoid")]:
        d = copy.deepcopy(ds)
        for kw in ("VOILUTSequence",):
            if kw in d:
                del d[kw]
        d.WindowCenter, d.WindowWidth, d.VOILUTFunction = center, width, fn
        y = apply_windowing(m.copy(), d)
        add({"mode": "fixed", "center": center, "width": width, "function": name},
            (np.asarray(y) - lo) / (hi - lo))
    span = mx - mn
    add({"mode": "minMax"}, (m - mn) / span if span > 0 else np.zeros_like(m))
    return out


def golden(path):
    name = os.path.basename(path)
    ds = pydicom.dcmread(path, force=True)
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    if not ts and "PixelData" in ds:
        # no file meta: the syntax the data set was read with (what the engine guesses too)
        implicit, little = ds.original_encoding
        ts = {(True, True): pydicom.uid.ImplicitVRLittleEndian,
              (False, True): pydicom.uid.ExplicitVRLittleEndian,
              (False, False): pydicom.uid.ExplicitVRBigEndian}[(implicit, little)]
        ds.file_meta = pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ts
    g = {"file": name, "transferSyntax": ts, "lossless": ts not in LOSSY}
    try:
        arr = ds.pixel_array
    except Exception as e:  # noqa: BLE001 - any pydicom failure is a golden "error"
        g["error"] = type(e).__name__
        return g
    frames = frames_of(ds, arr)
    pi = str(ds.PhotometricInterpretation)
    first = frames[0]
    n = first.size
    idx = positions(n)
    g.update({
        "frames": len(frames), "rows": int(ds.Rows), "columns": int(ds.Columns),
        "samplesPerPixel": int(ds.get("SamplesPerPixel", 1)), "photometric": pi,
        "positions": idx,
        "stored": [{
            "sha256": hashlib.sha256(f.astype("<i8").tobytes()).hexdigest(),
            "values": [int(x) for x in f.astype(np.int64).reshape(-1)[idx]],
        } for f in frames],
    })
    choose = sorted({0, len(frames) // 2, len(frames) - 1})
    if pi in ("MONOCHROME1", "MONOCHROME2"):
        g["voi"] = [{"frame": k, "entries": voi_entries(ds, frames[k], idx, pi == "MONOCHROME1")}
                    for k in choose]
    else:
        g["colour"] = []
        cidx = positions(first.shape[0] * first.shape[1] * 3)
        g["colourPositions"] = cidx
        for k in choose:
            f = frames[k]
            if pi == "PALETTE COLOR":
                rgb = apply_color_lut(f, ds)
                depth = rgb.dtype.itemsize * 8
                v = rgb.astype(np.float64) / (2**depth - 1)
            else:
                v = f.astype(np.float64) / (2 ** int(ds.BitsStored) - 1)
            g["colour"].append({"frame": k, "values": [round(float(x), 8) for x in v.reshape(-1)[cidx]]})
    return g


# The decode benchmark's files (scripts/bench_dicom.sh), all from the pydicom-data wheel: a
# 512x512 CT uncompressed and in JPEG 2000 lossless, CRs in JPEG 2000 lossless and lossy,
# and the 120-frame JPEG baseline ultrasound.
BENCH_FILES = ["693_UNCI.dcm", "693_J2KR.dcm", "RG1_J2KR.dcm", "RG1_J2KI.dcm", "RG3_J2KR.dcm",
               "color3d_jpeg_baseline.dcm"]


def median_ms(runs, f, budget_s=30.0):
    """Median and best ms of `runs` runs after a warm-up; fewer runs (at least 1) when the
    warm-up says they would take more than `budget_s` (pydicom takes about a minute for the
    120-frame ultrasound here). Returns (median, best, runs done)."""
    t = time.perf_counter()
    f()  # warm-up: plugin imports, first-touch allocations
    runs = max(1, min(runs, int(budget_s / max(time.perf_counter() - t, 1e-9))))
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return ts[len(ts) // 2], ts[0], runs


def bench(out_dir, runs=5):
    """pydicom decode times (ms, median and best of `runs` after a warm-up) for the benchmark files:
    `decodeMs` = dcmread + pixel_array (every frame); `decodeWindowMs` adds what our
    decode-and-window does for the model: apply_modality_lut + apply_voi_lut (the file's window)
    for grayscale, the RGB -> gray BT.601 sum for colour."""
    data = source_dirs()["pydicom-data"]
    res = {}
    for name in BENCH_FILES:
        p = os.path.join(data, name)

        def decode():
            return pydicom.dcmread(p).pixel_array

        def decode_window():
            ds = pydicom.dcmread(p)
            a = ds.pixel_array
            if ds.SamplesPerPixel == 1:
                return apply_voi_lut(apply_modality_lut(a, ds), ds)
            return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114

        ds = pydicom.dcmread(p, stop_before_pixels=True)
        res[name] = {
            "path": p,
            "bytes": os.path.getsize(p),
            "frames": int(getattr(ds, "NumberOfFrames", 1) or 1),
            "rows": int(ds.Rows), "columns": int(ds.Columns),
            "samplesPerPixel": int(ds.SamplesPerPixel), "bitsStored": int(ds.BitsStored),
            "modality": str(getattr(ds, "Modality", "")),
            "transferSyntax": str(ds.file_meta.TransferSyntaxUID.name),
        }
        r = res[name]
        r["decodeMs"], r["decodeBestMs"], r["decodeRuns"] = median_ms(runs, decode)
        r["decodeWindowMs"], r["decodeWindowBestMs"], r["runs"] = median_ms(runs, decode_window)
        print(f"pydicom {name}: {r['decodeMs']:.1f} ms decode, {r['decodeWindowMs']:.1f} ms "
              f"decode + window", file=sys.stderr)
    with open(os.path.join(out_dir, "bench-dicom.json"), "w") as f:
        json.dump({"pydicom": pydicom.__version__, "files": res}, f, indent=1)


def write_fixture_list(names):
    """tests/common/dicom_fixtures.rs: every fixture and golden compiled into the tests (the
    same suite runs in Chromium, which has no file system)."""
    lines = [
        "// Generated by scripts/golden_dicom.py: (file, bytes, pydicom golden JSON).",
        "pub const FILES: &[(&str, &[u8], &str)] = &[",
    ]
    for n in names:
        lines.append(f'    (\n        "{n}",\n        include_bytes!("../fixtures/dicom/{n}"),\n'
                     f'        include_str!("../golden/dicom/{n}.json"),\n    ),')
    lines.append("];")
    with open(os.path.join(ROOT, "tests", "common", "dicom_fixtures.rs"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    if "--bench" in sys.argv:
        i = sys.argv.index("--bench")
        runs = int(sys.argv[i + 2]) if len(sys.argv) > i + 2 else 5
        bench(sys.argv[i + 1], runs)
        return
    if "--copy" in sys.argv:
        copy_fixtures()
    os.makedirs(GOLDEN, exist_ok=True)
    for name, _ in FILES + [("canary.dcm", "")]:
        g = golden(os.path.join(FIXTURES, name))
        with open(os.path.join(GOLDEN, name + ".json"), "w") as f:
            json.dump(g, f, separators=(",", ":"))
        print(name, g.get("error", "ok"), file=sys.stderr)
    write_fixture_list([n for n, _ in FILES] + ["canary.dcm"])


if __name__ == "__main__":
    main()

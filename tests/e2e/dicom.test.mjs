// DICOM through the package's worker pool in headless Chromium, from the packed package as the
// demo installs it (www/pkg): real files of tests/fixtures/dicom (from the pydicom and
// pydicom-data wheels) mixed with a PNG and with broken DICOM. Each result must carry
// {sopInstanceUid, frame, modality} as pydicom reads them, score exactly as the engine scores
// the same bytes without the pool, and a broken file must fail alone. A manifest that scores
// every frame gives one result per frame; the pool's preview (the thumbnail) is pydicom's VOI
// output within one grey level.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { useBrowser } from "./browser.mjs";

const root = new URL("../../", import.meta.url);
const fixture = async (name) => (await readFile(new URL(`tests/fixtures/dicom/${name}`, root))).toString("base64");
const golden = async (name) => JSON.parse(await readFile(new URL(`tests/golden/dicom/${name}.json`, root), "utf8"));
const env = useBrowser();

// SOP Instance UID and Modality of the fixtures, as pydicom 3.0.2 reads them
// (`pydicom.dcmread(f).SOPInstanceUID`, `.Modality`).
const IDENTITY = {
  "CT_small.dcm": ["1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322", "CT"],
  "MR_small_RLE.dcm": ["1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457", "MR"],
  "JPGExtended.dcm": ["1.3.6.1.4.1.5962.1.1.8.1.5.20040826185059.5457", "NM"],
  "US1_J2KR.dcm": ["1.3.6.1.4.1.5962.1.1.13.1.2.20040826185059.5457", "US"],
  "emri_small_jpeg_2k_lossless.dcm": ["1.2.826.0.1.3680043.2.1143.6455556726214900995651753669640998622", "MR"],
  "canary.dcm": ["1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457", "MR"],
};
const GOOD = Object.keys(IDENTITY);

// The pool and the page run the same build (init() picks relaxed SIMD in this Chromium). Its
// f32x4.relaxed_madd may be fused in one compiler tier and not in another (V8 compiles a
// module twice: a baseline tier first, an optimizing one for hot code), so the same image can
// differ in the last bits between a worker and the page: equal within 1e-6 here; the SIMD
// and plain builds are deterministic, and equal to the bit.
const SAME = 1e-6;
function assertSameScores(actual, expected, what) {
  assert.equal(actual.length, expected.length, what);
  const d = Math.max(0, ...actual.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(d <= SAME, `${what}: max |difference| ${d}`);
}

async function poolPage() {
  const page = await env.browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${env.origin}/style.css`);
  return { page, errors };
}

// In the page: the fixtures as {id, bytes}, a PNG, a truncated CT_small (cut inside its pixel
// data), CT_small with its pixel data's length field corrupted, and a JPEG-LS file (a syntax
// this build cannot decode).
async function items() {
  const files = {};
  for (const n of [...GOOD, "MR_small_jpeg_ls_lossless.dcm"]) files[n] = await fixture(n);
  const png = (await readFile(new URL("tests/fixtures/digits/samples/d05_label3.png", root))).toString("base64");
  return { files, png };
}

function inPage() {
  // shared helpers, evaluated in the page
  globalThis.b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  globalThis.fixtureItems = (files, png) => {
    const list = Object.entries(files).map(([id, s]) => ({ id, bytes: b64(s) }));
    const ct = b64(files["CT_small.dcm"]);
    list.push({ id: "truncated.dcm", bytes: ct.slice(0, ct.length - 4000) });
    // the Pixel Data element's (7FE0,0010) OW 4-byte length made huge
    const bad = ct.slice();
    const tag = [0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x57];
    const at = bad.findIndex((_, i) => tag.every((t, k) => bad[i + k] === t));
    new DataView(bad.buffer).setUint32(at + 8, 0x7ffffff0, true);
    list.push({ id: "bad-length.dcm", bytes: bad });
    list.splice(2, 0, { id: "digit.png", bytes: b64(png) });
    return list;
  };
}

test("DICOM scored through the worker pool: identity, same scores as the engine, broken files fail alone", async () => {
  const { page, errors } = await poolPage();
  const { files, png } = await items();
  await page.evaluate(inPage);
  const out = await page.evaluate(
    async ({ files, png }) => {
      const mt = await import("/pkg/index.js");
      const { WorkerPool } = await import("/pkg/pool.js");
      await mt.init();
      const model = new Uint8Array(await (await fetch("/assets/digits/model.onnx")).arrayBuffer());
      const manifest = await (await fetch("/assets/digits/manifest.json")).json();
      const list = fixtureItems(files, png);
      // 2 workers, 3 items per message: broken files share messages with good ones
      const pool = new WorkerPool({ workers: 2, chunk: 3 });
      await pool.load(model, manifest);
      const run = pool.score(list.map((it) => ({ id: it.id, bytes: it.bytes.slice() })));
      const summary = await run.finished;
      // the same bytes scored by the engine in this page, without the pool
      const scorer = new mt.Scorer(model, manifest);
      const direct = scorer.scoreBatch(list.map((it) => ({ id: it.id, bytes: it.bytes })));
      pool.terminate();
      const plain = (r) => (r.score ? { ...r, score: { ...r.score, probabilities: Array.from(r.score.probabilities) } } : r);
      return { summary: { ...summary, results: summary.results.map(plain) }, direct };
    },
    { files, png },
  );
  assert.deepEqual(errors, []);
  const { summary, direct } = out;
  const byId = new Map(summary.results.map((r) => [r.id, r]));
  assert.equal(summary.results.length, GOOD.length + 4);
  assert.equal(summary.failed, 3, JSON.stringify(summary.results.filter((r) => r.error)));
  for (const name of GOOD) {
    const r = byId.get(name);
    assert.ok(r?.score, `${name}: ${JSON.stringify(r?.error)}`);
    const [uid, modality] = IDENTITY[name];
    assert.deepEqual(r.score.dicom, { sopInstanceUid: uid, frame: 0, modality }, name);
    const d = direct.find((x) => x.id === name);
    assertSameScores(r.score.probabilities, d.score.probabilities, `${name}: pool and engine`);
    assert.equal(r.score.probabilities.length, 10);
  }
  assert.ok(byId.get("digit.png").score, "the PNG among DICOM files is scored");
  assert.equal(byId.get("digit.png").score.dicom, undefined);
  assert.equal(byId.get("truncated.dcm").error.code, "image_decode");
  assert.equal(byId.get("bad-length.dcm").error.code, "image_decode");
  const ls = byId.get("MR_small_jpeg_ls_lossless.dcm").error;
  assert.equal(ls.code, "unsupported_transfer_syntax");
  assert.match(ls.message, /JPEG-LS Lossless Image Compression \(1\.2\.840\.10008\.1\.2\.4\.80\)/);
  // the canary's patient fields never reach a result or an error
  assert.ok(!JSON.stringify(summary).includes("CANARY"), "patient data in a result");
});

test("a manifest that scores every frame: one pool result per frame, in order", async () => {
  const { page, errors } = await poolPage();
  const names = ["emri_small_jpeg_2k_lossless.dcm", "CT_small.dcm"];
  const files = {};
  for (const n of names) files[n] = await fixture(n);
  await page.evaluate(inPage);
  const out = await page.evaluate(
    async ({ files }) => {
      const mt = await import("/pkg/index.js");
      const { WorkerPool } = await import("/pkg/pool.js");
      await mt.init();
      const model = new Uint8Array(await (await fetch("/assets/digits/model.onnx")).arrayBuffer());
      const manifest = await (await fetch("/assets/digits/manifest.json")).json();
      manifest.input.dicom = { frame: { mode: "each" }, window: { mode: "minMax" } };
      const ct = b64(files["CT_small.dcm"]);
      const list = [
        { id: "emri", bytes: b64(files["emri_small_jpeg_2k_lossless.dcm"]) },
        { id: "broken", bytes: ct.slice(0, 600) },
        { id: "ct", bytes: ct },
      ];
      const pool = new WorkerPool({ workers: 2, chunk: 2 });
      await pool.load(model, manifest);
      const perItem = [];
      const run = pool.score(
        list.map((it) => ({ id: it.id, bytes: it.bytes.slice() })),
        { onResult: ({ index, result }) => perItem.push({ index, frames: result.frames?.length ?? null }) },
      );
      const summary = await run.finished;
      const scorer = new mt.Scorer(model, manifest);
      const direct = scorer.scoreBatch(list);
      pool.terminate();
      const strip = (r) => (r.score ? { id: r.id, dicom: r.score.dicom, p: Array.from(r.score.probabilities) } : { id: r.id, error: r.error });
      return { results: summary.results.map(strip), done: summary.done, failed: summary.failed, direct: direct.map(strip), perItem };
    },
    { files },
  );
  assert.deepEqual(errors, []);
  const [uid] = IDENTITY["emri_small_jpeg_2k_lossless.dcm"];
  const [ctUid] = IDENTITY["CT_small.dcm"];
  assert.equal(out.done, 3);
  assert.equal(out.failed, 1);
  assert.deepEqual(
    out.results.map((r) => r.id),
    [...Array.from({ length: 10 }, (_, f) => `${uid}#${f}`), "broken", `${ctUid}#0`],
  );
  out.results.slice(0, 10).forEach((r, f) => assert.deepEqual(r.dicom, { sopInstanceUid: uid, frame: f, modality: "MR" }));
  assert.equal(out.results[10].error.code, "image_decode");
  // what the engine gives for the same batch
  const noP = (r) => ({ ...r, p: undefined });
  assert.deepEqual(out.results.map(noP), out.direct.map(noP));
  out.results.forEach((r, i) => r.p && assertSameScores(r.p, out.direct[i].p, r.id));
  assert.deepEqual(out.perItem.sort((a, b) => a.index - b.index), [
    { index: 0, frames: 10 },
    { index: 1, frames: null },
    { index: 2, frames: 1 },
  ]);
});

test("the pool's preview is the windowed frame the model sees: pydicom's VOI output within one grey level", async () => {
  const { page, errors } = await poolPage();
  const name = "MR_small_RLE.dcm";
  const g = await golden(name);
  const entry = g.voi[0].entries.find((e) => e.window.mode === "file");
  const bytes = await fixture(name);
  await page.evaluate(inPage);
  const p = await page.evaluate(
    async ({ bytes }) => {
      const mt = await import("/pkg/index.js");
      const { WorkerPool } = await import("/pkg/pool.js");
      await mt.init();
      const model = new Uint8Array(await (await fetch("/assets/digits/model.onnx")).arrayBuffer());
      const manifest = await (await fetch("/assets/digits/manifest.json")).json();
      const pool = new WorkerPool({ workers: 1 });
      await pool.load(model, manifest);
      const p = await pool.preview(b64(bytes));
      // the frame as the model gets it before resize, from the engine directly
      const frames = mt.dicomFrames(b64(bytes), manifest.input.dicom, manifest.input.channels);
      pool.terminate();
      return { width: p.width, height: p.height, window: p.window, identity: p.identity, rgba: Array.from(p.rgba), model: Array.from(frames[0].pixels), channels: frames[0].channels };
    },
    { bytes },
  );
  assert.deepEqual(errors, []);
  assert.equal(p.width, g.columns);
  assert.equal(p.height, g.rows);
  assert.equal(p.window.source, "file");
  assert.ok(Number.isFinite(p.window.center) && p.window.width > 0, JSON.stringify(p.window));
  assert.equal(p.identity.modality, "MR");
  assert.equal(p.channels, 1, "the digits model is gray: the preview is its gray input");
  let worst = 0;
  g.positions.forEach((pos, i) => {
    const want = Math.round(255 * entry.values[i]);
    const px = p.rgba.slice(pos * 4, pos * 4 + 4);
    assert.equal(px[0], px[1]);
    assert.equal(px[1], px[2]);
    assert.equal(px[3], 255);
    worst = Math.max(worst, Math.abs(px[0] - want));
  });
  assert.ok(worst <= 1, `preview differs from pydicom's VOI output by ${worst} grey levels`);
  // and it is the model's input, rounded to 8 bits, everywhere
  p.model.forEach((v, i) => assert.equal(p.rgba[i * 4], Math.round(Math.min(1, Math.max(0, v)) * 255)));
});

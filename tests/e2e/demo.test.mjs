// The demo end to end in headless Chromium (Debian's, driven by playwright-core): the page
// loads the bundled model and samples, scores them in Web Workers, and shows the queue. We
// check the queue order against onnxruntime's golden probabilities, the per-image results,
// a corrupt image failing alone, and that no request leaves the page's origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { foreignRequests, useBrowser } from "./browser.mjs";

const root = new URL("../../", import.meta.url);
const golden = JSON.parse(await readFile(new URL("tests/golden/digits_scores.json", root), "utf8"));
const env = useBrowser();

async function openDemo(query = "") {
  const page = await env.browser.newPage();
  const requests = [];
  const errors = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => errors.push(String(e)));
  // workers' requests too
  page.context().on("request", (r) => requests.push(r.url()));
  await page.goto(`${env.origin}/${query}`);
  return { page, requests, errors };
}

async function waitDone(page, timeout = 240_000) {
  await page.waitForFunction(() => ["done", "error"].includes(window.__medtriage?.status), null, { timeout });
  const st = await page.evaluate(() => ({ status: window.__medtriage.status, error: window.__medtriage.error }));
  assert.equal(st.status, "done", JSON.stringify(st.error));
}

const entropy = (p) => -p.reduce((s, v) => (v > 0 ? s + v * Math.log(v) : s), 0);

test("bundled samples are scored in workers and queued most uncertain first", async () => {
  const { page, requests, errors } = await openDemo();
  await waitDone(page);
  const { results, queue, model, msPerImage } = await page.evaluate(() => ({
    results: window.__medtriage.results,
    queue: window.__medtriage.queue,
    model: window.__medtriage.model,
    msPerImage: window.__medtriage.msPerImage,
  }));
  console.log(`# demo: ${results.length} images, ${msPerImage.toFixed(2)} ms/image, variant ${model.variant}`);
  assert.equal(model.simd, true, "SIMD build chosen in Chromium");
  const byFile = new Map(golden.items.map((it) => [it.file.split("/").pop(), it]));
  const samples = golden.items.filter((it) => /\/d\d\d_/.test(it.file));
  assert.equal(results.length, samples.length);
  for (const r of results) {
    const g = byFile.get(r.id);
    assert.ok(g, r.id);
    assert.ok(r.score, `${r.id}: ${JSON.stringify(r.error)}`);
    const d = Math.max(...r.score.probabilities.map((p, i) => Math.abs(p - g.probabilities[i])));
    assert.ok(d < 1e-4, `${r.id}: probabilities differ by ${d}`);
  }
  // expected order: golden entropies descending (ties within 1e-4 may go either way)
  const want = samples
    .map((it) => ({ id: it.file.split("/").pop(), h: entropy(it.probabilities) }))
    .sort((a, b) => b.h - a.h);
  assert.equal(queue.order.length, want.length);
  const pos = new Map(queue.order.map((id, i) => [id, i]));
  for (let i = 0; i + 1 < want.length; i++) {
    if (want[i].h - want[i + 1].h > 1e-4) assert.ok(pos.get(want[i].id) < pos.get(want[i + 1].id), `${want[i].id} before ${want[i + 1].id}`);
  }
  // the table shows the same order, with thumbnails, top class and confidence
  const rows = await page.$$eval("#queue tbody tr", (trs) =>
    trs.map((tr) => ({ id: tr.dataset.id, top: tr.children[3].textContent, img: tr.querySelector("img")?.src ?? "" })),
  );
  assert.deepEqual(rows.map((r) => r.id), queue.order);
  for (const r of rows) {
    const g = byFile.get(r.id);
    assert.equal(r.top, golden.classes[g.probabilities.indexOf(Math.max(...g.probabilities))]);
    assert.ok(r.img.startsWith("blob:"), "thumbnail from a local blob");
  }
  assert.deepEqual(errors, []);
  // privacy: every request stayed on the page's own origin (or local blob:/data: URLs)
  const foreign = foreignRequests(requests, env.origin);
  assert.deepEqual(foreign, [], "requests outside the page's origin");
  assert.ok(requests.some((u) => u.endsWith(".wasm")), "the wasm was loaded from the origin");
  await page.close();
});

test("a corrupt image fails alone and is listed apart; the rest are ranked", async () => {
  const { page, requests } = await openDemo("?auto=0");
  await page.waitForFunction(() => window.__medtriage?.status === "images-ready", null, { timeout: 120_000 });
  const bad = await readFile(new URL("tests/fixtures/bad/truncated.png", root));
  const good = await readFile(new URL("tests/fixtures/digits/samples/d05_label3.png", root));
  const dir = await mkdtemp(join(tmpdir(), "medtriage-e2e-"));
  const { writeFile } = await import("node:fs/promises");
  await writeFile(join(dir, "broken.png"), bad);
  await writeFile(join(dir, "ok.png"), good);
  await page.setInputFiles("#image-files", [join(dir, "broken.png"), join(dir, "ok.png")]);
  await page.waitForFunction(() => window.__medtriage.status === "images-ready");
  await page.click("#score");
  await waitDone(page);
  const q = await page.evaluate(() => window.__medtriage.queue);
  assert.deepEqual(q.order, ["ok.png"]);
  assert.deepEqual(q.failed, ["broken.png"]);
  const failedText = await page.textContent("#failed");
  assert.match(failedText, /broken\.png: image_decode/);
  const foreign = foreignRequests(requests, env.origin);
  assert.deepEqual(foreign, []);
  await page.close();
});

test("DICOM files are scored, with thumbnails rendered in the model's window and the window shown", async () => {
  const { page, requests, errors } = await openDemo("?auto=0&store=0");
  await page.waitForFunction(() => window.__medtriage?.status === "images-ready", null, { timeout: 120_000 });
  const dir = await mkdtemp(join(tmpdir(), "medtriage-e2e-"));
  const { writeFile, copyFile } = await import("node:fs/promises");
  const fx = (n) => new URL(`tests/fixtures/dicom/${n}`, root).pathname;
  // an extension-less file is taken by its content, as DICOM often comes (IM0001, 1.2.840…)
  await copyFile(fx("MR_small_RLE.dcm"), join(dir, "IM0001"));
  await copyFile(fx("US1_J2KR.dcm"), join(dir, "us.dcm"));
  await copyFile(fx("MR_small_jpeg_ls_lossless.dcm"), join(dir, "jpegls.dcm"));
  await writeFile(join(dir, "notes.txt"), "not an image");
  await page.setInputFiles("#image-files", ["IM0001", "us.dcm", "jpegls.dcm", "notes.txt"].map((f) => join(dir, f)));
  await page.waitForFunction(() => window.__medtriage.status === "images-ready");
  await page.click("#score");
  await waitDone(page);
  const { results, previews, queue } = await page.evaluate(() => ({
    results: window.__medtriage.results,
    previews: window.__medtriage.previews,
    queue: window.__medtriage.queue,
  }));
  assert.deepEqual(results.map((r) => r.id).sort(), ["IM0001", "jpegls.dcm", "us.dcm"], "the text file is left out");
  assert.deepEqual(queue.failed, ["jpegls.dcm"]);
  assert.match(await page.textContent("#failed"), /jpegls\.dcm: unsupported_transfer_syntax/);
  const mr = results.find((r) => r.id === "IM0001").score;
  assert.equal(mr.dicom.modality, "MR");
  // the thumbnail is the engine's rendering of the frame the model saw, with that window
  const g = JSON.parse(await readFile(new URL("tests/golden/dicom/MR_small_RLE.dcm.json", root), "utf8"));
  assert.equal(previews.IM0001.width, g.columns);
  assert.equal(previews.IM0001.window.source, "file");
  assert.equal(previews["us.dcm"].window.source, "none", "colour has no window");
  const rows = await page.$$eval("#queue tbody tr", (trs) =>
    trs.map((tr) => ({ id: tr.dataset.id, caption: tr.querySelector("figcaption")?.textContent ?? "", img: tr.querySelector("img") })),
  );
  const shown = await page.$$eval("#queue tbody tr img", (imgs) => imgs.map((i) => ({ id: i.alt, w: i.naturalWidth, h: i.naturalHeight, src: i.src })));
  const w = previews.IM0001.window;
  const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
  assert.equal(rows.find((r) => r.id === "IM0001").caption, `MR: file window C ${num(w.center)} / W ${num(w.width)}${w.function ? `, ${w.function}` : ""}`);
  assert.match(rows.find((r) => r.id === "us.dcm").caption, /^US: colour, no window/);
  const im = shown.find((s) => s.id === "IM0001");
  assert.deepEqual([im.w, im.h], [g.columns, g.rows]);
  assert.ok(im.src.startsWith("blob:"));
  assert.deepEqual(errors, []);
  assert.deepEqual(foreignRequests(requests, env.origin), []);
  await page.close();
});

test("scores survive a reload (IndexedDB) and are forgotten on request", async () => {
  const { page, requests, errors } = await openDemo();
  await waitDone(page);
  const first = await page.evaluate(() => ({
    fromCache: window.__medtriage.fromCache,
    scoredNow: window.__medtriage.scoredNow,
    stored: window.__medtriage.stored,
    order: window.__medtriage.queue.order,
  }));
  assert.equal(first.fromCache, 0);
  assert.equal(first.scoredNow, first.order.length);
  assert.equal(first.stored, first.order.length, "every successful score is stored");
  // a reload: the same model, manifest and images -> nothing is scored again
  await page.reload();
  await waitDone(page);
  const second = await page.evaluate(() => ({
    fromCache: window.__medtriage.fromCache,
    scoredNow: window.__medtriage.scoredNow,
    order: window.__medtriage.queue.order,
    status: document.getElementById("status").textContent,
  }));
  assert.equal(second.fromCache, first.order.length);
  assert.equal(second.scoredNow, 0);
  assert.deepEqual(second.order, first.order, "the same queue after the reload");
  assert.match(second.status, /stored score\(s\) reused/);
  // the store really is this browser's IndexedDB
  const dbs = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
  assert.ok(dbs.includes("medtriage"));
  // forget -> the next run scores everything again
  await page.click("#forget");
  await page.waitForFunction(() => window.__medtriage.stored === 0);
  await page.evaluate(() => (window.__medtriage.status = "rescoring"));
  await page.click("#score");
  await waitDone(page);
  assert.equal(await page.evaluate(() => window.__medtriage.scoredNow), first.order.length);
  assert.deepEqual(errors, []);
  const foreign = foreignRequests(requests, env.origin);
  assert.deepEqual(foreign, [], "requests outside the page's origin");
  await page.close();
});

test("an ensemble with test-time augmentation ranks by BALD in the workers", async () => {
  const { page, requests, errors } = await openDemo("?auto=0&store=0");
  await page.waitForFunction(() => window.__medtriage?.status === "images-ready", null, { timeout: 120_000 });
  await page.click("#use-ensemble");
  await page.waitForFunction(() => window.__medtriage.model?.members === 3, null, { timeout: 120_000 });
  const info = await page.evaluate(() => window.__medtriage.model);
  assert.equal(info.samplesPerImage, 18, "3 members x 6 transforms");
  assert.equal(await page.$eval("#measure", (s) => s.value), "bald");
  await page.evaluate(() => (window.__medtriage.status = "rescoring"));
  await page.click("#score");
  await waitDone(page);
  const { results, queue } = await page.evaluate(() => ({ results: window.__medtriage.results, queue: window.__medtriage.queue }));
  assert.equal(results.length, 24);
  const byId = new Map(results.map((r) => [r.id, r.score]));
  for (const r of results) {
    assert.ok(r.score, `${r.id} failed: ${JSON.stringify(r.error)}`);
    const s = r.score;
    assert.ok(s.bald >= 0 && s.bald <= s.entropy + 1e-9, `${r.id}: BALD ${s.bald}, entropy ${s.entropy}`);
    assert.ok(Math.abs(s.entropy - (s.expectedEntropy + s.bald)) < 1e-6);
    assert.ok(Math.abs(s.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  }
  // the queue is ordered by BALD, most uncertain first
  assert.deepEqual(queue.values, queue.order.map((id) => byId.get(id).bald));
  for (let i = 0; i + 1 < queue.values.length; i++) assert.ok(queue.values[i] >= queue.values[i + 1]);
  assert.match(await page.$eval("#model-info", (e) => e.textContent), /3 model\(s\) x 6 view\(s\) = 18 rows/);
  assert.deepEqual(errors, []);
  const foreign = foreignRequests(requests, env.origin);
  assert.deepEqual(foreign, [], "requests outside the page's origin");
  await page.close();
});

test("tiers with reasons for the scored samples, from the bundled verified set", async () => {
  const { page, requests, errors } = await openDemo("?store=0");
  await waitDone(page);
  await page.click("#tiers");
  await page.waitForFunction(() => window.__medtriage.tiers, null, { timeout: 60_000 });
  const { tiers, results } = await page.evaluate(() => ({ tiers: window.__medtriage.tiers, results: window.__medtriage.results }));
  const c = tiers.counts;
  assert.equal(c.autoAccept + c.lightReview + c.expertReview + c.suspectedLabelError + c.outlier + c.failed, 24);
  assert.ok(tiers.fitted.guarantee, tiers.fitted.autoAcceptRefused);
  assert.match(tiers.fitted.guarantee, /at most 5\.00%/);
  assert.ok(c.autoAccept > 0, JSON.stringify(c));
  for (const it of tiers.items) {
    const id = results[it.index].id;
    assert.ok(it.reasons.length > 0, id);
    assert.equal(it.givenLabel, Number(/label(\d+)/.exec(id)[1]), id);
    // the model disagreeing with the file's label is never auto-accepted, and says why
    if (it.predicted !== it.givenLabel) {
      assert.notEqual(it.tier, "autoAccept", id);
      assert.ok(it.reasons.some((r) => ["labelAgreement", "labelIssue"].includes(r.signal)), id);
    }
  }
  const rows = await page.$$eval("#tier-table tbody tr", (trs) => trs.map((tr) => tr.children[1].textContent));
  assert.equal(rows.length, 24);
  assert.equal(rows.filter((t) => t === "autoAccept").length, c.autoAccept);
  assert.deepEqual(errors, []);
  const foreign = foreignRequests(requests, env.origin);
  assert.deepEqual(foreign, [], "requests outside the page's origin");
  await page.close();
});

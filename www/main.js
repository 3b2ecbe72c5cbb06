// The demo page: picks a model + manifest + images, scores them in a worker pool, and shows
// the review queue most uncertain first. All work happens in this page; the only requests are
// for the page's own files (the bundled model and samples included).
// The package is imported exactly as a host without a bundler would: from where its tarball
// was unpacked (scripts/build.sh puts it in www/pkg/).
import { WorkerPool } from "./pkg/pool.js";
import { openStore } from "./pkg/store.js";

const $ = (id) => document.getElementById(id);
// one worker per core, at most 4 (the page stays responsive)
const state = { pool: new WorkerPool({ workers: Math.min(4, navigator.hardwareConcurrency || 2) }), model: null, manifest: null, images: [], results: null, queue: null };
window.__medtriage = { status: "loading", state };
// scores survive a reload (IndexedDB, this browser only); ?store=0 turns it off
const storeP =
  new URLSearchParams(location.search).get("store") === "0"
    ? Promise.resolve(null)
    : openStore().catch(() => null);

async function showStore() {
  const store = await storeP;
  const n = store ? await store.count() : 0;
  window.__medtriage.stored = n;
  $("store-info").textContent = store ? `${n} stored score(s)` : "not available";
}

function setStatus(s, detail = "") {
  window.__medtriage.status = s;
  $("status").textContent = detail || s;
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.arrayBuffer();
}

async function loadModel(modelBytes, manifest) {
  setStatus("loading-model", "loading model…");
  $("score").disabled = true;
  const models = Array.isArray(modelBytes) ? modelBytes : [modelBytes];
  state.verified = null; // a verified set belongs to one model
  $("tiers").disabled = true;
  // the models' and the manifest's hashes key the stored scores (info.modelKey)
  const info = await state.pool.load(models, manifest);
  // DICOM thumbnails show this model's window: render them again for the new manifest
  for (const im of state.images) if (im.dicom) Object.assign(im, { url: null, preview: null, previewError: null });
  state.modelKey = info.modelKey;
  state.model = modelBytes;
  state.manifest = manifest;
  const rows = info.samplesPerImage > 1 ? `, ${info.members} model(s) x ${info.samplesPerImage / info.members} view(s) = ${info.samplesPerImage} rows per image` : "";
  $("model-info").textContent = `${manifest.name ?? "model"}: ${manifest.output.classes.length} classes${rows}, ` +
    `${info.variant} (${info.simd ? "SIMD" : "no SIMD"}), ${state.pool.size} worker(s)`;
  $("score").disabled = state.images.length === 0;
  const multi = manifest.output.kind === "multiLabel";
  const heads = multi ? ["findings present", "P(all findings right)", "uncertainty", "per-finding probability"]
    : ["top class", "confidence", "uncertainty", "runner-up"];
  [...$("queue").querySelectorAll("thead th")].slice(3).forEach((th, j) => (th.textContent = heads[j]));
  window.__medtriage.model = info;
  setStatus("model-ready", "model ready");
}

function setImages(list) {
  state.images.forEach((im) => im.url && URL.revokeObjectURL(im.url));
  // DICOM gets its thumbnail from the model's own rendering (previews()), never from the browser
  state.images = list.map((im) => {
    const dicom = looksDicom(im.bytes);
    return { ...im, dicom, url: dicom ? null : URL.createObjectURL(new Blob([im.bytes])) };
  });
  $("score").disabled = !state.model || state.images.length === 0;
  setStatus("images-ready", `${state.images.length} image(s) ready`);
}

/** DICOM by content: the preamble + "DICM", or "DICM" first; the engine also takes a bare data
 * set, which is sent as it is (it decides, not the file name). */
function looksDicom(bytes) {
  const b = new Uint8Array(bytes, 0, Math.min(132, bytes.byteLength));
  const dicm = (at) => b.length >= at + 4 && b[at] === 0x44 && b[at + 1] === 0x49 && b[at + 2] === 0x43 && b[at + 3] === 0x4d;
  return dicm(128) || dicm(0);
}

async function filesToImages(files) {
  const imgs = [];
  for (const f of files) {
    const named = /\.(png|jpe?g|dcm|dicom)$/i.test(f.name) || /^(image\/(png|jpeg)|application\/dicom)$/.test(f.type);
    // extension-less or oddly named files (DICOM often is: IM0001, 1.2.840.…) are taken when their bytes are DICOM
    if (!named && !looksDicom(await f.slice(0, 132).arrayBuffer())) continue;
    imgs.push({ id: f.webkitRelativePath || f.name, bytes: await f.arrayBuffer() });
  }
  imgs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return imgs;
}

async function useBundled() {
  const base = new URL("assets/digits/", location.href);
  const index = await (await fetch(new URL("index.json", base))).json();
  const [model, manifest] = await Promise.all([
    fetchBytes(new URL(index.model, base)),
    fetch(new URL(index.manifest, base)).then((r) => r.json()),
  ]);
  await loadModel(model, manifest);
  await bundledVerified();
  return index;
}

async function bundledVerified() {
  const base = new URL("assets/digits/", location.href);
  state.verified = await (await fetch(new URL("verified.json", base))).json();
}

/** Tiers for the scored images: given labels from file names, the verified set as loaded. */
async function assignTiers() {
  if (!state.results || !state.verified) throw Object.assign(new Error("score images and load a verified set first"), { code: "invalid_input" });
  const v = state.verified;
  const k = v.k;
  const n = state.results.length;
  const probs = new Float64Array(n * k).fill(NaN);
  const failed = [];
  const given = new Int32Array(n).fill(-1);
  state.results.forEach((r, i) => {
    if (r.score && r.score.probabilities.length === k) probs.set(r.score.probabilities, i * k);
    else failed.push(i);
    const m = /label(\d+)/.exec(r.id);
    if (m && Number(m[1]) < k) given[i] = Number(m[1]);
  });
  const tiers = await state.pool.call("tierItems", {
    k,
    verified: { predProbs: v.predProbs, n: v.n, labels: v.labels },
    pool: { predProbs: Array.from(probs), n, givenLabels: Array.from(given), failed },
    policy: { autoAccept: { alpha: 0.05, delta: 0.1 } },
  });
  state.tiers = tiers;
  window.__medtriage.tiers = tiers;
  const c = tiers.counts;
  $("tier-info").textContent = `${c.autoAccept} auto-accepted, ${c.lightReview} light review, ${c.expertReview} expert, ` +
    `${c.suspectedLabelError} suspected label error, ${c.outlier} outlier, ${c.failed} failed. ` +
    (tiers.fitted.guarantee ?? `No auto-accept: ${tiers.fitted.autoAcceptRefused}`);
  const tbody = $("tier-table").querySelector("tbody");
  tbody.replaceChildren();
  const rank = [...tiers.order, ...tiers.items.filter((it) => it.tier === "autoAccept").map((it) => it.index)];
  for (const i of rank) {
    const it = tiers.items[i];
    const tr = document.createElement("tr");
    tr.dataset.id = state.results[i].id;
    tr.className = `tier-${it.tier}`;
    for (const c of [state.results[i].id, it.tier, it.givenLabel ?? "", it.predicted ?? "", it.reasons.map((r) => r.message).join(" ")]) {
      const td = document.createElement("td");
      td.textContent = String(c);
      tr.append(td);
    }
    tbody.append(tr);
  }
}

async function useBundledEnsemble() {
  const base = new URL("assets/digits/", location.href);
  const index = await (await fetch(new URL("index.json", base))).json();
  const [models, manifest] = await Promise.all([
    Promise.all(index.ensemble.models.map((m) => fetchBytes(new URL(m, base)))),
    fetch(new URL(index.ensemble.manifest, base)).then((r) => r.json()),
  ]);
  await loadModel(models, manifest); // (no verified set: the bundled one is the single model's)
  if (!state.images.length) await bundledSamples(index);
  $("measure").value = "bald";
}

async function bundledSamples(index) {
  const base = new URL("assets/digits/", location.href);
  index ??= await (await fetch(new URL("index.json", base))).json();
  const imgs = await Promise.all(index.samples.map(async (s) => ({ id: s.split("/").pop(), bytes: await fetchBytes(new URL(s, base)) })));
  setImages(imgs);
}

async function score() {
  if (!state.model || !state.images.length) return;
  setStatus("scoring", "scoring…");
  $("score").disabled = true;
  const t0 = performance.now();
  const store = await storeP;
  const total = state.images.length;
  const run = state.pool.score(
    state.images.map((im) => ({ id: im.id, bytes: im.bytes })),
    {
      store,
      onProgress: ({ done, failed, cached, rate, etaSeconds }) => {
        $("progress").max = total;
        $("progress").value = done;
        $("progress-text").textContent =
          `${done} / ${total}${cached ? ` (${cached} stored)` : ""}${failed ? `, ${failed} failed` : ""}` +
          (rate > 0 && etaSeconds ? `, ${rate.toFixed(0)} images/s, ${etaSeconds.toFixed(0)} s left` : "");
      },
    },
  );
  const summary = await run.finished;
  const results = summary.results;
  window.__medtriage.fromCache = summary.cached;
  window.__medtriage.scoredNow = summary.scored;
  await showStore();
  const ms = performance.now() - t0;
  state.results = results;
  $("tiers").disabled = !state.verified;
  await render();
  $("score").disabled = false;
  window.__medtriage.msPerImage = ms / results.length;
  const reused = summary.cached ? `, ${summary.cached} stored score(s) reused` : "";
  setStatus("done", `${results.length} image(s) in ${ms.toFixed(0)} ms (${(ms / results.length).toFixed(1)} ms/image${reused})`);
}

/** "file window C 40 / W 400, linear (SOFT TISSUE)" and the like, from the engine's AppliedWindow. */
function describeWindow(w) {
  if (!w) return "";
  const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
  const cw = w.center !== undefined ? ` C ${num(w.center)} / W ${num(w.width)}` : "";
  const what = { file: "file window", fixed: "fixed window", minMax: "min-max", voiLut: "VOI LUT", none: "colour, no window" }[w.source] ?? w.source;
  return `${what}${cw}${w.function ? `, ${w.function}` : ""}${w.explanation ? ` (${w.explanation})` : ""}`;
}

/** Thumbnails of DICOM images: the frame exactly as the loaded model sees it (its window, frame
 * and channels, before resize), rendered by a worker of the pool. */
async function previews() {
  for (const im of state.images) {
    if (!im.dicom || im.url || im.previewError) continue;
    try {
      const p = await state.pool.preview(im.bytes);
      const canvas = document.createElement("canvas");
      canvas.width = p.width;
      canvas.height = p.height;
      canvas.getContext("2d").putImageData(new ImageData(p.rgba, p.width, p.height), 0, 0);
      const blob = await new Promise((ok) => canvas.toBlob(ok, "image/png"));
      im.url = URL.createObjectURL(blob);
      im.preview = { width: p.width, height: p.height, window: p.window, identity: p.identity };
    } catch (e) {
      im.previewError = { code: e.code, message: e.message };
    }
  }
  window.__medtriage.previews = Object.fromEntries(state.images.filter((im) => im.dicom).map((im) => [im.id, im.preview ?? { error: im.previewError }]));
}

async function render() {
  await previews();
  const measure = $("measure").value;
  const queue = await state.pool.rank(state.results, measure);
  state.queue = queue;
  window.__medtriage.queue = queue;
  window.__medtriage.results = state.results;
  const byId = new Map(state.results.map((r) => [r.id, r]));
  const urls = new Map(state.images.map((im) => [im.id, im]));
  // frames scored one by one ("SOPInstanceUID#frame") show their object's thumbnail
  const bySop = new Map(state.images.filter((im) => im.preview).map((im) => [im.preview.identity.sopInstanceUid, im]));
  const tbody = $("queue").querySelector("tbody");
  tbody.replaceChildren();
  const maxU = Math.max(1e-9, ...queue.values);
  queue.order.forEach((id, i) => {
    const s = byId.get(id).score;
    const tr = document.createElement("tr");
    tr.dataset.id = id;
    if (s.confidence < 0.9) tr.className = "unsure";
    const im = urls.get(id) ?? (s.dicom ? bySop.get(s.dicom.sopInstanceUid) : undefined);
    const img = document.createElement("img");
    img.src = im?.url ?? "";
    img.alt = id;
    let thumb = img;
    if (im?.preview) {
      // what the model saw: the window next to the thumbnail
      thumb = document.createElement("figure");
      const cap = document.createElement("figcaption");
      cap.className = "window";
      cap.textContent = `${s.dicom?.modality ?? "DICOM"}${s.dicom?.frame ? ` frame ${s.dicom.frame}` : ""}: ${describeWindow(im.preview.window)}`;
      thumb.append(img, cap);
    }
    const cells = s.findings ? multiLabelCells(s) : [
      s.top[0].name,
      `${(100 * s.confidence).toFixed(1)}%`,
      null,
      s.top[1] ? `${s.top[1].name} (${(100 * s.top[1].probability).toFixed(1)}%)` : "",
    ];
    cells.unshift(String(i + 1), thumb, id);
    for (const c of cells) {
      const td = document.createElement("td");
      if (c instanceof Node) td.append(c);
      else if (c === null) {
        const bar = document.createElement("span");
        bar.className = "bar";
        bar.style.width = `${(60 * queue.values[i]) / maxU}px`;
        td.append(bar, ` ${queue.values[i].toFixed(3)}`);
      } else td.textContent = c;
      tr.append(td);
    }
    tbody.append(tr);
  });
  const failed = $("failed");
  failed.replaceChildren(
    ...queue.failed.map((id) => {
      const li = document.createElement("li");
      const e = byId.get(id).error;
      li.dataset.id = id;
      li.textContent = `${id}: ${e.code} — ${e.message}`;
      return li;
    }),
  );
}

/** A multi-label result's cells: the findings present, P(every decision right), the bar, and
 *  each finding's probability (with BALD when the image has several rows). */
function multiLabelCells(s) {
  const present = s.summary.present.map((j) => s.findings[j].name).join(", ") || "no finding";
  const each = s.findings
    .map((f) => `${f.name} ${(100 * f.probability).toFixed(1)}%` + (f.bald !== undefined ? ` (BALD ${f.bald.toFixed(3)})` : ""))
    .join(" · ");
  return [present, `${(100 * (1 - s.summary.pAnyWrong)).toFixed(1)}%`, null, each];
}

async function useBundledMultiLabel() {
  const base = new URL("assets/digits/", location.href);
  const index = await (await fetch(new URL("index.json", base))).json();
  const [model, manifest] = await Promise.all([
    fetchBytes(new URL(index.multiLabel.model, base)),
    fetch(new URL(index.multiLabel.manifest, base)).then((r) => r.json()),
  ]);
  await loadModel(model, manifest); // no verified set: the bundled one is the digit classifier's
  if (!state.images.length) await bundledSamples(index);
}

// The page's actions run one at a time, in the order they were asked for: a model chosen while
// the start-up model is still loading, or "score" clicked during a load, waits its turn, so
// the status and the results always belong to the last model chosen.
let turn = Promise.resolve();
function guarded(fn) {
  const mine = turn.then(async () => {
    try {
      await fn();
    } catch (e) {
      setStatus("error", `error${e.code ? ` [${e.code}]` : ""}: ${e.message}`);
      window.__medtriage.error = { code: e.code, message: e.message };
    }
  });
  turn = mine;
  return mine;
}

$("use-bundled").onclick = () => guarded(useBundled);
$("use-ensemble").onclick = () => guarded(useBundledEnsemble);
$("use-multilabel").onclick = () => guarded(useBundledMultiLabel);
$("tiers").onclick = () => guarded(assignTiers);
$("verified-file").onchange = (e) =>
  guarded(async () => {
    const f = e.target.files[0];
    if (!f) return;
    state.verified = JSON.parse(await f.text());
    $("tiers").disabled = !state.results;
  });
$("forget").onclick = () =>
  guarded(async () => {
    await (await storeP)?.clear();
    await showStore();
  });
$("bundled-samples").onclick = () => guarded(() => bundledSamples());
$("score").onclick = () => guarded(score);
$("measure").onchange = () => state.results && guarded(render);
$("load-model").onclick = () =>
  guarded(async () => {
    const ms = [...$("model-file").files];
    const j = $("manifest-file").files[0];
    if (!ms.length || !j) throw Object.assign(new Error("choose a model and a manifest"), { code: "invalid_input" });
    await loadModel(await Promise.all(ms.map((m) => m.arrayBuffer())), JSON.parse(await j.text()));
  });
$("image-files").onchange = (e) => guarded(async () => setImages(await filesToImages(e.target.files)));
$("image-folder").onchange = (e) => guarded(async () => setImages(await filesToImages(e.target.files)));

const drop = $("drop");
drop.ondragover = (e) => {
  e.preventDefault();
  drop.classList.add("over");
};
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (e) => {
  // in the event itself: the default (opening the file) is stopped and the files are only
  // readable while the event is dispatched; the work then waits its turn
  e.preventDefault();
  drop.classList.remove("over");
  const files = [...e.dataTransfer.files];
  return guarded(async () => {
    const onnx = files.filter((f) => f.name.endsWith(".onnx"));
    const json = files.find((f) => f.name.endsWith(".json"));
    if (onnx.length && json) await loadModel(await Promise.all(onnx.map((f) => f.arrayBuffer())), JSON.parse(await json.text()));
    const imgs = await filesToImages(files);
    if (imgs.length) setImages(imgs);
  });
};

// By default: the bundled model and samples, scored at once (?auto=0 to skip).
guarded(async () => {
  await showStore();
  const index = await useBundled();
  await bundledSamples(index);
  if (new URLSearchParams(location.search).get("auto") !== "0") await score();
});

// The review page: medtriage scores the bundled images in a worker pool, plans a round
// (planRound: tiers, review order, the next batch or an audit), exports the batch as Label Studio
// tasks (exportLabelStudio: the prediction pre-selects our class, with the tier and reasons),
// and shows each task in Label Studio's own frontend (vendor/label-studio, the npm package's
// prebuilt build, run in this page with no server). A submit is read back with the engine's
// own Label Studio reader (readLabelStudio, exactly as a server's export would be), stored as
// a decision in the package's store (IndexedDB) and, once the batch is done, fed to the next
// planRound. After a reload the stored decisions are the rounds' `reviewed` again.
// The package is imported as a host without a bundler would: from where its tarball was
// unpacked (www/pkg). Query: ?batch=N (items per round, default 5), ?store=<name> (database).
import { WorkerPool, sha256Hex } from "./pkg/pool.js";
import { openStore } from "./pkg/store.js";
import { renderCharts, chartData, roundPoint, chartContent } from "./charts.js";
import { mountTeam } from "./team.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const BATCH = Math.max(1, Number(params.get("batch") ?? 5) | 0);
// the demo's policy (as on the queue page): at most 5% wrong among auto-accepted items, w.p. 90%
const POLICY = { autoAccept: { alpha: 0.05, delta: 0.1 } };
const REVIEWER = { id: 1, firstName: "Reviewer", lastName: "", username: "reviewer" };

const state = {
  pool: new WorkerPool({ workers: Math.min(2, navigator.hardwareConcurrency || 2) }),
  store: null,
  modelKey: null,
  classes: [],
  k: 0,
  verified: null,
  images: [], // { id, hash, url, given }
  probs: null,
  failed: [],
  decisions: new Map(), // pool index -> decision (as stored)
  rounds: [],
  plan: null,
  tasks: [], // the current round's Label Studio tasks, in review order
  at: 0,
  outcome: [], // per task of the round: "done" | "skipped" | undefined
  ls: null,
  config: null,
  calibration: null,
};
const pub = (window.__review = { status: "loading", state });

function setStatus(s, text) {
  pub.status = s;
  $("status").textContent = text ?? s;
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r.arrayBuffer();
}

/** A display copy of a small image, scaled up with square pixels (the model sees the original). */
async function displayUrl(bytes) {
  const bmp = await createImageBitmap(new Blob([bytes]));
  const s = Math.max(1, Math.floor(256 / Math.max(bmp.width, bmp.height)));
  const c = document.createElement("canvas");
  c.width = bmp.width * s;
  c.height = bmp.height * s;
  const g = c.getContext("2d");
  g.imageSmoothingEnabled = false;
  g.drawImage(bmp, 0, 0, c.width, c.height);
  const blob = await new Promise((ok) => c.toBlob(ok, "image/png"));
  return URL.createObjectURL(blob);
}

async function start() {
  const base = new URL("assets/digits/", location.href);
  const index = await (await fetch(new URL("index.json", base))).json();
  const [model, manifest, verified] = await Promise.all([
    fetchBytes(new URL(index.model, base)),
    fetch(new URL(index.manifest, base)).then((r) => r.json()),
    fetch(new URL("verified.json", base)).then((r) => r.json()),
  ]);
  setStatus("loading-model", "loading the model…");
  const info = await state.pool.load(model, manifest);
  state.modelKey = info.modelKey;
  state.classes = manifest.output.classes;
  state.k = state.classes.length;
  state.verified = { predProbs: verified.predProbs, n: verified.n, labels: verified.labels };
  state.store = await openStore(params.get("store") ? { name: params.get("store") } : undefined).catch(() => null);

  const files = await Promise.all(index.samples.map(async (s) => ({ id: s.split("/").pop(), bytes: await fetchBytes(new URL(s, base)) })));
  state.images = await Promise.all(
    files.map(async (f) => {
      const m = /label(\d+)/.exec(f.id);
      return { id: f.id, hash: await sha256Hex(f.bytes), url: await displayUrl(f.bytes), given: m && Number(m[1]) < state.k ? Number(m[1]) : -1 };
    }),
  );
  setStatus("scoring", `scoring ${files.length} images…`);
  const summary = await state.pool.score(files.map((f) => ({ id: f.id, bytes: f.bytes })), { store: state.store ?? undefined }).finished;
  const n = files.length;
  state.probs = new Float64Array(n * state.k).fill(NaN);
  state.failed = [];
  summary.results.forEach((r, i) => {
    if (r.score && r.score.probabilities.length === state.k) state.probs.set(r.score.probabilities, i * state.k);
    else state.failed.push(i);
  });
  pub.scored = { cached: summary.cached, scored: summary.scored, ids: state.images.map((im) => im.id), probs: Array.from(state.probs), failed: state.failed };

  // what was decided before (this browser, this model): keyed by image hash
  if (state.store) {
    const { decisions, rounds } = await state.store.load(state.modelKey);
    const byHash = new Map(state.images.map((im, i) => [im.hash, i]));
    for (const [hash, d] of decisions) {
      const i = byHash.get(hash);
      if (i !== undefined) state.decisions.set(i, { ...d, index: i });
    }
    state.rounds = rounds;
  }
  pub.decisions = [...state.decisions.values()].sort((x, y) => x.seq - y.seq);
  state.config = await state.pool.call("labelStudioConfig", { classes: state.classes });
  await plan();
  // the reviewer team panel (team.js) simulates over the same items, calibrated as the plan fitted
  mountTeam(() => ({
    classes: state.classes,
    verified: state.verified,
    images: state.images,
    probs: state.probs,
    failed: state.failed,
    temperature: state.plan.tiers.fitted.temperature ?? 1,
    wasm: state.pool.module,
  }));
}

/** `reviewed` and `audits` for planRound, from the decisions in the order they were made. */
function outcomes() {
  const ds = [...state.decisions.values()].sort((a, b) => a.seq - b.seq);
  const reviewed = ds.map((d) => ({ index: d.index, label: d.label }));
  const groups = [];
  for (const d of ds) {
    if (d.kind !== "audit") continue;
    const a = (groups[d.audit.number - 1] ??= { ...d.audit, indices: [], wrong: 0 });
    a.indices.push(d.index);
    const was = state.images[d.index].given >= 0 ? state.images[d.index].given : d.predicted;
    if (was !== d.label) a.wrong += 1;
  }
  // a sequential audit is read from its indices (outcomes from `reviewed`); a fixed-size one from its counts
  const audits = groups
    .filter(Boolean)
    .map((a) =>
      a.sequential === false
        ? { estimatedRate: a.estimatedRate, remainderSize: a.remainderSize, sampled: a.indices.length, wrong: a.wrong }
        : { estimatedRate: a.estimatedRate, remainderSize: a.remainderSize, indices: a.indices },
    );
  return { reviewed, audits };
}

function roundRequest() {
  const { reviewed, audits } = outcomes();
  return {
    k: state.k,
    verified: state.verified,
    pool: { predProbs: Array.from(state.probs), n: state.images.length, givenLabels: state.images.map((im) => im.given), failed: state.failed },
    reviewed,
    audits,
    policy: POLICY,
    options: { batchSize: BATCH },
  };
}

async function calibration(temperature) {
  const v = state.verified;
  const req = { k: state.k, n: v.n, labels: v.labels, bins: 10 };
  const before = (state.calibration ??= await state.pool.call("calibrationReport", { ...req, probs: v.predProbs }));
  const scaled = await state.pool.call("applyTemperature", { k: state.k, n: v.n, scores: v.predProbs, kind: "probabilities", temperature });
  const after = await state.pool.call("calibrationReport", { ...req, probs: scaled });
  return { before, after };
}

/** Plan the next round from every decision so far, then show its tasks. */
async function plan() {
  setStatus("planning", "planning the round…");
  const request = roundRequest();
  const p = await state.pool.call("planRound", request);
  state.plan = p;
  pub.plan = p;
  pub.request = request;
  // one round record per state of the reviews: a reload with nothing new keeps the same round
  const point = roundPoint(0, p);
  const last = state.rounds[state.rounds.length - 1];
  const number = last && last.reviews === point.reviews && last.audited === point.audited ? last.round : (last?.round ?? 0) + 1;
  const round = { ...point, round: number, batch: p.batch, audit: p.audit ? p.audit.indices : null, stopReason: p.stopReason };
  if (last && last.round === number) state.rounds[state.rounds.length - 1] = round;
  else state.rounds.push(round);
  state.store?.putRound(state.modelKey, round);
  await state.store?.flush();

  const indices = p.audit ? p.audit.indices : p.batch;
  const ids = state.images.map((im) => im.id);
  const tasks = await state.pool.call("exportLabelStudio", { tiers: p.tiers, ids, classes: state.classes });
  const byIndex = new Map(tasks.map((t) => [t.data.medtriage_index, t]));
  state.tasks = indices.map((i, j) => {
    const t = byIndex.get(i);
    // Label Studio needs task and prediction ids; the image is the page's display copy
    return { ...t, id: i + 1, data: { ...t.data, image: state.images[i].url }, predictions: t.predictions.map((pr) => ({ ...pr, id: 100000 + i })), position: j };
  });
  state.at = 0;
  state.outcome = [];
  pub.batch = indices;
  pub.audit = p.audit ?? null;
  pub.round = number;
  await drawCharts();
  if (!indices.length) {
    destroyLabeler();
    showInfo(null);
    showBatch();
    setStatus("stopped", `No more reviews: ${p.stopReason}`);
    return;
  }
  show();
}

async function drawCharts() {
  const { before, after } = await calibration(state.plan.tiers.fitted.temperature);
  const data = chartData({ classes: state.classes, plan: state.plan, before, after, rounds: state.rounds });
  pub.chartData = data;
  const charts = renderCharts(
    { histogram: $("chart-histogram"), reliability: $("chart-reliability"), perClass: $("chart-perclass"), progress: $("chart-progress") },
    data,
  );
  pub.charts = chartContent(charts);
  const e = state.plan.estimate;
  $("charts-info").textContent = `round ${pub.round}: ${e.reviewed} reviewed, ${e.autoAccepted} auto-accepted, ${e.expectedErrors.toFixed(2)} wrong labels expected among ${e.n}`;
  $("certificate").textContent =
    typeof e.certifiedErrorRate === "number"
      ? `Certified: with probability at least ${(1 - (e.certifiedDelta ?? 0)).toFixed(3)}, at most ${(100 * e.certifiedErrorRate).toFixed(2)}% of the pool's labels are wrong.`
      : `No certificate yet: ${state.plan.stopReason}`;
}

function destroyLabeler() {
  try {
    state.ls?.destroy();
  } catch {
    /* already gone */
  }
  state.ls = null;
  state.lsStore = null;
  $("submit").disabled = $("skip").disabled = true;
  $("label-studio").replaceChildren();
}

function showInfo(task) {
  const dl = $("task-info");
  dl.replaceChildren();
  $("task-reasons").replaceChildren();
  if (!task) return;
  const d = task.data;
  const it = state.plan.tiers.items.find((x) => x.index === d.medtriage_index);
  const rows = [
    ["image", d.medtriage_id],
    ["tier", d.medtriage_tier],
    ["review rank", `${d.medtriage_rank} of ${state.plan.tiers.order.length}`],
    ["given label", d.medtriage_given_label ?? "none"],
    ["model says", `${d.medtriage_predicted ?? "—"}${it?.confidence != null ? ` (${(100 * it.confidence).toFixed(1)}% calibrated)` : ""}`],
    ["P(label wrong)", d.medtriage_priority != null ? d.medtriage_priority.toFixed(3) : "—"],
    ["prediction score", task.predictions[0]?.score?.toFixed(4) ?? "—"],
  ];
  if (state.plan.audit) rows.push(["why shown", `audit ${state.plan.audit.number}: a uniform sample of the unreviewed items`]);
  for (const [k, v] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = String(v);
    if (k === "tier") dd.className = `tier-${v}`;
    dl.append(dt, dd);
  }
  for (const r of it?.reasons ?? []) {
    const li = document.createElement("li");
    li.textContent = r.message;
    $("task-reasons").append(li);
  }
}

function showBatch() {
  const ol = $("batch");
  ol.replaceChildren(
    ...state.tasks.map((t, j) => {
      const li = document.createElement("li");
      li.dataset.index = t.data.medtriage_index;
      li.className = state.outcome[j] ?? (j === state.at ? "current" : "");
      const dec = state.decisions.get(t.data.medtriage_index);
      li.textContent = `${t.data.medtriage_id} — ${t.data.medtriage_tier}` + (state.outcome[j] === "done" && dec ? ` → ${state.classes[dec.label]}` : state.outcome[j] === "skipped" ? " (skipped)" : "");
      return li;
    }),
  );
  const kind = state.plan.audit ? `audit ${state.plan.audit.number}` : "batch";
  $("round-info").textContent = `(round ${pub.round}, ${kind} of ${state.tasks.length})`;
}

/** The current task in Label Studio, its prediction copied into the annotation to submit. */
function show() {
  destroyLabeler();
  const task = state.tasks[state.at];
  if (!task) return;
  showInfo(task);
  showBatch();
  $("task-pos").textContent = `${state.at + 1} of ${state.tasks.length}`;
  pub.current = task.data.medtriage_index;
  pub.ready = false;
  const holder = document.createElement("div");
  $("label-studio").append(holder);
  state.ls = new globalThis.LabelStudio(holder, {
    config: state.config,
    task: { id: task.id, data: task.data, predictions: task.predictions, annotations: [] },
    interfaces: ["panel", "submit", "skip", "controls", "update", "annotations:current", "predictions:panel"],
    user: REVIEWER,
    onStorageInitialized(ls) {
      const as = ls.annotationStore;
      const a = as.predictions.length ? as.addAnnotationFromPrediction(as.predictions[0]) : as.addAnnotation({ userGenerate: true });
      as.selectAnnotation(a.id);
      state.lsStore = ls;
      $("submit").disabled = $("skip").disabled = false;
      pub.ready = true;
      setStatus("reviewing", `round ${pub.round}: task ${state.at + 1} of ${state.tasks.length} (${task.data.medtriage_id})`);
    },
    onSubmitAnnotation: (ls, annotation) => guarded(() => submitted(task, annotation)),
    onUpdateAnnotation: (ls, annotation) => guarded(() => submitted(task, annotation)),
    onSkipTask: () => guarded(() => skipped()),
  });
}

/** A submit: the annotation, as Label Studio's API would return it, read back by the engine. */
async function submitted(task, annotation) {
  if (pub.status === "saving") return;
  setStatus("saving", "saving the decision…");
  const seq = 1 + Math.max(0, ...[...state.decisions.values()].map((d) => d.seq ?? 0));
  const apiTask = {
    id: task.id,
    data: task.data,
    // plain JSON (Label Studio's objects may be observables; the request is posted to a worker)
    annotations: [{ id: seq, completed_by: REVIEWER.id, was_cancelled: false, result: JSON.parse(JSON.stringify(annotation.serializeAnnotation())) }],
  };
  const reviews = await state.pool.call("readLabelStudio", {
    classes: state.classes,
    export: [apiTask],
    ids: state.images.map((im) => im.id),
  });
  const r = reviews.reviewed[0];
  if (!r) {
    setStatus("reviewing", "choose a class before submitting");
    return;
  }
  const i = task.data.medtriage_index;
  const it = state.plan.tiers.items.find((x) => x.index === i);
  const a = state.plan.audit;
  const decision = {
    index: i,
    label: r.label,
    class: state.classes[r.label],
    seq,
    round: pub.round,
    kind: a ? "audit" : "batch",
    audit: a ? { number: a.number, estimatedRate: a.estimatedRate, remainderSize: a.remainderSize, sequential: a.sequential } : null,
    predicted: it?.predicted ?? null,
    tier: it?.tier ?? null,
    reviewer: REVIEWER.username,
    at: new Date().toISOString(),
  };
  state.decisions.set(i, decision);
  if (state.store) {
    state.store.putDecision(state.modelKey, state.images[i].hash, decision);
    await state.store.flush();
  }
  pub.decisions = [...state.decisions.values()].sort((x, y) => x.seq - y.seq);
  state.outcome[state.at] = "done";
  await next();
}

async function skipped() {
  state.outcome[state.at] = "skipped";
  await next();
}

async function next() {
  state.at += 1;
  if (state.at < state.tasks.length) show();
  else await plan();
}

async function guarded(fn) {
  try {
    await fn();
  } catch (e) {
    setStatus("error", `error${e.code ? ` [${e.code}]` : ""}: ${e.message}`);
    pub.error = { code: e.code, message: e.message };
  }
}

// the same as Label Studio's own Ctrl+Enter / Ctrl+Space (its submit and skip run our callbacks)
$("submit").onclick = () => state.lsStore?.submitAnnotation();
$("skip").onclick = () => state.lsStore?.skipTask();
$("forget").onclick = () =>
  guarded(async () => {
    await state.store?.clear(state.modelKey);
    state.decisions.clear();
    state.rounds = [];
    pub.decisions = [];
    await plan();
  });
$("export").onclick = () =>
  guarded(async () => {
    const json = await state.store.exportJson(state.modelKey);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([json], { type: "application/json" }));
    a.download = "medtriage-decisions.json";
    a.click();
  });

guarded(start);

// The review page's reviewer team: where the reviewers' decisions come from, how good each
// reviewer is on gold items, and a calibration session. Every figure is the engine's, called
// from the package in this page (mixGold, reviewerReport, applyTemperature,
// pickCalibrationItems, calibrationSession); this module only simulates reviewers, lays the
// responses out and draws them (charts.js).
//
// The decisions come from
//   - a file: a JSON list of the engine's own shapes, each entry a scored decision
//     `{ reviewer, truth, label }` (a gold or adjudicated item, for reviewerReport) or a
//     calibration-session label `{ index, reviewer, label }` (for calibrationSession); an entry
//     with all four fields is both. "Download decisions" writes the simulated team's in this form;
//   - "Simulate a team": seeded simulated reviewers (TEAM) over this page's own items, the 24
//     bundled pool images and the 276 verified digits (true labels known: the gold). Each
//     reviewer works through the pool batch after batch (the demo's pool is small, so it comes
//     round again), mixGold hiding gold items in every batch at GOLD_SHARE, never one that
//     reviewer has seen, until each reviewer has been shown every gold item once. A simulated
//     answer is right with the reviewer's probability, else another class. Then the session:
//     pickCalibrationItems picks the SESSION_SIZE most disputed of every item the team answered
//     (each reviewer's first answer on a pool image, their answer on a gold item, and the
//     model's calibrated probabilities), and every reviewer labels each of them.
// The drift chart needs the CUSUM statistic after each decision; the engine reports it after
// the last one, so reviewerReport is asked on every prefix of a reviewer's decisions (at most
// PATH_POINTS prefixes).
import * as mt from "./pkg/index.js";
import { renderTeamCharts, teamChartData, teamChartContent } from "./charts.js";

const $ = (id) => document.getElementById(id);

// The reviewer options, the engine's defaults written out: the charts draw the acceptable
// level, the table names the intervals' level.
export const OPTIONS = { alpha: 0.05, acceptableErrorRate: 0.05, alarmErrorRate: 0.15, alarmAlpha: 0.001, minClassAccuracy: 0.85 };
// The simulated team: error rates per answer. carol errs on about 8% of the digits, all of it
// on 3, 5 and 8, which she mixes up (20% on those, 3% elsewhere); dave's rate rises from 3% to
// 15% halfway through his work.
export const TEAM = [
  { id: "alice", error: 0.03 },
  { id: "bob", error: 0.03 },
  { id: "carol", error: 0.03, confuses: [3, 5, 8], confusedError: 0.2 },
  { id: "dave", error: 0.03, driftTo: 0.15 },
];
export const GOLD_SHARE = 0.5; // high: the demo's pool has 24 images, the drift alarm needs about 100 gold answers
export const SESSION_SIZE = 20;
export const PATH_POINTS = 500;
// the columns `medtriage queue session --format csv` writes (src/bin/medtriage/queue.rs)
export const CSV_COLUMNS = ["reviewer", "consensus_class", "deviations", "labelled", "compared", "agreement", "fleiss_kappa", "krippendorff_alpha"];
const DECISION_FIELDS = new Set(["reviewer", "truth", "label", "index"]);

const pub = (window.__team = { status: "waiting", runs: 0, team: TEAM });
let engine = null;

function setStatus(s, text) {
  pub.status = s;
  $("team-status").textContent = text ?? s;
}

const invalid = (message) => Object.assign(new Error(message), { code: "invalid_input" });

/** The simulation's own random source (mulberry32): reproducible answers for a seed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(xs, rand) {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** One simulated answer: the truth with the reviewer's probability, else another class. */
function answer(rand, spec, truth, k, late) {
  const confused = spec.confuses?.includes(truth);
  const e = late && spec.driftTo !== undefined ? spec.driftTo : confused ? spec.confusedError : spec.error;
  if (rand() >= e) return truth;
  const others = (confused ? spec.confuses : [...Array(k).keys()]).filter((c) => c !== truth && c < k);
  return others[Math.floor(rand() * others.length)];
}

/**
 * The simulated team's work and session over the page's items: { list (the decisions, as a
 * file would give them), picks (pickCalibrationItems), driftAt (per drifting reviewer: their
 * scored decisions before the drift), itemName }.
 */
function simulate(ctx, seed) {
  const { k, verified } = ctx;
  const nPool = ctx.images.length;
  const failed = new Set(ctx.failed);
  const poolItems = [...Array(nPool).keys()].filter((i) => !failed.has(i));
  if (!poolItems.length) throw invalid("no scored pool image to review");
  // the simulation's truth of a pool image: its given label (the file name), else the model's class
  const poolTruth = new Map(
    poolItems.map((i) => {
      const row = Array.from(ctx.probs.subarray(i * k, (i + 1) * k));
      return [i, ctx.images[i].given >= 0 ? ctx.images[i].given : row.indexOf(Math.max(...row))];
    }),
  );
  const gold = [...Array(verified.n).keys()];

  // each reviewer's batches, gold mixed in by the engine, until every gold item was shown once
  const work = TEAM.map((spec, r) => {
    const rand = random(Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(r + 1, 0x85ebca6b));
    const batches = [];
    const seen = [];
    for (let b = 0; b < 1000; b++) {
      const mixed = mt.mixGold({ batch: shuffled(poolItems, rand), gold, seen, goldShare: GOLD_SHARE, seed: seed * 10007 + r * 101 + b });
      for (const s of mixed.slots) if (s.gold) seen.push(s.index);
      batches.push(mixed.slots);
      if (mixed.goldLeft === 0) break;
    }
    return { spec, rand, batches, slots: batches.reduce((n, s) => n + s.length, 0), done: 0, scored: 0 };
  });

  // the reviewers work side by side, batch by batch, so the decisions are in the order they were made
  const scored = [];
  const firstAnswers = new Map(); // pool index -> [{ reviewer, label }]
  const goldAnswers = new Map(); // verified index -> [{ reviewer, label }]
  const driftAt = {};
  const rounds = Math.max(...work.map((w) => w.batches.length));
  for (let b = 0; b < rounds; b++) {
    for (const w of work) {
      for (const slot of w.batches[b] ?? []) {
        const late = w.done >= w.slots / 2;
        if (late && w.spec.driftTo !== undefined && !(w.spec.id in driftAt)) driftAt[w.spec.id] = w.scored;
        w.done += 1;
        const truth = slot.gold ? verified.labels[slot.index] : poolTruth.get(slot.index);
        const label = answer(w.rand, w.spec, truth, k, late);
        const review = { reviewer: w.spec.id, label };
        if (slot.gold) {
          scored.push({ reviewer: w.spec.id, truth, label });
          w.scored += 1;
          (goldAnswers.get(slot.index) ?? goldAnswers.set(slot.index, []).get(slot.index)).push(review);
        } else {
          const rs = firstAnswers.get(slot.index) ?? firstAnswers.set(slot.index, []).get(slot.index);
          if (!rs.some((x) => x.reviewer === w.spec.id)) rs.push(review);
        }
      }
    }
  }

  // the session: the most disputed items (reviewers and the calibrated model), labelled by everyone.
  // Session item numbers: pool image i is i, verified digit v is nPool + v.
  const calibrated = (scores, n) => mt.applyTemperature({ k, n, scores, kind: "probabilities", temperature: ctx.temperature });
  const poolCal = calibrated(Float64Array.from(poolItems.flatMap((i) => Array.from(ctx.probs.subarray(i * k, (i + 1) * k)))), poolItems.length);
  const goldCal = calibrated(verified.predProbs, verified.n);
  const candidates = [
    ...poolItems.map((i, j) => ({ index: i, reviews: firstAnswers.get(i) ?? [], probs: poolCal.slice(j * k, (j + 1) * k) })),
    ...gold.map((v) => ({ index: nPool + v, reviews: goldAnswers.get(v) ?? [], probs: goldCal.slice(v * k, (v + 1) * k) })),
  ];
  const picks = mt.pickCalibrationItems({ k, candidates, size: SESSION_SIZE, modelWeight: 1 });
  const truthOf = (index) => (index < nPool ? poolTruth.get(index) : verified.labels[index - nPool]);
  const labels = [];
  for (const it of picks.items) for (const w of work) labels.push({ index: it.index, reviewer: w.spec.id, label: answer(w.rand, w.spec, truthOf(it.index), k, true) });
  return {
    list: [...scored, ...labels],
    picks,
    driftAt,
    itemName: (i) => (i < nPool ? ctx.images[i].id : `verified #${i - nPool}`),
  };
}

/** A decision list split into reviewerReport's scored decisions and calibrationSession's labels. */
export function splitDecisions(list) {
  if (!Array.isArray(list)) throw invalid("expected a JSON list of decisions");
  const scored = [];
  const labels = [];
  list.forEach((d, i) => {
    if (!d || typeof d !== "object" || Array.isArray(d)) throw invalid(`decision ${i} is not an object`);
    const unknown = Object.keys(d).find((f) => !DECISION_FIELDS.has(f));
    if (unknown) throw invalid(`decision ${i}: unknown field \`${unknown}\` (expected reviewer, label and truth and/or index)`);
    if (!("truth" in d) && !("index" in d)) throw invalid(`decision ${i} has neither truth (a scored decision) nor index (a session label)`);
    if ("truth" in d) scored.push({ reviewer: d.reviewer, truth: d.truth, label: d.label });
    if ("index" in d) labels.push({ index: d.index, reviewer: d.reviewer, label: d.label });
  });
  return { scored, labels };
}

/** The CUSUM statistic after each of one reviewer's scored decisions (reviewerReport on prefixes). */
function driftPath(k, mine) {
  const n = mine.length;
  const ends = n <= PATH_POINTS ? Array.from({ length: n }, (_, j) => j + 1) : Array.from({ length: PATH_POINTS }, (_, j) => Math.round(((j + 1) * n) / PATH_POINTS));
  return ends.map((t) => ({ x: t, y: mt.reviewerReport({ k, decisions: mine.slice(0, t), options: OPTIONS }).reviewers[0].drift.statistic }));
}

/** Rust's `{:.6}` (what the CLI's CSV writes): an exact tie rounds to even, -0 keeps its sign. */
export function fixed6(x) {
  let s = x.toFixed(6);
  // at 6 decimals a double is an exact tie iff x * 128 is an odd integer; toFixed rounds it away from 0
  const t = Math.abs(x) * 128;
  if (Number.isInteger(t) && t % 2 === 1) {
    const q = Math.floor(Math.abs(x) * 1e6); // exact here: |x| * 1e6 = q + 0.5
    const digits = String(q % 2 === 0 ? q : q + 1).padStart(7, "0");
    s = `${x < 0 ? "-" : ""}${digits.slice(0, -6)}.${digits.slice(-6)}`;
  }
  return Object.is(x, -0) ? `-${s}` : s;
}

const csvField = (s) => (/[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/** The session report as `medtriage queue session --format csv` writes it: a row per reviewer and class. */
export function sessionCsv(r) {
  const opt = (v) => (v === null || v === undefined ? "" : fixed6(v));
  const rows = [CSV_COLUMNS];
  for (const s of r.reviewers) {
    s.deviationsByClass.forEach((d, c) => rows.push([s.reviewer, String(c), String(d), String(s.labelled), String(s.compared), fixed6(s.agreement), opt(r.fleissKappa), opt(r.krippendorffAlpha)]));
  }
  return rows.map((row) => row.map(csvField).join(",") + "\n").join("");
}

function download(name, text, type) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const pct = (v, d = 1) => `${(100 * v).toFixed(d)}%`;
const interval = ([lo, hi]) => `${pct(lo)} – ${pct(hi)}`;

function table(el, head, rows) {
  const tr = (cells, tag) => {
    const r = document.createElement("tr");
    for (const c of cells) {
      const td = document.createElement(tag);
      if (c && typeof c === "object") {
        td.textContent = c.text;
        Object.assign(td.dataset, c.data ?? {});
        if (c.className) td.className = c.className;
      } else td.textContent = String(c);
      r.append(td);
    }
    return r;
  };
  const thead = document.createElement("thead");
  thead.append(tr(head, "th"));
  const tbody = document.createElement("tbody");
  tbody.append(...rows.map((r) => tr(r, "td")));
  el.replaceChildren(thead, tbody);
}

/** A figure shown with 4 decimals, its exact value in data-value. */
function figure(id, v) {
  $(id).textContent = v === null || v === undefined ? "undefined" : v.toFixed(4);
  $(id).dataset.value = JSON.stringify(v ?? null);
}

/** Every report of a decision list, from the engine, laid out and drawn. */
function show(ctx, list, meta) {
  const { k, classes } = ctx;
  const { scored, labels } = splitDecisions(list);
  if (!scored.length && !labels.length) throw invalid("the list has no decision");
  const report = scored.length ? mt.reviewerReport({ k, decisions: scored, options: OPTIONS }) : null;
  const paths = (report?.reviewers ?? []).map((r) => driftPath(k, scored.filter((d) => d.reviewer === r.reviewer)));
  const sessionRequest = { k, labels };
  const session = labels.length ? mt.calibrationSession(sessionRequest) : null;
  // from a file: the session's own items, most disputed first (their labels, no model)
  let picks = meta.picks ?? null;
  if (!picks && session) {
    const byItem = new Map();
    for (const l of labels) (byItem.get(l.index) ?? byItem.set(l.index, []).get(l.index)).push({ reviewer: l.reviewer, label: l.label });
    picks = mt.pickCalibrationItems({ k, candidates: [...byItem].map(([index, reviews]) => ({ index, reviews })), size: byItem.size });
  }
  const charts = renderTeamCharts(
    { accuracy: $("chart-team-accuracy"), perClass: $("chart-team-perclass"), drift: $("chart-team-drift"), deviations: $("chart-session-deviations") },
    teamChartData({ classes, options: OPTIONS, report, paths, session }),
  );
  const name = (c) => classes[c] ?? String(c);
  const level = pct(1 - OPTIONS.alpha, 0);

  table(
    $("team-table"),
    ["reviewer", "scored", "accuracy", `Clopper-Pearson ${level}`, `Wilson ${level}`, "weak on", "drift alarm"],
    (report?.reviewers ?? []).map((r) => {
      const d = r.drift;
      const alarm = d.alarmsAt.length
        ? `fired at decision ${d.alarmsAt.map((a) => a + 1).join(", ")}${d.alarm ? " (the latest)" : ""}`
        : `none (statistic ${d.statistic.toFixed(2)} < ${d.threshold.toFixed(2)})`;
      return [
        r.reviewer,
        r.overall.n,
        `${pct(r.overall.accuracy)} (${r.overall.correct}/${r.overall.n})`,
        interval(r.overall.clopperPearson),
        interval(r.overall.wilson),
        r.weakClasses.map(name).join(", ") || "none",
        { text: alarm, data: { alarms: String(d.alarmsAt.length) }, className: d.alarmsAt.length ? "alarm" : "" },
      ];
    }),
  );
  $("team-guarantee").textContent = report ? report.reviewers[0].drift.guarantee : "No scored decision (gold or adjudicated) in the list.";

  if (session) {
    figure("session-kappa", session.fleissKappa);
    $("session-fleiss-items").textContent = String(session.fleissItems);
    figure("session-alpha", session.krippendorffAlpha);
    $("session-agreement").hidden = false;
  } else $("session-agreement").hidden = true;
  table(
    $("session-reviewers"),
    ["reviewer", "labelled", "compared", "agreement", "deviations (item: label, others' consensus)"],
    (session?.reviewers ?? []).map((s) => [
      s.reviewer,
      s.labelled,
      s.compared,
      pct(s.agreement),
      s.deviations.map((d) => `${meta.itemName(d.index)}: ${name(d.label)}, ${name(d.consensus)}`).join("; ") || "none",
    ]),
  );
  const consensus = new Map((session?.items ?? []).map((it) => [it.index, it]));
  table(
    $("session-items"),
    ["#", "item", "disagreement", "session consensus", "share", "labels"],
    (picks?.items ?? []).map((p, j) => {
      const c = consensus.get(p.index);
      return [j + 1, { text: meta.itemName(p.index), data: { index: String(p.index) } }, p.disagreement.toFixed(3), c ? name(c.consensus) : "—", c ? pct(c.share, 0) : "—", c?.labels ?? 0];
    }),
  );
  const csv = session ? sessionCsv(session) : null;
  $("session-json").disabled = $("session-csv").disabled = !session;
  $("session-json").onclick = () => download("medtriage-session.json", JSON.stringify(session, null, 2) + "\n", "application/json");
  $("session-csv").onclick = () => download("medtriage-session.csv", csv, "text/csv");
  $("team-decisions").disabled = false;
  $("team-decisions").onclick = () => download("medtriage-team-decisions.json", JSON.stringify(list, null, 1) + "\n", "application/json");

  Object.assign(pub, { source: meta.source, k, options: OPTIONS, decisions: list, report, paths, picks, session, sessionRequest, csv, charts: teamChartContent(charts), driftAt: meta.driftAt ?? {} });
  $("team-info").textContent = `${meta.source}: ${report?.reviewers.length ?? 0} reviewers, ${scored.length} scored decisions, ${labels.length} session labels`;
  setStatus("done", `${meta.source}: reports computed in this page`);
}

/**
 * Enable the panel. `items()` gives what the simulation works on: { classes, verified,
 * images, probs, failed, temperature, wasm } (wasm: what init() accepts; the pool's module).
 */
export function mountTeam(items) {
  const context = async () => {
    const c = items();
    // the pool's compiled module, instantiated once more in this page (a failed init is retried next time)
    await (engine ??= mt.init(c.wasm).catch((e) => {
      engine = null;
      throw e;
    }));
    return { ...c, k: c.classes.length };
  };
  const run = (status, text, fn) => async () => {
    setStatus(status, text);
    pub.error = null;
    try {
      await fn();
    } catch (e) {
      setStatus("error", `error${e.code ? ` [${e.code}]` : ""}: ${e.message}`);
      pub.error = { code: e.code, message: e.message };
    }
    pub.runs += 1; // a test waits for the next one
  };
  $("team-simulate").onclick = run("simulating", "simulating the team…", async () => {
    const ctx = await context();
    const seed = Math.max(0, Number($("team-seed").value) | 0);
    const sim = simulate(ctx, seed);
    show(ctx, sim.list, { source: `simulated team (seed ${seed})`, picks: sim.picks, driftAt: sim.driftAt, itemName: sim.itemName });
  });
  $("team-file").onchange = run("loading", "reading the decisions…", async () => {
    const file = $("team-file").files[0];
    if (!file) return setStatus("ready", "no file");
    const text = await file.text();
    $("team-file").value = ""; // the same file picked again is read again
    let list;
    try {
      list = JSON.parse(text);
    } catch (e) {
      throw invalid(`${file.name} is not JSON: ${e.message}`);
    }
    show(await context(), list, { source: file.name, itemName: (i) => `item ${i}` });
  });
  $("team-simulate").disabled = $("team-file").disabled = false;
  setStatus("ready", "Load a decisions file or simulate a team.");
}

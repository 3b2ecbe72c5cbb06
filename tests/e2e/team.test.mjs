// The review page's reviewer team (www/team.js) in headless Chromium: the page scores the
// bundled images, "Simulate a team" makes its seeded reviewers work with gold digits mixed in
// (mixGold), and the page shows reviewerReport (accuracy with intervals, per class, the drift
// alarm) and a calibration session (pickCalibrationItems, calibrationSession) as charts, tables
// and downloads. Checked here, apart from the page's code: the engine, called by this test on
// the decisions the page made, gives the responses the page shows; every chart draws as many
// bars and points as those responses ask for (counted here from the decisions and the
// responses); the CUSUM drawn is the one recomputed here from the decisions; the drifting
// reviewer's alarm fires after the drift and the 3% reviewers' never does; the agreement shown is
// the engine's (and Fleiss' kappa recomputed here); the downloaded JSON is the report and the
// CSV has the CLI's columns, a row per reviewer and class (byte for byte the CLI's when
// target/debug/medtriage is built, as scripts/test.sh's cargo test does); the downloaded
// decisions, loaded back through the file input, give the same reports; a bad file shows the
// engine's error. Every request is checked: only GETs of the page's own files.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { foreignRequests, guardedContext, repo, staticPaths, useBrowser } from "./browser.mjs";

const env = useBrowser();
const S = {}; // the one review page the tests share (scoring the samples once)
const CLI = join(repo, "target/debug/medtriage");

/** The review page, opened once (the first test scores the samples), its team panel ready. */
function openPage() {
  S.ready ??= (async () => {
    const allowed = await staticPaths(join(repo, "www"));
    Object.assign(S, await guardedContext(env.browser, env.origin, allowed));
    S.page = await S.context.newPage();
    await S.page.setViewportSize({ width: 1280, height: 1000 });
    S.errors = [];
    S.requests = [];
    S.page.on("pageerror", (e) => S.errors.push(String(e)));
    S.context.on("request", (r) => S.requests.push(r.url()));
    await S.page.goto(`${env.origin}/review.html`);
    await S.page.waitForFunction(() => ["ready", "error"].includes(window.__team?.status), null, { timeout: 240_000 });
    assert.equal(await S.page.evaluate(() => window.__team.status), "ready", await S.page.textContent("#team-status"));
    return S.page;
  })();
  return S.ready;
}
after(() => S.context?.close().catch(() => {}));

/** Run `action` and wait for the panel's next report (or error). */
async function next(page, action) {
  const runs = await page.evaluate(() => window.__team.runs);
  await action();
  await page.waitForFunction((n) => window.__team.runs > n, runs, { timeout: 120_000 });
  return page.evaluate(() => {
    const t = window.__team;
    return JSON.parse(JSON.stringify({ status: t.status, error: t.error, source: t.source, k: t.k, options: t.options, team: t.team, decisions: t.decisions, report: t.report, paths: t.paths, picks: t.picks, session: t.session, charts: t.charts, driftAt: t.driftAt }));
  });
}

/** A download's text, started by clicking `selector`. */
async function downloaded(page, selector) {
  const [d] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  return { name: d.suggestedFilename(), text: await readFile(await d.path(), "utf8") };
}

/** The decisions split as the file format says: truth -> scored, index -> session label. */
function split(list) {
  return {
    scored: list.filter((d) => "truth" in d).map(({ reviewer, truth, label }) => ({ reviewer, truth, label })),
    labels: list.filter((d) => "index" in d).map(({ index, reviewer, label }) => ({ index, reviewer, label })),
  };
}

/** The Bernoulli CUSUM of the engine's docs, recomputed here: the path and the alarms. */
function cusum(decisions, o) {
  const up = Math.log(o.alarmErrorRate / o.acceptableErrorRate);
  const down = Math.log((1 - o.alarmErrorRate) / (1 - o.acceptableErrorRate));
  const threshold = Math.log(1 / o.alarmAlpha);
  let s = 0;
  const path = [];
  const alarms = [];
  decisions.forEach((d, i) => {
    s = Math.max(0, s + (d.label !== d.truth ? up : down));
    if (s >= threshold) {
      alarms.push(i);
      s = 0;
    }
    path.push(s);
  });
  return { path, alarms, threshold };
}

/** Fleiss' kappa over the items every reviewer labelled, recomputed here. */
function fleiss(labels, k) {
  const raters = new Set(labels.map((l) => l.reviewer)).size;
  const byItem = new Map();
  for (const l of labels) (byItem.get(l.index) ?? byItem.set(l.index, new Array(k).fill(0)).get(l.index))[l.label] += 1;
  const rows = [...byItem.values()].filter((c) => c.reduce((a, b) => a + b, 0) === raters);
  const P = rows.map((c) => (c.reduce((a, n) => a + n * n, 0) - raters) / (raters * (raters - 1)));
  const Pbar = P.reduce((a, b) => a + b, 0) / rows.length;
  const p = Array.from({ length: k }, (_, j) => rows.reduce((a, c) => a + c[j], 0) / (rows.length * raters));
  const Pe = p.reduce((a, v) => a + v * v, 0);
  return { kappa: (Pbar - Pe) / (1 - Pe), items: rows.length };
}

/** reviewerReport and calibrationSession called by the test, in the page, on its own split. */
function engine(page, k, scored, labels, options) {
  return page.evaluate(
    async ({ k, scored, labels, options }) => {
      const mt = await import("/pkg/index.js");
      await mt.init();
      return { report: mt.reviewerReport({ k, decisions: scored, options }), session: mt.calibrationSession({ k, labels }) };
    },
    { k, scored, labels, options },
  );
}

test("a simulated team: accuracy, weak classes and the drift alarm on gold, drawn as the engine reports them", async () => {
  const page = await openPage();
  const t = await next(page, () => page.click("#team-simulate"));
  assert.equal(t.status, "done", JSON.stringify(t.error));
  S.sim = t;
  const { scored, labels } = split(t.decisions);
  const ids = [...new Set(scored.map((d) => d.reviewer))];
  assert.deepEqual(ids, t.team.map((r) => r.id), "every simulated reviewer answered gold items");
  assert.equal(ids.length, 4);

  // the page shows the engine's responses for its decisions
  const want = await engine(page, t.k, scored, labels, t.options);
  assert.deepEqual(t.report, want.report);
  assert.deepEqual(t.session, want.session);
  const rs = t.report.reviewers;
  assert.deepEqual(rs.map((r) => r.reviewer), ids);
  const mine = ids.map((id) => scored.filter((d) => d.reviewer === id));
  rs.forEach((r, i) => {
    assert.equal(r.overall.n, mine[i].length, `${r.reviewer}: scored decisions`);
    assert.equal(r.overall.correct, mine[i].filter((d) => d.truth === d.label).length, `${r.reviewer}: right answers`);
    assert.ok(r.overall.clopperPearson[0] <= r.overall.accuracy && r.overall.accuracy <= r.overall.clopperPearson[1]);
  });
  // every reviewer saw every gold digit once (mixGold never repeats one)
  const verified = JSON.parse(await readFile(join(repo, "tests/fixtures/digits/verified.json"), "utf8"));
  for (const m of mine) assert.equal(m.length, verified.n);

  // the charts: one bar and one error bar per reviewer, the acceptable level, a bar per
  // reviewer and class they got right at least once, a CUSUM point per scored decision
  const c = t.charts;
  assert.equal(c.accuracyBars, rs.filter((r) => r.overall.n > 0 && r.overall.accuracy > 0).length);
  assert.equal(c.accuracyBars, ids.length);
  assert.equal(c.errorBars, ids.length);
  for (const y of c.acceptable) assert.ok(Math.abs(y - (1 - t.options.acceptableErrorRate)) < 1e-6, `acceptable level drawn at ${y}`);
  assert.deepEqual(c.perClassBars, mine.map((m) => new Set(m.filter((d) => d.truth === d.label).map((d) => d.truth)).size));
  assert.deepEqual(c.perClassBars, rs.map((r) => r.perClass.filter((a) => a.n > 0 && a.accuracy > 0).length));
  const totalAlarms = rs.reduce((a, r) => a + r.drift.alarmsAt.length, 0);
  assert.deepEqual(c.driftPoints, [...mine.map((m) => m.length), 2, totalAlarms]);

  // the CUSUM drawn is the one recomputed here, and so are the alarms
  const drawnAlarms = c.driftPaths.at(-1).map(([x]) => Math.round(x));
  const expectedAlarms = [];
  mine.forEach((m, i) => {
    const ref = cusum(m, t.options);
    assert.ok(Math.abs(rs[i].drift.threshold - ref.threshold) < 1e-12);
    assert.deepEqual(rs[i].drift.alarmsAt, ref.alarms, `${ids[i]}: alarms`);
    const drawn = c.driftPaths[i];
    assert.equal(drawn.length, ref.path.length);
    drawn.forEach(([x, y], j) => {
      assert.ok(Math.abs(x - (j + 1)) < 1e-6, `${ids[i]}: point ${j} at x=${x}`);
      assert.ok(Math.abs(y - ref.path[j]) < 1e-6, `${ids[i]}: statistic after decision ${j + 1} drawn at ${y}, recomputed ${ref.path[j]}`);
    });
    expectedAlarms.push(...ref.alarms.map((a) => a + 1));
  });
  assert.deepEqual(drawnAlarms, expectedAlarms);
  for (const [, y] of c.driftPaths.at(-2)) assert.ok(Math.abs(y - rs[0].drift.threshold) < 1e-6, "threshold line");

  // the drifting reviewer's alarm fires, after the drift; the 3% reviewers' never does
  const byId = Object.fromEntries(rs.map((r) => [r.reviewer, r]));
  const drifting = t.team.filter((s) => s.driftTo !== undefined).map((s) => s.id);
  const steady = t.team.filter((s) => s.driftTo === undefined && s.error === 0.03 && !s.confuses).map((s) => s.id);
  assert.deepEqual(drifting, ["dave"]);
  assert.deepEqual(steady, ["alice", "bob"]);
  assert.ok(byId.dave.drift.alarmsAt.length >= 1, `dave's alarm fired: ${JSON.stringify(byId.dave.drift)}`);
  assert.ok(byId.dave.drift.alarmsAt.every((a) => a >= t.driftAt.dave), `dave's alarms ${byId.dave.drift.alarmsAt} come after his drift at ${t.driftAt.dave}`);
  for (const id of steady) assert.deepEqual(byId[id].drift.alarmsAt, [], `${id}: no alarm`);
  // and the table says so
  const table = await page.$$eval("#team-table tbody tr", (trs) => trs.map((tr) => ({ id: tr.children[0].textContent, alarms: Number(tr.children[6].dataset.alarms), text: tr.children[6].textContent })));
  assert.deepEqual(table.map((r) => r.id), ids);
  for (const r of table) assert.equal(r.alarms, byId[r.id].drift.alarmsAt.length, r.text);
  console.log(
    `# team: ${scored.length} scored decisions; ${rs.map((r) => `${r.reviewer} ${(100 * r.overall.accuracy).toFixed(1)}% [${r.overall.clopperPearson.map((v) => (100 * v).toFixed(1)).join(", ")}] weak ${JSON.stringify(r.weakClasses)} alarms ${JSON.stringify(r.drift.alarmsAt)}`).join("; ")}; dave drifts at ${t.driftAt.dave}`,
  );
});

test("the calibration session: picked items, agreement, deviations by class, JSON and CSV downloads", async () => {
  const page = await openPage();
  const t = S.sim;
  assert.ok(t, "the simulated team ran");
  const { labels } = split(t.decisions);
  const ids = t.team.map((r) => r.id);
  const picked = t.picks.items.map((p) => p.index);
  assert.equal(picked.length, 20);
  for (let i = 1; i < t.picks.items.length; i++) assert.ok(t.picks.items[i - 1].disagreement >= t.picks.items[i].disagreement, "most disputed first");
  // every reviewer labelled every picked item, once
  assert.equal(labels.length, picked.length * ids.length);
  assert.deepEqual(new Set(labels.map((l) => `${l.index}/${l.reviewer}`)).size, labels.length);
  assert.deepEqual([...new Set(labels.map((l) => l.index))].sort((a, b) => a - b), [...picked].sort((a, b) => a - b));
  const s = t.session;
  assert.deepEqual(s.reviewers.map((r) => r.reviewer), ids);

  // the agreement shown is the engine's; Fleiss' kappa recomputed here agrees
  const f = fleiss(labels, t.k);
  assert.equal(s.fleissItems, f.items);
  assert.ok(Math.abs(s.fleissKappa - f.kappa) < 1e-12, `kappa ${s.fleissKappa} vs ${f.kappa}`);
  const shown = await page.evaluate(() => ({
    kappa: [document.getElementById("session-kappa").textContent, JSON.parse(document.getElementById("session-kappa").dataset.value)],
    alpha: [document.getElementById("session-alpha").textContent, JSON.parse(document.getElementById("session-alpha").dataset.value)],
    items: document.getElementById("session-fleiss-items").textContent,
    visible: !document.getElementById("session-agreement").hidden,
  }));
  assert.ok(shown.visible);
  assert.deepEqual(shown.kappa, [s.fleissKappa.toFixed(4), s.fleissKappa]);
  assert.deepEqual(shown.alpha, [s.krippendorffAlpha.toFixed(4), s.krippendorffAlpha]);
  assert.equal(shown.items, String(s.fleissItems));

  // the deviations chart: a bar per reviewer and class with a deviation
  for (const r of s.reviewers) assert.equal(r.deviationsByClass.reduce((a, b) => a + b, 0), r.deviations.length);
  assert.deepEqual(t.charts.deviationBars, s.reviewers.map((r) => r.deviationsByClass.filter((d) => d > 0).length));
  assert.ok(t.charts.deviationBars.some((n) => n > 0), "someone deviated");
  // the list of picked items, in the engine's order; the reviewers' table
  const rows = await page.$$eval("#session-items tbody tr", (trs) => trs.map((tr) => Number(tr.children[1].dataset.index)));
  assert.deepEqual(rows, picked);
  assert.equal(await page.$$eval("#session-reviewers tbody tr", (trs) => trs.length), ids.length);

  // downloads: the JSON is the report, the CSV a row per reviewer and class with the CLI's columns
  const json = await downloaded(page, "#session-json");
  assert.equal(json.name, "medtriage-session.json");
  assert.deepEqual(JSON.parse(json.text), s);
  const csv = await downloaded(page, "#session-csv");
  assert.equal(csv.name, "medtriage-session.csv");
  assert.ok(csv.text.endsWith("\n"));
  const lines = csv.text.slice(0, -1).split("\n").map((l) => l.split(","));
  assert.deepEqual(lines[0], ["reviewer", "consensus_class", "deviations", "labelled", "compared", "agreement", "fleiss_kappa", "krippendorff_alpha"]);
  assert.equal(lines.length - 1, ids.length * t.k);
  let at = 1;
  for (const r of s.reviewers) {
    for (let c = 0; c < t.k; c++, at++) {
      const [rev, cls, dev, labelled, compared, agreement, kappa, alpha] = lines[at];
      assert.deepEqual([rev, Number(cls), Number(dev), Number(labelled), Number(compared)], [r.reviewer, c, r.deviationsByClass[c], r.labelled, r.compared]);
      for (const [text, v] of [[agreement, r.agreement], [kappa, s.fleissKappa], [alpha, s.krippendorffAlpha]]) {
        assert.match(text, /^-?\d+\.\d{6}$/);
        assert.ok(Math.abs(Number(text) - v) <= 5e-7, `${text} vs ${v}`);
      }
    }
  }
  // the CLI writes the same files for the same request
  if (existsSync(CLI)) {
    const dir = await mkdtemp(join(tmpdir(), "medtriage-team-"));
    const request = join(dir, "session.json");
    await writeFile(request, JSON.stringify({ k: t.k, labels }));
    const cliCsv = execFileSync(CLI, ["queue", "session", "--request", request, "--format", "csv"], { encoding: "utf8" });
    assert.equal(csv.text, cliCsv, "the CSV is byte for byte the CLI's");
    assert.deepEqual(JSON.parse(json.text), JSON.parse(execFileSync(CLI, ["queue", "session", "--request", request], { encoding: "utf8" })));
  } else console.log(`# ${CLI} not built: the CSV was checked against the report only`);
  console.log(`# session: ${picked.length} items x ${ids.length} reviewers, kappa ${s.fleissKappa.toFixed(4)}, alpha ${s.krippendorffAlpha.toFixed(4)}, deviations ${s.reviewers.map((r) => `${r.reviewer} ${r.deviations.length}`).join(", ")}`);
});

test("decisions from a file: the downloaded decisions give the same reports; a bad file shows the engine's error", async () => {
  const page = await openPage();
  const t = S.sim;
  assert.ok(t, "the simulated team ran");
  const file = await downloaded(page, "#team-decisions");
  assert.deepEqual(JSON.parse(file.text), t.decisions);
  const f = await next(page, () => page.setInputFiles("#team-file", { name: "team.json", mimeType: "application/json", buffer: Buffer.from(file.text) }));
  assert.equal(f.status, "done", JSON.stringify(f.error));
  assert.equal(f.source, "team.json");
  assert.deepEqual(f.report, t.report);
  assert.deepEqual(f.session, t.session);
  assert.deepEqual(f.charts.driftPoints, t.charts.driftPoints);
  // from a file the list ranks the session's own items
  assert.deepEqual(f.picks.items.map((p) => p.index).sort((a, b) => a - b), t.picks.items.map((p) => p.index).sort((a, b) => a - b));

  const bad = await next(page, () => page.setInputFiles("#team-file", { name: "bad.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify([{ reviewer: "x", truth: 1, label: 12 }])) }));
  assert.equal(bad.status, "error");
  assert.equal(bad.error.code, "invalid_input");
  assert.match(bad.error.message, /12/);
  assert.match(await page.textContent("#team-status"), /invalid_input/);

  assert.deepEqual(S.errors, []);
  assert.deepEqual(S.violations, [], JSON.stringify(S.violations, null, 1));
  assert.deepEqual(foreignRequests(S.requests, env.origin), []);
  assert.deepEqual(foreignRequests(S.log.map((r) => r.url), env.origin), []);
  assert.ok(S.log.some((r) => r.url.endsWith("/team.js")) && S.log.some((r) => r.url.endsWith("/vendor/chart.umd.min.js")));
  console.log(`# team from a file: same reports; ${S.log.length} requests, all the page's own files`);
});

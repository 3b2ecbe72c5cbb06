// Label Studio's own frontend (npm @heartexlabs/label-studio's prebuilt build, copied into
// www/vendor by scripts/build.sh) inside the review page, driven as a reviewer would, with the
// keyboard: the bundled images are scored in the page, the round's batch (planRound) is shown
// task by task with our prediction pre-selected, three tasks are submitted (number keys pick a
// class, Ctrl+Enter submits), the page is reloaded, and the decisions must come back from the
// package's store (IndexedDB) and the next batch must be the one planRound gives for them,
// computed here apart from the page's code. Every request is checked: nothing but the page's
// own static files, nothing leaves 127.0.0.1 (no CDN, no web fonts, no error reporting).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { guardedContext, repo, staticPaths, useBrowser } from "./browser.mjs";
import { join } from "node:path";

const env = useBrowser();
const BATCH = 5;
const POLICY = { autoAccept: { alpha: 0.05, delta: 0.1 } }; // the review page's policy
const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]; // the generated config's hotkeys

async function waitReviewing(page, timeout = 180_000) {
  await page.waitForFunction(() => ["reviewing", "stopped", "error"].includes(window.__review?.status) && (window.__review.status !== "reviewing" || window.__review.ready), null, { timeout });
  const st = await page.evaluate(() => ({ status: window.__review.status, error: window.__review.error }));
  assert.equal(st.status, "reviewing", JSON.stringify(st.error));
}

/** planRound as a host would call it, in a page of its own (not the review page's code). */
async function expectedPlan(page, scored, reviewed) {
  const verified = JSON.parse(await readFile(join(repo, "tests/fixtures/digits/verified.json"), "utf8"));
  const given = scored.ids.map((id) => {
    const m = /label(\d+)/.exec(id);
    return m ? Number(m[1]) : -1;
  });
  const request = {
    k: verified.k,
    verified: { predProbs: verified.predProbs, n: verified.n, labels: verified.labels },
    pool: { predProbs: scored.probs, n: scored.ids.length, givenLabels: given, failed: scored.failed },
    reviewed,
    audits: [],
    policy: POLICY,
    options: { batchSize: BATCH },
  };
  return page.evaluate(async (req) => {
    const mt = await import("/pkg/index.js");
    await mt.init();
    return mt.planRound(req);
  }, request);
}

test("Label Studio's frontend in the review page: keyboard review, decisions survive a reload, next batch = planRound", async () => {
  const t0 = Date.now();
  const www = join(repo, "www");
  const allowed = await staticPaths(www);
  const { context, log, violations } = await guardedContext(env.browser, env.origin, allowed);
  const page = await context.newPage();
  await page.setViewportSize({ width: 1280, height: 1000 });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${env.origin}/review.html?batch=${BATCH}`);
  await waitReviewing(page);
  const first = await page.evaluate(() => ({ batch: window.__review.batch, scored: window.__review.scored, decisions: window.__review.decisions, round: window.__review.round }));
  assert.equal(first.scored.ids.length, 24, "the 24 bundled digit samples");
  assert.deepEqual(first.decisions, [], "a fresh browser starts with no decision");
  assert.equal(first.round, 1);

  // a host's own planRound gives the same first batch, and the page shows it in that order
  const plan0 = await expectedPlan(page, first.scored, []);
  assert.equal(plan0.batch.length, BATCH);
  assert.deepEqual(first.batch, plan0.batch);

  const submitted = [];
  for (let j = 0; j < 3; j++) {
    const cur = await page.evaluate(() => {
      const s = window.__review.state;
      const t = s.tasks[s.at];
      return { index: t.data.medtriage_index, predicted: t.data.medtriage_predicted, tier: t.data.medtriage_tier, id: t.data.medtriage_id };
    });
    assert.equal(cur.index, plan0.batch[j], `task ${j + 1} is the batch's ${j + 1}th item`);
    // Label Studio shows our prediction pre-selected, the tier beside it, the reasons as text
    const checked = await page.$$eval("#label-studio .ant-checkbox-wrapper-checked", (els) => els.map((e) => e.textContent.replace(/\[.*\]$/, "")));
    assert.ok(checked.includes(cur.predicted), `prediction ${cur.predicted} pre-selected (checked: ${checked})`);
    assert.ok(checked.includes(cur.tier), `tier ${cur.tier} shown (checked: ${checked})`);
    assert.equal(await page.textContent("#task-info dd.tier-" + cur.tier), cur.tier);
    // the first and third: the reviewer confirms the model; the second: another class, by key
    let label = Number(cur.predicted);
    if (j === 1) {
      label = (label + 1) % 10;
      await page.keyboard.press(KEYS[label]);
      await page.waitForFunction((c) => [...document.querySelectorAll("#label-studio .ant-checkbox-wrapper-checked")].some((e) => e.textContent.replace(/\[.*\]$/, "") === c), String(label));
    }
    await page.keyboard.press("Control+Enter");
    await page.waitForFunction((n) => window.__review.decisions?.length === n && window.__review.status === "reviewing" && window.__review.ready, j + 1, { timeout: 60_000 });
    submitted.push({ index: cur.index, label });
  }
  const before = await page.evaluate(() => window.__review.decisions.map((d) => ({ index: d.index, label: d.label })));
  assert.deepEqual(before, submitted);

  // reload: the decisions come back from IndexedDB and the next round is planned from them
  await page.reload();
  await waitReviewing(page);
  const after = await page.evaluate(() => ({
    decisions: window.__review.decisions,
    batch: window.__review.batch,
    round: window.__review.round,
    rounds: window.__review.state.rounds,
    scored: window.__review.scored,
    charts: window.__review.charts,
    modelKey: window.__review.state.modelKey,
  }));
  assert.deepEqual(after.decisions.map((d) => ({ index: d.index, label: d.label })), submitted, "decisions survived the reload");
  assert.equal(after.scored.cached, 24, "the scores came from the store too");
  // the store itself, read through the package's own API
  const stored = await page.evaluate(async (key) => {
    const { openStore } = await import("/pkg/store.js");
    const s = await openStore();
    const { decisions, rounds } = await s.load(key);
    return { decisions: [...decisions.values()].map((d) => ({ index: d.index, label: d.label, seq: d.seq })), rounds: rounds.map((r) => r.reviews) };
  }, after.modelKey);
  assert.deepEqual(stored.decisions.sort((a, b) => a.seq - b.seq).map(({ index, label }) => ({ index, label })), submitted);
  assert.deepEqual(stored.rounds, [0, 3], "one round record before the reviews, one after");
  const plan1 = await expectedPlan(page, after.scored, submitted);
  assert.deepEqual(after.batch, plan1.batch, "the next batch is planRound's for the three decisions");
  for (const s of submitted) assert.ok(!after.batch.includes(s.index), "a reviewed item is not asked again");
  assert.equal(after.round, 2);
  assert.equal(plan1.estimate.reviewed, 3);
  // the pictures are drawn from the plan
  assert.ok(after.charts.histogramBars > 0 && after.charts.perClassBars[0] > 0 && after.charts.reliabilityPoints.every((n) => n > 0), JSON.stringify(after.charts));
  assert.deepEqual(after.charts.progressPoints.slice(0, 1), [2], "two rounds on the progress chart");

  assert.deepEqual(errors, []);
  // privacy: only the page's own files, GET, no body; Label Studio's frontend came from the origin
  assert.deepEqual(violations, [], JSON.stringify(violations, null, 1));
  assert.ok(log.some((r) => r.url.endsWith("/vendor/label-studio/main.js")));
  assert.ok(log.every((r) => r.url.startsWith(env.origin + "/")), "every request went to 127.0.0.1");
  console.log(`# label studio review: ${log.length} requests, all local; 3 submits, reload, next batch ${JSON.stringify(after.batch)}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await context.close();
});

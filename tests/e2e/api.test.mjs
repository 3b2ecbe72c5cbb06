// The JS API itself in headless Chromium: the packed package as the demo installs it (www/pkg), init() with its defaults,
// called the way a labeling tool would (typed arrays in, plain objects out): options typos
// rejected with a code, the review queue end to end (tiers -> rounds -> Label Studio export),
// and no request leaving the page's origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { foreignRequests, repo, useBrowser } from "./browser.mjs";

const env = useBrowser();

async function apiPage() {
  const page = await env.browser.newPage();
  const requests = [];
  page.context().on("request", (r) => requests.push(r.url()));
  // any same-origin document will do: the loader is imported from the page
  await page.goto(`${env.origin}/style.css`);
  return { page, requests };
}

test("review queue through the JS API: tiers, rounds, exports", async () => {
  const { page, requests } = await apiPage();
  const out = await page.evaluate(async () => {
    const mt = await import("/pkg/index.js");
    const { variant } = await mt.init();
    // seeded synthetic data, 3 classes: verified 1500, pool 600, 20% of given labels flipped
    let s = 7;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
    const make = (n) => {
      const p = new Float64Array(n * 3), truth = new Int32Array(n), given = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const y = i % 3;
        const good = rand() < 0.9;
        const peak = good ? y : Math.floor(rand() * 3);
        const conc = good ? 3 + 30 * rand() : 2 * rand();
        let sum = 0;
        for (let j = 0; j < 3; j++) sum += p[i * 3 + j] = (j === peak ? conc : 0) + rand();
        for (let j = 0; j < 3; j++) p[i * 3 + j] /= sum;
        truth[i] = y;
        given[i] = rand() < 0.2 ? (y + 1 + Math.floor(rand() * 2)) % 3 : y;
      }
      return { p, truth, given };
    };
    const v = make(1500), q = make(600);
    const verified = { predProbs: v.p, n: 1500, labels: v.truth, givenLabels: v.given };
    const pool = { predProbs: q.p, n: 600, givenLabels: q.given };
    const tiers = mt.tierItems({ k: 3, verified, pool, policy: { autoAccept: { alpha: 0.02 } } });
    let typo;
    try {
      mt.tierItems({ k: 3, verified, pool, policy: { autoAccept: { alpah: 0.02 } } });
    } catch (e) {
      typo = { code: e.code, message: e.message };
    }
    // rounds until the stopping rule certifies the target
    const reviewed = [], audits = [];
    let plan, rounds = 0;
    const label = Int32Array.from(q.given);
    for (; rounds < 40; rounds++) {
      plan = mt.planRound({ k: 3, verified, pool, reviewed, audits, options: { batchSize: 60, stopping: { targetErrorRate: 0.03 } } });
      if (plan.stop) break;
      const todo = plan.audit ? plan.audit.indices : plan.batch;
      let wrong = 0;
      for (const i of todo) {
        if (label[i] !== q.truth[i]) wrong++;
        label[i] = q.truth[i];
        reviewed.push({ index: i, label: q.truth[i] });
      }
      if (plan.audit) audits.push({ remainderSize: plan.audit.remainderSize, sampled: todo.length, wrong, estimatedRate: plan.audit.estimatedRate });
    }
    let finalWrong = 0;
    for (let i = 0; i < 600; i++) if (label[i] !== q.truth[i]) finalWrong++;
    const ids = Array.from({ length: 600 }, (_, i) => `case-${i}.dcm`);
    const ls = mt.exportLabelStudio({ tiers, ids, classes: ["normal", "benign", "malignant"], options: { urlPrefix: "/data/" } });
    const pl = mt.exportPseudoLabels({ tiers, ids, classes: ["normal", "benign", "malignant"] });
    const csv = mt.exportTiersCsv({ tiers, ids });
    return {
      variant,
      counts: tiers.counts,
      guarantee: tiers.fitted.guarantee,
      firstReasons: tiers.items[tiers.order[0]].reasons,
      orderLen: tiers.order.length,
      typo,
      rounds,
      stop: plan.stop,
      stopReason: plan.stopReason,
      certified: plan.estimate.certifiedErrorRate,
      reviewed: reviewed.length,
      finalWrong,
      ls0: ls[0],
      lsLen: ls.length,
      plRows: pl.rows.length,
      plHead: pl.csv.split("\n")[0],
      csvLines: csv.trim().split("\n").length,
    };
  });
  // the fastest build the package has that this Chromium validates (it has relaxed SIMD)
  assert.equal(out.variant, existsSync(join(repo, "www/pkg/medtriage_relaxed_bg.wasm")) ? "relaxed" : "simd");
  const c = out.counts;
  assert.equal(c.autoAccept + c.lightReview + c.expertReview + c.suspectedLabelError + c.outlier + c.failed, 600);
  assert.ok(c.autoAccept > 100, JSON.stringify(c));
  assert.match(out.guarantee, /at most 2\.00%/);
  assert.ok(out.firstReasons.length > 0 && typeof out.firstReasons[0].message === "string");
  assert.equal(out.orderLen, 600 - c.autoAccept);
  assert.equal(out.typo?.code, "invalid_options", JSON.stringify(out.typo));
  assert.match(out.typo.message, /alpah/);
  assert.ok(out.stop, out.stopReason);
  assert.ok(out.certified <= 0.03, out.stopReason);
  assert.ok(out.finalWrong / 600 <= out.certified, `${out.finalWrong} wrong, certified ${out.certified}`);
  assert.ok(out.reviewed < 600, `reviewed ${out.reviewed}`);
  assert.equal(out.lsLen, 600);
  assert.match(out.ls0.data.image, /^\/data\/case-\d+\.dcm$/);
  assert.equal(out.ls0.predictions[0].result[0].type, "choices");
  assert.ok(out.ls0.predictions[0].result.some((r) => r.from_name === "reasons" && r.type === "textarea"));
  assert.equal(out.plRows, c.autoAccept);
  assert.equal(out.plHead, "id,label,class,weight,tier");
  assert.equal(out.csvLines, 601);
  const foreign = foreignRequests(requests, env.origin);
  assert.deepEqual(foreign, [], "requests left the page's origin");
  await page.close();
});

test("typed arrays and plain arrays give the same answer; NaN rows are never ranked", async () => {
  const { page } = await apiPage();
  const out = await page.evaluate(async () => {
    const mt = await import("/pkg/index.js");
    await mt.init();
    const n = 200, k = 4;
    const p = new Float64Array(n * k);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += p[i * k + j] = 1 + ((i * 31 + j * 17) % 13) + (j === i % k ? 20 : 0);
      for (let j = 0; j < k; j++) p[i * k + j] /= sum;
      labels[i] = i % 7 === 0 ? (i + 1) % k : i % k;
    }
    const a = mt.findLabelIssues({ predProbs: p, n, k, labels });
    const b = mt.findLabelIssues({ predProbs: Array.from(p), n, k, labels: Array.from(labels) });
    let bad;
    try {
      mt.findLabelIssues({ predProbs: p, n, k, labels, options: { filterBy: "both", fracNoize: 1 } });
    } catch (e) {
      bad = e.code;
    }
    const q = p.slice();
    q[3 * k] = NaN;
    const t = mt.tierItems({ k, verified: { predProbs: p, n, labels }, pool: { predProbs: q, n } });
    // the same with plain arrays: the NaN row still fails alone
    const tp = mt.tierItems({ k, verified: { predProbs: Array.from(p), n, labels: Array.from(labels) }, pool: { predProbs: Array.from(q), n } });
    return {
      same: JSON.stringify(a) === JSON.stringify(b),
      issues: a.numIssues,
      bad,
      tier3: t.items[3].tier,
      last: t.order[t.order.length - 1],
      plainSame: JSON.stringify(t) === JSON.stringify(tp),
    };
  });
  assert.ok(out.same);
  assert.ok(out.issues > 0);
  assert.equal(out.bad, "invalid_options");
  assert.equal(out.tier3, "failed");
  assert.equal(out.last, 3);
  assert.ok(out.plainSame, "plain arrays with a NaN row give the same tiers as typed arrays");
  await page.close();
});

test("profileTensor: where inference time goes, node by node, with the page's clock", async () => {
  const { page } = await apiPage();
  const out = await page.evaluate(async () => {
    const mt = await import("/pkg/index.js");
    await mt.init();
    const model = new Uint8Array(await (await fetch("/assets/digits/model.onnx")).arrayBuffer());
    const manifest = await (await fetch("/assets/digits/manifest.json")).json();
    const scorer = new mt.Scorer(model, manifest);
    const n = manifest.input.width * manifest.input.height;
    const p = scorer.profileTensor(new Float32Array(n).fill(0.5), { runs: 4, topNodes: 3 });
    let bad;
    try {
      scorer.profileTensor(new Float32Array(n - 1), { runs: 4 });
    } catch (e) {
      bad = e.code;
    }
    let badRuns;
    try {
      scorer.profileTensor(new Float32Array(n), { runs: 0 });
    } catch (e) {
      badRuns = e.code;
    }
    scorer.free();
    return { p, bad, badRuns };
  });
  const { p } = out;
  assert.equal(p.runs, 4);
  assert.ok(p.ops.length >= 2 && p.ops.every((o) => o.nodes >= 1 && o.ms >= 0 && typeof o.op === "string"), JSON.stringify(p.ops));
  assert.ok(p.runMs > 0 && p.nodesMs >= 0 && p.nodesMs <= p.runMs + 1e-9, JSON.stringify(p));
  if (p.nodesMs > 0) assert.ok(Math.abs(p.ops.reduce((a, o) => a + o.share, 0) - 1) < 1e-9);
  assert.ok(p.slowest.length === 3 && p.slowest.every((x) => typeof x.name === "string"));
  assert.equal(out.bad, "invalid_input");
  assert.equal(out.badRuns, "invalid_options");
  console.log(`# profileTensor (digits CNN): ${p.runMs.toFixed(3)} ms per run; ${p.ops.slice(0, 3).map((o) => `${o.op} ${(100 * o.share).toFixed(0)}%`).join(", ")}`);
});

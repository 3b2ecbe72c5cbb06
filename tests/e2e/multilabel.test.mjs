// Multi-label findings through the packed package in headless Chromium, as a labeling tool
// would call it: the bundled multi-label model (a real ONNX model with a 4-finding sigmoid
// head) scored in the page and in the worker pool, the demo's per-finding view, and the
// multi-label queue end to end (tiers with reasons naming findings -> Label Studio export for
// a multiple-choice config -> annotations read back -> rounds until the sequential audit
// certifies), with no request leaving the page's origin.
import { test } from "node:test";
import assert from "node:assert/strict";
import { foreignRequests, useBrowser } from "./browser.mjs";

const env = useBrowser();

test("multi-label model: per-finding probabilities in the page, the pool and the demo", async () => {
  const page = await env.browser.newPage();
  const requests = [];
  page.context().on("request", (r) => requests.push(r.url()));
  await page.goto(`${env.origin}/?auto=0`);
  const out = await page.evaluate(async () => {
    const mt = await import("/pkg/index.js");
    await mt.init();
    const base = "/assets/digits/";
    const index = await (await fetch(base + "index.json")).json();
    const model = new Uint8Array(await (await fetch(base + index.multiLabel.model)).arrayBuffer());
    const manifest = await (await fetch(base + index.multiLabel.manifest)).json();
    const scorer = new mt.Scorer(model, manifest);
    const png = new Uint8Array(await (await fetch(base + index.samples[0])).arrayBuffer());
    const s = scorer.scoreImage(png, { topK: 4 });
    let missing;
    try {
      new mt.Scorer(model, { ...manifest, output: { ...manifest.output, activation: undefined } });
    } catch (e) {
      missing = e.code;
    }
    return { s, missing, classes: manifest.output.classes };
  });
  assert.equal(out.missing, "invalid_manifest");
  assert.equal(out.s.findings.length, 4);
  assert.deepEqual(out.s.findings.map((f) => f.name), out.classes);
  for (const f of out.s.findings) {
    assert.ok(f.probability >= 0 && f.probability <= 1);
    assert.equal(f.present, f.probability >= 0.5);
    assert.ok(Math.abs(f.margin - Math.abs(2 * f.probability - 1)) < 1e-9);
  }
  assert.deepEqual(out.s.summary.present, out.s.findings.filter((f) => f.present).map((f) => f.index));
  // the demo: the bundled multi-label model, scored in the pool, shown per finding. On a slow
  // machine the page's start-up model may still be loading when this is clicked: the page runs
  // its actions in order, so the score and the status are the multi-label model's.
  await page.click("#use-multilabel");
  await page.waitForFunction(() => window.__medtriage.model?.modelKey && window.__medtriage.state.manifest?.output.kind === "multiLabel");
  await page.click("#score");
  await page.waitForFunction(() => /image\(s\) in/.test(document.querySelector("#status").textContent), null, { timeout: 60000 });
  const view = await page.evaluate(() => ({
    model: document.querySelector("#model-info").textContent,
    head: [...document.querySelectorAll("#queue thead th")].map((t) => t.textContent),
    rows: [...document.querySelectorAll("#queue tbody tr")].map((tr) => [...tr.children].map((td) => td.textContent)),
    results: window.__medtriage.results.map((r) => r.score?.findings?.length ?? 0),
  }));
  assert.match(view.model, /^digits-multilabel: 4 classes/);
  assert.equal(view.head[3], "findings present");
  assert.ok(view.rows.length >= 20, `${view.rows.length} rows`);
  assert.match(view.rows[0][6], /even \d+\.\d% · loop \d+\.\d% · prime \d+\.\d% · over4 \d+\.\d%/);
  assert.ok(view.results.every((k) => k === 4), "pool results keep their findings");
  assert.deepEqual(foreignRequests(requests, env.origin), [], "requests left the page's origin");
  await page.close();
});

test("multi-label queue through the JS API: tiers, Label Studio round trip, rounds", async () => {
  const page = await env.browser.newPage();
  const requests = [];
  page.context().on("request", (r) => requests.push(r.url()));
  await page.goto(`${env.origin}/style.css`);
  const out = await page.evaluate(async () => {
    const mt = await import("/pkg/index.js");
    await mt.init();
    const K = 3, names = ["effusion", "cardiomegaly", "nodule"], prev = [0.3, 0.2, 0.1];
    let seed = 11;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
    const make = (n, flip) => {
      const p = new Float64Array(n * K), truth = [], given = [];
      for (let i = 0; i < n; i++) {
        const t = [], g = [];
        for (let j = 0; j < K; j++) {
          const y = rand() < prev[j];
          const sure = rand() < 0.9 ? 4 + 4 * rand() : 1.5 * rand() - 0.5;
          p[i * K + j] = 1 / (1 + Math.exp(y ? -sure : sure));
          if (y) t.push(j);
          if (y !== rand() < flip) g.push(j);
        }
        truth.push(t);
        given.push(g);
      }
      return { p, truth, given };
    };
    const v = make(1500, 0), q = make(300, 0.03);
    const verified = { predProbs: v.p, n: 1500, labels: v.truth, givenLabels: v.truth };
    const pool = { predProbs: q.p, n: 300, givenLabels: q.given };
    const tiers = mt.tierItemsMultiLabel({ k: K, findings: names, verified, pool });
    let typo;
    try {
      mt.tierItemsMultiLabel({ k: K, findings: names, verified, pool, policy: { autoAccept: { alpah: 0.1 } } });
    } catch (e) {
      typo = e.code;
    }
    const ids = Array.from({ length: 300 }, (_, i) => `cxr-${i}.png`);
    const tasks = mt.exportLabelStudioMultiLabel({ tiers, ids });
    const config = mt.labelStudioConfig({ classes: names, options: { multiple: true } });
    // a reviewer chooses the truth on the first 50 tasks (Label Studio's JSON export shape)
    const annotated = tasks.slice(0, 50).map((t, tid) => {
      const i = t.data.medtriage_index;
      const choices = q.truth[i].length ? q.truth[i].map((j) => names[j]) : ["No finding"];
      return { id: tid + 1, data: t.data, annotations: [{ id: tid, completed_by: 1, result: [
        { from_name: "choice", to_name: "image", type: "choices", value: { choices } }] }] };
    });
    const back = mt.readLabelStudioMultiLabel({ export: annotated, findings: names, ids });
    const roundTrip = back.reviewed.every((r) => JSON.stringify(r.findings) === JSON.stringify(q.truth[r.index]));
    const pseudo = mt.exportPseudoLabelsMultiLabel({ tiers, ids });
    // rounds: the Label Studio reviews first, then batches and audit steps until certified
    const reviewed = [...back.reviewed], audits = [];
    let plan, rounds = 0;
    for (; rounds < 60; rounds++) {
      plan = mt.planRoundMultiLabel({ k: K, findings: names, verified, pool, reviewed, audits,
                                      options: { batchSize: 40, stopping: { targetErrorRate: 0.05 } } });
      if (plan.stop) break;
      const todo = plan.audit ? plan.audit.indices : plan.batch;
      for (const i of todo) reviewed.push({ index: i, findings: q.truth[i] });
      if (plan.audit) {
        if (plan.audit.number > audits.length) audits.push({ remainderSize: plan.audit.remainderSize, estimatedRate: plan.audit.estimatedRate, indices: [...todo] });
        else audits[audits.length - 1].indices.push(...todo);
      }
    }
    const done = new Set(reviewed.map((r) => r.index));
    let wrongLeft = 0;
    for (let i = 0; i < 300; i++) if (!done.has(i) && JSON.stringify(q.given[i]) !== JSON.stringify(q.truth[i])) wrongLeft++;
    const issues = mt.multiLabelLabelIssues({ predProbs: q.p, n: 300, k: K, labels: q.given });
    return {
      counts: tiers.counts, guarantee: tiers.fitted.guarantee, typo,
      reasons: tiers.items.flatMap((it) => it.reasons.filter((r) => r.finding !== undefined).map((r) => [names[r.finding], r.message])),
      tasks: tasks.length, firstChoices: tasks[0].predictions[0].result[0].value.choices, config,
      decided: back.decided, roundTrip, pseudoHead: pseudo.csv.split("\n")[0], pseudoRows: pseudo.rows.length,
      stop: plan.stop, stopReason: plan.stopReason, certified: plan.estimate.certifiedErrorRate, wrongLeft, rounds,
      issues: issues.numIssues,
    };
  });
  const c = out.counts;
  assert.equal(c.autoAccept + c.lightReview + c.expertReview + c.suspectedLabelError + c.outlier + c.failed, 300);
  assert.ok(c.autoAccept > 50, JSON.stringify(c));
  assert.match(out.guarantee, /some finding/);
  assert.equal(out.typo, "invalid_options");
  assert.ok(out.reasons.length > 0);
  for (const [name, message] of out.reasons) assert.ok(message.includes(name), message);
  assert.equal(out.tasks, 300);
  assert.ok(out.firstChoices.length >= 1);
  assert.match(out.config, /choice="multiple"/);
  assert.equal(out.decided, 50);
  assert.ok(out.roundTrip, "the findings chosen in Label Studio come back");
  assert.equal(out.pseudoHead, "id,labels,tier,effusion,cardiomegaly,nodule,weight_effusion,weight_cardiomegaly,weight_nodule");
  assert.equal(out.pseudoRows, c.autoAccept);
  assert.ok(out.stop, out.stopReason);
  assert.ok(out.certified <= 0.05, out.stopReason);
  assert.ok(out.wrongLeft / 300 <= out.certified, `${out.wrongLeft} wrong left, certified ${out.certified}`);
  assert.ok(out.issues > 0);
  assert.deepEqual(foreignRequests(requests, env.origin), [], "requests left the page's origin");
  await page.close();
});

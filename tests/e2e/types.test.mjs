// The generated TypeScript declarations against what really crosses the boundary: the engine's
// functions are called in headless Chromium from the packed package, and each request sent and
// response received is written into a .ts file as an object literal of its declared type
// (`const r: TierResponse = {...}`), then `tsc --noEmit` checks it against the tarball's
// declarations. Object literals get TypeScript's excess-property check, so a field the types
// lack, a required field missing, or a wrong type fails. Two controls prove the check bites: a
// response with a field added and one with a field removed must both be refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freshDir, repo, tarball, useBrowser } from "./browser.mjs";

const env = useBrowser();

/** Calls the page makes: [function, request type, response type, request] (run in the page). */
async function exchange(page) {
  return page.evaluate(async () => {
    const mt = await import("/pkg/index.js");
    await mt.init();
    const out = [];
    const plain = (v) => JSON.parse(JSON.stringify(v, (_, x) => (ArrayBuffer.isView(x) ? Array.from(x) : x)));
    const call = (fn, reqType, respType, ...args) => {
      const resp = mt[fn](...args);
      out.push({ fn, reqType, respType, request: args.length === 1 ? plain(args[0]) : null, response: plain(resp) });
      return resp;
    };
    // the bundled model: real scores, one image that fails
    const manifest = await (await fetch("/assets/digits/manifest.json")).json();
    const model = new Uint8Array(await (await fetch("/assets/digits/model.onnx")).arrayBuffer());
    const index = await (await fetch("/assets/digits/index.json")).json();
    const items = [];
    for (const n of index.samples.slice(0, 6)) items.push({ id: n, bytes: new Uint8Array(await (await fetch(`/assets/digits/${n}`)).arrayBuffer()) });
    items.push({ id: "broken.png", bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]) });
    const parsed = call("parseManifest", "Manifest", "Manifest", manifest);
    const scorer = new mt.Scorer(model, manifest);
    const results = scorer.scoreBatch(items, { topK: 3, embedding: true });
    out.push({ fn: "scoreBatch", reqType: null, respType: "ItemResult[]", request: null, response: plain(results) });
    out.push({ fn: "Scorer.manifest", reqType: null, respType: "Manifest", request: null, response: plain(scorer.manifest) });
    const one = scorer.scoreImage(items[0].bytes, { includeSamples: true });
    out.push({ fn: "scoreImage", reqType: "ScoreOptions", respType: "ImageScore", request: { includeSamples: true }, response: plain(one) });
    out.push({ fn: "rankQueue", reqType: "ItemResult[]", respType: "Queue", request: plain(results), response: plain(mt.rankQueue(results, "margin")) });
    scorer.free();
    // seeded probabilities, 3 classes
    let s = 11;
    const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
    const make = (n) => {
      const p = new Float64Array(n * 3), truth = new Int32Array(n), given = new Int32Array(n), emb = new Float64Array(n * 4);
      for (let i = 0; i < n; i++) {
        const y = i % 3, peak = rand() < 0.85 ? y : Math.floor(rand() * 3);
        let sum = 0;
        for (let j = 0; j < 3; j++) sum += p[i * 3 + j] = (j === peak ? 4 + 20 * rand() : 0) + rand();
        for (let j = 0; j < 3; j++) p[i * 3 + j] /= sum;
        for (let j = 0; j < 4; j++) emb[i * 4 + j] = (j === y ? 1 : 0) + 0.3 * rand();
        truth[i] = y;
        given[i] = rand() < 0.15 ? (y + 1) % 3 : y;
      }
      return { p, truth, given, emb };
    };
    const v = make(150), q = make(40);
    const lp = { predProbs: v.p, n: 150, k: 3, labels: v.given };
    const verified = { predProbs: v.p, n: 150, labels: v.truth, givenLabels: v.given };
    const pool = { predProbs: q.p, n: 40, givenLabels: q.given };
    const tiers = call("tierItems", "TierRequest", "TierResponse", { k: 3, verified, pool, policy: { autoAccept: { alpha: 0.1 } } });
    const plan = call("planRound", "RoundRequest", "RoundPlan", { k: 3, verified, pool, reviewed: [{ index: 0, label: 1 }], options: { batchSize: 5 } });
    const classes = ["a", "b", "c"], ids = Array.from({ length: 40 }, (_, i) => `x${i}`);
    call("exportPseudoLabels", "ExportRequest<PseudoLabelOptions>", "PseudoLabels", { tiers, ids, classes });
    call("exportLabelStudio", "ExportRequest<LabelStudioOptions>", "unknown[]", { tiers, ids, classes });
    call("labelStudioConfig", "LabelConfigRequest", "string", { classes });
    call("findLabelIssues", "FindLabelIssuesRequest", "LabelIssues", { ...lp, options: { filterBy: "both", returnIndicesRankedBy: "selfConfidence" } });
    call("labelQualityScores", "QualityScoresRequest", "QualityScoresResponse", lp);
    call("confidentJoint", "ConfidentJointRequest", "ConfidentJointResponse", lp);
    call("numLabelIssues", "NumIssuesRequest", "NumIssuesResponse", lp);
    call("classReport", "ClassReportRequest", "ClassReport", lp);
    call("outlierScores", "OutlierScoresRequest", "OodProbsResponse", { predProbs: v.p, n: 150, k: 3, labels: Array.from(v.given) });
    call("outlierScores", "OutlierScoresRequest", "KnnOutlierResponse", { embeddings: v.emb, n: 150, d: 4, options: { k: 5 } });
    call("nearDuplicates", "DuplicatesRequest", "DuplicatesResponse", { embeddings: v.emb.slice(0, 80), n: 20, d: 4, options: { threshold: 0.05 } });
    call("selectBatch", "SelectRequest", "SelectResponse", { scores: q.p.filter((_, i) => i % 3 === 0), batchSize: 4, strategy: "kCenterGreedy", embeddings: q.emb, d: 4 });
    call("multiUncertainty", "MultiUncertaintyRequest", "MultiUncertaintyResponse", { probs: v.p.slice(0, 60), n: 10, t: 2, k: 3, includeMeanProbs: true });
    call("fitTemperature", "TemperatureRequest", "TemperatureResponse", { scores: v.p, n: 150, k: 3, labels: v.truth, kind: "probabilities" });
    call("calibrationReport", "CalibrationReportRequest", "CalibrationReport", { probs: v.p, n: 150, k: 3, labels: v.truth, bins: 5 });
    const cal = call("conformalCalibrate", "ConformalCalibrateRequest", "ConformalCalibration", { probs: v.p, n: 150, k: 3, labels: v.truth, alpha: 0.1 });
    call("conformalSets", "ConformalSetsRequest", "ConformalSetsResponse", { calibration: cal, probs: q.p, n: 40, k: 3, labels: Array.from(q.truth) });
    call("autoAcceptThreshold", "AutoAcceptRequest", "AutoAcceptResponse", { probs: v.p, n: 150, k: 3, labels: v.truth, alpha: 0.3, delta: 0.2, options: { includeTable: true } });
    const annotations = [];
    for (let i = 0; i < 12; i++) for (const a of ["r1", "r2", "r3"]) annotations.push({ item: `i${i}`, annotator: a, label: rand() < 0.8 ? i % 3 : (i + 1) % 3 });
    call("majorityVote", "ConsensusRequest<MajorityOptions>", "MajorityResponse", { annotations, numClasses: 3 });
    call("dawidSkene", "ConsensusRequest<DawidSkeneOptions>", "DawidSkeneResponse", { annotations, numClasses: 3, options: { nIter: 20 } });
    call("agreement", "ConsensusRequest<AgreementOptions>", "AgreementResponse", { annotations, numClasses: 3 });
    call("crowdlab", "ConsensusRequest<CrowdlabOptions>", "CrowdlabResponse", { annotations, numClasses: 3, predProbs: v.p.slice(0, 36) });
    call("groupClasses", "GroupClassesRequest", "GroupClassesResponse", {
      classes, groups: [{ name: "ab", classes: ["a", "b"] }, { name: "c", classes: ["c"] }], predProbs: q.p, n: 40, labels: q.truth,
    });
    const decisions = Array.from({ length: 30 }, (_, i) => ({ reviewer: i % 2 ? "ann" : "bob", truth: i % 3, label: i % 7 ? i % 3 : (i + 1) % 3 }));
    call("reviewerReport", "ReviewerReportRequest", "ReviewerReport", { k: 3, decisions });
    call("mixGold", "MixGoldRequest", "MixGoldResponse", { batch: [1, 2, 3, 4], gold: [10, 11], seed: 3 });
    const reviews = (i) => [{ reviewer: "ann", label: i % 3 }, { reviewer: "bob", label: (i + (i % 4 === 0 ? 1 : 0)) % 3 }];
    call("combineReviews", "CombineRequest", "CombineResponse", {
      k: 3, decisions, items: Array.from({ length: 6 }, (_, i) => ({ index: i, reviews: reviews(i), probs: Array.from(q.p.slice(3 * i, 3 * i + 3)) })),
    });
    call("pickCalibrationItems", "PickRequest", "PickResponse", { k: 3, candidates: Array.from({ length: 8 }, (_, i) => ({ index: i, reviews: reviews(i) })), size: 3 });
    call("calibrationSession", "SessionRequest", "SessionReport", { k: 3, labels: Array.from({ length: 8 }, (_, i) => reviews(i).map((r) => ({ index: i, ...r }))).flat() });
    call("applyTemperature", "ApplyTemperatureRequest", "number[]", { scores: v.p.slice(0, 30), n: 10, k: 3, kind: "probabilities", temperature: 1.5 });
    call("activeLabScores", "ConsensusRequest<ActiveLabOptions>", "ActiveLabResponse", { annotations, numClasses: 3, predProbs: v.p.slice(0, 36), predProbsUnlabeled: q.p.slice(0, 12) });
    call("exportTiersCsv", "ExportRequest<TableOptions>", "string", { tiers, ids });
    // multi-label: 30 images x 3 findings, each image's findings as index lists
    const mlProbs = Float64Array.from({ length: 90 }, () => rand());
    const mlLabels = Array.from({ length: 30 }, (_, i) => [0, 1, 2].filter((j) => (mlProbs[i * 3 + j] > 0.5) !== (rand() < 0.1)));
    call("multiLabelQualityScores", "MlQualityRequest", "MlQualityResponse", { predProbs: mlProbs, n: 30, k: 3, labels: mlLabels });
    call("multiLabelLabelIssues", "MlFindRequest", "MlLabelIssues", { predProbs: mlProbs, n: 30, k: 3, labels: mlLabels });
    return { out, plan: plan.stop !== undefined };
  });
}

/** The declared request and response types of a call, read off the package's own signatures
 * (so a binding declaring the wrong type fails too), and the named type next to it. */
function declaredTypes(c) {
  const ref = (t) => (/^[A-Z]/.test(t) ? t.replace(/\b([A-Z]\w*)/g, "M.$1") : t);
  const method = { scoreBatch: "scoreBatch", scoreImage: "scoreImage" }[c.fn];
  const sig = c.fn === "Scorer.manifest" ? null : method ? `M.Scorer["${method}"]` : `typeof M.${c.fn}`;
  const resp = c.fn === "Scorer.manifest" ? `M.Scorer["manifest"]` : `ReturnType<${sig}>`;
  const req = sig && !method ? `Parameters<${sig}>[0]` : c.reqType && ref(c.reqType);
  return { req: req && c.reqType ? `${req} & ${ref(c.reqType)}` : req, resp: `${resp} & ${ref(c.respType)}` };
}

/** A .ts module typing each captured value. */
function module(calls, transform = (x) => x) {
  const lines = [`import type * as M from "medtriage";`];
  calls.forEach((c, i) => {
    const t = declaredTypes(c);
    const name = c.fn.replace(/\W/g, "_");
    if (t.req && c.request !== null) lines.push(`export const q${i}_${name}: ${t.req} = ${JSON.stringify(c.request)};`);
    lines.push(`export const r${i}_${name}: ${t.resp} = ${JSON.stringify(transform(c.response, c))};`);
  });
  return lines.join("\n") + "\n";
}

async function tsc(dir, file) {
  const cfg = {
    compilerOptions: { target: "es2022", module: "esnext", moduleResolution: "bundler", lib: ["esnext", "dom"], strict: true, noEmit: true, types: [] },
    files: [file],
  };
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify(cfg));
  try {
    execFileSync(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: dir, stdio: "pipe" });
    return "";
  } catch (e) {
    return `${e.stdout}${e.stderr}` || String(e);
  }
}

test("real requests and responses conform to the generated declarations (tsc on captured values)", async () => {
  const page = await env.browser.newPage();
  await page.goto(`${env.origin}/style.css`);
  const { out: calls } = await exchange(page);
  await page.close();
  assert.ok(calls.length >= 30, `only ${calls.length} calls captured`);
  const failedItem = calls.find((c) => c.fn === "scoreBatch").response.find((r) => r.error);
  assert.equal(failedItem.error.code, "image_decode");

  const dir = await freshDir("types");
  await mkdir(join(dir, "node_modules/medtriage"), { recursive: true });
  execFileSync("tar", ["-xzf", tarball(), "-C", join(dir, "node_modules/medtriage"), "--strip-components=1"]);
  const dts = await readFile(join(dir, "node_modules/medtriage/medtriage.d.ts"), "utf8");
  assert.match(dts, /Generated from the engine's serde structs/);

  await writeFile(join(dir, "real.ts"), module(calls));
  const errors = await tsc(dir, "real.ts");
  assert.equal(errors, "", `captured values do not conform:\n${errors.slice(0, 4000)}`);

  // controls: an extra field, and a missing required field, in the tier response
  const tierIdx = calls.findIndex((c) => c.fn === "tierItems");
  const only = [calls[tierIdx]];
  await writeFile(join(dir, "extra.ts"), module(only, (r) => ({ ...r, counts: { ...r.counts, bogusTier: 1 } })));
  assert.match(await tsc(dir, "extra.ts"), /bogusTier/);
  await writeFile(join(dir, "missing.ts"), module(only, (r) => { const { order, ...rest } = r; return rest; }));
  assert.match(await tsc(dir, "missing.ts"), /order/);
  console.log(`# ${calls.length} real exchanges type-checked (${(await readFile(join(dir, "real.ts"))).length} bytes of literals)`);
});

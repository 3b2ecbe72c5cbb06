// A typed host: `tsc --noEmit` (tests/e2e/hosts.test.mjs) checks it against the declarations in
// the packed tarball (engine API, init, pool, store), so a renamed or missing type breaks here first.
import { init, Scorer, rankQueue, tierItems, numLabelIssues, nearDuplicates } from "medtriage";
import { tierItemsMultiLabel, exportLabelStudioMultiLabel, readLabelStudioMultiLabel } from "medtriage";
import type { ItemResult, Manifest, ScoreOptions, TierRequest, Queue, MlTierRequest, FindingScore } from "medtriage";
import { WorkerPool, plainResult, type Progress, type RunSummary } from "medtriage/pool";
import { openStore, type ImportReport } from "medtriage/store";
import { simdSupported, compile } from "medtriage/loader";

export async function host(model: ArrayBuffer, manifest: Manifest, files: FileList): Promise<Queue> {
  const { variant } = await init(await compile(undefined, { simd: simdSupported() }));
  const scorer = new Scorer(new Uint8Array(model), manifest);
  const options: ScoreOptions = { topK: 3 };
  const one: ItemResult[] = scorer.scoreBatch([{ id: "a", bytes: new Uint8Array(8) }], options);
  scorer.free();
  const pool = new WorkerPool({ workers: 2, timeoutMs: 10_000 });
  const info = await pool.load(model, manifest);
  const store = await openStore({ persist: true });
  store.addEventListener("error", (e) => console.warn((e as CustomEvent).detail.code));
  const run = pool.score(files, { store, onProgress: (p: Progress) => p.etaSeconds ?? p.rate });
  const sum: RunSummary = await run.finished;
  const results = (sum.results ?? []).map(plainResult);
  const k = 10;
  const req: TierRequest = {
    k,
    verified: { predProbs: new Float64Array(k), n: 1, labels: new Int32Array([0]) },
    pool: { predProbs: new Float64Array(k), n: 1 },
  };
  tierItems(req);
  numLabelIssues({ labels: new Int32Array([0]), predProbs: new Float64Array(k), n: 1, k });
  nearDuplicates({ embeddings: new Float64Array(4), n: 2, d: 2 });
  // multi-label: per-finding scores, tiers, Label Studio out and back
  const findings: FindingScore[] = one[0]?.score?.findings ?? [];
  const mreq: MlTierRequest = {
    k: 2,
    findings: ["effusion", "nodule"],
    verified: { predProbs: new Float64Array(2), n: 1, labels: [[0]], givenLabels: [null] },
    pool: { predProbs: new Float64Array(2), n: 1, givenLabels: [[1]] },
  };
  const mt = tierItemsMultiLabel(mreq);
  const tasks = exportLabelStudioMultiLabel({ tiers: mt, options: { noFinding: "None" } });
  const back = readLabelStudioMultiLabel({ export: tasks, findings: mt.findings });
  console.log(findings.length, back.reviewed.map((r) => r.findings.length));
  const rep: ImportReport = await store.import(await store.exportJson(info.modelKey));
  console.log(variant, one.length, rep.skipped.length);
  return rankQueue([...results], "entropy");
}

// In-browser speed of the triage maths (used by scripts/bench.sh): wall time of one JS call,
// conversions included, on seeded synthetic data of the sizes the native benchmarks use.
//   bench-triage.html?what=labels&n=50000   |   bench-triage.html?what=dawidSkene&n=10000
//   bench-triage.html?what=tierItems&n=150000   |   bench-triage.html?what=planRound&n=150000
//   (planRound: a mid-run round, `reviewed` outcomes already returned for 10% of the pool)
import * as mt from "./pkg/index.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
let s = 12345;
const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
try {
  const { variant } = await mt.init();
  const n = Number(q.get("n") ?? 50000);
  const k = 10;
  const what = q.get("what") ?? "labels";
  let run;
  // seeded model-like probabilities: the true class favoured, ~20% of given labels wrong
  const noisy = (m) => {
    const p = new Float64Array(m * k);
    const truth = new Int32Array(m);
    const given = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const y = (truth[i] = Math.floor(rand() * k));
      let sum = 0;
      for (let j = 0; j < k; j++) sum += p[i * k + j] = Math.exp(2 * rand() + (j === y ? 3 : 0));
      for (let j = 0; j < k; j++) p[i * k + j] /= sum;
      given[i] = rand() < 0.2 ? Math.floor(rand() * k) : y;
    }
    return { p, truth, given };
  };
  if (what === "tierItems" || what === "planRound") {
    const v = noisy(5000);
    const pool = noisy(n);
    const request = {
      k,
      verified: { n: 5000, predProbs: v.p, labels: v.truth },
      pool: { n, predProbs: pool.p, givenLabels: pool.given },
    };
    if (what === "tierItems") {
      run = () => mt.tierItems(request);
    } else {
      // the reviewed 10%: the pool's first items, answered with their true class (plain
      // objects, as a labeler would pass them)
      const reviewed = Array.from({ length: Math.floor(n / 10) }, (_, i) => ({ index: i, label: pool.truth[i] }));
      run = () => mt.planRound({ ...request, reviewed, options: { batchSize: 500 } });
    }
  } else if (what === "labels") {
    const p = new Float64Array(n * k);
    const labels = new Array(n);
    for (let i = 0; i < n; i++) {
      const y = i % k;
      let sum = 0;
      for (let j = 0; j < k; j++) sum += p[i * k + j] = Math.exp(3 * rand() + (j === y ? 2.5 : 0));
      for (let j = 0; j < k; j++) p[i * k + j] /= sum;
      labels[i] = rand() < 0.2 ? Math.floor(rand() * k) : y;
    }
    // `plain=1`: labels as a plain Array (read element by element) instead of an Int32Array
    const l = q.get("plain") === "1" ? labels : Int32Array.from(labels);
    run = () => mt.findLabelIssues({ predProbs: p, n, k, labels: l });
  } else {
    const annotations = [];
    for (let i = 0; i < n; i++) {
      const y = i % k;
      for (let a = 0; a < 5; a++) {
        if (rand() < 0.3) continue;
        const label = rand() < 0.7 + 0.05 * a ? y : Math.floor(rand() * k);
        annotations.push({ item: `i${i}`, annotator: `a${a}`, label });
      }
    }
    if (what === "crowdlab") {
      const p = new Float64Array(n * k);
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let j = 0; j < k; j++) sum += p[i * k + j] = Math.exp(3 * rand() + (j === i % k ? 2 : 0));
        for (let j = 0; j < k; j++) p[i * k + j] /= sum;
      }
      const items = Array.from({ length: n }, (_, i) => `i${i}`);
      const seen = new Set(annotations.map((a) => a.item));
      const kept = items.filter((it) => seen.has(it));
      const keep = new Set(kept);
      const pk = new Float64Array(kept.length * k);
      let r = 0;
      items.forEach((it, i) => {
        if (keep.has(it)) pk.set(p.subarray(i * k, i * k + k), k * r++);
      });
      run = () => mt.crowdlab({ annotations, numClasses: k, items: kept, predProbs: pk });
    } else {
      run = () => mt.dawidSkene({ annotations, numClasses: k, options: { nIter: 100, stopEarly: false } });
    }
  }
  run();
  const ms = [];
  for (let r = 0; r < Number(q.get("runs") ?? 3); r++) {
    const t = performance.now();
    run();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  window.__bench = { what, n, k, variant, medianMs: ms[ms.length >> 1], minMs: ms[0] };
} catch (e) {
  window.__bench = { error: `${e.code ?? ""} ${e.message}` };
}
out.textContent = JSON.stringify(window.__bench, null, 1);

// The package's pool, store and init() in headless Chromium, from the packed tarball, under the
// hosts' strict CSP and the privacy guard: a worker that traps mid-batch (a real model that
// panics tract, tests/fixtures/trap), one that hangs, a storage quota error, cancel and pause,
// a reload mid-batch that resumes, and the store's export/import round trip. Nothing lost in
// any of them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startServer } from "../../scripts/serve.mjs";
import { HOST_CSP, guardedContext, launch, repo, staticHost, staticPaths } from "./browser.mjs";

const golden = JSON.parse(await readFile(join(repo, "tests/golden/digits_scores.json"), "utf8"));
const env = {};
before(async () => {
  env.dir = await staticHost();
  await writeFile(join(env.dir, "lab.html"), "<!doctype html><meta charset=utf-8><title>lab</title>");
  env.server = await startServer({ root: env.dir, port: 0, csp: HOST_CSP });
  env.origin = `http://127.0.0.1:${env.server.address().port}`;
  env.paths = await staticPaths(env.dir);
  env.browser = await launch();
});
after(async () => {
  await env.browser?.close();
  env.server?.close();
});

async function lab() {
  const g = await guardedContext(env.browser, env.origin, env.paths);
  const page = await g.context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${env.origin}/lab.html`);
  return { ...g, page, errors };
}

async function done(g) {
  assert.deepEqual(g.violations, [], "requests beyond the host's static files");
  assert.deepEqual(g.errors, []);
  await g.context.close();
}

// In the page: helpers every test uses (the pool and store imported from the unpacked tarball).
const PRELUDE = async () => {
  const { WorkerPool } = await import("/medtriage/pool.js");
  const store = await import("/medtriage/store.js");
  const bytes = async (u) => (await fetch(u)).arrayBuffer();
  const json = async (u) => (await fetch(u)).json();
  let s = 99;
  const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 24;
  // distinct 32x32 RGBA images (each its own content hash)
  const rgba = (n, prefix = "r") =>
    Array.from({ length: n }, (_, i) => {
      const px = new Uint8Array(32 * 32 * 4);
      for (let j = 0; j < px.length; j++) px[j] = (j & 3) === 3 ? 255 : rand() & 0x7f;
      return { id: `${prefix}${i}`, rgba: px, width: 32, height: 32 };
    });
  window.__lab = { WorkerPool, store, bytes, json, rgba };
};

test("a worker that traps mid-batch: replaced, each item retried alone, only the trapping images fail", async () => {
  const g = await lab();
  await g.page.evaluate(PRELUDE);
  const names = golden.items.filter((it) => /\/d\d\d_/.test(it.file)).map((it) => it.file.split("/").pop()).slice(0, 14);
  const out = await g.page.evaluate(async (names) => {
    const { WorkerPool, bytes, json } = window.__lab;
    const pool = new WorkerPool({ workers: 2, chunk: 4 });
    await pool.load(await bytes("/trap/model.onnx"), await json("/trap/manifest.json"));
    const white = await bytes("/trap/white.png");
    const items = [];
    for (const n of names) items.push({ id: n, bytes: await bytes(`/samples/${n}`) });
    items.splice(5, 0, { id: "white-a.png", bytes: white });
    items.splice(11, 0, { id: "white-b.png", bytes: white });
    const replaced = [];
    pool.addEventListener("workerreplaced", (e) => replaced.push(e.detail.worker));
    const sum = await pool.score(items).finished;
    const again = await pool.score(items.slice(0, 3)).finished; // the pool still works
    pool.terminate();
    return {
      results: sum.results.map((r) => ({ id: r.id, error: r.error ?? null, p: r.score ? Array.from(r.score.probabilities) : null })),
      retried: sum.retried,
      failed: sum.failed,
      replaced,
      again: again.results.map((r) => !!r.score),
    };
  }, names);
  assert.equal(out.results.length, 16, "every item has a result");
  const byFile = new Map(golden.items.map((it) => [it.file.split("/").pop(), it]));
  for (const r of out.results) {
    if (r.id.startsWith("white")) {
      assert.equal(r.error?.code, "worker_trapped", `${r.id}: ${JSON.stringify(r.error)}`);
      continue;
    }
    assert.equal(r.error, null, `${r.id}: ${JSON.stringify(r.error)}`);
    const d = Math.max(...r.p.map((p, i) => Math.abs(p - byFile.get(r.id).probabilities[i])));
    assert.ok(d < 1e-4, `${r.id}: ${d} from onnxruntime`);
  }
  assert.equal(out.failed, 2);
  assert.ok(out.replaced.length >= 4, `a fresh worker after each trap (${out.replaced.length})`);
  assert.ok(out.retried >= 2);
  assert.deepEqual(out.again, [true, true, true]);
  console.log(`# trap: ${out.replaced.length} workers replaced, ${out.retried} items retried alone, 2 of 16 failed`);
  await done(g);
});

test("a worker that hangs: the watchdog replaces it, the hung image fails alone", async () => {
  const g = await lab();
  await g.page.evaluate(PRELUDE);
  const out = await g.page.evaluate(async () => {
    const { WorkerPool, bytes, json } = window.__lab;
    const pool = new WorkerPool({ workers: 2, chunk: 3, timeoutMs: 1500, workerUrl: "/fault-worker.js" });
    await pool.load(await bytes("/model/model.onnx"), await json("/model/manifest.json"));
    const b = await bytes("/samples/d00_label3.png");
    const items = Array.from({ length: 12 }, (_, i) => ({ id: i === 4 ? "HANG-4.png" : `ok-${i}.png`, bytes: b }));
    const t0 = performance.now();
    const sum = await pool.score(items).finished;
    pool.terminate();
    return { ms: performance.now() - t0, results: sum.results.map((r) => [r.id, r.error?.code ?? "ok"]), replaced: pool.replaced };
  });
  assert.equal(out.results.length, 12);
  for (const [id, code] of out.results) assert.equal(code, id.startsWith("HANG") ? "worker_timeout" : "ok", id);
  assert.ok(out.replaced >= 2, `replaced ${out.replaced}`);
  console.log(`# hang: 11 of 12 scored, 1 worker_timeout, ${out.replaced} workers replaced, ${out.ms.toFixed(0)} ms`);
  await done(g);
});

test("storage quota exceeded: an error event, every result kept in memory and exportable", async () => {
  const g = await lab();
  await g.page.evaluate(PRELUDE);
  await g.page.evaluate(async () => {
    window.__store = await window.__lab.store.openStore({ name: "quota" });
  });
  const cdp = await g.context.newCDPSession(g.page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.origin, quotaSize: 1 });
  const out = await g.page.evaluate(async () => {
    const { WorkerPool, bytes, json, rgba } = window.__lab;
    const st = window.__store;
    const errors = [];
    st.addEventListener("error", (e) => errors.push(e.detail.code));
    const pool = new WorkerPool({ workers: 2 });
    await pool.load(await bytes("/model/model.onnx"), await json("/model/manifest.json"));
    const sum = await pool.score(rgba(24), { store: st }).finished;
    await new Promise((r) => setTimeout(r, 100));
    const exported = await st.export();
    window.__pool = pool;
    return { done: sum.done, scored: sum.scored, errors: [...new Set(errors)], unsaved: st.unsaved, exported: exported.scores.length };
  });
  assert.equal(out.done, 24);
  assert.equal(out.scored, 24);
  assert.deepEqual(out.errors, ["storage_quota"]);
  assert.equal(out.unsaved, 24, "kept in memory");
  assert.equal(out.exported, 24, "the export includes what could not be written");
  // room again: the next flush writes what was kept
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: env.origin });
  const after = await g.page.evaluate(async () => {
    await window.__store.flush();
    window.__pool.terminate();
    return { unsaved: window.__store.unsaved, stored: await window.__store.count() };
  });
  assert.deepEqual(after, { unsaved: 0, stored: 24 });
  await done(g);
});

test("loads run in call order: the last model called is the one scored; a load during a run is refused", async () => {
  const g = await lab();
  await g.page.evaluate(PRELUDE);
  const out = await g.page.evaluate(async () => {
    const { WorkerPool, bytes, json, rgba } = window.__lab;
    const model = await bytes("/model/model.onnx");
    const a = await json("/model/manifest.json");
    // the same network read another way: other probabilities, another model key
    const b = { ...a, name: "digits-b", input: { ...a.input, mean: [0], std: [1] } };
    // the same six images each time (copies: the pool moves the pixels to its workers)
    const base = rgba(6, "o");
    const items = () => base.map((it) => ({ ...it, rgba: it.rgba.slice() }));
    const probs = (s) => s.results.map((r) => Array.from(r.score.probabilities));
    const pool = new WorkerPool({ workers: 2, chunk: 2 });
    await pool.load(model, a);
    const refA = probs(await pool.score(items()).finished);
    await pool.load(model, b);
    const refB = probs(await pool.score(items()).finished);
    // three loads and a run asked for at once, none awaited: the run waits for them all
    const loads = [pool.load(model, a), pool.load(model, b), pool.load(model, a), pool.load(model, b)];
    const run = pool.score(items());
    let refused;
    await pool.load(model, a).catch((e) => (refused = e.code));
    const infos = await Promise.all(loads);
    const raced = probs(await run.finished);
    const key = pool.modelKey;
    pool.terminate();
    return { refA, refB, raced, refused, keys: infos.map((i) => i.modelKey), key };
  });
  assert.notDeepEqual(out.refA, out.refB, "the two manifests must score differently for this test to mean anything");
  assert.deepEqual(out.raced, out.refB, "the run scored with the last model loaded");
  assert.equal(out.refused, "invalid_input");
  assert.equal(out.keys[0], out.keys[2]);
  assert.equal(out.keys[1], out.keys[3]);
  assert.notEqual(out.keys[0], out.keys[1]);
  assert.equal(out.key, out.keys[3]);
  await done(g);
});

test("cancel and pause", async () => {
  const g = await lab();
  await g.page.evaluate(PRELUDE);
  const out = await g.page.evaluate(async () => {
    const { WorkerPool, bytes, json, rgba } = window.__lab;
    const pool = new WorkerPool({ workers: 2, chunk: 2 });
    await pool.load(await bytes("/model/model.onnx"), await json("/model/manifest.json"));
    // cancel: a lazy source of 100,000 images; at most what was in flight is read after it
    let read = 0;
    const source = (function* () {
      for (let i = 0; ; i++) {
        read++;
        yield rgba(1, `c${i}-`)[0];
        if (i >= 99999) return;
      }
    })();
    let run;
    const cancelled = await new Promise((ok) => {
      run = pool.score(source, { total: 100000, progressEveryMs: 0, onProgress: (p) => p.done >= 20 && run.cancel() });
      run.finished.then(ok);
    });
    // pause: nothing is handed out while paused; resume finishes the run
    const items = rgba(40, "p");
    let r2;
    const paused = {};
    r2 = pool.score(items, {
      progressEveryMs: 0,
      onProgress: (p) => {
        if (p.done >= 6 && !paused.at && !r2.paused) {
          r2.pause();
          paused.at = performance.now();
          setTimeout(() => {
            paused.before = paused.last;
            setTimeout(() => {
              paused.after = paused.last;
              r2.resume();
            }, 500);
          }, 300);
        }
        paused.last = p.done;
      },
    });
    const s2 = await r2.finished;
    pool.terminate();
    return { cancelled: { flag: cancelled.cancelled, done: cancelled.done, read }, paused, s2: { done: s2.done, failed: s2.failed, all: s2.results.every((r) => r.score) } };
  });
  assert.equal(out.cancelled.flag, true);
  assert.ok(out.cancelled.done >= 20 && out.cancelled.done < 40, `done ${out.cancelled.done}`);
  assert.ok(out.cancelled.read <= out.cancelled.done + 8, `read ${out.cancelled.read} of the source after cancel`);
  assert.equal(out.paused.before, out.paused.after, "no progress while paused");
  assert.deepEqual(out.s2, { done: 40, failed: 0, all: true });
  await done(g);
});

test("a reload mid-batch resumes: no stored image scored again, no decision lost", async () => {
  const g = await lab();
  await g.page.evaluate(PRELUDE);
  await g.page.evaluate(async () => {
    const { WorkerPool, bytes, json, rgba, store } = window.__lab;
    const st = await store.openStore({ name: "resume" });
    await st.clear();
    const pool = new WorkerPool({ workers: 2 });
    await pool.load(await bytes("/model/model.onnx"), await json("/model/manifest.json"));
    window.__hashes = [];
    // decisions and a round, saved as they happen
    st.putRound(pool.modelKey, { round: 1, batch: [0, 1, 2] });
    window.__run = pool.score(rgba(2000), {
      store: st,
      onResult: (r) => {
        if (r.index < 5) st.putDecision(pool.modelKey, r.hash, { label: r.index, reviewer: "dr-a" });
      },
    });
  });
  // reload once at least 80 results are in IndexedDB (read by a second connection)
  for (let t0 = Date.now(); ; ) {
    const n = await g.page.evaluate(async () => (await window.__lab.store.openStore({ name: "resume" })).count());
    if (n >= 80) break;
    assert.ok(Date.now() - t0 < 120_000, "results reach IndexedDB");
    await new Promise((ok) => setTimeout(ok, 100));
  }
  await g.page.reload();
  await g.page.evaluate(PRELUDE);
  const out = await g.page.evaluate(async () => {
    const { WorkerPool, bytes, json, rgba, store } = window.__lab;
    const st = await store.openStore({ name: "resume" });
    const pool = new WorkerPool({ workers: 2 });
    await pool.load(await bytes("/model/model.onnx"), await json("/model/manifest.json"));
    const before = await st.load(pool.modelKey);
    const stored = new Set(before.scores.keys());
    const scoredAgain = [];
    const sum = await pool.score(rgba(2000), { store: st, onResult: (r) => !r.cached && stored.has(r.hash) && scoredAgain.push(r.id) }).finished;
    const afterLoad = await st.load(pool.modelKey);
    pool.terminate();
    return {
      storedBefore: stored.size,
      scoredAgain,
      cached: sum.cached,
      scored: sum.scored,
      done: sum.done,
      storedAfter: afterLoad.scores.size,
      decisions: [...before.decisions.values()].map((d) => d.label).sort(),
      rounds: before.rounds.map((r) => r.round),
    };
  });
  assert.ok(out.storedBefore >= 80 && out.storedBefore < 2000, `stored before the reload: ${out.storedBefore}`);
  assert.deepEqual(out.scoredAgain, [], "stored images scored again");
  assert.equal(out.cached, out.storedBefore);
  assert.equal(out.scored, 2000 - out.storedBefore);
  assert.equal(out.storedAfter, 2000);
  assert.deepEqual(out.decisions, [0, 1, 2, 3, 4]);
  assert.deepEqual(out.rounds, [1]);
  console.log(`# reload: ${out.storedBefore} stored before, ${out.scored} scored after, none twice`);
  await done(g);
});

test("export / import round trip, bad records skipped, version 1 migrated (file and database)", async () => {
  const g = await lab();
  await g.page.evaluate(PRELUDE);
  const out = await g.page.evaluate(async () => {
    const { WorkerPool, bytes, json, rgba, store } = window.__lab;
    const st = await store.openStore({ name: "roundtrip" });
    await st.clear();
    const pool = new WorkerPool({ workers: 2 });
    await pool.load(await bytes("/model/model.onnx"), await json("/model/manifest.json"));
    const hashes = [];
    await pool.score(rgba(20), { store: st, onResult: (r) => hashes.push(r.hash) }).finished;
    const mk = pool.modelKey;
    pool.terminate();
    st.putDecision(mk, hashes[0], { label: 3 });
    st.putDecision(mk, hashes[1], { label: 7, note: "unsure" });
    st.putTiers(mk, [{ hash: hashes[2], tier: "expertReview", reasons: [] }]);
    st.putRound(mk, { round: 1, batch: [2, 5] });
    await st.flush();
    const text = await st.exportJson();
    await st.clear();
    const empty = await st.count();
    const rep = await st.import(text);
    const strip = (f) => JSON.stringify({ ...JSON.parse(f), exportedAt: null });
    const same = strip(await st.exportJson()) === strip(text);
    // a damaged file: two bad records among good ones
    const bad = JSON.parse(text);
    bad.scores.push({ model: mk, image: "not-a-hash", result: bad.scores[0].result });
    bad.scores.push({ ...bad.scores[0], image: "f".repeat(64), result: { id: "x", score: { probabilities: [NaN] } } });
    bad.decisions.push(null);
    await st.clear();
    const rep2 = await st.import(JSON.stringify(bad));
    // version 1: the first demo store's rows
    const v1 = {
      format: "medtriage-store",
      version: 1,
      results: [{ key: `${mk}:${"a".repeat(64)}`, result: bad.scores[0].result, storedAt: 1 }, { key: "junk", result: {} }],
    };
    const rep3 = await st.import(v1);
    // the first demo's IndexedDB (version 1, one "results" store) is upgraded in place
    await new Promise((ok, fail) => {
      const o = indexedDB.open("legacy", 1);
      o.onupgradeneeded = () => o.result.createObjectStore("results", { keyPath: "key" }).put({ key: `${mk}:${"b".repeat(64)}`, result: bad.scores[0].result, storedAt: 5 });
      o.onsuccess = () => (o.result.close(), ok());
      o.onerror = () => fail(o.error);
    });
    const legacy = await store.openStore({ name: "legacy" });
    const legacyScores = (await legacy.load(mk)).scores;
    let notJson;
    try {
      await st.import("{ nope");
    } catch (e) {
      notJson = e.code;
    }
    return { rep, empty, same, rep2, rep3, legacy: [...legacyScores.keys()], notJson, persisted: typeof st.persisted };
  });
  assert.equal(out.empty, 0);
  assert.deepEqual(out.rep.imported, { scores: 20, tiers: 1, decisions: 2, rounds: 1 });
  assert.deepEqual(out.rep.skipped, []);
  assert.ok(out.same, "export -> import -> export gives the same file");
  assert.deepEqual(out.rep2.imported, { scores: 20, tiers: 1, decisions: 2, rounds: 1 });
  assert.deepEqual(out.rep2.skipped.map((s) => [s.kind, s.reason]), [
    ["scores", "bad image hash"],
    ["scores", "no valid score"],
    ["decisions", "not an object"],
  ]);
  assert.equal(out.rep3.migratedFrom, 1);
  assert.equal(out.rep3.imported.scores, 1);
  assert.equal(out.rep3.skipped.length, 1);
  assert.deepEqual(out.legacy, ["b".repeat(64)]);
  assert.equal(out.notJson, "invalid_import");
  assert.equal(out.persisted, "boolean");
  await done(g);
});

test("init() takes a URL, a Response, bytes or a compiled module, and fetches only that wasm", async () => {
  const g = await lab();
  const out = await g.page.evaluate(async () => {
    const mt = await import("/medtriage/index.js");
    const url = new URL("/medtriage/medtriage_bg.wasm", location.href);
    const kinds = {};
    const m1 = await mt.compile(url);
    kinds.url = m1 instanceof WebAssembly.Module;
    kinds.string = (await mt.compile(url.href)) instanceof WebAssembly.Module;
    kinds.response = (await mt.compile(await fetch(url))) instanceof WebAssembly.Module;
    const bytes = await (await fetch(url)).arrayBuffer();
    kinds.bytes = (await mt.compile(new Uint8Array(bytes))) instanceof WebAssembly.Module;
    kinds.module = (await mt.compile(m1)) === m1;
    let bad;
    try {
      await mt.compile(new URL("/medtriage/missing.wasm", location.href));
    } catch (e) {
      bad = e.code;
    }
    const r = await mt.init(m1);
    const q = mt.rankQueue([{ id: "a", error: { code: "x", message: "y" } }], "entropy");
    return { kinds, bad, variant: r.variant, simd: mt.simdSupported(), failed: q.failed, memory: mt.wasmMemory().buffer.byteLength > 0 };
  });
  assert.deepEqual(out.kinds, { url: true, string: true, response: true, bytes: true, module: true });
  assert.equal(out.bad, "wasm_load");
  assert.equal(out.simd, true);
  assert.deepEqual(out.failed, ["a"]);
  assert.ok(out.memory);
  // only the wasm it was pointed at (and the missing one, which failed the test's own call)
  const wasm = g.log.filter((r) => r.url.endsWith(".wasm")).map((r) => new URL(r.url).pathname);
  assert.ok(wasm.every((p) => p === "/medtriage/medtriage_bg.wasm" || p === "/medtriage/missing.wasm"), wasm.join());
  g.violations = g.violations.filter((v) => !v.url.endsWith("/missing.wasm"));
  await done(g);
});

// The worker pool's throughput and memory in headless Chromium, from the packed package
// (scripts/build.sh), as the static host embeds it (tests/hosts/static). Prints, never asserts:
//   1. images/s with 1 and 2 workers (and the ratio) on the fixture model (32x32 PNG digits)
//      and on squeezenet 224x224 (224x224 RGB PNGs decoded, resized and scored);
//   2. peak memory while N small images (default 10,000) stream through 2 workers from an async
//      iterable with the store on and results not collected: the page's JS heap, each worker's
//      wasm memory, and the renderer process's peak RSS (VmHWM: page + workers), sampled along
//      the way and extrapolated linearly to 150,000.
//   node scripts/bench-pool.mjs [--images 10000] [--squeezenet target/bench-models]
import { readFile, readdir, writeFile, cp, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync, crc32 } from "node:zlib";
import { startServer } from "./serve.mjs";
import { HOST_CSP, launch, repo, staticHost } from "../tests/e2e/browser.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg("--images", 10000));
const benchModels = arg("--squeezenet", join(repo, "target/bench-models"));

function png(w, h, channels, seed) {
  let s = seed >>> 0;
  const row = w * channels;
  const raw = Buffer.alloc((row + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (row + 1)] = 0;
    for (let x = 0; x < row; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      raw[y * (row + 1) + 1 + x] = ((x * 3 + y * 2) & 0xff) ^ (s >>> 28);
    }
  }
  const chunk = (t, d) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(d.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(t), d])) >>> 0);
    return Buffer.concat([len, Buffer.from(t), d, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 3 ? 2 : 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

// the renderer processes under this node process (page + its dedicated workers live in one)
async function renderers() {
  const kids = new Map();
  for (const d of await readdir("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = await readFile(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {
      /* gone */
    }
  }
  const out = [];
  const walk = async (p) => {
    for (const c of kids.get(p) ?? []) {
      try {
        const cmd = await readFile(`/proc/${c}/cmdline`, "utf8");
        if (cmd.includes("--type=renderer")) {
          const st = await readFile(`/proc/${c}/status`, "utf8");
          const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? 0);
          out.push({ pid: c, rss: kb("VmRSS") * 1024, hwm: kb("VmHWM") * 1024 });
        }
      } catch {
        /* gone */
      }
      await walk(c);
    }
  };
  await walk(process.pid);
  return out;
}

const dir = await staticHost();
await mkdir(join(dir, "bench"), { recursive: true });
const haveSq = await readFile(join(benchModels, "squeezenet.onnx")).then(() => true, () => false);
if (haveSq) for (const f of ["squeezenet.onnx", "squeezenet.json"]) await cp(join(benchModels, f), join(dir, "bench", f));
for (let i = 0; i < 8; i++) await writeFile(join(dir, "bench", `rgb224_${i}.png`), png(224, 224, 3, i + 1));
await writeFile(join(dir, "lab.html"), "<!doctype html><meta charset=utf-8><title>bench</title>");
const server = await startServer({ root: dir, port: 0, csp: HOST_CSP });
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await launch({ extraArgs: ["--enable-precise-memory-info"] });
const page = await browser.newPage();
await page.goto(`${origin}/lab.html`);
await page.evaluate(async () => {
  const { WorkerPool } = await import("/medtriage/pool.js");
  const { openStore } = await import("/medtriage/store.js");
  const bytes = async (u) => (await fetch(u)).arrayBuffer();
  window.__b = { WorkerPool, openStore, bytes };
});

async function throughput(model, manifest, images, count, workers) {
  return page.evaluate(
    async ({ model, manifest, images, count, workers }) => {
      const { WorkerPool, bytes } = window.__b;
      const pool = new WorkerPool({ workers });
      await pool.load(await bytes(model), await (await fetch(manifest)).json());
      const blobs = await Promise.all(images.map(async (u) => new Blob([await bytes(u)])));
      const warm = await pool.score(blobs.slice(0, workers * 2)).finished;
      if (warm.failed) throw new Error(JSON.stringify(warm.results.find((r) => r.error).error));
      const items = Array.from({ length: count }, (_, i) => blobs[i % blobs.length]);
      const t0 = performance.now();
      const sum = await pool.score(items, { collect: false }).finished;
      const s = (performance.now() - t0) / 1000;
      pool.terminate();
      return { perSecond: count / s, seconds: s, failed: sum.failed, variant: pool.info.variant };
    },
    { model, manifest, images, count, workers },
  );
}

console.log(`== pool throughput (headless Chromium, ${(await browser.version())}, this machine: 2 cores shared)`);
const digits = (await readdir(join(dir, "samples"))).filter((f) => /^d\d\d_.*\.png$/.test(f)).map((f) => `/samples/${f}`);
const rows = [
  ["fixture CNN 32x32 (PNG digits)", "/model/model.onnx", "/model/manifest.json", digits, 1200],
  ...(haveSq ? [["squeezenet 224x224 (RGB PNG, resize + crop)", "/bench/squeezenet.onnx", "/bench/squeezenet.json", Array.from({ length: 8 }, (_, i) => `/bench/rgb224_${i}.png`), 48]] : []),
];
for (const [name, model, manifest, images, count] of rows) {
  const one = await throughput(model, manifest, images, count, 1);
  const two = await throughput(model, manifest, images, count, 2);
  console.log(
    `${name}: 1 worker ${one.perSecond.toFixed(1)} images/s, 2 workers ${two.perSecond.toFixed(1)} images/s, ratio ${(two.perSecond / one.perSecond).toFixed(2)}x` +
      ` (${count} images each, ${one.variant}; failed ${one.failed + two.failed})`,
  );
}
if (!haveSq) console.log(`(squeezenet skipped: run .venv/bin/python scripts/make_bench_models.py ${benchModels})`);

console.log(`== memory while ${N} small images stream through 2 workers (async iterable of Blobs, store on, results not collected)`);
await page.evaluate(
  async ({ N }) => {
    const { WorkerPool, openStore, bytes } = window.__b;
    const store = await openStore({ name: "bench-memory" });
    await store.clear();
    const pool = new WorkerPool({ workers: 2 });
    await pool.load(await bytes("/model/model.onnx"), await (await fetch("/model/manifest.json")).json());
    const base = new Uint8Array(await bytes("/samples/d05_label3.png"));
    // each image distinct (its own hash, its own stored record): the sample with 4 bytes
    // changed in a trailing chunk-free area (after IEND, which decoders ignore)
    async function* source() {
      for (let i = 0; i < N; i++) {
        const b = new Uint8Array(base.length + 4);
        b.set(base);
        new DataView(b.buffer).setUint32(base.length, i);
        yield new Blob([b]);
      }
    }
    window.__m = { samples: [], pool, store, done: false };
    const heap = () => performance.memory?.usedJSHeapSize ?? null;
    window.__m.baseHeap = heap();
    const run = pool.score(source(), {
      store,
      collect: false,
      total: N,
      onProgress: (p) => (window.__m.progress = p),
    });
    window.__m.timer = setInterval(() => window.__m.samples.push({ done: window.__m.progress?.done ?? 0, heap: heap() }), 250);
    run.finished.then((s) => {
      window.__m.summary = { ...s, results: null };
      window.__m.done = true;
      clearInterval(window.__m.timer);
    });
  },
  { N },
);
const rss = [];
const workers = [];
for (;;) {
  const st = await page.evaluate(async () => ({ done: window.__m.done, progress: window.__m.progress?.done ?? 0, mem: await window.__m.pool.memory() }));
  const r = await renderers();
  rss.push({ done: st.progress, rss: Math.max(0, ...r.map((x) => x.rss)), hwm: Math.max(0, ...r.map((x) => x.hwm)) });
  workers.push(st.mem);
  if (st.done) break;
  await new Promise((ok) => setTimeout(ok, 1000));
}
const m = await page.evaluate(async () => ({ samples: window.__m.samples, base: window.__m.baseHeap, summary: window.__m.summary, stored: await window.__m.store.count(), unsaved: window.__m.store.unsaved }));
const MB = (b) => (b / 1048576).toFixed(1);
const peakHeap = Math.max(...m.samples.map((s) => s.heap ?? 0));
const wasmPeak = [0, 1].map((i) => Math.max(...workers.map((w) => w[i]?.wasm ?? 0)));
const wJs = [0, 1].map((i) => Math.max(...workers.map((w) => w[i]?.jsHeap ?? 0)));
const hwm = Math.max(...rss.map((r) => r.hwm));
// linear fit of heap and RSS against images done, second half of the run (after warm-up)
const fit = (pts) => {
  const p = pts.filter((x) => x.x >= N / 2 && x.y > 0);
  if (p.length < 2) return 0;
  const mx = p.reduce((s, q) => s + q.x, 0) / p.length;
  const my = p.reduce((s, q) => s + q.y, 0) / p.length;
  const num = p.reduce((s, q) => s + (q.x - mx) * (q.y - my), 0);
  const den = p.reduce((s, q) => s + (q.x - mx) ** 2, 0);
  return den > 0 ? num / den : 0;
};
const heapSlope = fit(m.samples.map((s) => ({ x: s.done, y: s.heap })));
const rssSlope = fit(rss.map((r) => ({ x: r.done, y: r.rss })));
const rate = m.summary.done / (m.summary.elapsedMs / 1000);
console.log(`${m.summary.done} images in ${(m.summary.elapsedMs / 1000).toFixed(1)} s (${rate.toFixed(0)} images/s), ${m.summary.failed} failed, ${m.stored} records stored, ${m.unsaved} unsaved`);
console.log(`page JS heap: ${MB(m.base)} MB before, peak ${MB(peakHeap)} MB; growth over the second half ${(heapSlope).toFixed(1)} bytes/image`);
console.log(`workers: wasm linear memory peak ${wasmPeak.map(MB).join(" / ")} MB; worker JS heap ${wJs.some((x) => x) ? wJs.map(MB).join(" / ") + " MB" : "not exposed by the browser"}`);
console.log(`renderer process (page + workers): peak RSS (VmHWM) ${MB(hwm)} MB; RSS growth over the second half ${rssSlope.toFixed(1)} bytes/image`);
if (N < 150000) {
  const k = 150000 - N;
  console.log(
    `extrapolated to 150,000 images (linear in the growth above): page JS heap ~${MB(peakHeap + Math.max(0, heapSlope) * k)} MB, renderer RSS ~${MB(hwm + Math.max(0, rssSlope) * k)} MB, ` +
      `worker wasm memory unchanged (it holds one chunk at a time), time ~${(150000 / rate / 60).toFixed(1)} min`,
  );
}
await browser.close();
server.close();

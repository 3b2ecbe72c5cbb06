// The browser half of scripts/bench_medical.sh: scores images with the package's worker pool
// (js/pool.js, unpacked in www/pkg/) in headless Chromium, once per worker count, and reports load and scoring
// times and the renderer's peak memory (VmHWM of the page's process, workers included).
//   node scripts/medical/bench_browser.mjs STAGE_DIR MANIFEST_URL LIST_URL OUT.json [workers...]
// STAGE_DIR is a folder the bench fills with links: the demo files (www/), model.onnx and
// data/ (the images); it is served as the page's own origin, so no request leaves it.
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { startServer } from "../serve.mjs";

const [stage, manifestUrl, listUrl, outPath, ...ws] = process.argv.slice(2);
const workers = (ws.length ? ws : ["1", "2"]).map(Number);

function descendants(root) {
  const kids = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {}
  }
  const out = [];
  const walk = (p) => (kids.get(p) ?? []).forEach((c) => (out.push(c), walk(c)));
  walk(root);
  return out;
}

// the browser process: the one whose command line carries this run's marker switch
function browserPid(marker) {
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8");
      if (cmd.includes(marker) && !cmd.includes("--type=")) return Number(d);
    } catch {}
  }
  return null;
}

function rendererPeakKb(root) {
  let peak = 0;
  for (const pid of descendants(root)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("--type=renderer")) continue;
      const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+)/);
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {}
  }
  return peak;
}

const server = await startServer({ root: stage, port: 0 });
const origin = `http://127.0.0.1:${server.address().port}`;
const runs = [];
try {
  for (const n of workers) {
    // a fresh browser per run, so each peak is its own
    const marker = `--medtriage-bench-run=${process.pid}-${n}-${Date.now()}`;
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync", marker],
    });
    try {
      const page = await browser.newPage();
      const foreign = [];
      page.on("request", (r) => { if (!r.url().startsWith(origin)) foreign.push(r.url()); });
      const q = new URLSearchParams({ model: "model.onnx", manifest: manifestUrl, list: listUrl, workers: String(n) });
      await page.goto(`${origin}/bench-medical.html?${q}`);
      await page.waitForFunction(() => window.__bench, null, { timeout: 3_600_000 });
      const r = await page.evaluate(() => window.__bench);
      const pid = browserPid(marker);
      r.rendererPeakMb = pid ? rendererPeakKb(pid) / 1024 : null;
      r.foreignRequests = foreign;
      runs.push(r);
      const { results, ...summary } = r;
      console.error(JSON.stringify(summary));
    } finally {
      await browser.close();
    }
  }
} finally {
  server.close();
}
writeFileSync(outPath, JSON.stringify(runs));

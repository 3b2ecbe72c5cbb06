// The review page's pictures (www/charts.js, Chart.js bundled locally) drawn from fixed data in
// headless Chromium and compared with a committed reference screenshot. The data,
// tests/e2e/fixtures/charts.json, is what the review page computed from the engine's responses
// (planRound, calibrationReport, applyTemperature) in round 2 on the bundled samples
// (tests/e2e/fixtures/make_charts.mjs writes it). The comparison allows for font antialiasing: a pixel differs when a channel moves by
// more than PIXEL_TOLERANCE; at most MAX_DIFF_FRACTION of all pixels, and of the pixels of any
// TILE x TILE square, may differ (antialiasing spreads thin over the text; a changed bar or
// point is dense in its square). The charts must also have real content: as many bars and
// points as the data asks for.
//   MEDTRIAGE_REGEN_SCREENSHOTS=1 node --test tests/e2e/charts.test.mjs   # rewrite the reference
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { foreignRequests, repo, useBrowser } from "./browser.mjs";

const env = useBrowser();
const REFERENCE = join(repo, "tests/e2e/reference/charts.png");
const PIXEL_TOLERANCE = 48; // of 255, per channel
const MAX_DIFF_FRACTION = 0.005;
const TILE = 50;
const MAX_TILE_FRACTION = 0.04;
const data = JSON.parse(await readFile(join(repo, "tests/e2e/fixtures/charts.json"), "utf8"));

/** What the data asks each chart to draw, counted here apart from charts.js. */
function expectedContent(d) {
  const cells = new Set();
  for (const it of d.tiers) if (typeof it.confidence === "number") cells.add(`${it.tier}:${Math.min(19, Math.floor(it.confidence * 20))}`);
  const nonEmpty = (bins) => bins.filter((b) => b.count > 0).length;
  return {
    histogramBars: cells.size,
    reliabilityPoints: [nonEmpty(d.before.bins), nonEmpty(d.after.bins)],
    perClassBars: [d.perClass.filter((c) => c.expectedErrors > 0).length, d.perClass.filter((c) => c.wrongFound > 0).length],
    progressPoints: [d.rounds.length, d.rounds.filter((r) => r.auditedAccuracy !== null).length, d.rounds.filter((r) => r.certifiedAccuracy !== null).length],
  };
}

/** Pixels of two PNGs compared in the browser (its own decoder): size, differing pixels. */
async function compare(page, a, b) {
  return page.evaluate(
    async ([a64, b64, tol, tile]) => {
      const decode = async (s) => {
        const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(s), (c) => c.charCodeAt(0))], { type: "image/png" }));
        const c = new OffscreenCanvas(bmp.width, bmp.height);
        const g = c.getContext("2d");
        g.drawImage(bmp, 0, 0);
        return { w: bmp.width, h: bmp.height, px: g.getImageData(0, 0, bmp.width, bmp.height).data };
      };
      const [x, y] = await Promise.all([decode(a64), decode(b64)]);
      if (x.w !== y.w || x.h !== y.h) return { sameSize: false, a: [x.w, x.h], b: [y.w, y.h] };
      let diff = 0;
      let inked = 0;
      const tw = Math.ceil(x.w / tile);
      const tiles = new Uint32Array(tw * Math.ceil(x.h / tile));
      for (let i = 0; i < x.px.length; i += 4) {
        const d = Math.max(Math.abs(x.px[i] - y.px[i]), Math.abs(x.px[i + 1] - y.px[i + 1]), Math.abs(x.px[i + 2] - y.px[i + 2]));
        const p = i / 4;
        if (d > tol) {
          diff++;
          tiles[Math.floor(Math.floor(p / x.w) / tile) * tw + Math.floor((p % x.w) / tile)]++;
        }
        if (x.px[i] + x.px[i + 1] + x.px[i + 2] < 3 * 250) inked++;
      }
      return { sameSize: true, pixels: x.w * x.h, diff, inked, worstTile: Math.max(...tiles) / (tile * tile) };
    },
    [a.toString("base64"), b.toString("base64"), PIXEL_TOLERANCE, TILE],
  );
}

test("the review charts match the reference screenshot and draw every bar and point of the data", async () => {
  const page = await env.browser.newPage({ viewport: { width: 1200, height: 800 }, deviceScaleFactor: 1 });
  const requests = [];
  const errors = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${env.origin}/charts.html`);
  await page.waitForFunction(() => window.__chartsReady);
  const content = await page.evaluate((d) => window.drawCharts(d), data);
  const want = expectedContent(data);
  assert.deepEqual(content, want);
  assert.ok(want.histogramBars >= 2 && want.reliabilityPoints[0] >= 3 && want.perClassBars[0] >= 3 && want.progressPoints[0] >= 2, `the fixture has real content: ${JSON.stringify(want)}`);
  const shot = await page.locator(".chart-grid").screenshot();
  if (process.env.MEDTRIAGE_REGEN_SCREENSHOTS === "1") {
    await mkdir(join(repo, "tests/e2e/reference"), { recursive: true });
    await writeFile(REFERENCE, shot);
    console.log(`# wrote ${REFERENCE}`);
  }
  const ref = await readFile(REFERENCE);
  const r = await compare(page, shot, ref);
  const out = join(repo, "target", "e2e-screenshots");
  const bad = !r.sameSize || r.diff / r.pixels > MAX_DIFF_FRACTION || r.worstTile > MAX_TILE_FRACTION;
  if (bad) {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "charts.png"), shot);
  }
  assert.ok(r.sameSize, `screenshot ${r.a} vs reference ${r.b} (written to target/e2e-screenshots/charts.png)`);
  console.log(
    `# charts: ${r.diff} of ${r.pixels} pixels differ from the reference (${((100 * r.diff) / r.pixels).toFixed(3)}%; worst ${TILE}px square ${(100 * r.worstTile).toFixed(1)}%), ${((100 * r.inked) / r.pixels).toFixed(1)}% inked`,
  );
  assert.ok(r.diff / r.pixels <= MAX_DIFF_FRACTION, `${r.diff} pixels differ (screenshot in target/e2e-screenshots/charts.png)`);
  assert.ok(r.worstTile <= MAX_TILE_FRACTION, `${(100 * r.worstTile).toFixed(1)}% of one ${TILE}px square differs (screenshot in target/e2e-screenshots/charts.png)`);
  assert.ok(r.inked / r.pixels > 0.02, "the screenshot is not blank");
  assert.deepEqual(errors, []);
  assert.deepEqual(foreignRequests(requests, env.origin), []);
  await page.close();
});

// Opens www/bench.html in headless Chromium for each model and prints its figures as JSON lines.
//   node scripts/bench-browser.mjs "model=…&manifest=…&image=…" [more query strings…]
import { chromium } from "playwright-core";
import { startServer } from "./serve.mjs";

const server = await startServer({ root: new URL("../www", import.meta.url).pathname, port: 0 });
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  for (const query of process.argv.slice(2)) {
    const page = await browser.newPage();
    await page.goto(query.startsWith("page=") ? `${origin}/${query.slice(5)}` : `${origin}/bench.html?${query}`);
    await page.waitForFunction(() => window.__bench, null, { timeout: 600_000 });
    console.log(JSON.stringify({ query, ...(await page.evaluate(() => window.__bench)) }));
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}

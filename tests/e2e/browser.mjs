// Debian's Chromium, headless, with no background traffic of its own (shared by the e2e tests).
import { before, after } from "node:test";
import { chromium } from "playwright-core";
import { startServer } from "../../scripts/serve.mjs";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Serve www/ on a free port and launch the browser around a test file's tests. */
export function useBrowser() {
  const env = {};
  before(async () => {
    env.server = await startServer({ root: new URL("../../www", import.meta.url).pathname, port: 0 });
    env.origin = `http://127.0.0.1:${env.server.address().port}`;
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    env.server?.close();
  });
  return env;
}

/** Requests that left the page's origin (local blob: and data: URLs are not requests out). */
export function foreignRequests(requests, origin) {
  return requests.filter((u) => !u.startsWith(origin + "/") && !u.startsWith("blob:") && !u.startsWith("data:"));
}

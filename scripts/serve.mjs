// Static server for the demo: 127.0.0.1 only, correct MIME types (application/wasm for
// streaming compilation), no caching, no directory escapes. No dependencies.
//   node scripts/serve.mjs [--port 8080] [--root www]
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".onnx": "application/octet-stream",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".dcm": "application/dicom",
  ".ts": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
};

// The demo's policy: the page may only talk to its own origin (a second guard on "no image
// leaves the page"). Hosts under test pass their own (`csp`).
export const DEMO_CSP =
  "default-src 'self' blob: data:; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'";

// `isolated` adds the COOP/COEP headers that make the page cross-origin isolated
// (SharedArrayBuffer, so wasm threads): only the benchmark against onnxruntime-web's threads
// uses it; our own pool needs no isolation.
export function startServer({ root, port = 8080, host = "127.0.0.1", csp = DEMO_CSP, onRequest, isolated = false } = {}) {
  const base = resolve(root ?? join(fileURLToPath(new URL("..", import.meta.url)), "www"));
  const server = createServer(async (req, res) => {
    try {
      onRequest?.(req);
      const url = new URL(req.url, "http://localhost");
      let path = normalize(join(base, decodeURIComponent(url.pathname)));
      if (path !== base && !path.startsWith(base + sep)) {
        res.writeHead(403).end("forbidden");
        return;
      }
      if ((await stat(path).catch(() => null))?.isDirectory()) path = join(path, "index.html");
      const body = await readFile(path);
      res.writeHead(200, {
        "Content-Type": MIME[extname(path).toLowerCase()] ?? "application/octet-stream",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": csp,
        ...(isolated ? { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" } : {}),
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => ok(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const port = Number(arg("--port", process.env.PORT ?? 8080));
  const server = await startServer({ root: arg("--root"), port });
  const { port: p } = server.address();
  console.log(`medtriage demo: http://127.0.0.1:${p}/`);
}

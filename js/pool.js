// The worker pool: N workers (default: navigator.hardwareConcurrency), each its own wasm
// instance and Scorer, fed from an array or an async iterable of File / Blob / bytes that is
// read only when a worker is free (150,000 images never sit in memory at once).
//
//   import { WorkerPool } from "medtriage/pool";
//   const pool = new WorkerPool();                 // { workers, wasm, chunk, timeoutMs }
//   await pool.load(modelBytes, manifest);         // model bytes go to each worker once
//   const run = pool.score(files, { store, onProgress, onResult });
//   run.pause(); run.resume(); run.cancel();
//   const { results, done, failed, cached } = await run.finished;
//
// Images go to workers as transferred ArrayBuffers (the pool keeps its own copy of what is in
// flight, so an item can be sent again); results come back with `probabilities` / `embedding`
// as transferred Float64Arrays. A worker that traps (a wasm panic poisons its instance), dies
// or hangs past the watchdog is terminated and replaced; every item of its chunk is retried
// once, alone, on the fresh worker; an item that kills that worker too is marked failed
// (`worker_trapped`, `worker_crashed`, `worker_timeout`) and the run goes on.
//
// DICOM bytes are recognised by content like everywhere else; each result carries
// `score.dicom = {sopInstanceUid, frame, modality}`. When the manifest scores every frame
// (`input.dicom.frame: {mode: "each"}`), a DICOM item's result (in `onResult` and the store)
// is `{id, frames: [one result per frame, id "SOPInstanceUID#frame"]}`, and
// `finished.results` lists the frames one by one in place of the item.
import { compile, variantOf } from "./loader.js";

export class MedtriageError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = "MedtriageError";
    this.code = code;
  }
}

const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");

/** SHA-256 of bytes (ArrayBuffer or view), lowercase hex. */
export async function sha256Hex(bytes) {
  return hex(await crypto.subtle.digest("SHA-256", bytes));
}

/** The key a model + manifest is stored under: `<sha256 of each model, "+"-joined>:<sha256 of
 * the manifest's JSON text>` (a manifest object is hashed as `JSON.stringify(manifest)`). */
export async function modelKey(models, manifest) {
  const list = Array.isArray(models) ? models : [models];
  const text = typeof manifest === "string" ? manifest : JSON.stringify(manifest);
  const hashes = await Promise.all(list.map((m) => sha256Hex(m)));
  return `${hashes.join("+")}:${await sha256Hex(new TextEncoder().encode(text))}`;
}

function ownBuffer(x) {
  if (x instanceof ArrayBuffer) return x.slice(0);
  if (ArrayBuffer.isView(x)) return x.buffer.slice(x.byteOffset, x.byteOffset + x.byteLength);
  throw new MedtriageError("invalid_input", "model: expected an ArrayBuffer or a typed array");
}

const DEFAULT_WORKERS = () => Math.max(1, (typeof navigator !== "undefined" && navigator.hardwareConcurrency) || 2);

export class WorkerPool extends EventTarget {
  /**
   * @param {object} [o]
   * @param {number} [o.workers] number of workers (default navigator.hardwareConcurrency)
   * @param {*} [o.wasm] what `init()` accepts: URL, Response, bytes, WebAssembly.Module, {simd, nosimd}
   * @param {number} [o.chunk] images per message (default 4)
   * @param {number} [o.timeoutMs] watchdog per image (default 30000): a worker silent that long is replaced
   * @param {URL|string} [o.workerUrl] a worker script of your own that imports "medtriage/worker"
   */
  constructor({ workers, wasm, chunk = 4, timeoutMs = 30000, workerUrl } = {}) {
    super();
    this.size = Math.max(1, Math.floor(workers ?? DEFAULT_WORKERS()));
    this.wasmInput = wasm;
    this.chunk = Math.max(1, Math.floor(chunk));
    this.timeoutMs = timeoutMs;
    this.workerUrl = workerUrl;
    this.slots = [];
    this.module = null;
    this.variant = null;
    this.modelBuffers = null;
    this._loading = Promise.resolve(); // the chain of pending load() calls
    this._lastLoad = null; // the last load() called: a run starts after it, and fails if it failed
    this._loads = 0;
    this.manifest = null;
    this.modelKey = null;
    this.info = null;
    this.nextJob = 1;
    this.replaced = 0;
  }

  _newWorker() {
    // literal `new URL(…, import.meta.url)` so bundlers bundle the worker with the package
    return this.workerUrl
      ? new Worker(this.workerUrl, { type: "module" })
      : new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  }

  _spawn(i) {
    const slot = { index: i, worker: this._newWorker(), pending: new Map(), dead: false, memory: null };
    const failAll = (type, message) => {
      slot.dead = true;
      for (const [, p] of slot.pending) {
        clearTimeout(p.timer);
        p.resolve({ type, message });
      }
      slot.pending.clear();
    };
    slot.worker.onmessage = ({ data }) => {
      const p = slot.pending.get(data.job);
      if (!p) return;
      slot.pending.delete(data.job);
      clearTimeout(p.timer);
      if (data.memory) slot.memory = data.memory;
      if (data.type === "trapped") slot.dead = true;
      p.resolve(data);
    };
    slot.worker.onerror = (ev) => {
      ev.preventDefault?.();
      failAll("crashed", ev.message || "worker error");
    };
    slot.worker.onmessageerror = () => failAll("crashed", "message could not be deserialized");
    slot.failAll = failAll;
    this.slots[i] = slot;
    return slot;
  }

  /** Send one message; resolves with the worker's answer, or {type:"timeout"|"crashed"}. */
  _request(slot, msg, transfer = [], timeoutMs = 0) {
    const job = this.nextJob++;
    return new Promise((resolve) => {
      if (slot.dead) return resolve({ type: "crashed", message: "worker is gone" });
      const p = { resolve, timer: null };
      if (timeoutMs > 0) {
        p.timer = setTimeout(() => {
          slot.pending.delete(job);
          slot.dead = true;
          resolve({ type: "timeout", message: `no answer in ${timeoutMs} ms` });
        }, timeoutMs);
      }
      slot.pending.set(job, p);
      slot.worker.postMessage({ ...msg, job }, transfer);
    });
  }

  async _init(slot) {
    const models = this.modelBuffers.map((b) => b.slice(0));
    const r = await this._request(
      slot,
      { type: "init", wasm: this.module, variant: this.variant, models, manifest: this.manifest },
      models,
      Math.max(120000, this.timeoutMs),
    );
    if (r.type === "ready") return r;
    const e = new MedtriageError(r.code ?? (r.type === "timeout" ? "worker_timeout" : "worker_crashed"), r.message ?? "worker failed to load the model");
    throw e;
  }

  /** Terminate a dead or hung worker and start a fresh one with the same model. */
  async _replace(i) {
    const old = this.slots[i];
    old?.failAll?.("crashed", "worker replaced");
    old?.worker.terminate();
    this.replaced++;
    const slot = this._spawn(i);
    slot.ready = this._init(slot);
    await slot.ready;
    this.dispatchEvent(new CustomEvent("workerreplaced", { detail: { worker: i, replaced: this.replaced } }));
    return slot;
  }

  /**
   * Load a model (ArrayBuffer / typed array, or an array of them for an ensemble sharing the
   * manifest) in every worker. Resolves with the first worker's info
   * ({ variant, simd, batchSize, sha256, members, samplesPerImage }) plus `modelKey`.
   * Loads run one after another in call order, so the last one called is the model the workers
   * end with; a run started while a load is pending waits for it. A load while a run is going
   * on is refused (the run's results would mix two models).
   */
  load(models, manifest) {
    if (this.running) return Promise.reject(new MedtriageError("invalid_input", "a run is going on; cancel it or await run.finished before loading a model"));
    const list = Array.isArray(models) ? models : [models];
    if (list.length === 0) return Promise.reject(new MedtriageError("invalid_input", "load(): no model"));
    // copied now: the caller may reuse or transfer its buffers before this load's turn comes
    const buffers = list.map(ownBuffer);
    const parsed = typeof manifest === "string" ? JSON.parse(manifest) : manifest;
    this._loads++;
    const mine = this._loading.then(() => this._load(buffers, parsed)).finally(() => this._loads--);
    this._loading = mine.catch(() => {});
    this._lastLoad = mine;
    return mine;
  }

  async _load(buffers, manifest) {
    this.module ??= await compile(this.wasmInput);
    this.variant ??= variantOf(this.module);
    this.modelBuffers = buffers;
    this.manifest = manifest;
    this.modelKey = await modelKey(this.modelBuffers, manifest);
    for (let i = 0; i < this.size; i++) {
      const slot = this.slots[i] && !this.slots[i].dead ? this.slots[i] : this._spawn(i);
      slot.ready = this._init(slot);
    }
    const infos = await Promise.all(this.slots.map((s) => s.ready));
    this.info = { ...infos[0], modelKey: this.modelKey, workers: this.size };
    delete this.info.job;
    delete this.info.type;
    return this.info;
  }

  /** Score images; returns a {@link Run} at once (await `run.finished`). */
  score(source, opts = {}) {
    if (!this.modelBuffers && this._loads === 0) throw new MedtriageError("invalid_input", "load a model first");
    if (this.running) throw new MedtriageError("invalid_input", "a run is already going on; cancel it or await run.finished");
    const run = new Run(this, source, opts);
    this.running = run;
    run.finished.finally(() => {
      if (this.running === run) this.running = null;
    }).catch(() => {});
    run._start();
    return run;
  }

  /** Call a JS API function (tierItems, planRound, selectBatch, exports, rankQueue) in a worker. */
  async call(fn, request) {
    if (!this.module) {
      this.module = await compile(this.wasmInput);
      this.variant = variantOf(this.module);
    }
    let slot = this.slots.find((s) => s && !s.dead);
    if (!slot) slot = this._spawn(0);
    const r = await this._request(slot, { type: "call", fn, request, wasm: this.module, variant: this.variant });
    if (r.type === "called") return r.result;
    if (r.type === "trapped" || r.type === "crashed") {
      if (this.modelBuffers) await this._replace(slot.index);
      else {
        slot.worker.terminate();
        this.slots[slot.index] = undefined;
      }
    }
    throw new MedtriageError(r.code ?? `worker_${r.type}`, r.message ?? "call failed");
  }

  /**
   * A DICOM object rendered as the loaded model sees it (the manifest's window and frame, the
   * model's channels, before resize): { width, height, rgba: Uint8ClampedArray, window,
   * identity }. For thumbnails that show exactly what was scored.
   */
  async preview(bytes) {
    if (!this.modelBuffers) throw new MedtriageError("invalid_input", "load a model first");
    let slot = this.slots.find((s) => s && !s.dead);
    if (!slot) slot = await this._replace(0);
    await slot.ready;
    const buf = ownBuffer(bytes);
    const r = await this._request(slot, { type: "preview", bytes: buf }, [buf], this.timeoutMs);
    if (r.type === "previewed") return r.preview;
    if (r.type === "trapped" || r.type === "crashed" || r.type === "timeout") await this._replace(slot.index);
    throw new MedtriageError(r.code ?? `worker_${r.type}`, r.message ?? "preview failed");
  }

  /** Rank results most uncertain first (in a worker). */
  rank(results, measure = "entropy") {
    return this.call("rankQueue", { results: results.map(plainResult), measure });
  }

  /** Memory per worker: [{ worker, wasm: bytes of linear memory, jsHeap }]. */
  async memory() {
    return Promise.all(
      this.slots.map(async (s, i) => {
        if (!s || s.dead) return { worker: i, wasm: null, jsHeap: null };
        const r = await this._request(s, { type: "memory" }, [], 10000);
        return { worker: i, ...(r.memory ?? { wasm: null, jsHeap: null }) };
      }),
    );
  }

  terminate() {
    this.running?.cancel();
    for (const s of this.slots) {
      s?.failAll?.("crashed", "pool terminated");
      s?.worker.terminate();
    }
    this.slots = [];
  }
}

/** A pool result with its Float64Arrays as plain arrays (what JSON and the engine's long-array
 * path expect, e.g. `rankQueue` over more than 16 results in the page). */
export function plainResult(r) {
  const s = r?.score;
  if (!s) return r;
  const out = { ...s };
  for (const k of ["probabilities", "embedding", "samples"]) if (ArrayBuffer.isView(s[k])) out[k] = Array.from(s[k]);
  return { ...r, score: out };
}

function itemError(code, message) {
  return { code, message };
}

/**
 * One scoring run. Events (also given as callbacks in the options):
 *   "result"   detail { index, id, hash, result, cached }
 *   "progress" detail { done, failed, cached, scored, total, rate, etaSeconds, elapsedMs }
 *   "workerreplaced" on the pool.
 */
export class Run extends EventTarget {
  constructor(pool, source, { options, store, collect = true, chunk, onProgress, onResult, signal, total, progressEveryMs = 100 } = {}) {
    super();
    this.pool = pool;
    this.options = options;
    this.store = store ?? null;
    this.collect = collect;
    this.chunk = Math.max(1, Math.floor(chunk ?? pool.chunk));
    this.onProgress = onProgress;
    this.onResult = onResult;
    this.progressEveryMs = progressEveryMs;
    this.results = collect ? [] : null;
    this.total = total ?? (typeof source?.length === "number" ? source.length : typeof source?.size === "number" ? source.size : null);
    this.counts = { done: 0, failed: 0, cached: 0, scored: 0, retried: 0 };
    this.cancelled = false;
    this._paused = null;
    this._nextIndex = 0;
    this._exhausted = false;
    this._pullLock = Promise.resolve();
    this._window = [];
    this._activeMs = 0;
    this._since = null;
    this._lastProgress = 0;
    const it = source?.[Symbol.asyncIterator]?.() ?? source?.[Symbol.iterator]?.();
    if (!it) throw new MedtriageError("invalid_input", "score(): expected an array or an (async) iterable");
    this._it = it;
    this.finished = new Promise((ok, fail) => {
      this._ok = ok;
      this._fail = fail;
    });
    if (signal) {
      if (signal.aborted) this.cancel();
      else signal.addEventListener("abort", () => this.cancel(), { once: true });
    }
  }

  get paused() {
    return this._paused !== null;
  }

  /** Stop handing out new images (those in flight finish and are reported). */
  pause() {
    if (this._paused) return;
    this._accumulate();
    let release;
    const p = new Promise((r) => (release = r));
    this._paused = { p, release };
  }

  resume() {
    const p = this._paused;
    if (!p) return;
    this._paused = null;
    this._since = performance.now();
    p.release();
  }

  /** Stop: nothing new is read; images in flight finish; `finished` resolves with cancelled: true. */
  cancel() {
    this.cancelled = true;
    this.resume();
  }

  _accumulate() {
    if (this._since !== null) this._activeMs += performance.now() - this._since;
    this._since = null;
  }

  _elapsed() {
    return this._activeMs + (this._since !== null ? performance.now() - this._since : 0);
  }

  async _start() {
    this._since = performance.now();
    try {
      // a load called before this run and still pending: the run scores with that model
      if (this.pool._loads > 0) await this.pool._lastLoad;
      await Promise.all(this.pool.slots.map((_, i) => this._slotLoop(i)));
      if (this.store) await this.store.flush().catch(() => {});
      this._progress(true);
      this._accumulate();
      this._ok({
        ...this.counts,
        cancelled: this.cancelled,
        total: this.cancelled ? this.total : this.counts.done,
        elapsedMs: this._activeMs,
        // an item scored frame by frame stands for its frames
        results: this.results && this.results.some((r) => r?.frames) ? this.results.flatMap((r) => r?.frames ?? [r]) : this.results,
      });
    } catch (e) {
      this._fail(e);
    } finally {
      try {
        if (this.cancelled) await this._it.return?.();
      } catch {
        /* the source's own cleanup failed: nothing to keep */
      }
    }
  }

  _progress(force = false) {
    const now = performance.now();
    if (!force && now - this._lastProgress < this.progressEveryMs) return;
    this._lastProgress = now;
    // rate over the last ~5 s of scoring (cached results are not work)
    this._window.push([this._elapsed(), this.counts.scored]);
    while (this._window.length > 2 && this._window[this._window.length - 1][0] - this._window[0][0] > 5000) this._window.shift();
    const [t0, n0] = this._window[0];
    const [t1, n1] = this._window[this._window.length - 1];
    const rate = t1 > t0 ? ((n1 - n0) * 1000) / (t1 - t0) : this.counts.scored > 0 && t1 > 0 ? (this.counts.scored * 1000) / t1 : 0;
    const left = this.total !== null ? Math.max(0, this.total - this.counts.done) : null;
    const detail = {
      ...this.counts,
      total: this.total,
      rate,
      etaSeconds: left !== null && rate > 0 ? left / rate : left === 0 ? 0 : null,
      elapsedMs: this._elapsed(),
      paused: this.paused,
    };
    this.onProgress?.(detail);
    this.dispatchEvent(new CustomEvent("progress", { detail }));
  }

  _emit(item, result, cached = false) {
    result.id = item.id;
    this.counts.done++;
    if (result.error || result.frames?.some((f) => f.error)) this.counts.failed++;
    if (cached) this.counts.cached++;
    else this.counts.scored++;
    if (this.collect) this.results[item.index] = result;
    if (this.store && !cached && item.hash && (result.score || result.frames)) this.store.putScore(this.pool.modelKey, item.hash, result, item.id);
    const detail = { index: item.index, id: item.id, hash: item.hash ?? null, result, cached };
    this.onResult?.(detail);
    this.dispatchEvent(new CustomEvent("result", { detail }));
    this._progress();
  }

  /** Read the next source item into {index, id, bytes|rgba}; null when the source is done. */
  async _readOne() {
    if (this._exhausted || this.cancelled) return null;
    const step = await this._it.next();
    if (step.done) {
      this._exhausted = true;
      return null;
    }
    const index = this._nextIndex++;
    let x = step.value;
    const item = { index, id: `#${index}`, attempts: 0 };
    try {
      if (x && typeof x === "object" && !(x instanceof Blob) && !(x instanceof ArrayBuffer) && !ArrayBuffer.isView(x)) {
        if (x.id !== undefined) item.id = String(x.id);
        if (x.rgba) {
          item.rgba = ownBuffer(x.rgba);
          item.width = x.width;
          item.height = x.height;
          return item;
        }
        x = x.bytes ?? x.blob ?? x.file;
      }
      if (typeof File !== "undefined" && x instanceof File && item.id === `#${index}`) item.id = x.webkitRelativePath || x.name;
      if (x instanceof Blob) item.bytes = await x.arrayBuffer();
      else if (x instanceof ArrayBuffer || ArrayBuffer.isView(x)) item.bytes = ownBuffer(x);
      else throw new MedtriageError("invalid_input", "expected a File, Blob, ArrayBuffer, typed array or {id, bytes|blob|rgba}");
    } catch (e) {
      item.readError = itemError(e.code ?? "read_failed", `could not read the image: ${e.message ?? e}`);
    }
    return item;
  }

  /** Up to n items that need a worker (stored results are reported on the way). */
  _pull(n) {
    const next = this._pullLock.then(async () => {
      const out = [];
      while (out.length < n && !this.cancelled) {
        if (this._paused) break;
        const batch = [];
        while (batch.length < n - out.length) {
          const it = await this._readOne();
          if (!it) break;
          batch.push(it);
        }
        if (batch.length === 0) break;
        const fresh = [];
        for (const it of batch) {
          if (it.readError) this._emit(it, { id: it.id, error: it.readError });
          else fresh.push(it);
        }
        if (this.store) {
          await Promise.all(fresh.map(async (it) => (it.hash = await sha256Hex(it.bytes ?? it.rgba))));
          const hit = await this.store.getScores(this.pool.modelKey, fresh.map((it) => it.hash));
          for (const it of fresh) {
            const r = hit.get(it.hash);
            if (r) this._emit(it, structuredClone(r), true);
            else out.push(it);
          }
        } else out.push(...fresh);
      }
      return out;
    });
    this._pullLock = next.catch(() => {});
    return next;
  }

  _message(items) {
    const transfer = [];
    const msgItems = items.map((it) => {
      if (it.rgba) {
        const rgba = it.rgba.slice(0);
        transfer.push(rgba);
        return { id: it.id, rgba, width: it.width, height: it.height };
      }
      const bytes = it.bytes.slice(0);
      transfer.push(bytes);
      return { id: it.id, bytes };
    });
    return [{ type: "score", items: msgItems, options: this.options }, transfer];
  }

  async _send(i, items) {
    const slot = this.pool.slots[i];
    await slot.ready;
    const [msg, transfer] = this._message(items);
    return this.pool._request(slot, msg, transfer, this.pool.timeoutMs * items.length);
  }

  async _slotLoop(i) {
    for (;;) {
      while (this._paused && !this.cancelled) await this._paused.p;
      if (this.cancelled) return;
      const items = await this._pull(this.chunk);
      if (items.length === 0) {
        if (this._paused && !this.cancelled) continue;
        return;
      }
      const r = await this._send(i, items);
      if (r.type === "scored") {
        r.results.forEach((res, k) => this._emit(items[k], res));
      } else if (r.type === "error") {
        // the whole message was refused (bad options): each item fails with that error
        for (const it of items) this._emit(it, { id: it.id, error: itemError(r.code, r.message) });
      } else {
        // trapped, crashed or hung: a fresh worker, then each item once more, alone
        await this.pool._replace(i);
        for (const it of items) await this._retryAlone(i, it, r);
      }
    }
  }

  async _retryAlone(i, it, first) {
    this.counts.retried++;
    it.attempts++;
    const r = await this._send(i, [it]);
    if (r.type === "scored") return this._emit(it, r.results[0]);
    if (r.type === "error") return this._emit(it, { id: it.id, error: itemError(r.code, r.message) });
    await this.pool._replace(i);
    const code = r.type === "trapped" ? "worker_trapped" : r.type === "timeout" ? "worker_timeout" : "worker_crashed";
    this._emit(it, {
      id: it.id,
      error: itemError(code, `the worker ${r.type === "timeout" ? "hung" : r.type} on this image twice (${first.message ?? first.type}; then ${r.message ?? r.type})`),
    });
  }
}

// A pool of scoring workers, each with its own wasm instance (no SharedArrayBuffer, so no
// cross-origin isolation needed). Work is handed out in small chunks to whichever worker is
// free; progress is reported per chunk; results come back in input order. A worker that
// dies (a wasm trap aborts its instance) is replaced and its chunk marked failed, so the
// rest of the run keeps what was done.
export class WorkerPool {
  constructor({ size = Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2) - 1)), url = new URL("./worker.js", import.meta.url) } = {}) {
    this.size = size;
    this.url = url;
    this.workers = [];
    this.jobs = new Map();
    this.nextJob = 1;
    this.init = null;
  }

  _spawn(slot) {
    const w = new Worker(this.url, { type: "module" });
    w.onmessage = ({ data }) => {
      const j = this.jobs.get(data.job);
      if (!j) return;
      this.jobs.delete(data.job);
      w.busy = null;
      if (data.type === "error") {
        const e = new Error(data.message);
        e.code = data.code;
        j.reject(e);
      } else j.resolve(data);
    };
    w.onerror = (ev) => {
      ev.preventDefault?.();
      const job = w.busy;
      this.workers[slot] = null;
      w.terminate();
      if (job && this.jobs.has(job)) {
        const j = this.jobs.get(job);
        this.jobs.delete(job);
        const e = new Error(`worker crashed: ${ev.message ?? "unknown"}`);
        e.code = "worker_crashed";
        j.reject(e);
      }
    };
    this.workers[slot] = w;
    return w;
  }

  _call(w, msg, transfer = []) {
    const job = this.nextJob++;
    return new Promise((resolve, reject) => {
      this.jobs.set(job, { resolve, reject });
      w.busy = job;
      w.postMessage({ ...msg, job }, transfer);
    });
  }

  /** Load the model (an ArrayBuffer, or several for an ensemble) in every worker. Resolves with
   * the first worker's info. */
  async load(modelBytes, manifest) {
    this.init = { models: Array.isArray(modelBytes) ? modelBytes : [modelBytes], manifest };
    for (let i = 0; i < this.size; i++) if (!this.workers[i]) this._spawn(i);
    const infos = await Promise.all(this.workers.map((w) => this._init(w)));
    return infos[0];
  }

  _init(w) {
    const { models, manifest } = this.init;
    return this._call(w, { type: "init", models: models.map((m) => m.slice(0)), manifest });
  }

  async _worker(slot) {
    let w = this.workers[slot];
    if (!w) {
      w = this._spawn(slot);
      await this._init(w);
    }
    return w;
  }

  /**
   * Score items [{id, bytes: ArrayBuffer} | {id, rgba, width, height}].
   * onProgress({done, total, failed}) after every chunk. Resolves with ItemResult[] in input order.
   */
  async score(items, { options, chunk = 4, onProgress } = {}) {
    if (!this.init) throw Object.assign(new Error("load a model first"), { code: "invalid_input" });
    const results = new Array(items.length);
    let next = 0;
    let done = 0;
    let failed = 0;
    const run = async (slot) => {
      while (next < items.length) {
        const start = next;
        next = Math.min(items.length, next + chunk);
        const part = items.slice(start, next);
        let out;
        try {
          const w = await this._worker(slot);
          const transfer = [];
          const msgItems = part.map((it) => {
            const copy = { ...it };
            if (it.bytes) transfer.push((copy.bytes = it.bytes.slice(0)));
            if (it.rgba) transfer.push((copy.rgba = it.rgba.buffer ? it.rgba.buffer.slice(0) : it.rgba.slice(0)));
            return copy;
          });
          out = (await this._call(w, { type: "score", items: msgItems, options }, transfer)).results;
        } catch (e) {
          out = part.map((it) => ({ id: it.id, error: { code: e.code ?? "internal", message: e.message } }));
        }
        out.forEach((r, k) => {
          results[start + k] = r;
          if (r.error) failed++;
        });
        done += part.length;
        onProgress?.({ done, total: items.length, failed });
      }
    };
    await Promise.all(Array.from({ length: this.size }, (_, s) => run(s)));
    return results;
  }

  /** Call a JS API function (tierItems, planRound, exports) in a worker. */
  async call(fn, request) {
    const w = await this._worker(0);
    return (await this._call(w, { type: "call", fn, request })).result;
  }

  /** Rank results most uncertain first (in a worker: the page never loads the wasm). */
  async rank(results, measure = "entropy") {
    const w = await this._worker(0);
    return (await this._call(w, { type: "rank", results, measure })).queue;
  }

  terminate() {
    this.workers.forEach((w) => w?.terminate());
    this.workers = [];
  }
}

// Results that survive a reload, in this browser's IndexedDB only (nothing is ever sent).
//
//   import { openStore } from "medtriage/store";
//   const store = await openStore();               // asks navigator.storage.persist()
//   store.addEventListener("error", (e) => warn(e.detail));   // quota / write errors
//   pool.score(files, { store });                  // scores saved as they arrive; hits skip the worker
//   store.putTiers(pool.modelKey, [{ hash, tier, priority, reasons }]);
//   store.putDecision(pool.modelKey, hash, { label: 3, reviewer: "dr-a" });
//   store.putRound(pool.modelKey, { round: 1, batch: [...], plan });
//   const file = await store.exportJson();         // versioned JSON; store.import(file) reads it back
//
// Every record is keyed by the image's SHA-256 and the model key (`<model sha256(s)>:<manifest
// sha256>`, see `modelKey` in "medtriage/pool"), so a changed model, manifest or image is never
// mixed up with an old one. No pixels are stored unless the host puts them in a record itself.
// Writes are batched within a few milliseconds. A write that fails (quota, disk, a closed
// database) is reported as an "error" event with `code` "storage_quota" or "storage_write";
// its records stay in memory (reads still see them, `exportJson()` includes them, the next
// write retries them), so nothing is lost while the tab is open.

export const FORMAT = "medtriage-store";
export const VERSION = 2;
const DB_VERSION = 2;
const KINDS = ["scores", "tiers", "decisions", "rounds"];

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new DOMException("transaction aborted", "AbortError"));
  });
}

function storeError(e) {
  const quota = e?.name === "QuotaExceededError" || /quota/i.test(String(e?.message ?? ""));
  const err = new Error(`${quota ? "storage quota exceeded" : "storage write failed"}: ${e?.message ?? e}`);
  err.name = "MedtriageError";
  err.code = quota ? "storage_quota" : "storage_write";
  err.cause = e;
  return err;
}

const keyOf = (model, id) => `${model}|${id}`;

/** Numeric typed arrays (the pool's Float64Array probabilities) become plain arrays in JSON. */
function plain(v) {
  return JSON.parse(JSON.stringify(v, (_, x) => (ArrayBuffer.isView(x) ? Array.from(x) : x)));
}

/**
 * Open (or create) the store. `name` is the IndexedDB database (default "medtriage");
 * `persist` (default true) asks the browser not to evict it under storage pressure.
 */
export async function openStore({ name = "medtriage", persist = true } = {}) {
  const open = indexedDB.open(name, DB_VERSION);
  open.onupgradeneeded = (ev) => {
    const db = open.result;
    const tx = open.transaction;
    for (const k of KINDS) if (!db.objectStoreNames.contains(k)) db.createObjectStore(k, { keyPath: "key" }).createIndex("model", "model");
    // version 1 (the demo's first store): {key: "<model key>:<image sha256>", result, storedAt}
    if (ev.oldVersion === 1 && db.objectStoreNames.contains("results")) {
      const scores = tx.objectStore("scores");
      tx.objectStore("results").openCursor().onsuccess = (e) => {
        const c = e.target.result;
        if (!c) {
          db.deleteObjectStore("results");
          return;
        }
        const rec = migrateV1(c.value);
        if (rec) scores.put(rec);
        c.continue();
      };
    }
  };
  const db = await req(open);
  const store = new ResultStore(db, name);
  if (persist && typeof navigator !== "undefined" && navigator.storage?.persist) {
    // advisory only: a browser that never answers (a prompt nobody sees) must not hold up the store
    const noAnswer = new Promise((ok) => setTimeout(() => ok(false), 3000));
    store.persisted = await Promise.race([navigator.storage.persist().catch(() => false), noAnswer]);
  }
  return store;
}

function migrateV1(row) {
  if (!row || typeof row.key !== "string" || !row.result?.score) return null;
  const cut = row.key.lastIndexOf(":");
  if (cut <= 0) return null;
  const model = row.key.slice(0, cut);
  const image = row.key.slice(cut + 1);
  if (!/^[0-9a-f]{64}$/.test(image)) return null;
  return { key: keyOf(model, image), model, image, id: row.result.id ?? null, result: row.result, at: row.storedAt ?? 0 };
}

export class ResultStore extends EventTarget {
  constructor(db, name) {
    super();
    this.db = db;
    this.name = name;
    this.persisted = false;
    // records not yet written (or whose write failed), per kind: key -> record
    this.pending = Object.fromEntries(KINDS.map((k) => [k, new Map()]));
    this.lastError = null;
    this._timer = null;
    this._flushing = null;
  }

  /** Records waiting in memory (not yet in IndexedDB), all kinds. */
  get unsaved() {
    return KINDS.reduce((n, k) => n + this.pending[k].size, 0);
  }

  _queue(kind, rec) {
    this.pending[kind].set(rec.key, rec);
    // after a failed write, retry every 2 s instead of on every record
    if (this.lastError) this._timer ??= setTimeout(() => this.flush().catch(() => {}), 2000);
    else if (this.unsaved >= 512) this.flush().catch(() => {});
    else this._timer ??= setTimeout(() => this.flush().catch(() => {}), 5);
  }

  /** Write what is pending now. Rejects (and fires "error") when the write fails; the
   * records stay pending. */
  flush() {
    clearTimeout(this._timer);
    this._timer = null;
    const run = async () => {
      if (this.unsaved === 0) return;
      const batch = KINDS.map((k) => [k, [...this.pending[k].values()]]);
      try {
        const tx = this.db.transaction(KINDS, "readwrite");
        for (const [k, recs] of batch) for (const r of recs) tx.objectStore(k).put(r);
        await done(tx);
      } catch (e) {
        const err = storeError(e);
        this.lastError = err;
        this.dispatchEvent(new CustomEvent("error", { detail: { code: err.code, message: err.message, unsaved: this.unsaved, error: err } }));
        throw err;
      }
      // drop what was written, unless it changed meanwhile
      for (const [k, recs] of batch) for (const r of recs) if (this.pending[k].get(r.key) === r) this.pending[k].delete(r.key);
      if (this.lastError) {
        this.lastError = null;
        this.dispatchEvent(new CustomEvent("saved", { detail: { unsaved: this.unsaved } }));
      }
    };
    const p = (this._flushing ?? Promise.resolve()).catch(() => {}).then(run);
    this._flushing = p;
    return p;
  }

  putScore(model, image, result, id = result?.id ?? null) {
    this._queue("scores", { key: keyOf(model, image), model, image, id, result, at: Date.now() });
  }

  /** Tier items: [{ hash, tier, priority, reasons, … }] (what tierItems gives per item, with the image hash). */
  putTiers(model, items) {
    for (const t of items) this._queue("tiers", { key: keyOf(model, t.hash), model, image: t.hash, tier: t, at: Date.now() });
  }

  /** A reviewer's decision on one image ({ label, reviewer, note, … }); the last one wins. */
  putDecision(model, image, decision) {
    this._queue("decisions", { key: keyOf(model, image), model, image, decision, at: Date.now() });
  }

  /** A review round ({ round: number, … }). */
  putRound(model, round) {
    if (!Number.isInteger(round?.round)) throw Object.assign(new Error("putRound: round.round must be an integer"), { code: "invalid_input" });
    this._queue("rounds", { key: keyOf(model, String(round.round).padStart(6, "0")), model, round, at: Date.now() });
  }

  async _get(kind, keys) {
    const out = new Map();
    const want = [];
    for (const k of keys) {
      const p = this.pending[kind].get(k);
      if (p) out.set(k, p);
      else want.push(k);
    }
    if (want.length) {
      try {
        const st = this.db.transaction(kind, "readonly").objectStore(kind);
        const rows = await Promise.all(want.map((k) => req(st.get(k))));
        rows.forEach((r, i) => r && out.set(want[i], r));
      } catch {
        /* unreadable: treated as not stored (the image is scored again) */
      }
    }
    return out;
  }

  /** Stored scores for these image hashes: Map hash -> ItemResult. */
  async getScores(model, hashes) {
    const m = await this._get("scores", hashes.map((h) => keyOf(model, h)));
    const out = new Map();
    for (const h of hashes) {
      const r = m.get(keyOf(model, h));
      if (r) out.set(h, r.result);
    }
    return out;
  }

  async _all(kind, model) {
    let rows = [];
    try {
      const st = this.db.transaction(kind, "readonly").objectStore(kind);
      rows = model === undefined ? await req(st.getAll()) : await req(st.index("model").getAll(model));
    } catch {
      /* unreadable: only what is in memory */
    }
    const byKey = new Map(rows.map((r) => [r.key, r]));
    for (const r of this.pending[kind].values()) if (model === undefined || r.model === model) byKey.set(r.key, r);
    return [...byKey.values()];
  }

  /** Everything stored for a model: { scores: Map hash -> result, tiers, decisions: Map hash -> decision, rounds: [] }. */
  async load(model) {
    const [s, t, d, r] = await Promise.all(KINDS.map((k) => this._all(k, model)));
    return {
      scores: new Map(s.map((x) => [x.image, x.result])),
      tiers: new Map(t.map((x) => [x.image, x.tier])),
      decisions: new Map(d.map((x) => [x.image, x.decision])),
      rounds: r.map((x) => x.round).sort((a, b) => a.round - b.round),
    };
  }

  async count(kind = "scores") {
    return (await this._all(kind)).length;
  }

  /** Forget everything (or one model's records). */
  async clear(model) {
    for (const k of KINDS) for (const [key, r] of this.pending[k]) if (model === undefined || r.model === model) this.pending[k].delete(key);
    const tx = this.db.transaction(KINDS, "readwrite");
    for (const k of KINDS) {
      const st = tx.objectStore(k);
      if (model === undefined) st.clear();
      else {
        st.index("model").openKeyCursor(IDBKeyRange.only(model)).onsuccess = (e) => {
          const c = e.target.result;
          if (c) {
            st.delete(c.primaryKey);
            c.continue();
          }
        };
      }
    }
    await done(tx);
  }

  /** The store as a versioned JSON object (in-memory records included): what a host offers for download. */
  async export(model) {
    const out = { format: FORMAT, version: VERSION, exportedAt: new Date().toISOString() };
    for (const k of KINDS) {
      out[k] = (await this._all(k, model)).map((r) => {
        const { key, ...rest } = r;
        void key;
        return plain(rest);
      });
    }
    return out;
  }

  /** `export()` as JSON text. */
  async exportJson(model) {
    return JSON.stringify(await this.export(model));
  }

  /**
   * Read an export (object or JSON text) back in. Older versions are migrated; a bad record
   * is reported and skipped, never the whole file. Resolves with
   * { version, migratedFrom, imported: { scores, tiers, decisions, rounds }, skipped: [{ kind, index, reason }] }.
   */
  async import(file) {
    let data = file;
    if (typeof file === "string") {
      try {
        data = JSON.parse(file);
      } catch (e) {
        throw Object.assign(new Error(`import: not JSON: ${e.message}`), { name: "MedtriageError", code: "invalid_import" });
      }
    }
    if (!data || typeof data !== "object" || data.format !== FORMAT || !Number.isInteger(data.version)) {
      throw Object.assign(new Error(`import: not a ${FORMAT} file`), { name: "MedtriageError", code: "invalid_import" });
    }
    if (data.version > VERSION) {
      throw Object.assign(new Error(`import: version ${data.version} is newer than this package reads (${VERSION})`), {
        name: "MedtriageError",
        code: "invalid_import",
      });
    }
    const migratedFrom = data.version < VERSION ? data.version : null;
    if (data.version === 1) data = migrateExportV1(data);
    const skipped = [...(data.skipped ?? [])];
    const imported = Object.fromEntries(KINDS.map((k) => [k, 0]));
    for (const k of KINDS) {
      const list = data[k] ?? [];
      if (!Array.isArray(list)) {
        skipped.push({ kind: k, index: null, reason: `${k} is not an array` });
        continue;
      }
      list.forEach((r, index) => {
        const why = CHECK[k](r);
        if (why) return skipped.push({ kind: k, index, reason: why });
        const rec = { ...r };
        rec.key = keyOf(r.model, k === "rounds" ? String(r.round.round).padStart(6, "0") : r.image);
        rec.at ??= Date.now();
        this.pending[k].set(rec.key, rec);
        imported[k]++;
      });
    }
    await this.flush();
    return { version: VERSION, migratedFrom, imported, skipped };
  }
}

const HASH = /^[0-9a-f]{64}$/;
const isModel = (m) => typeof m === "string" && /^[0-9a-f]{64}(\+[0-9a-f]{64})*:[0-9a-f]{64}$/.test(m);
const CHECK = {
  scores: (r) =>
    !r || typeof r !== "object"
      ? "not an object"
      : !isModel(r.model)
        ? "bad model key"
        : !HASH.test(r.image ?? "")
          ? "bad image hash"
          : !r.result?.score || !Array.isArray(r.result.score.probabilities) || !r.result.score.probabilities.every(Number.isFinite)
            ? "no valid score"
            : null,
  tiers: (r) =>
    !r || typeof r !== "object" ? "not an object" : !isModel(r.model) ? "bad model key" : !HASH.test(r.image ?? "") ? "bad image hash" : typeof r.tier?.tier !== "string" ? "no tier" : null,
  decisions: (r) =>
    !r || typeof r !== "object"
      ? "not an object"
      : !isModel(r.model)
        ? "bad model key"
        : !HASH.test(r.image ?? "")
          ? "bad image hash"
          : !r.decision || typeof r.decision !== "object"
            ? "no decision"
            : null,
  rounds: (r) => (!r || typeof r !== "object" ? "not an object" : !isModel(r.model) ? "bad model key" : !Number.isInteger(r.round?.round) ? "no round number" : null),
};

// Version 1 exports held scores only, as the demo's first store kept them:
// { format, version: 1, results: [{ key: "<model key>:<image sha256>", result, storedAt }] }.
function migrateExportV1(data) {
  const skipped = [];
  const scores = [];
  (Array.isArray(data.results) ? data.results : []).forEach((row, index) => {
    const rec = migrateV1(row);
    if (rec) {
      delete rec.key;
      scores.push(rec);
    } else skipped.push({ kind: "scores", index, reason: "version 1 record without a valid key or score" });
  });
  return { format: FORMAT, version: VERSION, scores, tiers: [], decisions: [], rounds: [], skipped };
}

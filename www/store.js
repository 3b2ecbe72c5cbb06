// Results that survive a reload: scores kept in this browser's IndexedDB, never sent anywhere.
// A result is keyed by the SHA-256 of the model, of its manifest and of the image bytes, so a
// changed model, manifest or image is scored again; failed items are not kept (a retry may
// succeed). `clear()` forgets everything.
const DB = "medtriage";
const STORE = "results";

function req(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

export async function sha256Hex(bytes) {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class ResultStore {
  static async open() {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: "key" });
    return new ResultStore(await req(open));
  }

  constructor(db) {
    this.db = db;
  }

  /** Stored results for these keys: Map key -> ItemResult (misses are absent). */
  async getMany(keys) {
    const tx = this.db.transaction(STORE, "readonly");
    const st = tx.objectStore(STORE);
    const found = await Promise.all(keys.map((k) => req(st.get(k))));
    const out = new Map();
    found.forEach((row, i) => row && out.set(keys[i], row.result));
    return out;
  }

  /** Keep successful results: entries [key, ItemResult]. */
  async putMany(entries) {
    const tx = this.db.transaction(STORE, "readwrite");
    const st = tx.objectStore(STORE);
    for (const [key, result] of entries) if (result.score) st.put({ key, result, storedAt: Date.now() });
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  }

  async count() {
    return req(this.db.transaction(STORE, "readonly").objectStore(STORE).count());
  }

  async clear() {
    const tx = this.db.transaction(STORE, "readwrite");
    tx.objectStore(STORE).clear();
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  }
}

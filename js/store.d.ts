import type { ItemResult } from "./medtriage.js";

export const FORMAT: "medtriage-store";
export const VERSION: number;
export interface StoreOptions {
  /** IndexedDB database name (default "medtriage"). */
  name?: string;
  /** Ask navigator.storage.persist() (default true). */
  persist?: boolean;
}
export interface StoreErrorDetail {
  code: "storage_quota" | "storage_write";
  message: string;
  /** records kept in memory, waiting for a write */
  unsaved: number;
  error: Error;
}
export interface TierRecord {
  hash: string;
  tier: string;
  [k: string]: unknown;
}
export interface Round {
  round: number;
  [k: string]: unknown;
}
export interface ExportFile {
  format: "medtriage-store";
  version: number;
  exportedAt: string;
  scores: { model: string; image: string; id: string | null; result: ItemResult; at: number }[];
  tiers: { model: string; image: string; tier: TierRecord; at: number }[];
  decisions: { model: string; image: string; decision: object; at: number }[];
  rounds: { model: string; round: Round; at: number }[];
}
export interface ImportReport {
  version: number;
  migratedFrom: number | null;
  imported: { scores: number; tiers: number; decisions: number; rounds: number };
  skipped: { kind: string; index: number | null; reason: string }[];
}
export function openStore(options?: StoreOptions): Promise<ResultStore>;
export class ResultStore extends EventTarget {
  readonly name: string;
  /** navigator.storage.persist()'s answer (false when the browser gave none within 3 s) */
  persisted: boolean;
  readonly unsaved: number;
  lastError: Error | null;
  flush(): Promise<void>;
  putScore(model: string, image: string, result: ItemResult, id?: string | null): void;
  putTiers(model: string, items: TierRecord[]): void;
  putDecision(model: string, image: string, decision: object): void;
  putRound(model: string, round: Round): void;
  getScores(model: string, hashes: string[]): Promise<Map<string, ItemResult>>;
  load(model: string): Promise<{ scores: Map<string, ItemResult>; tiers: Map<string, TierRecord>; decisions: Map<string, any>; rounds: Round[] }>;
  count(kind?: "scores" | "tiers" | "decisions" | "rounds"): Promise<number>;
  clear(model?: string): Promise<void>;
  export(model?: string): Promise<ExportFile>;
  exportJson(model?: string): Promise<string>;
  import(file: string | object): Promise<ImportReport>;
}

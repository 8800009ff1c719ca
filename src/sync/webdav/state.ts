/** What an instance remembers about each WebDAV catalog folder (tables from WEBDAV_SYNC_MIGRATION). */
import type { Db } from "../../store/db.js";

export type FileState = "merged" | "covered" | "own" | "superseded" | "bad";

export interface KnownFile {
  state: FileState;
  size: number | null;
  etag: string | null;
  reason: string | null;
  /** when this row was last written (ISO) */
  at: string;
}

export class FolderState {
  readonly #db: Db;
  readonly folder: string;

  constructor(db: Db, folder: string) {
    this.#db = db;
    this.folder = folder;
  }

  files(): Map<string, KnownFile> {
    const rows = this.#db.prepare<[string], KnownFile & { name: string }>("SELECT name, state, size, etag, reason, at FROM webdav_files WHERE folder = ?").all(this.folder);
    return new Map(rows.map(({ name, ...rest }) => [name, rest]));
  }

  mark(name: string, state: FileState, details: { size?: number | null; etag?: string | null; reason?: string | null } = {}): void {
    this.#db
      .prepare(
        `INSERT INTO webdav_files (folder, name, state, size, etag, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (folder, name) DO UPDATE SET state = excluded.state, size = excluded.size, etag = excluded.etag, reason = excluded.reason, at = excluded.at`,
      )
      .run(this.folder, name, state, details.size ?? null, details.etag ?? null, details.reason ?? null, new Date().toISOString());
  }

  forget(name: string): void {
    this.#db.prepare("DELETE FROM webdav_files WHERE folder = ? AND name = ?").run(this.folder, name);
  }

  /** Per document, change hashes the folder holds (not minimal: any ancestor-closed set works). */
  heads(): Map<string, string[]> {
    const rows = this.#db.prepare<[string], { doc_id: string; heads: string }>("SELECT doc_id, heads FROM webdav_heads WHERE folder = ?").all(this.folder);
    return new Map(rows.map((r) => [r.doc_id, JSON.parse(r.heads) as string[]]));
  }

  setHeads(docId: string, heads: readonly string[]): void {
    this.#db
      .prepare("INSERT INTO webdav_heads (folder, doc_id, heads) VALUES (?, ?, ?) ON CONFLICT (folder, doc_id) DO UPDATE SET heads = excluded.heads")
      .run(this.folder, docId, JSON.stringify([...new Set(heads)].sort()));
  }

  /** Forgets what the folder holds, so the next upload is everything (the folder lost files). */
  resetHeads(): void {
    this.#db.prepare("DELETE FROM webdav_heads WHERE folder = ?").run(this.folder);
  }

  lastSeq(): number {
    return this.#db.prepare<[string], { last_seq: number }>("SELECT last_seq FROM webdav_writers WHERE folder = ?").get(this.folder)?.last_seq ?? 0;
  }

  setLastSeq(seq: number): void {
    this.#db.prepare("INSERT INTO webdav_writers (folder, last_seq) VALUES (?, ?) ON CONFLICT (folder) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)").run(this.folder, seq);
  }

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}

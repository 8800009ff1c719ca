/**
 * An instance: one home directory holding one SQLite file. It knows its own id, the catalogs it
 * holds, and opens the CRDT store only when a command needs to write (reads never load Automerge).
 */
import { existsSync, mkdirSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import type { DocumentId, NetworkAdapterInterface, Repo } from "@automerge/automerge-repo";
import { ShelfError } from "./errors.js";
import { openDb, type Db } from "./store/db.js";
import { KnownChunks } from "./store/known-chunks.js";
import { documentIdsOf } from "./model/catalog-doc.js";
import { forgetCatalogView } from "./view/view-tables.js";
import type { StoredDocuments } from "./store/stored-documents.js";

export const DB_FILE = "shelf.db";
/** How long automerge-repo waits to coalesce saves of a changed document. */
const SAVE_DEBOUNCE_MS = 50;

export interface CatalogRow {
  catId: number;
  url: string;
  name: string;
  isDefault: boolean;
  shardUrls: string[];
}

/** --home, then SHELF_HOME, then the platform's data directory. */
export function resolveHome(explicit?: string): string {
  if (explicit) return resolve(explicit);
  if (process.env.SHELF_HOME) return resolve(process.env.SHELF_HOME);
  if (process.platform === "win32") return join(process.env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "shelf");
  if (process.platform === "darwin") return join(homedir(), "Library", "Application Support", "shelf");
  return join(process.env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "shelf");
}

export class Instance {
  readonly home: string;
  readonly dbPath: string;
  readonly db: Db;
  readonly id: string;
  #repo: Repo | undefined;
  /** the documents whose chunks this process loaded into Automerge (reported by syncs) */
  readonly documentsLoaded = new Set<string>();
  /** how many times this process loaded a document's chunks: a document loaded twice counts twice */
  #loads = 0;
  /** the stored chunks this process's copies of documents hold (see known-chunks.ts) */
  readonly chunks: KnownChunks;
  readonly #saved = new Set<string>();
  #stored: StoredDocuments | undefined;

  private constructor(home: string, db: Db, id: string) {
    this.home = home;
    this.dbPath = join(home, DB_FILE);
    this.db = db;
    this.id = id;
    this.chunks = new KnownChunks(db);
  }

  /** Whether `home` holds an instance. */
  static exists(home: string): boolean {
    return existsSync(join(home, DB_FILE));
  }

  /**
   * Opens the instance at `home`. `create` makes the directory and database when missing;
   * otherwise a missing instance is an error that says how to make one. `bulkWork` is for a
   * command that writes the whole view in one pass: its page cache follows the file's size
   * (fitPageCache in store/db.ts).
   */
  static open(home: string, options: { create?: boolean; bulkWork?: boolean } = {}): Instance {
    const dbPath = join(home, DB_FILE);
    if (!Instance.exists(home)) {
      if (!options.create) {
        throw new ShelfError("SHELF_E_NOT_INITIALIZED", `no shelf instance at ${home}`, "run `shelf init` to create a catalog, or `shelf import-bundle FILE` to take one from a bundle (or pass --home DIR)");
      }
      mkdirSync(home, { recursive: true });
    }
    const db = openDb(dbPath, { pageCacheFollowsFile: options.bulkWork });
    const id = ensureInstanceId(db);
    return new Instance(home, db, id);
  }

  /** The documents this process wrote chunks of, so far (for the local edit signal). */
  get savedDocuments(): ReadonlySet<string> {
    return this.#saved;
  }

  /** How many times this process loaded a document's chunks so far (reported by syncs). */
  get documentLoads(): number {
    return this.#loads;
  }

  #loaded(documentId: string): void {
    this.documentsLoaded.add(documentId);
    this.#loads++;
  }

  readonly #onLoad = (documentId: string, keys: string[]): void => {
    this.#loaded(documentId);
    this.chunks.hold(documentId, keys);
  };

  readonly #onSaved = (documentId: string, key: string): void => {
    this.#saved.add(documentId);
    this.chunks.hold(documentId, [key]);
  };

  /**
   * Documents read from and written to their stored chunks without the CRDT store, one at a time
   * (bulk work: see stored-documents.ts). A write marks the document dirty, as the store's do.
   */
  async storedDocuments(): Promise<StoredDocuments> {
    if (!this.#stored) {
      const [{ StoredDocuments }, { markDirtyStatement }] = await Promise.all([import("./store/stored-documents.js"), import("./store/crdt-storage.js")]);
      const markDirty = markDirtyStatement(this.db);
      this.#stored = new StoredDocuments(this.db, {
        onLoaded: (documentId) => this.#loaded(documentId),
        onSaved: (documentId) => {
          markDirty.run(documentId);
          this.#saved.add(documentId);
        },
      });
    }
    return this.#stored;
  }

  /** The CRDT store, created on first use (offline unless connect() made it first). */
  async repo(): Promise<Repo> {
    if (!this.#repo) {
      const { createRepo } = await import("./store/crdt-store.js");
      this.#repo = createRepo(this.db, { instanceId: this.id, saveDebounceMs: SAVE_DEBOUNCE_MS, onSaved: this.#onSaved, onLoad: this.#onLoad });
    }
    return this.#repo;
  }

  /** Opens the CRDT store on the network, sharing only the documents `shares` accepts. */
  async connect(network: NetworkAdapterInterface[], shares: (documentId: DocumentId) => boolean): Promise<Repo> {
    if (this.#repo) throw new ShelfError("SHELF_E_INTERNAL", "the CRDT store is already open");
    const { createRepo } = await import("./store/crdt-store.js");
    this.#repo = createRepo(this.db, { instanceId: this.id, saveDebounceMs: SAVE_DEBOUNCE_MS, network, shares, onSaved: this.#onSaved, onLoad: this.#onLoad });
    return this.#repo;
  }

  /**
   * Flushes and drops the CRDT store, so the documents it held can be freed; the next repo() call
   * opens a fresh one. Long bulk work (imports, rebuilds) calls this to keep memory bounded.
   */
  async recycleRepo(): Promise<void> {
    const repo = this.#repo;
    this.#repo = undefined;
    if (!repo) return;
    await shutDown(repo);
    this.chunks.forgetAll();
    const { releaseDocuments } = await import("./store/release-documents.js");
    await releaseDocuments(repo);
  }

  /** How many documents the open CRDT store holds now (0 when none is open). */
  get documentsInStore(): number {
    return this.#repo ? Object.keys(this.#repo.handles).length : 0;
  }

  /**
   * Whether one of the catalog's documents had chunks stored since the view last caught up with it
   * (documents stored by a join that failed belong to no catalog, and must not make every command
   * load Automerge).
   */
  hasDirtyDocuments(catalog: CatalogRow): boolean {
    const ids = documentIdsOf(catalog);
    return this.db.prepare<[string], unknown>("SELECT 1 FROM crdt_dirty WHERE doc_id IN (SELECT value FROM json_each(?)) LIMIT 1").get(JSON.stringify(ids)) !== undefined;
  }

  /**
   * Documents whose stored chunks the view has not caught up with: `held`, of this instance's
   * catalogs; `kept`, of none (stored by a join that did not finish, kept for the next attempt).
   */
  dirtyDocuments(): { held: number; kept: number } {
    const ofCatalogs = new Set<string>(this.catalogs().flatMap(documentIdsOf));
    let held = 0;
    let kept = 0;
    for (const { doc_id } of this.db.prepare<[], { doc_id: string }>("SELECT doc_id FROM crdt_dirty").iterate()) {
      if (ofCatalogs.has(doc_id)) held++;
      else kept++;
    }
    return { held, kept };
  }

  catalogs(): CatalogRow[] {
    return this.db
      .prepare<[], { cat_id: number; url: string; name: string; is_default: number; shard_urls: string }>("SELECT cat_id, url, name, is_default, shard_urls FROM catalogs ORDER BY name")
      .all()
      .map((r) => ({ catId: r.cat_id, url: r.url, name: r.name, isDefault: r.is_default === 1, shardUrls: JSON.parse(r.shard_urls) as string[] }));
  }

  /** The catalog named by `--catalog NAME|URL`, or the default one. */
  catalog(nameOrUrl?: string): CatalogRow {
    const all = this.catalogs();
    if (all.length === 0) {
      throw new ShelfError("SHELF_E_NOT_INITIALIZED", `the instance at ${this.home} holds no catalog`, "run `shelf init` to create one, or `shelf import-bundle FILE` to take one from a bundle");
    }
    const found = nameOrUrl ? all.find((c) => c.name === nameOrUrl || c.url === nameOrUrl) : (all.find((c) => c.isDefault) ?? all[0]);
    if (!found) {
      throw new ShelfError("SHELF_E_CATALOG_NOT_FOUND", `no catalog ${JSON.stringify(nameOrUrl)} in this instance`, `catalogs here: ${all.map((c) => c.name).join(", ")}`);
    }
    return found;
  }

  assertCatalogNameFree(name: string): void {
    if (this.catalogs().some((c) => c.name === name)) {
      throw new ShelfError("SHELF_E_CATALOG_EXISTS", `a catalog named ${JSON.stringify(name)} already exists here`, "choose another --name");
    }
  }

  addCatalog(row: Omit<CatalogRow, "catId" | "isDefault">): CatalogRow {
    // immediate: it reads, then writes, and a deferred transaction would fail at once instead of
    // waiting when another process wrote in between
    return this.db.transaction(() => {
      this.assertCatalogNameFree(row.name);
      const isDefault = this.catalogs().length === 0;
      const info = this.db
        .prepare("INSERT INTO catalogs (url, name, is_default, shard_urls, added_at) VALUES (?, ?, ?, ?, ?)")
        .run(row.url, row.name, isDefault ? 1 : 0, JSON.stringify(row.shardUrls), new Date().toISOString());
      return { ...row, catId: Number(info.lastInsertRowid), isDefault };
    }).immediate();
  }

  /**
   * Forgets a catalog and its rows in the view (what a failed join registered). The chunks of its
   * documents stay, marked dirty: a later join of the same catalog starts from them.
   */
  removeCatalog(catalog: CatalogRow): void {
    const documentIds = documentIdsOf(catalog);
    this.db.transaction(() => {
      forgetCatalogView(this.db, catalog.catId, documentIds);
      this.db.prepare("DELETE FROM catalogs WHERE cat_id = ?").run(catalog.catId);
    }).immediate();
  }

  /** Flushes pending CRDT writes and closes everything; safe to call twice. */
  async close(): Promise<void> {
    if (this.#repo) {
      const repo = this.#repo;
      this.#repo = undefined;
      await shutDown(repo);
    }
    if (this.db.open) this.db.close();
  }
}

/**
 * Disconnects and writes every loaded document. Repo.shutdown() would throw on a document still
 * being fetched (a sync cut short by an error or a timeout), hiding the error that cut it short;
 * such a document has nothing of its own to write.
 */
async function shutDown(repo: Repo): Promise<void> {
  for (const adapter of repo.networkSubsystem.adapters) adapter.disconnect();
  await repo.flush(Object.values(repo.handles).filter((handle) => handle.isReady()).map((handle) => handle.documentId));
}

function ensureInstanceId(db: Db): string {
  const row = db.prepare<[], { value: string }>("SELECT value FROM settings WHERE key = 'instance_id'").get();
  if (row) return row.value;
  // Readable in `updatedBy` and history: the host name plus a random suffix that keeps two homes
  // on one host apart.
  const host = hostname().toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 32) || "host";
  // Web Crypto's global, not node:crypto: importing that module costs every command ~10 ms, and
  // only the first command on a home needs a random number.
  const suffix = Buffer.from(crypto.getRandomValues(new Uint8Array(3))).toString("hex");
  const id = `${host}-${suffix}`;
  db.prepare("INSERT OR IGNORE INTO settings (key, value) VALUES ('instance_id', ?)").run(id);
  return db.prepare<[], { value: string }>("SELECT value FROM settings WHERE key = 'instance_id'").get()!.value;
}

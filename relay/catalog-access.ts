/**
 * Which documents a token's catalog covers: its root document, and its shard documents.
 *
 * - A catalog made with derived ids (src/model/catalog-ids.ts) owns exactly the shards whose ids
 *   derive from its root id: a computation, so no one can claim them by listing them first, and
 *   no root is loaded to decide. No other catalog may claim a derived id.
 * - A catalog made before derived ids (random ids) owns the shards its root listed first, as the
 *   relay holds that root (recorded in relay_doc_owners); the list is read when first needed and
 *   re-read whenever the root changes. Neither a derived id nor a catalog a token names can be
 *   claimed that way.
 *
 * A catalog's root belongs to itself. Without these rules, a writer of catalog A could put B's
 * document ids into A's root and reach them with A's token, or take them before B arrives.
 */
import { isValidAutomergeUrl, parseAutomergeUrl, type AutomergeUrl, type DocumentId } from "@automerge/automerge-repo/slim";
import { isDerivedRootId, isDerivedShardId, shardIndexIn } from "../src/model/catalog-ids.js";
import { plain } from "../src/model/crdt-record.js";
import type { Db } from "../src/store/db.js";

/** More shards than any catalog shelf creates (at most 4096) by far; a root listing more is not trusted further. */
const MAX_SHARDS = 65_536;

export interface RootSource {
  /**
   * The root document as the relay holds it, waiting while a peer is still sending it; undefined
   * when no one has it. After a successful load, `onChange` gets the document whenever it changes.
   */
  load(rootId: DocumentId, onChange: (doc: unknown) => void): Promise<unknown>;
}

export interface AccessLog {
  warn(obj: object, msg: string): void;
}

/** Told when a catalog's client asks for a shard its root lists but another catalog took first. */
export type OnTaken = (rootId: DocumentId, documentId: DocumentId) => void;

export class CatalogAccess {
  readonly #db: Db;
  readonly #source: RootSource;
  readonly #log: AccessLog | undefined;
  readonly #onTaken: OnTaken | undefined;
  readonly #shards = new Map<DocumentId, Promise<ReadonlySet<DocumentId> | undefined>>();
  /** per root: documents it lists that belong to another catalog */
  readonly #taken = new Map<DocumentId, ReadonlySet<DocumentId>>();
  readonly #stmts;

  constructor(db: Db, source: RootSource, log?: AccessLog, onTaken?: OnTaken) {
    this.#db = db;
    this.#source = source;
    this.#log = log;
    this.#onTaken = onTaken;
    this.#stmts = {
      claim: db.prepare<[string, string]>("INSERT OR IGNORE INTO relay_doc_owners (doc_id, root_id) VALUES (?, ?)"),
      // a verified claim (a root itself, a derived shard) overrides a first-come one
      own: db.prepare<[string, string]>("INSERT INTO relay_doc_owners (doc_id, root_id) VALUES (?, ?) ON CONFLICT (doc_id) DO UPDATE SET root_id = excluded.root_id"),
      tokenCatalog: db.prepare<[string], { one: number }>("SELECT 1 AS one FROM relay_tokens WHERE catalog_url = ? LIMIT 1"),
      owned: db.prepare<[string], { doc_id: string }>("SELECT doc_id FROM relay_doc_owners WHERE root_id = ?"),
      owner: db.prepare<[string], { root_id: string }>("SELECT root_id FROM relay_doc_owners WHERE doc_id = ?"),
    };
  }

  /** May a peer holding a token for `catalogUrl` read and write `documentId`? */
  async allows(catalogUrl: string, documentId: DocumentId): Promise<boolean> {
    const rootId = rootIdOf(catalogUrl);
    // a shard's id is never a catalog's: a token for one reaches nothing
    if (rootId === undefined || isDerivedShardId(rootId)) return false;
    const owner = this.ownerOf(documentId);
    // a derived root id is no one's shard (no root may claim one), whatever an older relay recorded
    if (documentId === rootId) {
      const allowed = owner === undefined || owner === rootId || isDerivedRootId(rootId);
      // A root the relay dropped and loads again for this client's message: read its shard list
      // (and follow its changes) again, or shards it lists from now on would go unclaimed.
      if (allowed && !this.#shards.has(rootId)) void this.#shardsOf(rootId).catch(() => undefined);
      return allowed;
    }
    if (isDerivedShardId(documentId)) {
      if (shardIndexIn(rootId, documentId) === undefined) return false;
      if (owner !== rootId) this.#stmts.own.run(documentId, rootId); // for heads summaries and notices
      return true;
    }
    // A shard this catalog has claimed before is its own for good: no need to load the root.
    if (owner === rootId) return true;
    if (isDerivedRootId(documentId)) return false;
    try {
      const shards = await this.#shardsOf(rootId);
      if (shards?.has(documentId)) return true;
      if (this.#taken.get(rootId)?.has(documentId)) this.#onTaken?.(rootId, documentId);
      return false;
    } catch (err) {
      this.#log?.warn({ err, catalog: rootId }, "could not read a catalog's shard list; access refused");
      return false;
    }
  }

  /** The root of the catalog a document belongs to, as recorded; undefined when none is. */
  ownerOf(documentId: DocumentId): DocumentId | undefined {
    return this.#stmts.owner.get(documentId)?.root_id as DocumentId | undefined;
  }

  /**
   * Makes sure the shards of a catalog the relay stores are recorded as its own, loading its root
   * once if they were never recorded (a relay without tokens checks no access, so nothing else
   * records them). Heads summaries list a catalog's documents from that record.
   */
  async claimShards(rootId: DocumentId): Promise<void> {
    if (this.#stmts.owner.get(rootId)?.root_id === rootId) return;
    try {
      await this.#shardsOf(rootId);
    } catch (err) {
      this.#log?.warn({ err, catalog: rootId }, "could not read a catalog's shard list");
    }
  }

  /**
   * The relay dropped `documentId` from memory: if it is a root, its shard list is read from the
   * root again next time (the handle that reported its changes is gone).
   */
  forget(documentId: DocumentId): void {
    this.#shards.delete(documentId);
    this.#taken.delete(documentId);
  }

  #shardsOf(rootId: DocumentId): Promise<ReadonlySet<DocumentId> | undefined> {
    let entry = this.#shards.get(rootId);
    if (!entry) {
      entry = this.#source
        .load(rootId, (doc) => this.#refresh(rootId, doc))
        .then((doc) => (doc === undefined ? undefined : this.#claim(rootId, doc)));
      this.#shards.set(rootId, entry);
      // Not found now: ask again next time (a client may push the root later).
      const loading = entry;
      const forget = () => {
        if (this.#shards.get(rootId) === loading) this.#shards.delete(rootId);
      };
      loading.then((shards) => {
        if (!shards) forget();
      }, forget);
    }
    return entry;
  }

  /** The root changed: its shard list is read again. */
  #refresh(rootId: DocumentId, root: unknown): void {
    try {
      this.#shards.set(rootId, Promise.resolve(this.#claim(rootId, root)));
    } catch (err) {
      this.#log?.warn({ err, catalog: rootId }, "could not re-read a catalog's shard list; keeping the previous one");
    }
  }

  /**
   * May a root that does not derive `documentId` claim it by listing it first? Not a derived id
   * (it is some catalog's by construction), and not the root of a catalog a token names.
   */
  #claimable(documentId: DocumentId): boolean {
    if (isDerivedShardId(documentId) || isDerivedRootId(documentId)) return false;
    return this.#stmts.tokenCatalog.get(`automerge:${documentId}`) === undefined;
  }

  /** Records ownership of the shards `root` lists and returns those that belong to it. */
  #claim(rootId: DocumentId, root: unknown): ReadonlySet<DocumentId> {
    if (isDerivedShardId(rootId)) return new Set(); // a shard is never a catalog: it claims nothing
    const listed = shardIdsOf(root).filter((id) => id !== rootId);
    const owned = this.#db.transaction(() => {
      (isDerivedRootId(rootId) ? this.#stmts.own : this.#stmts.claim).run(rootId, rootId);
      // recorded as another catalog's shard (listed before this catalog had a token): it claims nothing
      if (this.ownerOf(rootId) !== rootId) return new Set<string>();
      for (const id of listed) {
        if (shardIndexIn(rootId, id) !== undefined) this.#stmts.own.run(id, rootId);
        else if (this.#claimable(id)) this.#stmts.claim.run(id, rootId);
      }
      return new Set(this.#stmts.owned.all(rootId).map((r) => r.doc_id));
    })();
    const allowed = new Set(listed.filter((id) => owned.has(id)));
    this.#taken.set(rootId, new Set(listed.filter((id) => !owned.has(id))));
    if (allowed.size < listed.length) {
      this.#log?.warn({ catalog: rootId, refused: listed.length - allowed.size }, "a catalog root lists documents that belong to another catalog; they stay out of its reach");
    }
    return allowed;
  }
}

function rootIdOf(catalogUrl: string): DocumentId | undefined {
  return isValidAutomergeUrl(catalogUrl) ? parseAutomergeUrl(catalogUrl as AutomergeUrl).documentId : undefined;
}

/** The document ids of the shards a catalog root lists; none when it is not a catalog root. */
export function shardIdsOf(root: unknown): DocumentId[] {
  if (typeof root !== "object" || root === null) return [];
  const { shelf, shards } = root as { shelf?: unknown; shards?: unknown };
  if (shelf !== "catalog" || !Array.isArray(shards)) return [];
  const ids: DocumentId[] = [];
  for (const value of shards.slice(0, MAX_SHARDS)) {
    const url = plain(value);
    if (isValidAutomergeUrl(url)) ids.push(parseAutomergeUrl(url as AutomergeUrl).documentId);
  }
  return ids;
}

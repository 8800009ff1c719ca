/**
 * Bearer tokens for the relay. A token grants one catalog, read-write or read-only. Only its
 * SHA-256 is stored, so a copy of the relay database does not hand out access; the token itself
 * is shown once, when it is created.
 */
import { createHash, randomBytes } from "node:crypto";
import { isValidAutomergeUrl, parseAutomergeUrl, stringifyAutomergeUrl, type AutomergeUrl } from "@automerge/automerge-repo/slim";
import { ShelfError } from "../src/errors.js";
import type { Db } from "../src/store/db.js";
import type { TokenGrant } from "../src/protocol/admission.js";

export type { TokenGrant };

export const TOKEN_PREFIX = "shelf_";
/** shelf_ + 32 random bytes in base64url (43 characters) */
const TOKEN_SHAPE = /^shelf_[A-Za-z0-9_-]{43}$/;


export interface CatalogTokens {
  catalogUrl: string;
  tokens: number;
  readOnly: number;
}

const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");

/** The catalog URL a token is for, without heads: `automerge:<root document id>`. */
export function normalizeCatalogUrl(url: string): string {
  if (!isValidAutomergeUrl(url)) {
    throw new ShelfError("SHELF_E_USAGE", `${JSON.stringify(url)} is not a catalog URL`, "pass the URL `shelf init` printed (automerge:...); `shelf status` shows it too");
  }
  return stringifyAutomergeUrl({ documentId: parseAutomergeUrl(url).documentId });
}

export class TokenStore {
  readonly #db: Db;
  readonly #stmts;

  constructor(db: Db) {
    this.#db = db;
    this.#stmts = {
      insert: db.prepare<[string, string, number, string]>("INSERT INTO relay_tokens (token_hash, catalog_url, read_only, created_at) VALUES (?, ?, ?, ?)"),
      claimRoot: db.prepare<[string, string]>("INSERT OR IGNORE INTO relay_doc_owners (doc_id, root_id) VALUES (?, ?)"),
      byHash: db.prepare<[string], { id: number; catalog_url: string; read_only: number }>("SELECT id, catalog_url, read_only FROM relay_tokens WHERE token_hash = ?"),
      count: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM relay_tokens"),
      byCatalog: db.prepare<[], { catalog_url: string; tokens: number; read_only: number }>(
        "SELECT catalog_url, count(*) AS tokens, sum(read_only) AS read_only FROM relay_tokens GROUP BY catalog_url ORDER BY catalog_url",
      ),
    };
  }

  /** Creates a token for `catalogUrl` and returns it; this is the only time it can be seen. */
  create(catalogUrl: string, options: { readOnly?: boolean } = {}): string {
    const url = normalizeCatalogUrl(catalogUrl);
    const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
    this.#db.transaction(() => {
      this.#stmts.insert.run(hashToken(token), url, options.readOnly ? 1 : 0, new Date().toISOString());
      // The catalog's root belongs to itself: no other catalog can claim it as one of its shards.
      const rootId = parseAutomergeUrl(url as AutomergeUrl).documentId;
      this.#stmts.claimRoot.run(rootId, rootId);
    }).immediate();
    return token;
  }

  /** The grant of a token, or undefined when the relay does not know it. */
  verify(token: string): TokenGrant | undefined {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const row = this.#stmts.byHash.get(hashToken(token));
    return row ? { id: row.id, catalogUrl: row.catalog_url, readOnly: row.read_only === 1 } : undefined;
  }

  count(): number {
    return this.#stmts.count.get()!.n;
  }

  /** Every catalog some token grants, with how many tokens (and how many of them read-only). */
  catalogs(): CatalogTokens[] {
    return this.#stmts.byCatalog.all().map((r) => ({ catalogUrl: r.catalog_url, tokens: r.tokens, readOnly: r.read_only }));
  }
}

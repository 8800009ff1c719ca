/**
 * The relay's own SQLite file, `<dataDir>/relay.db`: the Automerge chunks of every catalog it
 * serves (the table the storage adapter expects), its tokens (hashed), and which catalog each
 * document it has seen in a catalog's shard list belongs to.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ShelfError } from "../src/errors.js";
import { openDb, type Db } from "../src/store/db.js";

export const RELAY_DB_FILE = "relay.db";

/**
 * One SQL script per schema version. Never edit a shipped entry: append one.
 * "IF NOT EXISTS" everywhere, so that running a script twice changes nothing.
 */
export const RELAY_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS crdt_chunks (key TEXT PRIMARY KEY, data BLOB NOT NULL);

  CREATE TABLE IF NOT EXISTS relay_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the token; the token itself is never stored
    catalog_url TEXT NOT NULL,        -- automerge:<root document id>
    read_only INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS relay_tokens_catalog ON relay_tokens (catalog_url);

  -- A document belongs to the first catalog whose root listed it (a root belongs to itself), so a
  -- writer cannot reach another catalog's documents by listing their ids in its own root.
  CREATE TABLE IF NOT EXISTS relay_doc_owners (doc_id TEXT PRIMARY KEY, root_id TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS relay_doc_owners_root ON relay_doc_owners (root_id);
  `,
  `
  -- The heads each stored document was last written at, and a sequence number that grows with
  -- every write, so that a heads summary (relay/relay-heads.ts) is answered without loading it.
  CREATE TABLE IF NOT EXISTS relay_doc_heads (doc_id TEXT PRIMARY KEY, heads TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
  -- epoch: names this data directory; heads_seq: the last sequence number given
  CREATE TABLE IF NOT EXISTS relay_meta (key TEXT PRIMARY KEY, value NOT NULL) WITHOUT ROWID;
  INSERT OR IGNORE INTO relay_meta (key, value) VALUES ('epoch', lower(hex(randomblob(8)))), ('heads_seq', 0);
  `,
];

export function openRelayDb(dataDir: string): Db {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (err) {
    throw new ShelfError("SHELF_E_IO", `cannot create the relay data directory ${dataDir}: ${(err as Error).message}`, "pass --data DIR with a directory the relay may write");
  }
  const path = join(dataDir, RELAY_DB_FILE);
  let db: Db;
  try {
    db = openDb(path, { migrations: RELAY_MIGRATIONS });
  } catch (err) {
    if (err instanceof ShelfError && err.code === "SHELF_E_DB") {
      throw new ShelfError("SHELF_E_DB", `the relay database ${path} could not be opened (${err.message})`, "check --data; if the file is damaged, restore it from a backup (clients still hold their catalogs and will push them again)");
    }
    throw err;
  }
  // A change the relay acknowledges must survive a crash of the process and of the machine:
  // every commit waits for the disk (WAL mode keeps this to one sync per commit).
  db.pragma("synchronous = FULL");
  return db;
}

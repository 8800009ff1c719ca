/**
 * Opens an instance's SQLite file: the one place that configures better-sqlite3 and migrates the
 * schema. Everything an instance knows (CRDT chunks, the materialized view, settings) is here.
 */
import Database from "better-sqlite3";
import { ShelfError } from "../errors.js";
import { SCHEMA_MIGRATIONS } from "./schema.js";
import { storageError } from "./storage-errors.js";

export type Db = Database.Database;

export interface OpenDbOptions {
  readonly?: boolean;
  /** the schema scripts, one per version (default: the instance schema) */
  migrations?: readonly string[];
}

export function openDb(path: string, options: OpenDbOptions = {}): Db {
  let db: Db;
  try {
    db = new Database(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  } catch (err) {
    throw new ShelfError("SHELF_E_DB", `cannot open the instance database ${path}: ${(err as Error).message}`, "check the path given with --home or SHELF_HOME, and its permissions");
  }
  try {
    // WAL lets readers run while a writer (a sync, the daemon) commits; a killed process leaves
    // the last committed transaction intact.
    // busy_timeout first: another process may hold the file while this one sets it up.
    db.pragma("busy_timeout = 10000");
    if (!options.readonly) db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    if (!options.readonly) migrate(db, options.migrations ?? SCHEMA_MIGRATIONS);
    return db;
  } catch (err) {
    db.close();
    const known = storageError(err);
    if (known) throw known;
    throw new ShelfError("SHELF_E_DB", `the instance database ${path} is damaged or not a shelf database: ${(err as Error).message}`, "run `shelf rebuild`; if the file itself is corrupt, restore it from a backup or `shelf join` the catalog again");
  }
}

function migrate(db: Db, migrations: readonly string[]): void {
  if ((db.pragma("user_version", { simple: true }) as number) === migrations.length) return;
  // One write transaction for the whole upgrade, reading the version again inside it: two
  // processes opening a new database at once must not both run the first script.
  db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > migrations.length) {
      throw new ShelfError("SHELF_E_DB", `this database was written by a newer shelf (schema ${current}, this shelf knows ${migrations.length})`, "upgrade shelf");
    }
    for (let version = current; version < migrations.length; version++) db.exec(migrations[version]!);
    db.pragma(`user_version = ${migrations.length}`);
  }).immediate();
}

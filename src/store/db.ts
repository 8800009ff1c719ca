/**
 * Opens an instance's SQLite file: the one place that configures better-sqlite3 and migrates the
 * schema. Everything an instance knows (CRDT chunks, the materialized view, settings) is here.
 */
import Database from "better-sqlite3";
import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ShelfError } from "../errors.js";
import { SCHEMA_MIGRATIONS } from "./schema.js";
import { storageError } from "./storage-errors.js";

export type Db = Database.Database;

/**
 * better-sqlite3 finds its native addon through the `bindings` package, which tries a dozen paths
 * and reads a stack trace to find its caller: about 10 ms of every command's start, a read's
 * included. Where the addon is built in place (npm's install), it is named directly; anywhere else
 * the search runs as before.
 */
const NATIVE_BINDING = ((): string | undefined => {
  try {
    const path = join(dirname(createRequire(import.meta.url).resolve("better-sqlite3")), "..", "build", "Release", "better_sqlite3.node");
    return statSync(path).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
})();

/** A better-sqlite3 database, its addon found as above: every database shelf opens goes through here. */
export function newDatabase(path: string | Buffer, options: Database.Options = {}): Db {
  return new Database(path, NATIVE_BINDING ? { ...options, nativeBinding: NATIVE_BINDING } : options);
}

export interface OpenDbOptions {
  readonly?: boolean;
  /** the schema scripts, one per version (default: the instance schema) */
  migrations?: readonly string[];
  /** SQLite's page cache follows the file's size (fitPageCache), for bulk work (default: better-sqlite3's 16 MB) */
  pageCacheFollowsFile?: boolean;
}

/**
 * SQLite's page cache for a command that reads or writes the whole view in one pass (import,
 * rebuild, import-bundle, join): an eighth of the file, from 1 to 4 MB. better-sqlite3 builds
 * SQLite with 16 MB per connection, which such a pass fills with pages it has done with: a
 * 50k-record import peaked about 10 MiB lower with 4 MB, which still holds the index pages one
 * transaction of eight shards comes back to (a 227k import and rebuild took 3 to 6% longer with it
 * than with 16). A smaller catalog's view needs less: at 10k records (an 8 MB file) 1 MB lowered
 * the peaks' medians by 2.5 to 4.5 MiB in the same time, and at 227k nothing changed
 * (docs/architecture.md, "SQLite's page cache, and what an import loads").
 */
const PAGE_CACHE_FILE_FRACTION = 8;
const PAGE_CACHE_MIN_KIB = 1024;
const PAGE_CACHE_MAX_KIB = 4096;
/** the cache's size is changed in steps of this much, not at every page the file grows by */
const PAGE_CACHE_STEP_KIB = 256;

/** The page cache each connection opened with pageCacheFollowsFile has now, in KiB. */
const followingCaches = new WeakMap<Db, { kib: number }>();

/**
 * Fits the page cache of a connection opened with pageCacheFollowsFile to its file as it is now
 * (a view written from empty grows as it goes); does nothing for any other connection.
 */
export function fitPageCache(db: Db): void {
  const cache = followingCaches.get(db);
  if (!cache) return;
  const fileKiB = ((db.pragma("page_count", { simple: true }) as number) * (db.pragma("page_size", { simple: true }) as number)) / 1024;
  const wanted = Math.round(fileKiB / PAGE_CACHE_FILE_FRACTION / PAGE_CACHE_STEP_KIB) * PAGE_CACHE_STEP_KIB;
  const kib = Math.min(PAGE_CACHE_MAX_KIB, Math.max(PAGE_CACHE_MIN_KIB, wanted));
  if (kib === cache.kib) return;
  db.pragma(`cache_size = -${kib}`);
  cache.kib = kib;
}

export function openDb(path: string, options: OpenDbOptions = {}): Db {
  let db: Db;
  try {
    db = newDatabase(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  } catch (err) {
    throw new ShelfError("SHELF_E_DB", `cannot open the instance database ${path}: ${(err as Error).message}`, "check the path given with --home or SHELF_HOME, and its permissions");
  }
  try {
    // WAL lets readers run while a writer (a sync, the daemon) commits; a killed process leaves
    // the last committed transaction intact.
    // busy_timeout first: another process may hold the file while this one sets it up.
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    if (!options.readonly) {
      retryWhileBusy(() => {
        db.pragma("journal_mode = WAL");
        migrate(db, options.migrations ?? SCHEMA_MIGRATIONS);
      });
    }
    if (options.pageCacheFollowsFile) {
      followingCaches.set(db, { kib: 0 });
      fitPageCache(db);
    }
    return db;
  } catch (err) {
    db.close();
    if (!options.readonly && !writable(path)) return openReadOnlyHome(path);
    const known = storageError(err);
    if (known) throw known;
    throw new ShelfError("SHELF_E_DB", `the instance database ${path} is damaged or not a shelf database: ${(err as Error).message}`, "run `shelf rebuild`; if the file itself is corrupt, restore it from a backup or `shelf join` the catalog again");
  }
}

/** Whether this process may write the database file and create files beside it (-wal, -shm). */
function writable(path: string): boolean {
  try {
    accessSync(dirname(path), constants.W_OK);
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A home on read-only media (or without write permission) can still be read: SQLite opens a WAL
 * database read-only only when it can use the -shm file, so failing that, a private in-memory
 * copy of the file is read instead (marked as a rollback-journal database, which memory supports).
 * Every write then fails with SQLITE_READONLY, reported as SHELF_E_READ_ONLY_HOME.
 */
function openReadOnlyHome(path: string): Db {
  try {
    const db = newDatabase(path, { readonly: true, fileMustExist: true });
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return configured(db);
  } catch {
    // no usable -shm: read a copy, unless a -wal holds committed changes the copy would miss
  }
  if (fileSize(path + "-wal") > 0) {
    throw new ShelfError("SHELF_E_READ_ONLY_HOME", `the shelf home ${dirname(path)} is read-only, and its last writer did not finish (${path}-wal is not empty), so it cannot be read either`, "make it writable again (remount it read-write, or restore write permission) and run the command again");
  }
  const bytes = readFileSync(path);
  // bytes 18 and 19: file format write/read version, 2 = WAL, 1 = rollback journal
  if (bytes.length > 19) bytes[18] = bytes[19] = 1;
  return configured(newDatabase(bytes, { readonly: true }));
}

function configured(db: Db): Db {
  db.pragma("foreign_keys = ON");
  return db;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

const BUSY_TIMEOUT_MS = 10_000;

/**
 * Runs `setUp` again while SQLite answers SQLITE_BUSY, up to the busy timeout in all. Processes
 * opening the same new file at once (a relay starting while tokens are created) race to switch it
 * to WAL and create its tables, and SQLite can refuse one of them at once, without waiting.
 */
function retryWhileBusy(setUp: () => void): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return setUp();
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith("SQLITE_BUSY") !== true || Date.now() >= deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
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
    // An upgrade may rebuild an index of every record (seconds at 200k records): say why we wait.
    if (current > 0 && current < migrations.length) {
      process.stderr.write(`shelf: upgrading the database schema from version ${current} to ${migrations.length}; this happens once\n`);
    }
    for (let version = current; version < migrations.length; version++) db.exec(migrations[version]!);
    db.pragma(`user_version = ${migrations.length}`);
  }).immediate();
}

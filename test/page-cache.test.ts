/**
 * A home opened for bulk work (import, rebuild, import-bundle, join) keeps a SQLite page cache
 * that follows its file: an eighth of it, from 1 to 4 MB, refitted as the file grows. Any other
 * connection keeps better-sqlite3's default.
 */
import { describe, expect, it, onTestFinished } from "vitest";
import { Instance } from "../src/instance.js";
import { fitPageCache, type Db } from "../src/store/db.js";
import { tempDir } from "./helpers/temp-home.js";

const cacheKiB = (db: Db) => -(db.pragma("cache_size", { simple: true }) as number);

/** Grows the file by `mib` MiB of blobs. */
function grow(db: Db, mib: number): void {
  db.exec("CREATE TABLE IF NOT EXISTS filler (data BLOB)");
  const insert = db.prepare("INSERT INTO filler (data) VALUES (zeroblob(1048576))");
  db.transaction(() => {
    for (let i = 0; i < mib; i++) insert.run();
  })();
}

describe("bulk work's page cache", () => {
  it("is 1 MB for a small file, follows the file as it grows, and stops at 4 MB", () => {
    const home = tempDir();
    const bulk = Instance.open(home, { create: true, bulkWork: true });
    onTestFinished(() => bulk.close());
    expect(cacheKiB(bulk.db)).toBe(1024);

    grow(bulk.db, 24);
    fitPageCache(bulk.db);
    expect(cacheKiB(bulk.db)).toBe(3072);

    grow(bulk.db, 24);
    fitPageCache(bulk.db);
    expect(cacheKiB(bulk.db)).toBe(4096);

    // opened again for bulk work, the home's file sets it at once
    const again = Instance.open(home, { bulkWork: true });
    onTestFinished(() => again.close());
    expect(cacheKiB(again.db)).toBe(4096);

    // any other connection keeps SQLite's default, and fitting leaves it alone
    const other = Instance.open(home);
    onTestFinished(() => other.close());
    const defaultKiB = cacheKiB(other.db);
    fitPageCache(other.db);
    expect(cacheKiB(other.db)).toBe(defaultKiB);
    expect(defaultKiB).toBeGreaterThan(4096);
  });
});

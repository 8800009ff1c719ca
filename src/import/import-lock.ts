/**
 * One import at a time per home. Two imports run together would each compare their source with a
 * view the other is still changing; the second waits for the first instead, and says so.
 *
 * The lock is a write transaction held on a small SQLite file of its own (<home>/import.lock): the
 * operating system releases it when its process ends, however it ends, so a killed import never
 * leaves a stale lock behind. Waiting polls without blocking, so a daemon keeps syncing meanwhile.
 */
import { newDatabase, type Db } from "../store/db.js";
import { accessSync, constants, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ShelfError } from "../errors.js";
import { storageError } from "../store/storage-errors.js";

export const IMPORT_LOCK_FILE = "import.lock";
const POLL_MS = 200;

/** Runs `fn` holding the home's import lock; `onWait` hears once that another import holds it. */
export async function withImportLock<T>(home: string, what: string, onWait: (message: string) => void, fn: () => Promise<T>): Promise<T> {
  const lock = openLock(home);
  try {
    let waiting = false;
    while (!tryAcquire(lock)) {
      if (!waiting) onWait(`another import is running on this home (${holder(home)}); waiting for it to finish`);
      waiting = true;
      await sleep(POLL_MS);
    }
    if (waiting) onWait("the other import finished; this one starts now");
    describeHolder(home, what);
    return await fn();
  } finally {
    if (lock.inTransaction) lock.exec("ROLLBACK");
    lock.close();
  }
}

function openLock(home: string): Db {
  try {
    const lock = newDatabase(join(home, IMPORT_LOCK_FILE));
    lock.pragma("busy_timeout = 0");
    return lock;
  } catch (err) {
    if (!canWrite(home)) throw new ShelfError("SHELF_E_READ_ONLY_HOME", `the shelf home ${home} is read-only: an import cannot run`, "remount it read-write, or give this user write access to it; read commands still answer meanwhile");
    throw storageError(err, home) ?? err;
  }
}

function tryAcquire(lock: Db): boolean {
  try {
    lock.exec("BEGIN IMMEDIATE");
    return true;
  } catch (err) {
    if (String((err as { code?: unknown }).code ?? "").startsWith("SQLITE_BUSY")) return false;
    throw err;
  }
}

// Who holds the lock, for the waiting message only: written once acquired, never trusted.
const holderFile = (home: string) => join(home, `${IMPORT_LOCK_FILE}.holder`);

function describeHolder(home: string, what: string): void {
  try {
    writeFileSync(holderFile(home), `pid ${process.pid}: ${what}, since ${new Date().toISOString()}`);
  } catch {
    // the message just says less
  }
}

function holder(home: string): string {
  try {
    return readFileSync(holderFile(home), "utf8").slice(0, 300);
  } catch {
    return "started by another process";
  }
}

function canWrite(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

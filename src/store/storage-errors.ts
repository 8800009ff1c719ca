/**
 * What the disk and SQLite report (full, read-only, held by another process, damaged), as errors a
 * person can act on. SQLite names the cause by code: SQLITE_FULL for a full disk, but a quota
 * (EDQUOT) or a file size limit (EFBIG) reach it as SQLITE_IOERR_WRITE, so both are "cannot write".
 */
import { ShelfError } from "../errors.js";

const DISK_FULL_CODES = new Set(["SQLITE_FULL", "SQLITE_IOERR_WRITE", "SQLITE_IOERR_FSYNC", "SQLITE_IOERR_TRUNCATE", "SQLITE_IOERR_SHMSIZE", "ENOSPC", "EDQUOT", "EFBIG"]);

/** The ShelfError for a storage failure, or undefined when `err` is not one. */
export function storageError(err: unknown, home?: string): ShelfError | undefined {
  if (err instanceof ShelfError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  const where = home ? ` ${home}` : "";
  const cause = (err as Error).message;
  if (DISK_FULL_CODES.has(code)) {
    return new ShelfError(
      "SHELF_E_DISK_FULL",
      `cannot write to the shelf home${where}: the disk is full, or a quota or file size limit was reached (${cause})`,
      "free space on that disk (or raise the quota), then run the command again: it was not carried out, and nothing written before is lost; read commands still answer meanwhile",
    );
  }
  if (code.startsWith("SQLITE_READONLY") || code === "EROFS") {
    return new ShelfError(
      "SHELF_E_READ_ONLY_HOME",
      `the shelf home${where} is read-only (${cause})`,
      "remount it read-write, or give this user write access to the directory and to shelf.db, shelf.db-wal and shelf.db-shm; read commands still answer meanwhile",
    );
  }
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) {
    return new ShelfError(
      "SHELF_E_HOME_BUSY",
      `another shelf process held the database of the home${where} for too long (${cause})`,
      "run the command again once the long work (an import, a rebuild) is done",
    );
  }
  if (code.startsWith("SQLITE_CORRUPT") || code === "SQLITE_NOTADB") {
    return damagedDatabase(cause, home);
  }
  // A view table dropped or renamed by hand: the view is rebuilt from the CRDT.
  if (code === "SQLITE_ERROR" && /no such (table|column)/.test(cause)) {
    return new ShelfError("SHELF_E_DB", `the view in the database of the shelf home${where} is damaged (${cause})`, "run `shelf rebuild` to recreate the view from the CRDT (and `shelf doctor` to check the home)");
  }
  return undefined;
}

/** The database file is damaged: how to find out what, and the ways back. */
export function damagedDatabase(cause: string, home?: string): ShelfError {
  return new ShelfError(
    "SHELF_E_DB",
    `the database of the shelf home${home ? ` ${home}` : ""} is damaged (${cause})`,
    "run `shelf doctor` to see what is damaged; `shelf rebuild` recreates the view from the CRDT. If the CRDT itself cannot be read, move shelf.db aside and take the catalog back from a peer or relay (`shelf join URL --relay WS_URL`) or from a bundle (`shelf import-bundle FILE`)",
  );
}

/** Whether a read may answer from the view as it is when bringing it up to date failed this way. */
export function isWriteBlocked(err: ShelfError): boolean {
  return err.code === "SHELF_E_DISK_FULL" || err.code === "SHELF_E_READ_ONLY_HOME" || err.code === "SHELF_E_HOME_BUSY";
}

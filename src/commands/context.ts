/**
 * What every command starts from: the instance (from --home), the catalog (from --catalog), and
 * for writes the catalog's CRDT store. Any document the view has not caught up with (after a
 * crash, or changes saved by another process) is materialized before the command runs.
 *
 * The CRDT store (and with it Automerge) is loaded only when needed: always for a write, and for a
 * read only when the view has documents to catch up with. A read on an up-to-date view is SQLite
 * alone.
 */
import type { CatalogStore } from "../catalog/catalog-store.js";
import { Instance, resolveHome, type CatalogRow } from "../instance.js";
import { isWriteBlocked, storageError } from "../store/storage-errors.js";

export interface GlobalOptions {
  home?: string;
  catalog?: string;
  /** where a warning for people goes (the CLI: stderr) */
  warn?: (message: string) => void;
}

export interface ReadContext {
  instance: Instance;
  catalog: CatalogRow;
}

export interface WriteContext extends ReadContext {
  store: CatalogStore;
}

/**
 * Runs `fn` on an existing instance's catalog for reading, and closes the instance. When the view
 * cannot be brought up to date because the home cannot be written (full disk, read-only, busy),
 * the read answers from the view as it is, with a warning: it may lack the latest edits.
 */
export async function withCatalog<T>(options: GlobalOptions, fn: (ctx: ReadContext) => T | Promise<T>): Promise<T> {
  const home = resolveHome(options.home);
  return named(home, async () => {
    const instance = Instance.open(home);
    try {
      const catalog = instance.catalog(options.catalog);
      if (instance.hasDirtyDocuments(catalog)) await catchUpForRead(instance, catalog, options);
      return await fn({ instance, catalog });
    } finally {
      // A read wrote nothing of its own: a failing close (a copy's leftover save on a full disk)
      // must not turn an answered read into a failure.
      await closeInstance(instance).catch(() => {});
    }
  });
}

async function catchUpForRead(instance: Instance, catalog: CatalogRow, options: GlobalOptions): Promise<void> {
  try {
    await (await openStore(instance, catalog)).catchUp();
  } catch (err) {
    const known = storageError(err, instance.home);
    if (!known || !isWriteBlocked(known)) throw err;
    // Nothing was lost: the edits are in the CRDT, and a later command adds them to the view.
    await instance.recycleRepo().catch(() => {});
    (options.warn ?? warnOnStderr)(`the view may be behind the latest edits, which are stored but could not be added to it: ${known.message}`);
  }
}

/**
 * Runs `fn` with the catalog's CRDT store open for writing, and flushes and closes after.
 * `bulkWork`: `fn` writes the whole view in one pass (see Instance.open).
 */
export async function withStore<T>(options: GlobalOptions, fn: (ctx: WriteContext) => Promise<T>, { bulkWork = false } = {}): Promise<T> {
  const home = resolveHome(options.home);
  return named(home, async () => {
    const instance = Instance.open(home, { bulkWork });
    try {
      const catalog = instance.catalog(options.catalog);
      const store = await openStore(instance, catalog);
      if (instance.hasDirtyDocuments(catalog)) await store.catchUp();
      return await fn({ instance, catalog, store });
    } finally {
      await closeInstance(instance);
    }
  });
}

/** Runs `fn`, turning a storage failure (full disk, read-only home, damage) into its ShelfError. */
export async function named<T>(home: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storageError(err, home) ?? err;
  }
}

const warnOnStderr = (message: string) => process.stderr.write(`shelf: warning: ${message}\n`);

async function openStore(instance: Instance, catalog: CatalogRow): Promise<CatalogStore> {
  const { CatalogStore } = await import("../catalog/catalog-store.js");
  return CatalogStore.open(instance, catalog);
}

/**
 * Closes a command's instance (flushing every document), then tells the daemons running on its
 * home which documents this command saved, so they take the edit at once (see home-signal.ts).
 */
export async function closeInstance(instance: Instance): Promise<void> {
  await instance.close();
  if (instance.savedDocuments.size === 0) return;
  // Loaded only by commands that saved something: it brings node:net and node:crypto.
  const { notifyLocalEdit } = await import("../sync/home-signal.js");
  await notifyLocalEdit(instance.home, instance.savedDocuments);
}


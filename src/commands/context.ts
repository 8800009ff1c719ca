/**
 * What every command starts from: the instance (from --home), the catalog (from --catalog), and
 * for writes the catalog's CRDT store. Any document the view has not caught up with (after a
 * crash, or changes saved by another process) is materialized before the command runs.
 */
import { CatalogStore } from "../catalog/catalog-store.js";
import { Instance, resolveHome, type CatalogRow } from "../instance.js";
import { notifyLocalEdit } from "../sync/home-signal.js";

export interface GlobalOptions {
  home?: string;
  catalog?: string;
}

export interface ReadContext {
  instance: Instance;
  catalog: CatalogRow;
}

export interface WriteContext extends ReadContext {
  store: CatalogStore;
}

/** Runs `fn` on an existing instance's catalog for reading, and closes the instance. */
export async function withCatalog<T>(options: GlobalOptions, fn: (ctx: ReadContext) => T | Promise<T>): Promise<T> {
  const instance = Instance.open(resolveHome(options.home));
  try {
    const catalog = instance.catalog(options.catalog);
    if (hasDirtyDocuments(instance)) await (await CatalogStore.open(instance, catalog)).catchUp();
    return await fn({ instance, catalog });
  } finally {
    await closeInstance(instance);
  }
}

/** Runs `fn` with the catalog's CRDT store open for writing, and flushes and closes after. */
export async function withStore<T>(options: GlobalOptions, fn: (ctx: WriteContext) => Promise<T>): Promise<T> {
  const instance = Instance.open(resolveHome(options.home));
  try {
    const catalog = instance.catalog(options.catalog);
    const store = await CatalogStore.open(instance, catalog);
    if (hasDirtyDocuments(instance)) await store.catchUp();
    return await fn({ instance, catalog, store });
  } finally {
    await closeInstance(instance);
  }
}

/**
 * Closes a command's instance (flushing every document), then tells the daemons running on its
 * home which documents this command saved, so they take the edit at once (see home-signal.ts).
 */
export async function closeInstance(instance: Instance): Promise<void> {
  await instance.close();
  if (instance.savedDocuments.size > 0) await notifyLocalEdit(instance.home, instance.savedDocuments);
}

function hasDirtyDocuments(instance: Instance): boolean {
  return instance.db.prepare("SELECT 1 FROM crdt_dirty LIMIT 1").get() !== undefined;
}

/** Catalog-wide commands: init and rebuild. */
import { CatalogStore } from "../catalog/catalog-store.js";
import { Instance, resolveHome } from "../instance.js";
import { countRecords, type CatalogCounts } from "../view/queries.js";
import type { Progress } from "../catalog/catalog-store.js";
import { closeInstance, named, type GlobalOptions } from "./context.js";

export interface InitResult {
  name: string;
  url: string;
  home: string;
  default: boolean;
}

export async function init(options: GlobalOptions & { name?: string; shards?: number }): Promise<InitResult> {
  const instance = Instance.open(resolveHome(options.home), { create: true });
  try {
    const store = await CatalogStore.create(instance, options.name ?? "main", options.shards);
    return { name: store.catalog.name, url: store.catalog.url, home: instance.home, default: store.catalog.isDefault };
  } finally {
    await instance.close();
  }
}

/**
 * Recreates the view from the CRDT: the chosen catalog first (with progress), then every other
 * catalog of the instance, since the view's tables are shared. Nothing is read from the view
 * before it is recreated, so a damaged view is no obstacle.
 */
export async function rebuild(options: GlobalOptions, onProgress?: Progress): Promise<CatalogCounts & { catalog: string; ms: number }> {
  const home = resolveHome(options.home);
  return named(home, async () => {
    const instance = Instance.open(home, { bulkWork: true });
    try {
      const catalog = instance.catalog(options.catalog);
      const started = performance.now();
      await (await CatalogStore.open(instance, catalog)).rebuild(onProgress);
      for (const other of instance.catalogs()) if (other.catId !== catalog.catId) await (await CatalogStore.open(instance, other)).catchUp();
      return { catalog: catalog.name, ms: Math.round(performance.now() - started), ...countRecords(instance.db, catalog.catId) };
    } finally {
      await closeInstance(instance);
    }
  });
}

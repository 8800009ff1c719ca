/** Catalog-wide commands: init and rebuild. */
import { CatalogStore } from "../catalog/catalog-store.js";
import { Instance, resolveHome } from "../instance.js";
import { countRecords, type CatalogCounts } from "../view/queries.js";
import type { Progress } from "../catalog/catalog-store.js";
import { withStore, type GlobalOptions } from "./context.js";

export interface InitResult {
  name: string;
  url: string;
  home: string;
  default: boolean;
}

export async function init(options: GlobalOptions & { name?: string }): Promise<InitResult> {
  const instance = Instance.open(resolveHome(options.home), { create: true });
  try {
    const store = await CatalogStore.create(instance, options.name ?? "main");
    return { name: store.catalog.name, url: store.catalog.url, home: instance.home, default: store.catalog.isDefault };
  } finally {
    await instance.close();
  }
}

export async function rebuild(options: GlobalOptions, onProgress?: Progress): Promise<CatalogCounts & { catalog: string; ms: number }> {
  return withStore(options, async ({ instance, catalog, store }) => {
    const started = performance.now();
    await store.rebuild(onProgress);
    return { catalog: catalog.name, ms: Math.round(performance.now() - started), ...countRecords(instance.db, catalog.catId) };
  });
}

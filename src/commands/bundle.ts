/**
 * import-bundle: takes a catalog from a bundle file (`shelf export`: export.ts), with no network.
 * It checks the whole file first, then merges and materializes document by document, one at a
 * time (src/bundle/).
 */
import * as A from "@automerge/automerge";
import { BundleFile } from "../bundle/bundle-file.js";
import type { Progress } from "../bundle/bundle-format.js";
import { BundleMerge, heldAsIs } from "../bundle/bundle-merge.js";
import { Instance, resolveHome } from "../instance.js";
import { documentIdOf, type RootDoc } from "../model/catalog-doc.js";
import { plain } from "../model/crdt-record.js";
import { notifyLocalEdit } from "../sync/home-signal.js";
import { countRecords } from "../view/queries.js";
import { closeInstance, named, type GlobalOptions } from "./context.js";

export interface ImportBundleResult {
  file: string;
  catalog: string;
  url: string;
  newCatalog: boolean;
  documentsChanged: number;
  recordsChanged: number;
  records: number;
}

/**
 * Merges a bundle into this instance: into the catalog of the same URL if held here (both sides'
 * edits survive, as with any sync), or as a new catalog otherwise. The whole bundle is checked
 * before anything is written. An import cut short (a crash, a full disk) keeps the documents it
 * merged; running it again merges the rest.
 */
export async function importBundle(file: string, options: GlobalOptions & { name?: string }, onProgress?: Progress): Promise<ImportBundleResult> {
  const bundle = BundleFile.open(file);
  try {
    const home = resolveHome(options.home);
    return await named(home, async () => {
      // A home made only once the bundle has passed its checks.
      let instance = Instance.exists(home) ? Instance.open(home, { bulkWork: true }) : undefined;
      let merged: { result: ImportBundleResult; saved: ReadonlySet<string> };
      try {
        const heads = bundle.verify(undefined, instance ? heldAsIs(instance, bundle.entries) : undefined);
        const shardUrls = shardUrlsOf(bundle);
        instance ??= Instance.open(home, { create: true, bulkWork: true });
        merged = await mergeBundle(instance, bundle, { heads, shardUrls, name: options.name }, onProgress);
      } finally {
        if (instance) await closeInstance(instance);
      }
      // Daemons running on this home take the merged documents at once.
      if (merged.saved.size > 0) await notifyLocalEdit(home, merged.saved);
      return merged.result;
    });
  } finally {
    bundle.close();
  }
}

interface CheckedBundle {
  heads: Map<string, A.Heads>;
  shardUrls: string[];
  name?: string;
}

async function mergeBundle(instance: Instance, bundle: BundleFile, checked: CheckedBundle, onProgress?: Progress) {
  const { url, name } = bundle.header.catalog;
  let catalog = instance.catalogs().find((c) => c.url === url);
  const newCatalog = catalog === undefined;
  // A taken name is refused here, before any document is stored.
  catalog ??= instance.addCatalog({ url, name: checked.name ?? name, shardUrls: checked.shardUrls });
  const merge = new BundleMerge(instance, catalog);
  // (documents held as they are here have no heads: nothing to merge)
  const entries = bundle.entries.filter((e) => merge.holds(e.documentId) && checked.heads.has(e.documentId));
  let documentsChanged = 0;
  let recordsChanged = 0;
  for (const [i, entry] of entries.entries()) {
    const outcome = merge.merge(entry.documentId, bundle.read(entry), checked.heads.get(entry.documentId)!);
    if (outcome.changed) documentsChanged++;
    recordsChanged += outcome.records;
    onProgress?.(i + 1, entries.length);
  }
  // Documents that other processes changed and the view has not caught up with yet.
  if (instance.hasDirtyDocuments(catalog)) {
    const { CatalogStore } = await import("../catalog/catalog-store.js");
    recordsChanged += (await (await CatalogStore.open(instance, catalog)).catchUp()).records;
  }
  const records = countRecords(instance.db, catalog.catId).records;
  const result: ImportBundleResult = { file: bundle.path, catalog: catalog.name, url: catalog.url, newCatalog, documentsChanged, recordsChanged, records };
  return { result, saved: merge.saved };
}

/** The shard URLs the bundle's root document names; every one must be in the bundle. */
function shardUrlsOf(bundle: BundleFile): string[] {
  const rootId = documentIdOf(bundle.header.catalog.url);
  const rootEntry = bundle.entries.find((e) => e.documentId === rootId);
  if (!rootEntry) throw bundle.bad("it does not contain the catalog's root document");
  const root = A.load<RootDoc>(bundle.read(rootEntry));
  try {
    if (root.shelf !== "catalog" || !Array.isArray(root.shards)) throw bundle.bad("its root document is not a shelf catalog");
    const urls = root.shards.map((url) => `automerge:${documentIdOf(plain(url))}`);
    const present = new Set(bundle.entries.map((e) => e.documentId));
    const missing = urls.filter((url) => !present.has(documentIdOf(url)));
    if (missing.length > 0) throw bundle.bad(`it lacks ${missing.length} of the catalog's ${urls.length} shard documents`);
    return urls;
  } finally {
    A.free(root);
  }
}

/** export / import-bundle: carry a catalog between instances as one file, with no network. */
import * as A from "@automerge/automerge";
import type { DocumentId } from "@automerge/automerge-repo";
import { CatalogStore, documentIdOf, SHARDS_IN_MEMORY, type Progress } from "../catalog/catalog-store.js";
import { readBundle, writeBundle, type Bundle } from "../bundle/bundle-file.js";
import { ShelfError } from "../errors.js";
import { Instance, resolveHome } from "../instance.js";
import type { RootDoc } from "../model/catalog-doc.js";
import { plain } from "../model/crdt-record.js";
import { countRecords } from "../view/queries.js";
import { closeInstance, withStore, type GlobalOptions } from "./context.js";

export interface ExportResult {
  file: string;
  catalog: string;
  documents: number;
  bytes: number;
}

export async function exportBundle(file: string, options: GlobalOptions, onProgress?: Progress): Promise<ExportResult> {
  return withStore(options, async ({ instance, catalog, store }) => {
    const documents = await store.exportDocuments(onProgress);
    const bytes = writeBundle(file, { url: catalog.url, name: catalog.name }, instance.id, documents);
    return { file, catalog: catalog.name, documents: documents.length, bytes };
  });
}

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
 * edits survive, as with any sync), or as a new catalog otherwise. The whole bundle is verified
 * before anything is written.
 */
export async function importBundle(file: string, options: GlobalOptions & { name?: string }, onProgress?: Progress): Promise<ImportBundleResult> {
  const bundle = readBundle(file);
  const shardIds = shardDocumentIds(bundle, file);
  const instance = Instance.open(resolveHome(options.home), { create: true });
  try {
    let catalog = instance.catalogs().find((c) => c.url === bundle.header.catalog.url);
    const newCatalog = catalog === undefined;
    let documentsChanged = 0;
    if (!catalog) {
      const name = options.name ?? bundle.header.catalog.name;
      // Checked before any document is stored, so a refused import leaves nothing behind.
      instance.assertCatalogNameFree(name);
      for (const [i, doc] of bundle.documents.entries()) {
        (await instance.repo()).import(doc.data, { docId: doc.documentId as DocumentId });
        await keepMemoryBounded(instance, i);
      }
      await instance.recycleRepo();
      catalog = instance.addCatalog({ url: bundle.header.catalog.url, name, shardUrls: shardIds.map((id) => `automerge:${id}`) });
      documentsChanged = bundle.documents.length;
    } else {
      const store = await CatalogStore.open(instance, catalog);
      const known = new Set([catalog.url, ...catalog.shardUrls].map(documentIdOf));
      for (const [i, doc] of bundle.documents.entries()) {
        if (known.has(doc.documentId as DocumentId) && (await store.mergeDocument(doc.documentId as DocumentId, doc.data))) documentsChanged++;
        await keepMemoryBounded(instance, i);
      }
      await instance.recycleRepo();
    }
    const store = await CatalogStore.open(instance, catalog);
    const { records: recordsChanged } = await store.catchUp(onProgress);
    return { file, catalog: catalog.name, url: catalog.url, newCatalog, documentsChanged, recordsChanged, records: countRecords(instance.db, catalog.catId).records };
  } finally {
    await closeInstance(instance);
  }
}

/** A large bundle is taken in batches of documents: each batch is written out and let go. */
async function keepMemoryBounded(instance: Instance, index: number): Promise<void> {
  if ((index + 1) % SHARDS_IN_MEMORY === 0) await instance.recycleRepo();
}

/** The shard document ids the bundle's root document names; every one must be in the bundle. */
function shardDocumentIds(bundle: Bundle, file: string): string[] {
  const bad = (why: string) => new ShelfError("SHELF_E_BAD_INPUT_FILE", `${file} is not a usable shelf bundle: ${why}`, "make the bundle again with `shelf export FILE`");
  const rootId = documentIdOf(bundle.header.catalog.url);
  const root = bundle.documents.find((d) => d.documentId === rootId);
  if (!root) throw bad("it does not contain the catalog's root document");
  const rootDoc = A.load<RootDoc>(root.data);
  if (rootDoc.shelf !== "catalog" || !Array.isArray(rootDoc.shards)) throw bad("its root document is not a shelf catalog");
  const present = new Set(bundle.documents.map((d) => d.documentId));
  const ids = rootDoc.shards.map((url) => documentIdOf(plain(url)));
  const missing = ids.filter((id) => !present.has(id));
  if (missing.length > 0) throw bad(`it lacks ${missing.length} of the catalog's ${ids.length} shard documents`);
  return ids;
}

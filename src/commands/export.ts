/**
 * export: writes a catalog to a bundle file (src/bundle/bundle-format.ts), to carry it to another
 * instance with no network. It copies each document's stored chunks into the file, one document at
 * a time, and never loads Automerge.
 */
import type { Progress } from "../bundle/bundle-format.js";
import { writeBundle } from "../bundle/write-bundle.js";
import { ShelfError } from "../errors.js";
import type { CatalogRow } from "../instance.js";
import { documentIdsOf } from "../model/catalog-doc.js";
import { createCrdtStorage } from "../store/crdt-storage.js";
import type { SqliteStorageAdapter } from "../store/sqlite-storage-adapter.js";
import { withCatalog, type GlobalOptions } from "./context.js";

export interface ExportResult {
  file: string;
  catalog: string;
  documents: number;
  bytes: number;
}

export async function exportBundle(file: string, options: GlobalOptions, onProgress?: Progress): Promise<ExportResult> {
  return withCatalog(options, ({ instance, catalog }) => {
    const storage = createCrdtStorage(instance.db);
    const documentIds = documentIdsOf(catalog);
    // One read transaction: every document is read from the same snapshot,
    // while other processes go on writing.
    const bytes = instance.db.transaction(() => {
      for (const documentId of documentIds) assertStored(storage, documentId, catalog);
      const documents = documentIds.map((documentId) => ({ documentId, parts: () => storage.documentChunks(documentId) }));
      return writeBundle(file, { url: catalog.url, name: catalog.name }, instance.id, documents, onProgress);
    }).deferred();
    return { file, catalog: catalog.name, documents: documentIds.length, bytes };
  });
}

function assertStored(storage: SqliteStorageAdapter, documentId: string, catalog: CatalogRow): void {
  if (!storage.holdsAny(documentId)) {
    throw new ShelfError(
      "SHELF_E_DOC_UNAVAILABLE",
      `document automerge:${documentId} of catalog ${catalog.name} is not in local storage`,
      "import a bundle of this catalog (`shelf import-bundle FILE`) or join it again",
    );
  }
}

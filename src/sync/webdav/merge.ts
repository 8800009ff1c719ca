/**
 * Merging verified file contents into the instance's CRDT store, document by document: every chunk
 * for one document (from any number of files) is applied in one update, so changes that depend on
 * each other across files fall into place; then each file is checked to be fully applied (its
 * heads are now in the document). Changes whose dependencies are missing stay out, and their file
 * is not counted as merged.
 */
import * as A from "@automerge/automerge";
import type { AutomergeUrl, DocHandle, DocumentId } from "@automerge/automerge-repo";
import { SHARDS_IN_MEMORY } from "../../catalog/catalog-store.js";
import type { Instance } from "../../instance.js";
import type { FileDocument } from "./snapshot-file.js";

export interface FileContent {
  name: string;
  documents: FileDocument[];
}

export interface MergeOutcome {
  /** files whose every document is now in the store */
  applied: Set<string>;
  /** every document touched, with its heads after the merge */
  heads: Map<string, string[]>;
}

/** Whether any chunk of the document is stored (the document exists on this instance). */
export function isStored(instance: Instance, documentId: string): boolean {
  // Storage keys start with the URI-encoded document id and a slash (sqlite-storage-adapter.ts).
  const prefix = `${encodeURIComponent(documentId)}/`;
  return instance.db.prepare("SELECT 1 FROM crdt_chunks WHERE key >= ? AND key < ? LIMIT 1").get(prefix, prefix + "\uffff") !== undefined;
}

/**
 * Merges `files` (in order) into the store; `accept` decides which documents may be written at all.
 * Leaves the store flushed and recycled.
 */
export async function mergeFiles(instance: Instance, files: FileContent[], accept: (documentId: string) => boolean, onProgress?: (done: number, total: number) => void): Promise<MergeOutcome> {
  const byDoc = new Map<string, { file: string; data: Uint8Array; heads: string[] }[]>();
  for (const file of files) {
    for (const d of file.documents) {
      if (!accept(d.documentId)) continue;
      let list = byDoc.get(d.documentId);
      if (!list) byDoc.set(d.documentId, (list = []));
      list.push({ file: file.name, data: d.data, heads: d.heads });
    }
  }
  const incomplete = new Set<string>();
  const heads = new Map<string, string[]>();
  let done = 0;
  for (const [documentId, chunks] of byDoc) {
    const doc = await mergeDocument(instance, documentId, chunks.map((c) => c.data));
    for (const chunk of chunks) if (!A.hasHeads(doc, chunk.heads)) incomplete.add(chunk.file);
    heads.set(documentId, A.getHeads(doc));
    if (++done % SHARDS_IN_MEMORY === 0) await instance.recycleRepo();
    onProgress?.(done, byDoc.size);
  }
  await instance.recycleRepo();
  // Files holding only documents that were not accepted count as applied: nothing of theirs is wanted.
  return { applied: new Set(files.map((f) => f.name).filter((name) => !incomplete.has(name))), heads };
}

async function mergeDocument(instance: Instance, documentId: string, chunks: Uint8Array[]): Promise<A.Doc<unknown>> {
  const repo = await instance.repo();
  const url = `automerge:${documentId}` as AutomergeUrl;
  let handle = repo.handles[documentId as DocumentId] as DocHandle<unknown> | undefined;
  if (!handle?.isReady() && isStored(instance, documentId)) handle = await repo.find<unknown>(url, { allowableStates: ["ready", "unavailable"] }).catch(() => undefined);
  if (handle?.isReady()) {
    handle.update((doc) => chunks.reduce((merged, data) => A.loadIncremental(merged, data), doc));
    return handle.doc() as A.Doc<unknown>;
  }
  // New here: built in memory, and stored only once it holds something (changes that wait for
  // missing dependencies have no heads yet).
  const doc = chunks.reduce((merged, data) => A.loadIncremental(merged, data), A.init<unknown>());
  if (A.getHeads(doc).length > 0) repo.import<unknown>(A.save(doc), { docId: documentId as DocumentId });
  return doc;
}

/**
 * Loads a document of the store for reading (for uploads and snapshots). The bundled CLI's store
 * loads documents lean (scripts/bundle-cli.mjs): read one whole with A.toJS, not its object.
 */
export async function loadDocument(instance: Instance, documentId: string): Promise<A.Doc<unknown>> {
  const repo = await instance.repo();
  const handle = await repo.find<unknown>(`automerge:${documentId}` as AutomergeUrl);
  return handle.doc() as A.Doc<unknown>;
}

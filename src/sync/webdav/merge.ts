/**
 * Merging verified file contents into the instance's stored documents, document by document:
 * every chunk for one document (from any number of files) is applied in one update, so changes
 * that depend on each other across files fall into place; then each file is checked to be fully
 * applied (its heads are now in the document). Changes whose dependencies are missing stay out,
 * and their file is not counted as merged.
 */
import * as A from "@automerge/automerge";
import type { Instance } from "../../instance.js";
import { coreOf } from "../../model/shard-core.js";
import type { StoredDocuments } from "../../store/stored-documents.js";
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
 * Merges `files` (in order) into storage; `accept` decides which documents may be written at all.
 * One document at a time, read lean from its stored chunks, given the files' chunks, stored and
 * freed, each under the write lock (so chunks another process stores meanwhile are in what is
 * written), without the CRDT store. Stored documents are marked for the view to catch up.
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
  // what the store holds is stored before anything is merged beside it
  await instance.recycleRepo();
  const documents = await instance.storedDocuments();
  const incomplete = new Set<string>();
  const heads = new Map<string, string[]>();
  let done = 0;
  for (const [documentId, chunks] of byDoc) {
    const merged = instance.db.transaction(() => mergeDocument(documents, documentId, chunks)).immediate();
    for (const file of merged.incompleteFiles) incomplete.add(file);
    heads.set(documentId, merged.heads);
    onProgress?.(++done, byDoc.size);
  }
  // Files holding only documents that were not accepted count as applied: nothing of theirs is wanted.
  return { applied: new Set(files.map((f) => f.name).filter((name) => !incomplete.has(name))), heads };
}

/**
 * Applies a document's chunks from files to what is stored for it, and stores the result. A
 * document new here is stored only once it holds something: changes that wait for missing
 * dependencies have no heads yet, and a file whose heads are not all in the document now is not
 * fully applied.
 */
function mergeDocument(documents: StoredDocuments, documentId: string, chunks: { file: string; data: Uint8Array; heads: string[] }[]): { heads: A.Heads; incompleteFiles: string[] } {
  const stored = documents.load(documentId) ?? documents.empty();
  try {
    const before = A.getHeads(stored.doc);
    const core = coreOf(stored.doc);
    for (const chunk of chunks) core.loadIncremental(chunk.data);
    documents.save(documentId, stored, before);
    return { heads: A.getHeads(stored.doc), incompleteFiles: chunks.filter((chunk) => !A.hasHeads(stored.doc, chunk.heads)).map((chunk) => chunk.file) };
  } finally {
    documents.free(stored);
  }
}

/**
 * Reads stored documents one at a time (for uploads, snapshots and a root's lineage and shards):
 * each is loaded lean from its chunks (read it through Automerge's functions, or whole with
 * A.toJS, never through its object), given to `read`, and freed. Without the CRDT store, nothing
 * waits for a store's timers before freeing: recycling the store every 32 documents, as reads
 * through it did, cost a sync 120 ms each time. A document with nothing stored is skipped.
 */
export async function readStored<T>(instance: Instance, documentIds: readonly string[], read: (documentId: string, doc: A.Doc<unknown>) => T | undefined): Promise<T[]> {
  // what the store holds is stored before it is read from storage
  await instance.recycleRepo();
  const documents = await instance.storedDocuments();
  const results: T[] = [];
  for (const documentId of documentIds) {
    // one read transaction: a compaction by another process cannot fall between its chunks
    const stored = instance.db.transaction(() => documents.load(documentId))();
    if (!stored) continue;
    try {
      const result = read(documentId, stored.doc);
      if (result !== undefined) results.push(result);
    } finally {
      documents.free(stored);
    }
  }
  return results;
}

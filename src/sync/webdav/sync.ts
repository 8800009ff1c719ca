/**
 * One sync of a catalog with a WebDAV folder (layout: docs/webdav-layout.md):
 *
 * 1. list the folder (one PROPFIND Depth: 1);
 * 2. download the files this instance has not merged yet, verify each, merge them (changes files
 *    first, then snapshots, of which often only the header is read);
 * 3. materialize;
 * 4. upload one changes file with what the folder does not hold yet (nothing if nothing changed);
 * 5. compact this instance's own files into one snapshot past a threshold (or when asked).
 *
 * With nothing new on either side that is one request. Bad files are skipped and reported by name,
 * never merged, and never stop the rest of the sync.
 */
import * as A from "@automerge/automerge";
import { CatalogStore, documentIdOf, type Progress } from "../../catalog/catalog-store.js";
import { ShelfError } from "../../errors.js";
import type { CatalogRow, Instance } from "../../instance.js";
import { documentIdsOf, type RootDoc } from "../../model/catalog-doc.js";
import { plain } from "../../model/crdt-record.js";
import { sameHeads } from "../../view/materializer.js";
import type { Remote } from "../remotes.js";
import { syncReport, type SyncReport } from "../sync-report.js";
import { DavClient, type DavStats, type RetryPolicy } from "./client.js";
import { credentialsFor } from "./credentials.js";
import { catalogFolder, mergeOrder, parseName, tempName, TEMP_PREFIX, writerOf, SHELF_SUFFIX, type FileName } from "./layout.js";
import { isStored, mergeFiles, readStored, type FileContent } from "./merge.js";
import { isDerivedRootId, shardIdFor, shardIndexIn } from "../../model/catalog-ids.js";
import { genesisInChunk, genesisOf, RootLineage } from "../../model/root-lineage.js";
import type { DavEntry } from "./multistatus.js";
import { webdavBaseUrl } from "./remote-url.js";
import { BadFile, encodeFile, HEADER_PROBE_BYTES, readHeader, verifyFile, type FileDocument, type FileHeader } from "./snapshot-file.js";
import { FolderState, type KnownFile } from "./state.js";

/** Own files past which a sync compacts them into one snapshot (SHELF_WEBDAV_COMPACT_AFTER; 0 = never). */
export const DEFAULT_COMPACT_AFTER = 20;

export interface WebdavSyncOptions {
  timeoutMs: number;
  onProgress?: Progress;
  /** compact this instance's files into a snapshot whatever their number */
  compact?: boolean;
  /** own files past which to compact (default: SHELF_WEBDAV_COMPACT_AFTER, else DEFAULT_COMPACT_AFTER) */
  compactAfter?: number;
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface WebdavReport extends SyncReport {
  skipped: SkippedFile[];
  webdav: DavStats & { downloaded: number; uploaded: string[]; deleted: number; compacted: boolean };
}

interface Session {
  instance: Instance;
  client: DavClient;
  state: FolderState;
  catalogUrl: string;
  writer: string;
  skipped: SkippedFile[];
  downloaded: number;
  uploaded: string[];
  deleted: number;
  onProgress?: Progress;
  /** which histories the catalog's root may take (see src/model/root-lineage.ts); set before merging */
  lineage?: RootLineage;
}

/** Syncs a catalog this instance holds with the WebDAV remote. */
export async function syncWebdav(instance: Instance, catalog: CatalogRow, remote: Remote, options: WebdavSyncOptions): Promise<WebdavReport> {
  const started = performance.now();
  const session = await openSession(instance, catalog.url, remote, options);
  const documents = new Set(documentIdsOf(catalog));
  const listedAt = new Date().toISOString();
  const listing = await session.client.list();
  const entries = listing?.entries ?? [];
  for (const p of listing?.problems ?? []) if (p.name.toLowerCase().endsWith(SHELF_SUFFIX)) session.skipped.push({ file: p.name, reason: p.reason });

  const own = noticeLostFiles(session, entries, listedAt);
  await download(session, entries, (id) => documents.has(id as never), () => heldLineage(instance, documentIdOf(catalog.url)));

  // Materialize first: the upload compares the view's heads with what the folder holds.
  const { records: changed, counts } = await (await CatalogStore.open(instance, catalog)).catchUp(options.onProgress);
  const uploadedNames = await upload(session, catalog, listing === null);
  const ownFiles = [...own, ...uploadedNames.map((name) => ({ name, size: -1, etag: null }))];
  const compactAfter = options.compactAfter ?? compactThreshold();
  const compacted = options.compact === true || (compactAfter > 0 && ownFiles.length > compactAfter);
  if (compacted) await compact(session, catalog, ownFiles, entries);
  await deleteLeftovers(session, entries);

  const report = await syncReport(instance, catalog, remote, { onProgress: options.onProgress }, started, { earlier: { changed, counts } });
  return finish(session, report, compacted);
}

/** Fetches a whole catalog this instance does not hold yet from the folder, and registers it. */
export async function joinWebdav(instance: Instance, url: string, name: string, remote: Remote, options: WebdavSyncOptions): Promise<WebdavReport> {
  const started = performance.now();
  instance.assertCatalogNameFree(name);
  const session = await openSession(instance, url, remote, options);
  const listing = await session.client.list();
  const entries = listing?.entries ?? [];
  if (!entries.some((e) => parseName(e.name))) {
    throw new ShelfError("SHELF_E_WEBDAV_NOT_FOUND", `${remote.name} holds no copy of ${url} (looked in ${session.client.folderUrl})`, "check the WebDAV URL and the catalog URL, and that an instance holding the catalog has run `shelf sync` with this folder");
  }
  const rootId = documentIdOf(url);
  // Every file was checked to name this catalog, and its root history to be the catalog URL's;
  // which shards the root names is checked after.
  await download(session, entries, joinable(instance, rootId), () => joinerLineage(instance, rootId));
  if (!isStored(instance, rootId)) {
    throw new ShelfError("SHELF_E_WEBDAV_NOT_FOUND", `the files in ${session.client.folderUrl} do not hold the catalog's root document${session.skipped.length > 0 ? ` (${session.skipped.length} files were skipped, see above)` : ""}`, "run `shelf sync` on an instance that holds the catalog, then join again");
  }
  const shardUrls = await rootShards(instance, rootId, remote);
  checkOwnShards(rootId, shardUrls, url);
  const missing = shardUrls.filter((u) => !isStored(instance, documentIdOf(u)));
  if (missing.length > 0) {
    throw new ShelfError("SHELF_E_WEBDAV_NOT_FOUND", `the files in ${session.client.folderUrl} lack ${missing.length} of the catalog's ${shardUrls.length} shard documents`, "run `shelf sync` on an instance that holds the whole catalog, then join again");
  }
  const catalog = instance.addCatalog({ url, name, shardUrls });
  const report = await syncReport(instance, catalog, remote, { onProgress: options.onProgress }, started);
  return finish(session, report, false);
}

async function openSession(instance: Instance, catalogUrl: string, remote: Remote, options: WebdavSyncOptions): Promise<Session> {
  const baseUrl = webdavBaseUrl(remote.url);
  const folder = catalogFolder(catalogUrl);
  const client = await DavClient.open({
    baseUrl,
    folder,
    remote: remote.name,
    credentials: credentialsFor(instance.home, remote.name),
    deadline: AbortSignal.timeout(options.timeoutMs),
    requestTimeoutMs: options.requestTimeoutMs ?? envInt("SHELF_WEBDAV_REQUEST_TIMEOUT_MS"),
    retry: options.retry,
  });
  return {
    instance,
    client,
    state: new FolderState(instance.db, client.folderUrl),
    catalogUrl,
    writer: writerOf(instance.id),
    skipped: [],
    downloaded: 0,
    uploaded: [],
    deleted: 0,
    onProgress: options.onProgress,
  };
}

function finish(session: Session, report: SyncReport, compacted: boolean): WebdavReport {
  return { ...report, skipped: session.skipped, webdav: { ...session.client.stats, downloaded: session.downloaded, uploaded: session.uploaded, deleted: session.deleted, compacted } };
}

/**
 * This instance's files as listed. If a file it wrote is gone without it deleting it, the folder
 * lost data (wiped, restored from an old backup): forget what the folder was thought to hold, so
 * this sync uploads everything again.
 */
function noticeLostFiles(session: Session, entries: DavEntry[], listedAt: string): DavEntry[] {
  const listed = new Set(entries.map((e) => e.name.toLowerCase()));
  const known = session.state.files();
  // Files written after the listing began (by another process of this instance) are not lost.
  const lost = [...known].filter(([name, f]) => f.state === "own" && f.at < listedAt && !listed.has(name));
  if (lost.length > 0) {
    session.state.transaction(() => {
      for (const [name] of lost) session.state.forget(name);
      session.state.resetHeads();
    });
  }
  return entries.filter((e) => parseName(e.name)?.writer === session.writer);
}

interface Candidate {
  entry: DavEntry;
  file: FileName;
}

/**
 * Step 2: download, verify and merge every file not merged yet. `accept` says which documents may
 * be written at all; `lineage` which histories the root may take (asked only when there is
 * something to download).
 */
async function download(session: Session, entries: DavEntry[], accept: (documentId: string) => boolean, lineage: () => Promise<RootLineage>): Promise<void> {
  const { state } = session;
  const known = state.files();
  const candidates: Candidate[] = [];
  for (const entry of entries) {
    const file = parseName(entry.name);
    if (!file) continue;
    const k = known.get(file.name);
    if (k?.state === "bad" && sameListing(k, entry)) {
      session.skipped.push({ file: entry.name, reason: k.reason ?? "it was found unusable before" });
      continue;
    }
    if (k && k.state !== "bad") continue;
    candidates.push({ entry, file });
  }
  if (candidates.length === 0) return;
  session.lineage = await lineage();
  candidates.sort((a, b) => mergeOrder(a.file, b.file));
  const held = (name: string) => {
    const s = known.get(name)?.state;
    return s === "merged" || s === "covered" || s === "own" || s === "superseded";
  };

  // Changes files first: small, and after them a snapshot often holds nothing new.
  const changes: FileContent[] = [];
  const headers = new Map<string, FileHeader>();
  for (const c of candidates.filter((c) => c.file.kind === "c")) {
    const got = await fetchVerified(session, c);
    if (got) {
      changes.push({ name: c.file.name, documents: got.documents });
      headers.set(c.file.name, got.header);
    }
  }
  let outcome = await mergeFiles(session.instance, changes, accept, session.onProgress);
  const merged = new Set(outcome.applied);
  const heads = new Map(outcome.heads);

  // Snapshots: skipped when this instance holds every file the snapshot replaces (their writer's
  // older files; whatever else it holds came from other writers' files, which are merged on their
  // own), which needs only its header.
  const snapshots: FileContent[] = [];
  for (const c of candidates.filter((c) => c.file.kind === "s")) {
    const probe = await fetchHeader(session, c);
    if (!probe) continue;
    const { header, whole } = probe;
    if (header.supersedes.length > 0 && header.supersedes.every((n) => held(n) || merged.has(n))) {
      state.mark(c.file.name, "covered", { size: c.entry.size, etag: c.entry.etag });
      continue;
    }
    const got = whole ? verifyOrSkip(session, c, whole) : await fetchVerified(session, c);
    if (!got) continue;
    snapshots.push({ name: c.file.name, documents: got.documents });
    headers.set(c.file.name, got.header);
    outcome = await mergeFiles(session.instance, [snapshots.at(-1)!], accept, session.onProgress);
    for (const name of outcome.applied) merged.add(name);
    for (const [id, h] of outcome.heads) heads.set(id, h);
  }
  // Changes that waited for a snapshot's content: try them again now that it is here.
  const waiting = changes.filter((f) => !merged.has(f.name));
  if (waiting.length > 0 && snapshots.length > 0) {
    outcome = await mergeFiles(session.instance, waiting, accept);
    for (const name of outcome.applied) merged.add(name);
    for (const [id, h] of outcome.heads) heads.set(id, h);
  }

  // Remember what was merged, and that the folder holds those changes (so they are never uploaded
  // back), in one transaction.
  const serverHeads = state.heads();
  const listed = new Set(entries.map((e) => e.name.toLowerCase()));
  state.transaction(() => {
    for (const c of candidates) {
      const header = headers.get(c.file.name);
      if (!header) continue;
      if (!merged.has(c.file.name)) {
        session.skipped.push({ file: c.entry.name, reason: "it needs changes that are not in the folder (yet); it will be tried again" });
        continue;
      }
      state.mark(c.file.name, "merged", { size: c.entry.size, etag: c.entry.etag });
      // A snapshot holds everything in the files it replaces (its writer's own: readHeader checks).
      // Those still listed are read on their own: a file's name says who wrote it, not who did.
      for (const old of header.supersedes) if (!held(old) && !listed.has(old)) state.mark(old, "merged");
      for (const d of header.documents) {
        if (!accept(d.documentId) && !heads.has(d.documentId)) continue;
        const list = serverHeads.get(d.documentId) ?? [];
        list.push(...d.heads);
        serverHeads.set(d.documentId, list);
        state.setHeads(d.documentId, list);
      }
    }
  });
}

const sameListing = (k: KnownFile, e: DavEntry) => k.size === e.size && k.etag === e.etag;

async function fetchVerified(session: Session, c: Candidate): Promise<{ header: FileHeader; documents: FileDocument[] } | undefined> {
  const body = await session.client.get(c.entry.name);
  if (!body) return undefined; // deleted since the listing (its writer compacted): its snapshot has it
  session.downloaded++;
  return verifyOrSkip(session, c, body);
}

function verifyOrSkip(session: Session, c: Candidate, body: Uint8Array): { header: FileHeader; documents: FileDocument[] } | undefined {
  try {
    const got = verifyFile(body, { name: c.file, catalog: session.catalogUrl });
    const root = got.documents.find((d) => d.documentId === session.lineage?.rootId);
    const refused = root && session.lineage?.refuse(genesisInChunk(root.data));
    if (refused) throw new BadFile(refused);
    // Before this file is merged: the root must never hold two histories that only a guess separates.
    if (session.lineage?.ambiguous()) throw ambiguousRoot(session);
    return got;
  } catch (err) {
    if (!(err instanceof BadFile)) throw err;
    skipBad(session, c, err.message);
    return undefined;
  }
}

function skipBad(session: Session, c: Candidate, reason: string): void {
  session.skipped.push({ file: c.entry.name, reason });
  session.state.mark(c.file.name, "bad", { size: c.entry.size, etag: c.entry.etag, reason });
}

/** A snapshot's header, from a ranged GET; `whole` is set when the server sent the whole file. */
async function fetchHeader(session: Session, c: Candidate): Promise<{ header: FileHeader; whole?: Uint8Array } | undefined> {
  const small = c.entry.size >= 0 && c.entry.size <= HEADER_PROBE_BYTES;
  const bytes = await session.client.get(c.entry.name, small ? undefined : HEADER_PROBE_BYTES);
  if (!bytes) return undefined;
  const whole = small || (c.entry.size >= 0 && bytes.byteLength === c.entry.size) ? bytes : undefined;
  if (whole) session.downloaded++;
  try {
    const read = readHeader(bytes, { name: c.file, catalog: session.catalogUrl });
    if (read) return { header: read.header, whole };
  } catch (err) {
    if (!(err instanceof BadFile)) throw err;
    skipBad(session, c, err.message);
    return undefined;
  }
  // A header longer than the probe: read the whole file.
  const body = whole ?? (await session.client.get(c.entry.name));
  if (!body) return undefined;
  if (!whole) session.downloaded++;
  const got = verifyOrSkip(session, c, body);
  return got ? { header: got.header, whole: body } : undefined;
}

/**
 * Step 4: one changes file holding, for each document, what the folder does not hold yet. A
 * document needs loading only when its heads are not all known to be in the folder.
 */
async function upload(session: Session, catalog: CatalogRow, folderMissing: boolean): Promise<string[]> {
  const { instance, state } = session;
  const serverHeads = state.heads();
  const viewHeads = new Map(
    instance.db
      .prepare<[number], { doc_id: string; heads: string }>("SELECT doc_id, heads FROM view_heads WHERE cat_id = ?")
      .all(catalog.catId)
      .map((r) => [r.doc_id, JSON.parse(r.heads) as string[]]),
  );
  const documents = documentIdsOf(catalog);
  const stale = documents.filter((id) => {
    const local = viewHeads.get(id);
    const server = new Set(serverHeads.get(id) ?? []);
    return !local || local.some((h) => !server.has(h));
  });
  // Documents whose every head is in the folder: record their heads as the folder's, minimal.
  state.transaction(() => {
    for (const id of documents) {
      const local = viewHeads.get(id);
      if (local && !stale.includes(id) && !sameHeads(local, serverHeads.get(id) ?? [])) state.setHeads(id, local);
    }
  });
  if (stale.length === 0) return [];

  const parts = await readStored(instance, stale, (id, doc): FileDocument | undefined => {
    const known = (serverHeads.get(id) ?? []).filter((h) => A.hasHeads(doc, [h]));
    const data = known.length > 0 ? A.saveSince(doc, known) : A.save(doc);
    return data.byteLength > 0 ? { documentId: id, data, heads: A.getHeads(doc) } : undefined;
  });
  if (parts.length === 0) return [];
  if (folderMissing) await session.client.ensureFolder();
  const seq = state.lastSeq() + 1;
  const file = encodeFile({ catalog: session.catalogUrl, writer: session.writer, seq, kind: "c", documents: parts });
  await session.client.putAtomic(file.name, tempName(session.writer), file.body);
  state.transaction(() => {
    state.mark(file.name, "own", { size: file.body.byteLength });
    state.setLastSeq(seq);
    for (const p of parts) state.setHeads(p.documentId, p.heads);
  });
  session.uploaded.push(file.name);
  return [file.name];
}

/**
 * Step 5: one snapshot of every document of the catalog replaces this instance's own files, which
 * are then deleted. Only own files: others' files are their writers' to compact, so nothing another
 * instance has not included is ever lost. What the folder is known to hold is not changed: should
 * the snapshot hold an edit no changes file had (made meanwhile by another process), the next
 * changes file carries it too, for readers that skip this snapshot.
 */
async function compact(session: Session, catalog: CatalogRow, ownFiles: { name: string; etag: string | null }[], entries: DavEntry[]): Promise<void> {
  const { instance, state } = session;
  // a document with nothing stored here is in none of this instance's files either
  const parts = await readStored(instance, [catalog.url, ...catalog.shardUrls].map(documentIdOf), (documentId, doc): FileDocument => ({ documentId, data: A.save(doc), heads: A.getHeads(doc) }));
  const replaced = ownFiles.map((f) => f.name.toLowerCase());
  const seq = state.lastSeq() + 1;
  const file = encodeFile({ catalog: session.catalogUrl, writer: session.writer, seq, kind: "s", supersedes: replaced, documents: parts });
  await session.client.ensureFolder();
  await session.client.putAtomic(file.name, tempName(session.writer), file.body);
  state.transaction(() => {
    state.mark(file.name, "own", { size: file.body.byteLength });
    state.setLastSeq(seq);
    for (const f of ownFiles) state.mark(f.name.toLowerCase(), "superseded", { etag: f.etag });
  });
  session.uploaded.push(file.name);
  for (const f of ownFiles) await deleteOwn(session, f.name, f.etag);
  // Temporary files of this instance's uploads that a crash left behind (any in progress now
  // would fail and be retried by the next sync, so this runs only here, rarely).
  for (const e of entries) if (e.name.startsWith(`${TEMP_PREFIX}${session.writer}-`)) await deleteOwn(session, e.name, e.etag);
}

/** Own files a snapshot replaced that are still there (a crash between upload and delete). */
async function deleteLeftovers(session: Session, entries: DavEntry[]): Promise<void> {
  const known = session.state.files();
  for (const e of entries) {
    const name = e.name.toLowerCase();
    if (known.get(name)?.state === "superseded") await deleteOwn(session, e.name, e.etag);
  }
}

async function deleteOwn(session: Session, name: string, etag: string | null): Promise<void> {
  if (parseName(name)?.writer !== session.writer && !name.startsWith(TEMP_PREFIX)) {
    throw new ShelfError("SHELF_E_INTERNAL", `refusing to delete ${name}, which this instance did not write`);
  }
  if (await session.client.remove(name, etag)) {
    session.state.forget(name.toLowerCase());
    session.deleted++;
  }
}

/**
 * The lineage of a root this instance holds: a derived root id names its own first change; a
 * random one is known by the first changes of the root as held (loaded only for it).
 */
async function heldLineage(instance: Instance, rootId: string): Promise<RootLineage> {
  if (isDerivedRootId(rootId)) return new RootLineage(rootId, []);
  const [known] = await readStored(instance, [rootId], (_, root) => genesisOf(root));
  return new RootLineage(rootId, known ?? []);
}

/**
 * A fresh joiner's lineage: a derived root id names its own first change; for a random one, the
 * first history on offer is taken, counting one a failed earlier join left in storage.
 */
async function joinerLineage(instance: Instance, rootId: string): Promise<RootLineage> {
  if (isDerivedRootId(rootId) || !isStored(instance, rootId)) return new RootLineage(rootId, undefined);
  const [left] = await readStored(instance, [rootId], (_, root) => genesisOf(root));
  return new RootLineage(rootId, undefined, left);
}

function ambiguousRoot(session: Session): ShelfError {
  return new ShelfError(
    "SHELF_E_CATALOG_MISMATCH",
    `the files in ${session.client.folderUrl} hold two unrelated histories for the root of ${session.catalogUrl}, so shelf cannot tell which one is the catalog`,
    "ask someone who holds the catalog which files are theirs (`shelf status` shows an instance's id, which starts its files' names) and remove the others from the folder, then join again into a new home (--home)",
  );
}

/**
 * Which documents a join may write: the root, and its shards. With a derived root id those are
 * known by their ids alone; with a random one, any document except those of the catalogs this
 * instance holds already (a file must never reach into another catalog).
 */
function joinable(instance: Instance, rootId: string): (documentId: string) => boolean {
  if (isDerivedRootId(rootId)) return (id) => id === rootId || shardIndexIn(rootId, id) !== undefined;
  const held = new Set(instance.catalogs().flatMap(documentIdsOf));
  return (id) => !held.has(id as never);
}

/** A derived root must name exactly its own shards, in order: anything else is another catalog's. */
function checkOwnShards(rootId: string, shardUrls: string[], url: string): void {
  if (!isDerivedRootId(rootId)) return;
  const foreign = shardUrls.filter((u, i) => documentIdOf(u) !== shardIdFor(rootId, i));
  if (foreign.length > 0 || shardUrls.length === 0) {
    throw new ShelfError(
      "SHELF_E_CATALOG_MISMATCH",
      `the root of ${url} in this folder names ${foreign.length} shard documents that are not its own (of ${shardUrls.length})`,
      "someone with write access to the folder altered the catalog's shard list; ask someone who holds the catalog to check it, and join through another remote meanwhile",
    );
  }
}

async function rootShards(instance: Instance, rootId: string, remote: Remote): Promise<string[]> {
  const [root = {}] = await readStored(instance, [rootId], (_, doc) => A.toJS(doc) as Partial<RootDoc>);
  if (root.shelf !== "catalog" || !Array.isArray(root.shards)) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `the document ${remote.name} holds at that URL is not a shelf catalog`, "check the catalog URL (`shelf status` prints it on an instance that holds the catalog)");
  }
  return root.shards.map((u) => plain(u));
}

function compactThreshold(): number {
  return envInt("SHELF_WEBDAV_COMPACT_AFTER") ?? DEFAULT_COMPACT_AFTER;
}

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new ShelfError("SHELF_E_USAGE", `${name} must be a whole number, got ${JSON.stringify(raw)}`);
  return n;
}

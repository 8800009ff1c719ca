/**
 * The two shapes of source that npm and PyPI share: local JSON documents (one file, or a directory
 * of them), and a registry's HTTP API, fetched per package with conditional requests.
 */
import type { WriteItem } from "../catalog/catalog-store.js";
import { ShelfError } from "../errors.js";
import { JsonSyntaxError, parseJson } from "./json-text.js";
import { mapOrdered } from "./parallel.js";
import { readText, sourceKind, walkFiles } from "./source-files.js";
import type { ImportRow, ProviderContext } from "./types.js";

/** Why a document was rejected: a message for people (the runner names the place). */
export const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A document turned into a record; `note` says something once about the whole source. */
export type ParseDocument = (doc: unknown, note: (message: string) => void) => WriteItem;

/**
 * Every *.json file under a directory, or the one file given, each parsed into one record. With
 * `compareVersions`, several documents of one id (per-version saves of one project) yield only
 * the newest version's record; two documents of the same version are a duplicate.
 */
export async function* readLocalDocuments(
  ctx: ProviderContext,
  kind: "dir" | "file",
  parse: ParseDocument,
  compareVersions?: (a: string, b: string) => number,
): AsyncGenerator<ImportRow> {
  const files = kind === "dir" ? walkFiles(ctx.source, (name) => name.endsWith(".json")) : oneFile(ctx.source);
  const newest = new Map<string, { item: WriteItem; where: string }>();
  for await (const path of files) {
    const read = await readText(path);
    if ("reason" in read) {
      yield { ok: false, where: path, reason: read.reason };
      continue;
    }
    let item: WriteItem;
    try {
      item = parse(parseJson(read.text), ctx.note);
    } catch (err) {
      yield { ok: false, where: err instanceof JsonSyntaxError ? `${path}:${err.line}` : path, reason: reasonOf(err) };
      continue;
    }
    if (!compareVersions) {
      yield { ok: true, where: path, item };
      continue;
    }
    const current = newest.get(item.id);
    const order = current ? compareVersions(item.patch.version ?? "", current.item.patch.version ?? "") : 1;
    if (order === 0) {
      yield { ok: false, where: path, reason: `${item.id} ${item.patch.version ?? ""} was already read from ${current!.where}; this one is ignored`, id: item.id };
    } else {
      if (current) ctx.count("olderVersions");
      if (order > 0) newest.set(item.id, { item, where: path });
    }
  }
  for (const { item, where } of newest.values()) yield { ok: true, where, item };
}

async function* oneFile(path: string): AsyncGenerator<string> {
  yield path;
}

export interface RegistryApi {
  /** the id prefix, e.g. "npm" */
  prefix: string;
  /** the package name a previously imported id stands for */
  nameOfId(id: string): string;
  /** the id a requested name will have (so a failed fetch keeps it from vanishing) */
  idOfName(name: string): string;
  urlFor(base: string, name: string): string;
  parse: ParseDocument;
  /** the provider's version order, to keep the newest of several local documents of one id */
  compareVersions?: (a: string, b: string) => number;
}

interface UrlState {
  etag: string;
  ids: string[];
}

/**
 * Fetches each package named by --package, plus every package this source produced before (so a
 * scheduled run refreshes them). A 304 keeps the record as it is. A 404 is an error for a package
 * the user named, and for one imported before means it left the registry (it counts as vanished).
 */
export async function* readRegistry(ctx: ProviderContext, api: RegistryApi): AsyncGenerator<ImportRow> {
  const explicit = new Set(ctx.packages);
  const names = new Set(ctx.packages);
  for (const id of ctx.previousIds()) if (id.startsWith(`${api.prefix}:`)) names.add(api.nameOfId(id));
  if (names.size === 0) {
    throw new ShelfError("SHELF_E_USAGE", `no packages to fetch from ${ctx.source}`, "name them with --package NAME (repeatable) or --packages FILE; later runs refresh every package this source imported");
  }
  const base = ctx.source.replace(/\/+$/, "");
  const previous = (ctx.previous.urls ?? {}) as Record<string, UrlState>;
  const next: Record<string, UrlState> = {};
  ctx.next.urls = next;
  const http = ctx.http();
  const fetchOne = async (name: string): Promise<ImportRow[]> => {
    const url = api.urlFor(base, name);
    const id = api.idOfName(name);
    const before = previous[url];
    let result;
    try {
      result = await http.get(url, { etag: before?.etag });
    } catch (err) {
      if (!(err instanceof ShelfError)) throw err;
      if (before) next[url] = before;
      return [{ ok: false, where: url, reason: err.message, id }];
    }
    if (result.status === "not-modified" && before) {
      next[url] = before;
      ctx.count("notModified");
      return before.ids.map((kept) => ({ ok: "kept", where: url, id: kept }));
    }
    if (result.status === "gone" || result.status === "not-modified") {
      ctx.count("gone");
      return explicit.has(name) ? [{ ok: false, where: url, reason: `the registry has no package ${JSON.stringify(name)} (HTTP ${result.status === "gone" ? result.httpStatus : 304})` }] : [];
    }
    try {
      const item = api.parse(parseJson(result.body), ctx.note);
      if (result.etag) next[url] = { etag: result.etag, ids: [item.id] };
      return [{ ok: true, where: url, item }];
    } catch (err) {
      return [{ ok: false, where: url, reason: reasonOf(err), id }];
    }
  };
  for await (const rows of mapOrdered([...names].sort(), http.concurrency * 2, fetchOne)) yield* rows;
}

/** Local documents or a registry, by what the source is. */
export async function* readDocumentsOrRegistry(ctx: ProviderContext, api: RegistryApi, expected: string): AsyncGenerator<ImportRow> {
  const kind = await sourceKind(ctx.source, expected);
  if (kind === "url") yield* readRegistry(ctx, api);
  else {
    if (ctx.packages.length > 0) throw new ShelfError("SHELF_E_USAGE", "--package applies only to a registry URL", `${ctx.source} is a local ${kind === "dir" ? "directory" : "file"}: every document in it is imported`);
    yield* readLocalDocuments(ctx, kind, api.parse, api.compareVersions);
  }
}

/**
 * Chocolatey: a NuGet v2 OData feed (Atom XML, as https://community.chocolatey.org/api/v2/Packages()
 * serves it), from a file or over HTTP following its `next` links page by page; or a directory of
 * .nuspec files (the nuspec 2015/06 schema). Each package id becomes one record, from the entry
 * marked IsLatestVersion, else its highest version (NuGet ordering).
 */
import { readFile } from "node:fs/promises";
import type { WriteItem } from "../../catalog/catalog-store.js";
import { ShelfError } from "../../errors.js";
import { validateId, validatePatch } from "../../model/record.js";
import { reasonOf } from "../documents.js";
import { LineError, placeOf } from "../line-error.js";
import { sourceKey, sourceKind, walkFiles } from "../source-files.js";
import { decodeXml } from "../text-decode.js";
import { boundedList, compactMeta, oneLine } from "../text.js";
import type { HttpResult } from "../http-client.js";
import type { ImportRow, Provider, ProviderContext } from "../types.js";
import { compareNuGetVersions } from "../versions.js";
import { entryPlace, parseNuspec, parseODataFeed, type ChocoPackage } from "./choco-xml.js";

export { entryPlace, parseNuspec, parseODataFeed, type ChocoPackage, type FeedEntry } from "./choco-xml.js";

export function chocoPackageToItem(pkg: ChocoPackage): WriteItem {
  const id = `choco:${pkg.id.toLowerCase()}`;
  validateId(id);
  const tags = (pkg.tags ?? "").split(/\s+/).filter((t) => t !== "");
  const meta = compactMeta({
    authors: oneLine(pkg.authors, 256),
    // cut so that no single value can push the record over the meta size limit
    homepage: oneLine(pkg.projectUrl, 2048),
    license: oneLine(pkg.license, 256),
    licenseUrl: oneLine(pkg.licenseUrl, 2048),
    tags: boundedList(tags, 50),
    packageSourceUrl: oneLine(pkg.packageSourceUrl, 2048),
    downloads: pkg.downloads,
    packageSize: pkg.packageSize,
    packageHash: oneLine(pkg.packageHash, 256),
    packageHashAlgorithm: oneLine(pkg.packageHashAlgorithm, 32),
    published: oneLine(pkg.published, 64),
  });
  const patch = validatePatch({ name: oneLine(pkg.title, 512) ?? pkg.id, version: pkg.version, summary: oneLine(pkg.summary) ?? oneLine(pkg.description) ?? "", meta });
  return { id, patch };
}

/** Of several versions of one id: the one the feed marks latest, else the highest. */
export function newestPackages<T extends { pkg: ChocoPackage }>(found: T[]): T[] {
  const newest = new Map<string, T>();
  for (const f of found) {
    const key = f.pkg.id.toLowerCase();
    const current = newest.get(key);
    const better = !current || (f.pkg.isLatest && !current.pkg.isLatest) || (f.pkg.isLatest === current.pkg.isLatest && compareNuGetVersions(f.pkg.version, current.pkg.version) > 0);
    if (better) newest.set(key, f);
  }
  return [...newest.values()].sort((a, b) => (a.pkg.id.toLowerCase() < b.pkg.id.toLowerCase() ? -1 : 1));
}

function* packagesToRows(found: { where: string; pkg: ChocoPackage }[]): Generator<ImportRow> {
  for (const { where, pkg } of newestPackages(found)) {
    try {
      yield { ok: true, where, item: chocoPackageToItem(pkg) };
    } catch (err) {
      yield { ok: false, where, reason: reasonOf(err) };
    }
  }
}

interface PageState {
  etag: string;
  ids: string[];
  next?: string;
}

const MAX_PAGES = 100_000;

/** Follows the feed's `next` links; a page that answers 304 keeps the records it held last time. */
async function* readFeedOverHttp(ctx: ProviderContext): AsyncGenerator<ImportRow> {
  const previous = (ctx.previous.pages ?? {}) as Record<string, PageState>;
  const nextState: Record<string, PageState> = {};
  ctx.next.pages = nextState;
  const http = ctx.http();
  const found: { where: string; pkg: ChocoPackage }[] = [];
  const visited = new Set<string>();
  let url: string | undefined = ctx.source;
  while (url !== undefined) {
    if (visited.has(url) || visited.size >= MAX_PAGES) {
      yield { ok: false, where: url, reason: visited.has(url) ? "the feed's next link points back to a page already read; stopped there" : `more than ${MAX_PAGES} pages; stopped there` };
      break;
    }
    visited.add(url);
    const before: PageState | undefined = previous[url];
    // The pages after a failed one cannot be found without it: a failure on the first page fails
    // the import; on a later page, what was read is imported and the run is marked incomplete.
    let result: HttpResult;
    try {
      result = await http.get(url, { etag: before?.etag, accept: "application/atom+xml, application/xml" });
      if (result.status === "gone") throw new ShelfError("SHELF_E_HTTP", `GET ${url}: HTTP ${result.httpStatus}`, "check the feed URL");
    } catch (err) {
      if (!(err instanceof ShelfError) || visited.size === 1) throw err;
      yield { ok: false, where: url, reason: `${err.message}; the pages after it were not read`, incomplete: true };
      break;
    }
    if (result.status === "not-modified" && before) {
      ctx.count("notModified");
      nextState[url] = before;
      for (const id of before.ids) yield { ok: "kept", where: url, id };
      url = before.next;
      continue;
    }
    if (result.status !== "ok") throw new ShelfError("SHELF_E_HTTP", `GET ${url}: the server answered 304 to a request shelf did not make conditional`);
    ctx.count("pages");
    let page;
    try {
      page = parseODataFeed(result.body);
    } catch (err) {
      throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${placeOf(url, err)}: ${reasonOf(err)}`, "expected a NuGet v2 OData feed (Atom XML)");
    }
    const ids: string[] = [];
    for (const p of page.packages) {
      if (p.pkg) {
        found.push({ where: entryPlace(url, p), pkg: p.pkg });
        ids.push(`choco:${p.pkg.id.toLowerCase()}`);
      } else yield { ok: false, where: entryPlace(url, p), reason: p.reason! };
    }
    const next = page.next ? new URL(page.next, url).href : undefined;
    if (result.etag) nextState[url] = { etag: result.etag, ids: [...new Set(ids)], next };
    url = next;
  }
  yield* packagesToRows(found);
}

/** A local XML file's text (UTF-8, or UTF-16 with a byte order mark); throws a LineError. */
async function readXmlFile(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`cannot read it: ${(err as Error).message}`);
  }
  const decoded = decodeXml(bytes);
  if ("reason" in decoded) throw new LineError(decoded.line, decoded.reason);
  return decoded.text;
}

const FEED_HINT = "expected a NuGet v2 OData feed (Atom XML) or a .nuspec file";

async function* readChoco(ctx: ProviderContext): AsyncGenerator<ImportRow> {
  const kind = await sourceKind(ctx.source, "an OData feed (file or URL) or a directory of .nuspec files");
  if (kind === "url") return yield* readFeedOverHttp(ctx);
  const nuspecs = kind === "dir" ? walkFiles(ctx.source, (name) => name.toLowerCase().endsWith(".nuspec")) : undefined;
  if (!nuspecs && !ctx.source.toLowerCase().endsWith(".nuspec")) return yield* readFeedFile(ctx.source);
  const found: { where: string; pkg: ChocoPackage }[] = [];
  for await (const path of nuspecs ?? oneFile(ctx.source)) {
    try {
      found.push({ where: path, pkg: parseNuspec(await readXmlFile(path)) });
    } catch (err) {
      yield { ok: false, where: placeOf(path, err), reason: reasonOf(err) };
    }
  }
  yield* packagesToRows(found);
}

async function* oneFile(path: string): AsyncGenerator<string> {
  yield path;
}

/** A saved feed page is a snapshot: its next link (a remote URL) is not followed. */
async function* readFeedFile(path: string): AsyncGenerator<ImportRow> {
  let page;
  try {
    page = parseODataFeed(await readXmlFile(path));
  } catch (err) {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${placeOf(path, err)}: ${reasonOf(err)}`, FEED_HINT);
  }
  const found: { where: string; pkg: ChocoPackage }[] = [];
  for (const p of page.packages) {
    if (p.pkg) found.push({ where: entryPlace(path, p), pkg: p.pkg });
    else yield { ok: false, where: entryPlace(path, p), reason: p.reason! };
  }
  yield* packagesToRows(found);
}

export const chocoProvider: Provider = {
  name: "choco",
  sources: "a NuGet v2 OData feed (file or URL; next links followed) or a directory of .nuspec files",
  sourceKey,
  read: readChoco,
};

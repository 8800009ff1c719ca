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
import { elementLines, parseXml, type XmlNode } from "../xml-document.js";
import { boundedList, compactMeta, oneLine, str } from "../text.js";
import type { HttpResult } from "../http-client.js";
import type { ImportRow, Provider, ProviderContext } from "../types.js";
import { compareNuGetVersions } from "../versions.js";

/** The fields shelf reads from an OData entry or a nuspec's <metadata>. */
export interface ChocoPackage {
  id: string;
  version: string;
  title?: string;
  summary?: string;
  description?: string;
  authors?: string;
  projectUrl?: string;
  license?: string;
  licenseUrl?: string;
  tags?: string;
  packageSourceUrl?: string;
  downloads?: number;
  packageSize?: number;
  packageHash?: string;
  packageHashAlgorithm?: string;
  published?: string;
  isLatest?: boolean;
}

type Node = XmlNode;
const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** An element's text: a string, or {"#text"} when it has attributes; m:null="true" is no value. */
function text(v: unknown): string | undefined {
  if (typeof v === "string") return str(v);
  if (isNode(v)) return v["@_null"] === "true" ? undefined : str(v["#text"]);
  return undefined;
}

function integer(v: unknown): number | undefined {
  const t = text(v);
  return t !== undefined && /^\d+$/.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : undefined;
}

/**
 * One page of a NuGet v2 OData feed: its entries (each with the line of its <entry>), and the
 * next page's URL if any. A page that cannot be read at all throws a LineError.
 */
export interface FeedEntry {
  /** "entry N" */
  where: string;
  /** the line of its <entry> tag */
  line?: number;
  pkg?: ChocoPackage;
  reason?: string;
}

/** `base:LINE (entry N)`, or `base (entry N)` when the line is unknown. */
export const entryPlace = (base: string, e: FeedEntry): string => (e.line !== undefined ? `${base}:${e.line} (${e.where})` : `${base} (${e.where})`);

export function parseODataFeed(xml: string): { packages: FeedEntry[]; next?: string } {
  const doc = parseXml(xml);
  const feed = doc.feed ?? (doc.entry ? { entry: doc.entry } : undefined);
  if (!isNode(feed)) throw new LineError(1, "it is not an OData Atom feed (no <feed> or <entry> element)");
  const entries = asList(feed.entry);
  const lines = elementLines(xml, doc.feed ? ["feed", "entry"] : ["entry"]);
  const packages = entries.map((entry, i) => {
    const at = { where: `entry ${i + 1}`, line: lines.length === entries.length ? lines[i] : undefined };
    try {
      return { ...at, pkg: odataEntry(entry) };
    } catch (err) {
      return { ...at, reason: reasonOf(err) };
    }
  });
  const next = asList(feed.link).find((l) => isNode(l) && l["@_rel"] === "next");
  return { packages, next: isNode(next) ? str(next["@_href"]) : undefined };
}

function odataEntry(entry: unknown): ChocoPackage {
  if (!isNode(entry)) throw new Error("an <entry> without content");
  const p = isNode(entry.properties) ? entry.properties : isNode(entry.content) && isNode(entry.content.properties) ? entry.content.properties : undefined;
  if (!p) throw new Error("the entry has no <m:properties>");
  // NuGet v2 feeds put the id in <title> and may leave <d:Id> out.
  const id = text(p.Id) ?? text(entry.title);
  const version = text(p.Version);
  if (!id) throw new Error("the entry has no package id (<d:Id> or <title>)");
  if (!version) throw new Error(`the entry for ${id} has no <d:Version>`);
  const author = isNode(entry.author) ? text(entry.author.name) : undefined;
  return {
    id,
    version,
    title: text(p.Title),
    summary: text(p.Summary) ?? text(entry.summary),
    description: text(p.Description),
    authors: text(p.Authors) ?? author,
    projectUrl: text(p.ProjectUrl),
    license: undefined,
    licenseUrl: text(p.LicenseUrl),
    tags: text(p.Tags),
    packageSourceUrl: text(p.PackageSourceUrl),
    downloads: integer(p.DownloadCount),
    packageSize: integer(p.PackageSize),
    packageHash: text(p.PackageHash),
    packageHashAlgorithm: text(p.PackageHashAlgorithm),
    published: text(p.Published),
    isLatest: text(p.IsLatestVersion) === "true",
  };
}

/** A .nuspec file's text -> its package. Throws a LineError naming the line at fault. */
export function parseNuspec(xml: string): ChocoPackage {
  const doc = parseXml(xml);
  // the element's line, else its parent's (an element that is absent is reported where it belongs)
  const lineOf = (...path: string[]): number => elementLines(xml, path)[0] ?? (path.length > 1 ? lineOf(...path.slice(0, -1)) : 1);
  const metadata = isNode(doc.package) ? doc.package.metadata : undefined;
  if (!isNode(metadata)) throw new LineError(isNode(doc.package) ? lineOf("package") : 1, "it is not a nuspec (no <package><metadata>)");
  const id = text(metadata.id);
  const version = text(metadata.version);
  if (!id) throw new LineError(lineOf("package", "metadata", "id"), "<id> is missing or empty");
  if (!version) throw new LineError(lineOf("package", "metadata", "version"), `<version> is missing or empty for ${id}`);
  try {
    validateId(`choco:${id.toLowerCase()}`);
  } catch (err) {
    throw new LineError(lineOf("package", "metadata", "id"), reasonOf(err));
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(version) || version.length > 256) throw new LineError(lineOf("package", "metadata", "version"), `the version ${JSON.stringify(version.slice(0, 80))} holds control characters or is too long`);
  const license = metadata.license;
  return {
    id,
    version,
    title: text(metadata.title),
    summary: text(metadata.summary),
    description: text(metadata.description),
    authors: text(metadata.authors),
    projectUrl: text(metadata.projectUrl),
    license: isNode(license) && license["@_type"] === "expression" ? text(license) : undefined,
    licenseUrl: text(metadata.licenseUrl),
    tags: text(metadata.tags),
    packageSourceUrl: text(metadata.packageSourceUrl),
  };
}

export function chocoPackageToItem(pkg: ChocoPackage): WriteItem {
  const id = `choco:${pkg.id.toLowerCase()}`;
  validateId(id);
  const tags = (pkg.tags ?? "").split(/\s+/).filter((t) => t !== "");
  const meta = compactMeta({
    authors: oneLine(pkg.authors, 256),
    homepage: pkg.projectUrl,
    license: pkg.license,
    licenseUrl: pkg.licenseUrl,
    tags: boundedList(tags, 50),
    packageSourceUrl: pkg.packageSourceUrl,
    downloads: pkg.downloads,
    packageSize: pkg.packageSize,
    packageHash: pkg.packageHash,
    packageHashAlgorithm: pkg.packageHashAlgorithm,
    published: pkg.published,
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

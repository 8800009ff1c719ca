/**
 * The two XML shapes Chocolatey metadata comes in, read into one ChocoPackage: a NuGet v2 OData
 * feed page (Atom `entry` elements with `m:properties`) and a .nuspec (`<package><metadata>`,
 * any schema namespace). Failures are LineErrors, so a rejection names the line at fault.
 */
import { validateId } from "../../model/record.js";
import { reasonOf } from "../documents.js";
import { LineError } from "../line-error.js";
import { str } from "../text.js";
import { elementLines, parseXml, type XmlNode } from "../xml-document.js";

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

/**
 * PyPI: documents of the JSON API (`GET https://pypi.org/pypi/NAME/json`): a file, a directory of
 * them, or the base URL of an index serving that API. The record is `info.version`, PyPI's own
 * latest (non-prerelease) version; ids use the normalized name (PEP 503). A directory holding
 * several versions of one project (saves of /pypi/NAME/VERSION/json) yields the newest one.
 */
import type { WriteItem } from "../../catalog/catalog-store.js";
import { validateId, validatePatch } from "../../model/record.js";
import { readDocumentsOrRegistry, type RegistryApi } from "../documents.js";
import { sourceKey } from "../source-files.js";
import { comparePypiVersions } from "../pep440.js";
import { compactMeta, oneLine, sourceTags, str } from "../text.js";
import type { Provider } from "../types.js";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** PEP 503: lowercase, and every run of "-", "_", "." becomes one "-". */
export const normalizePypiName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, "-");

/** A short license: the SPDX expression, else a one-line license field, else the classifier. */
function licenseOf(info: Record<string, unknown>): string | undefined {
  const expression = str(info.license_expression);
  if (expression) return expression;
  const license = str(info.license);
  if (license && license.length <= 100 && !license.includes("\n")) return license;
  const classifiers = Array.isArray(info.classifiers) ? info.classifiers : [];
  const fromClassifier = classifiers
    .filter((c): c is string => typeof c === "string" && c.startsWith("License :: "))
    .map((c) => c.split(" :: ").at(-1)!)
    .join(" OR ");
  return fromClassifier || undefined;
}

function homepageOf(info: Record<string, unknown>): string | undefined {
  const urls = isObject(info.project_urls) ? info.project_urls : {};
  const key = Object.keys(urls).find((k) => /^home ?page$/i.test(k));
  return str(info.home_page) ?? (key ? str(urls[key]) : undefined);
}

/**
 * PEP 691's JSON simple index (`GET /simple/NAME/` or `/simple/` with
 * `Accept: application/vnd.pypi.simple.v1+json`) lists files only: say so, and what to give.
 */
function simpleIndexReason(doc: Record<string, unknown>): string | undefined {
  const meta = doc.meta;
  if (!isObject(meta) || typeof meta["api-version"] !== "string") return undefined;
  if (Array.isArray(doc.projects)) {
    return `this is a PEP 691 simple-index page (the project list of /simple/), not a JSON API document; give documents of GET /pypi/NAME/json, or an index URL with --package NAME`;
  }
  const name = typeof doc.name === "string" ? doc.name : "NAME";
  return `this is a PEP 691 simple-index page (the file list of /simple/${name}/), not a JSON API document: it has no summary, license or homepage; give GET /pypi/${name}/json instead, or an index URL with --package ${name}`;
}

/**
 * The source's own tags: `keywords` (one string, comma- or space-separated) and the last part of
 * each `Topic ::` classifier ("Topic :: System :: Archiving :: Packaging" -> "Packaging").
 */
function sourceTagsOf(info: Record<string, unknown>): string[] {
  const keywords = typeof info.keywords === "string" ? info.keywords.split(info.keywords.includes(",") ? "," : /\s+/) : Array.isArray(info.keywords) ? info.keywords : [];
  const classifiers = Array.isArray(info.classifiers) ? info.classifiers : [];
  const topics = classifiers.filter((c): c is string => typeof c === "string" && c.startsWith("Topic :: ")).map((c) => c.split(" :: ").at(-1)!);
  return sourceTags([...keywords, ...topics]);
}

export function pypiDocumentToItem(doc: unknown): WriteItem {
  if (!isObject(doc)) throw new Error("a PyPI JSON document is a JSON object");
  const simple = simpleIndexReason(doc);
  if (simple) throw new Error(simple);
  const info = doc.info;
  if (!isObject(info)) throw new Error(`"info" is missing: a PyPI JSON API document (GET /pypi/NAME/json) has "info", "urls" and "last_serial"`);
  const name = info.name;
  if (typeof name !== "string" || name === "") throw new Error(`"info.name" is missing or not a string`);
  const version = info.version;
  if (typeof version !== "string" || version === "") throw new Error(`"info.version" is missing`);
  const id = `pypi:${normalizePypiName(name)}`;
  validateId(id);
  // The files of this version: the sdist's digest identifies the release.
  const urls = Array.isArray(doc.urls) ? doc.urls.filter(isObject) : [];
  const sdist = urls.find((u) => u.packagetype === "sdist");
  const digests = sdist && isObject(sdist.digests) ? sdist.digests : {};
  const meta = compactMeta({
    homepage: homepageOf(info),
    license: licenseOf(info),
    author: oneLine(info.author, 200),
    requiresPython: str(info.requires_python),
    released: str(sdist?.upload_time_iso_8601) ?? str(urls[0]?.upload_time_iso_8601),
    sdist: str(sdist?.url),
    sha256: str(digests.sha256),
    yanked: info.yanked === true ? true : undefined,
    sourceTags: sourceTagsOf(info),
  });
  const patch = validatePatch({ name, version, summary: oneLine(info.summary) ?? "", meta });
  return { id, patch };
}

export const pypiApi: RegistryApi = {
  prefix: "pypi",
  nameOfId: (id) => id.slice("pypi:".length),
  idOfName: (name) => `pypi:${normalizePypiName(name)}`,
  urlFor: (base, name) => `${base}/pypi/${encodeURIComponent(normalizePypiName(name))}/json`,
  parse: pypiDocumentToItem,
  compareVersions: comparePypiVersions,
};

export const pypiProvider: Provider = {
  name: "pypi",
  sources: "a PyPI JSON API document, a directory of them, or an index URL (https://pypi.org) with --package NAME",
  sourceKey,
  read: (ctx) => readDocumentsOrRegistry(ctx, pypiApi, "a PyPI JSON file, a directory of them, or an index URL"),
};

/**
 * PyPI: documents of the JSON API (`GET https://pypi.org/pypi/NAME/json`): a file, a directory of
 * them, or the base URL of an index serving that API. The record is `info.version`, PyPI's own
 * latest (non-prerelease) version; ids use the normalized name (PEP 503).
 */
import type { WriteItem } from "../../catalog/catalog-store.js";
import { validateId, validatePatch } from "../../model/record.js";
import { readDocumentsOrRegistry, type RegistryApi } from "../documents.js";
import { sourceKey } from "../source-files.js";
import { compactMeta, oneLine, str } from "../text.js";
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

export function pypiDocumentToItem(doc: unknown): WriteItem {
  if (!isObject(doc)) throw new Error("a PyPI JSON document is a JSON object");
  const info = doc.info;
  if (!isObject(info)) throw new Error(`"info" is missing`);
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
};

export const pypiProvider: Provider = {
  name: "pypi",
  sources: "a PyPI JSON API document, a directory of them, or an index URL (https://pypi.org) with --package NAME",
  sourceKey,
  read: (ctx) => readDocumentsOrRegistry(ctx, pypiApi, "a PyPI JSON file, a directory of them, or an index URL"),
};

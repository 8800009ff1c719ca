/**
 * npm: registry packuments (the document `GET https://registry.npmjs.org/NAME` returns, with
 * `Accept: application/json`): a file, a directory of them, or a registry base URL.
 * The record is the version `dist-tags.latest` names.
 */
import type { WriteItem } from "../../catalog/catalog-store.js";
import { validateId, validatePatch } from "../../model/record.js";
import { readDocumentsOrRegistry, type RegistryApi } from "../documents.js";
import { sourceKey } from "../source-files.js";
import { compactMeta, oneLine, sourceTags, str } from "../text.js";
import type { Provider } from "../types.js";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** npm's `license` is a string, or (old packages) `{type}`, or a `licenses` array of `{type}`. */
function licenseOf(manifest: Record<string, unknown>, doc: Record<string, unknown>): string | undefined {
  for (const value of [manifest.license, doc.license]) {
    if (typeof value === "string" && value.trim()) return value.trim();
    if (isObject(value) && typeof value.type === "string") return value.type;
  }
  const list = manifest.licenses ?? doc.licenses;
  if (Array.isArray(list)) {
    const types = list.map((l) => (isObject(l) ? str(l.type) : str(l))).filter((t): t is string => t !== undefined);
    if (types.length > 0) return types.join(" OR ");
  }
  return undefined;
}

function repositoryOf(value: unknown): string | undefined {
  if (typeof value === "string") return str(value);
  if (isObject(value)) return str(value.url);
  return undefined;
}

/**
 * The abbreviated packument (`Accept: application/vnd.npm.install-v1+json`, what npm's cache
 * holds) has `modified` instead of `time` and no descriptions, licenses or homepages.
 */
export const isAbbreviated = (doc: Record<string, unknown>): boolean => typeof doc.modified === "string" && doc.time === undefined;

export const ABBREVIATED_NOTE =
  "some packuments are abbreviated (application/vnd.npm.install-v1+json): they carry no summary, license, homepage, repository or keywords, so those fields were left as they were; import full packuments (Accept: application/json) to fill them";

/**
 * A packument -> the record of its latest version. Throws with a reason on malformed input. Of an
 * abbreviated packument only what it carries is written, so it never blanks a summary.
 */
export function packumentToItem(doc: unknown, note: (message: string) => void = () => {}): WriteItem {
  if (!isObject(doc)) throw new Error("a packument is a JSON object");
  const name = doc.name;
  if (typeof name !== "string" || name === "") throw new Error(`"name" is missing or not a string`);
  const id = `npm:${name}`;
  validateId(id);
  const time = isObject(doc.time) ? doc.time : {};
  if (isObject(time.unpublished)) throw new Error(`the package was unpublished (${String(time.unpublished.time ?? "")})`.replace(" ()", ""));
  const tags = doc["dist-tags"];
  const latest = isObject(tags) ? tags.latest : undefined;
  if (typeof latest !== "string" || latest === "") throw new Error(`"dist-tags.latest" is missing`);
  const versions = isObject(doc.versions) ? doc.versions : undefined;
  const manifest = versions?.[latest];
  if (!isObject(manifest)) throw new Error(`"versions" has no entry for the latest version ${JSON.stringify(latest)}`);
  const dist = isObject(manifest.dist) ? manifest.dist : {};
  const fromDist = {
    deprecated: oneLine(manifest.deprecated, 500),
    tarball: str(dist.tarball),
    integrity: str(dist.integrity),
    shasum: str(dist.shasum),
    unpackedSize: typeof dist.unpackedSize === "number" ? dist.unpackedSize : undefined,
  };
  if (isAbbreviated(doc)) {
    note(ABBREVIATED_NOTE);
    return { id, patch: validatePatch({ name, version: latest, meta: compactMeta(fromDist) }) };
  }
  const keywords = Array.isArray(manifest.keywords) ? manifest.keywords : typeof manifest.keywords === "string" ? manifest.keywords.split(/[\s,]+/) : [];
  const meta = compactMeta({
    homepage: str(manifest.homepage) ?? str(doc.homepage),
    license: licenseOf(manifest, doc),
    repository: repositoryOf(manifest.repository ?? doc.repository),
    sourceTags: sourceTags(keywords),
    published: str(time[latest]),
    ...fromDist,
  });
  // npm keywords were kept as meta.keywords before they became searchable source tags
  const patch = validatePatch({ name, version: latest, summary: oneLine(manifest.description ?? doc.description) ?? "", meta: { ...meta, keywords: undefined } });
  return { id, patch };
}

/** Scoped names keep their "@" and encode the slash: @types%2Fnode, as the registry expects. */
const encodeName = (name: string) => (name.startsWith("@") ? "@" + encodeURIComponent(name.slice(1)) : encodeURIComponent(name));

export const npmApi: RegistryApi = {
  prefix: "npm",
  nameOfId: (id) => id.slice("npm:".length),
  idOfName: (name) => `npm:${name}`,
  urlFor: (base, name) => `${base}/${encodeName(name)}`,
  parse: packumentToItem,
};

export const npmProvider: Provider = {
  name: "npm",
  sources: "a packument JSON file, a directory of them, or a registry URL (https://registry.npmjs.org) with --package NAME",
  sourceKey,
  read: (ctx) => readDocumentsOrRegistry(ctx, npmApi, "a packument file, a directory of packuments, or a registry URL"),
};

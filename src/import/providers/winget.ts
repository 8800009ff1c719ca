/**
 * WinGet: a directory tree of manifests as in microsoft/winget-pkgs (`manifests/g/Git/Git/2.45.1/`),
 * schema 1.x multi-file manifests (version, installer, defaultLocale and locale files) or singleton
 * manifests. Files are grouped by PackageIdentifier and PackageVersion; each package becomes one
 * record from its highest version (WinGet's ordering, see versions.ts).
 */
import { dirname } from "node:path";
import { parse as parseYaml } from "yaml";
import type { WriteItem } from "../../catalog/catalog-store.js";
import { validateId, validatePatch, type JsonValue } from "../../model/record.js";
import { reasonOf } from "../documents.js";
import { readText, sourceKey, sourceKind, walkFiles } from "../source-files.js";
import { compactMeta, oneLine, sourceTags, str } from "../text.js";
import type { ImportRow, Provider } from "../types.js";
import { compareWingetVersions } from "../versions.js";
import { ShelfError } from "../../errors.js";

type Manifest = Record<string, unknown>;
const MANIFEST_TYPES = new Set(["version", "installer", "defaultLocale", "locale", "singleton", "merged"]);
// The manifest schema's pattern for PackageIdentifier: 2 to 8 dot-separated parts.
const IDENTIFIER_RE = /^[^.\s\\/:*?"<>|\x01-\x1f]{1,32}(\.[^.\s\\/:*?"<>|\x01-\x1f]{1,32}){1,7}$/;

const isObject = (v: unknown): v is Manifest => typeof v === "object" && v !== null && !Array.isArray(v);

/** One manifest file's text -> its checked fields. Throws with a reason. */
export function parseWingetManifest(text: string): Manifest & { PackageIdentifier: string; PackageVersion: string; ManifestType: string } {
  let doc: unknown;
  try {
    // failsafe: every scalar stays a string, so "1.10" is not read as the number 1.1
    doc = parseYaml(text, { schema: "failsafe", maxAliasCount: 100 });
  } catch (err) {
    throw new Error(`it is not valid YAML (${(err as Error).message.split("\n")[0]!.replace(/:$/, "")})`);
  }
  if (!isObject(doc)) throw new Error("a manifest is a YAML mapping");
  const id = doc.PackageIdentifier;
  if (typeof id !== "string" || !IDENTIFIER_RE.test(id)) throw new Error(`PackageIdentifier ${JSON.stringify(id ?? null)} is missing or malformed (expected Publisher.Package)`);
  if (typeof doc.PackageVersion !== "string" || doc.PackageVersion.trim() === "") throw new Error("PackageVersion is missing");
  if (typeof doc.ManifestType !== "string" || !MANIFEST_TYPES.has(doc.ManifestType)) {
    throw new Error(`ManifestType ${JSON.stringify(doc.ManifestType ?? null)} is not one of ${[...MANIFEST_TYPES].join(", ")}`);
  }
  return doc as Manifest & { PackageIdentifier: string; PackageVersion: string; ManifestType: string };
}

/** The manifests of one package version, by type. */
export interface ManifestSet {
  id: string;
  version: string;
  where: string;
  byType: Map<string, Manifest>;
  /** files of this version that could not be read: the version is incomplete */
  broken: boolean;
}

function installersOf(installer: Manifest): JsonValue[] {
  const list = Array.isArray(installer.Installers) ? installer.Installers.filter(isObject) : [];
  return list.slice(0, 20).map((i) =>
    compactMeta({
      architecture: str(i.Architecture),
      type: str(i.InstallerType) ?? str(installer.InstallerType),
      scope: str(i.Scope) ?? str(installer.Scope),
      url: str(i.InstallerUrl),
      sha256: str(i.InstallerSha256)?.toLowerCase(),
    }),
  );
}

/** A complete manifest set -> one record. Throws with a reason when parts are missing. */
export function manifestSetToItem(set: ManifestSet): WriteItem {
  const singleton = set.byType.get("singleton") ?? set.byType.get("merged");
  const version = singleton ?? set.byType.get("version");
  const installer = singleton ?? set.byType.get("installer");
  const locale = singleton ?? set.byType.get("defaultLocale");
  const missing = [!version && "version", !installer && "installer", !locale && "defaultLocale"].filter(Boolean);
  if (missing.length > 0) throw new Error(`version ${set.version} has no ${missing.join(", ")} manifest`);
  const id = `winget:${set.id}`;
  validateId(id);
  const name = str(locale!.PackageName);
  if (!name) throw new Error(`version ${set.version}: PackageName is missing from the ${singleton ? "singleton" : "defaultLocale"} manifest`);
  const tags = Array.isArray(locale!.Tags) ? locale!.Tags : [];
  const meta = compactMeta({
    publisher: oneLine(locale!.Publisher, 256),
    license: oneLine(locale!.License, 256),
    homepage: str(locale!.PackageUrl),
    publisherUrl: str(locale!.PublisherUrl),
    moniker: str(locale!.Moniker),
    sourceTags: sourceTags(tags),
    installers: installersOf(installer!),
    locale: str(version!.DefaultLocale) ?? str(locale!.PackageLocale),
    manifestVersion: str(version!.ManifestVersion),
  });
  // Tags were kept as meta.tags before they became searchable source tags
  const patch = validatePatch({ name, version: set.version, summary: oneLine(locale!.ShortDescription) ?? oneLine(locale!.Description) ?? "", meta: { ...meta, tags: undefined } });
  return { id, patch };
}

/** The newest set of each package, by WinGet's version ordering. */
export function newestSets(sets: Iterable<ManifestSet>): ManifestSet[] {
  const newest = new Map<string, ManifestSet>();
  for (const set of sets) {
    const current = newest.get(set.id);
    if (!current || compareWingetVersions(set.version, current.version) > 0) newest.set(set.id, set);
  }
  return [...newest.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

async function* readWinget(source: string): AsyncGenerator<ImportRow> {
  if ((await sourceKind(source, "a directory of WinGet manifests")) !== "dir") {
    throw new ShelfError("SHELF_E_BAD_INPUT_FILE", `${source} is a file; winget imports a directory tree of manifests`, "give the manifests directory (for example winget-pkgs/manifests)");
  }
  const sets = new Map<string, ManifestSet>();
  // version directories holding a file that could not be read: their version is incomplete
  const brokenDirs = new Set<string>();
  for await (const path of walkFiles(source, (name) => /\.ya?ml$/i.test(name))) {
    const read = await readText(path);
    let manifest;
    try {
      if ("reason" in read) throw new Error(read.reason);
      manifest = parseWingetManifest(read.text);
    } catch (err) {
      yield { ok: false, where: path, reason: reasonOf(err) };
      const dir = dirname(path);
      for (const set of sets.values()) if (set.where === dir) set.broken = true;
      brokenDirs.add(dir);
      continue;
    }
    const key = `${manifest.PackageIdentifier.toLowerCase()}\n${manifest.PackageVersion}`;
    const dir = dirname(path);
    let set = sets.get(key);
    if (!set) sets.set(key, (set = { id: manifest.PackageIdentifier, version: manifest.PackageVersion, where: dir, byType: new Map(), broken: brokenDirs.has(dir) }));
    if (set.byType.has(manifest.ManifestType) && manifest.ManifestType !== "locale") {
      yield { ok: false, where: path, reason: `a second ${manifest.ManifestType} manifest for ${manifest.PackageIdentifier} ${manifest.PackageVersion}`, id: `winget:${set.id}` };
      continue;
    }
    set.byType.set(manifest.ManifestType === "locale" ? `locale:${String(manifest.PackageLocale)}` : manifest.ManifestType, manifest);
  }
  for (const set of newestSets(sets.values())) {
    const id = `winget:${set.id}`;
    if (set.broken) {
      yield { ok: false, where: set.where, reason: `version ${set.version} of ${set.id} has a manifest that could not be read (see above); the record is left as it was`, id };
      continue;
    }
    try {
      yield { ok: true, where: set.where, item: manifestSetToItem(set) };
    } catch (err) {
      yield { ok: false, where: set.where, reason: reasonOf(err), id };
    }
  }
}

export const wingetProvider: Provider = {
  name: "winget",
  sources: "a directory tree of WinGet manifests (winget-pkgs/manifests), schema 1.x",
  sourceKey,
  read: (ctx) => readWinget(ctx.source),
};

/**
 * Figures 9-11, the native importers, in-process on a fresh 256-shard catalog each:
 * 9. import rate per provider, on synthetic documents that follow each format (the fixtures'
 *    shapes, scaled up);
 * 10. a no-change re-import of a large pacman -Qi file: time, and CRDT bytes added (must be 0);
 * 11. a files scan of many small files, cold (everything hashed) and warm (nothing re-hashed).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { CatalogStore } from "../src/catalog/catalog-store.js";
import { runImport, type ImportSummary } from "../src/import/run-import.js";
import { Instance } from "../src/instance.js";
import type { Figure } from "./figures.js";
import { chunkStatsOf, fmtBytes, fmtInt, fmtMs, round, seededRandom } from "./util.js";

export interface ImporterBenchOptions {
  scratch: string;
  log: (message: string) => void;
  /** documents per provider (figure 9) */
  records: number;
  /** records re-imported (figure 10) */
  reimportRecords: number;
  /** files scanned (figure 11) */
  files: number;
}

async function withCatalog<T>(home: string, fn: (store: CatalogStore, instance: Instance) => Promise<T>): Promise<T> {
  const instance = Instance.open(home, { create: true });
  try {
    const store = await CatalogStore.create(instance, "bench");
    return await fn(store, instance);
  } finally {
    await instance.close();
  }
}

const name = (i: number) => `pkg-${i.toString(36).padStart(4, "0")}-${(i * 7919) % 10007}`;

// --- synthetic sources, one per provider, in the fixtures' formats -----------------------------

function npmDir(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const v = `1.${i % 50}.${i % 7}`;
    const doc = {
      _id: name(i),
      name: name(i),
      description: `Synthetic package number ${i} for the import benchmark`,
      "dist-tags": { latest: v },
      versions: { [v]: { name: name(i), version: v, license: "MIT", homepage: `https://example.org/${name(i)}`, repository: { type: "git", url: `git+https://github.com/example/${name(i)}.git` }, keywords: ["bench", "synthetic"], dist: { tarball: `https://registry.npmjs.org/${name(i)}/-/${name(i)}-${v}.tgz`, integrity: `sha512-${i}`, shasum: `${i}`, unpackedSize: 1000 + i } } },
      time: { created: "2024-01-01T00:00:00.000Z", [v]: "2024-02-01T00:00:00.000Z" },
    };
    writeFileSync(join(dir, `${name(i)}.json`), JSON.stringify(doc));
  }
}

function pypiDir(dir: string, n: number): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const doc = {
      info: { name: name(i), version: `0.${i % 30}.${i % 9}`, summary: `Synthetic distribution ${i}`, home_page: `https://example.org/${name(i)}`, license_expression: "MIT", requires_python: ">=3.9", author: "Bench" },
      urls: [{ packagetype: "sdist", url: `https://files.example.org/${name(i)}.tar.gz`, digests: { sha256: i.toString(16).padStart(64, "0") }, upload_time_iso_8601: "2024-05-01T00:00:00Z" }],
    };
    writeFileSync(join(dir, `${name(i)}.json`), JSON.stringify(doc));
  }
}

function wingetTree(dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const id = `Bench.${name(i).replace(/-/g, "")}`;
    const version = `${1 + (i % 5)}.${i % 12}.0`;
    const d = join(dir, "b", "Bench", id.split(".")[1]!, version);
    mkdirSync(d, { recursive: true });
    const head = `PackageIdentifier: ${id}\nPackageVersion: ${version}\n`;
    writeFileSync(join(d, `${id}.yaml`), `${head}DefaultLocale: en-US\nManifestType: version\nManifestVersion: 1.6.0\n`);
    writeFileSync(join(d, `${id}.installer.yaml`), `${head}InstallerType: msi\nInstallers:\n- Architecture: x64\n  InstallerUrl: https://example.org/${id}.msi\n  InstallerSha256: ${i.toString(16).padStart(64, "0")}\nManifestType: installer\nManifestVersion: 1.6.0\n`);
    writeFileSync(join(d, `${id}.locale.en-US.yaml`), `${head}PackageLocale: en-US\nPublisher: Bench\nPackageName: Bench ${i}\nLicense: MIT\nShortDescription: Synthetic package ${i}\nTags:\n- bench\nManifestType: defaultLocale\nManifestVersion: 1.6.0\n`);
  }
}

function chocoFeed(file: string, n: number): void {
  const entries: string[] = [];
  for (let i = 0; i < n; i++) {
    entries.push(`<entry><id>https://example.org/api/v2/Packages(Id='${name(i)}',Version='1.0.${i % 10}')</id><title type="text">${name(i)}</title><summary type="text">Synthetic package ${i}</summary><author><name>Bench</name></author><m:properties><d:Version>1.0.${i % 10}</d:Version><d:Title>Bench ${i}</d:Title><d:Tags xml:space="preserve"> bench synthetic </d:Tags><d:ProjectUrl>https://example.org/${name(i)}</d:ProjectUrl><d:DownloadCount m:type="Edm.Int32">${i}</d:DownloadCount><d:IsLatestVersion m:type="Edm.Boolean">true</d:IsLatestVersion><d:PackageSize m:type="Edm.Int64">${1000 + i}</d:PackageSize></m:properties></entry>`);
  }
  writeFileSync(file, `<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">\n${entries.join("\n")}\n</feed>\n`);
}

function pacmanDb(dir: string, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = `${1 + (i % 9)}.${i % 20}-1`;
    const d = join(dir, `${name(i)}-${v}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "desc"), `%NAME%\n${name(i)}\n\n%VERSION%\n${v}\n\n%DESC%\nSynthetic package ${i}\n\n%URL%\nhttps://example.org/${name(i)}\n\n%ARCH%\nx86_64\n\n%BUILDDATE%\n1719000000\n\n%INSTALLDATE%\n1719100000\n\n%SIZE%\n${1000 + i}\n\n%LICENSE%\nMIT\n\n%DEPENDS%\nglibc\n\n`);
  }
}

/** `pacman -Qi` output for n packages, as one file. */
function pacmanQi(file: string, n: number): void {
  const blocks: string[] = [];
  for (let i = 0; i < n; i++) {
    blocks.push(`Name            : ${name(i)}\nVersion         : ${1 + (i % 9)}.${i % 20}-1\nDescription     : Synthetic package ${i}\nArchitecture    : x86_64\nURL             : https://example.org/${name(i)}\nLicenses        : MIT\nGroups          : None\nDepends On      : glibc\nInstalled Size  : ${(i % 900) + 1}.50 KiB\nInstall Date    : Sun 23 Jun 2024 12:26:40 AM UTC\nInstall Reason  : Explicitly installed\n`);
  }
  writeFileSync(file, blocks.join("\n") + "\n");
}

// --- figures -----------------------------------------------------------------------------------

interface RateRow {
  provider: string;
  source: string;
  records: number;
  ms: number;
  recordsPerSecond: number;
  crdtBytes: number;
}

export async function importRateFigure(o: ImporterBenchOptions): Promise<Figure> {
  const n = o.records;
  const base = join(o.scratch, "importers");
  const sources: [string, string, string, (path: string) => void][] = [
    ["npm", "directory of packuments", join(base, "npm"), (p) => npmDir(p, n)],
    ["pypi", "directory of JSON API documents", join(base, "pypi"), (p) => pypiDir(p, n)],
    ["winget", "manifest tree (3 files a package)", join(base, "winget"), (p) => wingetTree(p, n)],
    ["choco", "one OData feed file", join(base, "choco-feed.xml"), (p) => chocoFeed(p, n)],
    ["pacman", "local database (desc files)", join(base, "pacman"), (p) => pacmanDb(p, n)],
  ];
  const rows: RateRow[] = [];
  for (const [provider, what, path, make] of sources) {
    o.log(`importers: generating ${n} ${provider} documents`);
    mkdirSync(base, { recursive: true });
    make(path);
    o.log(`importers: importing ${provider}`);
    const row = await withCatalog(join(base, `home-${provider}`), async (store, instance) => {
      const before = chunkStatsOf(instance.db).bytes;
      const t = performance.now();
      const s = await runImport(store, { provider, source: path });
      const ms = performance.now() - t;
      if (s.rejected > 0 || s.added !== n) throw new Error(`${provider}: added ${s.added} of ${n}, rejected ${s.rejected}: ${s.rejects[0]?.reason}`);
      return { provider, source: what, records: s.added, ms, recordsPerSecond: s.added / (ms / 1000), crdtBytes: chunkStatsOf(instance.db).bytes - before };
    });
    rows.push(row);
  }
  return {
    key: "importers",
    title: `9. import rate per provider (in-process, ${fmtInt(n)} synthetic documents each, fresh 256-shard catalog)`,
    lines: [],
    table: { head: ["provider", "source", "records", "time", "records/s", "CRDT added"], rows: rows.map((r) => [r.provider, r.source, fmtInt(r.records), fmtMs(r.ms), fmtInt(r.recordsPerSecond), fmtBytes(r.crdtBytes)]) },
    notes: ["time covers reading and parsing the source and writing the records (Automerge change, flush, view) in one run"],
    data: { records: n, rows: rows.map((r) => ({ ...r, ms: round(r.ms), recordsPerSecond: round(r.recordsPerSecond) })) },
  };
}

export async function reimportFigure(o: ImporterBenchOptions): Promise<Figure> {
  const n = o.reimportRecords;
  const file = join(o.scratch, "reimport-qi.txt");
  o.log(`reimport: generating pacman -Qi output for ${n} packages`);
  pacmanQi(file, n);
  const data = await withCatalog(join(o.scratch, "home-reimport"), async (store, instance) => {
    o.log(`reimport: first import of ${n} records`);
    let t = performance.now();
    const first: ImportSummary = await runImport(store, { provider: "pacman", source: file });
    const firstMs = performance.now() - t;
    const before = chunkStatsOf(instance.db);
    o.log("reimport: the same file again");
    t = performance.now();
    const second = await runImport(store, { provider: "pacman", source: file });
    const secondMs = performance.now() - t;
    const after = chunkStatsOf(instance.db);
    return { first, firstMs, second, secondMs, before, after };
  });
  const added = data.after.bytes - data.before.bytes;
  if (data.second.unchanged !== n || added !== 0) throw new Error(`the re-import changed something: ${JSON.stringify({ ...data.second, rejects: undefined })}, ${added} CRDT bytes`);
  return {
    key: "reimport",
    title: `10. no-change re-import (pacman -Qi file of ${fmtInt(n)} packages, in-process)`,
    lines: [
      ["first import", `${fmtMs(data.firstMs)} (${fmtInt(data.first.added)} added, ${fmtInt(data.first.added / (data.firstMs / 1000))} records/s)`],
      ["re-import of the same file", `${fmtMs(data.secondMs)} (${fmtInt(data.second.unchanged)} unchanged, 0 changed)`],
      ["CRDT bytes added by the re-import", `${added} (chunks ${data.before.chunks} -> ${data.after.chunks})`],
      ["CRDT size", fmtBytes(data.after.bytes)],
    ],
    notes: [],
    data: { records: n, firstMs: round(data.firstMs), reimportMs: round(data.secondMs), crdtBytesAdded: added, crdtBytes: data.after.bytes, chunksBefore: data.before.chunks, chunksAfter: data.after.chunks },
  };
}

export async function filescanFigure(o: ImporterBenchOptions): Promise<Figure> {
  const n = o.files;
  const dir = join(o.scratch, "scan");
  o.log(`filescan: writing ${n} files`);
  const rand = seededRandom(0xf11e5);
  const exts = [".txt", ".json", ".png", ".pdf", ".tar.gz", ".md"];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const sub = join(dir, `d${Math.floor(i / 500)}`);
    if (i % 500 === 0) mkdirSync(sub, { recursive: true });
    const size = 256 + Math.floor(rand() * 8192);
    const content = Buffer.alloc(size, i % 251);
    content.writeUInt32LE(i, 0); // distinct contents
    writeFileSync(join(sub, `f${i}${exts[i % exts.length]}`), content);
    bytes += size;
  }
  const data = await withCatalog(join(o.scratch, "home-filescan"), async (store, instance) => {
    let t = performance.now();
    const cold = await runImport(store, { provider: "files", source: dir });
    const coldMs = performance.now() - t;
    const before = chunkStatsOf(instance.db).bytes;
    t = performance.now();
    const warm = await runImport(store, { provider: "files", source: dir });
    const warmMs = performance.now() - t;
    return { cold, coldMs, warm, warmMs, crdtAdded: chunkStatsOf(instance.db).bytes - before };
  });
  return {
    key: "filescan",
    title: `11. files scan of ${fmtInt(n)} files (${fmtBytes(bytes)}), in-process`,
    lines: [
      ["cold (empty cursor)", `${fmtMs(data.coldMs)}: ${fmtInt(data.cold.stats.hashed ?? 0)} hashed, ${fmtInt(data.cold.added)} records added`],
      ["warm (nothing changed)", `${fmtMs(data.warmMs)}: ${fmtInt(data.warm.stats.hashed ?? 0)} hashed, ${fmtInt(data.warm.unchanged)} unchanged, ${data.crdtAdded} CRDT bytes added`],
    ],
    notes: ["the files were just written, so the cold scan reads them from the page cache: on a cold disk it is slower"],
    data: { files: n, bytes, coldMs: round(data.coldMs), warmMs: round(data.warmMs), coldHashed: data.cold.stats.hashed, warmHashed: data.warm.stats.hashed, warmCrdtBytesAdded: data.crdtAdded },
  };
}

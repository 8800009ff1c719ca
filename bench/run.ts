/**
 * shelf's benchmark: prints figures, not pass/fail.
 *
 *   npm run bench -- [--records N] [--only import,search,coldstart,edit,rebuild,shards,conflicts,relay,importers,reimport,filescan,webdav,relaymem,bundle,ops,ui]
 *                    [--shard-records N] [--shards N] [--edits N] [--connections 50,100,200]
 *                    [--importer-records N] [--reimport-records N] [--scan-files N] [--rounds N]
 *                    [--dataset FILE] [--from-home DIR] [--baseline DIR] [--json] [--keep]
 *
 * Reads /work/shared/datasets/npm-packages.tsv.gz (about 227,000 rows) when present, else
 * fixtures/npm-sample.tsv. Figures 1-5 run on one catalog imported by the real CLI; figure 6
 * compares shard counts in-process; figure 7 makes conflicts between two replicas of figure 1's
 * catalog and times the commands that show them; figure 8 runs a relay process, uploads figure 1's
 * catalog, joins it from a fresh home, times edits between two live daemons and fans a change out
 * to many clients. Figures 9-11 (importers, reimport, filescan) run the native importers
 * in-process on synthetic documents in each provider's format; figure 12 syncs figure 1's catalog
 * through a WebDAV folder (up, join, no change, one edit, storage after many rounds with and
 * without compaction); figure 13 (relaymem) measures the relay's memory with a whole catalog on it
 * and 50 live clients; figure 14 (bundle) exports figure 1's catalog as a bundle and imports it into
 * an empty home, twice (with --baseline, also with another revision's CLI); figure 15 (ops) writes
 * the rows into 256 shards in-process, through shelf's record model and write path and as raw
 * Automerge changes (the floor). --from-home starts from a copy of an existing home instead of
 * importing. Figure 16 (ui) times a real `shelf ui` process's pages over HTTP. Progress goes to
 * stderr; stdout holds the table, or with --json one JSON document.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { cpus, loadavg, platform, release, tmpdir, totalmem, arch } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { WriteItem } from "../src/catalog/catalog-store.js";
import { chooseDataset, cutDataset, readItems } from "./dataset.js";
import { coldStartFigure, editFigure, importFigure, rebuildFigure, runImport, searchFigure, type BenchContext, type Figure } from "./figures.js";
import { conflictsFigure } from "./conflicts.js";
import { filescanFigure, importRateFigure, reimportFigure } from "./importers.js";
import { relayFigure } from "./relay.js";
import { relayMemoryFigure } from "./relay-memory.js";
import { webdavFigure } from "./webdav.js";
import { bundleFigure } from "./bundle.js";
import { uiFigure } from "./ui.js";
import { shardsFigure } from "./shards.js";
import { opsFigure } from "./ops.js";
import { fmtBytes, fmtInt, fmtMs, round } from "./util.js";

const FIGURES = ["import", "search", "coldstart", "edit", "rebuild", "shards", "conflicts", "relay", "importers", "reimport", "filescan", "webdav", "relaymem", "bundle", "ops", "ui"] as const;
type FigureName = (typeof FIGURES)[number];
const ALIASES: Record<string, FigureName> = { "cold-start": "coldstart", shard: "shards", "shard-count": "shards", conflict: "conflicts", relays: "relay", importer: "importers", "re-import": "reimport", files: "filescan", dav: "webdav", bundles: "bundle", operations: "ops" };
const NEEDS_IMPORT: FigureName[] = ["import", "search", "coldstart", "edit", "rebuild", "conflicts", "relay", "webdav", "relaymem", "bundle", "ui"];
const DEFAULT_SHARD_RECORDS = 50_000;
const DEFAULT_EDITS = 100;
const DEFAULT_CONNECTIONS = [50, 100, 200];
const DEFAULT_IMPORTER_RECORDS = 5000;
const DEFAULT_REIMPORT_RECORDS = 100_000;
const DEFAULT_SCAN_FILES = 10_000;
const DEFAULT_ROUNDS = 100;
/** issue #10's relay figure: 50 live clients, one edit a second for a minute */
const RELAYMEM_CLIENTS = 50;
const RELAYMEM_SECONDS = 60;

const USAGE = `usage: node dist/bench/run.js [options]
  --records N        use only the first N rows of the dataset (default: all)
  --only a,b         run only these figures: ${FIGURES.join(", ")} (or their numbers 1-13)
  --shard-records N  rows for the shard-count comparison (default ${DEFAULT_SHARD_RECORDS}, at most --records)
  --shards N         the catalog the figures import into is made with \`shelf init --shards N\` (default: shelf's)
  --edits N          relay figure: edits timed from A to B (default ${DEFAULT_EDITS})
  --connections a,b  relay figure: numbers of concurrent clients (default ${DEFAULT_CONNECTIONS.join(",")})
  --importer-records N  importers figure: documents per provider (default ${DEFAULT_IMPORTER_RECORDS})
  --reimport-records N  reimport figure: records imported, then re-imported unchanged (default ${DEFAULT_REIMPORT_RECORDS})
  --scan-files N     filescan figure: files scanned cold and warm (default ${DEFAULT_SCAN_FILES})
  --rounds N         webdav figure: sync rounds before measuring server storage (default ${DEFAULT_ROUNDS})
  --dataset FILE     a TSV (plain or gzip) instead of the shared npm dataset
  --from-home DIR    start from a copy of this shelf home instead of importing the dataset (no import figure)
  --baseline DIR     bundle figure: also run a built checkout of another shelf revision, for comparison
  --json             print one JSON document on stdout instead of the table
  --keep             keep the temporary directory (its path is printed on stderr)`;

class UsageError extends Error {}

interface Options {
  records?: number;
  only: FigureName[];
  shardRecords: number;
  shards?: number;
  edits: number;
  connections: number[];
  importerRecords: number;
  reimportRecords: number;
  scanFiles: number;
  rounds: number;
  dataset?: string;
  fromHome?: string;
  baseline?: string;
  json: boolean;
  keep: boolean;
}

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function parseOptions(argv: string[]): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        records: { type: "string" },
        only: { type: "string" },
        "shard-records": { type: "string" },
        shards: { type: "string" },
        edits: { type: "string" },
        connections: { type: "string" },
        "importer-records": { type: "string" },
        "reimport-records": { type: "string" },
        "scan-files": { type: "string" },
        rounds: { type: "string" },
        dataset: { type: "string" },
        "from-home": { type: "string" },
        baseline: { type: "string" },
        json: { type: "boolean", default: false },
        keep: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return "help";
  let only: FigureName[] = [...FIGURES];
  if (v.only !== undefined) {
    only = v.only
      .split(",")
      .map((s) => s.trim().toLowerCase())
      .filter((s) => s.length > 0)
      .map((s) => {
        const byNumber = /^([1-9]|1[0-3])$/.test(s) ? FIGURES[Number(s) - 1] : undefined;
        const name = byNumber ?? ALIASES[s] ?? (FIGURES as readonly string[]).find((f) => f === s);
        if (!name) throw new UsageError(`--only: unknown figure ${JSON.stringify(s)} (figures: ${FIGURES.join(", ")})`);
        return name as FigureName;
      });
    if (only.length === 0) throw new UsageError("--only: name at least one figure");
  }
  const records = positiveInt("--records", v.records);
  let connections = DEFAULT_CONNECTIONS;
  if (v.connections !== undefined) {
    connections = v.connections
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0)
      .map((s) => positiveInt("--connections", s)!);
    if (connections.length === 0) throw new UsageError("--connections: name at least one number of clients");
  }
  return {
    records,
    only: FIGURES.filter((f) => only.includes(f)),
    shardRecords: positiveInt("--shard-records", v["shard-records"]) ?? DEFAULT_SHARD_RECORDS,
    shards: positiveInt("--shards", v.shards),
    edits: positiveInt("--edits", v.edits) ?? DEFAULT_EDITS,
    connections,
    importerRecords: positiveInt("--importer-records", v["importer-records"]) ?? DEFAULT_IMPORTER_RECORDS,
    reimportRecords: positiveInt("--reimport-records", v["reimport-records"]) ?? DEFAULT_REIMPORT_RECORDS,
    scanFiles: positiveInt("--scan-files", v["scan-files"]) ?? DEFAULT_SCAN_FILES,
    rounds: positiveInt("--rounds", v.rounds) ?? DEFAULT_ROUNDS,
    dataset: v.dataset,
    fromHome: v["from-home"],
    baseline: v.baseline,
    json: v.json === true,
    keep: v.keep === true,
  };
}

/**
 * Other people rebuild dist/ while a long run is under way (`npm test` builds first). So the
 * processes this benchmark starts run a private copy of dist/ taken at the start, beside the
 * project's package.json and a link to its node_modules.
 */
function snapshotDist(root: string, scratch: string): string {
  const app = join(scratch, "app");
  mkdirSync(app, { recursive: true });
  cpSync(join(root, "dist"), join(app, "dist"), { recursive: true });
  cpSync(join(root, "package.json"), join(app, "package.json"));
  symlinkSync(join(root, "node_modules"), join(app, "node_modules"), "dir");
  return app;
}

/** The commit the code was built from, and whether src/ had uncommitted changes. */
function gitRevision(root: string): string {
  try {
    const head = execFileSync("git", ["-C", root, "rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["-C", root, "status", "--porcelain", "--", "src"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return dirty ? `${head} + uncommitted changes in src/` : head;
  } catch {
    return "unknown";
  }
}

/** A copied home keeps its source's modes; a read-only source would give a read-only copy. */
function chmodTree(dir: string): void {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644);
}

function machineInfo() {
  const cpu = cpus();
  return {
    cpuModel: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    totalMemoryBytes: totalmem(),
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    loadAverageAtStart: loadavg().map((l) => round(l)),
  };
}

// ---------------------------------------------------------------------------------------------
// output

function renderFigure(f: Figure): string {
  const out: string[] = [f.title, "-".repeat(Math.min(100, f.title.length))];
  const width = Math.max(0, ...f.lines.map(([label]) => label.length));
  for (const [label, value] of f.lines) out.push(`  ${label.padEnd(width)}  ${value}`);
  if (f.table) {
    if (f.lines.length > 0) out.push("");
    const all = [f.table.head, ...f.table.rows];
    const widths = f.table.head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
    const line = (r: string[]) => "  " + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    out.push(line(f.table.head));
    out.push("  " + widths.map((w) => "-".repeat(w)).join("  "));
    for (const r of f.table.rows) out.push(line(r));
  }
  for (const note of f.notes) out.push(`  note: ${note}`);
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let options: Options | "help";
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (options === "help") {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  const opts = options;
  const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
  const started = Date.now();

  // dist/bench/run.js -> the project root
  const root = fileURLToPath(new URL("../../", import.meta.url));
  if (!existsSync(join(root, "dist", "src", "cli", "main.cjs"))) throw new Error(`${root}dist/src/cli/main.cjs is missing: run \`npm run build\` first`);
  const revision = gitRevision(root);

  const machine = machineInfo();
  const dataset = chooseDataset(root, opts.dataset);
  if (!existsSync(dataset.path)) throw new Error(`dataset ${dataset.path} does not exist`);

  const scratch = mkdtempSync(join(tmpdir(), "shelf-bench-"));
  const cleanup = () => {
    if (!opts.keep) rmSync(scratch, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    cleanup();
    process.stderr.write(`bench: stopped by ${signal}${opts.keep ? `; kept ${scratch}` : ""}\n`);
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const figures: Figure[] = [];
  const failures: FigureName[] = [];
  let datasetRows: number | undefined;
  let setupImport: Record<string, unknown> | undefined;
  try {
    log(`dataset: ${dataset.path} (${dataset.note})`);
    log(`temporary directory: ${scratch}`);
    const app = snapshotDist(root, scratch);
    const cli = join(app, "dist", "src", "cli", "main.cjs");
    const childScript = join(app, "dist", "bench", "shards-child.js");
    let datasetFile = dataset.path;
    if (opts.records !== undefined) {
      datasetFile = join(scratch, `dataset-first-${opts.records}.tsv`);
      datasetRows = await cutDataset(dataset.path, datasetFile, opts.records);
      log(`cut to the first ${datasetRows} rows: ${datasetFile}`);
    }

    let rows: Promise<WriteItem[]> | undefined;
    const ctx: BenchContext = {
      root,
      cli,
      scratch,
      home: join(scratch, "home"),
      datasetFile,
      shards: opts.shards,
      rows: () => (rows ??= readItems(datasetFile).then((r) => r.items)),
      log,
    };

    // A figure that fails is reported as failed; the others still run (unless they need the import).
    const attempt = async (name: FigureName, fn: () => Promise<Figure>) => {
      try {
        figures.push(await fn());
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        log(`${name} FAILED: ${(err as Error)?.stack ?? message}`);
        failures.push(name);
        figures.push({ key: name, title: `${FIGURES.indexOf(name) + 1}. ${name}: FAILED`, lines: [["error", message.split("\n")[0]!]], notes: message.split("\n").slice(1, 6), data: { error: message } });
      }
    };
    let imported = false;
    if (opts.fromHome !== undefined) {
      log(`copying ${opts.fromHome} instead of importing`);
      cpSync(opts.fromHome, ctx.home, { recursive: true });
      chmodTree(ctx.home);
      imported = true;
    } else if (opts.only.some((f) => NEEDS_IMPORT.includes(f))) {
      await attempt("import", async () => {
        const result = await runImport(ctx);
        imported = true;
        datasetRows ??= result.records + result.result.rejected;
        if (!opts.only.includes("import")) {
          setupImport = { wallMs: round(result.wallMs), records: result.records };
          log(`setup import (not a figure): ${result.records} records in ${fmtMs(result.wallMs)}`);
        }
        return importFigure(result);
      });
      if (!opts.only.includes("import") && imported) figures.pop();
    }
    if (imported) {
      if (opts.only.includes("search")) await attempt("search", () => searchFigure(ctx));
      if (opts.only.includes("coldstart")) await attempt("coldstart", () => coldStartFigure(ctx));
      if (opts.only.includes("edit")) await attempt("edit", () => editFigure(ctx));
      if (opts.only.includes("rebuild")) await attempt("rebuild", () => rebuildFigure(ctx));
    }
    if (opts.only.includes("shards")) {
      const records = Math.min(opts.shardRecords, opts.records ?? Infinity);
      await attempt("shards", () => shardsFigure({ childScript, cli, file: datasetFile, records, scratch, keep: opts.keep, log }));
    }
    // Last, because it writes to the imported catalog (its replica A) and copies it.
    if (imported && opts.only.includes("conflicts")) await attempt("conflicts", () => conflictsFigure(ctx));
    // After the conflicts: it adds a remote to A and leaves A's catalog synced with a relay.
    if (imported && opts.only.includes("relay")) await attempt("relay", () => relayFigure(ctx, { edits: opts.edits, connections: opts.connections }));
    // The importers build their own synthetic sources and catalogs.
    const importerOptions = { scratch, log, records: opts.importerRecords, reimportRecords: opts.reimportRecords, files: opts.scanFiles };
    if (opts.only.includes("importers")) await attempt("importers", () => importRateFigure(importerOptions));
    if (opts.only.includes("reimport")) await attempt("reimport", () => reimportFigure(importerOptions));
    if (opts.only.includes("filescan")) await attempt("filescan", () => filescanFigure(importerOptions));
    // Adds WebDAV remotes to A; the relay figure's remote, if any, is left alone.
    if (imported && opts.only.includes("webdav")) await attempt("webdav", () => webdavFigure(ctx, { rounds: opts.rounds }));
    if (imported && opts.only.includes("relaymem")) await attempt("relaymem", () => relayMemoryFigure(ctx, { clients: RELAYMEM_CLIENTS, seconds: RELAYMEM_SECONDS }));
    if (imported && opts.only.includes("bundle")) await attempt("bundle", () => bundleFigure(ctx, { baselineCli: opts.baseline && join(opts.baseline, "dist", "src", "cli", "main.cjs") }));
    if (opts.only.includes("ops")) await attempt("ops", () => opsFigure({ scratch, rows: ctx.rows, log }));
    if (imported && opts.only.includes("ui")) await attempt("ui", () => uiFigure(ctx));
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    cleanup();
    if (opts.keep) log(`kept ${scratch}`);
  }

  const loadAtEnd = loadavg().map((l) => round(l));
  const warnings: string[] = [];
  const busiest = Math.max(machine.loadAverageAtStart[0]!, loadAtEnd[0]!);
  if (busiest > machine.cores * 0.5) {
    warnings.push(`the 1-minute load average reached ${busiest} on ${machine.cores} cores (start ${machine.loadAverageAtStart[0]}, end ${loadAtEnd[0]}): something else was running, so times are inflated`);
  }
  const datasetInfo = {
    path: dataset.path,
    kind: dataset.kind,
    note: dataset.note,
    firstRows: opts.records ?? null,
    rows: datasetRows ?? null,
  };

  if (opts.json) {
    const doc = {
      schemaVersion: 1,
      startedAt: new Date(started).toISOString(),
      revision,
      durationMs: Date.now() - started,
      machine: { ...machine, loadAverageAtEnd: loadAtEnd },
      dataset: datasetInfo,
      options: { records: opts.records ?? null, only: opts.only, shardRecords: opts.shardRecords, edits: opts.edits, connections: opts.connections, importerRecords: opts.importerRecords, reimportRecords: opts.reimportRecords, scanFiles: opts.scanFiles, rounds: opts.rounds },
      ...(setupImport ? { setupImport } : {}),
      figures: Object.fromEntries(figures.map((f) => [f.key, f.data])),
      failed: failures,
      warnings,
    };
    process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
  } else {
    const head = [
      "shelf benchmark",
      "===============",
      `machine   ${machine.cpuModel}, ${machine.cores} cores, ${fmtBytes(machine.totalMemoryBytes)} RAM, node ${machine.node}, ${machine.platform}`,
      `load avg  ${machine.loadAverageAtStart.join(" ")} at start, ${loadAtEnd.join(" ")} at end`,
      `code      ${revision} (processes run a copy of dist/ taken at the start)`,
      `dataset   ${dataset.path} (${dataset.kind}: ${dataset.note})`,
      opts.fromHome !== undefined ? `home      a copy of ${opts.fromHome} (the dataset was not imported)` : `rows      ${datasetRows === undefined ? "all" : fmtInt(datasetRows)}${opts.records !== undefined ? ` (first ${fmtInt(opts.records)} asked; the file is in name order, so a cut is not a random sample)` : ""}`,
      ...(opts.shards !== undefined && opts.fromHome === undefined ? [`shards    ${opts.shards} (shelf init --shards)`] : []),
      `figures   ${opts.only.join(", ")}   (total ${fmtMs(Date.now() - started)})`,
      ...(setupImport ? [`setup     import of ${fmtInt(setupImport.records as number)} records took ${fmtMs(setupImport.wallMs as number)} (not a figure)`] : []),
      ...warnings.map((w) => `WARNING   ${w}`),
      ...(failures.length > 0 ? [`FAILED    ${failures.join(", ")} (details on stderr)`] : []),
    ];
    process.stdout.write([head.join("\n"), ...figures.map(renderFigure)].join("\n\n") + "\n");
  }
  return failures.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
}

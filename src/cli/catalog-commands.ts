/** Catalog-wide commands: init, status, rebuild, export, import-bundle (imports: import-commands.ts). */
import type { Command } from "commander";
import { commandKit, type CliIo, type Opts } from "./command-kit.js";
import type { DoctorReport } from "../commands/doctor.js";
import { formatBytes, formatStatus, printJson, say } from "./render.js";
import { sizeHeapForBulkWork } from "./heap-growth.js";
import { DEFAULT_SHARD_COUNT, MAX_SHARDS, MIN_SHARDS, parseShardCount } from "../model/catalog-doc.js";

export function registerCatalogCommands(program: Command, io: CliIo): void {
  const { out, action, withProgress } = commandKit(io);

  program
    .command("init")
    .description("create a catalog and print its URL")
    .option("--name <name>", "catalog name", "main")
    .option("--shards <n>", `record documents the catalog is split into, fixed for its life (${MIN_SHARDS}-${MAX_SHARDS}; more for a catalog that will hold several hundred thousand records)`, String(DEFAULT_SHARD_COUNT))
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { init } = await import("../commands/catalog.js");
        const result = await init({ ...opts, name: opts.name as string, shards: parseShardCount(opts.shards as string) });
        if (opts.json) printJson(out(opts), { catalog: result });
        else {
          io.stdout.write(result.url + "\n");
          say(out(opts), `created catalog ${result.name} in ${result.home}`);
        }
      }),
    );


  program
    .command("status")
    .description("instance, catalogs, record counts, database")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { status } = await import("../commands/read.js");
        const result = await status(opts);
        if (opts.json) printJson(out(opts), { status: result });
        else io.stdout.write(formatStatus(result) + "\n");
      }),
    );

  program
    .command("rebuild")
    .description("recreate the SQLite view from the CRDT alone")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        await sizeHeapForBulkWork();
        const { rebuild } = await import("../commands/catalog.js");
        const result = await withProgress("rebuild", opts, (bar) => rebuild(opts, bar));
        if (opts.json) printJson(out(opts), { rebuild: result });
        else say(out(opts), `rebuilt ${result.catalog}: ${result.records} records (${result.deleted} deleted) in ${result.ms} ms`);
      }),
    );

  program
    .command("doctor")
    .description("check the home: database integrity, view against CRDT, pending catch-up (exit 1 if damaged)")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { doctor } = await import("../commands/doctor.js");
        const report = await doctor(opts);
        if (opts.json) printJson(out(opts), { doctor: report });
        else io.stdout.write(formatDoctor(report) + "\n");
        // A damaged home is a failure scripts must see; the report itself is still printed.
        if (!report.ok) process.exitCode = 1;
      }),
    );

  program
    .command("export")
    .description("write the catalog to a bundle file (carry it on a USB stick)")
    .argument("<file>", "bundle file to write")
    .option("--json", "print JSON")
    .action(
      action(async (file: string, opts: Opts) => {
        const { exportBundle } = await import("../commands/export.js");
        const result = await withProgress("export", opts, (bar) => exportBundle(file, opts, bar));
        if (opts.json) printJson(out(opts), { export: result });
        else say(out(opts), `wrote ${result.file}: catalog ${result.catalog}, ${result.documents} documents, ${formatBytes(result.bytes)}`);
      }),
    );

  program
    .command("import-bundle")
    .description("merge a bundle file into this instance (creates the instance if needed)")
    .argument("<file>", "bundle file written by `shelf export`")
    .option("--name <name>", "local name for the catalog if it is new here")
    .option("--json", "print JSON")
    .action(
      action(async (file: string, opts: Opts) => {
        await sizeHeapForBulkWork();
        const { importBundle } = await import("../commands/bundle.js");
        const result = await withProgress("import-bundle", opts, (bar) => importBundle(file, opts as never, bar));
        if (opts.json) printJson(out(opts), { importBundle: result });
        else say(out(opts), `${result.newCatalog ? "added" : "merged"} catalog ${result.catalog}: ${result.recordsChanged} records changed, ${result.records} in all`);
      }),
    );

}

function formatDoctor(report: DoctorReport): string {
  const lines = [`home ${report.home}: ${report.ok ? "healthy" : "PROBLEMS FOUND"}`];
  for (const f of report.findings) {
    lines.push(`  ${f.ok ? "ok  " : "FAIL"} ${f.check}: ${f.detail}`);
    for (const p of f.problems) lines.push(`         ${p}`);
  }
  for (const a of report.advice) lines.push(`hint: ${a}`);
  return lines.join("\n");
}

/**
 * Imports: `shelf import PROVIDER SOURCE`, the scheduled imports (`shelf import add|list|history|rm`)
 * and `shelf compare HOST_A HOST_B`. The words add, list, history and rm are never provider names,
 * so `shelf import list` is always the subcommand.
 */
import { Option, type Command } from "commander";
import { ShelfError } from "../errors.js";
import { PROVIDER_NAMES } from "../import/providers/names.js";
import type { ImportSummary } from "../import/run-import.js";
import type { ImportRun } from "../import/cursor-store.js";
import type { ScheduledImport } from "../import/schedule.js";
import type { HostComparison } from "../view/host-compare.js";
import { collect, commandKit, positiveInt, type CliIo, type Opts } from "./command-kit.js";
import { printJson, say } from "./render.js";
import { sizeHeapForBulkWork } from "./heap-growth.js";

const positiveNumber = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new ShelfError("SHELF_E_USAGE", `${name} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
};

/** The flags an import takes, run now or scheduled. */
function importOptions(command: Command): Command {
  return command
    .option("--prune", "tombstone records of this source that are no longer in it (with --as: remove only that host's entry)")
    .option("--as <host>", "pacman: record the packages as installed on HOST (meta host.HOST), for `shelf compare`")
    .option("--package <name>", "npm, pypi registry URL: a package to fetch (repeatable)", collect)
    .option("--packages <file>", "npm, pypi registry URL: a file of package names, one a line")
    .option("--provider <prefix>", "tsv: the id prefix (default npm)")
    .addOption(new Option("--timeout <seconds>", "HTTP: give up on one attempt after this many seconds (default 30)").argParser(positiveNumber("--timeout")))
    .addOption(new Option("--concurrency <n>", "HTTP: requests in flight at once (default 8)").argParser(positiveInt("--concurrency")));
}

export function formatImportSummary(r: ImportSummary): string {
  const changed = r.added + r.updated + r.tombstoned;
  const what = `${r.provider} ${r.source}${r.host ? ` as ${r.host}` : ""}`;
  const head = r.dryRun ? `dry run of ${what}, nothing written: would change ${changed}` : `imported ${what}: ${changed} changed`;
  const lines = [`${head} (added ${r.added}, updated ${r.updated}, tombstoned ${r.tombstoned}), unchanged ${r.unchanged}, rejected ${r.rejected} (${r.ms} ms)`];
  if (r.vanished > 0 && r.tombstoned === 0 && !r.dryRun) {
    lines.push(`${r.vanished} record${r.vanished === 1 ? "" : "s"} of this source ${r.vanished === 1 ? "is" : "are"} no longer in it and ${r.vanished === 1 ? "was" : "were"} kept (run with --prune to tombstone them): ${r.vanishedIds.slice(0, 10).join(", ")}${r.vanished > 10 ? ", ..." : ""}`);
  }
  if (!r.complete) lines.push("part of the source could not be read: nothing was counted as vanished, and --prune removed nothing");
  const stats = Object.entries(r.stats).map(([k, v]) => `${k} ${v}`);
  if (stats.length > 0) lines.push(`(${stats.join(", ")})`);
  return lines.join("\n");
}

function formatRun(run: ImportRun): string {
  const counts = `added ${run.added}, updated ${run.updated}, unchanged ${run.unchanged}, tombstoned ${run.tombstoned}, rejected ${run.rejected}`;
  const who = run.schedule ?? "(by hand)";
  return `${run.startedAt}  ${who}  ${run.provider} ${run.source}${run.host ? ` as ${run.host}` : ""}  ${run.durationMs} ms  ${run.status}: ${run.status === "failed" ? run.error : counts}${run.status === "partial" && run.error ? `\n    ${run.error}` : ""}`;
}

function formatSchedule(s: ScheduledImport): string {
  const options = [s.options.prune ? "--prune" : "", s.options.host ? `--as ${s.options.host}` : "", ...(s.options.packages ?? []).map((p) => `--package ${p}`)].filter(Boolean).join(" ");
  const last = s.lastRun ? `last run ${s.lastRun.startedAt} ${s.lastRun.status}` : "never run";
  return `${s.name}  ${s.provider} ${s.source}${options ? " " + options : ""}  every ${s.every}; next ${s.nextRunAt}; ${last}`;
}

function formatComparison(c: HostComparison): string {
  const lines: string[] = [];
  for (const p of c.onlyA) lines.push(`only on ${c.hostA}: ${p.id} ${p.version ?? ""}`.trimEnd());
  for (const p of c.onlyB) lines.push(`only on ${c.hostB}: ${p.id} ${p.version ?? ""}`.trimEnd());
  for (const p of c.different) lines.push(`different:    ${p.id} ${c.hostA} ${p.versionA ?? "?"}, ${c.hostB} ${p.versionB ?? "?"}`);
  lines.push(`${c.onlyA.length} only on ${c.hostA}, ${c.onlyB.length} only on ${c.hostB}, ${c.different.length} at different versions, ${c.same} the same`);
  return lines.join("\n");
}

export function registerImportCommands(program: Command, io: CliIo): void {
  const { out, action, withProgress } = commandKit(io);

  const importCommand = importOptions(
    program
      .command("import")
      .description(`import records from a provider's own metadata: PROVIDER SOURCE (${PROVIDER_NAMES.join(", ")}); or manage scheduled imports: add, list, history, rm`)
      .argument("<provider>", `one of ${PROVIDER_NAMES.join(", ")}`)
      .argument("<source>", "a file, a directory, or an http(s) URL, depending on the provider (see docs/importers.md)")
      .option("--dry-run", "report what would change, write nothing"),
  )
    .option("--json", "print JSON")
    .action(
      action(async (provider: string, source: string, opts: Opts) => {
        await sizeHeapForBulkWork();
        const { importSource } = await import("../commands/import.js");
        const result = await withProgress("import", opts, (bar) => importSource(provider, source, opts as never, bar));
        for (const note of result.notes) say(out(opts), `note: ${note}`);
        if (opts.json) printJson(out(opts), { import: result });
        else {
          for (const r of result.rejects) say(out(opts), `${r.where}: rejected: ${r.reason}`);
          if (result.rejected > result.rejects.length) say(out(opts), `... and ${result.rejected - result.rejects.length} more rejected`);
          say(out(opts), formatImportSummary(result));
        }
        if (result.rejected > 0) process.exitCode = 1;
      }),
    );

  importOptions(
    importCommand
      .command("add")
      .description("schedule an import that `shelf daemon` runs: NAME PROVIDER SOURCE --every daily|weekly|6h|30m")
      .argument("<name>", "a short name for it")
      .argument("<provider>", `one of ${PROVIDER_NAMES.join(", ")}`)
      .argument("<source>", "a file, a directory or a URL (a relative path is made absolute)")
      .requiredOption("--every <interval>", "how often: 30m, 6h, 2d, hourly, daily, weekly"),
  )
    .option("--json", "print JSON")
    .action(
      action(async (name: string, provider: string, source: string, opts: Opts) => {
        const { importAdd } = await import("../commands/import.js");
        const scheduled = await importAdd(name, provider, source, opts as never);
        if (opts.json) printJson(out(opts), { scheduled });
        else say(out(opts), `scheduled import ${scheduled.name}: ${scheduled.provider} ${scheduled.source} every ${scheduled.every}; \`shelf daemon\` runs it (first run: as soon as it is running)`);
      }),
    );

  importCommand
    .command("list")
    .description("the scheduled imports: source, interval, next run, last run")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { importList } = await import("../commands/import.js");
        const imports = await importList(opts);
        if (opts.json) printJson(out(opts), { count: imports.length, imports });
        else io.stdout.write(imports.map(formatSchedule).join("\n") + (imports.length ? "\n" : ""));
      }),
    );

  importCommand
    .command("history")
    .description("the most recent import runs, newest first: start, duration, counts, status, error")
    .argument("[name]", "only this scheduled import's runs")
    .addOption(new Option("--limit <n>", "how many").argParser(positiveInt("--limit")).default(20))
    .option("--json", "print JSON")
    .action(
      action(async (name: string | undefined, opts: Opts) => {
        const { importHistory } = await import("../commands/import.js");
        const runs = await importHistory(name, opts as never);
        if (opts.json) printJson(out(opts), { count: runs.length, history: runs });
        else io.stdout.write(runs.map(formatRun).join("\n") + (runs.length ? "\n" : ""));
      }),
    );

  importCommand
    .command("rm")
    .description("remove a scheduled import (its records stay)")
    .argument("<name>", "the scheduled import")
    .option("--json", "print JSON")
    .action(
      action(async (name: string, opts: Opts) => {
        const { importRm } = await import("../commands/import.js");
        await importRm(name, opts);
        if (opts.json) printJson(out(opts), { removed: name });
        else say(out(opts), `removed scheduled import ${name}`);
      }),
    );

  program
    .command("compare")
    .description("compare two hosts' packages (imported with `shelf import pacman ... --as HOST`): missing on either side, or at different versions")
    .argument("<hostA>", "a host name given to --as")
    .argument("<hostB>", "another one")
    .option("--provider <provider>", "only records of this provider")
    .option("--json", "print JSON")
    .action(
      action(async (hostA: string, hostB: string, opts: Opts) => {
        const { compare } = await import("../commands/import.js");
        const comparison = await compare(hostA, hostB, opts as never);
        if (opts.json) printJson(out(opts), { compare: comparison });
        else io.stdout.write(formatComparison(comparison) + "\n");
      }),
    );
}

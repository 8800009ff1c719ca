/**
 * The command line: declares every command and its flags, calls the command's function, renders
 * what it returns. No logic lives here; commands are lazy-imported so `shelf search` never loads
 * code it does not use.
 */
import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import { ShelfError } from "../errors.js";
import type { RecordFilter } from "../view/queries.js";
import { formatBytes, formatConflicts, formatHistory, formatRecord, formatRecordTable, formatStatus, formatSyncRun, formatSyncStatus, printJson, say, type Output } from "./render.js";
import { progressBar } from "./progress.js";
import { registerRelayCommands } from "./relay-commands.js";

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

type Opts = Record<string, unknown> & { json?: boolean; home?: string; catalog?: string };

const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ShelfError("SHELF_E_USAGE", `${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

export function buildProgram(io: CliIo): Command {
  const program = new Command("shelf")
    .description("A local-first, peer-to-peer catalog of file and package metadata")
    .version(packageVersion(), "-V, --shelf-version", "print shelf's version")
    .option("--home <dir>", "instance home directory (default: $SHELF_HOME or the platform data directory)")
    .option("--catalog <name|url>", "catalog to use (default: the instance's default catalog)")
    .showHelpAfterError("(run `shelf --help` for usage)")
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  const out = (opts: Opts): Output => ({ json: opts.json === true, stdout: io.stdout, stderr: io.stderr });
  // Every subcommand sees the global flags too, wherever they were written.
  const action = (fn: (...args: any[]) => Promise<void>) =>
    async function (this: Command, ...args: unknown[]) {
      const opts = this.optsWithGlobals() as Opts;
      await fn(...args.slice(0, -2), opts);
    };
  const withProgress = async <T>(label: string, opts: Opts, work: (p: ReturnType<typeof progressBar>) => Promise<T>): Promise<T> => {
    const bar = progressBar(label, opts.json ? ({ isTTY: false } as NodeJS.WriteStream) : io.stderr);
    try {
      return await work(bar);
    } finally {
      bar.stop();
    }
  };

  program
    .command("init")
    .description("create a catalog and print its URL")
    .option("--name <name>", "catalog name", "main")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { init } = await import("../commands/catalog.js");
        const result = await init({ ...opts, name: opts.name as string });
        if (opts.json) printJson(out(opts), { catalog: result });
        else {
          io.stdout.write(result.url + "\n");
          say(out(opts), `created catalog ${result.name} in ${result.home}`);
        }
      }),
    );

  program
    .command("add")
    .description("add a record")
    .argument("<id>", "record id, e.g. npm:react")
    .requiredOption("--name <name>", "display name")
    .option("--kind <kind>", "package or file")
    .option("--version <version>", "version")
    .option("--summary <text>", "one-line summary")
    .option("--tag <tag>", "tag (repeatable)", collect)
    .option("--collection <name>", "collection (repeatable)", collect)
    .option("--meta <key=value>", "metadata; key:=JSON for a JSON value (repeatable)", collect)
    .option("--json", "print JSON")
    .action(
      action(async (id: string, opts: Opts) => {
        const { addRecord } = await import("../commands/records.js");
        printEdit(out(opts), await addRecord(id, opts as never));
      }),
    );

  program
    .command("set")
    .description("edit fields: name=, version=, summary=, kind=, meta.KEY=text, meta.KEY:=JSON")
    .argument("<id>", "record id")
    .argument("<assignments...>", "field=value pairs")
    .option("--json", "print JSON")
    .action(
      action(async (id: string, assignments: string[], opts: Opts) => {
        const { setFields } = await import("../commands/records.js");
        printEdit(out(opts), await setFields(id, assignments, opts));
      }),
    );

  for (const [name, what, fnName] of [
    ["tag", "tags", "changeTags"],
    ["collect", "collections", "changeCollections"],
  ] as const) {
    program
      .command(name)
      .description(`add (+name) or remove (-name) ${what}`)
      .argument("<id>", "record id")
      .argument("<changes...>", `+${name === "tag" ? "tag" : "collection"} or -${name === "tag" ? "tag" : "collection"}`)
      .option("--json", "print JSON")
      // -name must reach the command as an argument, not be taken for an unknown flag
      .allowUnknownOption()
      .action(
        action(async (id: string, changes: string[], opts: Opts) => {
          const commands = await import("../commands/records.js");
          printEdit(out(opts), await commands[fnName](id, changes, opts));
        }),
      );
  }

  for (const [name, description, fnName] of [
    ["rm", "tombstone a record (it stays, marked deleted, and can be restored)", "removeRecord"],
    ["restore", "undo rm", "restoreRecord"],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument("<id>", "record id")
      .option("--json", "print JSON")
      .action(
        action(async (id: string, opts: Opts) => {
          const commands = await import("../commands/records.js");
          printEdit(out(opts), await commands[fnName](id, opts));
        }),
      );
  }

  program
    .command("show")
    .description("show one record")
    .argument("<id>", "record id")
    .option("--json", "print JSON")
    .action(
      action(async (id: string, opts: Opts) => {
        const { showRecord } = await import("../commands/read.js");
        const { record, conflicts } = await showRecord(id, opts);
        if (opts.json) printJson(out(opts), { record, conflicts });
        else io.stdout.write(formatRecord(record) + (conflicts ? "\n" + formatConflicts(conflicts) : "") + "\n");
      }),
    );

  const filterOptions = (cmd: Command, defaultLimit?: number) =>
    cmd
      .option("--provider <provider>", "only this provider")
      .option("--kind <kind>", "only this kind (package, file)")
      .option("--tag <tag>", "only records with this tag")
      .option("--collection <name>", "only records in this collection")
      .option("--include-deleted", "include tombstoned records")
      .addOption(new Option("--limit <n>", "at most n results").argParser(positiveInt("--limit")).default(defaultLimit))
      .option("--json", "print JSON");
  const toFilter = (opts: Opts): RecordFilter => ({
    provider: opts.provider as string | undefined,
    kind: opts.kind as string | undefined,
    tag: opts.tag as string | undefined,
    collection: opts.collection as string | undefined,
    includeDeleted: opts.includeDeleted === true,
    limit: opts.limit as number | undefined,
  });

  filterOptions(program.command("search").description("full-text search over names, summaries and tags").argument("<query...>", "words to search for"), 20).action(
    action(async (words: string[], opts: Opts) => {
      const { search } = await import("../commands/read.js");
      const query = words.join(" ");
      const results = await search(query, toFilter(opts), opts);
      if (opts.json) printJson(out(opts), { query, count: results.length, results });
      else if (results.length === 0) say(out(opts), `no records match ${JSON.stringify(query)}`);
      else io.stdout.write(formatRecordTable(results) + "\n");
    }),
  );

  filterOptions(program.command("list").description("list records, ordered by id")).action(
    action(async (opts: Opts) => {
      const { list } = await import("../commands/read.js");
      const records = await list(toFilter(opts), opts);
      if (opts.json) printJson(out(opts), { count: records.length, records });
      else if (records.length > 0) io.stdout.write(formatRecordTable(records) + "\n");
    }),
  );

  program
    .command("conflicts")
    .description("every record with a conflicted field or an edit made while it was deleted")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { conflicts } = await import("../commands/conflicts.js");
        const records = await conflicts(opts);
        if (opts.json) printJson(out(opts), { count: records.length, conflicts: records });
        else if (records.length === 0) say(out(opts), "no conflicts");
        else io.stdout.write(records.map((r) => `${r.id}${r.deleted ? "  (deleted)" : ""}\n${formatConflicts(r)}`).join("\n\n") + "\n");
      }),
    );

  program
    .command("resolve")
    .description("settle a conflicted field (--pick N or --value V), or an edited-while-deleted record (--restore)")
    .argument("<id>", "record id")
    .argument("[field]", "field: name, version, summary, kind, deleted or meta.KEY")
    .addOption(new Option("--pick <n>", "keep competing value number n (see `shelf show ID`)").argParser(positiveInt("--pick")))
    .option("--value <value>", "write this value instead")
    .option("--restore", "restore a record that was edited while deleted")
    .option("--json", "print JSON")
    .action(
      action(async (id: string, field: string | undefined, opts: Opts) => {
        const { resolve } = await import("../commands/conflicts.js");
        const result = await resolve(id, field, opts as never);
        if (opts.json) printJson(out(opts), { id: result.id, field: result.field, value: result.value, record: result.record, conflicts: result.conflicts ?? null });
        else say(out(opts), `resolved ${result.field} of ${result.id}: ${JSON.stringify(result.value)}`);
      }),
    );

  program
    .command("history")
    .description("every change to a record: when, which instance, which fields, old and new values")
    .argument("<id>", "record id")
    .option("--json", "print JSON")
    .action(
      action(async (id: string, opts: Opts) => {
        const { history } = await import("../commands/conflicts.js");
        const result = await history(id, opts);
        if (opts.json) printJson(out(opts), { id: result.id, count: result.entries.length, history: result.entries });
        else io.stdout.write(formatHistory(result.entries) + "\n");
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
        const { rebuild } = await import("../commands/catalog.js");
        const result = await withProgress("rebuild", opts, (bar) => rebuild(opts, bar));
        if (opts.json) printJson(out(opts), { rebuild: result });
        else say(out(opts), `rebuilt ${result.catalog}: ${result.records} records (${result.deleted} deleted) in ${result.ms} ms`);
      }),
    );

  program
    .command("import")
    .description("import records from a source: tsv FILE (name, version, downloads_a_month, summary; plain or gzip)")
    .argument("<format>", "source format: tsv")
    .argument("<source>", "file to read")
    .option("--provider <provider>", "provider prefix for the ids (tsv)", "npm")
    .option("--dry-run", "report what would change, write nothing")
    .option("--json", "print JSON")
    .action(
      action(async (format: string, source: string, opts: Opts) => {
        const { importSource } = await import("../commands/import.js");
        const result = await withProgress("import", opts, (bar) => importSource(format, source, opts as never, bar));
        if (opts.json) printJson(out(opts), { import: result });
        else {
          for (const r of result.rejects) say(out(opts), `${source}:${r.line}: rejected: ${r.reason}`);
          const verb = result.dryRun ? "would add" : "added";
          say(out(opts), `${verb} ${result.created}, updated ${result.updated}, unchanged ${result.unchanged}, rejected ${result.rejected} (${result.ms} ms)`);
        }
        if (result.rejected > 0) process.exitCode = 1;
      }),
    );

  program
    .command("export")
    .description("write the catalog to a bundle file (carry it on a USB stick)")
    .argument("<file>", "bundle file to write")
    .option("--json", "print JSON")
    .action(
      action(async (file: string, opts: Opts) => {
        const { exportBundle } = await import("../commands/bundle.js");
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
        const { importBundle } = await import("../commands/bundle.js");
        const result = await withProgress("import-bundle", opts, (bar) => importBundle(file, opts as never, bar));
        if (opts.json) printJson(out(opts), { importBundle: result });
        else say(out(opts), `${result.newCatalog ? "added" : "merged"} catalog ${result.catalog}: ${result.recordsChanged} records changed, ${result.records} in all`);
      }),
    );

  const remote = program.command("remote").description("places to sync with: relays (ws:// or wss://)");
  remote
    .command("add")
    .description("add a remote")
    .argument("<name>", "a short name, e.g. team")
    .argument("<url>", "the relay's URL, e.g. ws://relay.example:3030/sync")
    .option("--token <token>", "the token the relay's admin created for this catalog")
    .option("--json", "print JSON")
    .action(
      action(async (name: string, url: string, opts: Opts) => {
        const { remoteAdd } = await import("../commands/sync.js");
        const added = await remoteAdd(name, url, opts as never);
        if (opts.json) printJson(out(opts), { remote: added });
        else say(out(opts), `added remote ${added.name} ${added.url}${added.hasToken ? " (with token)" : ""}`);
      }),
    );
  remote
    .command("list")
    .description("list remotes (tokens are never shown)")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { remoteList } = await import("../commands/sync.js");
        const remotes = await remoteList(opts);
        if (opts.json) printJson(out(opts), { remotes });
        else io.stdout.write(remotes.map((r) => `${r.name}\t${r.url}${r.hasToken ? "\t(token)" : ""}\n`).join(""));
      }),
    );
  remote
    .command("rm")
    .description("remove a remote")
    .argument("<name>", "remote name")
    .option("--json", "print JSON")
    .action(
      action(async (name: string, opts: Opts) => {
        const { remoteRm } = await import("../commands/sync.js");
        await remoteRm(name, opts);
        if (opts.json) printJson(out(opts), { removed: name });
        else say(out(opts), `removed remote ${name}`);
      }),
    );

  const timeoutOption = () => new Option("--timeout <seconds>", "give up after this many seconds").argParser(positiveInt("--timeout")).default(300);
  const syncCommand = program
    .command("sync")
    .description("sync the catalog once with one remote (or all), then exit")
    .argument("[remote]", "remote name (default: every remote)")
    .addOption(timeoutOption())
    .option("--json", "print JSON")
    .action(
      action(async (remoteName: string | undefined, opts: Opts) => {
        const { sync } = await import("../commands/sync.js");
        const result = await withProgress("sync", opts, (bar) => sync(remoteName, { ...opts, timeoutMs: (opts.timeout as number) * 1000 }, bar));
        if (opts.json) printJson(out(opts), { sync: result.reports, failures: result.failures });
        else {
          for (const r of result.reports) {
            say(out(opts), `synced ${r.catalog} with ${r.remote}: ${r.added} added, ${r.updated} updated, ${r.deleted} deleted, ${r.conflicts} records in conflict (${r.durationMs} ms)`);
          }
          for (const f of result.failures) say(out(opts), `shelf: sync with ${f.remote} failed: ${f.error.message}${f.error.hint ? `\nhint: ${f.error.hint}` : ""}`);
        }
        if (result.failures.length > 0) process.exitCode = 1;
      }),
    );
  syncCommand
    .command("status")
    .description("per remote: last sync, last success, last error")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { status } = await import("../commands/sync.js");
        const remotes = await status(opts);
        if (opts.json) printJson(out(opts), { remotes });
        else io.stdout.write(remotes.map(formatSyncStatus).join("\n") + (remotes.length ? "\n" : ""));
      }),
    );
  syncCommand
    .command("history")
    .description("the most recent syncs, newest first")
    .addOption(new Option("--limit <n>", "how many").argParser(positiveInt("--limit")).default(20))
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { history } = await import("../commands/sync.js");
        const runs = await history(opts as never);
        if (opts.json) printJson(out(opts), { count: runs.length, history: runs });
        else io.stdout.write(runs.map(formatSyncRun).join("\n") + (runs.length ? "\n" : ""));
      }),
    );

  syncCommand
    .command("config")
    .description("show or change the sync settings: --enable, --disable, --every INTERVAL (30s, 15m, 1h, daily)")
    .option("--enable", "turn syncing on (the default)")
    .option("--disable", "turn syncing off: `shelf daemon` will not start")
    .option("--every <interval>", "how often scheduled (non-live) syncs run: 30s, 15m, 1h, daily (default 15m)")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { syncConfig, describeSyncConfig } = await import("../commands/daemon.js");
        const config = await syncConfig(opts as never);
        if (opts.json) printJson(out(opts), { config });
        else io.stdout.write(describeSyncConfig(config) + "\n");
      }),
    );

  program
    .command("daemon")
    .description("stay running: sync the catalog live with every relay remote until SIGTERM or SIGINT")
    .action(
      action(async (opts: Opts) => {
        const { daemon } = await import("../commands/daemon.js");
        const log = (line: string) => io.stderr.write(`${new Date().toISOString()} shelf daemon: ${line}\n`);
        await daemon(opts, log);
        // Everything is closed; should a library still hold a timer, do not hang on it.
        setTimeout(() => process.exit(typeof process.exitCode === "number" ? process.exitCode : 0), 3000).unref();
      }),
    );

  program
    .command("join")
    .description("start holding an existing catalog, fetched whole from a relay")
    .argument("<url>", "the catalog's URL (automerge:...)")
    .requiredOption("--relay <url>", "the relay to fetch it from, e.g. ws://HOST:3030/sync")
    .option("--token <token>", "the token for this catalog on that relay")
    .option("--name <name>", "local name for the catalog", "main")
    .option("--remote <name>", "name to keep the relay under as a remote", "origin")
    .addOption(timeoutOption())
    .option("--json", "print JSON")
    .action(
      action(async (url: string, opts: Opts) => {
        const { join } = await import("../commands/sync.js");
        const result = await withProgress("join", opts, (bar) => join(url, { ...(opts as Record<string, never>), timeoutMs: (opts.timeout as number) * 1000 }, bar));
        if (opts.json) printJson(out(opts), { join: result });
        else say(out(opts), `joined ${result.catalog} (${result.url}) from ${result.remote}: ${result.added} records (${result.durationMs} ms)`);
      }),
    );

  registerRelayCommands(program, io);
  return program;
}

function printEdit(out: Output, result: { id: string; outcome: string; record: unknown }): void {
  if (out.json) printJson(out, { id: result.id, outcome: result.outcome, record: result.record });
  else say(out, `${result.outcome} ${result.id}`);
}

function packageVersion(): string {
  // dist/src/cli/program.js -> package.json at the package root
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Remotes, sync (status, history, config), daemon, serve and join. */
import { Option, type Command } from "commander";
import { commandKit, intInRange, positiveInt, type CliIo, type Opts } from "./command-kit.js";
import { formatSyncRun, formatSyncStatus, printJson, say } from "./render.js";
import { keepYoungGenerationSmall, sizeHeapForBulkWork } from "./heap-growth.js";
import type { SyncResult } from "../commands/sync.js";

/** The relay's default port is 3030; a served instance takes the next one. */
const DEFAULT_SERVE_PORT = 3031;

export function registerSyncCommands(program: Command, io: CliIo): void {
  const { out, action, withProgress } = commandKit(io);

  const renderSyncResult = (opts: Opts, result: SyncResult) => {
    // Files a sync could not use are named on stderr whatever the output format.
    for (const r of result.reports) for (const s of "skipped" in r ? r.skipped : []) say(out(opts), `shelf: skipped ${s.file} on ${r.remote}: ${s.reason}`);
    const readOnlyNote = (r: SyncResult["reports"][number]) => say(out(opts), `note: ${r.remote} is read-only for this instance (its token): local edits were not sent`);
    if (opts.json) {
      // a note for people, so stderr in every format
      for (const r of result.reports) if (r.readOnly) readOnlyNote(r);
      printJson(out(opts), { sync: result.reports, failures: result.failures });
    } else {
      for (const r of result.reports) {
        const files = "webdav" in r ? `; ${r.webdav.downloaded} files down, ${r.webdav.uploaded.length} up${r.webdav.compacted ? ", compacted" : ""}` : `; ${r.documents === 0 ? "nothing to exchange" : `${r.documents} documents exchanged`}`;
        say(out(opts), `synced ${r.catalog} with ${r.remote}: ${r.added} added, ${r.updated} updated, ${r.deleted} deleted, ${r.conflicts} records in conflict (${r.durationMs} ms${files})`);
        if (r.readOnly) readOnlyNote(r);
      }
      for (const f of result.failures) say(out(opts), `shelf: sync with ${f.remote} failed: ${f.error.message}${f.error.hint ? `\nhint: ${f.error.hint}` : ""}`);
    }
    // A skipped file is a warning: the sync itself succeeded.
    if (result.failures.length > 0) process.exitCode = 1;
  };

  const remote = program.command("remote").description("places to sync with: relays and served instances (ws:// or wss://), WebDAV folders (webdav+https://)");
  remote
    .command("add")
    .description("add a remote")
    .argument("<name>", "a short name, e.g. team")
    .argument("<url>", "the relay's URL, e.g. ws://relay.example:3030/sync, or a WebDAV folder, e.g. webdav+https://cloud.example/remote.php/dav/files/alice/shelf")
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
        renderSyncResult(opts, result);
      }),
    );
  syncCommand
    .command("compact")
    .description("sync with a WebDAV remote, then replace this instance's files there with one snapshot")
    .argument("<remote>", "a WebDAV remote's name")
    .addOption(timeoutOption())
    .option("--json", "print JSON")
    .action(
      action(async (remoteName: string, opts: Opts) => {
        const { compact } = await import("../commands/sync.js");
        const result = await withProgress("compact", opts, (bar) => compact(remoteName, { ...opts, timeoutMs: (opts.timeout as number) * 1000 }, bar));
        renderSyncResult(opts, result);
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
    .addOption(new Option("--unload-idle-after <seconds>", "drop a shard from memory once it was idle this long and every peer holds it (default 60)").argParser(intInRange("--unload-idle-after", 1, 30 * 86_400)))
    .option("--json", "print errors as JSON (the daemon logs on stderr and prints nothing on stdout)")
    .action(
      action(async (opts: Opts) => {
        await keepYoungGenerationSmall();
        const { daemon } = await import("../commands/daemon.js");
        const log = (line: string) => io.stderr.write(`${new Date().toISOString()} shelf daemon: ${line}\n`);
        await daemon(opts, log);
        // Everything is closed; should a library still hold a timer, do not hang on it.
        setTimeout(() => process.exit(typeof process.exitCode === "number" ? process.exitCode : 0), 3000).unref();
      }),
    );

  program
    .command("serve")
    .description("accept direct sync connections from other instances (no relay needed) until SIGTERM or SIGINT")
    .option("--host <host>", "address to listen on (another than loopback needs --token)", "127.0.0.1")
    .addOption(new Option("--port <port>", "port to listen on (0: any free port)").argParser(intInRange("--port", 0, 65535)).default(DEFAULT_SERVE_PORT))
    .addOption(new Option("--token <token>", "a shared secret peers must present (at least 16 characters)").env("SHELF_SERVE_TOKEN"))
    .addOption(new Option("--max-connections-per-address <n>", "sync connections allowed from one address, and other connections besides them (default 64)").argParser(intInRange("--max-connections-per-address", 1, 1_000_000)))
    .addOption(new Option("--header-timeout <seconds>", "close a request that has not sent its headers within this time (default 10)").argParser(intInRange("--header-timeout", 1, 3600)))
    .addOption(new Option("--unload-idle-after <seconds>", "drop a shard from memory once it was idle this long and every peer holds it (default 60)").argParser(intInRange("--unload-idle-after", 1, 30 * 86_400)))
    .option("--json", 'print the listening line as JSON, {"listening": URL}, and errors as JSON')
    .action(
      action(async (opts: Opts) => {
        await keepYoungGenerationSmall();
        const { serve } = await import("../commands/daemon.js");
        const log = (line: string) => io.stderr.write(`${new Date().toISOString()} shelf serve: ${line}\n`);
        // One line on stdout, for people and scripts: the URL peers add as a remote.
        const announce = (url: string) => io.stdout.write(opts.json ? `${JSON.stringify({ schemaVersion: 1, listening: url })}\n` : `shelf serve listening on ${url}\n`);
        await serve(opts as never, log, announce);
        setTimeout(() => process.exit(typeof process.exitCode === "number" ? process.exitCode : 0), 3000).unref();
      }),
    );

  program
    .command("join")
    .description("start holding an existing catalog, fetched whole from a relay or a WebDAV folder")
    .argument("<url>", "the catalog's URL (automerge:...)")
    .option("--relay <url>", "the relay to fetch it from, e.g. ws://HOST:3030/sync")
    .option("--webdav <url>", "the WebDAV folder to fetch it from, e.g. webdav+https://HOST/PATH")
    .option("--token <token>", "the token for this catalog on that relay")
    .option("--name <name>", "local name for the catalog", "main")
    .option("--remote <name>", "name to keep the relay or folder under as a remote", "origin")
    .addOption(timeoutOption())
    .option("--json", "print JSON")
    .action(
      action(async (url: string, opts: Opts) => {
        await sizeHeapForBulkWork();
        const { join } = await import("../commands/sync.js");
        const result = await withProgress("join", opts, (bar) => join(url, { ...(opts as Record<string, never>), timeoutMs: (opts.timeout as number) * 1000 }, bar));
        for (const s of "skipped" in result ? result.skipped : []) say(out(opts), `shelf: skipped ${s.file} on ${result.remote}: ${s.reason}`);
        if (opts.json) printJson(out(opts), { join: result });
        else say(out(opts), `joined ${result.catalog} (${result.url}) from ${result.remote}: ${result.added} records (${result.durationMs} ms)`);
      }),
    );

}

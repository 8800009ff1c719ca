/**
 * `shelf relay` (run a relay) and `shelf relay token create` (give a client access to one catalog).
 * The relay's code lives in relay/ and is imported only when one of these commands runs.
 *
 * Options of `relay` (--data) and the global --catalog are read with optsWithGlobals(): commander
 * gives an option to the first command that declares it, wherever it is written.
 */
import { Option, type Command } from "commander";
import { join } from "node:path";
import { ShelfError } from "../errors.js";
import { resolveHome } from "../instance.js";
import { commandKit, intInRange, type CliIo } from "./command-kit.js";
import { printJson, say } from "./render.js";
import { keepYoungGenerationSmall } from "./heap-growth.js";

type Opts = Record<string, unknown> & { home?: string; data?: string; json?: boolean; catalog?: string };

const DEFAULT_PORT = 3030;

/** The relay's data directory: --data, else <home>/relay. */
const dataDir = (opts: Opts): string => opts.data ?? join(resolveHome(opts.home), "relay");

export function registerRelayCommands(program: Command, io: CliIo): void {
  const { out } = commandKit(io);

  const relay = program
    .command("relay")
    .description("run a relay that clients sync their catalogs through (see docs/relay.md)")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .addOption(new Option("--port <port>", "port to listen on (0: any free port)").argParser(intInRange("--port", 0, 65535)).default(DEFAULT_PORT))
    .option("--data <dir>", "relay data directory (default: HOME/relay)")
    .addOption(new Option("--max-message-bytes <n>", "largest message accepted").argParser(intInRange("--max-message-bytes", 1024, 1024 ** 3)))
    .addOption(new Option("--max-connections-per-address <n>", "sync connections allowed from one address, and other connections besides them (default 64)").argParser(intInRange("--max-connections-per-address", 1, 1_000_000)))
    .addOption(new Option("--header-timeout <seconds>", "close a request that has not sent its headers within this time (default 10)").argParser(intInRange("--header-timeout", 1, 3600)))
    .addOption(new Option("--unload-idle-after <seconds>", "drop a document from memory once it was idle this long and no connected client pins it (default 60; one every client holds as the relay does goes after 2 s)").argParser(intInRange("--unload-idle-after", 1, 30 * 86_400)))
    .option("--allow-remote-without-tokens", "while the relay has no tokens, serve clients on other machines too (trusted networks only)")
    .option("--upstream <url>", "also sync, as a client, with the relay at this ws:// or wss:// URL (see docs/relay.md)")
    .option("--upstream-token <token>", "the token the upstream relay created for the catalog shared with it")
    .option("--json", 'print the listening line as JSON, {"listening": URL}, and errors as JSON')
    .action(async function (this: Command) {
      const opts = this.optsWithGlobals() as Opts;
      const upstreamUrl = opts.upstream as string | undefined;
      const upstreamToken = opts.upstreamToken as string | undefined;
      if (upstreamToken !== undefined && upstreamUrl === undefined) throw new ShelfError("SHELF_E_USAGE", "--upstream-token needs --upstream URL");
      if (upstreamUrl !== undefined && !/^wss?:\/\/[^/?#\s]+/i.test(upstreamUrl)) {
        throw new ShelfError("SHELF_E_USAGE", `--upstream must be a ws:// or wss:// URL, got ${JSON.stringify(upstreamUrl)}`, "pass the URL the other relay printed, for instance ws://relay1.example:3030/sync");
      }
      await keepYoungGenerationSmall();
      const { startRelay } = await import("../../relay/server.js");
      const running = await startRelay({
        host: opts.host as string,
        port: opts.port as number,
        dataDir: dataDir(opts),
        maxMessageBytes: opts.maxMessageBytes as number | undefined,
        maxConnectionsPerAddress: opts.maxConnectionsPerAddress as number | undefined,
        headerTimeoutMs: opts.headerTimeout === undefined ? undefined : (opts.headerTimeout as number) * 1000,
        allowRemoteWithoutTokens: opts.allowRemoteWithoutTokens === true,
        idleUnloadMs: opts.unloadIdleAfter === undefined ? undefined : (opts.unloadIdleAfter as number) * 1000,
        upstream: upstreamUrl === undefined ? undefined : { url: upstreamUrl, token: upstreamToken },
        stdout: io.stdout,
        json: opts.json === true,
      });
      await running.stopped;
    });

  const token = relay.command("token").description("manage the tokens that give clients access to one catalog each");
  token
    .command("create")
    .description("create a token for one catalog and print it (it is shown only this once)")
    .usage("--catalog URL [--read-only] [--data DIR] [--json]")
    .option("--read-only", "the token may fetch the catalog but not change it")
    .option("--json", "print JSON")
    .action(async function (this: Command) {
      const opts = this.optsWithGlobals() as Opts;
      if (!opts.catalog) throw new ShelfError("SHELF_E_USAGE", "relay token create needs --catalog URL", "pass the catalog's URL (automerge:...), as `shelf init` or `shelf status` print it");
      const { openRelayDb } = await import("../../relay/relay-db.js");
      const { TokenStore, normalizeCatalogUrl } = await import("../../relay/token-store.js");
      const catalog = normalizeCatalogUrl(opts.catalog);
      const dir = dataDir(opts);
      const db = openRelayDb(dir);
      let created: string;
      try {
        created = new TokenStore(db).create(catalog, { readOnly: opts.readOnly === true });
      } finally {
        db.close();
      }
      const readOnly = opts.readOnly === true;
      if (opts.json) printJson(out(opts), { token: created, catalog, readOnly });
      else {
        io.stdout.write(created + "\n");
        say(out(opts), `created a ${readOnly ? "read-only" : "read-write"} token for ${catalog} in ${dir}; it is not stored and will not be shown again`);
      }
    });
}

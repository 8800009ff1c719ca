/** `shelf ui`: the web app over this home. Its code lives in src/ui/ and is loaded only here. */
import { Option, type Command } from "commander";
import { commandKit, intInRange, type CliIo, type Opts } from "./command-kit.js";

export function registerUiCommands(program: Command, io: CliIo): void {
  const { action } = commandKit(io);
  program
    .command("ui")
    .description("a web app over this home: browse and search the catalog, edit records, settle conflicts (see docs/ui.md)")
    .option("--host <host>", "address to listen on (another than loopback needs --token)", "127.0.0.1")
    .addOption(new Option("--port <port>", "port to listen on (0: any free port)").argParser(intInRange("--port", 0, 65535)).default(8384))
    .addOption(new Option("--token <token>", "a shared secret browsers must present once, as ?token= (at least 16 characters)").env("SHELF_UI_TOKEN"))
    .option("--open", "open the app in the desktop's browser")
    .option("--json", 'print the listening line as JSON, {"listening": URL}, and errors as JSON')
    .action(
      action(async (opts: Opts) => {
        const { runUi } = await import("../ui/server.js");
        const log = (line: string) => io.stderr.write(`${new Date().toISOString()} shelf ui: ${line}\n`);
        // One line on stdout, for people and scripts: the URL to open.
        const announce = (url: string) => io.stdout.write(opts.json ? `${JSON.stringify({ schemaVersion: 1, listening: url })}\n` : `shelf ui listening on ${url}\n`);
        await runUi(opts as never, log, announce);
        setTimeout(() => process.exit(typeof process.exitCode === "number" ? process.exitCode : 0), 3000).unref();
      }),
    );
}

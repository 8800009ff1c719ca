/**
 * The command line: declares every command and its flags, calls the command's function, renders
 * what it returns. No logic lives here; commands are lazy-imported so `shelf search` never loads
 * code it does not use. Each group of commands is declared in its own module.
 */
import { Command } from "commander";
import { readFileSync } from "node:fs";
import { registerCatalogCommands } from "./catalog-commands.js";
import type { CliIo } from "./command-kit.js";
import { registerConflictCommands } from "./conflict-commands.js";
import { registerImportCommands } from "./import-commands.js";
import { registerRecordCommands } from "./record-commands.js";
import { registerRelayCommands } from "./relay-commands.js";
import { registerSyncCommands } from "./sync-commands.js";
import { registerUiCommands } from "./ui-commands.js";

export type { CliIo } from "./command-kit.js";

export function buildProgram(io: CliIo): Command {
  const program = new Command("shelf")
    .description("A local-first, peer-to-peer catalog of file and package metadata")
    .version(packageVersion(), "-V, --shelf-version", "print shelf's version")
    .option("--home <dir>", "instance home directory (default: $SHELF_HOME or the platform data directory)")
    .option("--catalog <name|url>", "catalog to use (default: the instance's default catalog)")
    .showHelpAfterError("(run `shelf --help` for usage)")
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  registerCatalogCommands(program, io);
  registerImportCommands(program, io);
  registerRecordCommands(program, io);
  registerConflictCommands(program, io);
  registerSyncCommands(program, io);
  registerRelayCommands(program, io);
  registerUiCommands(program, io);
  return program;
}

function packageVersion(): string {
  // dist/src/cli/program.js -> package.json at the package root
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

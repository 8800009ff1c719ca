#!/usr/bin/env node
/**
 * The one exit point: runs the program and maps every outcome to an exit code
 * (0 success, 1 failure, 2 usage error) and a message that names the cause and the fix.
 */
import { CommanderError } from "commander";
import { ERROR_CODES } from "../errors.js";
import { storageError } from "../store/storage-errors.js";
import { tolerateRepoWaitTimeouts } from "../unhandled-waits.js";
import { buildProgram } from "./program.js";

async function main(argv: string[]): Promise<number> {
  const io = { stdout: process.stdout, stderr: process.stderr };
  const wantsJson = argv.includes("--json");
  try {
    await buildProgram(io).parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message; help and version are not failures
      return err.exitCode === 0 ? 0 : ERROR_CODES.SHELF_E_USAGE.exit;
    }
    // A full disk, a read-only home or a damaged file reach here from anywhere: name them too.
    const known = storageError(err);
    if (known) {
      io.stderr.write(`shelf: ${known.message}\n`);
      if (known.hint) io.stderr.write(`hint: ${known.hint}\n`);
      if (wantsJson) io.stdout.write(JSON.stringify({ schemaVersion: 1, error: known.toJSON() }, null, 2) + "\n");
      return known.exitCode;
    }
    io.stderr.write(`shelf: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    io.stderr.write("This should never happen. Please report it with the command you ran and the output above.\n");
    // --json still gets one JSON document, so a script sees the failure as it sees any other.
    if (wantsJson) io.stdout.write(JSON.stringify({ schemaVersion: 1, error: { code: "SHELF_E_INTERNAL", message: String((err as Error)?.message ?? err) } }, null, 2) + "\n");
    return ERROR_CODES.SHELF_E_INTERNAL.exit;
  }
}

// Libraries log with console.log (automerge-repo does, when a sync it started fails): stdout
// carries only the command's own output, so that --json stays one JSON document.
console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
// A reader that stops early (`shelf list | head`) closes the pipe: the command still finishes
// its work, and its further output goes nowhere instead of crashing it with EPIPE.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.stdout.write = () => true;
});
tolerateRepoWaitTimeouts((message) => process.stderr.write(`shelf: warning: ${message}\n`));
// Exit only once pending output is written; process.exit would cut a piped stdout short.
void main(process.argv).then((code) => {
  process.exitCode = code;
  // A command that has finished must not linger for a timer a library left behind (automerge-repo
  // keeps waiting up to a minute for a document it failed to load): once output is written, go.
  setTimeout(() => process.stdout.write("", () => process.exit()), 1000).unref();
});

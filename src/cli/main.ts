#!/usr/bin/env node
/**
 * The one exit point: runs the program and maps every outcome to an exit code
 * (0 success, 1 failure, 2 usage error) and a message that names the cause and the fix.
 */
import { CommanderError } from "commander";
import { ERROR_CODES, isShelfError } from "../errors.js";
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
    if (isShelfError(err)) {
      io.stderr.write(`shelf: ${err.message}\n`);
      if (err.hint) io.stderr.write(`hint: ${err.hint}\n`);
      if (wantsJson) io.stdout.write(JSON.stringify({ schemaVersion: 1, error: err.toJSON() }, null, 2) + "\n");
      return err.exitCode;
    }
    io.stderr.write(`shelf: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    io.stderr.write("This should never happen. Please report it with the command you ran and the output above.\n");
    return ERROR_CODES.SHELF_E_INTERNAL.exit;
  }
}

// Libraries log with console.log (automerge-repo does, when a sync it started fails): stdout
// carries only the command's own output, so that --json stays one JSON document.
console.log = console.info = console.debug = (...args: unknown[]) => console.error(...args);
tolerateRepoWaitTimeouts((message) => process.stderr.write(`shelf: warning: ${message}\n`));
// Exit only once pending output is written; process.exit would cut a piped stdout short.
process.exitCode = await main(process.argv);

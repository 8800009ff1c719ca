/**
 * Running the real, built CLI (dist/src/cli/main.cjs) as a child process, the way a user would.
 * `npm test` builds first (pretest); when running vitest by hand, run `npm run build` before.
 *
 * No shell is involved: arguments go to the process exactly as given, so hostile strings
 * (quotes, `--`, emoji) reach shelf unchanged.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "vitest";

export const ROOT = join(import.meta.dirname, "..", "..");
export const CLI = join(ROOT, "dist", "src", "cli", "main.cjs");
export const FIXTURES = join(ROOT, "fixtures");

export interface CliResult {
  /** exit code, or null when the process was killed by a signal */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before these tests`);
}

/** The environment for every run: no SHELF_HOME from the developer's shell, no colours. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.SHELF_HOME;
  return env;
}

/** Flags for node itself (before main.cjs), and variables added to the child's environment. */
export interface NodeOptions {
  nodeArgs?: string[];
  env?: Record<string, string>;
  /** run under `ulimit -n` (POSIX only), as on a small server */
  maxOpenFiles?: number;
}

/** Starts `node main.cjs ...args` with piped stdio; for tests that must kill it midway. */
export function startCli(args: string[], { nodeArgs = [], env = {}, maxOpenFiles }: NodeOptions = {}): ChildProcess {
  assertBuilt();
  const argv = [...nodeArgs, CLI, ...args];
  const options: SpawnOptions = { cwd: ROOT, env: { ...childEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] };
  // ulimit needs a shell; `exec "$0" "$@"` then runs node with the arguments exactly as given
  if (maxOpenFiles !== undefined) return spawn("/bin/sh", ["-c", `ulimit -n ${Math.floor(maxOpenFiles)} && exec "$0" "$@"`, process.execPath, ...argv], options);
  return spawn(process.execPath, argv, options);
}

/** Collects a started process's output and waits for it to end. */
export function finished(child: ChildProcess): Promise<CliResult> {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on("data", (b: Buffer) => stdout.push(b));
  child.stderr?.on("data", (b: Buffer) => stderr.push(b));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") }),
    );
  });
}

/** Runs the CLI with exactly these arguments (no --home added). */
export function runCli(args: string[]): Promise<CliResult> {
  return finished(startCli(args));
}

/** Runs `shelf --home HOME ...args`. */
export function shelf(home: string, ...args: string[]): Promise<CliResult> {
  return runCli(["--home", home, ...args]);
}

/** Parses stdout as one JSON document; fails the test, showing the output, when it is not one. */
export function parseJson<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch (err) {
    throw new Error(`stdout is not one JSON document (${(err as Error).message}); exit ${result.code}\nstdout: ${result.stdout.slice(0, 2000)}\nstderr: ${result.stderr.slice(0, 2000)}`);
  }
}

/** Runs a command that must succeed and returns its parsed `--json` output (`--json` is added). */
export async function shelfJson<T = any>(home: string, ...args: string[]): Promise<T> {
  const result = await shelf(home, ...args, "--json");
  expectExit(result, 0);
  const json = parseJson<T & { schemaVersion: number }>(result);
  expect(json.schemaVersion).toBe(1);
  return json;
}

/** Asserts the exit code, showing stderr in the failure message. */
export function expectExit(result: CliResult, code: number): void {
  expect(result.code, `exit code (signal ${result.signal})\nstderr: ${result.stderr}\nstdout: ${result.stdout.slice(0, 1000)}`).toBe(code);
}

/** Asserts a failed `--json` command: the exit code, and a JSON error document with this code. */
export function expectJsonError(result: CliResult, exit: number, code: string): { code: string; message: string; hint?: string } {
  expectExit(result, exit);
  const json = parseJson<{ schemaVersion: number; error: { code: string; message: string; hint?: string } }>(result);
  expect(json.schemaVersion).toBe(1);
  expect(json.error.code).toBe(code);
  expect(result.stderr).toContain(json.error.message);
  return json.error;
}

/**
 * A temporary directory for a whole describe block (created in beforeAll, removed by the returned
 * cleanup in afterAll). Per-test directories use tempDir() from temp-home.ts instead.
 */
export function makeTempDir(prefix = "shelf-cli-"): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The size of the CRDT store of an instance, read from its database file opened read-only. */
export function crdtSize(home: string): { chunks: number; bytes: number } {
  const db = new Database(join(home, "shelf.db"), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT count(*) AS chunks, coalesce(sum(length(data)), 0) AS bytes FROM crdt_chunks").get() as { chunks: number; bytes: number };
    return { chunks: row.chunks, bytes: row.bytes };
  } finally {
    db.close();
  }
}

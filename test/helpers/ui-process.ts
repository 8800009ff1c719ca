/**
 * `shelf ui` (the built CLI) in a child process, started on a free port and waited for until it
 * prints its listening line (`{"schemaVersion":1,"listening":"http://HOST:PORT/"}`).
 */
import type { ChildProcess } from "node:child_process";
import type { CliResult } from "./cli.js";
import { startListening } from "./listening-process.js";

export interface UiProcess {
  /** http://127.0.0.1:PORT/ */
  url: string;
  child: ChildProcess;
  exited: Promise<CliResult>;
  /** sends `signal` and waits for the process to end (SIGKILL after timeoutMs) */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<CliResult>;
}

const LISTENING = /^\{"schemaVersion":1,"listening":"(http:\/\/\S+?)"\}$/m;

export async function startUiProcess(home: string, args: string[] = [], timeoutMs = 120_000): Promise<UiProcess> {
  const { match, ...process } = await startListening(["--home", home, "ui", "--port", "0", "--json", ...args], "ui", LISTENING, timeoutMs);
  return { ...process, url: match[1]! };
}

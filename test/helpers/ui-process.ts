/**
 * `shelf ui` (the built CLI) in a child process, started on a free port and waited for until it
 * prints its listening line (`{"schemaVersion":1,"listening":"http://HOST:PORT/"}`).
 */
import type { ChildProcess } from "node:child_process";
import { finished, startCli, type CliResult } from "./cli.js";

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
  const child = startCli(["--home", home, "ui", "--port", "0", "--json", ...args]);
  const exited = finished(child);
  let stdout = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => done(() => reject(new Error(`shelf ui did not print its listening line within ${timeoutMs} ms; stdout so far: ${stdout}`))), timeoutMs);
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const match = LISTENING.exec(stdout);
      if (match) done(() => resolve(match[1]!));
    };
    const done = (settle: () => void) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      settle();
    };
    child.stdout?.on("data", onData);
    void exited.then((result) => done(() => reject(new Error(`shelf ui exited (code ${result.code}, signal ${result.signal}) before listening\nstderr: ${result.stderr.slice(0, 2000)}`))));
  });
  return {
    url,
    child,
    exited,
    async stop(signal = "SIGTERM", stopTimeoutMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

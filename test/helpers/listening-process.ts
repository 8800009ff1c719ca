/**
 * A long-running command of the built CLI (`relay`, `serve`, `ui`) in a child process, waited for
 * until it prints its listening line. Every wait is bounded: a command that does not start fails
 * the test with what it printed instead of hanging it.
 */
import type { ChildProcess } from "node:child_process";
import { finished, startCli, type CliResult, type NodeOptions } from "./cli.js";

export interface ListeningProcess {
  child: ChildProcess;
  /** resolves when the process has ended, with its output */
  exited: Promise<CliResult>;
  /**
   * Sends `signal` and waits for the process to end. SIGKILL after timeoutMs is only for a process
   * that hangs: a graceful stop on a busy machine (CI shares two cores) took over ten seconds.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<CliResult>;
}

/** Runs the CLI with `args` until a line of its stdout matches `listening`; returns that match. */
export async function startListening(
  args: string[],
  what: string,
  listening: RegExp,
  timeoutMs: number,
  node: NodeOptions = {},
): Promise<ListeningProcess & { match: RegExpExecArray }> {
  const child = startCli(args, node);
  const exited = finished(child);
  let stdout = "";
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`shelf ${what} did not print its listening line within ${timeoutMs} ms; stdout so far: ${stdout}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      const found = listening.exec(stdout);
      if (found) done(() => resolve(found));
    };
    const fail = (error: Error) => done(() => reject(error));
    const done = (settle: () => void) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      settle();
    };
    child.stdout?.on("data", onData);
    void exited.then((result) => {
      fail(new Error(`shelf ${what} exited (code ${result.code}, signal ${result.signal}) before listening\nstderr: ${result.stderr.slice(0, 2000)}`));
    });
  });
  return {
    match,
    child,
    exited,
    async stop(signal = "SIGTERM", stopTimeoutMs = 60_000) {
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

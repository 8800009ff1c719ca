/**
 * Runs a child process and measures it: wall time from spawn to exit, and optionally the child's
 * peak resident set size, from GNU time (`/usr/bin/time -f %M`) when it exists, else by polling
 * VmHWM in /proc/<pid>/status (Linux) while the child runs.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

const GNU_TIME = "/usr/bin/time";

export interface ChildRun {
  command: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  wallMs: number;
  stdout: string;
  stderr: string;
  /** peak RSS of the child in bytes, when measured */
  peakRssBytes?: number;
  rssMethod?: "gnu-time" | "proc-vmhwm" | "unavailable";
}

export interface RunOptions {
  /** measure the child's peak RSS */
  rss?: boolean;
  /** a scratch directory for GNU time's output file */
  scratch: string;
  env?: NodeJS.ProcessEnv;
}

let counter = 0;

export async function runChild(command: string[], options: RunOptions): Promise<ChildRun> {
  const [file, ...args] = command;
  if (!file) throw new Error("runChild: empty command");
  let spawnFile = file;
  let spawnArgs = args;
  let timeFile: string | undefined;
  let rssMethod: ChildRun["rssMethod"];
  if (options.rss) {
    if (existsSync(GNU_TIME)) {
      timeFile = join(options.scratch, `time-${process.pid}-${++counter}.txt`);
      // -o keeps GNU time's report out of the child's own stderr
      spawnFile = GNU_TIME;
      spawnArgs = ["-f", "%M", "-o", timeFile, file, ...args];
      rssMethod = "gnu-time";
    } else if (existsSync("/proc/self/status")) {
      rssMethod = "proc-vmhwm";
    } else {
      rssMethod = "unavailable";
    }
  }

  const started = performance.now();
  const child = spawn(spawnFile, spawnArgs, { stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));

  let polledKb = 0;
  let poller: NodeJS.Timeout | undefined;
  if (rssMethod === "proc-vmhwm" && child.pid !== undefined) {
    const statusPath = `/proc/${child.pid}/status`;
    const poll = () => {
      try {
        const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(statusPath, "utf8"));
        if (m) polledKb = Math.max(polledKb, Number(m[1]));
      } catch {
        // the child has exited between polls
      }
    };
    poll();
    poller = setInterval(poll, 10);
  }

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const wallMs = performance.now() - started;
  if (poller) clearInterval(poller);

  const run: ChildRun = { command, code, signal, wallMs, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
  if (rssMethod === "gnu-time" && timeFile) {
    try {
      // the last line is %M; a "Command exited with non-zero status" line may precede it
      const lines = readFileSync(timeFile, "utf8").trim().split("\n");
      const kb = Number(lines[lines.length - 1]);
      if (Number.isFinite(kb)) run.peakRssBytes = kb * 1024;
    } catch {
      // no report: leave it unmeasured
    }
    rmSync(timeFile, { force: true });
  } else if (rssMethod === "proc-vmhwm" && polledKb > 0) {
    run.peakRssBytes = polledKb * 1024;
  }
  if (rssMethod) run.rssMethod = run.peakRssBytes === undefined ? "unavailable" : rssMethod;
  return run;
}

/** Throws with the child's stderr when it did not exit with one of `okCodes`. */
export function expectExit(run: ChildRun, okCodes: number[] = [0]): ChildRun {
  if (run.code === null || !okCodes.includes(run.code)) {
    const tail = run.stderr.trim().split("\n").slice(-15).join("\n");
    throw new Error(`command failed (exit ${run.code ?? run.signal}): ${run.command.join(" ")}\n${tail}`);
  }
  return run;
}

/** The one JSON document a shelf command printed with --json. */
export function parseJsonOutput<T>(run: ChildRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`expected one JSON document on stdout of ${run.command.join(" ")}, got: ${run.stdout.slice(0, 300)}\nstderr: ${run.stderr.slice(0, 500)}`);
  }
}

/**
 * What every command module shares: the global flags seen from any subcommand, where output goes,
 * option parsers, and progress bars on stderr for long work.
 */
import type { Command } from "commander";
import { ShelfError } from "../errors.js";
import type { ProgressReporter } from "./progress.js";
import type { Output } from "./render.js";

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export type Opts = Record<string, unknown> & { json?: boolean; home?: string; catalog?: string };

export const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ShelfError("SHELF_E_USAGE", `${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
};

export const intInRange = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ShelfError("SHELF_E_USAGE", `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return n;
};

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function commandKit(io: CliIo) {
  const out = (opts: Opts): Output => ({ json: opts.json === true, stdout: io.stdout, stderr: io.stderr });
  // Every subcommand sees the global flags too, wherever they were written.
  const action = (fn: (...args: any[]) => Promise<void>) =>
    async function (this: Command, ...args: unknown[]) {
      const opts = this.optsWithGlobals() as Opts;
      opts.warn = (message: string) => void io.stderr.write(`shelf: warning: ${message}\n`);
      await fn(...args.slice(0, -2), opts);
    };
  const withProgress = async <T>(label: string, opts: Opts, work: (p: ProgressReporter) => Promise<T>): Promise<T> => {
    // Only long commands draw progress, and only on a terminal: only then is the bar's library
    // loaded (33 million instructions, which a scripted sync or import need not pay).
    const drawn = !opts.json && io.stderr.isTTY === true;
    const bar = drawn ? (await import("./progress.js")).progressBar(label, io.stderr) : Object.assign(() => {}, { stop() {} });
    try {
      return await work(bar);
    } finally {
      bar.stop();
    }
  };
  return { out, action, withProgress };
}

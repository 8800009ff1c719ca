/**
 * Scheduled work for `shelf daemon`: a job run at start and then every `everyMs`, never two runs
 * at once, until the signal aborts; a run in progress then finishes (its own timeout bounds it).
 * A failing run is logged and retried at the next tick.
 */
export interface ScheduledJob {
  name: string;
  run(): Promise<string>;
}

export function schedule(jobs: ScheduledJob[], everyMs: number, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let running: Promise<void> | undefined;
    const tick = () => {
      if (running || signal.aborted) return;
      running = (async () => {
        for (const job of jobs) {
          if (signal.aborted) break;
          try {
            log(`${job.name}: ${await job.run()}`);
          } catch (err) {
            log(`error: ${job.name} failed, will retry in ${Math.round(everyMs / 1000)} s: ${(err as Error)?.message ?? err}`);
          }
        }
      })().finally(() => (running = undefined));
    };
    const timer = setInterval(tick, everyMs);
    tick();
    const stop = async () => {
      clearInterval(timer);
      await running;
      resolve();
    };
    if (signal.aborted) void stop();
    else signal.addEventListener("abort", () => void stop(), { once: true });
  });
}

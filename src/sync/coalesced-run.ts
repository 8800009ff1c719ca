/**
 * A task run on request, coalesced: one run at a time, one more if requested meanwhile, and at
 * most one run that did work every `intervalMs`. The first request after a quiet spell runs at
 * once, and so does one after a run that found nothing to do: the daemon's first materialization
 * of a shard loaded for a peer's announced change finds nothing, and the change arrives a few
 * milliseconds later. A failed run is tried again after the interval.
 */
export type RunOutcome = "worked" | "idle" | "failed";

export class CoalescedRun {
  readonly #task: () => Promise<RunOutcome>;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;
  #lastWorked = -Infinity;
  #again = false;
  #stopped = false;

  constructor(task: () => Promise<RunOutcome>, intervalMs: number) {
    this.#task = task;
    this.#intervalMs = intervalMs;
  }

  /** Whether a run is under way or due. */
  get busy(): boolean {
    return this.#running !== undefined || this.#timer !== undefined;
  }

  request(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => this.#run(), Math.max(0, this.#lastWorked + this.#intervalMs - performance.now()));
  }

  /** No more runs; resolves once the one under way, if any, has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#running) await this.#running;
  }

  #run(): void {
    this.#timer = undefined;
    const started = performance.now();
    this.#running = this.#task()
      .catch((): RunOutcome => "failed")
      .then((outcome) => {
        if (outcome !== "idle") this.#lastWorked = started;
        if (outcome === "failed") this.#again = true;
      })
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.request();
        }
      });
  }
}

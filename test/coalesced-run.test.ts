import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CoalescedRun, type RunOutcome } from "../src/sync/coalesced-run.js";

/** A task whose runs are recorded with the fake clock's time, each ending with the next outcome. */
function recordedTask(outcomes: RunOutcome[]) {
  const startedAt: number[] = [];
  const task = async (): Promise<RunOutcome> => {
    startedAt.push(performance.now());
    await new Promise((resolve) => setTimeout(resolve, 5));
    return outcomes.shift() ?? "idle";
  };
  return { task, startedAt };
}

describe("CoalescedRun", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs the first request at once and folds requests made during a run into one more run", async () => {
    const { task, startedAt } = recordedTask(["worked", "worked"]);
    const run = new CoalescedRun(task, 50);
    run.request();
    await vi.advanceTimersByTimeAsync(1);
    run.request();
    run.request();
    run.request();
    await vi.advanceTimersByTimeAsync(200);
    expect(startedAt).toEqual([0, 50]);
    expect(run.busy).toBe(false);
  });

  it("does not hold back the next run after a run that found nothing to do", async () => {
    const { task, startedAt } = recordedTask(["idle", "worked", "worked"]);
    const run = new CoalescedRun(task, 50);
    run.request();
    await vi.advanceTimersByTimeAsync(2);
    run.request(); // the change arrives while the idle run is under way
    await vi.advanceTimersByTimeAsync(5);
    run.request(); // and another while the run that took it is under way
    await vi.advanceTimersByTimeAsync(200);
    // the second run starts as soon as the idle one ends (at 5 ms, in the next timer turn); the
    // third waits for the interval after the second, which did work
    expect(startedAt).toHaveLength(3);
    expect(startedAt[1]).toBeLessThan(10);
    expect(startedAt[2]! - startedAt[1]!).toBe(50);
  });

  it("tries a failed run again after the interval, and a throwing task counts as failed", async () => {
    let calls = 0;
    const startedAt: number[] = [];
    const run = new CoalescedRun(async () => {
      startedAt.push(performance.now());
      calls++;
      if (calls === 1) return "failed";
      if (calls === 2) throw new Error("disk full");
      return "worked";
    }, 50);
    run.request();
    await vi.advanceTimersByTimeAsync(500);
    expect(startedAt).toEqual([0, 50, 100]);
  });

  it("runs nothing once stopped, and stop waits for the run under way", async () => {
    const { task, startedAt } = recordedTask(["worked"]);
    const run = new CoalescedRun(task, 50);
    run.request();
    await vi.advanceTimersByTimeAsync(1);
    run.request();
    let stopped = false;
    const stopping = run.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(2);
    expect(stopped).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    await stopping;
    run.request();
    await vi.advanceTimersByTimeAsync(200);
    expect(startedAt).toEqual([0]);
    expect(run.busy).toBe(false);
  });
});

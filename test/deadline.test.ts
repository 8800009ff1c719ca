/**
 * The sync timeout: it must fire even after garbage collection (Node 20's AbortSignal.any() lets a
 * collected AbortSignal.timeout() never fire, which left `shelf sync --timeout` waiting for ever).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { deadline } from "../src/protocol/deadline.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("deadline", () => {
  it("aborts with a TimeoutError once the time is up, garbage collection or not", async () => {
    const limit = deadline(150);
    gc();
    await sleep(40);
    gc();
    await sleep(300);
    expect(limit.signal.aborted).toBe(true);
    expect((limit.signal.reason as Error).name).toBe("TimeoutError");
  });

  it("aborts with another signal's reason, and not after dispose()", async () => {
    const other = new AbortController();
    const limit = deadline(10_000, [other.signal]);
    other.abort(new Error("refused"));
    expect((limit.signal.reason as Error).message).toBe("refused");

    const disposed = deadline(50);
    disposed.dispose();
    await sleep(120);
    expect(disposed.signal.aborted).toBe(false);
  });
});

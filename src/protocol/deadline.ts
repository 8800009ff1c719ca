/**
 * A signal that aborts once `ms` have passed (with a TimeoutError, as AbortSignal.timeout does) or
 * when any of `signals` aborts. Node 20's AbortSignal.any() holds an AbortSignal.timeout() only
 * weakly: once garbage-collected, that timeout never fires, and a sync would wait for ever.
 * Here a plain timer holds it; dispose() clears the timer and the listeners.
 */
export interface Deadline {
  signal: AbortSignal;
  dispose(): void;
}

export function deadline(ms: number, signals: AbortSignal[] = []): Deadline {
  const controller = new AbortController();
  const abortWith = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const timer = setTimeout(() => abortWith(new DOMException(`no result within ${ms} ms`, "TimeoutError")), ms);
  const listeners = signals.map((source) => {
    const onAbort = () => abortWith(source.reason);
    if (source.aborted) onAbort();
    else source.addEventListener("abort", onAbort, { once: true });
    return () => source.removeEventListener("abort", onAbort);
  });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      for (const remove of listeners) remove();
    },
  };
}

/**
 * The last hour of the relay's metrics, for the status page's chart: a snapshot of the /metrics
 * registry every 10 s, in a ring of 361 (about 100 KB, whatever the traffic).
 */
import type { Direction, MetricsSnapshot } from "./metrics.js";

export const SAMPLE_EVERY_MS = 10_000;
export const HISTORY_MS = 60 * 60_000;

/** Per-second rates and levels between two snapshots: one point of the chart. */
export interface Point {
  /** the interval the rates are over */
  since: number;
  at: number;
  peers: number;
  messagesPerSecond: number;
  bytesPerSecond: Record<Direction, number>;
  residentBytes: number;
}

export class MetricsHistory {
  readonly #read: () => Promise<MetricsSnapshot>;
  readonly #capacity: number;
  readonly #samples: MetricsSnapshot[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(read: () => Promise<MetricsSnapshot>, everyMs = SAMPLE_EVERY_MS, keepMs = HISTORY_MS) {
    this.#read = read;
    this.#capacity = Math.ceil(keepMs / everyMs) + 1;
    this.#timer = setInterval(() => void this.sample(), everyMs);
    this.#timer.unref();
  }

  /** Takes a snapshot now (also at start, so rates exist from the first page view). */
  async sample(): Promise<MetricsSnapshot> {
    const snapshot = await this.#read();
    this.#samples.push(snapshot);
    if (this.#samples.length > this.#capacity) this.#samples.shift();
    return snapshot;
  }

  /** The chart's points, oldest first, the last one from the kept samples to `now`. */
  points(now: MetricsSnapshot): Point[] {
    const all = [...this.#samples, now];
    const points: Point[] = [];
    for (let i = 1; i < all.length; i++) {
      const point = pointBetween(all[i - 1]!, all[i]!);
      if (point) points.push(point);
    }
    return points;
  }

  /** Rates now: from the newest sample at least a second old to `now`. */
  current(now: MetricsSnapshot): Point {
    const base = [...this.#samples].reverse().find((s) => now.at - s.at >= 1_000) ?? this.#samples[0];
    return (base && pointBetween(base, now)) ?? { since: now.at, at: now.at, peers: now.peers, messagesPerSecond: 0, bytesPerSecond: { in: 0, out: 0 }, residentBytes: now.residentBytes };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function pointBetween(from: MetricsSnapshot, to: MetricsSnapshot): Point | undefined {
  const seconds = (to.at - from.at) / 1000;
  if (seconds <= 0) return undefined;
  const rate = (a: number, b: number) => Math.max(0, b - a) / seconds;
  return {
    since: from.at,
    at: to.at,
    peers: to.peers,
    messagesPerSecond: rate(from.messages.in + from.messages.out, to.messages.in + to.messages.out),
    bytesPerSecond: { in: rate(from.bytes.in, to.bytes.in), out: rate(from.bytes.out, to.bytes.out) },
    residentBytes: to.residentBytes,
  };
}

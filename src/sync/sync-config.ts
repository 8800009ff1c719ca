/**
 * The sync configuration of an instance (`shelf sync config`), kept in the settings table:
 * `sync.enabled` ("true" | "false") and `sync.every` (seconds). The interval paces scheduled
 * syncs (remotes that are not live); relays are always synced live by `shelf daemon`.
 */
import { ShelfError } from "../errors.js";
import type { Db } from "../store/db.js";

export interface SyncConfig {
  enabled: boolean;
  everySeconds: number;
}

export const DEFAULT_SYNC_CONFIG: SyncConfig = { enabled: true, everySeconds: 15 * 60 };

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const NAMED_SECONDS: Record<string, number> = { hourly: 3600, daily: 86_400, weekly: 7 * 86_400 };
/** Shorter than this would hammer a remote; longer than this is a typo. */
const MIN_SECONDS = 10;
const MAX_SECONDS = 30 * 86_400;

/** "30s", "15m", "1h", "2d", "hourly", "daily", "weekly" -> seconds. */
export function parseInterval(text: string): number {
  const value = text.trim().toLowerCase();
  let seconds: number | undefined = NAMED_SECONDS[value];
  if (seconds === undefined) {
    const match = /^(\d{1,7})\s*(s|m|h|d)$/.exec(value);
    if (match) seconds = Number(match[1]) * UNIT_SECONDS[match[2]!]!;
  }
  if (seconds === undefined) {
    throw new ShelfError("SHELF_E_USAGE", `${JSON.stringify(text)} is not an interval`, "write a number and a unit (30s, 15m, 1h, 2d) or hourly, daily, weekly");
  }
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) {
    throw new ShelfError("SHELF_E_USAGE", `the interval ${JSON.stringify(text)} is out of range`, `choose between ${formatInterval(MIN_SECONDS)} and ${formatInterval(MAX_SECONDS)}`);
  }
  return seconds;
}

/** Seconds -> the shortest exact form: 900 -> "15m", 86400 -> "1d", 90 -> "90s". */
export function formatInterval(seconds: number): string {
  for (const [unit, size] of [["d", 86_400], ["h", 3600], ["m", 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

export function readSyncConfig(db: Db): SyncConfig {
  const get = (key: string) => db.prepare<[string], { value: string }>("SELECT value FROM settings WHERE key = ?").get(key)?.value;
  const enabled = get("sync.enabled");
  const every = Number(get("sync.every"));
  return {
    enabled: enabled === undefined ? DEFAULT_SYNC_CONFIG.enabled : enabled === "true",
    everySeconds: Number.isSafeInteger(every) && every > 0 ? every : DEFAULT_SYNC_CONFIG.everySeconds,
  };
}

export function writeSyncConfig(db: Db, change: Partial<SyncConfig>): SyncConfig {
  const put = db.prepare("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  db.transaction(() => {
    if (change.enabled !== undefined) put.run("sync.enabled", change.enabled ? "true" : "false");
    if (change.everySeconds !== undefined) put.run("sync.every", String(change.everySeconds));
  })();
  return readSyncConfig(db);
}

/**
 * Scheduled imports: `shelf import add NAME PROVIDER SOURCE --every INTERVAL` stores one, and
 * `shelf daemon` runs those that are due, one at a time, through its own catalog store (so what
 * they write syncs to peers at once). A run is due when its next_run_at has passed; the next one
 * is planned INTERVAL after the run started, whatever its outcome (a failing source is retried at
 * the next interval, not in a tight loop). A new schedule is due at once.
 */
import { isAbsolute, resolve } from "node:path";
import type { CatalogStore } from "../catalog/catalog-store.js";
import { ShelfError } from "../errors.js";
import type { Db } from "../store/db.js";
import { formatInterval, parseInterval } from "../sync/sync-config.js";
import { lastImportRun, type ImportRun } from "./cursor-store.js";
import { isHttpUrl } from "./source-files.js";
import { checkRequest, runAndRecord, type ImportRequest } from "./run-import.js";

export type ScheduleOptions = Pick<ImportRequest, "prune" | "host" | "packages" | "idPrefix">;

export interface ScheduledImport {
  name: string;
  catalogUrl: string;
  provider: string;
  source: string;
  options: ScheduleOptions;
  everySeconds: number;
  every: string;
  addedAt: string;
  nextRunAt: string;
  lastRun: ImportRun | null;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface Row {
  name: string;
  catalog_url: string;
  provider: string;
  source: string;
  options: string;
  every_seconds: number;
  added_at: string;
  next_run_at: string;
}

function toSchedule(db: Db, r: Row): ScheduledImport {
  return {
    name: r.name,
    catalogUrl: r.catalog_url,
    provider: r.provider,
    source: r.source,
    options: JSON.parse(r.options) as ScheduleOptions,
    everySeconds: r.every_seconds,
    every: formatInterval(r.every_seconds),
    addedAt: r.added_at,
    nextRunAt: r.next_run_at,
    lastRun: lastImportRun(db, r.name) ?? null,
  };
}

export function addSchedule(
  db: Db,
  input: { name: string; catalogUrl: string; provider: string; source: string; every: string; options: ScheduleOptions },
  now = new Date(),
): ScheduledImport {
  if (!NAME_RE.test(input.name)) throw new ShelfError("SHELF_E_USAGE", `invalid import name ${JSON.stringify(input.name)}`, "a name is letters, digits, . _ - (at most 64)");
  if (["add", "list", "history", "rm"].includes(input.name)) throw new ShelfError("SHELF_E_USAGE", `${JSON.stringify(input.name)} is a subcommand of shelf import; choose another name`);
  if (input.source === "-") throw new ShelfError("SHELF_E_USAGE", "a scheduled import cannot read stdin", "save the output to a file and schedule that file");
  const everySeconds = parseInterval(input.every);
  checkRequest({ provider: input.provider, source: input.source, ...input.options });
  // The daemon runs elsewhere (another working directory): keep local sources absolute.
  const source = isHttpUrl(input.source) || isAbsolute(input.source) ? input.source : resolve(input.source);
  const info = db
    .prepare("INSERT INTO import_schedules (name, catalog_url, provider, source, options, every_seconds, added_at, next_run_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING")
    .run(input.name, input.catalogUrl, input.provider, source, JSON.stringify(input.options), everySeconds, now.toISOString(), now.toISOString());
  if (info.changes === 0) throw new ShelfError("SHELF_E_USAGE", `a scheduled import named ${input.name} exists already`, `remove it first with \`shelf import rm ${input.name}\``);
  return getSchedule(db, input.name)!;
}

export function getSchedule(db: Db, name: string): ScheduledImport | undefined {
  const row = db.prepare<[string], Row>("SELECT * FROM import_schedules WHERE name = ?").get(name);
  return row ? toSchedule(db, row) : undefined;
}

export function listSchedules(db: Db, catalogUrl?: string): ScheduledImport[] {
  const rows = catalogUrl === undefined ? db.prepare<[], Row>("SELECT * FROM import_schedules ORDER BY name").all() : db.prepare<[string], Row>("SELECT * FROM import_schedules WHERE catalog_url = ? ORDER BY name").all(catalogUrl);
  return rows.map((r) => toSchedule(db, r));
}

export function removeSchedule(db: Db, name: string): void {
  if (db.prepare("DELETE FROM import_schedules WHERE name = ?").run(name).changes === 0) {
    throw new ShelfError("SHELF_E_USAGE", `no scheduled import named ${name}`, "`shelf import list` shows them");
  }
}

export function dueSchedules(db: Db, catalogUrl: string, now = new Date()): ScheduledImport[] {
  return db
    .prepare<[string, string], Row>("SELECT * FROM import_schedules WHERE catalog_url = ? AND next_run_at <= ? ORDER BY next_run_at, name")
    .all(catalogUrl, now.toISOString())
    .map((r) => toSchedule(db, r));
}

/** Runs every due import of the store's catalog, one after another; one line per run to `log`. */
export async function runDueImports(store: CatalogStore, log: (line: string) => void, signal?: AbortSignal, now = () => new Date()): Promise<number> {
  const db = store.instance.db;
  let ran = 0;
  for (const schedule of dueSchedules(db, store.catalog.url, now())) {
    if (signal?.aborted) break;
    const startedAt = now();
    // Planned before running, so a run that crashes the process is not retried in a loop.
    db.prepare("UPDATE import_schedules SET next_run_at = ? WHERE name = ?").run(new Date(startedAt.getTime() + schedule.everySeconds * 1000).toISOString(), schedule.name);
    log(`import ${schedule.name}: ${schedule.provider} ${schedule.source}`);
    try {
      const s = await runAndRecord(store, { provider: schedule.provider, source: schedule.source, ...schedule.options, http: { signal } }, { schedule: schedule.name, onWait: (message) => log(`import ${schedule.name}: ${message}`) });
      log(`import ${schedule.name}: ${s.added + s.updated + s.tombstoned} changed (added ${s.added}, updated ${s.updated}, tombstoned ${s.tombstoned}), ${s.unchanged} unchanged, ${s.rejected} rejected`);
    } catch (err) {
      log(`error: import ${schedule.name} failed: ${(err as Error)?.message ?? err}`);
    }
    ran++;
  }
  return ran;
}

/**
 * Checks for due imports now and every `tickMs` (default 5 s) until `signal` aborts; never two
 * runs at once. `stop()` waits for a run under way to finish.
 */
export function startImportScheduler(store: CatalogStore, options: { signal: AbortSignal; log: (line: string) => void; tickMs?: number }): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running || options.signal.aborted) return;
    running = runDueImports(store, options.log, options.signal)
      .catch((err) => options.log(`error: scheduled imports: ${(err as Error)?.message ?? err}`))
      .finally(() => (running = undefined));
  };
  const timer = setInterval(tick, options.tickMs ?? 5000);
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

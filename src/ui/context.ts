/**
 * What every page of the app works with: the home's instance (for view queries only: reads never
 * load Automerge), the catalog served, the options the command functions take, the security
 * rules, the change feed, and one queue through which every write passes.
 */
import type { GlobalOptions } from "../commands/context.js";
import type { CatalogRow, Instance } from "../instance.js";
import type { ChangeFeed } from "./changes.js";
import type { UiSecurity } from "./security.js";

export interface UiContext {
  instance: Instance;
  catalog: CatalogRow;
  /** --home and --catalog for the command functions the CLI calls (records.ts, conflicts.ts) */
  commandOptions: GlobalOptions;
  security: UiSecurity;
  changes: ChangeFeed;
  /** runs a write after the ones before it: one writer at a time, as one CLI command at a time */
  write<T>(fn: () => Promise<T>): Promise<T>;
  /** a value computed once per view version (counts, facets) */
  cached<T>(key: string, compute: () => T): T;
  /** drops one cached value (a computation that failed) */
  forget(key: string): void;
  log(line: string): void;
}

/** A queue of writes: each starts when the one before it has ended, whether it failed or not. */
export function writeQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** Past this many values the cache starts again: a long idle session typing many searches. */
const MAX_CACHED = 500;

/** A cache emptied whenever the view's version moves. */
export function versionCache(version: () => string) {
  let at = "";
  const values = new Map<string, unknown>();
  return {
    cached<T>(key: string, compute: () => T): T {
      const now = version();
      if (now !== at || values.size >= MAX_CACHED) {
        values.clear();
        at = now;
      }
      if (!values.has(key)) values.set(key, compute());
      return values.get(key) as T;
    },
    forget(key: string): void {
      values.delete(key);
    },
  };
}

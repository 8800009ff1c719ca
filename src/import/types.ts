/**
 * What every importer shares: the rows a provider yields, and what the runner gives it.
 *
 * A provider is an async generator of rows. `where` names the place a row came from (a file path,
 * a URL, `path:line`), so a rejection tells the user exactly what to fix.
 */
import type { WriteItem } from "../catalog/catalog-store.js";
import type { HttpClient } from "./http-client.js";

export type ImportRow =
  /** a record to write (only what differs from the catalog is written) */
  | { ok: true; where: string; item: WriteItem }
  /** the source says this record is as it was last time (an HTTP 304): keep it, write nothing */
  | { ok: "kept"; where: string; id: string }
  /**
   * bad input: reported, never written. `id`, when the provider knows which record the bad input
   * was meant for, keeps that record from counting as vanished (it is still in the source).
   */
  | { ok: false; where: string; reason: string; id?: string; incomplete?: true };
// `incomplete`: the rest of the source could not be read (a feed page that failed after retries).
// What was read is imported, but nothing counts as vanished, so --prune cannot remove records
// that are merely on the pages not reached.

/** Per-provider memory between runs (ETags, file states): opaque JSON to the runner. */
export type ProviderState = Record<string, unknown>;

export interface ProviderContext {
  /** the source as the user gave it (a path or a URL) */
  source: string;
  /** the state this provider saved after the last successful import of this source */
  previous: ProviderState;
  /** the state to save after this import; the provider fills it */
  next: ProviderState;
  /** ids this source produced before and that are not pruned (registry refreshes re-read them), read when asked */
  previousIds(): string[];
  /** --as HOSTNAME (pacman): record per-host presence instead of the package's own fields */
  host?: string;
  /** --package NAME for registry (HTTP) sources */
  packages: readonly string[];
  /** --provider P for tsv */
  idPrefix?: string;
  /** the HTTP client, created on first use */
  http(): HttpClient;
  /** provider-specific counters for the summary (files hashed, HTTP 304s...) */
  count(name: string, by?: number): void;
  /** a warning for people about the whole source (said once, however often it is noted) */
  note(message: string): void;
  signal?: AbortSignal;
}

export interface Provider {
  name: string;
  /** one line for `shelf import --help` */
  sources: string;
  /** the cursor key for a source: an absolute path, or the URL without a trailing slash */
  sourceKey(source: string): string;
  read(ctx: ProviderContext): AsyncGenerator<ImportRow>;
}

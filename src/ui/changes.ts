/**
 * When the catalog's view changes, whoever changed it: this app's own writes, a CLI command, a
 * `shelf daemon` or `shelf serve` taking a peer's edits. The view's write sequence (settings
 * view_seq, which every materialized change bumps, and view_epoch, which a rebuild renews) is read
 * every `pollMs`; a local edit signal (home-signal.ts) makes the read happen at once. Subscribers
 * (the live pages' event streams) hear of each new sequence number.
 *
 * Edits another process saved but left out of the view (it was killed between the two) are added
 * to it here when they stay pending, as a read command would: the pages themselves only ever read
 * the view, and never wait for Automerge.
 */
import type { Instance } from "../instance.js";
import { listenForLocalEdits, type LocalEditListener } from "../sync/home-signal.js";

/** How often the view's sequence is read when no signal comes. */
export const DEFAULT_CHANGE_POLL_MS = 250;
/** Documents dirty for this long with no view change are caught up by the app itself. */
const STALE_DIRTY_MS = 2000;

export type ChangeListener = (version: string) => void;

export interface ChangeFeedOptions {
  pollMs?: number;
  /** brings the view up to date with stored edits (the read commands' catch-up) */
  catchUp: () => Promise<void>;
  log: (line: string) => void;
}

export class ChangeFeed {
  readonly #instance: Instance;
  readonly #options: ChangeFeedOptions;
  readonly #listeners = new Set<ChangeListener>();
  readonly #readVersion;
  readonly #hasDirty;
  #version: string;
  #dirtySince: number | undefined;
  #catchingUp = false;
  #timer: NodeJS.Timeout | undefined;
  #signals: LocalEditListener | undefined;

  constructor(instance: Instance, options: ChangeFeedOptions) {
    this.#instance = instance;
    this.#options = options;
    this.#readVersion = instance.db.prepare<[], { v: string | null }>("SELECT group_concat(value, '.') AS v FROM (SELECT value FROM settings WHERE key IN ('view_epoch', 'view_seq') ORDER BY key)");
    this.#hasDirty = instance.db.prepare("SELECT 1 FROM crdt_dirty LIMIT 1");
    this.#version = this.#read();
  }

  /** The view's version now: changes whenever any record does. */
  get version(): string {
    return this.#version;
  }

  async start(): Promise<void> {
    try {
      this.#signals = await listenForLocalEdits(this.#instance.home, () => this.check());
    } catch (err) {
      this.#options.log(`local edit signals unavailable, reading the view every ${this.#options.pollMs ?? DEFAULT_CHANGE_POLL_MS} ms: ${(err as Error).message}`);
    }
    this.#timer = setInterval(() => this.check(), this.#options.pollMs ?? DEFAULT_CHANGE_POLL_MS);
  }

  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads the view's version and tells the subscribers when it moved. */
  check(): void {
    let version: string;
    try {
      version = this.#read();
    } catch (err) {
      this.#options.log(`error: reading the view's version failed, will retry: ${(err as Error).message}`);
      return;
    }
    if (version !== this.#version) {
      this.#version = version;
      this.#dirtySince = undefined;
      for (const listener of this.#listeners) listener(version);
    }
    this.#watchDirty();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#listeners.clear();
    await this.#signals?.close();
  }

  #read(): string {
    return this.#readVersion.get()?.v ?? "";
  }

  #watchDirty(): void {
    if (this.#hasDirty.get() === undefined) {
      this.#dirtySince = undefined;
      return;
    }
    this.#dirtySince ??= Date.now();
    if (this.#catchingUp || Date.now() - this.#dirtySince < STALE_DIRTY_MS) return;
    this.#catchingUp = true;
    this.#options
      .catchUp()
      .catch((err: unknown) => this.#options.log(`error: adding stored edits to the view failed, will retry: ${(err as Error)?.message ?? err}`))
      .finally(() => {
        this.#catchingUp = false;
        this.#dirtySince = undefined;
        this.check();
      });
  }
}

/**
 * Many small write transactions as a few commits. A commit writes every page its transaction
 * touched, and a document's records land on pages all over the view's indexes: a join
 * materializing a 227k-record catalog spent 8 s of 57 in commits with 256 shards, and 23 s with
 * 1024, whose commits each hold a quarter of the records but touch nearly as many pages.
 *
 * The first write opens a transaction (BEGIN IMMEDIATE); each write runs inside it as a savepoint,
 * so one that fails undoes itself alone; the transaction commits once it has been open `maxOpenMs`
 * (checked after each write, and by a timer while the caller waits on something else), or when
 * `commit()` is called. Another process wanting to write waits at most that long (plus the write
 * under way), well within the busy timeout. A crash loses at most that window, which the next
 * sync takes again: what is committed is consistent, as with one commit per write.
 */
import type { Db } from "./db.js";

export class GroupedCommits {
  readonly #db: Db;
  readonly #maxOpenMs: number;
  #openedAt: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** a commit the timer made that failed: the next call throws it */
  #failed: unknown;

  constructor(db: Db, maxOpenMs: number) {
    this.#db = db;
    this.#maxOpenMs = maxOpenMs;
  }

  /** Runs `write` inside the open transaction (opening one if none is), as a savepoint. */
  run<T>(write: () => T): T {
    this.#throwFailed();
    if (this.#openedAt === undefined) {
      this.#db.exec("BEGIN IMMEDIATE");
      this.#openedAt = performance.now();
      this.#timer = setTimeout(() => {
        try {
          this.commit();
        } catch (err) {
          this.#failed = err;
        }
      }, this.#maxOpenMs);
    }
    let error: unknown;
    try {
      return this.#db.transaction(write)();
    } catch (err) {
      error = err;
      throw err;
    } finally {
      if (!this.#db.inTransaction) {
        // SQLite rolled the whole transaction back (a full disk, an I/O error): the earlier writes
        // of the window are gone too, so every later call fails with it, even if this caller
        // carries on past it.
        clearTimeout(this.#timer);
        this.#openedAt = undefined;
        this.#failed = error ?? new Error("the write transaction was rolled back");
      } else if (performance.now() - this.#openedAt >= this.#maxOpenMs) this.commit();
    }
  }

  /** Commits what the writes so far did, if a transaction is open. */
  commit(): void {
    clearTimeout(this.#timer);
    this.#throwFailed();
    if (this.#openedAt === undefined) return;
    this.#openedAt = undefined;
    if (!this.#db.open || !this.#db.inTransaction) return;
    try {
      this.#db.exec("COMMIT");
    } catch (err) {
      // (a full disk): nothing of the window is kept, and the caller hears why
      if (this.#db.inTransaction) this.#db.exec("ROLLBACK");
      throw err;
    }
  }

  #throwFailed(): void {
    if (this.#failed === undefined) return;
    const failed = this.#failed;
    this.#failed = undefined;
    throw failed;
  }
}

/**
 * Many small writes as a few commits (src/store/grouped-commits.ts), on a real SQLite file read
 * by a second connection, as another process would read it.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GroupedCommits } from "../src/store/grouped-commits.js";
import { makeTempDir } from "./helpers/cli.js";

let tmp: ReturnType<typeof makeTempDir>;
let db: Database.Database;
let reader: Database.Database;
const insert = (value: string) => db.prepare("INSERT INTO t (v) VALUES (?)").run(value);
const seen = () => reader.prepare<[], { v: string }>("SELECT v FROM t ORDER BY v").all().map((r) => r.v);

beforeEach(() => {
  tmp = makeTempDir("shelf-grouped-");
  db = new Database(join(tmp.dir, "t.db"));
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (v TEXT)");
  reader = new Database(join(tmp.dir, "t.db"), { readonly: true });
});
afterEach(() => {
  reader.close();
  db.close();
  tmp.remove();
});

describe("GroupedCommits", () => {
  it("commits the writes of a window together, once it has been open long enough or when asked", async () => {
    const writes = new GroupedCommits(db, 300);
    writes.run(() => insert("a"));
    writes.run(() => insert("b"));
    expect(seen()).toEqual([]);
    // nothing else is written: the timer commits the window
    const started = Date.now();
    while (seen().length === 0) {
      expect(Date.now() - started, "the window was never committed").toBeLessThan(30_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(seen()).toEqual(["a", "b"]);
    expect(db.inTransaction).toBe(false);

    writes.run(() => insert("c"));
    expect(seen()).toEqual(["a", "b"]);
    writes.commit();
    expect(seen()).toEqual(["a", "b", "c"]);
  });

  it("undoes a failing write alone", () => {
    const writes = new GroupedCommits(db, 60_000);
    writes.run(() => insert("kept"));
    expect(() =>
      writes.run(() => {
        insert("undone");
        throw new Error("refused");
      }),
    ).toThrow("refused");
    writes.run(() => insert("after"));
    writes.commit();
    expect(seen()).toEqual(["after", "kept"]);
  });

  it("when SQLite rolls the whole window back (a full disk), the next call fails too, even if the first failure was caught", () => {
    const writes = new GroupedCommits(db, 60_000);
    db.pragma(`max_page_count = ${(db.pragma("page_count", { simple: true }) as number) + 5}`);
    writes.run(() => insert("lost with the window"));
    let caught: unknown;
    try {
      writes.run(() => {
        for (let i = 0; i < 100; i++) insert("x".repeat(4000));
      });
    } catch (err) {
      caught = err;
    }
    expect((caught as { code?: string })?.code).toBe("SQLITE_FULL");
    // a caller that carried on hears of it again, and nothing of the window was kept
    expect(() => writes.run(() => insert("next"))).toThrow(/full/);
    expect(seen()).toEqual([]);
  });
});

/**
 * Local edit signals (src/sync/home-signal.ts) over real sockets: a listener receives the document
 * ids a notifier sends (also from a real `shelf set` process, and on a home whose path is too long
 * for a socket); several listeners on one home all hear it; odd or oversized messages are dropped;
 * a listener killed with SIGKILL leaves an entry that the next notifier or listener removes; and
 * notifying a home nobody listens on is quick and silent. A command hands a write to a listener
 * that takes writes (daemon-write.ts), and writes itself when none does. Every wait is bounded.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { ShelfError } from "../src/errors.js";
import type { WriteOutcome } from "../src/model/crdt-record.js";
import { answerWriteRequest, parseWriteRequest, writeThroughDaemon, type WriteRequest } from "../src/sync/daemon-write.js";
import { listenForLocalEdits, notifyLocalEdit, parseSignal, signalsDir, type LocalEditListener } from "../src/sync/home-signal.js";
import { CLI, expectExit, finished, shelf, ROOT } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp-home.js";
import { sleep } from "./helpers/relay-process.js";

/** Collects what a listener receives; `next()` takes the next signal, waiting (bounded) for it. */
function collector() {
  const received: string[][] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  return {
    received,
    onEdit: (ids: string[]) => {
      received.push(ids);
      wake?.();
    },
    /** The next signal not taken yet, waiting for it if need be. */
    async next(timeoutMs = 5000): Promise<string[]> {
      const count = taken++;
      const deadline = Date.now() + timeoutMs;
      while (received.length <= count) {
        if (Date.now() > deadline) throw new Error(`no signal within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return received[count]!;
    },
  };
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const entries = (home: string) => (existsSync(signalsDir(home)) ? readdirSync(signalsDir(home)) : []);

describe("local edit signals", () => {
  it("delivers the document ids to every listener on the home, through a private socket", async () => {
    const home = tempDir();
    const a = collector();
    const b = collector();
    const listeners: LocalEditListener[] = [await listenForLocalEdits(home, a.onEdit), await listenForLocalEdits(home, b.onEdit)];
    try {
      if (process.platform !== "win32") {
        expect(statSync(signalsDir(home)).mode & 0o777).toBe(0o700);
        for (const l of listeners) {
          expect(statSync(l.endpoint).isSocket()).toBe(true);
          expect(statSync(l.endpoint).mode & 0o777).toBe(0o600);
        }
      }
      expect(entries(home).filter((n) => n.endsWith(".sock"))).toHaveLength(2);
      await notifyLocalEdit(home, ["docOne", "docTwo"]);
      expect(await a.next()).toEqual(["docOne", "docTwo"]);
      expect(await b.next()).toEqual(["docOne", "docTwo"]);
    } finally {
      for (const l of listeners) await l.close();
    }
    expect(entries(home)).toEqual([]);
    // Nobody listens any more: quick and silent.
    await notifyLocalEdit(home, ["docOne"]);
  });

  it("works on a home whose path is too long for a socket, through an address file", async () => {
    if (process.platform === "win32") return;
    let home = tempDir();
    while (home.length < 140) home = join(home, "a-rather-long-directory-name");
    mkdirSync(home, { recursive: true });
    const c = collector();
    const listener = await listenForLocalEdits(home, c.onEdit);
    try {
      const [entry] = entries(home);
      expect(entry).toMatch(/\.addr$/);
      expect(readFileSync(join(signalsDir(home), entry!), "utf8").trim()).toBe(listener.endpoint);
      expect(statSync(listener.endpoint).mode & 0o777).toBe(0o600);
      await notifyLocalEdit(home, ["docLong"]);
      expect(await c.next()).toEqual(["docLong"]);
    } finally {
      await listener.close();
    }
    expect(entries(home)).toEqual([]);
    expect(existsSync(listener.endpoint)).toBe(false);
  });

  it("hears a real `shelf set` name the shard it saved", async () => {
    const home = tempDir();
    expectExit(await shelf(home, "init", "--name", "sig"), 0);
    expectExit(await shelf(home, "add", "npm:left-pad", "--name", "left-pad"), 0);
    const c = collector();
    const listener = await listenForLocalEdits(home, c.onEdit);
    try {
      expectExit(await shelf(home, "set", "npm:left-pad", "name=left-pad-2"), 0);
      const ids = await c.next();
      expect(ids.length).toBeGreaterThan(0);
      // Each is a document of this home's CRDT store.
      const db = new Database(join(home, "shelf.db"), { readonly: true });
      try {
        const stored = new Set(db.prepare<[], { key: string }>("SELECT key FROM crdt_chunks").all().map((r) => r.key.split("/")[0]));
        for (const id of ids) expect(stored.has(id), id).toBe(true);
      } finally {
        db.close();
      }
      // A read does not signal.
      expectExit(await shelf(home, "show", "npm:left-pad"), 0);
      await sleep(200);
      expect(c.received).toHaveLength(1);
    } finally {
      await listener.close();
    }
  });

  it("drops garbage and oversized lines, and answers the next good one", async () => {
    const home = tempDir();
    const c = collector();
    const listener = await listenForLocalEdits(home, c.onEdit);
    const sendRaw = (data: string | Buffer) =>
      new Promise<void>((resolve, reject) => {
        const socket = createConnection(listener.endpoint, () => socket.end(data));
        socket.resume(); // a JSON object is taken for a request and answered (declined)
        socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "EPIPE" || err.code === "ECONNRESET" ? resolve() : reject(err)));
        socket.on("close", () => resolve());
      });
    try {
      await sendRaw("not json\n");
      await sendRaw('{"docs": "nope"}\n');
      await sendRaw(Buffer.alloc(70 * 1024, "x"));
      await sendRaw(`{"docs": ["${"y".repeat(66 * 1024)}"]}\n`);
      await sendRaw('{"docs": ["ok", 7, null, ""]}\n');
      expect(await c.next()).toEqual(["ok"]);
      expect(c.received).toHaveLength(1);
    } finally {
      await listener.close();
    }
    expect(parseSignal('{"docs":[]}')).toEqual([]);
    expect(parseSignal("[]")).toBeUndefined();
  });

  it("removes the entry a killed listener left, and never waits long", async () => {
    if (process.platform === "win32") return;
    const home = tempDir();
    const script = `import { listenForLocalEdits } from ${JSON.stringify(join(ROOT, "dist", "src", "sync", "home-signal.js"))};
      await listenForLocalEdits(process.argv[1], () => {});
      console.log("ready");`;
    expect(existsSync(CLI)).toBe(true);
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, home], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = finished(child);
    let out = "";
    child.stdout!.on("data", (b: Buffer) => (out += b.toString()));
    await waitUntil("the child listens", () => out.includes("ready"));
    const [entry] = entries(home);
    expect(entry).toMatch(new RegExp(`^${child.pid}-[0-9a-f]+\\.sock$`));
    child.kill("SIGKILL");
    await exited;
    // The socket file outlives its process.
    expect(entries(home)).toEqual([entry]);

    const started = performance.now();
    await notifyLocalEdit(home, ["doc"]);
    expect(performance.now() - started).toBeLessThan(500);
    expect(entries(home)).toEqual([]);

    // A listener starting finds and removes such leftovers too.
    writeFileSync(join(signalsDir(home), `${child.pid}-dead.pending`), "");
    const c = collector();
    const listener = await listenForLocalEdits(home, c.onEdit);
    try {
      expect(entries(home)).toHaveLength(1);
    } finally {
      await listener.close();
    }
  });

  it("costs next to nothing when nobody listens", async () => {
    const home = tempDir();
    const started = performance.now();
    for (let i = 0; i < 20; i++) await notifyLocalEdit(home, ["doc"]);
    expect((performance.now() - started) / 20).toBeLessThan(50);
    // Entries that name nothing, or a dead endpoint, do not fail the notifier either.
    mkdirSync(signalsDir(home), { recursive: true });
    writeFileSync(join(signalsDir(home), "1-garbage.addr"), "");
    writeFileSync(join(signalsDir(home), "notes.txt"), "hello");
    const t = performance.now();
    await notifyLocalEdit(home, ["doc"]);
    expect(performance.now() - t).toBeLessThan(500);
  });
});

/**
 * The request side of the sockets (src/sync/daemon-write.ts): a command hands a one-record write
 * to a listener that takes writes, and falls back to writing itself, never waiting long, when
 * none does.
 */
describe("writes handed to a daemon", () => {
  const CATALOG = "automerge:catalog";
  const request: WriteRequest = { catalog: CATALOG, id: "npm:left-pad", patch: { version: "2.0.0" }, mode: "forbid", op: "set" };

  /** A listener that writes for CATALOG with `write`, remembering every request it took. */
  async function daemonLike(home: string, write: (r: WriteRequest) => Promise<WriteOutcome>) {
    const taken: WriteRequest[] = [];
    const listener = await listenForLocalEdits(
      home,
      () => {},
      (message) => answerWriteRequest(message, CATALOG, async (r) => (taken.push(r), write(r))),
    );
    return { listener, taken };
  }

  it("gets the outcome of a write the listener made", async () => {
    const home = tempDir();
    const { listener, taken } = await daemonLike(home, async () => "updated");
    try {
      expect(await writeThroughDaemon(home, request)).toBe("updated");
      expect(taken).toEqual([request]);
    } finally {
      await listener.close();
    }
  });

  it("throws the listener's refusal as the command's own error", async () => {
    const home = tempDir();
    const { listener } = await daemonLike(home, async (r) => {
      throw new ShelfError("SHELF_E_RECORD_NOT_FOUND", `no record ${r.id}`, "add it first");
    });
    try {
      const err = await writeThroughDaemon(home, request).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShelfError);
      expect(err).toMatchObject({ code: "SHELF_E_RECORD_NOT_FOUND", message: "no record npm:left-pad", hint: "add it first" });
    } finally {
      await listener.close();
    }
  });

  it("writes itself when no listener takes the write: another catalog, a failure, a signal-only listener, one that hangs up or never answers", async () => {
    const home = tempDir();
    const other = await daemonLike(home, async () => "updated");
    try {
      // another catalog: declined, nothing written
      expect(await writeThroughDaemon(home, { ...request, catalog: "automerge:other" })).toBeUndefined();
      expect(other.taken).toEqual([]);
      // a malformed request is no write at all
      expect(parseWriteRequest({ write: { ...request, op: "import" } })).toBeUndefined();
      expect(parseWriteRequest({ write: { ...request, patch: { addTags: "cli" } } })).toBeUndefined();
    } finally {
      await other.listener.close();
    }

    const failing = await daemonLike(home, async () => {
      throw new Error("disk on fire");
    });
    try {
      expect(await writeThroughDaemon(home, request)).toBeUndefined();
      expect(failing.taken).toHaveLength(1);
    } finally {
      await failing.listener.close();
    }

    // a listener that takes signals only (`onRequest` not given) declines
    const signalOnly = await listenForLocalEdits(home, () => {});
    try {
      expect(await writeThroughDaemon(home, request)).toBeUndefined();
    } finally {
      await signalOnly.close();
    }

    // a listener from before requests existed hangs up; one that never answers is given up on
    for (const behaviour of ["hang up", "never answer"] as const) {
      mkdirSync(signalsDir(home), { recursive: true });
      const path = join(signalsDir(home), `${process.pid}-${behaviour === "hang up" ? "old" : "mute"}.sock`);
      const server = createServer((socket) => (behaviour === "hang up" ? socket.once("data", () => socket.destroy()) : socket.resume()));
      await new Promise<void>((resolve) => server.listen(path, resolve));
      try {
        const started = performance.now();
        expect(await writeThroughDaemon(home, request, 300)).toBeUndefined();
        expect(performance.now() - started).toBeLessThan(behaviour === "hang up" ? 250 : 2_000);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  });
});

/**
 * Figure 9: WebDAV sync, on the catalog figure 1 imported (instance A), through a real WebDAV
 * server: `rclone serve webdav` when installed, else the `webdav-server` package in this process.
 * A syncs its whole catalog up and a fresh home B joins it; then a no-change sync, a one-record edit
 * (bytes up from A, down to B), and the space the folder takes after ROUNDS rounds of "A edits one
 * record, A syncs, B syncs", once with compaction (the default threshold) and once without.
 * Requests and bytes are the client's own counts (the `webdav` part of `shelf sync --json`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { BenchContext, Figure } from "./figures.js";
import { expectExit, parseJsonOutput, runChild } from "./proc.js";
import { fmtBytes, fmtInt, fmtMs, pick, round, seededRandom } from "./util.js";

interface WebdavStats {
  requests: number;
  bytesUp: number;
  bytesDown: number;
  downloaded: number;
  uploaded: string[];
  compacted: boolean;
}
interface SyncJson {
  sync: { webdav: WebdavStats; durationMs: number; added: number }[];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A WebDAV server on `dir`: rclone if installed, else webdav-server in this process. */
async function startServer(dir: string): Promise<{ url: string; kind: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  if (spawnSync("sh", ["-c", "command -v rclone"]).status === 0) {
    const child: ChildProcess = spawn("rclone", ["serve", "webdav", dir, "--addr", `127.0.0.1:${port}`, "--config", "/dev/null"], { stdio: "ignore" });
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await fetch(base + "/", { method: "OPTIONS" });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error("rclone serve webdav did not answer within 15 s");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return {
      url: base,
      kind: "rclone serve webdav",
      stop: async () => {
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      },
    };
  }
  const { v2: webdav } = await import("webdav-server");
  const server = new webdav.WebDAVServer({ port, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.setFileSystem("/", new webdav.PhysicalFileSystem(dir), () => resolve()));
  await new Promise<void>((resolve) => server.start(() => resolve()));
  return { url: base, kind: "webdav-server (npm, in process)", stop: () => new Promise<void>((resolve) => server.stop(() => resolve())) };
}

/** Bytes and files under `dir`, recursively. */
function usage(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = usage(path);
      bytes += sub.bytes;
      files += sub.files;
    } else {
      bytes += statSync(path).size;
      files++;
    }
  }
  return { bytes, files };
}

export async function webdavFigure(ctx: BenchContext, options: { rounds: number }): Promise<Figure> {
  const { log } = ctx;
  const homeA = ctx.home;
  const homeB = join(ctx.scratch, "webdav-b");
  const data = join(ctx.scratch, "webdav-data");
  for (const d of ["shelf", "shelf-compacted", "shelf-uncompacted"]) mkdirSync(join(data, d), { recursive: true });
  const cli = (home: string, ...args: string[]) => [process.execPath, ctx.cli, "--home", home, ...args];
  const run = async (command: string[], env?: NodeJS.ProcessEnv) => expectExit(await runChild(command, { scratch: ctx.scratch, env: env ? { ...process.env, ...env } : undefined }));
  const sync = async (home: string, remote: string, env?: NodeJS.ProcessEnv) => {
    const r = await run(cli(home, "sync", remote, "--json"), env);
    return { wallMs: r.wallMs, ...parseJsonOutput<SyncJson>(r).sync[0]! };
  };
  const server = await startServer(data);
  try {
    const remote = (path: string) => `webdav+${server.url}/${path}`;
    await run(cli(homeA, "remote", "add", "dav", remote("shelf")));
    const status = parseJsonOutput<{ status: { catalogs: { url: string; default: boolean; records: number }[] } }>(await run(cli(homeA, "status", "--json")));
    const catalog = status.status.catalogs.find((c) => c.default) ?? status.status.catalogs[0]!;

    log("webdav: first sync of A's whole catalog up");
    const up = await sync(homeA, "dav");
    log("webdav: join into a fresh home B");
    const joinRun = await run(cli(homeB, "join", catalog.url, "--webdav", remote("shelf"), "--remote", "dav", "--json"));
    const joined = parseJsonOutput<{ join: { webdav: WebdavStats; added: number } }>(joinRun).join;
    log("webdav: no-change sync");
    const still = await sync(homeA, "dav");

    const items = await ctx.rows();
    const rand = seededRandom(9);
    const editOne = async (home: string, n: number) => run(cli(home, "set", pick(rand, items).id, `summary=webdav bench edit ${n}`));
    log("webdav: one-record edit, A up, B down");
    await editOne(homeA, 0);
    const editUp = await sync(homeA, "dav");
    const editDown = await sync(homeB, "dav");

    // Storage after many rounds, with and without compaction, in two other folders.
    await run(cli(homeA, "remote", "add", "compacted", remote("shelf-compacted")));
    await run(cli(homeA, "remote", "add", "uncompacted", remote("shelf-uncompacted")));
    await sync(homeA, "compacted");
    await sync(homeA, "uncompacted", { SHELF_WEBDAV_COMPACT_AFTER: "0" });
    await run(cli(homeB, "remote", "add", "compacted", remote("shelf-compacted")));
    await run(cli(homeB, "remote", "add", "uncompacted", remote("shelf-uncompacted")));
    const start = { compacted: usage(join(data, "shelf-compacted")), uncompacted: usage(join(data, "shelf-uncompacted")) };
    let compactions = 0;
    for (let i = 1; i <= options.rounds; i++) {
      if (i % 10 === 0) log(`webdav: round ${i} of ${options.rounds}`);
      await editOne(homeA, i);
      for (const home of [homeA, homeB]) {
        if ((await sync(home, "compacted")).webdav.compacted) compactions++;
        await sync(home, "uncompacted", { SHELF_WEBDAV_COMPACT_AFTER: "0" });
      }
    }
    const after = { compacted: usage(join(data, "shelf-compacted")), uncompacted: usage(join(data, "shelf-uncompacted")) };

    const lines: [string, string][] = [
      ["server", server.kind],
      ["catalog", `${fmtInt(catalog.records)} records`],
      ["first sync up (A)", `${fmtMs(up.wallMs)}, ${fmtBytes(up.webdav.bytesUp)} up in ${up.webdav.requests} requests`],
      ["join into a fresh home (B)", `${fmtMs(joinRun.wallMs)}, ${fmtBytes(joined.webdav.bytesDown)} down in ${joined.webdav.requests} requests, ${fmtInt(joined.added)} records`],
      ["no-change sync (A)", `${fmtMs(still.wallMs)}, ${still.webdav.requests} request(s), ${fmtBytes(still.webdav.bytesUp)} up, ${fmtBytes(still.webdav.bytesDown)} down`],
      ["one-record edit, A syncs", `${fmtMs(editUp.wallMs)}, ${fmtBytes(editUp.webdav.bytesUp)} up, ${fmtBytes(editUp.webdav.bytesDown)} down, ${editUp.webdav.requests} requests`],
      ["one-record edit, B syncs", `${fmtMs(editDown.wallMs)}, ${fmtBytes(editDown.webdav.bytesDown)} down, ${fmtBytes(editDown.webdav.bytesUp)} up, ${editDown.webdav.requests} requests`],
      [`server storage after ${options.rounds} rounds, compaction on`, `${fmtBytes(after.compacted.bytes)} in ${after.compacted.files} files (${compactions} compactions; ${fmtBytes(start.compacted.bytes)} before the rounds)`],
      [`server storage after ${options.rounds} rounds, compaction off`, `${fmtBytes(after.uncompacted.bytes)} in ${after.uncompacted.files} files (${fmtBytes(start.uncompacted.bytes)} before the rounds)`],
    ];
    return {
      key: "webdav",
      title: "9. WebDAV snapshot sync",
      lines,
      notes: [
        "a round: A edits one record and syncs, then B syncs (B only reads: it has nothing new to upload)",
        "compaction on = the default threshold (more than 20 own files); each instance compacts only its own files",
        "wall times include starting the CLI process",
      ],
      data: {
        server: server.kind,
        records: catalog.records,
        firstSyncUp: { wallMs: round(up.wallMs), ...up.webdav },
        join: { wallMs: round(joinRun.wallMs), ...joined.webdav },
        noChange: { wallMs: round(still.wallMs), ...still.webdav },
        editUp: { wallMs: round(editUp.wallMs), ...editUp.webdav },
        editDown: { wallMs: round(editDown.wallMs), ...editDown.webdav },
        rounds: options.rounds,
        storage: { before: start, compacted: after.compacted, uncompacted: after.uncompacted, compactions },
      },
    };
  } finally {
    await server.stop();
  }
}

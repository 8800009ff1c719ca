/**
 * Local edit signals: how a CLI command tells the daemons running on its home that it just saved
 * edits, so they take them at once instead of at their next poll of the view.
 *
 * Every listener (a `shelf daemon` or `shelf serve`; several may run on one home) owns one entry
 * in `<home>/signals/`, named `<pid>-<random>`:
 * - `<id>.sock`: the listening Unix domain socket itself (mode 0600, in a 0700 directory);
 * - `<id>.addr`: a one-line file naming the endpoint, when a socket path in the home would exceed
 *   the platform's limit (then the socket lives in the OS temp directory) and on Windows (a named
 *   pipe `\\.\pipe\shelf-<hash>`).
 * A notifier reads the directory and sends one line of JSON, `{"docs": [documentId, ...]}`, to
 * each entry. The message is only a hint: the listener re-reads storage, whatever it says.
 * An entry nobody answers whose process is gone (a killed daemon) is removed by the next notifier
 * or listener that finds it.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The directory of a home where listeners announce themselves. */
export const signalsDir = (home: string): string => join(home, "signals");

/** Lines longer than this are refused: a document id list of a whole catalog fits easily. */
export const MAX_SIGNAL_BYTES = 64 * 1024;
/** How long a notifier waits, in all, for the listeners to accept its message. */
export const NOTIFY_BUDGET_MS = 50;
/** The shortest socket path limit among supported platforms (macOS: 104 bytes with the NUL). */
const MAX_SOCKET_PATH = 103;
/** A connection that has not sent its line by then is dropped. */
const READ_TIMEOUT_MS = 2000;

export interface LocalEditListener {
  /** where it listens (a socket path or a pipe name) */
  readonly endpoint: string;
  /** stops listening and removes its entry; safe to call twice */
  close(): Promise<void>;
}

/**
 * Listens for local edit signals on `home`; `onEdit` receives the document ids a notifier named
 * (possibly none, and never to be trusted further than "look at storage now"). Throws when it
 * cannot listen: the caller then relies on polling.
 */
export async function listenForLocalEdits(home: string, onEdit: (documentIds: string[]) => void): Promise<LocalEditListener> {
  const dir = signalsDir(home);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await sweepStale(dir).catch(() => undefined);
  const id = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const server = createServer((socket) => receive(socket, onEdit));
  server.maxConnections = 64;

  let endpoint: string;
  let entry: string;
  const inHome = join(dir, `${id}.sock`);
  if (process.platform === "win32") {
    endpoint = `\\\\.\\pipe\\shelf-${hash(home)}-${id}`;
    await listen(server, endpoint);
    entry = await writeAddress(dir, id, endpoint);
  } else if (Buffer.byteLength(inHome) <= MAX_SOCKET_PATH) {
    // Bound under a name notifiers ignore, made private, then renamed into place: a notifier never
    // meets a socket that exists but does not listen yet (and would take it for a dead one).
    const pending = join(dir, `${id}.pending`);
    await listen(server, pending);
    await chmod(pending, 0o600);
    await rename(pending, inHome);
    endpoint = entry = inHome;
  } else {
    endpoint = join(tmpdir(), `shelf-${hash(home)}-${id}.sock`);
    if (Buffer.byteLength(endpoint) > MAX_SOCKET_PATH) throw new Error(`no socket path short enough for ${home} (the temp directory ${tmpdir()} is too long)`);
    await listen(server, endpoint);
    await chmod(endpoint, 0o600);
    entry = await writeAddress(dir, id, endpoint);
  }

  // Errors after listening (a failed accept) concern one connection, never the listener.
  server.on("error", () => undefined);
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    close() {
      closing ??= (async () => {
        await rm(entry, { force: true }).catch(() => undefined);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (entry !== endpoint && process.platform !== "win32") await rm(endpoint, { force: true }).catch(() => undefined);
      })();
      return closing;
    },
  };
}

/**
 * Tells every listener on `home` that `documentIds` changed in its storage. Never throws and never
 * waits more than NOTIFY_BUDGET_MS; with no listener it costs one readdir.
 */
export async function notifyLocalEdit(home: string, documentIds: Iterable<string>, budgetMs = NOTIFY_BUDGET_MS): Promise<void> {
  try {
    const dir = signalsDir(home);
    const names = await readdir(dir).catch(() => [] as string[]);
    const targets = names.filter((n) => n.endsWith(".sock") || n.endsWith(".addr"));
    if (targets.length === 0) return;
    let line = JSON.stringify({ docs: [...documentIds] }) + "\n";
    // Too long to be read: the listener looks at every document anyway.
    if (Buffer.byteLength(line) > MAX_SIGNAL_BYTES) line = '{"docs":[]}\n';
    const until = Date.now() + budgetMs;
    await Promise.all(targets.map((name) => poke(dir, name, line, until)));
  } catch {
    // A signal is an optimization: the daemon's poll takes the edit anyway.
  }
}

/** Sends `line` to one entry; removes the entry when its listener is gone. */
async function poke(dir: string, name: string, line: string, until: number): Promise<void> {
  const entry = join(dir, name);
  const endpoint = name.endsWith(".sock") ? entry : await readAddress(entry);
  if (!endpoint) return;
  const outcome = await send(endpoint, line, until - Date.now());
  if (outcome === "gone" && !processAlive(name)) await removeEntry(entry, endpoint);
}

type Outcome = "sent" | "gone" | "failed";

function send(endpoint: string, line: string, timeoutMs: number): Promise<Outcome> {
  if (timeoutMs <= 0) return Promise.resolve("failed");
  return new Promise((resolve) => {
    let socket: Socket;
    const done = (outcome: Outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done("failed"), timeoutMs);
    socket = createConnection(endpoint, () => socket.end(line, () => done("sent")));
    socket.on("error", (err: NodeJS.ErrnoException) => done(err.code === "ECONNREFUSED" || err.code === "ENOENT" ? "gone" : "failed"));
  });
}

/** Reads one connection's line and hands its document ids on; anything odd is dropped. */
function receive(socket: Socket, onEdit: (documentIds: string[]) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let handled = false;
  socket.setTimeout(READ_TIMEOUT_MS, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  const handle = () => {
    if (handled) return;
    handled = true;
    socket.destroy();
    const text = Buffer.concat(chunks).toString("utf8");
    const newline = text.indexOf("\n");
    const ids = parseSignal(newline < 0 ? text : text.slice(0, newline));
    if (ids) onEdit(ids);
  };
  socket.on("data", (chunk: Buffer) => {
    if (handled) return;
    size += chunk.length;
    if (size > MAX_SIGNAL_BYTES + 1) {
      handled = true;
      socket.destroy();
      return;
    }
    chunks.push(chunk);
    if (chunk.includes(10)) handle();
  });
  socket.on("end", handle);
}

/** The document ids of one signal line, or undefined when it is not one. */
export function parseSignal(line: string): string[] | undefined {
  if (line.length === 0 || Buffer.byteLength(line) > MAX_SIGNAL_BYTES) return undefined;
  try {
    const message = JSON.parse(line) as { docs?: unknown };
    if (!message || typeof message !== "object" || !Array.isArray(message.docs)) return undefined;
    return message.docs.filter((d): d is string => typeof d === "string" && d.length > 0 && d.length <= 128);
  } catch {
    return undefined;
  }
}

/** Removes the entries of listeners that are gone (a daemon killed without closing). */
async function sweepStale(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      if (processAlive(name)) return;
      const entry = join(dir, name);
      if (name.endsWith(".pending")) return rm(entry, { force: true }).catch(() => undefined);
      if (!name.endsWith(".sock") && !name.endsWith(".addr")) return;
      const endpoint = name.endsWith(".sock") ? entry : await readAddress(entry);
      if (!endpoint) return;
      if ((await send(endpoint, '{"docs":[]}\n', 200)) === "gone") await removeEntry(entry, endpoint);
    }),
  );
}

/**
 * Whether the process that made an entry (its name starts with its pid) may still run. Only a
 * process known to be gone makes an unanswered entry stale: a listener whose queue is full also
 * refuses connections on some systems.
 */
function processAlive(name: string): boolean {
  const pid = Number(/^(\d+)-/.exec(name)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function removeEntry(entry: string, endpoint: string): Promise<void> {
  await unlink(entry).catch(() => undefined);
  // A socket left in the temp directory by a dead listener; never anything but a socket.
  if (endpoint !== entry && process.platform !== "win32") {
    const stat = await lstat(endpoint).catch(() => undefined);
    if (stat?.isSocket()) await unlink(endpoint).catch(() => undefined);
  }
}

async function writeAddress(dir: string, id: string, endpoint: string): Promise<string> {
  const pending = join(dir, `${id}.pending`);
  const entry = join(dir, `${id}.addr`);
  await writeFile(pending, endpoint + "\n", { mode: 0o600 });
  await rename(pending, entry);
  return entry;
}

async function readAddress(entry: string): Promise<string | undefined> {
  const text = await readFile(entry, "utf8").catch(() => "");
  const endpoint = text.trim();
  return endpoint.length > 0 && endpoint.length < 1024 && !endpoint.includes("\n") ? endpoint : undefined;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

const hash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 16);

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
 * A command may also ask a listener something (`ask`): it sends one line of JSON and reads one
 * line back. A listener that takes no requests answers `{"declined": reason}`; one from before
 * requests existed hangs up, which the asker takes as a decline.
 * An entry nobody answers whose process is gone (a killed daemon) is removed by the next notifier
 * or listener that finds it.
 */
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
/** How long an asker waits for a listener to accept its connection. */
const CONNECT_TIMEOUT_MS = 500;

export interface LocalEditListener {
  /** where it listens (a socket path or a pipe name) */
  readonly endpoint: string;
  /** stops listening and removes its entry; safe to call twice */
  close(): Promise<void>;
}

/** Answers a request line a command sent (any JSON but a signal); its answer goes back as one line. */
export type LocalRequestHandler = (request: Record<string, unknown>) => Promise<Record<string, unknown>>;

/**
 * Listens for local edit signals on `home`; `onEdit` receives the document ids a notifier named
 * (possibly none, and never to be trusted further than "look at storage now"), and `onRequest`,
 * when given, answers what commands ask. Throws when it cannot listen: the caller then relies on
 * polling.
 */
export async function listenForLocalEdits(home: string, onEdit: (documentIds: string[]) => void, onRequest?: LocalRequestHandler): Promise<LocalEditListener> {
  const dir = signalsDir(home);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await sweepStale(dir).catch(() => undefined);
  // node:crypto only here: a command that asks or notifies does not pay for loading it
  const { randomBytes } = await import("node:crypto");
  const id = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const server = createServer((socket) => receive(socket, onEdit, onRequest));
  server.maxConnections = 64;

  let endpoint: string;
  let entry: string;
  const inHome = join(dir, `${id}.sock`);
  if (process.platform === "win32") {
    endpoint = `\\\\.\\pipe\\shelf-${await hash(home)}-${id}`;
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
    endpoint = join(tmpdir(), `shelf-${await hash(home)}-${id}.sock`);
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
    const targets = names.filter(isEntry);
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
  const endpoint = await endpointOf(entry);
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

/**
 * Reads one connection's line: a signal's document ids go to `onEdit`; any other JSON object is a
 * request, answered on the same connection. Anything odd is dropped.
 */
function receive(socket: Socket, onEdit: (documentIds: string[]) => void, onRequest: LocalRequestHandler | undefined): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let handled = false;
  socket.setTimeout(READ_TIMEOUT_MS, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  const handle = () => {
    if (handled) return;
    handled = true;
    const text = Buffer.concat(chunks).toString("utf8");
    const newline = text.indexOf("\n");
    const line = newline < 0 ? text : text.slice(0, newline);
    const ids = parseSignal(line);
    const request = ids ? undefined : parseRequest(line);
    if (!request) {
      socket.destroy();
      if (ids) onEdit(ids);
      return;
    }
    // The answer may take a while (a write waits for its shard): the asker bounds its own wait.
    socket.setTimeout(0);
    const answer = onRequest ? onRequest(request) : Promise.resolve({ declined: "this process takes no requests" });
    void answer
      .catch((err: unknown) => ({ declined: `failed: ${(err as Error)?.message ?? err}` }))
      .then((reply) => socket.end(JSON.stringify(reply) + "\n"));
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

function parseRequest(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether any process listens on `home` (one readdir). */
export async function hasListeners(home: string): Promise<boolean> {
  const names = await readdir(signalsDir(home)).catch(() => [] as string[]);
  return names.some(isEntry);
}

/**
 * Asks the listeners on `home`, one at a time, until one answers other than `{"declined": ...}`,
 * and returns that answer; undefined when none did (none listens, all declined, or one hung up or
 * did not answer within `answerTimeoutMs`).
 */
export async function ask(home: string, request: Record<string, unknown>, answerTimeoutMs: number): Promise<Record<string, unknown> | undefined> {
  const dir = signalsDir(home);
  const names = await readdir(dir).catch(() => [] as string[]);
  const line = JSON.stringify(request) + "\n";
  for (const name of names.filter(isEntry)) {
    const endpoint = await endpointOf(join(dir, name));
    if (!endpoint) continue;
    const answer = parseRequest(await exchange(endpoint, line, answerTimeoutMs));
    if (answer && !("declined" in answer)) return answer;
  }
  return undefined;
}

/** Sends one line and reads one back; "" when the listener is gone, hung up, or too slow. */
function exchange(endpoint: string, line: string, answerTimeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (text: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text);
    };
    let timer = setTimeout(() => done(""), CONNECT_TIMEOUT_MS);
    const socket = createConnection(endpoint, () => {
      clearTimeout(timer);
      timer = setTimeout(() => done(""), answerTimeoutMs);
      socket.write(line);
    });
    socket.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_SIGNAL_BYTES) return done("");
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString("utf8");
      const newline = text.indexOf("\n");
      if (newline >= 0) done(text.slice(0, newline));
    });
    socket.on("error", () => done(""));
    socket.on("close", () => done(""));
  });
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
      if (!isEntry(name)) return;
      const endpoint = await endpointOf(entry);
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

/** A listener's entry in `signals/`: its socket, or a file naming its endpoint. */
const isEntry = (name: string): boolean => name.endsWith(".sock") || name.endsWith(".addr");

/** Where an entry's listener listens (undefined for an address file that names nothing usable). */
const endpointOf = async (entry: string): Promise<string | undefined> => (entry.endsWith(".sock") ? entry : await readAddress(entry));

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

const hash = async (text: string): Promise<string> => (await import("node:crypto")).createHash("sha256").update(text).digest("hex").slice(0, 16);

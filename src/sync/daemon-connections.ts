/**
 * What a running `shelf daemon` (or `shelf serve`) is connected to, for other processes on its
 * home to show (the web app's Sync page): one small JSON file per process in
 * `<home>/connections/<pid>.json`, rewritten (temp file + rename) on every connection event and
 * removed when the process stops. A file whose process is gone (a killed daemon) is ignored.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface RemoteConnection {
  connected: boolean;
  /** when it connected, or when it was lost */
  since: string;
  /** why it is not connected */
  error?: string;
}

export interface DaemonConnections {
  pid: number;
  startedAt: string;
  remotes: Record<string, RemoteConnection>;
}

const dirOf = (home: string) => join(home, "connections");

export class DaemonConnectionsFile {
  readonly #file: string;
  readonly #state: DaemonConnections = { pid: process.pid, startedAt: new Date().toISOString(), remotes: {} };

  constructor(home: string) {
    this.#file = join(dirOf(home), `${process.pid}.json`);
    this.#write();
  }

  set(remote: string, connected: boolean, error?: string): void {
    this.#state.remotes[remote] = { connected, since: new Date().toISOString(), ...(error ? { error } : {}) };
    this.#write();
  }

  remove(): void {
    try {
      rmSync(this.#file, { force: true });
    } catch {
      // a read-only home: readers ignore the file once this process is gone
    }
  }

  #write(): void {
    // Only a convenience for other processes: a failed write (full disk, read-only home) must
    // never stop the daemon.
    try {
      mkdirSync(dirname(this.#file), { recursive: true, mode: 0o700 });
      writeFileSync(`${this.#file}.tmp`, JSON.stringify(this.#state), { mode: 0o600 });
      renameSync(`${this.#file}.tmp`, this.#file);
    } catch {
      // the page then shows the state of the last good write
    }
  }
}

/** The live daemons of `home` and their connections; empty when none runs. */
export function readDaemonConnections(home: string): DaemonConnections[] {
  let names: string[];
  try {
    names = readdirSync(dirOf(home));
  } catch {
    return [];
  }
  const found: DaemonConnections[] = [];
  for (const name of names) {
    const pid = Number(/^(\d+)\.json$/.exec(name)?.[1]);
    if (!Number.isSafeInteger(pid) || !alive(pid)) continue;
    try {
      found.push(JSON.parse(readFileSync(join(dirOf(home), name), "utf8")) as DaemonConnections);
    } catch {
      // being replaced right now, or damaged: the next read sees it
    }
  }
  return found.sort((a, b) => a.pid - b.pid);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

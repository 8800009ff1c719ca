/**
 * The file through which a daemon tells other processes on its home (the web app's Sync page)
 * what it is connected to.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DaemonConnectionsFile, readDaemonConnections } from "../src/sync/daemon-connections.js";
import { tempDir } from "./helpers/temp-home.js";

describe("a daemon's connections file", () => {
  it("shows each relay's state to other processes, until the daemon stops", () => {
    const home = tempDir();
    expect(readDaemonConnections(home)).toEqual([]);
    const shown = new DaemonConnectionsFile(home);
    shown.set("hub", false);
    shown.set("hub", true);
    shown.set("gone", false, "cannot connect to gone (ws://127.0.0.1:9/sync): connect ECONNREFUSED 127.0.0.1:9");
    const [daemon] = readDaemonConnections(home);
    expect(daemon).toMatchObject({ pid: process.pid, remotes: { hub: { connected: true }, gone: { connected: false, error: expect.stringContaining("ECONNREFUSED") } } });
    expect(daemon!.remotes.hub!.error).toBeUndefined();
    shown.remove();
    expect(readDaemonConnections(home)).toEqual([]);
  });

  it("ignores the file of a daemon that was killed", () => {
    const home = tempDir();
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    mkdirSync(join(home, "connections"));
    writeFileSync(join(home, "connections", `${gone}.json`), JSON.stringify({ pid: gone, startedAt: new Date().toISOString(), remotes: { hub: { connected: true, since: new Date().toISOString() } } }));
    expect(readDaemonConnections(home)).toEqual([]);
  });

  it("never stops the daemon when the home cannot be written", () => {
    const home = tempDir();
    writeFileSync(join(home, "connections"), "a file where the directory would go");
    chmodSync(home, 0o555);
    try {
      const shown = new DaemonConnectionsFile(home);
      expect(() => shown.set("hub", true)).not.toThrow();
      expect(() => shown.remove()).not.toThrow();
    } finally {
      chmodSync(home, 0o755);
    }
  });
});

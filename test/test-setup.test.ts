/**
 * scripts/test-setup.mjs, which `npm test` runs first: with everything installed it says nothing;
 * with a program missing it installs it (root with apt-get) or stops at once with the command.
 * A program is made "missing" by running the script with a PATH that lacks it; the non-root case
 * runs as the real user `nobody` (through setpriv) when the tests run as root.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";

const SCRIPT = join(ROOT, "scripts", "test-setup.mjs");
const isRoot = process.getuid?.() === 0;
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A directory for PATH holding only the given programs (symlinks to the real or a fake one). */
function pathWith(programs: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "shelf-test-setup-"));
  chmodSync(dir, 0o755);
  dirs.push(dir);
  for (const [name, target] of Object.entries(programs)) symlinkSync(target, join(dir, name));
  return dir;
}

function runSetup(path: string, opts: { asNobody?: boolean } = {}) {
  const command = opts.asNobody && isRoot ? ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, SCRIPT] : [process.execPath, SCRIPT];
  // rclone and chromium live in /usr/bin, which this PATH leaves out; apache2 is found in /usr/sbin.
  return spawnSync(command[0]!, command.slice(1), { encoding: "utf8", env: { PATH: path, HOME: tmpdir() }, timeout: 30_000 });
}

describe("npm test's setup", () => {
  it("says nothing and passes when everything the tests start is installed", () => {
    const run = spawnSync(process.execPath, [SCRIPT], { encoding: "utf8" });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("stops at once with the exact command when a program is missing and it is not root", () => {
    const run = runSetup(pathWith({ "apt-get": "/usr/bin/apt-get" }), { asNobody: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("the tests need rclone, chromium, which are not installed");
    expect(run.stderr).toContain("sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends rclone chromium'");
  });

  it("names the packages when there is no apt-get", () => {
    const run = runSetup(pathWith({}), { asNobody: true });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("Install the packages rclone chromium (Debian names)");
  });

  // apt-get is a stand-in here: installing real packages from a test would change the machine.
  it.runIf(isRoot)("as root, installs the missing packages with apt-get and checks them again", () => {
    const log = join(mkdtempSync(join(tmpdir(), "shelf-apt-log-")), "calls");
    dirs.push(join(log, ".."));
    const fakeApt = join(pathWith({}), "fake-apt-get");
    writeFileSync(fakeApt, `#!/bin/sh\necho "$*" >> ${log}\n`, { mode: 0o755 });
    const run = runSetup(pathWith({ "apt-get": fakeApt, sh: "/bin/sh" }));
    expect(run.stderr).toContain("installing rclone, chromium for the tests");
    expect(readFileSync(log, "utf8")).toBe("update\ninstall -y --no-install-recommends rclone chromium\n");
    // The stand-in installed nothing, so the script must not pretend it worked.
    expect(run.stderr).toContain("still missing after apt-get install: rclone, chromium");
    expect(run.status).toBe(1);
  });
});

#!/usr/bin/env node
// Runs before `npm test` (the `pretest` script): the suites start real programs that npm cannot
// install (Apache httpd and rclone serve WebDAV, Debian's Chromium drives the web pages). When one
// is missing this installs it (root with apt-get) or stops at once with the exact command to run,
// so no suite fails half-way or is skipped without a word.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { spawnSync } from "node:child_process";

/** Program the tests start -> the Debian package that ships it. */
const NEEDED = [
  { program: "apache2", pkg: "apache2" },
  { program: "rclone", pkg: "rclone" },
  { program: "chromium", pkg: "chromium" },
];

// Debian keeps apache2 in /usr/sbin, which a non-root user's PATH lacks; the tests look there too.
const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

function findProgram(name, path = process.env.PATH ?? "") {
  for (const dir of [...path.split(delimiter).filter(Boolean), ...SBIN]) {
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const missingPackages = () => NEEDED.filter((n) => findProgram(n.program) === undefined).map((n) => n.pkg);

function main() {
  const missing = missingPackages();
  if (missing.length === 0) return 0;
  const apt = findProgram("apt-get");
  const install = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || apt === undefined) {
    const command = apt === undefined ? undefined : `sudo sh -c '${install}'`;
    process.stderr.write(
      `test setup: the tests need ${missing.join(", ")}, which ${missing.length === 1 ? "is" : "are"} not installed.\n` +
        (command
          ? `Run this, then npm test again:\n  ${command}\n`
          : `Install the packages ${missing.join(" ")} (Debian names) with this system's package manager, then run npm test again.\n`),
    );
    return 1;
  }
  process.stderr.write(`test setup: installing ${missing.join(", ")} for the tests:\n  ${install}\n`);
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", ...missing]]) {
    const run = spawnSync(apt, args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    if (run.status !== 0) {
      process.stderr.write(`test setup: apt-get ${args[0]} failed (exit ${run.status ?? run.signal}); run it by hand:\n  ${install}\n`);
      return 1;
    }
  }
  const still = missingPackages();
  if (still.length > 0) {
    process.stderr.write(`test setup: still missing after apt-get install: ${still.join(", ")}; install ${still.join(" ")} by hand, then run npm test again.\n`);
    return 1;
  }
  return 0;
}

process.exitCode = main();

/**
 * A long-running shelf process survives the timeout automerge-repo leaves unhandled (a document a
 * peer has that is not ready within 60 s), and still dies of any other unhandled rejection. Run in
 * child processes: an unhandled rejection is about the whole process.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/cli.js";

const guard = pathToFileURL(join(ROOT, "dist", "src", "unhandled-waits.js")).href;
// automerge-repo's own helper, the one DocHandle.whenReady() uses
const withTimeout = pathToFileURL(join(ROOT, "node_modules", "@automerge", "automerge-repo", "dist", "helpers", "withTimeout.js")).href;

function runNode(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--input-type=module", "-e", script], { timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("unhandled automerge-repo waits", () => {
  it("a wait that times out unawaited is reported, and the process goes on", async () => {
    const result = await runNode(`
      const { tolerateRepoWaitTimeouts } = await import(${JSON.stringify(guard)});
      const { withTimeout } = await import(${JSON.stringify(withTimeout)});
      tolerateRepoWaitTimeouts((m) => console.error("WARN " + m));
      void withTimeout(new Promise(() => {}), 20); // as DocSynchronizer.beginSync does
      setTimeout(() => console.log("still serving"), 200);
    `);
    expect(result.stderr).toMatch(/WARN a document was not ready/);
    expect(result.stdout).toContain("still serving");
    expect(result.code).toBe(0);
  });

  it("any other unhandled rejection still ends the process with an error", async () => {
    const result = await runNode(`
      const { tolerateRepoWaitTimeouts } = await import(${JSON.stringify(guard)});
      tolerateRepoWaitTimeouts(() => {});
      void Promise.reject(new Error("a real bug"));
      setTimeout(() => console.log("still serving"), 200);
    `);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("a real bug");
    expect(result.stdout).not.toContain("still serving");
  });
});

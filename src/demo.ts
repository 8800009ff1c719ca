/**
 * `npm run demo`: a relay on loopback and three instances in temporary homes share one catalog.
 * Laptop A creates it and imports the sample packages; B and C join through the relay; all three
 * edit offline (A and B the same field), sync in turn, and end with identical catalogs, nothing
 * lost, and the one real disagreement shown as a conflict. Every step is a real `shelf` command,
 * printed as it runs.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("./cli/main.cjs", import.meta.url));
const sample = fileURLToPath(new URL("../../fixtures/npm-sample.tsv", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "shelf-demo-"));
const homes = { A: join(work, "laptop-a"), B: join(work, "laptop-b"), C: join(work, "desktop-c") };

function shelf(who: keyof typeof homes, ...args: string[]): string {
  process.stdout.write(`\n[${who}] $ shelf ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`);
  const out = execFileSync(process.execPath, [cli, "--home", homes[who], ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (out.trim() && !args.includes("--json")) process.stdout.write(out);
  return out;
}

/** Starts `shelf relay` on a free loopback port and resolves its URL once it listens. */
async function startRelay(): Promise<{ url: string; stop(): void }> {
  const relay = spawn(process.execPath, [cli, "relay", "--port", "0", "--data", join(work, "relay")], { stdio: ["ignore", "pipe", "ignore"] });
  const lines = createInterface({ input: relay.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    relay.once("exit", (code) => reject(new Error(`the relay exited with code ${code}`)));
    lines.on("line", (line) => {
      const match = /listening on (ws:\/\/\S+)/.exec(line);
      if (match) resolve(match[1]!);
    });
  });
  return { url, stop: () => relay.kill("SIGTERM") };
}

const relay = await startRelay();
try {
  console.log(`shelf demo: a relay at ${relay.url} and three instances under ${work}`);
  const catalog = shelf("A", "init", "--name", "team").trim();
  shelf("A", "import", "tsv", sample);
  shelf("A", "remote", "add", "team", relay.url);
  shelf("A", "sync");
  shelf("B", "join", catalog, "--relay", relay.url, "--name", "team");
  shelf("C", "join", catalog, "--relay", relay.url, "--name", "team");
  shelf("C", "search", "react", "--limit", "3");

  console.log("\n-- all three go offline and edit --");
  shelf("A", "set", "npm:react", "summary=The library for web and native user interfaces");
  shelf("A", "set", "npm:lodash", "version=5.0.0");
  shelf("B", "set", "npm:lodash", "version=4.99.0");
  shelf("B", "tag", "npm:react", "+ui");
  shelf("C", "tag", "npm:react", "+frontend");
  shelf("C", "add", "npm:shelf-demo", "--name", "shelf-demo", "--version", "1.0.0", "--summary", "Added on desktop C while offline");

  console.log("\n-- back online: each syncs through the relay (twice round, so every edit reaches everyone) --");
  for (let round = 0; round < 2; round++) for (const who of ["A", "B", "C"] as const) shelf(who, "sync");

  shelf("B", "show", "npm:react");
  shelf("C", "conflicts");
  const lists = (["A", "B", "C"] as const).map((who) => shelf(who, "list", "--include-deleted", "--json"));
  const conflicts = (["A", "B", "C"] as const).map((who) => shelf(who, "conflicts", "--json"));
  if (new Set(lists).size !== 1 || new Set(conflicts).size !== 1) throw new Error("the instances disagree");
  const count = (JSON.parse(lists[0]!) as { count: number }).count;
  console.log(
    `\nAll three instances hold the same ${count} records and the same conflicts (byte-identical ` +
      "`shelf list --json` and `shelf conflicts --json`): A's summary and both tags on npm:react, C's new record, " +
      "and lodash's two versions kept side by side until someone runs `shelf resolve npm:lodash version --pick N`.",
  );
} finally {
  relay.stop();
  rmSync(work, { recursive: true, force: true });
}

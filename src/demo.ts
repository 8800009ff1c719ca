/**
 * `npm run demo`: two instances in temporary homes keep one catalog. Laptop A creates it and imports
 * the sample packages, laptop B takes a copy from a bundle, both edit offline (one of them the same
 * field), they exchange bundles, and end with identical catalogs, nothing lost. Every step is a
 * real `shelf` command, printed as it runs.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("./cli/main.js", import.meta.url));
const sample = fileURLToPath(new URL("../../fixtures/npm-sample.tsv", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "shelf-demo-"));
const homes = { A: join(work, "laptop-a"), B: join(work, "laptop-b") };

function shelf(who: keyof typeof homes, ...args: string[]): string {
  process.stdout.write(`\n[${who}] $ shelf ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`);
  const out = execFileSync(process.execPath, [cli, "--home", homes[who], ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (out.trim() && !args.includes("--json")) process.stdout.write(out);
  return out;
}

try {
  console.log(`shelf demo: two instances under ${work}`);
  shelf("A", "init", "--name", "team");
  shelf("A", "import", "tsv", sample);
  shelf("A", "search", "react", "--limit", "5");
  shelf("A", "export", join(work, "team.bundle"));
  shelf("B", "import-bundle", join(work, "team.bundle"));

  console.log("\n-- both laptops go offline and edit --");
  shelf("A", "set", "npm:react", "summary=The library for web and native user interfaces");
  shelf("A", "tag", "npm:react", "+frontend");
  shelf("B", "tag", "npm:react", "+ui");
  shelf("B", "rm", "npm:lodash");
  shelf("B", "add", "npm:shelf-demo", "--name", "shelf-demo", "--version", "1.0.0", "--summary", "Added on laptop B while offline");

  console.log("\n-- they meet again: exchange bundles --");
  shelf("A", "export", join(work, "a.bundle"));
  shelf("B", "export", join(work, "b.bundle"));
  shelf("A", "import-bundle", join(work, "b.bundle"));
  shelf("B", "import-bundle", join(work, "a.bundle"));

  shelf("A", "show", "npm:react");
  const listA = shelf("A", "list", "--include-deleted", "--json");
  const listB = shelf("B", "list", "--include-deleted", "--json");
  const count = (JSON.parse(listA) as { count: number }).count;
  if (listA !== listB) throw new Error("the two instances disagree");
  console.log(`\nBoth instances hold the same ${count} records (byte-identical \`shelf list --json\`): both tags on npm:react, A's summary, B's delete and B's new record.`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

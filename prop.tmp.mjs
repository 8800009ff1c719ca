// set on A (daemon running), poll B's view until the value shows; prints per-edit latencies
import { spawnSync } from "node:child_process";
import Database from "better-sqlite3";
const n = Number(process.argv[2] ?? 10);
const dbB = new Database("/tmp/h227b/shelf.db", { readonly: true });
const ids = dbB.prepare("SELECT id FROM records ORDER BY random() LIMIT ?").all(n).map(r => r.id);
const q = dbB.prepare("SELECT summary FROM records WHERE id = ?");
const res = [];
for (const id of ids) {
  const v = "p" + Math.random().toString(36).slice(2, 10);
  const t0 = performance.now();
  const r = spawnSync("node", ["dist/src/cli/main.cjs", "--home", "/tmp/h227", "set", id, `summary=${v}`], { encoding: "utf8" });
  const t1 = performance.now();
  if (r.status) { console.error(r.stderr); continue; }
  while (q.get(id)?.summary !== v) { if (performance.now() - t1 > 10000) { console.error("timeout", id); break; } await new Promise(r => setTimeout(r, 2)); }
  const t2 = performance.now();
  res.push([t1 - t0, t2 - t1]);
  await new Promise(r => setTimeout(r, 300));
}
const med = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(0);
console.log("set p50", med(res.map(r => r[0])), "visible-after p50", med(res.map(r => r[1])), "all:", res.map(r => r[1].toFixed(0)).join(" "));

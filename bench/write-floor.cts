/**
 * The least a fresh process must do to write one record through Automerge: start Node, load
 * better-sqlite3 and Automerge as the CLI loads them, read the record's shard from shelf.db, load
 * it, change one field and encode the change as the chunk to store. `shelf set` does all of this,
 * then stores the chunk and updates the view in one transaction, so its time over this one is what
 * shelf adds. The home is only read.
 *
 *   node dist/bench/write-floor.cjs HOME ID
 *
 * CommonJS, as the CLI's bundle is: an ES module entry would add Node's module loader to the floor.
 * Prints the sizes of the shard and of the change, in bytes.
 */
import Database = require("better-sqlite3");
import { join } from "node:path";

// The CLI's own loader (source file, not built): CommonJS build and WebAssembly tiering budget.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const A = require("../../src/cli/load-automerge.cjs") as typeof import("@automerge/automerge");

const [home, id] = process.argv.slice(2);
if (!home || !id) throw new Error("usage: node dist/bench/write-floor.cjs HOME ID");
const db = new Database(join(home, "shelf.db"), { readonly: true, fileMustExist: true });
const row = db
  .prepare<[string], { shard: number; shard_urls: string }>("SELECT r.shard, c.shard_urls FROM records r JOIN catalogs c USING (cat_id) WHERE c.is_default = 1 AND r.id = ?")
  .get(id);
if (!row) throw new Error(`no record ${id} in the default catalog of ${home}`);
const documentId = (JSON.parse(row.shard_urls) as string[])[row.shard]!.replace(/^automerge:/, "");
const range = db.prepare<[string, string], { data: Buffer }>("SELECT data FROM crdt_chunks WHERE key >= ? AND key < ? ORDER BY rowid");
const chunks: Buffer[] = [];
// Snapshots first, then incremental chunks, as shelf loads a stored document.
for (const kind of ["snapshot", "incremental"]) for (const chunk of range.iterate(`${documentId}/${kind}/`, `${documentId}/${kind}0`)) chunks.push(chunk.data);
const bytes = Buffer.concat(chunks);
const core = A.getBackend(A.init());
core.loadIncremental(bytes);
const loaded = core.getHeads();
const records = core.getWithType("_root", "records");
if (records?.[0] !== "map") throw new Error(`the shard of ${id} (${documentId}) has no records map`);
core.put(String(records[1]), `${id} summary`, `floor ${Date.now()}`, "str");
core.commit("write floor", Math.floor(Date.now() / 1000));
const change = core.saveSince(loaded);
process.stdout.write(`${bytes.byteLength} ${change.byteLength}\n`);

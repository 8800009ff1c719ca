// Child process for the crash-recovery test: writes one record into its shard document through the
// Repo and flushes it to the SQLite chunk table, but never materializes it; then kills itself with
// SIGKILL, as a crash between "CRDT durable" and "view updated" would.
//
// usage: node crash-writer.mjs DIST_SRC_DIR HOME RECORD_ID NAME
// DIST_SRC_DIR is the compiled src/ (dist/src), built by `npm run build`.
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [distSrc, home, id, name] = process.argv.slice(2);
if (!distSrc || !home || !id || !name) {
  process.stderr.write("usage: crash-writer.mjs DIST_SRC_DIR HOME RECORD_ID NAME\n");
  process.exit(2);
}
const load = (rel) => import(pathToFileURL(join(distSrc, rel)).href);

const { Instance } = await load("instance.js");
const { shardIndex } = await load("model/catalog-doc.js");
const { writeRecord } = await load("model/crdt-record.js");

const instance = Instance.open(home);
const catalog = instance.catalog();
const repo = await instance.repo();
const handle = await repo.find(catalog.shardUrls[shardIndex(id, catalog.shardUrls.length)]);
handle.change((doc) => {
  writeRecord(doc, id, { name, summary: "written just before a crash", addTags: ["crash"] }, { at: new Date().toISOString(), by: instance.id }, "require");
});
await repo.flush();
process.stdout.write("flushed\n");
process.kill(process.pid, "SIGKILL");

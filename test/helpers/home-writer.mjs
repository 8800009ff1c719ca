// Child process for the many-writers test: makes WRITES random edits on one home, each through the
// same command functions the CLI calls (each opens the instance, writes, flushes and closes, as one
// `shelf set` process would). After each write returns, it checks the raw view (a fresh read-only
// SQLite connection, no catch-up) holds it, and prints one JSON line naming the acknowledged write.
//
// Writer K owns the field meta.wK (only it writes there) and the tags wK-*, so the last value it
// acknowledged must be what the view shows at the end, whatever the others did.
//
// usage: node home-writer.mjs DIST_SRC_DIR HOME K WRITES SHARED_IDS_COMMA_SEPARATED
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";

const [distSrc, home, k, writesText, sharedText] = process.argv.slice(2);
if (!distSrc || !home || !k || !writesText || !sharedText) {
  process.stderr.write("usage: home-writer.mjs DIST_SRC_DIR HOME K WRITES SHARED_IDS\n");
  process.exit(2);
}
const { setFields, changeTags, addRecord } = await import(pathToFileURL(join(distSrc, "commands", "records.js")).href);
const shared = sharedText.split(",");
const writes = Number(writesText);
const pick = (list) => list[Math.floor(Math.random() * list.length)];

function viewMeta(id) {
  const db = new Database(join(home, "shelf.db"), { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 10000");
    const row = db.prepare("SELECT rid, meta FROM records WHERE id = ?").get(id);
    if (!row) return undefined;
    const tags = db.prepare("SELECT tag FROM record_tags WHERE rid = ?").all(row.rid).map((r) => r.tag);
    return { meta: JSON.parse(row.meta), tags };
  } finally {
    db.close();
  }
}

const options = { home };
for (let i = 1; i <= writes; i++) {
  const roll = Math.random();
  let ack;
  try {
    if (roll < 0.5) {
      const id = pick(shared);
      await setFields(id, [`meta.w${k}=${i}`], options);
      ack = { op: "meta", id, value: String(i) };
    } else if (roll < 0.8) {
      const id = pick(shared);
      await changeTags(id, [`+w${k}-${i}`], options);
      ack = { op: "tag", id, tag: `w${k}-${i}` };
    } else {
      const id = `npm:w${k}-${i}`;
      await addRecord(id, { home, name: `w${k}-${i}` });
      ack = { op: "add", id };
    }
  } catch (err) {
    // A failure must be a documented error (a ShelfError with a code), never anything else.
    process.stdout.write(JSON.stringify({ failed: true, i, code: err?.code ?? null, message: String(err?.stack ?? err) }) + "\n");
    continue;
  }
  // The acknowledged write must be in the view the moment the next command could start.
  const seen = viewMeta(ack.id);
  const visible = seen !== undefined && (ack.op !== "meta" || seen.meta[`w${k}`] === ack.value) && (ack.op !== "tag" || seen.tags.includes(ack.tag));
  process.stdout.write(JSON.stringify({ ...ack, i, visible }) + "\n");
}

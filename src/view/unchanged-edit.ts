/**
 * An edit of an existing record that would change nothing, told from the view alone, so that
 * nothing loads the record's shard for it. The view tells only while it is current for that
 * shard: no stored change of the shard waits to be materialized (crdt_dirty).
 */
import { shardDocumentOf } from "../model/catalog-doc.js";
import { predictOutcome } from "../model/patch-outcome.js";
import type { CatalogRecord, RecordPatch } from "../model/record.js";
import type { Db } from "../store/db.js";
import { getRecord } from "./queries.js";

/** The record as it is, when writing `patch` to it would change nothing; otherwise undefined. */
export function unchangedInView(db: Db, catalog: { catId: number; shardUrls: readonly string[] }, id: string, patch: RecordPatch): CatalogRecord | undefined {
  const shardId = shardDocumentOf(catalog, id);
  // one read, so that the record and the dirty mark are of the same moment
  return db.transaction(() => {
    if (db.prepare<[string], unknown>("SELECT 1 FROM crdt_dirty WHERE doc_id = ?").get(shardId) !== undefined) return undefined;
    const record = getRecord(db, catalog.catId, id);
    return record && predictOutcome(record, patch) === "unchanged" ? record : undefined;
  })();
}

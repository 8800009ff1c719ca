/**
 * The instance database schema, one SQL script per version. Never edit a shipped entry: append one.
 *
 * Three groups of tables share the file:
 * - crdt_*: the source of truth, Automerge chunks written by the storage adapter;
 * - records, record_tags, record_collections, record_conflicts, records_fts, view_heads: the view,
 *   rebuildable from crdt_* at any time;
 * - settings and catalogs: the instance's own configuration.
 */

/**
 * Importers: one cursor per catalog, provider, source and host (what the source looked like last
 * time: ETags, file states), the ids each cursor produced (so --prune touches only its own), the
 * scheduled imports, and every run for `shelf import history`.
 */
export const IMPORT_MIGRATION = `
  CREATE TABLE import_cursors (
    cursor_id INTEGER PRIMARY KEY,
    catalog_url TEXT NOT NULL,
    provider TEXT NOT NULL,
    source TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '{}',
    last_sync_at TEXT,
    UNIQUE (catalog_url, provider, source, host)
  );
  -- pruned = 1: this cursor tombstoned the record; it is restored if the source has it again
  CREATE TABLE import_cursor_ids (
    cursor_id INTEGER NOT NULL REFERENCES import_cursors(cursor_id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    pruned INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (cursor_id, id)
  ) WITHOUT ROWID;

  CREATE TABLE import_schedules (
    name TEXT PRIMARY KEY,
    catalog_url TEXT NOT NULL,
    provider TEXT NOT NULL,
    source TEXT NOT NULL,
    options TEXT NOT NULL,
    every_seconds INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    next_run_at TEXT NOT NULL
  );

  CREATE TABLE import_runs (
    run_id INTEGER PRIMARY KEY,
    schedule TEXT,
    catalog_url TEXT NOT NULL,
    provider TEXT NOT NULL,
    source TEXT NOT NULL,
    host TEXT,
    started_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('success', 'partial', 'failed')),
    error TEXT,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    tombstoned INTEGER NOT NULL DEFAULT 0,
    vanished INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX import_runs_by_schedule ON import_runs (schedule, run_id);
`;

/**
 * WebDAV snapshot sync (src/sync/webdav/state.ts): per catalog folder, the files this instance has
 * merged, written, found bad or is still to delete, the heads the folder is known to hold, and the
 * last sequence number this instance wrote. Kept as its own constant so that migrations added on
 * other branches can be ordered around it.
 */
export const WEBDAV_SYNC_MIGRATION = `
  -- folder: the catalog folder's URL; name: a file name in it, lowercased
  -- state: merged | covered (a snapshot whose content this instance already held) | own | superseded (own, to delete) | bad
  CREATE TABLE webdav_files (
    folder TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    size INTEGER,
    etag TEXT,
    reason TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (folder, name)
  ) WITHOUT ROWID;

  -- change hashes the folder is known to hold, per document (their ancestors are there too)
  CREATE TABLE webdav_heads (folder TEXT NOT NULL, doc_id TEXT NOT NULL, heads TEXT NOT NULL, PRIMARY KEY (folder, doc_id)) WITHOUT ROWID;

  CREATE TABLE webdav_writers (folder TEXT PRIMARY KEY, last_seq INTEGER NOT NULL);
`;

/**
 * Sync checkpoints (src/sync/checkpoints.ts) and the view's write sequence (for `shelf serve`'s
 * heads summaries).
 */
export const CHECKPOINT_MIGRATION = `
  -- seq: grows with every change of a document's view heads, so a served instance can say which
  -- documents changed since a peer last asked (src/protocol/heads-summary.ts)
  ALTER TABLE view_heads ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
  INSERT OR IGNORE INTO settings (key, value) VALUES ('view_epoch', lower(hex(randomblob(8)))), ('view_seq', '0');

  -- per remote and catalog: the server's store (epoch) and the last write sequence number seen
  CREATE TABLE sync_cursors (
    remote TEXT NOT NULL,
    catalog_url TEXT NOT NULL,
    remote_url TEXT NOT NULL,
    epoch TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (remote, catalog_url)
  ) WITHOUT ROWID;
  -- per remote and document: the heads the remote last said it holds, and the heads both sides
  -- were last known to share (the checkpoint)
  CREATE TABLE sync_checkpoints (
    remote TEXT NOT NULL,
    catalog_url TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    remote_heads TEXT NOT NULL,
    shared_heads TEXT,
    PRIMARY KEY (remote, catalog_url, doc_id)
  ) WITHOUT ROWID;
`;

/**
 * The full-text index made again, for search in time bounded by what it returns
 * (src/view/queries.ts searchRecords) and for source tags:
 * - prefix indexes for 1 to 6 letters, so "r" or "react" as the word being typed reads one list
 *   rather than every term that begins with it, and an index on names, for the exact name and the
 *   names that begin with what was typed;
 * - source tags (winget Tags, npm keywords, PyPI keywords and topics: `meta.sourceTags`) in a
 *   column of their own, apart from the user's tags, read with the keys older imports used
 *   (sourceTagsOf in src/model/record.ts reads the same ones).
 * FTS5 tables cannot gain a column or a prefix index, and this one is contentless, so it is filled
 * again from the records already in the view.
 */
export const SEARCH_MIGRATION = `
  DROP TABLE records_fts;
  CREATE VIRTUAL TABLE records_fts USING fts5(
    name, summary, tags, source_tags,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3 4 5 6'
  );
  INSERT INTO records_fts (rowid, name, summary, tags, source_tags)
    SELECT r.rid, r.name, r.summary,
      coalesce((SELECT group_concat(t.tag, ' ') FROM record_tags t WHERE t.rid = r.rid), ''),
      CASE WHEN NOT json_valid(r.meta) THEN '' ELSE coalesce((SELECT group_concat(j.value, ' ') FROM json_each(r.meta, CASE
        WHEN json_type(r.meta, '$.sourceTags') = 'array' THEN '$.sourceTags'
        WHEN r.provider IN ('winget', 'choco') THEN '$.tags'
        WHEN r.provider = 'npm' THEN '$.keywords'
        ELSE '$.sourceTags' END) j WHERE j.type = 'text'), '') END
    FROM records r;
  CREATE INDEX IF NOT EXISTS records_by_name ON records (cat_id, lower(name), id);
`;

/**
 * A catalog's record counts, live and deleted by provider, and its records in conflict, read from
 * indexes alone: every sync reports them (and `shelf status` shows them), and reading them from
 * the records themselves took half a second each at 227k records. Both are partial, over the few
 * deleted or edited-while-deleted records: an index led by (cat_id, deleted) would be taken for
 * every query on live records (searches, lists) in place of the name index.
 */
export const COUNTS_MIGRATION = `
  CREATE INDEX IF NOT EXISTS records_deleted ON records (cat_id, provider) WHERE deleted = 1;
  CREATE INDEX IF NOT EXISTS records_edited_while_deleted ON records (cat_id) WHERE edited_while_deleted = 1;
`;

export const SCHEMA_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE catalogs (
    cat_id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    is_default INTEGER NOT NULL DEFAULT 0,
    shard_urls TEXT NOT NULL,
    added_at TEXT NOT NULL
  );

  CREATE TABLE crdt_chunks (key TEXT PRIMARY KEY, data BLOB NOT NULL);
  -- documents whose stored chunks changed since the view last caught up with them
  CREATE TABLE crdt_dirty (doc_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);

  CREATE TABLE view_heads (doc_id TEXT PRIMARY KEY, cat_id INTEGER NOT NULL, heads TEXT NOT NULL);

  CREATE TABLE records (
    rid INTEGER PRIMARY KEY,
    cat_id INTEGER NOT NULL REFERENCES catalogs(cat_id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    shard INTEGER NOT NULL,
    kind TEXT NOT NULL,
    provider TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    summary TEXT NOT NULL,
    meta TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    deleted_at TEXT,
    deleted_by TEXT,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    edited_while_deleted INTEGER NOT NULL DEFAULT 0,
    UNIQUE (cat_id, id)
  );
  CREATE INDEX records_by_shard ON records (cat_id, shard);
  CREATE INDEX records_by_provider ON records (cat_id, provider, id);

  CREATE TABLE record_tags (rid INTEGER NOT NULL REFERENCES records(rid) ON DELETE CASCADE, tag TEXT NOT NULL, PRIMARY KEY (rid, tag)) WITHOUT ROWID;
  CREATE INDEX record_tags_by_tag ON record_tags (tag);
  CREATE TABLE record_collections (rid INTEGER NOT NULL REFERENCES records(rid) ON DELETE CASCADE, collection TEXT NOT NULL, PRIMARY KEY (rid, collection)) WITHOUT ROWID;
  CREATE INDEX record_collections_by_collection ON record_collections (collection);

  -- every competing value of every conflicted field; n orders them the same on every replica
  CREATE TABLE record_conflicts (
    rid INTEGER NOT NULL REFERENCES records(rid) ON DELETE CASCADE,
    field TEXT NOT NULL,
    n INTEGER NOT NULL,
    value TEXT NOT NULL,
    winner INTEGER NOT NULL,
    written_by TEXT,
    written_at TEXT,
    PRIMARY KEY (rid, field, n)
  ) WITHOUT ROWID;

  -- rowid = records.rid; contentless, since records already holds the text
  CREATE VIRTUAL TABLE records_fts USING fts5(
    name, summary, tags,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
  );
  `,
  `
  -- places to sync with: a relay (ws:// or wss://) or another instance serving directly
  CREATE TABLE remotes (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    token TEXT,
    added_at TEXT NOT NULL
  );

  -- one row per sync attempt, for \`shelf sync status\` and \`shelf sync history\`
  CREATE TABLE sync_runs (
    run_id INTEGER PRIMARY KEY,
    remote TEXT NOT NULL,
    catalog_url TEXT NOT NULL,
    started_at TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT,
    documents INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    conflicts INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX sync_runs_by_remote ON sync_runs (remote, run_id);
  `,
  IMPORT_MIGRATION,
  WEBDAV_SYNC_MIGRATION,
  CHECKPOINT_MIGRATION,
  SEARCH_MIGRATION,
  COUNTS_MIGRATION,
];

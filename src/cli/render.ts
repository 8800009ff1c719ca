/**
 * Rendering command results: one JSON document on stdout with --json (always carrying
 * schemaVersion), readable text otherwise. Messages for people go to stderr.
 */
import { sourceTagsKey, sourceTagsOf, type CatalogRecord } from "../model/record.js";
import type { InstanceStatus } from "../commands/read.js";
import type { RecordConflicts } from "../model/conflicts.js";
import type { HistoryEntry } from "../model/history.js";
import type { RemoteSyncStatus, SyncRun } from "../sync/remotes.js";

export const JSON_SCHEMA_VERSION = 1;

export interface Output {
  json: boolean;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export function printJson(out: Output, payload: Record<string, unknown>): void {
  out.stdout.write(JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...payload }, null, 2) + "\n");
}

export function say(out: Output, message: string): void {
  out.stderr.write(message + "\n");
}

export function formatRecord(r: CatalogRecord): string {
  const lines = [
    `${r.id}${r.deleted ? "  (deleted)" : ""}`,
    `  name:        ${r.name}`,
    `  version:     ${r.version}`,
    `  kind:        ${r.kind}`,
    `  provider:    ${r.provider}`,
    `  summary:     ${r.summary}`,
    `  tags:        ${r.tags.join(", ")}`,
    `  collections: ${r.collections.join(", ")}`,
  ];
  // the package manager's own tags, apart from the catalog's (they live in meta.sourceTags)
  const fromSource = sourceTagsOf(r);
  if (fromSource.length > 0) lines.splice(7, 0, `  source tags: ${fromSource.join(", ")}`);
  const shownAbove = sourceTagsKey(r);
  for (const [key, value] of Object.entries(r.meta)) {
    if (key === shownAbove) continue;
    lines.push(`  meta.${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  }
  if (r.deleted) lines.push(`  deleted:     ${r.deletedAt ?? "?"} by ${r.deletedBy ?? "?"}`);
  lines.push(`  updated:     ${r.updatedAt} by ${r.updatedBy}`);
  return lines.join("\n");
}

/** One line per record: id, version, summary cut to the terminal's width. */
export function formatRecordTable(records: CatalogRecord[], width = process.stdout.columns || 120): string {
  const idWidth = Math.min(40, Math.max(4, ...records.map((r) => r.id.length)));
  const versionWidth = Math.min(16, Math.max(1, ...records.map((r) => r.version.length)));
  return records
    .map((r) => {
      const head = `${r.id.padEnd(idWidth)}  ${r.version.padEnd(versionWidth)}  `;
      const summary = (r.deleted ? "(deleted) " : "") + r.summary;
      const room = Math.max(10, width - head.length);
      return head + (summary.length > room ? summary.slice(0, room - 1) + "…" : summary);
    })
    .join("\n");
}

export function formatStatus(s: InstanceStatus): string {
  const lines = [`instance ${s.instanceId}`, `home     ${s.home}`, `database ${s.dbPath} (${formatBytes(s.dbBytes)})`];
  if (s.pendingDocuments > 0) lines.push(`pending  ${s.pendingDocuments} documents not yet materialized`);
  if (s.keptDocuments > 0) lines.push(`kept     ${s.keptDocuments} documents from a join that did not finish: run the same \`shelf join\` again to complete it`);
  for (const c of s.catalogs) {
    lines.push(`catalog  ${c.name}${c.default ? " (default)" : ""}  ${c.url}`);
    const providers = Object.entries(c.byProvider).map(([p, n]) => `${p} ${n}`).join(", ");
    lines.push(`         ${c.live} records, ${c.deleted} deleted, ${c.shards} shards${providers ? ` (${providers})` : ""}`);
  }
  for (const r of s.remotes) lines.push(`remote   ${formatSyncStatus(r).split("\n").join("\n         ")}`);
  return lines.join("\n");
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

const show = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));

export function formatConflicts(c: RecordConflicts): string {
  const lines: string[] = [];
  if (c.editedWhileDeleted) lines.push("  edited while deleted: `shelf resolve ID --restore` brings it back, `shelf resolve ID deleted --value true` keeps it deleted");
  for (const f of c.fields) {
    lines.push(`  conflict on ${f.field}:`);
    for (const v of f.values) lines.push(`    ${v.n}. ${show(v.value)}${v.winner ? "  (shown)" : ""}  by ${v.by ?? "?"} at ${v.at ?? "?"}`);
  }
  if (c.fields.length > 0) lines.push("  settle with `shelf resolve ID FIELD --pick N` or `--value V`");
  return lines.join("\n");
}

export function formatHistory(entries: HistoryEntry[]): string {
  return entries
    .map((e) => {
      const head = `${e.at}  ${e.by ?? "?"}  ${e.op ?? ""}`.trimEnd();
      const fields = e.fields.map((f) => `    ${f.field}: ${show(f.old)} -> ${show(f.new)}`);
      return [head, ...fields].join("\n");
    })
    .join("\n");
}

export function formatSyncRun(run: SyncRun): string {
  const outcome = run.ok ? `ok: ${run.added} added, ${run.updated} updated, ${run.deleted} deleted, ${run.conflicts} in conflict` : `failed: ${run.error ?? "?"}`;
  return `${run.startedAt}  ${run.remote}  ${run.durationMs} ms  ${outcome}`;
}

export function formatSyncStatus(s: RemoteSyncStatus): string {
  const lines = [`${s.remote}  ${s.url}  (${s.runs} syncs)`];
  lines.push(`  last success: ${s.lastSuccess ? formatSyncRun(s.lastSuccess) : "never"}`);
  if (s.lastError) lines.push(`  last error:   ${formatSyncRun(s.lastError)}`);
  return lines.join("\n");
}

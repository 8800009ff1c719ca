/** tsv: the package-list TSV of the shared datasets (see ../tsv.ts), as an importer. */
import { sourceKey } from "../source-files.js";
import { readTsvRecords } from "../tsv.js";
import type { ImportRow, Provider, ProviderContext } from "../types.js";

async function* readTsv(ctx: ProviderContext): AsyncGenerator<ImportRow> {
  for await (const row of readTsvRecords(ctx.source, { provider: ctx.idPrefix, warn: ctx.note })) {
    const where = `${ctx.source}:${row.line}`;
    yield row.ok ? { ok: true, where, item: row.item } : { ok: false, where, reason: row.reason };
  }
}

export const tsvProvider: Provider = {
  name: "tsv",
  sources: "a package list: TSV with name, version, downloads_a_month, summary (plain or gzip; other columns ignored); --provider P",
  sourceKey,
  read: readTsv,
};

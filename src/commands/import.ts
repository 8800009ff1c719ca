/**
 * `shelf import PROVIDER SOURCE`, the scheduled imports (`import add|list|history|rm`) and
 * `shelf compare`. Each returns data; the CLI renders it.
 */
import { readFile } from "node:fs/promises";
import type { Progress } from "../catalog/catalog-store.js";
import { ShelfError } from "../errors.js";
import { listImportRuns, type ImportRun } from "../import/cursor-store.js";
import { runAndRecord, type ImportRequest, type ImportSummary } from "../import/run-import.js";
import { addSchedule, listSchedules, removeSchedule, type ScheduledImport } from "../import/schedule.js";
import { Instance, resolveHome } from "../instance.js";
import { compareHosts, type HostComparison } from "../view/host-compare.js";
import { withCatalog, withStore, type GlobalOptions } from "./context.js";

export interface ImportOptions extends GlobalOptions {
  dryRun?: boolean;
  prune?: boolean;
  as?: string;
  package?: string[];
  packages?: string;
  /** tsv: the id prefix */
  provider?: string;
  /** HTTP: seconds per attempt */
  timeout?: number;
  concurrency?: number;
}

/** --package NAME... and --packages FILE (one name a line, # comments) -> the names. */
async function packageNames(options: ImportOptions): Promise<string[]> {
  const names = [...(options.package ?? [])];
  if (options.packages) {
    let text: string;
    try {
      text = await readFile(options.packages, "utf8");
    } catch (err) {
      throw new ShelfError("SHELF_E_IO", `cannot read ${options.packages}: ${(err as Error).message}`);
    }
    for (const line of text.split(/\r?\n/)) {
      const name = line.replace(/#.*/, "").trim();
      if (name) names.push(name);
    }
  }
  return [...new Set(names)];
}

async function toRequest(provider: string, source: string, options: ImportOptions): Promise<ImportRequest> {
  return {
    provider,
    source,
    dryRun: options.dryRun === true,
    prune: options.prune === true,
    host: options.as,
    packages: await packageNames(options),
    idPrefix: options.provider,
    http: { timeoutMs: options.timeout !== undefined ? options.timeout * 1000 : undefined, concurrency: options.concurrency },
  };
}

export async function importSource(provider: string, source: string, options: ImportOptions, onProgress?: Progress): Promise<ImportSummary> {
  const request = await toRequest(provider, source, options);
  return withStore(options, ({ store }) => runAndRecord(store, request, { onProgress, onWait: options.warn }), { bulkWork: true });
}

export async function importAdd(name: string, provider: string, source: string, options: ImportOptions & { every: string }): Promise<ScheduledImport> {
  const request = await toRequest(provider, source, options);
  return withCatalog(options, ({ instance, catalog }) =>
    addSchedule(instance.db, {
      name,
      catalogUrl: catalog.url,
      provider,
      source,
      every: options.every,
      options: { prune: request.prune || undefined, host: request.host, packages: request.packages?.length ? request.packages : undefined, idPrefix: request.idPrefix },
    }),
  );
}

export async function importList(options: GlobalOptions): Promise<ScheduledImport[]> {
  return withCatalog(options, ({ instance }) => listSchedules(instance.db));
}

export async function importRm(name: string, options: GlobalOptions): Promise<void> {
  const instance = Instance.open(resolveHome(options.home));
  try {
    removeSchedule(instance.db, name);
  } finally {
    await instance.close();
  }
}

export async function importHistory(name: string | undefined, options: GlobalOptions & { limit?: number }): Promise<ImportRun[]> {
  const instance = Instance.open(resolveHome(options.home));
  try {
    return listImportRuns(instance.db, { limit: options.limit ?? 20, schedule: name });
  } finally {
    await instance.close();
  }
}

export async function compare(hostA: string, hostB: string, options: GlobalOptions & { provider?: string }): Promise<HostComparison> {
  return withCatalog(options, ({ instance, catalog }) => compareHosts(instance.db, catalog.catId, hostA, hostB, options.provider));
}

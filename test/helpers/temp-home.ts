/**
 * Temporary directories and instances for tests. Each helper must be called inside a test: it
 * registers its own cleanup with onTestFinished (which runs in reverse order of registration, so
 * an instance is closed before its directory is removed).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { Instance } from "../../src/instance.js";
import { CatalogStore } from "../../src/catalog/catalog-store.js";

/** A fresh empty directory under the OS temp dir, removed when the current test finishes. */
export function tempDir(prefix = "shelf-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An instance in a fresh home, closed when the current test finishes. */
export function tempInstance(home = tempDir()): Instance {
  const instance = Instance.open(home, { create: true });
  onTestFinished(() => instance.close());
  return instance;
}

/** A fresh instance holding one new catalog with a few shards (small, so tests stay fast). */
export async function tempCatalog(shards = 8, name = "test"): Promise<{ home: string; instance: Instance; store: CatalogStore }> {
  const home = tempDir();
  const instance = tempInstance(home);
  const store = await CatalogStore.create(instance, name, shards);
  return { home, instance, store };
}

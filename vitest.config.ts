import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The longest test files, longest first (measured on a 2-core machine, 3 at a time: 163 s down to
 * 45 s). They start first, so that no long file starts last and runs alone; without this a fresh
 * clone, which has no timings cached, starts files in order of their size.
 */
const LONGEST = ["daemon", "webdav-conformance", "serve", "sync-relay", "sync-checkpoints", "webdav-quirks", "import-cli", "convergence.property", "conflicts", "webdav-compaction", "cli-e2e", "ui-pages", "webdav-concurrency", "disk-full"];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const at = LONGEST.findIndex((name) => file.moduleId.endsWith(`/test/${name}.test.ts`));
      return at < 0 ? LONGEST.length : at;
    };
    // a stable sort: the other files keep vitest's own order
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Generous: CI shares 2 cores with other work, where a CLI child process can take seconds to
    // start. Tests wait on conditions, so a quiet machine never waits this long.
    testTimeout: 240_000,
    hookTimeout: 240_000,
    // Each file gets its own process: native SQLite handles and Automerge's wasm stay isolated.
    pool: "forks",
    // Three files at a time: most tests wait on child processes and sockets, not on a core, so on a
    // 2-core machine three files finish sooner than two (690 s against 770 s for the whole suite,
    // same machine) and two sooner than one (vitest's default there).
    maxWorkers: 3,
    sequence: { sequencer: LongestFirst },
  },
});

import { defineConfig } from "vitest/config";

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
  },
});

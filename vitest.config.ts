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
    // Two files at a time: most tests wait on child processes and sockets, not on a core, so on a
    // 2-core machine two files finish sooner than one (vitest's default there is one).
    maxWorkers: 2,
  },
});

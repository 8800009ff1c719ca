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
  },
});

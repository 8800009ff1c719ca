/** How fast V8 lets the heap of a command that works in bulk, or stays running, grow. */

/**
 * V8 doubles a process's young generation, up to two 16 MiB halves, whenever many objects outlive
 * a collection (an import's rows, a shard's records being written, sync messages in flight), and
 * keeps it until the process ends. For the long-running processes and the bulk commands, a
 * growth factor of 1 keeps the size the process started with: a 10k-record import peaked at 118
 * and 121 MiB against 146 and 148 MiB, in the same time (docs/architecture.md, "V8's young
 * generation"). A sync keeps V8's default: it is short, and one that moves much ran slower.
 *
 * V8 reads the factor each time it would grow the young generation, so setting it after start
 * works. A changed flag also makes Node compile the built-in modules it loads afterwards without
 * their code cache (a read that set one at start ran 4% more instructions: src/cli/load-automerge.cjs),
 * which is why only these commands, that run for seconds or stay running, set it.
 */
export async function keepYoungGenerationSmall(): Promise<void> {
  const { setFlagsFromString } = await import("node:v8");
  setFlagsFromString("--semi-space-growth-factor=1");
}

/**
 * After each full collection V8 lets the old generation grow to several times what survived it
 * before collecting again. An import's rows and the shards it writes live long enough to be
 * promoted there and die soon after, so the heap filled with them: a 227k-record import peaked at
 * 243 and 245 MiB, against 176 to 187 MiB with the old generation let grow by 30% of what survived
 * (docs/architecture.md, "V8's old generation"). V8 reads it at every full collection, so setting
 * it after start works.
 */
async function growOldGenerationSlowly(): Promise<void> {
  const { setFlagsFromString } = await import("node:v8");
  setFlagsFromString("--heap-growing-percent=30");
}

/**
 * Both of the above, for the commands that write a whole catalog (import, rebuild, import-bundle,
 * join): a 227k rebuild then peaked at 114 to 121 MiB against 113 to 188 with V8's defaults,
 * depending on the home, for up to 10% more time (docs/architecture.md, "SQLite's page cache, and
 * what an import loads"); a 227k join at 104 to 110 MiB against 151 to 162 (docs/architecture.md,
 * "Reading a change's keys").
 */
export async function sizeHeapForBulkWork(): Promise<void> {
  await keepYoungGenerationSmall();
  await growOldGenerationSlowly();
}

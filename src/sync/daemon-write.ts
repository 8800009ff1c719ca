/**
 * One-record writes a CLI command hands to the daemon (or `shelf serve`) running on its home.
 *
 * The daemon already holds Automerge, its connection to the relays, and often the shard: it makes
 * the change, stores and materializes it, and only then answers, so the command returns on the
 * same terms as a write of its own (durable and in the view), sends nothing through storage, and
 * its peers have the change as soon as it is made. The command loads neither Automerge nor the
 * shard.
 *
 * Over the home's signal sockets (home-signal.ts, 0600 in a 0700 directory: the home's owner
 * only), one line each way:
 *   request `{"write": {"catalog": url, "id": id, "patch": RecordPatch, "mode": m, "op": op}}`
 *   answer  `{"written": {"outcome": "created" | "updated" | "unchanged"}}`
 *         | `{"error": {"code": "SHELF_E_...", "message": ..., "hint": ...}}` (the write was refused)
 *         | `{"declined": reason}` (another catalog, stopping, or no write path: nothing written)
 * A command whose request no daemon took, or whose daemon died or did not answer in time, writes
 * locally as before. A patch sets values, so writing it again after a daemon that died having
 * written it changes nothing, except that `shelf add` then finds the record exists.
 */
import { ERROR_CODES, ShelfError, type ErrorCode } from "../errors.js";
import type { WriteMode, WriteOutcome } from "../model/crdt-record.js";
import type { RecordPatch } from "../model/record.js";
import { ask } from "./home-signal.js";

export interface WriteRequest {
  /** the catalog's URL: a daemon serves one catalog and declines the others */
  catalog: string;
  id: string;
  patch: RecordPatch;
  mode: WriteMode;
  /** the command, recorded in the change's message (`{"by","op"}`) */
  op: string;
}

/** Record edits a command may hand over; everything else it writes itself. */
const OPS = new Set(["add", "set", "tag", "collect", "rm", "restore"]);
const MODES = new Set<string>(["allow", "forbid", "require"]);
const OUTCOMES = new Set<string>(["created", "updated", "unchanged"]);

/**
 * How long a command waits for the daemon's answer before writing itself. A write waits for the
 * write lock (busy_timeout, 10 s) and for a shard slot, so this is generous.
 */
export const DAEMON_WRITE_TIMEOUT_MS = 30_000;

/**
 * Hands the write to a daemon on `home`. Returns its outcome, or undefined when no daemon took it
 * (the caller then writes itself); throws the daemon's ShelfError when the write was refused
 * (an unknown record, a field that is not valid...).
 */
export async function writeThroughDaemon(home: string, request: WriteRequest, timeoutMs = DAEMON_WRITE_TIMEOUT_MS): Promise<WriteOutcome | undefined> {
  const answer = await ask(home, { write: request }, timeoutMs);
  if (!answer) return undefined;
  const written = answer.written as { outcome?: unknown } | undefined;
  if (written && typeof written.outcome === "string" && OUTCOMES.has(written.outcome)) return written.outcome as WriteOutcome;
  const error = answer.error as { code?: unknown; message?: unknown; hint?: unknown } | undefined;
  if (error && typeof error.message === "string") {
    const code = typeof error.code === "string" && error.code in ERROR_CODES ? (error.code as ErrorCode) : "SHELF_E_INTERNAL";
    throw new ShelfError(code, error.message, typeof error.hint === "string" ? error.hint : undefined);
  }
  // An answer this command cannot read: a daemon of another version. It writes itself.
  return undefined;
}

/** The write a request line asks for, or undefined when it asks for none (or malformed). */
export function parseWriteRequest(message: Record<string, unknown>): WriteRequest | undefined {
  const w = message.write as Record<string, unknown> | undefined;
  if (!w || typeof w !== "object") return undefined;
  const { catalog, id, patch, mode, op } = w;
  if (typeof catalog !== "string" || typeof id !== "string" || typeof mode !== "string" || typeof op !== "string") return undefined;
  if (!MODES.has(mode) || !OPS.has(op) || !patch || typeof patch !== "object" || Array.isArray(patch)) return undefined;
  const lists = ["addTags", "removeTags", "addCollections", "removeCollections"] as const;
  const p = patch as Record<string, unknown>;
  if (lists.some((key) => p[key] !== undefined && !(Array.isArray(p[key]) && (p[key] as unknown[]).every((v) => typeof v === "string")))) return undefined;
  return { catalog, id, patch: patch as RecordPatch, mode: mode as WriteMode, op };
}

/**
 * The daemon's side: answers one request line with `write` for the catalog at `catalogUrl`.
 * A ShelfError is the command's error; any other failure declines, and the command writes itself
 * (and meets the same failure, reported as its own).
 */
export async function answerWriteRequest(message: Record<string, unknown>, catalogUrl: string, write: (request: WriteRequest) => Promise<WriteOutcome>): Promise<Record<string, unknown>> {
  const request = parseWriteRequest(message);
  if (!request) return { declined: "not a write this daemon knows" };
  if (request.catalog !== catalogUrl) return { declined: "another catalog" };
  try {
    return { written: { outcome: await write(request) } };
  } catch (err) {
    if (err instanceof ShelfError) return { error: err.toJSON() };
    return { declined: `failed: ${(err as Error)?.message ?? err}` };
  }
}

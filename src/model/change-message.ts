/**
 * The message every shelf change carries: who made it, with which command, and when. It is the
 * record's edit stamp (see record-log.ts), history's "who and when", and a conflict value's author.
 */

export interface ChangeMessage {
  by: string;
  op: string;
  at: string;
}

export function parseChangeMessage(message: string | null): ChangeMessage | undefined {
  if (!message) return undefined;
  try {
    const parsed = JSON.parse(message) as Partial<ChangeMessage>;
    return typeof parsed.by === "string" ? { by: parsed.by, op: String(parsed.op ?? ""), at: String(parsed.at ?? "") } : undefined;
  } catch {
    return undefined;
  }
}

/** The message of a change made by instance `by` at time `at` with command `op`. */
export function changeMessage(stamp: { by: string; at: string }, op: string): string {
  return JSON.stringify({ by: stamp.by, op, at: stamp.at });
}

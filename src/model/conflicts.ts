/**
 * Conflicts as a person sees them: for each record, the fields that received different values
 * concurrently, every competing value with the instance and time that wrote it, and whether the
 * record was edited while (concurrently with, or after) being deleted. Read from an Automerge shard
 * document; pure apart from asking Automerge.
 */
import * as A from "@automerge/automerge";
import type { JsonValue } from "./record.js";
import { fieldKey, plain } from "./crdt-record.js";
import { recordsObjectId, shownValue, type Core } from "./shard-core.js";
import { parseChangeMessage } from "./change-message.js";
import type { RecordOps } from "./record-log.js";

export interface CompetingValue {
  /** 1-based position among the field's values, the same on every replica */
  n: number;
  value: JsonValue;
  /** the value the record shows */
  winner: boolean;
  /** instance that wrote it, and when (from the change's message), when known */
  by: string | null;
  at: string | null;
}

export interface FieldConflict {
  field: string;
  values: CompetingValue[];
}

export interface RecordConflicts {
  fields: FieldConflict[];
  /** tombstoned, with an edit the delete did not see (or made after it) */
  editedWhileDeleted: boolean;
}

/** Fields whose concurrent values a person must see; bookkeeping fields and set members are not. */
export function isConflictField(field: string): boolean {
  return field === "name" || field === "version" || field === "summary" || field === "kind" || field === "deleted" || field.startsWith("meta.");
}

export { parseChangeMessage, type ChangeMessage } from "./change-message.js";

/** Finds which change wrote an operation, from the document's change metadata. */
class Authorship {
  #byActor: Map<string, A.ChangeMetadata[]> | undefined;
  constructor(private readonly core: Core) {}

  of(opId: string): { by: string | null; at: string | null } {
    const change = this.changeOf(opId);
    if (!change) return { by: null, at: null };
    const message = parseChangeMessage(change.message);
    return { by: message?.by ?? null, at: message?.at || new Date(change.time * 1000).toISOString() };
  }

  changeOf(opId: string): A.ChangeMetadata | undefined {
    const [counterText, actor] = opId.split("@");
    const counter = Number(counterText);
    return this.#index().get(actor ?? "")?.find((m) => m.startOp <= counter && counter <= m.maxOp);
  }

  /** The changes `heads` descend from, heads included. */
  ancestors(heads: Iterable<string | undefined>): Set<string> {
    const deps = new Map<string, string[]>();
    for (const metas of this.#index().values()) for (const meta of metas) deps.set(meta.hash, meta.deps);
    const seen = new Set<string>();
    const stack = [...heads].filter((h): h is string => h !== undefined);
    while (stack.length > 0) {
      const hash = stack.pop()!;
      if (seen.has(hash)) continue;
      seen.add(hash);
      stack.push(...(deps.get(hash) ?? []));
    }
    return seen;
  }

  /** True unless the changes form a single line, each depending on the one before. */
  hasConcurrentChanges(): boolean {
    const metas = [...this.#index().values()].flat();
    const depended = new Set<string>();
    for (const meta of metas) {
      if (meta.deps.length > 1) return true;
      for (const dep of meta.deps) {
        if (depended.has(dep)) return true;
        depended.add(dep);
      }
    }
    return metas.filter((m) => m.deps.length === 0).length > 1;
  }

  #index(): Map<string, A.ChangeMetadata[]> {
    if (!this.#byActor) {
      this.#byActor = new Map();
      for (const meta of this.core.getChangesMeta([])) {
        const list = this.#byActor.get(meta.actor) ?? [];
        list.push(meta);
        this.#byActor.set(meta.actor, list);
      }
    }
    return this.#byActor;
  }
}

/** Automerge's order of operation ids: counter, then actor. The greatest is the value shown. */
function compareOpIds(a: string, b: string): number {
  const [ca, aa = ""] = a.split("@");
  const [cb, ab = ""] = b.split("@");
  return Number(ca) - Number(cb) || (aa < ab ? -1 : aa > ab ? 1 : 0);
}

function decode(field: string, raw: unknown): JsonValue {
  if (typeof raw === "boolean" || raw === null) return raw;
  const text = plain(raw);
  if (!field.startsWith("meta.")) return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

/**
 * The conflicts of the given records (ids with the fields each has) in one shard document.
 * Records without conflicts are left out. `logOf` gives what the whole change log holds for a
 * record (asked only for tombstones).
 */
export function findConflicts(core: Core, fieldsById: Map<string, Map<string, unknown>>, logOf: (id: string) => RecordOps | undefined): Map<string, RecordConflicts> {
  const authorship = new Authorship(core);
  const recordsObj = recordsObjectId(core);
  // A document whose changes form one line was never written concurrently: no field can hold two
  // values, and only tombstones need a look (for edits made after the delete).
  const concurrent = authorship.hasConcurrentChanges();
  const out = new Map<string, RecordConflicts>();
  for (const [id, fields] of fieldsById) {
    if (!concurrent && fields.get("deleted") !== true) continue;
    const conflicts: FieldConflict[] = [];
    for (const field of concurrent ? [...fields.keys()].filter(isConflictField).sort() : []) {
      const competing = competingValues(core, recordsObj, fieldKey(id, field));
      if (Object.keys(competing).length < 2) continue;
      // Two sides that wrote the same value agree: one entry per distinct value, credited to the
      // latest write of it.
      const byValue = new Map<string, { opId: string; value: JsonValue }>();
      for (const opId of Object.keys(competing).sort(compareOpIds)) {
        const value = decode(field, competing[opId]);
        byValue.set(JSON.stringify(value), { opId, value });
      }
      if (byValue.size < 2) continue;
      const winnerOp = Object.keys(competing).sort(compareOpIds).at(-1);
      const values = [...byValue.values()]
        .sort((a, b) => compareOpIds(a.opId, b.opId))
        .map(({ opId, value }, i) => ({ n: i + 1, value, winner: opId === winnerOp, ...authorship.of(opId) }));
      conflicts.push({ field, values });
    }
    const editedWhileDeleted = fields.get("deleted") === true && isEditedWhileDeleted(core, recordsObj!, id, authorship, logOf);
    if (conflicts.length > 0 || editedWhileDeleted) out.set(id, { fields: conflicts, editedWhileDeleted });
  }
  return out;
}

/**
 * A deleted record was edited while deleted when a change that wrote to it is neither a delete
 * that is shown (a change that wrote a current deletedAt) nor one such a delete had seen: an edit
 * concurrent with the delete, or made after it.
 */
function isEditedWhileDeleted(core: Core, recordsObj: string, id: string, authorship: Authorship, logOf: (id: string) => RecordOps | undefined): boolean {
  // getAll gives the operation id of every current value, one or many (the last element of each entry).
  const deletes = core.getAll(recordsObj, fieldKey(id, "deletedAt")).map((value) => authorship.changeOf(String(value.at(-1)))?.hash);
  const seenByDeletes = authorship.ancestors(deletes);
  return [...(logOf(id)?.changes ?? [])].some((hash) => !seenByDeletes.has(hash));
}

/** Every value a key of the records map holds, by the id of the operation that wrote it (as A.getConflicts gives them). */
function competingValues(core: Core, recordsObj: string | undefined, key: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (recordsObj === undefined) return out;
  for (const entry of core.getAll(recordsObj, key)) out[String(entry.at(-1))] = shownValue(core, entry as [string, unknown]);
  return out;
}

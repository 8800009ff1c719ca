/**
 * Notices that name documents by id alone (`{"shelf": kind, "documents": [id, ...]}`), sent as
 * automerge-repo ephemeral messages on a catalog's root. Receivers treat them as hints from a
 * peer they do not fully trust, so a malformed or oversized notice is ignored whole.
 */
export interface IdListNotice<Kind extends string> {
  shelf: Kind;
  documents: string[];
}

const MAX_DOCUMENTS = 1024;
const MAX_ID_LENGTH = 64;

/** The notice's documents, or undefined when `message` is not a well-formed notice of `kind`. */
export function readIdListNotice(message: unknown, kind: string): string[] | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const { shelf, documents } = message as Partial<IdListNotice<string>>;
  if (shelf !== kind || !Array.isArray(documents) || documents.length > MAX_DOCUMENTS) return undefined;
  return documents.every((id) => typeof id === "string" && id.length <= MAX_ID_LENGTH) ? documents : undefined;
}

/**
 * The "taken" notice: an automerge-repo ephemeral message a relay sends on a catalog's root when
 * a client of that catalog asks for a shard the root lists but the relay records as another
 * catalog's (a catalog with random ids, whose shards someone listed first; see "Whose documents
 * are whose" in docs/relay.md). Without it the client would wait for the shard until its timeout
 * and be told to run the sync again, which can never help. Clients believe it only from the relay.
 */
import { readIdListNotice, type IdListNotice } from "./id-list-notice.js";

export type TakenNotice = IdListNotice<"taken">;

export const takenNotice = (documents: string[]): TakenNotice => ({ shelf: "taken", documents });

/** The notice's documents, or undefined when `message` is not a well-formed notice. */
export const readTakenNotice = (message: unknown): string[] | undefined => readIdListNotice(message, "taken");

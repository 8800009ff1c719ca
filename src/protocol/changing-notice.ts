/**
 * The "changing" notice: an automerge-repo ephemeral message a relay sends on a catalog's root
 * when a client that may write names shards it is about to change (its prefetch request,
 * heads-route.ts). A live peer holding only the root loads those shards at once, beside the
 * writer's and the relay's own loads; the change then reaches a copy already loaded, instead of
 * waiting for the relay to store it, say so in a "changed" notice, and the peer to load the
 * shard only then. Only a hint: a peer that ignores it gets the change as before, and a shard
 * loaded for a change that never comes is dropped when idle.
 */
import { readIdListNotice, type IdListNotice } from "./id-list-notice.js";

export type ChangingNotice = IdListNotice<"changing">;

export const changingNotice = (documents: string[]): ChangingNotice => ({ shelf: "changing", documents });

/** The notice's documents, or undefined when `message` is not a well-formed notice. */
export const readChangingNotice = (message: unknown): string[] | undefined => readIdListNotice(message, "changing");

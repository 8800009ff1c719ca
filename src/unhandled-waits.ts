/**
 * automerge-repo starts some waits it never awaits: DocSynchronizer.beginSync() waits up to 60 s
 * for a document a peer has, and nothing catches that wait's timeout. Node ends a process on an
 * unhandled rejection, so a relay receiving a large catalog while a client reconnects could die of
 * it. Such a timeout only means "that document was not ready yet"; it is reported and the process
 * goes on. Likewise storage work automerge-repo starts on its own and never awaits (the save
 * throttled after each change, reading its storage id) that fails because the disk is full, the
 * home read-only or the file damaged: the change stays in memory, and the command's own flush or
 * read meets the same failure and reports it as a ShelfError. Any other unhandled rejection is a
 * real error and still ends the process.
 */
import { storageError } from "./store/storage-errors.js";

export function isRepoWaitTimeout(reason: unknown): boolean {
  return reason instanceof Error && reason.name === "TimeoutError" && /^withTimeout: timed out/.test(reason.message);
}

/**
 * Installs the handler (once per process); each tolerated timeout goes to the latest `warn` given,
 * so a relay started by the CLI logs it through its own logger.
 */
export function tolerateRepoWaitTimeouts(warn: (message: string) => void): void {
  const installed = report !== undefined;
  report = warn;
  if (installed) return;
  process.on("unhandledRejection", (reason) => {
    if (isRepoWaitTimeout(reason)) {
      report?.(`a document was not ready within automerge-repo's wait (${(reason as Error).message}); carrying on`);
      return;
    }
    const storage = storageError(reason);
    if (storage && storage.code !== "SHELF_E_INTERNAL") {
      report?.(`background storage work failed: ${storage.message}`);
      return;
    }
    // what Node would have done without a handler
    throw reason;
  });
}

let report: ((message: string) => void) | undefined;

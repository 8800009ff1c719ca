/**
 * automerge-repo starts some waits it never awaits: DocSynchronizer.beginSync() waits up to 60 s
 * for a document a peer has, and nothing catches that wait's timeout. Node ends a process on an
 * unhandled rejection, so a relay receiving a large catalog while a client reconnects could die of
 * it. Such a timeout only means "that document was not ready yet"; it is reported and the process
 * goes on. Likewise a background save automerge-repo starts on its own (throttled after each change)
 * that fails because the disk is full or the home read-only: the change stays in memory, the
 * command's own flush reports the failure, and a later save writes it. Any other unhandled
 * rejection is a real error and still ends the process.
 */
import { isWriteBlocked, storageError } from "./store/storage-errors.js";

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
    const blocked = storageError(reason);
    if (blocked && isWriteBlocked(blocked)) {
      report?.(`a background save failed and will be retried: ${blocked.message}`);
      return;
    }
    // what Node would have done without a handler
    throw reason;
  });
}

let report: ((message: string) => void) | undefined;

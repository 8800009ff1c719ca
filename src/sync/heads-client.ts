/**
 * Asks a relay or a served instance for its heads summary of one catalog (one small HTTP
 * request; see src/protocol/heads-summary.ts). A server that has no summary (404, or an answer
 * that is not one) gives undefined, and the sync exchanges every document as it always did.
 * A refused token or an unreachable server is an error, as it would be on the WebSocket.
 *
 * The request goes through node:http, not fetch: fetch loads undici (tens of milliseconds of a
 * fresh `shelf sync`), and its pooled keep-alive connection would hold a finished command open
 * until main.ts's one-second exit timer. This connection is closed once the answer is read.
 */
import { ShelfError } from "../errors.js";
import { isHeadsSummary, PREFETCH_MAX_DOCUMENTS, summaryUrl, type HeadsSummary } from "../protocol/heads-summary.js";
import type { Remote } from "./remotes.js";
import { refusalError } from "./sync-errors.js";

export interface SummaryTraffic {
  requests: number;
  bytesDown: number;
}

/** `onSent`: called once the request has left (see requestPrefetch). */
export async function fetchSummary(remote: Remote, catalogUrl: string, since: number, signal: AbortSignal, traffic: SummaryTraffic, onSent?: () => void): Promise<HeadsSummary | undefined> {
  const url = summaryUrl(remote.url);
  url.searchParams.set("catalog", catalogUrl);
  url.searchParams.set("since", String(since));
  let response: { status: number; body: string };
  try {
    response = await sendText(url, "GET", remote.token ? { authorization: `Bearer ${remote.token}` } : {}, signal, undefined, onSent);
  } catch (err) {
    if (signal.aborted) throw new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `no answer from ${remote.name} (${remote.url})`, "check that the relay is running and the URL is right (`shelf remote list`)");
    const { code, message } = err as { code?: string; message?: string };
    throw new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `cannot sync with ${remote.name} (${remote.url}): ${code ?? message}`, "check that the relay is running and reachable; local data is untouched");
  }
  const { status, body } = response;
  traffic.requests++;
  traffic.bytesDown += Buffer.byteLength(body);
  const refused = refusalError(String(status), remote);
  if (refused) throw refused;
  if (status < 200 || status > 299) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return isHeadsSummary(parsed) && parsed.catalog === catalogUrl ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tells the relay which documents this sync is about to exchange, so that it loads its copies
 * while this instance loads its own (src/protocol/heads-route.ts). Only for a few documents (a
 * bulk sync is paced by the exchange itself), and only a hint: it never fails, and a server
 * without it answers 404. `sent` resolves once the request has left, which the caller waits for
 * before loading anything: loading Automerge holds the event loop, and the request with it.
 * `changing`: those of the documents this instance is about to send changes for; the relay tells
 * its other live clients, which load them too (changing-notice.ts).
 */
export function requestPrefetch(remote: Remote, catalogUrl: string, documentIds: readonly string[], signal: AbortSignal, changing: readonly string[] = []): { sent: Promise<void>; answered: Promise<void> } {
  if (documentIds.length === 0 || documentIds.length > PREFETCH_MAX_DOCUMENTS) return { sent: Promise.resolve(), answered: Promise.resolve() };
  const url = summaryUrl(remote.url);
  url.pathname += "/prefetch";
  const headers: Record<string, string> = { "content-type": "application/json", ...(remote.token ? { authorization: `Bearer ${remote.token}` } : {}) };
  let sent = () => {};
  const whenSent = new Promise<void>((resolve) => (sent = resolve));
  const answered = sendText(url, "POST", headers, signal, JSON.stringify({ catalog: catalogUrl, documents: documentIds, ...(changing.length > 0 ? { changing } : {}) }), sent)
    .then(() => undefined)
    .catch(() => undefined)
    .finally(sent);
  return { sent: whenSent, answered };
}

/** One request on a connection of its own (agent: false), closed after the answer. */
async function sendText(url: URL, method: "GET" | "POST", headers: Record<string, string>, signal: AbortSignal, body?: string, onSent?: () => void): Promise<{ status: number; body: string }> {
  const { request } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const sent = request(url, { method, headers, signal, agent: false }, (response) => {
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }));
      response.on("error", reject);
    });
    sent.on("error", reject);
    if (onSent) sent.on("finish", onSent);
    sent.end(body);
  });
}

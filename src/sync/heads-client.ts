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
import { isHeadsSummary, summaryUrl, type HeadsSummary } from "../protocol/heads-summary.js";
import type { Remote } from "./remotes.js";
import { refusalError } from "./sync-errors.js";

export interface SummaryTraffic {
  requests: number;
  bytesDown: number;
}

export async function fetchSummary(remote: Remote, catalogUrl: string, since: number, signal: AbortSignal, traffic: SummaryTraffic): Promise<HeadsSummary | undefined> {
  const url = summaryUrl(remote.url);
  url.searchParams.set("catalog", catalogUrl);
  url.searchParams.set("since", String(since));
  let response: { status: number; body: string };
  try {
    response = await getText(url, remote.token ? { authorization: `Bearer ${remote.token}` } : {}, signal);
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

/** One GET on a connection of its own (agent: false), closed after the answer. */
async function getText(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<{ status: number; body: string }> {
  const { get } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const request = get(url, { headers, signal, agent: false }, (response) => {
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }));
      response.on("error", reject);
    });
    request.on("error", reject);
  });
}

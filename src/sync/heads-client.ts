/**
 * Asks a relay or a served instance for its heads summary of one catalog (one small HTTP
 * request; see src/protocol/heads-summary.ts). A server that has no summary (404, or an answer
 * that is not one) gives undefined, and the sync exchanges every document as it always did.
 * A refused token or an unreachable server is an error, as it would be on the WebSocket.
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
  let response: Response;
  try {
    response = await fetch(url, { headers: remote.token ? { authorization: `Bearer ${remote.token}` } : {}, signal });
  } catch (err) {
    if (signal.aborted) throw new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `no answer from ${remote.name} (${remote.url})`, "check that the relay is running and the URL is right (`shelf remote list`)");
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `cannot sync with ${remote.name} (${remote.url}): ${cause?.code ?? cause?.message ?? (err as Error).message}`, "check that the relay is running and reachable; local data is untouched");
  }
  const body = await response.text();
  traffic.requests++;
  traffic.bytesDown += Buffer.byteLength(body);
  const refused = refusalError(String(response.status), remote);
  if (refused) throw refused;
  if (!response.ok) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    return isHeadsSummary(parsed) && parsed.catalog === catalogUrl ? parsed : undefined;
  } catch {
    return undefined;
  }
}

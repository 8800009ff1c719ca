/** HTTP refusals of a relay or a served instance, as errors a person can act on. */
import { ShelfError, type ErrorCode } from "../errors.js";
import type { Remote } from "./remotes.js";

const HTTP_REFUSALS: Record<string, ErrorCode> = { "401": "SHELF_E_RELAY_UNAUTHORIZED", "403": "SHELF_E_RELAY_FORBIDDEN", "429": "SHELF_E_RELAY_BUSY" };

/** The error for an HTTP status that refuses this client, or undefined for any other status. */
export function refusalError(status: string, remote: Remote): ShelfError | undefined {
  const code = HTTP_REFUSALS[status];
  return code && new ShelfError(code, `${remote.name} (${remote.url}) refused the connection: HTTP ${status}`, refusalHint(status));
}

function refusalHint(status: string): string {
  if (status === "401") return "the remote (a relay, or an instance running `shelf serve --token`) needs a token for this catalog: `shelf remote rm NAME` and add it again with --token T";
  if (status === "403") return "a relay without tokens serves only its own machine; ask its admin for a token";
  return "too many connections from this address; try again later";
}

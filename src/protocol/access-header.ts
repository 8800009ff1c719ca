/** The upgrade response header by which a relay says whether it accepts this client's changes. */
export const ACCESS_HEADER = "X-Shelf-Access";

export type RemoteAccess = "read-only" | "read-write";

/**
 * The sync port: one Transport per kind of remote, chosen from its parsed URL. Each implementation
 * is imported only when a sync needs it, so commands that merely read remotes load no network code.
 */
import type { Progress } from "../catalog/catalog-store.js";
import type { CatalogRow, Instance } from "../instance.js";
import { parseRemoteUrl, type RemoteUrl } from "./remote-url.js";
import type { Remote } from "./remotes.js";
import type { RelaySyncReport } from "./sync-catalog.js";
import type { WebdavReport } from "./webdav/sync.js";

export interface TransportOptions {
  timeoutMs: number;
  onProgress?: Progress;
  /** compact this instance's files on the remote whatever their number (transports that compact) */
  compact?: boolean;
}

/** A relay's report adds what its heads summary cost; a WebDAV folder's, the files it skipped. */
export type TransportReport = RelaySyncReport | WebdavReport;

export interface Transport {
  kind: RemoteUrl["kind"];
  /** whether `shelf sync compact` applies: only a WebDAV folder holds files this instance owns */
  compacts: boolean;
  /** syncs a catalog this instance holds */
  sync(instance: Instance, catalog: CatalogRow, remote: Remote, options: TransportOptions): Promise<TransportReport>;
  /** fetches a catalog this instance does not hold yet, registers it as `name` and materializes it */
  join(instance: Instance, url: string, name: string, remote: Remote, options: TransportOptions): Promise<TransportReport>;
}

/** The transport for a remote; throws the usage error parseRemoteUrl gives for a bad URL. */
export async function transportFor(remote: Pick<Remote, "url">): Promise<Transport> {
  return parseRemoteUrl(remote.url).kind === "webdav" ? (await import("./webdav/transport.js")).webdavTransport : (await import("./relay-transport.js")).relayTransport;
}

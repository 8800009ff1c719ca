/**
 * The relay's Prometheus metrics, in a registry of its own (never the process-global one, so two
 * relays in one process, as in tests, do not collide).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { RejectReason } from "../src/protocol/admission.js";

export type Direction = "in" | "out";

const REJECT_REASONS: readonly RejectReason[] = ["no_token", "bad_token", "not_loopback", "too_many", "connection_limit", "header_timeout", "malformed", "oversized"];

export interface RelayMetrics {
  registry: Registry;
  traffic(direction: Direction, bytes: number): void;
  rejected(reason: RejectReason): void;
  /** documents dropped from memory for being idle */
  unloaded(documents: number): void;
  /** Prometheus text exposition */
  render(): Promise<string>;
  /** the figures the status page shows, read from the same registry as /metrics */
  snapshot(): Promise<MetricsSnapshot>;
  contentType: string;
}

export interface MetricsSnapshot {
  at: number;
  peers: number;
  documentsLoaded: number;
  messages: Record<Direction, number>;
  bytes: Record<Direction, number>;
  /** refused or closed connections since start, by reason */
  rejected: Partial<Record<RejectReason, number>>;
  residentBytes: number;
  heapUsedBytes: number;
}

export function createMetrics(sources: { peers: () => number; catalogsLoaded: () => number; documentsLoaded: () => number; upstreamConnected?: () => boolean | undefined }): RelayMetrics {
  const registry = new Registry();
  new Gauge({
    name: "shelf_relay_peers",
    help: "Peers connected to the relay now.",
    registers: [registry],
    collect() {
      this.set(sources.peers());
    },
  });
  new Gauge({
    name: "shelf_relay_catalogs_loaded",
    help: "Catalog root documents the relay holds in memory now.",
    registers: [registry],
    collect() {
      this.set(sources.catalogsLoaded());
    },
  });
  new Gauge({
    name: "shelf_relay_documents_loaded",
    help: "Documents (catalog roots and shards) the relay holds in memory now.",
    registers: [registry],
    collect() {
      this.set(sources.documentsLoaded());
    },
  });
  if (sources.upstreamConnected) {
    const upstreamConnected = sources.upstreamConnected;
    new Gauge({
      name: "shelf_relay_upstream_connected",
      help: "1 while the connection to the upstream relay (--upstream) is open, else 0.",
      registers: [registry],
      collect() {
        this.set(upstreamConnected() ? 1 : 0);
      },
    });
  }
  const messages = new Counter({ name: "shelf_relay_messages_total", help: "WebSocket messages received (in) and sent (out).", labelNames: ["direction"], registers: [registry] });
  const bytes = new Counter({ name: "shelf_relay_bytes_total", help: "Bytes of WebSocket messages received (in) and sent (out).", labelNames: ["direction"], registers: [registry] });
  const rejected = new Counter({
    name: "shelf_relay_rejected_connections_total",
    help: "Connections refused before the upgrade (no_token, bad_token, not_loopback, too_many), closed at once over the per-address limit (connection_limit), closed for not sending their request in time (header_timeout), or closed for what they sent (malformed, oversized).",
    labelNames: ["reason"],
    registers: [registry],
  });
  const unloaded = new Counter({ name: "shelf_relay_documents_unloaded_total", help: "Idle documents dropped from memory (loaded again from disk when asked for).", registers: [registry] });
  // Every series exists from the start, at 0, so rates and alerts work before the first event.
  for (const direction of ["in", "out"] as const) {
    messages.inc({ direction }, 0);
    bytes.inc({ direction }, 0);
  }
  for (const reason of REJECT_REASONS) rejected.inc({ reason }, 0);
  collectDefaultMetrics({ register: registry, prefix: "shelf_relay_" });

  return {
    registry,
    traffic(direction, size) {
      messages.inc({ direction });
      bytes.inc({ direction }, size);
    },
    rejected(reason) {
      rejected.inc({ reason });
    },
    unloaded(documents) {
      unloaded.inc(documents);
    },
    render: () => registry.metrics(),
    snapshot: async () => snapshotOf(await registry.getMetricsAsJSON(), Date.now()),
    contentType: registry.contentType,
  };
}

type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

function snapshotOf(metrics: MetricsJson, at: number): MetricsSnapshot {
  const values = (name: string) => metrics.find((m) => m.name === name)?.values ?? [];
  const one = (name: string) => values(name)[0]?.value ?? 0;
  const by = (name: string, label: string) => Object.fromEntries(values(name).map((v) => [String(v.labels[label]), v.value]));
  const messages = by("shelf_relay_messages_total", "direction");
  const bytes = by("shelf_relay_bytes_total", "direction");
  return {
    at,
    peers: one("shelf_relay_peers"),
    documentsLoaded: one("shelf_relay_documents_loaded"),
    messages: { in: messages.in ?? 0, out: messages.out ?? 0 },
    bytes: { in: bytes.in ?? 0, out: bytes.out ?? 0 },
    rejected: by("shelf_relay_rejected_connections_total", "reason"),
    residentBytes: one("shelf_relay_process_resident_memory_bytes"),
    heapUsedBytes: one("shelf_relay_nodejs_heap_size_used_bytes"),
  };
}

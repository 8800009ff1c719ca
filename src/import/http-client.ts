/**
 * The one HTTP client every importer uses (Node's fetch underneath):
 * - a timeout per attempt (headers and body), via AbortSignal;
 * - retries on 429, 5xx, network errors, timeouts and truncated bodies, with exponential backoff
 *   and jitter, honouring Retry-After (seconds or an HTTP date);
 * - at most `concurrency` requests in flight, whoever asks;
 * - conditional requests: given the ETag of the last answer, a 304 comes back as "not-modified".
 * Errors name the URL and what went wrong.
 */
import { ShelfError } from "../errors.js";

export interface HttpClientOptions {
  /** per attempt, from sending the request to the end of the body (default 30 s) */
  timeoutMs?: number;
  /** attempts after the first one (default 4) */
  retries?: number;
  /** first backoff delay; doubles each retry (default 500 ms) */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** a Retry-After longer than this is not waited for: the request fails (default 120 s) */
  maxRetryAfterMs?: number;
  /** requests in flight at once (default 8) */
  concurrency?: number;
  /** larger bodies are refused (default 64 MiB) */
  maxBodyBytes?: number;
  userAgent?: string;
  signal?: AbortSignal;
  /** for tests: the jitter source */
  random?: () => number;
}

export type HttpResult =
  | { status: "ok"; url: string; body: string; etag: string | undefined }
  | { status: "not-modified"; url: string }
  /** 404 or 410: the importer decides whether that is an error or a package that went away */
  | { status: "gone"; url: string; httpStatus: number };

export interface HttpStats {
  requests: number;
  retries: number;
  notModified: number;
}

const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** A failure worth another attempt, with the wait the server asked for, if any. */
class Transient extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, retries: 0, notModified: 0 };
  readonly #o: Required<Omit<HttpClientOptions, "signal" | "random">> & Pick<HttpClientOptions, "signal" | "random">;
  #active = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(options: HttpClientOptions = {}) {
    this.#o = {
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 4,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 120_000,
      concurrency: Math.max(1, options.concurrency ?? 8),
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024 * 1024,
      userAgent: options.userAgent ?? "shelf (+https://github.com/shelf)",
      signal: options.signal,
      random: options.random,
    };
  }

  get concurrency(): number {
    return this.#o.concurrency;
  }

  /** GET `url`; with `etag`, a conditional request. Throws SHELF_E_HTTP once retries are spent. */
  async get(url: string, options: { etag?: string; accept?: string } = {}): Promise<HttpResult> {
    await this.#acquire();
    try {
      let lastError = "";
      for (let attempt = 0; attempt <= this.#o.retries; attempt++) {
        this.#o.signal?.throwIfAborted();
        if (attempt > 0) this.stats.retries++;
        try {
          return await this.#attempt(url, options);
        } catch (err) {
          if (!(err instanceof Transient)) throw err;
          lastError = err.message;
          if (attempt === this.#o.retries) break;
          if (err.retryAfterMs !== undefined && err.retryAfterMs > this.#o.maxRetryAfterMs) {
            throw new ShelfError("SHELF_E_HTTP", `GET ${url}: ${err.message}; the server asks to wait ${Math.round(err.retryAfterMs / 1000)} s, longer than shelf waits`, "run the import again later");
          }
          await sleep(err.retryAfterMs ?? this.#backoff(attempt), this.#o.signal);
        }
      }
      throw new ShelfError("SHELF_E_HTTP", `GET ${url} failed after ${this.#o.retries + 1} attempts: ${lastError}`, "check the URL and the network; the server may be down or limiting requests; run the import again later");
    } finally {
      this.#release();
    }
  }

  /** Exponential, capped, with "equal jitter": half the delay fixed, half random. */
  #backoff(attempt: number): number {
    const delay = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** attempt);
    return delay / 2 + (this.#o.random ?? Math.random)() * (delay / 2);
  }

  async #attempt(url: string, options: { etag?: string; accept?: string }): Promise<HttpResult> {
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    const signal = this.#o.signal ? AbortSignal.any([this.#o.signal, timeout]) : timeout;
    const headers: Record<string, string> = { "user-agent": this.#o.userAgent, accept: options.accept ?? "application/json" };
    if (options.etag) headers["if-none-match"] = options.etag;
    this.stats.requests++;
    let response: Response;
    try {
      response = await fetch(url, { headers, signal, redirect: "follow" });
    } catch (err) {
      throw this.#fetchError(err, timeout);
    }
    const status = response.status;
    if (status === 304) {
      await response.body?.cancel();
      this.stats.notModified++;
      return { status: "not-modified", url };
    }
    if (status === 404 || status === 410) {
      await response.body?.cancel();
      return { status: "gone", url, httpStatus: status };
    }
    if (RETRYABLE_STATUS.has(status)) {
      await response.body?.cancel().catch(() => {});
      throw new Transient(`HTTP ${status} ${response.statusText}`.trim(), parseRetryAfter(response.headers.get("retry-after")));
    }
    if (status < 200 || status >= 300) {
      await response.body?.cancel().catch(() => {});
      throw new ShelfError("SHELF_E_HTTP", `GET ${url}: HTTP ${status} ${response.statusText}`.trim(), status === 401 || status === 403 ? "the server refuses access to this URL" : "check the URL");
    }
    let body: Buffer;
    try {
      body = await this.#readBody(url, response);
    } catch (err) {
      if (err instanceof ShelfError) throw err;
      throw this.#fetchError(err, timeout, "reading the body");
    }
    const etag = response.headers.get("etag") ?? undefined;
    return { status: "ok", url, body: body.toString("utf8"), etag };
  }

  async #readBody(url: string, response: Response): Promise<Buffer> {
    const declared = Number(response.headers.get("content-length") ?? NaN);
    const max = this.#o.maxBodyBytes;
    if (declared > max) throw new ShelfError("SHELF_E_HTTP", `GET ${url}: the body is ${declared} bytes, more than the ${max} shelf reads`, "this does not look like a metadata document");
    const chunks: Buffer[] = [];
    let length = 0;
    if (response.body) {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        length += chunk.length;
        if (length > max) throw new ShelfError("SHELF_E_HTTP", `GET ${url}: the body is larger than the ${max} bytes shelf reads`, "this does not look like a metadata document");
        chunks.push(Buffer.from(chunk));
      }
    }
    // fetch decompresses, so a declared length only holds for an identity encoding
    const encoded = (response.headers.get("content-encoding") ?? "identity") !== "identity";
    if (!encoded && Number.isFinite(declared) && length !== declared) throw new Transient(`the body was cut short (${length} of ${declared} bytes)`);
    return Buffer.concat(chunks);
  }

  #fetchError(err: unknown, timeout: AbortSignal, during = "the request"): Error {
    if (this.#o.signal?.aborted) return this.#o.signal.reason instanceof Error ? this.#o.signal.reason : new Error("aborted");
    if (timeout.aborted) return new Transient(`no complete answer within ${this.#o.timeoutMs} ms`);
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    const detail = cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
    return new Transient(`${during} failed (${detail === "terminated" || (err as Error)?.message === "terminated" ? "the connection closed before the body was complete" : detail})`);
  }

  async #acquire(): Promise<void> {
    if (this.#active < this.#o.concurrency) {
      this.#active++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }
}

/** Retry-After: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

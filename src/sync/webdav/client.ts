/**
 * The one module that speaks HTTP to a WebDAV server (through the `webdav` client library, whose
 * customRequest carries authentication). Every request is bounded by a per-request timeout and by
 * the sync's deadline; timeouts, network errors, 5xx and 429 are retried with exponential backoff
 * and jitter (honouring Retry-After), then reported as a ShelfError naming the request. Requests
 * and bytes are counted, for the sync report and the benchmark.
 */
import type { WebDAVClient } from "webdav";
import { ShelfError } from "../../errors.js";
import type { Credentials } from "./credentials.js";
import { parseListing, PROPFIND_BODY, type Listing } from "./multistatus.js";

export interface RetryPolicy {
  attempts: number;
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialMs: 250, maxMs: 8_000 };
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface DavStats {
  requests: number;
  retries: number;
  bytesUp: number;
  bytesDown: number;
}

export interface DavClientOptions {
  /** http(s) URL of the remote's base folder, ending in / */
  baseUrl: string;
  /** the catalog's folder under the base */
  folder: string;
  /** the remote's name, for messages */
  remote: string;
  credentials?: Credentials;
  /** aborted when the whole sync is out of time */
  deadline: AbortSignal;
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

type Attempt = { answer: Answer } | { error: Error; timedOut: boolean };

const RETRYABLE = new Set([408, 425, 429, 500, 502, 503, 504]);
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });

export class DavClient {
  readonly stats: DavStats = { requests: 0, retries: 0, bytesUp: 0, bytesDown: 0 };
  readonly folderUrl: string;
  readonly #client: WebDAVClient;
  readonly #options: DavClientOptions;
  readonly #retry: RetryPolicy;
  readonly #timeoutMs: number;
  /** whether the server ever answered: never means unreachable, rather than failing */
  #answered = false;

  /**
   * `webdav` is an ES module only, and the CLI bundle is CommonJS (scripts/bundle-cli.mjs), which
   * can load an ES module only through import(): hence a factory.
   */
  static async open(options: DavClientOptions): Promise<DavClient> {
    const { createClient } = await import("webdav");
    return new DavClient(options, createClient(options.baseUrl, options.credentials ? { username: options.credentials.user, password: options.credentials.password } : {}));
  }

  private constructor(options: DavClientOptions, client: WebDAVClient) {
    this.#options = options;
    this.folderUrl = new URL(`${encodeURIComponent(options.folder)}/`, options.baseUrl).toString();
    this.#client = client;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  }

  fileUrl(name: string): string {
    return this.folderUrl + encodeURIComponent(name);
  }

  /** One PROPFIND Depth: 1 of the catalog's folder; null when the folder does not exist. */
  async list(): Promise<Listing | null> {
    const answer = await this.#send("PROPFIND", this.folderUrl, "list the folder", { headers: { Depth: "1", "Content-Type": "application/xml; charset=utf-8" }, body: PROPFIND_BODY, ok: [207, 404] });
    if (answer.status === 404) return null;
    try {
      return parseListing(Buffer.from(answer.body).toString("utf8"), new URL(this.folderUrl).pathname);
    } catch (err) {
      throw new ShelfError("SHELF_E_WEBDAV_SERVER", `${this.#where()}: ${(err as Error).message}`, "check that the URL points to a WebDAV folder (for Nextcloud: https://HOST/remote.php/dav/files/USER/PATH)");
    }
  }

  /** Creates the catalog's folder, and every folder above it up to the base that is missing too. */
  async ensureFolder(): Promise<void> {
    await this.#makeFolder(this.folderUrl, "create the folder");
  }

  /** MKCOL; a 409 means the parent is missing, so that is made first (never above the server's root). */
  async #makeFolder(url: string, what: string): Promise<void> {
    const made = await this.#send("MKCOL", url, what, { ok: [201, 405, 409] });
    if (made.status !== 409) return; // 405: it exists already
    const parent = new URL("..", url);
    if (parent.pathname === new URL(url).pathname || parent.pathname === "/") {
      throw new ShelfError("SHELF_E_WEBDAV_SERVER", `${this.#where()}: the server refuses to ${what} (409 Conflict)`, "check that the URL points to a WebDAV folder you may write to");
    }
    await this.#makeFolder(parent.toString(), "create the base folder");
    await this.#send("MKCOL", url, what, { ok: [201, 405] });
  }

  /** A file's bytes (or its first `range` bytes where the server honours Range); null if gone. */
  async get(name: string, range?: number): Promise<Uint8Array | null> {
    const headers: Record<string, string> = range === undefined ? {} : { Range: `bytes=0-${range - 1}` };
    const answer = await this.#send("GET", this.fileUrl(name), `download ${name}`, { headers, ok: [200, 206, 404, 410] });
    return answer.status === 404 || answer.status === 410 ? null : answer.body;
  }

  /**
   * Uploads so that `name` appears whole or not at all: PUT to a temporary name, then MOVE with
   * Overwrite: F. A 412 on the MOVE means the name exists already, which (names being content
   * hashes) means an earlier attempt whose answer was lost got there: done. Servers without MOVE
   * get a PUT with If-None-Match: * instead; the name's hash still exposes a partial file.
   */
  async putAtomic(name: string, temp: string, body: Uint8Array): Promise<void> {
    await this.#send("PUT", this.fileUrl(temp), `upload ${name}`, { headers: { "If-None-Match": "*", "Content-Type": "application/octet-stream" }, body, ok: [200, 201, 204] });
    let moved: Answer;
    try {
      moved = await this.#send("MOVE", this.fileUrl(temp), `rename the upload to ${name}`, { headers: { Destination: this.fileUrl(name), Overwrite: "F" }, ok: [201, 204, 412, 405, 501] });
    } catch (err) {
      await this.remove(temp, null).catch(() => undefined);
      throw err;
    }
    if (moved.status === 405 || moved.status === 501) {
      await this.#send("PUT", this.fileUrl(name), `upload ${name}`, { headers: { "If-None-Match": "*", "Content-Type": "application/octet-stream" }, body, ok: [200, 201, 204, 412] });
    }
    if (moved.status === 412 || moved.status === 405 || moved.status === 501) await this.remove(temp, null).catch(() => undefined);
  }

  /** Deletes a file, only if it still has `etag` where the server has ETags; false if it changed. */
  async remove(name: string, etag: string | null): Promise<boolean> {
    const answer = await this.#send("DELETE", this.fileUrl(name), `delete ${name}`, { headers: etag ? { "If-Match": etag } : {}, ok: [200, 204, 404, 207, 412] });
    // A 207 to a DELETE of one file lists what could not be deleted.
    return answer.status !== 412 && answer.status !== 207;
  }

  #where(): string {
    return `${this.#options.remote} (${this.folderUrl})`;
  }

  async #send(method: string, url: string, what: string, request: { headers?: Record<string, string>; body?: string | Uint8Array; ok: number[] }): Promise<Answer> {
    const { deadline } = this.#options;
    let last: Attempt | undefined;
    for (let attempt = 1; attempt <= this.#retry.attempts; attempt++) {
      if (deadline.aborted) break;
      if (attempt > 1) this.stats.retries++;
      last = await this.#once(method, url, request);
      if ("answer" in last) {
        const { status } = last.answer;
        if (request.ok.includes(status)) return last.answer;
        if (!RETRYABLE.has(status)) throw this.#refusal(what, last.answer);
      }
      if (attempt === this.#retry.attempts) break;
      const retryAfter = "answer" in last ? Number(last.answer.headers.get("retry-after")) * 1000 : NaN;
      const backoff = Math.min(this.#retry.maxMs, this.#retry.initialMs * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
      await sleep(Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter, this.#retry.maxMs) : backoff, deadline);
    }
    if (deadline.aborted) {
      throw new ShelfError("SHELF_E_SYNC_TIMEOUT", `the sync with ${this.#options.remote} did not finish in time (while trying to ${what})`, "nothing was lost; run the sync again, or raise --timeout for a large catalog or a slow server");
    }
    if (last && "answer" in last) {
      throw new ShelfError("SHELF_E_WEBDAV_SERVER", `${this.#where()} answered ${last.answer.status} when asked to ${what}, ${this.#retry.attempts} times`, "the server is failing or overloaded; local data is untouched, run the sync again later");
    }
    const cause = last && "error" in last ? last.error.message : "no attempt";
    if (!this.#answered && !(last && "error" in last && last.timedOut)) {
      throw new ShelfError("SHELF_E_REMOTE_UNREACHABLE", `cannot reach ${this.#where()}: ${cause}`, "check the URL (`shelf remote list`) and that the server is up; local data is untouched");
    }
    throw new ShelfError("SHELF_E_WEBDAV_SERVER", `${this.#where()} did not answer when asked to ${what} (${cause}; tried ${this.#retry.attempts} times)`, "the server is slow or unreachable; local data is untouched, run the sync again later");
  }

  async #once(method: string, url: string, request: { headers?: Record<string, string>; body?: string | Uint8Array }): Promise<Attempt> {
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = AbortSignal.any([timeout, this.#options.deadline]);
    this.stats.requests++;
    if (request.body !== undefined) this.stats.bytesUp += typeof request.body === "string" ? Buffer.byteLength(request.body) : request.body.byteLength;
    let response: Response;
    try {
      // The library sends a Buffer as bytes but would JSON-encode a plain Uint8Array.
      const data = request.body instanceof Uint8Array ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength) : request.body;
      response = (await this.#client.customRequest("", { url, method, headers: request.headers ?? {}, data, signal })) as unknown as Response;
    } catch (err) {
      const failed = (err as { response?: Response }).response;
      if (!failed) {
        const reason = timeout.aborted ? `no answer within ${this.#timeoutMs} ms` : describe(err);
        return { error: new Error(reason), timedOut: timeout.aborted };
      }
      response = failed;
    }
    try {
      const body = new Uint8Array(await response.arrayBuffer());
      this.stats.bytesDown += body.byteLength;
      this.#answered = true;
      return { answer: { status: response.status, headers: response.headers, body } };
    } catch (err) {
      return { error: new Error(timeout.aborted ? `the answer did not arrive within ${this.#timeoutMs} ms` : `the answer was cut off (${describe(err)})`), timedOut: timeout.aborted };
    }
  }

  #refusal(what: string, answer: Answer): ShelfError {
    const where = this.#where();
    if (answer.status === 401 || answer.status === 403) {
      return new ShelfError(
        "SHELF_E_WEBDAV_UNAUTHORIZED",
        `${where} refused to ${what}: HTTP ${answer.status}${this.#options.credentials ? ` with the credentials from ${this.#options.credentials.source}` : " (no credentials were given)"}`,
        "set SHELF_WEBDAV_USER and SHELF_WEBDAV_PASSWORD, or the remote's entry in <home>/webdav-credentials.yaml (mode 0600); for Nextcloud use an app password",
      );
    }
    if (answer.status === 507) {
      return new ShelfError("SHELF_E_WEBDAV_QUOTA", `${where} is out of space (HTTP 507 Insufficient Storage) when asked to ${what}`, "free space on the server or raise the account's quota; `shelf sync compact NAME` shrinks what this instance keeps there");
    }
    return new ShelfError("SHELF_E_WEBDAV_SERVER", `${where} answered ${answer.status} when asked to ${what}`, "check the URL and the server's log; local data is untouched");
  }
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(err)}${cause ? ` (${cause})` : ""}`;
}

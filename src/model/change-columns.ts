/**
 * Reads from a binary Automerge change only what the materializer asks of its operations: which
 * key of one map each operation wrote. `A.decodeChange` builds a JavaScript object for every
 * operation, with its value, its predecessors and their ids as strings: for a shard's log that was
 * a third of what a whole-shard materialization (a rebuild, a join, an import-bundle) allocated,
 * all of it garbage at once, and a fifth of a rebuild's time.
 *
 * The layout is Automerge's binary format: a chunk header (magic, checksum, type, length), the
 * change's metadata, then its operations as columns, here run-length encoded. Automerge hands out
 * a document's changes uncompressed, whatever form they were stored in. Anything this reader does
 * not expect (a compressed chunk or column, a checksum that does not match, a column that does not
 * decode) gives `undefined` from `readChangeKeys`, and `changeKeys` then asks `A.decodeChange`.
 */
import * as A from "@automerge/automerge";
import { createHash } from "node:crypto";

export interface ChangeKeys {
  hash: string;
  actor: string;
  startOp: number;
  /** seconds since the epoch, as the change was committed */
  time: number;
  message: string | null;
  /** for each operation in order: the key it wrote (put or delete) in the map `obj`, else null */
  keys: (string | null)[];
}

/** An object's id as Automerge writes it, `counter@actor`. */
export interface ObjectId {
  counter: number;
  actor: string;
}

/** `counter@actor`, as Automerge names an object; undefined for the root or anything else. */
export function parseObjectId(id: string): ObjectId | undefined {
  const at = id.indexOf("@");
  const counter = Number(id.slice(0, at));
  return at > 0 && Number.isSafeInteger(counter) ? { counter, actor: id.slice(at + 1) } : undefined;
}

/** The keys of the map `recordsObj` each operation of `binary` wrote: read from its columns, or else decoded by Automerge. */
export function changeKeys(binary: Uint8Array, recordsObj: string | undefined): ChangeKeys {
  const obj = recordsObj === undefined ? undefined : parseObjectId(recordsObj);
  const readable = recordsObj === undefined || obj !== undefined;
  return (readable ? readChangeKeys(binary, obj) : undefined) ?? decodeChangeKeys(binary, recordsObj);
}

/** The same as readChangeKeys, through Automerge's own decoder (which builds every operation). */
export function decodeChangeKeys(binary: Uint8Array, recordsObj: string | undefined): ChangeKeys {
  const change = A.decodeChange(binary);
  const keys = change.ops.map((op) => (op.obj === recordsObj && typeof op.key === "string" ? op.key : null));
  return { hash: change.hash, actor: change.actor, startOp: change.startOp, time: change.time, message: change.message, keys };
}

const MAGIC = [0x85, 0x6f, 0x4a, 0x83];
const CHANGE_CHUNK = 1;
/** Column specs (id << 4 | type); bit 3 marks a deflated column, which changes do not use. */
const OBJ_ACTOR = 0x01;
const OBJ_COUNTER = 0x02;
const KEY_STRING = 0x15;
const ACTION = 0x42;
const DEFLATE = 0x08;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The keys of the map `obj` each operation of `binary` wrote, or undefined when it does not read as expected. */
export function readChangeKeys(binary: Uint8Array, obj: ObjectId | undefined): ChangeKeys | undefined {
  try {
    return read(binary, obj);
  } catch {
    return undefined;
  }
}

function read(binary: Uint8Array, obj: ObjectId | undefined): ChangeKeys | undefined {
  if (MAGIC.some((byte, i) => binary[i] !== byte)) return undefined;
  const header = new Bytes(binary, 8);
  if (header.byte() !== CHANGE_CHUNK) return undefined;
  const length = header.uleb();
  if (header.pos + length !== binary.length) return undefined;
  const body = binary.subarray(header.pos);
  // The change's hash is over the chunk from its type on; its first four bytes are the checksum.
  const hash = createHash("sha256").update(binary.subarray(8)).digest();
  if (hash.compare(binary, 4, 8, 0, 4) !== 0) return undefined;

  const r = new Bytes(body);
  const deps = r.uleb();
  r.skip(deps * 32);
  const actors = [hex(r.take(r.uleb()))];
  r.uleb(); // seq
  const startOp = r.uleb();
  const time = r.sleb();
  const messageLength = r.uleb();
  const message = messageLength === 0 ? null : utf8.decode(r.take(messageLength));
  const others = r.uleb();
  for (let i = 0; i < others; i++) actors.push(hex(r.take(r.uleb())));
  const specs: [spec: number, length: number][] = [];
  for (let count = r.uleb(), i = 0; i < count; i++) specs.push([r.uleb(), r.uleb()]);
  const columns = new Map<number, Uint8Array>();
  for (const [spec, columnLength] of specs) {
    if (spec & DEFLATE) return undefined;
    columns.set(spec, r.take(columnLength));
  }

  const opCount = runLength(columns.get(ACTION), (c) => c.uleb()).length;
  const objActors = runLength(columns.get(OBJ_ACTOR), (c) => c.uleb());
  const objCounters = runLength(columns.get(OBJ_COUNTER), (c) => c.uleb());
  const keyStrings = runLength(columns.get(KEY_STRING), (c) => utf8.decode(c.take(c.uleb())));
  if (objActors.length > opCount || objCounters.length > opCount || keyStrings.length > opCount) return undefined;
  const objActor = obj === undefined ? -1 : actors.indexOf(obj.actor);
  const keys: (string | null)[] = new Array(opCount);
  for (let i = 0; i < opCount; i++) {
    const onObj = objActor >= 0 && objActors[i] === objActor && objCounters[i] === obj!.counter;
    keys[i] = onObj ? (keyStrings[i] ?? null) : null;
  }
  return { hash: hash.toString("hex"), actor: actors[0]!, startOp, time, message, keys };
}

/**
 * A run-length encoded column: a signed count n, then one value repeated n times (n > 0), -n
 * values one after another (n < 0), or (n = 0) a count of nulls. A missing column is all nulls.
 */
function runLength<T>(data: Uint8Array | undefined, value: (r: Bytes) => T): (T | null)[] {
  const out: (T | null)[] = [];
  if (!data) return out;
  const r = new Bytes(data);
  while (!r.done()) {
    const n = r.sleb();
    if (n > 0) {
      const v = value(r);
      for (let i = 0; i < n; i++) out.push(v);
    } else if (n < 0) {
      for (let i = 0; i < -n; i++) out.push(value(r));
    } else {
      for (let nulls = r.uleb(), i = 0; i < nulls; i++) out.push(null);
    }
  }
  return out;
}

/** A cursor over bytes, reading LEB128 numbers as Automerge writes them. */
class Bytes {
  constructor(
    readonly data: Uint8Array,
    public pos = 0,
  ) {}

  done(): boolean {
    return this.pos >= this.data.length;
  }

  byte(): number {
    if (this.pos >= this.data.length) throw new RangeError("past the end");
    return this.data[this.pos++]!;
  }

  take(n: number): Uint8Array {
    if (this.pos + n > this.data.length) throw new RangeError("past the end");
    return this.data.subarray(this.pos, (this.pos += n));
  }

  skip(n: number): void {
    this.take(n);
  }

  uleb(): number {
    let result = 0;
    for (let scale = 1; ; scale *= 128) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if (b < 0x80) break;
      if (scale > 2 ** 49) throw new RangeError("number too large");
    }
    return result;
  }

  sleb(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return b & 0x40 ? result - scale : result;
      if (scale > 2 ** 49) throw new RangeError("number too large");
    }
  }
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");

/**
 * A catalog as shelf made them before derived ids (random automerge-repo ids for the root and its
 * shards), written as a bundle file for `shelf import-bundle`, so tests can check that such
 * catalogs keep working and what protects them.
 */
import * as A from "@automerge/automerge";
import { generateAutomergeUrl } from "@automerge/automerge-repo";
import { writeBundle } from "../../src/bundle/write-bundle.js";
import { shardIndex } from "../../src/model/catalog-doc.js";

const imm = (s: string) => new A.ImmutableString(s);
const idOf = (url: string) => url.slice("automerge:".length);

/** Writes a random-id catalog holding one record per name to `path`; returns its URL. */
export function writeLegacyCatalog(path: string, name: string, recordNames: string[], shardCount = 4): string {
  const shardUrls = Array.from({ length: shardCount }, () => generateAutomergeUrl());
  const rootUrl = generateAutomergeUrl();
  const records: Record<string, A.ImmutableString>[] = shardUrls.map(() => ({}));
  for (const n of recordNames) records[shardIndex(`npm:${n}`, shardCount)]![`npm:${n} name`] = imm(n);
  const root = A.from({ shelf: "catalog", format: 1, name: imm(name), createdAt: imm(new Date().toISOString()), shards: shardUrls.map(imm) });
  const documents = [
    { documentId: idOf(rootUrl), data: A.save(root) },
    ...shardUrls.map((url, i) => ({ documentId: idOf(url), data: A.save(A.from({ records: records[i]! })) })),
  ];
  writeBundle(path, { url: rootUrl, name }, "legacy-test", documents);
  return rootUrl;
}

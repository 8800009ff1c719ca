/**
 * tsv, on real rows of the shared npm dataset (fixtures/real/SOURCES.md), and on a package list
 * with columns shelf does not know (a top-packages list's `month` and `rank`): those are ignored
 * with one warning, and only a file without `name` is refused.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CatalogRecord } from "../src/model/record.js";
import { FIXTURES, expectExit, expectJsonError, parseJson, shelf, shelfJson } from "./helpers/cli.js";
import { tempDir } from "./helpers/temp-home.js";

const REAL = join(FIXTURES, "real", "tsv", "npm-packages.tsv");

async function newHome(): Promise<string> {
  const home = join(tempDir(), "home");
  expectExit(await shelf(home, "init"), 0);
  return home;
}

async function records(home: string, provider: string): Promise<Partial<CatalogRecord>[]> {
  const { records: list } = await shelfJson<{ records: CatalogRecord[] }>(home, "list", "--provider", provider);
  return list.map((r) => ({ id: r.id, kind: r.kind, provider: r.provider, name: r.name, version: r.version, summary: r.summary, tags: r.tags, collections: r.collections, meta: r.meta }));
}

const base = { kind: "package", provider: "npm", tags: [], collections: [] };

describe("tsv importer on real rows", () => {
  it("maps every row field by field", async () => {
    const home = await newHome();
    const result = await shelf(home, "import", "tsv", REAL, "--json");
    expectExit(result, 0);
    expect(parseJson(result).import).toMatchObject({ added: 5, rejected: 0, notes: [] });
    expect(await records(home, "npm")).toEqual([
      { ...base, id: "npm:@ant-design/cli", name: "@ant-design/cli", version: "6.6.5", summary: "", meta: {} },
      { ...base, id: "npm:@types/node", name: "@types/node", version: "26.6.6", summary: "TypeScript definitions for node", meta: { downloadsAMonth: 1033889329 } },
      { ...base, id: "npm:cool-ascii-faces", name: "cool-ascii-faces", version: "1.3.4", summary: "get some cool ascii faces ヽ༼ຈل͜ຈ༽ﾉ", meta: { downloadsAMonth: 5086 } },
      { ...base, id: "npm:lodash", name: "lodash", version: "4.18.1", summary: "Lodash modular utilities.", meta: { downloadsAMonth: 452434618 } },
      { ...base, id: "npm:react", name: "react", version: "19.3.1", summary: "React is a JavaScript library for building user interfaces.", meta: { downloadsAMonth: 351327975 } },
    ]);
  });

  it("ignores columns it does not know with one warning naming them, and imports every row", async () => {
    const home = await newHome();
    const list = join(tempDir(), "top-pypi.tsv");
    writeFileSync(list, "month\trank\tname\tdownloads_a_month\n2026-11\t1\tboto3\t1432011093\n2026-11\t2\turllib3\t921875452\n2026-11\t3\tsetuptools\t867004021\n");
    const result = await shelf(home, "import", "tsv", list, "--provider", "pypi", "--json");
    expectExit(result, 0);
    const summary = parseJson(result).import;
    expect(summary).toMatchObject({ added: 3, rejected: 0 });
    const warning = `${list}: ignored columns shelf does not know: "month", "rank" (it reads name, version, downloads_a_month, summary)`;
    expect(summary.notes).toEqual([warning]);
    expect(result.stderr.split("\n").filter((line) => line.includes("ignored columns"))).toEqual([`note: ${warning}`]);
    expect(await records(home, "pypi")).toEqual([
      { ...base, provider: "pypi", id: "pypi:boto3", name: "boto3", version: "", summary: "", meta: { downloadsAMonth: 1432011093 } },
      { ...base, provider: "pypi", id: "pypi:setuptools", name: "setuptools", version: "", summary: "", meta: { downloadsAMonth: 867004021 } },
      { ...base, provider: "pypi", id: "pypi:urllib3", name: "urllib3", version: "", summary: "", meta: { downloadsAMonth: 921875452 } },
    ]);
  });

  it("refuses a file without a name column, writing nothing", async () => {
    const home = await newHome();
    const list = join(tempDir(), "no-name.tsv");
    writeFileSync(list, "rank\tproject\n1\tboto3\n");
    const error = expectJsonError(await shelf(home, "import", "tsv", list, "--json"), 1, "SHELF_E_BAD_INPUT_FILE");
    expect(error.message).toContain(`${list}: the header has no "name" column`);
    expect((await shelfJson<{ count: number }>(home, "list")).count).toBe(0);
  });
});

/**
 * pacman against what pacman and real Arch machines wrote (fixtures/real/pacman; each file's
 * source is named in fixtures/real/SOURCES.md). Every record is compared field by field with
 * values written out here, worked out by hand from the files (sizes: KiB x 1024, dates: the
 * printed wall clock minus its zone's offset).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runImport } from "../src/import/run-import.js";
import { parsePacmanDate } from "../src/import/providers/pacman-dates.js";
import { recordReader } from "../src/view/queries.js";
import { FIXTURES, expectExit, parseJson, shelf } from "./helpers/cli.js";
import { tempCatalog, tempDir } from "./helpers/temp-home.js";

const REAL = join(FIXTURES, "real", "pacman");
const originalTz = process.env.TZ;
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

/** Imports a source in-process (real SQLite, real CRDT) and returns the summary and a reader of the stored fields. */
async function importInto(source: string, host?: string) {
  const { store } = await tempCatalog();
  const summary = await runImport(store, { provider: "pacman", source, host });
  const read = recordReader(store.instance.db, store.catalog.catId);
  const fields = (id: string) => {
    const r = read(id);
    return r && { kind: r.kind, provider: r.provider, name: r.name, version: r.version, summary: r.summary, tags: r.tags, deleted: r.deleted, meta: r.meta };
  };
  return { summary, fields };
}

const pkg = { kind: "package", provider: "pacman", tags: [], deleted: false };

// The three packages of the real local database, as its desc files say.
const ALSA_LIB = {
  ...pkg,
  name: "alsa-lib",
  version: "1.2.4-3",
  summary: "An alternative implementation of Linux sound support",
  meta: {
    homepage: "https://www.alsa-project.org",
    licenses: ["LGPL2.1"],
    arch: "x86_64",
    installedSize: 1655438,
    packager: "David Runge <dvzrv@archlinux.org>",
    buildDate: "2020-10-21T14:16:19.000Z",
    installDate: "2021-05-24T10:14:24.000Z",
    reason: "dependency",
    depends: ["glibc", "alsa-topology-conf", "alsa-ucm-conf"],
  },
};
const FONTCONFIG = {
  ...pkg,
  name: "fontconfig",
  version: "2:2.13.93-4",
  summary: "Library for configuring and customizing font access",
  meta: {
    homepage: "https://www.freedesktop.org/wiki/Software/fontconfig/",
    licenses: ["custom"],
    arch: "x86_64",
    installedSize: 778843,
    packager: "Jan Alexander Steffens (heftig) <heftig@archlinux.org>",
    buildDate: "2021-03-24T18:59:41.000Z",
    installDate: "2021-05-24T10:14:24.000Z",
    reason: "dependency",
    depends: ["libexpat.so=1-64", "libfreetype.so=6-64"],
  },
};
const PACMAN = {
  ...pkg,
  name: "pacman",
  version: "5.2.2-3",
  summary: "A library-based package manager with dependency support",
  meta: {
    homepage: "https://www.archlinux.org/pacman/",
    licenses: ["GPL"],
    arch: "x86_64",
    installedSize: 4647842,
    packager: "Allan McRae <allan@archlinux.org>",
    buildDate: "2021-03-28T11:19:51.000Z",
    installDate: "2021-05-23T15:59:03.000Z",
    reason: "dependency",
    groups: ["base-devel"],
    depends: ["bash", "glibc", "libarchive", "curl", "gpgme", "pacman-mirrorlist", "archlinux-keyring"],
  },
};

/** The same packages as `pacman -Qi` prints them: sizes rounded to 2 decimals of KiB or MiB. */
const printedSizes = (a: object, size: number) => ({ ...a, meta: { ...(a as typeof ALSA_LIB).meta, installedSize: size } });
const ALSA_LIB_QI = printedSizes(ALSA_LIB, 1655439); // 1616.64 KiB
const FONTCONFIG_QI = printedSizes(FONTCONFIG, 778844); // 760.59 KiB
const PACMAN_QI = printedSizes(PACMAN, 4645192); // 4.43 MiB

describe("a real local database (/var/lib/pacman/local, with desc and files)", () => {
  it("imports every package, epoch in the version, with every field", async () => {
    const { summary, fields } = await importInto(join(REAL, "local"));
    expect(summary).toMatchObject({ added: 3, rejected: 0, rejects: [] });
    expect(fields("pacman:alsa-lib")).toEqual(ALSA_LIB);
    expect(fields("pacman:fontconfig")).toEqual(FONTCONFIG);
    expect(fields("pacman:pacman")).toEqual(PACMAN);
  });
});

describe("real `pacman -Qii` output, en_US, in a +08 time zone", () => {
  it("imports every package, backup files and extended data included, dates in UTC", async () => {
    const { summary, fields } = await importInto(join(REAL, "qii-en_US-plus08.txt"));
    expect(summary).toMatchObject({ added: 3, rejected: 0, rejects: [] });
    expect(fields("pacman:zstd")).toEqual({
      ...pkg,
      name: "zstd",
      version: "1.5.6-1",
      summary: "Zstandard - Fast real-time compression algorithm",
      meta: {
        homepage: "https://facebook.github.io/zstd/",
        licenses: ["BSD-3-Clause", "GPL-2.0-only"],
        arch: "x86_64",
        installedSize: 1563648,
        packager: "Levente Polyak <anthraxx@archlinux.org>",
        buildDate: "2024-05-10T22:14:19.000Z",
        installDate: "2024-05-24T01:50:31.000Z",
        reason: "dependency",
        depends: ["glibc", "gcc-libs", "zlib", "xz", "lz4"],
      },
    });
    expect(fields("pacman:apparmor")).toEqual({
      ...pkg,
      name: "apparmor",
      version: "3.1.7-4",
      summary: "Mandatory Access Control (MAC) using Linux Security Module (LSM)",
      meta: {
        homepage: "https://gitlab.com/apparmor/apparmor",
        licenses: ["GPL-2.0-only", "LGPL-2.0-only", "LGPL-2.1-only"],
        arch: "x86_64",
        installedSize: 4309647,
        packager: "Antonio Rojas <arojas@archlinux.org>",
        buildDate: "2024-09-01T11:43:58.000Z",
        installDate: "2024-09-04T22:01:08.000Z",
        reason: "explicit",
        depends: ["audit", "bash", "gcc-libs", "glibc", "pam", "python"],
      },
    });
    expect(fields("pacman:apulse")).toEqual({
      ...pkg,
      name: "apulse",
      version: "0.1.13-1",
      summary: "PulseAudio emulation for ALSA",
      meta: {
        homepage: "https://github.com/i-rinat/apulse",
        licenses: ["custom:MIT"],
        arch: "x86_64",
        installedSize: 138967,
        packager: "Unknown Packager",
        buildDate: "2022-08-04T20:06:57.000Z",
        installDate: "2022-08-04T20:07:04.000Z",
        reason: "explicit",
        depends: ["alsa-lib", "glib2"],
      },
    });
  });
});

describe("the same three packages as pacman prints them in other locales and zones", () => {
  it("C locale (what LC_ALL=C gives: no zone) is read in the importing machine's zone, TZ", async () => {
    process.env.TZ = "Europe/Berlin";
    const { summary, fields } = await importInto(join(REAL, "qi-C-locale-Berlin.txt"));
    expect(summary).toMatchObject({ added: 3, rejected: 0 });
    expect(fields("pacman:alsa-lib")).toEqual(ALSA_LIB_QI);
    expect(fields("pacman:fontconfig")).toEqual(FONTCONFIG_QI);
    expect(fields("pacman:pacman")).toEqual(PACMAN_QI);
  });

  it("en_US in Berlin: CEST and CET give the same instants as the desc files", async () => {
    const { summary, fields } = await importInto(join(REAL, "qi-en_US-Berlin.txt"));
    expect(summary).toMatchObject({ added: 3, rejected: 0 });
    expect(fields("pacman:alsa-lib")).toEqual(ALSA_LIB_QI);
    expect(fields("pacman:fontconfig")).toEqual(FONTCONFIG_QI);
    expect(fields("pacman:pacman")).toEqual(PACMAN_QI);
  });

  it("the older -Qii layout (Backup Files: then (none) or MODIFIED<TAB>path) in EDT loses no package", async () => {
    const { summary, fields } = await importInto(join(REAL, "qii-old-en_US-NewYork.txt"));
    expect(summary).toMatchObject({ added: 3, rejected: 0, rejects: [] });
    expect(fields("pacman:alsa-lib")).toEqual(ALSA_LIB_QI);
    expect(fields("pacman:fontconfig")).toEqual(FONTCONFIG_QI);
    expect(fields("pacman:pacman")).toEqual(PACMAN_QI);
  });

  it("with --as, the host's presence carries the same install date", async () => {
    const { fields } = await importInto(join(REAL, "qii-old-en_US-NewYork.txt"), "nyc-01");
    expect(fields("pacman:fontconfig")?.meta).toEqual({ "host.nyc-01": { version: "2:2.13.93-4", installedAt: "2021-05-24T10:14:24.000Z", reason: "dependency" } });
  });
});

describe("dates pacman prints", () => {
  it.each([
    ["Fri 21 Jun 2024 08:00:00 PM UTC", "2024-06-21T20:00:00.000Z"],
    ["Sat 16 May 2020 12:57:49 PM CEST", "2020-05-16T10:57:49.000Z"],
    ["Sat 16 May 2020 12:57:49 PM EDT", "2020-05-16T16:57:49.000Z"],
    ["Sat 13 Jul 2024 17:31:39 BST", "2024-07-13T16:31:39.000Z"],
    ["Thu 18 Feb 2021 16:00:53 MST", "2021-02-18T23:00:53.000Z"],
    ["Sat 11 May 2024 12:14:19 AM +08", "2024-05-10T16:14:19.000Z"],
    ["Mon 01 Jan 2024 12:30:00 PM -0330", "2024-01-01T16:00:00.000Z"],
    ["Saturday 16 May 2020 12:57:49 PM IST", "2020-05-16T07:27:49.000Z"],
    ["2020-05-16T12:57:49 CEST", "2020-05-16T10:57:49.000Z"],
    ["Fri May  8 13:14:50 2020", "2020-05-08T13:14:50.000Z"],
  ])("%s is %s (the importing machine is in UTC, or in Asia/Kolkata for IST)", (printed, iso) => {
    process.env.TZ = printed.endsWith("IST") ? "Asia/Kolkata" : "UTC";
    expect(parsePacmanDate(printed)).toEqual({ iso });
  });

  it("a zone-less C-locale date is the importing machine's local time", () => {
    process.env.TZ = "America/New_York";
    expect(parsePacmanDate("Fri May  8 13:14:50 2020")).toEqual({ iso: "2020-05-08T17:14:50.000Z" });
  });

  it("an ambiguous abbreviation is read only when this machine's zone is one of its meanings", () => {
    process.env.TZ = "America/Chicago";
    expect(parsePacmanDate("Thu 04 Apr 2024 05:11:09 AM CDT")).toEqual({ iso: "2024-04-04T10:11:09.000Z" });
    process.env.TZ = "Asia/Shanghai";
    expect(parsePacmanDate("Thu 04 Apr 2024 05:11:09 AM CST")).toEqual({ iso: "2024-04-03T21:11:09.000Z" });
    process.env.TZ = "UTC";
    expect(parsePacmanDate("Thu 04 Apr 2024 05:11:09 AM CST")).toEqual({
      raw: "Thu 04 Apr 2024 05:11:09 AM CST",
      note: 'kept as pacman printed it: the time zone "CST" has several meanings (UTC-06:00, UTC+08:00, UTC-05:00) and this machine\'s zone is none of them',
    });
  });

  it("an unknown zone or a translated date is kept as printed, with a note, never guessed", () => {
    expect(parsePacmanDate("Sat 16 May 2020 12:57:49 PM XYZT")).toEqual({ raw: "Sat 16 May 2020 12:57:49 PM XYZT", note: 'kept as pacman printed it: the time zone "XYZT" is not one shelf knows' });
    expect(parsePacmanDate("wto, 27 gru 2022, 01:30:08")).toMatchObject({ raw: "wto, 27 gru 2022, 01:30:08", note: expect.stringContaining("not a date form shelf reads") });
    expect(parsePacmanDate("Sat 31 Feb 2020 12:57:49 PM UTC")).toMatchObject({ raw: "Sat 31 Feb 2020 12:57:49 PM UTC" });
  });

  it("a record whose dates are kept as printed says why in meta.dateNote", async () => {
    const file = join(tempDir(), "qi.txt");
    writeFileSync(file, "Name            : zstd\nVersion         : 1.5.6-1\nBuild Date      : Sat 11 May 2024 06:14:19 AM XYZT\nInstall Date    : Fri 24 May 2024 09:50:31 AM XYZT\n");
    const { fields } = await importInto(file);
    expect(fields("pacman:zstd")?.meta).toEqual({
      buildDate: "Sat 11 May 2024 06:14:19 AM XYZT",
      installDate: "Fri 24 May 2024 09:50:31 AM XYZT",
      dateNote: 'kept as pacman printed it: the time zone "XYZT" is not one shelf knows',
    });
  });
});

describe("other forms pacman prints", () => {
  it("pacman 7 blocks that start with \"Installed From\", and a decimal comma from LC_NUMERIC", async () => {
    const file = join(tempDir(), "qi.txt");
    writeFileSync(file, "Installed From  : core\nName            : acl\nVersion         : 2.3.2-1\nInstalled Size  : 130,58 KiB\n\n");
    const { summary, fields } = await importInto(file);
    expect(summary).toMatchObject({ added: 1, rejected: 0 });
    expect(fields("pacman:acl")).toEqual({ ...pkg, name: "acl", version: "2.3.2-1", summary: "", meta: { installedSize: 133714 } });
  });
});

describe("rejections name the line at fault", () => {
  it("a translated listing is refused at its first non-English field name, not imported half-read", async () => {
    const file = join(tempDir(), "qi-de.txt");
    // German pacman also prints "Name", "Version" and "URL"; the other titles are translated
    writeFileSync(file, "Name            : zstd\nVersion         : 1.5.6-1\nBeschreibung    : Zstandard\nArchitektur     : x86_64\nURL             : https://facebook.github.io/zstd/\nLizenzen        : BSD-3-Clause\nHängt ab von    : glibc\n");
    const { store } = await tempCatalog();
    await expect(runImport(store, { provider: "pacman", source: file })).rejects.toMatchObject({
      code: "SHELF_E_BAD_INPUT_FILE",
      message: `${file}:3: "Beschreibung" is not an English field name: this listing was printed in another language`,
    });
  });

  it("a bad line in the 2nd block of real -Qii output rejects that package at its line; the others are kept (CLI)", async () => {
    const home = join(tempDir(), "home");
    expectExit(await shelf(home, "init"), 0);
    const lines = (await import("node:fs")).readFileSync(join(REAL, "qii-en_US-plus08.txt"), "utf8").split("\n");
    // line 37 is apparmor's "Description : ..." (its block starts at line 35)
    expect(lines[36]).toMatch(/^Description {5}: Mandatory Access Control/);
    lines[36] = "this line was damaged";
    const file = join(tempDir(), "damaged.txt");
    writeFileSync(file, lines.join("\n"));
    const result = await shelf(home, "import", "pacman", file, "--json");
    expectExit(result, 1);
    const { import: summary } = parseJson<{ import: { added: number; rejected: number; rejects: { where: string; reason: string }[] } }>(result);
    expect(summary).toMatchObject({ added: 2, rejected: 1 });
    expect(summary.rejects).toEqual([{ where: `${file}:37`, reason: 'not a "Field : value" line: "this line was damaged"' }]);
  });

  it("a desc file names the line of a value outside any section", async () => {
    const dir = tempDir();
    const { mkdirSync, readFileSync } = await import("node:fs");
    mkdirSync(join(dir, "alsa-lib-1.2.4-3"));
    const desc = readFileSync(join(REAL, "local", "alsa-lib-1.2.4-3", "desc"), "utf8").split("\n");
    desc.splice(9, 0, "stray text"); // after "%BASE%", "alsa-lib" and the blank line 9: the stray text is line 10
    writeFileSync(join(dir, "alsa-lib-1.2.4-3", "desc"), desc.join("\n"));
    const { summary } = await importInto(dir);
    expect(summary.rejects).toEqual([
      { where: `${join(dir, "alsa-lib-1.2.4-3", "desc")}:10`, reason: 'a value outside any %KEY% section: "stray text" (a desc file is %KEY% lines, each followed by its values and a blank line)' },
    ]);
  });
});

/** Record commands: add, set, tag, collect, rm, restore, show, search, list. */
import { Option, type Command } from "commander";
import type { RecordFilter } from "../view/queries.js";
import { commandKit, collect, positiveInt, type CliIo, type Opts } from "./command-kit.js";
import { formatConflicts, formatRecord, formatRecordTable, printJson, say, type Output } from "./render.js";

export function registerRecordCommands(program: Command, io: CliIo): void {
  const { out, action } = commandKit(io);

  program
    .command("add")
    .description("add a record")
    .argument("<id>", "record id, e.g. npm:react")
    .requiredOption("--name <name>", "display name")
    .option("--kind <kind>", "package or file")
    .option("--version <version>", "version")
    .option("--summary <text>", "one-line summary")
    .option("--tag <tag>", "tag (repeatable)", collect)
    .option("--collection <name>", "collection (repeatable)", collect)
    .option("--meta <key=value>", "metadata; key:=JSON for a JSON value (repeatable)", collect)
    .option("--json", "print JSON")
    .action(
      action(async (id: string, opts: Opts) => {
        const { addRecord } = await import("../commands/records.js");
        printEdit(out(opts), await addRecord(id, opts as never));
      }),
    );

  program
    .command("set")
    .description("edit fields: name=, version=, summary=, kind=, meta.KEY=text, meta.KEY:=JSON")
    .argument("<id>", "record id")
    .argument("<assignments...>", "field=value pairs")
    .option("--json", "print JSON")
    .action(
      action(async (id: string, assignments: string[], opts: Opts) => {
        const { setFields } = await import("../commands/records.js");
        printEdit(out(opts), await setFields(id, assignments, opts));
      }),
    );

  for (const [name, what, fnName] of [
    ["tag", "tags", "changeTags"],
    ["collect", "collections", "changeCollections"],
  ] as const) {
    program
      .command(name)
      .description(`add (+name) or remove (-name) ${what}`)
      .argument("<id>", "record id")
      .argument("<changes...>", `+${name === "tag" ? "tag" : "collection"} or -${name === "tag" ? "tag" : "collection"}`)
      .option("--json", "print JSON")
      // -name must reach the command as an argument, not be taken for an unknown flag
      .allowUnknownOption()
      .action(
        action(async (id: string, changes: string[], opts: Opts) => {
          const commands = await import("../commands/records.js");
          printEdit(out(opts), await commands[fnName](id, changes, opts));
        }),
      );
  }

  for (const [name, description, fnName] of [
    ["rm", "tombstone a record (it stays, marked deleted, and can be restored)", "removeRecord"],
    ["restore", "undo rm", "restoreRecord"],
  ] as const) {
    program
      .command(name)
      .description(description)
      .argument("<id>", "record id")
      .option("--json", "print JSON")
      .action(
        action(async (id: string, opts: Opts) => {
          const commands = await import("../commands/records.js");
          printEdit(out(opts), await commands[fnName](id, opts));
        }),
      );
  }

  program
    .command("show")
    .description("show one record")
    .argument("<id>", "record id")
    .option("--json", "print JSON")
    .action(
      action(async (id: string, opts: Opts) => {
        const { showRecord } = await import("../commands/read.js");
        const { record, conflicts } = await showRecord(id, opts);
        if (opts.json) printJson(out(opts), { record, conflicts });
        else io.stdout.write(formatRecord(record) + (conflicts ? "\n" + formatConflicts(conflicts) : "") + "\n");
      }),
    );

  const filterOptions = (cmd: Command, defaultLimit?: number) =>
    cmd
      .option("--provider <provider>", "only this provider")
      .option("--kind <kind>", "only this kind (package, file)")
      .option("--tag <tag>", "only records with this tag")
      .option("--collection <name>", "only records in this collection")
      .option("--include-deleted", "include tombstoned records")
      .addOption(new Option("--limit <n>", "at most n results").argParser(positiveInt("--limit")).default(defaultLimit))
      .option("--json", "print JSON");
  const toFilter = (opts: Opts): RecordFilter => ({
    provider: opts.provider as string | undefined,
    kind: opts.kind as string | undefined,
    tag: opts.tag as string | undefined,
    collection: opts.collection as string | undefined,
    includeDeleted: opts.includeDeleted === true,
    limit: opts.limit as number | undefined,
  });

  filterOptions(program.command("search").description("full-text search over names, summaries and tags").argument("<query...>", "words to search for"), 20).action(
    action(async (words: string[], opts: Opts) => {
      const { search } = await import("../commands/read.js");
      const query = words.join(" ");
      const results = await search(query, toFilter(opts), opts);
      if (opts.json) printJson(out(opts), { query, count: results.length, results });
      else if (results.length === 0) say(out(opts), `no records match ${JSON.stringify(query)}`);
      else io.stdout.write(formatRecordTable(results) + "\n");
    }),
  );

  filterOptions(program.command("list").description("list records, ordered by id")).action(
    action(async (opts: Opts) => {
      const { list } = await import("../commands/read.js");
      const records = await list(toFilter(opts), opts);
      if (opts.json) printJson(out(opts), { count: records.length, records });
      else if (records.length > 0) io.stdout.write(formatRecordTable(records) + "\n");
    }),
  );

}

function printEdit(out: Output, result: { id: string; outcome: string; record: unknown }): void {
  if (out.json) printJson(out, { id: result.id, outcome: result.outcome, record: result.record });
  else say(out, `${result.outcome} ${result.id}`);
}

/** Conflicts, resolve and history. */
import { Option, type Command } from "commander";
import { commandKit, positiveInt, type CliIo, type Opts } from "./command-kit.js";
import { formatConflicts, formatHistory, printJson, say } from "./render.js";

export function registerConflictCommands(program: Command, io: CliIo): void {
  const { out, action } = commandKit(io);

  program
    .command("conflicts")
    .description("every record with a conflicted field or an edit made while it was deleted")
    .option("--json", "print JSON")
    .action(
      action(async (opts: Opts) => {
        const { conflicts } = await import("../commands/read.js");
        const records = await conflicts(opts);
        if (opts.json) printJson(out(opts), { count: records.length, conflicts: records });
        else if (records.length === 0) say(out(opts), "no conflicts");
        else io.stdout.write(records.map((r) => `${r.id}${r.deleted ? "  (deleted)" : ""}\n${formatConflicts(r)}`).join("\n\n") + "\n");
      }),
    );

  program
    .command("resolve")
    .description("settle a conflicted field (--pick N or --value V), or an edited-while-deleted record (--restore)")
    .argument("<id>", "record id")
    .argument("[field]", "field: name, version, summary, kind, deleted or meta.KEY")
    .addOption(new Option("--pick <n>", "keep competing value number n (see `shelf show ID`)").argParser(positiveInt("--pick")))
    .option("--value <value>", "write this value instead")
    .option("--restore", "restore a record that was edited while deleted")
    .option("--json", "print JSON")
    .action(
      action(async (id: string, field: string | undefined, opts: Opts) => {
        const { resolve } = await import("../commands/conflicts.js");
        const result = await resolve(id, field, opts as never);
        if (opts.json) printJson(out(opts), { id: result.id, field: result.field, value: result.value, record: result.record, conflicts: result.conflicts ?? null });
        else say(out(opts), `resolved ${result.field} of ${result.id}: ${JSON.stringify(result.value)}`);
      }),
    );

  program
    .command("history")
    .description("every change to a record: when, which instance, which fields, old and new values")
    .argument("<id>", "record id")
    .option("--json", "print JSON")
    .action(
      action(async (id: string, opts: Opts) => {
        const { history } = await import("../commands/conflicts.js");
        const result = await history(id, opts);
        if (opts.json) printJson(out(opts), { id: result.id, count: result.entries.length, history: result.entries });
        else io.stdout.write(formatHistory(result.entries) + "\n");
      }),
    );

}

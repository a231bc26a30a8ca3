/**
 * Commands with subcommands (`alloy md deck …`, `alloy md analyze …`): a {@link CommandGroup} is a {@link
 * Command} whose argv goes to one of its subcommands unparsed; `alloy <group> --help` (or no subcommand)
 * lists them. cli/main.ts hands a group its raw argv through {@link isCommandGroup}.
 * @module
 */
import { type Command, COMMON_FLAGS, helpText, parseFlags } from "./args.ts";
import { UserError } from "./errors.ts";

/** One subcommand: its name, a one-line summary, and the function that runs it on its own argv. */
export interface Subcommand {
  name: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

/** A command whose first positional argument picks a subcommand. */
export interface CommandGroup extends Command {
  subcommands: Subcommand[];
  /** Runs the subcommand named by `argv[0]` (or prints the group's help). */
  dispatch(argv: string[]): Promise<number>;
}

/** Whether `cmd` is a {@link CommandGroup} (its argv must not be parsed as flags). */
export function isCommandGroup(cmd: Command): cmd is CommandGroup {
  return typeof (cmd as Partial<CommandGroup>).dispatch === "function";
}

/**
 * A subcommand from an ordinary flag-parsed {@link Command} (its `name` is the full `group sub` name, so help
 * and flag errors read `alloy md deck …`).
 */
export function flagSubcommand(name: string, cmd: Command): Subcommand {
  return {
    name,
    summary: cmd.summary,
    async run(argv) {
      const { flags, positionals } = parseFlags(cmd, argv);
      if (flags.help) {
        console.log(helpText(cmd));
        return 0;
      }
      return await cmd.run(flags, positionals);
    },
  };
}

/** Help text of a group: usage and its subcommands. */
export function groupHelp(name: string, summary: string, subs: readonly Subcommand[]): string {
  const rows = subs.map((s) => `  ${s.name.padEnd(10)} ${s.summary}`).join("\n");
  const usage = `alloy ${name} <subcommand> [flags]   (alloy ${name} <subcommand> --help for details)`;
  const common = Object.entries(COMMON_FLAGS).map(([flag, f]) =>
    `  ${
      `${f.short ? `-${f.short}, ` : "    "}--${flag}${f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""}`
        .padEnd(32)
    } ${f.help}`
  ).join("\n");
  return `alloy ${name} — ${summary}\n\nUsage: ${usage}\n\nSubcommands:\n${rows}\n\n` +
    `Flags every subcommand accepts:\n${common}\n`;
}

/** Builds a {@link CommandGroup}. */
export function commandGroup(name: string, summary: string, subcommands: Subcommand[]): CommandGroup {
  return {
    name,
    summary,
    usage: `<${subcommands.map((s) => s.name).join("|")}> [flags]`,
    flags: {},
    subcommands,
    run() {
      console.log(groupHelp(name, summary, subcommands));
      return Promise.resolve(0);
    },
    async dispatch(argv) {
      const [sub, ...rest] = argv;
      if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
        console.log(groupHelp(name, summary, subcommands));
        return 0;
      }
      const s = subcommands.find((x) => x.name === sub);
      if (!s) {
        throw new UserError(
          `${name}: unknown subcommand '${sub}' (try: ${subcommands.map((x) => x.name).join(", ")})`,
        );
      }
      return await s.run(rest);
    },
  };
}

/**
 * `alloy`: one entry point for every subcommand, so one `deno compile cli/main.ts` gives the whole tool.
 * Each `deno task <name>` is a thin wrapper around `alloy <name>`.
 * @module
 */
import { type Command, helpText, parseFlags } from "./args.ts";
import { UserError } from "./errors.ts";
import { baselinesCommand } from "./baselines_command.ts";
import { benchCommand } from "./bench_command.ts";
import { bmgCommand } from "./bmg_command.ts";
import { dataCommand } from "./data_command.ts";
import { designCommand } from "./design_command.ts";
import { deviceCommand } from "./device_command.ts";
import { explainCommand } from "./explain_command.ts";
import { importKerasCommand } from "./import_keras_command.ts";
import { isCommandGroup } from "./command_group.ts";
import { mdCommand } from "./md_command.ts";
import { heaCommand } from "./hea_command.ts";
import { predictCommand } from "./predict_command.ts";
import { reportCommand } from "./report_command.ts";
import { trainCommand } from "./train_command.ts";

/** Every subcommand, in the order `alloy --help` lists them. */
export const COMMANDS: Command[] = [
  trainCommand,
  baselinesCommand,
  dataCommand,
  deviceCommand,
  benchCommand,
  importKerasCommand,
  predictCommand,
  explainCommand,
  designCommand,
  mdCommand,
  bmgCommand,
  heaCommand,
  reportCommand,
];

function topHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(13)} ${c.summary}`).join("\n");
  return `alloy — inverse design of alloys on WebGPU\n\nUsage: alloy <command> [flags]   (alloy <command> --help for details)\n\nCommands:\n${rows}\n`;
}

/** Runs the CLI on `argv` and returns the exit status. Errors become one `error:` line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.log(topHelp());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (!cmd) {
      throw new UserError(`unknown command '${name}' (try: ${COMMANDS.map((c) => c.name).join(", ")})`);
    }
    // A command group parses nothing itself: its subcommand gets the argv.
    if (isCommandGroup(cmd)) return await cmd.dispatch(rest);
    const { flags, positionals } = parseFlags(cmd, rest);
    if (flags.help) {
      console.log(helpText(cmd));
      return 0;
    }
    return await cmd.run(flags, positionals);
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      return 2;
    }
    // Anything else is a bug or an environment failure: still one line, with the detail behind ALLOY_DEBUG.
    const err = e as Error;
    console.error(`error: ${err?.message ?? String(e)}`);
    if (Deno.env.get("ALLOY_DEBUG")) console.error(err?.stack);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));

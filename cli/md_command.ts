/**
 * `alloy md`: molecular-dynamics validation of designed alloys, as subcommands:
 * - `md deck` — LAMMPS input decks (cli/md_deck_command.ts);
 * - `md analyze` — structure analysis of a configuration (cli/md_analyze.ts).
 *
 * `alloy md --help` lists them; `alloy md <sub> --help` shows a subcommand's flags.
 * @module
 */
import { commandGroup, flagSubcommand } from "./command_group.ts";
import { mdAnalyze, mdAnalyzeCommand } from "./md_analyze.ts";
import { mdDeckCommand } from "./md_deck_command.ts";

/** The `md` command group. */
export const mdCommand = commandGroup("md", "molecular dynamics: LAMMPS decks and structure analysis", [
  flagSubcommand("deck", mdDeckCommand),
  { name: "analyze", summary: mdAnalyzeCommand.summary, run: mdAnalyze },
]);

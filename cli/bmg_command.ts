/**
 * `alloy bmg`: metallic-glass tools (issue 10), as subcommands:
 * - `bmg train-classifier` — the glass-forming-ability classifier: grouped CV and a saved model
 *   (cli/bmg_classifier_commands.ts);
 * - `bmg classify` — P(glass) of formulas with a saved classifier;
 * - `bmg train-gan`, `bmg generate`, `bmg evaluate` — the composition GAN (cli/bmg_gan_commands.ts).
 *
 * `alloy bmg --help` lists them; `alloy bmg <sub> --help` shows a subcommand's flags.
 * @module
 */
import { commandGroup, flagSubcommand } from "./command_group.ts";
import { classifyCommand, trainClassifierCommand } from "./bmg_classifier_commands.ts";
import { BMG_GAN_SUBCOMMANDS } from "./bmg_gan_commands.ts";

/** The `bmg` command group. */
export const bmgCommand = commandGroup(
  "bmg",
  "metallic glasses: GFA classifier, composition GAN, evaluation",
  [
    flagSubcommand("train-classifier", trainClassifierCommand),
    flagSubcommand("classify", classifyCommand),
    ...BMG_GAN_SUBCOMMANDS,
  ],
);

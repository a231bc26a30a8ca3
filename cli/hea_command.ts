/**
 * `alloy hea`: the high-entropy-alloy study (semi-supervised disentangled VAE of Zeng, Khan & Post), as subcommands:
 * - `hea train` — train under the paper's split or random re-splits; the data-efficiency table (cli/hea_train_command.ts);
 * - `hea evaluate` — re-evaluate a model directory, or classify formulas (cli/hea_evaluate_command.ts);
 * - `hea screen` — high-throughput screening of enumerated compositions (cli/hea_screen_command.ts);
 * - `hea generate` — decode latent points under a chosen φ, re-checked by the classifier (cli/hea_generate_command.ts);
 * - `hea nudge` — move an alloy toward single phase through the latent space (cli/hea_nudge_command.ts);
 * - `hea explain` — kernel SHAP of the classifier, latent maps, reconstructions (cli/hea_explain_command.ts).
 * @module
 */
import { commandGroup, flagSubcommand } from "./command_group.ts";
import { heaTrainCommand } from "./hea_train_command.ts";
import { heaEvaluateCommand } from "./hea_evaluate_command.ts";
import { screen } from "./hea_screen_command.ts";
import { heaGenerateCommand } from "./hea_generate_command.ts";
import { heaNudgeCommand } from "./hea_nudge_command.ts";
import { heaExplainCommand } from "./hea_explain_command.ts";

/** The `hea` command group. */
export const heaCommand = commandGroup(
  "hea",
  "high-entropy alloys: semi-supervised disentangled VAE and design",
  [
    flagSubcommand("train", heaTrainCommand),
    flagSubcommand("evaluate", heaEvaluateCommand),
    flagSubcommand("screen", screen),
    flagSubcommand("generate", heaGenerateCommand),
    flagSubcommand("nudge", heaNudgeCommand),
    flagSubcommand("explain", heaExplainCommand),
  ],
);

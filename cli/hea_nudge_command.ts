/**
 * `alloy hea nudge`: inverse-design strategy (c). Starting from `--formula` (the paper's example is
 * Fe14Ni16Cr22Co14Al22Cu8), repeatedly encodes the alloy, inverts φ, decodes and re-classifies until q(single phase)
 * exceeds `--cutoff`, printing the trajectory as formulas (design/hea_nudging.ts), each step checked against the
 * model's applicability domain (nearest training alloy). `--json` prints one JSON object.
 * @module
 */
import { type Command, intFlag, numberFlag, stringFlag as str } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import {
  domainJson,
  formulaFractions,
  fractionsFormula,
  heaModelDomain,
  openHeaDesign,
  outsideNote,
} from "./hea_common.ts";
import { heaDescriptorsHost } from "../data/hea_descriptors.ts";
import { nudgeHea } from "../design/hea_nudging.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** The paper's example start. */
export const PAPER_NUDGE_START = "Fe14Ni16Cr22Co14Al22Cu8";

/** The `hea nudge` subcommand. */
export const heaNudgeCommand: Command = {
  name: "hea nudge",
  summary: "move an alloy toward single phase through the latent space, printing the trajectory",
  usage: "--model DIR [--formula F] [--cutoff P] [--max-steps N] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "model directory written by `alloy hea train` (required)" },
    member: { type: "string", value: "K", help: "which member (default 0)" },
    formula: { type: "string", value: "F", help: `starting alloy (default ${PAPER_NUDGE_START})` },
    cutoff: { type: "string", value: "P", help: "stop when p(single phase) exceeds P (default 0.5)" },
    "max-steps": { type: "string", value: "N", help: "at most N encode–decode steps (default 20)" },
    "min-fraction": { type: "string", value: "F", help: "drop decoded fractions below F (default 0.01)" },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    data: { type: "string", value: "DIR", help: "data folder (for the paper's element tables)" },
  },
  async run(flags: Flags) {
    const be = await openDevice(flags);
    const ctx = await openHeaDesign(flags, be);
    const els = ctx.design.elements;
    const formula = str(flags, "formula") ?? PAPER_NUDGE_START;
    const start = formulaFractions(formula, els);
    const cutoff = numberFlag(flags, "cutoff", 0.5);
    if (!(cutoff >= 0 && cutoff < 1)) {
      throw new UserError(`flag --cutoff: expected a number in [0, 1), got ${cutoff}`);
    }
    const r = await nudgeHea(ctx.design, start, {
      cutoff,
      maxSteps: intFlag(flags, "max-steps", 20, 0, 10_000),
      minFraction: numberFlag(flags, "min-fraction", 0.01),
    });
    const domain = await heaModelDomain(str(flags, "model")!, ctx.loaded, flags, 0.95, false);
    const steps = r.steps.map((s) => ({
      step: s.step,
      formula: fractionsFormula(s.fractions, els),
      p_single: s.pSingle,
      z: s.z,
      domain: domainJson(domain, domain?.domain.assess(heaDescriptorsHost(s.fractions, ctx.tables)) ?? null),
    }));
    if (flags.json) {
      console.log(JSON.stringify({
        start: formula,
        cutoff,
        reached: r.reached,
        stop: r.stop,
        trajectory: steps,
        member: ctx.member,
        model_dir: str(flags, "model"),
      }));
    } else {
      for (const s of steps) {
        console.log(
          `step ${String(s.step).padStart(2)}  ${s.formula.padEnd(36)} p(single) ${s.p_single.toFixed(3)}${
            outsideNote(s.domain)
          }`,
        );
      }
      const why = r.stop === "cutoff"
        ? `p(single) > ${cutoff}`
        : r.stop === "fixed-point"
        ? "the composition stopped changing"
        : "step budget spent";
      console.log(
        `${r.reached ? "reached" : "did not reach"} the cutoff after ${steps.length - 1} step(s) (${why})`,
      );
    }
    return 0;
  },
};

/**
 * `alloy hea generate`: inverse-design strategy (b). Decodes `--count` latent points drawn uniformly within
 * `--radius` of `--z` under the requested single-phase probability `--phi`, trims each decoded composition to an
 * alloy (fractions below `--min-fraction` dropped) and re-classifies it; generations whose classifier verdict
 * disagrees with `--phi` are flagged inconsistent, and each generation is checked against the model's applicability
 * domain (nearest training alloy; see design/descriptor_domain.ts). Prints formulas (at.%); `--out FILE` writes a
 * CSV; `--json` one JSON object.
 * @module
 */
import { type Command, intFlag, numberFlag, stringFlag as str } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import {
  domainJson,
  fractionsFormula,
  heaModelDomain,
  openHeaDesign,
  outsideNote,
  writeCsvAtomic,
} from "./hea_common.ts";
import { heaDescriptorsHost } from "../data/hea_descriptors.ts";
import { generateHea } from "../design/hea_generation.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Parses `--z 0.5,-1` (comma-separated numbers). */
export function parseLatentPoint(text: string | undefined, L: number): number[] {
  if (text === undefined) return new Array(L).fill(0);
  const v = text.split(",").map((s) => Number(s.trim()));
  if (v.length !== L || v.some((x, i) => !Number.isFinite(x) || text.split(",")[i].trim() === "")) {
    throw new UserError(`flag --z: expected ${L} comma-separated numbers (the latent size), got '${text}'`);
  }
  return v;
}

/** The `hea generate` subcommand. */
export const heaGenerateCommand: Command = {
  name: "hea generate",
  summary: "decode latent points under a chosen φ and re-check them with the classifier",
  usage: "--model DIR [--z Z1,Z2] [--radius R] [--count N] [--phi P] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "model directory written by `alloy hea train` (required)" },
    member: { type: "string", value: "K", help: "which member's latent space (default 0)" },
    z: { type: "string", value: "Z1,Z2", help: "centre of the latent region (default the origin)" },
    radius: {
      type: "string",
      value: "R",
      help: "radius of the region, points uniform in the ball (default 0)",
    },
    count: { type: "string", value: "N", help: "number of latent points (default 1; 10 with --radius)" },
    phi: { type: "string", value: "P", help: "single-phase probability given to the decoder (default 1)" },
    "min-fraction": {
      type: "string",
      value: "F",
      help: "drop decoded fractions below F (default 0.01 = 1 at.%)",
    },
    seed: { type: "string", value: "N", help: "seed of the latent draws (default 0)" },
    out: { type: "string", value: "FILE", help: "write the generations as CSV" },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    data: { type: "string", value: "DIR", help: "data folder (for the paper's element tables)" },
  },
  async run(flags: Flags) {
    const be = await openDevice(flags);
    const ctx = await openHeaDesign(flags, be);
    const els = ctx.design.elements;
    const radius = numberFlag(flags, "radius", 0);
    const gens = await generateHea(ctx.design, {
      center: parseLatentPoint(str(flags, "z"), ctx.design.latentDim),
      radius,
      count: intFlag(flags, "count", radius > 0 ? 10 : 1, 1, 1_000_000),
      phi: numberFlag(flags, "phi", 1),
      minFraction: numberFlag(flags, "min-fraction", 0.01),
      seed: intFlag(flags, "seed", 0, 0),
    });
    const domain = await heaModelDomain(str(flags, "model")!, ctx.loaded, flags, 0.95, false);
    const rows = gens.map((g) => ({
      z: g.z,
      formula: fractionsFormula(g.fractions, els),
      p_single: g.pSingle,
      inconsistent: g.inconsistent,
      domain: domainJson(domain, domain?.domain.assess(heaDescriptorsHost(g.fractions, ctx.tables)) ?? null),
    }));
    const nOut = rows.filter((r) => r.domain && !r.domain.in_domain).length;
    const nBad = rows.filter((r) => r.inconsistent).length;
    const out = str(flags, "out");
    if (out) {
      const L = ctx.design.latentDim;
      await writeCsvAtomic(
        out,
        [
          ...Array.from({ length: L }, (_, k) => `z${k + 1}`),
          "formula",
          "p_single",
          "inconsistent",
          ...(domain ? ["in_domain", "domain_distance", "nearest_training_alloy"] : []),
        ],
        rows.map((r) => [
          ...r.z,
          r.formula,
          r.p_single,
          r.inconsistent,
          ...(r.domain ? [r.domain.in_domain, r.domain.distance, r.domain.nearest_training_alloy ?? ""] : []),
        ]),
      );
    }
    if (flags.json) {
      console.log(JSON.stringify({
        generated: rows,
        inconsistent: nBad,
        outside_domain: domain ? nOut : null,
        unique_formulas: new Set(rows.map((r) => r.formula)).size,
        member: ctx.member,
        model_dir: str(flags, "model"),
      }));
    } else {
      for (const r of rows) {
        console.log(
          `z=(${r.z.map((v) => v.toFixed(2)).join(", ")})  ${r.formula.padEnd(34)} p(single) ${
            r.p_single.toFixed(3)
          }${r.inconsistent ? "  INCONSISTENT" : ""}${outsideNote(r.domain)}`,
        );
      }
      console.log(
        `${rows.length} generated, ${
          new Set(rows.map((r) => r.formula)).size
        } unique, ${nBad} inconsistent with φ${domain ? `, ${nOut} outside the training domain` : ""}`,
      );
      if (out) console.log(`wrote ${out}`);
    }
    return 0;
  },
};

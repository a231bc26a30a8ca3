/**
 * `alloy design`: inverse design with a model directory — latent MCMC (default), latent gradient optimisation or
 * the GP-BO comparator toward the highest LCB (`--maximize`) or a target hardness (`--target HV`) at one load, under
 * composition constraints; writes candidates.csv (atomically) and prints a summary table (or, with `--json`, exactly
 * one JSON object on stdout). The pipeline and its choices are documented in design/design_run.ts; evaluation and
 * the CSV columns in design/candidates.ts.
 *
 * Progress bars and warnings (extrapolation beyond the training labels or load range, an empty accepted set) go to
 * stderr; the warnings are also in the JSON (`warnings`, `extrapolation`). Every flag is checked, and the model
 * directory, constraints, judge and GP are read, before the device is opened, so bad input fails fast with one
 * `error:` line.
 * @module
 */
import { type Command, intFlag, numberFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { Progress } from "./progress.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { readModelConfig } from "../nn/models/model_dir.ts";
import { readBaselineConfig } from "../nn/baselines/baseline_dir.ts";
import {
  type CompositionConstraintOptions,
  CompositionConstraints,
  DEFAULT_PRECISION_AT_PCT,
  splitElementList,
} from "../design/composition_constraints.ts";
import { DESIGN_DEFAULTS, type DesignMethod, type DesignResult, runDesign } from "../design/design_run.ts";
import { candidatesCsv } from "../design/candidates.ts";
import type { DesignGoal } from "../design/latent_target.ts";
import { checkGfaMin, DEFAULT_GFA_MIN } from "../design/gfa_filter.ts";
import { readGfaModelConfig } from "../nn/train/gfa_classifier.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

const METHODS: readonly DesignMethod[] = ["mcmc", "gradient", "gpbo"];
/** Largest MC pass count accepted (as `alloy predict`). */
const MAX_MC = 100_000;

function r4(x: number | undefined): number | null {
  return x !== undefined && Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null;
}

/** Reads the list flags (`--elements Fe,Co --elements Ni`) into symbols, or undefined when absent. */
function listFlag(flags: Flags, name: string): string[] | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const items = splitElementList(typeof v === "string" ? v : (v as string[]));
  if (items.length === 0) throw new UserError(`flag --${name}: the list is empty`);
  return items;
}

/** The options every method shares, validated (no file or device access). */
function parseOptions(flags: Flags) {
  const modelDir = stringFlag(flags, "model");
  if (!modelDir) throw new UserError("design: missing required flag --model DIR");
  if (flags.load === undefined) throw new UserError("design: missing required flag --load L (N)");
  const load = numberFlag(flags, "load");
  if (!(load > 0)) {
    throw new UserError(`flag --load: the indentation load must be > 0 (N), got '${flags.load}'`);
  }
  const hasTarget = flags.target !== undefined, maximize = flags.maximize === true;
  if (hasTarget === maximize) {
    throw new UserError("design: give exactly one of --target HV (a hardness to reach) or --maximize");
  }
  let goal: DesignGoal = { kind: "maximize" };
  if (hasTarget) {
    const hv = numberFlag(flags, "target");
    if (!(hv > 0)) throw new UserError(`flag --target: expected a hardness > 0 (HV), got '${flags.target}'`);
    goal = { kind: "target", hv };
  }
  const method = (stringFlag(flags, "method") ?? "mcmc") as DesignMethod;
  if (!METHODS.includes(method)) {
    throw new UserError(`flag --method: expected mcmc, gradient or gpbo, got '${flags.method}'`);
  }
  const gpDir = stringFlag(flags, "gp");
  if (method === "gpbo" && !gpDir) {
    throw new UserError("flag --method gpbo needs --gp DIR (a GP baseline directory)");
  }
  if (method !== "gpbo" && gpDir) throw new UserError("flag --gp: only used with --method gpbo");
  const constraints: CompositionConstraintOptions = {
    elements: listFlag(flags, "elements"),
    exclude: listFlag(flags, "exclude"),
    minFraction: numberFlag(flags, "min-fraction", DESIGN_DEFAULTS.minFraction),
    precision: numberFlag(flags, "precision", DEFAULT_PRECISION_AT_PCT),
  };
  if (flags["max-elements"] !== undefined) constraints.maxElements = intFlag(flags, "max-elements", 0, 1);
  if (flags["gfa-min"] !== undefined && flags["gfa-model"] === undefined) {
    throw new UserError("flag --gfa-min: only used with --gfa-model DIR");
  }
  const D = DESIGN_DEFAULTS;
  return {
    modelDir,
    dataPath: stringFlag(flags, "data"),
    load,
    goal,
    method,
    gpDir,
    judgeDir: stringFlag(flags, "judge"),
    gfaModelDir: stringFlag(flags, "gfa-model"),
    gfaMin: flags["gfa-min"] === undefined ? undefined : checkGfaMin(numberFlag(flags, "gfa-min")),
    constraints,
    n: intFlag(flags, "n", D.n, 1),
    chains: intFlag(flags, "chains", D.chains, 1),
    steps: flags.steps === undefined ? undefined : intFlag(flags, "steps", 0, 2),
    mc: intFlag(flags, "mc", D.mc, 2, MAX_MC),
    evalMc: intFlag(flags, "eval-mc", D.evalMc, 2, MAX_MC),
    calibrationMc: intFlag(flags, "calibration-mc", D.calibrationMc, 2, MAX_MC),
    seed: intFlag(flags, "seed", D.seed, 0, 0xffffffff),
    k: flags.k === undefined ? undefined : intFlag(flags, "k", 1, 1, 64),
    kMax: intFlag(flags, "k-max", D.kMax, 1, 64),
    tau: (() => {
      const t = numberFlag(flags, "tau", D.tau);
      if (!(t >= 0)) throw new UserError(`flag --tau: expected a number ≥ 0, got '${flags.tau}'`);
      return t;
    })(),
    jump: (() => {
      const j = numberFlag(flags, "jump", D.jump);
      if (!(j >= 0 && j < 1)) {
        throw new UserError(`flag --jump: expected a probability in [0, 1), got '${flags.jump}'`);
      }
      return j;
    })(),
    out: stringFlag(flags, "out") ?? "candidates.csv",
    json: flags.json === true,
    quiet: flags.quiet === true,
  };
}

/** The `--json` object (see the module doc of design/design_run.ts for the fields' meaning). */
export function designJson(r: DesignResult, out: string): Record<string, unknown> {
  const p = r.params, ev = r.evaluation, c = ev.counts;
  const judge = p.judge !== null;
  return {
    model: p.model,
    method: p.method,
    load: p.load,
    goal: p.goal.kind === "maximize" ? { maximize: true } : { target: p.goal.hv },
    out,
    params: {
      n: p.n,
      chains: p.chains,
      steps: p.steps,
      burn_in: p.burnIn,
      thin: p.thin,
      mc: p.mc,
      eval_mc: p.evalMc,
      calibration_mc: p.calibrationMc,
      seed: p.seed,
      tau: p.tau,
      jump: p.jump,
      allowed_elements: p.constraints.allowed,
      max_elements: p.constraints.maxElements,
      min_fraction: p.constraints.minFraction,
      precision: p.constraints.precision,
      judge: p.judge,
      gfa_model: p.gfa?.model ?? null,
      gfa_min: p.gfa?.min ?? null,
    },
    members: r.members,
    latent_dim: r.latentDim,
    data: {
      file: r.data.file,
      rows: r.data.rows,
      train_rows: r.data.trainRows,
      distinct_compositions: r.data.distinctCompositions,
      row_source: r.data.rowSource,
    },
    prior: {
      k: r.prior.k,
      bic: r.prior.bic?.map((s) => ({ k: s.k, bic: r4(s.bic) })) ?? null,
      log_density_threshold: r4(r.prior.threshold),
      weights: r.prior.weights,
    },
    calibration: {
      sigma_ref: r4(r.calibration.sigmaRef),
      sigma_max: r4(2.5 * r.calibration.sigmaRef),
      novelty_threshold: r4(r.calibration.noveltyThreshold),
      max_training_label: r4(r.calibration.maxTrainingLabel),
      lcb_z: r.calibration.lcbZ,
    },
    search: r.mcmc
      ? {
        acceptance: r4(r.mcmc.acceptance),
        burn_in_acceptance: r4(r.mcmc.burnInAcceptance),
        steps_run: r.mcmc.stepsRun,
        target_calls: r.mcmc.targetCalls,
        kept: r.mcmc.kept,
        jumps_proposed: r.mcmc.jumps.proposed,
        jumps_accepted: r.mcmc.jumps.accepted,
        seconds: r4(r.mcmc.seconds),
      }
      : r.gradient
      ? {
        initial_loss: r4(mean(r.gradient.initialLoss)),
        final_loss: r4(mean(r.gradient.finalLoss)),
        steps: r.gradient.steps,
        converged: r.gradient.converged,
        seconds: r4(r.gradient.seconds),
      }
      : {
        iterations: r.gpbo!.iterations,
        proposals: r.gpbo!.proposals,
        seconds: r4(r.gpbo!.seconds),
      },
    counts: {
      generated: c.generated,
      unique: c.unique,
      ...(c.gfa ? { gfa_kept: c.gfa.kept } : {}),
      evaluated: c.evaluated,
      gates: {
        log_prior: c.gates.logPrior,
        novelty: c.gates.novelty,
        sigma: c.gates.sigma,
        accepted: c.gates.accepted,
        total: c.gates.total,
      },
      selected: c.selected,
      selected_accepted: c.selectedAccepted,
    },
    fallback: ev.fallback,
    min_separation: r4(ev.minSep),
    interval: ev.interval,
    extrapolation: {
      max_training_label: r4(r.extrapolation.maxTrainingLabel),
      target_above_max_label: r4(r.extrapolation.targetAboveMaxLabel ?? undefined),
      best_mean_above_max_label: r4(r.extrapolation.bestMeanAboveMaxLabel ?? undefined),
      load_outside_range: r.extrapolation.loadOutsideRange,
      load_range: r.extrapolation.loadRange,
    },
    warnings: r.warnings,
    candidates: ev.candidates.map((k) => {
      const comp: Record<string, number> = {};
      k.comp.forEach((v, i) => v > 0 && (comp[r.elements[i]] = +v.toFixed(10)));
      const row: Record<string, unknown> = {
        formula: k.formula,
        composition: comp,
        load: p.load,
        hv_mean: r4(k.hvMean),
        hv_std: r4(k.hvStd),
        hv_lcb: r4(k.hvLcb),
        hv_lo: r4(k.hvLo),
        hv_hi: r4(k.hvHi),
        log_prior: r4(k.logPrior),
        novelty: r4(k.novelty),
        accepted: k.accepted,
        gates: { log_prior: k.gates.logPrior, novelty: k.gates.novelty, sigma: k.gates.sigma },
      };
      if (judge) {
        row.judge_hv_mean = r4(k.judgeMean);
        row.judge_hv_std = r4(k.judgeStd);
      }
      if (p.gfa) row.p_glass = r4(k.pGlass);
      return row;
    }),
    seconds: r4(r.seconds),
  };
}

function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** The human-readable summary: run line, prior/search/gate counts, and the candidate table. */
export function designSummary(r: DesignResult, out: string): string {
  const p = r.params, ev = r.evaluation, c = ev.counts;
  const goal = p.goal.kind === "maximize" ? "maximise the LCB" : `LCB toward ${p.goal.hv} HV`;
  const lines = [
    `design: ${p.method}, ${goal} at ${p.load} N — model ${p.model} (${r.members} member${
      r.members > 1 ? "s" : ""
    }, latent ${r.latentDim})`,
    `prior: K = ${r.prior.k}${r.prior.bic ? " (BIC)" : ""}, log-density threshold ${
      r.prior.threshold.toFixed(2)
    }; ` +
    `σ_ref ${r.calibration.sigmaRef.toFixed(1)} HV; novelty threshold ${
      r.calibration.noveltyThreshold.toFixed(4)
    }`,
  ];
  if (r.mcmc) {
    lines.push(
      `sampler: ${p.chains} chains × ${r.mcmc.stepsRun} steps, acceptance ${r.mcmc.acceptance.toFixed(2)} ` +
        `(burn-in ${
          r.mcmc.burnInAcceptance.toFixed(2)
        }), jumps ${r.mcmc.jumps.accepted}/${r.mcmc.jumps.proposed} ` +
        `accepted, ${r.mcmc.seconds.toFixed(1)} s`,
    );
  } else if (r.gradient) {
    lines.push(
      `gradient: ${p.chains} starts, ${r.gradient.steps} steps, loss ${
        mean(r.gradient.initialLoss).toFixed(3)
      } → ` +
        `${mean(r.gradient.finalLoss).toFixed(3)}, ${r.gradient.converged} converged, ${
          r.gradient.seconds.toFixed(1)
        } s`,
    );
  } else if (r.gpbo) {
    lines.push(
      `gp-bo: ${r.gpbo.iterations} rounds, ${r.gpbo.proposals} proposals, ${r.gpbo.seconds.toFixed(1)} s`,
    );
  }
  if (c.gfa) {
    lines.push(
      `gfa filter: ${c.gfa.kept} of ${c.gfa.scored} unique candidates have P(glass) ≥ ${c.gfa.min} ` +
        `(classifier ${p.gfa!.model})`,
    );
  }
  lines.push(
    `candidates: ${c.generated} generated, ${c.unique} unique, ${c.evaluated} evaluated; gates passed: prior ` +
      `${c.gates.logPrior}, novelty ${c.gates.novelty}, σ ${c.gates.sigma} → accepted ${c.gates.accepted}; ` +
      `selected ${c.selected} (${c.selectedAccepted} accepted)`,
    "",
  );
  const judge = p.judge !== null;
  const header = [
    "#",
    "formula",
    "μ",
    "σ",
    "LCB",
    "novelty",
    "gates",
    ...(judge ? ["judge μ", "judge σ"] : []),
    ...(p.gfa ? ["P(glass)"] : []),
  ];
  const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(1));
  const rows = ev.candidates.map((k, i) => [
    String(i + 1),
    k.formula,
    f1(k.hvMean),
    f1(k.hvStd),
    f1(k.hvLcb),
    k.novelty.toFixed(4),
    `${k.gates.logPrior ? "P" : "·"}${k.gates.novelty ? "N" : "·"}${k.gates.sigma ? "S" : "·"} ${
      k.accepted ? "yes" : "no"
    }`,
    ...(judge ? [f1(k.judgeMean), f1(k.judgeStd)] : []),
    ...(p.gfa ? [k.pGlass === undefined ? "-" : k.pGlass.toFixed(3)] : []),
  ]);
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r.map((x, j) => (j === 1 || j === 6 ? x.padEnd(widths[j]) : x.padStart(widths[j]))).join("  ").trimEnd();
  lines.push(line(header), ...rows.map(line));
  lines.push(
    "gates: P = prior density, N = novelty, S = σ cap",
    `wrote ${out} (${ev.candidates.length} rows)`,
  );
  return lines.join("\n");
}

/** `alloy design`. */
export const designCommand: Command = {
  name: "design",
  summary: "inverse design: candidate compositions toward a target or maximal hardness at one load",
  usage: "--model DIR --load L (--target HV | --maximize) [--method mcmc|gradient|gpbo] [--n 20] " +
    "[--elements …] [--exclude …] [--max-elements N] [--min-fraction F] [--gfa-model DIR [--gfa-min P]] [--seed S] " +
    "[--out candidates.csv] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "model directory (from train or import-keras)" },
    data: {
      type: "string",
      value: "PATH",
      help: "hardness CSV the model was trained on (default: ALLOY_DATA_DIR, cache or download)",
    },
    load: { type: "string", value: "L", help: "design indentation load in N" },
    target: { type: "string", value: "HV", help: "bring the LCB (μ − 1.645σ) close to this hardness" },
    maximize: { type: "boolean", help: "maximise the LCB (μ − 1.645σ)" },
    method: { type: "string", value: "mcmc|gradient|gpbo", default: "mcmc", help: "design method" },
    gp: { type: "string", value: "DIR", help: "with --method gpbo: Gaussian-process baseline directory" },
    n: { type: "string", value: "N", default: String(DESIGN_DEFAULTS.n), help: "candidates to select" },
    elements: {
      type: "string",
      value: "LIST",
      multiple: true,
      help: "only these elements may appear (comma-separated or repeated)",
    },
    exclude: { type: "string", value: "LIST", multiple: true, help: "these elements must not appear" },
    "max-elements": { type: "string", value: "N", help: "at most N elements per candidate" },
    "min-fraction": {
      type: "string",
      value: "F",
      default: String(DESIGN_DEFAULTS.minFraction),
      help: "every present element has at least this atomic fraction (0.005 = 0.5 at.%; 0 = off)",
    },
    precision: {
      type: "string",
      value: "P",
      default: String(DEFAULT_PRECISION_AT_PCT),
      help: "at.% rounding step of exported compositions (divides 100)",
    },
    chains: {
      type: "string",
      value: "C",
      default: String(DESIGN_DEFAULTS.chains),
      help: "MCMC chains / gradient starts",
    },
    steps: {
      type: "string",
      value: "T",
      help:
        `MCMC steps (default ${DESIGN_DEFAULTS.mcmcSteps}), gradient step limit (${DESIGN_DEFAULTS.gradientSteps}), ` +
        "or GP-BO rounds (200)",
    },
    mc: {
      type: "string",
      value: "S",
      default: String(DESIGN_DEFAULTS.mc),
      help: "MC-dropout passes per evaluation inside the search",
    },
    "eval-mc": {
      type: "string",
      value: "S",
      default: String(DESIGN_DEFAULTS.evalMc),
      help: "MC-dropout passes of the candidate evaluation and export",
    },
    "calibration-mc": {
      type: "string",
      value: "S",
      default: String(DESIGN_DEFAULTS.calibrationMc),
      help: "MC-dropout passes over the training rows (σ_ref)",
    },
    seed: {
      type: "string",
      value: "S",
      default: String(DESIGN_DEFAULTS.seed),
      help: "seed of every random draw (predict --seed S reproduces the exported numbers)",
    },
    k: { type: "string", value: "K", help: "latent prior: fixed number of Gaussian components" },
    "k-max": {
      type: "string",
      value: "K",
      default: String(DESIGN_DEFAULTS.kMax),
      help: "latent prior: choose K by BIC within 1..K",
    },
    tau: {
      type: "string",
      value: "T",
      default: String(DESIGN_DEFAULTS.tau),
      help: "utility weight: one σ_ref of LCB is worth T nats of log prior",
    },
    jump: {
      type: "string",
      value: "P",
      default: String(DESIGN_DEFAULTS.jump),
      help: "mcmc: per-step probability of a jump drawn from the latent prior (moves between alloy families)",
    },
    judge: {
      type: "string",
      value: "DIR",
      help: "baseline model directory whose prediction is reported beside ours",
    },
    "gfa-model": {
      type: "string",
      value: "DIR",
      help: "GFA classifier directory (bmg train-classifier --out): keep only glass-forming candidates",
    },
    "gfa-min": {
      type: "string",
      value: "P",
      help: `with --gfa-model: smallest P(glass) kept (default ${DEFAULT_GFA_MIN}); reported as p_glass`,
    },
    out: {
      type: "string",
      value: "CSV",
      default: "candidates.csv",
      help: "candidates file (written atomically)",
    },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    quiet: { type: "boolean", short: "q", help: "no progress bar" },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    if (positionals.length > 0) throw new UserError(`design: unexpected argument '${positionals[0]}'`);
    const o = parseOptions(flags);
    // Files and constraints before the device.
    const cfg = await readModelConfig(o.modelDir);
    new CompositionConstraints(cfg.elements, o.constraints);
    if (o.gpDir) await readBaselineConfig(o.gpDir);
    if (o.judgeDir) await readBaselineConfig(o.judgeDir);
    if (o.gfaModelDir !== undefined) await readGfaModelConfig(o.gfaModelDir);

    const be = await openDevice(flags);
    let bar: Progress | null = null, stage = "";
    const result = await runDesign({
      ...o,
      backend: be,
      notice: (line) => !o.quiet && console.error(`notice: ${line}`),
      onProgress: (s, done, total, status) => {
        if (o.quiet) return;
        if (s !== stage) {
          bar?.done();
          bar = new Progress(s, total);
          stage = s;
        }
        bar!.update(done, status);
      },
    });
    (bar as Progress | null)?.done();
    await writeFileAtomic(
      o.out,
      candidatesCsv(result.evaluation.candidates, {
        constraints: result.constraints,
        load: o.load,
        method: o.method,
        judge: result.params.judge !== null,
        gfa: result.params.gfa !== null,
      }),
    );
    for (const w of result.warnings) console.error(`warning: ${w}`);
    if (o.json) console.log(JSON.stringify(designJson(result, o.out)));
    else console.log(designSummary(result, o.out));
    return 0;
  },
};

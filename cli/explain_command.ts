/**
 * `alloy explain`: why a model predicts the hardness it does for one alloy at one load — integrated gradients and
 * Kernel SHAP over the features [element fractions…, load], printed as a table (or one JSON object with `--json`).
 *
 * - IG baseline: `--baseline mean` (default) = the mean training composition at the mean training load (the
 *   training rows of the model's splits.json, else every dataset row); `--baseline FORMULA` = that alloy, at the
 *   explained load unless `--baseline-load` says otherwise (so only the composition differs). `--steps` path
 *   intervals, all evaluated as one batched forward and backward; the completeness gap Σ IG − (f(x) − f(x₀)) is
 *   reported, with a warning when it exceeds 5 % (an attention model without the fraction bias, or one whose
 *   token slots truncate the baseline's elements, jumps on the path, so its IG is approximate unless the baseline
 *   alloy has the same elements as the explained one).
 * - SHAP: model-agnostic Kernel SHAP against `--background N` seeded training rows (values sum to f(x) − E f).
 * - Attributions are in HV. Works with both architectures and with imported (published) models.
 * @module
 */
import { type Command, intFlag, numberFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { Progress } from "./progress.ts";
import { formatFormula, formulaToVector } from "../data/formula.ts";
import { loadModelDir, memberScalers, readModelConfig } from "../nn/models/model_dir.ts";
import { vibannExplainable } from "../explain/explainable_model.ts";
import { meanTrainingInput } from "../explain/integrated_gradients.ts";
import { type AlloyExplanation, explainAlloy } from "../explain/explain_alloy.ts";
import { backgroundSample, loadTrainingRows } from "../explain/training_rows.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Relative completeness gap above which a warning is printed. */
const GAP_WARNING = 0.05;
/** Elements outside the alloy listed individually when their attribution reaches this share of the largest. */
const OTHER_SHARE = 0.02;
/** Most such elements listed before the rest are summed into one line. */
const OTHER_ROWS = 6;

/** What the IG baseline is. */
interface BaselineChoice {
  kind: "mean" | "formula";
  /** The formula (as given) for `formula`; a canonical one of the mean composition for `mean`. */
  formula: string;
  /** E + 1 values. */
  x: Float64Array;
  /** Where a mean baseline came from. */
  source?: string;
}

function round(x: number, decimals: number): number | null {
  if (!Number.isFinite(x)) return null;
  const s = 10 ** decimals;
  return Math.round(x * s) / s;
}

function signed(x: number, decimals = 2): string {
  const t = x.toFixed(decimals);
  return x >= 0 && !t.startsWith("-") ? `+${t}` : t;
}

/** Elements of a mean-baseline formula printed in the text report before the rest is counted. */
const BASELINE_ELEMENTS = 6;

/** A canonical formula of a composition vector (0.01 at.%), "(empty)" when it has no positive entry. */
function formulaOf(elements: readonly string[], comp: ArrayLike<number>): string {
  const pairs: [string, number][] = [];
  for (let j = 0; j < elements.length; j++) if (comp[j] > 0) pairs.push([elements[j], comp[j]]);
  return pairs.length ? formatFormula(pairs, { precision: 2 }) : "(empty)";
}

/** The first {@link BASELINE_ELEMENTS} elements of a canonical formula and how many more there are. */
function shortFormula(formula: string): string {
  const parts = formula.match(/[A-Z][a-z]?[0-9.]+/g) ?? [formula];
  if (parts.length <= BASELINE_ELEMENTS) return formula;
  return `${parts.slice(0, BASELINE_ELEMENTS).join("")}… + ${parts.length - BASELINE_ELEMENTS} more elements`;
}

function parseFormulaFlag(flag: string, text: string, elements: readonly string[]): Float64Array {
  try {
    return formulaToVector(text.trim(), elements);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`flag --${flag}: ${e.message}`);
    throw e;
  }
}

/** Per-feature rows of the explanation: every element that is in the alloy or the baseline or has an attribution. */
function featureRows(r: AlloyExplanation) {
  const E = r.features.length - 1;
  const rows = [];
  for (let j = 0; j <= E; j++) {
    const ig = r.ig.attributions[j], shap = r.shap.values[j];
    if (j < E && !(r.x[j] > 0 || r.baseline[j] > 0 || ig !== 0 || shap !== 0)) continue;
    rows.push({ j, feature: r.features[j], value: r.x[j], baseline: r.baseline[j], ig, shap });
  }
  return rows;
}

/** The human-readable table and summary lines. */
function textReport(r: AlloyExplanation, formula: string, base: BaselineChoice, header: string): string {
  const E = r.features.length - 1;
  const all = featureRows(r);
  const inAlloy = all.filter((f) => f.j < E && f.value > 0).sort((a, b) => b.value - a.value || a.j - b.j);
  const big = Math.max(1e-12, ...all.map((f) => Math.max(Math.abs(f.ig), Math.abs(f.shap))));
  const others = all.filter((f) => f.j < E && !(f.value > 0))
    .sort((a, b) => Math.max(Math.abs(b.ig), Math.abs(b.shap)) - Math.max(Math.abs(a.ig), Math.abs(a.shap)));
  const shown = others.filter((f) => Math.max(Math.abs(f.ig), Math.abs(f.shap)) >= OTHER_SHARE * big)
    .slice(0, OTHER_ROWS);
  const rest = others.slice(shown.length);
  const load = all[all.length - 1];

  const table: string[][] = [["feature", "alloy", "baseline", "IG (HV)", "SHAP (HV)"]];
  const frac = (v: number) => v.toFixed(4);
  for (const f of [...inAlloy, ...shown]) {
    table.push([f.feature, frac(f.value), frac(f.baseline), signed(f.ig), signed(f.shap)]);
  }
  if (rest.length) {
    const s = (k: "value" | "baseline" | "ig" | "shap") => rest.reduce((a, f) => a + f[k], 0);
    table.push([
      `${rest.length} other element${rest.length === 1 ? "" : "s"}`,
      frac(s("value")),
      frac(s("baseline")),
      signed(s("ig")),
      signed(s("shap")),
    ]);
  }
  table.push([
    "load (N)",
    String(round(load.value, 4)),
    String(round(load.baseline, 4)),
    signed(load.ig),
    signed(load.shap),
  ]);
  const igSum = r.ig.attributions.reduce((a, b) => a + b, 0),
    shapSum = r.shap.values.reduce((a, b) => a + b, 0);
  table.push(["sum", "", "", signed(igSum), signed(shapSum)]);
  const widths = table[0].map((_, k) => Math.max(...table.map((row) => row[k].length)));
  const line = (row: string[]) =>
    row.map((c, k) => (k === 0 ? c.padEnd(widths[k]) : c.padStart(widths[k]))).join("  ").trimEnd();
  const rule = "-".repeat(widths.reduce((a, b) => a + b + 2, -2));
  const lines = [line(table[0]), rule, ...table.slice(1, -1).map(line), rule, line(table[table.length - 1])];

  const dIg = r.ig.fx - r.ig.fBaseline;
  const rel = Math.abs(r.ig.completenessGap) / Math.max(Math.abs(dIg), 1e-12);
  const baseText = base.kind === "mean"
    ? `mean of ${base.source} (${shortFormula(base.formula)}, load ${round(base.x[E], 4)} N)`
    : `${base.formula} at load ${round(base.x[E], 4)} N`;
  return [
    header,
    `${formula} at ${round(r.x[E], 4)} N: ${r.ig.fx.toFixed(2)} HV`,
    "",
    ...lines,
    "",
    `IG:   f(x) − f(baseline) = ${r.ig.fx.toFixed(2)} − ${r.ig.fBaseline.toFixed(2)} = ${signed(dIg)} HV; ` +
    `completeness gap ${signed(r.ig.completenessGap, 3)} HV (${
      (100 * rel).toFixed(2)
    } %), ${r.ig.steps} steps`,
    `      baseline: ${baseText}`,
    `SHAP: f(x) − E f(background) = ${r.shap.fx.toFixed(2)} − ${r.shap.base.toFixed(2)} = ${
      signed(r.shap.fx - r.shap.base)
    } HV; ${r.backgroundRows} background rows, ${r.shap.coalitions} coalitions (${
      r.shap.exact ? "all, exact" : "sampled"
    }) over ${r.shap.varying} varying features, ${r.shap.modelRows} distinct model rows`,
  ].join("\n");
}

/** The `--json` object. */
function jsonReport(
  r: AlloyExplanation,
  o: { dir: string; arch: string; members: number; formula: string; base: BaselineChoice; seed: number },
) {
  const E = r.features.length - 1;
  const dIg = r.ig.fx - r.ig.fBaseline;
  return {
    model: o.dir,
    arch: o.arch,
    members: o.members,
    formula: o.formula,
    load: r.x[E],
    hv: round(r.ig.fx, 4),
    baseline: {
      kind: o.base.kind,
      formula: o.base.formula,
      load: round(r.baseline[E], 6),
      hv: round(r.ig.fBaseline, 4),
      ...(o.base.source ? { source: o.base.source } : {}),
    },
    ig: {
      steps: r.ig.steps,
      rule: r.ig.rule,
      delta: round(dIg, 6),
      sum: round(r.ig.attributions.reduce((a, b) => a + b, 0), 6),
      completeness_gap: round(r.ig.completenessGap, 6),
      relative_gap: round(Math.abs(r.ig.completenessGap) / Math.max(Math.abs(dIg), 1e-12), 6),
    },
    shap: {
      background: r.backgroundRows,
      coalitions: r.shap.coalitions,
      exact: r.shap.exact,
      varying: r.shap.varying,
      model_rows: r.shap.modelRows,
      seed: o.seed,
      base: round(r.shap.base, 4),
      sum: round(r.shap.values.reduce((a, b) => a + b, 0), 6),
    },
    features: featureRows(r).map((f) => ({
      feature: f.feature,
      [f.j < E ? "fraction" : "value"]: round(f.value, 6),
      baseline: round(f.baseline, 6),
      ig: round(f.ig, 6),
      shap: round(f.shap, 6),
    })),
  };
}

/** `alloy explain`. */
export const explainCommand: Command = {
  name: "explain",
  summary: "explain one prediction: integrated gradients and SHAP per element and load (HV)",
  usage:
    "--model DIR --formula F --load L [--baseline mean|FORMULA] [--steps N] [--background N] [--samples N] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "model directory (from train or import-keras)" },
    formula: { type: "string", value: "F", help: "alloy formula, e.g. Zr65Cu17.5Ni10Al7.5" },
    load: { type: "string", value: "L", help: "indentation load in N" },
    baseline: {
      type: "string",
      value: "mean|FORMULA",
      help: "IG baseline: mean training composition and load, or an alloy (at the explained load)",
      default: "mean",
    },
    "baseline-load": {
      type: "string",
      value: "L",
      help: "load of the IG baseline in N (default: mean training load, or --load for a formula baseline)",
    },
    steps: {
      type: "string",
      value: "N",
      help: "IG path intervals, one batched forward/backward",
      default: "200",
    },
    background: {
      type: "string",
      value: "N",
      help: "SHAP background: N training rows drawn with --seed",
      default: "25",
    },
    samples: {
      type: "string",
      value: "N",
      help: "SHAP coalitions (default 2M + 2048 for M varying features; all when fewer exist)",
    },
    seed: {
      type: "string",
      value: "N",
      help: "seed of the background draw and coalition sampling",
      default: "0",
    },
    data: {
      type: "string",
      value: "PATH",
      help: "hardness CSV (or its folder) for the training rows; default ALLOY_DATA_DIR, cache",
    },
    json: { type: "boolean", help: "print one JSON object on stdout" },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    if (positionals.length > 0) throw new UserError(`explain: unexpected argument '${positionals[0]}'`);
    const dir = stringFlag(flags, "model");
    if (!dir) throw new UserError("explain: missing required flag --model DIR");
    const formula = stringFlag(flags, "formula")?.trim();
    if (!formula) throw new UserError("explain: missing required flag --formula F");
    if (flags.load === undefined) throw new UserError("explain: missing required flag --load L");
    const load = numberFlag(flags, "load");
    if (!(load > 0)) {
      throw new UserError(`flag --load: the indentation load must be > 0 (N), got '${flags.load}'`);
    }
    const steps = intFlag(flags, "steps", 200, 1, 100_000);
    const nBackground = intFlag(flags, "background", 25, 1, 10_000);
    const samples = flags.samples === undefined ? undefined : intFlag(flags, "samples", 0, 1, 1_000_000);
    const seed = intFlag(flags, "seed", 0, 0, 0xffffffff);
    const baselineText = (stringFlag(flags, "baseline") ?? "mean").trim();
    const baselineLoad = flags["baseline-load"] === undefined
      ? undefined
      : numberFlag(flags, "baseline-load");
    if (baselineLoad !== undefined && !(baselineLoad > 0)) {
      throw new UserError(`flag --baseline-load: the load must be > 0 (N), got '${flags["baseline-load"]}'`);
    }
    const json = flags.json === true;

    // Everything the user typed is checked before the data and the device are touched.
    const config = await readModelConfig(dir);
    const elements = config.elements, E = elements.length;
    const comp = parseFormulaFlag("formula", formula, elements);
    const baseComp = baselineText === "mean" ? null : parseFormulaFlag("baseline", baselineText, elements);
    const [lo, hi] = config.load_range;
    if (load < lo || load > hi) {
      console.error(
        `warning: load ${load} N is outside the model's training range [${lo}, ${hi}] N (extrapolation)`,
      );
    }

    const train = await loadTrainingRows(dir, elements, { dataPath: stringFlag(flags, "data") });
    for (const n of train.notices) console.error(`notice: ${n}`);
    let base: BaselineChoice;
    if (baseComp === null) {
      const x = meanTrainingInput(train.comp, train.load, E);
      if (baselineLoad !== undefined) x[E] = baselineLoad;
      base = { kind: "mean", formula: formulaOf(elements, x), x, source: train.source };
    } else {
      const x = new Float64Array(E + 1);
      x.set(baseComp);
      x[E] = baselineLoad ?? load;
      base = { kind: "formula", formula: baselineText, x };
    }
    const background = backgroundSample(train.comp, train.load, nBackground, seed);

    const be = await openDevice(flags);
    const { model } = await loadModelDir(dir, be, { seed });
    let r: AlloyExplanation;
    const bar = new Progress("explain: SHAP", 0);
    try {
      const em = vibannExplainable(model, memberScalers(config), { elements });
      r = await explainAlloy(em, [...comp, load], base.x, background, {
        steps,
        samples,
        seed,
        onShapProgress: (done, total) => {
          bar.total = total;
          bar.update(done, "model rows");
        },
      });
    } finally {
      bar.done();
      model.dispose();
    }
    const dIg = r.ig.fx - r.ig.fBaseline;
    if (
      Math.abs(r.ig.completenessGap) > GAP_WARNING * Math.abs(dIg) && Math.abs(r.ig.completenessGap) > 0.01
    ) {
      console.error(
        `warning: the IG attributions miss f(x) − f(baseline) = ${dIg.toFixed(2)} HV by ${
          r.ig.completenessGap.toFixed(2)
        } HV (more than ${100 * GAP_WARNING} %): try more --steps${
          config.arch === "attention"
            ? "; an attention model jumps where its token slots truncate an alloy's elements (and, without the " +
              "fraction bias, where a fraction reaches 0), so IG is approximate unless the baseline has the same " +
              "elements (--baseline FORMULA)"
            : ""
        }`,
      );
    }
    if (json) {
      console.log(JSON.stringify(jsonReport(r, {
        dir,
        arch: config.arch,
        members: config.members,
        formula,
        base,
        seed,
      })));
    } else {
      const header = `model ${dir} (${config.arch}, ${config.members} member${
        config.members === 1 ? "" : "s"
      })`;
      console.log(textReport(r, formula, base, header));
    }
    return 0;
  },
};

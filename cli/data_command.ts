/**
 * `alloy data`: inspect the hardness dataset (summary, weights, splits), parse chemical formulas, and validate any
 * composition table. Errors are {@link UserError}s (one `error:` line, exit status 2); notices go to stderr, so with
 * `--json` stdout holds exactly one JSON object.
 * @module
 */
import { type Command, numberFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { type CompositionTable, elementsPresent, loadCompositionTable } from "../data/composition_table.ts";
import { DATA_DIR_ENV } from "../data/dataset.ts";
import { formatFormula, parseFormula } from "../data/formula.ts";
import { type HardnessDataset, loadHardnessDataset } from "../data/hardness.ts";
import { dirname, join } from "../data/paths.ts";
import { referenceSplit } from "../data/reference_split.ts";
import { loadSplitFile, splitsRecord, writeSplitsJson } from "../data/split_file.ts";
import { familyWeights, type WeightMode } from "../data/weights.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

const MODES = ["summary", "formula", "split", "weights", "table"] as const;

function list(flags: Flags, name: string): string[] {
  const v = flags[name];
  const items = Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
  return items.flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) => s !== "");
}

function seedFlag(flags: Flags): number {
  const s = numberFlag(flags, "seed", 1);
  if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) {
    throw new UserError(`flag --seed: expected a whole number from 0 to 4294967295, got '${flags.seed}'`);
  }
  return s;
}

function choice<T extends string>(flags: Flags, name: string, allowed: readonly T[], fallback: T): T {
  const v = stringFlag(flags, name) ?? fallback;
  if (!allowed.includes(v as T)) {
    throw new UserError(`flag --${name}: expected ${allowed.join(" or ")}, got '${v}'`);
  }
  return v as T;
}

function printNotices(notices: string[]) {
  for (const n of notices) console.error(`notice: ${n}`);
}

const round = (x: number, d = 4) => Number(x.toFixed(d));

function mean(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  return s / v.length;
}

/** Summary of the hardness dataset (the `--summary --json` contract). */
export function hardnessSummary(ds: HardnessDataset) {
  const hv = ds.properties.HV, load = ds.properties.Load;
  const m = mean(hv);
  let v = 0, lo = Infinity, hi = -Infinity;
  for (const x of hv) v += (x - m) ** 2, lo = Math.min(lo, x), hi = Math.max(hi, x);
  const loads = [...new Set(Array.from(load, (x) => Number(x.toPrecision(6))))].sort((a, b) => a - b);
  return {
    rows: ds.nRows,
    element_columns: ds.elementColumns,
    elements_present: elementsPresent(ds),
    families: new Set(ds.families).size,
    loads,
    hv: { min: lo, max: hi, mean: round(m), std: round(Math.sqrt(v / hv.length)) },
    file: ds.file,
    sha256: ds.sha256,
  };
}

async function hardness(flags: Flags): Promise<HardnessDataset> {
  const ds = await loadHardnessDataset({ dataPath: stringFlag(flags, "data") });
  printNotices(ds.notices);
  return ds;
}

async function splitFilePath(flags: Flags, ds: HardnessDataset): Promise<string> {
  const given = stringFlag(flags, "splits-file");
  if (given) return given;
  const path = join(dirname(ds.file), "splits", "hardness_splits.json");
  try {
    await Deno.stat(path);
  } catch {
    throw new UserError(`no split file at ${path}; pass --splits-file PATH (a hardness_splits.json)`);
  }
  return path;
}

async function runSplit(flags: Flags, ds: HardnessDataset, json: boolean): Promise<number> {
  const method = choice(flags, "split", ["reference", "holdout", "kfold5"] as const, "reference");
  const seed = seedFlag(flags);
  let out: Record<string, unknown>;
  let record;
  const base = { dataFile: ds.file, dataSha256: ds.sha256, nRows: ds.nRows };
  if (method === "reference") {
    const s = referenceSplit(ds, ds.families, { seed });
    const strata = new Set(s.strata);
    out = {
      method,
      seed,
      train: s.train.length,
      calibration: s.calibration.length,
      test: s.test.length,
      strata: strata.size,
      rare_rows: s.strata.filter((x) => x === "RARE").length,
    };
    record = splitsRecord({
      ...base,
      method,
      seed,
      params: { test_size: 0.2, cal_size: 0.2, n_clusters: 4, n_init: 10, min_stratum: 5 },
      sets: { train: s.train, calibration: s.calibration, test: s.test },
    });
  } else {
    const path = await splitFilePath(flags, ds);
    const fixed = await loadSplitFile(path, { nRows: ds.nRows, sha256: ds.sha256, file: ds.file });
    if (method === "holdout") {
      const h = fixed.holdout;
      out = {
        method,
        file: path,
        train: h.train.length,
        test: h.test.length,
        early_stopping_val: h.earlyStoppingVal.length,
      };
      record = splitsRecord({ ...base, method, sets: { train: h.train, test: h.test } });
    } else {
      out = { method, file: path, folds: fixed.kfold.map((f) => f.length) };
      record = splitsRecord({ ...base, method, sets: {}, folds: fixed.kfold });
    }
  }
  const target = stringFlag(flags, "out");
  if (target) {
    await writeSplitsJson(target, record);
    out.written = target;
  }
  if (json) console.log(JSON.stringify(out));
  else {
    for (const [k, v] of Object.entries(out)) console.log(`${k}: ${Array.isArray(v) ? v.join(", ") : v}`);
  }
  return 0;
}

function runWeights(flags: Flags, ds: HardnessDataset, json: boolean): number {
  const mode = choice<WeightMode>(flags, "weight-mode", ["fixed", "reference", "uniform"], "fixed");
  let trainRows: number[] | undefined;
  if (flags.split !== undefined) {
    if (flags.split !== "reference") {
      throw new UserError("flag --split: with --weights only 'reference' is supported");
    }
    trainRows = referenceSplit(ds, ds.families, { seed: seedFlag(flags) }).train;
  }
  const w = familyWeights(ds.families, { mode, trainRows });
  const rows = trainRows ?? ds.families.map((_, i) => i);
  const vals = rows.map((r) => w.weights[r]);
  const byFamily = new Map<string, number>();
  rows.forEach((r) => byFamily.set(ds.families[r], (byFamily.get(ds.families[r]) ?? 0) + w.weights[r]));
  const total = vals.reduce((a, b) => a + b, 0);
  const top = [...byFamily].sort((a, b) => b[1] - a[1]).slice(0, 5);
  const out = {
    mode,
    rows: rows.length,
    counted_over: trainRows ? "reference train rows" : "all rows",
    mean_base: round(w.meanBase, 6),
    mean: round(mean(vals), 6),
    min: round(Math.min(...vals), 6),
    max: round(Math.max(...vals), 6),
    weight_share: Object.fromEntries(top.map(([f, s]) => [f, round(s / total)])),
  };
  if (json) console.log(JSON.stringify(out));
  else {
    console.log(`weights (${mode}, counts over ${out.counted_over}): ${out.rows} rows`);
    console.log(`mean ${out.mean}, min ${out.min}, max ${out.max}, mean(w_base) ${out.mean_base}`);
    console.log(
      `largest shares of total weight: ${
        top.map(([f, s]) => `${f} ${(100 * s / total).toFixed(1)}%`).join("; ")
      }`,
    );
  }
  return 0;
}

function runFormula(flags: Flags, json: boolean): number {
  const text = stringFlag(flags, "formula")!;
  const precision = numberFlag(flags, "precision", 2);
  if (!Number.isInteger(precision) || precision < 0 || precision > 6) {
    throw new UserError(`flag --precision: expected a whole number from 0 to 6, got '${flags.precision}'`);
  }
  const elements = list(flags, "elements");
  const p = parseFormula(text, elements.length ? { elements } : {});
  const formula = formatFormula(p, { precision });
  const order = parseFormula(formula).elements;
  const frac = new Map(p.elements.map((e, i) => [e, p.fractions[i]]));
  const rest = p.elements.filter((e) => !order.includes(e));
  const fractions = Object.fromEntries([...order, ...rest].map((e) => [e, frac.get(e)!]));
  if (json) console.log(JSON.stringify({ formula, fractions }));
  else {
    console.log(formula);
    for (const [e, f] of Object.entries(fractions)) console.log(`  ${e.padEnd(2)} ${f}`);
  }
  return 0;
}

async function runTable(flags: Flags, json: boolean): Promise<number> {
  const path = stringFlag(flags, "table")!;
  const missing = choice(flags, "missing", ["error", "drop"] as const, "error");
  const sums = choice(flags, "sums", ["strict", "renormalize"] as const, "strict");
  const props = list(flags, "property");
  let t: CompositionTable;
  try {
    t = await loadCompositionTable(path, {
      properties: props.length ? props : undefined,
      labelColumns: list(flags, "label"),
      ignoreColumns: list(flags, "ignore"),
      formulaColumn: stringFlag(flags, "formula-column"),
      missing,
      sums,
    });
  } catch (e) {
    if (
      e instanceof UserError && e.message.endsWith("not declared as a property, label or formula column)")
    ) {
      throw new UserError(
        `${e.message.slice(0, -1)}; use --property, --label, --formula-column or --ignore)`,
      );
    }
    throw e;
  }
  printNotices(t.notices);
  const out = {
    file: t.file,
    rows: t.nRows,
    units: t.units,
    element_columns: t.elementColumns,
    elements_present: elementsPresent(t),
    properties: Object.keys(t.properties),
    labels: Object.keys(t.labels),
  };
  if (json) console.log(JSON.stringify(out));
  else {
    console.log(`${t.file}: ${t.nRows} rows, valid (${t.units})`);
    console.log(`element columns: ${t.elementColumns.length} (${out.elements_present.length} present)`);
    if (out.properties.length) console.log(`properties: ${out.properties.join(", ")}`);
    if (out.labels.length) console.log(`labels: ${out.labels.join(", ")}`);
  }
  return 0;
}

/** `alloy data`. */
export const dataCommand: Command = {
  name: "data",
  summary: "hardness dataset summary, formulas, sample weights, splits; validate composition tables",
  usage: "[--summary | --formula F | --split METHOD | --weights | --table FILE] [--json] [flags]",
  flags: {
    data: {
      type: "string",
      value: "PATH",
      help: `hardness CSV or a folder holding H_v_dataset.csv (else $${DATA_DIR_ENV}, cache, download)`,
    },
    summary: { type: "boolean", help: "summarise the hardness dataset (the default action)" },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    formula: {
      type: "string",
      value: "F",
      help: "parse a formula, print it as canonical at.% and its fractions",
    },
    precision: {
      type: "string",
      value: "N",
      help: "decimals of at.% amounts in formatted formulas (default 2)",
    },
    elements: {
      type: "string",
      value: "A,B,…",
      help: "with --formula: allowed elements (a model's element list)",
    },
    split: {
      type: "string",
      value: "METHOD",
      help: "reference (430/108/135, seeded) | holdout | kfold5 (fixed split file)",
    },
    "splits-file": {
      type: "string",
      value: "PATH",
      help: "fixed split file (default: <data folder>/splits/hardness_splits.json)",
    },
    out: {
      type: "string",
      value: "PATH",
      help: "with --split: write the rows as a splits.json record (atomic)",
    },
    seed: { type: "string", value: "N", help: "seed for --split reference (default 1)" },
    weights: {
      type: "boolean",
      help: "summarise family-aware sample weights (with --split reference: train rows)",
    },
    "weight-mode": { type: "string", value: "MODE", help: "fixed | reference | uniform (default fixed)" },
    table: { type: "string", value: "FILE", help: "validate any composition CSV and summarise it" },
    property: {
      type: "string",
      multiple: true,
      value: "NAME",
      help: "with --table: numeric property column(s)",
    },
    label: { type: "string", multiple: true, value: "NAME", help: "with --table: text label column(s)" },
    ignore: { type: "string", multiple: true, value: "NAME", help: "with --table: column(s) to skip" },
    "formula-column": {
      type: "string",
      value: "NAME",
      help: "with --table: column holding chemical formulas",
    },
    missing: {
      type: "string",
      value: "POLICY",
      help: "with --table: empty property cells: error | drop (default error)",
    },
    sums: {
      type: "string",
      value: "POLICY",
      help: "with --table: row sums off 1 (or 100): strict | renormalize",
    },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    if (positionals.length > 0) throw new UserError(`data: unexpected argument '${positionals[0]}'`);
    const json = flags.json === true;
    let chosen: string[] = MODES.filter((m) => flags[m] !== undefined && flags[m] !== false);
    if (chosen.length === 2 && chosen.includes("weights") && chosen.includes("split")) chosen = ["weights"];
    if (chosen.length > 1) {
      throw new UserError(`data: choose one of ${chosen.map((m) => `--${m}`).join(", ")}`);
    }
    const mode = chosen[0] ?? "summary";
    if (mode === "formula") return runFormula(flags, json);
    if (mode === "table") return await runTable(flags, json);
    const ds = await hardness(flags);
    if (mode === "split") return await runSplit(flags, ds, json);
    if (mode === "weights") return runWeights(flags, ds, json);
    const s = hardnessSummary(ds);
    if (json) console.log(JSON.stringify(s));
    else {
      const famCount = new Map<string, number>();
      for (const f of ds.families) famCount.set(f, (famCount.get(f) ?? 0) + 1);
      const [bigF, bigN] = [...famCount].sort((a, b) => b[1] - a[1])[0];
      console.log(`${s.file} (SHA-256 ${s.sha256.slice(0, 16)}…)`);
      console.log(`rows: ${s.rows}`);
      console.log(`element columns: ${s.element_columns.length} (${s.elements_present.length} present)`);
      console.log(`elements present: ${s.elements_present.join(" ")}`);
      console.log(`families: ${s.families} (largest: ${bigF} with ${bigN} rows)`);
      console.log(`loads: ${s.loads.length} distinct: ${s.loads.join(", ")}`);
      console.log(`HV: min ${s.hv.min}, max ${s.hv.max}, mean ${s.hv.mean}, std ${s.hv.std} (population)`);
    }
    return 0;
  },
};

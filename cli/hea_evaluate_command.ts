/**
 * `alloy hea evaluate`: with formulas (positional or `--csv FILE` with a `formula` column), classifies them with
 * every member of a model directory and prints q(single phase) as mean ± std over members; without, re-runs the
 * directory's protocol on the dataset (the same members' rows, from config.json) and prints accuracy and ROC-AUC on
 * train/validation/test with bootstrap intervals. `--json` prints exactly one JSON object.
 * @module
 */
import { type Command, intFlag, stringFlag as str } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { formulaFractions, fractionsFormula, loadHeaData, modelMembers, withCi } from "./hea_common.ts";
import { readCsvFile } from "../data/csv.ts";
import { heaDescriptorsHost } from "../data/hea_descriptors.ts";
import { loadHeaModelDir } from "../nn/models/hea_model_dir.ts";
import { heaModelTables } from "../design/hea_model_classifier.ts";
import { evaluateScores } from "../nn/train/hea_protocol.ts";
import { predictSinglePhase } from "../nn/train/hea_trainer.ts";
import { meanStd } from "../nn/train/hea_metrics.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Reads the `formula` (or `Alloys`) column of a CSV. */
async function csvFormulas(path: string): Promise<string[]> {
  const t = await readCsvFile(path);
  const i = t.header.findIndex((h) => h === "formula" || h === "Alloys");
  if (i < 0) throw new UserError(`${path}: no 'formula' (or 'Alloys') column in the header`);
  return t.records.map((r) => {
    const f = r.cells[i].trim();
    if (!f) throw new UserError(`${path} row ${r.line}, column ${t.header[i]}: empty formula`);
    return f;
  });
}

/** The `hea evaluate` subcommand. */
export const heaEvaluateCommand: Command = {
  name: "hea evaluate",
  summary: "classify formulas with a model directory, or re-evaluate it on the dataset",
  usage: "--model DIR [FORMULA…] [--csv FILE] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "model directory written by `alloy hea train` (required)" },
    csv: { type: "string", value: "FILE", help: "CSV with a 'formula' column to classify" },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    resamples: { type: "string", value: "N", help: "bootstrap resamples (default 1000)" },
    data: { type: "string", value: "DIR", help: "data folder (default ALLOY_DATA_DIR)" },
  },
  async run(flags: Flags, positionals: string[]) {
    const dir = str(flags, "model");
    if (!dir) {
      throw new UserError("missing required flag --model DIR (a directory written by `alloy hea train`)");
    }
    const formulas = [...positionals, ...(str(flags, "csv") ? await csvFormulas(str(flags, "csv")!) : [])];
    const be = await openDevice(flags);
    const loaded = await loadHeaModelDir(dir, be);
    const els = loaded.config.elements;
    if (formulas.length) {
      const dataPath = str(flags, "data");
      const tables = await heaModelTables(loaded, dataPath ? { dataPath } : {});
      const comp = new Float64Array(formulas.length * els.length);
      formulas.forEach((f, i) => comp.set(formulaFractions(f, els), i * els.length));
      const desc = heaDescriptorsHost(comp, tables);
      const n = formulas.length;
      const probs = await predictSinglePhase(loaded.model, loaded.scalers, {
        n,
        elements: els.length,
        comp,
        desc,
        label: new Float64Array(n),
      });
      const rows = formulas.map((f, i) => {
        const s = meanStd(probs.map((p) => p[i]));
        return {
          formula: f,
          canonical: fractionsFormula(comp.subarray(i * els.length, (i + 1) * els.length), els, 2),
          p_single: s.mean,
          p_single_std: s.std,
          single_phase: s.mean > 0.5,
        };
      });
      if (flags.json) {
        console.log(JSON.stringify({ predictions: rows, members: loaded.config.members, model_dir: dir }));
      } else {
        console.log(
          `formula                               p(single phase) mean ± std over ${loaded.config.members} member(s)`,
        );
        for (const r of rows) {
          console.log(
            `${r.canonical.padEnd(36)}  ${r.p_single.toFixed(3)} ± ${r.p_single_std.toFixed(3)}  ${
              r.single_phase ? "single phase" : "multi-phase"
            }`,
          );
        }
      }
      return 0;
    }
    const data = await loadHeaData(flags, loaded.config.tables);
    const members = await modelMembers(dir, loaded, data, " (give formulas to classify)");
    const probs = await predictSinglePhase(loaded.model, loaded.scalers, data.arrays);
    const ev = evaluateScores(probs, data.arrays.label, members, {
      resamples: intFlag(flags, "resamples", 1000, 1),
      seed: 1,
    });
    const out = {
      metrics: { train: ev.summary.train, validation: ev.summary.validation, test: ev.summary.test },
      ensemble: ev.ensemble,
      members: ev.members.map((m) => ({ label: m.label, seed: m.seed, ...m.parts })),
      model_dir: dir,
    };
    if (flags.json) console.log(JSON.stringify(out));
    else {
      for (const p of ["train", "validation", "test"] as const) {
        const s = ev.summary[p];
        console.log(
          `${p.padEnd(11)} accuracy ${withCi(s.accuracy, s.accuracy_ci)} ± ${
            s.accuracy_std.toFixed(3)
          }   AUC ${withCi(s.auc, s.auc_ci)} ± ${
            s.auc_std.toFixed(3)
          }   (${s.n_rows} rows, ${members.length} member(s))`,
        );
      }
      if (ev.ensemble) {
        console.log(
          `ensemble    accuracy ${withCi(ev.ensemble.accuracy, ev.ensemble.accuracy_ci)}   AUC ${
            withCi(ev.ensemble.auc, ev.ensemble.auc_ci)
          } (test)`,
        );
      }
    }
    return 0;
  },
};

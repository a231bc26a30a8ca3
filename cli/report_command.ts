/**
 * `alloy report`: one self-contained HTML report of a model directory (from `alloy train`, either architecture, or
 * `alloy import-keras`) — dataset, model, parity, training curves, calibration, attention, integrated gradients,
 * SHAP, latent maps and, with `--candidates`, the designed candidates. The page has inline SVG figures and CSS, no
 * scripts and no external references, so it opens offline in any browser. It is written atomically.
 * @module
 */
import { type Command, intFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { buildReport } from "../report/build_report.ts";
import { DEFAULT_SIZES, type ReportSizes } from "../report/report_context.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Size flags: flag name → [ReportSizes key, smallest, largest]. */
const SIZE_FLAGS: Record<string, [keyof ReportSizes, number, number]> = {
  mc: ["mc", 1, 1000],
  "ig-rows": ["igRows", 0, 100_000],
  "ig-steps": ["igSteps", 1, 10_000],
  "shap-rows": ["shapRows", 0, 10_000],
  "shap-background": ["shapBackground", 1, 1000],
  "shap-samples": ["shapSamples", 2, 100_000],
  "tsne-rows": ["tsneRows", 0, 5000],
  "tsne-iterations": ["tsneIterations", 50, 10_000],
  "kmeans-max-k": ["kmeansMaxK", 1, 30],
};

/** `alloy report`. */
export const reportCommand: Command = {
  name: "report",
  summary: "write one self-contained HTML report (figures, calibration, attention, IG, SHAP, latent maps)",
  usage: "--model DIR [--candidates CSV] [--out report.html] [--max-rows N] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "model directory (from train or import-keras)" },
    candidates: {
      type: "string",
      value: "CSV",
      help:
        "designed candidates (alloy design output: element or formula columns + load): table and latent overlay",
    },
    out: {
      type: "string",
      value: "FILE",
      default: "report.html",
      help: "output HTML file (written atomically)",
    },
    data: {
      type: "string",
      value: "PATH",
      help: "hardness CSV (default: ALLOY_DATA_DIR, cache or download)",
    },
    "max-rows": {
      type: "string",
      value: "N",
      help: "use a seeded random subsample of N dataset rows for every section (default: all rows)",
    },
    mc: { type: "string", value: "S", default: String(DEFAULT_SIZES.mc), help: "MC-dropout passes per row" },
    "ig-rows": {
      type: "string",
      value: "N",
      default: String(DEFAULT_SIZES.igRows),
      help: "rows explained by integrated gradients (0 = skip)",
    },
    "ig-steps": {
      type: "string",
      value: "N",
      default: String(DEFAULT_SIZES.igSteps),
      help: "integrated-gradients path steps",
    },
    "shap-rows": {
      type: "string",
      value: "N",
      default: String(DEFAULT_SIZES.shapRows),
      help: "rows explained by Kernel SHAP (0 = skip)",
    },
    "shap-background": {
      type: "string",
      value: "N",
      default: String(DEFAULT_SIZES.shapBackground),
      help: "background rows of Kernel SHAP",
    },
    "shap-samples": {
      type: "string",
      value: "N",
      default: String(DEFAULT_SIZES.shapSamples),
      help: "coalitions per SHAP row",
    },
    "tsne-rows": {
      type: "string",
      value: "N",
      default: String(DEFAULT_SIZES.tsneRows),
      help: "rows embedded by t-SNE (exact O(n²); 0 = skip)",
    },
    "tsne-iterations": {
      type: "string",
      value: "N",
      default: String(DEFAULT_SIZES.tsneIterations),
      help: "t-SNE iterations",
    },
    "kmeans-max-k": {
      type: "string",
      value: "K",
      default: String(DEFAULT_SIZES.kmeansMaxK),
      help: "largest k of the k-means elbow",
    },
    seed: { type: "string", value: "N", default: "1", help: "seed of every subsample and stochastic method" },
    json: { type: "boolean", help: "print one JSON object on stdout (sections, figures, numbers, timings)" },
    quiet: { type: "boolean", short: "q", help: "no progress messages" },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    if (positionals.length > 0) throw new UserError(`report: unexpected argument '${positionals[0]}'`);
    const dir = stringFlag(flags, "model");
    if (!dir) throw new UserError("report: missing required flag --model DIR");
    const out = stringFlag(flags, "out") ?? "report.html";
    const sizes: Partial<ReportSizes> = {};
    for (const [flag, [key, lo, hi]] of Object.entries(SIZE_FLAGS)) {
      sizes[key] = intFlag(flags, flag, DEFAULT_SIZES[key], lo, hi);
    }
    const maxRows = flags["max-rows"] === undefined
      ? undefined
      : intFlag(flags, "max-rows", 0, 2, 10_000_000);
    const seed = intFlag(flags, "seed", 1, 0, 0xffffffff);
    const json = flags.json === true;
    const log = flags.quiet ? undefined : (m: string) => console.error(`report: ${m}`);
    const be = await openDevice(flags);
    const t0 = performance.now();
    const r = await buildReport(be, {
      modelDir: dir,
      dataPath: stringFlag(flags, "data"),
      candidatesPath: stringFlag(flags, "candidates"),
      maxRows,
      seed,
      sizes,
      log,
    });
    await writeFileAtomic(out, r.html);
    const seconds = +((performance.now() - t0) / 1000).toFixed(2);
    for (const f of r.failed) console.error(`warning: section ${f.section} could not be built: ${f.error}`);
    if (json) {
      console.log(JSON.stringify({
        out,
        bytes: new TextEncoder().encode(r.html).length,
        sections: r.sections,
        figures: r.figures,
        missing: r.missing,
        failed: r.failed,
        sizes: r.sizes,
        rows: r.rows,
        numbers: r.numbers,
        seconds: { ...r.seconds, total: seconds },
      }));
    } else {
      console.log(
        `wrote ${out}: ${r.sections.length} sections, ${r.figures.length - r.missing.length} figures` +
          (r.missing.length ? ` (${r.missing.length} not available: ${r.missing.join(", ")})` : "") +
          ` in ${seconds} s`,
      );
    }
    return 0;
  },
};

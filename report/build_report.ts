/**
 * Builds the interpretability report: loads the model directory, the dataset and optional candidates, predicts
 * every dataset row once with MC dropout (one batched pass), runs each section builder and assembles ONE
 * self-contained HTML page (inline SVG and CSS, no scripts, no network), checked for external references before it
 * is returned. Every section is built independently: a section that fails becomes a visible note in the page (and
 * an entry of `failed`) instead of aborting the whole report.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { predictVibann } from "../nn/models/vibann_predict.ts";
import { memberScalers } from "../nn/models/model_dir.ts";
import { summarizeMcSamples } from "../nn/metrics/mc_summary.ts";
import { UserError } from "../cli/errors.ts";
import { externalReferences, htmlDocument, note, type Section } from "./html.ts";
import { loadReportInputs, type ReportInputs } from "./report_inputs.ts";
import { DEFAULT_SIZES, type ReportContext, type ReportSizes, type SectionResult } from "./report_context.ts";
import { datasetSection } from "./sections/dataset_section.ts";
import { modelSection } from "./sections/model_section.ts";
import { calibrationSection, paritySection } from "./sections/prediction_sections.ts";
import { trainingSection } from "./sections/training_section.ts";
import { attentionSection } from "./sections/attention_section.ts";
import { igSection, shapSection } from "./sections/attribution_sections.ts";
import { latentSection } from "./sections/latent_section.ts";
import { candidatesSection } from "./sections/candidates_section.ts";

/** Options of {@link buildReport}. */
export interface BuildReportOptions {
  modelDir: string;
  dataPath?: string;
  candidatesPath?: string;
  /** Use a seeded subsample of this many dataset rows (default: all). */
  maxRows?: number;
  /** Seed of every subsample and stochastic method (default 1). */
  seed?: number;
  sizes?: Partial<ReportSizes>;
  /** Progress messages (default: none). */
  log?: (msg: string) => void;
}

/** The built report. */
export interface BuiltReport {
  html: string;
  /** Section ids in page order. */
  sections: string[];
  /** Figure ids (`fig-<id>` elements) in page order, including placeholders of missing figures. */
  figures: string[];
  /** Figures that could not be made (placeholder shown). */
  missing: string[];
  /** Sections that failed, with the reason. */
  failed: { section: string; error: string }[];
  numbers: Record<string, Record<string, unknown>>;
  sizes: ReportSizes;
  /** Dataset rows used, and rows in the data file. */
  rows: { used: number; total: number };
  seconds: Record<string, number>;
}

/** A section builder (sync or async). */
export type SectionBuilder = (ctx: ReportContext) => SectionResult | Promise<SectionResult>;

/** The sections in page order: id, title, builder. */
export const SECTION_BUILDERS: readonly { id: string; title: string; build: SectionBuilder }[] = [
  { id: "dataset", title: "Dataset", build: datasetSection },
  { id: "model", title: "Model", build: modelSection },
  { id: "training", title: "Training", build: trainingSection },
  { id: "parity", title: "Parity", build: paritySection },
  { id: "calibration", title: "Calibration", build: calibrationSection },
  { id: "attention", title: "Attention", build: attentionSection },
  { id: "ig", title: "Integrated gradients", build: igSection },
  { id: "shap", title: "SHAP", build: shapSection },
  { id: "latent", title: "Latent space", build: latentSection },
  { id: "candidates", title: "Candidates", build: candidatesSection },
];

/** Predicts every dataset row with MC dropout and builds the shared context. */
export async function reportContext(
  inputs: ReportInputs,
  seed: number,
  sizes: ReportSizes,
): Promise<ReportContext> {
  const { be, model, config, data } = inputs;
  const pred = await predictVibann(be, model, memberScalers(config), data.comp, data.load, { mc: sizes.mc });
  const R = pred.members, S = pred.mc, n = pred.rows;
  // [R, S, n] is already [R·S, n]: the passes of all members pooled.
  const samples = pred.samples ?? pred.det;
  const passes = pred.samples ? R * S : R;
  const mc = summarizeMcSamples(samples, passes);
  if (!mc.mean.every(Number.isFinite)) {
    throw new UserError(`${inputs.dir}: the model predicts non-finite hardness`);
  }
  if (n !== inputs.data.n) throw new Error(`report: ${n} predictions for ${inputs.data.n} rows`);
  return { ...inputs, pred, mc, mcSamples: Float64Array.from(samples), mcPasses: passes, seed, sizes };
}

/**
 * Builds the report HTML (nothing is written).
 * @throws {UserError} for a bad model directory, dataset or candidates file
 */
export async function buildReport(be: Backend, o: BuildReportOptions): Promise<BuiltReport> {
  const log = o.log ?? (() => {});
  const seed = o.seed ?? 1;
  const sizes = { ...DEFAULT_SIZES, ...o.sizes };
  const seconds: Record<string, number> = {};
  let t = performance.now();
  const lap = (k: string) => {
    const now = performance.now();
    seconds[k] = +((now - t) / 1000).toFixed(3);
    t = now;
  };
  const inputs = await loadReportInputs(be, { ...o, seed });
  lap("load");
  try {
    log(`predicting ${inputs.data.n} rows with ${sizes.mc} MC passes`);
    const ctx = await reportContext(inputs, seed, sizes);
    lap("predict");
    const sections: Section[] = [];
    const numbers: Record<string, Record<string, unknown>> = {};
    const failed: { section: string; error: string }[] = [];
    for (const s of SECTION_BUILDERS) {
      if (s.id === "candidates" && !ctx.candidates) continue;
      log(`section ${s.id}`);
      try {
        const r = await s.build(ctx);
        sections.push(r.section);
        numbers[s.id] = r.numbers;
      } catch (e) {
        if (e instanceof UserError) throw e;
        const msg = (e as Error)?.message ?? String(e);
        failed.push({ section: s.id, error: msg });
        sections.push({ id: s.id, title: s.title, body: [note(`This section could not be built: ${msg}`)] });
      }
      lap(s.id);
    }
    const c = inputs.config;
    const meta = [
      `Model: ${inputs.dir} — ${c.arch} architecture, ${c.members} member(s), latent ${
        c.latent_dims.join("/")
      }, ` +
      `${c.source === "keras-import" ? "imported Keras weights" : "trained"} ${c.created}`,
      `Data: ${inputs.data.file} (${
        inputs.data.n < inputs.data.totalRows
          ? `seeded subsample of ${inputs.data.n} of ${inputs.data.totalRows} rows`
          : `${inputs.data.n} rows`
      }, SHA-256 ${inputs.data.sha256.slice(0, 12)}…)` +
      (inputs.candidates ? ` · candidates: ${inputs.candidates.file} (${inputs.candidates.n})` : ""),
      `Device: ${be.description} · seed ${seed} · ${sizes.mc} MC-dropout passes per row`,
    ];
    const html = htmlDocument(
      "Hardness model report",
      meta,
      sections,
      "Generated by alloy report. Self-contained: inline SVG figures and CSS, no scripts, no network access needed.",
    );
    const ext = externalReferences(html);
    if (ext.length) throw new Error(`report: external reference in the page: ${ext[0]}`);
    const figures = [...html.matchAll(/<figure id="fig-([^"]+)"/g)].map((m) => m[1]);
    const missing = [...html.matchAll(/<figure id="fig-([^"]+)" class="figure missing"/g)].map((m) => m[1]);
    return {
      html,
      sections: sections.map((s) => s.id),
      figures,
      missing,
      failed,
      numbers,
      sizes,
      rows: { used: inputs.data.n, total: inputs.data.totalRows },
      seconds,
    };
  } finally {
    inputs.model.dispose();
  }
}

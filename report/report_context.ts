/**
 * The shared state of one report build: the loaded inputs, one MC-dropout prediction of every dataset row (point
 * predictions, σ, gates and latent means all come from it), the subsample sizes and seeds, and what each section
 * returns.
 * @module
 */
import type { McSummary } from "../nn/metrics/mc_summary.ts";
import type { VibannPrediction } from "../nn/models/vibann_predict.ts";
import type { Html, Section } from "./html.ts";
import type { ReportInputs } from "./report_inputs.ts";

/** Subsample sizes and settings (stated in the report). */
export interface ReportSizes {
  /** MC-dropout passes per row for the in-sample prediction. */
  mc: number;
  /** Rows explained by integrated gradients. */
  igRows: number;
  /** IG path steps. */
  igSteps: number;
  /** Rows explained by Kernel SHAP. */
  shapRows: number;
  /** Background rows of Kernel SHAP. */
  shapBackground: number;
  /** Coalitions per explained row. */
  shapSamples: number;
  /** Rows embedded by t-SNE. */
  tsneRows: number;
  tsnePerplexity: number;
  tsneIterations: number;
  /** Largest k of the k-means elbow. */
  kmeansMaxK: number;
}

/** Defaults sized for a 673-row dataset on a software adapter. */
export const DEFAULT_SIZES: ReportSizes = {
  mc: 20,
  igRows: 32,
  igSteps: 200,
  shapRows: 16,
  shapBackground: 12,
  shapSamples: 128,
  tsneRows: 400,
  tsnePerplexity: 30,
  tsneIterations: 500,
  kmeansMaxK: 10,
};

/** The state every section reads. */
export interface ReportContext extends ReportInputs {
  /** MC prediction of every dataset row (in-sample for the rows the model was trained on). */
  pred: VibannPrediction;
  /** Per-row mean, σ and 5 / 50 / 95 % quantiles of the MC samples pooled over members and passes. */
  mc: McSummary;
  /** The pooled samples laid out [members·passes, rows] (the calibration helpers' layout). */
  mcSamples: Float64Array;
  /** members·passes. */
  mcPasses: number;
  seed: number;
  sizes: ReportSizes;
}

/** What a section builder returns. */
export interface SectionResult {
  section: Section;
  /** Numbers worth printing with `--json` (metrics, gaps, sizes). */
  numbers: Record<string, unknown>;
}

/** Shorthand for a section. */
export function sectionOf(id: string, title: string, intro: string, body: Html[]): Section {
  return { id, title, intro, body };
}

/** Formats a number with `d` decimals, or "—" when not finite. */
export function fmt(v: number | null | undefined, d = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return (+v.toFixed(d) === 0 ? 0 : v).toFixed(d); // no "-0.0"
}

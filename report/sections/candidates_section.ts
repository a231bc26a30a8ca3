/**
 * Report section "Candidates" (only with `--candidates`): every designed candidate with the columns its CSV carries
 * (hv_mean, hv_lcb, novelty, …), the report model's own MC-dropout prediction, and the nearest dataset alloy by
 * composition with its measured hardness, plus a ranking figure of the predicted hardness with intervals.
 * @module
 */
import { predictVibann } from "../../nn/models/vibann_predict.ts";
import { memberScalers } from "../../nn/models/model_dir.ts";
import { summarizeMcSamples } from "../../nn/metrics/mc_summary.ts";
import { hbarChart } from "../../plot/hbar_chart.ts";
import { figure, figureRow, note, table } from "../html.ts";
import { fmt, type ReportContext, sectionOf, type SectionResult } from "../report_context.ts";

/** Columns of the candidates CSV echoed in the table, when present: column → [header, decimals or null]. */
const ECHO: Record<string, [string, number | null]> = {
  hv_mean: ["design HV", 1],
  hv_std: ["design σ", 1],
  hv_lcb: ["design LCB", 1],
  novelty: ["novelty", 3],
  accepted: ["accepted", null],
  method: ["method", null],
};

/** A CSV cell as shown: numbers rounded to `decimals`, 0/1 flags as no/yes, anything else as is. */
function echoCell(v: string | undefined, decimals: number | null, flag: boolean): string {
  if (v === undefined || v === "") return "—";
  if (flag && (v === "0" || v === "1")) return v === "1" ? "yes" : "no";
  const x = Number(v);
  return decimals !== null && v.trim() !== "" && Number.isFinite(x) ? fmt(x, decimals) : v;
}
/** Candidates in the ranking figure. */
const FIGURE_ROWS = 30;
const Z90 = 1.6448536269514722;

/** Index of the nearest row of `comp` ([n, E]) to `x` (E), and the Euclidean distance. */
export function nearestRow(
  comp: ArrayLike<number>,
  n: number,
  E: number,
  x: ArrayLike<number>,
): [number, number] {
  let best = -1, bd = Infinity;
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let j = 0; j < E; j++) d += (comp[i * E + j] - x[j]) ** 2;
    if (d < bd) bd = d, best = i;
  }
  return [best, Math.sqrt(bd)];
}

/** Builds the candidates section. */
export async function candidatesSection(ctx: ReportContext): Promise<SectionResult> {
  const c = ctx.candidates!;
  const E = ctx.config.elements.length;
  const pred = await predictVibann(ctx.be, ctx.model, memberScalers(ctx.config), c.comp, c.load, {
    mc: ctx.sizes.mc,
  });
  const passes = pred.samples ? pred.members * pred.mc : pred.members;
  const s = summarizeMcSamples(pred.samples ?? pred.det, passes);
  const echo = Object.keys(ECHO).filter((k) => c.columns[k]);
  const near = Array.from(
    { length: c.n },
    (_, i) => nearestRow(ctx.data.comp, ctx.data.n, E, c.comp.subarray(i * E, (i + 1) * E)),
  );
  const rows = Array.from({ length: c.n }, (_, i) => [
    i + 1,
    c.formulas[i],
    +c.load[i].toPrecision(4),
    ...echo.map((k) => echoCell(c.columns[k][i], ECHO[k][1], k === "accepted")),
    fmt(s.mean[i]),
    fmt(s.std[i]),
    `${ctx.data.formulas[near[i][0]]} (${fmt(ctx.data.hv[near[i][0]], 0)} HV)`,
    fmt(near[i][1] * 100, 1),
  ]);
  const order = Array.from({ length: c.n }, (_, i) => i).sort((a, b) => s.mean[b] - s.mean[a]).slice(
    0,
    FIGURE_ROWS,
  );
  const body = [
    note(
      `${c.n} candidates from ${c.file}. "report HV" is this model's MC-dropout prediction (${passes} pooled passes); ` +
        "the nearest dataset alloy is the closest composition (Euclidean distance of the fractions, in at.%)" +
        (echo.length ? `; "design …" columns are as written by the design run.` : "."),
    ),
    figureRow([
      figure(
        "candidate-ranking",
        hbarChart(order.map((i) => `${i + 1}. ${c.formulas[i]}`), order.map((i) => s.mean[i]), {
          title: "Designed candidates: predicted hardness",
          subtitle: `MC mean ± 1.645σ · ${order.length} of ${c.n} shown, hardest first`,
          xLabel: "predicted HV",
          errors: order.map((i) => Z90 * s.std[i]),
          width: 720,
          decimals: 0,
        }),
        "Predicted hardness of the candidates at their design loads with the raw MC-dropout ±1.645σ band.",
      ),
    ]),
    table(
      [
        "#",
        "formula",
        "load (N)",
        ...echo.map((k) => ECHO[k][0]),
        "report HV",
        "report σ",
        "nearest dataset alloy",
        "distance (at.%)",
      ],
      rows,
      { id: "candidate-table", caption: "Designed candidates" },
    ),
  ];
  return {
    section: sectionOf("candidates", "Candidates", "The designed alloys, as this model sees them.", body),
    numbers: {
      candidates: c.n,
      best: order.length
        ? { formula: c.formulas[order[0]], hv: s.mean[order[0]], std: s.std[order[0]] }
        : null,
    },
  };
}

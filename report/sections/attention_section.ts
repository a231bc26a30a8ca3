/**
 * Report section "Attention": which elements the composition encoder weighs, aggregated over the dataset.
 *
 * - Reference architecture: the softmax gate over the element fractions. A gate value is only meaningful for an
 *   element the alloy contains (the gate multiplies the fraction), so each element's weight is averaged over the
 *   rows that contain it — the plain average over all rows, as the original plotted, mostly measures how often an
 *   element occurs.
 * - Attention architecture: the pooled attention weight per element (`VibannAttention.inspect`), averaged the same
 *   way, and per layer and head the token-to-token attention mapped back to elements (query element × key element,
 *   averaged over the alloys containing both) for the most frequent elements.
 * - The per-epoch attention log of training (gate_curves.csv), when the model directory has one.
 * @module
 */
import { hbarChart } from "../../plot/hbar_chart.ts";
import { matrixHeatmap } from "../../plot/heatmap.ts";
import { VibannAttention } from "../../nn/models/vibann_attention.ts";
import { scope } from "../../nn/scope.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { readFloat64 } from "../../explain/read_values.ts";
import { collapsible, figure, figureRow, missingFigure, note, table } from "../html.ts";
import { fmt, type ReportContext, sectionOf, type SectionResult } from "../report_context.ts";
import { gateEpochsFigure } from "./training_section.ts";

/** Elements shown in the rankings and head maps. */
const TOP_ELEMENTS = 20, HEAD_MAP_ELEMENTS = 12;
/** Rows per `inspect` call. */
const CHUNK = 256;

/** Per element: mean weight over the rows that contain it, and how many rows that is. */
export function meanWhenPresent(
  weights: ArrayLike<number>,
  comp: ArrayLike<number>,
  n: number,
  E: number,
): { mean: Float64Array; count: Int32Array } {
  const mean = new Float64Array(E), count = new Int32Array(E);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < E; j++) {
      if (comp[i * E + j] > 0) mean[j] += weights[i * E + j], count[j]++;
    }
  }
  for (let j = 0; j < E; j++) mean[j] = count[j] ? mean[j] / count[j] : NaN;
  return { mean, count };
}

/** Member-averaged deterministic gate [n, E] of the context's prediction. */
function memberMeanGate(ctx: ReportContext): Float64Array {
  const { members: R, rows: n } = ctx.pred, E = ctx.config.elements.length;
  const out = new Float64Array(n * E);
  for (let r = 0; r < R; r++) {
    for (let k = 0; k < n * E; k++) out[k] += ctx.pred.gate[r * n * E + k] / R;
  }
  return out;
}

/** Element × element head maps of member 0 of an attention model, averaged over the rows. */
async function headMaps(
  ctx: ReportContext,
  model: VibannAttention,
  elements: number[],
): Promise<{ layers: number; heads: number; maps: Float64Array[] }> {
  const { be, data } = ctx;
  const E = ctx.config.elements.length, R = model.replicas, n = data.n, K = elements.length;
  const slot = new Int32Array(E).fill(-1);
  elements.forEach((e, k) => (slot[e] = k));
  const layers = model.tokenLayers.length, heads = model.config.heads;
  const sums = Array.from({ length: layers * heads }, () => new Float64Array(K * K));
  const counts = new Float64Array(K * K);
  model.eval(false);
  for (let s0 = 0; s0 < n; s0 += CHUNK) {
    const m = Math.min(CHUNK, n - s0);
    const comp = new Float32Array(R * m * E);
    for (let r = 0; r < R; r++) comp.set(data.comp.subarray(s0 * E, (s0 + m) * E), r * m * E);
    const out = scope(() => {
      const maps = model.inspect(be.fromData(comp, R > 1 ? [R, m, E] : [m, E]));
      return [maps.selection, ...maps.layers] as Tensor[];
    });
    const vals = await Promise.all(out.map(readFloat64));
    out.forEach((t) => t.dispose());
    const T = out[0].shape[out[0].rank - 2];
    const sel = vals[0]; // member 0 first: [m, T, E]
    for (let i = 0; i < m; i++) {
      // Element slot of each token of row i (−1: empty or not shown).
      const tok = new Int32Array(T).fill(-1);
      for (let t = 0; t < T; t++) {
        for (let e = 0; e < E; e++) if (sel[(i * T + t) * E + e] > 0.5) tok[t] = slot[e];
      }
      for (let a = 0; a < T; a++) {
        for (let b = 0; b < T; b++) if (tok[a] >= 0 && tok[b] >= 0) counts[tok[a] * K + tok[b]]++;
      }
      for (let l = 0; l < layers; l++) {
        const p = vals[1 + l]; // [(R·m), H, T, T], member 0 rows first
        for (let h = 0; h < heads; h++) {
          const acc = sums[l * heads + h], off = (i * heads + h) * T * T;
          for (let a = 0; a < T; a++) {
            if (tok[a] < 0) continue;
            for (let b = 0; b < T; b++) if (tok[b] >= 0) acc[tok[a] * K + tok[b]] += p[off + a * T + b];
          }
        }
      }
    }
  }
  for (const acc of sums) for (let q = 0; q < K * K; q++) acc[q] = counts[q] ? acc[q] / counts[q] : NaN;
  return { layers, heads, maps: sums };
}

/** Pooled attention weights [n, E] of member 0 of an attention model. */
async function pooledWeights(ctx: ReportContext, model: VibannAttention): Promise<Float64Array> {
  const { be, data } = ctx;
  const E = ctx.config.elements.length, R = model.replicas, n = data.n;
  const out = new Float64Array(n * E);
  model.eval(false);
  for (let s0 = 0; s0 < n; s0 += CHUNK) {
    const m = Math.min(CHUNK, n - s0);
    const comp = new Float32Array(R * m * E);
    for (let r = 0; r < R; r++) comp.set(data.comp.subarray(s0 * E, (s0 + m) * E), r * m * E);
    const pooled = scope(() => model.inspect(be.fromData(comp, R > 1 ? [R, m, E] : [m, E])).pooled);
    const v = await readFloat64(pooled);
    pooled.dispose();
    out.set(v.subarray(0, m * E), s0 * E);
  }
  return out;
}

/** Builds the attention section. */
export async function attentionSection(ctx: ReportContext): Promise<SectionResult> {
  const names = ctx.config.elements, E = names.length, n = ctx.data.n;
  const attention = ctx.model instanceof VibannAttention ? ctx.model : null;
  const weights = attention ? await pooledWeights(ctx, attention) : memberMeanGate(ctx);
  const { mean, count } = meanWhenPresent(weights, ctx.data.comp, n, E);
  const order = names.map((_, j) => j).filter((j) => count[j] > 0).sort((a, b) => mean[b] - mean[a]);
  // The ranking leaves out elements in very few alloys: their mean is one or two alloys' weights, not a trend.
  const minRows = Math.max(3, Math.ceil(0.01 * n));
  const frequent = order.filter((j) => count[j] >= minRows);
  const top = (frequent.length ? frequent : order).slice(0, TOP_ELEMENTS);
  const what = attention ? "pooled attention weight" : "gate weight";
  const figs: string[] = [];
  const numbers: Record<string, unknown> = {
    kind: attention ? "pooled attention (member 0)" : "softmax gate (member mean)",
    top: top.slice(0, 5).map((j) => ({ element: names[j], mean: mean[j], rows: count[j] })),
  };
  figs.push(figure(
    "attention-elements",
    hbarChart(top.map((j) => `${names[j]} (${count[j]})`), top.map((j) => mean[j]), {
      title: attention ? "Pooled attention weight per element" : "Attention gate per element",
      subtitle:
        `mean over the rows containing the element (row count in brackets; ≥ ${minRows} rows) · ${n} rows`,
      xLabel: `mean ${what}`,
      width: 560,
      decimals: 3,
    }),
    `The ${top.length} elements with the largest mean ${what}, averaged over the alloys that contain them ` +
      `(elements in fewer than ${minRows} alloys are only in the table) ` +
      (attention
        ? "(the weights of one alloy sum to 1 over its elements, so a binary alloy's are near 1/2)."
        : `(the gate is a softmax over all ${E} inputs; a uniform gate would be 1/${E} = ${fmt(1 / E, 4)}).`),
  ));
  if (attention) {
    const freq = names.map((_, j) => j).filter((j) => count[j] > 0).sort((a, b) => count[b] - count[a])
      .slice(0, HEAD_MAP_ELEMENTS);
    const hm = await headMaps(ctx, attention, freq);
    const heads: string[] = [];
    for (let l = 0; l < hm.layers; l++) {
      for (let h = 0; h < hm.heads; h++) {
        heads.push(figure(
          `attention-head-l${l + 1}-h${h + 1}`,
          matrixHeatmap(freq.map((j) => names[j]), freq.map((j) => names[j]), hm.maps[l * hm.heads + h], {
            title: `Layer ${l + 1}, head ${h + 1}`,
            xLabel: "key element",
            yLabel: "query element",
            colorLabel: "attention",
            width: 460,
            height: 400,
          }),
          `Mean attention of layer ${l + 1}, head ${h + 1} from the query element (row) to the key element ` +
            "(column), over the alloys containing both (member 0); grey: no alloy contains both.",
        ));
      }
    }
    figs.push(figureRow(heads));
    numbers.head_maps = { layers: hm.layers, heads: hm.heads, elements: freq.map((j) => names[j]) };
  }
  const epochs = gateEpochsFigure(ctx);
  figs.push(
    epochs ?? missingFigure(
      "gate-epochs",
      "Attention during training",
      "the model directory has no gate_curves.csv (e.g. a model imported from Keras)",
    ),
  );
  const body = [
    attention
      ? note("Attention architecture: weights from VibannAttention.inspect (deterministic, member 0).")
      : note(
        `Reference architecture: the deterministic softmax gate, averaged over the ${ctx.config.members} member(s).`,
      ),
    figureRow(figs.slice(0, 1)),
    ...figs.slice(1),
    collapsible(
      `Mean ${what} of every element (${order.length} present)`,
      table(
        ["element", "rows containing it", `mean ${what}`],
        order.map((j) => [names[j], count[j], fmt(mean[j], 4)]),
        { id: "attention-table", caption: `Mean ${what} per element over the rows containing it` },
      ),
    ),
  ];
  return {
    section: sectionOf(
      "attention",
      "Attention",
      "Which elements the composition encoder attends to, aggregated over the dataset.",
      body,
    ),
    numbers,
  };
}

/**
 * Per-alloy attention export: the element weights every architecture has (the softmax gate of `reference`, the
 * pooled element weights of `attention`) and, for `attention`, the per-layer, per-head token maps, restricted to
 * the alloy's own elements and labelled with their symbols. Feeds `predict --attention FILE` and the report.
 * @module
 */
import type { Backend } from "../backend.ts";
import { noGrad } from "../autodiff.ts";
import { scope } from "../scope.ts";
import type { VibannBase } from "./vibann.ts";
import { VibannAttention } from "./vibann_attention.ts";

/** The attention of one model member on one alloy. */
export interface AlloyAttentionMap {
  /** Input row. */
  row: number;
  /** Model member (fold × seed of an ensemble). */
  member: number;
  /** The alloy's elements: token order (largest fraction first) for `attention`, column order for `reference`. */
  elements: string[];
  /** Atomic fractions of `elements` (simplex-projected input). */
  fractions: number[];
  /** Per element of `elements`: the pooled attention weight (sums to 1) or the gate value (`reference`). */
  weights: number[];
  /** Which weights these are. */
  weightKind: "pooled" | "gate";
  /** `attention` only: [layer][head][query][key] probabilities over `elements` (rows sum to 1); else null. */
  heads: number[][][][] | null;
}

/**
 * Attention maps of every member of `model` for the compositions `comp` [rows, E] (inference mode).
 * `symbols` names the E composition columns.
 */
export async function alloyAttentionMaps(
  be: Backend,
  model: VibannBase,
  comp: Float32Array,
  symbols: readonly string[],
  chunkRows = 512,
): Promise<AlloyAttentionMap[]> {
  const R = model.replicas, E = model.elements, n = E === 0 ? 0 : comp.length / E;
  if (symbols.length !== E) {
    throw new RangeError(`alloyAttentionMaps: ${symbols.length} symbols for ${E} columns`);
  }
  if (!Number.isInteger(n)) {
    throw new RangeError(`alloyAttentionMaps: ${comp.length} values for ${E} columns`);
  }
  const lead = R > 1 ? [R] : [];
  const out: AlloyAttentionMap[] = [];
  model.eval(false);
  for (let s0 = 0; s0 < n; s0 += chunkRows) {
    const m = Math.min(chunkRows, n - s0);
    const c = new Float32Array(R * m * E);
    for (let r = 0; r < R; r++) c.set(comp.subarray(s0 * E, (s0 + m) * E), r * m * E);
    const x = be.fromData(c, [...lead, m, E]);
    if (model instanceof VibannAttention) {
      const maps = scope(() => noGrad(() => model.inspect(x)));
      const [sel, frac, pooled, ...layers] = await Promise.all(
        [maps.selection, maps.fractions, maps.pooled, ...maps.layers].map((t) => t.read()),
      );
      for (const t of [maps.selection, maps.fractions, maps.pooled, ...maps.layers]) t.dispose();
      const T = maps.selection.shape[maps.selection.rank - 2], H = maps.layers[0]?.shape[1] ?? 0;
      for (let r = 0; r < R; r++) {
        for (let j = 0; j < m; j++) {
          const b = r * m + j, idx: number[] = [];
          for (let t = 0; t < T; t++) {
            const k = sel.subarray((b * T + t) * E, (b * T + t + 1) * E).indexOf(1);
            if (k >= 0) idx.push(k);
          }
          const V = idx.length;
          const heads = layers.map((p) =>
            Array.from(
              { length: H },
              (_, h) =>
                Array.from({ length: V }, (_, q) =>
                  Array.from({ length: V }, (_, k) => p[((b * H + h) * T + q) * T + k])),
            )
          );
          out.push({
            row: s0 + j,
            member: r,
            elements: idx.map((k) => symbols[k]),
            fractions: idx.map((_, t) => frac[b * T + t]),
            weights: idx.map((k) => pooled[b * E + k]),
            weightKind: "pooled",
            heads,
          });
        }
      }
    } else {
      const gate = scope(() => noGrad(() => model.encode(x).gate));
      const g = await gate.read();
      gate.dispose();
      for (let r = 0; r < R; r++) {
        for (let j = 0; j < m; j++) {
          const row = s0 + j, idx: number[] = [];
          let total = 0;
          for (let k = 0; k < E; k++) total += Math.max(0, comp[row * E + k]);
          for (let k = 0; k < E; k++) if (comp[row * E + k] > 0) idx.push(k);
          out.push({
            row,
            member: r,
            elements: idx.map((k) => symbols[k]),
            fractions: idx.map((k) => comp[row * E + k] / total),
            weights: idx.map((k) => g[(r * m + j) * E + k]),
            weightKind: "gate",
            heads: null,
          });
        }
      }
    }
    x.dispose();
  }
  return out;
}

/** Columns of {@link attentionMapsCsv}. */
export const ATTENTION_CSV_HEADER = "row,formula,member,map,layer,head,element,key_element,fraction,weight";

/**
 * Long-format CSV of attention maps: one line per element weight (`map` = pooled | gate) and per head entry
 * (`map` = head, query `element` attending to `key_element`). `formulas[row]` labels each input row.
 */
export function attentionMapsCsv(maps: readonly AlloyAttentionMap[], formulas: readonly string[]): string {
  const lines = [ATTENTION_CSV_HEADER];
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  for (const a of maps) {
    const f = q(formulas[a.row] ?? "");
    a.elements.forEach((el, i) =>
      lines.push(`${a.row},${f},${a.member},${a.weightKind},,,${el},,${a.fractions[i]},${a.weights[i]}`)
    );
    a.heads?.forEach((layer, l) =>
      layer.forEach((head, h) =>
        head.forEach((rowP, qi) =>
          rowP.forEach((p, ki) =>
            lines.push(`${a.row},${f},${a.member},head,${l},${h},${a.elements[qi]},${a.elements[ki]},,${p}`)
          )
        )
      )
    );
  }
  return lines.join("\n") + "\n";
}

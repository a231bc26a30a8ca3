/**
 * Prediction with a (replicated) VIBANN model: deterministic (dropout off, z = μ) or Monte-Carlo dropout with S
 * passes computed as one batched forward — the S copies of every row are stacked on the batch axis (BatchNorm uses its
 * running statistics in inference, so stacking is exact), in chunks that bound the device memory.
 * @module
 */
import type { Backend } from "../backend.ts";
import { noGrad } from "../autodiff.ts";
import { scope } from "../scope.ts";
import type { VibannBase } from "./vibann.ts";

/** Standardisation constants of one member. */
export interface MemberScalers {
  loadMean: number;
  loadScale: number;
  yMean: number;
  yScale: number;
}

/** Deterministic and MC outputs per member, in HV. */
export interface VibannPrediction {
  members: number;
  rows: number;
  /** Deterministic prediction [members, rows]. */
  det: Float64Array;
  /** MC samples [members, S, rows] (null without MC). */
  samples: Float64Array | null;
  mc: number;
  /** Attention gate [members, rows, E] (deterministic). */
  gate: Float32Array;
  /** Latent means [members, rows, L]. */
  mu: Float32Array;
}

/** Options of {@link predictVibann}. */
export interface PredictOptions {
  /** MC-dropout passes (0 = deterministic only). */
  mc?: number;
  /** Largest number of rows (members × copies × rows) in one forward. */
  chunkRows?: number;
}

/**
 * Predicts HV for `n` compositions (rows of `comp`, simplex-normalised, [n, E]) at raw loads `load`.
 * Every member uses its own scalers. The model is left in inference mode.
 */
export async function predictVibann(
  be: Backend,
  model: VibannBase,
  scalers: readonly MemberScalers[],
  comp: Float32Array,
  load: ArrayLike<number>,
  o: PredictOptions = {},
): Promise<VibannPrediction> {
  const R = model.replicas, E = model.elements, L = model.latentDim, n = load.length;
  const S = o.mc ?? 0;
  if (scalers.length !== R) throw new RangeError(`predictVibann: ${scalers.length} scalers for ${R} members`);
  if (comp.length !== n * E) {
    throw new RangeError(`predictVibann: composition has ${comp.length} values for ${n} rows`);
  }
  const chunk = Math.max(1, Math.floor((o.chunkRows ?? 16384) / R));
  const lead = R > 1 ? [R] : [];
  const det = new Float64Array(R * n);
  const gate = new Float32Array(R * n * E), mu = new Float32Array(R * n * L);
  const samples = S > 0 ? new Float64Array(R * S * n) : null;

  // Builds the [R, m, E] / [R, m, 1] inputs for `m` rows taken from `rowsOf(j)` (a dataset row per slot).
  const inputs = (m: number, rowOf: (j: number) => number) => {
    const c = new Float32Array(R * m * E), l = new Float32Array(R * m);
    for (let r = 0; r < R; r++) {
      const sc = scalers[r];
      for (let j = 0; j < m; j++) {
        const row = rowOf(j);
        c.set(comp.subarray(row * E, (row + 1) * E), (r * m + j) * E);
        l[r * m + j] = (load[row] - sc.loadMean) / sc.loadScale;
      }
    }
    return [be.fromData(c, [...lead, m, E]), be.fromData(l, [...lead, m, 1])] as const;
  };

  model.eval(false);
  for (let s0 = 0; s0 < n; s0 += chunk) {
    const m = Math.min(chunk, n - s0);
    const [y, g, z] = scope(() =>
      noGrad(() => {
        const [c, l] = inputs(m, (j) => s0 + j);
        const out = model.forward(c, l);
        return [out.y, out.gate, out.mu];
      })
    );
    const [yv, gv, zv] = await Promise.all([y.read(), g.read(), z.read()]);
    y.dispose(), g.dispose(), z.dispose();
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < m; j++) det[r * n + s0 + j] = yv[r * m + j] * scalers[r].yScale + scalers[r].yMean;
      gate.set(gv.subarray(r * m * E, (r + 1) * m * E), (r * n + s0) * E);
      mu.set(zv.subarray(r * m * L, (r + 1) * m * L), (r * n + s0) * L);
    }
  }

  if (samples) {
    model.eval(true);
    // Slot j of the stacked batch holds (pass, row) = (⌊j / n⌋, j mod n).
    const total = S * n;
    const reads: Promise<void>[] = [];
    for (let j0 = 0; j0 < total; j0 += chunk) {
      const m = Math.min(chunk, total - j0);
      const y = scope(() =>
        noGrad(() => {
          const [c, l] = inputs(m, (j) => (j0 + j) % n);
          return model.forward(c, l).y;
        })
      );
      reads.push(
        y.read().then((v) => {
          y.dispose();
          for (let r = 0; r < R; r++) {
            for (let j = 0; j < m; j++) {
              const slot = j0 + j, pass = Math.floor(slot / n), row = slot % n;
              samples[(r * S + pass) * n + row] = v[r * m + j] * scalers[r].yScale + scalers[r].yMean;
            }
          }
        }),
      );
      be.flush();
    }
    await Promise.all(reads);
    model.eval(false);
  }
  return { members: R, rows: n, det, samples, mc: S, gate, mu };
}

/** Deterministic prediction averaged over members (the ensemble's point prediction). */
export function memberMean(p: VibannPrediction): Float64Array {
  const { members: R, rows: n } = p;
  const mean = new Float64Array(n);
  for (let r = 0; r < R; r++) for (let i = 0; i < n; i++) mean[i] += p.det[r * n + i] / R;
  return mean;
}

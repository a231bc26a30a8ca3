/**
 * A tiny HEA model for the screening tests: a seeded HeaDvae with small hidden layers, random non-zero biases, and
 * per-member standardisers, plus an independent float64 host forward of its classifier head (from the weights read
 * back), so the device path can be checked against plain arithmetic.
 */
import type { Backend } from "../../nn/backend.ts";
import { HeaDvae } from "../../nn/models/hea_dvae.ts";
import { StandardScaler } from "../../data/scaler.ts";
import { Rng } from "../../nn/random.ts";

/** The model, its scalers, and the classifier weights as float64 host arrays. */
export interface HeaModelFixture {
  model: HeaDvae;
  scalers: StandardScaler[];
  /** Per member, per classifier layer: weight [in·out] (row-major, in × out) and bias [out]. */
  layers: { w: Float64Array; b: Float64Array; inF: number; outF: number }[][];
}

/** Builds the fixture on `be` (R members, optional composition branch). */
export async function heaModelFixture(
  be: Backend,
  R: number,
  compositionBranch: boolean,
  seed = 3,
): Promise<HeaModelFixture> {
  const model = new HeaDvae({ hidden: [6, 5], replicas: R, compositionBranch, seed, backend: be });
  const rng = new Rng(seed, 77);
  for (const { name, tensor } of model.namedTensors()) {
    if (name.endsWith(".bias")) {
      be.write(tensor, Float32Array.from({ length: tensor.size }, () => 0.5 * rng.normal()));
    }
  }
  model.eval();
  // Scalers roughly matching descriptor magnitudes (k, Vm, Tm, VEC, δ, Δχ, ΔS, ΔH), different per member.
  const mean = [150, 8, 1700, 7.5, 5, 0.12, 12, -8], scale = [40, 1.5, 300, 1.5, 2, 0.06, 2, 6];
  const scalers = Array.from(
    { length: R },
    (_, r) => new StandardScaler(mean.map((m) => m * (1 + 0.05 * r)), scale.map((s) => s * (1 + 0.1 * r))),
  );
  const layers: HeaModelFixture["layers"] = Array.from({ length: R }, () => []);
  for (const d of model.classifier.layers) {
    const w = await d.weight.read(), b = await d.bias!.read();
    const per = d.inFeatures * d.outFeatures;
    for (let r = 0; r < R; r++) {
      layers[r].push({
        w: Float64Array.from(w.subarray(r * per, (r + 1) * per)),
        b: Float64Array.from(b.subarray(r * d.outFeatures, (r + 1) * d.outFeatures)),
        inF: d.inFeatures,
        outF: d.outFeatures,
      });
    }
  }
  return { model, scalers, layers };
}

const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** Mean over members of σ(MLP(standardised descriptors [, composition])) in float64. */
export function hostProbability(
  f: HeaModelFixture,
  desc: ArrayLike<number>,
  comp: ArrayLike<number> | null,
): number {
  let sum = 0;
  f.layers.forEach((layers, r) => {
    let h = Array.from({ length: 8 }, (_, j) => (desc[j] - f.scalers[r].mean[j]) / f.scalers[r].scale[j]);
    if (comp) h = [...h, ...Array.from(comp)];
    layers.forEach((L, li) => {
      const y = Array.from(L.b);
      for (let i = 0; i < L.inF; i++) for (let j = 0; j < L.outF; j++) y[j] += h[i] * L.w[i * L.outF + j];
      h = li < layers.length - 1 ? y.map(softplus) : y;
    });
    sum += 1 / (1 + Math.exp(-h[0]));
  });
  return sum / f.layers.length;
}

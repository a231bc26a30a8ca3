/**
 * Training benchmark: an MLP 57-64-64-1 (ReLU) trained with Adam on 650 synthetic rows in batches of 32, the size of
 * the hardness problem. Each epoch records all its steps into the open command encoder; the loss stays on the device
 * and is read once at the end. Reported: median ms per epoch (throughput, K epochs per wait) and one epoch including
 * its loss readback.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { Dense } from "../nn/layers/dense.ts";
import { Adam } from "../nn/optim/adam.ts";
import { valueAndGrad } from "../nn/autodiff.ts";
import { keep, scope } from "../nn/scope.ts";
import { loss } from "../nn/ops/fused.ts";
import { mean } from "../nn/ops/reduce.ts";
import { add } from "../nn/ops/elementwise.ts";
import { Rng } from "../nn/random.ts";
import type { Tensor } from "../nn/tensor.ts";
import type { BenchResult } from "./kernels.ts";
import { type HardnessArrays, trainVibann } from "../nn/train/vibann_trainer.ts";

/** Synthetic data with the hardness problem's shape: 538 rows of 56-element compositions (430 train, 108 val). */
function hardnessLike(seed = 1): HardnessArrays {
  const rng = new Rng(seed);
  const N = 538, E = 56;
  const comp = new Float32Array(N * E), load = new Float64Array(N), hv = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const els = rng.shuffle([...Array(E).keys()]).slice(0, 3 + rng.int(4));
    let s = 0;
    const w = els.map(() => 0.1 + rng.uniform());
    for (const v of w) s += v;
    els.forEach((e, k) => (comp[i * E + e] = w[k] / s));
    load[i] = [0.01, 0.49, 0.98, 1.96, 9.8][rng.int(5)];
    hv[i] = 400 + 1500 * comp[i * E + els[0]] + 50 * Math.log(load[i] + 1);
  }
  return { comp, elements: E, load, hv, weight: new Float64Array(N).fill(1) };
}

/**
 * Seconds per epoch of the reference VIBANN (430 train rows, batch 32, validation and on-device control included)
 * with R replicas, from the difference of two runs (so pipeline compilation and set-up cancel).
 */
async function vibannEpochSeconds(be: Backend, R: number, epochs: number): Promise<number> {
  const data = hardnessLike();
  const rows = [...Array(538).keys()];
  const plans = Array.from({ length: R }, (_, r) => ({
    label: `r${r}`,
    train: rows.slice(0, 430),
    val: rows.slice(430),
    latentDim: 64,
    dropout: 0.11,
    seed: r,
  }));
  const time = async (n: number) => {
    const t0 = performance.now();
    const res = await trainVibann(be, data, plans, { epochs: n, patience: 10_000 }, 1);
    res.model.dispose();
    return (performance.now() - t0) / 1000;
  };
  await time(1); // compile pipelines
  const a = await time(2), b = await time(2 + epochs);
  return Math.max(1e-9, (b - a) / epochs);
}

/** Builds the model, optimiser and data, and returns a function that records one epoch and returns its loss sum. */
export function mlpEpoch(be: Backend, rows = 650, batch = 32, seed = 0) {
  const rng = new Rng(seed);
  const F = 57;
  const x = Float32Array.from({ length: rows * F }, () => rng.uniform());
  const y = Float32Array.from({ length: rows }, (_, i) => Math.sin(x[i * F]) + x[i * F + 1] * x[i * F + 2]);
  const l1 = new Dense(F, 64, { activation: "relu", seed: 1, backend: be });
  const l2 = new Dense(64, 64, { activation: "relu", seed: 2, backend: be });
  const l3 = new Dense(64, 1, { seed: 3, backend: be });
  const params = [...l1.parameters(), ...l2.parameters(), ...l3.parameters()];
  const opt = new Adam(params, { lr: 1e-3 });
  // Device-resident batches: uploaded once, so an epoch is pure GPU work.
  const batches: [Tensor, Tensor][] = [];
  for (let s = 0; s < rows; s += batch) {
    const n = Math.min(batch, rows - s);
    batches.push([
      keep(be.fromData(x.subarray(s * F, (s + n) * F), [n, F])),
      keep(be.fromData(y.subarray(s, s + n), [n, 1])),
    ]);
  }
  const epoch = (): Tensor =>
    scope(() => {
      let total: Tensor | null = null;
      for (const [xb, yb] of batches) {
        const [l, g] = valueAndGrad(
          () => mean(loss("weighted_mse", l3.forward(l2.forward(l1.forward(xb))), yb)),
          params,
        )();
        opt.update(g);
        total = total ? add(total, l) : l;
      }
      return total!;
    });
  return { epoch, steps: batches.length };
}

/** Runs the training suite. */
export async function benchTrain(
  be: Backend,
  quick: boolean,
  progress: (l: string) => void,
): Promise<BenchResult[]> {
  progress("bench train: mlp 57-64-64-1, 650 rows, batch 32, Adam");
  const { epoch, steps } = mlpEpoch(be);
  await epoch().read(); // warm-up (pipelines)
  const K = quick ? 5 : 20;
  const rounds: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    let last: Tensor | null = null;
    for (let e = 0; e < K; e++) {
      last?.dispose();
      last = epoch();
      be.flush();
    }
    const v = await last!.read();
    last!.dispose();
    if (!Number.isFinite(v[0])) throw new Error("bench train: loss is not finite");
    rounds.push((performance.now() - t0) / K);
  }
  rounds.sort((a, b) => a - b);
  const t0 = performance.now();
  const l = epoch();
  await l.read();
  l.dispose();
  const withRead = performance.now() - t0;
  const out: BenchResult[] = [];
  for (const R of quick ? [1, 10] : [1, 50]) {
    progress(`bench train: VIBANN reference epoch, ${R} replica(s)`);
    const sec = await vibannEpochSeconds(be, R, quick ? 2 : 5);
    out.push({
      suite: "train",
      name: "vibann_reference_epoch",
      shape: [430, 32, R],
      median_ms: +(sec * 1000).toFixed(3),
      replicas: R,
      model_epochs_per_s: +(R / sec).toFixed(3),
      device: be.kind,
    });
  }
  return [...out, {
    suite: "train",
    name: "mlp_epoch",
    shape: [650, 57, 64, 64, 1],
    median_ms: +rounds[1].toFixed(3),
    epoch_with_readback_ms: +withRead.toFixed(3),
    steps_per_epoch: steps,
    device: be.kind,
  }];
}

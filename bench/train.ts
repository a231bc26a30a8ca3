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
  return [{
    suite: "train",
    name: "mlp_epoch",
    shape: [650, 57, 64, 64, 1],
    median_ms: +rounds[1].toFixed(3),
    epoch_with_readback_ms: +withRead.toFixed(3),
    steps_per_epoch: steps,
    device: be.kind,
  }];
}

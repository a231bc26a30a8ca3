/**
 * A long training loop on WebGPU must reach a steady state: after warm-up no new GPU buffers or pipelines are
 * created, and every step's tensors return to the pool.
 */
import { gpu, HAS_GPU, randn, randu } from "../_helpers.ts";
import type { Tensor } from "../../nn/tensor.ts";
import type { Backend } from "../../nn/backend.ts";
import { valueAndGrad } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { loss, mean } from "../../nn/ops.ts";
import { Module } from "../../nn/layers/module.ts";
import { Dense } from "../../nn/layers/dense.ts";
import { BatchNorm1d } from "../../nn/layers/batch_norm.ts";
import { Dropout } from "../../nn/layers/dropout.ts";
import { Adam } from "../../nn/optim/adam.ts";

class Mlp extends Module {
  readonly d1: Dense;
  readonly bn: BatchNorm1d;
  readonly drop: Dropout;
  readonly d2: Dense;
  constructor(backend: Backend) {
    super();
    this.d1 = new Dense(57, 64, { activation: "relu", backend, seed: 1 });
    this.bn = new BatchNorm1d(64, { backend });
    this.drop = new Dropout(0.1, { seed: 2 });
    this.d2 = new Dense(64, 1, { backend, seed: 3 });
  }
  forward(x: Tensor): Tensor {
    return this.d2.forward(this.drop.forward(this.bn.forward(this.d1.forward(x))));
  }
}

Deno.test({
  name: "memory: 1000 WebGPU training steps create no buffers or pipelines after warm-up and free every step",
  ignore: !HAS_GPU,
  async fn() {
    const be = (await gpu())!;
    const B = 32, STEPS = 1000, WARMUP = 3, FLUSH_EVERY = 50;
    const model = new Mlp(be);
    const opt = new Adam(model.parameters(), { lr: 1e-3, clipNorm: 1 });
    const batches = [0, 1].map((k) => ({
      x: randn(B * 57, 10 + k),
      y: randn(B, 20 + k),
      w: randu(B, 30 + k, 0.5, 1.5),
    }));
    const x = be.empty([B, 57]), y = be.empty([B, 1]), w = be.empty([B]);
    const step = (i: number): Tensor => {
      const b = batches[i % 2];
      be.write(x, b.x), be.write(y, b.y), be.write(w, b.w);
      return scope(() => {
        const [l, grads] = valueAndGrad(
          () => mean(loss("weighted_mse", model.forward(x), y, w)),
          opt.params,
        )();
        opt.update(grads);
        return l;
      });
    };
    const first = step(0);
    const firstLoss = await first.item(); // the one read before the loop
    first.dispose();
    for (let i = 1; i < WARMUP; i++) step(i).dispose();
    be.flush();
    const created = be.rec.pool.stats().created;
    const live = be.rec.pool.stats().liveBuffers;
    const pipelines = be.rec.pipelines.size;
    let last: Tensor | null = null;
    for (let i = WARMUP; i < STEPS; i++) {
      last?.dispose();
      last = step(i);
      if (i % FLUSH_EVERY === 0) {
        be.flush();
        const s = be.rec.pool.stats();
        if (s.created !== created) {
          throw new Error(`step ${i}: ${s.created - created} new buffers after warm-up`);
        }
        if (s.liveBuffers !== live + 1) {
          throw new Error(`step ${i}: ${s.liveBuffers - live - 1} buffers leaked`);
        }
      }
    }
    const finalLoss = await last!.item();
    last!.dispose();
    const s = be.rec.pool.stats();
    if (s.created !== created) throw new Error(`${s.created - created} buffers created after warm-up`);
    if (s.liveBuffers !== live) throw new Error(`live buffers ${s.liveBuffers}, baseline ${live}`);
    if (be.rec.pipelines.size !== pipelines) {
      throw new Error(`pipelines grew from ${pipelines} to ${be.rec.pipelines.size}`);
    }
    if (!(finalLoss < firstLoss)) throw new Error(`loss did not decrease: ${firstLoss} → ${finalLoss}`);
    for (const p of model.parameters()) {
      const d = await p.read();
      if (!d.every(Number.isFinite)) throw new Error(`${p.toString()} has non-finite values`);
    }
    model.dispose(), opt.dispose(), x.dispose(), y.dispose(), w.dispose();
  },
});

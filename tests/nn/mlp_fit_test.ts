/**
 * End-to-end: an MLP fits y = sin(x₁) + 0.5·x₂² on 256 seeded points with Adam. The loss is read only at the end.
 */
import { cpu, gpu, HAS_GPU, randu } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { valueAndGrad } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { mean, square, sub } from "../../nn/ops.ts";
import { Module } from "../../nn/layers/module.ts";
import { Dense } from "../../nn/layers/dense.ts";
import { Adam } from "../../nn/optim/adam.ts";

// 400 steps reach MSE ≈ 1.2e-3 on both devices (target variance ≈ 0.85), so the threshold has an ~8× margin.
const N = 256, STEPS = 400, THRESHOLD = 0.01;

class Mlp extends Module {
  readonly l1: Dense;
  readonly l2: Dense;
  readonly l3: Dense;
  constructor(backend: Backend) {
    super();
    this.l1 = new Dense(2, 32, { activation: "tanh", seed: 1, backend });
    this.l2 = new Dense(32, 32, { activation: "tanh", seed: 2, backend });
    this.l3 = new Dense(32, 1, { seed: 3, backend });
  }
  forward(x: Tensor): Tensor {
    return this.l3.forward(this.l2.forward(this.l1.forward(x)));
  }
}

/** Trains for STEPS full-batch steps and returns the final training MSE (the only read). */
async function fit(be: Backend): Promise<number> {
  const xs = randu(2 * N, 42, -2, 2);
  const ys = Float32Array.from({ length: N }, (_, i) => Math.sin(xs[2 * i]) + 0.5 * xs[2 * i + 1] ** 2);
  const x = be.fromData(xs, [N, 2]), y = be.fromData(ys, [N, 1]);
  const model = new Mlp(be);
  const opt = new Adam(model.parameters(), { lr: 0.01 });
  const mse = () => mean(square(sub(model.forward(x), y)));
  for (let s = 0; s < STEPS; s++) {
    scope(() => {
      const [, grads] = valueAndGrad(mse, opt.params)();
      opt.update(grads);
    });
  }
  const final = scope(() => mse());
  const v = await final.item();
  final.dispose(), model.dispose(), opt.dispose(), x.dispose(), y.dispose();
  return v;
}

for (const [name, get] of [["CPU", () => Promise.resolve(cpu)], ["WebGPU", gpu]] as const) {
  Deno.test({
    name:
      `mlp fit: y = sin(x1) + 0.5·x2² reaches training MSE < ${THRESHOLD} in ${STEPS} Adam steps (${name})`,
    ignore: name === "WebGPU" && !HAS_GPU,
    async fn() {
      const v = await fit((await get())!);
      if (!(v < THRESHOLD)) throw new Error(`final MSE ${v} ≥ ${THRESHOLD}`);
    },
  });
}

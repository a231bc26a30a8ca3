/**
 * R replicas of a model trained as one batched program must equal R separately built and trained models (seeded with
 * replicaSeed), each on its own data: same losses at every step and same final parameters.
 */
import { assertClose, cpu64, gpu, HAS_GPU, randn, randu } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import { CpuBackend } from "../../nn/cpu_backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { valueAndGrad } from "../../nn/autodiff.ts";
import { keep, scope } from "../../nn/scope.ts";
import { loss, mean, sum } from "../../nn/ops.ts";
import { Module } from "../../nn/layers/module.ts";
import { Dense, replicaSeed } from "../../nn/layers/dense.ts";
import { BatchNorm1d } from "../../nn/layers/batch_norm.ts";
import { Adam, type AdamOptions } from "../../nn/optim/adam.ts";

const R = 3, B = 8, F = 5, H = 7, STEPS = 20;
const SEED1 = 11, SEED2 = 23;

class Mlp extends Module {
  readonly d1: Dense;
  readonly bn: BatchNorm1d;
  readonly d2: Dense;
  constructor(backend: Backend, replicas: number, seed1: number, seed2: number) {
    super();
    this.d1 = new Dense(F, H, { activation: "tanh", replicas, seed: seed1, backend });
    this.bn = new BatchNorm1d(H, { replicas, backend });
    this.d2 = new Dense(H, 1, { replicas, seed: seed2, backend });
  }
  forward(x: Tensor): Tensor {
    return this.d2.forward(this.bn.forward(this.d1.forward(x)));
  }
}

/** A tensor's values at full precision (float64 on the f64 CPU backend). */
async function values(t: Tensor): Promise<Float64Array> {
  return Float64Array.from(t.backend instanceof CpuBackend ? t.backend.data(t) : await t.read());
}

/** Per-replica data: x [R, B, F], y [R, B, 1], w [R, B]. */
const X = randn(R * B * F, 1), Y = randn(R * B, 2), W = randu(R * B, 3, 0.5, 1.5);
const part = (a: Float32Array, r: number) => a.subarray((a.length / R) * r, (a.length / R) * (r + 1));

/**
 * Trains `model` for STEPS steps on (x, y, w), which it then frees; `perReplica` reduces the per-row loss to one
 * value per replica, whose sum is minimised. Returns the per-replica losses of every step.
 */
function train(
  be: Backend,
  model: Mlp,
  data: [Tensor, Tensor, Tensor],
  perReplica: (l: Tensor) => Tensor,
  opts: AdamOptions,
): Tensor[] {
  const [x, y, w] = data;
  const opt = new Adam(model.parameters(), { lr: 0.01, ...opts });
  const losses: Tensor[] = [];
  for (let s = 0; s < STEPS; s++) {
    scope(() => {
      const [, grads] = valueAndGrad(() => {
        const l = perReplica(loss("weighted_mse", model.forward(x), y, w));
        losses.push(keep(be.unary("affine", l, 1, 0))); // a copy outliving the step, read at the end
        return sum(l);
      }, opt.params)();
      opt.update(grads);
    });
  }
  opt.dispose(), x.dispose(), y.dispose(), w.dispose();
  return losses;
}

/** Trains replicated and separate models and compares them; returns the replicated model's final parameters. */
async function compare(
  be: Backend,
  tol: { atol: number; rtol: number },
  clipNorm?: number,
): Promise<Float64Array[]> {
  // One replicated model on [R, B, F].
  const rep = new Mlp(be, R, SEED1, SEED2);
  const repLosses = train(
    be,
    rep,
    [be.fromData(X, [R, B, F]), be.fromData(Y, [R, B, 1]), be.fromData(W, [R, B])],
    (l) => mean(l, 1), // [R, B] → [R]: each replica's own mean, summed into the objective
    { clipNorm, replicas: R },
  );
  const repParams = await Promise.all(rep.parameters().map(values));
  const repL = await Promise.all(repLosses.map(values));
  for (let r = 0; r < R; r++) {
    const one = new Mlp(be, 1, replicaSeed(SEED1, r), replicaSeed(SEED2, r));
    const losses = train(
      be,
      one,
      [be.fromData(part(X, r), [B, F]), be.fromData(part(Y, r), [B, 1]), be.fromData(part(W, r), [B])],
      (l) => mean(l, 0, true),
      { clipNorm },
    );
    for (let s = 0; s < STEPS; s++) {
      assertClose(await values(losses[s]), [repL[s][r]], { ...tol, msg: `replica ${r} loss at step ${s}` });
    }
    const params = one.parameters();
    for (let k = 0; k < params.length; k++) {
      const n = params[k].size;
      assertClose(await values(params[k]), repParams[k].subarray(r * n, (r + 1) * n), {
        ...tol,
        msg: `replica ${r} parameter ${k} (${params[k].name})`,
      });
    }
    for (const p of one.states()) {
      const all = await values(rep.states()[one.states().indexOf(p)].value);
      const n = p.value.size;
      assertClose(await values(p.value), all.subarray(r * n, (r + 1) * n), {
        ...tol,
        msg: `replica ${r} BN state`,
      });
    }
    one.dispose();
    for (const t of losses) t.dispose();
  }
  // The replicas really differ (different seeds and data).
  const n0 = repParams[0].length / R;
  if (repParams[0].subarray(0, n0).every((v, i) => v === repParams[0][n0 + i])) {
    throw new Error("replicas equal");
  }
  rep.dispose();
  for (const t of repLosses) t.dispose();
  return repParams;
}

/** Replicas equal separate models with and without (per-replica) gradient clipping, and clipping is active. */
async function compareAll(be: Backend, tol: { atol: number; rtol: number }): Promise<void> {
  const free = await compare(be, tol);
  const clipped = await compare(be, tol, 0.05);
  let changed = 0;
  free.forEach((p, k) => p.forEach((v, i) => changed += Math.abs(v - clipped[k][i]) > 1e-3 ? 1 : 0));
  if (changed === 0) throw new Error("clipNorm 0.05 did not change training: the clipping test is vacuous");
}

Deno.test("replicas: 3 replicated MLPs trained with Adam equal 3 separately seeded models, ± clipNorm (float64 CPU)", async () => {
  await compareAll(cpu64, { atol: 1e-11, rtol: 1e-9 });
});

Deno.test({
  name: "replicas: 3 replicated MLPs trained with Adam equal 3 separately seeded models, ± clipNorm (WebGPU)",
  ignore: !HAS_GPU,
  async fn() {
    await compareAll((await gpu())!, { atol: 2e-5, rtol: 2e-4 });
  },
});

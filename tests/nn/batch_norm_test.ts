/**
 * The fused batch-norm op and the BatchNorm1d layer built on it: finite-difference gradients (float64 CPU), equality
 * with the composed-op formulation the layer used before fusion (outputs, gradients, running statistics), WebGPU
 * against the CPU through the layer, dispatch counts, input validation and freeing of the saved statistics.
 */
import {
  assert,
  assertClose,
  cpu,
  cpu64,
  finiteDifferenceFailure,
  gpu,
  HAS_GPU,
  randn,
  randu,
  take,
} from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { gradients, noGrad } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { ShapeError } from "../../nn/shape.ts";
import { add, addScalar, mean, mul, reciprocal, rsqrt, square, sub, sum } from "../../nn/ops.ts";
import { batchNorm, batchNormInference } from "../../nn/ops/batch_norm.ts";
import { BatchNorm1d } from "../../nn/layers/batch_norm.ts";

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
const EPS = 1e-3;

/** Row mask [R·B]: replica 0 random (≥ 1 real row), 1 a single real row, 2 no real row. */
function maskData(R: number, B: number, seed: number): number[] {
  const m = Array.from(randu(R * B, seed), (u) => (u < 0.6 ? 1 : 0));
  m[0] = 1;
  if (R > 1) m.fill(0, B, 2 * B), m[B + 2] = 1;
  if (R > 2) m.fill(0, 2 * B, 3 * B);
  return m;
}

/**
 * Central-difference check of d Σ(f() ⊙ G)/d inputs on the float64 CPU backend (G random over every row, padded
 * ones included, so the exact gradient is checked).
 */
function fdCheck(f: () => Tensor, inputs: Tensor[], msg: string): void {
  const failure = finiteDifferenceFailure(f, inputs, { seed: 77 });
  assert(failure === null, `${msg}: ${failure}`);
}

function leaf(be: Backend, data: ArrayLike<number>, shape: number[]): Tensor {
  const t = be.fromData(data, shape);
  t.requiresGrad = true;
  return t;
}

Deno.test("batchNorm op: gradients match finite differences (float64 CPU; mask, replicas, B = 1, inference)", () => {
  scope(() => {
    const cases: [number, number, number, boolean][] = [[1, 5, 3, false], [1, 6, 4, true], [3, 5, 4, true], [
      3,
      4,
      2,
      false,
    ], [1, 1, 3, false]];
    for (const [R, B, F, masked] of cases) {
      const xs = R > 1 ? [R, B, F] : [B, F], ps = R > 1 ? [R, 1, F] : [F];
      const x = leaf(cpu64, randn(R * B * F, R + B + F, 2), xs);
      const gamma = leaf(cpu64, randn(R * F, 5).map((v) => v + 1), ps);
      const beta = leaf(cpu64, randn(R * F, 6), ps);
      const mask = masked ? cpu64.fromData(maskData(R, B, 7), [...xs.slice(0, -1), 1]) : null;
      // Running statistics are updated on every call: they must not influence the output or its gradient.
      const running = { mean: cpu64.fill(ps, 0), var: cpu64.fill(ps, 1), momentum: 0.9 };
      fdCheck(
        () => batchNorm(x, gamma, beta, { eps: EPS, mask, running }),
        [x, gamma, beta],
        `train R=${R} B=${B} F=${F} masked=${masked}`,
      );
      const rm = cpu64.fromData(randn(R * F, 8), ps), rv = cpu64.fromData(randu(R * F, 9, 0.5, 2), ps);
      fdCheck(
        () => batchNormInference(x, gamma, beta, rm, rv, EPS),
        [x, gamma, beta],
        `inference R=${R} B=${B}`,
      );
    }
  });
});

Deno.test("batchNorm op, fused block (bias + ReLU, dropout): gradients match finite differences (float64 CPU)", () => {
  scope(() => {
    for (
      const [R, B, F, masked] of [[1, 6, 3, false], [3, 5, 4, true]] as [number, number, number, boolean][]
    ) {
      const xs = R > 1 ? [R, B, F] : [B, F], ps = R > 1 ? [R, 1, F] : [F];
      // Pre-activations kept away from the ReLU kink (|h + bias| ≥ 0.2), about a third of them negative.
      const h0 = randn(R * B * F, 31 + R, 1.5).map((v) => (Math.abs(v) < 0.3 ? v + (v < 0 ? -0.3 : 0.3) : v));
      const h = leaf(cpu64, h0.map((v) => v + 0.5), xs);
      const bias = leaf(cpu64, new Array(R * F).fill(-0.5), ps);
      const gamma = leaf(cpu64, randn(R * F, 32).map((v) => v + 1), ps);
      const beta = leaf(cpu64, randn(R * F, 33), ps);
      const mask = masked ? cpu64.fromData(maskData(R, B, 7), [...xs.slice(0, -1), 1]) : null;
      const rates = cpu64.fromData(Array.from({ length: R }, (_, r) => 0.2 + 0.2 * r), [R]);
      const dropout = { rates, key: { seed: 3, stream: 1 }, step: 2 };
      fdCheck(
        () => batchNorm(h, gamma, beta, { eps: EPS, mask, bias, dropout }),
        [h, gamma, beta, bias],
        `block R=${R} B=${B} F=${F} masked=${masked}`,
      );
    }
  });
});

/** The BatchNorm1d forward before fusion (composed differentiable ops), on the layer's own tensors. */
function composedForward(bn: BatchNorm1d, x: Tensor, mask: Tensor | null): Tensor {
  const axis = x.rank - 2, keepDims = bn.replicas > 1;
  if (!bn.training) {
    const inv = noGrad(() => rsqrt(addScalar(bn.runningVar.value, bn.eps)));
    return add(mul(sub(x, bn.runningMean.value), mul(bn.gamma, inv)), bn.beta);
  }
  let mu: Tensor, xc: Tensor, variance: Tensor;
  if (mask) {
    const inv = noGrad(() => reciprocal(sum(mask, axis, keepDims)));
    mu = mul(sum(mul(x, mask), axis, keepDims), inv);
    xc = sub(x, mu);
    variance = mul(sum(mul(square(xc), mask), axis, keepDims), inv);
  } else {
    mu = mean(x, axis, keepDims);
    xc = sub(x, mu);
    variance = mean(square(xc), axis, keepDims);
  }
  const y = add(mul(mul(xc, rsqrt(addScalar(variance, bn.eps))), bn.gamma), bn.beta);
  noGrad(() => {
    const be = x.backend, m = bn.momentum;
    for (const [state, batch] of [[bn.runningMean, mu], [bn.runningVar, variance]] as const) {
      const a = be.unary("affine", state.value, m, 0), b = be.unary("affine", batch, 1 - m, 0);
      const s = be.binary("add", a, b);
      be.copyInto(state.value, s);
      a.dispose(), b.dispose(), s.dispose();
    }
  });
  return y;
}

/** Outputs, gradients (x, γ, β) and running statistics of 3 training steps then one inference step. */
function layerRun(
  be: Backend,
  R: number,
  B: number,
  F: number,
  masked: boolean,
  composed: boolean,
): Tensor[] {
  return scope(() => {
    const bn = new BatchNorm1d(F, { backend: be, replicas: R, eps: EPS, momentum: 0.9 });
    const xs = R > 1 ? [R, B, F] : [B, F];
    be.write(bn.gamma, randn(R * F, 3).map((v) => v + 1));
    be.write(bn.beta, randn(R * F, 4));
    const mask = masked ? be.fromData(maskData(R, B, 5), [...xs.slice(0, -1), 1]) : null;
    const out: Tensor[] = [];
    for (let step = 0; step < 4; step++) {
      if (step === 3) bn.eval();
      const x = leaf(be, randn(R * B * F, 10 + step, 2).map((v, i) => v + (i % F)), xs);
      const y = composed ? composedForward(bn, x, mask) : bn.forward(x, mask);
      const grads = gradients(y, [x, bn.gamma, bn.beta], be.fromData(randn(y.size, 20 + step), xs));
      out.push(y, ...grads.map((g) => g!));
      out.push(
        be.expand(bn.runningMean.value, bn.gamma.shape),
        be.expand(bn.runningVar.value, bn.gamma.shape),
      );
    }
    bn.dispose();
    return out;
  });
}

// A replica without real rows made the composed form divide by zero, so masked cases here have R ≤ 2 (replicas with
// several real rows and with a single one).
const LAYER_CASES: [number, number, number, boolean][] = [
  [1, 6, 3, false],
  [1, 7, 4, true],
  [2, 5, 3, true],
  [
    3,
    4,
    2,
    false,
  ],
];

Deno.test("BatchNorm1d: the fused layer equals the composed ops (outputs, gradients, running statistics)", () => {
  for (const [R, B, F, masked] of LAYER_CASES) {
    const a = layerRun(cpu64, R, B, F, masked, false), b = layerRun(cpu64, R, B, F, masked, true);
    const names = ["y", "dx", "dgamma", "dbeta", "running mean", "running var"];
    a.forEach((t, k) => {
      assertClose(cpu64.data(t), cpu64.data(b[k]), {
        atol: 1e-11,
        rtol: 1e-10,
        msg: `R=${R} B=${B} F=${F} masked=${masked} step ${Math.floor(k / 6)} ${names[k % 6]}`,
      });
    });
    for (const t of [...a, ...b]) t.dispose();
  }
});

Deno.test({
  name: "BatchNorm1d: WebGPU layer matches the float32 CPU layer over training steps and inference",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    for (
      const [R, B, F, masked] of [...LAYER_CASES, [3, 37, 33, true] as [number, number, number, boolean]]
    ) {
      const a = layerRun(g, R, B, F, masked, false), c = layerRun(cpu, R, B, F, masked, false);
      for (let k = 0; k < a.length; k++) {
        const want = await take(c[k]);
        const scale = maxAbs(want);
        assertClose(await take(a[k]), want, {
          atol: 1e-5 * scale,
          rtol: 1e-5,
          msg: `R=${R} B=${B} output ${k}`,
        });
      }
    }
  },
});

Deno.test({
  name: "BatchNorm1d: forward + backward record 2 dispatches in training (masked) and in inference",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    scope(() => {
      const R = 3, B = 8, F = 5;
      const bn = new BatchNorm1d(F, { backend: g, replicas: R });
      const x = leaf(g, randn(R * B * F, 1), [R, B, F]);
      const mask = g.fromData(maskData(R, B, 2), [R, B, 1]);
      const dy = g.fill([R, B, F], 1);
      for (const training of [true, false]) {
        bn.train(training);
        const d0 = g.rec.dispatches;
        const y = bn.forward(x, mask);
        const d1 = g.rec.dispatches;
        gradients(y, [x, bn.gamma, bn.beta], dy);
        const d2 = g.rec.dispatches;
        assert(d1 - d0 <= 2, `training=${training}: forward recorded ${d1 - d0} dispatches`);
        assert(d2 - d0 <= 2, `training=${training}: forward + backward recorded ${d2 - d0} dispatches`);
      }
      bn.dispose();
    });
    await g.sync();
  },
});

Deno.test({
  name: "batchNorm op: saved statistics are freed when no gradient is recorded (no GPU buffer leak)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const bn = new BatchNorm1d(4, { backend: g });
    const x = g.fromData(randn(24, 1), [6, 4]);
    const live = () => g.rec.pool.stats().liveBuffers;
    const before = live();
    for (let i = 0; i < 5; i++) noGrad(() => bn.forward(x)).dispose();
    assert(live() === before, `${live() - before} buffers leaked`);
    x.dispose(), bn.dispose();
    await g.sync();
  },
});

Deno.test("batchNorm op: rejects mismatched γ, β, running statistics and masks", () => {
  scope(() => {
    const x = cpu.fromData(randn(24, 1), [2, 3, 4]);
    const p = cpu.fill([2, 1, 4], 1), bad = cpu.fill([4], 1);
    const cases: [string, () => unknown][] = [
      ["gamma", () => batchNorm(x, bad, p, { eps: EPS })],
      ["beta", () => batchNorm(x, p, cpu.fill([2, 1, 3], 0), { eps: EPS })],
      ["mask", () => batchNorm(x, p, p, { eps: EPS, mask: cpu.fill([2, 3], 1) })],
      ["running", () => batchNorm(x, p, p, { eps: EPS, running: { mean: bad, var: p, momentum: 0.9 } })],
      ["x", () => batchNorm(cpu.fill([4], 1), bad, bad, { eps: EPS })],
      ["running var", () => batchNormInference(x, p, p, p, bad, EPS)],
    ];
    for (const [what, f] of cases) {
      let err: unknown = null;
      try {
        f();
      } catch (e) {
        err = e;
      }
      assert(err instanceof ShapeError, `${what}: expected a ShapeError, got ${err}`);
    }
  });
});

/**
 * Element-token attention VIB: shapes, GPU vs CPU, invariance to token order and to empty token slots, the pooled
 * element weights, gradients against float64 finite differences, and a short training run reaching a stated loss.
 */
import { assert, assertClose, assertEquals, cpu, cpu64, gpu, HAS_GPU, take } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { VibannAttention } from "../../nn/models/vibann_attention.ts";
import { gradients } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { add, mulScalar } from "../../nn/ops/elementwise.ts";
import { sum } from "../../nn/ops/reduce.ts";
import { loss } from "../../nn/ops/fused.ts";
import { slice } from "../../nn/ops/movement.ts";
import { concat } from "../../nn/ops/movement.ts";
import { Rng } from "../../nn/random.ts";
import { type HardnessArrays, type ReplicaPlan, trainVibann } from "../../nn/train/vibann_trainer.ts";

const SYMBOLS = ["Fe", "Ni", "Cr", "Co", "Al", "Zr", "Cu"];

/** B random alloys of 2…maxEls elements (never one: its pairwise products would sit on a ReLU kink). */
function compositions(B: number, E: number, seed: number, maxEls = 4): Float32Array {
  const rng = new Rng(seed), c = new Float32Array(B * E);
  for (let i = 0; i < B; i++) {
    const els = rng.shuffle([...Array(E).keys()]).slice(0, 2 + rng.int(maxEls - 1));
    let s = 0;
    const v = els.map(() => 0.05 + rng.uniform());
    v.forEach((x) => (s += x));
    els.forEach((e, k) => (c[i * E + e] = v[k] / s));
  }
  return c;
}

function model(be: Backend, o: Partial<ConstructorParameters<typeof VibannAttention>[0]> = {}) {
  return new VibannAttention({
    elements: SYMBOLS.length,
    elementSymbols: SYMBOLS,
    latentDim: 3,
    dropout: 0.1,
    seed: 5,
    dModel: 8,
    heads: 2,
    layers: 2,
    ffn: 12,
    tokens: 4,
    backend: be,
    ...o,
  });
}

Deno.test("attention VIB: shapes, pooled element weights on the alloy's elements, replicas", async () => {
  const E = SYMBOLS.length, B = 5;
  const m = model(cpu).eval();
  const comp = compositions(B, E, 1);
  const out = m.forward(cpu.fromData(comp, [B, E]), cpu.fromData([0, 1, -1, 0.5, 2], [B, 1]));
  assertEquals(out.y.shape, [B, 1]);
  assertEquals(out.recon.shape, [B, E]);
  assertEquals(out.mu.shape, [B, 3]);
  const gate = await take(out.gate);
  for (let i = 0; i < B; i++) {
    let s = 0;
    for (let e = 0; e < E; e++) {
      if (comp[i * E + e] === 0) assertEquals(gate[i * E + e], 0, `row ${i} element ${e} is absent`);
      s += gate[i * E + e];
    }
    assertClose([s], [1], { atol: 1e-5 });
  }
  const r3 = model(cpu, { replicas: 3, latentDim: [3, 2, 3], dropout: [0.1, 0.2, 0.3] }).eval();
  const o3 = r3.forward(
    cpu.fromData(new Float32Array(3 * B * E).fill(1 / E), [3, B, E]),
    cpu.fill([3, B, 1], 0),
  );
  assertEquals(o3.y.shape, [3, B, 1]);
  const mu = await take(o3.mu);
  for (let i = 0; i < B; i++) {
    assert(mu[(B + i) * 3 + 2] === 0, "replica 1's third latent dimension is masked");
  }
});

Deno.test("attention VIB: the token order does not matter (attention + pooling are permutation invariant)", async () => {
  const E = SYMBOLS.length, B = 4, T = 4;
  const m = model(cpu64).eval();
  const { frac, x, valid } = m.embedTokens(cpu64.fromData(compositions(B, E, 2), [B, E]));
  const a = m.mixTokens(x, frac, valid);
  // Reverse the token axis of every input.
  const rev = (t: Tensor, axis: number) => {
    const parts: Tensor[] = [];
    for (let k = t.shape[axis] - 1; k >= 0; k--) {
      const begin = t.shape.map((_, i) => (i === axis ? k : 0));
      const size = t.shape.map((d, i) => (i === axis ? 1 : d));
      parts.push(slice(t, begin, size));
    }
    return concat(parts, axis);
  };
  const b = m.mixTokens(rev(x, 1), rev(frac, 1), rev(valid, 1));
  assertClose(await take(b.pooled), await take(a.pooled), { atol: 1e-12 });
  assertClose(await take(rev(b.weights, 1)), await take(a.weights), { atol: 1e-12 });
  assertEquals(x.shape, [B, T, 8]);
});

Deno.test("attention VIB: extra empty token slots change nothing (an alloy padded with zero fractions)", async () => {
  const E = SYMBOLS.length, B = 6;
  const m = model(cpu64).eval();
  const comp = cpu64.fromData(compositions(B, E, 3, 4), [B, E]);
  const load = cpu64.fromData([0.3, -1, 0, 1, 2, 0.1], [B, 1]);
  const y4 = await take(m.forward(comp, load).y);
  m.tokens = E; // three more empty slots for every alloy
  const y7 = await take(m.forward(comp, load).y);
  assertClose(y7, y4, { atol: 1e-12 });
  // Truncation is real: an alloy with more elements than slots drops its smallest fraction.
  const six = cpu64.fromData([0.3, 0.25, 0.2, 0.15, 0.06, 0.04, 0], [1, E]);
  m.tokens = 4;
  const a = (await take(m.forward(six, cpu64.fill([1, 1], 0)).y))[0];
  m.tokens = 6;
  const b = (await take(m.forward(six, cpu64.fill([1, 1], 0)).y))[0];
  assert(Math.abs(a - b) > 1e-9, "with fewer slots than elements the smallest fractions are dropped");
});

Deno.test("attention VIB: full-model gradient (parameters and composition) matches float64 finite differences", () => {
  const E = SYMBOLS.length, B = 5;
  const be = cpu64;
  const m = model(be, { dropout: 0 });
  const comp = be.fromData(compositions(B, E, 4), [B, E]);
  comp.requiresGrad = true;
  // The reconstruction target is a constant copy (the fused loss differentiates its prediction only).
  const target = be.fromData(compositions(B, E, 4), [B, E]);
  const load = be.fromData([0.31, -0.7, 0.45, 1.2, -0.2], [B, 1]);
  const y = be.fromData([0.5, -1, 0.2, 1.3, -0.4], [B, 1]);
  const w = be.fromData([1, 0.5, 2, 1, 1.5], [B]);
  const objective = () => {
    m.sampleCalls = 0;
    const out = m.forward(comp, load);
    const rows = add(
      add(loss("weighted_mse", out.y, y, w), mulScalar(loss("kl_categorical", out.recon, target, w), 0.5)),
      mulScalar(out.kl, 0.01),
    );
    return mulScalar(sum(rows), 1 / B);
  };
  m.train();
  const params = [comp, ...m.parameters()];
  const grads = scope(() => gradients(objective(), params).map((g) => Array.from(be.data(g!))));
  const rng = new Rng(9);
  let checked = 0;
  params.forEach((p, pi) => {
    const data = be.data(p);
    for (let t = 0; t < 2; t++) {
      const k = rng.int(p.size);
      // Composition entries: only present elements (an absent one is not a token; its derivative is one-sided).
      if (pi === 0 && data[k] === 0) continue;
      const orig = data[k], h = 1e-6;
      data[k] = orig + h;
      const up = scope(() => be.data(objective())[0]);
      data[k] = orig - h;
      const dn = scope(() => be.data(objective())[0]);
      data[k] = orig;
      assertClose([grads[pi][k]], [(up - dn) / (2 * h)], { atol: 1e-6, rtol: 1e-4, msg: `${p.name}[${k}]` });
      checked++;
    }
  });
  assert(checked >= 60, `checked ${checked} entries`);
});

Deno.test({
  name: "attention VIB: GPU forward (training and inference) equals the CPU reference",
  ignore: !HAS_GPU,
  fn: async () => {
    const be = (await gpu())!;
    const E = SYMBOLS.length, R = 2, B = 9;
    const comp = compositions(R * B, E, 6),
      loads = Float32Array.from({ length: R * B }, (_, i) => (i % 5) - 2);
    const o = { replicas: R, latentDim: [3, 2], dropout: [0.2, 0.1] };
    for (const training of [false, true]) {
      const run = async (b: Backend) => {
        const m = model(b, o);
        if (training) m.train();
        else m.eval();
        const out = m.forward(b.fromData(comp, [R, B, E]), b.fromData(loads, [R, B, 1]));
        return { y: await take(out.y), gate: await take(out.gate), recon: await take(out.recon) };
      };
      const c = await run(cpu), g = await run(be);
      assertClose(g.y, c.y, { atol: 2e-4, rtol: 2e-3, msg: `y (training ${training})` });
      assertClose(g.gate, c.gate, { atol: 1e-5, msg: "gate" });
      assertClose(g.recon, c.recon, { atol: 1e-5, msg: "recon" });
    }
  },
});

Deno.test("attention VIB: a short training run on a synthetic problem reaches a stated validation loss", async () => {
  const E = SYMBOLS.length, N = 96;
  const rng = new Rng(3);
  const comp = compositions(N, E, 7);
  const coef = SYMBOLS.map(() => 200 + 1500 * rng.uniform());
  const load = new Float64Array(N), hv = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    load[i] = [0.1, 0.5, 1, 5][rng.int(4)];
    let h = 0;
    for (let e = 0; e < E; e++) h += coef[e] * comp[i * E + e];
    hv[i] = h * (1 - 0.05 * Math.log10(load[i]));
  }
  const data: HardnessArrays = { comp, elements: E, load, hv, weight: new Float64Array(N).fill(1) };
  const rows = [...Array(N).keys()];
  const plan: ReplicaPlan = {
    label: "a",
    train: rows.slice(0, 80),
    val: rows.slice(80),
    latentDim: 4,
    dropout: 0.05,
    seed: 1,
  };
  const res = await trainVibann(cpu, data, [plan], {
    epochs: 60,
    batchSize: 16,
    lr: 3e-3,
    patience: 60,
    beta: { mode: "anneal", max: 1e-3, warmupEpochs: 20 },
    arch: {
      arch: "attention",
      elementSymbols: SYMBOLS,
      attention: { dModel: 16, heads: 2, layers: 1, ffn: 32, tokens: 5 },
    },
  }, 2);
  const c = res.curves[0], first = c[0].valMse, best = res.bestValMse[0], mse = c[c.length - 1].mse;
  // Standardised targets: predicting the mean gives ~1. Stated goals after 60 epochs: training MSE < 0.3, and a
  // validation MSE at least 30 % below the first epoch's (validation uses BatchNorm running statistics, momentum
  // 0.99, which lag in a 300-step run: the reference architecture gets 2.27 → 1.62 here).
  assert(mse < 0.3, `training MSE ${c[0].mse} → ${mse}`);
  assert(best < first * 0.7, `validation MSE fell from ${first} to ${best}`);
  res.model.dispose();
});

Deno.test("attention VIB: with the fraction bias the prediction is continuous as a fraction goes to 0 (without: a jump)", async () => {
  const E = SYMBOLS.length;
  const base = [0.5, 0.3, 0.2, 0, 0, 0, 0];
  const at = (eps: number) => {
    const c = base.slice();
    c[5] = eps; // Zr appears with fraction eps (the model renormalises the row)
    return c;
  };
  const epsilons = [1e-2, 1e-4, 1e-6, 1e-8];
  const gaps = async (fractionBias: boolean) => {
    const m = model(cpu64, { fractionBias }).eval();
    const rows = [base, ...epsilons.map(at)];
    const comp = cpu64.fromData(rows.flat(), [rows.length, E]);
    const y = await take(m.forward(comp, cpu64.fill([rows.length, 1], 0.4)).y);
    return epsilons.map((_, i) => Math.abs(y[i + 1] - y[0]));
  };
  const on = await gaps(true), off = await gaps(false);
  // With the bias the gap shrinks like eps (the key weight is ∝ f): ≤ 1e-5 at eps = 1e-8, and monotone.
  assert(on[3] < 1e-5, `gap at 1e-8 with the bias: ${on}`);
  for (let i = 1; i < on.length; i++) assert(on[i] <= on[i - 1] + 1e-12, `not shrinking: ${on}`);
  // Without it the element keeps its full attention weight: the gap stays put as eps → 0.
  assert(
    off[3] > 1e-4 && off[3] > 0.5 * off[1] && off[3] > 100 * on[3],
    `gap without the bias: ${off} (with: ${on})`,
  );
});

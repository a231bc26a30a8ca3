/** Layers against hand computations: BatchNorm1d, MC dropout, LayerNorm, Embedding, MultiHeadAttention, Dense. */
import { assertClose, cpu, cpu64, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { gradients } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { mul, sum } from "../../nn/ops.ts";
import { Module } from "../../nn/layers/module.ts";
import { BatchNorm1d } from "../../nn/layers/batch_norm.ts";
import { Dropout } from "../../nn/layers/dropout.ts";
import { LayerNorm } from "../../nn/layers/layer_norm.ts";
import { Embedding } from "../../nn/layers/embedding.ts";
import { MultiHeadAttention } from "../../nn/layers/multi_head_attention.ts";
import { Dense, replicaSeed } from "../../nn/layers/dense.ts";

const arr = (t: Tensor) => Array.from(cpu64.data(t));

/** Column statistics of a row-major [n, f] matrix (population variance). */
function colStats(x: ArrayLike<number>, n: number, f: number): { mu: number[]; v: number[] } {
  const mu = new Array(f).fill(0), v = new Array(f).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) mu[j] += x[i * f + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < f; j++) v[j] += (x[i * f + j] - mu[j]) ** 2 / n;
  return { mu, v };
}

Deno.test("BatchNorm1d: training uses batch statistics and updates running ones (eps 1e-3, momentum 0.99)", () => {
  scope(() => {
    const N = 5, F = 3, eps = 1e-3;
    const bn = new BatchNorm1d(F, { backend: cpu64 });
    const gamma = [1.5, -0.5, 2], beta = [0.1, 0.2, -0.3];
    cpu64.write(bn.gamma, gamma), cpu64.write(bn.beta, beta);
    let rm = [0, 0, 0], rv = [1, 1, 1];
    for (const seed of [1, 2]) {
      const xd = randn(N * F, seed, 2).map((v, i) => v + i % F);
      const y = bn.forward(cpu64.fromData(xd, [N, F]));
      const { mu, v } = colStats(xd, N, F);
      const want = Array.from(xd, (x, i) => {
        const j = i % F;
        return (x - mu[j]) / Math.sqrt(v[j] + eps) * gamma[j] + beta[j];
      });
      assertClose(arr(y), want, { atol: 1e-12, rtol: 1e-10, msg: "train output" });
      rm = rm.map((r, j) => 0.99 * r + 0.01 * mu[j]);
      rv = rv.map((r, j) => 0.99 * r + 0.01 * v[j]);
      assertClose(arr(bn.runningMean.value), rm, { atol: 1e-12, rtol: 1e-10, msg: "running mean" });
      assertClose(arr(bn.runningVar.value), rv, { atol: 1e-12, rtol: 1e-10, msg: "running var" });
    }
    bn.eval();
    const xd = randn(N * F, 3);
    const y = bn.forward(cpu64.fromData(xd, [N, F]));
    const want = Array.from(xd, (x, i) => {
      const j = i % F;
      return (x - rm[j]) / Math.sqrt(rv[j] + eps) * gamma[j] + beta[j];
    });
    assertClose(arr(y), want, { atol: 1e-12, rtol: 1e-10, msg: "inference output" });
    assertClose(arr(bn.runningMean.value), rm, {
      atol: 1e-12,
      rtol: 1e-10,
      msg: "inference must not update",
    });
    // Gradients reach gamma and beta in both modes.
    const [gg, gb] = gradients(sum(y), [bn.gamma, bn.beta]);
    assertClose(arr(gb!), [N, N, N], { atol: 1e-12, rtol: 0 });
    const wantG = [0, 1, 2].map((j) => {
      let s = 0;
      for (let i = 0; i < N; i++) s += (xd[i * F + j] - rm[j]) / Math.sqrt(rv[j] + eps);
      return s;
    });
    assertClose(arr(gg!), wantG, { atol: 1e-12, rtol: 1e-10 });
    bn.dispose();
  });
});

/** Central-difference check of d Σ(f() ⊙ G) / d inputs on the f64 CPU backend. */
function fdCheck(f: () => Tensor, inputs: Tensor[], msg: string): void {
  scope(() => {
    const y = f();
    const G = randn(y.size, 77);
    const grads = gradients(y, inputs, cpu64.fromData(G, y.shape));
    const at = () =>
      scope(() => {
        const d = cpu64.data(f());
        let acc = 0;
        for (let i = 0; i < d.length; i++) acc += d[i] * G[i];
        return acc;
      });
    inputs.forEach((t, k) => {
      const d = cpu64.data(t), fd: number[] = [];
      for (let i = 0; i < d.length; i++) {
        const x0 = d[i];
        d[i] = x0 + 1e-6;
        const lp = at();
        d[i] = x0 - 1e-6;
        const lm = at();
        d[i] = x0;
        fd.push((lp - lm) / 2e-6);
      }
      assertClose(arr(grads[k]!), fd, { atol: 1e-6, rtol: 1e-6, msg: `${msg} input ${k}` });
    });
  });
}

Deno.test("layers: gradients of BatchNorm1d (training and inference), LayerNorm and replicated Dense match FD", () => {
  scope(() => {
    const x = cpu64.fromData(randn(15, 21, 2), [5, 3]);
    x.requiresGrad = true;
    const bn = new BatchNorm1d(3, { backend: cpu64 });
    cpu64.write(bn.gamma, [1.5, -0.5, 2]), cpu64.write(bn.beta, [0.1, 0.2, -0.3]);
    fdCheck(() => bn.forward(x), [x, bn.gamma, bn.beta], "BatchNorm1d train");
    bn.eval();
    fdCheck(() => bn.forward(x), [x, bn.gamma, bn.beta], "BatchNorm1d eval");
    const ln = new LayerNorm(3, { backend: cpu64 });
    cpu64.write(ln.gamma, [0.5, 1, -2]);
    fdCheck(() => ln.forward(x), [x, ln.gamma, ln.beta], "LayerNorm");
    const xr = cpu64.fromData(randn(24, 22), [2, 3, 4]);
    xr.requiresGrad = true;
    const d = new Dense(4, 3, { replicas: 2, seed: 1, backend: cpu64, activation: "gelu" });
    cpu64.write(d.bias!, randn(6, 23));
    const bnr = new BatchNorm1d(3, { backend: cpu64, replicas: 2 });
    fdCheck(
      () => bnr.forward(d.forward(xr)),
      [xr, d.weight, d.bias!, bnr.gamma],
      "replicated Dense + BatchNorm1d",
    );
    for (const m of [bn, ln, d, bnr]) m.dispose();
  });
});

Deno.test("BatchNorm1d: replicas normalise each replica with its own statistics", () => {
  scope(() => {
    const R = 2, N = 4, F = 3;
    const bn = new BatchNorm1d(F, { backend: cpu64, replicas: R });
    const xd = randn(R * N * F, 4, 3);
    const y = arr(bn.forward(cpu64.fromData(xd, [R, N, F])));
    for (let r = 0; r < R; r++) {
      const xr = xd.subarray(r * N * F, (r + 1) * N * F);
      const { mu, v } = colStats(xr, N, F);
      const want = Array.from(xr, (x, i) => (x - mu[i % F]) / Math.sqrt(v[i % F] + 1e-3));
      assertClose(y.slice(r * N * F, (r + 1) * N * F), want, {
        atol: 1e-12,
        rtol: 1e-10,
        msg: `replica ${r}`,
      });
      assertClose(arr(bn.runningMean.value).slice(r * F, (r + 1) * F), mu.map((m) => 0.01 * m), {
        atol: 1e-12,
        rtol: 1e-10,
      });
    }
    bn.dispose();
  });
});

class BnDrop extends Module {
  bn = new BatchNorm1d(4, { backend: cpu64 });
  drop = new Dropout(0.4, { seed: 11 });
  forward(x: Tensor): Tensor {
    return this.drop.forward(this.bn.forward(x));
  }
}

Deno.test("MC dropout: eval(true) keeps dropout active with BatchNorm in inference mode; eval() turns it off", () => {
  scope(() => {
    const m = new BnDrop();
    m.forward(cpu64.fromData(randn(24, 5, 2), [6, 4])); // one training step: non-trivial running statistics
    const rm = arr(m.bn.runningMean.value), rv = arr(m.bn.runningVar.value);
    const x = cpu64.fromData(randn(24, 6), [6, 4]);
    const xd = arr(x);
    const inference = xd.map((v, i) => (v - rm[i % 4]) / Math.sqrt(rv[i % 4] + 1e-3));

    m.eval();
    if (m.drop.active || m.bn.training) throw new Error("eval() left training behaviour on");
    assertClose(arr(m.forward(x)), inference, { atol: 1e-12, rtol: 1e-10, msg: "eval()" });

    m.eval(true);
    if (!m.drop.active || m.bn.training) throw new Error("eval(true) must enable dropout only");
    const a = arr(m.forward(x)), b = arr(m.forward(x));
    for (const y of [a, b]) {
      let zeros = 0;
      y.forEach((v, i) => {
        if (v === 0) zeros++;
        else assertClose([v], [inference[i] / 0.6], { atol: 1e-12, rtol: 1e-10, msg: `MC sample at ${i}` });
      });
      if (zeros === 0 || zeros === y.length) throw new Error(`MC dropout dropped ${zeros}/${y.length}`);
    }
    if (a.every((v, i) => v === b[i])) throw new Error("two MC samples used the same mask");
    assertClose(arr(m.bn.runningMean.value), rm, {
      atol: 0,
      rtol: 0,
      msg: "MC inference updated BN statistics",
    });

    m.eval();
    assertClose(arr(m.forward(x)), inference, { atol: 1e-12, rtol: 1e-10, msg: "eval() after MC" });
    m.train();
    if (!m.drop.active || !m.bn.training) throw new Error("train() did not restore training mode");
    m.dispose();
  });
});

Deno.test("LayerNorm: matches the hand computation over the last axis, with gamma and beta", () => {
  scope(() => {
    const ln = new LayerNorm(5, { backend: cpu64, eps: 1e-5 });
    const gamma = [1, 2, 0.5, -1, 3], beta = [0, 0.1, 0.2, 0.3, 0.4];
    cpu64.write(ln.gamma, gamma), cpu64.write(ln.beta, beta);
    const xd = randn(15, 8, 2);
    const y = arr(ln.forward(cpu64.fromData(xd, [3, 5])));
    const want: number[] = [];
    for (let r = 0; r < 3; r++) {
      const row = Array.from(xd.subarray(r * 5, r * 5 + 5));
      const mu = row.reduce((a, b) => a + b) / 5;
      const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / 5;
      row.forEach((x, j) => want.push((x - mu) / Math.sqrt(v + 1e-5) * gamma[j] + beta[j]));
    }
    assertClose(y, want, { atol: 1e-12, rtol: 1e-10 });
    ln.dispose();
  });
});

Deno.test("Embedding: rows selected by id, gradient scatter-adds over repeated ids", () => {
  scope(() => {
    const emb = new Embedding(4, 3, { backend: cpu64, seed: 1 });
    const table = Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
    cpu64.write(emb.table, table);
    const ids = [2, 0, 2, 3, 2, 1];
    const out = emb.forward(cpu64.fromData(ids, [2, 3], "i32"));
    if (JSON.stringify(out.shape) !== "[2,3,3]") throw new Error(`shape ${out.shape}`);
    assertClose(arr(out), ids.flatMap((id) => table.slice(id * 3, id * 3 + 3)), { atol: 0, rtol: 0 });
    const G = randn(18, 3);
    const [g] = gradients(sum(mul(out, cpu64.fromData(G, [2, 3, 3]))), [emb.table]);
    const want = new Array(12).fill(0);
    ids.forEach((id, p) => {
      for (let d = 0; d < 3; d++) want[id * 3 + d] += G[p * 3 + d];
    });
    assertClose(arr(g!), want, { atol: 1e-12, rtol: 1e-12 });
    emb.dispose();
  });
});

Deno.test("Dense: replica r of a replicated layer is the layer built alone with replicaSeed(seed, r)", () => {
  scope(() => {
    const R = 3, B = 2;
    const rep = new Dense(4, 3, { replicas: R, seed: 5, backend: cpu64, activation: "tanh" });
    if (JSON.stringify(rep.weight.shape) !== "[3,4,3]" || JSON.stringify(rep.bias!.shape) !== "[3,1,3]") {
      throw new Error(`replica layout ${rep.weight.shape} / ${rep.bias!.shape}`);
    }
    cpu64.write(rep.bias!, randn(9, 4));
    const xd = randn(R * B * 4, 6);
    const y = arr(rep.forward(cpu64.fromData(xd, [R, B, 4])));
    for (let r = 0; r < R; r++) {
      const one = new Dense(4, 3, { seed: replicaSeed(5, r), backend: cpu64, activation: "tanh" });
      assertClose(arr(rep.weight).slice(r * 12, r * 12 + 12), arr(one.weight), { atol: 0, rtol: 0 });
      cpu64.write(one.bias!, arr(rep.bias!).slice(r * 3, r * 3 + 3));
      const yr = arr(one.forward(cpu64.fromData(xd.subarray(r * B * 4, (r + 1) * B * 4), [B, 4])));
      assertClose(y.slice(r * B * 3, (r + 1) * B * 3), yr, { atol: 1e-12, rtol: 1e-12, msg: `replica ${r}` });
      one.dispose();
    }
    let msg = "";
    try {
      rep.forward(cpu64.fromData(xd.subarray(0, 16), [4, 4]));
    } catch (e) {
      msg = (e as Error).message;
    }
    if (!msg.includes("[3, batch, 4]")) throw new Error(`unexpected error: ${msg}`);
    rep.dispose();
  });
});

Deno.test("Module: a model built inside a scope keeps its parameters and state", () => {
  const bn = scope(() => new BatchNorm1d(3, { backend: cpu }));
  if (bn.parameters().some((p) => p.disposed) || bn.runningMean.value.disposed) {
    throw new Error("scope disposed module parameters");
  }
  if (bn.parameters().length !== 2 || bn.states().length !== 2) throw new Error("parameter/state listing");
  bn.dispose();
  if (!bn.gamma.disposed || !bn.runningVar.value.disposed) throw new Error("Module.dispose() did not free");
});

Deno.test({
  name: "MultiHeadAttention: WebGPU forward, probabilities and gradients match the CPU",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const B = 2, S = 5, E = 8;
    const xd = randn(B * S * E, 12), G = randn(B * S * E, 13);
    const maskD = [1, 1, 1, 1, 0, 1, 1, 0, 1, 1];
    const run = (be: Backend) =>
      scope(() => {
        const mha = new MultiHeadAttention(E, 2, { backend: be, seed: 3 });
        const x = be.fromData(xd, [B, S, E]);
        x.requiresGrad = true;
        const mask = be.fromData(maskD, [B, S]);
        const y = mha.forward(x, mask);
        const grads = gradients(y, [x, ...mha.parameters()], be.fromData(G, y.shape));
        const probs = mha.probabilities(x, mask);
        const out = [y, probs, ...grads.map((t) => t!)];
        return { out, params: mha.parameters().length, mha };
      });
    const rc = run(cpu), rg = run(g);
    if (rc.params !== 8) throw new Error(`expected 8 parameters, got ${rc.params}`);
    for (let k = 0; k < rc.out.length; k++) {
      const what = k === 0 ? "output" : k === 1 ? "probabilities" : `gradient ${k - 2}`;
      assertClose(await take(rg.out[k]), await take(rc.out[k]), { atol: 2e-5, rtol: 2e-4, msg: what });
    }
    rc.mha.dispose(), rg.mha.dispose();
  },
});

import { assertClose, cpu, cpu64, gpu, HAS_GPU, randn, randu } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import {
  attentionGrad as gpuAttentionGrad,
  attentionGradSpec,
  attentionSpec,
  EMPTY_ROW_LSE as GPU_EMPTY_LSE,
} from "../../kernels/attention.ts";
import { EMPTY_ROW_LSE as CPU_EMPTY_LSE } from "../../nn/cpu/attention.ts";

type Dims5 = [number, number, number, number, number]; // B, S, T, H, D

interface Inputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  g: Float32Array;
  mask: Float32Array | null;
}

function inputs([B, S, T, H, D]: Dims5, mask: number[][] | null, seed = 1): Inputs {
  return {
    q: randn(B * S * H * D, seed),
    k: randn(B * T * H * D, seed + 1),
    v: randn(B * T * H * D, seed + 2),
    g: randn(B * S * H * D, seed + 3),
    mask: mask ? Float32Array.from(mask.flat()) : null,
  };
}

interface Results {
  out: Float32Array;
  lse: Float32Array;
  probs: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** Runs forward, probs and backward on `be` and reads everything back. */
async function runAll(be: Backend, [B, S, T, H, D]: Dims5, x: Inputs, scale: number): Promise<Results> {
  const q = be.fromData(x.q, [B, S, H, D]),
    k = be.fromData(x.k, [B, T, H, D]),
    v = be.fromData(x.v, [B, T, H, D]);
  const dout = be.fromData(x.g, [B, S, H, D]);
  const mask = x.mask ? be.fromData(x.mask, [B, T]) : null;
  const { out, lse } = be.attention(q, k, v, mask, scale);
  const probs = be.attentionProbs(q, k, mask, scale);
  const { dq, dk, dv } = be.attentionGrad(q, k, v, mask, scale, out, lse, dout);
  const shapes: [Tensor, number[]][] = [
    [out, [B, S, H, D]],
    [lse, [B, H, S]],
    [probs, [B, H, S, T]],
    [dq, [B, S, H, D]],
    [dk, [B, T, H, D]],
    [dv, [B, T, H, D]],
  ];
  for (const [t, s] of shapes) {
    if (JSON.stringify(t.shape) !== JSON.stringify(s)) throw new Error(`shape ${t.shape} != ${s}`);
  }
  const r: Results = {
    out: Float32Array.from(await out.read()),
    lse: Float32Array.from(await lse.read()),
    probs: Float32Array.from(await probs.read()),
    dq: Float32Array.from(await dq.read()),
    dk: Float32Array.from(await dk.read()),
    dv: Float32Array.from(await dv.read()),
  };
  for (const t of [q, k, v, dout, mask, out, lse, probs, dq, dk, dv]) t?.dispose();
  return r;
}

function compare(got: Results, want: Results, msg: string): void {
  assertClose(got.out, want.out, { atol: 1e-5, rtol: 1e-4, msg: `${msg} out` });
  assertClose(got.lse, want.lse, { atol: 1e-5, rtol: 1e-5, msg: `${msg} lse` });
  assertClose(got.probs, want.probs, { atol: 1e-6, rtol: 1e-4, msg: `${msg} probs` });
  assertClose(got.dq, want.dq, { atol: 2e-5, rtol: 1e-3, msg: `${msg} dq` });
  assertClose(got.dk, want.dk, { atol: 2e-5, rtol: 1e-3, msg: `${msg} dk` });
  assertClose(got.dv, want.dv, { atol: 2e-5, rtol: 1e-3, msg: `${msg} dv` });
}

/** A random key mask row with at least one valid key. */
function randomRow(T: number, seed: number): number[] {
  const u = randu(T, seed);
  const row = Array.from(u, (x) => (x < 0.6 ? 1 : 0));
  row[seed % T] = 1;
  return row;
}
const allMasked = (T: number) => new Array(T).fill(0);
const oneValid = (T: number, at: number) => Array.from({ length: T }, (_, t) => (t === at ? 1 : 0));

/** Parity cases: shape and the masks to try (null = no mask). */
const CASES: { dims: Dims5; masks: (number[][] | null)[] }[] = [
  { dims: [1, 1, 1, 1, 1], masks: [null, [[1]], [[0]]] },
  { dims: [2, 5, 5, 3, 7], masks: [null, [allMasked(5), oneValid(5, 3)]] },
  { dims: [3, 17, 17, 4, 16], masks: [null, [randomRow(17, 5), allMasked(17), oneValid(17, 16)]] },
  { dims: [2, 64, 64, 2, 64], masks: [null, [randomRow(64, 7), oneValid(64, 63)]] },
  { dims: [1, 8, 3, 16, 4], masks: [null, [[1, 0, 1]]] },
];

for (const { dims, masks } of CASES) {
  Deno.test({
    name: `attention: forward, probs and gradients, GPU matches CPU on (B,S,T,H,D)=(${dims}), ± mask`,
    ignore: !HAS_GPU,
    async fn() {
      const g = (await gpu())!;
      for (const mask of masks) {
        const x = inputs(dims, mask, dims[1] + dims[4]);
        const scale = 1 / Math.sqrt(dims[4]);
        const want = await runAll(cpu, dims, x, scale);
        const got = await runAll(g, dims, x, scale);
        compare(got, want, `(${dims}) mask=${mask ? "yes" : "no"}`);
        // Batches whose keys are all masked: out 0, lse sentinel, gradients exactly 0 (never NaN).
        const [, S, T, H, D] = dims;
        mask?.forEach((row, b) => {
          if (row.some((m) => m !== 0)) return;
          const rows = (a: Float32Array, n: number) => a.subarray(b * n, (b + 1) * n);
          for (
            const [name, a] of [["out", rows(got.out, S * H * D)], ["dq", rows(got.dq, S * H * D)]] as const
          ) {
            if (a.some((z) => z !== 0)) throw new Error(`${name} of fully masked batch ${b} is not 0`);
          }
          if (rows(got.dk, T * H * D).some((z) => z !== 0)) throw new Error("dk of masked keys is not 0");
          if (rows(got.dv, T * H * D).some((z) => z !== 0)) throw new Error("dv of masked keys is not 0");
          if (rows(got.lse, H * S).some((z) => z !== Math.fround(GPU_EMPTY_LSE))) {
            throw new Error("lse sentinel");
          }
        });
      }
    },
  });
}

Deno.test({
  name:
    "attention: the split (two-dispatch) backward equals the fused one and runs are bitwise deterministic",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    for (const dims of [[3, 17, 17, 4, 16], [2, 64, 64, 2, 64]] as Dims5[]) {
      const [B, S, T, H, D] = dims;
      const x = inputs(dims, [randomRow(T, 3), allMasked(T), oneValid(T, 1)].slice(0, B), 11);
      const q = g.fromData(x.q, [B, S, H, D]), k = g.fromData(x.k, [B, T, H, D]);
      const v = g.fromData(x.v, [B, T, H, D]), dout = g.fromData(x.g, [B, S, H, D]);
      const mask = g.fromData(x.mask!, [B, T]);
      const { out, lse } = g.attention(q, k, v, mask, 0.3);
      const runs = [false, false, true].map((split) =>
        gpuAttentionGrad(g, q, k, v, mask, 0.3, out, lse, dout, split)
      );
      const read = async (
        r: { dq: Tensor; dk: Tensor; dv: Tensor },
      ) => [await r.dq.read(), await r.dk.read(), await r.dv.read()];
      const [a, b, c] = [await read(runs[0]), await read(runs[1]), await read(runs[2])];
      for (let n = 0; n < 3; n++) {
        if (a[n].some((z, i) => z !== b[n][i])) throw new Error(`(${dims}) repeated backward differs`);
        assertClose(c[n], a[n], { atol: 1e-6, rtol: 1e-5, msg: `(${dims}) split vs fused [${n}]` });
      }
      for (const t of [q, k, v, dout, mask, out, lse, ...runs.flatMap((r) => [r.dq, r.dk, r.dv])]) {
        t.dispose();
      }
    }
  },
});

Deno.test("attention: hand-computed single-head case (S=T=2, D=1, scale 0.5), with and without mask", async () => {
  const backends: Backend[] = [cpu, cpu64];
  if (HAS_GPU) backends.push((await gpu())!);
  const e = Math.E, a = 1 / (1 + e), b = e / (1 + e);
  for (const be of backends) {
    const q = be.fromData([2, 0], [1, 2, 1, 1]), k = be.fromData([1, 2], [1, 2, 1, 1]);
    const v = be.fromData([3, 5], [1, 2, 1, 1]), dout = be.fromData([1, 0], [1, 2, 1, 1]);
    // Row 0 logits 0.5·2·[1, 2] = [1, 2]; row 1 logits [0, 0].
    const { out, lse } = be.attention(q, k, v, null, 0.5);
    const probs = be.attentionProbs(q, k, null, 0.5);
    const gr = be.attentionGrad(q, k, v, null, 0.5, out, lse, dout);
    const tol = { atol: 1e-6, rtol: 1e-6, msg: be.description };
    assertClose(await out.read(), [3 * a + 5 * b, 4], tol);
    assertClose(await lse.read(), [1 + Math.log(1 + e), Math.log(2)], tol);
    assertClose(await probs.read(), [a, b, 0.5, 0.5], tol);
    // dS_0 = P_0 ⊙ ([3, 5] − out_0) = [−2ab, 2ab]; dq_0 = 0.5·(−2ab·1 + 2ab·2) = ab; dk_t = 0.5·dS_0t·2.
    assertClose(await gr.dq.read(), [a * b, 0], tol);
    assertClose(await gr.dk.read(), [-2 * a * b, 2 * a * b], tol);
    assertClose(await gr.dv.read(), [a, b], tol);
    // Masking key 1 leaves one key: P = [1, 0] on both rows, out = 3, lse = the single logit, dq = dk = 0.
    const mask = be.fromData([1, 0], [1, 2]);
    const m = be.attention(q, k, v, mask, 0.5);
    const mg = be.attentionGrad(q, k, v, mask, 0.5, m.out, m.lse, dout);
    assertClose(await m.out.read(), [3, 3], tol);
    assertClose(await m.lse.read(), [1, 0], tol);
    assertClose(await be.attentionProbs(q, k, mask, 0.5).read(), [1, 0, 1, 0], tol);
    assertClose(await mg.dq.read(), [0, 0], tol);
    assertClose(await mg.dk.read(), [0, 0], tol);
    assertClose(await mg.dv.read(), [1, 0], tol);
  }
});

/** L = Σ out ⊙ G on the float64 CPU backend. */
function lossF64(
  x: Record<"q" | "k" | "v", Tensor>,
  mask: Tensor | null,
  scale: number,
  g: Float64Array,
): number {
  const { out } = cpu64.attention(x.q, x.k, x.v, mask, scale);
  const od = cpu64.data(out);
  let l = 0;
  for (let i = 0; i < od.length; i++) l += od[i] * g[i];
  return l;
}

Deno.test("attention: CPU float64 gradients match central finite differences (self and cross attention, masks)", () => {
  const cases: { dims: Dims5; mask: number[][] | null }[] = [
    { dims: [2, 3, 4, 2, 3], mask: [[1, 0, 1, 1], [0, 0, 0, 0]] },
    { dims: [1, 4, 4, 1, 2], mask: null },
    { dims: [2, 2, 5, 3, 2], mask: [[0, 0, 0, 1, 0], [1, 1, 0, 1, 1]] },
  ];
  const h = 1e-5;
  for (const { dims, mask } of cases) {
    const [B, S, T, H, D] = dims;
    const x = inputs(dims, mask, 21);
    const scale = 1 / Math.sqrt(D);
    const t = {
      q: cpu64.fromData(x.q, [B, S, H, D]),
      k: cpu64.fromData(x.k, [B, T, H, D]),
      v: cpu64.fromData(x.v, [B, T, H, D]),
    };
    const m = x.mask ? cpu64.fromData(x.mask, [B, T]) : null;
    const g = Float64Array.from(x.g);
    const { out, lse } = cpu64.attention(t.q, t.k, t.v, m, scale);
    const grads = cpu64.attentionGrad(t.q, t.k, t.v, m, scale, out, lse, cpu64.fromData(g, [B, S, H, D]));
    for (const name of ["q", "k", "v"] as const) {
      const xd = cpu64.data(t[name]);
      const fd = new Float64Array(xd.length);
      for (let i = 0; i < xd.length; i++) {
        const x0 = xd[i];
        xd[i] = x0 + h;
        const lp = lossF64(t, m, scale, g);
        xd[i] = x0 - h;
        const lm = lossF64(t, m, scale, g);
        xd[i] = x0;
        fd[i] = (lp - lm) / (2 * h);
      }
      const an = cpu64.data(grads[`d${name}`]);
      if (an.every((z) => z === 0)) throw new Error(`(${dims}) d${name} is identically 0`);
      assertClose(an, fd, { atol: 1e-8, rtol: 1e-6, msg: `(${dims}) d${name} vs finite differences` });
    }
  }
});

Deno.test("attention: probabilities sum to 1 over unmasked keys, 0 on masked keys (CPU and GPU)", async () => {
  const backends: Backend[] = [cpu];
  if (HAS_GPU) backends.push((await gpu())!);
  const [B, S, T, H, D] = [3, 9, 13, 2, 5];
  const rows = [randomRow(T, 4), allMasked(T), oneValid(T, 6)];
  const x = inputs([B, S, T, H, D], rows, 31);
  for (const be of backends) {
    const q = be.fromData(x.q.map((z) => 3 * z), [B, S, H, D]), k = be.fromData(x.k, [B, T, H, D]);
    const p = await be.attentionProbs(q, k, be.fromData(x.mask!, [B, T]), 1).read();
    for (let b = 0; b < B; b++) {
      for (let r = 0; r < H * S; r++) {
        const off = (b * H * S + r) * T;
        let sum = 0;
        for (let t = 0; t < T; t++) {
          const pv = p[off + t];
          if (rows[b][t] === 0 && pv !== 0) throw new Error(`${be.kind}: masked key has probability ${pv}`);
          if (!(pv >= 0 && pv <= 1)) throw new Error(`${be.kind}: probability ${pv} out of range`);
          sum += pv;
        }
        const want = b === 1 ? 0 : 1;
        if (Math.abs(sum - want) > 1e-5) throw new Error(`${be.kind}: batch ${b} row ${r} sums to ${sum}`);
      }
    }
  }
});

Deno.test("attention: empty extents (B, S, T, D or H = 0) give correct shapes and values on CPU and GPU", async () => {
  const backends: Backend[] = [cpu];
  if (HAS_GPU) {
    const g = (await gpu())!;
    // Leave non-zero garbage in pooled buffers so outputs that must be written as 0 are really written.
    const junk = [1, 2, 3, 4].map(() => g.fill([64], 7.5));
    await junk[0].read();
    junk.forEach((t) => t.dispose());
    backends.push(g);
  }
  const cases: { dims: Dims5; mask: number[][] | null }[] = [
    { dims: [0, 3, 3, 2, 4], mask: null },
    { dims: [2, 0, 3, 2, 4], mask: null },
    { dims: [2, 3, 0, 2, 4], mask: null },
    { dims: [2, 3, 4, 2, 0], mask: [[1, 1, 0, 1], [0, 1, 0, 0]] },
    { dims: [2, 3, 4, 0, 4], mask: null },
  ];
  for (const { dims, mask } of cases) {
    const [B, S, T, H] = dims;
    const x = inputs(dims, mask, 41);
    const ref = await runAll(cpu, dims, x, 0.5);
    // Independent expectations of the non-empty outputs.
    if (T === 0) {
      if (ref.lse.some((z) => z !== Math.fround(CPU_EMPTY_LSE))) {
        throw new Error("T=0: lse is not the sentinel");
      }
      if (ref.out.some((z) => z !== 0) || ref.dq.some((z) => z !== 0)) throw new Error("T=0: out/dq not 0");
    }
    if (S === 0 && (ref.dk.some((z) => z !== 0) || ref.dv.some((z) => z !== 0))) {
      throw new Error("S=0: dk/dv");
    }
    if (dims[4] === 0) {
      // Logits are all 0: lse = log(number of unmasked keys), uniform probabilities.
      const want = Array.from(
        { length: B * H * S },
        (_, i) => Math.log(mask![Math.floor(i / (H * S))].reduce((a, c) => a + c)),
      );
      assertClose(ref.lse, want, { msg: "D=0 lse" });
    }
    for (const be of backends.slice(1)) compare(await runAll(be, dims, x, 0.5), ref, `(${dims})`);
  }
});

Deno.test("attention: sizes beyond S, T ≤ 64, H ≤ 16, D ≤ 64 throw an error naming the limit", async () => {
  const backends: Backend[] = [cpu];
  if (HAS_GPU) backends.push((await gpu())!);
  const bad: [Dims5, RegExp][] = [
    [[1, 65, 4, 1, 4], /S=65.*64/],
    [[1, 4, 65, 1, 4], /T=65.*64/],
    [[1, 4, 4, 17, 4], /H=17.*16/],
    [[1, 4, 4, 1, 65], /D=65.*64/],
  ];
  for (const be of backends) {
    for (const [[B, S, T, H, D], re] of bad) {
      const q = be.fill([B, S, H, D], 0), k = be.fill([B, T, H, D], 0);
      for (
        const f of [
          () => be.attention(q, k, k, null, 1),
          () => be.attentionProbs(q, k, null, 1),
          () => be.attentionGrad(q, k, k, null, 1, q, q, q),
        ]
      ) {
        let msg = "";
        try {
          f();
        } catch (e) {
          msg = (e as Error).message;
        }
        if (!re.test(msg)) throw new Error(`${be.kind} (${[B, S, T, H, D]}): expected ${re}, got "${msg}"`);
      }
      q.dispose();
      k.dispose();
    }
  }
});

Deno.test("attention: spec keys follow every baked value and workgroup memory stays within 32 KiB", () => {
  const base = { S: 64, T: 64, H: 16, D: 64 };
  const keys = new Set<string>();
  const variants = [
    base,
    { ...base, S: 63 },
    { ...base, T: 63 },
    { ...base, H: 15 },
    { ...base, D: 63 },
  ];
  for (const d of variants) {
    for (const mask of [false, true]) {
      const specs = [
        attentionSpec("fwd", d, mask, 4),
        attentionSpec("probs", d, mask, 4),
        attentionGradSpec("both", d, mask, 4),
        attentionGradSpec("dq", d, mask, 4),
        attentionGradSpec("dkv", d, mask, 4),
      ];
      for (const s of specs) {
        keys.add(s.key);
        let bytes = 0;
        for (const m of s.source().matchAll(/var<workgroup> \w+: array<f32, (\d+)>/g)) {
          bytes += 4 * Number(m[1]);
        }
        if (bytes > 32768) throw new Error(`${s.key}: ${bytes} bytes of workgroup memory`);
        if (bytes < 4 * 64 * 64 && d === base) throw new Error(`${s.key}: tile smaller than a 64×64 block?`);
      }
    }
  }
  if (keys.size !== variants.length * 2 * 5) throw new Error(`spec keys collide: ${keys.size}`);
  // Short sequences pack several (batch, head) pairs per workgroup: memory must still fit.
  for (const d of [{ S: 1, T: 1, H: 1, D: 64 }, { S: 8, T: 3, H: 2, D: 64 }, { S: 32, T: 32, H: 1, D: 64 }]) {
    for (const s of [attentionSpec("fwd", d, true, 4), attentionGradSpec("both", d, true, 4)]) {
      let bytes = 0;
      for (const m of s.source().matchAll(/var<workgroup> \w+: array<f32, (\d+)>/g)) {
        bytes += 4 * Number(m[1]);
      }
      if (bytes > 32768) throw new Error(`${s.key}: ${bytes} bytes of workgroup memory`);
    }
  }
  // Long sequences: one workgroup per (batch, head) and phase; B·H beyond 65535 spills into grid y.
  const big = attentionGradSpec("both", base, false, 40000);
  if (big.workgroups[0] * big.workgroups[1] < 80000) throw new Error(`grid ${big.workgroups}`);
});

import { assertClose, cpu, cpu64, gpu, HAS_GPU, randn, randu, take } from "../_helpers.ts";
import type { AdamParams, Backend, LossKind } from "../../nn/backend.ts";
import { adamSpec, lossGradSpec, lossSpec } from "../../kernels/optim.ts";
import { rowMode } from "../../kernels/wgsl_rows.ts";

const KINDS: LossKind[] = ["weighted_mse", "kl_categorical", "bce_logits"];
const KL_EPS = Math.fround(1e-7);

function check(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-wise softmax of seeded normals (probability vectors), with some exact zeros and tiny entries mixed in. */
function probs(shape: number[], seed: number, sparse: boolean): Float32Array {
  const L = shape.length ? shape[shape.length - 1] : 1;
  const x = randn(size(shape), seed, 2);
  for (let r = 0; r * L < x.length; r++) {
    const row = x.subarray(r * L, (r + 1) * L);
    const m = Math.max(...row);
    let s = 0;
    for (let j = 0; j < L; j++) s += row[j] = Math.exp(row[j] - m);
    for (let j = 0; j < L; j++) row[j] /= s;
    if (sparse && L > 2) {
      row[(r * 7) % L] = 0;
      row[(r * 3 + 1) % L] = 1e-9;
    }
  }
  return x;
}

/** Inputs (pred, target) for a loss kind. */
function lossInputs(kind: LossKind, shape: number[], seed: number): [Float32Array, Float32Array] {
  const n = size(shape);
  switch (kind) {
    case "weighted_mse":
      return [randn(n, seed), randn(n, seed + 1)];
    case "kl_categorical":
      return [probs(shape, seed, true), probs(shape, seed + 1, true)];
    case "bce_logits": {
      // Logits including large magnitudes (exp(−|x|) underflow side), soft targets in [0, 1].
      const x = randn(n, seed, 4);
      if (n > 3) [x[0], x[1], x[2]] = [30, -30, 0];
      return [x, randu(n, seed + 1)];
    }
  }
}

const LOSS_SHAPES: number[][] = [[0, 5], [4, 0], [1, 1], [7, 13], [3, 300], [2, 3, 50], [5], [9, 33], [
  4100,
  40,
]];

for (const kind of KINDS) {
  Deno.test({
    name: `optim: ${kind} loss and lossGrad, GPU matches CPU (thread/workgroup rows, rank 1-3, empty)`,
    ignore: !HAS_GPU,
    async fn() {
      const g = (await gpu())!;
      for (const shape of LOSS_SHAPES) {
        const rowsShape = shape.slice(0, -1), R = size(rowsShape);
        const [p, t] = lossInputs(kind, shape, 11);
        const w = randu(R, 5, 0.2, 2), dl = randn(R, 6);
        for (const weighted of [false, true]) {
          const run = (be: Backend) => {
            const [pt, tt] = [be.fromData(p, shape), be.fromData(t, shape)];
            const wt = weighted ? be.fromData(w, rowsShape) : null;
            const dt = be.fromData(dl, rowsShape);
            const out = { loss: be.loss(kind, pt, tt, wt), grad: be.lossGrad(kind, pt, tt, wt, dt) };
            for (const x of [pt, tt, wt, dt]) x?.dispose();
            return out;
          };
          const rg = run(g), rc = run(cpu);
          const msg = `${kind} ${JSON.stringify(shape)} weighted=${weighted}`;
          check(JSON.stringify(rg.loss.shape) === JSON.stringify(rowsShape), `${msg}: loss shape`);
          check(JSON.stringify(rg.grad.shape) === JSON.stringify(shape), `${msg}: grad shape`);
          const lc = await take(rc.loss);
          assertClose(await take(rg.loss), lc, { atol: 1e-5, rtol: 2e-5, msg: `${msg} loss` });
          assertClose(await take(rg.grad), await take(rc.grad), {
            atol: 1e-6,
            rtol: 2e-5,
            msg: `${msg} grad`,
          });
          if (shape[shape.length - 1] === 0) check(lc.every((v) => v === 0), `${msg}: empty rows sum to 0`);
        }
      }
    },
  });
}

Deno.test({
  name: "optim: loss over 70001 rows in both row mappings (2-D workgroup grid) matches the CPU",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const shape = [70_001, 33];
    const [p, t] = lossInputs("weighted_mse", shape, 3);
    const pg = g.fromData(p, shape), tg = g.fromData(t, shape);
    const lc = await take(cpu.loss("weighted_mse", cpu.fromData(p, shape), cpu.fromData(t, shape), null));
    check(rowMode(70_001, 33) === "thread", "default mapping");
    assertClose(await take(g.loss("weighted_mse", pg, tg, null)), lc, {
      atol: 1e-5,
      rtol: 2e-5,
      msg: "thread",
    });
    // A workgroup per row: 70001 workgroups need the y dimension of the grid.
    const out = g.alloc([70_001]);
    g.run(lossSpec("weighted_mse", 70_001, 33, false, "group"), [pg, tg, out]);
    assertClose(await take(out), lc, { atol: 1e-5, rtol: 2e-5, msg: "group" });
    pg.dispose();
    tg.dispose();
  },
});

Deno.test("optim: losses match hand-computed values on both backends", async () => {
  const bes: Backend[] = [cpu, cpu64];
  if (HAS_GPU) bes.push((await gpu())!);
  for (const be of bes) {
    const f = (d: number[], s: number[]) => be.fromData(d, s);
    const tag = `${be.kind}/${be.description}`;
    // MSE: row 0 2·((1−0)² + 0) = 2; row 1 0.5·((3−1)² + (5−1)²) = 10.
    const mse = be.loss("weighted_mse", f([1, 2, 3, 5], [2, 2]), f([0, 2, 1, 1], [2, 2]), f([2, 0.5], [2]));
    assertClose(await take(mse), [2, 10], { atol: 1e-6, msg: `${tag} mse` });
    // KL(t‖p), p = (½, ½), t = (¼, ¾): ¼ln(½) + ¾ln(3/2) = 0.1308120333…
    // t = (1, 0), p = (0.8, 0.2): ln(1.25) + 1e-7·ln(1e-7/0.2) (t is clipped to 1e-7 as in Keras).
    const kl = be.loss(
      "kl_categorical",
      f([0.5, 0.5, 0.8, 0.2], [2, 2]),
      f([0.25, 0.75, 1, 0], [2, 2]),
      null,
    );
    const e = KL_EPS;
    assertClose(await take(kl), [0.13081203336, 0.22314355131 + e * Math.log(e / 0.2)], {
      atol: 2e-7,
      rtol: 1e-6,
      msg: `${tag} kl`,
    });
    // BCE with logits (0, 2, −3), targets (1, 0, ½): ln 2 + (2 + ln(1+e⁻²)) + (1.5 + ln(1+e⁻³)), weight 3.
    const bce = be.loss("bce_logits", f([0, 2, -3], [1, 3]), f([1, 0, 0.5], [1, 3]), f([3], [1]));
    const expected = 3 * (0.69314718056 + 2 + 0.12692801104 + 1.5 + 0.04858735157);
    assertClose(await take(bce), [expected], { atol: 1e-6, rtol: 1e-6, msg: `${tag} bce` });
    // Gradients: MSE 2w(p−t); KL −w·t̂/p inside the clip and 0 outside it; BCE w(σ(x)−t).
    const gm = be.lossGrad("weighted_mse", f([1, 2], [1, 2]), f([0, 3], [1, 2]), f([0.5], [1]), f([2], [1]));
    assertClose(await take(gm), [2, -2], { atol: 1e-6, msg: `${tag} mse grad` });
    const gk = be.lossGrad(
      "kl_categorical",
      f([0.5, 1e-9, 1.5, 0.25], [1, 4]),
      f([0.5, 0.5, 0.5, 0], [1, 4]),
      null,
      f([1], [1]),
    );
    assertClose(await take(gk), [-1, 0, 0, -e / 0.25], { atol: 1e-9, rtol: 1e-6, msg: `${tag} kl grad` });
    const gb = be.lossGrad("bce_logits", f([0, 2], [1, 2]), f([1, 0], [1, 2]), null, f([1], [1]));
    assertClose(await take(gb), [-0.5, 0.88079707798], { atol: 1e-6, msg: `${tag} bce grad` });
  }
});

Deno.test("optim: lossGrad equals central finite differences of Σ dloss·loss on the f64 CPU backend", () => {
  const be = cpu64;
  const shape = [3, 6], rowsShape = [3];
  for (const kind of KINDS) {
    for (const weighted of [false, true]) {
      let [p, t] = lossInputs(kind, shape, 21);
      if (kind === "kl_categorical") {
        // Away from the clip edges, plus one entry below the floor and one above 1 (flat: zero gradient).
        p = Float32Array.from(p, (v) => Math.min(Math.max(v, 0.02), 0.9));
        p[4] = 1e-9;
        p[9] = 1.25;
      }
      const pd = Float64Array.from(p);
      const w = weighted ? be.fromData(randu(3, 8, 0.5, 2), rowsShape) : null;
      const dl = be.fromData(randn(3, 9), rowsShape);
      const tt = be.fromData(t, shape);
      // Read the float64 storage directly (read() would round to float32).
      const objective = (x: Float64Array) => {
        const lt = be.loss(kind, be.fromData(x, shape), tt, w);
        const ld = be.data(lt), dd = be.data(dl);
        let s = 0;
        for (let r = 0; r < 3; r++) s += dd[r] * ld[r];
        lt.dispose();
        return s;
      };
      const grad = be.lossGrad(kind, be.fromData(pd, shape), tt, w, dl);
      const gd = Float64Array.from(be.data(grad));
      const fd = new Float64Array(pd.length);
      for (let i = 0; i < pd.length; i++) {
        const h = pd[i] !== 0 && Math.abs(pd[i]) < 1e-5 ? Math.abs(pd[i]) / 10 : 1e-6;
        const xp = pd.slice(), xm = pd.slice();
        xp[i] += h;
        xm[i] -= h;
        fd[i] = (objective(xp) - objective(xm)) / (2 * h);
      }
      assertClose(gd, fd, { atol: 1e-7, rtol: 1e-6, msg: `${kind} weighted=${weighted} finite differences` });
      if (kind === "kl_categorical") check(gd[4] === 0 && gd[9] === 0, "KL gradient outside the clip is 0");
    }
  }
});

const HP: AdamParams = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1, clipNorm: 0 };

Deno.test("optim: CPU Adam matches a hand-computed two-step update (and AdamW decay, clipping)", () => {
  const be = cpu64;
  const param = be.fromData([1, -2], [2]), m = be.fill([2], 0), v = be.fill([2], 0);
  be.adam(param, be.fromData([0.5, -1], [2]), m, v, null, { ...HP, step: 1 });
  // Step 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², update = g/(|g| + eps).
  assertClose(be.data(m), [0.05, -0.1], { atol: 1e-12 });
  assertClose(be.data(v), [0.00025, 0.001], { atol: 1e-12 });
  assertClose(be.data(param), [1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 * 1 / (1 + 1e-8)], { atol: 1e-12 });
  const m2 = be.fromData([0.05, -0.1], [2]);
  be.adam(param, be.fromData([0.1, 0.2], [2]), m2, v, null, { ...HP, step: 2 });
  // Step 2: m = (0.055, −0.07), v = (0.00025975, 0.001039), 1−β1² = 0.19, 1−β2² = 0.001999.
  assertClose(be.data(m2), [0.055, -0.07], { atol: 1e-12 });
  assertClose(be.data(v), [0.00025975, 0.001039], { atol: 1e-12 });
  const p1 = [1 - 0.1 * 0.5 / (0.5 + 1e-8), -2 + 0.1 / (1 + 1e-8)];
  assertClose(be.data(param), [
    p1[0] - 0.1 * (0.055 / 0.19) / (Math.sqrt(0.00025975 / 0.001999) + 1e-8),
    p1[1] - 0.1 * (-0.07 / 0.19) / (Math.sqrt(0.001039 / 0.001999) + 1e-8),
  ], { atol: 1e-12, msg: "step 2" });
  // AdamW: one step from p = (2, −4) with wd = 0.01: p − lr·(sign(g)·|g|/(|g|+eps) + 0.01·p).
  const pw = be.fromData([2, -4], [2]);
  be.adam(pw, be.fromData([1, -3], [2]), be.fill([2], 0), be.fill([2], 0), null, {
    ...HP,
    weightDecay: 0.01,
  });
  assertClose(be.data(pw), [2 - 0.1 * (1 / (1 + 1e-8) + 0.02), -4 - 0.1 * (-3 / (3 + 1e-8) - 0.04)], {
    atol: 1e-12,
    msg: "adamw",
  });
  // Clipping: g = (3, 4), ‖g‖ = 5, clipNorm 1 → g·1/(5 + 1e-6); visible in m = 0.1·g.
  const mc = be.fill([2], 0);
  const clipHp = { ...HP, clipNorm: 1 };
  be.adam(be.fill([2], 0), be.fromData([3, 4], [2]), mc, be.fill([2], 0), be.fromData([25], [1]), clipHp);
  assertClose(be.data(mc), [0.3 / (5 + 1e-6), 0.4 / (5 + 1e-6)], { atol: 1e-15, rtol: 1e-12, msg: "clip" });
  // A norm below the threshold, an infinite threshold or no norm tensor leave g unscaled.
  for (const [hp, ns] of [[clipHp, [0.25]], [{ ...HP, clipNorm: Infinity }, [25]], [clipHp, null]] as const) {
    const mm = be.fill([2], 0);
    be.adam(be.fill([2], 0), be.fromData([3, 4], [2]), mm, be.fill([2], 0), ns && be.fromData(ns, [1]), hp);
    assertClose(be.data(mm), [0.3, 0.4], { atol: 1e-15, msg: `no clip ${hp.clipNorm} ${ns}` });
  }
});

Deno.test({
  name:
    "optim: GPU Adam matches the CPU after 5 steps on 1001 elements (plain, AdamW + clipping, no-op clips)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const n = 1001;
    const configs: { name: string; hp: Partial<AdamParams>; norm: boolean }[] = [
      { name: "adam", hp: {}, norm: false },
      { name: "adamw+clip", hp: { weightDecay: 0.05, clipNorm: 20, lr: 0.01 }, norm: true },
      { name: "clip without norm", hp: { clipNorm: 1 }, norm: false },
      { name: "infinite clip", hp: { clipNorm: Infinity, beta1: 0.8, beta2: 0.99, eps: 1e-7 }, norm: true },
    ];
    const before = g.rec.pipelines.size;
    for (const cfg of configs) {
      const state = (be: Backend) => ({
        p: be.fromData(randn(n, 1), [n]),
        m: be.fill([n], 0),
        v: be.fill([n], 0),
      });
      const sg = state(g), sc = state(cpu);
      let clipped = 0;
      for (let step = 1; step <= 5; step++) {
        // Gradient scale varies so the clip (threshold 20, ‖g‖ ≈ 32·scale) is active on some steps only.
        const grad = randn(n, 100 + step, step % 2 ? 1 : 0.3);
        let nsq = 0;
        for (const x of grad) nsq += x * x;
        if (Math.sqrt(nsq) > 20) clipped++;
        const hp = { ...HP, ...cfg.hp, step };
        for (const [be, s] of [[g, sg], [cpu, sc]] as [Backend, typeof sg][]) {
          const gt = be.fromData(grad, [n]);
          const nt = cfg.norm ? be.fromData([nsq], [1]) : null;
          be.adam(s.p, gt, s.m, s.v, nt, hp);
          gt.dispose();
          nt?.dispose();
        }
      }
      if (cfg.name === "adamw+clip") {
        check(clipped > 0 && clipped < 5, `clip active on ${clipped} of 5 steps`);
      }
      for (const k of ["p", "m", "v"] as const) {
        assertClose(await take(sg[k]), await take(sc[k]), {
          atol: 1e-6,
          rtol: 1e-5,
          msg: `${cfg.name} ${k}`,
        });
      }
    }
    // The steps reused the pipelines: the step counter, lr and weight decay are uniforms.
    check(g.rec.pipelines.size - before <= configs.length, "Adam recompiled across steps");
    // Size 0 is a no-op; size 1 works.
    const e = g.alloc([0]);
    g.adam(e, e, e, e, null, HP);
    const p1 = g.fromData([1], [1]), m1 = g.fill([1], 0), v1 = g.fill([1], 0);
    g.adam(p1, g.fromData([2], [1]), m1, v1, null, HP);
    assertClose(await take(p1), [1 - 0.1 * 2 / (2 + 1e-8)], { atol: 1e-6, msg: "size 1" });
  },
});

Deno.test("optim: spec keys change with everything baked into the WGSL", () => {
  const keys = [
    lossSpec("weighted_mse", 3, 4, false).key,
    lossSpec("weighted_mse", 3, 4, false, "group").key,
    lossSpec("weighted_mse", 3, 4, true).key,
    lossSpec("weighted_mse", 4, 3, false).key,
    lossSpec("bce_logits", 3, 4, false).key,
    lossGradSpec("weighted_mse", 12, 4, false).key,
    lossGradSpec("weighted_mse", 12, 3, false).key,
    lossGradSpec("weighted_mse", 12, 4, true).key,
    adamSpec(10, { beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: null }).key,
    adamSpec(10, { beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: 1 }).key,
    adamSpec(10, { beta1: 0.9, beta2: 0.999, eps: 1e-7, clipNorm: null }).key,
    adamSpec(10, { beta1: 0.8, beta2: 0.999, eps: 1e-8, clipNorm: null }).key,
    adamSpec(11, { beta1: 0.9, beta2: 0.999, eps: 1e-8, clipNorm: null }).key,
  ];
  check(new Set(keys).size === keys.length, `duplicate keys: ${keys.join(" ")}`);
});

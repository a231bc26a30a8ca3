import { assertClose, cpu, gpu, HAS_GPU, randn, take } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { bitsToUniform, philox4x32, philoxAt, type RngKey } from "../../nn/random.ts";
import { drawSpec, reparamSpec } from "../../kernels/random.ts";
import { PHILOX_WGSL } from "../../kernels/wgsl_philox.ts";

const KEY: RngKey = { seed: 1234, stream: 7 };

function check(cond: boolean, msg: string): void {
  if (!cond) throw new Error(msg);
}

function shapeOf(t: Tensor): string {
  return JSON.stringify(t.shape);
}

/** Exact equality of two float arrays, reporting the first mismatch. */
function assertSame(a: ArrayLike<number>, b: ArrayLike<number>, msg: string): void {
  check(a.length === b.length, `${msg}: length ${a.length} vs ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) throw new Error(`${msg}: [${i}] ${a[i]} !== ${b[i]}`);
  }
}

function moments(x: ArrayLike<number>): { mean: number; variance: number } {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  const mean = s / x.length;
  let q = 0;
  for (let i = 0; i < x.length; i++) q += (x[i] - mean) ** 2;
  return { mean, variance: q / x.length };
}

/** Runs the WGSL Philox on the GPU for the given counters/keys and returns the four words of each. */
async function gpuPhilox(ctrs: number[][], keys: number[][]): Promise<Uint32Array> {
  const g = (await gpu())!;
  const n = ctrs.length;
  const inp = g.fromData(new Int32Array(ctrs.flatMap((c, i) => [...c, ...keys[i]]).map((v) => v | 0)), [
    n * 6,
  ], "i32");
  const out = g.alloc([n * 4], "i32");
  g.run({
    key: `test:philox-kat:${n}`,
    bindings: ["read", "rw"],
    uniforms: false,
    workgroups: [1, 1, 1],
    source: () =>
      `${PHILOX_WGSL}
@group(0) @binding(1) var<storage, read> inp: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(1)
fn main() {
  for (var i = 0u; i < ${n}u; i++) {
    let b = i * 6u;
    let w = philox4x32_10(vec4<u32>(inp[b], inp[b + 1u], inp[b + 2u], inp[b + 3u]), vec2<u32>(inp[b + 4u], inp[b + 5u]));
    out[i * 4u] = w.x;
    out[i * 4u + 1u] = w.y;
    out[i * 4u + 2u] = w.z;
    out[i * 4u + 3u] = w.w;
  }
}`,
  }, [inp, out]);
  const r = new Uint32Array((await take(out)).buffer);
  inp.dispose();
  return r;
}

Deno.test({
  name: "random: WGSL Philox4x32-10 matches the Random123 known answers and the CPU on random counters",
  ignore: !HAS_GPU,
  async fn() {
    // Known-answer vectors of Random123 (kat_vectors, philox4x32 R=10).
    const kat = [
      { ctr: [0, 0, 0, 0], key: [0, 0], out: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8] },
      {
        ctr: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
        key: [0xffffffff, 0xffffffff],
        out: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
      },
      {
        ctr: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
        key: [0xa4093822, 0x299f31d0],
        out: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
      },
    ];
    const ctrs = kat.map((k) => k.ctr), keys = kat.map((k) => k.key);
    const words = Array.from(randn(400, 5), (v) => Math.floor(Math.abs(v) * 1e9) >>> 0);
    for (let i = 0; i < 64; i++) {
      ctrs.push([words[6 * i], words[6 * i + 1], words[6 * i + 2], words[6 * i + 3]]);
      keys.push([words[6 * i + 4], words[6 * i + 5]]);
    }
    const got = await gpuPhilox(ctrs, keys);
    kat.forEach((k, i) => assertSame(got.subarray(4 * i, 4 * i + 4), k.out, `KAT ${i}`));
    ctrs.forEach((c, i) =>
      assertSame(got.subarray(4 * i, 4 * i + 4), philox4x32(c, keys[i]), `random ctr ${i}`)
    );
  },
});

for (const shape of [[0], [1], [7, 13], [3, 1, 257], [200_000]]) {
  Deno.test({
    name: `random: GPU uniform is bit-identical to the CPU and normal within 4e-6 on ${
      JSON.stringify(shape)
    }`,
    ignore: !HAS_GPU,
    async fn() {
      const g = (await gpu())!;
      for (const [key, step] of [[KEY, 0], [{ seed: 0xffffffff, stream: 0x89abcdef }, 0xfffffffe]] as const) {
        const ug = g.random("uniform", shape, key, step), uc = cpu.random("uniform", shape, key, step);
        const ng = g.random("normal", shape, key, step), nc = cpu.random("normal", shape, key, step);
        check(shapeOf(ug) === JSON.stringify(shape) && shapeOf(ng) === JSON.stringify(shape), "shape");
        const u = await take(ug);
        assertSame(u, await take(uc), "uniform");
        for (let i = 0; i < u.length; i++) check(u[i] > 0 && u[i] <= 1, `uniform out of (0, 1]: ${u[i]}`);
        assertClose(await take(ng), await take(nc), { atol: 4e-6, rtol: 0, msg: "normal" });
      }
    },
  });
}

Deno.test("random: CPU draws follow philoxAt and bitsToUniform; uniform extremes round like float32", async () => {
  const u = await take(cpu.random("uniform", [50], KEY, 3));
  for (let i = 0; i < 50; i++) check(u[i] === Math.fround(bitsToUniform(philoxAt(KEY, 3, i)[0])), `[${i}]`);
  // The top 24-bit value (k = 2^24 − 1) rounds to exactly 1 in float32, the bottom one to 2^-25.
  check(
    Math.fround(bitsToUniform(0xffffffff)) === 1 && Math.fround(bitsToUniform(0)) === 2 ** -25,
    "extremes",
  );
});

Deno.test({
  name: "random: GPU uniform conversion is exact at the rounding edges (tested through the WGSL function)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    // Words around the 0.5 boundary, odd/even ties and both ends of the range.
    const words = [
      0,
      0xff,
      0x100,
      0x7fffff00,
      0x7fffffff,
      0x80000000,
      0x800000ff,
      0x80000100,
      0xfffffe00,
      0xffffff00,
    ];
    for (let k = 0; k < 64; k++) words.push((0x80000000 + k * 0x01234567) >>> 0, (k * 0x0badf00d) >>> 0);
    const inp = g.fromData(new Int32Array(Uint32Array.from(words).buffer), [words.length], "i32");
    const out = g.alloc([words.length]);
    g.run({
      key: `test:philox-uniform:${words.length}`,
      bindings: ["read", "rw"],
      uniforms: false,
      workgroups: [1, 1, 1],
      source: () =>
        `${PHILOX_WGSL}
@group(0) @binding(1) var<storage, read> inp: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn main() {
  for (var i = 0u; i < ${words.length}u; i++) { out[i] = philox_uniform(inp[i]); }
}`,
    }, [inp, out]);
    assertSame(await take(out), words.map((w) => Math.fround(bitsToUniform(w))), "uniform edges");
    inp.dispose();
  },
});

Deno.test({
  name: "random: new seeds, streams and steps reuse the compiled pipeline; keys are pure functions of shapes",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    await take(g.random("normal", [333], KEY, 0));
    const before = g.rec.pipelines.size;
    for (let s = 1; s < 4; s++) await take(g.random("normal", [333], { seed: s, stream: s * 3 }, s * 11));
    check(g.rec.pipelines.size === before, "a new key recompiled the pipeline");
    check(drawSpec("normal", 5).key !== drawSpec("normal", 6).key, "draw key ignores n");
    check(drawSpec("normal", 5).key !== drawSpec("uniform", 5).key, "draw key ignores kind");
    check(reparamSpec(3, 4).key !== reparamSpec(4, 3).key, "reparam key ignores layout");
  },
});

async function drawBoth(be: Backend, kind: "uniform" | "normal", n: number, key: RngKey, step: number) {
  return await take(be.random(kind, [n], key, step));
}

for (const [name, getBe] of [["CPU", () => Promise.resolve(cpu)], ["GPU", gpu]] as const) {
  Deno.test({
    name: `random: ${name} streams, steps and seeds give different draws; draws are order independent`,
    ignore: name === "GPU" && !HAS_GPU,
    async fn() {
      const be = (await getBe())!;
      const base = await drawBoth(be, "uniform", 1000, KEY, 5);
      const variants = [
        await drawBoth(be, "uniform", 1000, { ...KEY, stream: KEY.stream + 1 }, 5),
        await drawBoth(be, "uniform", 1000, KEY, 6),
        await drawBoth(be, "uniform", 1000, { ...KEY, seed: KEY.seed + 1 }, 5),
      ];
      for (const v of variants) {
        let same = 0;
        for (let i = 0; i < 1000; i++) if (v[i] === base[i]) same++;
        check(same <= 1, `${same} of 1000 draws coincide across keys`);
      }
      // Element i does not depend on the draw size or shape.
      for (const kind of ["uniform", "normal"] as const) {
        const small = await drawBoth(be, kind, 10, KEY, 9);
        const big = await drawBoth(be, kind, 1000, KEY, 9);
        assertSame(small, big.subarray(0, 10), `${kind} size 10 vs 1000`);
        assertSame(await take(be.random(kind, [2, 5], KEY, 9)), small, `${kind} [2,5] vs [10]`);
      }
    },
  });
}

Deno.test({
  name: "random: normal and uniform moments within statistical bounds (n = 200k)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const n = 200_000;
    const z = await take(g.random("normal", [n], { seed: 99, stream: 1 }, 0));
    const { mean, variance } = moments(z);
    check(Math.abs(mean) < 5 / Math.sqrt(n), `normal mean ${mean}`);
    check(Math.abs(variance - 1) < 0.02, `normal variance ${variance}`);
    // Shape of the distribution: P(|z| < 1) = 0.682689, P(z > 2) = 0.022750 (5σ binomial bounds).
    let inner = 0, tail = 0;
    for (const v of z) {
      if (Math.abs(v) < 1) inner++;
      if (v > 2) tail++;
    }
    const within = (count: number, p: number) => Math.abs(count / n - p) < 5 * Math.sqrt(p * (1 - p) / n);
    check(within(inner, 0.682689), `P(|z|<1) = ${inner / n}`);
    check(within(tail, 0.02275), `P(z>2) = ${tail / n}`);
    const u = await take(g.random("uniform", [n], { seed: 99, stream: 2 }, 0));
    const mu = moments(u);
    check(Math.abs(mu.mean - 0.5) < 5 * Math.sqrt(1 / 12 / n), `uniform mean ${mu.mean}`);
    check(Math.abs(mu.variance - 1 / 12) < 0.002, `uniform variance ${mu.variance}`);
  },
});

Deno.test({
  name: "random: dropout mask keeps 1−p at 1/(1−p), agrees with the uniforms and with the CPU",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const n = 100_000, key = { seed: 5, stream: 11 };
    for (const p of [0.1, 0.3, 0.75]) {
      const mg = await take(g.dropoutMask([100, 1000], p, key, 2));
      const mc = await take(cpu.dropoutMask([100, 1000], p, key, 2));
      const u = await take(cpu.random("uniform", [n], key, 2));
      let kept = 0;
      for (let i = 0; i < n; i++) {
        check((mg[i] !== 0) === (u[i] >= Math.fround(p)), `p=${p} [${i}] disagrees with the uniform`);
        check((mg[i] !== 0) === (mc[i] !== 0), `p=${p} [${i}] GPU and CPU masks differ`);
        if (mg[i] !== 0) {
          kept++;
          check(Math.abs(mg[i] - 1 / (1 - p)) <= 1e-6 / (1 - p), `p=${p} kept value ${mg[i]}`);
          check(mc[i] === Math.fround(1 / (1 - p)), `CPU kept value ${mc[i]}`);
        }
      }
      const rate = kept / n;
      check(Math.abs(rate - (1 - p)) < 5 * Math.sqrt(p * (1 - p) / n), `p=${p} keep rate ${rate}`);
    }
    for (const be of [g, cpu] as Backend[]) {
      const ones = await take(be.dropoutMask([3, 7], 0, key, 0));
      check(ones.length === 21 && ones.every((v) => v === 1), `${be.kind} p = 0 is all ones`);
      check((await take(be.dropoutMask([0, 4], 0.5, key, 0))).length === 0, `${be.kind} empty`);
      for (const bad of [1, 1.5, -0.1, NaN]) {
        let threw = false;
        try {
          be.dropoutMask([4], bad, key, 0);
        } catch (e) {
          threw = e instanceof RangeError;
        }
        check(threw, `${be.kind} p = ${bad} must throw a RangeError`);
      }
    }
  },
});

for (const shape of [[5, 37], [3, 300], [2, 1024], [6], [1, 1], [0, 8], [4, 0], [2, 3, 33]]) {
  Deno.test({
    name: `random: reparam z, kl and eps, GPU matches CPU on ${JSON.stringify(shape)}`,
    ignore: !HAS_GPU,
    async fn() {
      const g = (await gpu())!;
      const n = shape.reduce((a, b) => a * b, 1);
      const mu = randn(n, 3), lv = randn(n, 4, 0.7);
      const rg = g.reparam(g.fromData(mu, shape), g.fromData(lv, shape), KEY, 17);
      const rc = cpu.reparam(cpu.fromData(mu, shape), cpu.fromData(lv, shape), KEY, 17);
      const klShape = JSON.stringify(shape.slice(0, -1));
      check(shapeOf(rg.kl) === klShape && shapeOf(rc.kl) === klShape, `kl shape ${shapeOf(rg.kl)}`);
      check(
        shapeOf(rg.z) === JSON.stringify(shape) && shapeOf(rg.eps) === JSON.stringify(shape),
        "z/eps shape",
      );
      const epsG = await take(rg.eps), epsC = await take(rc.eps);
      // eps is the normal stream of `random` over mu's shape: bitwise on the same backend.
      assertSame(epsG, await take(g.random("normal", shape, KEY, 17)), "GPU eps vs random");
      assertSame(epsC, await take(cpu.random("normal", shape, KEY, 17)), "CPU eps vs random");
      assertClose(epsG, epsC, { atol: 4e-6, rtol: 0, msg: "eps" });
      const zG = await take(rg.z);
      assertClose(zG, await take(rc.z), { atol: 2e-5, rtol: 1e-5, msg: "z" });
      // z = mu + exp(lv / 2) * eps, element by element.
      assertClose(zG, mu.map((m, i) => m + Math.exp(0.5 * lv[i]) * epsG[i]), {
        atol: 1e-5,
        rtol: 1e-5,
        msg: "z",
      });
      const klC = await take(rc.kl);
      assertClose(await take(rg.kl), klC, { atol: 1e-5, rtol: 2e-5, msg: "kl" });
      if (shape[shape.length - 1] === 0) check(klC.every((v) => v === 0), "kl over an empty axis is 0");
    },
  });
}

Deno.test("random: reparam KL matches a hand-computed case on both backends", async () => {
  // Row 0: (μ, logσ²) = (1, 0), (0, ln 2): ½[(1 + 1 − 0 − 1) + (0 + 2 − ln 2 − 1)] = 1 − ½ln 2.
  // Row 1: (0.5, −1), (−1, 0.5): ½[(0.25 + e⁻¹ + 1 − 1) + (1 + e^½ − 0.5 − 1)].
  const mu = [1, 0, 0.5, -1], lv = [0, Math.LN2, -1, 0.5];
  const expected = [1 - 0.5 * Math.LN2, 0.5 * (0.25 + 0.36787944117144233 + 1.6487212707001282 - 0.5)];
  const bes: Backend[] = [cpu];
  if (HAS_GPU) bes.push((await gpu())!);
  for (const be of bes) {
    const r = be.reparam(be.fromData(mu, [2, 2]), be.fromData(lv, [2, 2]), KEY, 0);
    assertClose(await take(r.kl), expected, { atol: 1e-6, rtol: 1e-6, msg: `${be.kind} kl` });
    r.z.dispose();
    r.eps.dispose();
  }
});

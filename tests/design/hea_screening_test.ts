/**
 * HEA screening: enumeration counts vs the closed form (C(m,k)·C(U−1,k−1), and inclusion–exclusion with bounds vs
 * brute force), every composition on the simplex, top-k equal to a brute-force ranking (with and without descriptor
 * ranges, small batches so the streaming path is exercised), the minimum probability, progress, GPU vs CPU (also
 * with a classifier that reads the compositions), and bad options.
 */
import { assertClose, cpu, gpu, HAS_GPU } from "../_helpers.ts";
import { assertEquals, assertTrue, assertUserError } from "../data/_helpers.ts";
import {
  binomial,
  countHeaCompositions,
  type HeaClassifier,
  latticeChunks,
  latticeCount,
  screenHea,
} from "../../design/hea_screening.ts";
import { physicalTables } from "../../data/hea_tables.ts";
import { heaDescriptorsHost } from "../../data/hea_descriptors.ts";
import { HEA_TOP30 } from "../../data/hea_dataset.ts";
import { add, log, matmul, mul, reshape, sigmoid, sub, tensor } from "../../nn/ops.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";

const tables = physicalTables();

/** A fixed logistic model on roughly standardised descriptors (deterministic, no training). */
function logistic(be: Backend): HeaClassifier {
  const scale = [1 / 50, 1 / 2, 1 / 500, 1 / 2, 1 / 3, 1 / 0.2, 1 / 3, 1 / 10];
  const w = [0.3, -0.4, 0.8, 0.9, -1.2, -0.7, 0.5, 0.6].map((v, j) => v * scale[j]);
  const W = tensor(w, [8, 1], { backend: be }), b = tensor([-1.5], [1], { backend: be });
  return (d) => reshape(sigmoid(add(matmul(d, W), b)), [d.shape[0]]);
}

/** ln(p / (1 − p)). */
function logit(p: Tensor): Tensor {
  return sub(log(p), log(sub(tensor([1], [1, 1], { backend: p.backend }), p)));
}

/** Every composition of `units` over m elements with exactly k non-zero parts in [lo, hi], by plain recursion. */
function bruteCompositions(m: number, k: number, units: number, lo: number, hi: number): number[][] {
  const out: number[][] = [], cur: number[] = [];
  const rec = (i: number, left: number) => {
    if (i === m) {
      if (left === 0 && cur.filter((v) => v > 0).length === k) out.push([...cur]);
      return;
    }
    for (let v = 0; v <= left; v++) {
      if (v > 0 && (v < lo || v > hi)) continue;
      cur.push(v), rec(i + 1, left - v), cur.pop();
    }
  };
  rec(0, units);
  return out;
}

Deno.test("hea screening: counts match the closed form and a brute-force enumeration", () => {
  const els = ["Fe", "Ni", "Co", "Cr", "Al", "Cu", "Mn"];
  // 4 of 7 elements at 5 at.%: C(7,4)·C(19,3) = 35·969
  assertEquals(countHeaCompositions({ elements: els, nElements: 4, step: 0.05 }), 35 * 969);
  assertEquals(binomial(7, 4) * binomial(19, 3), 33915);
  assertEquals(
    countHeaCompositions({ elements: els, nElements: [4, 5], step: 0.05 }),
    binomial(7, 4) * binomial(19, 3) + binomial(7, 5) * binomial(19, 4),
  );
  for (const [m, k, U, lo, hi] of [[5, 3, 10, 1, 10], [5, 4, 20, 2, 7], [6, 2, 8, 1, 5], [4, 4, 12, 3, 3]]) {
    const brute = bruteCompositions(m, k, U, lo, hi).length;
    assertEquals(binomial(m, k) * latticeCount(U, k, lo, hi), brute, `m=${m} k=${k} U=${U} [${lo},${hi}]`);
    let rows = 0;
    for (const ch of latticeChunks(U, k, lo, hi, 7)) {
      for (let r = 0; r < ch.length / k; r++) {
        const p = Array.from(ch.subarray(r * k, (r + 1) * k));
        assertEquals(p.reduce((a, b) => a + b, 0), U, "every lattice row sums to 1");
        assertTrue(p.every((v) => v >= lo && v <= hi));
        rows++;
      }
    }
    assertEquals(rows, latticeCount(U, k, lo, hi));
  }
});

async function bruteTopK(
  be: Backend,
  els: string[],
  k: number,
  U: number,
  lo: number,
  hi: number,
  top: number,
  keep: (d: Float64Array) => boolean = () => true,
) {
  const comps = bruteCompositions(els.length, k, U, lo, hi);
  const x = new Float64Array(comps.length * 30);
  comps.forEach((c, i) => c.forEach((u, j) => x[i * 30 + HEA_TOP30.indexOf(els[j])] = u / U));
  // float64 descriptors, as the CPU screening path computes them
  const host = heaDescriptorsHost(x, tables);
  const p = await logistic(be)(tensor(host, [comps.length, 8], { backend: be })).read();
  const idx = comps.map((_, i) => i).filter((i) => keep(host.subarray(i * 8, i * 8 + 8)));
  idx.sort((a, b) => p[b] - p[a]);
  return {
    p: idx.slice(0, top).map((i) => p[i]),
    comps: idx.slice(0, top).map((i) => x.slice(i * 30, i * 30 + 30)),
    n: idx.length,
  };
}

Deno.test("hea screening: top-k equals the brute-force ranking (streamed in small batches)", async () => {
  const els = ["Fe", "Ni", "Co", "Cr", "Al", "Ti"];
  const progress: number[] = [];
  const r = await screenHea({
    backend: cpu,
    tables,
    classify: logistic(cpu),
    elements: els,
    nElements: 4,
    step: 0.1,
    maxFraction: 0.4,
    topK: 15,
    batchSize: 50, // many batches and lattice chunks
    onProgress: (q) => progress.push(q.done / q.total),
  });
  const ref = await bruteTopK(cpu, els, 4, 10, 1, 4, 15);
  assertEquals(r.evaluated, ref.n);
  assertEquals(
    r.evaluated,
    countHeaCompositions({ elements: els, nElements: 4, step: 0.1, maxFraction: 0.4 }),
  );
  assertClose(r.hits.map((h) => h.p), ref.p, { atol: 1e-7, rtol: 0 });
  for (let i = 0; i < r.hits.length; i++) {
    const h = r.hits[i];
    assertClose(h.composition, ref.comps[i], { atol: 1e-12, rtol: 0, msg: `hit ${i} ${h.formula}` });
    assertClose([h.composition.reduce((a, b) => a + b, 0)], [1], { atol: 1e-12 });
    assertClose(h.descriptors, heaDescriptorsHost(h.composition, tables), { atol: 0, rtol: 0 });
  }
  assertTrue(r.batches > 5);
  assertEquals(progress[progress.length - 1], 1);
  assertTrue(progress.every((v, i) => i === 0 || v >= progress[i - 1]));
});

Deno.test("hea screening: --min-p keeps and counts only p ≥ minP", async () => {
  const els = ["Fe", "Ni", "Co", "Cr", "Al", "Ti"];
  const ref = await bruteTopK(cpu, els, 3, 10, 1, 10, 100000);
  const minP = ref.p[Math.floor(ref.p.length / 3)]; // about a third of the compositions pass
  const r = await screenHea({
    backend: cpu,
    tables,
    classify: logistic(cpu),
    elements: els,
    nElements: 3,
    step: 0.1,
    topK: 1000,
    minP,
    batchSize: 77,
  });
  const n = ref.p.filter((p) => p >= minP).length;
  assertEquals([r.evaluated, r.passed, r.above], [ref.n, ref.n, n]);
  assertEquals(r.hits.length, Math.min(1000, n));
  assertTrue(r.hits.every((h) => h.p >= minP));
});

Deno.test({
  name: "hea screening: a classifier reading the compositions gets them (GPU equals CPU)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    // p = σ(logistic logit + 3·x_Al − 2·x_Cu): the composition term changes the ranking.
    const withComp = (be: Backend): HeaClassifier => {
      const v = new Float64Array(30);
      v[HEA_TOP30.indexOf("Al")] = 3, v[HEA_TOP30.indexOf("Cu")] = -2;
      const V = tensor(v, [30, 1], { backend: be }), base = logistic(be);
      return (d, c) => {
        const p = reshape(base(d), [d.shape[0], 1]);
        return reshape(sigmoid(add(logit(p), matmul(c!, V))), [d.shape[0]]);
      };
    };
    const opts = {
      tables,
      elements: ["Fe", "Ni", "Co", "Cr", "Al", "Cu"],
      nElements: [2, 4] as const,
      step: 0.125,
      topK: 6,
      needsComposition: true,
    };
    const a = await screenHea({ ...opts, backend: g, classify: withComp(g), batchSize: 301 });
    const b = await screenHea({ ...opts, backend: cpu, classify: withComp(cpu), batchSize: 5000 });
    assertEquals(a.evaluated, b.evaluated);
    assertEquals(a.hits.map((h) => h.formula), b.hits.map((h) => h.formula));
    assertClose(a.hits.map((h) => h.p), b.hits.map((h) => h.p), { atol: 2e-6, rtol: 0 });
    const plain = await screenHea({
      ...opts,
      backend: cpu,
      classify: logistic(cpu),
      needsComposition: false,
    });
    // the −2·x_Cu term demotes the Cu-rich winners of the plain classifier
    assertTrue(plain.hits[0].formula !== b.hits[0].formula, "the composition term matters");
    assertTrue(b.hits.every((h) => !h.formula.startsWith("Cu")));
  },
});

Deno.test("hea screening: descriptor ranges filter before ranking", async () => {
  const els = ["Fe", "Ni", "Co", "Cr", "Al"];
  const ranges = { delta: [0, 5] as const, delta_h_mix: [-10, 5] as const };
  const r = await screenHea({
    backend: cpu,
    tables,
    classify: logistic(cpu),
    elements: els,
    nElements: [3, 4],
    step: 0.125,
    topK: 10,
    batchSize: 64,
    descriptorRanges: ranges,
  });
  const inR = (d: Float64Array) => d[4] >= 0 && d[4] <= 5 && d[7] >= -10 && d[7] <= 5;
  const a = await bruteTopK(cpu, els, 3, 8, 1, 8, 10, inR),
    b = await bruteTopK(cpu, els, 4, 8, 1, 8, 10, inR);
  assertEquals(r.passed, a.n + b.n);
  const best = [...a.p, ...b.p].sort((x, y) => y - x).slice(0, 10);
  assertClose(r.hits.map((h) => h.p), best, { atol: 1e-7, rtol: 0 });
  assertTrue(r.hits.every((h) => inR(h.descriptors)));
});

Deno.test("hea screening: a host-side accept check (e.g. a domain) skips candidates before they enter the top-k", async () => {
  const els = ["Fe", "Ni", "Co", "Cr", "Al"];
  const base = {
    backend: cpu,
    tables,
    classify: logistic(cpu),
    elements: els,
    nElements: 3,
    step: 0.125,
    topK: 10,
  };
  const plain = await screenHea(base);
  assertEquals(plain.rejected, 0);
  // reject every composition holding the best plain hit's largest element, and any with ΔH_mix < −5 kJ/mol
  const top = plain.hits[0].composition, banned = top.indexOf(Math.max(...top));
  const ok = (c: Float64Array, d: Float64Array) => c[banned] === 0 && d[7] >= -5;
  let calls = 0;
  const r = await screenHea({
    ...base,
    batchSize: 40,
    accept: (c, d) => {
      calls++;
      assertClose([c.reduce((a, b) => a + b, 0)], [1], { atol: 1e-12 });
      assertClose(d, heaDescriptorsHost(c, tables), { atol: 0, rtol: 0 });
      return ok(c, d);
    },
  });
  const all = await bruteTopK(cpu, els, 3, 8, 1, 8, 100000);
  const kept = all.p.filter((_, i) => ok(all.comps[i], heaDescriptorsHost(all.comps[i], tables)));
  assertClose(r.hits.map((h) => h.p), kept.slice(0, 10), { atol: 1e-7, rtol: 0 });
  assertTrue(r.hits.every((h) => ok(h.composition, h.descriptors)));
  assertTrue(r.rejected >= 1, "the best plain hit is rejected");
  assertTrue(calls < r.evaluated, "the check runs only for candidates that would enter the top-k");
});

Deno.test({
  name: "hea screening: the GPU run equals the CPU run",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const opts = {
      tables,
      elements: ["Fe", "Ni", "Co", "Cr", "Al", "Cu", "Mn"],
      nElements: 4,
      step: 0.1,
      topK: 8,
    };
    const a = await screenHea({ ...opts, backend: g, classify: logistic(g), batchSize: 999 });
    const b = await screenHea({ ...opts, backend: cpu, classify: logistic(cpu) });
    assertEquals(a.evaluated, b.evaluated);
    assertClose(a.hits.map((h) => h.p), b.hits.map((h) => h.p), { atol: 2e-6, rtol: 0 });
  },
});

Deno.test("hea screening: bad options are one-line errors", async () => {
  const base = {
    backend: cpu,
    tables,
    classify: logistic(cpu),
    elements: ["Fe", "Ni", "Co"],
    nElements: 2,
    step: 0.1,
  };
  assertUserError(() => countHeaCompositions({ ...base, step: 0.3 }), "1/step");
  assertUserError(() => countHeaCompositions({ ...base, nElements: 4 }), "1..3");
  assertUserError(() => countHeaCompositions({ ...base, elements: ["Fe", "Fe"] }), "repeated");
  assertUserError(() => countHeaCompositions({ ...base, maxFraction: 0.25 }), "multiple of the step");
  for (
    const [o, part] of [
      [{ elements: ["Fe", "Xe"] }, "'Xe'"],
      [{ descriptorRanges: { foo: [0, 1] as const } }, "'foo'"],
      [{ topK: 0 }, "topK"],
      [{ classify: (d: Tensor) => mul(d, d) }, "classifier returned shape"],
      [{ minP: 1.5 }, "minimum probability"],
    ] as const
  ) {
    try {
      await screenHea({ ...base, ...o } as Parameters<typeof screenHea>[0]);
      throw new Error(`expected an error containing ${part}`);
    } catch (e) {
      assertTrue((e as Error).message.includes(part), (e as Error).message);
    }
  }
});

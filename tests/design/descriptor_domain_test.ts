/**
 * Applicability domain: a hand-computed 1-D case (standardisation, leave-one-out threshold at two quantiles,
 * nearest row with ties to the lower index), agreement with a brute-force search in 3-D with a constant column,
 * and bad input.
 */
import { assertClose, randu } from "../_helpers.ts";
import { assertEquals, assertTrue } from "../data/_helpers.ts";
import { DescriptorDomain } from "../../design/descriptor_domain.ts";

Deno.test("descriptor domain: hand-computed 1-D case", () => {
  // rows 0, 1, 3, 10: mean 3.5, population std √(61/4); leave-one-out nearest distances 1, 1, 2, 7
  const s = Math.sqrt(61 / 4);
  const half = DescriptorDomain.fit([0, 1, 3, 10], 1, { quantile: 0.5 });
  assertEquals([half.rows, half.features, half.quantile], [4, 1, 0.5]);
  assertClose([half.threshold], [1 / s], { atol: 1e-12 }); // ⌈0.5·4⌉ = 2nd smallest
  const wide = DescriptorDomain.fit([0, 1, 3, 10], 1);
  assertClose([wide.threshold], [7 / s], { atol: 1e-12 }); // ⌈0.95·4⌉ = 4th smallest
  // 2 is 1 away from rows 1 and 2 (value 1 and 3): the tie goes to row 1
  const a = half.assess([2]);
  assertEquals([a.nearest, a.inDomain], [1, true]);
  assertClose([a.distance], [1 / s], { atol: 1e-12 });
  const b = half.assess([5]);
  assertEquals([b.nearest, b.inDomain, wide.assess([5]).inDomain], [2, false, true]);
  assertClose([b.distance], [2 / s], { atol: 1e-12 });
  assertEquals(wide.assess([18]).inDomain, false); // 8 from row 3
  const nan = wide.assess([NaN]);
  assertEquals([nan.inDomain, nan.nearest, nan.distance], [false, -1, Infinity]);
});

Deno.test("descriptor domain: nearest rows and distances equal a brute-force search (constant column unscaled)", () => {
  const u = randu(1000, 7);
  let k = 0;
  const rnd = () => u[k++];
  const n = 60, f = 3;
  const x = new Float64Array(n * f);
  for (let i = 0; i < n; i++) x.set([10 * rnd(), 0.01 * rnd(), 4.2], i * f);
  const d = DescriptorDomain.fit(x, f, { quantile: 0.8 });
  const mean = [0, 1].map((j) => x.filter((_, i) => i % f === j).reduce((a, b) => a + b, 0) / n);
  const sd = [0, 1].map((j) =>
    Math.sqrt(x.filter((_, i) => i % f === j).reduce((a, v) => a + (v - mean[j]) ** 2, 0) / n)
  );
  const dist = (p: number[], r: number) =>
    Math.hypot((p[0] - x[r * f]) / sd[0], (p[1] - x[r * f + 1]) / sd[1], p[2] - x[r * f + 2]);
  const loo = Array.from(
    { length: n },
    (_, r) =>
      Math.min(
        ...Array.from(
          { length: n },
          (_, s) => s === r ? Infinity : dist([...x.subarray(r * f, r * f + f)], s),
        ),
      ),
  );
  loo.sort((p, q) => p - q);
  assertClose([d.threshold], [loo[Math.ceil(0.8 * n) - 1]], { rtol: 1e-12 });
  for (let t = 0; t < 20; t++) {
    const q = [12 * rnd() - 1, 0.012 * rnd(), 4.2 + (t % 2)];
    const all = Array.from({ length: n }, (_, r) => dist(q, r));
    const best = Math.min(...all);
    const v = d.assess(q);
    assertEquals(v.nearest, all.indexOf(best));
    assertClose([v.distance], [best], { rtol: 1e-12 });
    assertEquals(v.inDomain, best <= d.threshold);
  }
  // the constant column (std 0) is only centred, so an offset of 1 in it is a distance of exactly 1 from row 0
  const off = d.assess([x[0], x[1], 5.2]);
  assertEquals(off.nearest, 0);
  assertClose([off.distance], [1], { atol: 1e-9 });
});

Deno.test("descriptor domain: bad input is refused", () => {
  const bad: [() => unknown, RegExp][] = [
    [() => DescriptorDomain.fit([1, 2, 3], 2), /not rows of 2/],
    [() => DescriptorDomain.fit([1], 1), /at least 2/],
    [() => DescriptorDomain.fit([1, NaN], 1), /row 1 has a non-finite/],
    [() => DescriptorDomain.fit([1, 2], 1, { quantile: 0 }), /quantile/],
    [() => DescriptorDomain.fit([1, 2], 1).assess([1, 2]), /expected 1 descriptors/],
  ];
  for (const [fn, re] of bad) {
    let msg = "";
    try {
      fn();
    } catch (e) {
      msg = (e as Error).message;
    }
    assertTrue(re.test(msg), `${re}: got '${msg}'`);
  }
});

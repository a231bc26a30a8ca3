import { sortedRowSamples, summarizeMcSamples } from "../../nn/metrics/mc_summary.ts";
import { assertAllNear, assertEquals, assertNear, assertRangeError } from "./_helpers.ts";

// S = 4 passes × N = 2 rows, pass-major: row 0 sees 1, 2, 3, 4 and row 1 sees 10 every pass.
const SAMPLES = Float32Array.from([1, 10, 2, 10, 4, 10, 3, 10]);

Deno.test("summarizeMcSamples: hand-computed mean, population std, quantiles, LCB", () => {
  const s = summarizeMcSamples(SAMPLES, 4, { levels: [0.1, 0.5], z: 2 });
  assertEquals([s.nPasses, s.nRows, s.z], [4, 2, 2]);
  assertEquals(Array.from(s.mean), [2.5, 10]);
  // ddof 0: √((1.5² + 0.5² + 0.5² + 1.5²) / 4) = √1.25
  assertAllNear(s.std, [Math.sqrt(1.25), 0], 1e-15);
  assertEquals(s.levels, [0.1, 0.5]);
  assertAllNear(s.quantiles[0], [1.3, 10], 1e-15); // np.quantile([1,2,3,4], 0.1) = 1.3
  assertAllNear(s.quantiles[1], [2.5, 10], 1e-15);
  assertAllNear(s.lcb, [2.5 - 2 * Math.sqrt(1.25), 10], 1e-15);
  const d = summarizeMcSamples(SAMPLES, 4);
  assertEquals(d.levels, [0.05, 0.5, 0.95]);
  assertNear(d.lcb[0], 2.5 - 1.645 * Math.sqrt(1.25), 1e-15);
});

Deno.test("summarizeMcSamples: one pass has std 0; rows sorted per row", () => {
  const s = summarizeMcSamples([4, 5, 6], 1, { levels: [] });
  assertEquals([Array.from(s.mean), Array.from(s.std), s.quantiles], [[4, 5, 6], [0, 0, 0], []]);
  assertEquals(Array.from(sortedRowSamples(SAMPLES, 4)), [1, 2, 3, 4, 10, 10, 10, 10]);
});

Deno.test("summarizeMcSamples: bad input is a RangeError", () => {
  assertRangeError(() => summarizeMcSamples([], 4), "samples is empty");
  assertRangeError(() => summarizeMcSamples([1, 2, 3], 2), "3 samples do not form 2 passes");
  assertRangeError(
    () => summarizeMcSamples([1, 2, NaN, 4], 2),
    "sample of pass 1, row 0 is not a finite number",
  );
  assertRangeError(() => summarizeMcSamples([1, 2], 0), "nPasses must be an integer ≥ 1");
  assertRangeError(() => summarizeMcSamples([1, 2], 1, { levels: [2] }), "level must be in [0, 1]");
  assertRangeError(() => summarizeMcSamples([1, 2], 1, { z: NaN }), "z must be a finite number");
});

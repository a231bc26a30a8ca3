/**
 * The report's numeric helpers, against hand computations: the spread (randomised) PIT histogram, and the
 * fixed-shape batch wrapper that pads model calls to whole blocks.
 */
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { spreadPitHistogram } from "../../nn/metrics/pit_spread.ts";
import { fixedShapeBatchFn } from "../../report/fixed_shape_batch.ts";

Deno.test("spread PIT: rank intervals by hand, ties, exact uniformity when every rank occurs once", () => {
  // One row, samples {1, 3}, target 2: rank 1 of 3 → PIT uniform on [1/3, 2/3].
  assertEquals(spreadPitHistogram([1, 3], 2, [2], 3).counts.map((c) => +c.toFixed(12)), [0, 1, 0]);
  assertEquals(spreadPitHistogram([1, 3], 2, [2], 2).counts.map((c) => +c.toFixed(12)), [0.5, 0.5]);
  // Target below every sample: [0, 1/3]; 4 bins of 1/4 → 3/4 of the mass in bin 0, 1/4 in bin 1.
  assertEquals(spreadPitHistogram([5, 6], 2, [0], 4).counts.map((c) => +c.toFixed(12)), [0.75, 0.25, 0, 0]);
  // Ties: samples {2, 2}, target 2 → b = 0, e = 2 → the whole [0, 1].
  assertEquals(spreadPitHistogram([2, 2], 2, [2], 4).counts.map((c) => +c.toFixed(12)), [
    0.25,
    0.25,
    0.25,
    0.25,
  ]);
  // Layout [S, N]: sample s of row i at s·N + i. Row 0 samples {10, 20}, row 1 samples {1, 2}; targets 15 and 3.
  const two = spreadPitHistogram([10, 1, 20, 2], 2, [15, 3], 3).counts.map((c) => +c.toFixed(12));
  assertEquals(two, [0, 1, 1], "row 0 has rank 1 (middle bin), row 1 rank 2 (top bin)");

  // S = 20 passes, 21 rows whose targets take every rank 0…20 once: a perfectly calibrated ensemble. Every one of
  // the 20 bins gets exactly 21/20 of a row.
  const S = 20, n = 21;
  const samples = new Float64Array(S * n), y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < S; s++) samples[s * n + i] = 100 * i + s; // row i: 100i, …, 100i + 19
    y[i] = 100 * i + i - 0.5; // i samples below the target
  }
  const h = spreadPitHistogram(samples, S, y, 20);
  assertEquals(h.edges.length, 21);
  for (const c of h.counts) assertNear(c, n / 20, 1e-12, "uniform ranks → flat histogram");
  assertNear(h.counts.reduce((a, b) => a + b, 0), n, 1e-12, "mass = rows");

  let threw = 0;
  for (
    const f of [
      () => spreadPitHistogram([1, 2, 3], 2, [1]),
      () => spreadPitHistogram([1], 0, [1]),
      () => spreadPitHistogram([1, 2], 2, [NaN]),
      () => spreadPitHistogram([1, 2], 2, [1], 0),
    ]
  ) {
    try {
      f();
    } catch (e) {
      if (e instanceof RangeError) threw++;
    }
  }
  assertEquals(threw, 4, "bad sizes, passes, targets and bins are RangeErrors");
});

Deno.test("fixed-shape batch: every call a whole number of blocks, padding dropped, results unchanged", async () => {
  const d = 3, block = 4;
  const calls: number[] = [];
  // A model that also records what it was given: f(row) = 100·row[0] + 10·row[1] + row[2].
  let lastRows = new Float64Array(0);
  const f = (rows: Float64Array, m: number) => {
    calls.push(m);
    lastRows = rows.slice();
    return Float64Array.from(
      { length: m },
      (_, i) => 100 * rows[i * d] + 10 * rows[i * d + 1] + rows[i * d + 2],
    );
  };
  const g = fixedShapeBatchFn(f, block, d);
  const x = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5]); // 5 rows
  const y = await g(x, 5);
  assertEquals(Array.from(y), [123, 456, 789, 12, 345]);
  assertEquals(calls, [8], "5 rows padded to 2 blocks");
  for (let i = 5; i < 8; i++) {
    assertEquals(
      Array.from(lastRows.subarray(i * d, (i + 1) * d)),
      [1, 2, 3],
      `padding row ${i} copies row 0`,
    );
  }
  assertEquals(
    Array.from(await g(x.subarray(0, 12), 4)),
    [123, 456, 789, 12],
    "a whole block is passed as is",
  );
  assertEquals(calls, [8, 4]);
  assertEquals((await g(new Float64Array(0), 0)).length, 0);
  assertEquals(calls, [8, 4], "no model call for no rows");
  let threw = false;
  try {
    await g(x, 4);
  } catch (e) {
    threw = e instanceof RangeError;
  }
  assertTrue(threw, "rows that do not fit m × d are a RangeError");
});

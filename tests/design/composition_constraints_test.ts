import {
  type CompositionConstraintOptions,
  CompositionConstraints,
  formatCompositionFormula,
  precisionDecimals,
  roundToGridUnits,
  splitElementList,
} from "../../design/composition_constraints.ts";
import { largestRemainder } from "../../data/formula.ts";
import { Rng } from "../../nn/random.ts";
import { UserError } from "../../cli/errors.ts";
import { assertEquals, assertNear, assertTrue, assertUserError } from "../data/_helpers.ts";

const ALCUNIZR = ["Al", "Cu", "Ni", "Zr"];
/** A realistic element list (model order is not alphabetical). */
const POOL = ["Al", "Co", "Cr", "Cu", "Fe", "Mn", "Mo", "Nb", "Ni", "Pb", "Si", "Ti", "V", "Zr"];

function units(x: ArrayLike<number>, total: number): number[] {
  return Array.from(x, (v) => Math.round(v * total));
}

Deno.test("constraints: hand case — top-k, renormalise, round to 0.5 at.% (largest remainder)", () => {
  const c = new CompositionConstraints(ALCUNIZR, { maxElements: 3, minFraction: 0.05, precision: 0.5 });
  const x = c.constrain([0.07, 0.2, 0.08, 0.65]);
  // Al (smallest) goes; Zr, Cu, Ni = .65, .2, .08 over .93 → 139.78, 43.01, 17.20 half-steps → 140, 43, 17.
  assertEquals(units(x, 200), [0, 43, 17, 140]);
  assertEquals(c.violations(x), []);
  assertEquals(c.formula(x), "Zr70Cu21.5Ni8.5");
  assertEquals(c.atPercent(x), [0, 21.5, 8.5, 70]);
});

Deno.test("constraints: whitelist and exclude zero their elements; negatives are clipped", () => {
  const els = ["Fe", "Co", "Ni", "Cr", "Pb"];
  const ex = new CompositionConstraints(els, { exclude: ["Pb"], precision: 1 });
  assertEquals(units(ex.constrain([0.2, 0.2, 0.2, 0.2, 0.2]), 100), [25, 25, 25, 25, 0]);
  const wl = new CompositionConstraints(els, { elements: ["Ni", "Fe"], precision: 1 });
  assertEquals(units(wl.constrain([0.1, 0.5, 0.3, 0.05, 0.05]), 100), [25, 0, 75, 0, 0]);
  const both = new CompositionConstraints(els, {
    elements: ["Fe", "Pb", "Cr"],
    exclude: ["Pb"],
    precision: 1,
  });
  assertEquals(units(both.constrain([0.1, 0.2, 0.3, 0.3, 0.1]), 100), [25, 0, 0, 75, 0]);
  const plain = new CompositionConstraints(els, { precision: 1 });
  assertEquals(units(plain.constrain([-0.5, 1, 1, -2, 0]), 100), [0, 50, 50, 0, 0]);
  // A disallowed element in a row is reported by name.
  const v = ex.violations([0.5, 0, 0, 0, 0.5]);
  assertEquals(v.map((e) => [e.kind, e.element]), [["disallowed", "Pb"]]);
});

Deno.test("constraints: top maxElements keeps the largest, ties in model order", () => {
  const c = new CompositionConstraints(ALCUNIZR, { maxElements: 2, precision: 1 });
  assertEquals(units(c.constrain([0.3, 0.3, 0.3, 0.1]), 100), [50, 50, 0, 0]);
  assertEquals(units(c.constrain([0.1, 0.3, 0.2, 0.4]), 100), [0, 43, 0, 57]);
  // Whitelist of 2 elements with maxElements 3 is fine: at most 2 present.
  const w = new CompositionConstraints(ALCUNIZR, { elements: ["Cu", "Zr"], maxElements: 3, precision: 1 });
  assertEquals(w.maxFeasibleElements, 2);
  assertEquals(units(w.constrain([0.4, 0.3, 0.2, 0.1]), 100), [0, 75, 0, 25]);
});

Deno.test("constraints: minFraction drops the smallest one at a time, renormalising in between", () => {
  const c = new CompositionConstraints(ALCUNIZR, { minFraction: 0.25, precision: 0.5 });
  // Dropping everything below 0.25 at once would leave 50/50; one at a time, .2 of .8 = .25 survives.
  assertEquals(units(c.constrain([0.3, 0.3, 0.2, 0.2]), 200), [75, 75, 50, 0]);
  // Never drops everything: a spread-out vector keeps at least its largest element.
  const strict = new CompositionConstraints(ALCUNIZR, { minFraction: 0.5, precision: 1 });
  assertEquals(units(strict.constrain([0.3, 0.3, 0.2, 0.2]), 100), [50, 50, 0, 0]); // top 2 (room for 2)
  assertEquals(units(strict.constrain([0.26, 0.25, 0.25, 0.24]), 100), [100, 0, 0, 0]); // .25 < .5 · .51
  assertEquals(units(strict.constrain([0.4, 0.2, 0.2, 0.2]), 100), [100, 0, 0, 0]);
});

Deno.test("constraints: rounding keeps every element ≥ minFraction where plain rounding would not", () => {
  // 4.4 at.% minimum on a 1 at.% grid: each minor element needs 5 units, so the major one gives up 1.2 at.%.
  const c = new CompositionConstraints(ALCUNIZR, { minFraction: 0.044, precision: 1 });
  assertEquals(c.minUnits, 5);
  const x = c.constrain([0.912, 0.044, 0.044, 0]);
  assertEquals(units(x, 100), [90, 5, 5, 0]);
  // Plain rounding of 91.2, 4.4, 4.4 leaves a minor element at 4 at.%, below the minimum.
  assertEquals(Math.min(...largestRemainder([0.912, 0.044, 0.044], 100)), 4);
  assertEquals(c.violations(x), []);
  assertEquals(c.violations([0.92, 0.04, 0.04, 0]).map((v) => [v.kind, v.element]), [
    ["min-fraction", "Cu"],
    ["min-fraction", "Ni"],
  ]);
});

Deno.test("constraints: minFraction caps the element count (maxFeasibleElements) on the grid", () => {
  const c = new CompositionConstraints(POOL.slice(0, 5), {
    minFraction: 0.3,
    maxElements: 5,
    precision: 0.1,
  });
  assertEquals(c.maxFeasibleElements, 3);
  const x = c.constrain([0.2, 0.2, 0.2, 0.2, 0.2]);
  assertEquals(units(x, 1000), [334, 333, 333, 0, 0]);
  assertEquals(c.violations(x), []);
  // 0.31 on a 10 at.% grid means ≥ 40 at.% each: only two fit.
  const coarse = new CompositionConstraints(POOL.slice(0, 5), { minFraction: 0.31, precision: 10 });
  assertEquals(coarse.maxFeasibleElements, 2);
  assertEquals(units(coarse.constrain([0.4, 0.35, 0.25, 0, 0]), 10), [5, 5, 0, 0, 0]);
});

Deno.test("constraints: infeasible and invalid options are one-line UserErrors naming the flag", () => {
  // minFraction 0.6 admits only pure elements: with maxElements 2 that is an error, with maxElements 1 it is asked for.
  assertUserError(
    () => new CompositionConstraints(ALCUNIZR, { minFraction: 0.6, maxElements: 2 }),
    "--min-fraction",
  );
  assertUserError(() => new CompositionConstraints(ALCUNIZR, { minFraction: 0.6 }), "--min-fraction", "0.5");
  const pure = new CompositionConstraints(ALCUNIZR, { minFraction: 0.6, maxElements: 1 });
  assertEquals(units(pure.constrain([0.3, 0.3, 0.1, 0.3]), 1000), [1000, 0, 0, 0]);
  const one = new CompositionConstraints(ALCUNIZR, { elements: ["Ni"], minFraction: 0.9 });
  assertEquals(units(one.constrain([0.5, 0.5, 0, 0]), 1000), [0, 0, 1000, 0]); // fallback: only Ni is allowed

  assertUserError(() => new CompositionConstraints(ALCUNIZR, { elements: ["Xx"] }), "--elements", "'Xx'");
  assertUserError(
    () => new CompositionConstraints(ALCUNIZR, { elements: ["zr"] }),
    "--elements",
    "'zr'",
    "'Zr'",
  );
  assertUserError(() => new CompositionConstraints(ALCUNIZR, { exclude: ["Fe"] }), "--exclude", "Fe", "Zr");
  assertUserError(() => new CompositionConstraints(ALCUNIZR, { elements: [] }), "--elements", "empty");
  assertUserError(
    () => new CompositionConstraints(ALCUNIZR, { elements: ["Cu"], exclude: ["Cu"] }),
    "--elements",
    "--exclude",
  );
  assertUserError(() => new CompositionConstraints(ALCUNIZR, { exclude: ALCUNIZR }), "--exclude");
  for (const m of [0, -1, 2.5, NaN]) {
    assertUserError(() => new CompositionConstraints(ALCUNIZR, { maxElements: m }), "--max-elements");
  }
  for (const f of [-0.1, 1.5, NaN]) {
    assertUserError(() => new CompositionConstraints(ALCUNIZR, { minFraction: f }), "--min-fraction");
  }
  for (const p of [0, -1, 0.3, 3, 1e-7, 150, Infinity]) {
    assertUserError(() => new CompositionConstraints(ALCUNIZR, { precision: p }), "--precision");
  }
});

Deno.test("constraints: precision steps and their decimals", () => {
  assertEquals([0.1, 0.25, 0.5, 1, 2.5, 5, 12.5, 25, 100, 0.000001].map(precisionDecimals), [
    1,
    2,
    1,
    0,
    1,
    0,
    1,
    0,
    0,
    6,
  ]);
  const c = new CompositionConstraints(ALCUNIZR, { precision: 12.5 });
  assertEquals(c.gridUnits, 8);
  assertEquals(c.atPercent(c.constrain([0.6, 0.4, 0, 0])), [62.5, 37.5, 0, 0]);
  // Exact decimals, not float noise (3 × 0.1 = 0.30000000000000004 in floating point).
  const fine = new CompositionConstraints(ALCUNIZR, { precision: 0.1 });
  assertEquals(fine.atPercent([0.003, 0.997, 0, 0]), [0.3, 99.7, 0, 0]);
});

Deno.test("constraints: grid and sum violations are detected", () => {
  const c = new CompositionConstraints(ALCUNIZR, { precision: 0.5, maxElements: 2 });
  assertEquals(c.violations([0.5, 0.5, 0, 0]), []);
  assertEquals(c.violations([0.5025, 0.4975, 0, 0]).map((v) => v.kind), ["grid", "grid"]);
  assertEquals(c.violations([0.5, 0.4, 0, 0]).map((v) => v.kind), ["sum"]);
  assertEquals(c.violations([0.5, 0.25, 0.25, 0]).map((v) => v.kind), ["max-elements"]);
  assertEquals(c.violations([1.5, -0.5, 0, 0]).map((v) => v.kind), ["negative"]);
  assertEquals(c.violations([NaN, 1, 0, 0]).map((v) => v.kind), ["finite"]);
  assertEquals(c.violations([1, 0, 0]).map((v) => v.kind), ["length"]);
  const rows = c.rowViolations([0.5, 0.5, 0, 0, 0.5, 0.25, 0.25, 0]);
  assertEquals(rows.map((v) => [v.row, v.kind]), [[1, "max-elements"]]);
});

Deno.test("constraints: with no binding constraint the result is the plain largest-remainder rounding", () => {
  const rng = new Rng(11);
  const c = new CompositionConstraints(POOL, { precision: 0.1 });
  for (let t = 0; t < 200; t++) {
    const x = POOL.map(() => (rng.uniform() < 0.5 ? 0 : rng.uniform()));
    if (x.every((v) => v === 0)) continue;
    assertEquals(units(c.constrain(x), 1000), largestRemainder(x, 1000));
  }
});

/** Brute force: the least-squares integer rounding with the lower bound, by enumeration (small totals only). */
function bruteRoundCost(w: number[], total: number, lower: number): number {
  const s = w.reduce((a, b) => a + b, 0);
  const e = w.map((v) => (v / s) * total);
  let best = Infinity;
  const rec = (i: number, left: number, cost: number) => {
    if (i === w.length - 1) {
      if (left >= lower) best = Math.min(best, cost + (left - e[i]) ** 2);
      return;
    }
    for (let u = lower; u <= left - lower * (w.length - 1 - i); u++) {
      rec(i + 1, left - u, cost + (u - e[i]) ** 2);
    }
  };
  rec(0, total, 0);
  return best;
}

Deno.test("constraints: roundToGridUnits is the closest lower-bounded rounding (brute force)", () => {
  const rng = new Rng(5);
  for (let t = 0; t < 300; t++) {
    const m = 2 + rng.int(3), total = 5 + rng.int(16);
    const lower = rng.int(Math.floor(total / m) + 1);
    const w = Array.from({ length: m }, () => 0.01 + rng.uniform() ** 3);
    const u = roundToGridUnits(w, total, lower);
    assertEquals(u.reduce((a, b) => a + b, 0), total);
    assertTrue(u.every((v) => Number.isInteger(v) && v >= lower), `${u} lower ${lower}`);
    const s = w.reduce((a, b) => a + b, 0);
    const cost = u.reduce((a, v, i) => a + (v - (w[i] / s) * total) ** 2, 0);
    assertNear(cost, bruteRoundCost(w, total, lower), 1e-9, `w=${w} total=${total} lower=${lower}`);
  }
});

const PRECISIONS = [0.01, 0.1, 0.25, 0.5, 1, 2.5, 5, 12.5];

/** A random input row: mixes negatives, exact zeros, tiny values and a few dominant spikes. */
function randomRow(rng: Rng, e: number): number[] {
  const kind = rng.int(4);
  return Array.from({ length: e }, () => {
    const u = rng.uniform();
    if (kind === 0) return rng.normal();
    if (kind === 1) return u < 0.6 ? 0 : rng.uniform();
    if (kind === 2) return u < 0.1 ? 5 * rng.uniform() : 1e-4 * rng.uniform();
    return rng.uniform() ** 4;
  });
}

Deno.test("constraints: property — every constrained row satisfies every constraint (random options and rows)", () => {
  const rng = new Rng(2024);
  let tried = 0, rejected = 0;
  for (let trial = 0; trial < 400; trial++) {
    const e = 2 + rng.int(POOL.length - 1);
    const elements = POOL.slice(0, e);
    const pick = () => elements.filter(() => rng.uniform() < 0.4);
    const options: CompositionConstraintOptions = {
      elements: rng.uniform() < 0.5 ? pick() : undefined,
      exclude: rng.uniform() < 0.5 ? pick() : undefined,
      maxElements: rng.uniform() < 0.6 ? 1 + rng.int(e) : undefined,
      minFraction: rng.uniform() < 0.6 ? 0.5 * rng.uniform() ** 2 : undefined,
      precision: PRECISIONS[rng.int(PRECISIONS.length)],
    };
    let c: CompositionConstraints;
    try {
      c = new CompositionConstraints(elements, options);
    } catch (err) {
      // Only the documented infeasible combinations may be rejected.
      assertTrue(err instanceof UserError && /--elements|--exclude/.test(err.message), String(err));
      rejected++;
      continue;
    }
    const n = 25;
    const rows = new Float64Array(n * e);
    for (let r = 0; r < n; r++) rows.set(randomRow(rng, e), r * e);
    const out = c.constrainRows(rows);
    assertEquals(c.rowViolations(out), [], JSON.stringify(options));
    for (let r = 0; r < n; r++) {
      const x = out.subarray(r * e, (r + 1) * e);
      tried++;
      // Exactly 100 at.% on the grid, in integer grid steps.
      assertEquals(units(x, c.gridUnits).reduce((a, b) => a + b, 0), c.gridUnits);
      // Present elements were positive and allowed in the input (unless the pure-element fallback fired).
      const src = rows.subarray(r * e, (r + 1) * e);
      const anyAllowedPositive = elements.some((_, i) => c.allowed[i] && src[i] > 0);
      if (anyAllowedPositive) { for (let i = 0; i < e; i++) if (x[i] > 0) assertTrue(src[i] > 0); }
      // A projection: constraining a constrained row changes nothing.
      assertEquals(Array.from(c.constrain(x)), Array.from(x));
      // Same as the single-row call.
      assertEquals(Array.from(c.constrain(src)), Array.from(x));
    }
  }
  assertTrue(tried > 5000 && rejected < 100, `tried ${tried}, rejected ${rejected}`);
});

Deno.test("constraints: formatCompositionFormula — at.% on the grid, descending, zeros trimmed", () => {
  const f = [0.075, 0.175, 0.1, 0.65];
  assertEquals(formatCompositionFormula(f, ALCUNIZR, 0.5), "Zr65Cu17.5Ni10Al7.5");
  assertEquals(formatCompositionFormula(f, ALCUNIZR, 0.01), "Zr65Cu17.5Ni10Al7.5");
  assertEquals(formatCompositionFormula(f, ALCUNIZR, 2.5), "Zr65Cu17.5Ni10Al7.5");
  // 1.4, 3.6, 2, 13 steps of 5 at.% → 1, 4, 2, 13.
  assertEquals(formatCompositionFormula([0.07, 0.18, 0.1, 0.65], ALCUNIZR, 5), "Zr65Cu20Ni10Al5");
  // Off-grid input is rounded on the grid (sum exactly 100); ties in amount are alphabetical.
  assertEquals(formatCompositionFormula([1, 1, 1, 0], ALCUNIZR, 0.5), "Al33.5Cu33.5Ni33");
  assertEquals(formatCompositionFormula([0.625, 0.375, 0, 0], ALCUNIZR, 12.5), "Al62.5Cu37.5");
  assertEquals(formatCompositionFormula([0, 0, 0, 1], ALCUNIZR), "Zr100");
  assertUserError(() => formatCompositionFormula([0, 0, 0, 0], ALCUNIZR), "zero");
  assertUserError(() => formatCompositionFormula([1, 0, 0, 0], ALCUNIZR, 0.3), "--precision");
});

Deno.test("constraints: splitElementList accepts commas, spaces and repeated flags", () => {
  assertEquals(splitElementList("Fe,Co, Ni"), ["Fe", "Co", "Ni"]);
  assertEquals(splitElementList(["Fe Co", ",Ni,"]), ["Fe", "Co", "Ni"]);
  assertEquals(splitElementList(""), []);
});

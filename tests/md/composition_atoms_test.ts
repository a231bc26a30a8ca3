/**
 * Atom counts from compositions: hand cases (the reference's B68Fe4Nb24W4 at 5 488 and 27 648 atoms), an
 * independent brute-force apportionment on the reference's five compositions, at.% ≡ fractions, order
 * independence, dropped elements, bad sums, and (with ALLOY_DATA_DIR) the published configurations within ±1
 * atom per element.
 */
import {
  atomCounts,
  compositionFromAmounts,
  compositionFromFormula,
  FRACTION_TOLERANCE,
} from "../../md/composition_atoms.ts";
import { atomicNumber } from "../../data/elements.ts";
import { join } from "../../data/paths.ts";
import { Rng } from "../../nn/random.ts";
import { assertEquals, assertTrue, assertUserError, DATA_DIR, NO_DATA, noteSkip } from "../data/_helpers.ts";

/** The reference's comp.csv (§8.1), at.%: header B,Co,Fe,Hf,Nb,Ru,W,Zr. */
const HEADER = ["B", "Co", "Fe", "Hf", "Nb", "Ru", "W", "Zr"];
const REFERENCE_ROWS = [
  [68, 0, 4, 0, 24, 0, 4, 0],
  [62, 0, 4, 8, 12, 6, 8, 0],
  [64, 8, 5, 0, 23, 0, 0, 0],
  [66, 0, 4, 4, 21, 5, 0, 0],
  [61, 5, 3, 0, 18, 0, 8, 5],
];

function rowPairs(row: number[], scale = 1): [string, number][] {
  return HEADER.map((e, j) => [e, row[j] * scale]);
}

function countsOf(row: number[], n: number, scale = 1): Record<string, number> {
  const c = atomCounts(compositionFromAmounts(rowPairs(row, scale), "test"), n);
  return Object.fromEntries(c.elements.map((e, i) => [e, c.counts[i]]));
}

/**
 * Independent reference: among all floor/ceil choices summing to N, the one with the smallest total deviation
 * Σ|count − share| (Hamilton's method minimises it); ties broken toward giving the extra atoms to lower
 * atomic numbers. Exact rational arithmetic: shares are row[j]·N/100 with integer at.%, compared ×100.
 */
function bruteForce(row: number[], n: number): Record<string, number> {
  const els = HEADER.map((e, j) => ({ e, p: row[j] })).filter((x) => x.p > 0)
    .sort((a, b) => atomicNumber(a.e)! - atomicNumber(b.e)!);
  const share100 = els.map((x) => x.p * n); // share × 100, an integer
  const floor = share100.map((s) => Math.floor(s / 100));
  let best: { c: number[]; dev: number; key: string } | null = null;
  for (let mask = 0; mask < 1 << els.length; mask++) {
    const c = floor.map((f, i) => f + ((mask >> i) & 1));
    if (c.reduce((a, b) => a + b, 0) !== n) continue;
    const dev = c.reduce((a, ci, i) => a + Math.abs(ci * 100 - share100[i]), 0);
    // Lower key = extra atoms on lower atomic numbers (bit i set for element i, read from the first element).
    const key = c.map((ci, i) => (ci > floor[i] ? "0" : "1")).join("");
    if (!best || dev < best.dev || (dev === best.dev && key < best.key)) best = { c, dev, key };
  }
  return Object.fromEntries(els.map((x, i) => [x.e, best!.c[i]]));
}

Deno.test("B68Fe4Nb24W4: hand-computed counts at 5488 and 27648 atoms", () => {
  // 5488: shares 3731.84, 219.52, 1317.12, 219.52 → floors sum 5486; the 2 extra atoms go to the largest
  // remainders .84 (B) and .52 (Fe; tie with W → lower atomic number).
  assertEquals(countsOf(REFERENCE_ROWS[0], 5488), { B: 3732, Fe: 220, Nb: 1317, W: 219 });
  // 27648: shares 18800.64, 1105.92, 6635.52, 1105.92 → floors sum 27645; +1 to Fe, W (.92) and B (.64).
  assertEquals(countsOf(REFERENCE_ROWS[0], 27648), { B: 18801, Fe: 1106, Nb: 6635, W: 1106 });
  const f = atomCounts(compositionFromFormula("B68Fe4Nb24W4"), 5488);
  assertEquals(f.counts, [3732, 220, 1317, 219]);
  assertEquals(f.elements, ["B", "Fe", "Nb", "W"]);
});

Deno.test("reference compositions: sum N, within one atom of each share, equal to brute force", () => {
  for (const n of [5488, 27648, 16, 2, 1001]) {
    for (const row of REFERENCE_ROWS) {
      const c = atomCounts(compositionFromAmounts(rowPairs(row), "test"), n);
      assertEquals(c.counts.reduce((a, b) => a + b, 0), n);
      c.counts.forEach((k, i) =>
        assertTrue(Math.abs(k - c.fractions[i] * n) < 1, `${c.elements[i]} at ${n}`)
      );
      assertEquals(countsOf(row, n), bruteForce(row, n), `row ${row} at ${n}`);
    }
  }
});

Deno.test("at.% and fractions give the same counts (also at exact ties), in any element order", () => {
  const rng = new Rng(5);
  for (let t = 0; t < 300; t++) {
    const k = 2 + rng.int(6);
    const units = Array.from({ length: k }, () => 1 + rng.int(1000));
    const sum = units.reduce((a, b) => a + b, 0);
    // at.% on a 0.01 grid summing to exactly 100 (the last element takes the rest)
    const pct = units.map((u) => Math.round((u / sum) * 10000) / 100);
    pct[k - 1] = Math.round((100 - pct.slice(0, -1).reduce((a, b) => a + b, 0)) * 100) / 100;
    if (pct[k - 1] <= 0) continue;
    const els = ["B", "Fe", "Co", "Nb", "Zr", "W", "Cu"].slice(0, k);
    const n = 2 + rng.int(30000);
    const a = atomCounts(compositionFromAmounts(els.map((e, i): [string, number] => [e, pct[i]]), "t"), n);
    const f = atomCounts(
      compositionFromAmounts(els.map((e, i): [string, number] => [e, pct[i] / 100]), "t"),
      n,
    );
    const r = atomCounts(
      compositionFromAmounts(els.map((e, i) => [e, pct[i]]).reverse() as [string, number][], "t"),
      n,
    );
    assertEquals(f.counts, a.counts, `${pct} at ${n}`);
    assertEquals(r.counts, a.counts, `reversed ${pct} at ${n}`);
  }
  // An exact tie (remainders .5 and .5): the lower atomic number gets the atom, whatever the unit.
  assertEquals(countsOf([75, 0, 25, 0, 0, 0, 0, 0], 2), { B: 2, Fe: 0 });
  assertEquals(countsOf([75, 0, 25, 0, 0, 0, 0, 0], 2, 0.01), { B: 2, Fe: 0 });
  assertEquals(
    atomCounts(compositionFromFormula("W4Nb24Fe4B68"), 5488).counts,
    atomCounts(compositionFromFormula("B68Fe4Nb24W4"), 5488).counts,
  );
});

Deno.test("an element whose count rounds to 0 is reported as dropped", () => {
  const c = atomCounts(compositionFromAmounts({ B: 99.6, Fe: 0.4 }, "t"), 100);
  assertEquals(c.counts, [100, 0]);
  assertEquals(c.dropped, ["Fe"]);
  assertEquals(atomCounts(compositionFromAmounts({ B: 99.6, Fe: 0.4 }, "t"), 1000).dropped, []);
});

Deno.test("bad sums, amounts and symbols are one-line errors naming the row", () => {
  assertUserError(
    () => compositionFromAmounts({ B: 60, Fe: 30 }, "c.csv row 3"),
    "c.csv row 3",
    "sum to 90",
    "100",
  );
  assertUserError(() => compositionFromAmounts({ B: 0.5, Fe: 0.4 }, "r"), "sum to 0.9", "fractions");
  assertUserError(() => compositionFromAmounts({ B: 68, Fe: 32.02 }, "r"), "sum to 100.02");
  assertUserError(() => compositionFromAmounts({ B: 0.68, Fe: 0.3202 }, "r"), "sum to 1.0002");
  assertUserError(() => compositionFromAmounts({ B: 110, Fe: -10 }, "r"), "Fe", "≥ 0");
  assertUserError(() => compositionFromAmounts({ B: NaN, Fe: 100 }, "r"), "B");
  assertUserError(() => compositionFromAmounts({ Xx: 50, Fe: 50 }, "r"), "'Xx' is not an element");
  assertUserError(() => compositionFromAmounts({ fe: 50, B: 50 }, "r"), "did you mean Fe");
  assertUserError(() => compositionFromAmounts([["B", 50], ["B", 50]], "r"), "B appears twice");
  assertUserError(() => compositionFromAmounts({ B: 0, Fe: 0 }, "r"), "sum to 0");
  assertUserError(() => atomCounts(compositionFromFormula("B50Fe50"), 0), "whole number ≥ 1");
  // Within tolerance: accepted and renormalised.
  const ok = compositionFromAmounts({ B: 68, Fe: 32.005 }, "r");
  assertEquals(ok.unit, "at.%");
  assertTrue(Math.abs(ok.fractions[0] + ok.fractions[1] - 1) < 1e-15);
  assertEquals(compositionFromAmounts({ B: 0.68, Fe: 0.32 + FRACTION_TOLERANCE / 2 }, "r").unit, "fraction");
});

noteSkip("published MD configurations (md/Alloy_A*.xyz)");

Deno.test({
  name: "published A1–A3 configurations (5488 atoms) hold our counts within ±1 atom per element",
  ignore: NO_DATA,
  fn: async () => {
    // PROVENANCE.md: A1 = row 0, A2 = row 3, A3 = row 1 exactly (A4, A5 differ by ~1 at.%).
    for (const [file, row] of [["A1", 0], ["A2", 3], ["A3", 1]] as const) {
      const text = await Deno.readTextFile(join(DATA_DIR!, "md", `Alloy_${file}_final_configuration.xyz`));
      const published: Record<string, number> = {};
      for (const line of text.split(/\r?\n/).slice(2)) {
        const sp = line.trim().split(/\s+/)[3];
        if (sp) published[sp] = (published[sp] ?? 0) + 1;
      }
      const ours = countsOf(REFERENCE_ROWS[row], 5488);
      assertEquals(Object.keys(ours).sort(), Object.keys(published).sort(), file);
      for (const e of Object.keys(ours)) {
        assertTrue(
          Math.abs(ours[e] - published[e]) <= 1,
          `${file} ${e}: ours ${ours[e]}, published ${published[e]}`,
        );
      }
    }
  },
});

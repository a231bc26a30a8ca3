import {
  canonicalFormula,
  formatFormula,
  formulaToVector,
  fractionsRecord,
  largestRemainder,
  parseFormula,
  roundPercent,
} from "../../data/formula.ts";
import { assertEquals, assertNear, assertTrue, assertUserError } from "./_helpers.ts";

function fr(text: string): Record<string, number> {
  return fractionsRecord(parseFormula(text));
}

function assertFractions(actual: Record<string, number>, expected: Record<string, number>) {
  assertEquals(Object.keys(actual).sort(), Object.keys(expected).sort());
  for (const [e, v] of Object.entries(expected)) assertNear(actual[e], v, 1e-12, e);
}

Deno.test("formula: the issue's examples parse to the right fractions", () => {
  assertEquals(fr("Zr65Cu17.5Ni10Al7.5"), { Zr: 0.65, Cu: 0.175, Ni: 0.1, Al: 0.075 });
  assertFractions(fr("Al1.4Co0.9Cr1.4Cu0.5Fe0.9Ni1"), {
    Al: 1.4 / 6.1,
    Co: 0.9 / 6.1,
    Cr: 1.4 / 6.1,
    Cu: 0.5 / 6.1,
    Fe: 0.9 / 6.1,
    Ni: 1 / 6.1,
  });
  assertFractions(fr("(Fe0.5Co0.5)80B20"), { Fe: 0.4, Co: 0.4, B: 0.2 });
  assertFractions(fr("Fe14Ni16Cr22Co14Al22Cu8"), {
    Fe: 14 / 96,
    Ni: 16 / 96,
    Cr: 22 / 96,
    Co: 14 / 96,
    Al: 22 / 96,
    Cu: 8 / 96,
  });
});

Deno.test("formula: brackets follow the metallic-glass convention, nest, and accept [] {}", () => {
  // a bracketed group with multiplier n is n parts of the group's own mixture
  assertFractions(fr("(Fe50Co50)80B20"), { Fe: 0.4, Co: 0.4, B: 0.2 });
  assertFractions(fr("(FeCo)80B20"), { Fe: 0.4, Co: 0.4, B: 0.2 });
  assertFractions(fr("(Fe75B20Si5)96Nb4"), { Fe: 0.72, B: 0.192, Si: 0.048, Nb: 0.04 });
  assertFractions(fr("[(Fe0.5Co0.5)0.75B0.2Si0.05]96Nb4"), {
    Fe: 0.36,
    Co: 0.36,
    B: 0.192,
    Si: 0.048,
    Nb: 0.04,
  });
  assertFractions(fr("{Cu(Zr2Ti)}Al"), { Cu: 0.25, Zr: 0.5 * 0.5 * 2 / 3, Ti: 0.5 * 0.5 / 3, Al: 0.5 });
  // implicit 1, repeated elements add up, whitespace between tokens is ignored
  assertFractions(fr("FeCoNi"), { Fe: 1 / 3, Co: 1 / 3, Ni: 1 / 3 });
  assertFractions(fr("Fe40Co40Fe20"), { Fe: 0.6, Co: 0.4 });
  assertFractions(fr(" Al18.5Co 18.5 Cr63 "), { Al: 0.185, Co: 0.185, Cr: 0.63 });
  // a zero amount drops the element
  assertEquals(parseFormula("Fe0Co1").elements, ["Co"]);
});

Deno.test("formula: formatting is canonical at.% with largest-remainder rounding summing to 100", () => {
  assertEquals(formatFormula({ Zr: 0.65, Cu: 0.175, Ni: 0.1, Al: 0.075 }), "Zr65Cu17.5Ni10Al7.5");
  assertEquals(canonicalFormula("(Fe0.5Co0.5)80B20"), "Co40Fe40B20");
  assertEquals(canonicalFormula("FeCoNi", 0), "Co34Fe33Ni33");
  assertEquals(canonicalFormula("FeCoNi", 2), "Co33.34Fe33.33Ni33.33");
  assertEquals(canonicalFormula("Al1.4Co0.9Cr1.4Cu0.5Fe0.9Ni1", 1), "Al22.9Cr22.9Ni16.4Co14.8Fe14.8Cu8.2");
  assertEquals(formatFormula({ B: 0.2, Fe: 0.8 }, { order: "alphabetical" }), "B20Fe80");
  assertEquals(formatFormula([["Fe", 3], ["B", 1]], { order: "input" }), "Fe75B25");
  assertEquals(formatFormula({ Fe: 1 }), "Fe100");
  // elements that round to 0 are left out
  assertEquals(formatFormula({ Fe: 0.99999, C: 0.00001 }, { precision: 2 }), "Fe100");
  for (const p of [0, 1, 2, 3]) {
    for (
      const f of [
        "Al1.4Co0.9Cr1.4Cu0.5Fe0.9Ni1",
        "Fe14Ni16Cr22Co14Al22Cu8",
        "FeCoNiCrMnV",
        "Ti1Zr1Hf1Nb1Ta1W1Mo1",
      ]
    ) {
      const pct = roundPercent(parseFormula(f).fractions, p);
      const units = pct.map((x) => Math.round(x * 10 ** p));
      assertEquals(units.reduce((a, b) => a + b, 0), 100 * 10 ** p, `${f} p=${p}`);
    }
  }
  assertEquals(largestRemainder([1, 1, 1], 100), [34, 33, 33]);
  assertEquals(largestRemainder([0.65, 0.175, 0.1, 0.075], 1000), [650, 175, 100, 75]);
});

Deno.test("formula: round trips (format → parse → format is stable; fractions within rounding)", () => {
  const cases = [
    "Zr65Cu17.5Ni10Al7.5",
    "Al1.4Co0.9Cr1.4Cu0.5Fe0.9Ni1",
    "(Fe0.5Co0.5)80B20",
    "Fe14Ni16Cr22Co14Al22Cu8",
    "[(Fe0.5Co0.5)0.75B0.2Si0.05]96Nb4",
    "B68Fe4Nb24W4",
    "Cu47.5Zr47.5Al5",
  ];
  for (const text of cases) {
    for (const p of [1, 2, 4]) {
      const once = canonicalFormula(text, p);
      assertEquals(canonicalFormula(once, p), once, `${text} p=${p}`);
      const a = fr(text), b = fr(once);
      for (const e of Object.keys(a)) {
        assertNear(b[e] ?? 0, a[e], 0.5 * 10 ** -p / 100 * Object.keys(a).length, e);
      }
    }
  }
  // exact decimal inputs survive unchanged
  assertEquals(canonicalFormula("Zr65Cu17.5Ni10Al7.5"), "Zr65Cu17.5Ni10Al7.5");
});

Deno.test("formula: vectors over a model's element list", () => {
  const v = formulaToVector("Fe80B20", ["B", "Co", "Fe"]);
  assertEquals(Array.from(v), [0.2, 0, 0.8]);
});

Deno.test("formula: every error path names the formula and the problem", () => {
  assertUserError(() => parseFormula(""), "empty formula");
  assertUserError(() => parseFormula("   "), "empty formula");
  assertUserError(
    () => parseFormula("Fe40Xx60"),
    "formula 'Fe40Xx60'",
    "unknown element symbol 'Xx'",
    "position 5",
  );
  assertUserError(() => parseFormula("Fe40Qq60Zz"), "'Qq'");
  assertUserError(() => parseFormula("fe40Ni60"), "unexpected 'f' at position 1", "capital letter", "'Fe'");
  assertUserError(() => parseFormula("(Fe0.5Co0.5"), "missing ')'");
  assertUserError(() => parseFormula("Zr41Ti14Cu12.5Ni2Be22.5C8["), "missing ']'");
  assertUserError(() => parseFormula("Fe50Co50)"), "unexpected ')' at position 9");
  assertUserError(() => parseFormula("(Fe50Co50]"), "unexpected ']'");
  assertUserError(() => parseFormula("()80B20"), "empty brackets at position 1");
  assertUserError(() => parseFormula("40Fe60"), "number at position 1 does not follow an element symbol");
  assertUserError(() => parseFormula("Fe40-Ni60"), "unexpected character '-' at position 5");
  assertUserError(() => parseFormula("Fe0Ni0"), "all amounts are zero");
  assertUserError(() => parseFormula("(Fe0Ni0)50B50"), "only zero amounts");
  assertUserError(
    () => parseFormula("Os10Ir10Fe80", { elements: ["Fe", "Ni"] }),
    "Os, Ir are not in the model's element list (Fe, Ni)",
  );
  assertUserError(() => formulaToVector("Fe80Os20", ["Fe"]), "Os is not in the model's element list");
  assertUserError(() => formatFormula({ Xx: 1 }), "unknown element symbol 'Xx'");
  assertUserError(() => formatFormula({ Fe: -1, Ni: 2 }), "amount of Fe must be a finite number ≥ 0, got -1");
  assertUserError(() => formatFormula({ Fe: NaN }), "amount of Fe");
  assertUserError(() => formatFormula({ Fe: 0 }), "all zero");
  assertUserError(() => formatFormula({ Fe: 1 }, { precision: 9 }), "precision");
  assertTrue(parseFormula("Fe").elements.length === 1);
});

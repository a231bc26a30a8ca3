import {
  compositionTableFromCsv,
  elementsPresent,
  familyKeys,
  fractionRow,
  loadCompositionTable,
} from "../../data/composition_table.ts";
import type { CompositionTableOptions } from "../../data/composition_table.ts";
import { parseCsvText } from "../../data/csv.ts";
import { join } from "../../data/paths.ts";
import {
  assertEquals,
  assertNear,
  assertRejectsUserError,
  assertTrue,
  DATA_DIR,
  NO_DATA,
  noteSkip,
  tempDir,
  writeTemp,
} from "./_helpers.ts";

noteSkip("the HEA/MD/BMG table checks in composition_table_test.ts");

function table(text: string, options: CompositionTableOptions = {}) {
  return compositionTableFromCsv(parseCsvText(text, "t.csv"), options);
}

Deno.test("composition table: BOM, CRLF, quoted fields, # comments, blank lines", () => {
  const text =
    '\uFEFF# a comment line\r\nFe,"Ni",Load,HV\r\n\r\n0.5,0.5,"0.98",100\r\n# another\r\n"0.25",0.75,1,"2e2"\r\n';
  const t = table(text);
  assertEquals(t.elementColumns, ["Fe", "Ni"]);
  assertEquals(t.nRows, 2);
  assertEquals(Array.from(t.fractions), [0.5, 0.5, 0.25, 0.75]);
  assertEquals(Array.from(t.properties.HV), [100, 200]);
  assertEquals(Array.from(t.properties.Load), [0.98, 1]);
  assertEquals(Array.from(t.rowNumbers), [4, 6]);
  assertEquals(t.units, "fraction");
  assertEquals(t.notices, []);
  // a quoted field spanning two lines: the record is numbered by its first line
  const m = table('Alloys,Fe,Ni\n"Fe\nNi",0.5,0.5\nFe1Ni3,0.25,0.75\n', { formulaColumn: "Alloys" });
  assertEquals(Array.from(m.rowNumbers), [2, 4]);
  assertEquals(m.formulas, ["Fe\nNi", "Fe1Ni3"]);
});

Deno.test("composition table: at.% tables are detected, converted, and reported", () => {
  const t = table("B,Fe,Nb\n68,8,24\n60,15,25\n");
  assertEquals(t.units, "percent");
  assertNear(fractionRow(t, 0)[0], 0.68, 1e-15);
  assertTrue(t.notices.some((n) => n.includes("at.%") && n.includes("converted")));
  // rows a little off 100 are renormalised with a count
  const u = table("B,Fe\n60,40.5\n60,40\n");
  assertNear(fractionRow(u, 0)[0] + fractionRow(u, 0)[1], 1, 1e-15);
  assertTrue(u.notices.some((n) => n.includes("1 row(s) summed to within the tolerance")));
});

Deno.test("composition table: fraction rows within 1 ± 0.01 are renormalised (notice above 2e-4)", () => {
  const t = table("Fe,Ni\n0.5,0.5\n0.5,0.505\n0.5,0.50001\n");
  assertTrue(t.notices.length === 1 && t.notices[0].includes("1 row(s)"), t.notices.join("|"));
  for (let i = 0; i < 3; i++) assertNear(fractionRow(t, i)[0] + fractionRow(t, i)[1], 1, 1e-15);
});

Deno.test("composition table: policies — drop rows with missing targets, renormalise any sums", () => {
  const t = table("Fe,Ni,HV\n0.5,0.5,100\n0.5,0.5,\n0.4,0.6,300\n", { missing: "drop" });
  assertEquals(t.nRows, 2);
  assertEquals(Array.from(t.rowNumbers), [2, 4]);
  assertTrue(t.notices.some((n) => n.includes("dropped 1 row(s)") && n.includes("row 3, column 'HV'")));
  const r = table("Fe,Ni\n50,50\n30,40\n", { sums: "renormalize" });
  assertEquals(Array.from(fractionRow(r, 1)).map((x) => +x.toFixed(12)), [0.428571428571, 0.571428571429]);
  assertTrue(r.notices.some((n) => n.includes("warning: 1 row(s)") && n.includes("row 3, sum 70")));
});

Deno.test("composition table: formula column without element columns; fixed element list", () => {
  const t = table("composition,Dmax,GFA\nCu50Zr50,2,BMG\n(Fe75B20Si5)96Nb4,0.2,Ribbon\n", {
    formulaColumn: "composition",
    properties: ["Dmax"],
    labelColumns: ["GFA"],
  });
  assertEquals(t.units, "formula");
  assertEquals(t.elementColumns, ["B", "Cu", "Fe", "Nb", "Si", "Zr"]);
  assertEquals(t.labels.GFA, ["BMG", "Ribbon"]);
  assertNear(fractionRow(t, 1)[2], 0.72, 1e-12);
  assertEquals(familyKeys(t), ["Cu,Zr", "B,Fe,Nb,Si"]);
  const f = table("Ni,Fe,Os\n0.5,0.5,0\n0.2,0.8,0\n", { elements: ["Fe", "Ni", "Co"] });
  assertEquals(f.elementColumns, ["Fe", "Ni", "Co"]);
  assertEquals(Array.from(fractionRow(f, 1)), [0.8, 0.2, 0]);
  assertTrue(f.notices.some((n) => n.includes("dropped all-zero column(s) outside the element list: Os")));
  assertEquals(elementsPresent(f), ["Fe", "Ni"]);
});

/** The malformed-CSV corpus: each malformation with the expected message parts. */
const CORPUS: {
  name: string;
  text: string | Uint8Array;
  options?: CompositionTableOptions;
  expect: string[];
}[] = [
  {
    name: "unknown column",
    text: "Fe,Ni,Foo\n0.5,0.5,1\n",
    expect: ["row 1, column 'Foo'", "unknown column"],
  },
  { name: "wrong-case element", text: "fe,Ni\n0.5,0.5\n", expect: ["column 'fe'", "did you mean 'Fe'?"] },
  {
    name: "duplicate column",
    text: "Fe,Ni,Fe\n0.5,0.5,0\n",
    expect: ["row 1", "duplicate column 'Fe' (columns 1 and 3)"],
  },
  { name: "empty column name", text: "Fe,,Ni\n0.5,0,0.5\n", expect: ["row 1", "column 2 has no name"] },
  {
    name: "non-numeric cell",
    text: "Fe,Ni\n0.5,0.5\n0.5,abc\n",
    expect: ["row 3, column 'Ni'", "'abc' is not a number"],
  },
  {
    name: "comma decimal",
    text: 'Fe,Ni\n"0,5",0.5\n',
    expect: ["row 2, column 'Fe'", "'0,5' is not a number"],
  },
  {
    name: "NaN cell",
    text: "Fe,Ni,HV\n0.5,0.5,NaN\n",
    expect: ["row 2, column 'HV'", "'NaN' is not allowed"],
  },
  { name: "Inf cell", text: "Fe,Ni\n0.5,inf\n", expect: ["row 2, column 'Ni'", "'inf' is not allowed"] },
  {
    name: "-Infinity cell",
    text: "Fe,Ni\n-Infinity,1\n",
    expect: ["row 2, column 'Fe'", "'-Infinity' is not allowed"],
  },
  { name: "overflowing number", text: "Fe,Ni\n1e999,1\n", expect: ["row 2, column 'Fe'", "too large"] },
  {
    name: "negative fraction",
    text: "Fe,Ni\n1.1,-0.1\n",
    expect: ["row 2, column 'Ni'", "negative fraction -0.1"],
  },
  { name: "empty element cell", text: "Fe,Ni\n1,\n", expect: ["row 2, column 'Ni'", "empty cell"] },
  { name: "row sums to 0", text: "Fe,Ni\n0.5,0.5\n0,0\n", expect: ["row 3", "all element fractions are 0"] },
  {
    name: "fraction row far from 1",
    text: "Fe,Ni\n0.5,0.5\n0.5,0.4\n",
    expect: ["row 3", "sum to 0.9", "expected 1 ± 0.01"],
  },
  {
    name: "at.% row far from 100",
    text: "Fe,Ni\n50,50\n50,45\n60,40\n",
    expect: ["row 3", "sum to 95", "expected 100 ± 1 (at.%)"],
  },
  {
    name: "explicit units mismatch",
    text: "Fe,Ni\n50,50\n",
    options: { units: "fraction" },
    expect: ["row 2", "sum to 100, expected 1 ± 0.01"],
  },
  {
    name: "missing target",
    text: "Fe,Ni,HV\n0.5,0.5,100\n0.5,0.5,\n",
    expect: ["row 3, column 'HV'", "missing value"],
  },
  {
    name: "missing target column",
    text: "Fe,Ni,Load\n0.5,0.5,1\n",
    options: { properties: ["Load", "HV"] },
    expect: ["no column 'HV'", "Fe, Ni, Load"],
  },
  { name: "empty file", text: "", expect: ["the file is empty"] },
  { name: "only comments and blank lines", text: "# just a comment\n\n   \n", expect: ["the file is empty"] },
  { name: "header only", text: "Fe,Ni,HV\n", expect: ["header only, no data rows"] },
  { name: "no element columns", text: "HV,Load\n1,2\n", expect: ["no element columns"] },
  {
    name: "ragged row",
    text: "Fe,Ni,HV\n0.5,0.5,1\n0.5,0.5\n",
    expect: ["row 3", "expected 3 fields", "found 2"],
  },
  { name: "unclosed quote", text: 'Fe,Ni\n0.5,"0.5\n', expect: ["row 2", "never closed"] },
  { name: "stray quote", text: 'Fe,Ni\n0.5,0"5\n', expect: ["row 2", "quote"] },
  { name: "semicolon separator", text: "Fe;Ni\n0.5;0.5\n", expect: ["row 1", "seems to use ';'"] },
  {
    name: "not UTF-8",
    text: new Uint8Array([0x46, 0x65, 0x0a, 0xff, 0xfe, 0x0a]),
    expect: ["not UTF-8 text"],
  },
  {
    name: "a spreadsheet",
    text: new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0]),
    expect: ["zip/spreadsheet file, not CSV"],
  },
  {
    name: "bad formula",
    text: "Alloys,Class\nCu50Zr50,1\nFe40Xx60,0\n",
    options: { formulaColumn: "Alloys", labelColumns: ["Class"] },
    expect: ["row 3, column 'Alloys'", "formula 'Fe40Xx60'", "unknown element symbol 'Xx'"],
  },
  {
    name: "element outside the model's list",
    text: "Fe,Os\n1,0\n0.9,0.1\n",
    options: { elements: ["Fe", "Ni"] },
    expect: ["row 3, column 'Os'", "not in the model's element list"],
  },
  {
    name: "declared column missing",
    text: "Fe,Ni\n0.5,0.5\n",
    options: { formulaColumn: "Alloys" },
    expect: ["no column 'Alloys'"],
  },
];

Deno.test("composition table: malformed-CSV corpus gives one-line errors naming file, row and column", async () => {
  const dir = tempDir();
  try {
    for (const [i, c] of CORPUS.entries()) {
      const path = writeTemp(dir, `case_${i}.csv`, c.text);
      const e = await assertRejectsUserError(() => loadCompositionTable(path, c.options), path, ...c.expect);
      assertTrue(e.message.startsWith(path) || e.message.includes(path), c.name);
    }
    await assertRejectsUserError(() => loadCompositionTable(join(dir, "nope.csv")), "nope.csv: no such file");
    await assertRejectsUserError(() => loadCompositionTable(dir), dir, "directory");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "composition table: loads the HEA table, the MD compositions (at.%) and a BMG table",
  ignore: NO_DATA,
  async fn() {
    const hea = await loadCompositionTable(join(DATA_DIR!, "hea", "HEA_top30_comps.csv"), {
      formulaColumn: "Alloys",
      labelColumns: ["Class"],
    });
    assertEquals(hea.nRows, 1375);
    assertEquals(hea.elementColumns.length, 30);
    assertEquals(hea.elementColumns.slice(0, 5), ["Fe", "Ni", "Cr", "Co", "Al"]);
    assertEquals(hea.labels.Class.filter((c) => c === "1").length, 712);
    assertEquals(hea.formulas![0], "Mg1Ni1");
    assertEquals(hea.rowNumbers[0], 5); // three comment lines, then the header
    const md = await loadCompositionTable(join(DATA_DIR!, "vibann_md_compositions.csv"));
    assertEquals(md.units, "percent");
    assertEquals(md.nRows, 5);
    assertNear(fractionRow(md, 0)[0], 0.68, 1e-15);
    const bmg = join(DATA_DIR!, "bmg", "bajpai_mmg_thermal_dataset.csv");
    const props = ["Heating_Rate", "T_g", "T_x", "T_l"];
    await assertRejectsUserError(
      () => loadCompositionTable(bmg, { properties: props }),
      "row 2",
      "sum to 84",
    );
    const t = await loadCompositionTable(bmg, { properties: props, sums: "renormalize" });
    assertEquals(t.nRows, 3197);
    assertTrue(t.notices.some((n) => n.includes("warning: 72 row(s)")));
  },
});

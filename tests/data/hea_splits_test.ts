/**
 * HEA splits: the paper's membership (864/296/75/138, test order = the reconstruction file's), the closed-form
 * part sizes, seeded random re-splits (disjoint, covering, reproducible, seed-dependent) and the 247-row subsample.
 */
import { assertEquals, assertTrue, assertUserError } from "./_helpers.ts";
import { loadHeaDataset } from "../../data/hea_dataset.ts";
import {
  heaSplitSizes,
  PAPER_SPLIT_SIZES,
  paperSplit,
  randomHeaSplit,
  randomHeaSplits,
  subsampleLabelled,
} from "../../data/hea_splits.ts";
import { readCsvFile } from "../../data/csv.ts";
import { join } from "../../data/paths.ts";

const ENV_DIR = Deno.env.get("ALLOY_DATA_DIR");
const HEA_DIR = ENV_DIR && (() => {
  try {
    return Deno.statSync(join(ENV_DIR, "hea", "hea_split_membership.csv")).isFile ? ENV_DIR : undefined;
  } catch {
    return undefined;
  }
})();
if (!HEA_DIR) console.warn("skipping the paper-split tests: set ALLOY_DATA_DIR to a folder holding hea/");

function assertPartition(s: { [k: string]: number[] }, n: number) {
  const all = Object.values(s).flat();
  assertEquals(all.length, n, "parts cover every row once");
  assertEquals(new Set(all).size, n, "parts are disjoint");
  assertTrue(all.every((i) => Number.isInteger(i) && i >= 0 && i < n));
}

Deno.test({
  name: "hea splits: the paper's split has 864/296/75/138 rows, test in the reconstruction file's order",
  ignore: !HEA_DIR,
  async fn() {
    const ds = await loadHeaDataset();
    const s = paperSplit(ds);
    assertEquals(
      {
        labelled: s.labelled.length,
        unlabelled: s.unlabelled.length,
        validation: s.validation.length,
        test: s.test.length,
      },
      { ...PAPER_SPLIT_SIZES },
    );
    assertPartition({ ...s }, 1373);
    const rec = await readCsvFile(join(HEA_DIR!, "hea", "test_data_reconstruction_analysis.csv"));
    assertEquals(s.test.map((i) => ds.formulas[i]), rec.records.map((r) => r.cells[0].trim()));
  },
});

Deno.test("hea splits: part sizes follow the nested ceil rule (1373 → 864/296/75/138)", () => {
  assertEquals(heaSplitSizes(1373), { ...PAPER_SPLIT_SIZES });
  // n = 100: test ⌈10⌉ = 10, pool ⌈27⌉ = 27, validation ⌈5.4⌉ = 6 → 63/21/6/10.
  assertEquals(heaSplitSizes(100), { labelled: 63, unlabelled: 21, validation: 6, test: 10 });
  assertUserError(() => heaSplitSizes(2), "at least 4");
});

Deno.test("hea splits: random re-splits are disjoint, covering, reproducible and differ by seed", () => {
  const splits = randomHeaSplits(1373, 5, 0);
  assertEquals(splits.length, 5);
  for (const s of splits) {
    assertPartition({ ...s }, 1373);
    assertEquals(
      [s.labelled.length, s.unlabelled.length, s.validation.length, s.test.length],
      [864, 296, 75, 138],
    );
  }
  assertEquals(randomHeaSplit(1373, 3), splits[3]);
  assertTrue(
    JSON.stringify(splits[0].test) !== JSON.stringify(splits[1].test),
    "seeds give different splits",
  );
});

Deno.test("hea splits: the labelled subsample is a seeded subset of the labelled part", () => {
  const s = randomHeaSplit(1373, 0);
  const a = subsampleLabelled(s, 247, 1), b = subsampleLabelled(s, 247, 1), c = subsampleLabelled(s, 247, 2);
  assertEquals(a.length, 247);
  assertEquals(new Set(a).size, 247);
  assertEquals(a, b);
  assertTrue(JSON.stringify(a) !== JSON.stringify(c));
  const lab = new Set(s.labelled);
  assertTrue(a.every((i) => lab.has(i)));
  assertUserError(() => subsampleLabelled(s, 865), "865", "1..864");
});

/**
 * The training rows of a model directory (IG baseline, SHAP background): the train set of splits.json, the fallback
 * to every row (no splits.json, splits of other data) with a notice, reordering into the model's elements, the error
 * for an element the model lacks, and the seeded background sample.
 */
import { join } from "../../data/paths.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { splitsRecord, writeSplitsJson } from "../../data/split_file.ts";
import { backgroundSample, loadTrainingRows } from "../../explain/training_rows.ts";
import { assertEquals, assertRejectsUserError, assertTrue, tempDir } from "../data/_helpers.ts";

const CSV = [
  "Ni,Fe,Cu,Load,HV",
  "0.5,0.5,0,1,300",
  "0.2,0.8,0,2,310",
  "1,0,0,3,320",
  "0.25,0.25,0.5,4,330",
].join("\n") + "\n";

Deno.test("training rows: the splits.json train set in the model's element order, else every row with a notice", async () => {
  const tmp = tempDir();
  try {
    const csv = join(tmp, "hv.csv");
    await Deno.writeTextFile(csv, CSV);
    const model = join(tmp, "model");
    await Deno.mkdir(model);
    const elements = ["Fe", "Ni", "Cu", "Co"];

    const all = await loadTrainingRows(model, elements, { dataPath: csv });
    assertEquals(all.n, 4);
    assertTrue(all.source.startsWith("all 4 rows"), all.source);
    assertTrue(all.notices.some((n) => n.includes("no splits.json")), all.notices.join("|"));
    assertEquals(Array.from(all.comp.subarray(0, 8)), [0.5, 0.5, 0, 0, 0.8, 0.2, 0, 0]);
    assertEquals(Array.from(all.load), [1, 2, 3, 4]);

    const sha = await sha256Hex(new TextEncoder().encode(CSV));
    const rec = (s: string) =>
      splitsRecord({
        dataFile: csv,
        dataSha256: s,
        nRows: 4,
        method: "test",
        sets: { train: [3, 1], test: [0] },
      });
    await writeSplitsJson(join(model, "splits.json"), rec(sha));
    const train = await loadTrainingRows(model, elements, { dataPath: csv });
    assertEquals([train.n, train.source.includes("the 2 training rows"), train.notices.length], [2, true, 0]);
    assertEquals(Array.from(train.comp), [0.8, 0.2, 0, 0, 0.25, 0.25, 0.5, 0]);
    assertEquals(Array.from(train.load), [2, 4]);

    await writeSplitsJson(join(model, "splits.json"), rec("0".repeat(64)));
    const other = await loadTrainingRows(model, elements, { dataPath: csv });
    assertEquals(other.n, 4);
    assertTrue(other.notices.some((n) => n.includes("different data file")), other.notices.join("|"));

    await assertRejectsUserError(
      () => loadTrainingRows(model, ["Fe", "Ni"], { dataPath: csv }),
      "row 5",
      "'Cu'",
    );
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("background sample: distinct source rows with the load last, seeded, all rows when fewer", () => {
  const n = 10, E = 2;
  const comp = Float64Array.from({ length: n * E }, (_, k) => k);
  const load = Float64Array.from({ length: n }, (_, i) => 100 + i);
  const a = backgroundSample(comp, load, 4, 3);
  assertEquals(a.length, 4 * 3);
  const rows = new Set<number>();
  for (let r = 0; r < 4; r++) {
    const i = a[r * 3 + 2] - 100;
    rows.add(i);
    assertEquals([a[r * 3], a[r * 3 + 1]], [2 * i, 2 * i + 1]);
  }
  assertEquals(rows.size, 4);
  assertEquals(Array.from(backgroundSample(comp, load, 4, 3)), Array.from(a));
  const seeds = [4, 5, 6, 7].map((s) => backgroundSample(comp, load, 4, s).join());
  assertTrue(seeds.some((s) => s !== a.join()), "other seeds draw other rows");
  assertEquals(backgroundSample(comp, load, 50, 1).length, n * 3);
});

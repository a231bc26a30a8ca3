import { join } from "../../data/paths.ts";
import {
  loadSplitFile,
  readSplitsRecord,
  splitsRecord,
  validateFixedSplits,
  writeSplitsJson,
} from "../../data/split_file.ts";
import {
  assertEquals,
  assertRejectsUserError,
  assertTrue,
  assertUserError,
  DATA_DIR,
  NO_DATA,
  noteSkip,
  tempDir,
  writeTemp,
} from "./_helpers.ts";

noteSkip("loading splits/hardness_splits.json in split_file_test.ts");

const SHA = "ab".repeat(32);
const DATA = { nRows: 10, sha256: SHA, file: "d.csv" };

function good() {
  return {
    data_sha256: SHA,
    n_rows: 10,
    holdout: { train: [0, 1, 2, 3, 4, 5, 6, 7], test: [8, 9], early_stopping_val: [6, 7] },
    kfold5: { folds: [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]] },
  };
}

Deno.test("split file: a valid file loads", () => {
  const s = validateFixedSplits(good(), "s.json", DATA);
  assertEquals(s.holdout.test, [8, 9]);
  assertEquals(s.kfold.length, 5);
});

Deno.test("split file: every inconsistency is a clear error naming the file and field", () => {
  const bad = (edit: (o: ReturnType<typeof good>) => void, ...parts: string[]) => {
    const o = good();
    edit(o);
    assertUserError(() => validateFixedSplits(o, "s.json", DATA), "s.json", ...parts);
  };
  bad((o) => o.holdout.test.push(10), "holdout.test[2] = 10 is out of range (the data has 10 rows: 0..9)");
  bad((o) => o.holdout.test.push(-1), "holdout.test[2] = -1 is out of range");
  bad((o) => (o.holdout.test as unknown[]).push(1.5), "holdout.test[2] = 1.5 is not a whole number");
  bad((o) => (o.holdout.test as unknown[]).push("3"), `holdout.test[2] = "3" is not a whole number`);
  bad((o) => o.holdout.test.push(9), "holdout.test lists row 9 twice");
  bad((o) => o.holdout.test.push(3), "row 3 is in both holdout.train and holdout.test");
  bad(
    (o) => o.holdout.early_stopping_val.push(8),
    "holdout.early_stopping_val row 8 is not in holdout.train",
  );
  bad((o) => o.kfold5.folds[0].push(2), "row 2 is in both kfold5.folds[0] and kfold5.folds[1]");
  bad((o) => o.kfold5.folds[4].pop(), "row 9 is in none of kfold5.folds");
  bad(
    (o) => (o.kfold5 as { folds: unknown }).folds = [[0]],
    "'kfold5.folds' must be a list of at least 2 folds",
  );
  bad((o) => delete (o.holdout as Record<string, unknown>).test, "missing field 'holdout.test'");
  bad((o) => delete (o as Record<string, unknown>).kfold5, "missing field 'kfold5.folds'");
  bad(
    (o) => (o.holdout as Record<string, unknown>).train = {},
    "'holdout.train' must be a list of row indices",
  );
  bad((o) => o.n_rows = 11, "n_rows is 11, but the loaded data (d.csv) has 10 rows");
  bad(
    (o) => o.data_sha256 = "cd".repeat(32),
    "data_sha256 is cdcdcdcdcdcdcdcd…",
    "SHA-256 abababababababab…",
  );
  assertUserError(() => validateFixedSplits([1], "s.json", DATA), "s.json: expected a JSON object");
});

Deno.test("split file: unreadable or invalid JSON files", async () => {
  const dir = tempDir();
  try {
    await assertRejectsUserError(
      () => loadSplitFile(join(dir, "none.json"), DATA),
      "none.json: no such file",
    );
    const p = writeTemp(dir, "bad.json", "{ holdout: ");
    await assertRejectsUserError(() => loadSplitFile(p, DATA), "bad.json: not valid JSON");
    const q = writeTemp(dir, "ok.json", JSON.stringify(good()));
    assertEquals((await loadSplitFile(q, DATA)).holdout.train.length, 8);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("split file: splits records are written atomically and read back with checks", async () => {
  const dir = tempDir();
  try {
    const rec = splitsRecord({
      dataFile: "d.csv",
      dataSha256: SHA,
      nRows: 10,
      method: "reference",
      seed: 1,
      params: { test_size: 0.2 },
      sets: { train: [5, 1, 0, 2, 3, 4], calibration: [6, 7], test: [9, 8] },
    });
    assertEquals(rec.sets.test, [8, 9]);
    const parsed = JSON.parse(JSON.stringify(rec));
    assertEquals(parsed, rec);
    const path = join(dir, "run", "splits.json");
    await writeSplitsJson(path, rec);
    assertEquals([...Deno.readDirSync(join(dir, "run"))].map((e) => e.name), ["splits.json"]);
    assertEquals(await readSplitsRecord(path, DATA), rec);
    await assertRejectsUserError(
      () => readSplitsRecord(path, { ...DATA, nRows: 9 }),
      "n_rows is 10",
      "has 9 rows",
    );
    await assertRejectsUserError(
      () => readSplitsRecord(path, { ...DATA, sha256: "00".repeat(32) }),
      "splits.json: data_sha256",
      "different data file",
    );
    const other = writeTemp(dir, "x.json", JSON.stringify({ holdout: {} }));
    await assertRejectsUserError(() => readSplitsRecord(other, DATA), "not an alloy splits record");
    const broken = writeTemp(dir, "y.json", JSON.stringify({ ...rec, sets: { train: [0, 1], test: [1] } }));
    await assertRejectsUserError(
      () => readSplitsRecord(broken, DATA),
      "row 1 is in both sets.train and sets.test",
    );
    assertUserError(
      () => splitsRecord({ dataFile: "d", dataSha256: SHA, nRows: 3, method: "x", sets: { a: [3] } }),
      "sets.a[0] = 3 is out of range",
    );
    const cv = splitsRecord({
      dataFile: "d",
      dataSha256: SHA,
      nRows: 4,
      method: "kfold",
      sets: {},
      folds: [[3, 1], [0, 2]],
    });
    assertEquals(cv.folds, [[1, 3], [0, 2]]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test({
  name: "split file: the shared hardness_splits.json matches the public dataset",
  ignore: NO_DATA,
  async fn() {
    const s = await loadSplitFile(join(DATA_DIR!, "splits", "hardness_splits.json"), {
      nRows: 673,
      sha256: "9e78a8d1aea58566e84c846a86873cf4ae3b1f9a6b23866601565d6482e2de70",
    });
    assertEquals([s.holdout.train.length, s.holdout.test.length, s.holdout.earlyStoppingVal.length], [
      538,
      135,
      108,
    ]);
    assertEquals(s.kfold.map((f) => f.length), [135, 135, 135, 134, 134]);
    await assertRejectsUserError(
      () => loadSplitFile(join(DATA_DIR!, "splits", "hardness_splits.json"), { nRows: 673, sha256: SHA }),
      "data_sha256 is 9e78a8d1aea58566…",
    );
    assertTrue(true);
  },
});

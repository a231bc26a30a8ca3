/**
 * `alloy train` end to end on a small synthetic dataset (40 rows, 4 elements; no real data needed): CV on a split
 * file's folds with two seeds, the `--json` schema, every test row predicted once per seed, the same seed giving
 * the same metrics, the model directory usable by `alloy predict --model`, and one-line errors for bad flags.
 */
import { join } from "../../data/paths.ts";
import { assertEquals, assertTrue } from "../data/_helpers.ts";
import {
  alloy,
  assertCliError,
  stdoutJson,
  SYNTHETIC_ROWS,
  type SyntheticData,
  withSyntheticHardness,
} from "./_helpers.ts";

const N = SYNTHETIC_ROWS;

const train = (...args: string[]) => alloy(["train", "--device", "cpu", ...args]);

const withData = (fn: (p: SyntheticData) => Promise<void>) => withSyntheticHardness("train", fn);

Deno.test("cli train: CV on a split file with 2 seeds — JSON schema, coverage of every row, determinism, predict", async () => {
  await withData(async ({ tmp, csv, splits, folds }) => {
    const args = (out: string) => [
      "--data",
      csv,
      "--protocol",
      "cv",
      "--splits",
      splits,
      "--seeds",
      "2",
      "--epochs",
      "6",
      "--batch-size",
      "8",
      "--latent-dim",
      "3",
      "--mc",
      "4",
      "--out",
      out,
      "--json",
      "-q",
    ];
    const a = stdoutJson(await train(...args(join(tmp, "a"))));
    for (
      const k of ["protocol", "arch", "metrics", "metrics_std", "uq", "folds", "seeds", "epochs", "model_dir"]
    ) {
      assertTrue(k in a, `--json has ${k}`);
    }
    assertEquals([a.protocol, a.arch, a.seeds], ["cv", "reference", 2]);
    assertEquals(a.folds.length, 10, "5 folds × 2 seeds");
    assertEquals(a.metrics.n, N, "pooled over every row once per seed");
    for (const f of a.folds) {
      assertEquals(f.n_test, folds[f.fold - 1].length, `fold ${f.fold} test rows`);
      assertEquals(f.n_train + f.n_val + f.n_test, N, "train + early stopping + test = all rows");
      assertTrue(Number.isFinite(f.rmse) && f.rmse > 0, `fold ${f.fold} rmse ${f.rmse}`);
    }
    assertTrue(Number.isFinite(a.metrics.rmse) && a.metrics_std.rmse >= 0, "finite metrics");
    // Same seed, same data → the same metrics.
    const b = stdoutJson(await train(...args(join(tmp, "b"))));
    assertEquals(b.metrics.rmse, a.metrics.rmse, "same seed, same RMSE");
    assertEquals(b.folds.map((f: { rmse: number }) => f.rmse), a.folds.map((f: { rmse: number }) => f.rmse));
    // The model directory predicts a formula (an ensemble of the 10 members).
    const p = stdoutJson(
      await alloy([
        "predict",
        "--device",
        "cpu",
        "--model",
        a.model_dir,
        "--formula",
        "Fe40Ni30B20Si10",
        "--load",
        "1",
        "--json",
      ]),
    );
    assertEquals(p.rows.length, 1);
    assertTrue(Number.isFinite(p.rows[0].hv_mean) && p.rows[0].hv_mean > 0, `hv ${p.rows[0].hv_mean}`);
  });
});

Deno.test("cli train: holdout on a split file — early_stopping_val rows early-stop and do not fit", async () => {
  await withData(async ({ tmp, csv, splits }) => {
    const out = join(tmp, "h");
    const j = stdoutJson(
      await train(
        ...["--data", csv, "--protocol", "holdout", "--splits", splits, "--epochs", "3", "--batch-size", "8"],
        ...["--latent-dim", "3", "--mc", "4", "--out", out, "--json", "-q"],
      ),
    );
    const file = JSON.parse(await Deno.readTextFile(splits)).holdout;
    const rec = JSON.parse(await Deno.readTextFile(join(out, "splits.json")));
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    const esv = new Set<number>(file.early_stopping_val);
    assertEquals(sorted(rec.sets.calibration), sorted(file.early_stopping_val));
    assertEquals(sorted(rec.sets.train), sorted(file.train.filter((r: number) => !esv.has(r))));
    assertEquals(sorted(rec.sets.test), sorted(file.test));
    assertEquals([j.folds[0].n_train, j.folds[0].n_val, j.folds[0].n_test], [25, 5, 10]);
    // The spread PIT histogram: 20 bins whose (fractional) counts add up to the evaluated rows.
    const pit = j.uq.pit_histogram;
    assertEquals(pit.counts.length, 20);
    const total = pit.counts.reduce((a: number, b: number) => a + b, 0);
    assertTrue(Math.abs(total - j.metrics.n) < 1e-4, `PIT mass ${total} vs ${j.metrics.n} rows`);
  });
});

Deno.test("cli train: bad flags are one-line errors naming the flag", async () => {
  await withData(async ({ csv }) => {
    assertCliError(await train("--data", csv, "--beta", "nope"), "--beta");
    assertCliError(await train("--data", csv, "--epochs", "0"), "--epochs");
    assertCliError(await train("--data", csv, "--protocol", "loo"), "--protocol");
    assertCliError(await train("--data", csv, "--seeds"), "--seeds");
  });
});

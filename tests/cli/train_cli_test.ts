/**
 * `alloy train` end to end on a small synthetic dataset (40 rows, 4 elements; no real data needed): CV on a split
 * file's folds with two seeds, the `--json` schema, every test row predicted once per seed, the same seed giving
 * the same metrics, the model directory usable by `alloy predict --model`, and one-line errors for bad flags.
 */
import { join } from "../../data/paths.ts";
import { assertEquals, assertTrue } from "../data/_helpers.ts";
import { Rng } from "../../nn/random.ts";
import { alloy, assertCliError, stdoutJson } from "./_helpers.ts";

const ELEMENTS = ["Fe", "Ni", "B", "Si"];
const N = 40;

const train = (...args: string[]) => alloy(["train", "--device", "cpu", ...args]);

/** A temp folder with a 40-row hardness CSV and a split file with 5 folds. */
async function withData(
  fn: (p: { tmp: string; csv: string; splits: string; folds: number[][] }) => Promise<void>,
) {
  const tmp = await Deno.makeTempDir({ prefix: "alloy_train_cli_test_" });
  try {
    const rng = new Rng(21, 1);
    const lines = [[...ELEMENTS, "Load", "HV"].join(",")];
    for (let i = 0; i < N; i++) {
      const raw = ELEMENTS.map(() => 0.05 + rng.uniform());
      const s = raw.reduce((a, b) => a + b, 0);
      const f = raw.map((v) => +(v / s).toFixed(6));
      const load = [0.1, 0.5, 1, 5][rng.int(4)];
      const hv = 300 + 500 * f[0] + 900 * f[2] - 200 * f[3] + 8 * load + 20 * rng.normal();
      lines.push([...f, load, hv.toFixed(2)].join(","));
    }
    const csv = join(tmp, "hv.csv");
    await Deno.writeTextFile(csv, lines.join("\n") + "\n");
    const order = new Rng(5, 2).shuffle(Array.from({ length: N }, (_, i) => i));
    const folds = [0, 1, 2, 3, 4].map((k) => order.slice(8 * k, 8 * k + 8).sort((a, b) => a - b));
    const splits = join(tmp, "splits.json");
    await Deno.writeTextFile(
      splits,
      JSON.stringify({
        n_rows: N,
        holdout: { train: order.slice(0, 30), test: order.slice(30), early_stopping_val: order.slice(0, 5) },
        kfold5: { folds },
      }),
    );
    await fn({ tmp, csv, splits, folds });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

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

Deno.test("cli train: bad flags are one-line errors naming the flag", async () => {
  await withData(async ({ csv }) => {
    assertCliError(await train("--data", csv, "--beta", "nope"), "--beta");
    assertCliError(await train("--data", csv, "--epochs", "0"), "--epochs");
    assertCliError(await train("--data", csv, "--protocol", "loo"), "--protocol");
    assertCliError(await train("--data", csv, "--seeds"), "--seeds");
  });
});

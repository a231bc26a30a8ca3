/**
 * `alloy baselines` end to end on a small synthetic dataset (40 rows; no real data needed): the `--json` schema and
 * its agreement with the files written (metrics.json, predictions.csv, parity SVGs, splits.json), the split file's
 * folds and holdout rows, one-line errors for bad flags, and `--save` model directories that `alloy predict --model`
 * reads (same predictions as loading the directory in-process; σ columns only for the GP).
 */
import { join } from "../../data/paths.ts";
import { parseCsvText } from "../../data/csv.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { cpu } from "../_helpers.ts";
import {
  alloy,
  assertCliError,
  stdoutJson,
  SYNTHETIC_ELEMENTS,
  SYNTHETIC_ROWS,
  type SyntheticData,
  withSyntheticHardness,
} from "./_helpers.ts";
import { loadBaselineDir } from "../../nn/baselines/baseline_dir.ts";
import { baselineSpecFor } from "../../nn/baselines/registry.ts";
import { featureMatrix } from "../../nn/baselines/features.ts";
import { formulaToVector } from "../../data/formula.ts";

const ELEMENTS = SYNTHETIC_ELEMENTS;
const N = SYNTHETIC_ROWS;

const baselines = (...args: string[]) => alloy(["baselines", "--device", "cpu", ...args]);

/** The shared synthetic dataset (40 rows of Fe–Ni–B–Si with a split file). */
const withData = (fn: (p: SyntheticData) => Promise<void>) => withSyntheticHardness("baselines", fn);

Deno.test("cli baselines: --json schema, written files, --save directories usable by predict --model", async () => {
  await withData(async ({ tmp, csv }) => {
    const out = join(tmp, "run");
    const s = stdoutJson(
      await baselines(
        "--data",
        csv,
        "--models",
        "ridge,knn,gp",
        "--seed",
        "3",
        "--out",
        out,
        "--save",
        "--json",
        "-q",
      ),
    );
    assertEquals([s.protocol, s.split, s.n, s.folds, s.seed, s.out], ["cv", "kfold5", N, 5, 3, out]);
    assertEquals(s.splits_file, null);
    assertEquals(s.data.n_rows, N);
    assertEquals(Object.keys(s.models), ["ridge", "knn", "gp"], "models in the order asked");
    for (const [kind, m] of Object.entries<any>(s.models)) {
      for (const k of ["rmse", "mae", "r2"]) {
        assertTrue(Number.isFinite(m.metrics[k]), `${kind}.metrics.${k}`);
      }
      assertEquals(m.metrics.n, N);
      assertEquals(m.folds.length, 5);
      assertEquals(
        m.folds.reduce((a: number, f: any) => a + f.n_test, 0),
        N,
        `${kind}: every row tested once`,
      );
      for (const f of m.folds) {
        assertEquals(f.n_train + f.n_test, N);
        assertTrue(Number.isFinite(f.rmse) && f.fit_seconds >= 0 && f.predict_seconds >= 0);
      }
      assertTrue(m.fit_seconds >= 0 && m.predict_seconds >= 0);
      assertEquals(typeof m.name, "string");
      assertEquals(typeof m.params, "object");
      assertEquals(m.model_dir, join(out, kind));
      assertTrue((await Deno.readTextFile(m.parity_svg)).startsWith("<?xml"), `${kind} parity plot`);
    }
    assertEquals(s.models.ridge.metrics.nlpd, undefined, "no σ, no NLPD");
    assertTrue(Number.isFinite(s.models.gp.metrics.nlpd), "the GP has an NLPD");
    assertTrue(s.models.gp.metrics.coverage90 >= 0 && s.models.gp.metrics.coverage90 <= 1);
    assertEquals(JSON.parse(await Deno.readTextFile(join(out, "metrics.json"))), s);
    // predictions.csv: one line per row, and the pooled RMSE recomputed from it.
    const t = parseCsvText(await Deno.readTextFile(join(out, "predictions.csv")), "predictions.csv");
    assertEquals(t.header, ["row", "fold", "hv_true", "ridge", "knn", "gp", "gp_std"]);
    assertEquals(t.records.map((r) => Number(r.cells[0])), Array.from({ length: N }, (_, i) => i));
    const se = t.records.reduce((a, r) => a + (Number(r.cells[2]) - Number(r.cells[3])) ** 2, 0);
    assertNear(Math.sqrt(se / N), s.models.ridge.metrics.rmse, 1e-3 * s.models.ridge.metrics.rmse);
    const rec = JSON.parse(await Deno.readTextFile(join(out, "splits.json")));
    assertEquals(
      rec.folds.flat().sort((a: number, b: number) => a - b),
      Array.from({ length: N }, (_, i) => i),
    );

    // predict --model on the saved directories: the same numbers as loading them here.
    const formula = "Fe60Ni20B15Si5";
    for (const kind of ["ridge", "gp"]) {
      const p = stdoutJson(
        await alloy([
          "predict",
          "--device",
          "cpu",
          "--model",
          join(out, kind),
          "--formula",
          formula,
          "--load",
          "2",
          "--json",
        ]),
      );
      assertEquals([p.kind, p.rows.length, p.rows[0].formula, p.rows[0].load], [kind, 1, formula, 2]);
      const loaded = await loadBaselineDir(join(out, kind), baselineSpecFor);
      const x = featureMatrix(
        { fractions: formulaToVector(formula, loaded.config.elements), elements: ELEMENTS.length, load: [2] },
        loaded.loadScaler,
      );
      const ref = await loaded.model.predict(x, cpu);
      assertNear(p.rows[0].hv_mean, ref.mean[0], 1e-3, `${kind} hv_mean`);
      if (kind === "gp") {
        const sd = ref.std![0];
        assertNear(p.rows[0].hv_std, sd, 1e-3, "gp hv_std");
        assertNear(p.rows[0].hv_lcb, ref.mean[0] - 1.645 * sd, 1e-3);
        assertNear(p.rows[0].hv_hi90 - p.rows[0].hv_lo90, 2 * 1.6448536 * sd, 2e-3);
      } else {
        assertEquals(Object.keys(p.rows[0]), ["formula", "load", "hv_mean"], "no σ columns without a σ");
      }
    }
    const text = await alloy([
      "predict",
      "--device",
      "cpu",
      "--model",
      join(out, "knn"),
      "--formula",
      formula,
      "--load",
      "2",
    ]);
    assertEquals(text.code, 0, text.stderr);
    assertTrue(/formula\s+load\s+hv_mean\n/.test(text.stdout), text.stdout);
    assertCliError(
      await alloy([
        "predict",
        "--device",
        "cpu",
        "--model",
        join(out, "knn"),
        "--formula",
        formula,
        "--load",
        "2",
        "--mc",
        "5",
      ]),
      "--mc",
      "baseline",
    );
  });
});

Deno.test("cli baselines: the split file's folds and holdout rows; the table without --json", async () => {
  await withData(async ({ tmp, csv, splits, folds }) => {
    const h = stdoutJson(
      await baselines(
        "--data",
        csv,
        "--splits",
        splits,
        "--protocol",
        "holdout",
        "--models",
        "ridge",
        "--out",
        join(tmp, "h"),
        "--json",
        "-q",
      ),
    );
    assertEquals([h.protocol, h.split, h.n, h.folds], ["holdout", "holdout (split file)", 10, 1]);
    assertEquals([h.models.ridge.folds[0].n_train, h.models.ridge.folds[0].n_test], [30, 10]);
    assertEquals(h.splits_sha256, await sha256Hex(await Deno.readFile(splits)));
    const c = await baselines(
      "--data",
      csv,
      "--splits",
      splits,
      "--models",
      "lasso,ridge",
      "--out",
      join(tmp, "c"),
    );
    assertEquals(c.code, 0, c.stderr);
    const lines = c.stdout.trimEnd().split("\n");
    assertTrue(/^model\s+RMSE\s+MAE\s+R²\s+fit s\s+predict s$/.test(lines[0]), lines[0]);
    assertEquals(lines.slice(1).map((l) => l.split(/\s+/)[0]), ["lasso", "ridge"]);
    const m = JSON.parse(await Deno.readTextFile(join(tmp, "c", "metrics.json")));
    assertEquals(m.split, "kfold5 (split file)");
    assertEquals(m.models.ridge.folds.map((f: any) => f.n_test), folds.map((f) => f.length));
  });
});

Deno.test("cli baselines: bad flags and inputs are one error line", async () => {
  await withData(async ({ tmp, csv }) => {
    assertCliError(await baselines("--models", "ridge,xgb"), "--models", "'xgb'", "rf, gbt");
    assertCliError(await baselines("--models", "ridge,ridge"), "--models", "twice");
    assertCliError(await baselines("--models", "ridge,"), "--models");
    assertCliError(await baselines("--protocol", "loo"), "--protocol", "'loo'");
    assertCliError(await baselines("--seed=-1"), "--seed", "-1");
    assertCliError(await baselines("--seed", "1.5"), "--seed");
    assertCliError(await baselines("--bogus"), "bogus");
    assertCliError(
      await baselines("--data", csv, "--splits", join(tmp, "none.json"), "--models", "ridge"),
      "none.json",
    );
    assertCliError(await baselines("--data", csv, "--folds", "41", "--models", "ridge"), "--folds", "41");
  });
});

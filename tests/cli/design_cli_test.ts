/**
 * `alloy design` end to end on the tiny design fixture (tests/design/_design_fixture.ts: a briefly trained 6-element
 * model with splits.json, a 40-row CSV and a GP baseline directory; no real data needed): the `--json` schema and its
 * agreement with candidates.csv (exact contract columns, constraints on every row), the CSV round trip through
 * `alloy predict` (same hv_mean/hv_std/hv_lcb with the same seed and MC passes), the judge columns, the GP-BO
 * method, the text summary, and one-line errors for bad flags.
 */
import { join } from "../../data/paths.ts";
import { parseCsvText } from "../../data/csv.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { cpu } from "../_helpers.ts";
import { ELEMENTS, withDesignFixture } from "../design/_design_fixture.ts";
import { alloy, assertCliError, stdoutJson } from "./_helpers.ts";
import { candidateColumns } from "../../design/candidates.ts";

const design = (...args: string[]) => alloy(["design", "--device", "cpu", ...args]);

/** Small run settings (seconds on the CPU). */
const SMALL = [
  "--chains",
  "6",
  "--steps",
  "30",
  "--mc",
  "4",
  "--eval-mc",
  "12",
  "--calibration-mc",
  "8",
  "--k-max",
  "3",
];

const TOP_KEYS = [
  "model",
  "method",
  "load",
  "goal",
  "out",
  "params",
  "members",
  "latent_dim",
  "data",
  "prior",
  "calibration",
  "search",
  "counts",
  "fallback",
  "min_separation",
  "interval",
  "extrapolation",
  "warnings",
  "candidates",
  "seconds",
];

function readCsv(path: string) {
  return parseCsvText(Deno.readTextFileSync(path), path);
}

Deno.test("cli design: --json schema, candidates.csv contract, predict round trip, judge, gpbo, errors", async (t) => {
  await withDesignFixture(cpu, async (f) => {
    const out = join(f.tmp, "candidates.csv");
    const flags = ["--model", f.model, "--data", f.csv, "--load", "1", ...SMALL, "--seed", "5", "--out", out];

    await t.step(
      "--json: one object, counts and candidates agree with the CSV; constraints hold",
      async () => {
        const j = stdoutJson(
          await design(
            ...flags,
            "--target",
            "1500",
            "--max-elements",
            "3",
            "--exclude",
            "Si",
            "--judge",
            f.gp!,
            "--json",
          ),
        );
        assertEquals(Object.keys(j), TOP_KEYS);
        assertEquals([j.method, j.load, j.goal, j.out, j.members, j.latent_dim], [
          "mcmc",
          1,
          { target: 1500 },
          out,
          1,
          3,
        ]);
        assertEquals(j.params.allowed_elements, ["Fe", "Ni", "Co", "Cr", "B"]);
        assertEquals([j.params.max_elements, j.params.min_fraction, j.params.precision], [3, 0.005, 0.1]);
        assertEquals([j.params.seed, j.params.eval_mc, j.params.judge], [5, 12, f.gp]);
        assertEquals([j.data.train_rows, j.data.row_source], [30, "splits.json sets.train"]);
        const c = j.counts;
        assertEquals(c.selected, j.candidates.length);
        assertTrue(
          c.generated === j.search.kept && c.unique <= c.generated && c.evaluated <= c.unique,
          "counts",
        );
        assertEquals(c.gates.total, c.evaluated);
        // 1500 HV is above every training label of the fixture (max ≈ 1180): the output says by how much.
        const ex = j.extrapolation;
        assertNear(ex.target_above_max_label, 1500 - ex.max_training_label, 1e-3, "extrapolation");
        assertTrue(
          j.warnings.some((w: string) => w.includes("above every training label")),
          "warning in JSON",
        );
        assertEquals(Object.keys(j.candidates[0]), [
          "formula",
          "composition",
          "load",
          "hv_mean",
          "hv_std",
          "hv_lcb",
          "hv_lo",
          "hv_hi",
          "log_prior",
          "novelty",
          "accepted",
          "gates",
          "judge_hv_mean",
          "judge_hv_std",
        ]);

        const csv = readCsv(out);
        assertEquals(csv.header, candidateColumns(ELEMENTS, true));
        assertEquals(csv.records.length, j.candidates.length);
        csv.records.forEach((r, i) => {
          const cell = (name: string) => r.cells[csv.header.indexOf(name)];
          const row = j.candidates[i];
          const fr = ELEMENTS.map((e) => Number(cell(e)));
          assertNear(fr.reduce((a, b) => a + b, 0), 1, 1e-9, "fractions sum to 1");
          assertEquals(Number(cell("Si")), 0);
          const present = fr.filter((v) => v > 0);
          assertTrue(present.length <= 3 && present.every((v) => v >= 0.005 - 1e-12), `row ${i}: ${fr}`);
          fr.forEach((v) => assertNear(v * 1000, Math.round(v * 1000), 1e-6, "0.1 at.% grid"));
          assertEquals([cell("formula"), cell("load"), cell("method")], [row.formula, "1", "mcmc"]);
          assertNear(Number(cell("hv_mean")), row.hv_mean, 1e-4, "hv_mean");
          assertNear(Number(cell("hv_lcb")), row.hv_mean - 1.645 * row.hv_std, 2e-3, "hv_lcb");
          assertEquals(cell("accepted"), row.accepted ? "1" : "0");
          assertTrue(Number(cell("judge_hv_std")) > 0, "the GP judge reports a σ");
        });
      },
    );

    await t.step(
      "candidates.csv round-trips through alloy predict (same seed and passes → same numbers)",
      async () => {
        // candidates.csv goes straight into `alloy predict` (its `load` column is read case-insensitively).
        const renamed = out;
        const p = stdoutJson(
          await alloy([
            "predict",
            "--device",
            "cpu",
            "--model",
            f.model,
            "--csv",
            renamed,
            "--out",
            join(f.tmp, "predicted.csv"),
            "--mc",
            "12",
            "--seed",
            "5",
            "--json",
          ]),
        );
        const csv = readCsv(out);
        assertEquals(p.rows.length, csv.records.length);
        p.rows.forEach((row: Record<string, number>, i: number) => {
          const cell = (name: string) => Number(csv.records[i].cells[csv.header.indexOf(name)]);
          for (const k of ["hv_mean", "hv_std", "hv_lcb"]) assertNear(row[k], cell(k), 2e-4, `row ${i} ${k}`);
        });
      },
    );

    await t.step("--method gpbo with --gp, and the text summary", async () => {
      const r = await design(
        ...flags,
        "--maximize",
        "--method",
        "gpbo",
        "--gp",
        f.gp!,
        "--steps",
        "3",
        "--quiet",
      );
      assertEquals(r.code, 0, r.stderr);
      assertTrue(r.stdout.includes("design: gpbo, maximise the LCB at 1 N"), r.stdout);
      assertTrue(/#\s+formula\s+μ\s+σ\s+LCB\s+novelty\s+gates\s+judge μ\s+judge σ/.test(r.stdout), r.stdout);
      assertTrue(r.stdout.includes(`wrote ${out}`), r.stdout);
      const csv = readCsv(out);
      assertEquals(csv.header, candidateColumns(ELEMENTS, true), "the GP is the judge by default");
      assertTrue(csv.records.length >= 1, "at least one candidate");
      for (const rec of csv.records) assertEquals(rec.cells[csv.header.indexOf("method")], "gpbo");
    });

    await t.step("bad flags are one-line errors", async () => {
      const m = ["--model", f.model, "--data", f.csv];
      const cases: [string[], string[]][] = [
        [["--load", "1", "--maximize"], ["--model"]],
        [[...m, "--maximize"], ["--load"]],
        [[...m, "--load", "1"], ["--target", "--maximize"]],
        [[...m, "--load", "1", "--maximize", "--target", "900"], ["exactly one"]],
        [[...m, "--load", "-2", "--maximize"], ["--load", "-2"]],
        [[...m, "--load", "1", "--maximize", "--method", "hmc"], ["--method", "hmc"]],
        [[...m, "--load", "1", "--maximize", "--method", "gpbo"], ["--gp"]],
        [[...m, "--load", "1", "--maximize", "--exclude", "Zr"], ["--exclude", "Zr"]],
        [[...m, "--load", "1", "--maximize", "--elements", "fe"], ["--elements", "Fe"]],
        [[...m, "--load", "1", "--maximize", "--min-fraction", "2"], ["--min-fraction"]],
        [[...m, "--load", "1", "--maximize", "--precision", "0.3"], ["--precision"]],
        [[...m, "--load", "1", "--maximize", "--n", "0"], ["--n"]],
        [[...m, "--load", "1", "--maximize", "--judge", f.tmp], ["config.json"]],
        [["--model", f.tmp, "--load", "1", "--maximize"], ["config.json"]],
      ];
      const results = await Promise.all(cases.map(([args]) => design(...args)));
      results.forEach((r, i) => assertCliError(r, ...cases[i][1]));
    });
  }, { gp: true });
});

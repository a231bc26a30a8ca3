/**
 * `alloy hea` end to end, in process, on the real dataset (skipped without ALLOY_DATA_DIR): `train --json` keeps
 * the contract and writes a loadable model directory; `evaluate` re-computes the same metrics from the directory;
 * formulas in and out (`evaluate FORMULA`, `generate`, `nudge`, with their applicability-domain verdicts), `explain` writes its files; bad flags and formulas
 * are one `error:` line with status 2.
 */
import { main } from "../../cli/main.ts";
import { join } from "../../data/paths.ts";
import { parseFormula } from "../../data/formula.ts";
import { DATA_DIR, NO_DATA, noteSkip } from "../data/_helpers.ts";
import { assertEquals, assertNear, assertTrue, tempDir } from "../data/_helpers.ts";
import { loadHeaModelDir } from "../../nn/models/hea_model_dir.ts";
import { CpuBackend } from "../../nn/cpu_backend.ts";

/** Runs `alloy <argv>` in process, capturing stdout and stderr lines. */
async function alloy(argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const out: string[] = [], err: string[] = [], log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await main(argv), stdout: out, stderr: err };
  } finally {
    console.log = log, console.error = error;
  }
}

function json(r: { code: number; stdout: string[]; stderr: string[] }) {
  assertEquals(r.code, 0, r.stderr.join("\n"));
  assertEquals(r.stdout.length, 1, `one JSON line: ${r.stdout.join("\n")}`);
  return JSON.parse(r.stdout[0]);
}

function assertError(r: { code: number; stdout: string[]; stderr: string[] }, part: string) {
  assertEquals(r.code, 2, r.stderr.join("\n"));
  assertEquals(r.stdout, []);
  assertEquals(r.stderr.length, 1, r.stderr.join("\n"));
  assertTrue(r.stderr[0].startsWith("error: ") && r.stderr[0].includes(part), r.stderr[0]);
}

const common = ["--device", "cpu", "--data", DATA_DIR ?? ""];

Deno.test({
  name: "hea train → evaluate → generate → nudge → explain on a 2-epoch model",
  ignore: NO_DATA,
  async fn() {
    const dir = join(tempDir(), "hea-model");
    const t = json(
      await alloy([
        "hea",
        "train",
        "--json",
        "--epochs",
        "2",
        "--seeds",
        "2",
        "--resamples",
        "50",
        "--out",
        dir,
        "-q",
        ...common,
      ]),
    );
    for (const p of ["train", "validation", "test"]) {
      for (const k of ["accuracy", "auc"]) {
        const v = t.metrics[p][k];
        assertTrue(v > 0.5 && v <= 1, `${p} ${k} = ${v}`);
        const [lo, hi] = t.metrics[p][`${k}_ci`];
        assertTrue(lo <= v && v <= hi, `${p} ${k} interval`);
      }
    }
    assertEquals(t.metrics.train.n_rows, 864);
    assertEquals(t.metrics.test.n_rows, 138);
    assertEquals(t.model_dir, dir);
    assertEquals(t.members.length, 2);
    const loaded = await loadHeaModelDir(dir, new CpuBackend("f32"));
    assertEquals(loaded.config.members, 2);
    assertEquals(loaded.config.data?.n_rows, 1373, "the data file's provenance is recorded");
    assertTrue(/^[0-9a-f]{64}$/.test(loaded.config.data?.sha256 ?? ""));
    for (const f of ["metrics.json", "roc.csv", "roc.svg", "curves.csv", "predictions.csv"]) {
      await Deno.stat(join(dir, f));
    }

    // evaluate re-creates the members' rows from config.json and gets the same numbers.
    const e = json(
      await alloy(["hea", "evaluate", "--model", dir, "--json", "--resamples", "50", ...common]),
    );
    for (const p of ["train", "validation", "test"]) {
      assertNear(e.metrics[p].accuracy, t.metrics[p].accuracy, 1e-12, p);
      assertNear(e.metrics[p].auc, t.metrics[p].auc, 1e-12, p);
    }
    const f = json(
      await alloy(["hea", "evaluate", "--model", dir, "--json", "CoCrFeNi", "Al0.5CoCrCuFeNi", ...common]),
    );
    assertEquals(f.predictions.map((p: { canonical: string }) => p.canonical), [
      "Co25Cr25Fe25Ni25",
      "Co18.19Cr18.18Cu18.18Fe18.18Ni18.18Al9.09",
    ]);
    assertTrue(f.predictions.every((p: { p_single: number }) => p.p_single >= 0 && p.p_single <= 1));

    const g = json(
      await alloy(["hea", "generate", "--model", dir, "--json", "--radius", "1", "--count", "4", ...common]),
    );
    assertEquals(g.generated.length, 4);
    for (const x of g.generated) {
      const pf = parseFormula(x.formula);
      assertNear(pf.fractions.reduce((a, b) => a + b, 0), 1, 1e-9);
      assertEquals(x.inconsistent, !(x.p_single > 0.5));
      // the applicability domain: the nearest of the alloys the members trained on
      assertTrue(typeof x.domain.in_domain === "boolean" && x.domain.distance >= 0, JSON.stringify(x.domain));
      assertTrue(parseFormula(x.domain.nearest_training_alloy).elements.length >= 1);
    }
    assertEquals(
      g.outside_domain,
      g.generated.filter((x: { domain: { in_domain: boolean } }) => !x.domain.in_domain).length,
    );
    const n = json(
      await alloy([
        "hea",
        "nudge",
        "--model",
        dir,
        "--json",
        "--max-steps",
        "2",
        "--cutoff",
        "0.9",
        ...common,
      ]),
    );
    assertEquals(n.trajectory[0].formula, "Al22.9Cr22.9Ni16.7Co14.6Fe14.6Cu8.3");
    // the paper's start sits next to a training alloy of almost the same composition
    assertTrue(n.trajectory[0].domain.in_domain && n.trajectory[0].domain.distance < 0.05);
    assertEquals(n.trajectory[0].domain.nearest_training_alloy, "Al22.9Cr22.9Ni16.4Co14.8Fe14.8Cu8.2");
    assertTrue(n.trajectory.length >= 1 && n.trajectory.length <= 3);
    assertEquals(n.reached, n.trajectory.at(-1).p_single > 0.9);

    const out = join(tempDir(), "explain");
    const x = json(
      await alloy([
        "hea",
        "explain",
        "--model",
        dir,
        "--json",
        "--shap-rows",
        "2",
        "--background",
        "5",
        "--out",
        out,
        "-q",
        ...common,
      ]),
    );
    assertTrue(x.shap.exact, "2⁸ − 2 coalitions: exact");
    // Efficiency: each explained alloy's SHAP values add up to p(single) − base.
    const shapLines = (await Deno.readTextFile(join(out, "shap.csv"))).trim().split("\n");
    assertEquals(shapLines.length, 3, "header + 2 rows");
    for (const line of shapLines.slice(1)) {
      const cells = line.split(",").map(Number);
      const [p, ...phi] = cells.slice(-9);
      assertNear(phi.reduce((a, b) => a + b, 0), p - x.shap.base, 2e-4, line);
    }
    for (
      const file of ["shap.csv", "latent.csv", "latent_label.svg", "latent_group.svg", "reconstruction.csv"]
    ) {
      await Deno.stat(join(out, file));
    }
  },
});
if (NO_DATA) noteSkip("the hea CLI round trip");

Deno.test("hea: bad flags, formulas and subcommands are one-line errors", async () => {
  assertError(await alloy(["hea", "bogus"]), "unknown subcommand 'bogus'");
  assertError(await alloy(["hea", "train", "--splits", "kfold", "--device", "cpu"]), "--splits");
  assertError(await alloy(["hea", "train", "--seeds", "0", "--device", "cpu"]), "--seeds");
  assertError(await alloy(["hea", "train", "--recipe", "slow", "--device", "cpu"]), "--recipe");
  assertError(await alloy(["hea", "evaluate", "--device", "cpu"]), "--model");
  assertError(
    await alloy(["hea", "nudge", "--model", "/nonexistent/hea", "--device", "cpu"]),
    "/nonexistent/hea",
  );
  const help = await alloy(["hea", "--help"]);
  for (const s of ["train", "evaluate", "screen", "generate", "nudge", "explain"]) {
    assertTrue(help.stdout.join("\n").includes(`  ${s}`), `help lists ${s}`);
  }
});

/**
 * `alloy explain` end to end (subprocesses): tiny model directories of both architectures written here (random
 * weights), a synthetic hardness CSV and the model's splits.json. Checks the JSON against independent references —
 * the hardness of `predictVibann`, the mean of the training rows picked by hand, SHAP efficiency, IG completeness —
 * the text table, the formula baseline, and one clear `error:` line for bad flags. The published model (imported
 * here) is explained when ALLOY_MODELS_DIR and ALLOY_DATA_DIR are set.
 */
import { CpuBackend } from "../../nn/cpu_backend.ts";
import type { VibannBase } from "../../nn/models/vibann.ts";
import { buildVibann, type VibannArch } from "../../nn/models/vibann_factory.ts";
import { loadModelDir, memberScalers, saveModelDir } from "../../nn/models/model_dir.ts";
import { memberMean, predictVibann } from "../../nn/models/vibann_predict.ts";
import { splitsRecord, writeSplitsJson } from "../../data/split_file.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { formulaToVector } from "../../data/formula.ts";
import { join } from "../../data/paths.ts";
import { Rng } from "../../nn/random.ts";
import { randn } from "../_helpers.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { alloy, assertCliError, stdoutJson } from "../cli/_helpers.ts";
import { DATA_DIR } from "../data/_helpers.ts";
import { importPublished, NO_PARITY, noteSkip, tempDir } from "../models/_helpers.ts";

noteSkip("the published-model case of explain_cli_test.ts", true);

const be = new CpuBackend("f32");
const ELEMENTS = ["Fe", "Ni", "B", "Si", "Co"];
const N = 30;
/** Training rows of the splits.json written below (the rest are calibration and test rows). */
const TRAIN = Array.from({ length: 20 }, (_, i) => i + 5);

/** A model of `arch` with every tensor set to seeded random values (variances positive). */
function randomModel(arch: VibannArch, replicas: number): VibannBase {
  const m = buildVibann(
    {
      arch,
      elementSymbols: ELEMENTS,
      attention: {
        tokens: 4,
        dModel: 8,
        heads: 2,
        layers: 1,
        ffn: 16,
        elementFeatures: true,
        pairwise: true,
      },
    },
    { latentDim: 3, dropout: 0.1, replicas, seed: 2, backend: be },
  );
  m.namedTensors().forEach(({ name, tensor }, k) => {
    const v = randn(tensor.size, 300 + k, 0.4);
    be.write(tensor, name.endsWith("moving_variance") ? v.map((x) => Math.abs(x) + 0.5) : v);
  });
  return m.eval();
}

/** Rows of the synthetic dataset (compositions with 2–5 elements, loads 0.1–10 N). */
function syntheticRows(): { comp: number[][]; load: number[] } {
  const r = new Rng(17, 3);
  const comp: number[][] = [], load: number[] = [];
  for (let i = 0; i < N; i++) {
    const raw = ELEMENTS.map((_, j) => (j < 2 || r.uniform() < 0.6 ? 0.05 + r.uniform() : 0));
    const s = raw.reduce((a, b) => a + b, 0);
    comp.push(raw.map((v) => +(v / s).toFixed(6)));
    load.push(+(0.1 + 9.9 * r.uniform()).toFixed(3));
  }
  // Exact sums: the last element takes the rounding rest.
  for (const c of comp) c[c.length - 1] = +(1 - c.slice(0, -1).reduce((a, b) => a + b, 0)).toFixed(6);
  return { comp, load };
}

interface Fixture {
  tmp: string;
  csv: string;
  dirs: Record<string, string>;
  rows: { comp: number[][]; load: number[] };
}

/** A temp folder with the CSV and model directories (reference, 2-member reference, attention) with splits.json. */
async function withFixture(fn: (f: Fixture) => Promise<void>) {
  const tmp = tempDir();
  try {
    const rows = syntheticRows();
    const text = [
      [...ELEMENTS, "Load", "HV"].join(","),
      ...rows.comp.map((c, i) => [...c, rows.load[i], 500].join(",")),
    ]
      .join("\n") + "\n";
    const csv = join(tmp, "hv.csv");
    await Deno.writeTextFile(csv, text);
    const sha = await sha256Hex(new TextEncoder().encode(text));
    const dirs: Record<string, string> = {};
    for (
      const [name, arch, R] of [["reference", "reference", 1], ["members", "reference", 2], [
        "attention",
        "attention",
        1,
      ]] as const
    ) {
      const model = randomModel(arch, R);
      const dir = join(tmp, name);
      await saveModelDir(dir, model, {
        elements: ELEMENTS,
        scalers: Array.from(
          { length: R },
          (_, r) => ({ loadMean: 3 + r, loadScale: 2, yMean: 600, yScale: 150 }),
        ),
        loadRange: [0.1, 10],
        source: "trained",
      });
      model.dispose();
      const all = Array.from({ length: N }, (_, i) => i);
      await writeSplitsJson(
        join(dir, "splits.json"),
        splitsRecord({
          dataFile: csv,
          dataSha256: sha,
          nRows: N,
          method: "test",
          sets: { train: TRAIN, calibration: all.slice(0, 5), test: all.slice(25) },
        }),
      );
      dirs[name] = dir;
    }
    await fn({ tmp, csv, dirs, rows });
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
}

const explain = (...args: string[]) => alloy(["explain", "--device", "cpu", ...args]);

/** The model directory's deterministic hardness for one alloy, computed in this process. */
async function predicted(dir: string, formula: string, load: number): Promise<number> {
  const { model, config } = await loadModelDir(dir, be);
  const comp = Float32Array.from(formulaToVector(formula, config.elements));
  const p = await predictVibann(be, model, memberScalers(config), comp, Float64Array.of(load));
  model.dispose();
  return memberMean(p)[0];
}

/** A feature's entry of the JSON. */
// deno-lint-ignore no-explicit-any
const feature = (j: any, name: string) => j.features.find((f: { feature: string }) => f.feature === name);

Deno.test("cli explain: mean baseline of the training rows, IG completeness, SHAP efficiency, both architectures", async () => {
  await withFixture(async ({ csv, dirs, rows }) => {
    const formula = "Fe60Ni25B15", load = 2.5;
    // The baseline by hand: the mean of the splits.json training rows (each already on the simplex).
    const meanComp = ELEMENTS.map((_, k) => TRAIN.reduce((s, i) => s + rows.comp[i][k], 0) / TRAIN.length);
    const meanLoad = TRAIN.reduce((s, i) => s + rows.load[i], 0) / TRAIN.length;
    for (const name of ["reference", "members", "attention"]) {
      const res = await explain(
        "--model",
        dirs[name],
        "--formula",
        formula,
        "--load",
        String(load),
        "--data",
        csv,
        "--json",
      );
      const j = stdoutJson(res);
      assertEquals(Object.keys(j), [
        "model",
        "arch",
        "members",
        "formula",
        "load",
        "hv",
        "baseline",
        "ig",
        "shap",
        "features",
      ]);
      assertEquals([j.arch, j.members], [
        name === "attention" ? "attention" : "reference",
        name === "members" ? 2 : 1,
      ]);
      assertNear(j.hv, await predicted(dirs[name], formula, load), 2e-3, `${name}: hv = predictVibann`);
      assertEquals(j.baseline.kind, "mean");
      assertTrue(j.baseline.source.includes(`${TRAIN.length} training rows`), j.baseline.source);
      assertNear(j.baseline.load, meanLoad, 1e-5, "baseline load");
      ELEMENTS.forEach((e, k) => assertNear(feature(j, e).baseline, meanComp[k], 1e-5, `baseline ${e}`));
      assertNear(feature(j, "Fe").fraction, 0.6, 1e-12);
      assertEquals(feature(j, "load").value, load);
      // IG: ≥ 200 steps by default; completeness on both networks (the attention network has 4 token slots for
      // the mean baseline's 5 elements, but with the fraction bias explain gives it one slot per element, which
      // makes it continuous along the path).
      assertEquals(j.ig.steps, 200);
      const igSum = j.features.reduce((s: number, f: { ig: number }) => s + f.ig, 0);
      assertNear(igSum, j.ig.sum, 1e-4);
      assertNear(j.ig.completeness_gap, j.ig.sum - j.ig.delta, 1e-4);
      assertNear(j.ig.delta, j.hv - j.baseline.hv, 1e-3);
      assertTrue(Math.abs(j.ig.delta) > 1, `${name}: a non-trivial difference to explain (${j.ig.delta})`);
      assertTrue(j.ig.relative_gap < 0.02, `${name}: IG gap ${j.ig.relative_gap}`);
      // A gap over 5 % would be flagged on stderr.
      assertEquals(
        res.stderr.includes("warning: the IG attributions miss"),
        j.ig.relative_gap > 0.05,
        res.stderr,
      );
      // SHAP: efficiency, and all coalitions of the varying features fit the default budget here.
      const shapSum = j.features.reduce((s: number, f: { shap: number }) => s + f.shap, 0);
      assertNear(shapSum, j.hv - j.shap.base, 1e-3, `${name}: Σ SHAP = f(x) − E f`);
      assertEquals([j.shap.background, j.shap.exact, j.shap.coalitions], [20, true, 2 ** j.shap.varying - 2]);
    }
  });
});

Deno.test("cli explain: formula baseline at the same load, the text table, seeds and sizes", async () => {
  await withFixture(async ({ csv, dirs }) => {
    const dir = dirs.reference;
    const args = ["--model", dir, "--formula", "Fe60Ni25B15", "--load", "2.5", "--data", csv];
    const j = stdoutJson(
      await explain(...args, "--baseline", "Fe50Ni50", "--steps", "300", "--background", "6", "--json"),
    );
    assertEquals([j.baseline.kind, j.baseline.formula, j.baseline.load, j.ig.steps, j.shap.background], [
      "formula",
      "Fe50Ni50",
      2.5,
      300,
      6,
    ]);
    assertNear(j.baseline.hv, await predicted(dir, "Fe50Ni50", 2.5), 2e-3, "f(baseline)");
    assertEquals(feature(j, "load").ig, 0); // the baseline has the same load: nothing to attribute
    // Si is in neither alloy: no IG attribution; SHAP still sees it vary in the background.
    assertEquals(feature(j, "Si").ig, 0);
    assertNear(feature(j, "Ni").baseline, 0.5, 1e-12);
    assertTrue(j.ig.relative_gap < 0.02, `IG gap ${j.ig.relative_gap}`);
    // Same seed, same output; a sampled coalition budget is reported as such.
    const again = stdoutJson(
      await explain(...args, "--baseline", "Fe50Ni50", "--steps", "300", "--background", "6", "--json"),
    );
    assertEquals(again, j);
    // The attention network is continuous on a path that keeps the alloy's elements: IG is complete there.
    const att = await explain(
      ...["--model", dirs.attention, ...args.slice(2)],
      ...["--baseline", "Fe40Ni30B30", "--background", "3", "--json"],
    );
    const ja = stdoutJson(att);
    assertTrue(
      Math.abs(ja.ig.delta) > 1 && ja.ig.relative_gap < 0.02,
      `attention IG ${JSON.stringify(ja.ig)}`,
    );
    assertTrue(!att.stderr.includes("warning"), att.stderr);
    const sampled = stdoutJson(await explain(...args, "--samples", "10", "--json"));
    assertEquals([sampled.shap.exact, sampled.shap.coalitions], [false, 10]);

    const text = await explain(...args);
    assertEquals(text.code, 0, text.stderr);
    const out = text.stdout;
    assertTrue(/^feature\s+alloy\s+baseline\s+IG \(HV\)\s+SHAP \(HV\)$/m.test(out), out);
    for (const e of ["Fe", "Ni", "B"]) {
      assertTrue(new RegExp(`^${e}\\s+0\\.\\d{4}\\s+0\\.\\d{4}\\s+[+-]`, "m").test(out), out);
    }
    assertTrue(/^load \(N\)\s+2\.5\s/m.test(out), out);
    assertTrue(/^sum\s+[+-]\d+\.\d\d\s+[+-]\d+\.\d\d$/m.test(out), out);
    assertTrue(out.includes("completeness gap") && out.includes("training rows"), out);
  });
});

Deno.test("cli explain: bad flags and inputs give one clear error line", async () => {
  await withFixture(async ({ csv, dirs, tmp }) => {
    const base = ["--model", dirs.reference, "--load", "2", "--data", csv];
    assertCliError(
      await explain(...base, "--formula", "Fe50Ni50", "--steps", "0"),
      "--steps",
      "whole number",
    );
    assertCliError(await explain(...base, "--formula", "Fe50Ni50", "--background", "x"), "--background");
    assertCliError(await explain(...base, "--formula", "Fe50Ni50", "--baseline", "median"), "--baseline");
    assertCliError(await explain(...base, "--formula", "Fe50Cu50"), "--formula", "Cu");
    assertCliError(await explain(...base, "--formula", "Fe50Ni50", "--bogus"), "bogus");
    assertCliError(
      await explain("--model", dirs.reference, "--formula", "Fe50Ni50", "--data", csv),
      "--load",
    );
    assertCliError(
      await explain(...base.slice(0, 2), "--formula", "Fe50Ni50", "--load", "-1"),
      "--load",
      "> 0",
    );
    assertCliError(
      await explain(...base.slice(2), "--formula", "Fe50Ni50", "--model", join(tmp, "nope")),
      "nope",
    );
  });
});

Deno.test({
  name: "cli explain: the published model (imported), fixture row 0",
  ignore: NO_PARITY,
  async fn() {
    const tmp = tempDir();
    try {
      const imp = await importPublished(be);
      const dir = join(tmp, "published");
      await saveModelDir(dir, imp.model, { ...imp.input });
      imp.model.dispose();
      const j = stdoutJson(
        await explain(
          "--model",
          dir,
          "--formula",
          "Al86Co2Cu6Y6",
          "--load",
          "0.245",
          "--background",
          "4",
          "--samples",
          "300",
          "--data",
          DATA_DIR!,
          "--json",
        ),
      );
      assertNear(j.hv, 180.1919, 0.01, "parity fixture row 0");
      assertTrue(j.baseline.source.startsWith("all 673 rows"), j.baseline.source);
      assertTrue(j.ig.relative_gap < 0.02, `IG gap ${j.ig.relative_gap}`);
      assertNear(j.shap.sum, j.hv - j.shap.base, 1e-3);
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});

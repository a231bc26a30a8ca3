/**
 * `alloy bmg train-classifier` and `alloy bmg classify` end to end on a small synthetic Forrest–Greer-format file
 * (no real data needed): the `--json` contract, deduplication and the skipped-row count, the saved model used by
 * `classify` (formulas in, canonical formulas out), and bad input as one `error:` line; then `alloy design
 * --gfa-model DIR --gfa-min P` with that model: the `p_glass` column equals `bmg classify` of the exported formulas
 * and every row reaches P.
 */
import { alloy, assertCliError, stdoutJson } from "./_helpers.ts";
import { assert, assertEquals } from "../_helpers.ts";
import { join } from "../../data/paths.ts";
import { Rng } from "../../nn/random.ts";
import { cpu } from "../_helpers.ts";
import { ELEMENTS, withDesignFixture } from "../design/_design_fixture.ts";
import { parseCsvText } from "../../data/csv.ts";

/** 12 ternary/binary systems; glass ⇔ ternary (a rule the D1 columns show). Returns the CSV and counts. */
function syntheticForrest() {
  const systems = [
    ["Cu", "Zr"],
    ["Cu", "Zr", "Al"],
    ["Fe", "B"],
    ["Fe", "B", "Si"],
    ["Ni", "Nb"],
    ["Ni", "Nb", "Ti"],
    ["Pd", "Si"],
    ["Pd", "Ni", "Si"],
    ["La", "Al"],
    ["La", "Al", "Cu"],
    ["Mg", "Cu"],
    ["Mg", "Cu", "Y"],
  ];
  const rng = new Rng(5, 5);
  const lines = ["composition,Dmax,GFA,Tg,Tx,Tl"];
  const keys = new Set<string>();
  for (const s of systems) {
    for (let i = 0; i < 8; i++) {
      const amt = s.map(() => 10 + Math.round(rng.uniform() * 40));
      const f = s.map((e, k) => `${e}${amt[k]}`).join("");
      lines.push(`${f},0,${s.length === 3 ? "Ribbon" : "Crystal"},,,`);
      const tot = amt.reduce((a, b) => a + b, 0);
      keys.add(s.map((e, k) => `${e}:${(amt[k] / tot).toFixed(3)}`).sort().join(" "));
    }
  }
  lines.push("Cu50Zr50,0,Crystal,,,", "Zr50Cu50,0,Crystal,,,"); // one composition, two rows
  keys.add("Cu:0.500 Zr:0.500");
  lines.push("Zr41Ti14Cu12.5Ni2Be22.5C8[,0,Ribbon,,,"); // a malformed formula: skipped, counted
  return { text: lines.join("\n") + "\n", compositions: keys.size, badLine: lines.length };
}

async function trainSynthetic(tmp: string, out: string, extra: string[] = []) {
  const data = syntheticForrest();
  await Deno.mkdir(join(tmp, "bmg"));
  await Deno.writeTextFile(join(tmp, "bmg", "forrest_greer_gfa_data.csv"), data.text);
  const common = ["--data", tmp, "--sources", "forrest", "--trees", "15", "--depth", "3", "--device", "cpu"];
  const r = await alloy(["bmg", "train-classifier", ...common, "--folds", "4", "--out", out, ...extra]);
  return { data, common, r };
}

Deno.test("bmg train-classifier --json and bmg classify on synthetic data", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "alloy_bmg_cli_test_" });
  try {
    const out = join(tmp, "gfa");
    const { data, common, r } = await trainSynthetic(tmp, out, ["--json", "--quiet"]);
    const j = stdoutJson(r);
    for (const k of ["accuracy", "auc", "majority_rate"]) {
      assert(
        typeof j.metrics[k] === "number" && j.metrics[k] >= 0 && j.metrics[k] <= 1,
        `${k}: ${j.metrics[k]}`,
      );
    }
    assertEquals(j.metrics.folds.length, 4);
    assertEquals(j.random_cv.folds.length, 4);
    assertEquals(j.n_compositions, data.compositions);
    assertEquals(
      j.metrics.folds.reduce((s: number, f: { n_test: number }) => s + f.n_test, 0),
      data.compositions,
    );
    assertEquals(j.model_dir, out);
    assertEquals(j.data.skipped, 1);
    assertEquals(j.data.skipped_examples[0].line, data.badLine);
    assertEquals(j.data.duplicates, 12 * 8 + 2 - data.compositions); // Cu50Zr50 twice, plus chance repeats
    assertEquals(j.descriptors, "cd2");
    // the rule is learnable from the descriptors: grouped CV beats always guessing the majority
    assert(j.metrics.accuracy > j.metrics.majority_rate, JSON.stringify(j.metrics));

    const c = stdoutJson(
      await alloy([
        "bmg",
        "classify",
        "--model",
        out,
        "Zr50Cu40Al10",
        "--formula",
        "Cu0.5Zr0.5",
        "--json",
        "--device",
        "cpu",
      ]),
    );
    assertEquals(c.predictions.map((p: { formula: string }) => p.formula), ["Zr50Cu40Al10", "Cu50Zr50"]);
    for (const p of c.predictions) assert(p.p_glass >= 0 && p.p_glass <= 1 && p.glass === p.p_glass >= 0.5);
    assert(c.predictions[0].p_glass > c.predictions[1].p_glass, JSON.stringify(c.predictions));

    assertCliError(await alloy(["bmg", "train-classifier", ...common, "--folds", "1"]), "--folds");
    assertCliError(
      await alloy(["bmg", "train-classifier", "--data", tmp, "--sources", "wards"]),
      "--sources",
      "wards",
    );
    assertCliError(
      await alloy(["bmg", "train-classifier", "--data", tmp, "--sources", "ward", "--device", "cpu"]),
      "ward_metallic_glasses.csv",
    );
    assertCliError(await alloy(["bmg", "classify", "--model", out, "Cu50Xx50"]), "Xx");
    assertCliError(await alloy(["bmg", "classify", "--model", tmp, "Cu50Zr50"]), "config.json");
    assertCliError(await alloy(["bmg", "classify", "Cu50Zr50"]), "--model");
    assertCliError(await alloy(["bmg", "nope"]), "unknown subcommand", "train-classifier");
    const help = await alloy(["bmg", "--help"]);
    assertEquals(help.code, 0);
    for (const s of ["train-classifier", "classify"]) assert(help.stdout.includes(s), help.stdout);
    assertCliError(
      await alloy(["design", "--model", out, "--load", "1", "--maximize", "--gfa-min", "0.5"]),
      "--gfa-min",
      "--gfa-model",
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("design --gfa-model: p_glass column equals bmg classify, every row at or above --gfa-min", async () => {
  await withDesignFixture(cpu, async (f) => {
    const gfa = join(f.tmp, "gfa");
    const t = await trainSynthetic(f.tmp, gfa, ["--no-random-cv", "--quiet"]);
    assertEquals(t.r.code, 0, t.r.stderr);
    const out = join(f.tmp, "candidates.csv");
    const small = ["--chains", "6", "--steps", "30", "--mc", "4", "--eval-mc", "12", "--calibration-mc", "8"];
    const args = [
      "design",
      "--device",
      "cpu",
      "--model",
      f.model,
      "--data",
      f.csv,
      "--load",
      "1",
      "--maximize",
    ];
    const min = 0.2;
    const j = stdoutJson(
      await alloy([
        ...args,
        ...small,
        "--gfa-model",
        gfa,
        "--gfa-min",
        String(min),
        "--out",
        out,
        "--json",
        "-q",
      ]),
    );
    assertEquals(j.params.gfa_model, gfa);
    assertEquals(j.params.gfa_min, min);
    assert(j.counts.gfa_kept >= 1 && j.counts.gfa_kept <= j.counts.unique, JSON.stringify(j.counts));
    const csv = parseCsvText(Deno.readTextFileSync(out), out);
    assertEquals(csv.header, [
      "formula",
      ...ELEMENTS,
      "load",
      "hv_mean",
      "hv_std",
      "hv_lcb",
      "hv_lo",
      "hv_hi",
      "log_prior",
      "novelty",
      "accepted",
      "method",
      "p_glass",
    ]);
    const formulas = csv.records.map((r) => r.cells[0]);
    const pCsv = csv.records.map((r) => Number(r.cells.at(-1)));
    assertEquals(pCsv, j.candidates.map((c: { p_glass: number }) => c.p_glass));
    for (const p of pCsv) assert(p >= min, `p_glass ${p} < ${min}`);
    const c = stdoutJson(
      await alloy(["bmg", "classify", "--device", "cpu", "--model", gfa, ...formulas, "--json"]),
    );
    c.predictions.forEach((p: { p_glass: number }, i: number) =>
      assert(Math.abs(p.p_glass - pCsv[i]) <= 2e-4, `${formulas[i]}: classify ${p.p_glass} vs csv ${pCsv[i]}`)
    );
    assertCliError(
      await alloy([...args, ...small, "--gfa-model", gfa, "--gfa-min", "1.5", "--out", out]),
      "--gfa-min",
    );
  });
});

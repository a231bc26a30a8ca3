/**
 * `alloy bmg train-gan | generate | evaluate` end to end, in process (through the subcommands the `bmg` group
 * includes): a tiny GAN on the real thermal glass data (skipped without ALLOY_DATA_DIR), a tiny GFA classifier
 * directory fitted here, one JSON object on stdout, the written files, and bad flags as one-line UserErrors.
 */
import {
  assertEquals,
  assertRejectsUserError,
  assertTrue,
  DATA_DIR,
  NO_DATA,
  noteSkip,
} from "../data/_helpers.ts";
import { BMG_GAN_SUBCOMMANDS } from "../../cli/bmg_gan_commands.ts";
import { join } from "../../data/paths.ts";
import { parseFormula } from "../../data/formula.ts";
import { D3_NAMES } from "../../data/bmg_descriptors.ts";
import { fitGfa, saveGfaModel } from "../../nn/train/gfa_classifier.ts";
import { matrix } from "../../nn/baselines/regressor.ts";
import { Rng } from "../../nn/random.ts";

noteSkip("the BMG GAN CLI run on real data");

/** Runs `bmg <sub> …argv` in process; returns stdout (console.log) lines. Progress (stderr) is swallowed. */
async function bmg(sub: string, argv: string[]): Promise<string[]> {
  const cmd = BMG_GAN_SUBCOMMANDS.find((s) => s.name === sub)!;
  const lines: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  console.error = () => {};
  try {
    assertEquals(await cmd.run(argv), 0);
  } finally {
    console.log = log, console.error = error;
  }
  return lines;
}

/** The one JSON object a `--json` run prints. */
async function bmgJson(sub: string, argv: string[]) {
  const lines = await bmg(sub, [...argv, "--json"]);
  assertEquals(lines.length, 1, `one stdout line: ${lines.join("\n").slice(0, 300)}`);
  return JSON.parse(lines[0]);
}

Deno.test("bmg GAN CLI: bad flags are one-line UserErrors naming the flag", async () => {
  const run = (sub: string, argv: string[]) => () => bmg(sub, argv);
  await assertRejectsUserError(
    run("train-gan", ["--descriptors", "D3", "--device", "cpu"]),
    "--descriptors",
    "D3",
  );
  await assertRejectsUserError(run("train-gan", ["--held-out", "1.5"]), "--held-out");
  await assertRejectsUserError(run("train-gan", ["--bases", "Zr,Qq"]), "--bases", "Qq");
  await assertRejectsUserError(run("train-gan", ["--epochs", "0"]), "--epochs");
  await assertRejectsUserError(run("train-gan", ["--select", "best"]), "--select", "w2");
  await assertRejectsUserError(run("generate", ["--device", "cpu"]), "--gan");
  await assertRejectsUserError(run("generate", ["--target", "tl:hi", "--gan", "x"]), "--target", "tl:hi");
  await assertRejectsUserError(
    run("evaluate", ["--gan", "/nonexistent/gan", "--device", "cpu"]),
    "/nonexistent/gan",
  );
  await assertRejectsUserError(run("evaluate", ["--bogus"]), "bogus");
});

/** A tiny GFA classifier directory over `elements` (D1, 5 trees; glass ⇔ x_Zr + x_Cu + x_La + x_Fe > 0.5). */
async function tinyClassifier(dir: string, elements: string[]): Promise<void> {
  const r = new Rng(3), E = elements.length, n = 300;
  const x = new Float64Array(n * E), y = new Float64Array(n);
  const major = ["Zr", "Cu", "La", "Fe"].map((e) => elements.indexOf(e)).filter((j) => j >= 0);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < 4; k++) {
      const j = Math.floor(r.uniform() * E), v = r.uniform();
      x[i * E + j] += v, s += v;
    }
    let m = 0;
    for (let j = 0; j < E; j++) x[i * E + j] /= s;
    for (const j of major) m += x[i * E + j];
    y[i] = m > 0.5 ? 1 : 0;
  }
  const { model } = fitGfa(matrix(n, E, x), y, { smote: false, boost: { nEstimators: 5, maxDepth: 3 } });
  await saveGfaModel(dir, model, { descriptors: "d1", elements });
}

Deno.test({
  name: "bmg GAN CLI: train-gan CD1P → generate with targets → evaluate (tiny sizes, real thermal data)",
  ignore: NO_DATA,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "alloy_bmg_gan_cli_test_" });
    try {
      const gan = join(tmp, "gan"),
        tiny = ["--hidden", "16", "--latent", "4", "--batch-size", "32", "--device", "cpu"];
      const t = await bmgJson("train-gan", [
        ...["--descriptors", "CD1P", "--epochs", "2", "--monitor-every", "1", "--monitor-samples", "40"],
        ...["--data", DATA_DIR!, "--out", gan, "--seed", "3", ...tiny],
      ]);
      assertEquals([t.model_dir, t.descriptors, t.epochs], [gan, "CD1P", 2]);
      assertEquals(t.steps, 2 * Math.floor(t.n_train / 32));
      const cfg = JSON.parse(await Deno.readTextFile(join(gan, "config.json")));
      assertEquals(cfg.properties, true);
      assertEquals(cfg.feature_names.slice(-3), ["Tg", "Tx", "Tl"]);
      assertEquals(t.features, cfg.elements.length + D3_NAMES.length + 3, "D1 + D3 columns + Tg, Tx, Tl");
      // The split is by composition: no key on both sides; the four bases are all present.
      const held = new Set<string>(cfg.held_out_keys);
      assertTrue(cfg.train_keys.every((k: string) => !held.has(k)));
      assertEquals(
        t.n_train + t.n_held_out,
        Object.values(t.per_base as Record<string, number>).reduce((a, b) => a + b),
      );
      const curves = (await Deno.readTextFile(join(gan, "curves.csv"))).trimEnd().split("\n");
      assertEquals(curves.length, 3);
      assertTrue(curves[0].startsWith("epoch,loss_d,loss_g,d_real,d_fake,spread_ratio,coverage,precision"));
      assertTrue(curves[2].split(",").every((c) => c !== "" && Number.isFinite(Number(c))), curves[2]);
      // the default keeps the monitored generator with the smallest W₂ to the training rows (first on ties)
      const w2 = curves.slice(1).map((l) => Number(l.split(",")[8]));
      assertEquals([t.select, t.selected.epoch], ["w2", w2.indexOf(Math.min(...w2)) + 1]);
      assertEquals(cfg.training.selected.epoch, t.selected.epoch);

      const gfa = join(tmp, "gfa");
      await tinyClassifier(gfa, cfg.elements);
      const csv = join(tmp, "sel.csv");
      const g = await bmgJson("generate", [
        ...["--gan", gan, "--gfa-model", gfa, "--n", "60", "--target", "tl:max,trg:min", "--gfa-min", "0"],
        ...["--top", "5", "--out", csv, "--device", "cpu"],
      ]);
      assertTrue(g.compositions.length >= 1 && g.compositions.length <= 5, JSON.stringify(g).slice(0, 300));
      assertEquals(
        g.compositions.map((c: { rank: number }) => c.rank),
        g.compositions.map((_: unknown, i: number) => i + 1),
      );
      for (const c of g.compositions) {
        const p = parseFormula(c.formula);
        assertTrue(Math.abs(p.fractions.reduce((a, b) => a + b, 0) - 1) < 1e-9, c.formula);
        assertTrue(c.tg < c.tx && c.tx < c.tl && c.p_glass >= 0 && c.p_glass <= 1, JSON.stringify(c));
      }
      assertEquals((await Deno.readTextFile(csv)).trimEnd().split("\n").length, g.compositions.length + 1);
      // Same seed → same compositions.
      const again = await bmgJson("generate", ["--gan", gan, "--n", "60", "--device", "cpu"]);
      const plain = await bmgJson("generate", ["--gan", gan, "--n", "60", "--device", "cpu"]);
      assertEquals(again.compositions, plain.compositions);
      assertEquals([plain.glass_share, plain.compositions.length], [null, 60]);

      const out = join(tmp, "eval");
      const e = await bmgJson("evaluate", [
        ...["--gan", gan, "--gfa-model", gfa, "--n", "80", "--repeats", "2", "--iterations", "20"],
        ...["--out", out, "--device", "cpu"],
      ]);
      assertEquals([e.samples, e.classified, e.sinkhorn.repeats], [80, 80, 2]);
      assertTrue(
        e.glassShare >= 0 && e.glassShare <= 1 && e.sinkhorn.h >= 2,
        JSON.stringify(e).slice(0, 400),
      );
      for (const k of ["generatedVsHeldOut", "literatureHalves", "trainingVsHeldOut"]) {
        assertTrue(e.sinkhorn[k].distance > 0 && Number.isFinite(e.sinkhorn[k].divergence), k);
      }
      for (const f of ["pca_generated.svg", "pca_literature.svg"]) {
        assertTrue((await Deno.readTextFile(join(out, f))).trimEnd().endsWith("</svg>"), f);
      }
      assertEquals(JSON.parse(await Deno.readTextFile(join(out, "evaluation.json"))).samples, 80);

      // A GAN without Tg, Tx, Tl cannot select by target.
      const d1 = join(tmp, "d1");
      await bmgJson("train-gan", [
        "--epochs",
        "1",
        "--data",
        DATA_DIR!,
        "--out",
        d1,
        "--monitor-every",
        "0",
        ...tiny,
      ]);
      await assertRejectsUserError(
        () => bmg("generate", ["--gan", d1, "--target", "tl:max", "--device", "cpu"]),
        "CD1P",
      );
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

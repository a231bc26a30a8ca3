/**
 * `alloy import-keras` and `alloy predict` end to end: subprocesses on a temporary model directory imported from the
 * published weights; checks stdout JSON, CSV round trips, warnings, the one `error:` line and exit statuses.
 * Expected values: parity_fixture.csv row 0 (Al0.86 Co0.02 Cu0.06 Y0.06 at load 0.245 N → 180.1919 HV).
 */
import { join } from "../../data/paths.ts";
import { parseCsvText } from "../../data/csv.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { NO_PUBLISHED, noteSkip, publishedPaths, tempDir } from "../models/_helpers.ts";
import { alloy, assertCliError, stdoutJson } from "./_helpers.ts";
import { CONFIG_FILE } from "../../nn/models/model_dir.ts";

noteSkip("the import-keras / predict CLI tests in predict_cli_test.ts");

/** Fixture row 0: hv_pred. */
const ROW0_HV = 180.1919;

/** `alloy predict --device cpu …`. */
const predict = (...args: string[]) => alloy(["predict", "--device", "cpu", ...args]);

/** A temporary folder with a model imported by the CLI (`model`) and a copy with a conformal calibration. */
async function withModel(fn: (dirs: { tmp: string; model: string; conformal: string }) => Promise<void>) {
  const tmp = tempDir();
  try {
    const p = publishedPaths();
    const model = join(tmp, "published");
    const imp = stdoutJson(
      await alloy([
        "import-keras",
        "--weights",
        p.weights,
        "--load-scaler",
        p.loadScaler,
        "--y-scaler",
        p.yScaler,
        "--out",
        model,
        "--json",
      ]),
    );
    assertEquals(
      [imp.out, imp.elements, imp.latent_dim, imp.dropout, imp.parameters],
      [model, 56, 64, 0.11230976899293776, 257_905],
    );
    // The same model with a conformal calibration (q̂ = 1.5 at α = 0.1): config.json is not under the checksum.
    const conformal = join(tmp, "conformal");
    Deno.mkdirSync(conformal);
    for (const e of Deno.readDirSync(model)) Deno.copyFileSync(join(model, e.name), join(conformal, e.name));
    const cfg = JSON.parse(Deno.readTextFileSync(join(conformal, CONFIG_FILE)));
    cfg.conformal = { kind: "normalized", n: 99, alphas: [0.1], q: [1.5], sigmaFloor: 1e-6 };
    Deno.writeTextFileSync(join(conformal, CONFIG_FILE), JSON.stringify(cfg));
    await fn({ tmp, model, conformal });
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
}

Deno.test({
  name: "cli predict: formula mode — fixture row 0, text and --json output, MC columns, seeds",
  ignore: NO_PUBLISHED,
  async fn() {
    await withModel(async ({ model }) => {
      const one = stdoutJson(
        await predict("--model", model, "--formula", "Al86Co2Cu6Y6", "--load", "0.245", "--json"),
      );
      assertEquals(Object.keys(one), ["model", "mc", "rows"]);
      assertEquals([one.model, one.mc, one.rows.length], [model, 0, 1]);
      assertEquals(Object.keys(one.rows[0]), ["formula", "load", "hv_mean"]);
      assertEquals([one.rows[0].formula, one.rows[0].load], ["Al86Co2Cu6Y6", 0.245]);
      assertNear(one.rows[0].hv_mean, ROW0_HV, 0.01, "hv_mean");
      // the same alloy in brackets (a group's amount is the number after it) and as fractions
      const same = stdoutJson(
        await predict(
          "--model",
          model,
          "--formula",
          "(Al86Co2)88Cu6Y6",
          "--load",
          "0.245",
          "--json",
        ),
      );
      assertNear(same.rows[0].hv_mean, ROW0_HV, 0.01, "bracketed formula");
      const frac = stdoutJson(
        await predict("--model", model, "--formula", "Al0.86Co0.02Cu0.06Y0.06", "--load", ".245", "--json"),
      );
      assertNear(frac.rows[0].hv_mean, ROW0_HV, 0.01, "fractions");

      const text = await predict("--model", model, "--formula", "Al86Co2Cu6Y6", "--load", "0.245");
      assertEquals(text.code, 0, text.stderr);
      assertEquals(text.stderr, "");
      assertTrue(/Al86Co2Cu6Y6\s+0\.245\s+180\.19/.test(text.stdout), text.stdout);

      const mc = (seed: string) =>
        predict(
          "--model",
          model,
          "--formula",
          "Al86Co2Cu6Y6",
          "--load",
          "0.245",
          "--mc",
          "30",
          "--seed",
          seed,
          "--json",
        );
      const a = stdoutJson(await mc("3")), b = stdoutJson(await mc("3")), c = stdoutJson(await mc("4"));
      const r = a.rows[0];
      assertEquals(Object.keys(r), ["formula", "load", "hv_mean", "hv_std", "hv_lcb"]);
      assertEquals(a.mc, 30);
      assertTrue(r.hv_std > 0, "MC spread");
      assertNear(r.hv_lcb, r.hv_mean - 1.645 * r.hv_std, 2e-4, "hv_lcb = mean − 1.645·std");
      assertEquals(b, a); // same seed, same samples
      assertTrue(c.rows[0].hv_mean !== r.hv_mean, "another seed gives other masks");
    });
  },
});

Deno.test({
  name: "cli predict: --csv round trip (formula and element columns), conformal columns, atomic output",
  ignore: NO_PUBLISHED,
  async fn() {
    await withModel(async ({ tmp, model, conformal }) => {
      const input = join(tmp, "in.csv");
      Deno.writeTextFileSync(
        input,
        'name,formula,Load,note\nrow0,Al86Co2Cu6Y6,0.245,"a, quoted ""note"""\nglass,Zr65Cu17.5Ni10Al7.5,9.8,\n',
      );
      const out = join(tmp, "out.csv");
      const r = stdoutJson(
        await predict("--model", conformal, "--csv", input, "--out", out, "--mc", "25", "--json"),
      );
      assertEquals(r.out, out);
      assertEquals(r.rows.length, 2);
      const t = parseCsvText(Deno.readTextFileSync(out), out);
      assertEquals(t.header, [
        "name",
        "formula",
        "Load",
        "note",
        "hv_mean",
        "hv_std",
        "hv_lcb",
        "hv_lo90",
        "hv_hi90",
      ]);
      assertEquals(t.records.map((x) => x.cells.slice(0, 4)), [
        ["row0", "Al86Co2Cu6Y6", "0.245", 'a, quoted "note"'],
        ["glass", "Zr65Cu17.5Ni10Al7.5", "9.8", ""],
      ]);
      t.records.forEach((rec, i) => {
        const [mean, std, lcb, lo, hi] = rec.cells.slice(4).map(Number);
        const row = r.rows[i];
        assertEquals([row.hv_mean, row.hv_std, row.hv_lcb, row.hv_lo90, row.hv_hi90], [
          mean,
          std,
          lcb,
          lo,
          hi,
        ]);
        assertEquals([row.formula, row.row], [rec.cells[1], rec.line]);
        assertTrue(std > 0);
        assertNear(lcb, mean - 1.645 * std, 2e-4, "lcb");
        assertNear(lo, mean - 1.5 * std, 2e-4, "conformal lower");
        assertNear(hi, mean + 1.5 * std, 2e-4, "conformal upper");
      });
      assertEquals([...Deno.readDirSync(tmp)].filter((e) => e.name.endsWith(".tmp")), []);

      // element columns, deterministic; rows as in H_v_dataset.csv (fractions), output replaces an old hv_mean
      const elems = join(tmp, "elems.csv");
      Deno.writeTextFileSync(
        elems,
        "Al,Co,Cu,Y,Load,hv_mean\n0.86,0.02,0.06,0.06,0.245000009,1\n0.5,0,0.5,0,1,2\n",
      );
      const out2 = join(tmp, "out2.csv");
      const res = await predict("--model", model, "--csv", elems, "--out", out2);
      assertEquals(res.code, 0, res.stderr);
      assertTrue(res.stderr.includes("replacing its existing column(s) hv_mean"), res.stderr);
      assertTrue(res.stdout.includes(`wrote ${out2} (2 rows)`), res.stdout);
      const t2 = parseCsvText(Deno.readTextFileSync(out2), out2);
      assertEquals(t2.header, ["Al", "Co", "Cu", "Y", "Load", "hv_mean"]);
      assertNear(Number(t2.records[0].cells[5]), ROW0_HV, 0.01, "element-column row 0");
      assertEquals(t2.records[0].cells[5], "180.1919");
    });
  },
});

Deno.test({
  name: "cli predict: unknown elements and bad flags are one error line; out-of-range loads warn but predict",
  ignore: NO_PUBLISHED,
  async fn() {
    await withModel(async ({ tmp, model }) => {
      const f = (...a: string[]) => predict("--model", model, ...a);
      assertCliError(
        await f("--formula", "Al86Co2Cu6Os6", "--load", "1"),
        "Os is not in the model's element list",
      );
      assertCliError(await f("--formula", "Al86Xx14", "--load", "1"), "unknown element symbol 'Xx'");
      const bad = join(tmp, "bad.csv");
      Deno.writeTextFileSync(bad, "Al,Os,Load\n0.9,0.1,1\n");
      assertCliError(
        await f("--csv", bad, "--out", join(tmp, "o.csv")),
        "bad.csv row 2, column 'Os'",
        "element Os",
      );
      Deno.writeTextFileSync(bad, "Al,Cu,force\n0.9,0.1,1\n");
      assertCliError(await f("--csv", bad, "--out", join(tmp, "o.csv")), "no 'Load' column");
      Deno.writeTextFileSync(bad, "Al,Cu,load\n0.9,0.1,-1\n");
      assertCliError(await f("--csv", bad, "--out", join(tmp, "o.csv")), "column 'load'", "is not > 0");
      assertEquals([...Deno.readDirSync(tmp)].some((e) => e.name === "o.csv"), false);
      assertCliError(await f("--formula", "Al", "--load=-1"), "--load", "must be > 0");
      assertCliError(await f("--formula", "Al", "--load", "0"), "--load", "must be > 0");
      assertCliError(
        await f("--formula", "Al", "--load", "abc"),
        "flag --load: expected a number, got 'abc'",
      );
      assertCliError(await f("--formula", "Al"), "--formula needs --load");
      assertCliError(await f("--formula", "Al", "--load", "1", "--csv", bad), "give either --formula");
      assertCliError(await f("--csv", bad), "--csv needs --out");
      assertCliError(await f("--formula", "Al", "--load", "1", "--mc", "0"), "flag --mc");
      assertCliError(await predict("--formula", "Al", "--load", "1"), "missing required flag --model");
      assertCliError(
        await predict("--model", join(tmp, "none"), "--formula", "Al", "--load", "1"),
        "cannot open the model directory",
      );

      // extrapolation: a warning on stderr, still a prediction on stdout
      const r = await f("--formula", "Al86Co2Cu6Y6", "--load", "25", "--json");
      const o = stdoutJson(r);
      assertTrue(Number.isFinite(o.rows[0].hv_mean));
      assertEquals(
        r.stderr.trim(),
        "warning: load 25 N is outside the model's training range [0.01, 19.6] N; the prediction is an extrapolation",
      );
      const inRange = await f("--formula", "Al86Co2Cu6Y6", "--load", "19.6", "--json");
      assertEquals(inRange.stderr, "");
    });
  },
});

Deno.test({
  name: "cli import-keras: missing flags, a wrong latent size and a foreign output folder are one error line",
  ignore: NO_PUBLISHED,
  async fn() {
    const p = publishedPaths();
    const tmp = tempDir();
    try {
      const base = [
        "import-keras",
        "--weights",
        p.weights,
        "--load-scaler",
        p.loadScaler,
        "--y-scaler",
        p.yScaler,
      ];
      assertCliError(await alloy(["import-keras", "--out", tmp]), "missing required flag --weights");
      assertCliError(
        await alloy([...base, "--out", join(tmp, "m"), "--latent-dim", "16"]),
        "latent size 64",
        "latent size 16 was given",
      );
      assertCliError(await alloy([...base, "--out", join(tmp, "m"), "--dropout", "1"]), "flag --dropout");
      assertCliError(
        await alloy([...base, "--out", join(tmp, "m"), "--elements", "Fe,Ni"]),
        "2 element names",
      );
      Deno.writeTextFileSync(join(tmp, "keep.txt"), "x");
      assertCliError(await alloy([...base, "--out", tmp]), "is not a model directory");
      assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), ["keep.txt"]);
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "cli predict --attention: per-alloy gate weights as JSON and CSV (published model), bad file names",
  ignore: NO_PUBLISHED,
  async fn() {
    await withModel(async ({ tmp, model }) => {
      const jsonPath = join(tmp, "att.json"), csvPath = join(tmp, "att.csv");
      const args = ["--model", model, "--formula", "Al86Co2Cu6Y6", "--load", "0.245"];
      const r = stdoutJson(await predict(...args, "--attention", jsonPath, "--json"));
      assertEquals(r.attention, jsonPath);
      assertNear(r.rows[0].hv_mean, ROW0_HV, 0.01, "hv_mean unchanged");
      const maps = JSON.parse(Deno.readTextFileSync(jsonPath));
      assertEquals([maps.arch, maps.labels, maps.alloys.length], ["reference", ["Al86Co2Cu6Y6"], 1]);
      const a = maps.alloys[0];
      assertEquals([a.weightKind, [...a.elements].sort()], ["gate", ["Al", "Co", "Cu", "Y"]]);
      assertNear(a.fractions[a.elements.indexOf("Al")], 0.86, 1e-6, "Al fraction");
      // The published gate is close to uniform over 56 inputs (reference §2): each weight near 1/56.
      for (const w of a.weights) assertTrue(w > 0.25 / 56 && w < 4 / 56, `gate ${w}`);
      assertEquals((await predict(...args, "--attention", csvPath)).code, 0);
      const csv = parseCsvText(Deno.readTextFileSync(csvPath), csvPath);
      assertEquals(csv.records.length, 4);
      csv.records.forEach((rec, i) => assertNear(Number(rec.cells[9]), a.weights[i], 1e-6, "CSV = JSON"));
      assertCliError(
        await predict(...args, "--attention", join(tmp, "att.txt")),
        "flag --attention",
        ".csv or .json",
      );
    });
  },
});

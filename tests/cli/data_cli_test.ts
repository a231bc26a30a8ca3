/**
 * `alloy data` end to end: runs `deno run -A cli/main.ts data …` as a subprocess and checks stdout JSON, the one
 * `error:` line on stderr, and the exit status.
 */
import { fromFileUrl, join } from "../../data/paths.ts";
import {
  assertEquals,
  assertTrue,
  DATA_DIR,
  NO_DATA,
  noteSkip,
  tempDir,
  writeTemp,
} from "../data/_helpers.ts";

noteSkip("the CLI checks on the public dataset in data_cli_test.ts");

const ROOT = fromFileUrl(new URL("../../", import.meta.url));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `alloy data <args>` with the given environment changes (undefined = unset). */
async function alloy(args: string[], env: Record<string, string | undefined> = {}): Promise<Result> {
  const full: Record<string, string> = Deno.env.toObject();
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", "data", ...args],
    cwd: ROOT,
    env: full,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Asserts a failure: non-zero status, nothing on stdout, exactly one `error:` line containing every part. */
function assertError(r: Result, ...parts: string[]) {
  assertTrue(r.code !== 0, `expected failure, got status 0: ${r.stdout}`);
  const lines = r.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `one stderr line: ${r.stderr}`);
  assertTrue(lines[0].startsWith("error: "), r.stderr);
  assertTrue(!/\bat .*\.ts:\d+/.test(r.stderr), `no stack trace: ${r.stderr}`);
  for (const p of parts) assertTrue(lines[0].includes(p), `${JSON.stringify(lines[0])} should contain ${p}`);
  assertEquals(r.stdout, "");
}

function json(r: Result) {
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assertEquals(lines.length, 1, "stdout is one JSON object");
  return JSON.parse(lines[0]);
}

Deno.test("cli data: --formula prints the canonical formula and fractions", async () => {
  const r = await alloy(["--formula", "Zr65Cu17.5Ni10Al7.5", "--json"]);
  assertEquals(json(r), {
    formula: "Zr65Cu17.5Ni10Al7.5",
    fractions: { Zr: 0.65, Cu: 0.175, Ni: 0.1, Al: 0.075 },
  });
  assertEquals(r.stderr, "");
  const p = json(await alloy(["--formula", "(Fe0.5Co0.5)80B20", "--json", "--precision", "1"]));
  assertEquals(p, { formula: "Co40Fe40B20", fractions: { Co: 0.4, Fe: 0.4, B: 0.2 } });
  const text = await alloy(["--formula", "FeCoNi"]);
  assertEquals(text.stdout.split("\n")[0], "Co33.34Fe33.33Ni33.33");
});

Deno.test("cli data: formula and flag errors are one error: line with a non-zero status", async () => {
  assertError(await alloy(["--formula", "Fe40Xx60", "--json"]), "unknown element symbol 'Xx'");
  assertError(
    await alloy(["--formula", "Os10Fe90", "--elements", "Fe,Ni"]),
    "Os is not in the model's element list (Fe, Ni)",
  );
  assertError(await alloy(["--formula", "Fe", "--precision", "x"]), "--precision");
  assertError(await alloy(["--nonsense"]), "nonsense");
  assertError(await alloy(["--formula", "Fe", "--weights"]), "choose one of --formula, --weights");
});

Deno.test("cli data: --table validates any composition CSV, naming file, row and column", async () => {
  const dir = tempDir();
  try {
    const bad = writeTemp(dir, "bad.csv", "Fe,Ni,HV\n0.5,0.5,100\n0.5,zz,200\n");
    assertError(
      await alloy(["--table", bad, "--json"]),
      "bad.csv row 3, column 'Ni'",
      "'zz' is not a number",
    );
    const far = writeTemp(dir, "far.csv", "Fe,Ni\n0.5,0.5\n0.7,0.5\n");
    assertError(await alloy(["--table", far]), "far.csv row 3", "sum to 1.2");
    assertError(await alloy(["--table", join(dir, "none.csv")]), "none.csv: no such file");
    const extra = writeTemp(dir, "extra.csv", "Fe,Ni,Foo\n0.5,0.5,1\n");
    assertError(await alloy(["--table", extra]), "extra.csv row 1, column 'Foo': unknown column", "--ignore");
    assertEquals(json(await alloy(["--table", extra, "--ignore", "Foo", "--json"])).rows, 1);
    const pct = writeTemp(dir, "pct.csv", "\uFEFFB,Fe,Nb,Tg\r\n68,8,24,900\r\n62,14,24,910\r\n");
    const r = await alloy(["--table", pct, "--property", "Tg", "--json"]);
    const out = json(r);
    assertEquals([out.rows, out.units, out.element_columns, out.properties], [
      2,
      "percent",
      ["B", "Fe", "Nb"],
      ["Tg"],
    ]);
    assertTrue(r.stderr.startsWith("notice: ") && r.stderr.includes("at.%"), r.stderr);
    const g = writeTemp(dir, "g.csv", "Fe,Ni,Tg\n0.5,0.5,\n0.5,0.5,3\n");
    assertError(await alloy(["--table", g, "--property", "Tg"]), "g.csv row 2, column 'Tg'", "missing value");
    assertEquals(
      json(await alloy(["--table", g, "--property", "Tg", "--missing", "drop", "--json"])).rows,
      1,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("cli data: without the dataset, the error says how to supply it", async () => {
  const cache = tempDir();
  try {
    const env = { ALLOY_DATA_DIR: undefined, ALLOY_CACHE_DIR: cache, ALLOY_OFFLINE: "1" };
    assertError(
      await alloy(["--summary", "--json"], env),
      "H_v_dataset.csv not found",
      "--data PATH",
      "ALLOY_DATA_DIR",
    );
    assertError(await alloy(["--data", join(cache, "missing.csv")], env), "--data", "no such file or folder");
    assertError(
      await alloy([], { ALLOY_DATA_DIR: cache }),
      `ALLOY_DATA_DIR=${cache}`,
      "has no H_v_dataset.csv",
    );
  } finally {
    Deno.removeSync(cache, { recursive: true });
  }
});

Deno.test({
  name: "cli data: --summary --json on the public dataset",
  ignore: NO_DATA,
  async fn() {
    const s = json(await alloy(["--summary", "--json"], { ALLOY_DATA_DIR: DATA_DIR }));
    assertEquals([s.rows, s.element_columns.length, s.elements_present.length, s.families], [
      673,
      56,
      47,
      146,
    ]);
    assertEquals(s.loads.length, 17);
    assertEquals([s.hv.min, Math.round(s.hv.max)], [84.9, 2290]);
    assertEquals([Math.round(s.hv.mean * 10) / 10, Math.round(s.hv.std * 10) / 10], [1105.4, 564.5]);
    // --data wins over ALLOY_DATA_DIR; the text summary is readable
    const t = await alloy(["--data", join(DATA_DIR!, "H_v_dataset.csv")], { ALLOY_DATA_DIR: "/nowhere" });
    assertEquals(t.code, 0, t.stderr);
    assertTrue(t.stdout.includes("rows: 673") && t.stdout.includes("families: 146"), t.stdout);
  },
});

Deno.test({
  name: "cli data: --split and --weights on the public dataset",
  ignore: NO_DATA,
  async fn() {
    const env = { ALLOY_DATA_DIR: DATA_DIR };
    const dir = tempDir();
    try {
      const out = join(dir, "splits.json");
      const r = json(await alloy(["--split", "reference", "--json", "--out", out], env));
      assertEquals([r.train, r.calibration, r.test], [430, 108, 135]);
      const rec = JSON.parse(Deno.readTextFileSync(out));
      assertEquals([rec.n_rows, rec.sets.train.length, rec.data_sha256.slice(0, 8)], [673, 430, "9e78a8d1"]);
      const h = json(await alloy(["--split", "holdout", "--json"], env));
      assertEquals([h.train, h.test, h.early_stopping_val], [538, 135, 108]);
      assertEquals(json(await alloy(["--split", "kfold5", "--json"], env)).folds, [135, 135, 135, 134, 134]);
      assertError(await alloy(["--split", "bogus"], env), "--split", "bogus");
      assertError(await alloy(["--split", "holdout", "--splits-file", join(dir, "no.json")], env), "no.json");
      const w = json(await alloy(["--weights", "--weight-mode", "reference", "--json"], env));
      assertEquals([w.rows, Math.round(w.mean * 1000) / 1000, w.min, Math.round(w.max * 1000) / 1000], [
        673,
        1.072,
        0.25,
        2.949,
      ]);
      const f = json(await alloy(["--weights", "--split", "reference", "--json"], env));
      assertEquals([f.rows, f.mean], [430, 1]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

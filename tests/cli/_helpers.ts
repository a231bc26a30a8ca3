/**
 * Shared helpers of the end-to-end CLI tests: run `alloy` as a subprocess and check its two kinds of outcome (one
 * JSON object on stdout, or one `error:` line on stderr).
 */
import { fromFileUrl } from "../../data/paths.ts";
import { assertEquals, assertTrue } from "../data/_helpers.ts";
import { join } from "../../data/paths.ts";
import { Rng } from "../../nn/random.ts";

/** The repository root (the subprocess's working directory). */
const ROOT = fromFileUrl(new URL("../../", import.meta.url));

/** What a CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A cli/main.ts <args>` in the repository root and collects its status and output. */
export async function alloy(args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: "/tmp" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Parses stdout as exactly one JSON object, after asserting status 0. */
export function stdoutJson(r: CliResult) {
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assertEquals(lines.length, 1, `stdout is one JSON object: ${r.stdout}`);
  return JSON.parse(lines[0]);
}

/** Asserts a failure: status 2, nothing on stdout, exactly one `error:` line containing every part. */
export function assertCliError(r: CliResult, ...parts: string[]) {
  assertEquals(r.code, 2, `expected status 2: ${r.stdout} ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `one stderr line: ${r.stderr}`);
  assertTrue(lines[0].startsWith("error: "), r.stderr);
  for (const p of parts) assertTrue(lines[0].includes(p), `${JSON.stringify(lines[0])} should contain ${p}`);
  assertEquals(r.stdout, "");
}

/** Elements of the synthetic hardness dataset of {@link withSyntheticHardness}. */
export const SYNTHETIC_ELEMENTS = ["Fe", "Ni", "B", "Si"];
/** Rows of the synthetic hardness dataset. */
export const SYNTHETIC_ROWS = 40;

/** Paths of the synthetic dataset: its temp folder, the CSV, the split file and the split file's 5 folds. */
export interface SyntheticData {
  tmp: string;
  csv: string;
  splits: string;
  folds: number[][];
}

/**
 * Runs `fn` with a temp folder holding a 40-row hardness CSV (HV linear in composition and load, plus noise; no
 * real data needed) and a split file (holdout + 5 folds); removes the folder afterwards.
 */
export async function withSyntheticHardness(name: string, fn: (p: SyntheticData) => Promise<void>) {
  const tmp = await Deno.makeTempDir({ prefix: `alloy_${name}_cli_test_` });
  try {
    const rng = new Rng(11, 1);
    const E = SYNTHETIC_ELEMENTS, N = SYNTHETIC_ROWS;
    const lines = [[...E, "Load", "HV"].join(",")];
    for (let i = 0; i < N; i++) {
      const raw = E.map(() => 0.05 + rng.uniform());
      const s = raw.reduce((a, b) => a + b, 0);
      const f = raw.map((v) => +(v / s).toFixed(6));
      const load = +(0.1 + 9.9 * rng.uniform()).toFixed(3);
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

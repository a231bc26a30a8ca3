/**
 * A self-contained report setup: a 40-row hardness CSV over six elements, model directories written by the real
 * `alloy train` command (reference and attention architectures, a few epochs — the exact artifacts `deno task train`
 * writes) and a candidates CSV in the `alloy design` format. No real data or published weights are needed.
 */
import { join } from "../../data/paths.ts";
import { Rng } from "../../nn/random.ts";
import { main } from "../../cli/main.ts";

/** The fixture's elements (CSV columns and model inputs, in this order). */
export const ELEMENTS = ["Fe", "Ni", "Co", "Cr", "B", "Si"];
export const N_ROWS = 40;

/** Paths of the fixture. */
export interface ReportFixture {
  tmp: string;
  csv: string;
  /** `alloy train --arch reference` output (curves, gate log, predictions, metrics, splits). */
  reference: string;
  /** `alloy train --arch attention` output with every optional artifact removed (as an imported model). */
  bare: string;
  candidates: string;
}

/** The 40 rows: 2–4 elements each, loads 0.5/1/2 N, HV linear in B and Cr plus noise. */
function csvText(): string {
  const rng = new Rng(21, 4);
  const E = ELEMENTS.length;
  const lines = [[...ELEMENTS, "Load", "HV"].join(",")];
  for (let i = 0; i < N_ROWS; i++) {
    const present = rng.shuffle([0, 1, 2, 3, 4, 5]).slice(0, 2 + rng.int(3));
    const raw = new Float64Array(E);
    for (const j of present) raw[j] = 0.1 + rng.uniform();
    const s = raw.reduce((a, b) => a + b, 0);
    const comp = Array.from(raw, (v) => Math.round((v / s) * 1000) / 1000);
    comp[present[0]] = Math.round((comp[present[0]] + 1 - comp.reduce((a, b) => a + b, 0)) * 1000) / 1000;
    const load = [0.5, 1, 2][i % 3];
    const hv = 400 + 900 * comp[4] + 500 * comp[3] + 30 * load + 20 * rng.normal();
    lines.push([...comp, load, hv.toFixed(2)].join(","));
  }
  return lines.join("\n") + "\n";
}

/** Runs the CLI with stdout silenced; throws on a non-zero exit. */
export async function runQuiet(argv: string[]): Promise<string[]> {
  const out: string[] = [];
  const log = console.log, err = console.error;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(" "));
  console.error = () => {};
  try {
    const code = await main(argv);
    if (code !== 0) throw new Error(`alloy ${argv[0]} exited with ${code}`);
  } finally {
    console.log = log;
    console.error = err;
  }
  return out;
}

/** Writes the fixture into a fresh temporary folder, runs `fn`, and removes the folder. */
export async function withReportFixture(fn: (f: ReportFixture) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "alloy_report_test_" });
  try {
    const csv = join(tmp, "hv.csv");
    await Deno.writeTextFile(csv, csvText());
    const reference = join(tmp, "reference"), bare = join(tmp, "attention");
    const common = ["--device", "cpu", "--data", csv, "--latent-dim", "4", "--mc", "4", "-q"];
    await runQuiet(["train", ...common, "--epochs", "6", "--out", reference]);
    await runQuiet([
      "train",
      ...common,
      "--arch",
      "attention",
      "--d-model",
      "8",
      "--heads",
      "2",
      "--layers",
      "1",
      "--tokens",
      "4",
      "--epochs",
      "3",
      "--out",
      bare,
    ]);
    for (
      const f of [
        "curves.csv",
        "gate_curves.csv",
        "kl_dims.csv",
        "predictions.csv",
        "metrics.json",
        "splits.json",
      ]
    ) {
      await Deno.remove(join(bare, f)).catch(() => {});
    }
    const candidates = join(tmp, "candidates.csv");
    await Deno.writeTextFile(
      candidates,
      "formula,load,hv_mean,hv_lcb,novelty,method\n" +
        "Fe70B30,1,1200.5,1100.2,0.12,ga\n" +
        "Ni50Cr30Si20,2,900,850,0.3,ga\n" +
        "Co40Fe40B20,0.5,1100,1000,0.2,bo\n",
    );
    await fn({ tmp, csv, reference, bare, candidates });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

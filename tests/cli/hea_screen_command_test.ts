/**
 * `alloy hea screen` in process (the `hea` group registers it): a model directory written by saveHeaModelDir, the
 * JSON contract (one object on stdout; counts from the closed form; hits best first, p ≥ --min-p, re-scored by an
 * independent host forward; formulas in at.%), the CSV written atomically, and bad flags as one-line errors that
 * write nothing; the applicability domain (on the real dataset) against a brute-force nearest-neighbour search, and
 * its absence (a notice, or an error with --in-domain) when the directory records no training protocol.
 */
import { assertClose, cpu } from "../_helpers.ts";
import { assertEquals, assertRejectsUserError, assertTrue, tempDir } from "../data/_helpers.ts";
import { heaModelFixture, hostProbability } from "../design/_hea_model_fixture.ts";
import { heaScreenCommand } from "../../cli/hea_screen_command.ts";
import { parseFlags } from "../../cli/args.ts";
import { saveHeaModelDir } from "../../nn/models/hea_model_dir.ts";
import { HEA_TOP30 } from "../../data/hea_dataset.ts";
import { physicalTables } from "../../data/hea_tables.ts";
import { heaDescriptorsHost } from "../../data/hea_descriptors.ts";
import { binomial } from "../../design/hea_screening.ts";
import { parseFormula } from "../../data/formula.ts";
import { readCsvFile } from "../../data/csv.ts";
import { join } from "../../data/paths.ts";
import { loadHeaDataset } from "../../data/hea_dataset.ts";
import { paperSplit } from "../../data/hea_splits.ts";

// Only ALLOY_DATA_DIR (never the cache or a download) enables the real-data test.
const DATA_DIR = Deno.env.get("ALLOY_DATA_DIR");
const HAS_HEA_DATA = !!DATA_DIR && await Deno.stat(join(DATA_DIR, "hea", "hea_split_membership.csv")).then(
  () => true,
  () => false,
);

/** Runs the command with `argv`, capturing console.log (stdout) lines. */
async function run(argv: string[]): Promise<{ code: number; stdout: string[] }> {
  const { flags, positionals } = parseFlags(heaScreenCommand, argv);
  const lines: string[] = [], log = console.log, err = console.error;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  console.error = () => {};
  try {
    return { code: await heaScreenCommand.run(flags, positionals), stdout: lines };
  } finally {
    console.log = log, console.error = err;
  }
}

Deno.test("hea screen: JSON contract, host re-scoring of the hits, and the CSV", async () => {
  const d = tempDir();
  try {
    const f = await heaModelFixture(cpu, 2, false, 21);
    const dir = join(d, "model");
    await saveHeaModelDir(dir, f.model, { elements: HEA_TOP30, tables: "physical", scalers: f.scalers });
    const out = join(d, "hits.csv");
    const els = "Fe,Ni,Cr,Co,Al,Cu";
    const r = await run([
      "--model",
      dir,
      "--elements",
      els,
      "--step",
      "10",
      "--min-elements",
      "3",
      "--max-elements",
      "4",
      "--min-p",
      "0.3",
      "--top",
      "7",
      "--batch",
      "500",
      "--data",
      d, // no dataset there: no domain check (a notice), and no cache lookup or download
      "--out",
      out,
      "--json",
      "--device",
      "cpu",
    ]);
    assertEquals(r.code, 0);
    assertEquals(r.stdout.length, 1, "exactly one JSON object on stdout");
    const j = JSON.parse(r.stdout[0]);
    // C(6,3)·C(9,2) + C(6,4)·C(9,3)
    assertEquals(j.evaluated, binomial(6, 3) * binomial(9, 2) + binomial(6, 4) * binomial(9, 3));
    assertEquals([j.members, j.tables, j.n_elements, j.step_at_pct, j.min_p], [
      2,
      "physical",
      [3, 4],
      10,
      0.3,
    ]);
    assertTrue(j.above_min_p >= j.hits.length && j.hits.length > 0 && j.hits.length <= 7, JSON.stringify(j));
    assertTrue(j.compositions_per_s > 0);
    const t = physicalTables();
    let prev = Infinity;
    for (const h of j.hits) {
      assertTrue(h.p >= 0.3 && h.p <= prev, `${h.formula}: ${h.p}`);
      prev = h.p;
      const parsed = parseFormula(h.formula);
      const x = new Float64Array(30);
      parsed.elements.forEach((e, i) => x[HEA_TOP30.indexOf(e)] = parsed.fractions[i]);
      assertTrue(parsed.elements.length >= 3 && parsed.elements.length <= 4);
      assertTrue(parsed.elements.every((e) => els.split(",").includes(e)));
      assertTrue(
        parsed.fractions.every((v) => Math.abs(v * 10 - Math.round(v * 10)) < 1e-9),
        "on the 10 at.% grid",
      );
      parsed.elements.forEach((e, i) =>
        assertClose([h.composition[e]], [100 * parsed.fractions[i]], { atol: 1e-6, rtol: 0, msg: h.formula })
      );
      assertEquals(Object.keys(h.composition).length, parsed.elements.length);
      assertClose([h.p], [hostProbability(f, heaDescriptorsHost(x, t), null)], {
        atol: 2e-6,
        rtol: 0,
        msg: h.formula,
      });
    }
    const csv = await readCsvFile(out);
    assertEquals(csv.header.slice(0, 3), ["rank", "formula", "p_single_phase"]);
    assertEquals(csv.header.length, 3 + 30 + 8);
    assertEquals(j.domain, null);
    assertEquals(csv.records.map((x) => x.cells[1]), j.hits.map((h: { formula: string }) => h.formula));
    f.model.dispose();
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("hea screen: bad flags are one-line errors naming the flag, and nothing is written", async () => {
  const d = tempDir();
  try {
    const f = await heaModelFixture(cpu, 1, false);
    const dir = join(d, "model");
    await saveHeaModelDir(dir, f.model, { elements: HEA_TOP30, tables: "physical", scalers: f.scalers });
    f.model.dispose();
    const out = join(d, "x.csv");
    const base = ["--model", dir, "--device", "cpu", "--out", out, "--json"];
    const cases: [string[], string[]][] = [
      [["--elements", "Fe,Xe,Ni"], ["--elements", "'Xe'"]],
      [["--elements", "Fe,Ni,Fe"], ["--elements", "repeated"]],
      [["--elements", "Fe,Ni,Co", "--step", "7"], ["--step", "whole"]],
      [["--elements", "Fe,Ni,Co", "--min-elements", "4"], ["--min-elements", "3 elements"]],
      [["--elements", "Fe,Ni,Co", "--min-p", "1.5"], ["--min-p"]],
      [["--elements", "Fe,Ni,Co", "--range", "delta:3"], ["--range", "NAME:LO:HI"]],
      [["--elements", "Fe,Ni,Co", "--range", "foo:0:1"], ["--range", "'foo'"]],
      [["--elements", "Fe,Ni,Co", "--max-fraction", "33"], ["--max-fraction", "multiple"]],
    ];
    for (const [extra, parts] of cases) {
      await assertRejectsUserError(() => run([...base, ...extra]), ...parts);
    }
    await assertRejectsUserError(() => run(["--elements", "Fe,Ni", "--device", "cpu"]), "--model");
    await assertRejectsUserError(
      () => run(["--model", join(d, "none"), "--elements", "Fe,Ni", "--device", "cpu"]),
      "none",
    );
    assertTrue(!(await Deno.stat(out).then(() => true, () => false)), "no half-written output");
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test({
  name:
    "hea screen: applicability domain = brute-force nearest training alloy; --in-domain keeps only inside hits",
  ignore: !HAS_HEA_DATA,
  async fn() {
    const d = tempDir();
    try {
      const f = await heaModelFixture(cpu, 2, false, 21);
      const dir = join(d, "model"), bare = join(d, "bare");
      const protocol = { splits: "paper", member_seeds: [0, 1], labelled: null, semi_supervised: true };
      await saveHeaModelDir(dir, f.model, {
        elements: HEA_TOP30,
        tables: "physical",
        scalers: f.scalers,
        options: { protocol },
      });
      await saveHeaModelDir(bare, f.model, { elements: HEA_TOP30, tables: "physical", scalers: f.scalers });
      f.model.dispose();
      const args = [
        "--elements",
        "Fe,Ni,Cr,Co,W,Re",
        "--step",
        "10",
        "--top",
        "40",
        "--min-p",
        "0",
        "--json",
      ];
      const j = JSON.parse((await run(["--model", dir, ...args, "--device", "cpu"])).stdout[0]);
      // independent reference: the paper split's labelled + unlabelled alloys, standardised by their own moments
      const ds = await loadHeaDataset(), split = paperSplit(ds);
      const rows = [...split.labelled, ...split.unlabelled];
      const t = physicalTables();
      const desc = rows.map((r) => heaDescriptorsHost(ds.comp.subarray(r * 30, r * 30 + 30), t));
      const mean = Array.from({ length: 8 }, (_, k) => desc.reduce((a, x) => a + x[k], 0) / rows.length);
      const sd = mean.map((m, k) => Math.sqrt(desc.reduce((a, x) => a + (x[k] - m) ** 2, 0) / rows.length));
      const dist = (a: ArrayLike<number>, b: ArrayLike<number>) =>
        Math.sqrt(
          Array.from({ length: 8 }, (_, k) => ((a[k] - b[k]) / sd[k]) ** 2).reduce((p, q) => p + q, 0),
        );
      assertEquals([j.domain.training_alloys, j.domain.quantile, j.domain.filter], [
        rows.length,
        0.95,
        false,
      ]);
      assertEquals(rows.length, 864 + 296);
      let outside = 0;
      for (const h of j.hits) {
        const parsed = parseFormula(h.formula);
        const x = new Float64Array(30);
        parsed.elements.forEach((e, i) => x[HEA_TOP30.indexOf(e)] = parsed.fractions[i]);
        const q = heaDescriptorsHost(x, t);
        const best = Math.min(...desc.map((r) => dist(q, r)));
        assertClose([h.domain.distance], [best], { rtol: 1e-5, atol: 1e-9, msg: h.formula });
        assertEquals(h.domain.in_domain, h.domain.distance <= j.domain.threshold, h.formula);
        outside += h.domain.in_domain ? 0 : 1;
      }
      assertEquals(j.domain.outside_among_hits, outside);
      assertTrue(outside > 0, "W/Re-rich compositions lie outside the paper's alloys");
      const k = JSON.parse(
        (await run(["--model", dir, ...args, "--in-domain", "--device", "cpu"])).stdout[0],
      );
      assertTrue(
        k.hits.length === 40 && k.hits.every((h: { domain: { in_domain: boolean } }) => h.domain.in_domain),
      );
      assertTrue(k.domain.filter && k.domain.rejected >= outside, JSON.stringify(k.domain));
      // no protocol recorded: no domain (a notice), and --in-domain is an error naming the directory
      const b = JSON.parse((await run(["--model", bare, ...args, "--device", "cpu"])).stdout[0]);
      assertEquals([b.domain, b.hits[0].domain], [null, null]);
      await assertRejectsUserError(
        () => run(["--model", bare, ...args, "--in-domain", "--device", "cpu"]),
        "bare/config.json",
        "protocol",
      );
    } finally {
      Deno.removeSync(d, { recursive: true });
    }
  },
});

/**
 * `alloy report` end to end on model directories written by `alloy train` in the test (reference architecture with
 * every training artifact; attention architecture with none, as an imported model): every section is there, the page
 * parses strictly as XML, has no external resource or script, the figures of each section are real SVG (or a
 * placeholder saying what is missing), the numbers behind the figures pass their own checks (IG completeness, SHAP
 * efficiency), and bad input fails with a one-line error naming the file. A subsample run is deterministic.
 */
import { assertEquals, assertRejectsUserError, assertTrue } from "../data/_helpers.ts";
import { cpu } from "../_helpers.ts";
import { join } from "../../data/paths.ts";
import { buildReport } from "../../report/build_report.ts";
import { externalReferences } from "../../report/html.ts";
import { meanWhenPresent } from "../../report/sections/attention_section.ts";
import { nearestRow } from "../../report/sections/candidates_section.ts";
import { sampleRows } from "../../report/row_sample.ts";
import { all, byName, parseHtmlAsXml, textOf, type XmlElement } from "../plot/_xml.ts";
import { runQuiet, withReportFixture } from "./_report_fixture.ts";

/** Small sizes: the test is about structure, not statistics. */
const SIZES = {
  mc: 4,
  igRows: 6,
  igSteps: 32,
  shapRows: 6,
  shapBackground: 4,
  shapSamples: 32,
  tsneRows: 30,
  tsneIterations: 120,
  kmeansMaxK: 4,
};

const EVERY_SECTION = [
  "dataset",
  "model",
  "training",
  "parity",
  "calibration",
  "attention",
  "ig",
  "shap",
  "latent",
  "candidates",
];

function sectionEl(root: XmlElement, id: string): XmlElement {
  const s = all(root, (e) => e.name === "section" && e.attrs.id === `section-${id}`);
  assertEquals(s.length, 1, `one section ${id}`);
  return s[0];
}

/** Structural checks every report must pass; returns the parsed page. */
function checkPage(html: string): XmlElement {
  assertEquals(externalReferences(html), [], "no external reference");
  assertTrue(!/<script|<link|<img|<iframe/i.test(html), "no script, link, img or iframe");
  const root = parseHtmlAsXml(html);
  assertEquals(root.name, "html");
  for (const fig of all(root, (e) => e.name === "figure")) {
    const svg = byName(fig, "svg");
    const missing = fig.attrs.class?.includes("missing");
    assertTrue(
      missing ? svg.length === 0 : svg.length === 1,
      `figure ${fig.attrs.id}: one svg or a placeholder`,
    );
    if (!missing) {
      assertTrue(
        Number(svg[0].attrs.width) > 0 && Number(svg[0].attrs.height) > 0,
        `${fig.attrs.id} has a size`,
      );
      assertTrue(all(svg[0], () => true).length > 10, `${fig.attrs.id} draws something`);
    }
  }
  const ids = all(root, (e) => e.attrs.id !== undefined).map((e) => e.attrs.id);
  assertEquals(new Set(ids).size, ids.length, "element ids are unique across the page");
  const toc = all(root, (e) => e.name === "nav")[0];
  for (const a of byName(toc, "a")) {
    assertTrue(ids.includes(a.attrs.href.slice(1)), `table-of-contents link ${a.attrs.href} has a target`);
  }
  return root;
}

Deno.test({
  name: "report: reference model with training artifacts and candidates has every section and figure",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withReportFixture(async (f) => {
      const r = await buildReport(cpu, {
        modelDir: f.reference,
        dataPath: f.csv,
        candidatesPath: f.candidates,
        sizes: SIZES,
      });
      assertEquals(r.failed, [], "no section failed");
      assertEquals(r.sections, EVERY_SECTION);
      assertEquals(r.missing, [], "every figure drawn");
      for (
        const fig of [
          "hv-histogram",
          "load-vs-hv",
          "loss-curves",
          "beta-curve",
          "kl-curve",
          "parity",
          "pit-histogram",
          "coverage",
          "sharpness",
          "attention-elements",
          "gate-epochs",
          "ig-global",
          "shap-global",
          "shap-clusters",
          "latent-pca",
          "kmeans-elbow",
          "gmm-density",
          "latent-tsne",
          "latent-correlations",
          "latent-importance",
          "latent-traversal",
          "candidate-ranking",
        ]
      ) assertTrue(r.figures.includes(fig), `figure ${fig}`);
      const root = checkPage(r.html);
      // Parity uses the held-out rows of predictions.csv.
      assertEquals(r.numbers.parity.held_out, true);
      const heldOut =
        (await Deno.readTextFile(join(f.reference, "predictions.csv"))).trim().split("\n").length - 1;
      assertEquals(r.numbers.parity.rows, heldOut);
      // IG completeness and SHAP efficiency, as the sections report them.
      const ig = r.numbers.ig as { max_completeness_gap: number; baseline_hv: number };
      assertTrue(
        ig.max_completeness_gap < 0.05 * Math.abs(ig.baseline_hv),
        `IG gap ${ig.max_completeness_gap}`,
      );
      assertTrue((r.numbers.shap.max_efficiency_gap as number) < 1e-6, "SHAP values sum to f(x) − E f");
      // Candidate overlay and table.
      const latent = textOf(sectionEl(root, "latent"));
      assertTrue(latent.includes("designed candidates"), "candidates overlaid on the latent maps");
      const table = all(root, (e) => e.name === "table" && e.attrs.id === "candidate-table")[0];
      const rows = byName(byName(table, "tbody")[0], "tr");
      assertEquals(rows.length, 3);
      assertEquals(textOf(byName(rows[1], "td")[1]), "Ni50Cr30Si20");
      // The design run's columns under readable headers, numbers rounded and right-aligned.
      const heads = byName(byName(table, "thead")[0], "th").map(textOf);
      const col = (h: string) => byName(rows[1], "td")[heads.indexOf(h)];
      assertEquals(textOf(col("design HV")), "900.0");
      assertEquals(col("design HV").attrs.class, "num");
      assertEquals(textOf(col("novelty")), "0.300");
      assertEquals(textOf(col("method")), "ga");
      // Each figure is as wide as its drawing (the flex row must not collapse it to the caption's width).
      for (const fig of all(root, (e) => e.name === "figure" && !e.attrs.class.includes("missing"))) {
        assertEquals(
          fig.attrs.style,
          `width:${byName(fig, "svg")[0].attrs.width}px`,
          `${fig.attrs.id} width`,
        );
      }
      // The model section lists the architecture; training shows the real epochs.
      assertTrue(textOf(sectionEl(root, "model")).includes("reference"));
      assertEquals(r.numbers.training.epochs, 6);
    });
  },
});

Deno.test({
  name:
    "report: attention model without artifacts says what is missing; CLI writes the file and one JSON object",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withReportFixture(async (f) => {
      const out = join(f.tmp, "sub", "report.html");
      const stdout = await runQuiet([
        "report",
        "--device",
        "cpu",
        "--model",
        f.bare,
        "--data",
        f.csv,
        "--out",
        out,
        "--json",
        "--mc",
        "3",
        "--ig-rows",
        "4",
        "--ig-steps",
        "16",
        "--shap-rows",
        "4",
        "--shap-background",
        "3",
        "--shap-samples",
        "16",
        "--tsne-rows",
        "25",
        "--tsne-iterations",
        "60",
        "--max-rows",
        "30",
      ]);
      assertEquals(stdout.length, 1, "exactly one line on stdout");
      const j = JSON.parse(stdout[0]);
      assertEquals(j.out, out);
      assertEquals(j.rows, { used: 30, total: 40 });
      assertEquals(j.failed, []);
      const ig = j.numbers.ig as { max_relative_gap: number; warning?: string };
      assertEquals(
        typeof ig.warning === "string",
        ig.max_relative_gap > 0.05,
        "IG warns exactly when it misses",
      );
      if (ig.warning) assertTrue(ig.warning.includes("token"), "and names the attention tokens as the cause");
      assertEquals(j.sections, EVERY_SECTION.filter((s) => s !== "candidates"));
      assertEquals(
        j.missing.sort(),
        ["gate-epochs", "loss-curves"],
        "only the training-log figures are missing",
      );
      const html = await Deno.readTextFile(out);
      assertEquals(new TextEncoder().encode(html).length, j.bytes);
      const root = checkPage(html);
      assertTrue(
        textOf(sectionEl(root, "training")).includes("no training log"),
        "training says what is missing",
      );
      assertTrue(textOf(sectionEl(root, "parity")).includes("IN-SAMPLE"), "parity labelled in-sample");
      const att = sectionEl(root, "attention");
      assertTrue(textOf(att).includes("VibannAttention.inspect"));
      assertTrue(
        all(att, (e) => e.name === "figure" && e.attrs.id === "fig-attention-head-l1-h1").length === 1 &&
          all(att, (e) => e.name === "figure" && e.attrs.id === "fig-attention-head-l1-h2").length === 1,
        "one head map per layer and head",
      );
      const written: string[] = [];
      for await (const e of Deno.readDir(join(f.tmp, "sub"))) written.push(e.name);
      assertEquals(written, ["report.html"], "the page and no temporary file");

      // Deterministic: the same flags give the same page (up to the timings-free content).
      const again = await buildReport(cpu, {
        modelDir: f.bare,
        dataPath: f.csv,
        maxRows: 30,
        sizes: {
          mc: 3,
          igRows: 4,
          igSteps: 16,
          shapRows: 4,
          shapBackground: 3,
          shapSamples: 16,
          tsneRows: 25,
          tsneIterations: 60,
        },
      });
      assertEquals(again.html, html, "same seed and sizes → the same page");

      // Bad input: one-line errors naming the file or flag.
      const bad = join(f.tmp, "bad.csv");
      await Deno.writeTextFile(bad, "formula,hv_mean\nFe70B30,1200\n");
      await assertRejectsUserError(
        () => buildReport(cpu, { modelDir: f.reference, dataPath: f.csv, candidatesPath: bad, sizes: SIZES }),
        "bad.csv",
        "load",
      );
      await assertRejectsUserError(
        () => buildReport(cpu, { modelDir: join(f.tmp, "nope"), dataPath: f.csv }),
        "nope",
      );
    });
  },
});

Deno.test("report helpers: attention averaged over the rows that contain the element; nearest row; samples", () => {
  // Two rows, three elements; element 2 is absent everywhere.
  const comp = [0.5, 0.5, 0, 1, 0, 0];
  const w = [0.2, 0.8, 0.0, 0.6, 0.3, 0.1];
  const { mean, count } = meanWhenPresent(w, comp, 2, 3);
  assertEquals(Array.from(count), [2, 1, 0]);
  assertEquals(+mean[0].toFixed(12), 0.4, "(0.2 + 0.6) / 2");
  assertEquals(+mean[1].toFixed(12), 0.8, "only row 0 has element 1");
  assertTrue(Number.isNaN(mean[2]), "never present → NaN, not 0");
  const [i, d] = nearestRow([1, 0, 0, 0, 1, 0, 0.5, 0.5, 0], 3, 3, [0.6, 0.4, 0]);
  assertEquals(i, 2);
  assertEquals(+d.toFixed(12), +Math.sqrt(0.02).toFixed(12));
  const s = sampleRows(100, 10, 7, 3);
  assertEquals(s.length, 10);
  assertEquals(new Set(s).size, 10);
  assertEquals(s, [...s].sort((a, b) => a - b), "ascending");
  assertEquals(sampleRows(100, 10, 7, 3), s, "seeded");
  assertTrue(sampleRows(100, 10, 8, 3).join() !== s.join(), "another seed, another sample");
  assertEquals(sampleRows(5, 10, 1, 1), [0, 1, 2, 3, 4]);
});

/**
 * `alloy hea explain`: interpretation of one member of an HEA model directory, written to `--out DIR`:
 *
 * - kernel SHAP (explain/kernel_shap.ts) of the classifier head over its 8 descriptors for `--shap-rows` test
 *   alloys against `--background` training alloys (exact: 2⁸ − 2 coalitions): shap.csv and shap_importance.svg
 *   (mean |φ|); with the composition branch the composition is held at the explained alloy's own;
 * - latent maps: μ(x, φ = label) of every alloy, coloured by label, number of elements and dominant element group
 *   (latent.csv, latent_label.svg, latent_elements.svg, latent_group.svg);
 * - reconstructions of the test alloys (reconstruction.csv: formula, reconstructed formula, error in at.%).
 *
 * `--json` prints one JSON object with the summaries; progress goes to stderr.
 * @module
 */
import { type Command, intFlag, stringFlag as str, timestamp } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { Progress } from "./progress.ts";
import { fractionsFormula, loadHeaData, openHeaDesign, writeCsvAtomic } from "./hea_common.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { join } from "../data/paths.ts";
import { HEA_DESCRIPTOR_LABELS, HEA_DESCRIPTOR_NAMES } from "../data/hea_descriptors.ts";
import { shapOverDataset } from "../explain/kernel_shap.ts";
import type { HeaNetworkDesignModel } from "../design/hea_design_model.ts";
import { dominantGroup, elementCount, latentMap, reconstructHea } from "../design/hea_interpretation.ts";
import { hbarChart } from "../plot/hbar_chart.ts";
import { scatterPlot } from "../plot/scatter.ts";
import { Rng } from "../nn/random.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Rows of `a` (row-major, width w) at `rows`. */
function gather(a: ArrayLike<number>, w: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * w);
  rows.forEach((r, i) => {
    for (let j = 0; j < w; j++) out[i * w + j] = a[r * w + j];
  });
  return out;
}

/** The `hea explain` subcommand. */
export const heaExplainCommand: Command = {
  name: "hea explain",
  summary: "kernel SHAP of the classifier, latent maps and reconstructions of one member",
  usage: "--model DIR [--out DIR] [--shap-rows N] [--background N] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "model directory written by `alloy hea train` (required)" },
    member: { type: "string", value: "K", help: "which member (default 0)" },
    out: { type: "string", value: "DIR", help: "output folder (default runs/hea-explain-<time>)" },
    "shap-rows": {
      type: "string",
      value: "N",
      help: "test alloys explained by kernel SHAP (default 40; 0 = skip)",
    },
    background: {
      type: "string",
      value: "N",
      help: "background alloys drawn from the training rows (default 30)",
    },
    examples: { type: "string", value: "N", help: "reconstruction examples printed (default 8)" },
    seed: { type: "string", value: "N", help: "seed of the row and background draws (default 0)" },
    json: { type: "boolean", help: "print one JSON object on stdout" },
    data: { type: "string", value: "DIR", help: "data folder (default ALLOY_DATA_DIR)" },
    quiet: { type: "boolean", short: "q", help: "no progress bar" },
  },
  async run(flags: Flags) {
    const be = await openDevice(flags);
    const ctx = await openHeaDesign(flags, be);
    const design = ctx.design as HeaNetworkDesignModel;
    const data = await loadHeaData(flags, ctx.loaded.config.tables);
    const els = data.ds.elements;
    if (els.join(",") !== ctx.loaded.config.elements.join(",")) {
      throw new UserError(`${str(flags, "model")}: the model's elements differ from the dataset's`);
    }
    const E = els.length, F = 8, n = data.ds.n;
    const outDir = str(flags, "out") ?? join("runs", `hea-explain-${timestamp()}`);
    await Deno.mkdir(outDir, { recursive: true });
    const seed = intFlag(flags, "seed", 0, 0);
    const rng = new Rng(seed, 0xe7);
    const test = data.paper.test, train = data.paper.labelled;
    const quiet = !!flags.quiet;

    // Kernel SHAP of the classifier head on the descriptors.
    const shapRows = intFlag(flags, "shap-rows", 40, 0, test.length);
    const nb = intFlag(flags, "background", 30, 1, train.length);
    let shapSummary: Record<string, unknown> | null = null;
    if (shapRows > 0) {
      const rows = rng.shuffle([...test]).slice(0, shapRows).sort((a, b) => a - b);
      const bg = rng.shuffle([...train]).slice(0, nb);
      const x = gather(data.arrays.desc, F, rows), background = gather(data.arrays.desc, F, bg);
      let current = 0;
      const f = (m: Float64Array, count: number) => {
        const comp = design.compositionBranch
          ? gather(data.ds.comp, E, new Array(count).fill(rows[current]))
          : null;
        return design.classifyDescriptors(m, count, comp);
      };
      const bar = new Progress("kernel SHAP", shapRows, !quiet);
      const r = await shapOverDataset(f, x, shapRows, F, background, {
        seed,
        onRow: (done) => (current = Math.min(done, shapRows - 1), bar.update(done)),
      });
      bar.done();
      await writeCsvAtomic(
        join(outDir, "shap.csv"),
        ["formula", "label", "p_single", ...HEA_DESCRIPTOR_NAMES.map((d) => `shap_${d}`)],
        rows.map((row, i) => [
          data.ds.formulas[row],
          data.ds.label[row],
          r.fx[i],
          ...Array.from(r.values.subarray(i * F, (i + 1) * F)),
        ]),
      );
      const order = Array.from({ length: F }, (_, j) => j).sort((a, b) => r.meanAbs[b] - r.meanAbs[a]);
      await writeFileAtomic(
        join(outDir, "shap_importance.svg"),
        hbarChart(order.map((j) => HEA_DESCRIPTOR_LABELS[j]), order.map((j) => r.meanAbs[j]), {
          title: "Kernel SHAP of the single-phase classifier",
          subtitle: `mean |φ| over ${shapRows} test alloys, ${nb} background alloys, member ${ctx.member}`,
          xLabel: "mean |SHAP value| (probability of single phase)",
        }),
      );
      shapSummary = {
        rows: shapRows,
        background: nb,
        base: r.base,
        exact: r.exact,
        mean_abs: Object.fromEntries(HEA_DESCRIPTOR_NAMES.map((d, j) => [d, r.meanAbs[j]])),
        mean: Object.fromEntries(HEA_DESCRIPTOR_NAMES.map((d, j) => [d, r.mean[j]])),
      };
    }

    // Latent maps of every alloy.
    const z = await latentMap(design, data.ds.comp, n, data.ds.label);
    const L = design.latentDim;
    const nEl = Array.from({ length: n }, (_, i) => elementCount(data.ds.comp.subarray(i * E, (i + 1) * E)));
    const groups = Array.from(
      { length: n },
      (_, i) => dominantGroup(data.ds.comp.subarray(i * E, (i + 1) * E), els),
    );
    await writeCsvAtomic(
      join(outDir, "latent.csv"),
      [
        "formula",
        "label",
        "n_elements",
        "group",
        "split",
        ...Array.from({ length: L }, (_, k) => `z${k + 1}`),
      ],
      Array.from({ length: n }, (_, i) => [
        data.ds.formulas[i],
        data.ds.label[i],
        nEl[i],
        groups[i],
        data.ds.split?.[i] ?? "",
        ...Array.from(z.subarray(i * L, (i + 1) * L)),
      ]),
    );
    if (L >= 2) {
      const zx = Array.from({ length: n }, (_, i) => z[i * L]),
        zy = Array.from({ length: n }, (_, i) => z[i * L + 1]);
      const base = { xLabel: "z₁", yLabel: "z₂", pointRadius: 2.5, pointTitles: data.ds.formulas };
      const plots: [string, string, Parameters<typeof scatterPlot>[2]["color"]][] = [
        ["latent_label.svg", "label", {
          kind: "category",
          values: Array.from(data.ds.label, (v) => (v ? "single phase" : "multi-phase")),
          label: "label",
        }],
        ["latent_elements.svg", "number of elements", { kind: "value", values: nEl, label: "elements" }],
        ["latent_group.svg", "dominant element group", {
          kind: "category",
          values: groups,
          label: "group",
          order: ["magnetic", "noble", "refractory", "other"],
        }],
      ];
      for (const [file, what, color] of plots) {
        await writeFileAtomic(
          join(outDir, file),
          scatterPlot(zx, zy, { ...base, title: `Latent means μ(x, φ = label), by ${what}`, color }),
        );
      }
    }

    // Reconstructions of the test alloys.
    const tComp = gather(data.ds.comp, E, test);
    const rec = await reconstructHea(design, tComp, test.length, test.map((i) => data.ds.label[i]));
    const recRows = test.map((row, i) => ({
      formula: fractionsFormula(tComp.subarray(i * E, (i + 1) * E), els),
      reconstructed: fractionsFormula(rec.trimmed.subarray(i * E, (i + 1) * E), els),
      mae_all_pct: rec.maeAllPct[i],
      mae_present_pct: rec.maePresentPct[i],
      label: data.ds.label[row],
    }));
    await writeCsvAtomic(
      join(outDir, "reconstruction.csv"),
      ["formula", "reconstructed", "label", "mae_all_elements_at_pct", "mae_present_elements_at_pct"],
      recRows.map((r) => [r.formula, r.reconstructed, r.label, r.mae_all_pct, r.mae_present_pct]),
    );
    const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const recon = {
      rows: test.length,
      mean_mae_all_elements_at_pct: mean(rec.maeAllPct),
      mean_mae_present_elements_at_pct: mean(rec.maePresentPct),
    };
    const nEx = intFlag(flags, "examples", 8, 0);
    const out = {
      shap: shapSummary,
      latent: { rows: n, latent_dim: L },
      reconstruction: { ...recon, examples: recRows.slice(0, nEx) },
      member: ctx.member,
      out: outDir,
    };
    await writeFileAtomic(join(outDir, "explain.json"), JSON.stringify(out, null, 2) + "\n");
    if (flags.json) console.log(JSON.stringify(out));
    else {
      if (shapSummary) {
        const m = shapSummary.mean_abs as Record<string, number>;
        console.log(`kernel SHAP (mean |φ| over ${shapRows} test alloys):`);
        for (const [d, v] of Object.entries(m).sort((a, b) => b[1] - a[1])) {
          console.log(`  ${d.padEnd(12)} ${v.toFixed(4)}`);
        }
      }
      console.log(
        `reconstruction of ${test.length} test alloys: mean |Δ| ${
          recon.mean_mae_all_elements_at_pct.toFixed(2)
        } at.% ` +
          `over all ${E} elements, ${
            recon.mean_mae_present_elements_at_pct.toFixed(2)
          } at.% over the elements present`,
      );
      for (const r of recRows.slice(0, nEx)) console.log(`  ${r.formula.padEnd(34)} → ${r.reconstructed}`);
      console.log(
        `wrote ${outDir} (shap.csv, shap_importance.svg, latent.csv, latent_*.svg, reconstruction.csv)`,
      );
    }
    return 0;
  },
};

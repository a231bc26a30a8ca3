/**
 * The figures of `md analyze`: g(r) with its partials, the coordination-number histograms, the bond-angle
 * distributions and the most frequent Voronoi indices, as standalone SVG text.
 * @module
 */
import type { StructureAnalysis } from "./structure_analysis.ts";
import { formatVoronoiIndex, type VoronoiTally } from "./voronoi.ts";
import { linePlot, type LineSeries, PALETTE } from "../plot/line_plot.ts";
import { barChart } from "../plot/bar_chart.ts";

/** Partial curves drawn at most (one per palette colour after black); the largest weights x_a·x_b are kept. */
const MAX_PARTIALS = PALETTE.length - 1;

/** Total g(r) (black) and the partials g_ab(r), with g = 1 dashed; y clipped at 1.6 × the total's highest value. */
export function rdfPlot(a: StructureAnalysis): string {
  const weight = (p: { a: string; b: string }) => a.fractions[p.a] * a.fractions[p.b] * (p.a === p.b ? 1 : 2);
  const partials = a.partials.length > 1
    ? [...a.partials].sort((p, q) => weight(q) - weight(p)).slice(0, MAX_PARTIALS)
    : [];
  // The total goes last so it is drawn on top of the partials.
  const series: LineSeries[] = [
    ...partials.map((p, k) => ({ name: `${p.a}–${p.b}`, x: a.r, y: p.g, width: 1, color: PALETTE[k + 1] })),
    { name: "total", x: a.r, y: a.g, color: PALETTE[0], width: 2.2 },
  ];
  const top = Math.max(1.2, ...a.g);
  const more = a.partials.length > partials.length
    ? ` (${partials.length} of ${a.partials.length} partials)`
    : "";
  return linePlot(series, {
    title: `Radial distribution function${more}`,
    xLabel: "r (Å)",
    yLabel: "g(r)",
    xDomain: [0, a.rmax],
    yDomain: [0, Math.ceil(top * 1.6)],
    hline: 1,
  });
}

/** Fraction of atoms per coordination number: all atoms and each centre species. */
export function coordinationPlot(a: StructureAnalysis): string {
  const hists = [["all", a.coordination.all] as const, ...Object.entries(a.coordination.bySpecies)];
  let lo = Infinity, hi = 0;
  for (const [, h] of hists) {
    h.counts.forEach((c, k) => {
      if (c > 0) lo = Math.min(lo, k), hi = Math.max(hi, k);
    });
  }
  if (!Number.isFinite(lo)) lo = hi = 0;
  const cats = Array.from({ length: hi - lo + 1 }, (_, k) => String(lo + k));
  // Species curves only when they add something (one species = the "all" histogram).
  const shown = hists.length > 2 || (hists.length === 2 && hists[1][1].atoms !== a.atoms)
    ? hists
    : hists.slice(0, 1);
  return barChart(
    cats,
    shown.map(([name, h]) => ({
      name: name === "all" ? "all atoms" : `${name} centres`,
      values: cats.map((_, k) => (h.atoms > 0 ? (h.counts[lo + k] ?? 0) / h.atoms : 0)),
    })),
    {
      title: `Coordination numbers (cutoff ${a.cutoff.toFixed(2)} Å)`,
      xLabel: "coordination number",
      yLabel: "fraction of atoms",
    },
  );
}

/** Bond-angle distribution (fraction per degree) of all centres and each centre species. */
export function bondAnglePlot(a: StructureAnalysis): string {
  const norm = (counts: readonly number[]) => {
    const s = counts.reduce((x, y) => x + y, 0);
    return counts.map((c) => (s > 0 ? c / s : 0));
  };
  const per = Object.entries(a.bondAngle.byCentre);
  const series: LineSeries[] = [
    {
      name: "all centres",
      x: a.bondAngle.theta,
      y: norm(a.bondAngle.all),
      step: true,
      color: "#000000",
      width: 1.8,
    },
    ...(per.length > 1 || (per.length === 1 && a.speciesList.length > 1)
      ? per.map(([s, c]) => ({
        name: `${s} centres`,
        x: a.bondAngle.theta,
        y: norm(c),
        step: true,
        width: 1.1,
      }))
      : []),
  ];
  return linePlot(series, {
    title: `Bond angles (neighbours within ${a.cutoff.toFixed(2)} Å)`,
    xLabel: "angle (degrees)",
    yLabel: "fraction per degree",
    xDomain: [0, 180],
  });
}

/** The `top` most frequent Voronoi indices of the counted centres (fraction of them). */
export function voronoiTopPlot(tally: VoronoiTally, top = 10, centresLabel = "all centres"): string {
  const rows = tally.total.slice(0, top);
  if (rows.length === 0) throw new RangeError("voronoiTopPlot: no centre atoms");
  return barChart(
    rows.map((r) => formatVoronoiIndex(r.index)),
    [{ name: centresLabel, values: rows.map((r) => r.fraction) }],
    {
      title: `Top Voronoi indices (${centresLabel}: ${tally.centres})`,
      xLabel: "Voronoi index <n3,n4,n5,n6,…>",
      yLabel: "fraction of centre atoms",
    },
  );
}

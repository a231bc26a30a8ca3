/**
 * README.txt of a deck folder: what each input runs, the cell and its exact species counts, the stage table,
 * the heating and cooling rates (computed from the options, in K/s), and the files each run writes.
 * @module
 */
import { atomicMass } from "./atomic_masses.ts";
import {
  cellTypes,
  coolingRate,
  type DeckInput,
  FINAL_RESTART,
  heatingRate,
  INDENT_DEFAULTS,
  indentSteps,
  meltQuenchStages,
  num,
  type Protocol,
  TENSION_DEFAULTS,
  tensionSteps,
} from "./lammps_deck.ts";

/** What README.txt says besides the deck itself. */
export interface ReadmeMeta {
  /** Where the composition came from, e.g. `candidates.csv row 3 (fractions)`. */
  source: string;
  /** The `--seed` the decks were generated with. */
  seed: number;
  protocols: readonly Protocol[];
  /** Extra lines about the potential (where its element list came from, path notes). */
  potentialNotes?: string[];
}

/** A rate in K/s as `9.875e+13` (plain exponent, easy to parse). */
export function formatRate(kPerS: number): string {
  return kPerS.toExponential(3).replace(/\.?0+e/, "e");
}

function table(rows: string[][]): string[] {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  return rows.map((r) =>
    "  " + r.map((c, j) => (j === r.length - 1 ? c : c.padEnd(w[j]))).join("  ").trimEnd()
  );
}

/** README.txt text for one deck folder. */
export function deckReadme(d: DeckInput, meta: ReadmeMeta): string {
  const m = d.melt, c = d.cell;
  const types = cellTypes(d.counts);
  const stages = meltQuenchStages(m);
  const total = stages.reduce((a, s) => a + s.steps, 0);
  const title = `${d.name} — LAMMPS molecular-dynamics decks`;
  const has = (p: Protocol) => meta.protocols.includes(p);
  const L: string[] = [
    title,
    "=".repeat(title.length),
    `Written by \`alloy md deck\` (seed ${meta.seed}). Composition: ${meta.source}.`,
    "",
    "What runs (each from this folder, in this order):",
    "  lmp -in in.lammps    melt–quench: random solid → liquid → glass (always first; writes restart.final)",
  ];
  if (has("nanoindent")) {
    L.push("  lmp -in in.indent    spherical nanoindentation of the glass slab (reads restart.final)");
  }
  if (has("tension")) {
    L.push("  lmp -in in.tension   uniaxial tension of the glass along x (reads restart.final)");
  }
  L.push(
    "Parameters are index variables at the top of each deck: `lmp -var NAME VALUE -in …` overrides one",
    "(the rates below are for the values written).",
    "",
    "Potential (referenced, not copied):",
    `  pair_style ${d.potential.pairStyle.trim()}`,
    `  pair_coeff * * ${d.potential.file} <one label per type>`,
    ...(meta.potentialNotes ?? []).map((s) => `  ${s}`),
    "",
    "Cell:",
    `  ${c.style} lattice, a = ${num(c.a)} Å, ${c.repeats.join(" × ")} cells = ${c.atoms} atoms (${
      c.atoms === c.requested
        ? `exactly the ${c.requested} requested`
        : `the nearest achievable to the ${c.requested} requested`
    }).`,
    "  Species counts: largest-remainder rounding (integers summing to the atom count, each within one",
    "  atom of its exact share); all sites start as type 1, then `set type 1 type/subset T COUNT SEED`",
    "  turns exactly COUNT of the remaining type-1 atoms into type T (which sites: LAMMPS's random",
    "  generator with the seed in the deck).",
    ...table([
      ["type", "element", "label", "mass", "atoms", "at.% target", "at.% actual", "exact share"],
      ...types.map((t, k) => [
        String(k + 1),
        t.element,
        d.potential.labels?.[t.element] ?? t.element,
        num(atomicMass(t.element)),
        String(t.count),
        (100 * t.fraction).toFixed(3),
        ((100 * t.count) / d.counts.total).toFixed(3),
        t.exact.toFixed(2),
      ]),
    ]),
  );
  if (d.counts.dropped.length > 0) {
    const drop = d.counts.dropped.map((e) => {
      const i = d.counts.elements.indexOf(e);
      return `${e} (${(100 * d.counts.fractions[i]).toPrecision(3)} at.%)`;
    });
    L.push(`  Left out (0 atoms after rounding at this cell size): ${drop.join(", ")}.`);
  }
  L.push(
    "",
    `Melt–quench (in.lammps): FIRE minimisation (1e-10 1e-10 100 100), velocities at ${
      num(m.tLow)
    } K, then NPT`,
    `(Nosé–Hoover, iso ${num(m.pressureBar)} bar, Tdamp ${num(m.tdampPs)} ps, Pdamp ${
      num(m.pdampPs)
    } ps, timestep ${num(m.timestepFs)} fs):`,
    ...table([
      ["#", "stage", "T start → stop (K)", "ps", "steps", "restart file"],
      ["0", "minimise", "—", "—", "≤ 100", "restart.minimized"],
      ...stages.map((s, k) => [
        String(k + 1),
        s.what,
        `${num(s.tStart)} → ${num(s.tStop)}`,
        num(s.ps),
        String(s.steps),
        s.restart,
      ]),
    ]),
    `  Total ${total} MD steps (${num((total * m.timestepFs) / 1000)} ps).`,
    `  Heating rate: ${formatRate(heatingRate(m))} K/s`,
    `  Cooling rate: ${formatRate(coolingRate(m))} K/s  ((${num(m.tHigh)} − ${num(m.tLow)}) K over ${
      num((stages[2].steps * m.timestepFs) / 1000)
    } ps)`,
    `  Writes: log.lammps (thermo every ${m.thermoEvery} steps), dump.melt_quench.lammpstrj (every`,
    `  ${m.dumpEvery} steps: id type element x y z), restart.* per stage, and the glass as final.data,`,
    "  final.lammpstrj and final.cfg (CFG with element names, as the reference's post-processing reads).",
    "  Analyse it with: deno task md analyze --config final.lammpstrj --out analysis",
  );
  if (has("nanoindent")) {
    const i = d.indent ?? INDENT_DEFAULTS;
    const n = indentSteps(i, m.timestepFs);
    L.push(
      "",
      `Nanoindentation (in.indent): reads ${FINAL_RESTART}, makes z non-periodic (boundary p p s: a slab`,
      `with free surfaces), fixes the bottom ${num(i.fixedA)} Å, keeps the rest at ${
        num(i.temperature ?? m.tLow)
      } K (NVT), and moves a spherical`,
      `indenter (fix indent, R = ${num(i.radiusA)} Å, K = ${num(i.forceConstant)} eV/Å³) down at ${
        num(i.speedMs)
      } m/s from ${num(i.gapA)} Å above the surface`,
      `to ${num(i.depthA)} Å below it (${n} steps), then back up (${n} steps).`,
      "  Writes: load_depth.txt (step, depth in Å, load in nN; 10-sample averages every 100 steps),",
      "  dump.indent.lammpstrj, restart.indent_max, restart.indent.",
    );
  }
  if (has("tension")) {
    const t = d.tension ?? TENSION_DEFAULTS;
    L.push(
      "",
      `Uniaxial tension (in.tension): reads ${FINAL_RESTART}, stretches x at ${
        formatRate(t.strainRate)
      } /s (fix deform erate) to strain`,
      `${num(t.maxStrain)} (${tensionSteps(t, m.timestepFs)} steps) at ${
        num(t.temperature ?? m.tLow)
      } K, NPT at ${num(m.pressureBar)} bar in y and z.`,
      "  Writes: stress_strain.txt (step, engineering strain, σxx σyy σzz in GPa; 10-sample averages every",
      "  100 steps), dump.tension.lammpstrj, restart.tension.",
    );
  }
  L.push(
    "",
    "composition.json holds the same numbers in machine-readable form.",
    "",
  );
  return L.join("\n");
}

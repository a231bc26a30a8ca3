/**
 * Structure-analysis benchmark (suite "md"): throughput in atoms/s of the pair analysis (`analyzeStructure`: g(r)
 * with partials, coordination, bonds and angles; r_max 10 Å, dr 0.05 Å, cutoff 3 Å) on the given backend, and of the
 * Voronoi cells (CPU float64). Input: the published A1 configuration (5 488 atoms) when `ALLOY_DATA_DIR` holds it,
 * else a synthetic amorphous-like box of the same size, density and composition ({@link syntheticAmorphousConfig}).
 * Median of a few runs after one warm-up (pipeline compilation).
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { Rng } from "../nn/random.ts";
import { join } from "../data/paths.ts";
import { type AtomConfig, makeAtomConfig, orthorhombicBox } from "../data/atom_config.ts";
import { readAtomConfig } from "../data/atom_config_reader.ts";
import { analyzeStructure } from "../md/structure_analysis.ts";
import { voronoiCells } from "../md/voronoi.ts";
import type { BenchResult } from "./kernels.ts";

/**
 * A dense random packing standing in for a metallic glass: N atoms placed one by one at random where no other atom is
 * closer than `minDistance` (random sequential addition), in a cube of the given number density; species drawn
 * with exact counts from `composition` (fractions). Default: A1-like B68Fe4Nb24W4 at 0.105 atoms/Å³, 1.6 Å apart.
 */
export function syntheticAmorphousConfig(
  n = 5488,
  {
    density = 0.105,
    minDistance = 1.6,
    composition = { B: 0.68, Fe: 0.04, Nb: 0.24, W: 0.04 } as Record<string, number>,
    seed = 1,
  } = {},
): AtomConfig {
  const rng = new Rng(seed);
  const L = Math.cbrt(n / density);
  // A grid of bins at least minDistance wide: a rejected candidate needs only its 27 neighbouring bins.
  const nb = Math.max(1, Math.floor(L / minDistance));
  const bins: number[][] = Array.from({ length: nb ** 3 }, () => []);
  const pos = new Float64Array(3 * n);
  const d2 = minDistance * minDistance;
  for (let i = 0, tries = 0; i < n; tries++) {
    if (tries > 1000 * n) {
      throw new Error(`syntheticAmorphousConfig: cannot place ${n} atoms ${minDistance} Å apart`);
    }
    const x = rng.uniform() * L, y = rng.uniform() * L, z = rng.uniform() * L;
    const b = [x, y, z].map((v) => Math.min(nb - 1, Math.floor((v / L) * nb)));
    let free = true;
    for (let dx = -1; dx <= 1 && free; dx++) {
      for (let dy = -1; dy <= 1 && free; dy++) {
        for (let dz = -1; dz <= 1 && free; dz++) {
          const k = (((b[0] + dx + nb) % nb) * nb + ((b[1] + dy + nb) % nb)) * nb + ((b[2] + dz + nb) % nb);
          for (const j of bins[k]) {
            let r2 = 0;
            for (const [c, v] of [x, y, z].entries()) {
              let d = v - pos[3 * j + c];
              d -= L * Math.round(d / L);
              r2 += d * d;
            }
            if (r2 < d2) {
              free = false;
              break;
            }
          }
        }
      }
    }
    if (!free) continue;
    pos.set([x, y, z], 3 * i);
    bins[(b[0] * nb + b[1]) * nb + b[2]].push(i);
    i++;
  }
  const names = Object.keys(composition);
  const counts = names.map((s) => Math.floor(composition[s] * n));
  for (let k = 0; counts.reduce((a, b) => a + b, 0) < n; k++) counts[k % names.length]++;
  const species = rng.shuffle(names.flatMap((s, k) => Array<string>(counts[k]).fill(s)));
  return makeAtomConfig({
    box: orthorhombicBox(L, L, L),
    positions: pos,
    species,
    source: "synthetic amorphous",
  });
}

/** A1 from `ALLOY_DATA_DIR` when present, else the synthetic box; with its label. */
async function benchConfig(): Promise<{ config: AtomConfig; label: string }> {
  const dir = Deno.env.get("ALLOY_DATA_DIR");
  if (dir) {
    const path = join(dir, "md", "Alloy_A1_final_configuration.xyz");
    try {
      await Deno.stat(path);
      return { config: await readAtomConfig(path, { lenient: true }), label: "A1" };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return { config: syntheticAmorphousConfig(), label: "synthetic" };
}

async function medianMs(runs: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** Runs the md suite; `progress` gets one line per case. */
export async function benchMd(
  be: Backend,
  quick: boolean,
  progress: (line: string) => void,
): Promise<BenchResult[]> {
  const { config, label } = await benchConfig();
  const n = config.atoms, runs = quick ? 3 : 5;
  const row = (name: string, ms: number, extra: Record<string, unknown>): BenchResult => ({
    suite: "md",
    name,
    shape: [n],
    median_ms: +ms.toFixed(2),
    atoms_per_s: Math.round((n / ms) * 1000),
    config: label,
    ...extra,
  });
  const options = { rmax: 10, dr: 0.05, cutoff: 3 };
  progress(
    `bench md: pair analysis of ${label} (${n} atoms, rmax 10 Å, dr 0.05 Å, cutoff 3 Å) on ${be.kind}`,
  );
  await analyzeStructure(be, config, options); // warm-up: pipelines
  const pairs = await medianMs(runs, () => analyzeStructure(be, config, options));
  progress(`bench md: Voronoi cells of ${label} (CPU float64)`);
  voronoiCells(config.positions, config.box);
  const voro = await medianMs(runs, () => voronoiCells(config.positions, config.box));
  return [
    row("pair_analysis", pairs, { backend: be.kind }),
    row("voronoi", voro, { backend: "cpu-f64" }),
  ];
}

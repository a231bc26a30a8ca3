import { assert, assertEquals, gpu, HAS_GPU } from "../_helpers.ts";
import { Rng } from "../../nn/random.ts";
import {
  ANGLE_BINS,
  buildCellList,
  chooseReach,
  neighbourShellGpu,
  pairCount,
  pairHistogramGpu,
  pairIndex,
  type PairInput,
} from "../../kernels/md_pairs.ts";
import { pairAnalysisCpu, type PairAnalysisCpuResult } from "../../md/pair_analysis_cpu.ts";
import { cellPerpendicularWidths } from "../../data/atom_config.ts";

const TOL = { distance: 1e-5, angle: 1e-3 };

/** A skewed cell (tilts up to ~0.3 of the edge) with edge scale L, rows a, b, c. */
function triclinic(L: number): Float64Array {
  return Float64Array.of(L, 0, 0, 0.31 * L, 0.93 * L, 0, -0.22 * L, 0.17 * L, 1.05 * L);
}

function inputOf(h: Float64Array, frac: Float64Array, species: Int32Array, nSpecies: number): PairInput {
  const box = { h, origin: [0, 0, 0] as [number, number, number] };
  return { frac, h, widths: cellPerpendicularWidths(box), species, nSpecies };
}

/** N random atoms of 3 species at number density `rho` (or in a cell of edge scale `L`). */
function randomInput(n: number, seed: number, rho: number, L?: number): PairInput {
  const rng = new Rng(seed);
  const h = triclinic(L ?? Math.cbrt(n / rho / (0.93 * 1.05)));
  const frac = Float64Array.from({ length: 3 * n }, () => rng.uniform());
  const species = Int32Array.from({ length: n }, () => Math.min(2, Math.floor(rng.uniform() * 3)));
  return inputOf(h, frac, species, 3);
}

/**
 * |gpu − cpu| ≤ uncertain per bin, and the uncertain entries are a small share (2 %: one neighbour near the cutoff
 * makes all its angles uncertain; 1e-3° around each edge alone is 0.2 % of the angles).
 */
function assertParity(what: string, g: ArrayLike<number>, c: ArrayLike<number>, u: ArrayLike<number>): void {
  assertEquals(g.length, c.length, `${what}: length`);
  let total = 0, unsure = 0;
  for (let k = 0; k < g.length; k++) {
    total += c[k];
    unsure += u[k];
    if (Math.abs(g[k] - c[k]) > u[k]) {
      throw new Error(`${what}[${k}]: gpu ${g[k]}, cpu ${c[k]} (uncertain ${u[k]})`);
    }
  }
  assert(unsure <= 4 + 0.02 * total, `${what}: ${unsure} uncertain of ${total}`);
}

interface Case {
  name: string;
  input: PairInput;
  dr: number;
  bins: number;
  cutoff: number;
}

function caseOf(name: string, input: PairInput, dr: number, cutoff: number): Case {
  const half = Math.min(...input.widths) / 2;
  return { name, input, dr, bins: Math.floor((0.98 * half) / dr), cutoff: Math.min(cutoff, 0.95 * half) };
}

function cases(): Case[] {
  const two = inputOf(
    triclinic(6),
    Float64Array.of(0.02, 0.5, 0.5, 0.97, 0.55, 0.45), // closest across the periodic boundary
    Int32Array.of(0, 2),
    3,
  );
  return [
    caseOf("N=1", randomInput(1, 1, 0, 8), 0.1, 3),
    caseOf("N=2", two, 0.05, 3),
    caseOf("N=37", randomInput(37, 2, 0.08), 0.1, 3),
    caseOf("N=500", randomInput(500, 3, 0.08), 0.05, 3),
  ];
}

function cpuOf(c: Case): PairAnalysisCpuResult {
  return pairAnalysisCpu(c.input.frac, c.input.h, c.input.species, c.input.nSpecies, {
    bins: c.bins,
    binWidth: c.dr,
    cutoff: c.cutoff,
    bondBin: 0.02,
    bondBins: Math.ceil(c.cutoff / 0.02),
    tolerance: TOL,
  });
}

Deno.test("md pairs: pair index enumerates the unordered pairs row by row", () => {
  const seen: number[] = [];
  for (let a = 0; a < 4; a++) for (let b = a; b < 4; b++) seen.push(pairIndex(a, b, 4));
  assertEquals(seen, Array.from({ length: pairCount(4) }, (_, k) => k));
  assertEquals(pairIndex(3, 1, 4), pairIndex(1, 3, 4));
});

Deno.test("md pairs: cell list sorts atoms by cell and covers every atom once", () => {
  const input = randomInput(500, 5, 0.08);
  for (const reach of [1, 2, 3]) {
    const cl = buildCellList(input, 3, reach);
    assertEquals(Array.from(cl.order).sort((x, y) => x - y), Array.from({ length: 500 }, (_, i) => i));
    for (let p = 0; p < 500; p++) {
      assert(
        cl.cellStart[cl.cellOf[p]] <= p && p < cl.cellStart[cl.cellOf[p] + 1],
        "atom outside its cell range",
      );
    }
    for (let k = 0; k < 3; k++) {
      // Cells at least r/m wide along each axis, and never more scanned cells than exist.
      assert(input.widths[k] / cl.nc[k] >= 3 / reach - 1e-9);
      assertEquals(cl.span[k], Math.min(cl.nc[k], 2 * reach + 1));
    }
  }
  // A 37 Å cell with r = 10 Å: reach 1 would scan the whole cell (3³ cells); reach 2 scans 5³ of 7³.
  const w = [37.4, 37.4, 37.4];
  assertEquals(chooseReach(w, 10, 5488), 2);
});

Deno.test("md pairs: CPU twin finds the true minimum image in a strongly tilted cell (brute force over images)", () => {
  const L = 9, rng = new Rng(11);
  const h = Float64Array.of(L, 0, 0, 0.5 * L, L, 0, 0.5 * L, -0.5 * L, L);
  const n = 60;
  const frac = Float64Array.from({ length: 3 * n }, () => rng.uniform());
  const input = inputOf(h, frac, new Int32Array(n), 1);
  const half = Math.min(...input.widths) / 2;
  const dr = 0.05, bins = Math.floor(half / dr);
  const expected = new Uint32Array(bins);
  const nearest2 = new Float64Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let best = Infinity;
      for (let n1 = -2; n1 <= 2; n1++) {
        for (let n2 = -2; n2 <= 2; n2++) {
          for (let n3 = -2; n3 <= 2; n3++) {
            const s = [0, 1, 2].map((k) => frac[3 * j + k] - frac[3 * i + k] + [n1, n2, n3][k]);
            const d = [0, 1, 2].map((x) => s[0] * h[x] + s[1] * h[3 + x] + s[2] * h[6 + x]);
            best = Math.min(best, Math.hypot(d[0], d[1], d[2]));
          }
        }
      }
      if (best < bins * dr) {
        expected[Math.floor(best / dr)]++;
        nearest2[i] = Math.min(nearest2[i], best * best);
        nearest2[j] = Math.min(nearest2[j], best * best);
      }
    }
  }
  const cpu = pairAnalysisCpu(frac, h, input.species, 1, { bins, binWidth: dr, tolerance: TOL });
  assertParity("hist", cpu.hist, expected, cpu.uncertain!.hist);
  for (let i = 0; i < n; i++) {
    assert(Math.abs(cpu.nearest2[i] - nearest2[i]) <= 1e-9 * nearest2[i] || cpu.nearest2[i] === nearest2[i]);
  }
  assert(expected.reduce((a, b) => a + b, 0) > 100, "the case must have pairs");
});

Deno.test({
  name:
    "md pairs: GPU pair histogram and nearest neighbours match the CPU twin (N = 1, 2, 37, 500, triclinic)",
  ignore: !HAS_GPU,
  fn: async () => {
    const be = (await gpu())!;
    for (const c of cases()) {
      const cpu = cpuOf(c);
      const g = await pairHistogramGpu(be, c.input, c.bins, c.dr);
      assertParity(`${c.name} hist`, g.hist, cpu.hist, cpu.uncertain!.hist);
      const n = c.input.species.length;
      for (let i = 0; i < n; i++) {
        const a = g.nearest2[i], b = cpu.nearest2[i];
        assert(
          a === b || Math.abs(Math.sqrt(a) - Math.sqrt(b)) < 1e-5,
          `${c.name} nearest ${i}: ${a} vs ${b}`,
        );
      }
      if (c.name === "N=2") {
        // The two atoms are 0.05 cell apart through the boundary, not 0.95.
        assertEquals(cpu.hist.reduce((x, y) => x + y, 0), 1);
        assertEquals(g.hist.reduce((x, y) => x + y, 0), 1);
      }
      if (c.name === "N=1") assert(g.hist.every((v) => v === 0) && g.nearest2[0] === Infinity);
    }
  },
});

Deno.test({
  name: "md pairs: GPU neighbour counts, bond lengths and bond angles match the CPU twin",
  ignore: !HAS_GPU,
  fn: async () => {
    const be = (await gpu())!;
    for (const c of cases()) {
      const cpu = cpuOf(c);
      const bondBins = Math.ceil(c.cutoff / 0.02);
      const g = await neighbourShellGpu(be, c.input, c.cutoff, 0.02, bondBins);
      // Counts are exact integers: equal wherever no neighbour sits within 1e-5 Å of the cutoff.
      assertParity(`${c.name} counts`, g.counts, cpu.counts, cpu.uncertain!.counts);
      assertParity(`${c.name} bonds`, g.bondHist, cpu.bondHist, cpu.uncertain!.bondHist);
      assertParity(`${c.name} angles`, g.angleHist, cpu.angleHist, cpu.uncertain!.angleHist);
      assertEquals(g.angleHist.length, 3 * ANGLE_BINS);
      assertEquals(g.maxNeighbours, cpu.maxNeighbours, `${c.name} max neighbours`);
    }
  },
});

Deno.test({
  name: "md pairs: results do not depend on the cell-list reach or on the neighbour-list capacity",
  ignore: !HAS_GPU,
  fn: async () => {
    const be = (await gpu())!;
    const input = randomInput(500, 7, 0.08);
    const bins = Math.floor((0.49 * Math.min(...input.widths)) / 0.05);
    const ref = await pairHistogramGpu(be, input, bins, 0.05, 1);
    const shell = await neighbourShellGpu(be, input, 3, 0.02, 150, undefined, 1);
    assert(shell.maxNeighbours > 4, "the case needs crowded shells");
    for (const reach of [2, 3]) {
      const other = await pairHistogramGpu(be, input, bins, 0.05, reach);
      assertEquals(Array.from(other.hist), Array.from(ref.hist), `reach ${reach}`);
      assertEquals(Array.from(other.nearest2), Array.from(ref.nearest2), `reach ${reach} nearest`);
      const s = await neighbourShellGpu(be, input, 3, 0.02, 150, undefined, reach);
      assertEquals(Array.from(s.counts), Array.from(shell.counts), `reach ${reach} counts`);
      assertEquals(Array.from(s.angleHist), Array.from(shell.angleHist), `reach ${reach} angles`);
    }
    // A list capacity of 2 overflows: the shell is recomputed with room for every neighbour.
    const small = await neighbourShellGpu(be, input, 3, 0.02, 150, 2);
    assertEquals(Array.from(small.angleHist), Array.from(shell.angleHist));
    assertEquals(Array.from(small.bondHist), Array.from(shell.bondHist));
  },
});

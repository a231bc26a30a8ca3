/**
 * `alloy md analyze` end to end on small crystals written by the test as extended XYZ (no real data needed): the
 * `--json` contract against the analytic values of a B2 (CsCl) crystal (density 2/a³, first peak and nearest
 * neighbour at a√3/2, 8 neighbours within the first minimum and 14 within 3 Å, every Voronoi cell ⟨0,6,0,8⟩ of
 * volume a³/2), the files written and their agreement with the JSON, `--species` with a missing species, the
 * Voronoi thresholds on a jittered fcc crystal, a header count that disagrees with the body (error, or a warning
 * with --lenient), and one-line errors for bad flags and bad files, with nothing written.
 */
import { join } from "../../data/paths.ts";
import { assertEquals, assertNear, assertTrue } from "../data/_helpers.ts";
import { Rng } from "../../nn/random.ts";
import { alloy, assertCliError, stdoutJson } from "./_helpers.ts";

const analyze = (...args: string[]) => alloy(["md", "analyze", ...args]);

/** Extended XYZ text of n×n×n cubic cells (lattice constant a) with `basis` [species, fx, fy, fz] per cell. */
function crystalXyz(
  basis: [string, number, number, number][],
  n: number,
  a: number,
  { jitter = 0, claim, seed = 1 }: { jitter?: number; claim?: number; seed?: number } = {},
): string {
  const rng = new Rng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < n; k++) {
        for (const [sp, fx, fy, fz] of basis) {
          const xyz = [i + fx, j + fy, k + fz].map((f) =>
            (f * a + jitter * (rng.uniform() - 0.5)).toFixed(8)
          );
          lines.push(`${sp} ${xyz.join(" ")}`);
        }
      }
    }
  }
  const L = n * a;
  return `${claim ?? lines.length}\r\nLattice="${L} 0 0 0 ${L} 0 0 0 ${L}" Origin="0 0 0" ` +
    `Properties=species:S:1:pos:R:3\r\n${lines.join("\r\n")}\r\n`;
}

const A = 2.87, N = 8; // B2 crystal: 8³ cells, 1024 atoms, 22.96 Å cube
const B2: [string, number, number, number][] = [["B", 0, 0, 0], ["Fe", 0.5, 0.5, 0.5]];
const FCC: [string, number, number, number][] = [["Ni", 0, 0, 0], ["Ni", 0.5, 0.5, 0], ["Ni", 0.5, 0, 0.5], [
  "Ni",
  0,
  0.5,
  0.5,
]];

async function withTmp(fn: (tmp: string) => Promise<void>) {
  const tmp = await Deno.makeTempDir({ prefix: "alloy_md_analyze_test_" });
  try {
    await fn(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("cli md analyze: --json contract on a B2 crystal, the files written, the text summary", async () => {
  await withTmp(async (tmp) => {
    const file = join(tmp, "b2.xyz"), out = join(tmp, "out");
    await Deno.writeTextFile(file, crystalXyz(B2, N, A));
    const s = stdoutJson(await analyze("--config", file, "--out", out, "--json"));
    assertEquals(Object.keys(s), [
      "atoms",
      "box",
      "density",
      "species",
      "rdf_first_peak",
      "mean_nn_distance",
      "coordination",
      "voronoi_top",
    ]);
    const L = N * A, nn = A * Math.sqrt(3) / 2;
    assertEquals(s.atoms, 1024);
    assertEquals(s.box, [[L, 0, 0], [0, L, 0], [0, 0, L]]);
    assertNear(s.density, 2 / A ** 3, 1e-5 * s.density);
    assertEquals(s.species, { B: 512, Fe: 512 });
    assertNear(s.rdf_first_peak, nn, 0.025, "first peak within half a bin");
    assertNear(s.mean_nn_distance, nn, 1e-4);
    // Default cutoff = first minimum of g(r), in the empty gap between a√3/2 and a: the 8 B–Fe neighbours.
    assertEquals(s.coordination, { mean: 8, by_species: { B: 8, Fe: 8 } });
    assertEquals(s.voronoi_top, [{ index: [0, 6, 0, 8], fraction: 1 }]);

    const names = [...Deno.readDirSync(out)].map((e) => e.name).sort();
    for (
      const f of [
        "rdf.csv",
        "coordination_histogram.csv",
        "B_coordination_histogram.csv",
        "bond_length_histogram.csv",
        "bond_angle_histogram.csv",
        "voronoi_indices.csv",
        "voronoi_cells.csv",
        "summary.json",
        "rdf.svg",
        "coordination.svg",
        "bond_angles.svg",
        "voronoi_top.svg",
      ]
    ) assertTrue(names.includes(f), `${f} written (have ${names.join(", ")})`);
    assertTrue(!names.some((n) => n.endsWith(".tmp")), "no temp files left");
    for (const f of names.filter((n) => n.endsWith(".svg"))) {
      const svg = await Deno.readTextFile(join(out, f));
      assertTrue(svg.startsWith("<?xml") && svg.trimEnd().endsWith("</svg>"), f);
    }
    const csv = async (name: string) =>
      (await Deno.readTextFile(join(out, name))).trim().split("\n").map((l) => l.split(","));
    const rdf = await csv("rdf.csv");
    assertEquals(rdf[0], ["r (Angstrom)", "g(r)", "g_B_B(r)", "g_B_Fe(r)", "g_Fe_Fe(r)"]);
    assertEquals(rdf.length, 1 + 200, "10 Å in 0.05 Å bins");
    const idx = (await Deno.readTextFile(join(out, "voronoi_indices.csv"))).trim().split("\n");
    assertEquals(idx[0], "centre,rank,index,n3,n4,n5,n6,n7_plus,count,fraction");
    assertEquals(idx.slice(1), [
      "all,1,0-6-0-8,0,6,0,8,0,1024,1",
      "B,1,0-6-0-8,0,6,0,8,0,512,1",
      "Fe,1,0-6-0-8,0,6,0,8,0,512,1",
    ]);
    const cells = await csv("voronoi_cells.csv");
    assertEquals(cells.length, 1 + 1024);
    for (const row of cells.slice(1)) assertNear(Number(row[4]), A ** 3 / 2, 1e-5, "cell volume a³/2");
    const summary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
    for (const k of Object.keys(s)) assertEquals(summary[k], s[k], `summary.json ${k}`);
    assertNear(summary.cutoff, (nn + A) / 2, 0.05, "cutoff in the middle of the gap");
    assertEquals(summary.cutoff_source, "first-minimum");

    // Without --json: a readable summary on stdout, nothing else.
    const r = await analyze("--config", file, "--out", join(tmp, "out2"));
    assertEquals(r.code, 0, r.stderr);
    for (const part of ["1024 atoms (B 512, Fe 512)", "density", "mean 8.00", "<0,6,0,8> 100.0 %"]) {
      assertTrue(r.stdout.includes(part), `summary has ${part}: ${r.stdout}`);
    }
  });
});

Deno.test("cli md analyze: --species with a missing species, --cutoff, --device cpu, --lenient", async () => {
  await withTmp(async (tmp) => {
    const file = join(tmp, "b2.xyz");
    await Deno.writeTextFile(file, crystalXyz(B2, N, A, { claim: 2000 }));
    // The header claims 2000 atoms: an error naming the line, unless --lenient.
    assertCliError(await analyze("--config", file, "--out", join(tmp, "x")), file, "line 1", "2000");
    assertTrue(!(await exists(join(tmp, "x"))), "nothing written");
    const r = await analyze(
      "--config",
      file,
      "--lenient",
      "--species",
      "Fe,Re",
      "--cutoff",
      "3.0",
      "--device",
      "cpu",
      "--out",
      join(tmp, "out"),
      "--json",
    );
    const s = stdoutJson(r);
    const warnings = r.stderr.trim().split("\n");
    assertEquals(warnings.length, 2, r.stderr);
    assertTrue(warnings[0].startsWith("warning: ") && warnings[0].includes("2000"), warnings[0]);
    assertTrue(warnings[1].includes("species Re does not occur"), warnings[1]);
    // 8 first + 6 second neighbours within 3 Å; only Fe centres reported and ranked.
    assertEquals(s.coordination, { mean: 14, by_species: { Fe: 14 } });
    assertEquals(s.voronoi_top, [{ index: [0, 6, 0, 8], fraction: 1 }]);
    const names = [...Deno.readDirSync(join(tmp, "out"))].map((e) => e.name);
    assertTrue(
      names.includes("Fe_coordination_histogram.csv") && !names.includes("B_coordination_histogram.csv"),
    );
  });
});

Deno.test("cli md analyze: Voronoi thresholds on a jittered fcc crystal", async () => {
  await withTmp(async (tmp) => {
    const file = join(tmp, "fcc.xyz");
    await Deno.writeTextFile(file, crystalXyz(FCC, 6, 3.6, { jitter: 0.03, seed: 5 }));
    const common = ["--config", file, "--cutoff", "3.0", "--json"];
    const raw = stdoutJson(await analyze(...common, "--out", join(tmp, "raw")));
    assertTrue(raw.voronoi_top[0].fraction < 0.5, "noise splits fcc's degenerate vertices");
    const tidy = stdoutJson(
      await analyze(
        ...common,
        "--voronoi-area-threshold",
        "0.01",
        "--voronoi-edge-threshold",
        "0.1",
        "--out",
        join(tmp, "tidy"),
      ),
    );
    assertEquals(tidy.voronoi_top, [{ index: [0, 12, 0, 0], fraction: 1 }]);
    assertEquals(tidy.coordination.mean, 12);
  });
});

Deno.test("cli md analyze: bad flags and bad files → one error line, nothing written", async () => {
  await withTmp(async (tmp) => {
    const good = join(tmp, "b2.xyz"), out = join(tmp, "out");
    await Deno.writeTextFile(good, crystalXyz(B2, N, A));
    const badNumber = join(tmp, "bad_number.xyz");
    await Deno.writeTextFile(badNumber, crystalXyz(B2, 2, A).replace(/^Fe \S+/m, "Fe 1.0x"));
    const overlap = join(tmp, "overlap.xyz");
    // Two atoms at the same place: g(r) copes, a Voronoi cell cannot exist.
    await Deno.writeTextFile(overlap, crystalXyz([...B2, ["Fe", 0.5, 0.5, 0.5]], N, A));
    const g = ["--config", good, "--out", out];
    const cases: [string[], string[]][] = [
      [["--out", out], ["missing required flag --config"]],
      [["--config", good], ["missing required flag --out"]],
      [[...g, "--rmax", "-1"], ["flag --rmax", "-1"]],
      [[...g, "--rmax", "ten"], ["flag --rmax", "ten"]],
      [[...g, "--dr", "20"], ["flag --dr"]],
      [[...g, "--cutoff", "0"], ["flag --cutoff"]],
      [[...g, "--voronoi-area-threshold", "1.5"], ["flag --voronoi-area-threshold", "1.5"]],
      [[...g, "--voronoi-edge-threshold", "-0.1"], ["flag --voronoi-edge-threshold"]],
      [[...g, "--species", "B,,Fe"], ["flag --species"]],
      [[...g, "--species", "B,B"], ["flag --species", "'B' is listed twice"]],
      [[...g, "--species", "Xx"], ["flag --species", "Xx", good]],
      [[...g, "--format", "pdb"], ["flag --format", "pdb"]],
      [[...g, "--bogus"], ["bogus"]],
      [[...g, "extra"], ["unexpected argument 'extra'"]],
      [[...g, "--rmax", "15"], [good, "rmax", "half"]],
      [["--config", join(tmp, "missing.xyz"), "--out", out], ["missing.xyz"]],
      [["--config", badNumber, "--out", out], [badNumber, "line"]],
      [["--config", overlap, "--out", out, "--cutoff", "3"], [overlap, "same place"]],
    ];
    const results = await Promise.all(cases.map(([args]) => analyze(...args)));
    results.forEach((r, k) => assertCliError(r, ...cases[k][1]));
    assertTrue(!(await exists(out)), "no output folder after any failure");
    // --help works and lists the flags.
    const help = await analyze("--help");
    assertEquals(help.code, 0);
    assertTrue(help.stdout.includes("--voronoi-area-threshold") && help.stdout.includes("--config FILE"));
  });
});

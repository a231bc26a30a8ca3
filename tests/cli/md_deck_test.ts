/**
 * `alloy md deck` end to end: a 2-row candidates CSV → two folders with in.lammps, in.indent, in.tension,
 * README.txt and composition.json; the same seed gives byte-identical files; an element the potential lacks,
 * a bad composition or bad flags → one `error:` line and nothing written; `alloy md --help` lists the
 * subcommands.
 */
import { alloy, assertCliError, stdoutJson } from "./_helpers.ts";
import { assertEquals, assertTrue } from "../data/_helpers.ts";
import { join } from "../../data/paths.ts";
import { checkLammpsInput } from "../../md/lammps_syntax.ts";

const CANDIDATES = [
  "formula,B,Co,Fe,Nb,W,load,hv_mean,hv_std,hv_lcb,hv_lo,hv_hi,log_prior,novelty,accepted,method",
  "B68Fe4Nb24W4,0.68,0,0.04,0.24,0.04,9.8,2000.1,90.2,1851.8,1700,2150,-3.1,0.21,1,mcmc",
  "B64Co8Fe5Nb23,0.64,0.08,0.05,0.23,0,9.8,1950.3,95.1,1793.9,1690,2100,-3.4,0.19,1,mcmc",
].join("\n") + "\n";

async function withTemp(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "alloy_md_deck_cli_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function listing(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const sub of Deno.readDir(dir)) {
    for await (const f of Deno.readDir(join(dir, sub.name))) {
      out[`${sub.name}/${f.name}`] = await Deno.readTextFile(join(dir, sub.name, f.name));
    }
  }
  return out;
}

const POT = ["--potential", "/opt/potentials/sevennet.pt", "--pair-style", "e3gnn"];

Deno.test("md deck, 2-row candidates CSV: two folders, full decks, same seed → identical files", async () => {
  await withTemp(async (tmp) => {
    const csv = join(tmp, "candidates.csv");
    await Deno.writeTextFile(csv, CANDIDATES);
    const args = (out: string, seed = "3") => [
      "md",
      "deck",
      "--candidates",
      csv,
      ...POT,
      "--protocol",
      "nanoindent",
      "--protocol",
      "tension",
      "--atoms",
      "2000",
      "--seed",
      seed,
      "--out",
      join(tmp, out),
      "--json",
    ];
    const r = await alloy(args("a"));
    const j = stdoutJson(r);
    assertEquals(j.atoms, 2000);
    assertEquals(j.folders.map((f: { name: string }) => f.name), ["B68Fe4Nb24W4", "B64Co8Fe5Nb23"]);
    const a = await listing(join(tmp, "a"));
    const names = ["README.txt", "composition.json", "in.indent", "in.lammps", "in.tension"];
    assertEquals(Object.keys(a).sort(), [
      ...names.map((n) => `B64Co8Fe5Nb23/${n}`),
      ...names.map((n) => `B68Fe4Nb24W4/${n}`),
    ]);
    for (const folder of ["B68Fe4Nb24W4", "B64Co8Fe5Nb23"]) {
      const comp = JSON.parse(a[`${folder}/composition.json`]);
      const counts = comp.types.map((t: { count: number }) => t.count);
      assertEquals(counts.reduce((x: number, y: number) => x + y, 0), 2000);
      assertEquals(comp.input_unit, "fraction");
      for (const t of comp.types) {
        assertTrue(Math.abs(t.count - t.fraction_target * 2000) < 1, `${folder} ${t.element}`);
      }
      assertEquals(checkLammpsInput(a[`${folder}/in.lammps`]), []);
      const restart = { restart: { ntypes: comp.types.length } };
      assertEquals(checkLammpsInput(a[`${folder}/in.indent`], restart), []);
      assertEquals(checkLammpsInput(a[`${folder}/in.tension`], restart), []);
      assertTrue(a[`${folder}/in.lammps`].includes("pair_coeff      * * /opt/potentials/sevennet.pt"));
    }
    assertEquals(
      JSON.parse(a["B64Co8Fe5Nb23/composition.json"]).types.map((t: { element: string }) => t.element),
      ["B", "Fe", "Co", "Nb"],
    );
    assertTrue(/Cooling rate: 9\.875e\+13 K\/s/.test(a["B68Fe4Nb24W4/README.txt"]));
    // No temp files left behind by the atomic writes.
    assertTrue(Object.keys(a).every((k) => !k.includes(".tmp")));

    assertEquals((await alloy(args("b"))).code, 0);
    assertEquals(await listing(join(tmp, "b")), a);
    assertEquals((await alloy(args("c", "4"))).code, 0);
    const c = await listing(join(tmp, "c"));
    assertTrue(
      c["B68Fe4Nb24W4/in.lammps"] !== a["B68Fe4Nb24W4/in.lammps"],
      "another seed, other LAMMPS seeds",
    );
  });
});

Deno.test("md deck: a missing element, bad compositions and bad flags are one-line errors", async () => {
  await withTemp(async (tmp) => {
    const csv = join(tmp, "candidates.csv");
    await Deno.writeTextFile(csv, CANDIDATES);
    const out = join(tmp, "out");
    const base = ["md", "deck", "--candidates", csv, ...POT, "--out", out, "--atoms", "128"];
    assertCliError(
      await alloy([...base, "--potential-elements", "B,Fe,Nb,W"]),
      "does not support element Co",
    );
    assertCliError(
      await alloy([...base, "--elements-map", "B:B,Fe:Fe,Nb:Nb,W:W"]),
      "element Co",
      "--elements-map",
    );
    // A setfl potential's own element list is read from its header.
    const setfl = join(tmp, "BFeNb.eam.alloy");
    await Deno.writeTextFile(setfl, "c\nc\nc\n3 B Fe Nb\n10 0.1 10 0.1 5\n");
    const eam = [
      "md",
      "deck",
      "--formula",
      "B68Fe4Nb24W4",
      "--potential",
      setfl,
      "--pair-style",
      "eam/alloy",
    ];
    assertCliError(await alloy([...eam, "--out", out]), "does not support element W", "line 4");
    // Nothing was written by the failed runs.
    assertTrue(await Deno.stat(out).then(() => false, () => true), "no output folder");

    const bad = join(tmp, "bad.csv");
    await Deno.writeTextFile(bad, "formula,B,Fe\nB60Fe30,0.6,0.3\n");
    assertCliError(
      await alloy(["md", "deck", "--candidates", bad, ...POT, "--out", out]),
      "row 2",
      "sum to 0.9",
    );
    await Deno.writeTextFile(bad, "formula,B,Fe\nx,0.6,abc\n");
    assertCliError(
      await alloy(["md", "deck", "--candidates", bad, ...POT, "--out", out]),
      "row 2",
      "column Fe",
    );
    await Deno.writeTextFile(bad, "formula,load\nx,1\n");
    assertCliError(
      await alloy(["md", "deck", "--candidates", bad, ...POT, "--out", out]),
      "no element columns",
    );
    assertCliError(await alloy([...base, "--formula", "B50Fe50"]), "exactly one of --candidates");
    assertCliError(await alloy(["md", "deck", "--formula", "B50Fe50", "--out", out]), "--potential");
    assertCliError(await alloy([...base, "--protocol", "shear"]), "unknown protocol 'shear'");
    assertCliError(await alloy([...base, "--t-high", "40"]), "--t-high");
    assertCliError(await alloy([...base, "--pair-style", "eam"]), "'eam'");
    assertCliError(await alloy([...base, "--cooling-rate", "1e12", "--quench-ps", "10"]), "--cooling-rate");
    assertCliError(await alloy([...base, "--lattice", "hcp"]), "--lattice");
    assertCliError(await alloy([...base, "--bogus"]), "md deck", "bogus");
    assertTrue(await Deno.stat(out).then(() => false, () => true), "no output folder");
  });
});

Deno.test("md: --help lists the subcommands; formulas, --top and the nearest cell", async () => {
  const help = await alloy(["md", "--help"]);
  assertEquals(help.code, 0);
  assertTrue(/deck/.test(help.stdout) && /analyze/.test(help.stdout), help.stdout);
  const deckHelp = await alloy(["md", "deck", "--help"]);
  assertTrue(deckHelp.stdout.includes("--potential FILE") && deckHelp.stdout.includes("--cooling-rate"));
  assertCliError(await alloy(["md", "shake"]), "unknown subcommand 'shake'");
  await withTemp(async (tmp) => {
    const csv = join(tmp, "candidates.csv");
    await Deno.writeTextFile(csv, CANDIDATES);
    const r = await alloy([
      "md",
      "deck",
      "--candidates",
      csv,
      "--top",
      "1",
      ...POT,
      "--atoms",
      "10000",
      "--out",
      join(tmp, "o"),
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertTrue(/9826 \(17 × 17 × 17 cells\), the nearest achievable/.test(r.stderr), r.stderr);
    assertEquals([...Deno.readDirSync(join(tmp, "o"))].map((e) => e.name), ["B68Fe4Nb24W4"]);
    const f = await alloy([
      "md",
      "deck",
      "--formula",
      "(Fe0.5Co0.5)80B20",
      ...POT,
      "--atoms",
      "250",
      "--out",
      tmp,
    ]);
    assertEquals(f.code, 0, f.stderr);
    const comp = JSON.parse(await Deno.readTextFile(join(tmp, "B20Fe40Co40", "composition.json")));
    assertEquals(comp.types.map((t: { count: number }) => t.count), [50, 100, 100]);
  });
});

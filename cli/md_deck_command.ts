/**
 * `alloy md deck`: LAMMPS input decks for designed alloys — one folder per alloy (named from its formula)
 * with in.lammps (melt–quench), optionally in.indent and in.tension, README.txt and composition.json. The
 * compositions come from a candidates CSV (`deno task design` output: the element columns are used, fractions
 * or at.%, checked) or from `--formula`. See md/lammps_deck.ts for the protocol and md/composition_atoms.ts
 * for the atom counts.
 *
 * Everything is read, checked and generated in memory first (every deck also passes md/lammps_syntax.ts), so
 * bad input — a composition that does not sum to 100 or 1, an element the potential lacks, a bad flag — fails
 * with one `error:` line and writes nothing; files are then written atomically. Same inputs and `--seed` →
 * identical files.
 * @module
 */
import { type Command, type FlagSpec, intFlag, numberFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { readCsvFile } from "../data/csv.ts";
import { isElementSymbol } from "../data/elements.ts";
import { join } from "../data/paths.ts";
import { compositionFromAmounts, compositionFromFormula } from "../md/composition_atoms.ts";
import {
  type AlloySpec,
  buildDeckFolder,
  compositionFormula,
  type DeckFolder,
  type DeckOptions,
  folderName,
  writeDeckFolder,
} from "../md/deck_folder.ts";
import {
  CELL_DEFAULTS,
  cellRepeats,
  cellTypes,
  checkProtocols,
  INDENT_DEFAULTS,
  LATTICE_SITES,
  type LatticeStyle,
  MELT_QUENCH_DEFAULTS,
  type MeltQuenchProtocol,
  pairStyleKnown,
  type PotentialSpec,
  type Protocol,
  PROTOCOLS,
  TENSION_DEFAULTS,
} from "../md/lammps_deck.ts";
import { potentialFileElements } from "../md/potential_elements.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

const M = MELT_QUENCH_DEFAULTS, I = INDENT_DEFAULTS, T = TENSION_DEFAULTS;

function n(help: string, value = "X", def?: number | string): FlagSpec {
  return { type: "string", value, help, ...(def !== undefined ? { default: String(def) } : {}) };
}

/** Largest atom count accepted. */
const MAX_ATOMS = 100_000_000;

const FLAGS: Record<string, FlagSpec> = {
  candidates: n("candidates CSV (from `deno task design`; element columns in fractions or at.%)", "CSV"),
  top: n("use only the first K rows of --candidates", "K"),
  formula: {
    type: "string",
    multiple: true,
    value: "F",
    help: "an alloy formula, e.g. B68Fe4Nb24W4 (repeatable)",
  },
  potential: n("potential file, referenced in pair_coeff (never copied)", "FILE"),
  "pair-style": n("LAMMPS pair style (with its arguments), e.g. eam/alloy, e3gnn", "STYLE"),
  "elements-map": {
    type: "string",
    multiple: true,
    value: "A:B,…",
    help: "potential label of each alloy element (then every element must be listed)",
  },
  "potential-elements": n("elements the potential supports (default: the setfl header for eam/*)", "A,B,…"),
  protocol: {
    type: "string",
    multiple: true,
    value: "P,…",
    help: "melt-quench (always written), nanoindent, tension; repeatable or comma list",
  },
  atoms: n("atom count (the nearest achievable cell is used)", "N", CELL_DEFAULTS.atoms),
  lattice: n("start lattice: bcc, fcc or sc", "STYLE", CELL_DEFAULTS.lattice),
  "lattice-constant": n("lattice constant (Å)", "A", CELL_DEFAULTS.a),
  seed: n("seed of the LAMMPS random seeds", "S", 1),
  out: n("output folder (one subfolder per alloy)", "DIR"),
  "t-low": n("start, quench-end and hold temperature (K)", "K", M.tLow),
  "t-high": n("melt temperature (K)", "K", M.tHigh),
  "heat-ps": n(`heating time (ps) (default: ${M.heatPs})`, "PS"),
  "melt-hold-ps": n("hold time of the melt (ps)", "PS", M.meltHoldPs),
  "quench-ps": n(`quench time (ps) (default: ${M.quenchPs})`, "PS"),
  "final-hold-ps": n("hold time of the glass (ps)", "PS", M.finalHoldPs),
  "heating-rate": n("heating rate (K/s), instead of --heat-ps", "K/S"),
  "cooling-rate": n("cooling rate (K/s), instead of --quench-ps", "K/S"),
  "timestep-fs": n("MD timestep (fs)", "FS", M.timestepFs),
  "tdamp-ps": n("thermostat damping time (ps)", "PS", M.tdampPs),
  "pdamp-ps": n("barostat damping time (ps)", "PS", M.pdampPs),
  "pressure-bar": n("pressure (bar)", "BAR", M.pressureBar),
  "thermo-every": n("thermo output interval (steps)", "N", M.thermoEvery),
  "dump-every": n("dump interval (steps)", "N", M.dumpEvery),
  "indent-radius": n("indenter radius (Å)", "A", I.radiusA),
  "indent-speed": n("indenter speed (m/s)", "V", I.speedMs),
  "indent-depth": n("maximum indentation depth (Å)", "A", I.depthA),
  "indent-k": n("indenter force constant (eV/Å³)", "K", I.forceConstant),
  "indent-gap": n("initial gap between indenter and surface (Å)", "A", I.gapA),
  "indent-fixed": n("fixed bottom layer thickness (Å)", "A", I.fixedA),
  "indent-temperature": n("indentation temperature (K; default --t-low)", "K"),
  "tension-rate": n("tensile strain rate (1/s)", "R", T.strainRate),
  "tension-strain": n("final tensile strain", "E", T.maxStrain),
  "tension-temperature": n("tension temperature (K; default --t-low)", "K"),
  json: { type: "boolean", help: "print one JSON object on stdout instead of the summary" },
};

/** Splits repeatable, comma-separated list flags into trimmed non-empty items. */
function listItems(v: string | boolean | string[] | undefined): string[] {
  if (v === undefined || typeof v === "boolean") return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(",")).map((s) => s.trim()).filter((s) =>
    s !== ""
  );
}

function protocols(flags: Flags): Protocol[] {
  const items = listItems(flags.protocol);
  for (const p of items) {
    if (!PROTOCOLS.includes(p as Protocol)) {
      throw new UserError(`flag --protocol: unknown protocol '${p}' (expected ${PROTOCOLS.join(", ")})`);
    }
  }
  return PROTOCOLS.filter((p) => p === "melt-quench" || items.includes(p));
}

function elementsMap(flags: Flags): Record<string, string> | undefined {
  const items = listItems(flags["elements-map"]);
  if (flags["elements-map"] === undefined) return undefined;
  if (items.length === 0) throw new UserError("flag --elements-map: the list is empty");
  const map: Record<string, string> = {};
  for (const it of items) {
    const m = /^([^:\s]+):([^:\s]+)$/.exec(it);
    if (!m) throw new UserError(`flag --elements-map: expected ELEMENT:LABEL pairs, got '${it}'`);
    if (!isElementSymbol(m[1])) {
      throw new UserError(`flag --elements-map: '${m[1]}' is not an element symbol`);
    }
    if (m[1] in map) throw new UserError(`flag --elements-map: ${m[1]} is mapped twice`);
    map[m[1]] = m[2];
  }
  return map;
}

function melt(flags: Flags): MeltQuenchProtocol {
  const p: MeltQuenchProtocol = {
    tLow: numberFlag(flags, "t-low", M.tLow),
    tHigh: numberFlag(flags, "t-high", M.tHigh),
    heatPs: numberFlag(flags, "heat-ps", M.heatPs),
    meltHoldPs: numberFlag(flags, "melt-hold-ps", M.meltHoldPs),
    quenchPs: numberFlag(flags, "quench-ps", M.quenchPs),
    finalHoldPs: numberFlag(flags, "final-hold-ps", M.finalHoldPs),
    timestepFs: numberFlag(flags, "timestep-fs", M.timestepFs),
    tdampPs: numberFlag(flags, "tdamp-ps", M.tdampPs),
    pdampPs: numberFlag(flags, "pdamp-ps", M.pdampPs),
    pressureBar: numberFlag(flags, "pressure-bar", M.pressureBar),
    thermoEvery: intFlag(flags, "thermo-every", M.thermoEvery, 1),
    dumpEvery: intFlag(flags, "dump-every", M.dumpEvery, 1),
  };
  // A rate replaces the corresponding duration: ΔT / rate.
  for (
    const [rateFlag, psFlag, key] of [
      ["heating-rate", "heat-ps", "heatPs"],
      ["cooling-rate", "quench-ps", "quenchPs"],
    ] as const
  ) {
    if (flags[rateFlag] === undefined) continue;
    if (flags[psFlag] !== undefined) {
      throw new UserError(`flags --${rateFlag} and --${psFlag} both set the same stage; give one`);
    }
    const rate = numberFlag(flags, rateFlag);
    if (!(rate > 0)) {
      throw new UserError(`flag --${rateFlag}: expected a rate > 0 (K/s), got '${flags[rateFlag]}'`);
    }
    p[key] = ((p.tHigh - p.tLow) / rate) * 1e12;
  }
  return p;
}

function optionalNumber(flags: Flags, name: string): number | undefined {
  return flags[name] === undefined ? undefined : numberFlag(flags, name);
}

/** Relative path from folder `from` to `to` (both relative to the working directory or absolute). */
function relativePath(from: string, to: string): string {
  const abs = (p: string) =>
    (p.startsWith("/") ? join(p) : join(Deno.cwd(), p)).split("/").filter((s) => s !== "");
  const a = abs(from), b = abs(to);
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return [...Array(a.length - k).fill(".."), ...b.slice(k)].join("/") || ".";
}

async function fileExists(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isFile;
  } catch {
    return false;
  }
}

/** The alloys of a candidates CSV: element columns, first `top` rows, folder names from the formula. */
async function candidateAlloys(path: string, top: number | undefined): Promise<AlloySpec[]> {
  const t = await readCsvFile(path);
  const cols = t.header.map((h, j) => [h, j] as const).filter(([h]) => isElementSymbol(h));
  if (cols.length === 0) {
    throw new UserError(`${path}: no element columns (headers that are element symbols, e.g. B, Fe, Nb)`);
  }
  const fcol = t.header.findIndex((h) => h.toLowerCase() === "formula");
  const rows = top === undefined ? t.records : t.records.slice(0, top);
  if (rows.length === 0) throw new UserError(`${path}: no data rows`);
  return rows.map((r) => {
    const where = `${path} row ${r.line}`;
    const amounts = cols.map(([h, j]): [string, number] => {
      const cell = r.cells[j].trim();
      const v = Number(cell);
      if (cell === "" || !Number.isFinite(v)) {
        throw new UserError(`${where}, column ${h}: expected a number, got '${r.cells[j]}'`);
      }
      return [h, v];
    });
    const composition = compositionFromAmounts(amounts, where);
    const formula = fcol >= 0 ? r.cells[fcol].trim() : "";
    return { name: folderName(formula || compositionFormula(composition)), composition, source: where };
  });
}

/** Gives repeated folder names a `-2`, `-3`, … suffix (in order). */
function uniqueNames(alloys: AlloySpec[]): AlloySpec[] {
  const seen = new Map<string, number>();
  return alloys.map((a) => {
    const k = (seen.get(a.name) ?? 0) + 1;
    seen.set(a.name, k);
    return k === 1 ? a : { ...a, name: `${a.name}-${k}` };
  });
}

async function run(flags: Flags): Promise<number> {
  const csv = stringFlag(flags, "candidates");
  const formulas = flags.formula === undefined
    ? []
    : (Array.isArray(flags.formula) ? flags.formula : [String(flags.formula)]).filter((f) => f.trim() !== "");
  if ((csv === undefined) === (formulas.length === 0)) {
    throw new UserError("md deck: give exactly one of --candidates CSV or --formula F");
  }
  if (flags.top !== undefined && csv === undefined) {
    throw new UserError("flag --top: only used with --candidates");
  }
  const top = flags.top === undefined ? undefined : intFlag(flags, "top", 1, 1);
  const potentialPath = stringFlag(flags, "potential");
  if (!potentialPath) throw new UserError("md deck: missing required flag --potential FILE");
  const pairStyle = stringFlag(flags, "pair-style")?.trim();
  if (!pairStyle) throw new UserError("md deck: missing required flag --pair-style STYLE");
  const out = stringFlag(flags, "out");
  if (!out) throw new UserError("md deck: missing required flag --out DIR");
  const lattice = stringFlag(flags, "lattice") ?? CELL_DEFAULTS.lattice;
  if (!(lattice in LATTICE_SITES)) {
    throw new UserError(
      `flag --lattice: expected ${Object.keys(LATTICE_SITES).join(", ")}, got '${lattice}'`,
    );
  }
  const a = numberFlag(flags, "lattice-constant", CELL_DEFAULTS.a);
  if (!(a > 0)) {
    throw new UserError(
      `flag --lattice-constant: expected a length > 0 (Å), got '${flags["lattice-constant"]}'`,
    );
  }
  const o: DeckOptions = {
    atoms: intFlag(flags, "atoms", CELL_DEFAULTS.atoms, 1, MAX_ATOMS),
    lattice: lattice as LatticeStyle,
    latticeConstant: a,
    seed: intFlag(flags, "seed", 1, 0, 0xffffffff),
    potential: { file: potentialPath, pairStyle },
    protocols: protocols(flags),
    melt: melt(flags),
    indent: {
      radiusA: numberFlag(flags, "indent-radius", I.radiusA),
      speedMs: numberFlag(flags, "indent-speed", I.speedMs),
      depthA: numberFlag(flags, "indent-depth", I.depthA),
      forceConstant: numberFlag(flags, "indent-k", I.forceConstant),
      gapA: numberFlag(flags, "indent-gap", I.gapA),
      fixedA: numberFlag(flags, "indent-fixed", I.fixedA),
      temperature: optionalNumber(flags, "indent-temperature"),
    },
    tension: {
      strainRate: numberFlag(flags, "tension-rate", T.strainRate),
      maxStrain: numberFlag(flags, "tension-strain", T.maxStrain),
      temperature: optionalNumber(flags, "tension-temperature"),
    },
  };
  checkProtocols(o.melt, o.indent, o.tension);

  // The potential: its element list (flag, else setfl header), the label map, how the deck refers to it.
  const map = elementsMap(flags);
  const listed = listItems(flags["potential-elements"]);
  if (flags["potential-elements"] !== undefined && listed.length === 0) {
    throw new UserError("flag --potential-elements: the list is empty");
  }
  const exists = await fileExists(potentialPath);
  const notes: string[] = [];
  const pot: PotentialSpec = {
    file: potentialPath,
    shownAs: potentialPath,
    pairStyle,
    labels: map,
    labelsComplete: map !== undefined,
  };
  if (listed.length > 0) {
    pot.supported = listed;
    pot.supportedSource = "--potential-elements";
  } else if (exists) {
    const fromFile = await potentialFileElements(potentialPath, pairStyle);
    if (fromFile) {
      pot.supported = fromFile;
      pot.supportedSource = `${potentialPath} line 4`;
    }
  }
  notes.push(
    pot.supported
      ? `Elements of the potential (${pot.supportedSource}): ${
        pot.supported.join(", ")
      }; every type was checked.`
      : "The potential's element list was not checked (give --potential-elements to check it).",
  );
  if (map) {
    notes.push(`Labels from --elements-map: ${Object.entries(map).map(([k, v]) => `${k}:${v}`).join(", ")}.`);
  }
  const warnings: string[] = [];
  if (!pairStyleKnown(pairStyle)) {
    const note =
      `pair style '${pairStyle.split(/\s+/)[0]}' is not one this generator knows; pair_coeff is written ` +
      "as '* * FILE labels…' (check that the style takes that form)";
    warnings.push(note);
    notes.push(`Note: ${note}.`);
  }
  if (!exists) {
    warnings.push(
      `potential file ${potentialPath} not found here; the decks reference it as given` +
        (potentialPath.startsWith("/") ? "" : " (relative to each deck folder when LAMMPS runs there)"),
    );
  }

  const alloys = uniqueNames(
    csv !== undefined ? await candidateAlloys(csv, top) : formulas.map((f) => {
      const composition = compositionFromFormula(f);
      return { name: folderName(compositionFormula(composition)), composition, source: `formula '${f}'` };
    }),
  );

  // Build everything before writing anything.
  const folders: DeckFolder[] = alloys.map((al) => {
    const dir = join(out, al.name);
    const file = exists && !potentialPath.startsWith("/") ? relativePath(dir, potentialPath) : potentialPath;
    const options: DeckOptions = {
      ...o,
      potential: { ...pot, file },
      potentialNotes: [
        ...(file !== potentialPath ? [`(${potentialPath} as seen from this folder.)`] : []),
        ...notes,
      ],
    };
    return buildDeckFolder(al, options);
  });
  const cell = cellRepeats(o.lattice, a, o.atoms);
  if (cell.atoms !== o.atoms) {
    warnings.push(
      `no ${o.lattice} cell holds exactly ${o.atoms} atoms; using ${cell.atoms} (${
        cell.repeats.join(" × ")
      } cells), ` +
        "the nearest achievable",
    );
  }
  for (const f of folders) {
    if (f.counts.dropped.length > 0) {
      warnings.push(
        `${f.name}: ${
          f.counts.dropped.join(", ")
        } round(s) to 0 atoms at ${f.counts.total} atoms and is left out`,
      );
    }
  }
  for (const w of warnings) console.error(`warning: ${w}`);

  const written: { name: string; dir: string; files: string[] }[] = [];
  for (const f of folders) {
    written.push({ name: f.name, dir: await writeDeckFolder(out, f), files: [...f.files.keys()] });
  }
  if (flags.json === true) {
    console.log(JSON.stringify({
      out,
      atoms: cell.atoms,
      atoms_requested: o.atoms,
      lattice: { style: cell.style, a, repeats: cell.repeats },
      protocols: o.protocols,
      seed: o.seed,
      folders: folders.map((f, i) => ({
        name: f.name,
        dir: written[i].dir,
        counts: Object.fromEntries(cellTypes(f.counts).map((t) => [t.element, t.count])),
        dropped: f.counts.dropped,
        files: written[i].files,
      })),
      warnings,
    }));
  } else {
    for (const [i, f] of folders.entries()) {
      const counts = cellTypes(f.counts).map((t) => `${t.element} ${t.count}`).join(", ");
      console.log(`${written[i].dir}: ${f.counts.total} atoms (${counts}); ${written[i].files.join(", ")}`);
    }
  }
  return 0;
}

/** The `md deck` subcommand. */
export const mdDeckCommand: Command = {
  name: "md deck",
  summary: "LAMMPS decks (melt–quench, nanoindentation, tension) for designed alloys",
  usage: "(--candidates CSV [--top K] | --formula F) --potential FILE --pair-style STYLE --out DIR [flags]",
  flags: FLAGS,
  run,
};

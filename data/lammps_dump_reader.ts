/**
 * LAMMPS `dump custom` / `dump atom` text reader. Each frame is a run of items:
 * `ITEM: TIMESTEP`, `ITEM: NUMBER OF ATOMS`, `ITEM: BOX BOUNDS …` and `ITEM: ATOMS <columns>` followed by one line
 * per atom (other items such as `UNITS` or `TIME` are skipped). Box bounds may be orthogonal (`pp pp pp`: lo hi per
 * axis), restricted triclinic (`xy xz yz pp pp pp`: bounding box + tilt factor per axis) or general triclinic
 * (`abc origin pp pp pp`: a vector and an origin component per line). Positions come from `x y z`, `xu yu zu`,
 * `xs ys zs` or `xsu ysu zsu` (first present, in that order; scaled ones are fractional in the cell). Species come
 * from an `element` column, else from `type` through `typeNames` (type t → `typeNames[t − 1]`), else the type number.
 * The last frame is read unless `frame` says otherwise.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { type AtomConfig, type CellBox, fractionalToCartesian, makeAtomConfig } from "./atom_config.ts";
import {
  at,
  countMismatch,
  countMismatchWarning,
  fields,
  parseCount,
  parseInteger,
  parseReal,
  readConfigText,
  splitLines,
} from "./config_text.ts";

/** Options of the LAMMPS dump reader. */
export interface DumpReadOptions {
  /** Read the atom lines that are there when NUMBER OF ATOMS disagrees (default false: that is an error). */
  lenient?: boolean;
  /** Which frame: 0-based, negative counts from the end (default −1, the last). */
  frame?: number;
  /** Species of LAMMPS types 1, 2, … (used when the dump has no `element` column). */
  typeNames?: readonly string[];
}

/** Where one frame's items lie (0-based line indices; −1 = item missing). */
interface DumpFrame {
  timestep: number;
  countLine: number;
  boxLine: number;
  atomsLine: number;
  /** Number of atom lines after `ITEM: ATOMS` (up to the next item or the end, trailing blank lines excluded). */
  found: number;
}

const POSITION_SETS: [string, string, string, boolean][] = [
  ["x", "y", "z", false],
  ["xu", "yu", "zu", false],
  ["xs", "ys", "zs", true],
  ["xsu", "ysu", "zsu", true],
];

/**
 * Reads a LAMMPS text dump.
 * @throws {UserError} one line naming the file and line for unreadable or malformed input
 */
export async function readLammpsDump(path: string, options: DumpReadOptions = {}): Promise<AtomConfig> {
  return parseLammpsDump(await readConfigText(path), path, options);
}

/**
 * Parses LAMMPS dump text; `source` names it in messages and in the result.
 * @throws {UserError} one line naming `source` and the line for malformed input
 */
export function parseLammpsDump(text: string, source: string, options: DumpReadOptions = {}): AtomConfig {
  const lines = splitLines(text);
  const frames = scanDumpFrames(lines, source);
  if (frames.length === 0) throw new UserError(`${source}: no 'ITEM: ATOMS' section (not a LAMMPS dump?)`);
  const k = options.frame ?? -1;
  const idx = k < 0 ? frames.length + k : k;
  if (!Number.isInteger(k) || idx < 0 || idx >= frames.length) {
    throw new UserError(`${source}: frame ${k} does not exist (the file holds ${frames.length} frame(s))`);
  }
  return parseDumpFrame(lines, frames[idx], source, options);
}

/** Splits the file into frames by its ITEM lines; checks the item order but not the atom lines. */
function scanDumpFrames(lines: string[], file: string): DumpFrame[] {
  const frames: DumpFrame[] = [];
  let cur: DumpFrame = { timestep: -1, countLine: -1, boxLine: -1, atomsLine: -1, found: 0 };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i].trim();
    if (line === "") {
      i++;
      continue;
    }
    if (!line.startsWith("ITEM:")) {
      throw new UserError(`${at(file, i + 1)}: expected an 'ITEM:' line, found '${clip(line)}'`);
    }
    const item = line.slice(5).trim();
    if (item === "TIMESTEP") {
      const t = lines[i + 1]?.trim() ?? "";
      // Timesteps are 64-bit in LAMMPS, so only the form is checked.
      if (!/^\d+$/.test(t)) {
        throw new UserError(`${at(file, i + 2)}: timestep '${clip(t)}' is not a non-negative integer`);
      }
      cur.timestep = Number(t);
      i += 2;
    } else if (item === "NUMBER OF ATOMS") {
      parseCount(lines[i + 1]?.trim() ?? "", at(file, i + 2), "number of atoms");
      cur.countLine = i;
      i += 2;
    } else if (item.startsWith("BOX BOUNDS")) {
      for (let r = 1; r <= 3; r++) {
        if (i + r >= lines.length || lines[i + r].trimStart().startsWith("ITEM:")) {
          throw new UserError(`${at(file, i + 1 + r)}: ITEM: BOX BOUNDS needs 3 bound lines, found ${r - 1}`);
        }
      }
      cur.boxLine = i;
      i += 4;
    } else if (item === "ATOMS" || item.startsWith("ATOMS ")) {
      if (cur.countLine < 0) {
        throw new UserError(`${at(file, i + 1)}: ITEM: ATOMS before ITEM: NUMBER OF ATOMS`);
      }
      if (cur.boxLine < 0) throw new UserError(`${at(file, i + 1)}: ITEM: ATOMS before ITEM: BOX BOUNDS`);
      cur.atomsLine = i;
      let j = i + 1;
      while (j < lines.length && !lines[j].trimStart().startsWith("ITEM:")) j++;
      let end = j;
      while (end > i + 1 && lines[end - 1].trim() === "") end--;
      cur.found = end - (i + 1);
      frames.push(cur);
      cur = { timestep: -1, countLine: -1, boxLine: -1, atomsLine: -1, found: 0 };
      i = j;
    } else {
      // UNITS, TIME or another item we do not use: skip its lines.
      i++;
      while (i < lines.length && !lines[i].trimStart().startsWith("ITEM:")) i++;
    }
  }
  if (cur.countLine >= 0 || cur.boxLine >= 0) {
    throw new UserError(`${file}: the last frame has no 'ITEM: ATOMS' section (file cut short?)`);
  }
  return frames;
}

function clip(s: string): string {
  const t = s.trim();
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}

/**
 * Parses a BOX BOUNDS item (header at line index `i`) into a cell; records a warning for non-periodic boundaries.
 * @throws {UserError} naming the line for a malformed box
 */
function parseBoxBounds(lines: string[], i: number, file: string, warnings: string[]): CellBox {
  const head = fields(lines[i]).slice(3); // after "ITEM: BOX BOUNDS"
  const general = head[0] === "abc" && head[1] === "origin";
  const tilted = !general && head[0] === "xy" && head[1] === "xz" && head[2] === "yz";
  const flags = head.slice(general ? 2 : tilted ? 3 : 0);
  if (flags.length > 0 && flags.some((f) => f !== "pp")) {
    warnings.push(
      `${at(file, i + 1)}: boundary '${flags.join(" ")}' is not periodic everywhere; treated as periodic`,
    );
  }
  const width = general ? 4 : tilted ? 3 : 2;
  const rows: number[][] = [];
  for (let r = 1; r <= 3; r++) {
    const w = at(file, i + 1 + r);
    const f = i + r < lines.length ? fields(lines[i + r]) : [];
    if (f.length !== width) {
      const kind = general ? "abc origin" : tilted ? "triclinic (xy xz yz)" : "orthogonal";
      throw new UserError(`${w}: ${kind} BOX BOUNDS line needs ${width} numbers, found ${f.length}`);
    }
    rows.push(f.map((t, c) => parseReal(t, w, `box bound ${c + 1}`)));
  }
  if (general) {
    return {
      h: Float64Array.of(...rows[0].slice(0, 3), ...rows[1].slice(0, 3), ...rows[2].slice(0, 3)),
      origin: [rows[0][3], rows[1][3], rows[2][3]],
    };
  }
  const [xy, xz, yz] = tilted ? [rows[0][2], rows[1][2], rows[2][2]] : [0, 0, 0];
  // The dump gives the bounding box of the tilted cell; recover the cell's own lo/hi (LAMMPS Howto triclinic).
  const xlo = rows[0][0] - Math.min(0, xy, xz, xy + xz);
  const xhi = rows[0][1] - Math.max(0, xy, xz, xy + xz);
  const ylo = rows[1][0] - Math.min(0, yz);
  const yhi = rows[1][1] - Math.max(0, yz);
  const zlo = rows[2][0], zhi = rows[2][1];
  for (const [lo, hi, ax] of [[xlo, xhi, "x"], [ylo, yhi, "y"], [zlo, zhi, "z"]] as const) {
    if (!(hi > lo)) {
      throw new UserError(`${at(file, i + 1)}: BOX BOUNDS give ${ax}hi ≤ ${ax}lo (${hi} ≤ ${lo})`);
    }
  }
  return {
    h: Float64Array.of(xhi - xlo, 0, 0, xy, yhi - ylo, 0, xz, yz, zhi - zlo),
    origin: [xlo, ylo, zlo],
  };
}

function parseDumpFrame(lines: string[], fr: DumpFrame, file: string, options: DumpReadOptions): AtomConfig {
  const warnings: string[] = [];
  const claimed = Number(lines[fr.countLine + 1].trim());
  if (fr.found !== claimed) {
    if (!options.lenient) throw new UserError(countMismatch(file, fr.countLine + 2, claimed, fr.found));
    warnings.push(countMismatchWarning(file, fr.countLine + 2, claimed, fr.found));
  }
  const box = parseBoxBounds(lines, fr.boxLine, file, warnings);

  const headWhere = at(file, fr.atomsLine + 1);
  const cols = fields(lines[fr.atomsLine]).slice(2);
  if (new Set(cols).size !== cols.length) {
    throw new UserError(`${headWhere}: ITEM: ATOMS lists a column twice`);
  }
  const col = (name: string) => cols.indexOf(name);
  const set = POSITION_SETS.find(([a, b, c]) => col(a) >= 0 && col(b) >= 0 && col(c) >= 0);
  if (!set) {
    throw new UserError(
      `${headWhere}: ITEM: ATOMS has no position columns (x y z, xu yu zu, xs ys zs or xsu ysu zsu)`,
    );
  }
  const [cx, cy, cz] = [col(set[0]), col(set[1]), col(set[2])];
  const scaled = set[3];
  const cElement = col("element"), cType = col("type"), cId = col("id"), cMass = col("mass");
  if (cElement < 0 && cType < 0) {
    throw new UserError(`${headWhere}: ITEM: ATOMS has neither an element nor a type column`);
  }
  const typeNames = options.typeNames;
  if (cElement < 0 && !typeNames) {
    warnings.push(`${headWhere}: no element column and no type names; species are the LAMMPS type numbers`);
  }

  const n = fr.found;
  const coords = new Float64Array(3 * n);
  const species: string[] = new Array(n);
  const ids = cId >= 0 ? new Int32Array(n) : undefined;
  const masses = cMass >= 0 ? new Float64Array(n) : undefined;
  for (let a = 0; a < n; a++) {
    const li = fr.atomsLine + 1 + a;
    const w = at(file, li + 1);
    const f = fields(lines[li]);
    if (f.length !== cols.length) {
      throw new UserError(`${w}: atom line has ${f.length} fields, ITEM: ATOMS names ${cols.length} columns`);
    }
    coords[3 * a] = parseReal(f[cx], w, set[0]);
    coords[3 * a + 1] = parseReal(f[cy], w, set[1]);
    coords[3 * a + 2] = parseReal(f[cz], w, set[2]);
    if (cElement >= 0) species[a] = f[cElement];
    else {
      const t = parseInteger(f[cType], w, "type");
      if (typeNames) {
        if (t < 1 || t > typeNames.length) {
          throw new UserError(`${w}: atom type ${t} has no species (${typeNames.length} type names given)`);
        }
        species[a] = typeNames[t - 1];
      } else species[a] = String(t);
    }
    if (ids) ids[a] = parseInteger(f[cId], w, "id");
    if (masses) {
      const m = parseReal(f[cMass], w, "mass");
      if (!(m > 0)) throw new UserError(`${w}: mass ${m} must be positive`);
      masses[a] = m;
    }
  }
  return makeAtomConfig({
    box,
    positions: scaled ? fractionalToCartesian(box, coords) : coords,
    species,
    ids,
    masses,
    source: file,
    warnings,
  });
}

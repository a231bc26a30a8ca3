/**
 * AtomEye CFG reader — the format LAMMPS `dump cfg` writes and the reference's post-processing reads (§8.3):
 * a header of `Number of particles = N`, `A = scale Angstrom`, `H0(i,j) = v A` (row i = cell vector i, times A),
 * optional `.NO_VELOCITY.`, `entry_count = E` and `auxiliary[k] = name` lines, then the atoms. In the extended form
 * (with `entry_count`) a mass line and a symbol line start each block of atoms of one species — LAMMPS repeats them
 * before every atom — and each atom line holds E numbers: `xs ys zs` (fractional), velocities unless
 * `.NO_VELOCITY.`, then the auxiliary columns (an `id` column becomes the atom ids). The older standard form has
 * one line per atom: `mass symbol xs ys zs vx vy vz`. Cartesian positions are s·H with the origin at 0.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { type AtomConfig, fractionalToCartesian, makeAtomConfig } from "./atom_config.ts";
import {
  at,
  countMismatch,
  countMismatchWarning,
  fields,
  isReal,
  parseCount,
  parseReal,
  readConfigText,
  splitLines,
} from "./config_text.ts";

/** Options of the CFG reader. */
export interface CfgReadOptions {
  /** Read the atoms that are there when `Number of particles` disagrees (default false: that is an error). */
  lenient?: boolean;
}

const HEADER_LINE = /^([^=]+?)\s*=\s*(.*)$/;
const H0_KEY = /^H0\(([123]),([123])\)$/;
const TRANSFORM_KEY = /^(Transform|eta)\(([123]),([123])\)$/;
const AUX_KEY = /^auxiliary\[(\d+)\]$/;

/**
 * Reads a CFG file.
 * @throws {UserError} one line naming the file and line for unreadable or malformed input
 */
export async function readCfg(path: string, options: CfgReadOptions = {}): Promise<AtomConfig> {
  return parseCfg(await readConfigText(path), path, options);
}

/**
 * Parses CFG text; `source` names it in messages and in the result.
 * @throws {UserError} one line naming `source` and the line for malformed input
 */
export function parseCfg(text: string, source: string, options: CfgReadOptions = {}): AtomConfig {
  const lines = splitLines(text);
  const warnings: string[] = [];
  let claimed = -1, countLine = -1, scale = 1, entryCount = -1, entryLine = -1, noVelocity = false;
  const h0: (number | undefined)[] = new Array(9).fill(undefined);
  const aux: string[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === "" || t.startsWith("#")) continue;
    if (t === ".NO_VELOCITY.") {
      noVelocity = true;
      continue;
    }
    const m = HEADER_LINE.exec(t);
    if (!m) break; // first data line
    const w = at(source, i + 1);
    const [key, rest] = [m[1].trim(), fields(m[2])];
    const value = rest[0] ?? "";
    let hm: RegExpExecArray | null;
    if (key === "Number of particles") {
      claimed = parseCount(value, w, "Number of particles");
      countLine = i;
    } else if (key === "A") {
      scale = parseReal(value, w, "A (length scale)");
      if (!(scale > 0)) throw new UserError(`${w}: A (length scale) must be positive, got ${scale}`);
    } else if ((hm = H0_KEY.exec(key))) {
      h0[3 * (Number(hm[1]) - 1) + Number(hm[2]) - 1] = parseReal(value, w, key);
    } else if ((hm = TRANSFORM_KEY.exec(key))) {
      const v = parseReal(value, w, key);
      const identity = hm[1] === "Transform" && hm[2] === hm[3] ? 1 : 0;
      if (v !== identity) {
        throw new UserError(`${w}: ${key} = ${v} is not supported (only an untransformed cell)`);
      }
    } else if (key === "entry_count") {
      entryCount = parseCount(value, w, "entry_count");
      entryLine = i;
    } else if ((hm = AUX_KEY.exec(key))) {
      aux[Number(hm[1])] = value;
    } else if (key === "R") {
      // velocity time scale: velocities are not used
    } else {
      warnings.push(`${w}: unknown CFG header entry '${key}' ignored`);
    }
  }
  if (countLine < 0) throw new UserError(`${source}: no 'Number of particles = N' line (not a CFG file?)`);
  const missing = h0.findIndex((v) => v === undefined);
  if (missing >= 0) {
    throw new UserError(`${source}: no 'H0(${Math.floor(missing / 3) + 1},${(missing % 3) + 1}) = …' line`);
  }
  const box = {
    h: Float64Array.from(h0 as number[], (v) => v * scale),
    origin: [0, 0, 0] as [number, number, number],
  };

  const extended = entryCount >= 0;
  const firstAux = noVelocity ? 3 : 6;
  if (extended && entryCount < firstAux) {
    throw new UserError(
      `${at(source, entryLine + 1)}: entry_count = ${entryCount} is too small (xs ys zs${
        noVelocity ? "" : " vx vy vz"
      } needed)`,
    );
  }
  const idColumn = aux.indexOf("id");
  if (extended && idColumn >= 0 && firstAux + idColumn >= entryCount) {
    throw new UserError(
      `${at(source, entryLine + 1)}: auxiliary[${idColumn}] = id lies beyond entry_count = ${entryCount}`,
    );
  }
  const frac: number[] = [];
  const species: string[] = [];
  const masses: number[] = [];
  const ids: number[] = [];
  let mass = 0, symbol: string | undefined;
  for (; i < lines.length; i++) {
    const f = fields(lines[i]);
    if (f.length === 0) continue;
    const w = at(source, i + 1);
    if (extended && f.length === 1) {
      // A block header: a mass line, then a symbol line.
      mass = parseReal(f[0], w, "mass");
      if (!(mass > 0)) throw new UserError(`${w}: mass ${mass} must be positive`);
      do i++; while (i < lines.length && lines[i].trim() === "");
      const s = i < lines.length ? fields(lines[i]) : [];
      if (s.length !== 1 || isReal(s[0])) {
        throw new UserError(`${at(source, i + 1)}: expected the species symbol after the mass line`);
      }
      symbol = s[0];
      continue;
    }
    if (extended) {
      if (f.length !== entryCount) {
        throw new UserError(`${w}: atom line has ${f.length} fields, entry_count = ${entryCount}`);
      }
      if (symbol === undefined) throw new UserError(`${w}: atom line before any mass and species lines`);
      frac.push(parseReal(f[0], w, "xs"), parseReal(f[1], w, "ys"), parseReal(f[2], w, "zs"));
      species.push(symbol);
      masses.push(mass);
      if (idColumn >= 0) {
        const id = parseReal(f[firstAux + idColumn], w, "id");
        if (!Number.isInteger(id) || Math.abs(id) > 2147483647) {
          throw new UserError(`${w}: id ${id} is not an integer`);
        }
        ids.push(id);
      }
    } else {
      if (f.length < 5) {
        throw new UserError(`${w}: atom line needs 'mass symbol xs ys zs …', found ${f.length} fields`);
      }
      const m = parseReal(f[0], w, "mass");
      if (!(m > 0)) throw new UserError(`${w}: mass ${m} must be positive`);
      frac.push(parseReal(f[2], w, "xs"), parseReal(f[3], w, "ys"), parseReal(f[4], w, "zs"));
      species.push(f[1]);
      masses.push(m);
    }
  }
  const n = species.length;
  if (n !== claimed) {
    if (!options.lenient) throw new UserError(countMismatch(source, countLine + 1, claimed, n));
    warnings.push(countMismatchWarning(source, countLine + 1, claimed, n));
  }
  return makeAtomConfig({
    box,
    positions: fractionalToCartesian(box, Float64Array.from(frac)),
    species,
    masses: Float64Array.from(masses),
    ids: extended && idColumn >= 0 ? Int32Array.from(ids) : undefined,
    source,
    warnings,
  });
}

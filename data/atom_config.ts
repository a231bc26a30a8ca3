/**
 * An atomic configuration in memory (a periodic cell, cartesian positions in Å and a species per atom), the type that
 * every configuration reader returns (extended XYZ, LAMMPS dump, CFG), plus the cell geometry helpers built on it:
 * fractional ↔ cartesian, wrapping into the cell, volume, number density and species counts.
 *
 * Cell convention: `box.h` holds the three cell vectors a, b, c as the ROWS of a 3×3 matrix (row-major
 * `[ax, ay, az, bx, by, bz, cx, cy, cz]`, the same order as an extended-XYZ `Lattice="…"`); a point with fractional
 * coordinates s = (s1, s2, s3) sits at r = origin + s·H = origin + s1·a + s2·b + s3·c.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { sortByAtomicNumber } from "./elements.ts";

/** A periodic cell: cell vectors a, b, c as the rows of `h` (row-major 3×3) and the corner the cell starts at. */
export interface CellBox {
  /** Row-major 3×3: `h[0..2]` = a, `h[3..5]` = b, `h[6..8]` = c (Å). */
  h: Float64Array;
  /** Cartesian position of the cell corner with fractional coordinates (0, 0, 0) (Å). */
  origin: [number, number, number];
}

/** One atomic configuration (a single frame), periodic in all three directions. */
export interface AtomConfig {
  /** Number of atoms N. */
  atoms: number;
  /** The periodic cell. */
  box: CellBox;
  /** N×3 cartesian positions (Å), row-major; not necessarily inside the cell (see {@link wrapIntoCell}). */
  positions: Float64Array;
  /** Species label per atom (usually an element symbol). */
  species: string[];
  /** Distinct species: element symbols by atomic number, then any other labels in order of first appearance. */
  speciesList: string[];
  /** Atom ids from the file, when it has them. */
  ids?: Int32Array;
  /** Per-atom masses (g/mol) from the file, when it has them. */
  masses?: Float64Array;
  /** Where the configuration came from (a file path, or a label for in-memory data). */
  source: string;
  /** Non-fatal problems met while reading (e.g. a header count that disagrees with the body in lenient mode). */
  warnings: string[];
}

/** The parts of an {@link AtomConfig} a caller provides to {@link makeAtomConfig}. */
export interface AtomConfigParts {
  box: CellBox;
  positions: Float64Array;
  species: string[];
  ids?: Int32Array;
  masses?: Float64Array;
  source: string;
  warnings?: string[];
}

/**
 * Builds an {@link AtomConfig} from its parts, checking that the arrays agree in length, that positions, masses and
 * the cell are finite and that the cell has a non-zero volume; derives `atoms` and `speciesList`.
 * @throws {UserError} naming `source` when the parts are inconsistent
 */
export function makeAtomConfig(parts: AtomConfigParts): AtomConfig {
  const { box, positions, species, ids, masses, source } = parts;
  const n = species.length;
  if (positions.length !== 3 * n) {
    throw new UserError(`${source}: ${positions.length / 3} positions for ${n} species labels`);
  }
  if (ids && ids.length !== n) throw new UserError(`${source}: ${ids.length} atom ids for ${n} atoms`);
  if (masses && masses.length !== n) throw new UserError(`${source}: ${masses.length} masses for ${n} atoms`);
  if (box.h.length !== 9 || !box.h.every(Number.isFinite) || !box.origin.every(Number.isFinite)) {
    throw new UserError(`${source}: the cell must be 9 finite numbers with a finite origin`);
  }
  if (!(cellVolume(box) > 0)) throw new UserError(`${source}: the cell vectors span zero volume`);
  for (let i = 0; i < positions.length; i++) {
    if (!Number.isFinite(positions[i])) {
      throw new UserError(`${source}: atom ${Math.floor(i / 3) + 1} has a non-finite coordinate`);
    }
  }
  for (let i = 0; i < n; i++) {
    if (!/^\S+$/.test(species[i])) {
      throw new UserError(`${source}: atom ${i + 1} has an empty or blank species label '${species[i]}'`);
    }
    if (masses && !(masses[i] > 0 && Number.isFinite(masses[i]))) {
      throw new UserError(`${source}: atom ${i + 1} has mass ${masses[i]} (must be positive)`);
    }
  }
  return {
    atoms: n,
    box: { h: box.h, origin: [box.origin[0], box.origin[1], box.origin[2]] },
    positions,
    species,
    speciesList: distinctSpecies(species),
    ids,
    masses,
    source,
    warnings: parts.warnings ?? [],
  };
}

/** Distinct labels: element symbols by atomic number first, other labels after them in first-appearance order. */
export function distinctSpecies(species: readonly string[]): string[] {
  return sortByAtomicNumber(new Set(species));
}

/** An orthorhombic cell with edge lengths lx, ly, lz (Å) starting at `origin`. */
export function orthorhombicBox(
  lx: number,
  ly: number,
  lz: number,
  origin: [number, number, number] = [0, 0, 0],
): CellBox {
  return { h: Float64Array.of(lx, 0, 0, 0, ly, 0, 0, 0, lz), origin: [origin[0], origin[1], origin[2]] };
}

/** Signed determinant of the cell matrix (a · (b × c)). */
function determinant(h: Float64Array): number {
  return h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) +
    h[2] * (h[3] * h[7] - h[4] * h[6]);
}

/** Cell volume |a · (b × c)| in Å³. */
export function cellVolume(box: CellBox): number {
  return Math.abs(determinant(box.h));
}

/** Lengths |a|, |b|, |c| of the cell vectors (Å). */
export function cellLengths(box: CellBox): [number, number, number] {
  const h = box.h;
  return [Math.hypot(h[0], h[1], h[2]), Math.hypot(h[3], h[4], h[5]), Math.hypot(h[6], h[7], h[8])];
}

/**
 * Distances between opposite faces of the cell (V/|b×c|, V/|c×a|, V/|a×b|): a minimum-image search with cutoff r is
 * exact only when r < half of the smallest width, and a cell list along direction i has ⌊width_i / r⌋ bins.
 */
export function cellPerpendicularWidths(box: CellBox): [number, number, number] {
  const h = box.h;
  const v = cellVolume(box);
  const cross = (i: number, j: number) =>
    Math.hypot(
      h[i + 1] * h[j + 2] - h[i + 2] * h[j + 1],
      h[i + 2] * h[j] - h[i] * h[j + 2],
      h[i] * h[j + 1] - h[i + 1] * h[j],
    );
  return [v / cross(3, 6), v / cross(6, 0), v / cross(0, 3)];
}

/** Whether the cell vectors lie along x, y, z (all off-diagonal entries are 0). */
export function isOrthorhombic(box: CellBox): boolean {
  const h = box.h;
  return h[1] === 0 && h[2] === 0 && h[3] === 0 && h[5] === 0 && h[6] === 0 && h[7] === 0;
}

/** Inverse of the row-major 3×3 cell matrix (so that s = (r − origin)·H⁻¹). */
export function inverseCell(h: Float64Array): Float64Array {
  const det = determinant(h);
  if (det === 0) throw new UserError("the cell vectors span zero volume");
  const inv = new Float64Array(9);
  inv[0] = (h[4] * h[8] - h[5] * h[7]) / det;
  inv[1] = (h[2] * h[7] - h[1] * h[8]) / det;
  inv[2] = (h[1] * h[5] - h[2] * h[4]) / det;
  inv[3] = (h[5] * h[6] - h[3] * h[8]) / det;
  inv[4] = (h[0] * h[8] - h[2] * h[6]) / det;
  inv[5] = (h[2] * h[3] - h[0] * h[5]) / det;
  inv[6] = (h[3] * h[7] - h[4] * h[6]) / det;
  inv[7] = (h[1] * h[6] - h[0] * h[7]) / det;
  inv[8] = (h[0] * h[4] - h[1] * h[3]) / det;
  return inv;
}

/** Fractional coordinates s = (r − origin)·H⁻¹ of N×3 cartesian positions (a new array). */
export function cartesianToFractional(box: CellBox, positions: Float64Array): Float64Array {
  const inv = inverseCell(box.h);
  const [ox, oy, oz] = box.origin;
  const out = new Float64Array(positions.length);
  for (let i = 0; i < positions.length; i += 3) {
    const x = positions[i] - ox, y = positions[i + 1] - oy, z = positions[i + 2] - oz;
    out[i] = x * inv[0] + y * inv[3] + z * inv[6];
    out[i + 1] = x * inv[1] + y * inv[4] + z * inv[7];
    out[i + 2] = x * inv[2] + y * inv[5] + z * inv[8];
  }
  return out;
}

/** Cartesian positions r = origin + s·H of N×3 fractional coordinates (a new array). */
export function fractionalToCartesian(box: CellBox, fractional: Float64Array): Float64Array {
  const h = box.h;
  const [ox, oy, oz] = box.origin;
  const out = new Float64Array(fractional.length);
  for (let i = 0; i < fractional.length; i += 3) {
    const s1 = fractional[i], s2 = fractional[i + 1], s3 = fractional[i + 2];
    out[i] = ox + s1 * h[0] + s2 * h[3] + s3 * h[6];
    out[i + 1] = oy + s1 * h[1] + s2 * h[4] + s3 * h[7];
    out[i + 2] = oz + s1 * h[2] + s2 * h[5] + s3 * h[8];
  }
  return out;
}

/**
 * The configuration with every atom mapped into the cell (fractional coordinates in [0, 1), up to rounding, so
 * cell-list code should still clamp bin indices) by whole cell vectors. Atoms already inside keep their coordinates
 * bit for bit; the input is not modified.
 */
export function wrapIntoCell(config: AtomConfig): AtomConfig {
  const frac = cartesianToFractional(config.box, config.positions);
  const positions = Float64Array.from(config.positions);
  const h = config.box.h;
  for (let i = 0; i < frac.length; i += 3) {
    let moved = false;
    const shift = [0, 0, 0];
    for (let k = 0; k < 3; k++) {
      const s = frac[i + k];
      if (s >= 0 && s < 1) continue;
      const f = Math.floor(s);
      // A tiny negative s rounds to s − floor(s) = 1; such an atom belongs at s = 0, so remove all of s.
      shift[k] = s - f >= 1 ? s : f;
      moved = true;
    }
    if (!moved) continue;
    for (let d = 0; d < 3; d++) {
      positions[i + d] -= shift[0] * h[d] + shift[1] * h[3 + d] + shift[2] * h[6 + d];
    }
  }
  return { ...config, positions, box: { h: config.box.h, origin: [...config.box.origin] } };
}

/** Atoms per Å³ (N / V). */
export function numberDensity(config: AtomConfig): number {
  return config.atoms / cellVolume(config.box);
}

/** Number of atoms of each species, keyed in `speciesList` order. */
export function speciesCounts(config: AtomConfig): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of config.speciesList) counts[s] = 0;
  for (const s of config.species) counts[s]++;
  return counts;
}

/** Atom fraction (0–1) of each species, keyed in `speciesList` order. */
export function speciesFractions(config: AtomConfig): Record<string, number> {
  const counts = speciesCounts(config);
  const out: Record<string, number> = {};
  for (const s of config.speciesList) out[s] = config.atoms === 0 ? 0 : counts[s] / config.atoms;
  return out;
}

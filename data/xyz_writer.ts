/**
 * Extended-XYZ writer for atomic configurations: `Lattice`, `Origin`, `Properties=species:S:1:pos:R:3` (+ `mass:R:1`
 * and `id:I:1` when the configuration has them) and `pbc="T T T"`, LF line endings. Numbers are written in their
 * shortest round-trip form, so {@link parseExtendedXyz} gives back exactly the same values.
 * @module
 */
import type { AtomConfig } from "./atom_config.ts";
import { writeFileAtomic } from "./atomic_write.ts";

/** Shortest text that parses back to exactly `x` (keeps the sign of −0). */
function num(x: number): string {
  return Object.is(x, -0) ? "-0" : String(x);
}

/** The extended-XYZ text of one configuration (one frame). */
export function formatExtendedXyz(config: AtomConfig): string {
  const { atoms, box, positions, species, masses, ids } = config;
  let props = "species:S:1:pos:R:3";
  if (masses) props += ":mass:R:1";
  if (ids) props += ":id:I:1";
  const head =
    `${atoms}\nLattice="${Array.from(box.h, num).join(" ")}" Origin="${box.origin.map(num).join(" ")}"` +
    ` Properties=${props} pbc="T T T"\n`;
  const body: string[] = new Array(atoms);
  for (let i = 0; i < atoms; i++) {
    let line = `${species[i]} ${num(positions[3 * i])} ${num(positions[3 * i + 1])} ${
      num(positions[3 * i + 2])
    }`;
    if (masses) line += ` ${num(masses[i])}`;
    if (ids) line += ` ${ids[i]}`;
    body[i] = line;
  }
  return head + body.join("\n") + (atoms > 0 ? "\n" : "");
}

/**
 * Writes one configuration as extended XYZ, atomically (no half-written file on failure).
 * @throws {UserError} naming the path when it cannot be written
 */
export async function writeExtendedXyz(path: string, config: AtomConfig): Promise<void> {
  await writeFileAtomic(path, formatExtendedXyz(config));
}

/**
 * Extended-XYZ reader (the format of ASE and of the published MD configurations): per frame an atom-count line, a
 * comment line of `key=value` pairs — `Lattice="ax ay az bx by bz cx cy cz"` (required: the analysis needs a periodic
 * cell), `Origin="x y z"` (optional), `Properties=name:type:columns:…` (types S, R, I, L; any order; default
 * `species:S:1:pos:R:3`), `pbc="T T T"` — then one line per atom. LF or CRLF line endings.
 *
 * Used columns: `pos` (R:3, required), `species` (S:1) or `Z` (I:1, atomic number), `mass`/`masses` (R:1), `id` (I:1);
 * other columns are skipped. A count line that disagrees with the body (the published files say 29488 and hold 5488)
 * is an error by default; `{ lenient: true }` reads the atom lines that are there and records a warning.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { type AtomConfig, makeAtomConfig } from "./atom_config.ts";
import { ELEMENT_SYMBOLS } from "./elements.ts";
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

/** Options of the extended-XYZ reader. */
export interface XyzReadOptions {
  /** Read the atom lines that are there when the count line disagrees (default false: that is an error). */
  lenient?: boolean;
  /** Which frame of a multi-frame file: 0-based, negative counts from the end (default −1, the last). */
  frame?: number;
}

/** One column group of a `Properties=` specification. */
export interface XyzProperty {
  name: string;
  type: "S" | "R" | "I" | "L";
  columns: number;
  /** Index of its first field on an atom line. */
  start: number;
}

/** Where one frame lies in the file (0-based line indices). */
interface FrameSpan {
  countLine: number;
  claimed: number;
  bodyStart: number;
  /** Number of atom lines found (the run of lines with ≥ 2 fields after the comment line). */
  found: number;
}

/**
 * Reads an extended-XYZ file.
 * @throws {UserError} one line naming the file and line for unreadable or malformed input
 */
export async function readExtendedXyz(path: string, options: XyzReadOptions = {}): Promise<AtomConfig> {
  return parseExtendedXyz(await readConfigText(path), path, options);
}

/**
 * Parses extended-XYZ text; `source` names it in messages and in the result.
 * @throws {UserError} one line naming `source` and the line for malformed input
 */
export function parseExtendedXyz(text: string, source: string, options: XyzReadOptions = {}): AtomConfig {
  const lines = splitLines(text);
  const frames = scanFrames(lines, source);
  if (frames.length === 0) throw new UserError(`${source}: no atoms (the file is empty)`);
  const k = options.frame ?? -1;
  const idx = k < 0 ? frames.length + k : k;
  if (!Number.isInteger(k) || idx < 0 || idx >= frames.length) {
    throw new UserError(`${source}: frame ${k} does not exist (the file holds ${frames.length} frame(s))`);
  }
  return parseFrame(lines, frames[idx], source, options.lenient ?? false);
}

/** Finds the frames: each is a count line, a comment line and the run of lines with ≥ 2 fields after them. */
function scanFrames(lines: string[], file: string): FrameSpan[] {
  const frames: FrameSpan[] = [];
  let i = 0;
  for (;;) {
    while (i < lines.length && lines[i].trim() === "") i++;
    if (i >= lines.length) break;
    const head = fields(lines[i]);
    if (head.length !== 1) {
      throw new UserError(
        `${at(file, i + 1)}: expected the atom-count line of an XYZ frame, found '${clip(lines[i])}'`,
      );
    }
    const claimed = parseCount(head[0], at(file, i + 1), "atom count");
    if (i + 1 >= lines.length) {
      throw new UserError(`${at(file, i + 2)}: missing the comment (Lattice=…) line`);
    }
    const bodyStart = i + 2;
    let j = bodyStart;
    while (j < lines.length && fields(lines[j]).length >= 2) j++;
    const found = j - bodyStart;
    if (found < claimed) {
      // A lone non-integer token where an atom line was due is a broken atom line, not the next frame's count.
      const stop = j < lines.length ? fields(lines[j]) : [];
      if (stop.length === 1 && !/^\+?\d+$/.test(stop[0])) {
        throw new UserError(`${at(file, j + 1)}: atom line has 1 field ('${clip(stop[0])}')`);
      }
    }
    frames.push({ countLine: i, claimed, bodyStart, found });
    i = j;
  }
  return frames;
}

function clip(s: string): string {
  const t = s.trim();
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}

/** Parses the comment line and the atom lines of one frame. */
function parseFrame(lines: string[], span: FrameSpan, file: string, lenient: boolean): AtomConfig {
  const warnings: string[] = [];
  if (span.found !== span.claimed) {
    if (!lenient) throw new UserError(countMismatch(file, span.countLine + 1, span.claimed, span.found));
    warnings.push(countMismatchWarning(file, span.countLine + 1, span.claimed, span.found));
  }
  const where = at(file, span.countLine + 2);
  const kv = parseKeyValues(lines[span.countLine + 1], where);

  const lattice = kv.get("lattice");
  if (lattice === undefined) {
    throw new UserError(`${where}: no Lattice="ax ay az bx by bz cx cy cz" (a periodic cell is required)`);
  }
  const h = numbers(lattice, 9, where, "Lattice");
  const originText = kv.get("origin");
  const origin = originText === undefined ? [0, 0, 0] : numbers(originText, 3, where, "Origin");
  const pbc = kv.get("pbc");
  if (pbc !== undefined && typeof pbc === "string" && !/^\s*(?:[Tt](?:rue)?\s*){3}$/.test(pbc)) {
    warnings.push(
      `${where}: pbc="${pbc}" is not periodic in all directions; the cell is treated as periodic`,
    );
  }
  const propsText = kv.get("properties") ?? "species:S:1:pos:R:3";
  if (typeof propsText !== "string") throw new UserError(`${where}: Properties has no value`);
  const props = parseProperties(propsText, where);
  const width = props.reduce((s, p) => s + p.columns, 0);
  const find = (...names: string[]) => props.find((p) => names.includes(p.name));

  const pos = find("pos");
  if (!pos) throw new UserError(`${where}: Properties has no pos column (pos:R:3)`);
  if (pos.type !== "R" || pos.columns !== 3) {
    throw new UserError(
      `${where}: Properties column pos must be pos:R:3, not pos:${pos.type}:${pos.columns}`,
    );
  }
  const sp = find("species");
  const z = sp ? undefined : find("Z");
  if (!sp && !z) throw new UserError(`${where}: Properties has no species column (species:S:1 or Z:I:1)`);
  if (sp && (sp.type !== "S" || sp.columns !== 1)) {
    throw new UserError(`${where}: Properties column species must be species:S:1`);
  }
  if (z && (z.type !== "I" || z.columns !== 1)) {
    throw new UserError(`${where}: Properties column Z must be Z:I:1`);
  }
  const massCol = find("mass", "masses");
  if (massCol && (massCol.type !== "R" || massCol.columns !== 1)) {
    throw new UserError(`${where}: Properties column ${massCol.name} must be ${massCol.name}:R:1`);
  }
  const idCol = find("id");
  if (idCol && (idCol.type !== "I" || idCol.columns !== 1)) {
    throw new UserError(`${where}: Properties column id must be id:I:1`);
  }

  const n = span.found;
  const positions = new Float64Array(3 * n);
  const species: string[] = new Array(n);
  const masses = massCol ? new Float64Array(n) : undefined;
  const ids = idCol ? new Int32Array(n) : undefined;
  for (let a = 0; a < n; a++) {
    const lineNo = span.bodyStart + a + 1;
    const f = fields(lines[span.bodyStart + a]);
    const w = at(file, lineNo);
    if (f.length !== width) {
      throw new UserError(`${w}: atom line has ${f.length} fields, Properties=${propsText} needs ${width}`);
    }
    positions[3 * a] = parseReal(f[pos.start], w, "x");
    positions[3 * a + 1] = parseReal(f[pos.start + 1], w, "y");
    positions[3 * a + 2] = parseReal(f[pos.start + 2], w, "z");
    if (sp) species[a] = f[sp.start];
    else {
      const zv = parseInteger(f[z!.start], w, "atomic number Z");
      if (zv < 1 || zv > ELEMENT_SYMBOLS.length) {
        throw new UserError(`${w}: atomic number Z ${zv} is not an element`);
      }
      species[a] = ELEMENT_SYMBOLS[zv - 1];
    }
    if (masses) {
      const m = parseReal(f[massCol!.start], w, "mass");
      if (!(m > 0)) throw new UserError(`${w}: mass ${m} must be positive`);
      masses[a] = m;
    }
    if (ids) ids[a] = parseInteger(f[idCol!.start], w, "id");
  }
  return makeAtomConfig({
    box: { h: Float64Array.from(h), origin: [origin[0], origin[1], origin[2]] },
    positions,
    species,
    masses,
    ids,
    source: file,
    warnings,
  });
}

function numbers(value: string | true, count: number, where: string, key: string): number[] {
  if (value === true) throw new UserError(`${where}: ${key} has no value`);
  const f = fields(value);
  if (f.length !== count) throw new UserError(`${where}: ${key} needs ${count} numbers, found ${f.length}`);
  return f.map((t, i) => parseReal(t, where, `${key} entry ${i + 1}`));
}

/**
 * Parses `Properties=name:type:columns:…` into column groups with their first field index.
 * @throws {UserError} `where: …` for a malformed specification or an unknown type
 */
export function parseProperties(text: string, where: string): XyzProperty[] {
  const parts = text.trim().split(":");
  if (parts.length % 3 !== 0 || parts.some((p) => p === "")) {
    throw new UserError(`${where}: Properties '${text}' is not a list of name:type:columns triples`);
  }
  const out: XyzProperty[] = [];
  let start = 0;
  for (let i = 0; i < parts.length; i += 3) {
    const [name, type, cols] = [parts[i], parts[i + 1], parts[i + 2]];
    if (type !== "S" && type !== "R" && type !== "I" && type !== "L") {
      throw new UserError(
        `${where}: Properties entry ${name}:${type}:${cols} has unknown type '${type}' (S, R, I or L)`,
      );
    }
    if (!/^[1-9]\d*$/.test(cols)) {
      throw new UserError(
        `${where}: Properties entry ${name}:${type}:${cols} has a bad column count '${cols}'`,
      );
    }
    if (out.some((p) => p.name === name)) throw new UserError(`${where}: Properties lists '${name}' twice`);
    out.push({ name, type, columns: Number(cols), start });
    start += Number(cols);
  }
  return out;
}

/**
 * Parses an extended-XYZ comment line into `key → value` (keys lower-cased; `true` for a bare key). Values may be
 * bare, in double quotes (backslash escapes the next character) or in braces; spaces around `=` are allowed.
 * @throws {UserError} `where: …` for an unterminated quote or brace
 */
export function parseKeyValues(line: string, where: string): Map<string, string | true> {
  const out = new Map<string, string | true>();
  const s = line;
  let i = 0;
  const ws = (c: string) => c === " " || c === "\t";
  const readToken = (): string => {
    const open = s[i];
    if (open === '"' || open === "{") {
      const close = open === '"' ? '"' : "}";
      let v = "";
      i++;
      while (i < s.length && s[i] !== close) {
        if (s[i] === "\\" && open === '"' && i + 1 < s.length) i++;
        v += s[i++];
      }
      if (i >= s.length) throw new UserError(`${where}: unterminated ${open}…${close} in the comment line`);
      i++;
      return v;
    }
    const b = i;
    while (i < s.length && !ws(s[i]) && s[i] !== "=") i++;
    return s.slice(b, i);
  };
  for (;;) {
    while (i < s.length && ws(s[i])) i++;
    if (i >= s.length) break;
    const key = readToken();
    let j = i;
    while (j < s.length && ws(s[j])) j++;
    if (s[j] === "=") {
      i = j + 1;
      while (i < s.length && ws(s[i])) i++;
      const value = i < s.length ? readToken() : "";
      out.set(key.toLowerCase(), value);
    } else {
      out.set(key.toLowerCase(), true);
    }
  }
  return out;
}

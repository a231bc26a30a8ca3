/**
 * Line-oriented text helpers shared by the atomic-configuration readers (extended XYZ, LAMMPS dump, CFG): reading a
 * file as lines (LF or CRLF, optional BOM), splitting a line into fields, and strict number parsing whose errors
 * name the file, the line and the field.
 * @module
 */
import { UserError } from "../cli/errors.ts";

/** A plain decimal number: optional sign, digits with an optional point, optional exponent (no hex, no NaN/Inf). */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const BLANK_RUN = /[ \t]+/;

/** `file line n` — the prefix of every located error message. */
export function at(file: string, line: number): string {
  return `${file} line ${line}`;
}

/**
 * Reads a text file for a reader.
 * @throws {UserError} `cannot read FILE: reason` when it cannot be read
 */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    const msg = (e as Error)?.message?.split("\n")[0] ?? String(e);
    throw new UserError(`cannot read ${path}: ${msg}`);
  }
}

/**
 * The lines of a text (LF or CRLF endings, a leading UTF-8 BOM removed, the empty string after a final newline
 * dropped). Line `k` (1-based, as in messages) is `lines[k - 1]`.
 */
export function splitLines(text: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The whitespace-separated fields of a line (none for a blank line). */
export function fields(line: string): string[] {
  const t = line.trim();
  return t === "" ? [] : t.split(BLANK_RUN);
}

/**
 * Parses a real number strictly (plain decimal, finite).
 * @param where message prefix, usually `file line n`
 * @param what what the number is (`"x coordinate"`, `"Lattice entry 4"`), for the message
 * @throws {UserError} `where: what 'token' is not a number`
 */
export function parseReal(token: string, where: string, what: string): number {
  if (!DECIMAL.test(token)) throw new UserError(`${where}: ${what} '${token}' is not a number`);
  const v = Number(token);
  if (!Number.isFinite(v)) throw new UserError(`${where}: ${what} '${token}' is too large to be finite`);
  return v;
}

/**
 * Parses an integer strictly (digits only, within ±2³¹).
 * @throws {UserError} `where: what 'token' is not an integer`
 */
export function parseInteger(token: string, where: string, what: string): number {
  if (!INTEGER.test(token)) throw new UserError(`${where}: ${what} '${token}' is not an integer`);
  const v = Number(token);
  if (Math.abs(v) > 2147483647) throw new UserError(`${where}: ${what} '${token}' is too large`);
  return v;
}

/**
 * Parses a count (a non-negative integer).
 * @throws {UserError} `where: what 'token' is not a non-negative integer`
 */
export function parseCount(token: string, where: string, what: string): number {
  if (!/^\+?\d+$/.test(token)) {
    throw new UserError(`${where}: ${what} '${token}' is not a non-negative integer`);
  }
  const v = Number(token);
  if (v > 2147483647) throw new UserError(`${where}: ${what} '${token}' is too large`);
  return v;
}

/** Whether a token is a plain decimal number. */
export function isReal(token: string): boolean {
  return DECIMAL.test(token);
}

/** Line-range text for messages: `line 3` or `lines 3–5490`. */
export function lineRange(first: number, last: number): string {
  return first === last ? `line ${first}` : `lines ${first}–${last}`;
}

/** The message (one line) for a header atom count that disagrees with the atoms found. */
export function countMismatch(file: string, headerLine: number, claimed: number, found: number): string {
  return `${at(file, headerLine)}: the header says ${claimed} atoms but the file holds ${found}` +
    ` (pass --lenient to read the ${found} atoms that are there)`;
}

/** The warning recorded by a lenient read when the header count disagrees with the atoms found. */
export function countMismatchWarning(
  file: string,
  headerLine: number,
  claimed: number,
  found: number,
): string {
  return `${
    at(file, headerLine)
  }: the header says ${claimed} atoms but the file holds ${found}; read ${found}`;
}

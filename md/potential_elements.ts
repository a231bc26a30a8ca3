/**
 * The element list of a potential file, where the format states it: the setfl header of EAM-family files
 * (`eam/alloy`, `eam/fs`, `eam/he`, `adp`), whose line 4 is `N El1 El2 … ElN`. Other formats do not list
 * their elements in a fixed place; for them the user gives `--potential-elements`.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { fileErrorText } from "../data/csv.ts";

/** Pair styles whose potential file is a setfl file (with accelerator suffixes). */
const SETFL_STYLES = /^(eam\/alloy|eam\/fs|eam\/he|adp)(\/(gpu|kk|omp|opt|intel))?$/;

/** Whether the potential of `pairStyle` (its first word) lists its elements in a setfl header. */
export function hasSetflHeader(pairStyle: string): boolean {
  return SETFL_STYLES.test(pairStyle.trim().split(/\s+/)[0] ?? "");
}

/**
 * Parses the element list from setfl text (line 4: `N El1 … ElN`).
 * @param file the file's name, for messages
 * @throws {UserError} naming the file and line 4 when it is not `N` followed by N names
 */
export function setflElements(text: string, file: string): string[] {
  const lines = text.split(/\r\n|\n|\r/);
  const words = (lines[3] ?? "").trim().split(/\s+/).filter((w) => w !== "");
  const n = Number(words[0]);
  if (lines.length < 4 || !Number.isInteger(n) || n < 1 || words.length < n + 1) {
    throw new UserError(
      `${file} line 4: expected the setfl element line 'N El1 … ElN', got '${(lines[3] ?? "").trim()}'`,
    );
  }
  return words.slice(1, n + 1);
}

/**
 * Reads the element list of a setfl potential file when `pairStyle` uses one and the file exists here.
 * @returns the elements, or `undefined` when the style has no setfl header or the file is not on this machine
 * @throws {UserError} when the file exists but its header is malformed or unreadable
 */
export async function potentialFileElements(path: string, pairStyle: string): Promise<string[] | undefined> {
  if (!hasSetflHeader(pairStyle)) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new UserError(`${path}: ${fileErrorText(e)}`);
  }
  // Only the header matters; setfl files can be megabytes of tables.
  return setflElements(new TextDecoder().decode(bytes.subarray(0, 4096)), path);
}

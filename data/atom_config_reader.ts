/**
 * One entry point for atomic-configuration files: {@link readAtomConfig} picks the reader (extended XYZ, LAMMPS
 * dump, CFG) from an explicit format, else from the file's first line, else from its extension.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import type { AtomConfig } from "./atom_config.ts";
import { parseCfg } from "./cfg_reader.ts";
import { readConfigText, splitLines } from "./config_text.ts";
import { parseLammpsDump } from "./lammps_dump_reader.ts";
import { parseExtendedXyz } from "./xyz_reader.ts";

/** The configuration formats we read. */
export type AtomConfigFormat = "xyz" | "dump" | "cfg";

/** The format names accepted by `--format`. */
export const ATOM_CONFIG_FORMATS: readonly AtomConfigFormat[] = ["xyz", "dump", "cfg"];

/** Options of {@link readAtomConfig}. */
export interface ReadAtomConfigOptions {
  /** Force a format instead of detecting it. */
  format?: AtomConfigFormat;
  /** Read what is there when a header atom count disagrees with the body (records a warning). */
  lenient?: boolean;
  /** Frame of a multi-frame XYZ or dump file: 0-based, negative from the end (default −1, the last). */
  frame?: number;
  /** Species of LAMMPS types 1, 2, … for a dump without an `element` column. */
  typeNames?: readonly string[];
}

const EXTENSIONS: Record<string, AtomConfigFormat> = {
  xyz: "xyz",
  extxyz: "xyz",
  dump: "dump",
  lammpstrj: "dump",
  lammpsdump: "dump",
  cfg: "cfg",
};

/**
 * The format of a configuration text from its first non-blank line (`ITEM:` → dump, `Number of particles` → CFG,
 * a lone integer → XYZ), else from the extension of `path`.
 * @returns the format, or `undefined` when neither tells
 */
export function detectAtomConfigFormat(path: string, text: string): AtomConfigFormat | undefined {
  const first = splitLines(text.slice(0, 4096)).find((l) => l.trim() !== "")?.trim() ?? "";
  if (first.startsWith("ITEM:")) return "dump";
  if (/^Number of particles\s*=/.test(first)) return "cfg";
  if (/^\+?\d+$/.test(first)) return "xyz";
  const dot = path.lastIndexOf(".");
  const ext = dot > path.lastIndexOf("/") ? path.slice(dot + 1).toLowerCase() : "";
  return EXTENSIONS[ext];
}

/**
 * Parses configuration text in the given or detected format; `source` names it in messages.
 * @throws {UserError} when the format cannot be told or the text is malformed
 */
export function parseAtomConfig(
  text: string,
  source: string,
  options: ReadAtomConfigOptions = {},
): AtomConfig {
  const format = options.format ?? detectAtomConfigFormat(source, text);
  switch (format) {
    case "xyz":
      return parseExtendedXyz(text, source, options);
    case "dump":
      return parseLammpsDump(text, source, options);
    case "cfg":
      return parseCfg(text, source, options);
    default:
      throw new UserError(
        `${source}: cannot tell the format (not extended XYZ, LAMMPS dump or CFG); pass --format xyz|dump|cfg`,
      );
  }
}

/**
 * Reads an atomic configuration file (extended XYZ, LAMMPS text dump or CFG).
 * @throws {UserError} one line naming the file (and line) for unreadable, unrecognised or malformed input
 */
export async function readAtomConfig(path: string, options: ReadAtomConfigOptions = {}): Promise<AtomConfig> {
  return parseAtomConfig(await readConfigText(path), path, options);
}

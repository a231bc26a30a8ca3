/**
 * Command-line flag parsing behind one small module (node:util parseArgs), so it can be swapped later.
 * @module
 */
import { parseArgs } from "node:util";
import { UserError } from "./errors.ts";

/** Description of one flag of a subcommand. */
export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** One line for `--help`. */
  help: string;
  /** Placeholder shown in help for string flags, e.g. `PATH`. */
  value?: string;
}

/** A subcommand: name, summary, flags and the function that runs it (returns the exit status). */
export interface Command {
  name: string;
  summary: string;
  /** Usage line after `alloy <name>`. */
  usage?: string;
  flags: Record<string, FlagSpec>;
  run(flags: Record<string, string | boolean | string[] | undefined>, positionals: string[]): Promise<number>;
}

/** Flags every command accepts. */
export const COMMON_FLAGS: Record<string, FlagSpec> = {
  help: { type: "boolean", short: "h", help: "show this help" },
  device: {
    type: "string",
    value: "webgpu|cpu",
    help: "compute device (default: webgpu when an adapter exists)",
  },
  verbose: { type: "boolean", short: "v", help: "print the adapter and other details on stderr" },
};

/** Parses `argv` for `cmd`; unknown flags or missing values become a {@link UserError} naming the flag. */
export function parseFlags(cmd: Command, argv: string[]) {
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries({ ...COMMON_FLAGS, ...cmd.flags })) {
    options[name] = {
      type: f.type,
      ...(f.short ? { short: f.short } : {}),
      ...(f.multiple ? { multiple: true } : {}),
    };
  }
  // A negative number after a value flag (`--load -1`) is its value, not a flag: join it as `--load=-1`.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith("--") ? argv[i].slice(2) : null;
    if (name && options[name]?.type === "string" && /^-(\d|\.\d)/.test(argv[i + 1] ?? "")) {
      args.push(`${argv[i]}=${argv[++i]}`);
    } else args.push(argv[i]);
  }
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    const flags = values as Record<string, string | boolean | string[] | undefined>;
    for (const [name, f] of Object.entries(cmd.flags)) {
      if (flags[name] === undefined && f.default !== undefined) flags[name] = f.default;
    }
    return { flags, positionals };
  } catch (e) {
    let msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "").split("\n")[0];
    const ambiguous = /^Option '(-[^ ']+)[^']*' argument is ambiguous/.exec(msg);
    if (ambiguous) msg = `flag ${ambiguous[1]} expects a value (got a flag after it)`;
    throw new UserError(`${cmd.name}: ${msg}`);
  }
}

/** Renders `--help` text for a command. */
export function helpText(cmd: Command): string {
  const rows: string[] = [];
  for (const [name, f] of Object.entries({ ...cmd.flags, ...COMMON_FLAGS })) {
    const left = `${f.short ? `-${f.short}, ` : "    "}--${name}${
      f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""
    }`;
    const def = f.default !== undefined && f.default !== false ? ` (default: ${f.default})` : "";
    rows.push(`  ${left.padEnd(32)} ${f.help}${def}`);
  }
  return `alloy ${cmd.name} — ${cmd.summary}\n\nUsage: alloy ${cmd.name} ${
    cmd.usage ?? "[flags]"
  }\n\nFlags:\n${rows.join("\n")}\n`;
}

/** Reads a numeric flag, failing with a clear message naming the flag. */
export function numberFlag(flags: Record<string, unknown>, name: string, fallback?: number): number {
  const v = flags[name];
  if (v === undefined || v === false) {
    if (fallback === undefined) throw new UserError(`missing required flag --${name}`);
    return fallback;
  }
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n)) {
    throw new UserError(`flag --${name}: expected a number, got '${v}'`);
  }
  return n;
}

/** Reads a string flag: its value, or undefined when it is absent (or was given as a boolean). */
export function stringFlag(flags: Record<string, unknown>, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
}

/**
 * Reads a whole-number flag in [min, max], `fallback` when it is absent.
 * @throws {UserError} naming the flag: "expected a whole number ≥ min", or "from min to max" when `max` is finite
 */
export function intFlag(
  flags: Record<string, unknown>,
  name: string,
  fallback: number,
  min: number,
  max = Infinity,
): number {
  const v = numberFlag(flags, name, fallback);
  if (!Number.isInteger(v) || v < min || v > max) {
    const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new UserError(`flag --${name}: expected a whole number ${range}, got '${flags[name]}'`);
  }
  return v;
}

/**
 * Reads a numeric flag in [lo, hi], `fallback` when it is absent.
 * @throws {UserError} naming the flag: "expected a number from lo to hi"
 */
export function rangeFlag(
  flags: Record<string, unknown>,
  name: string,
  fallback: number,
  lo: number,
  hi: number,
): number {
  const v = numberFlag(flags, name, fallback);
  if (!(v >= lo && v <= hi)) {
    throw new UserError(`flag --${name}: expected a number from ${lo} to ${hi}, got '${flags[name]}'`);
  }
  return v;
}

/** The current UTC time as a file-name-safe stamp (`2026-05-01T12-30-00-123`), for default output folders. */
export function timestamp(): string {
  return new Date().toISOString().replace(/[:.]/g, "-").replace(/Z$/, "");
}

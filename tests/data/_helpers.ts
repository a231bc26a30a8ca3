/**
 * Test helpers for the data layer: assertions (node:assert behind this one module), the real-data folder from
 * `ALLOY_DATA_DIR` (tests needing it are skipped with a message when it is unset or incomplete), temp CSV files.
 */
import assert from "node:assert/strict";
import { UserError } from "../../cli/errors.ts";
import { join } from "../../data/paths.ts";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

/** Truthiness. */
export function assertTrue(cond: unknown, msg?: string): asserts cond {
  assert.ok(cond, msg);
}

/** |a − b| ≤ tol. */
export function assertNear(actual: number, expected: number, tol: number, msg = ""): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${msg} expected ${expected} ± ${tol}, got ${actual}`);
}

function checkUserError(e: unknown, parts: (string | RegExp)[]): UserError {
  assert.ok(e instanceof UserError, `expected a UserError, got ${e instanceof Error ? e.stack : String(e)}`);
  assert.ok(!e.message.includes("\n"), `message must be one line: ${JSON.stringify(e.message)}`);
  // NaN/undefined may appear only inside quotes (echoing the user's input), never as a computed value.
  const unquoted = e.message.replace(/'[^']*'/g, "''");
  assert.ok(!/NaN|undefined|\[object/.test(unquoted), `message leaks NaN/undefined: ${e.message}`);
  for (const p of parts) {
    const ok = typeof p === "string" ? e.message.includes(p) : p.test(e.message);
    assert.ok(ok, `message ${JSON.stringify(e.message)} should contain ${p}`);
  }
  return e;
}

/** Asserts that `fn` throws a one-line {@link UserError} containing every part. */
export function assertUserError(fn: () => unknown, ...parts: (string | RegExp)[]): UserError {
  try {
    fn();
  } catch (e) {
    return checkUserError(e, parts);
  }
  throw new Error(`expected a UserError containing ${parts.join(", ")}, but nothing was thrown`);
}

/** Async variant of {@link assertUserError}. */
export async function assertRejectsUserError(
  fn: () => Promise<unknown>,
  ...parts: (string | RegExp)[]
): Promise<UserError> {
  try {
    await fn();
  } catch (e) {
    return checkUserError(e, parts);
  }
  throw new Error(`expected a UserError containing ${parts.join(", ")}, but nothing was thrown`);
}

function findDataDir(): string | undefined {
  const d = Deno.env.get("ALLOY_DATA_DIR");
  if (!d) return undefined;
  try {
    Deno.statSync(join(d, "H_v_dataset.csv"));
    return d;
  } catch {
    return undefined;
  }
}

/** The real data folder, or undefined (then real-data tests are ignored). */
export const DATA_DIR: string | undefined = findDataDir();
/** True when the real data are not available. */
export const NO_DATA: boolean = DATA_DIR === undefined;

/** Prints, once per test module, why real-data tests are skipped. */
export function noteSkip(what: string): void {
  if (NO_DATA) {
    console.warn(
      `skipping ${what}: set ALLOY_DATA_DIR to the folder holding H_v_dataset.csv (e.g. ../shared/data)`,
    );
  }
}

/** A fresh temporary folder (removed at process exit is not guaranteed; tests remove it). */
export function tempDir(): string {
  return Deno.makeTempDirSync({ prefix: "alloy_data_test_" });
}

/** Writes `content` to `name` inside `dir` and returns the path. */
export function writeTemp(dir: string, name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  if (typeof content === "string") Deno.writeTextFileSync(p, content);
  else Deno.writeFileSync(p, content);
  return p;
}

/**
 * Test helpers for the metrics: node:assert behind this one module, closeness and RangeError checks.
 */
import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

/** Truthiness. */
export function assertTrue(cond: unknown, msg?: string): asserts cond {
  assert.ok(cond, msg);
}

/** |a − b| ≤ tol (a must be a number, never NaN). */
export function assertNear(actual: number, expected: number, tol: number, msg = ""): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${msg} expected ${expected} ± ${tol}, got ${actual}`);
}

/** Element-wise {@link assertNear}. */
export function assertAllNear(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  msg = "",
): void {
  assert.equal(actual.length, expected.length, `${msg} length`);
  for (let i = 0; i < expected.length; i++) assertNear(actual[i], expected[i], tol, `${msg}[${i}]`);
}

/** Asserts that `fn` throws a one-line RangeError whose message contains every part. */
export function assertRangeError(fn: () => unknown, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    assert.ok(
      e instanceof RangeError,
      `expected a RangeError, got ${e instanceof Error ? e.stack : String(e)}`,
    );
    assert.ok(!e.message.includes("\n"), `message must be one line: ${JSON.stringify(e.message)}`);
    for (const p of parts) {
      assert.ok(e.message.includes(p), `message ${JSON.stringify(e.message)} should contain ${p}`);
    }
    return;
  }
  throw new Error(`expected a RangeError containing ${parts.join(", ")}, but nothing was thrown`);
}

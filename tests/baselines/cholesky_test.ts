/** Float64 Cholesky: a hand 3×3 factor, solves, log-determinant, inverses, jitter retry and the non-PD error. */
import { assert, assertClose } from "../_helpers.ts";
import {
  choleskyFactor,
  choleskyInverse,
  choleskyLogDet,
  choleskySolve,
  lowerInverse,
  NotPositiveDefiniteError,
  solveLower,
  solveLowerTransposed,
} from "../../nn/baselines/cholesky.ts";

// The classic example: A = L·Lᵀ with L = [[2, 0, 0], [6, 1, 0], [−8, 5, 3]].
const A = new Float64Array([4, 12, -16, 12, 37, -43, -16, -43, 98]);
const L = [2, 0, 0, 6, 1, 0, -8, 5, 3];

function matmul3(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[i * 3 + k] * b[k * 3 + j];
      out.push(s);
    }
  }
  return out;
}

function expectThrow(fn: () => unknown, ...needles: string[]): Error {
  try {
    fn();
  } catch (e) {
    for (const s of needles) {
      assert((e as Error).message.includes(s), `"${(e as Error).message}" lacks "${s}"`);
    }
    return e as Error;
  }
  throw new Error("expected an error");
}

Deno.test("cholesky: hand 3×3 factor, log-determinant and jitter 0", () => {
  const f = choleskyFactor(A, 3);
  assertClose(f.l, L, { atol: 1e-14, rtol: 0 });
  assert(f.jitter === 0);
  // det A = (2·1·3)² = 36.
  assertClose([choleskyLogDet(f)], [Math.log(36)], { atol: 1e-14, rtol: 0 });
});

Deno.test("cholesky: solves and inverses against products with A and L", () => {
  const f = choleskyFactor(A, 3);
  const x = [1, -2, 0.5];
  const b = matmul3(A, [x[0], 0, 0, x[1], 0, 0, x[2], 0, 0]).filter((_, i) => i % 3 === 0);
  assertClose(choleskySolve(f, b), x, { atol: 1e-12, rtol: 0 });
  // L·(L⁻¹b) = b and Lᵀ·(L⁻ᵀb) = b.
  const z = solveLower(f, b);
  assertClose([0, 1, 2].map((i) => L[i * 3] * z[0] + L[i * 3 + 1] * z[1] + L[i * 3 + 2] * z[2]), b, {
    atol: 1e-12,
  });
  const w = solveLowerTransposed(f, b);
  assertClose([0, 1, 2].map((i) => L[i] * w[0] + L[3 + i] * w[1] + L[6 + i] * w[2]), b, { atol: 1e-12 });
  const eye = [1, 0, 0, 0, 1, 0, 0, 0, 1];
  assertClose(matmul3(choleskyInverse(f), A), eye, { atol: 1e-12, rtol: 0 });
  assertClose(matmul3(lowerInverse(f), L), eye, { atol: 1e-12, rtol: 0 });
});

Deno.test("cholesky: a singular PSD matrix succeeds with jitter; an indefinite one throws a clear error", () => {
  const singular = new Float64Array([1, 1, 1, 1]);
  const f = choleskyFactor(singular, 2);
  assert(f.jitter > 0 && f.jitter <= 1e-6, `jitter ${f.jitter}`);
  expectThrow(() => choleskyFactor(singular, 2, { jitterRetries: 0 }), "not positive definite", "pivot 1");
  const e = expectThrow(
    () => choleskyFactor(new Float64Array([1, 2, 2, 1]), 2),
    "2×2 matrix is not positive definite",
    "pivot 1",
    "added to the diagonal",
  );
  assert(e instanceof NotPositiveDefiniteError);
  expectThrow(() => choleskyFactor(new Float64Array([1, 0, NaN, 1]), 2), "entry (1, 0)", "NaN");
  expectThrow(() => choleskyFactor(new Float64Array(3), 2), "3 values do not make a 2×2 matrix");
});

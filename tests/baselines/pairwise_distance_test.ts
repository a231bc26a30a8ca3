/**
 * Engine distance matrices against a plain float64 double loop, on odd shapes: p = 1 and p = 2 (plain and squared),
 * with and without row chunking, on the float32 CPU backend and (when an adapter exists) WebGPU.
 */
import { assert, assertClose, cpu, gpu, HAS_GPU, randn } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import { type Matrix, matrix } from "../../nn/baselines/regressor.ts";
import { type MinkowskiP, pairwiseDistances } from "../../nn/baselines/pairwise_distance.ts";

function randomMatrix(rows: number, cols: number, seed: number, offset = 0): Matrix {
  return matrix(rows, cols, Float64Array.from(randn(rows * cols, seed), (v) => v + offset));
}

/** The reference: a double loop in float64. */
function loopDistances(a: Matrix, b: Matrix, p: MinkowskiP, squared = false): Float64Array {
  const out = new Float64Array(a.rows * b.rows);
  for (let i = 0; i < a.rows; i++) {
    for (let j = 0; j < b.rows; j++) {
      let s = 0;
      for (let c = 0; c < a.cols; c++) {
        const d = a.data[i * a.cols + c] - b.data[j * b.cols + c];
        s += p === 1 ? Math.abs(d) : d * d;
      }
      out[i * b.rows + j] = p === 2 && !squared ? Math.sqrt(s) : s;
    }
  }
  return out;
}

async function checkBackend(be: Backend): Promise<void> {
  // Odd shapes; an offset far from 0 makes ‖a‖² + ‖b‖² − 2ab cancel unless inputs are shifted first.
  const a = randomMatrix(7, 5, 1, 30), b = randomMatrix(13, 5, 2, 30);
  for (const p of [1, 2] as const) {
    for (const chunkElements of [undefined, 20]) {
      const got = await pairwiseDistances(a, b, p, be, { chunkElements });
      assert(got.rows === 7 && got.cols === 13, "shape");
      assertClose(got.data, loopDistances(a, b, p), {
        atol: 2e-4,
        rtol: 1e-4,
        msg: `p=${p} chunk=${chunkElements}`,
      });
    }
  }
  const sq = await pairwiseDistances(a, b, 2, be, { squared: true, chunkElements: 30 });
  assertClose(sq.data, loopDistances(a, b, 2, true), { atol: 1e-3, rtol: 1e-4, msg: "squared" });
  // A matrix against itself: the diagonal is (clamped) zero, never negative or NaN.
  const self = await pairwiseDistances(a, a, 2, be, { squared: true });
  for (let i = 0; i < a.rows; i++) {
    const v = self.data[i * a.rows + i];
    assert(v >= 0 && v < 1e-3, `diagonal ${i}: ${v}`);
  }
  assert(self.data.every((v) => v >= 0), "no negative squared distance");
  const empty = await pairwiseDistances(matrix(0, 5), b, 1, be);
  assert(empty.rows === 0 && empty.cols === 13 && empty.data.length === 0, "empty input");
}

Deno.test("pairwiseDistances: p = 1 and p = 2 match a float64 double loop on the CPU backend", async () => {
  await checkBackend(cpu);
});

Deno.test({
  name: "pairwiseDistances: p = 1 and p = 2 match a float64 double loop on WebGPU",
  ignore: !HAS_GPU,
  fn: async () => {
    await checkBackend((await gpu())!);
  },
});

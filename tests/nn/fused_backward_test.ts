/**
 * The fused backward passes of `reparameterize` and `softmax` at the op level: analytic gradients against central
 * finite differences on the float64 CPU backend (odd shapes, both reparameterisation outputs alone and together,
 * softmax along every axis), WebGPU gradients against the float32 CPU backend, and the backward dispatch count.
 */
import {
  assertClose,
  assertEquals,
  cpu,
  cpu64,
  finiteDifferenceFailure,
  gpu,
  HAS_GPU,
  randn,
} from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { gradients } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { sizeOf } from "../../nn/shape.ts";
import { concat, reparameterize, reshape, softmax } from "../../nn/ops.ts";

interface Case {
  name: string;
  shape: number[];
  /** The op under test on the inputs (normal draws of `shape`). */
  fn: (xs: Tensor[]) => Tensor;
  inputs: number;
}

const KEY = { seed: 11, stream: 3 };
const CASES: Case[] = [];
for (const shape of [[1, 1], [5, 3], [2, 3, 4], [1, 130], [37, 3]]) {
  CASES.push(
    { name: `reparameterize z ${shape}`, shape, inputs: 2, fn: ([m, v]) => reparameterize(m, v, KEY, 4).z },
    { name: `reparameterize kl ${shape}`, shape, inputs: 2, fn: ([m, v]) => reparameterize(m, v, KEY, 4).kl },
    {
      name: `reparameterize z and kl ${shape}`,
      shape,
      inputs: 2,
      fn: ([m, v]) => {
        const { z, kl } = reparameterize(m, v, KEY, 4);
        return concat([reshape(z, [-1]), reshape(kl, [-1])], 0);
      },
    },
  );
}
for (const shape of [[1, 1], [5, 3], [3, 4, 5], [2, 130], [1, 300]]) {
  for (let axis = 0; axis < shape.length; axis++) {
    CASES.push({ name: `softmax ${shape} axis ${axis}`, shape, inputs: 1, fn: ([x]) => softmax(x, axis) });
  }
}

function makeInputs(be: Backend, cs: Case, ci: number): Tensor[] {
  return Array.from({ length: cs.inputs }, (_, k) => {
    const t = be.fromData(randn(sizeOf(cs.shape), 100 * ci + k + 1), cs.shape);
    t.requiresGrad = true;
    return t;
  });
}

/** Central differences of L = Σ fn(xs) ⊙ G against the analytic gradients; returns a failure message or null. */
function fdCheck(cs: Case, ci: number): string | null {
  return scope(() => {
    const xs = makeInputs(cpu64, cs, ci);
    return finiteDifferenceFailure(() => cs.fn(xs), xs, { seed: 5000 + ci });
  });
}

Deno.test("fused backward: reparameterize and softmax gradients match central finite differences (float64 CPU)", () => {
  const failures: string[] = [];
  CASES.forEach((cs, ci) => {
    const msg = fdCheck(cs, ci);
    if (msg) failures.push(`${cs.name}: ${msg}`);
  });
  if (failures.length) throw new Error(`${failures.length}/${CASES.length} failed:\n${failures.join("\n")}`);
});

Deno.test({
  name: "fused backward: WebGPU gradients match the float32 CPU backend",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const failures: string[] = [];
    for (let ci = 0; ci < CASES.length; ci++) {
      const cs = CASES[ci];
      const run = (be: Backend) =>
        scope(() => {
          const xs = makeInputs(be, cs, ci);
          const y = cs.fn(xs);
          return gradients(y, xs, be.fromData(randn(y.size, 5000 + ci), y.shape)) as Tensor[];
        });
      const rc = run(cpu), rg = run(g);
      try {
        for (let k = 0; k < rc.length; k++) {
          assertClose(await rg[k].read(), await rc[k].read(), { atol: 2e-5, rtol: 2e-4, msg: `input ${k}` });
        }
      } catch (e) {
        failures.push(`${cs.name}: ${(e as Error).message}`);
      }
      for (const t of [...rc, ...rg]) t.dispose();
    }
    if (failures.length) {
      throw new Error(`${failures.length}/${CASES.length} failed:\n${failures.join("\n")}`);
    }
  },
});

Deno.test({
  name: "fused backward: each of softmax, reparameterize's z and its kl costs one backward dispatch",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const count = (build: (x: Tensor[]) => Tensor, shape: number[], inputs: number) =>
      scope(() => {
        const xs = Array.from({ length: inputs }, () => {
          const t = g.fill(shape, 0.3);
          t.requiresGrad = true;
          return t;
        });
        const y = build(xs);
        const seed = g.fill(y.shape, 1);
        const d0 = g.rec.dispatches;
        gradients(y, xs, seed);
        return g.rec.dispatches - d0;
      });
    assertEquals(count(([x]) => softmax(x, 1), [37, 56], 1), 1);
    assertEquals(count(([x]) => softmax(x, 0), [300, 2], 1), 1);
    assertEquals(count(([m, v]) => reparameterize(m, v, KEY, 0).z, [37, 56], 2), 1);
    assertEquals(count(([m, v]) => reparameterize(m, v, KEY, 0).kl, [37, 56], 2), 1);
    await g.sync();
  },
});

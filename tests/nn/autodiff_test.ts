/** Autodiff and memory-scope semantics: accumulation, noGrad, missing gradients, scopes, and error messages. */
import { assertClose, assertEquals, cpu, cpu64, gpu, HAS_GPU, take } from "../_helpers.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { grad, gradients, noGrad, recordMulti, valueAndGrad } from "../../nn/autodiff.ts";
import { keep, scope, scopeDepth } from "../../nn/scope.ts";
import {
  add,
  concat,
  exp,
  matmul,
  mul,
  mulScalar,
  reshape,
  softmax,
  square,
  sum,
  tanh,
  tensor,
  where,
} from "../../nn/ops.ts";

function assertThrows(fn: () => unknown, ...needles: string[]): string {
  try {
    fn();
  } catch (e) {
    const msg = (e as Error).message;
    for (const s of needles) {
      if (!msg.includes(s)) throw new Error(`error message "${msg}" does not mention "${s}"`);
    }
    return msg;
  }
  throw new Error(`expected an error mentioning ${needles.join(", ")}`);
}

const leaf = (data: number[], shape: number[], be = cpu64) =>
  tensor(data, shape, { backend: be, requiresGrad: true });

Deno.test("autodiff: a tensor used twice accumulates both contributions (x·x → 2x, x + tanh x + x²)", () => {
  scope(() => {
    const x = leaf([0.5, -1, 2, 3], [4]);
    const [g] = gradients(sum(mul(x, x)), [x]);
    assertClose(cpu64.data(g!), [1, -2, 4, 6], { atol: 1e-12, rtol: 0 });
    // Three uses of x on different paths, one of them through a broadcast.
    const y = add(add(x, tanh(x)), square(x));
    const [g2] = gradients(sum(y), [x]);
    const xs = [0.5, -1, 2, 3];
    assertClose(cpu64.data(g2!), xs.map((v) => 1 + (1 - Math.tanh(v) ** 2) + 2 * v), {
      atol: 1e-12,
      rtol: 0,
    });
  });
});

Deno.test("autodiff: an intermediate used by two consumers gets the sum of their gradients", () => {
  scope(() => {
    const x = leaf([0.1, 0.2, 0.3], [3]);
    const h = exp(x); // used twice below
    const y = add(mulScalar(h, 3), mul(h, h));
    const [g] = gradients(sum(y), [x]);
    const want = [0.1, 0.2, 0.3].map((v) => 3 * Math.exp(v) + 2 * Math.exp(2 * v));
    assertClose(cpu64.data(g!), want, { atol: 1e-12, rtol: 1e-12 });
  });
});

Deno.test("autodiff: noGrad records nothing, and gradients through it are null", () => {
  scope(() => {
    const x = leaf([1, 2], [2]);
    const y = noGrad(() => mul(x, x));
    if (y.node !== null || y.requiresGrad) throw new Error("noGrad recorded a node");
    const z = sum(y);
    if (z.node !== null) throw new Error("a node was recorded on top of a noGrad result");
    const [g] = gradients(add(sum(x), z), [x]);
    assertClose(cpu64.data(g!), [1, 1], { atol: 0, rtol: 0 });
    // Nested noGrad restores the previous mode, also after a throw.
    try {
      noGrad(() => {
        throw new Error("boom");
      });
    } catch { /* expected */ }
    if (!mul(x, x).node) throw new Error("recording was not restored after noGrad threw");
  });
});

Deno.test("autodiff: a tensor outside the graph gets null from gradients() and zeros from valueAndGrad()", () => {
  scope(() => {
    const x = leaf([1, 2, 3], [3]);
    const unused = leaf([4, 5], [2]);
    const [gx, gu] = gradients(sum(square(x)), [x, unused]);
    if (gu !== null) throw new Error("expected null for an unused tensor");
    assertClose(cpu64.data(gx!), [2, 4, 6], { atol: 0, rtol: 0 });
    const [loss, [vx, vu]] = valueAndGrad(() => sum(square(x)), [x, unused])();
    assertClose(cpu64.data(loss), [14], { atol: 0, rtol: 0 });
    assertClose(cpu64.data(vx), [2, 4, 6], { atol: 0, rtol: 0 });
    if (JSON.stringify(vu.shape) !== "[2]") throw new Error(`zeros have shape ${vu.shape}`);
    assertClose(cpu64.data(vu), [0, 0], { atol: 0, rtol: 0 });
    const [gg] = grad(() => sum(mul(x, reshape(unused, [2, 1]))), [x])();
    assertClose(cpu64.data(gg), [9, 9, 9], { atol: 0, rtol: 0 });
  });
});

Deno.test("autodiff: gradients() validates the loss and the seed", () => {
  scope(() => {
    const x = leaf([1, 2, 3], [3]);
    assertThrows(() => gradients(square(x), [x]), "grad", "[3]");
    assertThrows(() => gradients(square(x), [x], cpu64.fill([2], 1)), "grad", "seed");
    const [g] = gradients(square(x), [x], cpu64.fromData([1, 0, 2], [3]));
    assertClose(cpu64.data(g!), [2, 0, 12], { atol: 0, rtol: 0 });
  });
});

Deno.test("scope: disposes intermediates, keeps returned tensors (arrays and objects) and keep()s", () => {
  const depth = scopeDepth();
  let a!: Tensor, b!: Tensor, kept!: Tensor, inner!: Tensor;
  const out = scope(() => {
    a = tensor([1, 2], [2], { backend: cpu });
    b = mul(a, a);
    kept = keep(add(a, a));
    inner = scope(() => exp(b)); // moves to this scope, then disposed with it
    const c = add(b, b);
    return { list: [c], nested: { d: mul(c, a) }, n: 3 };
  });
  if (scopeDepth() !== depth) throw new Error("scope stack not restored");
  if (!a.disposed || !b.disposed || !inner.disposed) throw new Error("intermediates were not disposed");
  if (kept.disposed) throw new Error("keep() was ignored");
  if (out.list[0].disposed || out.nested.d.disposed) throw new Error("returned tensors were disposed");
  assertClose(cpu.data(out.nested.d), [2, 16]);
  // A returned tensor belongs to the enclosing scope.
  let moved!: Tensor;
  scope(() => {
    moved = scope(() => tensor([1], [1], { backend: cpu }));
    if (moved.disposed) throw new Error("returned too early");
  });
  if (!moved.disposed) throw new Error("a tensor returned from an inner scope outlived the outer one");
  // A throw still disposes, and the error propagates.
  let t!: Tensor;
  try {
    scope(() => {
      t = tensor([1], [1], { backend: cpu });
      throw new Error("inside");
    });
  } catch (e) {
    if ((e as Error).message !== "inside") throw e;
  }
  if (!t.disposed) throw new Error("scope leaked on throw");
  // Returning an already-disposed tensor is harmless.
  scope(() => {
    const d = tensor([1], [1], { backend: cpu });
    d.dispose();
    return d;
  });
  out.list[0].dispose(), out.nested.d.dispose(), kept.dispose();
});

Deno.test("errors: use after free names the op", () => {
  const x = tensor([1, 2, 3, 4], [2, 2], { backend: cpu });
  const w = tensor([1, 0, 0, 1], [2, 2], { backend: cpu });
  x.dispose();
  assertThrows(() => exp(x), "use after free", "exp");
  assertThrows(() => matmul(w, x), "use after free", "matmul");
  assertThrows(() => add(w, x), "use after free", "add");
  assertThrows(() => reshape(x, [4]), "use after free", "reshape");
  assertThrows(() => concat([w, x], 0), "use after free", "concat");
  assertThrows(() => x.storage, "use after free");
  w.dispose();
  // Gradients of a graph whose intermediates a scope already freed.
  const p = tensor([0.5, 1], [2], { backend: cpu, requiresGrad: true });
  const l = scope(() => sum(square(exp(p))));
  assertThrows(() => gradients(l, [p]), "use after free", "grad of sum");
  l.dispose(), p.dispose();
});

Deno.test("errors: shape mismatches name the op and both shapes", () => {
  scope(() => {
    const a = cpu.fill([2, 3], 1), b = cpu.fill([4, 5], 1);
    assertThrows(() => matmul(a, b), "matmul", "[2,3]", "[4,5]");
    assertThrows(() => matmul(a, cpu.fill([3, 5], 1), { bias: cpu.fill([4], 0) }), "matmul", "bias", "[4]");
    assertThrows(() => add(a, cpu.fill([4], 1)), "add", "[2,3]", "[4]");
    const a3 = cpu.fill([2, 2, 3], 1), w = cpu.fill([3, 5], 1);
    assertThrows(
      () => matmul(a3, w, { bias: cpu.fill([3, 1, 5], 0) }),
      "matmul",
      "bias",
      "[3,1,5]",
      "[2,2,5]",
    );
    assertThrows(() => where(cpu.fill([2], 1), a, a), "where", "[2]");
    assertThrows(() => concat([a, b], 0), "concat", "[2,3]", "[4,5]");
    assertThrows(() => reshape(a, [4, 2]), "reshape", "[2,3]", "[4,2]");
    assertThrows(() => softmax(a, 2), "softmax", "axis 2");
    assertThrows(() => sum(a, [0, 0]), "sum", "repeated");
  });
});

Deno.test("errors: an i32 tensor in an f32 op is a dtype error", () => {
  scope(() => {
    const i = cpu.fromData([1, 2], [2], "i32"), f = cpu.fill([2], 1);
    assertThrows(() => exp(i), "exp", "i32");
    assertThrows(() => add(f, i), "add", "i32");
    assertThrows(() => matmul(cpu.fromData([1, 2, 3, 4], [2, 2], "i32"), f.view([2, 1])), "matmul", "i32");
  });
});

Deno.test({
  name: "errors: tensors on different devices fail before any GPU work",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    scope(() => {
      const xc = cpu.fill([2, 2], 1), xg = g.fill([2, 2], 1);
      const before = g.rec.dispatches;
      assertThrows(() => add(xc, xg), "add", "different devices", "cpu", "webgpu");
      assertThrows(() => matmul(xg, xc), "matmul", "different devices");
      assertThrows(() => concat([xg, xc], 0), "concat", "different devices");
      assertThrows(() => where(xc, xg, xg), "where", "different devices");
      if (g.rec.dispatches !== before) throw new Error("a dispatch was recorded before the device check");
    });
  },
});

Deno.test("multi-output nodes: one backward call with every output's gradient, after all their consumers", async () => {
  const be = cpu64;
  let calls = 0;
  let seen: (number[] | null)[] = [];
  // Toy op with outputs (2x, x²); its backward sees both output gradients at once.
  const twoOut = (x: Tensor) => {
    const [a, b] = [be.binary("mul", x, be.fill([1], 2)), be.binary("mul", x, x)];
    return recordMulti([a, b], "two", [x], ([ga, gb]) => {
      calls++;
      seen = [ga ? Array.from(be.data(ga)) : null, gb ? Array.from(be.data(gb)) : null];
      let d = be.fill(x.shape, 0);
      if (ga) d = be.binary("add", d, be.binary("mul", ga, be.fill([1], 2)));
      if (gb) d = be.binary("add", d, be.binary("mul", gb, be.binary("mul", x, be.fill([1], 2))));
      return [d];
    });
  };
  const x = be.fromData([1, -2, 3], [3]);
  x.requiresGrad = true;
  // Both outputs used, b through a longer chain than a (b's consumers come later in the walk).
  const [l1, [g1]] = valueAndGrad(() => {
    const [a, b] = twoOut(x);
    return sum(add(mul(a, a), exp(mul(b, be.fromData([0.1, 0.1, 0.1], [3])))));
  }, [x])();
  assertEquals(calls, 1, "one backward call");
  if (!seen[0] || !seen[1]) throw new Error("both output gradients should reach the backward");
  // d/dx [(2x)² + exp(0.1x²)] = 8x + 0.2x·exp(0.1x²)
  const want = [1, -2, 3].map((v) => 8 * v + 0.2 * v * Math.exp(0.1 * v * v));
  assertClose(await take(g1), want, { atol: 1e-6, rtol: 1e-6 });
  assertClose(await take(l1), [[1, -2, 3].reduce((s, v) => s + 4 * v * v + Math.exp(0.1 * v * v), 0)], {
    atol: 1e-6,
    rtol: 1e-6,
  });
  // Only the second output used: the backward gets null for the first.
  calls = 0;
  const [, [g2]] = valueAndGrad(() => sum(twoOut(x)[1]), [x])();
  assertEquals(calls, 1, "one call with one output used");
  assertEquals(seen[0], null, "the unused output has no gradient");
  assertClose(await take(g2), [2, -4, 6], { atol: 1e-6, rtol: 1e-6 });
});

import { assertClose, cpu, gpu, HAS_GPU, randn, randu, take } from "../_helpers.ts";
import type { Backend, ReduceOp } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { sizeOf } from "../../nn/shape.ts";
import {
  EMPTY_VALUE,
  PER_THREAD,
  SMALL_N,
  smallReduceSpec,
  smallSoftmaxSpec,
  treePlan,
  treeReduceSpec,
} from "../../kernels/reduce.ts";

const OPS: ReduceOp[] = ["sum", "max", "min", "logsumexp"];

/** assertClose that also accepts matching infinities (and matching NaNs) at the same positions. */
function assertCloseInf(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  opts: { atol?: number; rtol?: number; msg?: string } = {},
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${opts.msg} length mismatch: ${actual.length} vs ${expected.length}`);
  }
  const a: number[] = [], e: number[] = [];
  for (let i = 0; i < actual.length; i++) {
    const x = actual[i], y = expected[i];
    if (Number.isFinite(y)) {
      a.push(x);
      e.push(y);
    } else if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y))) {
      throw new Error(`${opts.msg} at [${i}]: got ${x}, expected ${y}`);
    }
  }
  assertClose(a, e, opts);
}

function sameShape(a: Tensor, b: Tensor, msg: string): void {
  if (JSON.stringify(a.shape) !== JSON.stringify(b.shape)) {
    throw new Error(`${msg}: shape ${JSON.stringify(a.shape)} vs ${JSON.stringify(b.shape)}`);
  }
}

/** Backends to run the hand-computed cases on. */
async function backends(): Promise<Backend[]> {
  const g = HAS_GPU ? await gpu() : null;
  return g ? [cpu, g] : [cpu];
}

async function run(
  be: Backend,
  data: number[],
  shape: number[],
  f: (x: Tensor) => Tensor,
): Promise<number[]> {
  const x = be.fromData(data, shape);
  const y = f(x);
  x.dispose();
  return Array.from(await take(y));
}

const SHAPES = [[1], [7], [3, 5], [2, 3, 4], [4, 1, 300], [1000, 3], [2, 70000], [0, 4], [4, 0]];

Deno.test({
  name: "reduce: every op and softmax over every axis, GPU matches CPU (small, tree, big axis, empty)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    for (const shape of SHAPES) {
      const n = sizeOf(shape);
      const data = randn(n, 11, 2);
      const xc = cpu.fromData(data, shape), xg = g.fromData(data, shape);
      for (let axis = 0; axis < shape.length; axis++) {
        // Sums of many N(0, 4) values reach a few hundred; allow for the f32 rounding of that magnitude.
        const tol = { atol: 2e-5 * Math.sqrt(shape[axis] + 1) * 2, rtol: 2e-5 };
        for (const op of OPS) {
          const c = cpu.reduce(op, xc, axis), r = g.reduce(op, xg, axis);
          sameShape(r, c, `${op} ${shape} axis ${axis}`);
          assertCloseInf(await take(r), await take(c), { ...tol, msg: `${op} ${shape} axis ${axis}` });
        }
        for (const log of [false, true]) {
          const c = cpu.softmax(xc, axis, log), r = g.softmax(xg, axis, log);
          sameShape(r, c, `softmax(${log}) ${shape} axis ${axis}`);
          assertClose(await take(r), await take(c), {
            atol: 1e-6,
            rtol: 2e-5,
            msg: `softmax(log=${log}) ${shape} axis ${axis}`,
          });
        }
      }
      xc.dispose();
      xg.dispose();
    }
  },
});

Deno.test({
  name: "reduce: multi-level tree (more than 256 chunks) on a [17000, 65] tensor, GPU matches CPU",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const shape = [17000, 65];
    // Axis 0 with inner 65 needs two tree levels and a final small pass.
    if (treePlan(17000, 65).chunks < SMALL_N) throw new Error("test shape no longer exercises recursion");
    const data = randn(sizeOf(shape), 5);
    const xc = cpu.fromData(data, shape), xg = g.fromData(data, shape);
    for (const op of ["sum", "max", "logsumexp"] as ReduceOp[]) {
      assertClose(await take(g.reduce(op, xg, 0)), await take(cpu.reduce(op, xc, 0)), {
        atol: 2e-4,
        rtol: 2e-5,
        msg: op,
      });
    }
    assertClose(await take(g.softmax(xg, 0, true)), await take(cpu.softmax(xc, 0, true)), {
      atol: 2e-5,
      rtol: 2e-5,
      msg: "log-softmax",
    });
    xc.dispose();
    xg.dispose();
  },
});

Deno.test("reduce: hand-computed sum/max/min/logsumexp of a small matrix", async () => {
  const m = [1, 2, 3, 4, 5, 6]; // [[1,2,3],[4,5,6]]
  for (const be of await backends()) {
    const k = be.kind;
    assertClose(await run(be, m, [2, 3], (x) => be.reduce("sum", x, 0)), [5, 7, 9], { msg: `${k} sum0` });
    assertClose(await run(be, m, [2, 3], (x) => be.reduce("sum", x, 1)), [6, 15], { msg: `${k} sum1` });
    assertClose(await run(be, m, [2, 3], (x) => be.reduce("max", x, 1)), [3, 6], { msg: `${k} max1` });
    assertClose(await run(be, m, [2, 3], (x) => be.reduce("min", x, 0)), [1, 2, 3], { msg: `${k} min0` });
    const lse = (a: number[]) => Math.log(a.reduce((s, v) => s + Math.exp(v), 0));
    assertClose(await run(be, m, [2, 3], (x) => be.reduce("logsumexp", x, 1)), [
      lse([1, 2, 3]),
      lse([4, 5, 6]),
    ], {
      msg: `${k} lse1`,
    });
    // Rank 1 → scalar shape [].
    const x = be.fromData([2, -1, 7], [3]);
    const s = be.reduce("sum", x, 0);
    if (s.shape.length !== 0) throw new Error(`${k}: reducing a vector should give shape []`);
    assertClose(await take(s), [8], { msg: `${k} vector sum` });
    x.dispose();
  }
});

Deno.test("reduce: logsumexp is stable for large values and handles −∞ (short and long rows)", async () => {
  for (const be of await backends()) {
    const k = be.kind;
    assertClose(
      await run(be, [1000, 1000, -1000, -1000], [2, 2], (x) => be.reduce("logsumexp", x, 1)),
      [1000 + Math.LN2, -1000 + Math.LN2],
      { atol: 1e-4, msg: `${k} big` },
    );
    const ninf = -Infinity;
    assertCloseInf(
      await run(be, [ninf, 0, ninf, ninf, ninf, Math.log(3)], [3, 2], (x) => be.reduce("logsumexp", x, 1)),
      [0, ninf, Math.log(3)],
      { msg: `${k} -inf short` },
    );
    // Rows of 300 take the cooperative path: one row all −∞, one with a single finite value, one with a mix.
    const n = 300;
    const rows = new Float32Array(3 * n).fill(ninf);
    rows[n + 123] = 5;
    for (let i = 0; i < n; i += 2) rows[2 * n + i] = 1000;
    assertCloseInf(
      await run(be, Array.from(rows), [3, n], (x) => be.reduce("logsumexp", x, 1)),
      [ninf, 5, 1000 + Math.log(n / 2)],
      { atol: 1e-4, msg: `${k} -inf long` },
    );
    // max/min with −∞ entries.
    assertCloseInf(await run(be, Array.from(rows), [3, n], (x) => be.reduce("max", x, 1)), [ninf, 5, 1000], {
      msg: `${k} max -inf`,
    });
  }
});

Deno.test("reduce: empty axes give the identity, empty outputs stay empty", async () => {
  for (const be of await backends()) {
    for (const op of OPS) {
      const e = EMPTY_VALUE[op];
      const x = be.fromData([], [4, 0]);
      const r = be.reduce(op, x, 1);
      if (JSON.stringify(r.shape) !== "[4]") throw new Error(`${op}: shape ${r.shape}`);
      assertCloseInf(await take(r), [e, e, e, e], { msg: `${be.kind} ${op} [4,0] axis 1` });
      const r0 = be.reduce(op, x, 0);
      if (JSON.stringify(r0.shape) !== "[0]") throw new Error(`${op}: shape ${r0.shape}`);
      if ((await take(r0)).length !== 0) throw new Error(`${op}: expected empty`);
      const y = be.fromData([], [0, 3]);
      assertCloseInf(await take(be.reduce(op, y, 0)), [e, e, e], { msg: `${be.kind} ${op} [0,3] axis 0` });
      x.dispose();
      y.dispose();
    }
    if (EMPTY_VALUE.sum !== 0 || EMPTY_VALUE.max !== -Infinity || EMPTY_VALUE.min !== Infinity) {
      throw new Error("identities changed");
    }
    const s = be.softmax(be.fromData([], [4, 0]), 1, false);
    if (s.size !== 0 || JSON.stringify(s.shape) !== "[4,0]") throw new Error("softmax of empty rows");
    s.dispose();
    assertClose(await take(be.sumSquares(be.fromData([], [0]))), [0], { msg: `${be.kind} sumSquares empty` });
  }
});

Deno.test("reduce: softmax and log-softmax hand-computed rows, along either axis, with −∞ entries", async () => {
  const l2 = Math.log(2), l3 = Math.log(3);
  for (const be of await backends()) {
    const k = be.kind;
    const rows = [0, l2, l3, 5, 5 + l2, 5 + l3];
    const p = [1 / 6, 2 / 6, 3 / 6];
    assertClose(await run(be, rows, [2, 3], (x) => be.softmax(x, 1, false)), [...p, ...p], {
      msg: `${k} sm`,
    });
    assertClose(await run(be, rows, [2, 3], (x) => be.softmax(x, 1, true)), [...p, ...p].map(Math.log), {
      msg: `${k} lsm`,
    });
    // The same rows stored as columns.
    const cols = [0, 5, l2, 5 + l2, l3, 5 + l3];
    assertClose(await run(be, cols, [3, 2], (x) => be.softmax(x, 0, false)), [
      p[0],
      p[0],
      p[1],
      p[1],
      p[2],
      p[2],
    ], {
      msg: `${k} sm axis 0`,
    });
    // −∞ entries get probability 0 and log-probability −∞.
    const masked = [0, -Infinity, l3];
    assertClose(await run(be, masked, [1, 3], (x) => be.softmax(x, 1, false)), [0.25, 0, 0.75], {
      msg: `${k} masked`,
    });
    assertCloseInf(
      await run(be, masked, [1, 3], (x) => be.softmax(x, 1, true)),
      [Math.log(0.25), -Infinity, Math.log(0.75)],
      { msg: `${k} masked log` },
    );
    // A single element has probability 1.
    assertClose(await run(be, [42], [1], (x) => be.softmax(x, 0, false)), [1], { msg: `${k} single` });
  }
});

Deno.test("reduce: softmax of large-magnitude inputs (±80) is finite, normalised and matches across devices", async () => {
  const bes = await backends();
  for (const [shape, axis] of [[[6, 37], 1], [[3, 400], 1], [[400, 3], 0]] as [number[], number][]) {
    const data = randu(sizeOf(shape), 17, -80, 80);
    const outs: Float32Array[] = [];
    for (const be of bes) {
      const p = await run(be, Array.from(data), shape, (x) => be.softmax(x, axis, false));
      const lp = await run(be, Array.from(data), shape, (x) => be.softmax(x, axis, true));
      if (!p.every(Number.isFinite) || !lp.every(Number.isFinite)) throw new Error(`${be.kind}: non-finite`);
      // Σ over the axis is 1 and exp(log-softmax) = softmax.
      const [a, b] = axis === 1 ? shape : [shape[1], shape[0]];
      for (let r = 0; r < a; r++) {
        let s = 0;
        for (let c = 0; c < b; c++) s += p[axis === 1 ? r * b + c : c * a + r];
        assertClose([s], [1], { atol: 1e-5, msg: `${be.kind} ${shape} row ${r}` });
      }
      assertClose(lp.map(Math.exp), p, { atol: 1e-7, rtol: 1e-4, msg: `${be.kind} exp(lsm)` });
      outs.push(Float32Array.from(lp));
    }
    if (outs.length === 2) assertClose(outs[1], outs[0], { atol: 2e-5, rtol: 2e-6, msg: `${shape} parity` });
  }
});

Deno.test("reduce: sumSquares of 1,000,003 ones and of a million 0.1s is accurate (tree, not serial f32)", async () => {
  for (const be of await backends()) {
    const ones = be.fill([1_000_003], 1);
    const r = await take(be.sumSquares(ones));
    ones.dispose();
    assertClose(r, [1_000_003], { atol: 0, rtol: 1e-5, msg: `${be.kind} ones` });
    const tenth = Math.fround(0.1);
    const t = be.fill([1_000_000], 0.1);
    // A serial f32 loop is off by about 1% relative here.
    assertClose(await take(be.sumSquares(t)), [1e6 * tenth * tenth], {
      atol: 0,
      rtol: 2e-6,
      msg: `${be.kind} sq`,
    });
    assertClose(await take(be.reduce("sum", t, 0)), [1e6 * tenth], {
      atol: 0,
      rtol: 2e-6,
      msg: `${be.kind} sum`,
    });
    t.dispose();
  }
});

Deno.test({
  name: "reduce: sumSquares GPU matches CPU over sizes around the tree thresholds",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    for (const n of [1, 7, 255, 256, 4095, 4097, 70001]) {
      const d = randn(n, n);
      assertClose(
        await take(g.sumSquares(g.fromData(d, [n]))),
        await take(cpu.sumSquares(cpu.fromData(d, [n]))),
        {
          atol: 0,
          rtol: 2e-6,
          msg: `n=${n}`,
        },
      );
    }
  },
});

Deno.test({
  name: "reduce: intermediate chunk tensors go back to the pool (one live buffer per result)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const x = g.fromData(randn(300_000, 3), [300_000]);
    const before = g.rec.pool.stats().liveBuffers;
    const outs = [g.reduce("sum", x, 0), g.reduce("logsumexp", x, 0), g.sumSquares(x), g.softmax(x, 0, true)];
    if (g.rec.pool.stats().liveBuffers !== before + outs.length) {
      throw new Error(`leaked: ${g.rec.pool.stats().liveBuffers - before - outs.length} buffers`);
    }
    for (const o of outs) o.dispose();
    x.dispose();
    await g.sync();
  },
});

Deno.test("reduce: spec keys change with op, load and shape; tree plans cover the axis", () => {
  const keys = new Set<string>();
  for (const op of OPS) {
    for (const [o, n, i] of [[1, 7, 1], [2, 7, 1], [1, 7, 3], [1, 300, 1], [1, 300, 65]]) {
      keys.add(smallReduceSpec(op, "x", o, n, i).key);
      keys.add(smallReduceSpec(op, "sq", o, n, i).key);
      keys.add(treeReduceSpec(op, "x", o, n, i).key);
      keys.add(treeReduceSpec(op, "expshift", o, n, i).key);
    }
  }
  if (keys.size !== 4 * 5 * 4) throw new Error(`expected ${4 * 5 * 4} distinct keys, got ${keys.size}`);
  if (smallSoftmaxSpec(2, 5, 1, true).key === smallSoftmaxSpec(2, 5, 1, false).key) {
    throw new Error("log key");
  }
  for (const [n, inner] of [[256, 1], [70000, 1], [1000, 3], [300, 64], [17000, 65], [1_000_003, 1]]) {
    const p = treePlan(n, inner);
    if (p.tx * p.ty !== 256 || p.tx < Math.min(inner, 64)) throw new Error(`layout ${n}x${inner}`);
    if (p.chunk !== PER_THREAD * p.ty || p.chunks * p.chunk < n || (p.chunks - 1) * p.chunk >= n) {
      throw new Error(`chunks ${n}x${inner}`);
    }
    if (p.tiles * p.tx < inner) throw new Error(`tiles ${n}x${inner}`);
  }
});

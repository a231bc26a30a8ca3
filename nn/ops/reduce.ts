/**
 * Differentiable reductions (sum, mean, max, min, logsumexp over any set of axes) and softmax / log-softmax.
 * @module
 */
import type { ReduceOp } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { record } from "../autodiff.ts";
import { normAxis, type Shape, ShapeError, shapeStr } from "../shape.ts";
import { check } from "./_check.ts";

function axesOf(op: string, x: Tensor, axes?: number | number[]): number[] {
  const list = axes === undefined ? x.shape.map((_, i) => i) : typeof axes === "number" ? [axes] : axes;
  const norm = list.map((a) => normAxis(op, a, x.rank));
  if (new Set(norm).size !== norm.length) throw new ShapeError(`${op}: repeated axis in [${list}]`);
  return norm.sort((a, b) => a - b);
}

function keptShape(shape: Shape, axes: number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Reduces `axes` (all when omitted) with `op`, removing them unless `keepDims`. */
export function reduce(op: ReduceOp, x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const be = check(op, [x]);
  const ax = axesOf(op, x, axes);
  let cur = x;
  if (op === "logsumexp" && ax.length > 1) {
    // logsumexp over several axes = logsumexp over their flattened block: move them last and merge.
    const rest = x.shape.map((_, i) => i).filter((i) => !ax.includes(i));
    const perm = be.permute(x, [...rest, ...ax]);
    const n = ax.reduce((p, a) => p * x.shape[a], 1);
    const flat = perm.view([...rest.map((i) => x.shape[i]), n]);
    perm.dispose();
    cur = be.reduce("logsumexp", flat, rest.length);
    flat.dispose();
  } else {
    for (let k = ax.length - 1; k >= 0; k--) {
      const next = be.reduce(op, cur, ax[k]);
      if (cur !== x) cur.dispose();
      cur = next;
    }
    if (cur === x) cur = x.view(x.shape);
  }
  const kshape = keptShape(x.shape, ax);
  const out = keepDims
    ? (() => {
      const v = cur.view(kshape);
      cur.dispose();
      return v;
    })()
    : cur;
  return record(out, op, [x], (g) => {
    const gk = g.view(kshape);
    const gx = be.expand(gk, x.shape);
    gk.dispose();
    if (op === "sum") return [gx];
    const yk = out.view(kshape);
    let r: Tensor;
    if (op === "logsumexp") { // d/dx = softmax = exp(x − lse)
      const d = be.binary("sub", x, yk);
      const e = be.unary("exp", d);
      r = be.binary("mul", gx, e);
      d.dispose(), e.dispose();
    } else { // max/min: gradient to the arg-extremum entries (all of them on ties)
      const sel = be.binary("eq", x, yk);
      r = be.binary("mul", gx, sel);
      sel.dispose();
    }
    yk.dispose(), gx.dispose();
    return [r];
  });
}

/** Σ over `axes` (all by default). */
export const sum = (x: Tensor, axes?: number | number[], keepDims = false): Tensor =>
  reduce("sum", x, axes, keepDims);
/** max over `axes`. */
export const max = (x: Tensor, axes?: number | number[], keepDims = false): Tensor =>
  reduce("max", x, axes, keepDims);
/** min over `axes`. */
export const min = (x: Tensor, axes?: number | number[], keepDims = false): Tensor =>
  reduce("min", x, axes, keepDims);
/** log Σ exp over `axes`, numerically stable. */
export const logsumexp = (x: Tensor, axes?: number | number[], keepDims = false): Tensor =>
  reduce("logsumexp", x, axes, keepDims);

/** Mean over `axes` (all by default). */
export function mean(x: Tensor, axes?: number | number[], keepDims = false): Tensor {
  const ax = axesOf("mean", x, axes);
  const n = ax.reduce((p, a) => p * x.shape[a], 1);
  const s = reduce("sum", x, ax, keepDims);
  if (n === 1) return s;
  const be = s.backend;
  const y = be.unary("affine", s, 1 / n, 0);
  return record(y, "mean", [s], (g) => [be.unary("affine", g, 1 / n, 0)]);
}

/** Softmax along `axis` (default last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  const be = check("softmax", [x]);
  const a = normAxis("softmax", axis, x.rank);
  const y = be.softmax(x, a, false);
  return record(y, "softmax", [x], (g) => [be.softmaxGrad(y, g, a)]); // dx = y ⊙ (g − Σ g⊙y), fused
}

/** Log-softmax along `axis` (default last). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const be = check("logSoftmax", [x]);
  const a = normAxis("logSoftmax", axis, x.rank);
  const y = be.softmax(x, a, true);
  return record(y, "logSoftmax", [x], (g) => { // dx = g − softmax ⊙ Σ g
    const s = be.reduce("sum", g, a);
    const sk = s.view(keptShape(x.shape, [a]));
    const p = be.unary("exp", y);
    const ps = be.binary("mul", p, sk);
    const r = be.binary("sub", g, ps);
    s.dispose(), sk.dispose(), p.dispose(), ps.dispose();
    return [r];
  });
}

/** Throws unless `x` has exactly `rank` axes (helper for layers). */
export function expectRank(op: string, x: Tensor, rank: number): void {
  if (x.rank !== rank) throw new ShapeError(`${op}: expected rank ${rank}, got ${shapeStr(x.shape)}`);
}

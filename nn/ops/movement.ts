/**
 * Differentiable movement ops: reshape (a view), permute, slice, concat, gather, broadcast and pairwise products.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { record } from "../autodiff.ts";
import { broadcastShapes, checkShape, normAxis, type Shape, ShapeError, shapeStr, sizeOf } from "../shape.ts";
import { check } from "./_check.ts";
import { sumTo } from "./elementwise.ts";

/** Same data, new shape (one extent may be −1). No copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  check("reshape", [x], null);
  const known = shape.filter((d) => d !== -1);
  const infer = shape.length - known.length;
  if (infer > 1) throw new ShapeError(`reshape: more than one -1 in ${shapeStr(shape)}`);
  const full = infer ? shape.map((d) => (d === -1 ? x.size / Math.max(1, sizeOf(known)) : d)) : [...shape];
  checkShape("reshape", full);
  if (sizeOf(full) !== x.size) {
    throw new ShapeError(
      `reshape: cannot reshape ${shapeStr(x.shape)} (${x.size} elements) to ${shapeStr(shape)}`,
    );
  }
  const y = x.view(full);
  return record(y, "reshape", [x], (g) => [g.view(x.shape)]);
}

/** Permutes axes (`perm[i]` = source axis of output axis i). */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const be = check("permute", [x], null);
  const p = perm.map((a) => normAxis("permute", a, x.rank));
  if (p.length !== x.rank || new Set(p).size !== p.length) {
    throw new ShapeError(`permute: [${perm}] is not a permutation of the axes of ${shapeStr(x.shape)}`);
  }
  const y = be.permute(x, p);
  const inv = new Array<number>(p.length);
  p.forEach((src, i) => (inv[src] = i));
  return record(y, "permute", [x], (g) => [be.permute(g, inv)]);
}

/** Swaps the last two axes. */
export function transpose(x: Tensor): Tensor {
  if (x.rank < 2) throw new ShapeError(`transpose: needs rank ≥ 2, got ${shapeStr(x.shape)}`);
  const p = x.shape.map((_, i) => i);
  [p[p.length - 2], p[p.length - 1]] = [p[p.length - 1], p[p.length - 2]];
  return permute(x, p);
}

/** The block of `x` starting at `begin` with extents `size` (−1 = to the end). */
export function slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
  const be = check("slice", [x], null);
  if (begin.length !== x.rank || size.length !== x.rank) {
    throw new ShapeError(`slice: begin/size must have rank ${x.rank} for ${shapeStr(x.shape)}`);
  }
  const sz = size.map((s, i) => (s === -1 ? x.shape[i] - begin[i] : s));
  sz.forEach((s, i) => {
    if (!Number.isInteger(begin[i]) || begin[i] < 0 || s < 0 || begin[i] + s > x.shape[i]) {
      throw new ShapeError(`slice: block begin [${begin}] size [${sz}] is outside ${shapeStr(x.shape)}`);
    }
  });
  const y = be.slice(x, begin, sz);
  return record(y, "slice", [x], (g) => [be.pad(g, x.shape, begin)]);
}

/** Concatenates tensors along `axis`. */
export function concat(xs: Tensor[], axis: number): Tensor {
  const be = check("concat", xs, null);
  if (!xs.length) throw new ShapeError("concat: no inputs");
  const a = normAxis("concat", axis, xs[0].rank);
  for (const t of xs) {
    if (t.rank !== xs[0].rank || t.shape.some((d, i) => i !== a && d !== xs[0].shape[i])) {
      throw new ShapeError(
        `concat: shapes ${xs.map((q) => shapeStr(q.shape)).join(", ")} differ off axis ${a}`,
      );
    }
  }
  const y = be.concat(xs, a);
  return record(y, "concat", xs, (g) => {
    let off = 0;
    return xs.map((t) => {
      const begin = t.shape.map((_, i) => (i === a ? off : 0));
      off += t.shape[a];
      return t.requiresGrad ? be.slice(g, begin, t.shape) : null;
    });
  });
}

/** Selects entries `idx` (an i32 tensor of shape [M]) along `axis`. */
export function gather(x: Tensor, idx: Tensor, axis = 0): Tensor {
  const be = check("gather", [x], null);
  check("gather", [x, idx], null);
  if (idx.dtype !== "i32" || idx.rank !== 1) {
    throw new ShapeError(`gather: indices must be a 1-D i32 tensor, got ${idx.dtype}${shapeStr(idx.shape)}`);
  }
  const a = normAxis("gather", axis, x.rank);
  const y = be.gather(x, idx, a);
  return record(y, "gather", [x], (g) => [be.scatterAdd(g, idx, a, x.shape[a])]);
}

/** Broadcasts `x` to `shape` (NumPy rules). */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const be = check("broadcastTo", [x]);
  const target = broadcastShapes("broadcastTo", x.shape, shape);
  if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`broadcastTo: ${shapeStr(x.shape)} cannot be broadcast to ${shapeStr(shape)}`);
  }
  const y = be.expand(x, shape);
  return record(y, "broadcastTo", [x], (g) => [sumTo(g, x.shape)]);
}

/** Upper-triangle products x_i·x_j (i < j) over the last axis: n → n(n−1)/2. */
export function pairwise(x: Tensor): Tensor {
  const be = check("pairwise", [x]);
  if (x.rank < 1) throw new ShapeError(`pairwise: needs rank ≥ 1, got ${shapeStr(x.shape)}`);
  const y = be.pairwise(x);
  return record(y, "pairwise", [x], (g) => [be.pairwiseGrad(x, g)]);
}

/** Inserts an axis of extent 1 at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis("unsqueeze", axis < 0 ? axis + x.rank + 1 : axis, x.rank + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

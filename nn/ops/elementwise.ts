/**
 * Differentiable elementwise ops: unary activations, broadcasting arithmetic, comparisons and where.
 * @module
 */
import type { BinaryOp, UnaryOp } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { record, setGradAdd } from "../autodiff.ts";
import { broadcastShapes, sameShape, type Shape } from "../shape.ts";
import { check } from "./_check.ts";

/** Sums `g` over the axes that broadcasting expanded, so it matches `shape`. */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const be = g.backend;
  let cur = g;
  // Leading axes that `shape` lacks.
  while (cur.rank > shape.length) {
    const next = be.reduce("sum", cur, 0);
    if (cur !== g) cur.dispose();
    cur = next;
  }
  for (let ax = 0; ax < shape.length; ax++) {
    if (shape[ax] === 1 && cur.shape[ax] !== 1) {
      const red = be.reduce("sum", cur, ax);
      const kept = red.view([...cur.shape.slice(0, ax), 1, ...cur.shape.slice(ax + 1)]);
      red.dispose();
      if (cur !== g) cur.dispose();
      cur = kept;
    }
  }
  return cur;
}

/** Applies the unary op `op` with parameters (a, b); see {@link UnaryOp}. */
export function unary(op: UnaryOp, x: Tensor, a = 0, b = 0): Tensor {
  const be = check(op, [x]);
  const y = be.unary(op, x, a, b);
  return record(y, op, [x], (g) => [be.unaryGrad(op, x, y, g, a, b)]);
}

/** −x */
export const neg = (x: Tensor): Tensor => unary("neg", x);
/** eˣ */
export const exp = (x: Tensor): Tensor => unary("exp", x);
/** ln x */
export const log = (x: Tensor): Tensor => unary("log", x);
/** √x */
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x);
/** 1/√x */
export const rsqrt = (x: Tensor): Tensor => unary("rsqrt", x);
/** |x| */
export const abs = (x: Tensor): Tensor => unary("abs", x);
/** x² */
export const square = (x: Tensor): Tensor => unary("square", x);
/** 1/x */
export const reciprocal = (x: Tensor): Tensor => unary("reciprocal", x);
/** max(x, 0) */
export const relu = (x: Tensor): Tensor => unary("relu", x);
/** x for x > 0, else alpha·x */
export const leakyRelu = (x: Tensor, alpha = 0.01): Tensor => unary("leaky_relu", x, alpha);
/** tanh x */
export const tanh = (x: Tensor): Tensor => unary("tanh", x);
/** 1/(1+e⁻ˣ) */
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x);
/** ln(1+eˣ) */
export const softplus = (x: Tensor): Tensor => unary("softplus", x);
/** x·Φ(x) (exact, erf-based) */
export const gelu = (x: Tensor): Tensor => unary("gelu", x);
/** x·scale + shift */
export const affine = (x: Tensor, scale: number, shift = 0): Tensor => unary("affine", x, scale, shift);
/** x·s */
export const mulScalar = (x: Tensor, s: number): Tensor => unary("affine", x, s, 0);
/** x + s */
export const addScalar = (x: Tensor, s: number): Tensor => unary("affine", x, 1, s);
/** xᵖ for a constant exponent */
export const powScalar = (x: Tensor, p: number): Tensor => unary("pow", x, p);
/** clamp to [lo, hi] (gradient passes inside the interval) */
export const clamp = (x: Tensor, lo: number, hi: number): Tensor => unary("clamp", x, lo, hi);

/** Applies a broadcasting binary op; gradients are reduced back to each input's shape. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const be = check(op, [a, b]);
  broadcastShapes(op, a.shape, b.shape);
  const y = be.binary(op, a, b);
  if (op === "gt" || op === "ge" || op === "lt" || op === "eq") return y; // piecewise constant: no gradient
  return record(y, op, [a, b], (g) => {
    const ga = a.requiresGrad ? sumTo(gradA(op, a, b, y, g), a.shape) : null;
    const gb = b.requiresGrad ? sumTo(gradB(op, a, b, y, g), b.shape) : null;
    return [ga, gb];
  });
}

function gradA(op: BinaryOp, a: Tensor, b: Tensor, y: Tensor, g: Tensor): Tensor {
  const be = g.backend;
  switch (op) {
    case "add":
    case "sub":
      return g;
    case "mul":
      return be.binary("mul", g, b);
    case "div":
      return be.binary("div", g, b);
    case "max":
    case "min": {
      const sel = be.binary("eq", a, y);
      const r = be.binary("mul", g, sel);
      sel.dispose();
      return r;
    }
    case "pow": { // d/da aᵇ = b·aᵇ⁻¹ = b·y/a
      const t = be.binary("mul", y, b);
      const t2 = be.binary("div", t, a);
      const r = be.binary("mul", g, t2);
      t.dispose(), t2.dispose();
      return r;
    }
    default:
      throw new Error(`no gradient for ${op}`);
  }
}

function gradB(op: BinaryOp, a: Tensor, b: Tensor, y: Tensor, g: Tensor): Tensor {
  const be = g.backend;
  switch (op) {
    case "add":
      return g;
    case "sub":
      return be.unary("neg", g);
    case "mul":
      return be.binary("mul", g, a);
    case "div": { // −g·a/b² = −g·y/b
      const t = be.binary("div", y, b);
      const t2 = be.binary("mul", g, t);
      const r = be.unary("neg", t2);
      t.dispose(), t2.dispose();
      return r;
    }
    case "max":
    case "min": { // ties go to a
      const selA = be.binary("eq", a, y);
      const selB = be.unary("affine", selA, -1, 1);
      const r = be.binary("mul", g, selB);
      selA.dispose(), selB.dispose();
      return r;
    }
    case "pow": { // d/db aᵇ = y·ln a
      const la = be.unary("log", a);
      const t = be.binary("mul", y, la);
      const r = be.binary("mul", g, t);
      la.dispose(), t.dispose();
      return r;
    }
    default:
      throw new Error(`no gradient for ${op}`);
  }
}

/** a + b (broadcasting) */
export const add = (a: Tensor, b: Tensor): Tensor => binary("add", a, b);
/** a − b (broadcasting) */
export const sub = (a: Tensor, b: Tensor): Tensor => binary("sub", a, b);
/** a · b (broadcasting) */
export const mul = (a: Tensor, b: Tensor): Tensor => binary("mul", a, b);
/** a / b (broadcasting) */
export const div = (a: Tensor, b: Tensor): Tensor => binary("div", a, b);
/** elementwise max (gradient to the first argument on ties) */
export const maximum = (a: Tensor, b: Tensor): Tensor => binary("max", a, b);
/** elementwise min (gradient to the first argument on ties) */
export const minimum = (a: Tensor, b: Tensor): Tensor => binary("min", a, b);
/** aᵇ for positive a */
export const pow = (a: Tensor, b: Tensor): Tensor => binary("pow", a, b);
/** 1 where a > b else 0 (no gradient) */
export const greater = (a: Tensor, b: Tensor): Tensor => binary("gt", a, b);
/** 1 where a < b else 0 (no gradient) */
export const less = (a: Tensor, b: Tensor): Tensor => binary("lt", a, b);
/** 1 where a == b else 0 (no gradient) */
export const equal = (a: Tensor, b: Tensor): Tensor => binary("eq", a, b);

/** `cond ? a : b` elementwise with broadcasting; gradients flow to the selected branch. */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const be = check("where", [cond, a, b]);
  broadcastShapes("where", broadcastShapes("where", cond.shape, a.shape), b.shape);
  const y = be.where(cond, a, b);
  return record(y, "where", [null, a, b], (g) => {
    const zero = be.fill([], 0);
    const ga = a.requiresGrad ? sumTo(be.where(cond, g, zero), a.shape) : null;
    const gb = b.requiresGrad ? sumTo(be.where(cond, zero, g), b.shape) : null;
    zero.dispose();
    return [null, ga, gb];
  });
}

setGradAdd((a, b) => a.backend.binary("add", a, b));

/**
 * CPU reference elementwise ops (independent of the WGSL): unary ops and their derivatives, broadcasting binary
 * ops, where, expand.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { BinaryOp, UnaryOp } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { broadcastShapes, broadcastStrides, type Shape, sizeOf, stridesOf } from "../shape.ts";

/** erf by Abramowitz–Stegun 7.1.26 refined with one Newton step-free series for small |x| (|error| < 1e-9). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 2) {
    // Maclaurin series converges fast for |x| < 2 in float64.
    let term = x, sum = x;
    for (let n = 1; n < 60; n++) {
      term *= -x * x / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction for erfc at larger |x|.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (a + f);
  const erfc = Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + f);
  return Math.sign(x) * (1 - erfc);
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function powSigned(x: number, a: number): number {
  return Math.pow(x, a);
}

/** y = f(x; a, b) for one element. */
export function unaryScalar(op: UnaryOp, x: number, a: number, b: number): number {
  switch (op) {
    case "neg":
      return -x;
    case "exp":
      return Math.exp(x);
    case "log":
      return Math.log(x);
    case "sqrt":
      return Math.sqrt(x);
    case "rsqrt":
      return 1 / Math.sqrt(x);
    case "abs":
      return Math.abs(x);
    case "square":
      return x * x;
    case "reciprocal":
      return 1 / x;
    case "sign":
      return Math.sign(x);
    case "relu":
      return x > 0 ? x : 0;
    case "leaky_relu":
      return x > 0 ? x : a * x;
    case "tanh":
      return Math.tanh(x);
    case "sigmoid":
      return sigmoid(x);
    case "softplus":
      return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    case "gelu":
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case "affine":
      return x * a + b;
    case "pow":
      return powSigned(x, a);
    case "clamp":
      return Math.min(Math.max(x, a), b);
    case "step":
      return x > a ? 1 : 0;
    case "sin":
      return Math.sin(x);
    case "cos":
      return Math.cos(x);
  }
}

/** dy · f'(x) for one element (y = f(x)). */
export function unaryGradScalar(op: UnaryOp, x: number, y: number, dy: number, a: number, b: number): number {
  switch (op) {
    case "neg":
      return -dy;
    case "exp":
      return dy * y;
    case "log":
      return dy / x;
    case "sqrt":
      return dy * 0.5 / y;
    case "rsqrt":
      return dy * -0.5 * y * y * y;
    case "abs":
      return dy * Math.sign(x);
    case "square":
      return dy * 2 * x;
    case "reciprocal":
      return -dy * y * y;
    case "sign":
    case "step":
      return 0;
    case "relu":
      return x > 0 ? dy : 0;
    case "leaky_relu":
      return x > 0 ? dy : a * dy;
    case "tanh":
      return dy * (1 - y * y);
    case "sigmoid":
      return dy * y * (1 - y);
    case "softplus":
      return dy * sigmoid(x);
    case "gelu":
      return dy * (0.5 * (1 + erf(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
    case "affine":
      return dy * a;
    case "pow":
      return a === 0 ? 0 : dy * a * Math.pow(x, a - 1);
    case "clamp":
      return x >= a && x <= b ? dy : 0;
    case "sin":
      return dy * Math.cos(x);
    case "cos":
      return -dy * Math.sin(x);
  }
}

/** a ∘ b for one element. */
export function binaryScalar(op: BinaryOp, x: number, y: number): number {
  switch (op) {
    case "add":
      return x + y;
    case "sub":
      return x - y;
    case "mul":
      return x * y;
    case "div":
      return x / y;
    case "max":
      return Math.max(x, y);
    case "min":
      return Math.min(x, y);
    case "pow":
      return Math.pow(x, y);
    case "gt":
      return x > y ? 1 : 0;
    case "ge":
      return x >= y ? 1 : 0;
    case "lt":
      return x < y ? 1 : 0;
    case "eq":
      return x === y ? 1 : 0;
  }
}

/** Visits each output index with the broadcast source offsets of `inputs`. */
function forEachBroadcast(outShape: Shape, inputs: Shape[], fn: (i: number, offs: number[]) => void): void {
  const n = sizeOf(outShape);
  const ost = stridesOf(outShape);
  const ist = inputs.map((s) => broadcastStrides(s, outShape));
  const offs = new Array<number>(inputs.length).fill(0);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < inputs.length; k++) {
      let o = 0, r = i;
      for (let d = 0; d < outShape.length; d++) {
        const q = Math.floor(r / ost[d]);
        r -= q * ost[d];
        o += q * ist[k][d];
      }
      offs[k] = o;
    }
    fn(i, offs);
  }
}

export function unary(be: CpuBackend, op: UnaryOp, x: Tensor, a: number, b: number): Tensor {
  const out = be.alloc(x.shape);
  const xd = be.data(x), od = be.data(out);
  for (let i = 0; i < od.length; i++) od[i] = unaryScalar(op, xd[i], a, b);
  return out;
}

export function unaryGrad(
  be: CpuBackend,
  op: UnaryOp,
  x: Tensor,
  y: Tensor,
  dy: Tensor,
  a: number,
  b: number,
): Tensor {
  const out = be.alloc(x.shape);
  const xd = be.data(x), yd = be.data(y), gd = be.data(dy), od = be.data(out);
  for (let i = 0; i < od.length; i++) od[i] = unaryGradScalar(op, xd[i], yd[i], gd[i], a, b);
  return out;
}

export function binary(be: CpuBackend, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = be.alloc(shape);
  const ad = be.data(a), bd = be.data(b), od = be.data(out);
  forEachBroadcast(shape, [a.shape, b.shape], (i, [ia, ib]) => {
    od[i] = binaryScalar(op, ad[ia], bd[ib]);
  });
  return out;
}

export function where(be: CpuBackend, cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, a.shape), b.shape);
  const out = be.alloc(shape);
  const cd = be.data(cond), ad = be.data(a), bd = be.data(b), od = be.data(out);
  forEachBroadcast(shape, [cond.shape, a.shape, b.shape], (i, [ic, ia, ib]) => {
    od[i] = cd[ic] !== 0 ? ad[ia] : bd[ib];
  });
  return out;
}

export function expand(be: CpuBackend, x: Tensor, shape: Shape): Tensor {
  const out = be.alloc(shape, x.dtype);
  const xd = be.data(x), od = be.data(out);
  forEachBroadcast(shape, [x.shape], (i, [ix]) => {
    od[i] = xd[ix];
  });
  return out;
}

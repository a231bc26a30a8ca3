/**
 * Elementwise kernels: unary ops, their fused derivatives, binary ops with broadcasting, where, expand and fill.
 * All are one "map" kernel generator: up to three inputs read with baked broadcast strides, one WGSL expression,
 * one output. Shapes are baked (they pick the indexing code); op parameters a, b travel as uniforms.
 * @module
 */
import type { BinaryOp, UnaryOp } from "../nn/backend.ts";
import type { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { DType, Tensor } from "../nn/tensor.ts";
import { broadcastShapes, broadcastStrides, type Shape, sizeOf, stridesOf } from "../nn/shape.ts";
import { declareBindings, FLAT_WG, grid1d, GRID_ARGS, type KernelSpec, packParams } from "./kernel_spec.ts";
import { ACTIVATIONS_WGSL } from "./wgsl_prelude.ts";

const WG = 256;

/** WGSL for y = f(x) with parameters P.a, P.b. */
export const UNARY_WGSL: Record<UnaryOp, string> = {
  neg: "-x",
  exp: "exp(x)",
  log: "log(x)",
  sqrt: "sqrt(x)",
  rsqrt: "inverseSqrt(x)",
  abs: "abs(x)",
  square: "x * x",
  reciprocal: "1.0 / x",
  sign: "sign(x)",
  relu: "max(x, 0.0)",
  leaky_relu: "select(P.a * x, x, x > 0.0)",
  tanh: "tanh_f(x)",
  sigmoid: "sigmoid_f(x)",
  softplus: "softplus_f(x)",
  gelu: "gelu_f(x)",
  affine: "x * P.a + P.b",
  pow:
    "select(pow(abs(x), P.a) * select(1.0, -1.0, x < 0.0 && fract(P.a * 0.5) != 0.0), select(0.0, 1.0, P.a == 0.0), x == 0.0)",
  clamp: "clamp(x, P.a, P.b)",
  step: "select(0.0, 1.0, x > P.a)",
  sin: "sin(x)",
  cos: "cos(x)",
};

/** WGSL for dx = dy · f'(x), given x, y = f(x) and dy. */
export const UNARY_GRAD_WGSL: Record<UnaryOp, string> = {
  neg: "-dy",
  exp: "dy * y",
  log: "dy / x",
  sqrt: "dy * 0.5 / y",
  rsqrt: "dy * -0.5 * y * y * y",
  abs: "dy * sign(x)",
  square: "dy * 2.0 * x",
  reciprocal: "-dy * y * y",
  sign: "0.0",
  relu: "select(0.0, dy, x > 0.0)",
  leaky_relu: "select(P.a * dy, dy, x > 0.0)",
  tanh: "dy * (1.0 - y * y)",
  sigmoid: "dy * y * (1.0 - y)",
  softplus: "dy * sigmoid_f(x)",
  gelu: "dy * gelu_grad_f(x)",
  affine: "dy * P.a",
  pow:
    "select(dy * P.a * pow(abs(x), P.a - 1.0) * select(1.0, -1.0, x < 0.0 && fract((P.a - 1.0) * 0.5) != 0.0), select(0.0, dy * P.a, P.a == 1.0), x == 0.0)",
  clamp: "select(0.0, dy, x >= P.a && x <= P.b)",
  step: "0.0",
  sin: "dy * cos(x)",
  cos: "-dy * sin(x)",
};

/** WGSL for a ∘ b. */
export const BINARY_WGSL: Record<BinaryOp, string> = {
  add: "x + y",
  sub: "x - y",
  mul: "x * y",
  div: "x / y",
  max: "max(x, y)",
  min: "min(x, y)",
  pow: "pow(x, y)",
  gt: "select(0.0, 1.0, x > y)",
  ge: "select(0.0, 1.0, x >= y)",
  lt: "select(0.0, 1.0, x < y)",
  eq: "select(0.0, 1.0, x == y)",
};

/** One input of a map kernel: the WGSL variable it binds to and its strides when broadcast to the output. */
interface MapInput {
  name: string;
  strides: number[];
}

/**
 * Spec of a map kernel: `out[i] = expr(inputs at i)` over `outShape`. `vars` are the expression's names for the
 * loaded inputs. Inputs whose strides are contiguous read `[i]` directly; fully broadcast ones read `[0]`.
 */
export function mapSpec(
  tag: string,
  expr: string,
  outShape: Shape,
  inputs: MapInput[],
  outType: "f32" | "i32" = "f32",
): KernelSpec {
  const n = sizeOf(outShape);
  const outStrides = stridesOf(outShape);
  const kinds = inputs.map((inp) =>
    inp.strides.every((s, d) => s === outStrides[d] || outShape[d] === 1)
      ? "c"
      : inp.strides.every((s) => s === 0)
      ? "s"
      : "b"
  );
  const key = `map:${tag}:${expr}:${outType}:${outShape.join("x")}:${
    inputs.map((inp, k) => kinds[k] === "b" ? inp.strides.join(",") : kinds[k]).join("/")
  }`;
  const bindings = [...inputs.map(() => "read" as const), "rw" as const];
  return {
    key,
    bindings,
    uniforms: true,
    workgroups: grid1d(Math.ceil(n / WG)),
    source: () => {
      const loads = inputs.map((inp, k) => {
        if (kinds[k] === "c") return `let ${inp.name} = in${k}[i];`;
        if (kinds[k] === "s") return `let ${inp.name} = in${k}[0];`;
        const terms: string[] = [];
        outShape.forEach((d, ax) => {
          if (inp.strides[ax] === 0 || d === 1) return;
          terms.push(`((i / ${outStrides[ax]}u) % ${d}u) * ${inp.strides[ax]}u`);
        });
        return `let ${inp.name} = in${k}[${terms.length ? terms.join(" + ") : "0u"}];`;
      });
      return `${ACTIVATIONS_WGSL}
struct Params { a: f32, b: f32, c: f32, d: f32 }
@group(0) @binding(0) var<uniform> P: Params;
${
        declareBindings(bindings, [...inputs.map((_, k) => `in${k}`), "out"], [
          ...inputs.map(() => "f32"),
          outType,
        ])
      }
@compute @workgroup_size(${WG})
fn main(${GRID_ARGS}) {
  let i = ${FLAT_WG} * ${WG}u + lid;
  if (i >= ${n}u) { return; }
  ${loads.join("\n  ")}
  out[i] = ${expr};
}`;
    },
  };
}

function launch(
  be: WebGpuBackend,
  tag: string,
  expr: string,
  outShape: Shape,
  ins: { t: Tensor; name: string }[],
  a = 0,
  b = 0,
  outType: DType = "f32",
): Tensor {
  const out = be.alloc(outShape, outType);
  if (out.size === 0) return out;
  const spec = mapSpec(
    tag,
    expr,
    outShape,
    ins.map((x) => ({ name: x.name, strides: broadcastStrides(x.t.shape, outShape) })),
    outType,
  );
  be.run(spec, [...ins.map((x) => x.t), out], packParams([["f", a], ["f", b]]));
  return out;
}

/** y = f(x). */
export function unary(be: WebGpuBackend, op: UnaryOp, x: Tensor, a: number, b: number): Tensor {
  return launch(be, op, UNARY_WGSL[op], x.shape, [{ t: x, name: "x" }], a, b);
}

/** dx = dy · f'(x). */
export function unaryGrad(
  be: WebGpuBackend,
  op: UnaryOp,
  x: Tensor,
  y: Tensor,
  dy: Tensor,
  a: number,
  b: number,
): Tensor {
  return launch(
    be,
    `d${op}`,
    UNARY_GRAD_WGSL[op],
    x.shape,
    [{ t: x, name: "x" }, { t: y, name: "y" }, {
      t: dy,
      name: "dy",
    }],
    a,
    b,
  );
}

/** a ∘ b with broadcasting. */
export function binary(be: WebGpuBackend, op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  return launch(be, op, BINARY_WGSL[op], shape, [{ t: a, name: "x" }, { t: b, name: "y" }]);
}

/** cond ? a : b with broadcasting. */
export function where(be: WebGpuBackend, cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes("where", broadcastShapes("where", cond.shape, a.shape), b.shape);
  return launch(be, "where", "select(y, x, c != 0.0)", shape, [{ t: cond, name: "c" }, { t: a, name: "x" }, {
    t: b,
    name: "y",
  }]);
}

/** Broadcast copy of x to shape. */
export function expand(be: WebGpuBackend, x: Tensor, shape: Shape): Tensor {
  if (x.dtype === "i32") throw new Error("expand: i32 tensors are not supported");
  return launch(be, "expand", "x", shape, [{ t: x, name: "x" }]);
}

/** A tensor filled with `value`. */
export function fill(be: WebGpuBackend, shape: Shape, value: number, dtype: DType): Tensor {
  return launch(be, "fill", dtype === "i32" ? "i32(P.a)" : "P.a", shape, [], value, 0, dtype);
}

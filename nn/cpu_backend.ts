/**
 * The CPU reference backend: every kernel in plain TypeScript, written independently of the WGSL. It runs in float32
 * (the default, the fallback device) or float64 (`new CpuBackend("f64")`, used by finite-difference gradient checks).
 * Accumulations use float64 in both modes.
 * @module
 */
import type {
  AdamParams,
  Backend,
  BatchNormBlock,
  BatchNormRunning,
  BinaryOp,
  LossKind,
  MatmulOptions,
  ReduceOp,
  Storage,
  UnaryOp,
  VibObjectiveInputs,
} from "./backend.ts";
import { type DType, Tensor } from "./tensor.ts";
import { type Shape, sizeOf } from "./shape.ts";
import type { RngKey } from "./random.ts";
import * as ew from "./cpu/elementwise.ts";
import * as red from "./cpu/reduce.ts";
import * as mov from "./cpu/movement.ts";
import * as mm from "./cpu/matmul.ts";
import * as pmm from "./cpu/pairwise_matmul.ts";
import * as lnorm from "./cpu/layer_norm.ts";
import * as vob from "./cpu/vib_objective.ts";
import { simplex as simplexCpu } from "./cpu/simplex.ts";
import * as att from "./cpu/attention.ts";
import * as rnd from "./cpu/random.ts";
import * as opt from "./cpu/optim.ts";
import * as bn from "./cpu/batch_norm.ts";
import { tokenSelect as tokenSelectCpu } from "./cpu/token_select.ts";

/** Host storage: a typed array. */
export interface CpuStorage extends Storage {
  data: Float32Array | Float64Array | Int32Array;
}

/** Plain-TypeScript implementation of {@link Backend}. */
export class CpuBackend implements Backend {
  readonly kind = "cpu" as const;
  readonly description: string;
  readonly precision: "f32" | "f64";

  constructor(precision: "f32" | "f64" = "f32") {
    this.precision = precision;
    this.description = `CPU reference (${precision === "f64" ? "float64" : "float32"})`;
  }

  /** A new tensor with zeroed storage. */
  alloc(shape: Shape, dtype: DType = "f32"): Tensor {
    const n = sizeOf(shape);
    const data = dtype === "i32"
      ? new Int32Array(n)
      : this.precision === "f64"
      ? new Float64Array(n)
      : new Float32Array(n);
    const s: CpuStorage = { refs: 1, length: n, data };
    return new Tensor(this, shape, dtype, s);
  }

  /** The typed array behind `t` (a view of exactly t.size elements). */
  data(t: Tensor): Float32Array | Float64Array | Int32Array {
    const d = (t.storage as CpuStorage).data;
    return d.length === t.size ? d : d.subarray(0, t.size);
  }

  empty(shape: Shape, dtype: DType = "f32"): Tensor {
    return this.alloc(shape, dtype);
  }
  fromData(data: ArrayLike<number>, shape: Shape, dtype: DType = "f32"): Tensor {
    const t = this.alloc(shape, dtype);
    this.data(t).set(data);
    return t;
  }
  fill(shape: Shape, value: number, dtype: DType = "f32"): Tensor {
    const t = this.alloc(shape, dtype);
    this.data(t).fill(value);
    return t;
  }
  write(dst: Tensor, data: ArrayLike<number>): void {
    this.data(dst).set(data);
  }
  copyInto(dst: Tensor, src: Tensor): void {
    this.data(dst).set(this.data(src));
  }
  read(t: Tensor): Promise<Float32Array | Int32Array> {
    const d = this.data(t);
    return Promise.resolve(d instanceof Int32Array ? d.slice() : Float32Array.from(d));
  }
  subview(base: Tensor, offset: number, shape: Shape): Tensor {
    const parent = base.storage as CpuStorage;
    const n = sizeOf(shape);
    parent.refs++;
    const s: CpuStorage & { parent: CpuStorage } = {
      refs: 1,
      length: n,
      data: parent.data.subarray(offset, offset + n),
      parent,
    };
    return new Tensor(this, shape, base.dtype, s);
  }
  release(s: Storage): void {
    const p = (s as CpuStorage & { parent?: CpuStorage }).parent;
    if (p && --p.refs === 0) this.release(p);
  }
  flush(): void {}
  sync(): Promise<void> {
    return Promise.resolve();
  }

  unary(op: UnaryOp, x: Tensor, a = 0, b = 0): Tensor {
    return ew.unary(this, op, x, a, b);
  }
  unaryGrad(op: UnaryOp, x: Tensor, y: Tensor, dy: Tensor, a = 0, b = 0): Tensor {
    return ew.unaryGrad(this, op, x, y, dy, a, b);
  }
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
    return ew.binary(this, op, a, b);
  }
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
    return ew.where(this, cond, a, b);
  }
  expand(x: Tensor, shape: Shape): Tensor {
    return ew.expand(this, x, shape);
  }
  reduce(op: ReduceOp, x: Tensor, axis: number): Tensor {
    return red.reduce(this, op, x, axis);
  }
  softmax(x: Tensor, axis: number, log: boolean): Tensor {
    return red.softmax(this, x, axis, log);
  }
  softmaxGrad(y: Tensor, g: Tensor, axis: number): Tensor {
    return red.softmaxGrad(this, y, g, axis);
  }
  batchNorm(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    mask: Tensor | null,
    eps: number,
    running: BatchNormRunning | null,
    block: BatchNormBlock | null = null,
  ): { y: Tensor; mean: Tensor; invstd: Tensor } {
    return bn.batchNorm(this, x, gamma, beta, mask, eps, running, block);
  }
  batchNormGrad(
    x: Tensor,
    dy: Tensor,
    gamma: Tensor,
    mean: Tensor,
    invstd: Tensor,
    mask: Tensor | null,
    block: BatchNormBlock | null = null,
  ): { dx: Tensor; dgamma: Tensor; dbeta: Tensor; dbias: Tensor | null } {
    return bn.batchNormGrad(this, x, dy, gamma, mean, invstd, mask, block);
  }
  batchNormInference(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    runMean: Tensor,
    runVar: Tensor,
    eps: number,
  ): Tensor {
    return bn.batchNormInference(this, x, gamma, beta, runMean, runVar, eps);
  }
  batchNormInferenceGrad(
    x: Tensor,
    dy: Tensor,
    gamma: Tensor,
    runMean: Tensor,
    runVar: Tensor,
    eps: number,
  ): { dx: Tensor; dgamma: Tensor; dbeta: Tensor } {
    return bn.batchNormInferenceGrad(this, x, dy, gamma, runMean, runVar, eps);
  }
  sumSquares(x: Tensor): Tensor {
    return red.sumSquares(this, x);
  }
  permute(x: Tensor, perm: readonly number[]): Tensor {
    return mov.permute(this, x, perm);
  }
  slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor {
    return mov.slice(this, x, begin, size);
  }
  pad(x: Tensor, shape: Shape, begin: readonly number[]): Tensor {
    return mov.pad(this, x, shape, begin);
  }
  concat(xs: Tensor[], axis: number): Tensor {
    return mov.concat(this, xs, axis);
  }
  gather(x: Tensor, idx: Tensor, axis: number): Tensor {
    return mov.gather(this, x, idx, axis);
  }
  scatterAdd(src: Tensor, idx: Tensor, axis: number, dim: number): Tensor {
    return mov.scatterAdd(this, src, idx, axis, dim);
  }
  pairwise(x: Tensor): Tensor {
    return mov.pairwise(this, x);
  }
  pairwiseGrad(x: Tensor, dy: Tensor): Tensor {
    return mov.pairwiseGrad(this, x, dy);
  }
  matmul(a: Tensor, b: Tensor, opts: MatmulOptions): Tensor {
    return mm.matmul(this, a, b, opts);
  }
  pairwiseMatmul(x: Tensor, w: Tensor, opts: MatmulOptions): Tensor {
    return pmm.pairwiseMatmul(this, x, w, opts);
  }
  pairwiseMatmulGradW(x: Tensor, g: Tensor): Tensor {
    return pmm.pairwiseMatmulGradW(this, x, g);
  }

  attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | null,
    scale: number,
  ): { out: Tensor; lse: Tensor } {
    return att.attention(this, q, k, v, mask, scale);
  }
  attentionGrad(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | null,
    scale: number,
    out: Tensor,
    lse: Tensor,
    dout: Tensor,
  ): { dq: Tensor; dk: Tensor; dv: Tensor } {
    return att.attentionGrad(this, q, k, v, mask, scale, out, lse, dout);
  }
  attentionProbs(q: Tensor, k: Tensor, mask: Tensor | null, scale: number): Tensor {
    return att.attentionProbs(this, q, k, mask, scale);
  }
  tokenSelect(comp: Tensor, tokens: number): Tensor {
    return tokenSelectCpu(this, comp, tokens);
  }
  reparam(mu: Tensor, logvar: Tensor, key: RngKey, step: number): { z: Tensor; kl: Tensor; eps: Tensor } {
    return rnd.reparam(this, mu, logvar, key, step);
  }
  reparamGrad(
    mu: Tensor,
    logvar: Tensor,
    eps: Tensor,
    gz: Tensor | null,
    gkl: Tensor | null,
  ): { dmu: Tensor; dlogvar: Tensor } {
    return rnd.reparamGrad(this, mu, logvar, eps, gz, gkl);
  }
  random(kind: "uniform" | "normal", shape: Shape, key: RngKey, step: number): Tensor {
    return rnd.random(this, kind, shape, key, step);
  }
  dropoutMask(shape: Shape, p: number, key: RngKey, step: number): Tensor {
    return rnd.dropoutMask(this, shape, p, key, step);
  }
  vibObjective(a: VibObjectiveInputs, reconWeight: number): Tensor {
    return vob.vibObjective(this, a, reconWeight);
  }
  vibObjectiveGrad(
    a: VibObjectiveInputs,
    reconWeight: number,
    g: Tensor,
  ): { dpred: Tensor; drecon: Tensor; dkl: Tensor } {
    return vob.vibObjectiveGrad(this, a, reconWeight, g);
  }
  layerNorm(x: Tensor, eps: number): { y: Tensor; invstd: Tensor } {
    return lnorm.layerNorm(this, x, eps);
  }
  layerNormGrad(y: Tensor, invstd: Tensor, g: Tensor): Tensor {
    return lnorm.layerNormGrad(this, y, invstd, g);
  }
  simplex(x: Tensor): Tensor {
    return simplexCpu(this, x);
  }
  loss(kind: LossKind, pred: Tensor, target: Tensor, weight: Tensor | null): Tensor {
    return opt.loss(this, kind, pred, target, weight);
  }
  lossGrad(kind: LossKind, pred: Tensor, target: Tensor, weight: Tensor | null, dloss: Tensor): Tensor {
    return opt.lossGrad(this, kind, pred, target, weight, dloss);
  }
  adam(
    param: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    gradNormSq: Tensor | null,
    hp: AdamParams,
    lrScale: Tensor | null = null,
  ): void {
    opt.adam(this, param, grad, m, v, gradNormSq, hp, lrScale);
  }
}

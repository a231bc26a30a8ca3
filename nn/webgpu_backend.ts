/**
 * The WebGPU backend: each op becomes one or more dispatches recorded by a {@link Recorder} into the open command
 * encoder. Outputs come from the buffer pool; nothing is submitted until a read, `flush()` or `sync()`.
 * Kernel families live in `kernels/<family>.ts`; this class only routes.
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
import { type BufferRange, Recorder } from "../kernels/recorder.ts";
import type { KernelSpec } from "../kernels/kernel_spec.ts";
import { type GpuContext, requestGpu } from "../kernels/device.ts";
import * as ew from "../kernels/elementwise.ts";
import * as red from "../kernels/reduce.ts";
import * as mov from "../kernels/movement.ts";
import * as mm from "../kernels/matmul.ts";
import * as pmm from "../kernels/pairwise_matmul.ts";
import * as lnorm from "../kernels/layer_norm.ts";
import * as vob from "../kernels/vib_objective.ts";
import { simplex as simplexKernel } from "../kernels/simplex.ts";
import * as att from "../kernels/attention.ts";
import * as rnd from "../kernels/random.ts";
import * as opt from "../kernels/optim.ts";
import * as bn from "../kernels/batch_norm.ts";
import { tokenSelect as tokenSelectKernel } from "../kernels/token_select.ts";

/** GPU storage: a (possibly shared) pooled buffer and the byte offset of this storage inside it. */
export interface GpuStorage extends Storage {
  buffer: GPUBuffer;
  offset: number;
  /** When set, the buffer belongs to an arena (e.g. a flat parameter buffer) and is not returned to the pool. */
  borrowed?: boolean;
  /** The storage this one views (subview); released when the last view goes. */
  parent?: GpuStorage;
}

/** WebGPU implementation of {@link Backend}. Create with {@link WebGpuBackend.create}. */
export class WebGpuBackend implements Backend {
  readonly kind = "webgpu" as const;
  readonly description: string;
  readonly rec: Recorder;
  readonly ctx: GpuContext;

  constructor(ctx: GpuContext) {
    this.ctx = ctx;
    this.rec = new Recorder(ctx);
    this.description = ctx.adapter.description;
  }

  /** Acquires the shared device and returns a backend on it. */
  static async create(): Promise<WebGpuBackend> {
    return new WebGpuBackend(await requestGpu());
  }

  /** A new tensor backed by a pooled buffer (contents unspecified). */
  alloc(shape: Shape, dtype: DType = "f32"): Tensor {
    const n = sizeOf(shape);
    const s: GpuStorage = { refs: 1, length: n, buffer: this.rec.pool.acquire(n * 4), offset: 0 };
    return new Tensor(this, shape, dtype, s);
  }

  /** A tensor viewing `length` elements at byte `offset` of an arena buffer the caller owns. */
  borrow(buffer: GPUBuffer, offset: number, shape: Shape, dtype: DType = "f32"): Tensor {
    const s: GpuStorage = { refs: 1, length: sizeOf(shape), buffer, offset, borrowed: true };
    return new Tensor(this, shape, dtype, s);
  }

  /** The bound byte range of `t`. */
  range(t: Tensor): BufferRange {
    const s = t.storage as GpuStorage;
    return { buffer: s.buffer, offset: s.offset, size: t.size * 4 };
  }

  /** Records `spec` over the tensors' buffers (in binding order) with optional uniforms. */
  run(spec: KernelSpec, tensors: readonly Tensor[], params?: ArrayBuffer): void {
    this.rec.dispatch(spec, tensors.map((t) => this.range(t)), params);
  }

  empty(shape: Shape, dtype: DType = "f32"): Tensor {
    return this.alloc(shape, dtype);
  }
  fromData(data: ArrayLike<number>, shape: Shape, dtype: DType = "f32"): Tensor {
    const t = this.alloc(shape, dtype);
    this.write(t, data);
    return t;
  }
  fill(shape: Shape, value: number, dtype: DType = "f32"): Tensor {
    return ew.fill(this, shape, value, dtype);
  }
  write(dst: Tensor, data: ArrayLike<number>): void {
    const arr = dst.dtype === "i32"
      ? (data instanceof Int32Array ? data : Int32Array.from(data))
      : (data instanceof Float32Array ? data : Float32Array.from(data));
    this.rec.write(this.range(dst), arr);
  }
  copyInto(dst: Tensor, src: Tensor): void {
    if (src.size === 0) return;
    this.rec.copy(this.range(src), this.range(dst));
  }
  async read(t: Tensor): Promise<Float32Array | Int32Array> {
    const bytes = await this.rec.read(this.range(t));
    return t.dtype === "i32" ? new Int32Array(bytes) : new Float32Array(bytes);
  }
  subview(base: Tensor, offset: number, shape: Shape): Tensor {
    if (offset % 64 !== 0) throw new Error(`subview: offset ${offset} is not a multiple of 64 elements`);
    const parent = base.storage as GpuStorage;
    parent.refs++;
    const s: GpuStorage = {
      refs: 1,
      length: sizeOf(shape),
      buffer: parent.buffer,
      offset: parent.offset + offset * 4,
      borrowed: true,
      parent,
    };
    return new Tensor(this, shape, base.dtype, s);
  }
  release(s: Storage): void {
    const g = s as GpuStorage;
    if (g.parent) {
      if (--g.parent.refs === 0) this.release(g.parent);
    } else if (!g.borrowed) this.rec.pool.release(g.buffer);
  }
  flush(): void {
    this.rec.flush();
  }
  sync(): Promise<void> {
    return this.rec.sync();
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
    return tokenSelectKernel(this, comp, tokens);
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
    return simplexKernel(this, x);
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

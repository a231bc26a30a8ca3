/**
 * The backend contract: the kernel-level operations every device implements. The CPU reference backend
 * (`cpu_backend.ts`) and the WebGPU backend (`webgpu_backend.ts`) implement the same interface, so parity tests can
 * run any op on both. Methods take and return plain tensors and never record gradients: autodiff lives one level up,
 * in `nn/ops/`. Inputs are validated by the ops layer before a backend sees them.
 * @module
 */
import type { DType, Tensor } from "./tensor.ts";
import type { Shape } from "./shape.ts";
import type { RngKey } from "./random.ts";

/** A reference-counted block of device memory. */
export interface Storage {
  /** Number of tensors sharing this storage. */
  refs: number;
  /** Capacity in elements. */
  readonly length: number;
}

/** Elementwise unary ops. `a`/`b` parameters: affine x·a+b; leaky_relu slope a; pow x^a; clamp to [a, b]; step x>a. */
export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "rsqrt"
  | "abs"
  | "square"
  | "reciprocal"
  | "sign"
  | "relu"
  | "leaky_relu"
  | "tanh"
  | "sigmoid"
  | "softplus"
  | "gelu"
  | "affine"
  | "pow"
  | "clamp"
  | "step"
  | "sin"
  | "cos";

/** Elementwise binary ops with NumPy broadcasting. Comparisons return 1 or 0. */
export type BinaryOp = "add" | "sub" | "mul" | "div" | "max" | "min" | "pow" | "gt" | "ge" | "lt" | "eq";

/**
 * Inputs of the fused VIBANN objective: pred, target [..., P]; weight and kl [...]; recon, comp [..., E]; kappa
 * (the latent-KL coefficient β/L) per row [...] or per leading entry, broadcast over the rows of the last axis.
 */
export interface VibObjectiveInputs {
  pred: Tensor;
  target: Tensor;
  weight: Tensor;
  recon: Tensor;
  comp: Tensor;
  kl: Tensor;
  kappa: Tensor;
}

/** Activations that can be fused into the matmul epilogue. */
export type Activation = "identity" | "relu" | "leaky_relu" | "tanh" | "sigmoid" | "softplus" | "gelu";

/** Single-axis reductions. */
export type ReduceOp = "sum" | "max" | "min" | "logsumexp";

/** Fused losses; each returns one value per row (leading axis) and has a fused gradient. */
export type LossKind = "weighted_mse" | "kl_categorical" | "bce_logits";

/** Options of the fused matmul. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Added to every row of the output; shape `[N]` or the output's batch shape followed by `[1, N]`. */
  bias?: Tensor | null;
  activation?: Activation;
  /** Slope of leaky_relu (default 0.01). */
  alpha?: number;
}

/** Hyperparameters of one fused Adam/AdamW update. */
export interface AdamParams {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled weight decay (AdamW); 0 for Adam. */
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
  /** Global-norm clipping threshold; 0 or Infinity disables. */
  clipNorm: number;
}

/** Running statistics a training-mode batch norm updates in place: running ← m·running + (1 − m)·batch. */
export interface BatchNormRunning {
  mean: Tensor;
  var: Tensor;
  momentum: number;
}

/**
 * The rest of a Dense-ReLU → BatchNorm → dropout block, fused into the training-mode batch norm so the block costs
 * one forward and one backward dispatch besides its matmuls.
 */
export interface BatchNormBlock {
  /** When set, x is the pre-activation h and the normalised input is a = relu(h + bias); shaped like γ. */
  bias: Tensor | null;
  /**
   * When set, y is multiplied by the inverted-dropout mask: element i of replica r keeps with factor 1/(1 − p_r)
   * when u_i ≥ p_r, u_i = the Philox uniform of (key, step, i) (the draw of `dropoutMask`); `rates` is [R].
   */
  dropout: { rates: Tensor; key: RngKey; step: number } | null;
}

/** The kernels a device must provide. Shapes are checked by the caller (nn/ops). */
export interface Backend {
  readonly kind: "cpu" | "webgpu";
  /** A one-line description (adapter name for WebGPU). */
  readonly description: string;

  // ---- memory -------------------------------------------------------------------------------------------------
  /** A tensor with unspecified contents. */
  empty(shape: Shape, dtype?: DType): Tensor;
  /** A tensor holding a copy of `data` (length must equal the shape's size). */
  fromData(data: ArrayLike<number>, shape: Shape, dtype?: DType): Tensor;
  /** A tensor filled with `value`. */
  fill(shape: Shape, value: number, dtype?: DType): Tensor;
  /** Overwrites `dst` with the host values `data` (same size); used for per-step inputs. */
  write(dst: Tensor, data: ArrayLike<number>): void;
  /** Copies `src` into `dst` (same size) on the device. */
  copyInto(dst: Tensor, src: Tensor): void;
  /** Copies values to the host. */
  read(t: Tensor): Promise<Float32Array | Int32Array>;
  /**
   * A tensor viewing `shape` elements of `base` starting at element `offset` (a multiple of 64, so GPU bindings stay
   * 256-byte aligned). The view keeps `base`'s storage alive. Used for flat parameter/gradient arenas.
   */
  subview(base: Tensor, offset: number, shape: Shape): Tensor;
  /** Returns storage whose last reference was dropped (to the pool on WebGPU). */
  release(s: Storage): void;
  /** Submits recorded work (no-op on CPU). Never waits. */
  flush(): void;
  /** Waits until all submitted work has finished. */
  sync(): Promise<void>;

  // ---- elementwise --------------------------------------------------------------------------------------------
  unary(op: UnaryOp, x: Tensor, a?: number, b?: number): Tensor;
  /** Fused derivative: returns dy · f'(x) for unary op f (y = f(x) may be used where cheaper). */
  unaryGrad(op: UnaryOp, x: Tensor, y: Tensor, dy: Tensor, a?: number, b?: number): Tensor;
  binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor;
  /** `cond ? a : b` elementwise with broadcasting (cond nonzero = true). */
  where(cond: Tensor, a: Tensor, b: Tensor): Tensor;

  // ---- reductions and movement --------------------------------------------------------------------------------
  /** Reduces one axis (removed from the shape). */
  reduce(op: ReduceOp, x: Tensor, axis: number): Tensor;
  /** Softmax or log-softmax along `axis`. */
  softmax(x: Tensor, axis: number, log: boolean): Tensor;
  /**
   * Backward of softmax along `axis` from its output y: dx = y ⊙ (g − Σ_axis g ⊙ y), y and g of the same shape.
   * One dispatch on WebGPU for any axis and length.
   */
  softmaxGrad(y: Tensor, g: Tensor, axis: number): Tensor;
  /** Broadcasts `x` to `shape` (NumPy rules) as a new contiguous tensor. */
  expand(x: Tensor, shape: Shape): Tensor;
  /** Permutes axes. */
  permute(x: Tensor, perm: readonly number[]): Tensor;
  /** The block starting at `begin` with extents `size`. */
  slice(x: Tensor, begin: readonly number[], size: readonly number[]): Tensor;
  /** Places `x` at `begin` inside a zero tensor of `shape` (the transpose of slice). */
  pad(x: Tensor, shape: Shape, begin: readonly number[]): Tensor;
  /** Concatenates along `axis`. */
  concat(xs: Tensor[], axis: number): Tensor;
  /** Selects entries `idx` (i32, 1-D) along `axis`. */
  gather(x: Tensor, idx: Tensor, axis: number): Tensor;
  /** Transpose of gather: sums rows of `src` into a zero tensor whose `axis` has extent `dim`. */
  scatterAdd(src: Tensor, idx: Tensor, axis: number, dim: number): Tensor;
  /** Upper-triangle products x_i·x_j (i<j, row-major pair order) over the last axis. */
  pairwise(x: Tensor): Tensor;
  /** Gradient of pairwise: dx_k = Σ_j dy_(k,j)·x_j over all pairs containing k. */
  pairwiseGrad(x: Tensor, dy: Tensor): Tensor;

  // ---- matmul ---------------------------------------------------------------------------------------------------
  /** Batched matmul over leading (broadcast) axes with transpose flags and a bias + activation epilogue. */
  matmul(a: Tensor, b: Tensor, opts: MatmulOptions): Tensor;
  /**
   * act(pairwise(x)·w + bias) without materialising the pairwise products: x [..., M, E], w [..., E(E−1)/2, N]
   * (broadcast batch axes), bias [N] or [..., 1, N]; walks each row's nonzero entries (sparse compositions).
   * Transpose flags are ignored.
   */
  pairwiseMatmul(x: Tensor, w: Tensor, opts: MatmulOptions): Tensor;
  /** Weight gradient of {@link Backend.pairwiseMatmul}: pairwise(x)ᵀ·g per entry of g's batch [..., E(E−1)/2, N]. */
  pairwiseMatmulGradW(x: Tensor, g: Tensor): Tensor;

  // ---- fused model kernels --------------------------------------------------------------------------------------
  /**
   * Multi-head scaled-dot-product attention. q: [B, S, H, D], k, v: [B, T, H, D], mask: [B, T] (nonzero = attend) or
   * null. Returns out [B, S, H, D] and the per-row log-sum-exp [B, H, S] kept for the backward pass.
   */
  attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | null,
    scale: number,
  ): { out: Tensor; lse: Tensor };
  /** Backward of {@link Backend.attention}: gradients for q, k and v. */
  attentionGrad(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    mask: Tensor | null,
    scale: number,
    out: Tensor,
    lse: Tensor,
    dout: Tensor,
  ): { dq: Tensor; dk: Tensor; dv: Tensor };
  /** Attention probabilities [B, H, S, T] (for interpretability; not differentiated). */
  attentionProbs(q: Tensor, k: Tensor, mask: Tensor | null, scale: number): Tensor;
  /**
   * Element-token selection: one-hot [..., T, E] of the T largest positive fractions of each row of `comp` [..., E]
   * (ties → lower index; unused slots all zero). Not differentiated (it is a constant of the input).
   */
  tokenSelect(comp: Tensor, tokens: number): Tensor;
  /**
   * Reparameterised Gaussian sample z = μ + exp(½·logσ²)·ε with ε from (key, step), fused with the per-row
   * KL(N(μ, σ²) ‖ N(0, I)) = ½ Σ (μ² + σ² − logσ² − 1). μ, logσ²: [..., L]; kl: [...].
   */
  reparam(mu: Tensor, logvar: Tensor, key: RngKey, step: number): { z: Tensor; kl: Tensor; eps: Tensor };
  /**
   * Backward of {@link Backend.reparam} through both outputs, from the forward's ε and the upstream gradients gz
   * (μ's shape) and gkl (kl's shape: one value per row, broadcast over the last axis; null = no gradient):
   * dμ = gz + gkl·μ and dlogσ² = gz·ε·½·exp(½·logσ²) + gkl·½·(exp(logσ²) − 1), in one dispatch on WebGPU. Missing
   * terms count as zero; ε is read only when gz is given. When only gz is given, dmu is a view of gz (no copy);
   * with neither, both are zeros.
   */
  reparamGrad(
    mu: Tensor,
    logvar: Tensor,
    eps: Tensor,
    gz: Tensor | null,
    gkl: Tensor | null,
  ): { dmu: Tensor; dlogvar: Tensor };
  /** Uniform (0,1) or standard normal draws for (key, step); element i is a pure function of (key, step, i). */
  random(kind: "uniform" | "normal", shape: Shape, key: RngKey, step: number): Tensor;
  /** Inverted-dropout mask: 1/(1−p) with probability 1−p, else 0, from the same uniforms as `random`. */
  dropoutMask(shape: Shape, p: number, key: RngKey, step: number): Tensor;
  /**
   * The VIBANN objective per row (see kernels/vib_objective.ts): stats [..., 4] = (mse + ρ·recon + κ·kl, mse,
   * recon, kl) with mse the weighted MSE of pred vs target, recon the weighted categorical KL of comp vs recon.
   */
  vibObjective(a: VibObjectiveInputs, reconWeight: number): Tensor;
  /** Backward of {@link Backend.vibObjective} from the stats gradient g [..., 4]. */
  vibObjectiveGrad(
    a: VibObjectiveInputs,
    reconWeight: number,
    g: Tensor,
  ): { dpred: Tensor; drecon: Tensor; dkl: Tensor };
  /** Row normalisation over the last axis, y = (x − mean)/√(var + ε), with 1/√(var + ε) per row [...]. */
  layerNorm(x: Tensor, eps: number): { y: Tensor; invstd: Tensor };
  /** Gradient of {@link Backend.layerNorm} with respect to x, from its output y, invstd and dL/dy. */
  layerNormGrad(y: Tensor, invstd: Tensor, g: Tensor): Tensor;
  /** Simplex projection over the last axis: relu(x) / max(Σ relu(x), 1e-8) (not differentiated; see ops/fused). */
  simplex(x: Tensor): Tensor;
  /** Per-row fused loss over the last axis: weighted MSE w·Σ(a−b)², KL(b‖a)·w with a, b probabilities, BCE. */
  loss(kind: LossKind, pred: Tensor, target: Tensor, weight: Tensor | null): Tensor;
  /** Gradient of {@link Backend.loss} with respect to `pred`, given the gradient of the per-row loss. */
  lossGrad(kind: LossKind, pred: Tensor, target: Tensor, weight: Tensor | null, dloss: Tensor): Tensor;
  /**
   * Training-mode batch normalisation of x [..., B, F] (leading axes = replicas, statistics per (replica, feature)
   * over the B rows): with m the optional row mask [..., B, 1] of 0/1 (1 without one) and n = Σ m, mean = Σ m·x / n,
   * var = Σ m·(x − mean)² / n, y = (x − mean)·invstd·γ + β with invstd = 1/√(var + eps) for every row. γ, β (and the
   * returned mean and invstd, shaped like γ) hold one value per (replica, feature). When `running` is given its
   * tensors (γ's size) are updated in place. A column with n = 0 uses mean 0, var 0 and keeps its running values.
   * With `block`, bias + ReLU come before and dropout after (see {@link BatchNormBlock}).
   */
  batchNorm(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    mask: Tensor | null,
    eps: number,
    running: BatchNormRunning | null,
    block?: BatchNormBlock | null,
  ): { y: Tensor; mean: Tensor; invstd: Tensor };
  /**
   * Backward of {@link Backend.batchNorm} from its saved mean and invstd: dβ = Σ dy, dγ = Σ dy·x̂ over all rows, and
   * dx = γ·invstd·(dy − m·(dβ + x̂·dγ)/n) with x̂ = (x − mean)·invstd (dx = γ·invstd·dy where n = 0). With `block`
   * (the forward's), dy is first multiplied by the dropout mask, and with a fused bias dx is taken through the ReLU
   * (dx·[a > 0]) and dbias = Σ_rows dx; dbias is null without a fused bias.
   */
  batchNormGrad(
    x: Tensor,
    dy: Tensor,
    gamma: Tensor,
    mean: Tensor,
    invstd: Tensor,
    mask: Tensor | null,
    block?: BatchNormBlock | null,
  ): { dx: Tensor; dgamma: Tensor; dbeta: Tensor; dbias: Tensor | null };
  /** Inference-mode batch normalisation: y = (x − runMean)·γ/√(runVar + eps) + β (shapes as in batchNorm). */
  batchNormInference(
    x: Tensor,
    gamma: Tensor,
    beta: Tensor,
    runMean: Tensor,
    runVar: Tensor,
    eps: number,
  ): Tensor;
  /** Backward of {@link Backend.batchNormInference} (running statistics are constants). */
  batchNormInferenceGrad(
    x: Tensor,
    dy: Tensor,
    gamma: Tensor,
    runMean: Tensor,
    runVar: Tensor,
    eps: number,
  ): { dx: Tensor; dgamma: Tensor; dbeta: Tensor };
  /** Sum of squares of all elements, as a [1] tensor (global-norm clipping). */
  sumSquares(x: Tensor): Tensor;
  /**
   * In-place Adam/AdamW over flat buffers (same size). When `gradNormSq` is given and clipNorm is finite, gradients
   * are scaled by min(1, clipNorm / ‖g‖) on the device. `lrScale` (same size as param) multiplies element i's
   * learning rate: per-replica schedules without a recompile.
   */
  adam(
    param: Tensor,
    grad: Tensor,
    m: Tensor,
    v: Tensor,
    gradNormSq: Tensor | null,
    hp: AdamParams,
    lrScale?: Tensor | null,
  ): void;
}

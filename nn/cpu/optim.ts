/**
 * CPU reference losses, loss gradients and Adam (independent of the WGSL), float64 arithmetic throughout.
 * Semantics as documented in `kernels/optim.ts`: per-row losses over the last axis; `kl_categorical` clips both
 * probability vectors to [1e-7, 1] like Keras `KLDivergence` and passes zero gradient where p is outside the clip
 * range; Adam uses bias-corrected moments with eps outside the square root and decoupled weight decay.
 * @module
 */
import type { CpuBackend } from "../cpu_backend.ts";
import type { Tensor } from "../tensor.ts";
import type { AdamParams, LossKind } from "../backend.ts";
import { sizeOf } from "../shape.ts";

/** The KL clip floor, rounded to float32 so both backends clip at the same value. */
const KL_EPS = Math.fround(1e-7);

function clip01(x: number): number {
  return Math.min(Math.max(x, KL_EPS), 1);
}

/** One element's loss term. */
export function lossTerm(kind: LossKind, p: number, t: number): number {
  switch (kind) {
    case "weighted_mse":
      return (p - t) * (p - t);
    case "kl_categorical": {
      const tc = clip01(t), pc = clip01(p);
      return tc * (Math.log(tc) - Math.log(pc));
    }
    case "bce_logits":
      return Math.max(p, 0) - p * t + Math.log1p(Math.exp(-Math.abs(p)));
  }
}

/** d(term)/dp for one element. */
export function lossTermGrad(kind: LossKind, p: number, t: number): number {
  switch (kind) {
    case "weighted_mse":
      return 2 * (p - t);
    case "kl_categorical":
      return p >= KL_EPS && p <= 1 ? -clip01(t) / p : 0;
    case "bce_logits":
      return p >= 0 ? 1 / (1 + Math.exp(-p)) - t : Math.exp(p) / (1 + Math.exp(p)) - t;
  }
}

function rowsOf(t: Tensor): [number, number] {
  return t.rank ? [sizeOf(t.shape.slice(0, -1)), t.shape[t.rank - 1]] : [1, 1];
}

/** Per-row loss over the last axis, times the row weight (1 when null). */
export function loss(
  be: CpuBackend,
  kind: LossKind,
  pred: Tensor,
  target: Tensor,
  weight: Tensor | null,
): Tensor {
  const [rows, L] = rowsOf(pred);
  const out = be.alloc(pred.shape.slice(0, -1));
  const pd = be.data(pred), td = be.data(target), od = be.data(out);
  const wd = weight ? be.data(weight) : null;
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    for (let j = r * L; j < (r + 1) * L; j++) acc += lossTerm(kind, pd[j], td[j]);
    od[r] = (wd ? wd[r] : 1) * acc;
  }
  return out;
}

/** d(Σ_r dloss_r·loss_r)/d pred. */
export function lossGrad(
  be: CpuBackend,
  kind: LossKind,
  pred: Tensor,
  target: Tensor,
  weight: Tensor | null,
  dloss: Tensor,
): Tensor {
  const [rows, L] = rowsOf(pred);
  const out = be.alloc(pred.shape);
  const pd = be.data(pred), td = be.data(target), gd = be.data(dloss), od = be.data(out);
  const wd = weight ? be.data(weight) : null;
  for (let r = 0; r < rows; r++) {
    const s = gd[r] * (wd ? wd[r] : 1);
    for (let j = r * L; j < (r + 1) * L; j++) od[j] = s * lossTermGrad(kind, pd[j], td[j]);
  }
  return out;
}

/**
 * In-place Adam/AdamW: g scaled by min(1, clipNorm/(√normSq + 1e-6)) when gradNormSq is given and clipNorm is
 * finite and positive; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * param ← param − lr·(m̂/(√v̂ + eps) + weightDecay·param), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t); element i's lr is
 * multiplied by lrScale[i] when given.
 */
export function adam(
  be: CpuBackend,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  gradNormSq: Tensor | null,
  hp: AdamParams,
  lrScale: Tensor | null = null,
): void {
  const pd = be.data(param), gd = be.data(grad), md = be.data(m), vd = be.data(v);
  const ls = lrScale ? be.data(lrScale) : null;
  let scale = 1;
  if (gradNormSq && Number.isFinite(hp.clipNorm) && hp.clipNorm > 0) {
    scale = Math.min(1, hp.clipNorm / (Math.sqrt(be.data(gradNormSq)[0]) + 1e-6));
  }
  const bc1 = 1 - Math.pow(hp.beta1, hp.step), bc2 = 1 - Math.pow(hp.beta2, hp.step);
  for (let i = 0; i < pd.length; i++) {
    const g = gd[i] * scale;
    const mi = hp.beta1 * md[i] + (1 - hp.beta1) * g;
    const vi = hp.beta2 * vd[i] + (1 - hp.beta2) * g * g;
    md[i] = mi;
    vd[i] = vi;
    const p = pd[i];
    pd[i] = p - hp.lr * (ls ? ls[i] : 1) * ((mi / bc1) / (Math.sqrt(vi / bc2) + hp.eps) + hp.weightDecay * p);
  }
}

/**
 * The objective of the semi-supervised disentangled VAE (Kingma M2 with a binary label), as in the reference:
 *
 * - labelled ELBO, for an alloy x with its phase φ:
 *     L(x, φ) = E_q(z|x,φ)[log p(x|φ,z)] + log p(φ) − KL(q(z|x,φ) ‖ N(0, I)),
 *   where log p(x|φ,z) = T · Σᵢ xᵢ log πᵢ is the multinomial log-likelihood of the composition in at.% (T = 100,
 *   `countScale`; the multinomial coefficient does not depend on the parameters and is left out) and
 *   log p(φ) = φ log r + (1 − φ) log(1 − r);
 * - unlabelled ELBO, φ enumerated over {0, 1} and weighted by the classifier q = q(φ=1|x):
 *     U(x) = q · L(x, 1) + (1 − q) · L(x, 0) + H(q),  H(q) = −q log q − (1 − q) log(1 − q);
 * - supervised term on the labelled rows: γ · (−log q(φ|x)) (γ = 10 in the reference).
 *
 * Loss per replica = mean over the labelled batch of (−L + γ·CE) + mean over the unlabelled batch of (−U). The
 * expectation over z uses one reparameterised sample (or z = μ with `sample: false`).
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { RngKey } from "../random.ts";
import type { HeaDvae } from "./hea_dvae.ts";
import { add, affine, mul, sigmoid, softplus, sub } from "../ops/elementwise.ts";
import { mean, sum } from "../ops/reduce.ts";
import { concat, reshape, slice } from "../ops/movement.ts";
import { loss, reparameterize } from "../ops/fused.ts";
import { full } from "../ops/creation.ts";
import { ShapeError, shapeStr } from "../shape.ts";

/** How the expectation over z is taken. */
export interface ElboOptions {
  /** T: the composition counts as T · fractions (100 = at.%, as the reference). */
  countScale?: number;
  /** One reparameterised sample of z (true) or z = μ (false, deterministic; for evaluation and tests). */
  sample?: boolean;
  /** Random stream of the sample (required when sampling). */
  key?: RngKey;
  /** Step of the random stream. */
  step?: number;
}

/** Per-row terms of the labelled ELBO, each [.., B]. */
export interface LabelledElboTerms {
  /** log p(x|φ,z) at the sampled z. */
  recon: Tensor;
  /** KL(q(z|x,φ) ‖ N(0, I)). */
  kl: Tensor;
  /** log p(φ). */
  logPrior: Tensor;
  /** L(x, φ) = recon + logPrior − kl. */
  elbo: Tensor;
}

/** Per-row terms of the unlabelled ELBO, each [.., B]. */
export interface UnlabelledElboTerms {
  /** Classifier logit s (q = σ(s)). */
  logit: Tensor;
  /** q(φ=1|x). */
  q: Tensor;
  /** H(q). */
  entropy: Tensor;
  /** L(x, 0) and L(x, 1). */
  elbo0: Tensor;
  elbo1: Tensor;
  /** U(x) = q·L(x,1) + (1 − q)·L(x,0) + H(q). */
  elbo: Tensor;
}

function rowsView(t: Tensor): Tensor {
  // [.., B, 1] → [.., B]
  return reshape(t, t.shape.slice(0, -1));
}

/**
 * The labelled ELBO L(x, φ) per row.
 * @param x compositions as fractions [.., B, 30]
 * @param phi labels (or any value in [0, 1]) [.., B, 1]
 */
export function labelledElbo(model: HeaDvae, x: Tensor, phi: Tensor, o: ElboOptions = {}): LabelledElboTerms {
  const T = o.countScale ?? 100;
  const { mu, logvar } = model.encode(x, phi);
  const sample = o.sample ?? true;
  if (sample && !o.key) throw new ShapeError("labelledElbo: sampling needs a random key");
  const r = reparameterize(mu, logvar, o.key ?? { seed: 0, stream: 0 }, o.step ?? 0);
  const z = sample ? r.z : mu;
  const logPi = model.decodeLog(z, phi);
  const recon = affine(sum(mul(x, logPi), -1), T);
  const p = model.arch.priorSingle;
  const logPrior = rowsView(affine(phi, Math.log(p) - Math.log1p(-p), Math.log1p(-p)));
  const elbo = sub(add(recon, logPrior), r.kl);
  return { recon, kl: r.kl, logPrior, elbo };
}

/**
 * The unlabelled ELBO U(x) per row, with φ enumerated: both branches run as one stacked batch of 2B rows.
 * @param x compositions [.., B, 30]
 * @param f standardised descriptors [.., B, 8]
 */
export function unlabelledElbo(
  model: HeaDvae,
  x: Tensor,
  f: Tensor,
  o: ElboOptions = {},
): UnlabelledElboTerms {
  const rowAxis = x.rank - 2;
  const B = x.shape[rowAxis];
  const lead = x.shape.slice(0, rowAxis);
  const s = model.classifierLogit(f, x);
  const be = x.backend;
  const phi2 = concat(
    [full([...lead, B, 1], 0, { backend: be }), full([...lead, B, 1], 1, { backend: be })],
    rowAxis,
  );
  const both = labelledElbo(model, concat([x, x], rowAxis), phi2, o).elbo; // [.., 2B]
  const half = (k: number) => slice(both, [...lead.map(() => 0), k * B], [...lead, B]);
  const elbo0 = half(0), elbo1 = half(1);
  const logit = rowsView(s);
  const q = sigmoid(logit);
  // H(q) from the logit: −log q = softplus(−s), −log(1 − q) = softplus(s).
  const entropy = add(mul(q, softplus(affine(logit, -1))), mul(affine(q, -1, 1), softplus(logit)));
  const elbo = add(add(mul(q, elbo1), mul(affine(q, -1, 1), elbo0)), entropy);
  return { logit, q, entropy, elbo0, elbo1, elbo };
}

/**
 * The supervised term −log q(φ|x) per row [.., B] (binary cross-entropy on the classifier logit).
 * @param phi labels [.., B, 1]
 */
export function supervisedTerm(model: HeaDvae, f: Tensor, x: Tensor | null, phi: Tensor): Tensor {
  return loss("bce_logits", model.classifierLogit(f, x), phi);
}

/** One training batch: labelled rows and unlabelled rows (either may be absent), each [.., B, ·]. */
export interface HeaBatch {
  labelled?: { x: Tensor; f: Tensor; phi: Tensor } | null;
  unlabelled?: { x: Tensor; f: Tensor } | null;
}

/** Weights of the objective's terms. */
export interface HeaObjectiveOptions extends ElboOptions {
  /** γ, weight of the supervised term (10, as the reference). */
  gamma?: number;
  /** Weight of the ELBO terms (1; 0 trains the classifier alone: the supervised-only network). */
  elboWeight?: number;
}

/** Number of columns of {@link HeaObjective.terms}. */
export const OBJECTIVE_COLUMNS = 6;

/** The objective of one batch. */
export interface HeaObjective {
  /** Σ over replicas of each replica's loss (scalar): the gradient of replica r's loss only reaches replica r. */
  total: Tensor;
  /**
   * Per replica [R, 6]: loss, −mean L (labelled), mean CE, −mean U (unlabelled), mean KL (labelled), mean
   * reconstruction log-likelihood (labelled). Absent parts are 0.
   */
  terms: Tensor;
}

/** The full objective (see the module docs) of one batch. */
export function heaObjective(model: HeaDvae, batch: HeaBatch, o: HeaObjectiveOptions = {}): HeaObjective {
  const gamma = o.gamma ?? 10, w = o.elboWeight ?? 1;
  const R = model.replicas;
  const be = (batch.labelled?.x ?? batch.unlabelled?.x)?.backend;
  if (!be) throw new ShapeError("heaObjective: empty batch");
  const zero = () => full([R], 0, { backend: be });
  const perRep = (t: Tensor) => reshape(mean(t, -1), [R]); // [.., B] → [R]
  let negL = zero(), ce = zero(), negU = zero(), kl = zero(), rec = zero();
  if (batch.labelled) {
    const { x, f, phi } = batch.labelled;
    if (phi.shape[phi.rank - 1] !== 1) {
      throw new ShapeError(`heaObjective: φ ${shapeStr(phi.shape)} needs [.., B, 1]`);
    }
    ce = perRep(supervisedTerm(model, f, x, phi));
    if (w !== 0) {
      const t = labelledElbo(model, x, phi, o);
      negL = affine(perRep(t.elbo), -1);
      kl = perRep(t.kl);
      rec = perRep(t.recon);
    }
  }
  if (batch.unlabelled && w !== 0) {
    const u = unlabelledElbo(model, batch.unlabelled.x, batch.unlabelled.f, {
      ...o,
      step: o.step === undefined ? undefined : o.step + 0x8000_0000,
    });
    negU = affine(perRep(u.elbo), -1);
  }
  const lossR = add(affine(add(negL, negU), w), affine(ce, gamma));
  const terms = concat([lossR, negL, ce, negU, kl, rec].map((t) => reshape(t, [R, 1])), 1);
  return { total: sum(lossR), terms };
}

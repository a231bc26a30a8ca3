/**
 * The small model interface every explanation in `explain/` is written against, and its adapter for VIBANN models
 * of either architecture (`reference` and `attention` share {@link VibannBase}'s encode / head / decode). Anything
 * else with a composition encoder, a latent and a hardness head fits through its own adapter.
 *
 * Conventions of the interface (all functions build differentiable engine ops on {@link ExplainableModel.backend}):
 * - compositions are [N, E] element fractions in the order of {@link ExplainableModel.elements} (any positive scale:
 *   the models project onto the simplex themselves);
 * - loads are RAW indentation loads in N, [N, 1] (the adapter standardises them with the model's scalers);
 * - hardness comes out in HV, [N] (de-standardised), computed deterministically: dropout off, z = μ.
 *
 * Members: a model directory may hold R > 1 members trained together. {@link ExplainableModel.hardness} is then the
 * member average (the ensemble's point prediction, as `alloy predict`); the latent functions (encode, head,
 * decode) use ONE member (option `member`, default 0), because every member has its own latent space.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { add, affine, broadcastTo, concat, mean, mul, reshape, slice, unsqueeze, zeros } from "../nn/ops.ts";
import type { VibannBase } from "../nn/models/vibann.ts";
import { VibannAttention } from "../nn/models/vibann_attention.ts";
import type { MemberScalers } from "../nn/models/vibann_predict.ts";

/** What the explanations need from a hardness model with a latent (see the module docs for the conventions). */
export interface ExplainableModel {
  /** The backend all tensors live on. */
  readonly backend: Backend;
  /** Element symbols in input order (E of them); may be empty when unknown. */
  readonly elements: readonly string[];
  /** Number of composition inputs E. */
  readonly elementCount: number;
  /** Latent size L of the explained member. */
  readonly latentDim: number;
  /** HV [N] from compositions [N, E] and raw loads [N, 1] (deterministic; member average). */
  hardness(comp: Tensor, load: Tensor): Tensor;
  /** Latent means μ [N, L] of compositions [N, E]. */
  encode(comp: Tensor): Tensor;
  /** HV [N] from latents [N, L] and raw loads [N, 1] (the hardness head). */
  head(z: Tensor, load: Tensor): Tensor;
  /** Decoded compositions [N, E] (rows on the simplex) from latents [N, L]. */
  decode(z: Tensor): Tensor;
}

/** Options of {@link vibannExplainable}. */
export interface VibannExplainableOptions {
  /** Element symbols in input order (from the model directory's config). */
  elements?: readonly string[];
  /** Member whose latent space encode/head/decode use (default 0). */
  member?: number;
}

/**
 * Wraps a (possibly replicated) VIBANN model of any architecture with its per-member scalers as an {@link ExplainableModel}.
 * Every call switches the model to deterministic inference (`model.eval()`: BatchNorm running statistics, no
 * dropout, z = μ). An attention model with the fraction bias gets one token slot per element (`model.tokens`; its
 * predictions of alloys with ≤ T elements do not change).
 * @param scalers one per member (`memberScalers(config)` of a model directory)
 * @throws {RangeError} when the scalers, elements or member do not fit the model
 * @example
 * ```ts
 * const { model, config } = await loadModelDir(dir, be);
 * const em = vibannExplainable(model, memberScalers(config), { elements: config.elements });
 * ```
 */
export function vibannExplainable(
  model: VibannBase,
  scalers: readonly MemberScalers[],
  o: VibannExplainableOptions = {},
): ExplainableModel {
  const R = model.replicas, E = model.elements, Lmax = model.latentDim;
  const m = o.member ?? 0;
  if (scalers.length !== R) {
    throw new RangeError(`vibannExplainable: ${scalers.length} scalers for ${R} members`);
  }
  if (!(Number.isInteger(m) && m >= 0 && m < R)) {
    throw new RangeError(`vibannExplainable: member ${m} is not one of 0..${R - 1}`);
  }
  if (o.elements && o.elements.length !== E) {
    throw new RangeError(`vibannExplainable: ${o.elements.length} element names for ${E} inputs`);
  }
  // An attention model with the fraction bias predicts an alloy of ≤ T elements identically with more token slots;
  // with one slot per element it is continuous along any path (the mean baseline holds every training element) and
  // on SHAP's mixed rows, instead of jumping where the top-T selection changes.
  if (model instanceof VibannAttention && model.config.fractionBias) model.tokens = model.elements;
  const L = model.latentDims[m];
  const be = model.zMu.weight.backend;
  const deterministic = () => model.eval(false);

  // Per-member constants as [R, 1, 1] tensors (created per call, so the caller's scope frees them).
  const perMember = (v: (s: MemberScalers) => number) =>
    be.fromData(Float32Array.from(scalers, v), [R, 1, 1]);
  const toReplicas = (x: Tensor) => broadcastTo(unsqueeze(x, 0), [R, ...x.shape]);
  /** Raw loads [N, 1] → standardised loads of every member ([N, 1] or [R, N, 1]). */
  const scaleLoad = (load: Tensor): Tensor => {
    if (R === 1) return affine(load, 1 / scalers[0].loadScale, -scalers[0].loadMean / scalers[0].loadScale);
    return add(
      mul(toReplicas(load), perMember((s) => 1 / s.loadScale)),
      perMember((s) => -s.loadMean / s.loadScale),
    );
  };
  /** Standardised y of every member → HV ([N, 1] or [R, N, 1], same shape). */
  const toHv = (y: Tensor): Tensor => {
    if (R === 1) return affine(y, scalers[0].yScale, scalers[0].yMean);
    return add(mul(y, perMember((s) => s.yScale)), perMember((s) => s.yMean));
  };
  /** Member m's rows of a [R, N, F] tensor, as [N, F]. */
  const memberRows = (t: Tensor): Tensor => {
    if (R === 1) return t;
    const [, n, f] = t.shape;
    return reshape(slice(t, [m, 0, 0], [1, n, f]), [n, f]);
  };
  /** A member-m latent [N, L] as the model's latent input ([N, Lmax] or [R, N, Lmax], zero-padded). */
  const latentInput = (z: Tensor): Tensor => {
    const n = z.shape[0];
    const padded = L < Lmax ? concat([z, zeros([n, Lmax - L], { backend: be })], 1) : z;
    return R === 1 ? padded : toReplicas(padded);
  };
  const checkRows = (what: string, x: Tensor, f: number) => {
    if (x.rank !== 2 || x.shape[1] !== f) {
      throw new RangeError(`vibannExplainable.${what}: expected [N, ${f}], got [${x.shape.join(", ")}]`);
    }
  };

  return {
    backend: be,
    elements: o.elements ? [...o.elements] : [],
    elementCount: E,
    latentDim: L,
    hardness(comp, load) {
      checkRows("hardness composition", comp, E);
      checkRows("hardness load", load, 1);
      deterministic();
      const n = comp.shape[0];
      const { mu } = model.encode(R === 1 ? comp : toReplicas(comp));
      const hv = toHv(model.head(mu, scaleLoad(load)));
      return reshape(R === 1 ? hv : mean(hv, 0), [n]);
    },
    encode(comp) {
      checkRows("encode", comp, E);
      deterministic();
      const mu = memberRows(model.encode(R === 1 ? comp : toReplicas(comp)).mu);
      return L < Lmax ? slice(mu, [0, 0], [mu.shape[0], L]) : mu;
    },
    head(z, load) {
      checkRows("head latent", z, L);
      checkRows("head load", load, 1);
      deterministic();
      const hv = memberRows(toHv(model.head(latentInput(z), scaleLoad(load))));
      return reshape(hv, [z.shape[0]]);
    },
    decode(z) {
      checkRows("decode", z, L);
      deterministic();
      return memberRows(model.decode(latentInput(z)));
    },
  };
}

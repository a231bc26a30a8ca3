/**
 * Builds a VIBANN network of either architecture (`reference`: the published gate + pairwise network;
 * `attention`: element tokens with multi-head self-attention) from one description, so the trainer, model
 * directories and predictions need not know which one they hold.
 * @module
 */
import { type VibannBase, type VibannOptions, VibannReference } from "./vibann.ts";
import { ATTENTION_DEFAULTS, type AttentionArchConfig, VibannAttention } from "./vibann_attention.ts";

/** The architectures `deno task train --arch` accepts. */
export const VIBANN_ARCHS = ["reference", "attention"] as const;
/** An architecture name. */
export type VibannArch = (typeof VIBANN_ARCHS)[number];

/** Which network to build: the architecture, its options and the element symbols of the inputs. */
export interface ArchSpec {
  arch: VibannArch;
  /** Attention options (defaults: {@link ATTENTION_DEFAULTS}); ignored for `reference`. */
  attention?: Partial<AttentionArchConfig>;
  /** Element symbols of the composition columns (the attention model's property features need them). */
  elementSymbols: readonly string[];
}

/** Builds the network `spec` describes with the shared options (sizes, replicas, seed, backend). */
export function buildVibann(spec: ArchSpec, o: Omit<VibannOptions, "elements">): VibannBase {
  const common = { ...o, elements: spec.elementSymbols.length };
  if (spec.arch === "reference") return new VibannReference(common);
  return new VibannAttention({
    ...common,
    ...ATTENTION_DEFAULTS,
    ...spec.attention,
    elementSymbols: spec.elementSymbols,
  });
}

/** The spec that rebuilds `model` (same architecture and options). */
export function archSpecOf(model: VibannBase, elementSymbols: readonly string[]): ArchSpec {
  if (model instanceof VibannAttention) {
    return { arch: "attention", attention: { ...model.config }, elementSymbols };
  }
  return { arch: "reference", elementSymbols };
}

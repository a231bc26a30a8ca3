/**
 * The composition GAN of Zhou, Shang, Liu and Yang (bulk metallic glasses): a generator latent (100) → 1000
 * LeakyReLU → descriptor size with a sigmoid output (every descriptor is min-max scaled to [0, 1] before training),
 * and a discriminator descriptor size → 1000 LeakyReLU → 1. The discriminator returns its *logit*; its probability is
 * sigmoid(logit), and the losses are computed from the logit (stable binary cross-entropy, `bce_logits`), which is the
 * same model as a sigmoid output layer. Every layer is a fused {@link Dense} (matmul + bias + activation in one
 * kernel), so the model runs on either backend.
 *
 * The LeakyReLU slope is not stated in the paper; 0.2 (the DCGAN convention) is the default.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { getBackend } from "../device.ts";
import { Dense } from "../layers/dense.ts";
import { Module } from "../layers/module.ts";
import { sigmoid } from "../ops/elementwise.ts";
import { ShapeError, shapeStr } from "../shape.ts";

/** Architecture of a {@link Gan}. */
export interface GanOptions {
  /** Size of one sample (the descriptor vector). */
  features: number;
  /** Latent size of the generator (paper: 100). */
  latent?: number;
  /** Width of the single hidden layer of both networks (paper: 1000). */
  hidden?: number;
  /** Negative slope of the LeakyReLU (default 0.2). */
  alpha?: number;
  /** Initialisation seed (generator and discriminator use seed and seed + 1). */
  seed?: number;
  backend?: Backend;
}

/** The architecture as plain numbers (what a saved GAN records). */
export interface GanShape {
  features: number;
  latent: number;
  hidden: number;
  alpha: number;
}

/** Resolves the defaults of {@link GanOptions}. */
export function ganShape(o: GanOptions): GanShape {
  const s = {
    features: o.features,
    latent: o.latent ?? 100,
    hidden: o.hidden ?? 1000,
    alpha: o.alpha ?? 0.2,
  };
  for (const k of ["features", "latent", "hidden"] as const) {
    if (!Number.isInteger(s[k]) || s[k] < 1) {
      throw new RangeError(`GAN: ${k} must be a positive integer, got ${s[k]}`);
    }
  }
  if (!(s.alpha >= 0 && s.alpha < 1)) throw new RangeError(`GAN: alpha must be in [0, 1), got ${s.alpha}`);
  return s;
}

/** Generator: z [B, latent] → sample [B, features] in (0, 1). */
export class GanGenerator extends Module {
  readonly hidden: Dense;
  readonly out: Dense;
  constructor(readonly shape: GanShape, seed: number, be: Backend) {
    super();
    this.hidden = new Dense(shape.latent, shape.hidden, {
      activation: "leaky_relu",
      alpha: shape.alpha,
      seed,
      backend: be,
    });
    this.out = new Dense(shape.hidden, shape.features, {
      activation: "sigmoid",
      seed: seed + 7,
      backend: be,
    });
  }
  /** z [B, latent] → [B, features]. */
  forward(z: Tensor): Tensor {
    if (z.rank !== 2 || z.shape[1] !== this.shape.latent) {
      throw new ShapeError(
        `GAN generator: latent ${shapeStr(z.shape)} should be [batch, ${this.shape.latent}]`,
      );
    }
    return this.out.forward(this.hidden.forward(z));
  }
}

/** Discriminator: x [B, features] → logit [B, 1] (probability of "real" = sigmoid(logit)). */
export class GanDiscriminator extends Module {
  readonly hidden: Dense;
  readonly out: Dense;
  constructor(readonly shape: GanShape, seed: number, be: Backend) {
    super();
    this.hidden = new Dense(shape.features, shape.hidden, {
      activation: "leaky_relu",
      alpha: shape.alpha,
      seed,
      backend: be,
    });
    this.out = new Dense(shape.hidden, 1, { seed: seed + 7, backend: be });
  }
  /** x [B, features] → logits [B, 1]. */
  logits(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.shape.features) {
      throw new ShapeError(
        `GAN discriminator: input ${shapeStr(x.shape)} should be [batch, ${this.shape.features}]`,
      );
    }
    return this.out.forward(this.hidden.forward(x));
  }
  /** x [B, features] → probability of "real" [B, 1] (the paper's sigmoid output). */
  forward(x: Tensor): Tensor {
    return sigmoid(this.logits(x));
  }
}

/** Generator and discriminator together. */
export class Gan extends Module {
  readonly shape: GanShape;
  readonly generator: GanGenerator;
  readonly discriminator: GanDiscriminator;
  constructor(o: GanOptions) {
    super();
    const be = o.backend ?? getBackend();
    this.shape = ganShape(o);
    const seed = o.seed ?? 0;
    this.generator = new GanGenerator(this.shape, seed * 2 + 1, be);
    this.discriminator = new GanDiscriminator(this.shape, seed * 2 + 2, be);
  }

  /** Every tensor under a stable name (`generator.hidden.weight`, …), for saving and loading. */
  namedTensors(): { name: string; tensor: Tensor }[] {
    const out: { name: string; tensor: Tensor }[] = [];
    for (const [net, m] of [["generator", this.generator], ["discriminator", this.discriminator]] as const) {
      for (const [layer, d] of [["hidden", m.hidden], ["out", m.out]] as const) {
        out.push({ name: `${net}.${layer}.weight`, tensor: d.weight });
        if (d.bias) out.push({ name: `${net}.${layer}.bias`, tensor: d.bias });
      }
    }
    return out;
  }
}

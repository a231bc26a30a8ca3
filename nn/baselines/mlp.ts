/**
 * Multilayer-perceptron baseline on our engine: inputs and target standardised on the training rows,
 * `hiddenLayers` {@link Dense} layers of `hiddenUnits` units with ReLU or tanh, a linear output, Adam on
 * mini-batches shuffled every epoch, an L2 penalty on the weights, and early stopping on a seeded validation
 * split with the best weights restored.
 *
 * Defaults: the original work's `--no-bayes` MLP (2 × 64 ReLU, Adam 1e-3), with scikit-learn's `MLPRegressor`
 * conventions where that model has none: L2 `alpha` 1e-4 scaled as scikit-learn does (objective ½·MSE +
 * ½·α·Σ‖W‖² / batch, biases not penalised), Adam ε 1e-8, `validationFraction` 0.1 (⌈0.1·n⌉ rows, as
 * `train_test_split`); then batch 32, patience 20 epochs (Keras-style: stop once 20 epochs in a row did not
 * lower the validation MSE, then restore the best weights) and at most 500 epochs. `validationFraction: 0`
 * turns early stopping off (all `maxEpochs` epochs are trained and the last weights kept). Inputs are used as
 * given by default (`scaleInputs: false`, as the original work's MLP; the target is always standardised): on the
 * hardness features, standardising a rarely present element's fraction column turns a test row with that element
 * into a 50–70σ input, which the network extrapolates wildly (5-fold RMSE ~200 HV with scaling, ~132 without).
 *
 * Performance: an epoch is recorded without any readback. One packed upload holds the epoch's shuffled
 * batches; the validation MSE, the best-weight snapshot and the patience counter stay on the device; the host
 * reads one small log row per epoch, pipelined (epoch e's row is awaited only after epoch e + 1 is recorded),
 * so training runs at most one speculative epoch past the stop, which the restore discards. The fitted
 * weights come to the host in one read, so `state()` is synchronous and `predict` works on any backend.
 *
 * Seeds: layer k is initialised from seed + k·104729 (as the VIBANN model does), which commutes with
 * `replicaSeed` (nn/layers/dense.ts): replica r of a replicated layer stack matches a model fitted alone with
 * seed + r·7919. The validation split and every epoch's shuffle come from {@link Rng}(seed, stream), each
 * with a stream of its own.
 * @module
 */
import type { Backend } from "../backend.ts";
import type { Tensor } from "../tensor.ts";
import { UserError } from "../../cli/errors.ts";
import { StandardScaler } from "../../data/scaler.ts";
import { gradients, noGrad } from "../autodiff.ts";
import { keep, scope } from "../scope.ts";
import { Dense } from "../layers/dense.ts";
import { Adam } from "../optim/adam.ts";
import { Rng } from "../random.ts";
import { add, affine, mul, where } from "../ops/elementwise.ts";
import { sum } from "../ops/reduce.ts";
import { concat } from "../ops/movement.ts";
import { matmul } from "../ops/matmul.ts";
import { loss } from "../ops/fused.ts";
import type {
  BaselineSpec,
  BaselineState,
  FitContext,
  Matrix,
  Regressor,
  RegressorPrediction,
  StateArray,
} from "./regressor.ts";

/** Hyperparameters of the MLP baseline (see the module documentation for the defaults' origin). */
export interface MlpParams {
  /** Standardise the input columns on the training rows (else they are used as given). */
  scaleInputs: boolean;
  /** Number of hidden layers (≥ 1). */
  hiddenLayers: number;
  /** Units per hidden layer. */
  hiddenUnits: number;
  /** Hidden-layer activation. */
  activation: "relu" | "tanh";
  /** Adam learning rate. */
  learningRate: number;
  /** Mini-batch size (the last batch of an epoch may be smaller). */
  batchSize: number;
  /** L2 penalty on the weights (scikit-learn's `alpha`). */
  alpha: number;
  /** Maximum number of epochs. */
  maxEpochs: number;
  /** Early stopping: epochs without a lower validation MSE before training stops. */
  patience: number;
  /** Fraction of the training rows held out for early stopping (0 = no early stopping). */
  validationFraction: number;
}

/** Default hyperparameters. */
export const MLP_DEFAULTS: MlpParams = {
  scaleInputs: false,
  hiddenLayers: 2,
  hiddenUnits: 64,
  activation: "relu",
  learningRate: 1e-3,
  batchSize: 32,
  alpha: 1e-4,
  maxEpochs: 500,
  patience: 20,
  validationFraction: 0.1,
};

/** Adam ε (scikit-learn's `epsilon`). */
const ADAM_EPS = 1e-8;
/** Seed offset between layers (the VIBANN model's; commutes with `replicaSeed`'s offset). */
const LAYER_SEED_STEP = 104729;
/** Random streams of the validation split and of epoch e's shuffle (Dense initialisers use stream 1). */
const SPLIT_STREAM = 0x4d4c5000;
const SHUFFLE_STREAM = 0x4d4c6000;
const BIG = 3e38;

/** What a fit recorded, per epoch (standardised-target units) and in total. */
export interface MlpHistory {
  /** Mean over the epoch's batches of the training MSE (data term only). */
  trainMse: number[];
  /** Validation MSE after each epoch (empty without early stopping). */
  valMse: number[];
  /** Epoch (0-based) whose weights were kept; the last epoch without early stopping, −1 if none improved. */
  bestEpoch: number;
  /** Epochs trained before stopping (the speculative epoch past the stop is not counted). */
  epochsRun: number;
  /** Rows of the training matrix used for early stopping (never trained on). */
  valRows: number[];
  /** Wall-clock seconds of the fit. */
  seconds: number;
}

/** One fitted layer on the host: weight [in, out] and bias [out] (float32, as trained). */
export interface MlpLayerWeights {
  weight: Float32Array;
  bias: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

/** A fitted MLP; weights live on the host and are uploaded to whichever backend predicts. */
export class MlpRegressor implements Regressor {
  readonly kind = "mlp" as const;

  constructor(
    readonly params: MlpParams,
    readonly xScaler: StandardScaler,
    readonly yScaler: StandardScaler,
    readonly layers: readonly MlpLayerWeights[],
    /** The training record (null for a restored model). */
    readonly history: MlpHistory | null,
  ) {}

  /** Number of input columns. */
  get inputs(): number {
    return this.xScaler.nCols;
  }

  /** Predicts every row of `x` with one upload and one read. */
  async predict(x: Matrix, backend: Backend): Promise<RegressorPrediction> {
    if (x.cols !== this.inputs) {
      throw new UserError(`mlp: the input has ${x.cols} columns, the model was fitted on ${this.inputs}`);
    }
    if (x.rows === 0) return { mean: new Float64Array(0) };
    checkFinite(x);
    const xs = Float32Array.from(this.xScaler.transform(x.data));
    const out = scope(() =>
      noGrad(() => {
        let h = backend.fromData(xs, [x.rows, x.cols]);
        this.layers.forEach((l, k) => {
          h = matmul(h, backend.fromData(l.weight, [l.inFeatures, l.outFeatures]), {
            bias: backend.fromData(l.bias, [l.outFeatures]),
            activation: k < this.layers.length - 1 ? this.params.activation : "identity",
          });
        });
        return h;
      })
    );
    const z = await backend.read(out);
    out.dispose();
    return { mean: this.yScaler.inverseTransform(z) };
  }

  /** Hyperparameters and scalers' JSON in `params`; weights (F32) and nothing else in `arrays`. */
  state(): BaselineState {
    const arrays: Record<string, StateArray> = {};
    this.layers.forEach((l, k) => {
      arrays[`layer${k}.weight`] = {
        dtype: "F32",
        shape: [l.inFeatures, l.outFeatures],
        data: l.weight.slice(),
      };
      arrays[`layer${k}.bias`] = { dtype: "F32", shape: [l.outFeatures], data: l.bias.slice() };
    });
    return {
      kind: "mlp",
      params: {
        ...this.params,
        inputs: this.inputs,
        xScaler: this.xScaler.toJSON(),
        yScaler: this.yScaler.toJSON(),
        ...(this.history ? { bestEpoch: this.history.bestEpoch, epochsRun: this.history.epochsRun } : {}),
      },
      arrays,
    };
  }
}

/** Checks hyperparameters; the message names the field. */
export function checkMlpParams(p: MlpParams, source = "mlp"): void {
  const int = (name: keyof MlpParams, min: number) => {
    const v = p[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new UserError(`${source}: '${name}' must be an integer ≥ ${min}, got ${String(v)}`);
    }
  };
  const real = (name: keyof MlpParams, ok: (v: number) => boolean, what: string) => {
    const v = p[name];
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
      throw new UserError(`${source}: '${name}' must be ${what}, got ${String(v)}`);
    }
  };
  if (typeof p.scaleInputs !== "boolean") {
    throw new UserError(`${source}: 'scaleInputs' must be true or false, got ${String(p.scaleInputs)}`);
  }
  int("hiddenLayers", 1);
  int("hiddenUnits", 1);
  if (p.activation !== "relu" && p.activation !== "tanh") {
    throw new UserError(`${source}: 'activation' must be 'relu' or 'tanh', got ${String(p.activation)}`);
  }
  real("learningRate", (v) => v > 0, "> 0");
  int("batchSize", 1);
  real("alpha", (v) => v >= 0, "≥ 0");
  int("maxEpochs", 1);
  int("patience", 1);
  real("validationFraction", (v) => v >= 0 && v < 1, "in [0, 1)");
}

/** Throws a UserError naming the first input cell that is not a finite number. */
function checkFinite(x: Matrix): void {
  for (let i = 0; i < x.data.length; i++) {
    if (!Number.isFinite(x.data[i])) {
      const row = Math.floor(i / x.cols), col = i % x.cols;
      throw new UserError(`mlp: input row ${row}, column ${col} is not a finite number (${x.data[i]})`);
    }
  }
}

/** Where one step's batch sits in the packed epoch buffer (offsets in elements, 64-aligned for subviews). */
interface StepSlot {
  rows: number;
  x: number;
  y: number;
}

const align64 = (n: number) => Math.ceil(n / 64) * 64;

/** Fits the MLP; see the module documentation. */
async function fitMlp(
  x: Matrix,
  y: Float64Array,
  params: MlpParams,
  ctx: FitContext,
): Promise<MlpRegressor> {
  const t0 = performance.now();
  const p = { ...MLP_DEFAULTS, ...params };
  checkMlpParams(p);
  if (y.length !== x.rows) throw new UserError(`mlp: ${x.rows} input rows but ${y.length} targets`);
  if (x.cols < 1) throw new UserError("mlp: the input has no columns");
  const n = x.rows, D = x.cols;
  const nVal = p.validationFraction > 0 ? Math.ceil(p.validationFraction * n) : 0;
  if (n - nVal < 1) {
    throw new UserError(`mlp: ${n} training row(s) are too few (validationFraction ${p.validationFraction})`);
  }
  checkFinite(x);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(y[i])) throw new UserError(`mlp: target row ${i} is not a finite number (${y[i]})`);
  }
  const xScaler = p.scaleInputs
    ? StandardScaler.fit(x.data, D)
    : new StandardScaler(new Float64Array(D), new Float64Array(D).fill(1));
  const yScaler = StandardScaler.fit(y, 1);
  const xs = Float32Array.from(xScaler.transform(x.data));
  const ys = Float32Array.from(yScaler.transform(y));

  const order = new Rng(ctx.seed, SPLIT_STREAM).shuffle(Array.from({ length: n }, (_, i) => i));
  const valRows = order.slice(0, nVal).sort((a, b) => a - b);
  const trainRows = order.slice(nVal).sort((a, b) => a - b);

  const be = ctx.backend;
  const B = Math.min(p.batchSize, trainRows.length);
  const sizes = [D, ...Array(p.hiddenLayers).fill(p.hiddenUnits), 1];
  const dense = sizes.slice(1).map((out, k) =>
    new Dense(sizes[k], out, {
      activation: k < p.hiddenLayers ? p.activation : "identity",
      seed: (ctx.seed + k * LAYER_SEED_STEP) >>> 0,
      backend: be,
    })
  );
  const params_ = dense.flatMap((l) => l.parameters());
  const weights = new Set(dense.map((l) => l.weight));
  const adam = new Adam(params_, { lr: p.learningRate, eps: ADAM_EPS });
  const owned: Tensor[] = [];
  const own = (t: Tensor) => (owned.push(keep(t)), t);
  try {
    // Epoch buffer layout (fixed: batch widths depend only on the row count).
    const steps: StepSlot[] = [];
    let total = 0;
    for (let s = 0; s * B < trainRows.length; s++) {
      const rows = Math.min(B, trainRows.length - s * B);
      const slot = { rows, x: total, y: total + align64(rows * D) };
      total = slot.y + align64(rows);
      steps.push(slot);
    }
    const host = new Float32Array(total);
    const epochBuf = own(be.empty([total]));
    const es = nVal > 0;
    const val = es
      ? {
        x: own(be.fromData(gatherRows(xs, D, valRows), [nVal, D])),
        y: own(be.fromData(gatherRows(ys, 1, valRows), [nVal, 1])),
      }
      : null;
    const st = es
      ? { best: own(be.fill([1], BIG)), wait: own(be.fill([1], 0)), active: own(be.fill([1], 1)) }
      : null;
    const best = es
      ? params_.map((t) => {
        const c = own(be.empty(t.shape));
        be.copyInto(c, t);
        return c;
      })
      : [];
    const forward = (h: Tensor) => dense.reduce((a, l) => l.forward(a), h);

    const history: MlpHistory = {
      trainMse: [],
      valMse: [],
      bestEpoch: -1,
      epochsRun: 0,
      valRows,
      seconds: 0,
    };
    let stopped = false;
    // Log row: [train MSE, val MSE, active before, improved, active after]; [train MSE] without validation.
    const consume = (epoch: number, v: Float32Array | Int32Array) => {
      if (!es) {
        history.trainMse.push(v[0]);
        history.epochsRun = epoch + 1;
        history.bestEpoch = epoch;
        return;
      }
      if (v[2] < 0.5) return; // the speculative epoch after the stop
      history.trainMse.push(v[0]);
      history.valMse.push(v[1]);
      history.epochsRun = epoch + 1;
      if (v[3] > 0.5) history.bestEpoch = epoch;
      if (v[4] < 0.5) stopped = true;
    };
    const pending: { epoch: number; read: Promise<Float32Array | Int32Array> }[] = [];
    for (let epoch = 0; epoch < p.maxEpochs && !stopped; epoch++) {
      const shuffled = new Rng(ctx.seed, SHUFFLE_STREAM + epoch).shuffle([...trainRows]);
      steps.forEach((slot, s) => {
        for (let i = 0; i < slot.rows; i++) {
          const r = shuffled[s * B + i];
          host.set(xs.subarray(r * D, (r + 1) * D), slot.x + i * D);
          host[slot.y + i] = ys[r];
        }
      });
      be.write(epochBuf, host);
      const logRow = scope(() => {
        let acc: Tensor | null = null;
        for (const slot of steps) {
          const xb = be.subview(epochBuf, slot.x, [slot.rows, D]);
          const yb = be.subview(epochBuf, slot.y, [slot.rows, 1]);
          const sq = sum(loss("weighted_mse", forward(xb), yb)); // Σ (ŷ − y)² over the batch
          // scikit-learn's objective ½·MSE + ½·α·Σ‖W‖² / batch; the penalty's gradient α·W / batch is added.
          const grads = gradients(affine(sq, 0.5 / slot.rows), params_);
          const decayed = noGrad(() =>
            grads.map((g, i) =>
              g && p.alpha > 0 && weights.has(params_[i])
                ? add(g, affine(params_[i], p.alpha / slot.rows))
                : g
            )
          );
          adam.update(decayed);
          const mse = noGrad(() => affine(sq, 1 / slot.rows));
          acc = acc ? noGrad(() => add(acc!, mse)) : mse;
        }
        return noGrad(() => {
          const trainMse = affine(acc!, 1 / steps.length).view([1]);
          if (!es) return trainMse;
          const valMse = affine(sum(loss("weighted_mse", forward(val!.x), val!.y)), 1 / nVal).view([1]);
          return epochEnd(be, trainMse, valMse, st!, params_, best, p.patience);
        });
      });
      pending.push({ epoch, read: be.read(logRow) });
      logRow.dispose();
      // Pipelining: read epoch e's row only after epoch e + 1 has been recorded.
      while (pending.length > 1) {
        const q = pending.shift()!;
        consume(q.epoch, await q.read);
      }
    }
    while (pending.length) {
      const q = pending.shift()!;
      consume(q.epoch, await q.read);
    }
    // One read of every kept weight, layer by layer (best snapshot, or the last weights without validation).
    const keptOf = (t: Tensor) => (es ? best[params_.indexOf(t)] : t);
    const kept = dense.flatMap((l) => [keptOf(l.weight), keptOf(l.bias!)]);
    const flat = noGrad(() => scope(() => concat(kept.map((t) => t.view([t.size])), 0)));
    const all = await be.read(flat);
    flat.dispose();
    let off = 0;
    const take = (size: number) => Float32Array.from(all.subarray(off, off += size));
    const layers: MlpLayerWeights[] = dense.map((l) => ({
      weight: take(l.inFeatures * l.outFeatures),
      bias: take(l.outFeatures),
      inFeatures: l.inFeatures,
      outFeatures: l.outFeatures,
    }));
    history.seconds = (performance.now() - t0) / 1000;
    return new MlpRegressor(p, xScaler, yScaler, layers, history);
  } finally {
    for (const t of owned) t.dispose();
    adam.dispose();
    for (const l of dense) l.dispose();
  }
}

/**
 * End-of-epoch control on the device: improved = active ∧ val < best; snapshot the weights where improved;
 * count epochs without improvement; deactivate at `patience`. Returns the log row [5].
 */
function epochEnd(
  be: Backend,
  trainMse: Tensor,
  valMse: Tensor,
  st: { best: Tensor; wait: Tensor; active: Tensor },
  params: Tensor[],
  best: Tensor[],
  patience: number,
): Tensor {
  const activeBefore = st.active;
  const improved = mul(be.binary("lt", valMse, st.best), activeBefore);
  const waitNext = where(improved, be.fill([1], 0), affine(st.wait, 1, 1));
  const activeNext = mul(activeBefore, be.binary("lt", waitNext, be.fill([1], patience)));
  const row = concat([trainMse, valMse, activeBefore, improved, activeNext], 0);
  params.forEach((t, i) => {
    const nb = be.where(improved.view(t.shape.map(() => 1)), t, best[i]);
    be.copyInto(best[i], nb);
  });
  be.copyInto(st.best, where(improved, valMse, st.best));
  be.copyInto(st.wait, waitNext);
  be.copyInto(st.active, activeNext);
  return row;
}

/** Rows `idx` of a row-major float32 array with `cols` columns. */
function gatherRows(a: Float32Array, cols: number, idx: readonly number[]): Float32Array {
  const out = new Float32Array(idx.length * cols);
  idx.forEach((r, i) => out.set(a.subarray(r * cols, (r + 1) * cols), i * cols));
  return out;
}

/** Rebuilds a fitted MLP from {@link MlpRegressor.state}. */
function restoreMlp(state: BaselineState): MlpRegressor {
  const source = "mlp state";
  if (state.kind !== "mlp") throw new UserError(`${source}: kind is '${state.kind}', expected 'mlp'`);
  const raw = state.params;
  const p = {} as MlpParams;
  for (const k of Object.keys(MLP_DEFAULTS) as (keyof MlpParams)[]) {
    if (!(k in raw)) throw new UserError(`${source}: missing parameter '${k}'`);
    (p as unknown as Record<string, unknown>)[k] = raw[k];
  }
  checkMlpParams(p, source);
  const xScaler = StandardScaler.fromJSON(raw.xScaler, `${source}: 'xScaler'`);
  const yScaler = StandardScaler.fromJSON(raw.yScaler, `${source}: 'yScaler'`);
  if (yScaler.nCols !== 1) throw new UserError(`${source}: 'yScaler' must have one column`);
  const sizes = [xScaler.nCols, ...Array(p.hiddenLayers).fill(p.hiddenUnits), 1];
  const layers: MlpLayerWeights[] = sizes.slice(1).map((out, k) => {
    const inF = sizes[k];
    const get = (name: string, shape: number[]) => {
      const a = state.arrays[name];
      if (!a) throw new UserError(`${source}: missing array '${name}'`);
      if (a.dtype !== "F32" || a.shape.join() !== shape.join() || a.data.length !== shapeSize(shape)) {
        throw new UserError(
          `${source}: array '${name}' is ${a.dtype}[${a.shape}], expected F32[${shape}]`,
        );
      }
      for (const v of a.data) {
        if (!Number.isFinite(v)) throw new UserError(`${source}: array '${name}' holds a non-finite value`);
      }
      return Float32Array.from(a.data);
    };
    return {
      weight: get(`layer${k}.weight`, [inF, out]),
      bias: get(`layer${k}.bias`, [out]),
      inFeatures: inF,
      outFeatures: out,
    };
  });
  return new MlpRegressor(p, xScaler, yScaler, layers, null);
}

const shapeSize = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** The MLP baseline. */
export const mlp: BaselineSpec<MlpParams> = {
  kind: "mlp",
  name: "MLP",
  defaults: MLP_DEFAULTS,
  fit: fitMlp,
  restore: restoreMlp,
};

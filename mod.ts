/**
 * alloy: inverse design of alloys on our own WebGPU kernels and autodiff engine.
 *
 * The public API: tensors and differentiable ops, gradients, memory scopes, devices, layers and optimisers.
 *
 * @example
 * ```ts
 * import { Adam, Dense, loss, mean, scope, tensor, useDevice, valueAndGrad } from "./mod.ts";
 * await useDevice();                       // WebGPU when an adapter exists, else the CPU backend
 * const layer = new Dense(3, 1);
 * const opt = new Adam(layer.parameters(), { lr: 1e-2 });
 * const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]), y = tensor([1, 0], [2, 1]);
 * scope(() => {
 *   const [l, grads] = valueAndGrad(() => mean(loss("weighted_mse", layer.forward(x), y)), opt.params)();
 *   opt.update(grads);
 * });
 * ```
 * @module
 */
export { Tensor } from "./nn/tensor.ts";
export type { DType, GradNode } from "./nn/tensor.ts";
export type {
  Activation,
  AdamParams,
  Backend,
  BinaryOp,
  LossKind,
  MatmulOptions,
  ReduceOp,
  UnaryOp,
} from "./nn/backend.ts";
export * from "./nn/ops.ts";
export { grad, gradients, noGrad, valueAndGrad } from "./nn/autodiff.ts";
export { keep, scope } from "./nn/scope.ts";
export { getBackend, setBackend, useDevice } from "./nn/device.ts";
export type { DeviceName } from "./nn/device.ts";
export { CpuBackend } from "./nn/cpu_backend.ts";
export { WebGpuBackend } from "./nn/webgpu_backend.ts";
export { DeviceError, requestGpu } from "./kernels/device.ts";
export type { AdapterDescription } from "./kernels/device.ts";
export { ShapeError } from "./nn/shape.ts";
export { Rng } from "./nn/random.ts";
export type { RngKey } from "./nn/random.ts";
export { Module, StateTensor } from "./nn/layers/module.ts";
export type { LayerOptions } from "./nn/layers/module.ts";
export { Dense, replicaSeed } from "./nn/layers/dense.ts";
export { BatchNorm1d } from "./nn/layers/batch_norm.ts";
export { Dropout } from "./nn/layers/dropout.ts";
export { LayerNorm } from "./nn/layers/layer_norm.ts";
export { Embedding } from "./nn/layers/embedding.ts";
export { MultiHeadAttention } from "./nn/layers/multi_head_attention.ts";
export { Adam } from "./nn/optim/adam.ts";
export type { AdamOptions } from "./nn/optim/adam.ts";
export { sinkhorn, sinkhornCpu, sinkhornDivergence } from "./nn/metrics/sinkhorn.ts";

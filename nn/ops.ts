/**
 * Every differentiable op, in one namespace.
 * @module
 */
export * from "./ops/creation.ts";
export * from "./ops/elementwise.ts";
export * from "./ops/reduce.ts";
export * from "./ops/movement.ts";
export * from "./ops/matmul.ts";
export * from "./ops/pairwise_matmul.ts";
export * from "./ops/fused.ts";
export * from "./ops/vib_objective.ts";
export * from "./ops/batch_norm.ts";

/**
 * Interpretability of hardness models — one import point for the report and the CLI:
 *
 * - the model interface the explanations use ({@link vibannExplainable} adapts either VIBANN architecture);
 * - integrated gradients (one batched forward/backward per input path) and model-agnostic Kernel SHAP (one batched
 *   model call), per alloy ({@link explainAlloy}), over a data set, and per latent cluster ({@link shapByCluster});
 * - the training rows (baseline, background) of a model directory;
 * - latent analysis: PCA, exact t-SNE, k-means elbow, GMM density map, Pearson/Spearman latent–HV correlations,
 *   latent traversal and latent gradient importance.
 *
 * Everything random is seeded (`nn/random.ts`); host-side numerics run in float64.
 * @module
 */
export * from "./explainable_model.ts";
export * from "./integrated_gradients.ts";
export * from "./kernel_shap.ts";
export * from "./hardness_batch_fn.ts";
export * from "./shap_by_cluster.ts";
export * from "./explain_alloy.ts";
export * from "./training_rows.ts";
export * from "./standardize.ts";
export * from "./symmetric_eigen.ts";
export * from "./pca.ts";
export * from "./tsne.ts";
export * from "./kmeans_elbow.ts";
export * from "./gmm_density_grid.ts";
export * from "./correlation.ts";
export * from "./latent_traversal.ts";
export * from "./latent_gradient_importance.ts";
export * from "./read_values.ts";

/**
 * WGSL functions shared by several kernels: numerically careful activations and erf. Kernels include only the
 * snippets they need. NaN/Inf are never tested with `x != x` (WGSL does not promise IEEE behaviour).
 * @module
 */

/** Stable sigmoid, softplus, erf (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7) and exact GELU. */
export const ACTIVATIONS_WGSL = /* wgsl */ `
fn sigmoid_f(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn softplus_f(x: f32) -> f32 {
  return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}
fn erf_f(x: f32) -> f32 {
  let s = sign(x);
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-a * a);
  return s * y;
}
fn gelu_f(x: f32) -> f32 {
  return 0.5 * x * (1.0 + erf_f(x * 0.7071067811865476));
}
fn gelu_grad_f(x: f32) -> f32 {
  let cdf = 0.5 * (1.0 + erf_f(x * 0.7071067811865476));
  let pdf = 0.3989422804014327 * exp(-0.5 * x * x);
  return cdf + x * pdf;
}
fn tanh_f(x: f32) -> f32 {
  // tanh(x) = 1 - 2/(exp(2x)+1), clamped so exp never overflows.
  let c = clamp(x, -15.0, 15.0);
  return 1.0 - 2.0 / (exp(2.0 * c) + 1.0);
}
`;

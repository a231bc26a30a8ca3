/**
 * WGSL Philox4x32-10 and its float conversions: the GPU twin of `nn/random.ts`. Kernels draw element i of
 * (key, step) as `philox_at(i, P.step, P.stream, P.seed)`, with the key words passed as uniforms so a new step or
 * seed never recompiles a pipeline.
 *
 * - Uniforms are bit-identical to the CPU's `Math.fround(bitsToUniform(u))`: the float32 rounding of
 *   (⌊u/2⁸⌋ + ½)·2⁻²⁴ is done in integer arithmetic (round-half-to-even made explicit), so it does not depend on how
 *   a driver rounds u32→f32 conversions. The largest value rounds to exactly 1.0 in float32 (as on the CPU).
 * - Normals mirror `bitsToNormal` (Box–Muller, first output: √(−2·ln a)·cos(2πb)) but evaluate ln and cos with our
 *   own polynomials on exactly reduced arguments instead of the builtins: WGSL only promises an absolute error of
 *   2⁻²¹ for `log` near 1 and 2⁻¹¹ for `cos`, and only on [−π, π]. Measured against the CPU formula over 2·10⁶
 *   draws (float32 simulation of this code): max |Δ| = 1.2e-6, ≈ the CPU's own float32 argument rounding.
 * @module
 */

/** Philox4x32-10 (Salmon et al. 2011) with WGSL's 32-bit integers: the high product word from 16-bit halves. */
export const PHILOX_WGSL = /* wgsl */ `
fn philox_mulhi(a: u32, b: u32) -> u32 {
  let aL = a & 0xffffu;
  let aH = a >> 16u;
  let bL = b & 0xffffu;
  let bH = b >> 16u;
  let ll = aL * bL;
  let lh = aL * bH;
  let hl = aH * bL;
  let mid = (ll >> 16u) + (lh & 0xffffu) + (hl & 0xffffu);
  return aH * bH + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
}
fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = ctr;
  var k = key;
  for (var r = 0u; r < 10u; r++) {
    let hi0 = philox_mulhi(0xD2511F53u, c.x);
    let lo0 = 0xD2511F53u * c.x;
    let hi1 = philox_mulhi(0xCD9E8D57u, c.z);
    let lo1 = 0xCD9E8D57u * c.z;
    c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2<u32>(0x9E3779B9u, 0xBB67AE85u);
  }
  return c;
}
// The counter layout of nn/random.ts philoxAt: ctr = (index, step, stream, 0), key = (seed, "ALLY").
fn philox_at(index: u32, step: u32, stream: u32, seed: u32) -> vec4<u32> {
  return philox4x32_10(vec4<u32>(index, step, stream, 0u), vec2<u32>(seed, 0x414c4c59u));
}
// float32 of (k + 0.5)·2^-24, k = u >> 8. Below 0.5 the value (2k+1)·2^-25 is exact; above, it is a tie between
// k·2^-24 and (k+1)·2^-24 and round-half-to-even picks the even one. All conversions below are of integers < 2^24.
fn philox_uniform(u: u32) -> f32 {
  let k = u >> 8u;
  if (k < 0x800000u) { return f32(2u * k + 1u) * 0x1p-25f; }
  return f32(k + (k & 1u)) * 0x1p-24f;
}
// atanh(s)/s = 1 + z/3 + z^2/5 + ... (z = s^2 <= 1/9), truncation < 2e-9 relative.
fn philox_atanh_ratio(z: f32) -> f32 {
  var p = 1.0 / 15.0;
  p = p * z + 1.0 / 13.0;
  p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z + 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z + 1.0 / 3.0;
  return p * z + 1.0;
}
// -ln(a) for a = (2k+1)·2^-25 (the exact, unrounded uniform of u), to a few ulps relative.
fn philox_neglog_uniform(u: u32) -> f32 {
  let k = u >> 8u;
  let n = 2u * k + 1u;
  if (k >= 0x800000u) {
    // a > 0.5: d = 1 - a = (2^25 - n)·2^-25 is exact, and -ln(1 - d) = 2·atanh(d / (2 - d)).
    let d = f32(0x2000000u - n) * 0x1p-25f;
    let s = d / (2.0 - d);
    return 2.0 * s * philox_atanh_ratio(s * s);
  }
  // a < 0.5: n < 2^24 is exact; n = m·2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2·atanh((m-1)/(m+1)).
  var e = i32(firstLeadingBit(n));
  var m = ldexp(f32(n), -e);
  if (m > 1.41421356) {
    m = m * 0.5;
    e = e + 1;
  }
  let s = (m - 1.0) / (m + 1.0);
  let lnm = 2.0 * s * philox_atanh_ratio(s * s);
  let ee = f32(e - 25);
  // ln 2 split as in fdlibm's logf: ee·LN2_HI is exact.
  return -(ee * 0x1.62e3p-1f + (ee * 9.0580006145e-06 + lnm));
}
fn philox_sin_poly(x: f32) -> f32 {
  // |x| <= pi/4: Taylor to x^9 (truncation < 2e-9).
  let z = x * x;
  var p = 1.0 / 362880.0;
  p = p * z - 1.0 / 5040.0;
  p = p * z + 1.0 / 120.0;
  p = p * z - 1.0 / 6.0;
  return x * (p * z + 1.0);
}
fn philox_cos_poly(x: f32) -> f32 {
  // |x| <= pi/4: Taylor to x^10 (truncation < 2e-10).
  let z = x * x;
  var p = -1.0 / 3628800.0;
  p = p * z + 1.0 / 40320.0;
  p = p * z - 1.0 / 720.0;
  p = p * z + 1.0 / 24.0;
  p = p * z - 0.5;
  return p * z + 1.0;
}
// cos(2·pi·b) for b = (2j+1)·2^-25, j = u >> 8, reduced exactly in integers: b = q/4 + t with quadrant q and
// t = m·2^-25 in (0, 1/4); for t > 1/8 the complement 1/4 - t keeps the polynomial argument within pi/4.
fn philox_cos2pi_uniform(u: u32) -> f32 {
  let j = u >> 8u;
  let q = j >> 22u;
  let m = 2u * (j & 0x3fffffu) + 1u;
  var c: f32;
  var s: f32;
  if (m < 0x400000u) {
    let x = f32(m) * 1.8725351414619643e-7;
    c = philox_cos_poly(x);
    s = philox_sin_poly(x);
  } else {
    let x = f32(0x800000u - m) * 1.8725351414619643e-7;
    c = philox_sin_poly(x);
    s = philox_cos_poly(x);
  }
  if (q == 0u) { return c; }
  if (q == 1u) { return -s; }
  if (q == 2u) { return -c; }
  return s;
}
// Standard normal from words (u0, u1): Box–Muller's first output, as nn/random.ts bitsToNormal.
fn philox_normal(u0: u32, u1: u32) -> f32 {
  return sqrt(2.0 * philox_neglog_uniform(u0)) * philox_cos2pi_uniform(u1);
}
`;

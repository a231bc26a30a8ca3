/**
 * Argument validation shared by the metrics. Metrics receive arrays computed by our own code (predictions, MC
 * samples), so a violation is a programming error: it throws a one-line `RangeError` naming the function, the
 * argument and the offending index, and no metric ever returns NaN.
 * @module
 */

/** Checks that `values` is non-empty and all finite; returns its length. */
export function checkFinite(fn: string, name: string, values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) throw new RangeError(`${fn}: ${name} is empty (need at least 1 value)`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i])) {
      throw new RangeError(`${fn}: ${name}[${i}] is not a finite number (${values[i]})`);
    }
  }
  return n;
}

/** Checks two non-empty, finite, equally long arrays; returns their common length. */
export function checkPair(
  fn: string,
  aName: string,
  a: ArrayLike<number>,
  bName: string,
  b: ArrayLike<number>,
): number {
  const n = checkFinite(fn, aName, a);
  const m = checkFinite(fn, bName, b);
  if (n !== m) throw new RangeError(`${fn}: ${aName} has ${n} values but ${bName} has ${m}`);
  return n;
}

/** Checks that `p` is a number in [0, 1] (or in (0, 1) when `open`). */
export function checkProbability(fn: string, name: string, p: number, open = false): void {
  const ok = open ? p > 0 && p < 1 : p >= 0 && p <= 1;
  if (!ok) throw new RangeError(`${fn}: ${name} must be in ${open ? "(0, 1)" : "[0, 1]"}, got ${p}`);
}

/** Checks that `k` is an integer ≥ `min`. */
export function checkInteger(fn: string, name: string, k: number, min: number): void {
  if (!Number.isInteger(k) || k < min) {
    throw new RangeError(`${fn}: ${name} must be an integer ≥ ${min}, got ${k}`);
  }
}

/**
 * Checks MC samples laid out [S, N] (pass-major: `samples[s * N + i]`) with `nPasses` = S; returns N.
 * Every sample must be finite.
 */
export function checkSamples(fn: string, samples: ArrayLike<number>, nPasses: number): number {
  checkInteger(fn, "nPasses", nPasses, 1);
  if (samples.length === 0) throw new RangeError(`${fn}: samples is empty (need at least 1 value)`);
  if (samples.length % nPasses !== 0) {
    throw new RangeError(`${fn}: ${samples.length} samples do not form ${nPasses} passes of equal length`);
  }
  const n = samples.length / nPasses;
  for (let k = 0; k < samples.length; k++) {
    if (!Number.isFinite(samples[k])) {
      const s = Math.floor(k / n), i = k % n;
      throw new RangeError(`${fn}: sample of pass ${s}, row ${i} is not a finite number (${samples[k]})`);
    }
  }
  return n;
}

/**
 * Kernels as data: a spec names its cache key, how to produce its WGSL, its bindings and its grid. Spec builders in
 * the family files are pure functions of (op parameters, shapes), so they can be tested without a device.
 * @module
 */

/** One compute kernel launch description. */
export interface KernelSpec {
  /** Cache key: must change whenever the generated WGSL would. */
  key: string;
  /** Generates the WGSL (called once per key). Entry point is `main`. */
  source: () => string;
  /** Storage bindings in order, starting at @binding(1): read-only or read-write. */
  bindings: readonly ("read" | "rw")[];
  /** Whether @binding(0) is a `var<uniform>` parameter block (per-dispatch values, ≤ 256 bytes). */
  uniforms: boolean;
  /** Workgroup counts. */
  workgroups: readonly [number, number, number];
}

/** Maximum workgroups per grid dimension in WebGPU. */
export const MAX_GRID = 65535;

/** Splits `n` workgroups over x and y so neither exceeds {@link MAX_GRID}; kernels recover the flat id with `flatWg`. */
export function grid1d(n: number): [number, number, number] {
  if (n <= MAX_GRID) return [Math.max(1, n), 1, 1];
  return [MAX_GRID, Math.ceil(n / MAX_GRID), 1];
}

/** WGSL expression of the flat workgroup index given `wid` and `nwg` builtins. */
export const FLAT_WG = "(wid.x + wid.y * nwg.x)";

/** Standard entry-point builtins for kernels that use {@link grid1d}. */
export const GRID_ARGS =
  "@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32";

/** Declares the storage bindings of a spec: `names[i]` at @binding(i+1) with array element type `types[i]`. */
export function declareBindings(
  bindings: readonly ("read" | "rw")[],
  names: readonly string[],
  types: readonly string[] = [],
): string {
  return bindings.map((b, i) =>
    `@group(0) @binding(${i + 1}) var<storage, ${b === "read" ? "read" : "read_write"}> ${names[i]}: array<${
      types[i] ?? "f32"
    }>;`
  ).join("\n");
}

/** Packs per-dispatch uniform values: each entry is written as u32 (`"u"`), i32 (`"i"`) or f32 (`"f"`). */
export function packParams(values: readonly (readonly ["u" | "i" | "f", number])[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil(values.length / 4) * 16));
  const dv = new DataView(buf);
  values.forEach(([t, v], i) => {
    if (t === "u") dv.setUint32(i * 4, v >>> 0, true);
    else if (t === "i") dv.setInt32(i * 4, v | 0, true);
    else dv.setFloat32(i * 4, v, true);
  });
  return buf;
}

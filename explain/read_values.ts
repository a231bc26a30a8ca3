/**
 * Reads a tensor's values as float64 on the host: the stored float64 values on the float64 CPU backend (so tests
 * can check closed forms to 1e-12), else the backend's float32 read widened.
 * @module
 */
import type { Tensor } from "../nn/tensor.ts";
import { CpuBackend } from "../nn/cpu_backend.ts";

/** The values of `t` as a Float64Array (one device read on WebGPU). */
export async function readFloat64(t: Tensor): Promise<Float64Array> {
  const be = t.backend;
  if (be instanceof CpuBackend) return Float64Array.from(be.data(t));
  return Float64Array.from(await t.read());
}

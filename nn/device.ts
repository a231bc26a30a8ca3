/**
 * Device selection: `webgpu` when an adapter exists, else `cpu` with a one-line notice; the chosen backend becomes
 * the default for tensor creation.
 * @module
 */
import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu_backend.ts";
import { WebGpuBackend } from "./webgpu_backend.ts";
import { DeviceError, hasWebGpu } from "../kernels/device.ts";

/** Device names accepted by `--device`. */
export type DeviceName = "webgpu" | "cpu";

let current: Backend | null = null;

/** The default backend (CPU float32 until {@link useDevice} or {@link setBackend} picks another). */
export function getBackend(): Backend {
  return current ??= new CpuBackend();
}

/** Makes `b` the default backend for tensor creation. */
export function setBackend(b: Backend): void {
  current = b;
}

/**
 * Opens the requested device (or the best available one when `name` is undefined) and makes it the default.
 * `notice` receives one line when falling back to the CPU.
 */
export async function useDevice(
  name?: DeviceName | string,
  notice: (line: string) => void = (l) => console.error(l),
): Promise<Backend> {
  if (name !== undefined && name !== "webgpu" && name !== "cpu") {
    throw new DeviceError(`--device: expected 'webgpu' or 'cpu', got '${name}'`);
  }
  let b: Backend;
  if (name === "cpu") b = new CpuBackend();
  else if (name === "webgpu") b = await WebGpuBackend.create();
  else if (await hasWebGpu()) b = await WebGpuBackend.create();
  else {
    notice("notice: no WebGPU adapter found; running on the CPU reference backend (slower)");
    b = new CpuBackend();
  }
  setBackend(b);
  return b;
}

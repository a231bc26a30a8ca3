/**
 * The `--device` / `--verbose` handling every command shares.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { useDevice } from "../nn/device.ts";
import { WebGpuBackend } from "../nn/webgpu_backend.ts";
import { DeviceError } from "../kernels/device.ts";
import { UserError } from "./errors.ts";

/** Opens the device named by `--device` (default: WebGPU when available) and reports it under `--verbose`. */
export async function openDevice(flags: Record<string, unknown>): Promise<Backend> {
  const name = flags.device as string | undefined;
  if (name !== undefined && name !== "webgpu" && name !== "cpu") {
    throw new UserError(`--device: expected 'webgpu' or 'cpu', got '${name}'`);
  }
  let be: Backend;
  try {
    be = await useDevice(name);
  } catch (e) {
    if (e instanceof DeviceError) throw new UserError(e.message);
    throw e;
  }
  if (flags.verbose) console.error(deviceLine(be));
  return be;
}

/** One line describing the backend: adapter, fallback flag, requested backend. */
export function deviceLine(be: Backend): string {
  if (be instanceof WebGpuBackend) {
    const a = be.ctx.adapter;
    return `device: webgpu — ${a.description} (fallback adapter: ${
      a.isFallbackAdapter ? "yes" : "no"
    }, backend: ${a.backend})`;
  }
  return `device: cpu — ${be.description}`;
}

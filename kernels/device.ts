/**
 * WebGPU adapter and device acquisition, with clear errors, adapter information for logs, and device-loss and
 * uncaptured-error tracking so failures surface as errors instead of hangs.
 * @module
 */

/** What we report about an adapter (bench JSON, `--verbose`). */
export interface AdapterDescription {
  description: string;
  isFallbackAdapter: boolean;
  /** The backend requested through DENO_WEBGPU_BACKEND, or "auto". */
  backend: string;
  vendor: string;
  /**
   * LP_NUM_THREADS as set for Mesa's software rasteriser, or null: "0" makes llvmpipe run dispatches inline on
   * the calling thread (lower per-dispatch cost, one core), which changes software-adapter timings.
   */
  lpNumThreads: string | null;
}

/** Raised when no usable WebGPU adapter or device can be obtained, or when the device is lost. */
export class DeviceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DeviceError";
  }
}

/** A live device plus the state every kernel launch checks. */
export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterDescription;
  limits: GPUSupportedLimits;
  features: ReadonlySet<string>;
  /** Set when the device is lost; every later operation throws it. */
  lost: string | null;
  /** Uncaptured validation/out-of-memory errors, drained (and thrown) at the next flush or read. */
  errors: string[];
}

/** Returns whether `navigator.gpu` yields an adapter, without creating a device. */
export async function hasWebGpu(): Promise<boolean> {
  try {
    return !!(await navigator.gpu?.requestAdapter());
  } catch {
    return false;
  }
}

let shared: Promise<GpuContext> | null = null;

/**
 * Acquires (once per process) the WebGPU adapter and device with the adapter's maximum storage-buffer and workgroup
 * limits. Throws a {@link DeviceError} explaining what to install when nothing is available.
 */
export function requestGpu(): Promise<GpuContext> {
  shared ??= acquire().catch((e) => {
    shared = null;
    throw e;
  });
  return shared;
}

/** A new, unshared device (tests use it to exercise device loss without harming the shared one). */
export function createGpuContext(): Promise<GpuContext> {
  return acquire();
}

async function acquire(): Promise<GpuContext> {
  if (!("gpu" in navigator) || !navigator.gpu) {
    throw new DeviceError(
      "WebGPU is not available in this runtime (navigator.gpu is missing); use --device cpu",
    );
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    throw new DeviceError(`WebGPU adapter request failed: ${(e as Error).message}; use --device cpu`);
  }
  if (!adapter) {
    throw new DeviceError(
      "no WebGPU adapter found (install a GPU driver or mesa-vulkan-drivers for a software adapter); use --device cpu",
    );
  }
  const want: Record<string, number> = {};
  for (
    const k of [
      "maxStorageBuffersPerShaderStage",
      "maxComputeWorkgroupStorageSize",
      "maxComputeInvocationsPerWorkgroup",
      "maxComputeWorkgroupSizeX",
      "maxComputeWorkgroupSizeY",
      "maxStorageBufferBindingSize",
      "maxBufferSize",
    ] as const
  ) want[k] = adapter.limits[k];
  const features: GPUFeatureName[] = [];
  if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits: want, requiredFeatures: features });
  } catch (e) {
    throw new DeviceError(`WebGPU device request failed: ${(e as Error).message}; use --device cpu`);
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const ctx: GpuContext = {
    device,
    adapter: {
      description: info.description || info.device || "unknown adapter",
      isFallbackAdapter: !!(info.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean })
        .isFallbackAdapter),
      backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "auto",
      vendor: info.vendor ?? "",
      lpNumThreads: Deno.env.get("LP_NUM_THREADS") ?? null,
    },
    limits: device.limits,
    features: new Set([...device.features] as string[]),
    lost: null,
    errors: [],
  };
  device.lost.then((l) => {
    ctx.lost = `GPU device lost (${l.reason}): ${l.message || "no message"}`;
  });
  device.addEventListener("uncapturederror", (ev) => {
    ctx.errors.push((ev as GPUUncapturedErrorEvent).error.message);
  });
  return ctx;
}

/** Throws if the device was lost or reported an uncaptured error since the last check. */
export function checkDevice(ctx: GpuContext, where: string): void {
  if (ctx.lost) throw new DeviceError(`${where}: ${ctx.lost}`);
  if (ctx.errors.length) {
    const msg = ctx.errors.splice(0).join("; ");
    throw new DeviceError(`${where}: WebGPU reported an error: ${msg}`);
  }
}

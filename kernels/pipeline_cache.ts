/**
 * Compiled pipelines cached by spec key, each with an explicit bind-group layout (dynamic-offset uniform at binding
 * 0, storage buffers after it). WGSL compile errors are reported with the kernel key, line, column and source line.
 * @module
 */
import type { KernelSpec } from "./kernel_spec.ts";

/** A compiled kernel. */
export interface CachedPipeline {
  id: number;
  key: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  spec: KernelSpec;
}

/** Set ALLOY_DEBUG=wgsl to print each kernel's source on first compile. */
const DEBUG_WGSL = (() => {
  try {
    return (Deno.env.get("ALLOY_DEBUG") ?? "").includes("wgsl");
  } catch {
    return false;
  }
})();

/** Pipelines keyed by {@link KernelSpec.key}. */
export class PipelineCache {
  #device: GPUDevice;
  #map = new Map<string, CachedPipeline>();
  #pendingChecks: Promise<string | null>[] = [];
  #nextId = 1;
  /** Compile time spent so far, in ms (reported apart from step time). */
  compileMs = 0;

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of compiled pipelines. */
  get size(): number {
    return this.#map.size;
  }

  /** The pipeline for `spec`, compiling it on first use. */
  get(spec: KernelSpec): CachedPipeline {
    const hit = this.#map.get(spec.key);
    if (hit) return hit;
    const t0 = performance.now();
    const code = spec.source();
    if (DEBUG_WGSL) console.error(`--- kernel ${spec.key}\n${code}`);
    const device = this.#device;
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ code, label: spec.key });
    const entries: GPUBindGroupLayoutEntry[] = [];
    if (spec.uniforms) {
      entries.push({
        binding: 0,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: "uniform", hasDynamicOffset: true, minBindingSize: 256 },
      });
    }
    spec.bindings.forEach((b, i) =>
      entries.push({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: b === "read" ? "read-only-storage" : "storage" },
      })
    );
    const layout = device.createBindGroupLayout({ entries, label: spec.key });
    const pipeline = device.createComputePipeline({
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: "main" },
      label: spec.key,
    });
    this.#pendingChecks.push(
      Promise.all([device.popErrorScope(), module.getCompilationInfo()]).then(([err, info]) => {
        const msgs = info.messages.filter((m) => m.type === "error");
        if (!err && !msgs.length) return null;
        const lines = code.split("\n");
        const detail = msgs.map((m) =>
          `${m.lineNum}:${m.linePos}: ${m.message}\n    ${lines[m.lineNum - 1] ?? ""}`
        );
        return `kernel ${spec.key} failed to compile: ${err?.message ?? ""}\n${detail.join("\n")}`;
      }),
    );
    const entry: CachedPipeline = { id: this.#nextId++, key: spec.key, pipeline, layout, spec };
    this.#map.set(spec.key, entry);
    this.compileMs += performance.now() - t0;
    return entry;
  }

  /** Resolves compile diagnostics of pipelines created so far; returns the error texts (empty when all compiled). */
  async diagnostics(): Promise<string[]> {
    const all = await Promise.all(this.#pendingChecks.splice(0));
    return all.filter((x): x is string => x !== null);
  }
}

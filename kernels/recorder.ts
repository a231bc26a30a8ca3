/**
 * The command recorder: every dispatch goes into one open command encoder and compute pass; nothing is submitted
 * until {@link Recorder.flush} (or a read) asks for it. Per-dispatch uniforms are packed into a ring buffer bound with
 * dynamic offsets, bind groups are cached per (pipeline, buffers), and uploads into buffers that queued commands
 * still use go through an ordered copy so `queue.writeBuffer` can never overtake them.
 * @module
 */
import type { KernelSpec } from "./kernel_spec.ts";
import { checkDevice, DeviceError, type GpuContext } from "./device.ts";
import { PipelineCache } from "./pipeline_cache.ts";
import { BufferPool } from "./buffer_pool.ts";

/** A byte range of a buffer bound to one binding. */
export interface BufferRange {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

const SLOT = 256; // minUniformBufferOffsetAlignment upper bound in WebGPU
const RING_SLOTS = 8192;
const MAX_BIND_GROUPS = 8192;

/** Records dispatches and copies for one device. */
export class Recorder {
  readonly ctx: GpuContext;
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #ring: GPUBuffer;
  #ringHost: Uint8Array<ArrayBuffer> = new Uint8Array(SLOT * RING_SLOTS);
  #ringUsed = 0;
  #bindGroups = new Map<string, GPUBindGroup>();
  #bufferIds = new WeakMap<GPUBuffer, number>();
  #nextBufferId = 1;
  /** Buffers referenced by commands recorded since the last submit. */
  #touched = new Set<GPUBuffer>();
  #stagingPool: GPUBuffer[] = [];
  /** Dispatches recorded since creation (for benchmarks and tests). */
  dispatches = 0;
  /** Submits since creation. */
  submits = 0;

  constructor(ctx: GpuContext) {
    this.ctx = ctx;
    this.pipelines = new PipelineCache(ctx.device);
    this.pool = new BufferPool(ctx.device);
    this.#ring = ctx.device.createBuffer({
      size: SLOT * RING_SLOTS,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: "uniform-ring",
    });
  }

  #id(b: GPUBuffer): number {
    let id = this.#bufferIds.get(b);
    if (id === undefined) this.#bufferIds.set(b, id = this.#nextBufferId++);
    return id;
  }

  #ensurePass(): GPUComputePassEncoder {
    if (this.ctx.lost) throw new DeviceError(this.ctx.lost);
    this.#encoder ??= this.ctx.device.createCommandEncoder();
    this.#pass ??= this.#encoder.beginComputePass();
    return this.#pass;
  }

  #endPass(): GPUCommandEncoder {
    this.#encoder ??= this.ctx.device.createCommandEncoder();
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
    return this.#encoder;
  }

  /** Records one dispatch of `spec` over `buffers` (binding 1…n) with optional uniform `params`. */
  dispatch(spec: KernelSpec, buffers: readonly BufferRange[], params?: ArrayBuffer): void {
    if (buffers.length !== spec.bindings.length) {
      throw new Error(`kernel ${spec.key}: expected ${spec.bindings.length} buffers, got ${buffers.length}`);
    }
    const cp = this.pipelines.get(spec);
    let offset = 0;
    if (spec.uniforms) {
      if (this.#ringUsed === RING_SLOTS) this.flush();
      offset = this.#ringUsed * SLOT;
      if (params) this.#ringHost.set(new Uint8Array(params, 0, Math.min(params.byteLength, SLOT)), offset);
      this.#ringUsed++;
    }
    let key = `${cp.id}`;
    for (const b of buffers) key += `|${this.#id(b.buffer)}:${b.offset}:${b.size}`;
    let bg = this.#bindGroups.get(key);
    if (!bg) {
      if (this.#bindGroups.size >= MAX_BIND_GROUPS) this.#bindGroups.clear();
      const entries: GPUBindGroupEntry[] = buffers.map((b, i) => ({
        binding: i + 1,
        resource: { buffer: b.buffer, offset: b.offset, size: Math.max(4, b.size) },
      }));
      if (spec.uniforms) {
        entries.unshift({ binding: 0, resource: { buffer: this.#ring, offset: 0, size: SLOT } });
      }
      bg = this.ctx.device.createBindGroup({ layout: cp.layout, entries });
      this.#bindGroups.set(key, bg);
    }
    const pass = this.#ensurePass();
    pass.setPipeline(cp.pipeline);
    pass.setBindGroup(0, bg, spec.uniforms ? [offset] : []);
    const [x, y, z] = spec.workgroups;
    pass.dispatchWorkgroups(x, y, z);
    for (const b of buffers) this.#touched.add(b.buffer);
    this.dispatches++;
  }

  /** Records a buffer-to-buffer copy (ordered with the dispatches around it). */
  copy(src: BufferRange, dst: BufferRange): void {
    const enc = this.#endPass();
    enc.copyBufferToBuffer(src.buffer, src.offset, dst.buffer, dst.offset, src.size);
    this.#touched.add(src.buffer);
    this.#touched.add(dst.buffer);
  }

  /**
   * Writes host bytes into `dst`. Directly through the queue when no recorded command uses the buffer; otherwise
   * through a staging buffer and an ordered copy, so earlier recorded commands still see the old contents.
   */
  write(dst: BufferRange, data: ArrayBufferView): void {
    if (data.byteLength === 0) return;
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const padded = bytes.byteLength % 4 === 0 ? bytes : (() => {
      const p = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
      p.set(bytes);
      return p;
    })();
    if (!this.#touched.has(dst.buffer)) {
      this.ctx.device.queue.writeBuffer(dst.buffer, dst.offset, padded);
      return;
    }
    const staging = this.pool.acquire(padded.byteLength);
    if (this.#touched.has(staging)) {
      // A recycled buffer that pending commands use: fall back to a fresh one.
      this.pool.release(staging);
      const fresh = this.ctx.device.createBuffer({
        size: padded.byteLength,
        usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      this.ctx.device.queue.writeBuffer(fresh, 0, padded);
      this.copy({ buffer: fresh, offset: 0, size: padded.byteLength }, dst);
      this.#afterSubmit.push(() => fresh.destroy());
      return;
    }
    this.ctx.device.queue.writeBuffer(staging, 0, padded);
    this.copy({ buffer: staging, offset: 0, size: padded.byteLength }, dst);
    this.pool.release(staging);
  }

  #afterSubmit: (() => void)[] = [];

  /** Submits everything recorded so far. Never waits. Throws if the device reported an error. */
  flush(): void {
    checkDevice(this.ctx, "flush");
    if (!this.#encoder && this.#ringUsed === 0) return;
    const enc = this.#endPass();
    if (this.#ringUsed) {
      this.ctx.device.queue.writeBuffer(
        this.#ring,
        0,
        this.#ringHost as Uint8Array<ArrayBuffer>,
        0,
        this.#ringUsed * SLOT,
      );
      this.#ringUsed = 0;
    }
    this.ctx.device.queue.submit([enc.finish()]);
    this.submits++;
    this.#encoder = null;
    this.#touched.clear();
    this.pool.afterSubmit();
    for (const f of this.#afterSubmit.splice(0)) f();
  }

  /** Copies `src` to the host: records a copy into a mappable buffer, submits, and awaits the map. */
  async read(src: BufferRange): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(src.size / 4) * 4);
    const idx = this.#stagingPool.findIndex((b) => b.size >= size && b.size <= size * 4);
    const staging = idx >= 0 ? this.#stagingPool.splice(idx, 1)[0] : this.ctx.device.createBuffer({
      size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    if (src.size > 0) {
      this.copy({ ...src, size: Math.ceil(src.size / 4) * 4 }, { buffer: staging, offset: 0, size });
    }
    this.flush();
    const diag = await this.pipelines.diagnostics();
    if (diag.length) throw new DeviceError(diag.join("\n"));
    await this.#guard(staging.mapAsync(GPUMapMode.READ, 0, size), "read");
    const out = staging.getMappedRange(0, size).slice(0, src.size);
    staging.unmap();
    if (this.#stagingPool.length < 16) this.#stagingPool.push(staging);
    else staging.destroy();
    checkDevice(this.ctx, "read");
    return out;
  }

  /** Waits for all submitted work (rejects instead of hanging when the device is lost). */
  async sync(): Promise<void> {
    this.flush();
    await this.#guard(this.ctx.device.queue.onSubmittedWorkDone(), "sync");
    checkDevice(this.ctx, "sync");
  }

  async #guard<T>(p: Promise<T>, where: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lost = new Promise<never>((_, reject) => {
      const poll = () => {
        if (this.ctx.lost) reject(new DeviceError(`${where}: ${this.ctx.lost}`));
        else timer = setTimeout(poll, 50);
      };
      timer = setTimeout(poll, 50);
    });
    try {
      return await Promise.race([p, lost]);
    } finally {
      clearTimeout(timer);
    }
  }
}

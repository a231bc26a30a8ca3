/**
 * GPU buffer pool: freed buffers are kept in size buckets and handed out again, so a training step allocates no new
 * GPU buffers after warm-up. Live and pooled bytes are counted separately. Buffers beyond the per-bucket cap are
 * destroyed only after the commands that may still use them are submitted.
 *
 * Each bucket hands out its most recently created idle buffer, whatever order buffers were returned in: which buffer
 * an allocation gets then depends only on the set of idle buffers, so a training step that frees everything it
 * allocated gets exactly the same buffers on every repetition, and the recorder's bind-group cache hits instead of
 * creating a bind group per dispatch (a LIFO pool permutes buffers from step to step).
 * @module
 */

/** Usage of every pooled storage buffer. */
const USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
/** At most this many idle buffers are kept per size. */
const MAX_PER_BUCKET = 64;

/** Rounds a byte size up to its bucket: multiples of 256 B below 1 MiB, then eighths of a power of two. */
export function bucketBytes(bytes: number): number {
  const b = Math.max(256, bytes);
  if (b <= 1 << 20) return Math.ceil(b / 256) * 256;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

/** Counters for tests and `--verbose`. */
export interface PoolStats {
  /** Buffers ever created. */
  created: number;
  liveBuffers: number;
  liveBytes: number;
  pooledBuffers: number;
  pooledBytes: number;
}

/** A size-bucketed pool of storage buffers for one device. */
export class BufferPool {
  #device: GPUDevice;
  /** Idle buffers per bucket, sorted by creation serial (the last one is handed out next). */
  #free = new Map<number, GPUBuffer[]>();
  #serial = new WeakMap<GPUBuffer, number>();
  #nextSerial = 0;
  #retire: GPUBuffer[] = [];
  #stats: PoolStats = { created: 0, liveBuffers: 0, liveBytes: 0, pooledBuffers: 0, pooledBytes: 0 };

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** A buffer of at least `bytes` bytes (never zero-sized). */
  acquire(bytes: number): GPUBuffer {
    const size = bucketBytes(bytes);
    const list = this.#free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.#stats.pooledBuffers--;
      this.#stats.pooledBytes -= size;
    } else {
      buf = this.#device.createBuffer({ size, usage: USAGE });
      this.#serial.set(buf, this.#nextSerial++);
      this.#stats.created++;
    }
    this.#stats.liveBuffers++;
    this.#stats.liveBytes += size;
    return buf;
  }

  /** Returns a buffer to the pool. Safe while recorded commands still use it: reuse is ordered in the queue. */
  release(buf: GPUBuffer): void {
    const size = buf.size;
    this.#stats.liveBuffers--;
    this.#stats.liveBytes -= size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    if (list.length >= MAX_PER_BUCKET) {
      this.#retire.push(buf);
      return;
    }
    // Sorted insertion (lists hold at most MAX_PER_BUCKET buffers).
    const serial = this.#serial.get(buf) ?? -1;
    let i = list.length;
    while (i > 0 && (this.#serial.get(list[i - 1]) ?? -1) > serial) i--;
    list.splice(i, 0, buf);
    this.#stats.pooledBuffers++;
    this.#stats.pooledBytes += size;
  }

  /** Destroys over-cap buffers; call only after the commands that used them were submitted. */
  afterSubmit(): void {
    for (const b of this.#retire.splice(0)) b.destroy();
  }

  /** Destroys every idle buffer (e.g. after an out-of-memory error). */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#stats.pooledBuffers = 0;
    this.#stats.pooledBytes = 0;
  }

  /** A snapshot of the counters. */
  stats(): PoolStats {
    return { ...this.#stats };
  }
}

/**
 * HEA screening benchmark (suite "hea"): throughput in compositions/s of `screenHea` (enumeration, upload, the
 * eight descriptors, a classifier, top-k) on the given backend. Classifier: a fixed MLP of the paper's head shape
 * (8 → 100 → 100 → 1, softplus, sigmoid; Glorot weights from seed 1) behind a standardiser fitted on the
 * descriptors of 512 seeded random compositions; physical tables; no data files needed.
 * Workloads: 4–5 of 10 elements (Fe Ni Co Cr Al Ti Cu Mn V Mo) at 5 at.% (1 180 242 compositions); `--quick`:
 * 4 of 7 at 5 at.% (33 915). One warm-up run (33 915 compositions, same batch shape) compiles the pipelines first. Two more rows time the
 * descriptors alone on one batch of 5-element compositions: the fused kernel (`descriptors_fused`) and the engine-op
 * path it replaced (`descriptors_ops`).
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import type { Tensor } from "../nn/tensor.ts";
import { Dense } from "../nn/layers/dense.ts";
import { matmul, reshape, tensor } from "../nn/ops.ts";
import { noGrad } from "../nn/autodiff.ts";
import { scope } from "../nn/scope.ts";
import { Rng } from "../nn/random.ts";
import { type HeaTables, physicalTables } from "../data/hea_tables.ts";
import { HEA_TOP30 } from "../data/hea_dataset.ts";
import {
  fitHeaDescriptorScaler,
  heaDescriptors,
  heaDescriptorsHost,
  heaSubsetDescriptors,
  standardizeTensor,
} from "../data/hea_descriptors.ts";
import {
  countHeaCompositions,
  type HeaClassifier,
  type HeaEnumeration,
  latticeChunks,
  screenHea,
} from "../design/hea_screening.ts";
import type { BenchResult } from "./kernels.ts";

/** The fixed benchmark classifier on `be` (standardiser + 8→100→100→1 MLP). */
export function benchHeaClassifier(be: Backend): HeaClassifier {
  const tables = physicalTables();
  const rng = new Rng(7);
  const n = 512, x = new Float64Array(n * 30);
  for (let i = 0; i < n; i++) for (let j = 0; j < 5; j++) x[i * 30 + rng.int(30)] += rng.uniform();
  for (let i = 0; i < n; i++) if (x.subarray(i * 30, i * 30 + 30).every((v) => v === 0)) x[i * 30] = 1;
  const scaler = fitHeaDescriptorScaler(heaDescriptorsHost(x, tables));
  const l1 = new Dense(8, 100, { activation: "softplus", seed: 1, backend: be });
  const l2 = new Dense(100, 100, { activation: "softplus", seed: 2, backend: be });
  const l3 = new Dense(100, 1, { activation: "sigmoid", seed: 3, backend: be });
  return (d: Tensor) =>
    reshape(l3.forward(l2.forward(l1.forward(standardizeTensor(d, scaler)))), [d.shape[0]]);
}

const FULL: HeaEnumeration = {
  elements: ["Fe", "Ni", "Co", "Cr", "Al", "Ti", "Cu", "Mn", "V", "Mo"],
  nElements: [4, 5],
  step: 0.05,
};
const QUICK: HeaEnumeration = {
  elements: ["Fe", "Ni", "Co", "Cr", "Al", "Ti", "Cu"],
  nElements: 4,
  step: 0.05,
};

/** Median wall time (ms) of `fn` over `reps` runs after one warm-up; each run reads its output back. */
async function medianMs(reps: number, fn: () => Tensor): Promise<number> {
  const t: number[] = [];
  const w = fn(); // warm-up: pipeline compilation
  await w.read();
  w.dispose();
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const y = fn();
    await y.read();
    y.dispose();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

/**
 * Descriptors alone for one batch of 5-element compositions (lattice at 5 at.% × element subsets of the top 30):
 * the fused kernel against the engine-op path (one-hot placement matmul + `heaDescriptors`), which it replaced.
 */
async function benchDescriptorKernels(
  be: Backend,
  quick: boolean,
  tables: HeaTables,
): Promise<BenchResult[]> {
  const k = 5, units = 20;
  const rows: number[] = [];
  for (const ch of latticeChunks(units, k, 1, units, 1 << 20)) rows.push(...ch);
  const M = rows.length / k; // 3876
  const G = quick ? 4 : 16, N = G * M;
  const rng = new Rng(11);
  const subsets = new Int32Array(G * k);
  for (let g = 0; g < G; g++) {
    subsets.set(rng.shuffle(Array.from({ length: 30 }, (_, i) => i)).slice(0, k), g * k);
  }
  const L = tensor(Float32Array.from(rows, (u) => u / units), [M, k], { backend: be });
  const S = tensor(subsets, [G, k], { backend: be, dtype: "i32" });
  const sel = new Float32Array(G * k * 30);
  for (let g = 0; g < G; g++) for (let j = 0; j < k; j++) sel[(g * k + j) * 30 + subsets[g * k + j]] = 1;
  const S1 = tensor(sel, [G, k, 30], { backend: be }), L3 = reshape(L, [1, M, k]);
  const reps = quick ? 3 : 7;
  const fused = await medianMs(reps, () => noGrad(() => heaSubsetDescriptors(be, L, S, tables).descriptors));
  const ops = await medianMs(
    reps,
    () => noGrad(() => scope(() => heaDescriptors(be, reshape(matmul(L3, S1), [N, 30]), tables))),
  );
  for (const t of [L, S, S1, L3]) t.dispose();
  const row = (name: string, ms: number): BenchResult => ({
    suite: "hea",
    name,
    shape: [N, 30],
    median_ms: ms,
    compositions_per_s: Math.round(N / (ms / 1000)),
    config: `${G} subsets × ${M} lattice rows (5 elements, 5 at.%)`,
  });
  return [row("descriptors_fused", fused), row("descriptors_ops", ops)];
}

/** Runs the screening benchmark. */
export async function benchHea(
  be: Backend,
  quick: boolean,
  progress: (line: string) => void,
): Promise<BenchResult[]> {
  const tables = physicalTables(HEA_TOP30);
  const classify = benchHeaClassifier(be);
  const batchSize = 32768;
  // Warm-up with ≥ batchSize compositions, so its padded batch shape is the measured runs' (kernels compile per
  // shape: several seconds each on a software adapter).
  await screenHea({
    backend: be,
    tables,
    classify,
    elements: ["Fe", "Ni", "Co", "Cr", "Al", "Cu", "Mn"],
    nElements: 4,
    step: 0.05,
    batchSize,
  });
  progress("hea: descriptor kernels …");
  const kernels = await benchDescriptorKernels(be, quick, tables);
  const work = quick ? QUICK : FULL;
  const total = countHeaCompositions(work);
  progress(`hea: screening ${total} compositions (${work.elements.join(" ")}, step ${work.step}) …`);
  let last = 0;
  const r = await screenHea({
    ...work,
    backend: be,
    tables,
    classify,
    topK: 20,
    batchSize,
    onProgress: (p) => {
      if (p.done / p.total >= last + 0.25) {
        progress(`hea: ${(100 * p.done / p.total).toFixed(0)} %`), last += 0.25;
      }
    },
  });
  return [...kernels, {
    suite: "hea",
    name: "screen",
    shape: [total],
    median_ms: (r.seconds * 1000 * batchSize) / r.evaluated, // per 32768-composition batch
    compositions_per_s: Math.round(r.evaluated / r.seconds),
    seconds: Number(r.seconds.toFixed(3)),
    batches: r.batches,
    batch_size: batchSize,
    config: `${work.elements.length} elements, ${
      JSON.stringify(work.nElements)
    } per alloy, step ${work.step}; descriptors + 8→100→100→1 MLP + top-20`,
    best: r.hits[0] ? { formula: r.hits[0].formula, p: r.hits[0].p } : null,
  }];
}

/**
 * `alloy bench --suite hea` (dispatched from cli/bench_command.ts): opens the device from the flags, runs
 * {@link benchHea} and prints as the other suites (`--json`: one object `{"adapter":…,"results":[…]}`).
 */
export async function runHeaBenchCommand(flags: Record<string, unknown>): Promise<number> {
  const { openDevice } = await import("../cli/device_flags.ts");
  const { WebGpuBackend } = await import("../nn/webgpu_backend.ts");
  const { UserError } = await import("../cli/errors.ts");
  const be = await openDevice(flags);
  if (!(be instanceof WebGpuBackend)) throw new UserError("bench needs the WebGPU device");
  const results = await benchHea(be, !!flags.quick, (l) => console.error(l));
  if (flags.json) console.log(JSON.stringify({ adapter: be.ctx.adapter, results }));
  else {
    console.log(`adapter: ${be.ctx.adapter.description} (fallback: ${be.ctx.adapter.isFallbackAdapter})`);
    for (const r of results) {
      console.log(
        `hea      ${r.name.padEnd(18)} ${String(r.compositions_per_s).padStart(10)} compositions/s  ${
          r.median_ms.toFixed(2)
        } ms per batch (${r.config})`,
      );
    }
  }
  return 0;
}

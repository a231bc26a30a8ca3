/**
 * The fused HEA descriptor kernels (kernels/hea_descriptors.ts) against their float64 twins on odd shapes: batch
 * sizes around the 64-thread workgroup, 3, 7 and 30 elements, pure elements, at.% rows, empty rows; the subset
 * (screening) kernel against the dense twin on the same compositions, with and without the dense output, and its
 * zero padding rows; the CPU backend's path; and the packed table layout.
 */
import { assert, assertClose, assertEquals, cpu, gpu, HAS_GPU, take } from "../_helpers.ts";
import { HEA_TOP30 } from "../../data/hea_dataset.ts";
import { type HeaTables, physicalTables } from "../../data/hea_tables.ts";
import {
  heaDescriptorsBatch,
  heaDescriptorsHost,
  heaSubsetDescriptors,
  heaSubsetDescriptorsHost,
} from "../../data/hea_descriptors.ts";
import {
  heaDescriptorsDenseSpec,
  heaSubsetDescriptorsSpec,
  packHeaTables,
} from "../../kernels/hea_descriptors.ts";
import { tensor } from "../../nn/ops.ts";
import { Rng } from "../../nn/random.ts";
import type { Backend } from "../../nn/backend.ts";

/** f32 kernels vs the float64 twin: ΔS and Tm are the largest values; δ/Δχ go through a square root near 0. */
const TOL = { atol: 3e-4, rtol: 2e-5 };

/** n rows over E columns: 1–6 random non-zero amounts per row (some at.% scale), row 0 a pure element. */
function sparseRows(n: number, E: number, seed: number): Float64Array {
  const r = new Rng(seed), out = new Float64Array(n * E);
  for (let i = 0; i < n; i++) {
    const scale = r.uniform() < 0.3 ? 100 : 1;
    const k = 1 + r.int(Math.min(6, E));
    for (let j = 0; j < k; j++) out[i * E + r.int(E)] = scale * (0.05 + r.uniform());
  }
  if (n > 0) out.fill(0, 0, E), out[E - 1] = 1;
  return out;
}

const TABLE_SETS: [string, HeaTables][] = [
  ["30 elements", physicalTables()],
  ["3 elements", physicalTables(["Al", "Fe", "Ni"])],
  ["7 elements", physicalTables(["W", "Cr", "Co", "Mo", "Nb", "Ta", "Cu"])],
];

Deno.test("hea kernels: the packed table is [E·6 properties, E·E enthalpies]", () => {
  const t = physicalTables(["Al", "Fe", "Ni"]);
  const p = packHeaTables(t);
  assertEquals(p.length, 3 * 6 + 9);
  // Fe (column 1): k, Vm, Tm, VEC, r, χ; then ΔH(Al, Fe) at 18 + 0·3 + 1 and ΔH(Fe, Al) at 18 + 1·3 + 0.
  assertClose(p.subarray(6, 12), [170, 7.09, 1811, 8, 127.7, 1.83], { atol: 1e-4, rtol: 1e-6 });
  assertEquals([p[18 + 1], p[18 + 3], p[18 + 4]], [-11, -11, 0]);
  // spec keys change with what the generated WGSL depends on
  assert(heaDescriptorsDenseSpec(5, 3).key !== heaDescriptorsDenseSpec(5, 30).key);
  assert(heaSubsetDescriptorsSpec(5, 3, 30, true).key !== heaSubsetDescriptorsSpec(5, 3, 30, false).key);
  assert(heaSubsetDescriptorsSpec(5, 3, 30, true).key !== heaSubsetDescriptorsSpec(5, 4, 30, true).key);
  assert(heaDescriptorsDenseSpec(5, 30).source().includes("fn hea_desc"));
});

async function checkDense(be: Backend, label: string) {
  for (const [name, t] of TABLE_SETS) {
    const E = t.elements.length;
    for (const n of [1, 63, 64, 65, 333]) {
      const comp = sparseRows(n, E, n + E);
      const got = await take(heaDescriptorsBatch(be, tensor(comp, [n, E], { backend: be }), t));
      assertClose(got, heaDescriptorsHost(comp, t), { ...TOL, msg: `${label} ${name} n=${n}` });
      // pure element: δ = Δχ = ΔS = ΔH = 0 exactly
      assert(
        got.subarray(4, 8).every((v) => v === 0),
        `${label} ${name}: pure element ${got.subarray(4, 8)}`,
      );
    }
  }
}

Deno.test({
  name: "hea kernels: the dense kernel matches the float64 twin on odd shapes (GPU)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    await checkDense(g, "gpu");
    // an empty row gives zeros on the GPU (the twin rejects it); the rows around it are unaffected
    const t = physicalTables(["Al", "Fe", "Ni"]);
    const comp = [0.5, 0.5, 0, 0, 0, 0, 0, 0.25, 0.75];
    const got = await take(heaDescriptorsBatch(g, tensor(comp, [3, 3], { backend: g }), t));
    assert(got.subarray(8, 16).every((v) => v === 0), `empty row: ${got.subarray(8, 16)}`);
    const ref = heaDescriptorsHost([0.5, 0.5, 0, 0, 0.25, 0.75], t);
    assertClose([...got.subarray(0, 8), ...got.subarray(16)], ref, TOL);
  },
});

Deno.test("hea kernels: the CPU backend's batch path is the float64 twin", async () => {
  await checkDense(cpu, "cpu");
});

/** Dense rows of lattice row r on subset g, in output order g·M + r. */
function denseOf(lat: number[], k: number, subsets: number[], E: number): Float64Array {
  const M = lat.length / k, G = subsets.length / k, out = new Float64Array(G * M * E);
  for (let g = 0; g < G; g++) {
    for (let r = 0; r < M; r++) {
      for (let j = 0; j < k; j++) out[(g * M + r) * E + subsets[g * k + j]] += lat[r * k + j];
    }
  }
  return out;
}

/** M lattice rows of k positive amounts (a few with a zero slot) and G distinct-column subsets. */
function subsetCase(k: number, M: number, G: number, E: number, seed: number) {
  const r = new Rng(seed);
  const lat = Array.from({ length: M * k }, () => (r.uniform() < 0.1 ? 0 : 1 + r.int(19)));
  for (let i = 0; i < M; i++) if (lat.slice(i * k, i * k + k).every((v) => v === 0)) lat[i * k] = 1;
  const subsets: number[] = [];
  for (let g = 0; g < G; g++) subsets.push(...r.shuffle(Array.from({ length: E }, (_, i) => i)).slice(0, k));
  return { lat, subsets };
}

async function checkSubsets(be: Backend, label: string) {
  for (const [name, t] of TABLE_SETS) {
    const E = t.elements.length;
    for (const [k, M, G] of [[1, 3, 2], [2, 19, 5], [3, 33, 3], [Math.min(5, E), 7, 11]]) {
      if (k > E) continue;
      const { lat, subsets } = subsetCase(k, M, G, E, k * 100 + M + E);
      const dense = denseOf(lat, k, subsets, E);
      const ref = heaDescriptorsHost(dense, t);
      // the host twin of the subset kernel equals the dense twin on the same compositions
      assertClose(heaSubsetDescriptorsHost(lat, k, subsets, t), ref, { atol: 1e-10, rtol: 1e-12 });
      for (const withComposition of [false, true]) {
        const L = tensor(lat, [M, k], { backend: be });
        const S = tensor(subsets, [G, k], { backend: be, dtype: "i32" });
        const out = heaSubsetDescriptors(be, L, S, t, withComposition);
        const msg = `${label} ${name} k=${k} M=${M} G=${G} comp=${withComposition}`;
        assertClose(await take(out.descriptors), ref, { ...TOL, msg });
        if (withComposition) {
          const norm = dense.map((v, i) => v / sumRow(dense, Math.floor(i / E), E));
          assertClose(await take(out.composition!), norm, { atol: 1e-7, rtol: 1e-6, msg });
        } else assertEquals(out.composition, null);
        L.dispose(), S.dispose();
      }
    }
  }
}

function sumRow(x: Float64Array, r: number, E: number): number {
  let s = 0;
  for (let j = 0; j < E; j++) s += x[r * E + j];
  return s;
}

async function checkPadding(be: Backend, label: string) {
  const t = physicalTables();
  const { lat, subsets } = subsetCase(3, 21, 4, 30, 5);
  const L = tensor(lat, [21, 3], { backend: be }), S = tensor(subsets, [4, 3], { backend: be, dtype: "i32" });
  const plain = heaSubsetDescriptors(be, L, S, t, true);
  const padded = heaSubsetDescriptors(be, L, S, t, true, 84 + 45);
  assertEquals([padded.descriptors.shape, padded.composition!.shape], [[129, 8], [129, 30]]);
  const [pd, pc] = [await take(padded.descriptors), await take(padded.composition!)];
  assertClose(pd.subarray(0, 84 * 8), await take(plain.descriptors), { atol: 0, rtol: 0, msg: label });
  assertClose(pc.subarray(0, 84 * 30), await take(plain.composition!), { atol: 0, rtol: 0, msg: label });
  assert(pd.subarray(84 * 8).every((v) => v === 0) && pc.subarray(84 * 30).every((v) => v === 0), label);
  let msg = "";
  try {
    heaSubsetDescriptors(be, L, S, t, false, 83);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("83") && msg.includes("84"), msg);
  L.dispose(), S.dispose();
}

Deno.test({
  name: "hea kernels: padded subset batches end in zero rows (GPU)",
  ignore: !HAS_GPU,
  async fn() {
    await checkPadding((await gpu())!, "gpu");
  },
});

Deno.test("hea kernels: padded subset batches end in zero rows (CPU)", async () => {
  await checkPadding(cpu, "cpu");
});

Deno.test({
  name: "hea kernels: the subset kernel matches the dense twin (k = 1…5, odd M and G, dense output) (GPU)",
  ignore: !HAS_GPU,
  async fn() {
    await checkSubsets((await gpu())!, "gpu");
  },
});

Deno.test("hea kernels: the CPU backend's subset path matches the dense twin", async () => {
  await checkSubsets(cpu, "cpu");
});

Deno.test("hea kernels: a subset column outside the tables is a one-line error on the host path", () => {
  const t = physicalTables(HEA_TOP30);
  let msg = "";
  try {
    heaSubsetDescriptorsHost([0.5, 0.5], 2, [0, 30], t);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("column 30") && msg.includes("0..29"), msg);
});

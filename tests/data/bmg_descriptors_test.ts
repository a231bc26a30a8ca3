/**
 * Metallic-glass descriptors (data/bmg_descriptors.ts) against values computed by hand (a separate Python script
 * written from the definitions in the module doc, with the element values listed below) for Cu50Zr50,
 * Cu46Zr46Al8 and Fe80B20; the engine version (CPU backend, and WebGPU when present) against the float64 host
 * twin on random multicomponent rows; the descriptor sets' column layout; and bad input.
 */
import { assert, assertClose, assertEquals, cpu, gpu } from "../_helpers.ts";
import { assertUserError } from "./_helpers.ts";
import {
  D2_NAMES,
  D3_NAMES,
  descriptorMatrix,
  descriptorNames,
  elementDescriptorTable,
  parseDescriptorSet,
  PHYSICAL_NAMES,
  physicalDescriptorsEngine,
  physicalDescriptorsHost,
} from "../../data/bmg_descriptors.ts";
import { Rng } from "../../nn/random.ts";

const ELS = ["Cu", "Zr", "Al", "Fe", "B"];

// Element inputs (Miracle radius pm, Tm K, Pauling χ, VEC, K GPa, E_coh eV/atom; Takeuchi–Inoue H_ij kJ/mol).
const EXPECTED_TABLE = {
  radius: [126, 158, 141, 125, 88],
  tm: [1357.77, 2128, 933.47, 1811, 2349],
  chi: [1.9, 1.33, 1.61, 1.83, 2.04],
  vec: [11, 4, 3, 8, 3],
  bulk: [140, 83.3, 76, 170, 320],
  ecoh: [3.49, 6.25, 3.39, 4.28, 5.81],
  // Cu–Zr −23, Cu–Al −1, Cu–Fe 13, Cu–B 0, Zr–Al −44, Zr–Fe −25, Zr–B −71, Al–Fe −11, Al–B 0, Fe–B −26
  h: [0, -23, -1, 13, 0, -23, 0, -44, -25, -71, -1, -44, 0, -11, 0, 13, -25, -11, 0, -26, 0, -71, 0, -26, 0],
};

/** Hand-computed D2 + D3 ({@link PHYSICAL_NAMES} order). */
const HAND: { name: string; c: number[]; v: number[] }[] = [
  {
    name: "Cu50Zr50",
    c: [0.5, 0.5, 0, 0, 0],
    // r̄ = 142, δ = 100·16/142, ΔH = 4·(−23)/4 = −23 with zero spread, S = R ln 2, …
    v: [142.0, 11.26760563, 1742.885, 385.115, -23.0, 0.0, 5.762825659, 1.615, 0.285, 7.5, 3.5, 111.65, 28.35]
      .concat([0.1148471492, 0.126984127, -0.1012658228, 1.275297368, 4.87, 1.38, 3.49, 6.25])
      .concat([-23.0, 0.0, -23.0, -23.0, -0.04894846461, 2.264658522, 8.027484181]),
  },
  {
    name: "Cu46Zr46Al8",
    c: [0.46, 0.46, 0.08, 0, 0],
    v: [141.92, 10.81528932, 1678.1318, 429.7298135, -26.0912, 8.601481953, 7.619488163, 1.6146, 0.2733657623]
      .concat([
        7.14,
        3.572170209,
        108.798,
        28.86112603,
        0.1100517359,
        0.1263492063,
        -0.1017721519,
        1.275369267,
      ])
      .concat([4.7516, 1.38320694, 3.39, 6.25, -22.87096774, 10.924202, -44.0, -1.0, -0.05691075917])
      .concat([2.095590359, 9.715078522]),
  },
  {
    name: "Fe80B20",
    c: [0, 0, 0, 0.8, 0.2],
    v: [
      117.6,
      12.58503401,
      1918.6,
      215.2,
      -16.64,
      5.294815578,
      4.160345749,
      1.872,
      0.084,
      7.0,
      2.0,
      200.0,
      60.0,
    ]
      .concat([0.1594735438, 0.3363636364, -0.0592, 1.433910017, 4.586, 0.612, 4.28, 5.81, -26.0, 0.0, -26.0])
      .concat([-26.0, -0.03760620164, 2.494026996, 6.654372745]),
  },
];

const K = PHYSICAL_NAMES.length;

Deno.test("element inputs of the descriptors are the documented table values", () => {
  const t = elementDescriptorTable(ELS);
  for (const [k, v] of Object.entries(EXPECTED_TABLE)) {
    assertEquals(Array.from(t[k as keyof typeof EXPECTED_TABLE]), v, k);
  }
  assertEquals(K, 13 + 15);
  assertEquals(D2_NAMES.length, 13);
});

Deno.test("D2 + D3 of Cu50Zr50, Cu46Zr46Al8, Fe80B20 match the hand-computed values (host and CPU engine)", async () => {
  const t = elementDescriptorTable(ELS);
  const rows = HAND.flatMap((h) => h.c);
  const host = physicalDescriptorsHost(rows, t);
  const eng = await physicalDescriptorsEngine(rows, t, { backend: cpu, batchSize: 2 });
  HAND.forEach((h, i) => {
    const want = h.v;
    assertEquals(want.length, K, h.name);
    assertClose(host.subarray(i * K, (i + 1) * K), want, { rtol: 1e-8, atol: 1e-8, msg: `host ${h.name}` });
    // float32 engine: relative 1e-4, absolute 1e-3 (the spreads that are exactly 0 come out ~1e-4 after √)
    assertClose(eng.subarray(i * K, (i + 1) * K), want, { rtol: 2e-4, atol: 2e-3, msg: `engine ${h.name}` });
  });
});

function randomRows(n: number, E: number, seed: number): Float64Array {
  const rng = new Rng(seed, 1);
  const out = new Float64Array(n * E);
  for (let i = 0; i < n; i++) {
    const present = rng.shuffle(Array.from({ length: E }, (_, j) => j)).slice(0, 1 + rng.int(5));
    for (const j of present) out[i * E + j] = 0.05 + rng.uniform();
  }
  return out;
}

Deno.test("engine descriptors equal the float64 host twin on random 1–5-element rows (CPU, WebGPU when present)", async () => {
  const els = ["Cu", "Zr", "Al", "Ni", "Ti", "Fe", "B", "Si", "Pd", "La"];
  const t = elementDescriptorTable(els);
  const rows = randomRows(70, els.length, 9);
  const host = physicalDescriptorsHost(rows, t);
  // absolute tolerance per column, scaled by the column's magnitude (float32 on values up to ~2000 K)
  const scale = Array.from({ length: K }, (_, k) => {
    let m = 0;
    for (let i = 0; i < 70; i++) m = Math.max(m, Math.abs(host[i * K + k]));
    return m;
  });
  const check = (got: Float64Array, what: string) => {
    for (let i = 0; i < 70; i++) {
      for (let k = 0; k < K; k++) {
        const d = Math.abs(got[i * K + k] - host[i * K + k]);
        assert(
          d <= 1e-3 * scale[k] + 1e-3,
          `${what} row ${i} ${PHYSICAL_NAMES[k]}: ${got[i * K + k]} vs ${host[i * K + k]}`,
        );
      }
    }
  };
  check(await physicalDescriptorsEngine(rows, t, { backend: cpu, batchSize: 32 }), "cpu");
  const g = await gpu();
  if (g) check(await physicalDescriptorsEngine(rows, t, { backend: g, batchSize: 32 }), "webgpu");
  else console.warn("no WebGPU adapter: the GPU half of the descriptor parity test is skipped");
});

Deno.test("descriptor sets: D1 fractions (normalised), CD1 = D1 + D3, CD2 = D1 + D2, column names", async () => {
  const raw = [50, 50, 0, 0, 0, 0, 0, 0, 80, 20]; // at.% rows are normalised
  const cd2 = await descriptorMatrix("cd2", raw, ELS, { compute: "host" });
  assertEquals(cd2.cols, 5 + 13);
  assertEquals(cd2.names, [...ELS.map((e) => `x_${e}`), ...D2_NAMES]);
  assertClose(cd2.data.subarray(0, 5), [0.5, 0.5, 0, 0, 0], { atol: 0 });
  assertClose(cd2.data.subarray(5, 18), HAND[0].v.slice(0, 13), { rtol: 1e-8, atol: 1e-8 });
  const cd1 = await descriptorMatrix("cd1", raw, ELS, { compute: "host" });
  assertEquals(cd1.names, [...ELS.map((e) => `x_${e}`), ...D3_NAMES]);
  assertClose(cd1.data.subarray(cd1.cols + 5, 2 * cd1.cols), HAND[2].v.slice(13), { rtol: 1e-8, atol: 1e-8 });
  const d1 = await descriptorMatrix("d1", raw, ELS);
  assertEquals(Array.from(d1.data), [0.5, 0.5, 0, 0, 0, 0, 0, 0, 0.8, 0.2]);
  assertEquals(descriptorNames("all", ["Fe"]).length, 1 + 13 + 15);
  assertEquals(parseDescriptorSet("CD1"), "cd1");
  assertUserError(() => parseDescriptorSet("d4"), "--descriptors", "d4");
});

Deno.test("bad descriptor input is a one-line user error naming the element or row", async () => {
  assertUserError(() => elementDescriptorTable(["Cu", "Xe"]), "Xe");
  let err: unknown;
  try {
    await descriptorMatrix("cd2", [0, 0, 0, 0, 0], ELS);
  } catch (e) {
    err = e;
  }
  assert(err instanceof Error && /row 0/.test(err.message), String(err));
  assertUserError(
    () => physicalDescriptorsHost([0.5, -0.1, 0, 0, 0.6], elementDescriptorTable(ELS)),
    "row 0",
  );
});

// Scratch probe for matmul kernel variants on the local adapter. Run: deno run -A bench/matmul_probe.ts
import { WebGpuBackend } from "../nn/webgpu_backend.ts";
import type { KernelSpec } from "../kernels/kernel_spec.ts";

const be = await WebGpuBackend.create();
console.log(be.description);

function rowBcast(M: number, K: number, N: number, TM: number, TK: number, direct: boolean): KernelSpec {
  const WG = 64;
  const N4 = N / 4;
  const src = () => {
    const lines: string[] = [];
    for (let k = 0; k < TK; k++) {
      lines.push(`{ let b = B[(kt + ${k}u) * ${N4}u + c4];`);
      for (let r = 0; r < TM; r++) {
        const aexpr = direct ? `A[(row0 + ${r}u) * ${K}u + kt + ${k}u]` : `shA[${r * TK + k}]`;
        lines.push(`  acc[${r}] = fma(vec4<f32>(${aexpr}), b, acc[${r}]);`);
      }
      lines.push(`}`);
    }
    const load = direct ? "" : `
    for (var i = lid; i < ${TM * TK}u; i = i + ${WG}u) {
      let r = i / ${TK}u; let k = i % ${TK}u;
      shA[i] = A[(row0 + r) * ${K}u + kt + k];
    }
    workgroupBarrier();`;
    return `
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<vec4<f32>>;
var<workgroup> shA: array<f32, ${TM * TK}>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c4 = wid.x * ${WG}u + lid;
  let row0 = wid.y * ${TM}u;
  var acc: array<vec4<f32>, ${TM}>;
  for (var kt = 0u; kt < ${K}u; kt = kt + ${TK}u) {
    ${load}
    ${lines.join("\n    ")}
    ${direct ? "" : "workgroupBarrier();"}
  }
  for (var r = 0u; r < ${TM}u; r = r + 1u) { C[(row0 + r) * ${N4}u + c4] = acc[r]; }
}`;
  };
  return {
    key: `probe:rowb:${M}:${K}:${N}:${TM}:${TK}:${direct}`,
    source: src,
    bindings: ["read", "read", "rw"],
    uniforms: false,
    workgroups: [Math.ceil(N4 / WG), Math.ceil(M / TM), 1],
  };
}

async function time(name: string, spec: KernelSpec, M: number, K: number, N: number) {
  const a = be.fromData(Float32Array.from({ length: M * K }, () => Math.random()), [M, K]);
  const b = be.fromData(Float32Array.from({ length: K * N }, () => Math.random()), [K, N]);
  const c = be.alloc([M, N]);
  be.run(spec, [a, b, c]);
  await be.sync();
  const flops = 2 * M * N * K;
  const reps = Math.max(3, Math.min(400, Math.round(3e9 / flops)));
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) be.run(spec, [a, b, c]);
  await be.sync();
  const dt = (performance.now() - t0) / reps;
  console.log(`${name} ${M}x${K}x${N}: ${dt.toFixed(3)} ms, ${(flops / dt / 1e6).toFixed(2)} GFLOP/s`);
  a.dispose(), b.dispose(), c.dispose();
}

const S = Number(Deno.args[0] ?? 512);
for (const [TM, TK] of [[16, 8], [32, 8], [32, 16]]) {
  await time(`rowb smem TM${TM} TK${TK}`, rowBcast(S, S, S, TM, TK, false), S, S, S);
  await time(`rowb direct TM${TM} TK${TK}`, rowBcast(S, S, S, TM, TK, true), S, S, S);
}

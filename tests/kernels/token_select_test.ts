import { assertEquals, cpu, gpu, HAS_GPU, randu, take } from "../_helpers.ts";

/** Hand case: ties go to the lower index, zero and negative fractions are never tokens, extra slots stay zero. */
Deno.test("tokenSelect (CPU): hand-computed selections", async () => {
  const comp = cpu.fromData([0.2, 0, 0.5, 0.2, 0.1, /**/ 0, 0, 0, 0, 0, /**/ -1, 0.3, 0, 0, 0.7], [3, 5]);
  const sel = await take(cpu.tokenSelect(comp, 3));
  const picks = (r: number) =>
    [0, 1, 2].map((t) => {
      const row = Array.from(sel.subarray((r * 3 + t) * 5, (r * 3 + t + 1) * 5));
      return row.every((v) => v === 0) ? -1 : row.indexOf(1);
    });
  assertEquals(picks(0), [2, 0, 3]); // 0.5, then the tie 0.2/0.2 by index, then T is full (0.1 dropped)
  assertEquals(picks(1), [-1, -1, -1]);
  assertEquals(picks(2), [4, 1, -1]);
  assertEquals(Array.from(sel).reduce((a, b) => a + b, 0), 5);
});

Deno.test({
  name: "tokenSelect: GPU equals the CPU twin on odd shapes, sparse rows and ties",
  ignore: !HAS_GPU,
  fn: async () => {
    const be = (await gpu())!;
    for (
      const [lead, E, T] of [[[1], 1, 1], [[7], 13, 4], [[3, 37], 56, 9], [[2, 5], 5, 8], [
        [0],
        4,
        2,
      ]] as const
    ) {
      const n = (lead as readonly number[]).reduce((a: number, b: number) => a * b, 1) * E;
      // Sparse with repeated values: about 70 % zeros, values from a small set so ties are common.
      const u = randu(n, 7 + E), v = randu(n, 11 + E);
      const data = Float32Array.from(u, (x, i) => (x < 0.7 ? 0 : Math.round(v[i] * 4) / 4));
      const want = await take(cpu.tokenSelect(cpu.fromData(data, [...lead, E]), T));
      const got = be.tokenSelect(be.fromData(data, [...lead, E]), T);
      assertEquals(got.shape, [...lead, T, E]);
      assertEquals(Array.from(await take(got)), Array.from(want), `${lead} ${E} ${T}`);
    }
  },
});

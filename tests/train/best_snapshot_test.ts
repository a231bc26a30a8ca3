import { assertEquals, cpu, gpu, HAS_GPU, take } from "../_helpers.ts";
import type { Backend } from "../../nn/backend.ts";
import { Adam } from "../../nn/optim/adam.ts";
import { BestSnapshot } from "../../nn/train/best_snapshot.ts";

/** Two replicas; two parameters in the optimiser's arena and one state tensor outside it. */
async function check(be: Backend) {
  const R = 2;
  const p1 = be.fromData([1, 2, 3, 4, 5, 6], [R, 3]);
  const p2 = be.fromData([10, 20, 30, 40, 50, 60, 70, 80], [R, 2, 2]);
  const st = be.fromData([-1, -2, -3, -4], [R, 2]);
  const adam = new Adam([p1, p2], { replicas: R });
  const snap = new BestSnapshot(be, [p1, st, p2], adam, R);
  const set = (t: typeof p1, v: number[]) => be.write(t, v);
  // Epoch 1: both change; only replica 0 improves.
  set(p1, [7, 8, 9, 10, 11, 12]);
  set(p2, [1, 1, 1, 1, 2, 2, 2, 2]);
  set(st, [5, 6, 7, 8]);
  snap.update(be.fromData([1, 0], [R]));
  // Epoch 2: both change again; only replica 1 improves.
  set(p1, [0, 0, 0, 100, 100, 100]);
  set(p2, [3, 3, 3, 3, 4, 4, 4, 4]);
  set(st, [9, 9, 10, 10]);
  snap.update(be.fromData([0, 1], [R]));
  // Epoch 3: changes nobody keeps.
  set(p1, [-9, -9, -9, -9, -9, -9]);
  set(p2, [-9, -9, -9, -9, -9, -9, -9, -9]);
  set(st, [-9, -9, -9, -9]);
  snap.update(be.fromData([0, 0], [R]));
  snap.restore();
  assertEquals(Array.from(await take(p1.view([6]))), [7, 8, 9, 100, 100, 100], `${be.kind} arena parameter`);
  assertEquals(
    Array.from(await take(p2.view([8]))),
    [1, 1, 1, 1, 4, 4, 4, 4],
    `${be.kind} arena parameter 2`,
  );
  assertEquals(Array.from(await take(st.view([4]))), [5, 6, 10, 10], `${be.kind} state outside the arena`);
  snap.dispose();
  adam.dispose();
}

Deno.test("best snapshot (cpu): per replica, arena parameters and other tensors come back from their best epoch", () =>
  check(cpu));

Deno.test({
  name:
    "best snapshot (webgpu): per replica, arena parameters and other tensors come back from their best epoch",
  ignore: !HAS_GPU,
  fn: async () => check((await gpu())!),
});

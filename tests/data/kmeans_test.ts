import { kmeans } from "../../data/kmeans.ts";
import { Rng } from "../../nn/random.ts";
import { assertEquals, assertTrue, assertUserError } from "./_helpers.ts";

function blobs(seed: number) {
  const rng = new Rng(seed);
  const centres = [[0, 0], [10, 0], [0, 10]];
  const x: number[] = [], truth: number[] = [];
  for (let i = 0; i < 90; i++) {
    const c = i % 3;
    x.push(centres[c][0] + rng.normal() * 0.5, centres[c][1] + rng.normal() * 0.5);
    truth.push(c);
  }
  return { x: Float64Array.from(x), truth };
}

Deno.test("k-means: recovers well-separated clusters, deterministically", () => {
  const { x, truth } = blobs(3);
  const r = kmeans(x, 90, 2, { k: 3, seed: 7 });
  // same partition as the truth up to relabelling
  const map = new Map<number, number>();
  truth.forEach((t, i) => {
    if (!map.has(t)) map.set(t, r.labels[i]);
    assertEquals(r.labels[i], map.get(t));
  });
  assertEquals(new Set(map.values()).size, 3);
  assertTrue(r.inertia < 90 * 2 * 0.5 ** 2 * 2);
  assertEquals(kmeans(x, 90, 2, { k: 3, seed: 7 }), r);
  // more restarts never make the inertia worse than the first restart alone
  const one = kmeans(x, 90, 2, { k: 5, seed: 1, nInit: 1 });
  const ten = kmeans(x, 90, 2, { k: 5, seed: 1, nInit: 10 });
  assertTrue(ten.inertia <= one.inertia + 1e-9);
});

Deno.test("k-means: duplicates, k = n, and errors", () => {
  const x = Float64Array.from([1, 1, 1, 1, 1, 1]);
  const r = kmeans(x, 3, 2, { k: 2, seed: 1 });
  assertEquals(r.inertia, 0);
  assertEquals(kmeans(Float64Array.from([0, 1, 2]), 3, 1, { k: 3, seed: 1 }).inertia, 0);
  assertUserError(
    () => kmeans(x, 3, 2, { k: 4 }),
    "k must be an integer from 1 to the number of rows (3), got 4",
  );
  assertUserError(() => kmeans(x, 3, 2, { k: 2, nInit: 0 }), "nInit must be ≥ 1");
  assertUserError(() => kmeans(Float64Array.from([0, NaN]), 2, 1, { k: 1 }), "non-finite value in row 1");
});

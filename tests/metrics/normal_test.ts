import { normalQuantile } from "../../nn/metrics/normal.ts";
import { assertEquals, assertNear, assertRangeError } from "./_helpers.ts";

Deno.test("normalQuantile: matches scipy.special.ndtri to ~1e-15 relative, over all three AS241 regions", () => {
  // [p, ndtri(p)] from SciPy 1.17
  const ref: [number, number][] = [
    [1e-300, -37.0470962993612],
    [1e-20, -9.262340089798409],
    [1e-10, -6.361340902404056],
    [1e-5, -4.264890793922825],
    [0.001, -3.090232306167813],
    [0.01, -2.3263478740408408],
    [0.025, -1.9599639845400545],
    [0.05, -1.6448536269514729],
    [0.1, -1.2815515655446004],
    [0.2, -0.8416212335729142],
    [0.3, -0.5244005127080409],
    [0.4, -0.2533471031357997],
    [0.425, -0.18911842627279252],
    [0.6, 0.2533471031357997],
    [0.75, 0.6744897501960817],
    [0.9, 1.2815515655446004],
    [0.95, 1.6448536269514722],
    [0.975, 1.959963984540054],
    [0.99, 2.3263478740408408],
    [0.999, 3.090232306167813],
  ];
  for (const [p, z] of ref) assertNear(normalQuantile(p), z, 4e-15 * Math.max(1, Math.abs(z)), `p=${p}`);
  assertEquals([normalQuantile(0.5), normalQuantile(0), normalQuantile(1)], [0, -Infinity, Infinity]);
  assertRangeError(() => normalQuantile(1.5), "normalQuantile: p must be in [0, 1]");
});

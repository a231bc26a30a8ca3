import { assert, assertClose, assertEquals, cpu, gpu, HAS_GPU, randn } from "../_helpers.ts";
import { Gan, ganShape } from "../../nn/models/gan.ts";
import { noGrad } from "../../nn/autodiff.ts";
import type { Backend } from "../../nn/backend.ts";

async function forwardBoth(be: Backend, seed: number) {
  const gan = new Gan({ features: 7, latent: 5, hidden: 33, seed, backend: be });
  const z = be.fromData(randn(9 * 5, 1), [9, 5]);
  const x = be.fromData(randn(9 * 7, 2), [9, 7]);
  const [g, l, p] = noGrad(
    () => [gan.generator.forward(z), gan.discriminator.logits(x), gan.discriminator.forward(x)],
  );
  const out = { g: await g.read(), l: await l.read(), p: await p.read(), shapes: [g.shape, l.shape] };
  for (const t of [g, l, p, z, x]) t.dispose();
  gan.dispose();
  return out;
}

Deno.test("GAN: paper architecture by default (100 → 1000 → F; F → 1000 → 1) with a sigmoid generator", () => {
  const gan = new Gan({ features: 12, backend: cpu });
  assertEquals(gan.shape, { features: 12, latent: 100, hidden: 1000, alpha: 0.2 });
  assertEquals(gan.generator.hidden.weight.shape, [100, 1000]);
  assertEquals(gan.generator.out.weight.shape, [1000, 12]);
  assertEquals(gan.discriminator.hidden.weight.shape, [12, 1000]);
  assertEquals(gan.discriminator.out.weight.shape, [1000, 1]);
  assertEquals(gan.generator.out.activation, "sigmoid");
  assertEquals(gan.generator.hidden.activation, "leaky_relu");
  assertEquals(gan.namedTensors().length, 8);
  gan.dispose();
});

Deno.test("GAN: outputs by hand (LeakyReLU slope, sigmoid), probability = sigmoid(logit), same seed same weights", async () => {
  const a = await forwardBoth(cpu, 3), b = await forwardBoth(cpu, 3), c = await forwardBoth(cpu, 4);
  assertEquals(Array.from(a.g), Array.from(b.g));
  assert(Array.from(a.g).some((v, i) => v !== c.g[i]), "another seed gives other weights");
  assertEquals(a.shapes, [[9, 7], [9, 1]]);
  assert(Array.from(a.g).every((v) => v > 0 && v < 1), "generator output in (0, 1)");
  assertClose(a.p, Array.from(a.l, (v) => 1 / (1 + Math.exp(-v))), { atol: 1e-6, rtol: 1e-5 });
  // Reference forward on the host from the weights.
  const gan = new Gan({ features: 7, latent: 5, hidden: 33, seed: 3, backend: cpu });
  const [w1, b1, w2, b2] = await Promise.all(
    [
      gan.generator.hidden.weight,
      gan.generator.hidden.bias!,
      gan.generator.out.weight,
      gan.generator.out.bias!,
    ].map(
      (t) => t.read(),
    ),
  );
  const z = randn(9 * 5, 1), want: number[] = [];
  for (let r = 0; r < 9; r++) {
    const h = Array.from({ length: 33 }, (_, j) => {
      let s = b1[j];
      for (let k = 0; k < 5; k++) s += z[r * 5 + k] * w1[k * 33 + j];
      return s > 0 ? s : 0.2 * s;
    });
    for (let o = 0; o < 7; o++) {
      let s = b2[o];
      for (let j = 0; j < 33; j++) s += h[j] * w2[j * 7 + o];
      want.push(1 / (1 + Math.exp(-s)));
    }
  }
  assertClose(a.g, want, { atol: 1e-5, rtol: 1e-4 });
  gan.dispose();
});

Deno.test("GAN: bad shapes and options are refused", () => {
  let msg = "";
  try {
    ganShape({ features: 0 });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("features"), msg);
  const gan = new Gan({ features: 4, latent: 3, hidden: 8, backend: cpu });
  const z = cpu.fromData([1, 2], [1, 2]);
  try {
    gan.generator.forward(z);
    msg = "";
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("[batch, 3]"), msg);
  z.dispose();
  gan.dispose();
});

Deno.test({
  name: "GAN: CPU and WebGPU forward passes agree (odd sizes)",
  ignore: !HAS_GPU,
  async fn() {
    const be = (await gpu())!;
    const a = await forwardBoth(cpu, 5), b = await forwardBoth(be, 5);
    assertClose(b.g, a.g, { atol: 1e-5, rtol: 1e-4 });
    assertClose(b.l, a.l, { atol: 1e-5, rtol: 1e-4 });
  },
});

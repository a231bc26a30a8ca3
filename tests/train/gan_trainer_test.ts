import { assert, assertClose, assertEquals, cpu, gpu, HAS_GPU } from "../_helpers.ts";
import { Rng } from "../../nn/random.ts";
import type { Backend } from "../../nn/backend.ts";
import {
  fitMinMax,
  generateSamples,
  modeIndicators,
  referenceStats,
  scaleMinMax,
  trainGan,
  unscaleMinMax,
} from "../../nn/train/gan_trainer.ts";

/** n points from K Gaussians (σ) centred on the unit circle, mode k = row % K. */
function ring(K: number, n: number, sd: number, seed: number): Float64Array {
  const r = new Rng(seed), x = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    const t = (2 * Math.PI * (i % K)) / K;
    x[2 * i] = Math.cos(t) + sd * r.normal();
    x[2 * i + 1] = Math.sin(t) + sd * r.normal();
  }
  return x;
}

const TOY = { latent: 8, hidden: 128 };

Deno.test("GAN trainer: on a ring of 8 Gaussians every mode gets ≥ 5 % of the samples (CPU, ~5 s)", async () => {
  const K = 8, sd = 0.08;
  const x = ring(K, 1200, sd, 3);
  const res = await trainGan(cpu, x, 1200, 2, TOY, { epochs: 100, batchSize: 64, seed: 1, monitorEvery: 50 });
  const s = await generateSamples(res.gan, res.scaler, 1000, 5);
  const counts = new Array(K).fill(0);
  let near = 0;
  for (let i = 0; i < 1000; i++) {
    let best = 0, bd = Infinity;
    for (let k = 0; k < K; k++) {
      const t = (2 * Math.PI * k) / K;
      const dd = Math.hypot(s[2 * i] - Math.cos(t), s[2 * i + 1] - Math.sin(t));
      if (dd < bd) bd = dd, best = k;
    }
    counts[best]++;
    if (bd < 4 * sd) near++;
  }
  // A uniform share is 12.5 %; a collapsed generator leaves modes empty.
  assert(counts.every((c) => c >= 50), `mode counts ${counts}`);
  assert(near >= 500, `${near}/1000 samples within 4σ of a centre`);
  assertEquals(res.curves.length, 100);
  assertEquals(res.steps, 100 * Math.floor(1200 / 64));
  assert(res.curves[49].indicators && res.curves[99].indicators && !res.curves[10].indicators);
  const ind = res.curves[99].indicators!;
  assert(ind.spreadRatio > 0.7 && ind.spreadRatio < 1.3, `spread ratio ${ind.spreadRatio}`);
  for (const l of res.curves) assert(Number.isFinite(l.lossD) && Number.isFinite(l.lossG));
  res.gan.dispose();
});

Deno.test("GAN trainer: same seed → identical losses and samples; another seed differs; ≤ 1 readback per epoch", async () => {
  const x = ring(4, 256, 0.1, 4);
  let reads = 0;
  const counting = new Proxy(cpu, {
    get(target, prop, recv) {
      if (prop === "read") return (t: Parameters<Backend["read"]>[0]) => (reads++, target.read(t));
      const v = Reflect.get(target, prop, recv);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Backend;
  const run = async (be: Backend, seed: number) => {
    const r = await trainGan(be, x, 256, 2, { latent: 4, hidden: 16 }, {
      epochs: 6,
      batchSize: 32,
      seed,
      monitorEvery: 2,
    });
    const s = await generateSamples(r.gan, r.scaler, 50, 9);
    r.gan.dispose();
    return { losses: r.curves.map((c) => [c.lossD, c.lossG]), s: Array.from(s) };
  };
  const a = await run(counting, 7);
  // The trainer reads through the backend it was given; generateSamples uses the model's own (uncounted) backend.
  assertEquals(reads, 6, "one read per epoch");
  const b = await run(cpu, 7), c = await run(cpu, 8);
  assertEquals(a, b);
  assert(a.s.some((v, i) => v !== c.s[i]), "another seed gives other samples");
});

Deno.test("GAN trainer: min-max scaling round-trips; constant columns map to 0 and back", () => {
  const x = [1, 5, 2, 5, 3, 5];
  const s = fitMinMax(x, 3, 2);
  assertEquals(s, { min: [1, 5], max: [3, 5] });
  const z = scaleMinMax(s, x, 3);
  assertEquals(Array.from(z), [0, 0, 0.5, 0, 1, 0]);
  assertClose(unscaleMinMax(s, z, 3), x, { atol: 1e-12, rtol: 0 });
});

Deno.test("GAN trainer: mode indicators flag a collapsed generator", () => {
  const ref = ring(4, 200, 0.05, 6);
  const stats = referenceStats(ref, 200, 2, 5);
  const good = modeIndicators(ring(4, 200, 0.05, 7), 200, ref, 200, 2, stats);
  const collapsed = new Float64Array(400);
  for (let i = 0; i < 200; i++) {
    collapsed[2 * i] = 1 + 0.01 * Math.sin(i), collapsed[2 * i + 1] = 0.01 * Math.cos(i);
  }
  const bad = modeIndicators(collapsed, 200, ref, 200, 2, stats);
  assert(good.coverage > 0.8 && good.spreadRatio > 0.8, JSON.stringify(good));
  assert(bad.coverage < 0.3 && bad.spreadRatio < 0.1, JSON.stringify(bad));
});

Deno.test("GAN trainer: too few rows for one batch is refused", async () => {
  let msg = "";
  try {
    await trainGan(cpu, new Float64Array(20), 10, 2, TOY, { batchSize: 64 });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(msg.includes("fewer than one batch"), msg);
});

Deno.test({
  name: "GAN trainer: WebGPU and CPU runs agree step for step (odd sizes, 3 epochs, same seed)",
  ignore: !HAS_GPU,
  async fn() {
    const be = (await gpu())!;
    // 7 features, 131 rows, batch 13 (10 steps per epoch, 1 row dropped), hidden 37, latent 5: no size is a tile
    // multiple. Both backends draw the same Philox latents, so only float32 rounding separates the runs.
    const r = new Rng(12), x = Float64Array.from({ length: 131 * 7 }, () => r.normal());
    const run = async (b: Backend) => {
      const res = await trainGan(b, x, 131, 7, { latent: 5, hidden: 37 }, {
        epochs: 3,
        batchSize: 13,
        seed: 4,
        monitorEvery: 1,
        monitorSamples: 21,
      });
      const s = await generateSamples(res.gan, res.scaler, 17, 2);
      res.gan.dispose();
      return { res, s };
    };
    const c = await run(cpu), g = await run(be);
    const flat = (q: typeof c) => q.res.curves.flatMap((l) => [l.lossD, l.lossG, l.dReal, l.dFake]);
    assertClose(flat(g), flat(c), { atol: 2e-4, rtol: 2e-4, msg: "epoch losses" });
    assertClose(g.s, c.s, { atol: 2e-4, rtol: 2e-4, msg: "samples" });
    assertClose(
      g.res.curves.map((l) => l.indicators!.spreadRatio),
      c.res.curves.map((l) => l.indicators!.spreadRatio),
      { atol: 1e-3, rtol: 1e-3, msg: "spread ratio" },
    );
  },
});

Deno.test("GAN trainer: a spent time budget stops after the current epoch, which is monitored", async () => {
  const x = ring(4, 128, 0.1, 8);
  const r = await trainGan(cpu, x, 128, 2, { latent: 3, hidden: 8 }, {
    epochs: 50,
    batchSize: 32,
    maxSeconds: 0,
  });
  assertEquals([r.curves.length, r.steps, r.stoppedEarly], [1, 4, true]);
  assert(r.curves[0].indicators !== undefined, "the last epoch run is monitored");
  const full = await trainGan(cpu, x, 128, 2, { latent: 3, hidden: 8 }, {
    epochs: 2,
    batchSize: 32,
    maxSeconds: 1e6,
  });
  assertEquals([full.curves.length, full.stoppedEarly], [2, false]);
  r.gan.dispose(), full.gan.dispose();
});

for (const dev of ["cpu", "webgpu"] as const) {
  Deno.test({
    name:
      `GAN trainer: select w2 returns the monitored generator closest to the training rows, restored exactly (${dev})`,
    ignore: dev === "webgpu" && !HAS_GPU,
    async fn() {
      const be: Backend = dev === "cpu" ? cpu : (await gpu())!;
      const x = ring(4, 256, 0.1, 9);
      const arch = { latent: 4, hidden: 24 };
      const base = { batchSize: 32, seed: 2, monitorEvery: 3, monitorSamples: 128 };
      const sel = await trainGan(be, x, 256, 2, arch, { ...base, epochs: 20, select: "w2" });
      const monitored = sel.curves.filter((c) => c.indicators);
      assertEquals(monitored.map((c) => c.epoch), [2, 5, 8, 11, 14, 17, 19]);
      const w2 = monitored.map((c) => c.indicators!.w2Train!);
      assert(w2.every((v) => Number.isFinite(v) && v > 0), `W₂ ${w2}`);
      // the first minimum (ties keep the earlier epoch); here it is not the last epoch
      assertEquals(sel.selectedEpoch, monitored[w2.indexOf(Math.min(...w2))].epoch);
      assert(sel.selectedEpoch < 19, `selected ${sel.selectedEpoch}`);
      // the same seed trained for exactly selectedEpoch + 1 epochs ends on the same generator
      const upTo = await trainGan(be, x, 256, 2, arch, { ...base, epochs: sel.selectedEpoch + 1 });
      assertEquals(upTo.selectedEpoch, sel.selectedEpoch);
      assertClose(
        await generateSamples(sel.gan, sel.scaler, 64, 3),
        await generateSamples(upTo.gan, upTo.scaler, 64, 3),
        { atol: 0, rtol: 0 },
      );
      // "last" (the default) computes no W₂ and returns the final generator; selection does not change training
      const last = await trainGan(be, x, 256, 2, arch, { ...base, epochs: 20 });
      assertEquals(last.selectedEpoch, 19);
      assert(last.curves.every((c) => c.indicators?.w2Train === undefined));
      assertEquals(last.curves.map((c) => c.lossD), sel.curves.map((c) => c.lossD));
      for (const r of [sel, upTo, last]) r.gan.dispose();
    },
  });
}

/**
 * The host forward of design (design/host_forward.ts) against the model's own dense forward pass on the float64 CPU
 * backend: the S MC copies stacked by hand, every dropout layer reset to the same RNG step (so the reference draws
 * its masks itself), one and two members (different latent sizes and dropout rates), sparse compositions (one,
 * two and all elements present). Plus the decoder, member 0's latent mean, skipped rows, the deterministic case,
 * and the sampler's log-target on the host against the device forward.
 */
import { assert, assertClose, assertEquals, cpu, cpu64, gpu, HAS_GPU } from "../_helpers.ts";
import { ELEMENTS, fixtureScalers, randomVibann } from "./_design_fixture.ts";
import { HostDesignForward } from "../../design/host_forward.ts";
import { DesignModel, makeLatentTarget } from "../../design/latent_target.ts";
import { CompositionConstraints } from "../../design/composition_constraints.ts";
import { fitGaussianMixture } from "../../design/gaussian_mixture.ts";
import { Dropout } from "../../nn/layers/dropout.ts";
import { gradients, noGrad } from "../../nn/autodiff.ts";
import { add, broadcastTo, mul, reshape, sum } from "../../nn/ops.ts";
import { scope } from "../../nn/scope.ts";
import { VibannReference } from "../../nn/models/vibann.ts";
import { Rng } from "../../nn/random.ts";

const E = ELEMENTS.length;
const be = cpu64;

/** Rows: one element, two elements, all elements, then random sparse rows (each sums to 1). */
function compositions(n: number, seed: number): Float64Array {
  const rng = new Rng(seed, 5);
  const out = new Float64Array(n * E);
  out[2] = 1;
  out[E + 0] = 0.3, out[E + 4] = 0.7;
  for (let j = 0; j < E; j++) out[2 * E + j] = 1 / E;
  for (let i = 3; i < n; i++) {
    let s = 0;
    for (let j = 0; j < E; j++) s += out[i * E + j] = rng.uniform() < 0.5 ? 0 : rng.uniform();
    if (s === 0) s = out[i * E] = 1;
    for (let j = 0; j < E; j++) out[i * E + j] /= s;
  }
  return out;
}

/** The full forward on S stacked copies (dropout at `step`, or off for S = 0), in HV: [R·max(S,1), B]. */
function denseSamples(m: VibannReference, comp: Float64Array, load: number, S: number, step: number) {
  const R = m.replicas, B = comp.length / E, P = Math.max(1, S);
  const scalers = fixtureScalers(R);
  const c = new Float64Array(R * P * B * E), l = new Float64Array(R * P * B);
  for (let r = 0; r < R; r++) {
    for (let s = 0; s < P; s++) {
      c.set(comp, (r * P + s) * B * E);
      l.fill((load - scalers[r].loadMean) / scalers[r].loadScale, (r * P + s) * B, (r * P + s + 1) * B);
    }
  }
  m.eval(S > 0);
  for (const d of m.modules()) if (d instanceof Dropout) d.calls = step;
  const lead = R > 1 ? [R] : [];
  const out = scope(() =>
    noGrad(() => {
      const o = m.forward(be.fromData(c, [...lead, P * B, E]), be.fromData(l, [...lead, P * B, 1]));
      return [o.y, o.mu] as const;
    })
  );
  // The float64 backend's storage itself (a read would round to float32).
  const [y, mu] = [be.data(out[0]), be.data(out[1])];
  out.forEach((t) => t.dispose());
  m.eval(false);
  const hv = Float64Array.from(y, (v, i) => {
    const r = Math.floor(i / (P * B));
    return v * scalers[r].yScale + scalers[r].yMean;
  });
  return { hv, mu };
}

for (const R of [1, 2]) {
  for (const sameRate of R > 1 ? [false, true] : [true]) {
    const label = `${R} member${R > 1 ? "s" : ""}${
      R > 1 ? (sameRate ? ", one rate" : ", per-member rates") : ""
    }`;
    Deno.test(`host forward (${label}): MC samples, latent means and decoder equal the dense float64 forward`, async () => {
      const m = randomVibann(be, {
        replicas: R,
        latentDim: R > 1 ? [3, 2] : 3,
        dropout: R > 1 && !sameRate ? [0.2, 0.35] : 0.25,
      });
      try {
        const hf = await HostDesignForward.create(m, fixtureScalers(R));
        const B = 7, S = 4, step = 41;
        const comp = compositions(B, 3);
        const got = hf.forward(comp, 1.3, S, step);
        const want = denseSamples(m, comp, 1.3, S, step);
        assertClose(got.samples, want.hv, { atol: 1e-8, rtol: 1e-10, msg: "MC samples" });
        // Dropout really acts: passes of one row differ.
        assert(got.samples[0] !== got.samples[B], "pass 0 and pass 1 of row 0 differ");
        // ẑ: member 0's μ (deterministic: dropout off), first d dimensions.
        const det = denseSamples(m, comp, 1.3, 0, 0);
        const L = m.latentDim;
        const muWant = Float64Array.from(
          { length: B * 3 },
          (_, i) => det.mu[Math.floor(i / 3) * L + (i % 3)],
        );
        assertClose(got.zHat, muWant, { atol: 1e-10, rtol: 1e-10, msg: "ẑ" });
        // passes = 0: the deterministic prediction of every member.
        assertClose(hf.forward(comp, 1.3, 0, step).samples, det.hv, { atol: 1e-8, rtol: 1e-10, msg: "det" });
        // The same step repeats exactly (cached masks); another step draws other masks.
        assertEquals(Array.from(hf.forward(comp, 1.3, S, step).samples), Array.from(got.samples));
        const other = hf.forward(comp, 1.3, S, step + 1).samples;
        assertClose(other, (denseSamples(m, comp, 1.3, S, step + 1)).hv, {
          atol: 1e-8,
          rtol: 1e-10,
          msg: "other step",
        });
        // Skipped rows are NaN, the others unchanged.
        const need = Array.from({ length: B }, (_, b) => b % 2 === 0);
        const part = hf.forward(comp, 1.3, S, step, () => need).samples;
        part.forEach((v, i) => {
          if (need[i % B]) assertEquals(v, got.samples[i]);
          else assert(Number.isNaN(v), `row ${i % B} is skipped`);
        });
        // Decoder: member 0's, dropout off, latents beyond d zero.
        const z = Float64Array.from({ length: B * 3 }, (_, i) => Math.sin(i) * 2);
        const zFull = new Float64Array(R * B * L);
        for (let r = 0; r < R; r++) {
          for (let i = 0; i < B * 3; i++) zFull[r * B * L + Math.floor(i / 3) * L + (i % 3)] = z[i];
        }
        const ref = scope(() =>
          noGrad(() => m.eval(false).decode(be.fromData(zFull, R > 1 ? [R, B, L] : [B, L])))
        );
        const refV = be.data(ref).slice(0, B * E);
        ref.dispose();
        assertClose(hf.decode(z), refV, { atol: 1e-12, rtol: 1e-10, msg: "decode" });
      } finally {
        m.dispose();
      }
    });
  }
}

Deno.test("host forward: the published shape (56 elements, L = 64) against the dense float64 forward", async () => {
  const m = new VibannReference({ elements: 56, latentDim: 64, dropout: 0.11, seed: 5, backend: be }).eval();
  try {
    const B = 3, S = 2;
    const comp = new Float64Array(B * 56);
    [[3, 0.42], [15, 0.37], [29, 0.21]].forEach(([j, v]) => (comp[j] = v));
    [[0, 0.5], [55, 0.5]].forEach(([j, v]) => (comp[56 + j] = v));
    for (let j = 0; j < 56; j++) comp[112 + j] = 1 / 56;
    const scalers = fixtureScalers(1);
    const hf = await HostDesignForward.create(m, scalers);
    const got = hf.forward(comp, 0.98, S, 7);
    const P = S, c = new Float64Array(P * B * 56);
    for (let s = 0; s < P; s++) c.set(comp, s * B * 56);
    m.eval(true);
    for (const d of m.modules()) if (d instanceof Dropout) d.calls = 7;
    const y = scope(() =>
      noGrad(() =>
        m.forward(
          be.fromData(c, [P * B, 56]),
          be.fromData(new Float64Array(P * B).fill((0.98 - scalers[0].loadMean) / scalers[0].loadScale), [
            P * B,
            1,
          ]),
        ).y
      )
    );
    const want = Float64Array.from(be.data(y), (v) => v * scalers[0].yScale + scalers[0].yMean);
    y.dispose();
    m.eval(false);
    assertClose(got.samples, want, { atol: 1e-8, rtol: 1e-10, msg: "published shape" });
  } finally {
    m.dispose();
  }
});

Deno.test({
  name: "latent target: the host forward gives the device forward's log-target (float32 rounding)",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const mg = randomVibann(g, { dropout: 0.2 });
    const mc = randomVibann(cpu, { dropout: 0.2 });
    try {
      const dg = new DesignModel(g, mg, fixtureScalers(1)), dc = new DesignModel(cpu, mc, fixtureScalers(1));
      const rng = new Rng(6, 3);
      const zs = Float64Array.from({ length: 30 * 3 }, () => rng.normal());
      const mixture = fitGaussianMixture({ rows: 30, cols: 3, data: zs }, { k: 1 }).mixture;
      const o = {
        mixture,
        threshold: -1e9,
        constraints: new CompositionConstraints(ELEMENTS, { minFraction: 0.02 }),
        load: 1,
        passes: 6,
        maskStep: 5,
        utility: { goal: { kind: "maximize" as const }, scale: 100 },
        tau: 1,
      };
      const host = await makeLatentTarget(dg, o).evaluate(zs);
      const dev = await makeLatentTarget(dg, { ...o, forward: "device", decoder: dc }).evaluate(zs);
      assertEquals(host.comp, dev.comp);
      assertClose(host.mu, dev.mu, { atol: 1e-2, rtol: 1e-5, msg: "μ" });
      assertClose(host.sigma, dev.sigma, { atol: 1e-2, rtol: 1e-4, msg: "σ" });
      assertClose(host.logTarget, dev.logTarget, { atol: 1e-3, rtol: 1e-5, msg: "log-target" });
    } finally {
      mg.dispose(), mc.dispose();
    }
  },
});

Deno.test("DesignModel.hvSamples (prefix once per composition): value and gradient equal the stacked forward's", () => {
  for (const R of [1, 2]) {
    const m = randomVibann(be, {
      replicas: R,
      latentDim: R > 1 ? [3, 2] : 3,
      dropout: R > 1 ? [0.2, 0.3] : 0.2,
    });
    try {
      const dm = new DesignModel(be, m, fixtureScalers(R));
      const B = 5, S = 3, step = 12, load = 0.9;
      const comp = compositions(B, 8).map((v) => 0.9 * v + 0.1 / E);
      const wts = Float64Array.from({ length: R * S * B }, (_, i) => Math.cos(i));
      // Loss Σ w·y through hvSamples, and through the model's own forward on S stacked copies (the reference).
      const viaDesign = scope(() => {
        const x = be.fromData(comp, [B, E]);
        x.requiresGrad = true;
        const y = dm.hvSamples(x, load, S, step);
        const loss = sum(reshape(mul(y, be.fromData(wts, [R * S, B])), [R * S * B]), 0);
        const [g] = gradients(loss, [x]);
        return [be.data(loss)[0], Float64Array.from(be.data(g!))] as const;
      });
      const viaModel = scope(() => {
        const x = be.fromData(comp, [B, E]);
        x.requiresGrad = true;
        const lead = R > 1 ? [R] : [];
        const stacked = reshape(broadcastTo(reshape(x, [1, 1, B, E]), [R, S, B, E]), [...lead, S * B, E]);
        const sc = fixtureScalers(R);
        const l = Float64Array.from({ length: R * S * B }, (_, i) => {
          const r = Math.floor(i / (S * B));
          return (load - sc[r].loadMean) / sc[r].loadScale;
        });
        m.eval(true);
        for (const d of m.modules()) if (d instanceof Dropout) d.calls = step;
        const y = m.forward(stacked, be.fromData(l, [...lead, S * B, 1])).y;
        m.eval(false);
        const hv = add(
          mul(reshape(y, [R, S * B]), be.fromData(sc.map((s) => s.yScale), [R, 1])),
          be.fromData(sc.map((s) => s.yMean), [R, 1]),
        );
        const loss = sum(reshape(mul(hv, be.fromData(wts, [R, S * B])), [R * S * B]), 0);
        const [g] = gradients(loss, [x]);
        return [be.data(loss)[0], Float64Array.from(be.data(g!))] as const;
      });
      assertClose([viaDesign[0]], [viaModel[0]], { atol: 1e-9, rtol: 1e-12, msg: `R=${R} value` });
      assertClose(viaDesign[1], viaModel[1], { atol: 1e-9, rtol: 1e-9, msg: `R=${R} gradient` });
      assert(viaDesign[1].some((v) => Math.abs(v) > 1e-3), "the gradient is not trivially zero");
    } finally {
      m.dispose();
    }
  }
});

/**
 * The design integration (design/latent_target.ts, design/candidates.ts, design/design_run.ts) on a tiny model:
 * the batched latent functions against the model's own forward pass (one and two members), the utility, MC moments
 * and whitening against closed forms, the sampler's log-target against an independent prediction (dropout 0), and
 * whole runs: every exported row satisfies every constraint (checked by hand, not by the library's checker), the
 * exported numbers equal an independent re-prediction, the same seed gives the same CSV, and the gradient stage
 * lowers its loss.
 */
import { assert, assertClose, assertEquals, cpu, gpu, HAS_GPU } from "../_helpers.ts";
import { assertRejectsUserError } from "../data/_helpers.ts";
import { ELEMENTS, fixtureScalers, randomVibann, withDesignFixture } from "./_design_fixture.ts";
import { chooseStarts, runDesign } from "../../design/design_run.ts";
import {
  DESIGN_LCB_Z,
  DesignModel,
  LatentWhitening,
  makeLatentTarget,
  sampleMoments,
  utilityValue,
} from "../../design/latent_target.ts";
import { candidateColumns, candidateScore, candidatesCsv } from "../../design/candidates.ts";
import { CompositionConstraints } from "../../design/composition_constraints.ts";
import { fitGaussianMixture } from "../../design/gaussian_mixture.ts";
import { Dropout } from "../../nn/layers/dropout.ts";
import { noGrad } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { CONFIG_FILE, loadModelDir, memberScalers } from "../../nn/models/model_dir.ts";
import { join } from "../../data/paths.ts";
import { predictVibann } from "../../nn/models/vibann_predict.ts";
import { summarizeMcSamples } from "../../nn/metrics/mc_summary.ts";
import type { VibannReference } from "../../nn/models/vibann.ts";
import { Rng } from "../../nn/random.ts";

const E = ELEMENTS.length;
const be = cpu;

/** Seeded random compositions (rows × E, rows sum to 1). */
function randomComps(n: number, seed: number): Float32Array {
  const rng = new Rng(seed, 9);
  const out = new Float32Array(n * E);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < E; j++) s += out[i * E + j] = rng.uniform() ** 2;
    for (let j = 0; j < E; j++) out[i * E + j] /= s;
  }
  return out;
}

/**
 * The reference for {@link DesignModel.hvSamples}: the model's full forward pass (z = μ in inference) on the S
 * copies stacked by hand, dropout layers reset to `step`, outputs scaled per member on the host.
 */
async function forwardSamples(
  m: VibannReference,
  comp: Float32Array,
  load: number,
  S: number,
  step: number,
): Promise<Float64Array> {
  const R = m.replicas, B = comp.length / E;
  const scalers = fixtureScalers(R);
  const c = new Float32Array(R * S * B * E), l = new Float32Array(R * S * B);
  for (let r = 0; r < R; r++) {
    for (let s = 0; s < S; s++) {
      c.set(comp, ((r * S + s) * B) * E);
      l.fill((load - scalers[r].loadMean) / scalers[r].loadScale, (r * S + s) * B, (r * S + s + 1) * B);
    }
  }
  m.eval(true);
  for (const d of m.modules()) if (d instanceof Dropout) d.calls = step;
  const lead = R > 1 ? [R] : [];
  const y = scope(() =>
    noGrad(() => m.forward(be.fromData(c, [...lead, S * B, E]), be.fromData(l, [...lead, S * B, 1])).y)
  );
  const v = await y.read();
  y.dispose();
  m.eval(false);
  return Float64Array.from(v, (x, i) => {
    const r = Math.floor(i / (S * B));
    return x * scalers[r].yScale + scalers[r].yMean;
  });
}

for (const R of [1, 2]) {
  Deno.test(`design model (${R} member${R > 1 ? "s" : ""}): decode, encode and MC samples agree with the model's forward`, async () => {
    const m = randomVibann(be, {
      replicas: R,
      latentDim: R > 1 ? [3, 2] : 3,
      dropout: R > 1 ? [0.2, 0.3] : 0.2,
    });
    try {
      const dm = new DesignModel(be, m, fixtureScalers(R));
      assertEquals([dm.members, dm.elements, dm.latentDim, dm.fullLatent], [R, E, 3, 3]);
      const B = 4, S = 3;
      const comp = randomComps(B, 1);
      // MC samples: same masks as the stacked full forward with the dropout step set by hand.
      const got = scope(() => noGrad(() => dm.hvSamples(be.fromData(comp, [B, E]), 1.3, S, 77)));
      const want = await forwardSamples(m, comp, 1.3, S, 77);
      assertClose(await got.read(), want, { atol: 1e-3, rtol: 1e-5, msg: "hvSamples" });
      assertEquals(got.shape, [R * S, B]);
      got.dispose();
      // Common random numbers: the same step repeats exactly, another step draws other masks.
      const again = scope(() => noGrad(() => dm.hvSamples(be.fromData(comp, [B, E]), 1.3, S, 77)));
      const other = scope(() => noGrad(() => dm.hvSamples(be.fromData(comp, [B, E]), 1.3, S, 78)));
      const [a, o] = [await again.read(), await other.read()];
      assertClose(a, want, { atol: 1e-3, rtol: 1e-5, msg: "same step" });
      assert(o.some((v, i) => Math.abs(v - a[i]) > 1e-3), "another step gives other masks");
      again.dispose(), other.dispose();
      // Deterministic (passes = 0) equals predictVibann's deterministic prediction.
      const det = scope(() => noGrad(() => dm.hvSamples(be.fromData(comp, [B, E]), 1.3, 0)));
      const p = await predictVibann(be, m, fixtureScalers(R), comp, new Float64Array(B).fill(1.3));
      assertClose(await det.read(), p.det, { atol: 1e-3, rtol: 1e-5, msg: "deterministic" });
      det.dispose();
      // Latent means and the decoder are member 0's.
      const mu = scope(() => noGrad(() => dm.encodeMu(be.fromData(comp, [B, E]))));
      const muWant = Float32Array.from(
        { length: B * 3 },
        (_, i) => p.mu[Math.floor(i / 3) * m.latentDim + (i % 3)],
      );
      assertClose(await mu.read(), muWant, { atol: 1e-5, rtol: 1e-5, msg: "encodeMu = member 0's μ" });
      mu.dispose();
      const z = randomComps(B, 2).map((v) => 4 * v - 0.5).subarray(0, B * 3);
      const dec = scope(() => noGrad(() => dm.decode(be.fromData(z, [B, 3]))));
      const lead = R > 1 ? [R] : [];
      const zAll = new Float32Array(R * B * 3);
      for (let r = 0; r < R; r++) zAll.set(z, r * B * 3);
      const ref = scope(() => noGrad(() => m.eval(false).decode(be.fromData(zAll, [...lead, B, 3]))));
      const refV = (await ref.read()).subarray(0, B * E);
      assertClose(await dec.read(), refV, { atol: 1e-6, rtol: 1e-5, msg: "decode = member 0's decoder" });
      dec.dispose(), ref.dispose();
    } finally {
      m.dispose();
    }
  });
}

Deno.test("utility, MC moments and latent whitening against closed forms", () => {
  const lcb = 1000 - DESIGN_LCB_Z * 100;
  assertClose([utilityValue(1000, 100, { goal: { kind: "maximize" }, scale: 50 })], [lcb / 50], {
    atol: 1e-12,
  });
  assertClose(
    [utilityValue(1000, 100, { goal: { kind: "target", hv: 900 }, scale: 50 })],
    [-(((lcb - 900) / 50) ** 2)],
    { atol: 1e-12 },
  );
  // Samples [P = 3, B = 2]: row 0 = 1, 2, 3 (mean 2, population std √(2/3)); row 1 constant (σ floored).
  const m = sampleMoments([1, 5, 2, 5, 3, 5], 3);
  assertClose(m.mu, [2, 5], { atol: 1e-12 });
  assertClose(m.sigma, [Math.sqrt(2 / 3), 1e-6], { atol: 1e-12 });
  // Score: the soft score with the LCB replaced by target − |LCB − target| for a target.
  assertClose(
    candidateScore({ kind: "target", hv: 800 }, [700, 900], [0.1, 0], [2, 2], [50, 150], 100),
    [700 + 25 + 0.06, 700 + 0.06 - 0.2 * 2500],
    { atol: 1e-9 },
  );
  // Whitening: round trip, and the whitened rows have weighted mean 0 and identity weighted covariance.
  const rng = new Rng(4, 1), n = 50, d = 3;
  const z = Float64Array.from({ length: n * d }, (_, i) => (i % d === 2 ? 1e-3 : 1) * rng.normal() + (i % d));
  for (let i = 0; i < n; i++) z[i * d + 1] += 2 * z[i * d]; // correlated columns
  const w = Float64Array.from({ length: n }, (_, i) => 0.5 + (i % 3));
  const wh = new LatentWhitening(z, d, w, 0);
  assertClose(wh.fromWhite(wh.toWhite(z)), z, { atol: 1e-9, rtol: 1e-9 });
  const u = wh.toWhite(z);
  const ws = w.reduce((a, b) => a + b, 0);
  for (let a = 0; a < d; a++) {
    const mean = u.reduce((s, v, i) => (i % d === a ? s + w[Math.floor(i / d)] * v : s), 0) / ws;
    assertClose([mean], [0], { atol: 1e-9 });
    for (let b = 0; b < d; b++) {
      let c = 0;
      for (let i = 0; i < n; i++) c += w[i] * u[i * d + a] * u[i * d + b];
      assertClose([c / ws], [a === b ? 1 : 0], { atol: 1e-8, msg: `cov[${a}][${b}]` });
    }
  }
});

Deno.test("latent target: log p(z) + τ·U from an independent prediction, −∞ outside the prior support", async () => {
  // Dropout 0: every MC pass is the deterministic prediction, so μ = predictVibann's det and σ = the floor.
  const m = randomVibann(be, { dropout: 0 });
  try {
    const dm = new DesignModel(be, m, fixtureScalers(1));
    const rng = new Rng(8, 2);
    const n = 40;
    const zs = Float64Array.from({ length: n * 3 }, () => rng.normal());
    const mixture = fitGaussianMixture({ rows: n, cols: 3, data: zs }, { k: 1 }).mixture;
    const constraints = new CompositionConstraints(ELEMENTS, {
      maxElements: 3,
      minFraction: 0.05,
      precision: 0.5,
    });
    const utility = { goal: { kind: "target" as const, hv: 1100 }, scale: 80 };
    const tau = 2.5;
    const z = zs.slice(0, 5 * 3);
    z.set([40, 40, 40], 12); // far outside the prior
    const opts = { mixture, constraints, load: 0.7, passes: 4, maskStep: 9, utility, tau };
    const open = makeLatentTarget(dm, { ...opts, threshold: -1e9 });
    const ev = await open.evaluate(z);
    const lp = mixture.logDensities({ rows: 5, cols: 3, data: z });
    assertClose(ev.logPrior, lp, { atol: 1e-12 });
    // Independent: decode each row alone, project, predict with predictVibann.
    const dec = scope(() => noGrad(() => m.eval(false).decode(be.fromData(Float32Array.from(z), [5, 3]))));
    const proj = constraints.constrainRows(await dec.read());
    dec.dispose();
    assertClose(ev.comp, proj, { atol: 1e-12, msg: "projected compositions" });
    assertEquals(constraints.rowViolations(ev.comp), []);
    const p = await predictVibann(
      be,
      m,
      fixtureScalers(1),
      Float32Array.from(proj),
      new Float64Array(5).fill(0.7),
    );
    assertClose(ev.mu, p.det, { atol: 1e-3, rtol: 1e-6, msg: "μ" });
    assertClose(ev.sigma, new Float64Array(5).fill(1e-6), { atol: 1e-9, msg: "σ floor" });
    const want = Array.from(lp, (l, i) => l + tau * utilityValue(p.det[i], 1e-6, utility));
    assertClose(ev.logTarget, want, { atol: 1e-3, rtol: 1e-6, msg: "log-target" });
    // Re-encoded latents ẑ: their log prior is reported.
    const muP = Float64Array.from(p.mu);
    assertClose(ev.logPriorExport, mixture.logDensities({ rows: 5, cols: 3, data: muP }), { atol: 1e-3 });
    // Gating: a prior that covers both the states and their re-encodings, and a threshold that splits the rows.
    const both = new Float64Array((n + 4) * 3);
    both.set(zs), both.set(muP.subarray(0, 12), n * 3);
    const wide = fitGaussianMixture({ rows: n + 4, cols: 3, data: both }, { k: 1 }).mixture;
    const lpz = wide.logDensities({ rows: 5, cols: 3, data: z });
    const lpx = wide.logDensities({ rows: 5, cols: 3, data: muP });
    const worst = Array.from({ length: 4 }, (_, i) => Math.min(lpz[i], lpx[i])).sort((x, y) => x - y);
    const thr = (worst[0] + worst[1]) / 2; // exactly one of the first four rows is outside
    const gated = await makeLatentTarget(dm, { ...opts, mixture: wide, threshold: thr }).evaluate(z);
    let inside = 0;
    for (let i = 0; i < 5; i++) {
      const ok = lpz[i] >= thr && lpx[i] >= thr;
      assertEquals(gated.logTarget[i] === -Infinity, !ok, `row ${i}`);
      if (ok) {
        inside++;
        const u = utilityValue(p.det[i], 1e-6, utility);
        assertClose([gated.logTarget[i]], [lpz[i] + tau * u], { atol: 1e-3, rtol: 1e-6 });
      }
    }
    assertEquals(inside, 3);
    assert(gated.logTarget[4] === -Infinity, "the far-away latent is outside the support");
    assertEquals(open.calls(), 1);
  } finally {
    m.dispose();
  }
});

Deno.test("starts: drawn without replacement ∝ exp(log π) (first pick = softmax), never from −∞ rows", () => {
  // Gumbel-max: the first pick is row i with probability softmax(log π)_i = [1, 2, 3] / 6 here.
  const logT = Float64Array.of(0, Math.log(2), Math.log(3), -Infinity);
  const counts = [0, 0, 0, 0];
  const T = 20000;
  for (let s = 0; s < T; s++) counts[chooseStarts(logT, 1, new Rng(s, 77))[0]]++;
  [1 / 6, 2 / 6, 3 / 6, 0].forEach((p, i) =>
    assertClose([counts[i] / T], [p], { atol: 0.012, msg: `row ${i}` })
  );
  // Without replacement, then repeated cyclically when there are fewer usable rows than starts.
  const five = chooseStarts(logT, 5, new Rng(1, 77));
  assertEquals(new Set(five.slice(0, 3)).size, 3);
  assertEquals(five.slice(3), five.slice(0, 2));
  assert(!five.includes(3), "a −∞ row is never a start");
});

Deno.test({
  name: "latent target: a CPU copy of the decoder gives the device's projected compositions and log-target",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const mg = randomVibann(g), mc = randomVibann(cpu);
    try {
      const dg = new DesignModel(g, mg, fixtureScalers(1)), dc = new DesignModel(cpu, mc, fixtureScalers(1));
      const rng = new Rng(5, 3);
      const zs = Float64Array.from({ length: 60 * 3 }, () => rng.normal());
      const mixture = fitGaussianMixture({ rows: 60, cols: 3, data: zs }, { k: 1 }).mixture;
      const o = {
        mixture,
        threshold: -1e9,
        constraints: new CompositionConstraints(ELEMENTS, { minFraction: 0.02 }),
        load: 1,
        passes: 5,
        maskStep: 3,
        utility: { goal: { kind: "maximize" as const }, scale: 100 },
        tau: 1,
        forward: "device" as const, // the path that uses the decoder copy (host evaluation is the default)
      };
      const a = await makeLatentTarget(dg, o).evaluate(zs);
      const b = await makeLatentTarget(dg, { ...o, decoder: dc }).evaluate(zs);
      assertEquals(b.comp, a.comp);
      assertClose(b.logTarget, a.logTarget, { atol: 0, rtol: 0 });
    } finally {
      mg.dispose(), mc.dispose();
    }
  },
});

/** Hand check of every constraint on one exported composition (not the library's checker). */
function checkRow(
  x: Float64Array,
  allowed: Set<string>,
  maxElements: number,
  minFraction: number,
  step: number,
) {
  let sum = 0, present = 0;
  x.forEach((v, j) => {
    assert(v >= 0, `${ELEMENTS[j]} negative`);
    if (v > 0) {
      present++;
      assert(allowed.has(ELEMENTS[j]), `${ELEMENTS[j]} is not allowed but has ${v}`);
      assert(v >= minFraction - 1e-12, `${ELEMENTS[j]} = ${v} below the minimum ${minFraction}`);
    }
    const units = (v * 100) / step;
    assert(
      Math.abs(units - Math.round(units)) < 1e-6,
      `${ELEMENTS[j]} = ${v} is not on the ${step} at.% grid`,
    );
    sum += v;
  });
  assert(Math.abs(sum - 1) < 1e-9, `sum ${sum}`);
  assert(present >= 1 && present <= maxElements, `${present} elements`);
}

Deno.test("design run on a trained tiny model", async (t) => {
  await withDesignFixture(be, async (f) => {
    await t.step(
      "constraints hold on every exported row, numbers re-predict, same seed same CSV, gradient lowers its loss",
      async () => {
        const constraints = {
          elements: ["Fe", "Ni", "Co", "Cr", "B"],
          exclude: ["Co"],
          maxElements: 3,
          minFraction: 0.1,
          precision: 0.5,
        };
        const base = {
          modelDir: f.model,
          dataPath: f.csv,
          backend: be,
          load: 1,
          goal: { kind: "maximize" as const },
          method: "mcmc" as const,
          constraints,
          chains: 6,
          steps: 40,
          mc: 4,
          evalMc: 16,
          calibrationMc: 8,
          n: 5,
          kMax: 3,
          seed: 3,
        };
        const a = await runDesign(base);
        const csv = (r: typeof a) =>
          candidatesCsv(r.evaluation.candidates, {
            constraints: r.constraints,
            load: 1,
            method: "mcmc",
            judge: false,
          });
        const cands = a.evaluation.candidates;
        assert(cands.length >= 1 && cands.length <= 5, `${cands.length} candidates`);
        for (const c of cands) checkRow(c.comp, new Set(["Fe", "Ni", "Cr", "B"]), 3, 0.1, 0.5);
        assertEquals(a.data.trainRows, 30);
        assertEquals(a.data.rowSource, "splits.json sets.train");
        assertEquals(a.mcmc!.stepsRun <= 40, true);
        // Default jumps: ~10 % of chain-steps propose a draw from the prior; accepted ones are a subset.
        const j = a.mcmc!.jumps;
        assertEquals(a.params.jump, 0.1);
        assert(j.proposed > 0 && j.proposed < 6 * 40 * 0.3 && j.accepted <= j.proposed, JSON.stringify(j));
        const c = a.evaluation.counts;
        assert(
          c.selected === cands.length && c.unique <= c.generated && c.evaluated <= c.unique,
          JSON.stringify(c),
        );
        assertEquals(c.generated, a.mcmc!.kept);
        // The exported numbers are an independent re-prediction: a freshly loaded model (seed 3) predicting the
        // exported rows with 16 MC passes gives them exactly (what `alloy predict --mc 16 --seed 3` does).
        const { model, config } = await loadModelDir(f.model, be, { seed: 3 });
        const rows = new Float32Array(cands.length * E);
        cands.forEach((k, i) => rows.set(k.comp, i * E));
        const p = await predictVibann(
          be,
          model,
          memberScalers(config),
          rows,
          new Float64Array(cands.length).fill(1),
          {
            mc: 16,
          },
        );
        model.dispose();
        const s = summarizeMcSamples(p.samples!, 16, { levels: [0.05, 0.95] });
        assertClose(cands.map((k) => k.hvMean), s.mean, { atol: 1e-6, msg: "hv_mean" });
        assertClose(cands.map((k) => k.hvStd), s.std, { atol: 1e-6, msg: "hv_std" });
        assertClose(cands.map((k) => k.hvLcb), s.lcb, { atol: 1e-6, msg: "hv_lcb" });
        assertClose(cands.map((k) => k.hvLo), s.quantiles[0], { atol: 1e-6, msg: "hv_lo = MC 5 %" });
        for (const k of cands) {
          assertEquals(k.accepted, k.gates.logPrior && k.gates.novelty && k.gates.sigma);
          assertEquals(k.gates.sigma, k.hvStd <= 2.5 * a.calibration.sigmaRef);
        }
        // Reproducible by seed.
        const b = await runDesign(base);
        assertEquals(csv(b), csv(a));
        const header = csv(a).split("\n")[0].split(",");
        assertEquals(header, candidateColumns(ELEMENTS, false));
        assertEquals(a.evaluation.interval, "mc5-95");
        // With a conformal calibration at α = 0.1 in config.json, hv_lo/hv_hi are μ ∓ q̂·σ (nothing else changes).
        const cfgPath = join(f.model, CONFIG_FILE);
        const cfg = JSON.parse(Deno.readTextFileSync(cfgPath));
        cfg.conformal = { kind: "normalized", n: 30, alphas: [0.1], q: [1.5], sigmaFloor: 1e-6 };
        Deno.writeTextFileSync(cfgPath, JSON.stringify(cfg));
        const conf = await runDesign(base);
        delete cfg.conformal;
        Deno.writeTextFileSync(cfgPath, JSON.stringify({ ...cfg, conformal: null }));
        assertEquals(conf.evaluation.interval, "conformal90");
        const kc = conf.evaluation.candidates;
        assertClose(kc.map((k) => k.hvMean), cands.map((k) => k.hvMean), { atol: 0, rtol: 0 });
        assertClose(kc.map((k) => k.hvLo), kc.map((k) => k.hvMean - 1.5 * k.hvStd), { atol: 1e-9 });
        assertClose(kc.map((k) => k.hvHi), kc.map((k) => k.hvMean + 1.5 * k.hvStd), { atol: 1e-9 });

        // Gradient stage: lowers its own loss (mean and most starts), exports constrained rows.
        const g = await runDesign({
          ...base,
          method: "gradient",
          steps: 150,
          goal: { kind: "target", hv: 1300 },
        });
        const gi = g.gradient!.initialLoss, gf = g.gradient!.finalLoss;
        const mean = (v: Float64Array) => v.reduce((x, y) => x + y, 0) / v.length;
        assert(mean(gf) < mean(gi), `mean loss ${mean(gi)} → ${mean(gf)}`);
        const better = Array.from(gf).filter((v, i) => v < gi[i]).length;
        assert(better >= gi.length - 1, `${better} of ${gi.length} starts improved: ${gi} → ${gf}`);
        for (const k of g.evaluation.candidates) {
          checkRow(k.comp, new Set(["Fe", "Ni", "Cr", "B"]), 3, 0.1, 0.5);
        }
      },
    );
    await t.step(
      "bad options are one-line user errors; candidates.csv refuses a row that breaks a constraint",
      async () => {
        const base = {
          modelDir: f.model,
          dataPath: f.csv,
          backend: be,
          load: 1,
          goal: { kind: "maximize" as const },
          method: "mcmc" as const,
        };
        await assertRejectsUserError(() => runDesign({ ...base, load: -1 }), "--load");
        await assertRejectsUserError(
          () => runDesign({ ...base, constraints: { exclude: ["Xx"] } }),
          "--exclude",
          "Xx",
        );
        await assertRejectsUserError(
          () => runDesign({ ...base, constraints: { elements: ["Zr"] } }),
          "--elements",
          "Zr",
        );
        await assertRejectsUserError(() => runDesign({ ...base, method: "gpbo" }), "--gp");
        await assertRejectsUserError(() => runDesign({ ...base, gpDir: f.model }), "--gp");
        await assertRejectsUserError(() => runDesign({ ...base, chains: 0 }), "--chains");
        await assertRejectsUserError(() => runDesign({ ...base, modelDir: f.tmp }), "config.json");
        const cons = new CompositionConstraints(ELEMENTS, { maxElements: 2 });
        const bad = {
          comp: Float64Array.of(0.5, 0.3, 0.2, 0, 0, 0),
          formula: "x",
          hvMean: 1,
          hvStd: 1,
          hvLcb: 1,
          hvLo: 1,
          hvHi: 1,
          logPrior: 0,
          novelty: 0,
          gates: { logPrior: true, novelty: true, sigma: true },
          accepted: true,
        };
        let threw = false;
        try {
          candidatesCsv([bad], { constraints: cons, load: 1, method: "mcmc", judge: false });
        } catch (e) {
          threw = /violates a constraint/.test((e as Error).message);
        }
        assert(threw, "a row with 3 elements under --max-elements 2 is refused");
      },
    );
  });
});

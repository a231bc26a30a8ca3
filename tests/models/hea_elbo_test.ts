/**
 * The semi-supervised VAE objective against an independent float64 host implementation on a tiny model with fixed
 * weights: the labelled ELBO terms, the φ enumeration of the unlabelled ELBO, the supervised term, the total loss;
 * gradients against finite differences; CPU/GPU parity on odd shapes.
 */
import type { Backend } from "../../nn/backend.ts";
import { HeaDvae } from "../../nn/models/hea_dvae.ts";
import { heaObjective, labelledElbo, supervisedTerm, unlabelledElbo } from "../../nn/models/hea_elbo.ts";
import { Rng } from "../../nn/random.ts";
import { scope } from "../../nn/scope.ts";
import type { Tensor } from "../../nn/tensor.ts";
import { assert, assertClose, cpu, cpu64, finiteDifferenceFailure, gpu } from "../_helpers.ts";

/** Float64 values of a tensor (any backend), then disposes it. */
async function take(t: Tensor): Promise<Float64Array> {
  const d = t.backend === cpu64 ? Float64Array.from(cpu64.data(t)) : Float64Array.from(await t.read());
  t.dispose();
  return d;
}

const E = 4, D = 3, L = 2, H = [5];

/** A tiny model whose weights are overwritten with seeded values (so the host twin knows them). */
function tinyModel(be: Backend, o: { compositionBranch?: boolean; replicas?: number; prior?: number } = {}) {
  const m = new HeaDvae({
    elements: E,
    descriptors: D,
    latentDim: L,
    hidden: H,
    compositionBranch: o.compositionBranch,
    replicas: o.replicas,
    priorSingle: o.prior ?? 0.3,
    backend: be,
  });
  const rng = new Rng(11, 3);
  const host: Record<string, { shape: number[]; data: Float64Array }> = {};
  for (const { name, tensor } of m.namedTensors()) {
    const d = Float64Array.from({ length: tensor.size }, () => 0.6 * rng.normal());
    be.write(tensor, d);
    host[name] = { shape: [...tensor.shape], data: d };
  }
  return { m, host };
}

// ---- independent host twin (float64, one row at a time) ------------------------------------------------------

const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
type HostW = Record<string, { shape: number[]; data: Float64Array }>;

function dense(w: HostW, name: string, x: number[], act: boolean): number[] {
  const W = w[`${name}.weight`], b = w[`${name}.bias`].data;
  const [inF, outF] = W.shape;
  return Array.from({ length: outF }, (_, j) => {
    let s = b[j];
    for (let i = 0; i < inF; i++) s += x[i] * W.data[i * outF + j];
    return act ? softplus(s) : s;
  });
}

function hostLogit(w: HostW, f: number[], x: number[], branch: boolean): number {
  const h = dense(w, "classifier.0", branch ? [...f, ...x] : f, true);
  return dense(w, "classifier.1", h, false)[0];
}

function hostLabelled(w: HostW, x: number[], phi: number, prior: number, T: number) {
  const h = dense(w, "encoder.0", [...x, phi], true);
  const mu = dense(w, "z_mu", h, false), lv = dense(w, "z_logvar", h, false);
  let kl = 0;
  for (let k = 0; k < L; k++) kl += 0.5 * (Math.exp(lv[k]) + mu[k] ** 2 - 1 - lv[k]);
  const logits = dense(w, "decoder.1", dense(w, "decoder.0", [...mu, phi], true), false);
  const mx = Math.max(...logits);
  const lse = mx + Math.log(logits.reduce((s, v) => s + Math.exp(v - mx), 0));
  let recon = 0;
  for (let i = 0; i < E; i++) recon += T * x[i] * (logits[i] - lse);
  const logPrior = phi * Math.log(prior) + (1 - phi) * Math.log(1 - prior);
  return { recon, kl, logPrior, elbo: recon + logPrior - kl };
}

function rows(n: number, seed: number) {
  const rng = new Rng(seed, 9);
  const x: number[][] = [], f: number[][] = [], phi: number[] = [];
  for (let r = 0; r < n; r++) {
    const raw = Array.from({ length: E }, () => (rng.uniform() < 0.3 ? 0 : rng.uniform()));
    raw[r % E] += 0.2;
    const s = raw.reduce((a, b) => a + b, 0);
    x.push(raw.map((v) => v / s));
    f.push(Array.from({ length: D }, () => rng.normal()));
    phi.push(r % 3 === 0 ? 0 : 1);
  }
  return { x, f, phi };
}

Deno.test("labelled ELBO terms match a hand computation (z = μ)", async () => {
  const { m, host } = tinyModel(cpu64);
  const d = rows(7, 1);
  const x = cpu64.fromData(d.x.flat(), [7, E]), phi = cpu64.fromData(d.phi, [7, 1]);
  const t = labelledElbo(m, x, phi, { sample: false, countScale: 100 });
  const [recon, kl, lp, elbo] = await Promise.all([t.recon, t.kl, t.logPrior, t.elbo].map(take));
  const want = d.x.map((xi, i) => hostLabelled(host, xi, d.phi[i], 0.3, 100));
  assertClose(recon, want.map((w) => w.recon), { atol: 1e-9, rtol: 1e-9, msg: "recon" });
  assertClose(kl, want.map((w) => w.kl), { atol: 1e-9, rtol: 1e-9, msg: "kl" });
  assertClose(lp, want.map((w) => w.logPrior), { atol: 1e-12, rtol: 1e-12, msg: "log prior" });
  assertClose(elbo, want.map((w) => w.elbo), { atol: 1e-9, rtol: 1e-9, msg: "elbo" });
});

Deno.test("the sampled ELBO uses z = μ + σ·ε (KL unchanged, reconstruction at the sample)", async () => {
  const { m } = tinyModel(cpu64);
  const d = rows(5, 2);
  const x = cpu64.fromData(d.x.flat(), [5, E]), phi = cpu64.fromData(d.phi, [5, 1]);
  const det = labelledElbo(m, x, phi, { sample: false });
  const a = labelledElbo(m, x, phi, { sample: true, key: { seed: 3, stream: 1 }, step: 4 });
  const b = labelledElbo(m, x, phi, { sample: true, key: { seed: 3, stream: 1 }, step: 4 });
  const c = labelledElbo(m, x, phi, { sample: true, key: { seed: 3, stream: 1 }, step: 5 });
  assertClose(await take(a.kl), await take(det.kl), { atol: 1e-12, msg: "KL does not depend on the sample" });
  const [ra, rb, rc, rd] = await Promise.all([a.recon, b.recon, c.recon, det.recon].map(take));
  assertClose(ra, rb, { atol: 0, rtol: 0, msg: "same key and step → same sample" });
  assert(ra.some((v, i) => Math.abs(v - rc[i]) > 1e-6), "another step draws another sample");
  assert(ra.some((v, i) => Math.abs(v - rd[i]) > 1e-6), "the sample differs from z = μ");
});

Deno.test("unlabelled ELBO = q·L(x,1) + (1−q)·L(x,0) + H(q), against separate branches and by hand", async () => {
  for (const compositionBranch of [false, true]) {
    const { m, host } = tinyModel(cpu64, { compositionBranch });
    const n = 6, d = rows(n, 3);
    const x = cpu64.fromData(d.x.flat(), [n, E]), f = cpu64.fromData(d.f.flat(), [n, D]);
    const u = unlabelledElbo(m, x, f, { sample: false });
    const l0 = labelledElbo(m, x, cpu64.fill([n, 1], 0), { sample: false }).elbo;
    const l1 = labelledElbo(m, x, cpu64.fill([n, 1], 1), { sample: false }).elbo;
    const [U, q, H0, e0, e1, L0, L1] = await Promise.all(
      [u.elbo, u.q, u.entropy, u.elbo0, u.elbo1, l0, l1].map(take),
    );
    assertClose(e0, L0, { atol: 1e-10, msg: "branch φ=0" });
    assertClose(e1, L1, { atol: 1e-10, msg: "branch φ=1" });
    const want = d.x.map((xi, i) => {
      const s = hostLogit(host, d.f[i], xi, compositionBranch);
      const qi = 1 / (1 + Math.exp(-s));
      const h = -qi * Math.log(qi) - (1 - qi) * Math.log(1 - qi);
      const a = hostLabelled(host, xi, 1, 0.3, 100).elbo, b = hostLabelled(host, xi, 0, 0.3, 100).elbo;
      return { qi, h, u: qi * a + (1 - qi) * b + h };
    });
    assertClose(q, want.map((w) => w.qi), { atol: 1e-12, msg: "q" });
    assertClose(H0, want.map((w) => w.h), { atol: 1e-12, msg: "entropy" });
    assertClose(U, want.map((w) => w.u), { atol: 1e-9, rtol: 1e-9, msg: "U" });
    // The identity on the engine's own numbers.
    assertClose(U, Array.from(q, (qi, i) => qi * L1[i] + (1 - qi) * L0[i] + H0[i]), {
      atol: 1e-9,
      msg: "sum",
    });
  }
});

Deno.test("supervised term is −log q(φ|x) and the objective adds the parts with γ", async () => {
  const { m, host } = tinyModel(cpu64);
  const nl = 5, nu = 4, dl = rows(nl, 4), du = rows(nu, 5);
  const lab = {
    x: cpu64.fromData(dl.x.flat(), [nl, E]),
    f: cpu64.fromData(dl.f.flat(), [nl, D]),
    phi: cpu64.fromData(dl.phi, [nl, 1]),
  };
  const unl = { x: cpu64.fromData(du.x.flat(), [nu, E]), f: cpu64.fromData(du.f.flat(), [nu, D]) };
  const ce = await take(supervisedTerm(m, lab.f, null, lab.phi));
  const wantCe = dl.x.map((_, i) => {
    const q = 1 / (1 + Math.exp(-hostLogit(host, dl.f[i], dl.x[i], false)));
    return -(dl.phi[i] ? Math.log(q) : Math.log(1 - q));
  });
  assertClose(ce, wantCe, { atol: 1e-10, msg: "CE" });
  const gamma = 7;
  const obj = heaObjective(m, { labelled: lab, unlabelled: unl }, { gamma, sample: false });
  const total = (await take(obj.total))[0];
  const terms = await take(obj.terms);
  const meanOf = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const negL = -meanOf(dl.x.map((xi, i) => hostLabelled(host, xi, dl.phi[i], 0.3, 100).elbo));
  const negU = -meanOf(du.x.map((xi, i) => {
    const q = 1 / (1 + Math.exp(-hostLogit(host, du.f[i], xi, false)));
    const h = -q * Math.log(q) - (1 - q) * Math.log(1 - q);
    return q * hostLabelled(host, xi, 1, 0.3, 100).elbo + (1 - q) * hostLabelled(host, xi, 0, 0.3, 100).elbo +
      h;
  }));
  const want = negL + gamma * meanOf(wantCe) + negU;
  assertClose([total], [want], { atol: 1e-8, rtol: 1e-10, msg: "total" });
  assertClose(Array.from(terms).slice(0, 4), [want, negL, meanOf(wantCe), negU], {
    atol: 1e-8,
    msg: "terms",
  });
  // elboWeight 0: the supervised-only network's loss.
  const sup = heaObjective(m, { labelled: lab, unlabelled: unl }, { gamma, sample: false, elboWeight: 0 });
  assertClose(await take(sup.total), [gamma * meanOf(wantCe)], { atol: 1e-10, msg: "supervised only" });
});

Deno.test("gradients of the objective match finite differences (sampled z, composition branch)", () => {
  const { m } = tinyModel(cpu64, { compositionBranch: true });
  const nl = 3, nu = 2, dl = rows(nl, 6), du = rows(nu, 7);
  const lab = {
    x: cpu64.fromData(dl.x.flat(), [nl, E]),
    f: cpu64.fromData(dl.f.flat(), [nl, D]),
    phi: cpu64.fromData(dl.phi, [nl, 1]),
  };
  const unl = { x: cpu64.fromData(du.x.flat(), [nu, E]), f: cpu64.fromData(du.f.flat(), [nu, D]) };
  const f = () =>
    heaObjective(m, { labelled: lab, unlabelled: unl }, {
      gamma: 3,
      countScale: 5,
      sample: true,
      key: { seed: 2, stream: 5 },
      step: 1,
    }).total;
  const fail = scope(() => finiteDifferenceFailure(f, m.parameters(), { seed: 1, atol: 1e-6, rtol: 1e-5 }));
  assert(fail === null, fail ?? "");
});

Deno.test("replicas: each replica's slice of a batched objective equals a single model with its weights", async () => {
  const R = 3;
  const { m: batched } = tinyModel(cpu64, { replicas: R });
  const nl = 4, nu = 3;
  const data = Array.from({ length: R }, (_, r) => ({ l: rows(nl, 20 + r), u: rows(nu, 30 + r) }));
  const stack = (a: number[][][], w: number) => cpu64.fromData(a.flat(2), [R, a[0].length, w]);
  const obj = heaObjective(batched, {
    labelled: {
      x: stack(data.map((d) => d.l.x), E),
      f: stack(data.map((d) => d.l.f), D),
      phi: cpu64.fromData(data.flatMap((d) => d.l.phi), [R, nl, 1]),
    },
    unlabelled: { x: stack(data.map((d) => d.u.x), E), f: stack(data.map((d) => d.u.f), D) },
  }, { sample: false });
  const terms = await take(obj.terms);
  const names = batched.namedTensors();
  for (let r = 0; r < R; r++) {
    const single = new HeaDvae({
      elements: E,
      descriptors: D,
      latentDim: L,
      hidden: H,
      priorSingle: 0.3,
      backend: cpu64,
    });
    const sn = single.namedTensors();
    for (let k = 0; k < sn.length; k++) {
      const all = cpu64.data(names[k].tensor), per = sn[k].tensor.size;
      cpu64.write(sn[k].tensor, all.subarray(r * per, (r + 1) * per));
    }
    const d = data[r];
    const o = heaObjective(single, {
      labelled: {
        x: cpu64.fromData(d.l.x.flat(), [nl, E]),
        f: cpu64.fromData(d.l.f.flat(), [nl, D]),
        phi: cpu64.fromData(d.l.phi, [nl, 1]),
      },
      unlabelled: { x: cpu64.fromData(d.u.x.flat(), [nu, E]), f: cpu64.fromData(d.u.f.flat(), [nu, D]) },
    }, { sample: false });
    assertClose(Array.from(terms.subarray(r * 6, r * 6 + 6)), await take(o.terms), {
      atol: 1e-9,
      msg: `r${r}`,
    });
  }
});

Deno.test("CPU and GPU agree on the objective (odd batch sizes)", async () => {
  const g = await gpu();
  if (!g) {
    console.warn("skipping GPU parity: no WebGPU adapter");
    return;
  }
  const nl = 7, nu = 5, dl = rows(nl, 8), du = rows(nu, 9);
  const run = async (be: Backend) => {
    const { m } = tinyModel(be);
    const o = heaObjective(m, {
      labelled: {
        x: be.fromData(dl.x.flat(), [nl, E]),
        f: be.fromData(dl.f.flat(), [nl, D]),
        phi: be.fromData(dl.phi, [nl, 1]),
      },
      unlabelled: { x: be.fromData(du.x.flat(), [nu, E]), f: be.fromData(du.f.flat(), [nu, D]) },
    }, { sample: true, key: { seed: 4, stream: 2 }, step: 3 });
    return await take(o.terms);
  };
  assertClose(await run(g), await run(cpu), { atol: 1e-3, rtol: 1e-4, msg: "terms" });
});

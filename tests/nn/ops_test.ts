/**
 * One table of every differentiable op. Each case is checked twice:
 * 1. float64 CPU: analytic gradients from `gradients()` (seeded with a random G, i.e. L = Σ op(inputs) ⊙ G) against
 *    central finite differences on every input entry;
 * 2. WebGPU against the float32 CPU backend: forward values and the same gradients, within float32 tolerances.
 */
import { assertClose, cpu, cpu64, finiteDifferenceFailure, gpu, HAS_GPU, randn, randu } from "../_helpers.ts";
import type { Activation, Backend, BinaryOp, LossKind, ReduceOp, UnaryOp } from "../../nn/backend.ts";
import type { Tensor } from "../../nn/tensor.ts";
import type { CpuBackend } from "../../nn/cpu_backend.ts";
import { gradients } from "../../nn/autodiff.ts";
import { scope } from "../../nn/scope.ts";
import { sizeOf } from "../../nn/shape.ts";
import {
  attention,
  binary,
  broadcastTo,
  concat,
  dropout,
  gather,
  logSoftmax,
  loss,
  matmul,
  mean,
  pairwise,
  permute,
  reduce,
  reparameterize,
  reshape,
  slice,
  softmax,
  transpose,
  unary,
  unsqueeze,
  where,
} from "../../nn/ops.ts";

/** How input values are drawn: normal, positive in [0.3, 2), probabilities in [0.05, 0.95). */
type Kind = "normal" | "positive" | "prob";

interface InputSpec {
  shape: number[];
  kind?: Kind;
  /** Points where the op is not differentiable; values closer than 0.02 are moved 0.05 away. */
  kinks?: number[];
}

interface Case {
  name: string;
  inputs: InputSpec[];
  /** The op under test; constants (indices, masks, targets) are made on `be` inside. */
  fn: (be: Backend, xs: Tensor[]) => Tensor;
  /** GPU-vs-CPU tolerance override. */
  tol?: { atol: number; rtol: number };
}

const n = (shape: number[]) => sizeOf(shape);
const c = (be: Backend, data: number[], shape: number[]) => be.fromData(data, shape);

// ---- the table -----------------------------------------------------------------------------------------------

const UNARY: Record<UnaryOp, { a?: number; b?: number; kind?: Kind; kinks?: number[] }[]> = {
  neg: [{}],
  exp: [{}],
  log: [{ kind: "positive" }],
  sqrt: [{ kind: "positive" }],
  rsqrt: [{ kind: "positive" }],
  abs: [{ kinks: [0] }],
  square: [{}],
  reciprocal: [{ kind: "positive" }],
  sign: [{ kinks: [0] }],
  relu: [{ kinks: [0] }],
  leaky_relu: [{ a: 0.1, kinks: [0] }, { a: 0.01, kinks: [0] }],
  tanh: [{}],
  sigmoid: [{}],
  softplus: [{}],
  gelu: [{}],
  affine: [{ a: 1.5, b: -0.25 }],
  pow: [{ a: 3 }, { a: 2.5, kind: "positive" }, { a: -0.5, kind: "positive" }],
  clamp: [{ a: -0.5, b: 0.7, kinks: [-0.5, 0.7] }],
  step: [{ a: 0.2, kinks: [0.2] }],
  sin: [{}],
  cos: [{}],
};

const BINARY: Record<BinaryOp, Kind[]> = {
  add: ["normal", "normal"],
  sub: ["normal", "normal"],
  mul: ["normal", "normal"],
  div: ["normal", "positive"],
  max: ["normal", "normal"],
  min: ["normal", "normal"],
  pow: ["positive", "normal"],
  gt: ["normal", "normal"],
  ge: ["normal", "normal"],
  lt: ["normal", "normal"],
  eq: ["normal", "normal"],
};
const BROADCASTS: [number[], number[]][] = [[[3, 4], [3, 4]], [[3, 4], [4]], [[3, 1], [1, 4]], [[2, 3, 4], [
  3,
  1,
]], [
  [],
  [2, 3],
]];

const REDUCE_AXES: [number | number[] | undefined, boolean][] = [
  [undefined, false],
  [0, false],
  [-1, false],
  [[0, 2], false],
  [1, true],
  [[0, 2], true],
];

const ACTIVATIONS: Record<Activation, number> = {
  identity: 0,
  relu: 0,
  leaky_relu: 0.2,
  tanh: 0,
  sigmoid: 0,
  softplus: 0,
  gelu: 0,
};

const LOSS_INPUTS: Record<LossKind, { pred: Kind; target: (be: Backend) => Tensor }> = {
  weighted_mse: { pred: "normal", target: (be) => be.fromData(randn(12, 91), [4, 3]) },
  // Target rows are distributions.
  kl_categorical: {
    pred: "prob",
    target: (be) => c(be, [0.2, 0.3, 0.5, 0.6, 0.1, 0.3, 1 / 3, 1 / 3, 1 / 3, 0.05, 0.9, 0.05], [4, 3]),
  },
  bce_logits: { pred: "normal", target: (be) => be.fromData(randu(12, 92), [4, 3]) },
};

const CASES: Case[] = [];

for (const [op, variants] of Object.entries(UNARY) as [UnaryOp, typeof UNARY[UnaryOp]][]) {
  for (const v of variants) {
    CASES.push({
      name: `unary ${op}(a=${v.a ?? 0}, b=${v.b ?? 0})`,
      inputs: [{ shape: [3, 5], kind: v.kind, kinks: v.kinks }],
      fn: (_be, [x]) => unary(op, x, v.a ?? 0, v.b ?? 0),
    });
  }
}
for (const [op, kinds] of Object.entries(BINARY) as [BinaryOp, Kind[]][]) {
  for (const [sa, sb] of BROADCASTS) {
    CASES.push({
      name: `binary ${op} ${JSON.stringify(sa)} ⊕ ${JSON.stringify(sb)}`,
      inputs: [{ shape: sa, kind: kinds[0] }, { shape: sb, kind: kinds[1] }],
      fn: (_be, [a, b]) => binary(op, a, b),
    });
  }
}
CASES.push(
  {
    name: "where cond [3,1], a [3,4], b [4]",
    inputs: [{ shape: [3, 4] }, { shape: [4] }],
    fn: (be, [a, b]) => where(c(be, [1, 0, 1], [3, 1]), a, b),
  },
  {
    name: "where cond [2,3], a [], b [2,3]",
    inputs: [{ shape: [] }, { shape: [2, 3] }],
    fn: (be, [a, b]) => where(c(be, [0, 1, 1, 0, 0, 1], [2, 3]), a, b),
  },
);
for (const op of ["sum", "max", "min", "logsumexp", "mean"] as (ReduceOp | "mean")[]) {
  for (const [axes, keep] of REDUCE_AXES) {
    CASES.push({
      name: `${op} axes ${JSON.stringify(axes ?? "all")} keepDims=${keep}`,
      inputs: [{ shape: [3, 4, 5] }],
      fn: (_be, [x]) => op === "mean" ? mean(x, axes, keep) : reduce(op, x, axes, keep),
    });
  }
}
CASES.push(
  { name: "sum over an empty axis", inputs: [{ shape: [0, 3] }], fn: (_be, [x]) => reduce("sum", x, 0) },
  {
    name: "mul with an empty operand",
    inputs: [{ shape: [2, 0] }, { shape: [0] }],
    fn: (_be, [a, b]) => binary("mul", a, b),
  },
);
for (const axis of [-1, 0, 1]) {
  CASES.push(
    { name: `softmax axis ${axis}`, inputs: [{ shape: [3, 4, 5] }], fn: (_be, [x]) => softmax(x, axis) },
    {
      name: `logSoftmax axis ${axis}`,
      inputs: [{ shape: [3, 4, 5] }],
      fn: (_be, [x]) => logSoftmax(x, axis),
    },
  );
}
CASES.push(
  { name: "reshape [3,4] → [2,-1,3]", inputs: [{ shape: [3, 4] }], fn: (_be, [x]) => reshape(x, [2, -1, 3]) },
  { name: "unsqueeze axis 1", inputs: [{ shape: [3, 4] }], fn: (_be, [x]) => unsqueeze(x, 1) },
  { name: "permute [2,0,1]", inputs: [{ shape: [2, 3, 4] }], fn: (_be, [x]) => permute(x, [2, 0, 1]) },
  { name: "transpose [2,3,4]", inputs: [{ shape: [2, 3, 4] }], fn: (_be, [x]) => transpose(x) },
  {
    name: "slice [4,5] begin [1,2] size [2,-1]",
    inputs: [{ shape: [4, 5] }],
    fn: (_be, [x]) => slice(x, [1, 2], [2, -1]),
  },
  {
    name: "slice [3,4,5] begin [0,1,2] size [3,2,1]",
    inputs: [{ shape: [3, 4, 5] }],
    fn: (_be, [x]) => slice(x, [0, 1, 2], [3, 2, 1]),
  },
  {
    name: "concat axis 1 of [2,1,3], [2,4,3], [2,2,3]",
    inputs: [{ shape: [2, 1, 3] }, { shape: [2, 4, 3] }, { shape: [2, 2, 3] }],
    fn: (_be, xs) => concat(xs, 1),
  },
  {
    name: "concat axis 0 of [1,3], [2,3]",
    inputs: [{ shape: [1, 3] }, { shape: [2, 3] }],
    fn: (_be, xs) => concat(xs, 0),
  },
  {
    name: "gather axis 0, duplicate indices",
    inputs: [{ shape: [3, 4] }],
    fn: (be, [x]) => gather(x, be.fromData([2, 0, 2, 1, 2], [5], "i32"), 0),
  },
  {
    name: "gather axis 1 of [2,4,3], duplicate indices",
    inputs: [{ shape: [2, 4, 3] }],
    fn: (be, [x]) => gather(x, be.fromData([3, 3, 0], [3], "i32"), 1),
  },
  {
    name: "broadcastTo [3,1] → [2,3,4]",
    inputs: [{ shape: [3, 1] }],
    fn: (_be, [x]) => broadcastTo(x, [2, 3, 4]),
  },
  { name: "broadcastTo [] → [2,3]", inputs: [{ shape: [] }], fn: (_be, [x]) => broadcastTo(x, [2, 3]) },
  { name: "pairwise [3,5]", inputs: [{ shape: [3, 5] }], fn: (_be, [x]) => pairwise(x) },
  { name: "pairwise [2,2,4]", inputs: [{ shape: [2, 2, 4] }], fn: (_be, [x]) => pairwise(x) },
);
for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    CASES.push({
      name: `matmul transA=${transA} transB=${transB}`,
      inputs: [{ shape: transA ? [4, 3] : [3, 4] }, { shape: transB ? [5, 4] : [4, 5] }],
      fn: (_be, [a, b]) => matmul(a, b, { transA, transB }),
    });
    CASES.push({
      name: `matmul batched [2,·,·] transA=${transA} transB=${transB} with bias [2,1,5]`,
      inputs: [{ shape: transA ? [2, 4, 3] : [2, 3, 4] }, { shape: transB ? [2, 5, 4] : [2, 4, 5] }, {
        shape: [2, 1, 5],
      }],
      fn: (_be, [a, b, bias]) => matmul(a, b, { transA, transB, bias }),
    });
  }
}
CASES.push(
  {
    name: "matmul [R,B,K]×[K,N] + bias [N]",
    inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [5] }],
    fn: (_be, [a, b, bias]) => matmul(a, b, { bias }),
  },
  {
    name: "matmul [R,B,K]×[R,K,N] + bias [R,1,N]",
    inputs: [{ shape: [3, 2, 4] }, { shape: [3, 4, 5] }, { shape: [3, 1, 5] }],
    fn: (_be, [a, b, bias]) => matmul(a, b, { bias }),
  },
  {
    name: "matmul [R,B,K]×[K,N] + bias [1,1,N] (bias broadcast over replicas)",
    inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [1, 1, 5] }],
    fn: (_be, [a, b, bias]) => matmul(a, b, { bias, activation: "sigmoid" }),
  },
  {
    name: "matmul [B,K]×[R,K,N] (a broadcast)",
    inputs: [{ shape: [3, 4] }, { shape: [2, 4, 5] }],
    fn: (_be, [a, b]) => matmul(a, b),
  },
  {
    name: "matmul [2,1,3,4]×[3,4,2] (both broadcast)",
    inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }],
    fn: (_be, [a, b]) => matmul(a, b),
  },
  {
    name: "matmul leaky_relu with a negative slope",
    inputs: [{ shape: [3, 4] }, { shape: [4, 5] }, { shape: [5] }],
    fn: (_be, [a, b, bias]) => matmul(a, b, { bias, activation: "leaky_relu", alpha: -0.3 }),
  },
);
for (const [act, alpha] of Object.entries(ACTIVATIONS) as [Activation, number][]) {
  CASES.push(
    {
      name: `matmul + bias [N] + ${act}`,
      inputs: [{ shape: [3, 4] }, { shape: [4, 5] }, { shape: [5] }],
      fn: (_be, [a, b, bias]) => matmul(a, b, { bias, activation: act, alpha }),
    },
    {
      name: `matmul [R,B,K]×[R,K,N] + bias [R,1,N] + ${act}`,
      inputs: [{ shape: [2, 3, 4] }, { shape: [2, 4, 5] }, { shape: [2, 1, 5] }],
      fn: (_be, [a, b, bias]) => matmul(a, b, { bias, activation: act, alpha }),
    },
  );
}
// Odd, size-1, empty and longer shapes (the GPU kernels switch code paths on size).
CASES.push(
  {
    name: "matmul odd sizes [5,33]×[33,17] + bias + gelu",
    inputs: [{ shape: [5, 33] }, { shape: [33, 17] }, { shape: [17] }],
    fn: (_be, [a, b, bias]) => matmul(a, b, { bias, activation: "gelu" }),
  },
  {
    name: "matmul odd sizes [2,17,9]ᵀ×[2,13,17]ᵀ",
    inputs: [{ shape: [2, 17, 9] }, { shape: [2, 13, 17] }],
    fn: (_be, [a, b]) => matmul(a, b, { transA: true, transB: true }),
  },
  {
    name: "matmul [1,1]×[1,1] + bias",
    inputs: [{ shape: [1, 1] }, { shape: [1, 1] }, { shape: [1] }],
    fn: (_be, [a, b, bias]) => matmul(a, b, { bias }),
  },
  {
    name: "matmul with K = 0 (bias only)",
    inputs: [{ shape: [3, 0] }, { shape: [0, 4] }, { shape: [4] }],
    fn: (_be, [a, b, bias]) => matmul(a, b, { bias, activation: "tanh" }),
  },
  {
    name: "matmul with M = 0",
    inputs: [{ shape: [0, 3] }, { shape: [3, 4] }, { shape: [4] }],
    fn: (_be, [a, b, bias]) => matmul(a, b, { bias }),
  },
  {
    name: "sum over a long axis [2,700]",
    inputs: [{ shape: [2, 700] }],
    fn: (_be, [x]) => reduce("sum", x, 1),
  },
  {
    name: "max over a long axis [700,2]",
    inputs: [{ shape: [700, 2] }],
    fn: (_be, [x]) => reduce("max", x, 0),
  },
  {
    name: "logsumexp over all of [3,257]",
    inputs: [{ shape: [3, 257] }],
    fn: (_be, [x]) => reduce("logsumexp", x, undefined, true),
  },
  {
    name: "softmax over a long axis [3,300]",
    inputs: [{ shape: [3, 300] }],
    fn: (_be, [x]) => softmax(x, 1),
  },
  {
    name: "logSoftmax over an axis of extent 1",
    inputs: [{ shape: [4, 1] }],
    fn: (_be, [x]) => logSoftmax(x, 1),
  },
  { name: "mean over a size-1 axis", inputs: [{ shape: [3, 1, 2] }], fn: (_be, [x]) => mean(x, 1) },
  {
    name: "gather from a [50,3] table, 40 indices",
    inputs: [{ shape: [50, 3] }],
    fn: (be, [x]) =>
      gather(x, be.fromData(Array.from({ length: 40 }, (_, i) => (i * 7) % 50 % 13), [40], "i32"), 0),
  },
  {
    name: "attention q/k/v [1,17,2,8] with mask",
    inputs: [{ shape: [1, 17, 2, 8] }, { shape: [1, 17, 2, 8] }, { shape: [1, 17, 2, 8] }],
    fn: (be, [q, k, v]) =>
      attention(q, k, v, c(be, Array.from({ length: 17 }, (_, i) => (i % 5 === 4 ? 0 : 1)), [1, 17])),
  },
);
const MASK = [1, 1, 1, 0, 1, 1, 0, 1, 1, 0];
CASES.push(
  {
    name: "attention with mask q [2,3,2,4], k/v [2,5,2,4]",
    inputs: [{ shape: [2, 3, 2, 4] }, { shape: [2, 5, 2, 4] }, { shape: [2, 5, 2, 4] }],
    fn: (be, [q, k, v]) => attention(q, k, v, c(be, MASK, [2, 5])),
  },
  {
    name: "attention without mask, scale 0.3, q [1,4,3,2], k/v [1,2,3,2]",
    inputs: [{ shape: [1, 4, 3, 2] }, { shape: [1, 2, 3, 2] }, { shape: [1, 2, 3, 2] }],
    fn: (_be, [q, k, v]) => attention(q, k, v, null, 0.3),
  },
  {
    name: "reparameterize z path",
    inputs: [{ shape: [3, 4] }, { shape: [3, 4] }],
    fn: (_be, [mu, lv]) => reparameterize(mu, lv, { seed: 5, stream: 9 }, 3).z,
  },
  {
    name: "reparameterize kl path",
    inputs: [{ shape: [3, 4] }, { shape: [3, 4] }],
    fn: (_be, [mu, lv]) => reparameterize(mu, lv, { seed: 5, stream: 9 }, 3).kl,
  },
  {
    name: "reparameterize z and kl together",
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }],
    fn: (_be, [mu, lv]) => {
      const { z, kl } = reparameterize(mu, lv, { seed: 1, stream: 2 }, 0);
      return concat([reshape(z, [-1]), kl], 0);
    },
  },
  {
    name: "dropout p=0.3 (fixed key and step)",
    inputs: [{ shape: [4, 6] }],
    fn: (_be, [x]) => dropout(x, 0.3, { seed: 7, stream: 3 }, 2),
  },
);
for (const [kind, spec] of Object.entries(LOSS_INPUTS) as [LossKind, typeof LOSS_INPUTS[LossKind]][]) {
  CASES.push(
    {
      name: `loss ${kind} with weights`,
      inputs: [{ shape: [4, 3], kind: spec.pred }],
      fn: (be, [p]) => loss(kind, p, spec.target(be), c(be, [0.5, 1, 2, 0.25], [4])),
    },
    {
      name: `loss ${kind} without weights`,
      inputs: [{ shape: [4, 3], kind: spec.pred }],
      fn: (be, [p]) => loss(kind, p, spec.target(be)),
    },
  );
}

// ---- machinery -------------------------------------------------------------------------------------------------

function inputData(spec: InputSpec, seed: number): Float32Array {
  const len = n(spec.shape);
  const d = spec.kind === "positive"
    ? randu(len, seed, 0.3, 2)
    : spec.kind === "prob"
    ? randu(len, seed, 0.05, 0.95)
    : randn(len, seed);
  for (let i = 0; i < len; i++) {
    for (const k of spec.kinks ?? []) if (Math.abs(d[i] - k) < 0.02) d[i] = k + (d[i] < k ? -0.05 : 0.05);
  }
  return d;
}

function makeInputs(be: Backend, cs: Case, ci: number): Tensor[] {
  return cs.inputs.map((s, k) => {
    const t = be.fromData(inputData(s, 1000 * ci + k + 1), s.shape);
    t.requiresGrad = true;
    return t;
  });
}

/** Runs one case on the float64 CPU backend; returns the failure message or null. */
function fdCheck(cs: Case, ci: number, be: CpuBackend): string | null {
  return scope(() => {
    const xs = makeInputs(be, cs, ci);
    return finiteDifferenceFailure(() => cs.fn(be, xs), xs, { seed: 7000 + ci, missingIsZero: true });
  });
}

Deno.test("ops: the table covers every unary, binary, reduce, activation and loss kind", () => {
  // The Record types above make a missing op a type error; this guards against an empty variant list.
  for (const [op, v] of Object.entries(UNARY)) if (!v.length) throw new Error(`no case for ${op}`);
  if (CASES.length < 150) throw new Error(`only ${CASES.length} cases`);
});

Deno.test("ops: analytic gradients match central finite differences for every op (float64 CPU)", () => {
  const failures: string[] = [];
  CASES.forEach((cs, ci) => {
    try {
      const msg = fdCheck(cs, ci, cpu64);
      if (msg) failures.push(`${cs.name}: ${msg}`);
    } catch (e) {
      failures.push(`${cs.name}: threw ${(e as Error).message}`);
    }
  });
  if (failures.length) {
    throw new Error(`${failures.length}/${CASES.length} cases failed:\n${failures.join("\n")}`);
  }
});

async function readAll(ts: (Tensor | null)[]): Promise<(Float32Array | Int32Array | null)[]> {
  const out: (Float32Array | Int32Array | null)[] = [];
  for (const t of ts) out.push(t ? await t.read() : null);
  return out;
}

Deno.test({
  name: "ops: forward and gradients of every op on WebGPU match the float32 CPU backend",
  ignore: !HAS_GPU,
  async fn() {
    const g = (await gpu())!;
    const failures: string[] = [];
    for (let ci = 0; ci < CASES.length; ci++) {
      const cs = CASES[ci];
      try {
        const run = (be: Backend) =>
          scope(() => {
            const xs = makeInputs(be, cs, ci);
            const y = cs.fn(be, xs);
            const G = be.fromData(randn(y.size, 7000 + ci), y.shape);
            return [y, ...gradients(y, xs, G)];
          });
        const rc = run(cpu), rg = run(g);
        const [vc, vg] = [await readAll(rc), await readAll(rg)];
        for (const t of [...rc, ...rg]) t?.dispose();
        const { atol, rtol } = cs.tol ?? { atol: 2e-5, rtol: 2e-4 };
        for (let k = 0; k < vc.length; k++) {
          const what = k === 0 ? "forward" : `gradient ${k - 1}`;
          if (!vc[k] !== !vg[k]) throw new Error(`${what}: null on one backend only`);
          if (JSON.stringify(rc[k]?.shape) !== JSON.stringify(rg[k]?.shape)) {
            throw new Error(`${what}: shapes differ`);
          }
          if (vc[k]) assertClose(vg[k]!, vc[k]!, { atol, rtol, msg: what });
        }
      } catch (e) {
        failures.push(`${cs.name}: ${(e as Error).message.split("\n").slice(0, 3).join(" | ")}`);
      }
    }
    if (failures.length) {
      throw new Error(`${failures.length}/${CASES.length} cases failed:\n${failures.join("\n")}`);
    }
  },
});

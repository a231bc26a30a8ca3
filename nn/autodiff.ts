/**
 * Tape-based reverse-mode autodiff. Ops attach a {@link GradNode} to their output while recording is on; the
 * gradient walks the nodes in reverse topological order and accumulates (never assigns) input gradients.
 * @module
 */
import type { GradNode, Tensor } from "./tensor.ts";
import { sameShape, ShapeError, shapeStr } from "./shape.ts";

let recording = true;

/** Whether ops currently record gradient nodes. */
export function isRecording(): boolean {
  return recording;
}

/**
 * Runs `fn` without recording gradients (inference, metric computation, optimiser updates).
 * @example
 * ```ts
 * const y = noGrad(() => model.forward(x));
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const prev = recording;
  recording = false;
  try {
    return fn();
  } finally {
    recording = prev;
  }
}

/** Attaches a gradient node to `out` when recording and any input requires a gradient. Returns `out`. */
export function record(
  out: Tensor,
  op: string,
  inputs: (Tensor | null)[],
  backward: GradNode["backward"],
): Tensor {
  if (!recording || !inputs.some((t) => t?.requiresGrad)) return out;
  out.requiresGrad = true;
  out.node = { op, inputs: inputs.map((t) => (t?.requiresGrad ? t : null)), backward };
  return out;
}

/**
 * Like {@link record} for an op with several outputs and one backward over all of them: the gradient pass calls
 * `backward` once, after every output's gradient is complete, with null for outputs that received none (e.g. the
 * sample and the KL of a reparameterisation, whose fused backward kernel takes both gradients at once).
 */
export function recordMulti(
  outs: Tensor[],
  op: string,
  inputs: (Tensor | null)[],
  backward: (grads: (Tensor | null)[]) => (Tensor | null)[],
): Tensor[] {
  if (!recording || !inputs.some((t) => t?.requiresGrad)) return outs;
  const multi = { outputs: outs, backward };
  const ins = inputs.map((t) => (t?.requiresGrad ? t : null));
  const single = (): never => {
    throw new Error(`autodiff: ${op} has several outputs; its backward runs through the multi node`);
  };
  for (const o of outs) {
    o.requiresGrad = true;
    o.node = { op, inputs: ins, backward: single, multi };
  }
  return outs;
}

/** Adds two gradients of the same shape; injected by nn/ops to avoid an import cycle. */
let addGrads: (a: Tensor, b: Tensor) => Tensor = () => {
  throw new Error("autodiff: ops not loaded");
};

/** Internal: installs the add used for gradient accumulation. */
export function setGradAdd(fn: (a: Tensor, b: Tensor) => Tensor): void {
  addGrads = fn;
}

/**
 * Gradients of the scalar `loss` with respect to each of `wrt` (zeros-free: a tensor that does not influence the
 * loss gets `null`). `seed` overrides the initial gradient (default: ones of the loss's shape; it must have the loss's
 * shape). The graph must still be alive: a tensor of it that was disposed (e.g. by the {@link scope} that built it)
 * makes this throw a use-after-free error naming the op, rather than silently cutting the graph.
 */
export function gradients(loss: Tensor, wrt: Tensor[], seed?: Tensor): (Tensor | null)[] {
  if (!seed && loss.size !== 1) {
    throw new ShapeError(`grad: loss must have one element, got shape ${shapeStr(loss.shape)}`);
  }
  if (seed && (!sameShape(seed.shape, loss.shape) || seed.backend !== loss.backend)) {
    throw new ShapeError(
      `grad: seed ${seed.toString()} does not match loss ${loss.toString()}`,
    );
  }
  // Reverse topological order by iterative DFS.
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[loss, false]];
  while (stack.length) {
    const [t, done] = stack.pop()!;
    if (done) {
      order.push(t);
      continue;
    }
    if (visited.has(t)) continue;
    visited.add(t);
    stack.push([t, true]);
    for (const i of t.node?.inputs ?? []) {
      if (!i) continue;
      // A freed input has lost its node: going on would silently cut the graph (null gradients), so fail loudly.
      if (i.disposed) {
        throw new ShapeError(
          `grad of ${
            t.node!.op
          }: use after free: its input ${i.toString()} was disposed (compute gradients inside ` +
            `the scope that built the graph)`,
        );
      }
      if (!visited.has(i)) stack.push([i, false]);
    }
  }
  const grads = new Map<Tensor, Tensor>();
  grads.set(loss, seed ?? loss.backend.fill(loss.shape, 1));
  // Multi-output nodes run once, at the last of their outputs in the walk (by then every output's consumers have
  // been processed, so all their gradients are complete).
  const multiLeft = new Map<object, number>();
  for (const t of order) {
    const m = t.node?.multi;
    if (m) multiLeft.set(m, (multiLeft.get(m) ?? 0) + 1);
  }
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = grads.get(t);
    const node = t.node;
    if (!node) continue;
    const multi = node.multi;
    if (multi) {
      const left = multiLeft.get(multi)! - 1;
      multiLeft.set(multi, left);
      if (left > 0 || multi.outputs.every((o) => !grads.get(o))) continue;
    } else if (!g) continue;
    let ins: (Tensor | null)[];
    try {
      ins = multi ? multi.backward(multi.outputs.map((o) => grads.get(o) ?? null)) : node.backward(g!);
    } catch (e) {
      // Typically a use after free: the forward tensors were disposed (e.g. by a scope) before the backward pass.
      if (e instanceof ShapeError) throw new ShapeError(`grad of ${node.op}: ${e.message}`);
      throw e;
    }
    node.inputs.forEach((inp, j) => {
      const gi = ins[j];
      if (!inp || !gi) return;
      if (gi.shape.length !== inp.shape.length || gi.shape.some((d, q) => d !== inp.shape[q])) {
        throw new ShapeError(
          `grad: ${node.op} produced a gradient of shape ${shapeStr(gi.shape)} for an input of shape ${
            shapeStr(inp.shape)
          }`,
        );
      }
      const prev = grads.get(inp);
      grads.set(inp, prev ? addGrads(prev, gi) : gi);
    });
  }
  return wrt.map((w) => grads.get(w) ?? null);
}

/**
 * Returns a function computing `f(...)` and the gradients of its scalar result with respect to `params`.
 * Missing gradients are returned as zeros so optimisers can treat every parameter alike.
 * @example
 * ```ts
 * const [loss, [gw]] = valueAndGrad(() => mean(square(matmul(x, w))), [w])();
 * ```
 */
export function valueAndGrad(f: () => Tensor, params: Tensor[]): () => [Tensor, Tensor[]] {
  return () => {
    const loss = f();
    const gs = gradients(loss, params);
    return [loss, gs.map((g, i) => g ?? params[i].backend.fill(params[i].shape, 0))];
  };
}

/** Like {@link valueAndGrad} but returns only the gradients. */
export function grad(f: () => Tensor, params: Tensor[]): () => Tensor[] {
  const vg = valueAndGrad(f, params);
  return () => vg()[1];
}

/**
 * Memory scopes. Every tensor created inside {@link scope} is disposed when the scope ends, except the tensors found
 * in its return value and those passed to {@link keep}. Scopes are synchronous on purpose: nothing asynchronous may
 * happen between recording a step and freeing it, so a training step never leaks and never waits.
 * @module
 */
import type { Tensor } from "./tensor.ts";

const stack: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();

/** Registers a new tensor with the innermost scope (called by the Tensor constructor). */
export function trackTensor(t: Tensor): void {
  if (stack.length) stack[stack.length - 1].add(t);
}

/** Exempts `t` from disposal by any enclosing scope (e.g. a parameter or running statistic made inside a step). */
export function keep<T extends Tensor>(t: T): T {
  kept.add(t);
  for (const s of stack) s.delete(t);
  return t;
}

function collect(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== "object" || seen.has(value)) return;
  seen.add(value);
  // Duck-typed (importing Tensor here would be circular); `disposed` is read because `storage` throws once freed.
  if (typeof (value as Tensor).disposed === "boolean" && (value as Tensor).backend !== undefined) {
    out.add(value as Tensor);
    return;
  }
  if (Array.isArray(value)) { for (const v of value) collect(v, out, seen); }
  else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value as Record<string, unknown>)) collect(v, out, seen);
  }
}

/**
 * Runs `fn` and disposes every tensor it created, except those reachable from its result (arrays and plain objects
 * are searched) and those passed to {@link keep}. Returned tensors move to the enclosing scope.
 * @example
 * ```ts
 * const loss = scope(() => mean(square(sub(predict(x), y))));
 * ```
 */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Tensor>();
  stack.push(mine);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new Error("scope(): the function must be synchronous (await outside the scope)");
    }
  } catch (e) {
    stack.pop();
    for (const t of mine) if (!kept.has(t)) t.dispose();
    throw e;
  }
  stack.pop();
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  for (const t of mine) {
    if (survivors.has(t) || kept.has(t)) continue;
    t.dispose();
  }
  if (stack.length) { for (const t of survivors) if (mine.has(t)) stack[stack.length - 1].add(t); }
  return result;
}

/** Depth of the scope stack (for tests). */
export function scopeDepth(): number {
  return stack.length;
}

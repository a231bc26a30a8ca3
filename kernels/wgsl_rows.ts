/**
 * A per-row sum kernel skeleton shared by the fused losses and the reparameterisation kernel: rows × L elements,
 * each row summed over its L elements. Either one thread per row (serial sum) or one workgroup per row with a
 * shared-memory tree reduction; both are indexed with {@link grid1d}, so any row count works.
 * @module
 */
import { FLAT_WG, grid1d, GRID_ARGS } from "./kernel_spec.ts";

/** How a row kernel maps rows to invocations. */
export type RowMode = "thread" | "group";

const THREAD_WG = 64;

/**
 * The default mapping: a thread per row for short rows (≤ 32), or when there are enough rows (≥ 4096) to occupy the
 * device and rows are moderate (≤ 256); a workgroup per row otherwise. (On lavapipe, 16384 rows of 64: 10 ms per
 * row thread vs 24 ms per row workgroup.)
 */
export function rowMode(rows: number, L: number): RowMode {
  return L <= 32 || (rows >= 4096 && L <= 256) ? "thread" : "group";
}

/** The code pieces of a row kernel. Inside them `r` is the row, `j` the column, `i = r·L + j` the flat index. */
export interface RowKernelParts {
  /** Number of rows. */
  rows: number;
  /** Row length (may be 0: every row sum is then 0). */
  L: number;
  /** Module-scope declarations (uniform struct, bindings, helper functions). */
  decls: string;
  /** Statements per element; they add the element's term to `acc`. */
  term: string;
  /** Statements run once per row by one thread, with the row sum in `s`. */
  post: string;
  /** Row mapping (part of the caller's spec key). */
  mode: RowMode;
}

/** WGSL source and grid of a row kernel. */
export function rowKernel(parts: RowKernelParts): { source: string; workgroups: [number, number, number] } {
  const { rows, L, decls, term, post, mode } = parts;
  if (mode === "thread") {
    return {
      workgroups: grid1d(Math.ceil(rows / THREAD_WG)),
      source: `${decls}
@compute @workgroup_size(${THREAD_WG})
fn main(${GRID_ARGS}) {
  let r = ${FLAT_WG} * ${THREAD_WG}u + lid;
  if (r >= ${rows}u) { return; }
  var acc = 0.0;
  for (var j = 0u; j < ${L}u; j++) {
    let i = r * ${L}u + j;
    ${term}
  }
  let s = acc;
  ${post}
}`,
    };
  }
  let wg = 32;
  while (wg < 256 && wg < L) wg *= 2;
  // Unrolled tree reduction: every barrier sits in plainly uniform control flow.
  const tree: string[] = [];
  for (let o = wg >> 1; o > 0; o >>= 1) {
    tree.push(
      `if (lid < ${o}u) { row_red[lid] = row_red[lid] + row_red[lid + ${o}u]; }`,
      "workgroupBarrier();",
    );
  }
  return {
    workgroups: grid1d(rows),
    source: `${decls}
var<workgroup> row_red: array<f32, ${wg}>;
@compute @workgroup_size(${wg})
fn main(${GRID_ARGS}) {
  let r = ${FLAT_WG};
  if (r >= ${rows}u) { return; }
  var acc = 0.0;
  for (var j = lid; j < ${L}u; j += ${wg}u) {
    let i = r * ${L}u + j;
    ${term}
  }
  row_red[lid] = acc;
  workgroupBarrier();
  ${tree.join("\n  ")}
  if (lid == 0u) {
    let s = row_red[0];
    ${post}
  }
}`,
  };
}

/**
 * A per-row sum kernel skeleton shared by the fused losses and the reparameterisation kernel: rows × L elements,
 * each row summed over its L elements. Short rows get one thread per row (serial sum); longer rows get one
 * workgroup per row with a shared-memory tree reduction. Both are indexed with {@link grid1d}, so any row count works.
 * @module
 */
import { FLAT_WG, grid1d, GRID_ARGS } from "./kernel_spec.ts";

/** Rows at most this long are summed by a single thread. */
export const ROW_THREAD_MAX = 32;
const THREAD_WG = 64;

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
}

/** WGSL source and grid of a row kernel. The variant (thread or workgroup per row) is a pure function of L. */
export function rowKernel(parts: RowKernelParts): { source: string; workgroups: [number, number, number] } {
  const { rows, L, decls, term, post } = parts;
  if (L <= ROW_THREAD_MAX) {
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

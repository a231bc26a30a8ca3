/**
 * Packs one epoch of mini-batches for R replicas into one host array that is uploaded with a single write: every
 * replica shuffles its own training rows (seeded counter-based generator, one stream per epoch), and step s holds
 * batch s of every replica side by side ([R, b, ·]). Replicas whose row counts differ get ragged last batches: the
 * step is padded to the widest replica and a 0/1 row mask marks the real rows (BatchNorm statistics and losses use
 * only those). A replica with fewer batches than the others repeats rows from a fresh shuffle of its own set, so every
 * step updates every replica.
 * @module
 */
import { Rng } from "../random.ts";

/** Per-replica data of one training run (rows index the shared dataset arrays). */
export interface ReplicaRows {
  /** Training row indices. */
  train: readonly number[];
  /** Seed of the replica's shuffles. */
  seed: number;
}

/** Shared, already transformed per-replica inputs: composition [N, E] plus per-replica scaled load and target. */
export interface PackSource {
  comp: Float32Array;
  elements: number;
  /** Per replica: standardised load of every dataset row (length N). */
  loadScaled: Float32Array[];
  /** Per replica: standardised target of every dataset row (length N). */
  yScaled: Float32Array[];
  /** Sample weight of every dataset row. */
  weight: Float32Array;
}

/** Layout of one step inside the packed epoch buffer (offsets in elements, 64-aligned). */
export interface StepLayout {
  /** Rows per replica in this step (the padded width). */
  width: number;
  /** Whether some replica has fewer real rows than `width`. */
  masked: boolean;
  comp: number;
  load: number;
  y: number;
  /** weight × mask, [R, b]. */
  wm: number;
  /** 0/1 mask, [R, b, 1]. */
  mask: number;
  /** 1 / real rows, [R, 1]. */
  invN: number;
}

const align = (n: number) => Math.ceil(n / 64) * 64;

/** Number of steps of an epoch: the largest replica's ⌈n / batch⌉. */
export function stepsPerEpoch(replicas: readonly ReplicaRows[], batch: number): number {
  return Math.max(...replicas.map((r) => Math.ceil(r.train.length / batch)));
}

/**
 * Builds epoch `epoch`'s packed buffer. Returns the host data and each step's layout; the total length is the same
 * for every epoch of a run except when step widths change (they do not: widths depend only on row counts).
 */
export function packEpoch(
  src: PackSource,
  replicas: readonly ReplicaRows[],
  batch: number,
  epoch: number,
): { data: Float32Array; steps: StepLayout[] } {
  const R = replicas.length, E = src.elements;
  const S = stepsPerEpoch(replicas, batch);
  // Row order of every replica for this epoch: its own shuffle, extended by further shuffles if it has fewer steps.
  const orders = replicas.map((rep) => {
    const rng = new Rng(rep.seed, 0x10000 + epoch);
    const order = rng.shuffle([...rep.train]);
    const own = Math.ceil(order.length / batch);
    while (own < S && order.length < S * batch) {
      const more = rng.shuffle([...rep.train]);
      order.push(...more.slice(0, Math.min(more.length, S * batch - order.length)));
    }
    return { order, own };
  });
  const counts = (s: number) =>
    orders.map(({ order }) => Math.max(0, Math.min(batch, order.length - s * batch)));
  const steps: StepLayout[] = [];
  let off = 0;
  for (let s = 0; s < S; s++) {
    const c = counts(s);
    const b = Math.max(...c);
    const masked = c.some((n) => n !== b);
    const lay: StepLayout = { width: b, masked, comp: 0, load: 0, y: 0, wm: 0, mask: 0, invN: 0 };
    for (
      const [k, size] of [
        ["comp", R * b * E],
        ["load", R * b],
        ["y", R * b],
        ["wm", R * b],
        ["mask", R * b],
        [
          "invN",
          R,
        ],
      ] as const
    ) {
      lay[k] = off;
      off += align(size);
    }
    steps.push(lay);
  }
  const data = new Float32Array(off);
  for (let s = 0; s < S; s++) {
    const lay = steps[s], b = lay.width;
    for (let r = 0; r < R; r++) {
      const { order } = orders[r];
      const n = Math.max(0, Math.min(b, order.length - s * batch));
      for (let i = 0; i < n; i++) {
        const row = order[s * batch + i];
        const o = r * b + i;
        data.set(src.comp.subarray(row * E, (row + 1) * E), lay.comp + o * E);
        data[lay.load + o] = src.loadScaled[r][row];
        data[lay.y + o] = src.yScaled[r][row];
        data[lay.wm + o] = src.weight[row];
        data[lay.mask + o] = 1;
      }
      // Padded rows: a copy of the replica's first row (finite inputs), zero weight and mask.
      for (let i = n; i < b; i++) {
        const row = order[s * batch];
        data.set(src.comp.subarray(row * E, (row + 1) * E), lay.comp + (r * b + i) * E);
      }
      data[lay.invN + r] = 1 / Math.max(1, n);
    }
  }
  return { data, steps };
}

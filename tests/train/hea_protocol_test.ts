/**
 * The HEA protocol: which rows each member trains, validates and tests on (paper split, random re-splits, the
 * labelled subsample of the data-efficiency table, the supervised-only network), and the evaluation of given scores
 * against metrics computed directly.
 */
import { bootstrapMemberMean, evaluateScores, heaMembers } from "../../nn/train/hea_protocol.ts";
import { accuracy, meanStd, rocAuc } from "../../nn/train/hea_metrics.ts";
import { heaSplitSizes, randomHeaSplit } from "../../data/hea_splits.ts";
import type { HeaSplit } from "../../data/hea_splits.ts";
import { Rng } from "../../nn/random.ts";
import { assertEquals, assertNear, assertTrue, assertUserError } from "../data/_helpers.ts";

const N = 200;
const paper: HeaSplit = randomHeaSplit(N, 99);

Deno.test("paper members share the split and differ in seed; random members get the seeded re-splits", () => {
  const m = heaMembers(N, paper, { splits: "paper", seeds: 3, seed: 4 });
  assertEquals(m.map((x) => x.seed), [4, 5, 6]);
  for (const x of m) {
    assertEquals(x.labelled, paper.labelled);
    assertEquals(x.unlabelled, paper.unlabelled);
    assertEquals(x.test, paper.test);
  }
  const r = heaMembers(N, null, { splits: "random", seeds: 2, seed: 10 });
  const sizes = heaSplitSizes(N);
  r.forEach((x, i) => {
    assertEquals(x.test, randomHeaSplit(N, 10 + i).test);
    assertEquals(x.labelled.length, sizes.labelled);
    const all = [...x.labelled, ...x.unlabelled, ...x.validation, ...x.test];
    assertEquals(new Set(all).size, N, "parts are disjoint and cover every row");
  });
  assertTrue(r[0].test.join() !== r[1].test.join(), "re-splits differ");
  assertUserError(() => heaMembers(N, null, { splits: "paper", seeds: 1 }), "paper's split");
  assertUserError(() => heaMembers(N, paper, { splits: "paper", seeds: 0 }), "--seeds");
});

Deno.test("a labelled subsample moves the other labelled rows to the unlabelled pool; supervised-only has none", () => {
  const [s] = heaMembers(N, paper, { splits: "paper", seeds: 1, labelled: 30 });
  assertEquals(s.labelled.length, 30);
  assertTrue(s.labelled.every((r) => paper.labelled.includes(r)));
  assertEquals(s.unlabelled.length, paper.unlabelled.length + paper.labelled.length - 30);
  assertEquals(
    new Set([...s.labelled, ...s.unlabelled]).size,
    paper.labelled.length + paper.unlabelled.length,
  );
  const [sup] = heaMembers(N, paper, { splits: "paper", seeds: 1, labelled: 30, semiSupervised: false });
  assertEquals(sup.labelled, s.labelled, "same labelled rows for the same seed");
  assertEquals(sup.unlabelled, []);
  assertUserError(() => heaMembers(N, paper, { splits: "paper", seeds: 1, labelled: 10_000 }), "10000");
});

Deno.test("evaluateScores: per-member metrics, mean ± std, ensemble — against direct computation", () => {
  const rng = new Rng(3, 3);
  const label = Array.from({ length: N }, () => (rng.uniform() < 0.5 ? 1 : 0));
  const members = heaMembers(N, paper, { splits: "paper", seeds: 3 });
  const probs = members.map(() =>
    label.map((y) => Math.min(1, Math.max(0, 0.5 + 0.35 * (y - 0.5) + 0.3 * rng.normal())))
  );
  const ev = evaluateScores(probs, label, members, { resamples: 200 });
  const direct = (r: number, rows: number[]) => ({
    acc: accuracy(rows.map((i) => label[i]), rows.map((i) => probs[r][i])),
    auc: rocAuc(rows.map((i) => label[i]), rows.map((i) => probs[r][i])),
  });
  members.forEach((m, r) => {
    assertNear(ev.members[r].parts.train.accuracy, direct(r, m.labelled).acc, 1e-15);
    assertNear(ev.members[r].parts.validation.auc, direct(r, m.validation).auc, 1e-15);
    assertNear(ev.members[r].parts.test.accuracy, direct(r, m.test).acc, 1e-15);
  });
  const accs = members.map((m, r) => direct(r, m.test).acc);
  assertNear(ev.summary.test.accuracy, meanStd(accs).mean, 1e-12);
  assertNear(ev.summary.test.accuracy_std, meanStd(accs).std, 1e-12);
  const t = ev.summary.test;
  assertTrue(t.accuracy_ci[0] <= t.accuracy && t.accuracy <= t.accuracy_ci[1], JSON.stringify(t));
  const ens = paper.test.map((i) => (probs[0][i] + probs[1][i] + probs[2][i]) / 3);
  assertNear(ev.ensemble!.auc, rocAuc(paper.test.map((i) => label[i]), ens), 1e-12);
  // Different test sets: no ensemble.
  const rand = heaMembers(N, null, { splits: "random", seeds: 2 });
  assertEquals(evaluateScores(probs.slice(0, 2), label, rand, { resamples: 20 }).ensemble, null);
});

Deno.test("bootstrapMemberMean of one perfectly separated member is [1, 1]", () => {
  const y = [0, 1, 0, 1, 1, 0, 1, 0], p = y.map((v) => 0.2 + 0.6 * v);
  assertEquals(bootstrapMemberMean([{ y, p }], { resamples: 50 }), { accuracy: [1, 1], auc: [1, 1] });
});

/**
 * The model-directory classifier used by `hea screen`: per-member standardisation, the classifier head, σ and the
 * mean over members, against a float64 host forward of the same weights (1 and 3 members, with and without the
 * composition branch); and screening with it ranks like scoring every composition on the host.
 */
import { assertClose, cpu } from "../_helpers.ts";
import { assertEquals, assertTrue } from "../data/_helpers.ts";
import { heaModelFixture, hostProbability } from "./_hea_model_fixture.ts";
import { heaModelClassifier, heaModelTables } from "../../design/hea_model_classifier.ts";
import { countHeaCompositions, screenHea } from "../../design/hea_screening.ts";
import { HEA_TOP30 } from "../../data/hea_dataset.ts";
import { physicalTables } from "../../data/hea_tables.ts";
import { heaDescriptorsHost } from "../../data/hea_descriptors.ts";
import type { LoadedHeaModel } from "../../nn/models/hea_model_dir.ts";
import { tensor } from "../../nn/ops.ts";
import { Rng } from "../../nn/random.ts";

const tables = physicalTables();

function loadedOf(f: Awaited<ReturnType<typeof heaModelFixture>>): LoadedHeaModel {
  return {
    model: f.model,
    scalers: f.scalers,
    config: { elements: [...HEA_TOP30], tables: "physical" } as LoadedHeaModel["config"],
  };
}

Deno.test("hea model classifier: matches a host forward (1 and 3 members, with and without composition)", async () => {
  const r = new Rng(5), n = 13;
  const comp = new Float64Array(n * 30);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 4; j++) comp[i * 30 + r.int(8)] += 0.1 + r.uniform();
  }
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < 30; j++) s += comp[i * 30 + j];
    for (let j = 0; j < 30; j++) comp[i * 30 + j] /= s;
  }
  const desc = heaDescriptorsHost(comp, tables);
  for (const [R, branch] of [[1, false], [3, false], [1, true], [3, true]] as const) {
    const f = await heaModelFixture(cpu, R, branch);
    const clf = heaModelClassifier(loadedOf(f), cpu);
    assertEquals([clf.members, clf.needsComposition], [R, branch]);
    const p = await clf.classify(
      tensor(desc, [n, 8], { backend: cpu }),
      tensor(comp, [n, 30], { backend: cpu }),
    ).read();
    assertEquals(p.length, n);
    const ref = Array.from(
      { length: n },
      (_, i) =>
        hostProbability(
          f,
          desc.subarray(i * 8, i * 8 + 8),
          branch ? comp.subarray(i * 30, i * 30 + 30) : null,
        ),
    );
    assertClose(p, ref, { atol: 2e-6, rtol: 0, msg: `R=${R} branch=${branch}` });
    assertTrue(new Set(ref.map((v) => v.toFixed(4))).size > 3, "the probabilities are not all alike");
    f.model.dispose();
  }
});

Deno.test("hea model classifier: screening with it keeps the host ranking's best compositions", async () => {
  const f = await heaModelFixture(cpu, 2, true, 9);
  const loaded = loadedOf(f);
  const clf = heaModelClassifier(loaded, cpu);
  const t = await heaModelTables(loaded);
  assertEquals(t.name, "physical");
  const els = ["Fe", "Ni", "Co", "Cr", "Al"];
  const r = await screenHea({
    backend: cpu,
    tables: t,
    classify: clf.classify,
    needsComposition: clf.needsComposition,
    elements: els,
    nElements: [2, 3],
    step: 0.1,
    topK: 5,
    minP: 0,
    batchSize: 40,
  });
  assertEquals(r.evaluated, countHeaCompositions({ elements: els, nElements: [2, 3], step: 0.1 }));
  // Host: score every composition of the enumeration and take the best 5.
  const all: number[] = [];
  const rec = (i: number, left: number, c: number[]) => {
    if (i === els.length) {
      const nz = c.filter((v) => v > 0).length;
      if (left === 0 && nz >= 2 && nz <= 3) {
        const x = new Float64Array(30);
        c.forEach((u, j) => x[HEA_TOP30.indexOf(els[j])] = u / 10);
        all.push(hostProbability(f, heaDescriptorsHost(x, t), x));
      }
      return;
    }
    for (let v = 0; v <= left; v++) rec(i + 1, left - v, [...c, v]);
  };
  rec(0, 10, []);
  assertEquals(all.length, r.evaluated);
  const best = all.sort((a, b) => b - a).slice(0, 5);
  assertClose(r.hits.map((h) => h.p), best, { atol: 2e-6, rtol: 0 });
  for (const h of r.hits) {
    assertClose([h.p], [hostProbability(f, h.descriptors, h.composition)], {
      atol: 2e-6,
      rtol: 0,
      msg: h.formula,
    });
  }
  f.model.dispose();
});

/**
 * Per-alloy attention export: element labels and order, weights equal to the gate the forward pass returns, head
 * maps that are probability rows over the alloy's own tokens, members kept apart, and the long CSV.
 */
import { assert, assertClose, assertEquals, cpu, take } from "../_helpers.ts";
import { VibannAttention } from "../../nn/models/vibann_attention.ts";
import { VibannReference } from "../../nn/models/vibann.ts";
import {
  alloyAttentionMaps,
  ATTENTION_CSV_HEADER,
  attentionMapsCsv,
} from "../../nn/models/attention_maps.ts";
import { parseCsvText } from "../../data/csv.ts";

const SYMBOLS = ["Fe", "Ni", "Cr", "Co", "Al", "Zr", "Cu"];
const E = SYMBOLS.length;
/** Three alloys: Zr50Cu30Al20, Fe40Ni40Cr20 (a tie), Cu alone (one token). */
const COMP = new Float32Array([
  ...[0, 0, 0, 0, 0.2, 0.5, 0.3],
  ...[0.4, 0.4, 0.2, 0, 0, 0, 0],
  ...[0, 0, 0, 0, 0, 0, 1],
]);
const B = 3;

function attention(replicas = 1) {
  return new VibannAttention({
    elements: E,
    elementSymbols: SYMBOLS,
    latentDim: 3,
    dropout: 0.1,
    seed: 9,
    dModel: 8,
    heads: 2,
    layers: 2,
    ffn: 12,
    tokens: 4,
    replicas,
    backend: cpu,
  });
}

Deno.test("attention maps (attention arch): labels by fraction, pooled weights = forward gate, head rows sum to 1", async () => {
  const m = attention(2).eval();
  const maps = await alloyAttentionMaps(cpu, m, COMP, SYMBOLS);
  assertEquals(maps.length, 2 * B);
  const x = new Float32Array(2 * B * E);
  x.set(COMP, 0), x.set(COMP, B * E);
  const gate = await take(m.forward(cpu.fromData(x, [2, B, E]), cpu.fill([2, B, 1], 0)).gate);
  assertEquals(maps.map((a) => [a.member, a.row]), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
  assertEquals(maps[0].elements, ["Zr", "Cu", "Al"]);
  assertEquals(maps[1].elements, ["Fe", "Ni", "Cr"]); // tie → lower column first
  assertEquals(maps[2].elements, ["Cu"]);
  assertClose(maps[0].fractions, [0.5, 0.3, 0.2], { atol: 1e-6 });
  for (const a of maps) {
    assertEquals(a.weightKind, "pooled");
    const want = a.elements.map((el) => gate[(a.member * B + a.row) * E + SYMBOLS.indexOf(el)]);
    assertClose(a.weights, want, { atol: 1e-6 });
    assertClose([a.weights.reduce((s, w) => s + w, 0)], [1], { atol: 1e-5 });
    assertEquals(a.heads!.length, 2);
    for (const layer of a.heads!) {
      assertEquals(layer.length, 2);
      for (const head of layer) {
        assertEquals(head.length, a.elements.length);
        for (const row of head) assertClose([row.reduce((s, p) => s + p, 0)], [1], { atol: 1e-5 });
      }
    }
  }
  // the two members are different networks: their maps differ
  assert(Math.abs(maps[0].weights[0] - maps[3].weights[0]) > 1e-6, "members have their own weights");
  m.dispose();
});

Deno.test("attention maps (reference arch): gate values of the alloy's elements, no head maps", async () => {
  const m = new VibannReference({ elements: E, latentDim: 3, dropout: 0.1, seed: 3, backend: cpu }).eval();
  const maps = await alloyAttentionMaps(cpu, m, COMP, SYMBOLS);
  const gate = await take(m.forward(cpu.fromData(COMP, [B, E]), cpu.fill([B, 1], 0)).gate);
  assertEquals(maps[0].elements, ["Al", "Zr", "Cu"]); // column order
  for (const a of maps) {
    assertEquals([a.weightKind, a.heads], ["gate", null]);
    assertClose(a.weights, a.elements.map((el) => gate[a.row * E + SYMBOLS.indexOf(el)]), { atol: 1e-7 });
  }
  m.dispose();
});

Deno.test("attention maps CSV: one line per element weight and per head entry, values round-trip", async () => {
  const m = attention().eval();
  const maps = await alloyAttentionMaps(cpu, m, COMP, SYMBOLS);
  const csv = parseCsvText(attentionMapsCsv(maps, ["Zr50Cu30Al20", "Fe40Ni40Cr20", "Cu"]), "maps.csv");
  assertEquals(csv.header.join(","), ATTENTION_CSV_HEADER);
  // per alloy: V weights + layers · heads · V² head entries, V = 3, 3, 1
  assertEquals(csv.records.length, (3 + 2 * 2 * 9) + (3 + 2 * 2 * 9) + (1 + 2 * 2 * 1));
  const col = (name: string) => csv.header.indexOf(name);
  const zrPooled = csv.records.map((r) => r.cells).find((r) =>
    r[col("map")] === "pooled" && r[col("element")] === "Zr"
  )!;
  assertEquals(zrPooled[col("formula")], "Zr50Cu30Al20");
  assertClose([Number(zrPooled[col("weight")])], [maps[0].weights[0]], { atol: 1e-7 });
  const head = csv.records.map((r) => r.cells).find((r) =>
    r[col("map")] === "head" && r[col("row")] === "1" && r[col("layer")] === "1" && r[col("head")] === "0" &&
    r[col("element")] === "Ni" && r[col("key_element")] === "Cr"
  )!;
  assertClose([Number(head[col("weight")])], [maps[1].heads![1][0][1][2]], { atol: 1e-7 });
  m.dispose();
});

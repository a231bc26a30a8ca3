/**
 * Report section "Model": the architecture and training record from config.json, and the layer table (every
 * Dense layer's input → output width, with BatchNorm and parameter counts) read from the model's named tensors.
 * @module
 */
import { collapsible, keyValues, note, table } from "../html.ts";
import { fmt, type ReportContext, sectionOf, type SectionResult } from "../report_context.ts";

const ARCH_TEXT: Record<string, string> = {
  reference:
    "Reference VIB + attention network: softmax gate over the element fractions ⊙ composition → Dense 64; pairwise " +
    "products → Dense 128 → 64; fusion → Dense 64 → Gaussian latent (μ, log σ²); load → Dense 32; hardness head on " +
    "[z, load features] → Dense 64 → 1; decoder z → 128 → 64 → softmax composition. Hidden blocks: Dense-ReLU → " +
    "BatchNorm → MC dropout.",
  attention:
    "Element-token attention VIB: every element present is a token (element embedding + fraction encoding), mixed by " +
    "masked multi-head self-attention, pooled by fraction-weighted attention, then the same Gaussian latent, load " +
    "branch, hardness head and decoder as the reference network.",
};

/** Builds the model section. */
export function modelSection(ctx: ReportContext): SectionResult {
  const c = ctx.config;
  const layers = new Map<string, { shape: string; params: number; bn: boolean }>();
  let total = 0, trainable = 0;
  for (const { name, tensor, state } of ctx.model.namedTensors()) {
    const [layer, kind] = name.split("/");
    const size = tensor.shape.reduce((a, b) => a * b, 1);
    total += size;
    if (!state) trainable += size;
    const e = layers.get(layer) ?? { shape: "", params: 0, bn: false };
    if (kind === "kernel") {
      const s = tensor.shape;
      e.shape = `${s[s.length - 2]} → ${s[s.length - 1]}`;
    }
    if (kind === "moving_mean") e.bn = true;
    if (!state) e.params += size;
    layers.set(layer, e);
  }
  const conformal = c.conformal;
  const q90 = conformal
    ? conformal.q[conformal.alphas.findIndex((a) => Math.abs(a - 0.1) < 1e-12)]
    : undefined;
  const opts = c.options as Record<string, unknown>;
  const beta = opts.beta && typeof opts.beta === "object"
    ? JSON.stringify(opts.beta)
    : String(opts.beta ?? "—");
  const pairs: [string, string | number | null][] = [
    ["architecture", c.arch],
    [
      "source",
      c.source === "keras-import" ? "imported from the published Keras weights" : "trained with alloy train",
    ],
    ["created", c.created],
    ["element inputs", `${c.elements.length} (${c.elements.join(" ")})`],
    ["latent size per member", c.latent_dims.join(", ")],
    ["MC-dropout rate per member", c.dropout.map((p) => fmt(p, 4)).join(", ")],
    ["members", c.members],
    [
      "β restored with the best weights",
      c.beta.map((b) => (b === null ? "unknown" : b.toExponential(2))).join(", "),
    ],
    ["training load range (N)", `${c.load_range[0]} – ${c.load_range[1]}`],
    [
      "conformal calibration",
      conformal
        ? `${conformal.kind}, ${conformal.n} rows, q̂(90 %) = ${q90 === undefined ? "—" : fmt(q90, 3)}`
        : "none (raw MC-dropout intervals only)",
    ],
    ["protocol", String(opts.protocol ?? "—")],
    ["epochs / batch / lr", `${opts.epochs ?? "—"} / ${opts.batch_size ?? "—"} / ${opts.lr ?? "—"}`],
    ["β schedule", beta],
    [
      "training data",
      c.data ? `${c.data.file} (${c.data.n_rows} rows, SHA-256 ${c.data.sha256.slice(0, 12)}…)` : "—",
    ],
    [
      "parameters",
      `${trainable.toLocaleString("en-US")} trainable, ${
        total.toLocaleString("en-US")
      } with BatchNorm statistics`,
    ],
  ];
  if (c.data && c.data.sha256 !== ctx.data.sha256) {
    pairs.push(["note", "the report's dataset differs from the training data (different SHA-256)"]);
  }
  const body = [
    note(ARCH_TEXT[c.arch] ?? `Architecture '${c.arch}'.`),
    keyValues(pairs, "model-summary"),
    collapsible(
      `Layers (${layers.size})`,
      table(
        ["layer", "width (in → out)", "BatchNorm", "parameters"],
        [...layers].map(([name, e]) => [name, e.shape || "—", e.bn ? "yes" : "", e.params]),
        { id: "model-layers", caption: "Layers (Keras-style names, as stored in weights.safetensors)" },
      ),
    ),
  ];
  return {
    section: sectionOf("model", "Model", "What the model directory holds.", body),
    numbers: { arch: c.arch, members: c.members, latent_dims: c.latent_dims, parameters: trainable },
  };
}

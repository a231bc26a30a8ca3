/**
 * `alloy import-keras`: converts the published Keras weights (`.weights.h5`) and standard scalers (`.npz`) of the
 * VIB + attention hardness model into a model directory (see `nn/models/model_dir.ts`) that `alloy predict` reads.
 * The conversion needs no device (tensors are copied on the host). Warnings go to stderr, so with `--json` stdout
 * holds exactly one JSON object.
 * @module
 */
import { type Command, numberFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { CpuBackend } from "../nn/cpu_backend.ts";
import {
  HARDNESS_ELEMENTS,
  importKerasModel,
  PUBLISHED_DROPOUT,
  PUBLISHED_LOAD_RANGE,
} from "../nn/models/keras_import.ts";
import { saveModelDir } from "../nn/models/model_dir.ts";
import { isElementSymbol } from "../data/elements.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

function required(flags: Flags, name: string, value: string): string {
  const v = flags[name];
  if (typeof v !== "string" || v.trim() === "") {
    throw new UserError(`import-keras: missing required flag --${name} ${value}`);
  }
  return v;
}

/** Parses `--elements A,B,…`: element symbols, each once. */
function elementList(text: string): string[] {
  const items = text.split(",").map((s) => s.trim());
  items.forEach((e, i) => {
    if (!isElementSymbol(e)) throw new UserError(`flag --elements: '${e}' is not an element symbol`);
    if (items.indexOf(e) !== i) throw new UserError(`flag --elements: ${e} is listed twice`);
  });
  return items;
}

/** `alloy import-keras`. */
export const importKerasCommand: Command = {
  name: "import-keras",
  summary: "convert the published Keras weights + scalers into a model directory",
  usage: "--weights W.h5 --load-scaler L.npz --y-scaler Y.npz --out DIR [flags]",
  flags: {
    weights: {
      type: "string",
      value: "W.h5",
      help: "Keras 3 weights file (vib_attention_FINAL_model.weights.h5)",
    },
    "load-scaler": { type: "string", value: "L.npz", help: "load standardisation (mean, scale)" },
    "y-scaler": { type: "string", value: "Y.npz", help: "hardness standardisation (mean, scale)" },
    out: {
      type: "string",
      value: "DIR",
      help: "model directory to write (new, empty, or a model directory)",
    },
    "latent-dim": {
      type: "string",
      value: "L",
      help: "expected latent size (default: inferred from the weights)",
    },
    dropout: {
      type: "string",
      value: "P",
      help:
        `MC-dropout rate (default ${PUBLISHED_DROPOUT}, the published model's; its metadata JSON is wrong)`,
    },
    elements: {
      type: "string",
      value: "A,B,…",
      help: "input element order (default: the 56 columns of the hardness dataset, Ag … Zr)",
    },
    json: { type: "boolean", help: "print one JSON object on stdout" },
  },
  async run(flags: Flags, positionals: string[]): Promise<number> {
    if (positionals.length > 0) throw new UserError(`import-keras: unexpected argument '${positionals[0]}'`);
    const weights = required(flags, "weights", "W.h5");
    const loadScaler = required(flags, "load-scaler", "L.npz");
    const yScaler = required(flags, "y-scaler", "Y.npz");
    const out = required(flags, "out", "DIR");
    let latentDim: number | undefined;
    if (flags["latent-dim"] !== undefined) {
      latentDim = numberFlag(flags, "latent-dim");
      if (!Number.isInteger(latentDim) || latentDim < 1) {
        throw new UserError(`flag --latent-dim: expected a whole number ≥ 1, got '${flags["latent-dim"]}'`);
      }
    }
    const dropout = numberFlag(flags, "dropout", PUBLISHED_DROPOUT);
    if (!(dropout >= 0 && dropout < 1)) {
      throw new UserError(`flag --dropout: expected a number in [0, 1), got '${flags.dropout}'`);
    }
    const elements = typeof flags.elements === "string" ? elementList(flags.elements) : HARDNESS_ELEMENTS;

    const be = new CpuBackend("f32");
    const imp = await importKerasModel({
      weights,
      loadScaler,
      yScaler,
      latentDim,
      dropout,
      elements,
      backend: be,
    });
    for (const w of imp.warnings) console.error(`warning: ${w}`);
    try {
      const config = await saveModelDir(out, imp.model, imp.input);
      const summary = {
        out,
        source: config.source,
        elements: config.elements.length,
        latent_dim: config.latent_dim,
        dropout: config.dropout[0],
        parameters: imp.values,
        load_range: config.load_range,
        scalers: config.scalers[0],
        weights_sha256: config.weights_sha256,
        warnings: imp.warnings.length,
      };
      if (flags.json === true) console.log(JSON.stringify(summary));
      else {
        console.log(`wrote ${out} (${imp.values} parameter values from ${weights})`);
        console.log(
          `elements ${summary.elements}, latent ${summary.latent_dim}, dropout ${summary.dropout}, ` +
            `training loads [${PUBLISHED_LOAD_RANGE.join(", ")}]`,
        );
      }
    } finally {
      imp.model.dispose();
    }
    return 0;
  },
};

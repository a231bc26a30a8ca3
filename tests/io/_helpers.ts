/**
 * Test helpers for the model file I/O layer: the published-weights folder from `ALLOY_MODELS_DIR` (tests needing
 * it are ignored, with a message, when it is unset or incomplete).
 */
import { join } from "../../data/paths.ts";

function findPublished(): string | undefined {
  const d = Deno.env.get("ALLOY_MODELS_DIR");
  if (!d) return undefined;
  const dir = join(d, "vibann-published");
  try {
    Deno.statSync(join(dir, "vib_attention_FINAL_model.weights.h5"));
    return dir;
  } catch {
    return undefined;
  }
}

/** `$ALLOY_MODELS_DIR/vibann-published`, or undefined (then tests on the published files are ignored). */
export const PUBLISHED_DIR: string | undefined = findPublished();
/** True when the published model files are not available. */
export const NO_MODELS: boolean = PUBLISHED_DIR === undefined;

/** Prints, once per test module, why tests on the published files are skipped. */
export function noteModelsSkip(what: string): void {
  if (NO_MODELS) {
    console.warn(
      `skipping ${what}: set ALLOY_MODELS_DIR to the folder holding vibann-published/ (e.g. ../shared/models)`,
    );
  }
}

/** Reads a file of the published model folder (only call from tests ignored when {@link NO_MODELS}). */
export function readPublished(name: string): Uint8Array {
  return Deno.readFileSync(join(PUBLISHED_DIR!, name));
}

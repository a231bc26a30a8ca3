/**
 * Atomic file writes: the data goes to a temporary file in the target's folder, which is then renamed over the
 * target, so readers never see a half-written file (a crash leaves the old file or the new one, never a mix).
 * @module
 */
import { dirname, join } from "./paths.ts";
import { UserError } from "../cli/errors.ts";

/**
 * Writes `data` to `path` atomically (temp file in the same folder + rename), creating the folder if needed.
 * @throws {UserError} naming the path when the folder cannot be created or the file cannot be written
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = join(dir, `.${crypto.randomUUID()}.tmp`);
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    const msg = (e as Error)?.message?.split("\n")[0] ?? String(e);
    throw new UserError(`cannot write ${path}: ${msg}`);
  }
}

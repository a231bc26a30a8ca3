/**
 * The file handling every kind of model directory shares (the VIBANN directory of `nn/models/model_dir.ts` and the
 * baseline directory of `nn/baselines/baseline_dir.ts`): the two file names, strict reading of a directory's files
 * and its config.json, and the atomic write of both files.
 *
 * A directory's config.json carries a format tag `<family>/<version>` (e.g. `alloy-vibann/1`); the formats
 * themselves (fields, weights layout, validation) stay with their own modules.
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import { fileErrorText } from "../../data/csv.ts";
import { basename, dirname, join } from "../../data/paths.ts";

/** Name of the configuration file inside a model directory. */
export const CONFIG_FILE = "config.json";
/** Name of the weights file inside a model directory. */
export const WEIGHTS_FILE = "weights.safetensors";

/** The format a model directory is written in, for {@link writeModelDirAtomic}'s refusal message. */
export interface ModelDirFormat {
  /** The format tag (`alloy-baseline/1`); a folder holding any version of its family may be replaced. */
  format: string;
  /** What such a folder is called in messages ("a model directory", "a baseline model directory"). */
  what: string;
}

/**
 * Reads one file of a model directory.
 * @param what what the file holds, for the message ("model configuration", "model weights")
 * @throws {UserError} naming `path` when it cannot be read, asking whether its folder is a model directory when
 *   the file is missing
 */
export async function readModelFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    const hint = e instanceof Deno.errors.NotFound ? ` (is ${dirname(path)} a model directory?)` : "";
    throw new UserError(`${path}: cannot read the ${what}: ${fileErrorText(e)}${hint}`);
  }
}

/**
 * Opens DIR/config.json and parses it as strict UTF-8 JSON; checking its fields is the caller's format's job.
 * @returns the file's path (for the caller's messages) and the parsed value
 * @throws {UserError} naming `dir` when it is not a readable folder, or the file when it is missing, unreadable,
 *   not UTF-8 or not JSON (one line: the parser's first line)
 * @example
 * ```ts
 * const { path, json } = await readConfigJson("runs/final");
 * return parseModelConfig(json, path);
 * ```
 */
export async function readConfigJson(dir: string): Promise<{ path: string; json: unknown }> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) {
      throw new UserError(`${dir}: not a model directory (not a folder)`);
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${dir}: cannot open the model directory: ${fileErrorText(e)}`);
  }
  const path = join(dir, CONFIG_FILE);
  const bytes = await readModelFile(path, "model configuration");
  try {
    return { path, json: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) };
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
}

/**
 * Reads DIR/config.json's `format` field, or undefined when there is no readable JSON object with a string format
 * (callers then report the problem through the strict loader of the format they expect).
 */
export async function readConfigFormat(dir: string): Promise<string | undefined> {
  try {
    const obj = JSON.parse(await Deno.readTextFile(join(dir, CONFIG_FILE)));
    return typeof obj?.format === "string" ? obj.format : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a new file and flushes it to disk before returning. */
async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, createNew: true });
  try {
    for (let off = 0; off < bytes.length;) off += await f.write(bytes.subarray(off));
    await f.sync();
  } finally {
    f.close();
  }
}

/**
 * Whether an existing path may be replaced by a model directory of `target`'s format: it does not exist (false), or
 * is an empty folder or one holding a config.json of the same format family (true). Anything else (a file, a
 * folder of other things) is refused, so a wrong `--out` never deletes a user's folder.
 */
async function checkReplaceable(dir: string, target: ModelDirFormat): Promise<boolean> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw new UserError(`cannot write model directory ${dir}: ${fileErrorText(e)}`);
  }
  if (!info.isDirectory) {
    throw new UserError(`cannot write model directory ${dir}: it exists and is not a folder`);
  }
  for await (const _ of Deno.readDir(dir)) {
    const family = target.format.slice(0, target.format.lastIndexOf("/") + 1);
    const format = await readConfigFormat(dir);
    if (format === undefined || !format.startsWith(family)) {
      throw new UserError(
        `cannot write model directory ${dir}: the folder exists and is not ${target.what} (no ${CONFIG_FILE} of ` +
          `format ${target.format}); choose a new or empty folder`,
      );
    }
    break;
  }
  return true;
}

/**
 * Writes a model directory's two files atomically: both are written and flushed into a hidden sibling folder that
 * is then renamed to `dir`, so a crash leaves the old directory, the new one, or (between the two renames of a
 * replacement) none — never a mix. An existing `dir` is replaced only when it is empty or a directory of the same
 * format family (its other files go with it).
 * @param dir target folder (its parent is created if needed)
 * @param files the bytes of weights.safetensors and config.json
 * @param target the format being written (see {@link ModelDirFormat})
 * @throws {UserError} naming `dir` when it cannot be written or is a folder of something else
 * @example
 * ```ts
 * await writeModelDirAtomic("runs/final", { weights, config: configBytes },
 *   { format: "alloy-vibann/1", what: "a model directory" });
 * ```
 */
export async function writeModelDirAtomic(
  dir: string,
  files: { weights: Uint8Array; config: Uint8Array },
  target: ModelDirFormat,
): Promise<void> {
  const parent = dirname(dir), base = basename(dir);
  const exists = await checkReplaceable(dir, target);
  const tag = crypto.randomUUID();
  const tmp = join(parent, `.${base}.${tag}.tmp`);
  const old = join(parent, `.${base}.${tag}.old`);
  try {
    await Deno.mkdir(tmp, { recursive: true });
    await writeSynced(join(tmp, WEIGHTS_FILE), files.weights);
    await writeSynced(join(tmp, CONFIG_FILE), files.config);
    if (exists) await Deno.rename(dir, old);
    await Deno.rename(tmp, dir);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw new UserError(`cannot write model directory ${dir}: ${fileErrorText(e)}`);
  }
  if (exists) await Deno.remove(old, { recursive: true }).catch(() => {});
}

/** What {@link configFields} returns: the config object and a thrower for its first bad field. */
export interface ConfigFields {
  /** The parsed config.json as a plain object. */
  o: Record<string, unknown>;
  /** Throws a UserError `<where>: '<field>' <what>`. */
  bad: (field: string, what: string) => never;
}

/**
 * The start every config.json validator shares: the parsed JSON must be a plain object whose `format` is `format`.
 * @param where the file name used in messages
 * @param hint appended to the format error, e.g. "(a directory written by 'alloy hea train')"
 * @throws {UserError} naming the file when the JSON is not an object or has another format
 * @example
 * ```ts
 * const { o, bad } = configFields(json, "runs/m/config.json", "alloy-vibann/1");
 * if (typeof o.name !== "string") bad("name", "must be a string");
 * ```
 */
export function configFields(json: unknown, where: string, format: string, hint = ""): ConfigFields {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new UserError(`${where}: not a JSON object`);
  }
  const o = json as Record<string, unknown>;
  if (o.format !== format) {
    const got = typeof o.format === "string" ? `'${o.format}'` : "(missing 'format')";
    throw new UserError(
      `${where}: unsupported model format ${got}, expected '${format}'${hint ? ` ${hint}` : ""}`,
    );
  }
  const bad = (field: string, what: string): never => {
    throw new UserError(`${where}: '${field}' ${what}`);
  };
  return { o, bad };
}

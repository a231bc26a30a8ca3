/**
 * Finding the hardness dataset (`H_v_dataset.csv`). The repository never contains it. Order of resolution:
 * 1. `--data PATH` (the CSV itself, or a folder holding `H_v_dataset.csv`);
 * 2. the environment variable `ALLOY_DATA_DIR` (a folder holding `H_v_dataset.csv`);
 * 3. the user cache (`$ALLOY_CACHE_DIR`, else `$XDG_CACHE_HOME/alloy`, else `~/.cache/alloy`; `%LOCALAPPDATA%\alloy`
 *    on Windows), used only when its SHA-256 matches the pinned one;
 * 4. a download of the public file pinned by commit, with a progress line on stderr and SHA-256 verification,
 *    written atomically into the cache.
 * Offline (or with `ALLOY_OFFLINE` set, which forbids the download), or when the download fails, the error says how
 * to supply the file. Files given by the user (1, 2) are used as they are (any content that passes validation), so
 * modified datasets can be studied.
 * @module
 */
import { UserError } from "../cli/errors.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { sha256Hex } from "./checksum.ts";
import { join } from "./paths.ts";

/** Where the public hardness dataset comes from (pinned by commit and checksum). */
export const HARDNESS_SOURCE = {
  fileName: "H_v_dataset.csv",
  repository: "bajpaianurag/VIB_and_Attention_Mechanisms_for_Inverse_Design_of_High-Hardness_MMGs",
  commit: "d2421ac35595204ac136978bf43f871a08a25e8d",
  path: "data/H_v_dataset.csv",
  sha256: "9e78a8d1aea58566e84c846a86873cf4ae3b1f9a6b23866601565d6482e2de70",
  url:
    "https://raw.githubusercontent.com/bajpaianurag/VIB_and_Attention_Mechanisms_for_Inverse_Design_of_High-Hardness_MMGs/d2421ac35595204ac136978bf43f871a08a25e8d/data/H_v_dataset.csv",
} as const;

/** The environment variable naming the data folder. */
export const DATA_DIR_ENV = "ALLOY_DATA_DIR";
/** The environment variable that overrides the cache folder. */
export const CACHE_DIR_ENV = "ALLOY_CACHE_DIR";
/** When this environment variable is set (non-empty), nothing is downloaded. */
export const OFFLINE_ENV = "ALLOY_OFFLINE";

/** A `fetch`-compatible function (injectable for tests). */
export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

/** Options for {@link resolveHardnessDataset}. */
export interface ResolveOptions {
  /** The `--data` flag: a CSV file or a folder holding `H_v_dataset.csv`. */
  dataPath?: string;
  /** Reads an environment variable (default `Deno.env.get`). */
  env?: (name: string) => string | undefined;
  /** Cache folder (default {@link defaultCacheDir}). */
  cacheDir?: string;
  /** The fetch function used for the download (default global `fetch`). */
  fetch?: FetchLike;
  /** Receives progress lines; `done` marks the last one, which is empty after a failure (default: stderr, updated
   * in place on a terminal, only the final line otherwise). */
  progress?: (line: string, done: boolean) => void;
  /** Set to false to forbid the download (then a missing file is an error). Default: true unless `ALLOY_OFFLINE`
   * is set. */
  allowDownload?: boolean;
  /** Download time limit in milliseconds (default 120 000). */
  timeoutMs?: number;
}

/** Where the dataset was found. */
export interface ResolvedDataset {
  path: string;
  source: "flag" | "env" | "cache" | "download";
  /** Notices for the user (e.g. a corrupted cache that was replaced). */
  notices: string[];
}

/**
 * The user cache folder for alloy: `$ALLOY_CACHE_DIR` if set, else `$XDG_CACHE_HOME/alloy`, `~/.cache/alloy`, or
 * `%LOCALAPPDATA%\alloy` on Windows.
 */
export function defaultCacheDir(env: (name: string) => string | undefined = envGet): string | undefined {
  const own = env(CACHE_DIR_ENV);
  if (own) return own;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "alloy");
  if (Deno.build.os === "windows" && env("LOCALAPPDATA")) return join(env("LOCALAPPDATA")!, "alloy");
  const home = env("HOME") ?? env("USERPROFILE");
  return home ? join(home, ".cache", "alloy") : undefined;
}

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: behave as unset
  }
}

async function statKind(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const s = await Deno.stat(path);
    return s.isDirectory ? "dir" : "file";
  } catch {
    return undefined;
  }
}

/** How to supply the file by hand; appended to every "not found" message. */
export function supplyHint(cacheDir?: string): string {
  return `supply it with --data PATH (the CSV or a folder holding ${HARDNESS_SOURCE.fileName}), or set ${DATA_DIR_ENV} ` +
    `to a folder holding it${
      cacheDir ? `, or copy it to ${join(cacheDir, HARDNESS_SOURCE.fileName)}` : ""
    } (source: ${HARDNESS_SOURCE.url})`;
}

/**
 * Resolves the hardness dataset to a local file path (see the module docs for the order).
 * @throws {UserError} when `--data` or `ALLOY_DATA_DIR` points at nothing usable, or the download is impossible,
 *   fails, or has the wrong checksum — each message says how to supply the file
 */
export async function resolveHardnessDataset(options: ResolveOptions = {}): Promise<ResolvedDataset> {
  const name = HARDNESS_SOURCE.fileName;
  const notices: string[] = [];
  if (options.dataPath !== undefined) {
    const p = options.dataPath;
    const kind = await statKind(p);
    if (kind === "file") return { path: p, source: "flag", notices };
    if (kind === "dir") {
      const f = join(p, name);
      if (await statKind(f) === "file") return { path: f, source: "flag", notices };
      throw new UserError(`--data ${p}: the folder has no ${name}`);
    }
    throw new UserError(`--data ${p}: no such file or folder`);
  }
  const env = options.env ?? envGet;
  const dir = env(DATA_DIR_ENV);
  if (dir) {
    const f = join(dir, name);
    if (await statKind(f) === "file") return { path: f, source: "env", notices };
    throw new UserError(
      `${DATA_DIR_ENV}=${dir}: ${
        await statKind(dir) === "dir" ? `the folder has no ${name}` : "no such folder"
      } ` +
        `(fix it, or unset it to use the cache or the download)`,
    );
  }
  const cacheDir = options.cacheDir ?? defaultCacheDir(env);
  if (cacheDir) {
    const cached = join(cacheDir, name);
    if (await statKind(cached) === "file") {
      const sum = await sha256Hex(await Deno.readFile(cached));
      if (sum === HARDNESS_SOURCE.sha256) return { path: cached, source: "cache", notices };
      notices.push(`cached ${cached} has the wrong SHA-256 (${sum.slice(0, 12)}…); downloading it again`);
    }
  }
  if (options.allowDownload === false || (options.allowDownload === undefined && env(OFFLINE_ENV))) {
    throw new UserError(
      `${name} not found and downloading is disabled${
        options.allowDownload === false ? "" : ` (${OFFLINE_ENV} is set)`
      }; ${supplyHint(cacheDir)}`,
    );
  }
  if (!cacheDir) {
    throw new UserError(`${name} not found and there is no cache folder (HOME unset); ${supplyHint()}`);
  }
  const target = join(cacheDir, name);
  const bytes = await downloadVerified(HARDNESS_SOURCE.url, HARDNESS_SOURCE.sha256, name, options, cacheDir);
  await writeFileAtomic(target, bytes);
  return { path: target, source: "download", notices };
}

function defaultProgress(line: string, done: boolean) {
  const enc = new TextEncoder();
  // On a terminal the line is updated in place; otherwise only the final line is printed. An empty final line
  // (a failure, reported by the error that follows) just clears the progress line.
  if (Deno.stderr.isTerminal()) {
    Deno.stderr.writeSync(enc.encode(`\r${line}\x1b[K${done && line ? "\n" : ""}`));
  } else if (done && line) Deno.stderr.writeSync(enc.encode(line + "\n"));
}

function kb(n: number): string {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

/**
 * Downloads `url` into memory with progress lines and checks its SHA-256. `hint` (how to supply the file by hand)
 * ends every error message; the default is the hardness dataset's.
 * @throws {UserError} when offline, on an HTTP error, on a time-out, or on a checksum mismatch (nothing is saved)
 */
export async function downloadVerified(
  url: string,
  sha256: string,
  name: string,
  options: ResolveOptions = {},
  cacheDir?: string,
  hint: string = supplyHint(cacheDir),
): Promise<Uint8Array> {
  const progress = options.progress ?? defaultProgress;
  const fetchFn = options.fetch ?? ((u, init) => fetch(u, init));
  const signal = AbortSignal.timeout(options.timeoutMs ?? 120_000);
  progress(`downloading ${name} from ${new URL(url).host} …`, false);
  let res: Response;
  try {
    res = await fetchFn(url, { signal });
  } catch (e) {
    progress("", true);
    const why = (e as Error)?.name === "TimeoutError"
      ? "timed out"
      : (e as Error)?.message?.split("\n")[0] ?? e;
    throw new UserError(`cannot download ${name} (offline? ${why}); ${hint}`);
  }
  if (!res.ok || !res.body) {
    progress("", true);
    await res.body?.cancel();
    throw new UserError(`cannot download ${name}: HTTP ${res.status} ${res.statusText}; ${hint}`);
  }
  const total = Number(res.headers.get("content-length")) || 0;
  const chunks: Uint8Array[] = [];
  let got = 0;
  try {
    for await (const chunk of res.body) {
      chunks.push(chunk);
      got += chunk.length;
      progress(`downloading ${name}: ${kb(got)}${total ? ` of ${kb(total)}` : ""}`, false);
    }
  } catch (e) {
    progress("", true);
    throw new UserError(`download of ${name} interrupted (${(e as Error)?.message ?? e}); ${hint}`);
  }
  const bytes = new Uint8Array(got);
  let off = 0;
  for (const c of chunks) bytes.set(c, off), off += c.length;
  const sum = await sha256Hex(bytes);
  if (sum !== sha256) {
    progress("", true);
    throw new UserError(
      `downloaded ${name} has SHA-256 ${sum}, expected ${sha256}; the file was not saved; ${hint}`,
    );
  }
  progress(`downloaded ${name} (${kb(got)}, SHA-256 verified)`, true);
  return bytes;
}

/**
 * File-path helpers behind one small module (the `node:path` and `node:url` built-ins), so nothing else imports it directly.
 * @module
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** The folder part of a path (`a/b/c.csv` → `a/b`). */
export function dirname(p: string): string {
  return path.dirname(p);
}

/** The last part of a path (`a/b/c.csv` → `c.csv`). */
export function basename(p: string): string {
  return path.basename(p);
}

/** Joins path segments with the platform separator. */
export function join(...parts: string[]): string {
  return path.join(...parts);
}

/** The file-system path of a `file:` URL (e.g. `new URL("../", import.meta.url)`). */
export function fromFileUrl(url: URL | string): string {
  return fileURLToPath(url);
}

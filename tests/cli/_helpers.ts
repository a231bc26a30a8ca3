/**
 * Shared helpers of the end-to-end CLI tests: run `alloy` as a subprocess and check its two kinds of outcome (one
 * JSON object on stdout, or one `error:` line on stderr).
 */
import { fromFileUrl } from "../../data/paths.ts";
import { assertEquals, assertTrue } from "../data/_helpers.ts";

/** The repository root (the subprocess's working directory). */
const ROOT = fromFileUrl(new URL("../../", import.meta.url));

/** What a CLI run produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `deno run -A cli/main.ts <args>` in the repository root and collects its status and output. */
export async function alloy(args: string[]): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { XDG_RUNTIME_DIR: "/tmp" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Parses stdout as exactly one JSON object, after asserting status 0. */
export function stdoutJson(r: CliResult) {
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assertEquals(lines.length, 1, `stdout is one JSON object: ${r.stdout}`);
  return JSON.parse(lines[0]);
}

/** Asserts a failure: status 2, nothing on stdout, exactly one `error:` line containing every part. */
export function assertCliError(r: CliResult, ...parts: string[]) {
  assertEquals(r.code, 2, `expected status 2: ${r.stdout} ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assertEquals(lines.length, 1, `one stderr line: ${r.stderr}`);
  assertTrue(lines[0].startsWith("error: "), r.stderr);
  for (const p of parts) assertTrue(lines[0].includes(p), `${JSON.stringify(lines[0])} should contain ${p}`);
  assertEquals(r.stdout, "");
}

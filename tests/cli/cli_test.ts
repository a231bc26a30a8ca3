/** CLI smoke tests: every subcommand has --help, errors are one `error:` line, the device command reports JSON. */
import { assert, assertEquals, assertMatch } from "../_helpers.ts";
import { COMMANDS } from "../../cli/main.ts";
import { alloy } from "./_helpers.ts";

Deno.test("cli: every subcommand prints --help mentioning --device and --verbose", async () => {
  for (const c of COMMANDS) {
    const r = await alloy([c.name, "--help"]);
    assertEquals(r.code, 0, c.name);
    assertMatch(r.stdout, new RegExp(`alloy ${c.name}`));
    assertMatch(r.stdout, /--device/);
    assertMatch(r.stdout, /--verbose/);
  }
});

Deno.test("cli: unknown command and unknown flag give one error line and a non-zero status", async () => {
  const a = await alloy(["frobnicate"]);
  assert(a.code !== 0);
  assertMatch(a.stderr.trim(), /^error: unknown command 'frobnicate'/);
  const b = await alloy(["device", "--bogus"]);
  assert(b.code !== 0);
  assertMatch(b.stderr.trim(), /^error: .*bogus/);
  assert(!b.stderr.includes("    at "), "no stack trace");
  const c = await alloy(["device", "--device", "tpu"]);
  assert(c.code !== 0);
  assertMatch(c.stderr.trim(), /^error: --device: expected 'webgpu' or 'cpu', got 'tpu'/);
  const d = await alloy(["bench", "--suite", "nope"]);
  assertMatch(d.stderr.trim(), /^error: --suite/);
});

Deno.test("cli: device --device cpu --json --verbose reports the CPU backend", async () => {
  const r = await alloy(["device", "--device", "cpu", "--json", "--verbose"]);
  assertEquals(r.code, 0);
  const info = JSON.parse(r.stdout);
  assertEquals(info.kind, "cpu");
  assertMatch(r.stderr, /device: cpu/);
});

// The engine core (kernels/ and nn/ outside models/, train/, metrics/ and io/, which are built on it and may use
// the data layer and the user-facing error type) never reaches up.
Deno.test("engine: kernels/ and the nn/ core never import from data/, cli/, design/ or nn/models/", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  for (const dir of ["kernels", "nn"]) {
    for await (const f of walk(root + dir)) {
      const src = await Deno.readTextFile(f);
      for (const m of src.matchAll(/from\s+"([^"]+)"/g)) {
        assert(
          !/\/(data|cli|design)\/|nn\/models\//.test(m[1]) ||
            /\/nn\/(models|train|metrics|io|baselines)\//.test(f),
          `${f} imports ${m[1]}`,
        );
      }
    }
  }
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

Deno.test("cli: a negative number after a value flag is its value; a missing value is still an error", async () => {
  const { parseFlags } = await import("../../cli/args.ts");
  const cmd = {
    name: "t",
    summary: "",
    flags: { load: { type: "string" as const, help: "" }, quiet: { type: "boolean" as const, help: "" } },
    run: () => Promise.resolve(0),
  };
  assertEquals(parseFlags(cmd, ["--load", "-1.5", "--quiet"]).flags.load, "-1.5");
  assertEquals(parseFlags(cmd, ["--load", "-.5"]).flags.load, "-.5");
  assertEquals(parseFlags(cmd, ["--load=-2"]).flags.load, "-2");
  let msg = "";
  try {
    parseFlags(cmd, ["--load", "--quiet"]);
  } catch (e) {
    msg = (e as Error).message;
  }
  assertMatch(msg, /--load/);
  assert(!msg.includes("\n"), `one line: ${msg}`);
});

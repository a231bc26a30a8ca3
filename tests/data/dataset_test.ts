import { sha256Hex } from "../../data/checksum.ts";
import {
  defaultCacheDir,
  downloadVerified,
  type FetchLike,
  HARDNESS_SOURCE,
  resolveHardnessDataset,
} from "../../data/dataset.ts";
import { join } from "../../data/paths.ts";
import { assertEquals, assertRejectsUserError, assertTrue, tempDir, writeTemp } from "./_helpers.ts";

const BODY = new TextEncoder().encode("Fe,Ni,Load,HV\n0.5,0.5,1,100\n");

/** A fake fetch serving `body` in two chunks, recording the URLs asked for. */
function fakeFetch(body: Uint8Array, status = 200, urls: string[] = []): FetchLike {
  return (url: string) => {
    urls.push(url);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(body.slice(0, 10));
        c.enqueue(body.slice(10));
        c.close();
      },
    });
    return Promise.resolve(
      new Response(status === 200 ? stream : null, {
        status,
        statusText: status === 200 ? "OK" : "Not Found",
        headers: { "content-length": String(body.length) },
      }),
    );
  };
}

const offline: FetchLike = () => Promise.reject(new TypeError("error sending request: dns error"));
const noEnv = (_: string) => undefined;

Deno.test("dataset: the pinned source is the public file at the commit", () => {
  assertTrue(HARDNESS_SOURCE.url.includes(HARDNESS_SOURCE.commit));
  assertTrue(HARDNESS_SOURCE.url.endsWith("/data/H_v_dataset.csv"));
  assertEquals(HARDNESS_SOURCE.sha256, "9e78a8d1aea58566e84c846a86873cf4ae3b1f9a6b23866601565d6482e2de70");
  assertEquals(
    defaultCacheDir((n) => ({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" } as Record<string, string>)[n]),
    "/x/cache/alloy",
  );
  assertEquals(defaultCacheDir((n) => (n === "HOME" ? "/home/u" : undefined)), "/home/u/.cache/alloy");
  assertEquals(defaultCacheDir((n) => (n === "ALLOY_CACHE_DIR" ? "/c" : "/x")), "/c");
});

Deno.test("dataset: --data (file or folder) wins over ALLOY_DATA_DIR; bad paths are clear errors", async () => {
  const dir = tempDir();
  try {
    const file = writeTemp(dir, "H_v_dataset.csv", BODY);
    const env = (n: string) => (n === "ALLOY_DATA_DIR" ? "/nowhere" : undefined);
    assertEquals((await resolveHardnessDataset({ dataPath: file, env })).path, file);
    const r = await resolveHardnessDataset({ dataPath: dir, env });
    assertEquals([r.path, r.source], [file, "flag"]);
    await assertRejectsUserError(
      () => resolveHardnessDataset({ dataPath: join(dir, "x.csv") }),
      "--data",
      "no such file",
    );
    const empty = Deno.makeTempDirSync({ dir });
    await assertRejectsUserError(
      () => resolveHardnessDataset({ dataPath: empty }),
      "the folder has no H_v_dataset.csv",
    );
    const e = await resolveHardnessDataset({ env: (n) => (n === "ALLOY_DATA_DIR" ? dir : undefined) });
    assertEquals([e.path, e.source], [file, "env"]);
    await assertRejectsUserError(
      () => resolveHardnessDataset({ env: (n) => (n === "ALLOY_DATA_DIR" ? empty : undefined) }),
      `ALLOY_DATA_DIR=${empty}`,
      "the folder has no H_v_dataset.csv",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dataset: download with progress, checksum verified, cached atomically, then served from cache", async () => {
  const cacheDir = join(tempDir(), "alloy");
  try {
    const sha = await sha256Hex(BODY);
    const urls: string[] = [];
    const lines: string[] = [];
    const progress = (l: string) => lines.push(l);
    // downloadVerified directly, with our fake's checksum
    const bytes = await downloadVerified("https://example.org/f.csv", sha, "f.csv", {
      fetch: fakeFetch(BODY, 200, urls),
      progress,
    });
    assertEquals(bytes, BODY);
    assertTrue(lines[0].startsWith("downloading f.csv from example.org"));
    assertTrue(lines.some((l) => l.includes(`of ${BODY.length} B`)));
    assertTrue(lines.at(-1)!.includes("SHA-256 verified"));
    // the resolver: the fake serves the wrong bytes for the pinned checksum → mismatch, nothing cached
    await assertRejectsUserError(
      () => resolveHardnessDataset({ env: noEnv, cacheDir, fetch: fakeFetch(BODY, 200, urls), progress }),
      "downloaded H_v_dataset.csv has SHA-256",
      `expected ${HARDNESS_SOURCE.sha256}`,
      "not saved",
      "--data PATH",
    );
    assertEquals(urls.at(-1), HARDNESS_SOURCE.url);
    assertTrue(!(await exists(join(cacheDir, "H_v_dataset.csv"))));
  } finally {
    Deno.removeSync(join(cacheDir, ".."), { recursive: true });
  }
});

async function exists(p: string) {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test("dataset: offline, HTTP errors and ALLOY_OFFLINE say how to supply the file", async () => {
  const cacheDir = join(tempDir(), "alloy");
  try {
    const progress = () => {};
    await assertRejectsUserError(
      () => resolveHardnessDataset({ env: noEnv, cacheDir, fetch: offline, progress }),
      "cannot download H_v_dataset.csv (offline?",
      "--data PATH",
      "ALLOY_DATA_DIR",
      join(cacheDir, "H_v_dataset.csv"),
    );
    await assertRejectsUserError(
      () => resolveHardnessDataset({ env: noEnv, cacheDir, fetch: fakeFetch(BODY, 404), progress }),
      "HTTP 404",
      "--data PATH",
    );
    let called = false;
    await assertRejectsUserError(
      () =>
        resolveHardnessDataset({
          env: (n) => (n === "ALLOY_OFFLINE" ? "1" : undefined),
          cacheDir,
          fetch: () => (called = true, offline("")),
          progress,
        }),
      "downloading is disabled (ALLOY_OFFLINE is set)",
      "--data PATH",
    );
    assertTrue(!called);
  } finally {
    Deno.removeSync(join(cacheDir, ".."), { recursive: true });
  }
});

Deno.test("dataset: a cached copy is used only when its checksum matches", async () => {
  const cacheDir = join(tempDir(), "alloy");
  try {
    Deno.mkdirSync(cacheDir, { recursive: true });
    writeTemp(cacheDir, "H_v_dataset.csv", BODY); // wrong content for the pinned checksum
    let asked = 0;
    const fetch: FetchLike = () => (asked++, offline(""));
    const e = await assertRejectsUserError(
      () => resolveHardnessDataset({ env: noEnv, cacheDir, fetch, progress: () => {} }),
      "cannot download",
    );
    assertTrue(asked === 1, e.message);
    const dataDir = Deno.env.get("ALLOY_DATA_DIR");
    if (dataDir && (await exists(join(dataDir, "H_v_dataset.csv")))) {
      // with the real file in the cache, no download is attempted
      Deno.copyFileSync(join(dataDir, "H_v_dataset.csv"), join(cacheDir, "H_v_dataset.csv"));
      const r = await resolveHardnessDataset({ env: noEnv, cacheDir, fetch });
      assertEquals([r.source, asked], ["cache", 1]);
      // and a download of the real bytes is verified and written to the cache
      Deno.removeSync(join(cacheDir, "H_v_dataset.csv"));
      const real = Deno.readFileSync(join(dataDir, "H_v_dataset.csv"));
      const d = await resolveHardnessDataset({
        env: noEnv,
        cacheDir,
        fetch: fakeFetch(real),
        progress: () => {},
      });
      assertEquals(d.source, "download");
      assertEquals(await sha256Hex(Deno.readFileSync(d.path)), HARDNESS_SOURCE.sha256);
      assertEquals([...Deno.readDirSync(cacheDir)].map((f) => f.name), ["H_v_dataset.csv"]); // no temp files left
    }
  } finally {
    Deno.removeSync(join(cacheDir, ".."), { recursive: true });
  }
});

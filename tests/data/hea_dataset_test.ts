/**
 * HEA dataset: loading (1375 rows, 1373 after dropping repeated formulas, labels, fractions), the resolution order
 * (explicit folder → ALLOY_DATA_DIR/hea → verified cache → pinned download, with an injected fetch), and one-line
 * errors for bad files.
 */
import { assertEquals, assertRejectsUserError, assertTrue, tempDir, writeTemp } from "./_helpers.ts";
import {
  HEA_FILES,
  HEA_TOP30,
  heaSourceUrl,
  loadHeaDataset,
  resolveHeaFile,
} from "../../data/hea_dataset.ts";
import { sha256Hex } from "../../data/checksum.ts";
import { join } from "../../data/paths.ts";

const ENV_DIR = Deno.env.get("ALLOY_DATA_DIR");
const HEA_DIR = ENV_DIR && (() => {
  try {
    return Deno.statSync(join(ENV_DIR, "hea", "HEA_top30_comps.csv")).isFile ? ENV_DIR : undefined;
  } catch {
    return undefined;
  }
})();
if (!HEA_DIR) console.warn("skipping the real-data HEA tests: set ALLOY_DATA_DIR to a folder holding hea/");

const noEnv = (_: string) => undefined;

Deno.test({
  name: "hea dataset: 1375 rows, 1373 after dropping repeated formulas (first kept), labels and fractions",
  ignore: !HEA_DIR,
  async fn() {
    const all = await loadHeaDataset({ keepDuplicates: true, withSplit: false });
    assertEquals(all.n, 1375);
    assertEquals(all.elements, HEA_TOP30);
    assertEquals([all.label.reduce((a, b) => a + b, 0), all.n - all.label.reduce((a, b) => a + b, 0)], [
      712,
      663,
    ]);
    const ds = await loadHeaDataset();
    assertEquals(ds.n, 1373);
    assertEquals(ds.droppedDuplicates.map((d) => d.formula).sort(), ["Hf1Nb1Ti1V1Zr1", "Ti0.5Zr0.5"]);
    const i = ds.formulas.indexOf("Hf1Nb1Ti1V1Zr1");
    assertEquals(ds.label[i], 0, "the first of the conflicting duplicates is kept");
    for (let r = 0; r < ds.n; r++) {
      let s = 0;
      for (let j = 0; j < 30; j++) s += ds.comp[r * 30 + j];
      assertTrue(Math.abs(s - 1) < 1e-6);
    }
    assertEquals(ds.split!.filter((s) => s === null).length, 0);
    const mg = ds.formulas.indexOf("Mg1Ni1");
    assertEquals([ds.comp[mg * 30 + HEA_TOP30.indexOf("Mg")], ds.comp[mg * 30 + HEA_TOP30.indexOf("Ni")]], [
      0.5,
      0.5,
    ]);
  },
});

const HEADER = `Alloys,Class,${HEA_TOP30.join(",")}`;
function row(name: string, cls: string, c: Record<string, number | string>): string {
  return `${name},${cls},${HEA_TOP30.map((e) => c[e] ?? 0).join(",")}`;
}

Deno.test("hea dataset: an explicit folder (or its hea/ child) wins; bad cells are one-line errors", async () => {
  const d = tempDir();
  try {
    Deno.mkdirSync(join(d, "hea"));
    writeTemp(
      d,
      "hea/HEA_top30_comps.csv",
      `# comment\n${HEADER}\n${row("FeNi", "1", { Fe: 0.5, Ni: 0.5 })}\n`,
    );
    const ds = await loadHeaDataset({ dataPath: d, withSplit: false, env: noEnv });
    assertEquals([ds.n, ds.formulas[0], ds.label[0]], [1, "FeNi", 1]);
    writeTemp(d, "HEA_top30_comps.csv", `${HEADER}\n${row("FeNi", "1", { Fe: 0.5, Ni: "x" })}\n`);
    await assertRejectsUserError(
      () => loadHeaDataset({ dataPath: d, withSplit: false }),
      "row 2",
      "column Ni",
      "'x'",
    );
    writeTemp(d, "HEA_top30_comps.csv", `${HEADER}\n${row("FeNi", "1", { Fe: 0.5, Ni: 0.4 })}\n`);
    await assertRejectsUserError(
      () => loadHeaDataset({ dataPath: d, withSplit: false }),
      "row 2",
      "sum to 0.9",
    );
    writeTemp(d, "HEA_top30_comps.csv", `${HEADER}\n${row("FeNi", "2", { Fe: 0.5, Ni: 0.5 })}\n`);
    await assertRejectsUserError(() => loadHeaDataset({ dataPath: d, withSplit: false }), "row 2", "Class");
    writeTemp(d, "HEA_top30_comps.csv", `${HEADER}\n${row("FeNi", "1", { Fe: 0.5, Ni: 0.5 })}\n`);
    writeTemp(d, "hea_split_membership.csv", "Alloys,split,order_in_split\nCoCr,test,0\n");
    await assertRejectsUserError(
      () => loadHeaDataset({ dataPath: d }),
      "hea_split_membership.csv row 2",
      "CoCr",
    );
    await assertRejectsUserError(
      () => resolveHeaFile("comps", { dataPath: join(d, "nope") }),
      "no such folder",
    );
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});

Deno.test("hea dataset: ALLOY_DATA_DIR/hea, then the verified cache, then the pinned download", async () => {
  const d = tempDir();
  try {
    const content = new TextEncoder().encode("# pinned copy\n");
    const sum = await sha256Hex(content);
    // env folder without the file → error naming the variable
    await assertRejectsUserError(
      () => resolveHeaFile("comps", { env: (n) => (n === "ALLOY_DATA_DIR" ? d : undefined) }),
      "ALLOY_DATA_DIR",
      "hea/HEA_top30_comps.csv",
    );
    // download: the injected fetch serves bytes; a wrong checksum is rejected and nothing is saved
    let urls: string[] = [];
    const fetchOk = (url: string) => (urls.push(url), Promise.resolve(new Response(content)));
    const cache = join(d, "cache");
    await assertRejectsUserError(
      () => resolveHeaFile("comps", { env: noEnv, cacheDir: cache, fetch: fetchOk, progress: () => {} }),
      "SHA-256",
    );
    assertEquals(urls, [heaSourceUrl(HEA_FILES.comps)]);
    // a failed download says how to supply the HEA file, not the hardness dataset
    const offline = () => Promise.reject(new TypeError("fetch failed"));
    const e = await assertRejectsUserError(
      () => resolveHeaFile("comps", { env: noEnv, cacheDir: cache, fetch: offline, progress: () => {} }),
      "cannot download HEA_top30_comps.csv",
      "hea/HEA_top30_comps.csv",
      "cengc13/d_vae_hea",
    );
    assertTrue(!e.message.includes("H_v_dataset"), e.message);
    assertTrue(
      urls[0].includes("cengc13/d_vae_hea/84e4084464321a5ad154b1888fee35885ab96e6f/data/HEA_top30_comps.csv"),
    );
    // with the checksum matching (patched for the test), it is saved to <cache>/hea and then found there
    const saved = HEA_FILES.comps.sha256;
    (HEA_FILES.comps as { sha256: string }).sha256 = sum;
    try {
      const r1 = await resolveHeaFile("comps", {
        env: noEnv,
        cacheDir: cache,
        fetch: fetchOk,
        progress: () => {},
      });
      assertEquals([r1.source, r1.path], ["download", join(cache, "hea", "HEA_top30_comps.csv")]);
      urls = [];
      const r2 = await resolveHeaFile("comps", { env: noEnv, cacheDir: cache, fetch: fetchOk });
      assertEquals([r2.source, urls.length], ["cache", 0]);
    } finally {
      (HEA_FILES.comps as { sha256: string }).sha256 = saved;
    }
    // offline, or a converted file: a one-line error saying how to supply it
    await assertRejectsUserError(
      () => resolveHeaFile("comps", { env: noEnv, cacheDir: join(d, "empty"), allowDownload: false }),
      "downloading is disabled",
      "--data DIR",
    );
    await assertRejectsUserError(
      () => resolveHeaFile("splitMembership", { env: noEnv, cacheDir: join(d, "empty"), fetch: fetchOk }),
      "cannot be downloaded",
      "pickles",
    );
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});

/**
 * The report in a real headless browser (Debian's `chromium`, flags as in the issue): the page as written loads
 * without a single console message (it has no scripts, so any message is an error) and loads no file but itself
 * (Chromium's verbose log); in a copy with a small probe script the page requests no resource at all (Resource
 * Timing, failed requests included) and every figure is laid out with a non-zero size and draws its marks. A bad
 * copy of the page (console message, uncaught error, two external images) checks that these checks can fail.
 *
 * Runs only when a Chromium binary is found: `ALLOY_CHROMIUM=/path/to/chromium`, or `chromium` /
 * `chromium-headless-shell` / `chromium-browser` on PATH; otherwise it is reported as ignored, with the reason in
 * its name. To run it:
 *
 *     sudo apt-get install chromium        # or: ALLOY_CHROMIUM=/path/to/chromium
 *     deno test -A tests/report/browser_test.ts
 */
import { assertEquals, assertTrue } from "../data/_helpers.ts";
import { cpu } from "../_helpers.ts";
import { join } from "../../data/paths.ts";
import { buildReport } from "../../report/build_report.ts";
import { withReportFixture } from "./_report_fixture.ts";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--enable-logging=stderr",
  // Verbose logging lists every URL the page asks for (file loads and network requests).
  "--v=1",
];

/** The Chromium binary to use, or null. */
function findChromium(): string | null {
  const env = Deno.env.get("ALLOY_CHROMIUM");
  if (env) return env;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-headless-shell", "chromium-browser"]) {
      try {
        const p = join(dir, name);
        if (Deno.statSync(p).isFile) return p;
      } catch { /* not here */ }
    }
  }
  return null;
}

const CHROMIUM = findChromium();
if (!CHROMIUM) {
  console.warn(
    "skipping the headless-browser report test: no chromium on PATH (apt-get install chromium, or set ALLOY_CHROMIUM)",
  );
}

/** Loads `file` headless and returns the DOM after load and the browser's log. */
async function dumpDom(file: string): Promise<{ dom: string; log: string }> {
  const profile = await Deno.makeTempDir({ prefix: "alloy_chromium_" });
  try {
    const out = await new Deno.Command(CHROMIUM!, {
      args: [...FLAGS, `--user-data-dir=${profile}`, "--dump-dom", `file://${file}`],
      stdout: "piped",
      stderr: "piped",
      env: { HOME: profile },
    }).output();
    const dec = new TextDecoder();
    const log = dec.decode(out.stderr);
    assertTrue(out.success, `chromium exited with ${out.code}: ${log.slice(-2000)}`);
    return { dom: dec.decode(out.stdout), log };
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** Console lines of Chromium's log (`…:CONSOLE…] "message", source: …`) and uncaught errors of the page. */
function consoleLines(log: string): string[] {
  return log.split("\n").filter((l) => /:CONSOLE\b/.test(l) || /Uncaught/.test(l));
}

/**
 * file:// URLs the browser loaded, from its verbose log. (Network requests are checked in the page itself, with
 * Resource Timing: the log also lists the browser's own background requests — update checks, account lookups —
 * which have nothing to do with the page.)
 */
function fileLoads(log: string): string[] {
  return [...new Set([...log.matchAll(/FileURLLoader::Start: (\S+)/g)].map((m) => m[1]))];
}

/** What the probe measured after load. */
interface Probe {
  figures: { id: string; missing: boolean; w: number; h: number; marks: number }[];
  /** Every resource the page fetched or tried to fetch (Resource Timing entries, failed loads included). */
  resources: string[];
  error: string | null;
}

/** Test-only probe: after load, measures every figure and lists every resource the page requested. */
const PROBE = `<script>
let probeError = null;
window.addEventListener("error", (e) => { probeError = String(e.message); });
window.addEventListener("load", () => {
  const figures = [...document.querySelectorAll("figure")].map((f) => {
    const svg = f.querySelector("svg");
    const r = (svg || f).getBoundingClientRect();
    return { id: f.id, missing: f.classList.contains("missing"), w: r.width, h: r.height,
      marks: svg ? svg.querySelectorAll("rect,circle,path,line,polyline,polygon,text").length : 0 };
  });
  const resources = performance.getEntriesByType("resource").map((e) => e.name);
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({ figures, resources, error: probeError });
  document.body.appendChild(pre);
});
</script>`;

/** Loads a copy of `html` with the probe added and returns what it measured. */
async function probe(dir: string, html: string): Promise<Probe> {
  const file = join(dir, "probed.html");
  await Deno.writeTextFile(file, html.replace("</body>", `${PROBE}</body>`));
  const { dom } = await dumpDom(file);
  const m = /<pre id="probe">([^<]*)<\/pre>/.exec(dom);
  assertTrue(m, "the probe ran after load");
  return JSON.parse(
    m[1].replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll(
      "&amp;",
      "&",
    ),
  );
}

const NAME = "report in headless Chromium: no console messages, no requests, every figure laid out and drawn";

Deno.test({
  name: CHROMIUM
    ? NAME
    : `${NAME} (SKIPPED: no chromium on PATH; apt-get install chromium or set ALLOY_CHROMIUM)`,
  ignore: !CHROMIUM,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withReportFixture(async (f) => {
      const r = await buildReport(cpu, {
        modelDir: f.reference,
        dataPath: f.csv,
        candidatesPath: f.candidates,
        sizes: {
          mc: 4,
          igRows: 4,
          igSteps: 16,
          shapRows: 4,
          shapBackground: 3,
          shapSamples: 16,
          tsneRows: 25,
        },
      });
      const page = join(f.tmp, "report.html");
      await Deno.writeTextFile(page, r.html);
      const plain = await dumpDom(page);
      assertEquals(consoleLines(plain.log), [], "the page as written logs nothing");
      assertEquals(fileLoads(plain.log), [`file://${page}`], "the page loads no file but itself");
      for (const id of r.figures) assertTrue(plain.dom.includes(`id="fig-${id}"`), `figure ${id} in the DOM`);

      const p = await probe(f.tmp, r.html);
      assertEquals(p.error, null, "no script error");
      assertEquals(p.resources, [], "the page requests no resource (no network access needed)");
      assertEquals(p.figures.map((x) => x.id), r.figures.map((id) => `fig-${id}`), "every figure, in order");
      for (const x of p.figures) {
        assertTrue(x.w > 50 && x.h > 50, `${x.id} laid out at ${x.w} × ${x.h}`);
        if (!x.missing) assertTrue(x.marks > 10, `${x.id} draws ${x.marks} marks`);
      }

      // The checks themselves catch a bad page: a console message, an uncaught error and two external requests.
      const bad = join(f.tmp, "bad.html");
      const badHtml = r.html.replace(
        "</body>",
        `<img src="https://example.invalid/x.png"/><svg><image href="http://example.invalid/y.png"/></svg>` +
          `<script>console.error("bad page"); notDefined();</script></body>`,
      );
      await Deno.writeTextFile(bad, badHtml);
      const b = await dumpDom(bad);
      assertEquals(
        consoleLines(b.log).length,
        2,
        `console message and uncaught error seen: ${consoleLines(b.log)}`,
      );
      const bp = await probe(f.tmp, badHtml);
      assertEquals(
        bp.resources.sort(),
        ["http://example.invalid/y.png", "https://example.invalid/x.png"],
        "external requests seen",
      );
    });
  },
});

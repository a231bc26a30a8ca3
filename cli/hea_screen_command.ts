/**
 * `alloy hea screen`: high-throughput screening (inverse-design strategy (a) of Zeng, Khan & Post). Every
 * composition of `--min-elements`…`--max-elements` elements drawn from `--elements`, on a grid of `--step` at.%, is
 * scored by the classifier head of a trained HEA model directory (`alloy hea train`) on its eight descriptors, in
 * device batches with a progress bar (design/hea_screening.ts). Prints the `--top` compositions with
 * p(single phase) ≥ `--min-p` (formulas in at.%), how many passed, and the throughput; `--out` writes them as CSV
 * (atomically); `--json` prints exactly one JSON object on stdout.
 * @module
 */
import { type Command, intFlag, numberFlag, rangeFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";
import { openDevice } from "./device_flags.ts";
import { Progress } from "./progress.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { HEA_DESCRIPTOR_NAMES } from "../data/hea_descriptors.ts";
import { loadHeaModelDir } from "../nn/models/hea_model_dir.ts";
import { heaModelClassifier, heaModelTables } from "../design/hea_model_classifier.ts";
import type { DomainVerdict } from "../design/descriptor_domain.ts";
import { domainJson, type HeaModelDomain, heaModelDomain, outsideNote } from "./hea_common.ts";
import {
  countHeaCompositions,
  type DescriptorRanges,
  type HeaEnumeration,
  type HeaScreenResult,
  screenHea,
} from "../design/hea_screening.ts";

type Flags = Record<string, string | boolean | string[] | undefined>;

/** Largest enumeration accepted (a typo such as `--step 0.1` over 30 elements would otherwise run for days). */
const MAX_COMPOSITIONS = 5e9;

/** Parses `--elements Fe,Ni,…` against the model's element list. */
function parseElements(text: string | undefined, known: readonly string[]): string[] {
  if (!text) throw new UserError("missing required flag --elements (e.g. --elements Fe,Ni,Cr,Co,Al,Cu)");
  const els = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!els.length) throw new UserError(`flag --elements: no element in '${text}'`);
  for (const e of els) {
    if (!known.includes(e)) {
      throw new UserError(`flag --elements: '${e}' is not one of the model's elements (${known.join(",")})`);
    }
  }
  if (new Set(els).size !== els.length) {
    throw new UserError(`flag --elements: an element is repeated in '${text}'`);
  }
  return els;
}

/** Parses `--range NAME:LO:HI` (repeatable) into descriptor ranges. */
function parseRanges(values: string[]): DescriptorRanges {
  const out: DescriptorRanges = {};
  for (const v of values) {
    const m = /^([a-z_]+):([^:]+):([^:]+)$/.exec(v.trim());
    const lo = m ? Number(m[2]) : NaN, hi = m ? Number(m[3]) : NaN;
    if (!m || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
      throw new UserError(`flag --range: expected NAME:LO:HI with LO ≤ HI (e.g. delta:0:6.6), got '${v}'`);
    }
    if (!HEA_DESCRIPTOR_NAMES.includes(m[1])) {
      throw new UserError(
        `flag --range: unknown descriptor '${m[1]}' (known: ${HEA_DESCRIPTOR_NAMES.join(", ")})`,
      );
    }
    out[m[1]] = [lo, hi];
  }
  return out;
}

/** An at.% flag as a fraction that is a whole number of steps. */
function percentFlag(flags: Flags, name: string, step: number): number | undefined {
  if (flags[name] === undefined) return undefined;
  const v = numberFlag(flags, name);
  const units = v / step;
  if (!(v > 0 && v <= 100) || Math.abs(units - Math.round(units)) > 1e-6) {
    throw new UserError(
      `flag --${name}: expected a multiple of --step ${step} in (0, 100], got '${flags[name]}'`,
    );
  }
  return v / 100;
}

/**
 * The CSV of the hits: rank, formula, p, at.% per model element, the eight descriptors, and with a domain its
 * verdict (in_domain, domain_distance, nearest_training_alloy).
 */
export function screenCsv(
  r: HeaScreenResult,
  elements: readonly string[],
  domain?: HeaModelDomain | null,
): string {
  const head = [
    "rank",
    "formula",
    "p_single_phase",
    ...elements.map((e) => `${e}_at_pct`),
    ...HEA_DESCRIPTOR_NAMES,
    ...(domain ? ["in_domain", "domain_distance", "nearest_training_alloy"] : []),
  ];
  const rows = r.hits.map((h, i) => {
    const v: DomainVerdict | null = domain ? domain.domain.assess(h.descriptors) : null;
    return [
      i + 1,
      h.formula,
      h.p.toFixed(6),
      ...Array.from(h.composition, (c) => String(Number((100 * c).toFixed(6)))),
      ...Array.from(h.descriptors, (d) => String(Number(d.toPrecision(8)))),
      ...(v ? [v.inDomain, Number(v.distance.toPrecision(6)), domain!.formulas[v.nearest] ?? ""] : []),
    ].join(",");
  });
  return [head.join(","), ...rows].join("\n") + "\n";
}

/** The `hea screen` subcommand (registered by the `hea` command group). */
export const heaScreenCommand: Command = {
  name: "hea screen",
  summary:
    "screen every composition of an element set with a model's classifier (top single-phase candidates)",
  usage:
    "--model DIR --elements Fe,Ni,Cr,Co,Al,Cu [--step 5] [--max-elements 5] [--min-p 0.5] [--top 50] [--out CSV] [--json]",
  flags: {
    model: { type: "string", value: "DIR", help: "HEA model directory (from `alloy hea train`)" },
    elements: { type: "string", value: "A,B,…", help: "candidate elements (from the model's element list)" },
    step: { type: "string", value: "AT%", default: "5", help: "grid step in at.% (100/step must be whole)" },
    "min-elements": { type: "string", value: "K", default: "2", help: "fewest elements per composition" },
    "max-elements": {
      type: "string",
      value: "K",
      default: "5",
      help: "most elements per composition (capped at the number given)",
    },
    "min-fraction": {
      type: "string",
      value: "AT%",
      help: "smallest amount of a present element (default: --step)",
    },
    "max-fraction": { type: "string", value: "AT%", help: "largest amount of any element (default 100)" },
    range: {
      type: "string",
      multiple: true,
      value: "NAME:LO:HI",
      help: `keep only compositions with a descriptor in [LO, HI] (repeatable; ${
        HEA_DESCRIPTOR_NAMES.join(", ")
      })`,
    },
    "min-p": { type: "string", value: "P", default: "0.5", help: "smallest p(single phase) to report" },
    top: { type: "string", value: "K", default: "50", help: "how many of the best compositions to keep" },
    batch: { type: "string", value: "N", default: "32768", help: "compositions per device batch" },
    out: { type: "string", value: "CSV", help: "write the kept compositions as CSV (atomically)" },
    data: {
      type: "string",
      value: "DIR",
      help: "folder of the hea/ files (paper tables; default ALLOY_DATA_DIR)",
    },
    "in-domain": {
      type: "boolean",
      help: "keep only compositions inside the model's applicability domain (see --domain-quantile)",
    },
    "domain-quantile": {
      type: "string",
      value: "Q",
      default: "0.95",
      help: "domain edge: this quantile of the training alloys' own nearest-neighbour distances",
    },
    json: { type: "boolean", help: "print exactly one JSON object on stdout" },
    quiet: { type: "boolean", short: "q", help: "no progress bar" },
  },
  async run(flags) {
    const dir = stringFlag(flags, "model");
    if (!dir) {
      throw new UserError("missing required flag --model DIR (a directory written by `alloy hea train`)");
    }
    const stepPct = numberFlag(flags, "step");
    const units = 100 / stepPct;
    if (!(stepPct > 0 && stepPct <= 100) || Math.abs(units - Math.round(units)) > 1e-9) {
      throw new UserError(
        `flag --step: 100 / step must be a whole number (e.g. 5, 2.5, 10), got '${flags.step}'`,
      );
    }
    const step = 1 / Math.round(units);
    const kMin = intFlag(flags, "min-elements", 2, 1);
    let kMax = intFlag(flags, "max-elements", 5, 1);
    if (kMax < kMin) {
      throw new UserError(`flag --max-elements: ${kMax} is below --min-elements ${kMin}`);
    }
    const minP = numberFlag(flags, "min-p");
    if (!(minP >= 0 && minP <= 1)) {
      throw new UserError(`flag --min-p: expected a number in [0, 1], got '${flags["min-p"]}'`);
    }
    const top = intFlag(flags, "top", 50, 1, 1_000_000);
    const batchSize = intFlag(flags, "batch", 32768, 1, 4_194_304);
    const ranges = parseRanges((flags.range as string[] | undefined) ?? []);
    const out = stringFlag(flags, "out");
    const quantile = rangeFlag(flags, "domain-quantile", 0.95, 0.01, 1);
    const be = await openDevice(flags);
    const loaded = await loadHeaModelDir(dir, be);
    try {
      const elements = parseElements(stringFlag(flags, "elements"), loaded.config.elements);
      if (kMin > elements.length) {
        throw new UserError(
          `flag --min-elements: ${kMin} is more than the ${elements.length} elements given`,
        );
      }
      kMax = Math.min(kMax, elements.length); // the default 5 with fewer elements given
      const work: HeaEnumeration = {
        elements,
        nElements: [kMin, kMax],
        step,
        minFraction: percentFlag(flags, "min-fraction", stepPct),
        maxFraction: percentFlag(flags, "max-fraction", stepPct),
      };
      const total = countHeaCompositions(work);
      if (total === 0) throw new UserError("the enumeration is empty (check --step and the fraction bounds)");
      if (total > MAX_COMPOSITIONS) {
        throw new UserError(
          `the enumeration holds ${total} compositions (more than ${MAX_COMPOSITIONS}); use a coarser --step`,
        );
      }
      const tables = await heaModelTables(loaded, { dataPath: stringFlag(flags, "data") });
      const domain = await heaModelDomain(dir, loaded, flags, quantile, !!flags["in-domain"]);
      const clf = heaModelClassifier(loaded, be);
      const bar = new Progress("screen", total, flags.quiet !== true);
      const r = await screenHea({
        ...work,
        backend: be,
        tables,
        classify: clf.classify,
        needsComposition: clf.needsComposition,
        topK: top,
        minP,
        batchSize,
        descriptorRanges: ranges,
        accept: flags["in-domain"] && domain ? (_c, d) => domain.domain.assess(d).inDomain : undefined,
        onProgress: (p) => bar.update(p.done, Number.isNaN(p.best) ? "" : `best p ${p.best.toFixed(3)}`),
      });
      bar.done();
      const rate = Math.round(r.evaluated / Math.max(r.seconds, 1e-9));
      if (out) await writeFileAtomic(out, screenCsv(r, loaded.config.elements, domain));
      const verdicts = r.hits.map((h) => domain?.domain.assess(h.descriptors) ?? null);
      const hits = r.hits.map((h, i) => ({
        formula: h.formula,
        p: Number(h.p.toFixed(6)),
        composition: Object.fromEntries(
          loaded.config.elements.flatMap((e, i) =>
            h.composition[i] > 0 ? [[e, Number((100 * h.composition[i]).toFixed(6))]] : []
          ),
        ),
        descriptors: Object.fromEntries(
          HEA_DESCRIPTOR_NAMES.map((n, j) => [n, Number(h.descriptors[j].toPrecision(8))]),
        ),
        domain: domainJson(domain, verdicts[i]),
      }));
      const domainSummary = domain && {
        training_alloys: domain.domain.rows,
        quantile: domain.domain.quantile,
        threshold: Number(domain.domain.threshold.toPrecision(6)),
        filter: !!flags["in-domain"],
        rejected: r.rejected,
        outside_among_hits: verdicts.filter((v) => v && !v.inDomain).length,
      };
      if (flags.json) {
        console.log(JSON.stringify({
          model_dir: dir,
          tables: loaded.config.tables,
          members: clf.members,
          elements,
          step_at_pct: stepPct,
          n_elements: [kMin, kMax],
          ranges,
          min_p: minP,
          evaluated: r.evaluated,
          passed_ranges: r.passed,
          above_min_p: r.above,
          domain: domainSummary,
          seconds: Number(r.seconds.toFixed(3)),
          compositions_per_s: rate,
          hits,
          out: out ?? null,
        }));
      } else {
        console.log(
          `screened ${r.evaluated} compositions (${
            elements.join(",")
          }, ${kMin}–${kMax} elements, step ${stepPct} at.%) ` +
            `in ${r.seconds.toFixed(2)} s (${rate} compositions/s)`,
        );
        if (Object.keys(ranges).length) console.log(`${r.passed} inside the descriptor ranges`);
        console.log(`${r.above} with p(single phase) ≥ ${minP}; best ${hits.length}:`);
        if (domainSummary) {
          console.log(
            `applicability domain: ${domainSummary.training_alloys} training alloys, edge ${domainSummary.threshold} ` +
              `(q ${quantile}); ${
                flags["in-domain"]
                  ? `${r.rejected} better-scored compositions outside it were skipped`
                  : `${domainSummary.outside_among_hits} of these lie outside it (marked; --in-domain skips them)`
              }`,
          );
        }
        hits.forEach((h, i) => {
          const d = h.descriptors;
          console.log(
            `${String(i + 1).padStart(4)}  ${h.formula.padEnd(28)} p=${h.p.toFixed(4)}  VEC=${
              d.vec.toFixed(2)
            } ` +
              `δ=${d.delta.toFixed(2)} ΔH=${d.delta_h_mix.toFixed(2)} ΔS=${d.delta_s_mix.toFixed(2)}` +
              outsideNote(h.domain),
          );
        });
        if (out) console.log(`wrote ${out}`);
      }
      return 0;
    } finally {
      loaded.model.dispose();
    }
  },
};

/** The same command under the name the `hea` group registers it by. */
export const screen: Command = heaScreenCommand;

/**
 * What the `alloy hea` subcommands share: loading the dataset with its descriptors, opening one member of a model
 * directory for design, reading formulas against the model's elements, printing compositions as formulas, and
 * writing CSV files atomically.
 * @module
 */
import type { Backend } from "../nn/backend.ts";
import { type HeaDataset, loadHeaDataset } from "../data/hea_dataset.ts";
import { type HeaTables, paperTables, physicalTables } from "../data/hea_tables.ts";
import { heaDescriptorsHost } from "../data/hea_descriptors.ts";
import { type HeaSplit, paperSplit } from "../data/hea_splits.ts";
import { formatFormula, formulaToVector } from "../data/formula.ts";
import { writeFileAtomic } from "../data/atomic_write.ts";
import { type HeaTableSet, type LoadedHeaModel, loadHeaModelDir } from "../nn/models/hea_model_dir.ts";
import type { HeaArrays } from "../nn/train/hea_trainer.ts";
import { extractHeaMember, type HeaDesignModel, heaDesignModel } from "../design/hea_design_model.ts";
import { heaModelTables } from "../design/hea_model_classifier.ts";
import { type HeaMember, heaMembers, type HeaSplitMode } from "../nn/train/hea_protocol.ts";
import { sha256Hex } from "../data/checksum.ts";
import { DescriptorDomain, type DomainVerdict } from "../design/descriptor_domain.ts";
import { HEA_DESCRIPTOR_NAMES } from "../data/hea_descriptors.ts";
import { intFlag, stringFlag } from "./args.ts";
import { UserError } from "./errors.ts";

type Flags = Record<string, unknown>;

/** The dataset, its descriptors under a table set, and the paper's split. */
export interface HeaData {
  ds: HeaDataset;
  tables: HeaTables;
  arrays: HeaArrays;
  paper: HeaSplit;
}

/** Reads `--tables paper|physical` (default paper). */
export function tableSetFlag(flags: Flags): HeaTableSet {
  const t = stringFlag(flags, "tables") ?? "paper";
  if (t !== "paper" && t !== "physical") {
    throw new UserError(`flag --tables: expected 'paper' or 'physical', got '${t}'`);
  }
  return t;
}

/** Loads the HEA dataset (from `--data` or ALLOY_DATA_DIR) and computes its descriptors with `set`. */
export async function loadHeaData(flags: Flags, set: HeaTableSet): Promise<HeaData> {
  const dataPath = stringFlag(flags, "data");
  const ds = await loadHeaDataset(dataPath ? { dataPath } : {});
  for (const n of ds.notices) console.error(`notice: ${n}`);
  const tables = set === "paper"
    ? await paperTables(dataPath ? { dataPath } : {}, ds.elements)
    : physicalTables(ds.elements);
  const desc = heaDescriptorsHost(ds.comp, tables);
  return {
    ds,
    tables,
    arrays: { n: ds.n, elements: ds.elements.length, comp: ds.comp, desc, label: ds.label },
    paper: paperSplit(ds),
  };
}

/**
 * The members of a model directory as `hea train` built them (their seeds and rows, from the protocol stored in
 * config.json) on the loaded dataset. Warns on stderr when the dataset file differs from the one the model was
 * trained on. `hint` is appended to the missing-protocol error.
 * @throws {UserError} naming the directory when the protocol is missing or does not match the members, or when
 *   the model's elements differ from the dataset's
 */
export async function modelMembers(
  dir: string,
  loaded: LoadedHeaModel,
  data: HeaData,
  hint = "",
): Promise<HeaMember[]> {
  const protocol = loaded.config.options.protocol as Record<string, unknown> | undefined;
  if (
    !protocol || (protocol.splits !== "paper" && protocol.splits !== "random") ||
    !Array.isArray(protocol.member_seeds)
  ) {
    throw new UserError(`${dir}/config.json: options.protocol is missing or incomplete${hint}`);
  }
  const seeds = protocol.member_seeds as number[];
  if (seeds.length !== loaded.config.members) {
    throw new UserError(
      `${dir}/config.json: ${seeds.length} member seeds for ${loaded.config.members} members`,
    );
  }
  if (data.ds.elements.join(",") !== loaded.config.elements.join(",")) {
    throw new UserError(`${dir}: the model's elements differ from the dataset's`);
  }
  const trained = loaded.config.data;
  if (trained) {
    const sha = await sha256Hex(await Deno.readFile(data.ds.files.comps));
    if (sha !== trained.sha256 || data.ds.n !== trained.n_rows) {
      console.error(
        `warning: ${data.ds.files.comps} differs from the file the model was trained on (${trained.file}); ` +
          "the members' rows may not match their training split",
      );
    }
  }
  return heaMembers(data.ds.n, data.paper, {
    splits: protocol.splits as HeaSplitMode,
    seeds: seeds.length,
    seed: seeds[0],
    labelled: (protocol.labelled as number | null) ?? null,
    semiSupervised: protocol.semi_supervised !== false,
  });
}

/** A model's applicability domain: the check and the training alloys it was fitted on. */
export interface HeaModelDomain {
  domain: DescriptorDomain;
  /** Formula of every training row of the domain, in the domain's row order. */
  formulas: string[];
}

/**
 * The applicability domain of a model directory: fitted on the descriptors (the model's tables) of every alloy its
 * members trained on, labelled or not. Null, with a notice on stderr, when the dataset cannot be loaded or the
 * directory does not record its training protocol, unless `required`, which makes that an error.
 */
export async function heaModelDomain(
  dir: string,
  loaded: LoadedHeaModel,
  flags: Flags,
  quantile: number,
  required: boolean,
): Promise<HeaModelDomain | null> {
  let data, members;
  try {
    data = await loadHeaData(flags, loaded.config.tables);
    members = await modelMembers(dir, loaded, data);
  } catch (e) {
    if (required || !(e instanceof UserError)) throw e;
    console.error(`notice: no applicability-domain check (${e.message})`);
    return null;
  }
  const rows = [...new Set(members.flatMap((m) => [...m.labelled, ...m.unlabelled]))].sort((a, b) => a - b);
  const F = HEA_DESCRIPTOR_NAMES.length, E = data.ds.elements.length;
  const x = new Float64Array(rows.length * F);
  const desc = data.arrays.desc;
  rows.forEach((r, i) => {
    for (let j = 0; j < F; j++) x[i * F + j] = desc[r * F + j];
  });
  return {
    domain: DescriptorDomain.fit(x, F, { quantile }),
    formulas: rows.map((r) => fractionsFormula(data.ds.comp.subarray(r * E, (r + 1) * E), data.ds.elements)),
  };
}

/** The JSON form of a domain verdict (null without a domain). */
export function domainJson(
  d: HeaModelDomain | null,
  v: DomainVerdict | null,
): { in_domain: boolean; distance: number; nearest_training_alloy: string | null } | null {
  return d && v
    ? {
      in_domain: v.inDomain,
      distance: Number(v.distance.toPrecision(6)),
      nearest_training_alloy: d.formulas[v.nearest] ?? null,
    }
    : null;
}

/** The text-output note of a verdict outside the domain ("" inside it or without a domain). */
export function outsideNote(v: ReturnType<typeof domainJson>): string {
  return v && !v.in_domain ? `  outside the domain (nearest ${v.nearest_training_alloy})` : "";
}

/** A loaded model directory with one member opened for design. */
export interface HeaDesignContext {
  loaded: LoadedHeaModel;
  member: number;
  tables: HeaTables;
  design: HeaDesignModel;
}

/** Opens `--model DIR` (required) and member `--member k` (default 0) for generation, nudging or explanation. */
export async function openHeaDesign(flags: Flags, be: Backend): Promise<HeaDesignContext> {
  const dir = stringFlag(flags, "model");
  if (!dir) {
    throw new UserError("missing required flag --model DIR (a directory written by `alloy hea train`)");
  }
  const loaded = await loadHeaModelDir(dir, be);
  const member = intFlag(flags, "member", 0, 0, loaded.config.members - 1);
  const dataPath = stringFlag(flags, "data");
  const tables = await heaModelTables(loaded, dataPath ? { dataPath } : {});
  const single = await extractHeaMember(loaded.model, member);
  const design = heaDesignModel(single, loaded.scalers[member], tables, loaded.config.elements);
  return { loaded, member, tables, design };
}

/** A formula as fractions over `elements` (a {@link UserError} names the formula and any unknown element). */
export function formulaFractions(text: string, elements: readonly string[]): Float64Array {
  return formulaToVector(text, elements);
}

/** Fractions over `elements` as an at.% formula (descending amounts, `precision` decimals). */
export function fractionsFormula(fr: ArrayLike<number>, elements: readonly string[], precision = 1): string {
  const pairs: [string, number][] = [];
  for (let j = 0; j < elements.length; j++) if (fr[j] > 0) pairs.push([elements[j], fr[j]]);
  return formatFormula(pairs, { precision });
}

/** Writes a CSV atomically (numbers with 6 significant digits, cells with commas or quotes quoted). */
export async function writeCsvAtomic(
  path: string,
  header: readonly string[],
  rows: readonly (readonly (string | number | boolean | null)[])[],
): Promise<void> {
  const cell = (v: string | number | boolean | null) => {
    if (v === null) return "";
    if (typeof v === "number") return Number.isFinite(v) ? `${+v.toPrecision(6)}` : "";
    const s = String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  await writeFileAtomic(
    path,
    [header.join(","), ...rows.map((r) => r.map(cell).join(","))].join("\n") + "\n",
  );
}

/** `0.871 [0.82, 0.92]` */
export function withCi(v: number, ci?: readonly [number, number], digits = 3): string {
  return ci ? `${v.toFixed(digits)} [${ci[0].toFixed(digits)}, ${ci[1].toFixed(digits)}]` : v.toFixed(digits);
}

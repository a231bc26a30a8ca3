/**
 * A line-level checker for LAMMPS input scripts (LAMMPS itself is not installed here): it reads a script the
 * way LAMMPS's input parser does — `&` continuations, `"""` multi-line quotes, `#` comments outside quotes,
 * `${name}` / `$x` / `$(expr)` substitution outside quotes, whitespace tokens with '…' / "…" quoting — and
 * checks, in order:
 *
 * - every command is a known LAMMPS command (the list below: the input-script commands of LAMMPS 2023–2025);
 * - argument counts and simple value checks (integers, positive numbers, keyword value counts, type ranges)
 *   for the commands the deck generator emits, including the styles of `fix`, `region`, `dump`, `set`,
 *   `velocity`, `variable` it uses (`fix ave/time` Nevery/Nrepeat/Nfreq consistency as LAMMPS enforces it);
 * - variables are defined before use (`${v}`, `$v`, `v_v` in formulas and arguments; `index`-style and
 *   `string` values are substituted, so argument counts see what LAMMPS sees);
 * - fix, compute and dump IDs are unique while active, and every `f_ID`, `c_ID`, `unfix`, `dump_modify`,
 *   `undump` refers to one that is defined;
 * - region and group names are defined before use; the box exists before atoms, masses, pair coefficients,
 *   groups and runs; every type has a mass and a pair style is set before a run;
 * - no unterminated quote, `"""` block or `&` continuation, and no non-ASCII character outside comments.
 *
 * It does not evaluate formulas or know every style's arguments: a deck that passes can still fail in LAMMPS,
 * but a deck that fails here would fail there (or is ambiguous enough to be worth fixing).
 * @module
 */
import { UserError } from "../cli/errors.ts";

/** One problem found in a script. */
export interface LammpsIssue {
  /** 1-based line number (the first line of a continued command). */
  line: number;
  message: string;
}

/** State carried over from an earlier script, for decks that start with `read_restart`. */
export interface LammpsRestartState {
  /** Number of atom types in the restart file (checks type ranges when given). */
  ntypes?: number;
  /** Groups stored in the restart file besides `all`. */
  groups?: string[];
}

/** Options of {@link checkLammpsInput}. */
export interface LammpsCheckOptions {
  /** Variables defined before the script runs (`lmp -var NAME value`). */
  variables?: Record<string, string>;
  /** What a `read_restart` restores. */
  restart?: LammpsRestartState;
}

/** The input-script commands of LAMMPS (not styles), for the unknown-command check. */
export const LAMMPS_COMMANDS: ReadonlySet<string> = new Set(
  `angle_coeff angle_style angle_write atom_modify atom_style balance bond_coeff bond_style bond_write
  boundary change_box clear comm_modify comm_style compute compute_modify create_atoms create_bonds
  create_box delete_atoms delete_bonds dielectric dihedral_coeff dihedral_style dihedral_write dimension
  displace_atoms dump dump_modify dynamical_matrix echo fix fix_modify fitpod geturl group group2ndx hyper
  if improper_coeff improper_style include info jump kim kspace_modify kspace_style label labelmap lattice
  log mass mdi message min_modify min_style minimize neb neb/spin neigh_modify neighbor newton next
  package pair_coeff pair_modify pair_style pair_write partition plugin prd print processors python quit
  read_data read_dump read_restart region region2vmd replicate rerun reset_atoms reset_timestep restart
  run run_style server set shell special_bonds suffix tad tag temper temper/grem temper/npt third_order
  thermo thermo_modify thermo_style timer timestep uncompute undump unfix units variable velocity
  write_coeff write_data write_dump write_restart`.split(/\s+/),
);

const UNITS = new Set(["lj", "real", "metal", "si", "cgs", "electron", "micro", "nano"]);
const VARIABLE_STYLES = new Set([
  "delete",
  "atomfile",
  "file",
  "format",
  "getenv",
  "index",
  "internal",
  "loop",
  "python",
  "string",
  "timer",
  "uloop",
  "universe",
  "world",
  "equal",
  "vector",
  "atom",
]);
/** Styles whose value is a single formula argument, evaluated when used (so `${v}` of them is a number). */
const FORMULA_STYLES = new Set(["equal", "vector", "atom"]);
/** A regex matching any of the space-separated pair styles, with an optional accelerator suffix. */
export function styleList(styles: string): RegExp {
  const alt = styles.trim().split(/\s+/).map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|");
  return new RegExp(`^(${alt})(/(gpu|kk|omp|opt|intel))?$`);
}

/**
 * Pair styles whose coefficients are given as `pair_coeff * * FILE E1 E2 …`, one element name per atom type
 * in type order (accelerator suffixes /gpu, /kk, /omp, /opt, /intel allowed).
 */
export const FILE_ELEMENTS_PAIR_STYLES: RegExp = styleList(
  "eam/alloy eam/fs eam/he eam/cd adp tersoff tersoff/mod tersoff/mod/c tersoff/zbl sw sw/mod e3gnn " +
    "e3gnn/parallel pace mace nequip allegro bop comb comb3 edip extep lcbop meam/spline meam/sw/spline " +
    "polymorphic vashishta rann",
);

/** Marks a substituted value that is only known when LAMMPS runs (an equal-style variable, `$(…)`). */
const DYN = "\u0001";

interface Token {
  text: string;
  quoted: boolean;
}

interface Logical {
  line: number;
  text: string;
}

/** Splits the script into logical lines (`&` and `"""` blocks joined), reporting unterminated ones. */
function logicalLines(script: string, issues: LammpsIssue[]): Logical[] {
  const phys = script.split(/\r\n|\n|\r/);
  const out: Logical[] = [];
  for (let i = 0; i < phys.length; i++) {
    const start = i + 1;
    let text = phys[i];
    for (;;) {
      const triples = (text.match(/"""/g) ?? []).length;
      if (triples % 2 === 1) {
        if (i + 1 >= phys.length) {
          issues.push({ line: start, message: 'unterminated """ quote' });
          text = "";
          break;
        }
        text += "\n" + phys[++i];
        continue;
      }
      const trimmed = text.replace(/\s+$/, "");
      if (trimmed.endsWith("&") && !commentStart(trimmed.slice(0, -1)).inComment) {
        if (i + 1 >= phys.length) {
          issues.push({
            line: start,
            message: "the last line ends with '&' (a continuation with nothing after it)",
          });
          text = trimmed.slice(0, -1);
          break;
        }
        text = trimmed.slice(0, -1) + " " + phys[++i];
        continue;
      }
      break;
    }
    out.push({ line: start, text });
  }
  return out;
}

/** Position of a `#` comment outside quotes (or the length), and whether a quote is left open. */
function commentStart(s: string): { at: number; open: string | null; inComment: boolean } {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    if (q) {
      if (s.startsWith(q, i)) {
        i += q.length - 1;
        q = null;
      }
      continue;
    }
    if (s.startsWith('"""', i)) q = '"""', i += 2;
    else if (s[i] === '"' || s[i] === "'") q = s[i];
    else if (s[i] === "#") return { at: i, open: null, inComment: true };
  }
  return { at: s.length, open: q, inComment: false };
}

/** Splits a comment-free line into tokens: words, or '…' / "…" / """…""" quoted arguments. */
function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && /\s/.test(s[i])) i++;
    if (i >= s.length) return out;
    const q = s.startsWith('"""', i) ? '"""' : s[i] === '"' || s[i] === "'" ? s[i] : null;
    if (q) {
      const end = s.indexOf(q, i + q.length);
      out.push({ text: s.slice(i + q.length, end < 0 ? s.length : end), quoted: true });
      i = end < 0 ? s.length : end + q.length;
    } else {
      let j = i;
      while (j < s.length && !/\s/.test(s[j])) j++;
      out.push({ text: s.slice(i, j), quoted: false });
      i = j;
    }
  }
}

/** True for a literal number (or a value known only at run time). */
function isNumber(t: string): boolean {
  return t.includes(DYN) || /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t);
}

function isInt(t: string): boolean {
  return t.includes(DYN) || /^[-+]?\d+$/.test(t);
}

function shown(t: string): string {
  return t.replace(new RegExp(`${DYN}([^${DYN}]*)${DYN}`, "g"), "${$1}");
}

class Checker {
  readonly issues: LammpsIssue[] = [];
  line = 0;
  cmd = "";
  readonly vars = new Map<string, { style: string; value?: string }>();
  readonly fixes = new Map<string, string>();
  /** thermo_temp, thermo_press and thermo_pe exist from the start. */
  readonly computes = new Set<string>(["thermo_temp", "thermo_press", "thermo_pe"]);
  readonly dumps = new Set<string>();
  readonly regions = new Set<string>();
  readonly groups = new Set<string>(["all"]);
  box = false;
  ntypes: number | null = null;
  masses = new Set<number>();
  massesFromRestart = false;
  pairStyle: string | null = null;
  pairCoeff = false;

  constructor(readonly options: LammpsCheckOptions) {
    for (const [k, v] of Object.entries(options.variables ?? {})) {
      this.vars.set(k, { style: "index", value: v });
    }
  }

  issue(message: string) {
    this.issues.push({ line: this.line, message: `${this.cmd ? `${this.cmd}: ` : ""}${shown(message)}` });
  }

  /** Checks that a variable is defined; returns its record. */
  variable(name: string) {
    const v = this.vars.get(name);
    if (!v) this.issue(`variable '${name}' is used before it is defined`);
    return v;
  }

  /** Substitutes `${name}`, `$x` and `$(expr)` outside quotes, as LAMMPS does before tokenizing. */
  substitute(s: string): string {
    let out = "";
    let q: string | null = null;
    for (let i = 0; i < s.length; i++) {
      if (q) {
        if (s.startsWith(q, i)) {
          out += q;
          i += q.length - 1;
          q = null;
        } else out += s[i];
        continue;
      }
      if (s.startsWith('"""', i)) {
        q = '"""';
        out += q;
        i += 2;
        continue;
      }
      if (s[i] === '"' || s[i] === "'") {
        q = s[i];
        out += s[i];
        continue;
      }
      if (s[i] !== "$") {
        out += s[i];
        continue;
      }
      if (s[i + 1] === "{") {
        const end = s.indexOf("}", i);
        if (end < 0) {
          this.issue("'${' without a closing '}'");
          out += s.slice(i);
          break;
        }
        out += this.valueOf(s.slice(i + 2, end));
        i = end;
      } else if (s[i + 1] === "(") {
        let depth = 0, end = -1;
        for (let j = i + 1; j < s.length; j++) {
          if (s[j] === "(") depth++;
          else if (s[j] === ")" && --depth === 0) {
            end = j;
            break;
          }
        }
        if (end < 0) {
          this.issue("'$(' without a closing ')'");
          out += s.slice(i);
          break;
        }
        this.references(s.slice(i + 2, end));
        out += `${DYN}$(…)${DYN}`;
        i = end;
      } else if (i + 1 < s.length && !/\s/.test(s[i + 1])) {
        out += this.valueOf(s[i + 1]);
        i++;
      } else {
        this.issue("a '$' with no variable name after it");
        out += "$";
      }
    }
    return out;
  }

  valueOf(name: string): string {
    const v = this.variable(name);
    if (v && v.value !== undefined && !FORMULA_STYLES.has(v.style)) return v.value;
    return `${DYN}${name}${DYN}`;
  }

  /** Checks `v_`, `c_` and `f_` references inside a token (formula, thermo keyword, ave/time value, …). */
  references(t: string) {
    for (const m of t.matchAll(/(?<![A-Za-z0-9_.])([vcf])_([A-Za-z0-9_]+)/g)) {
      const [, kind, id] = m;
      if (kind === "v") this.variable(id);
      else if (kind === "c" && !this.computes.has(id)) {
        this.issue(`compute '${id}' is referenced but not defined`);
      } else if (kind === "f" && !this.fixes.has(id)) this.issue(`fix '${id}' is referenced but not defined`);
    }
  }

  needBox() {
    if (!this.box) {
      this.issue("the simulation box does not exist yet (create_box, read_data or read_restart first)");
    }
  }

  group(name: string) {
    if (!this.groups.has(name)) this.issue(`group '${name}' is not defined`);
  }

  region(name: string) {
    if (!this.regions.has(name)) this.issue(`region '${name}' is not defined`);
  }

  count(args: Token[], min: number, max = min) {
    const n = args.length;
    if (n < min || n > max) {
      const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      this.issue(`expected ${want} argument${min === 1 && max === 1 ? "" : "s"}, got ${n}`);
      return false;
    }
    return true;
  }

  int(t: Token | undefined, what: string, min = -Infinity) {
    if (!t) return this.issue(`missing ${what}`);
    if (!isInt(t.text) || (!t.text.includes(DYN) && Number(t.text) < min)) {
      this.issue(`${what} must be an integer${min > -Infinity ? ` ≥ ${min}` : ""}, got '${t.text}'`);
    }
  }

  num(t: Token | undefined, what: string, positive = false) {
    if (!t) return this.issue(`missing ${what}`);
    if (!isNumber(t.text) || (positive && !t.text.includes(DYN) && !(Number(t.text) > 0))) {
      this.issue(`${what} must be a${positive ? " positive" : ""} number, got '${t.text}'`);
    }
  }

  type(t: Token | undefined, what: string, allowStar = false) {
    if (!t) return this.issue(`missing ${what}`);
    if (allowStar && /^\d*\*\d*$/.test(t.text)) return;
    this.int(t, what, 1);
    if (this.ntypes !== null && isInt(t.text) && !t.text.includes(DYN) && Number(t.text) > this.ntypes) {
      this.issue(`${what} ${t.text} is out of range (the box has ${this.ntypes} atom types)`);
    }
  }

  /** Keyword/value pairs after the fixed arguments: checks each keyword's value count. */
  keywords(args: Token[], from: number, counts: Record<string, number>, what = "keyword") {
    for (let i = from; i < args.length;) {
      const k = args[i].text;
      const n = counts[k];
      if (n === undefined) return this.issue(`unknown ${what} '${k}'`);
      if (args.length - i - 1 < n) {
        return this.issue(`${what} '${k}' needs ${n} value${n === 1 ? "" : "s"}, got ${args.length - i - 1}`);
      }
      i += 1 + n;
    }
  }

  command(tokens: Token[]) {
    const [head, ...args] = tokens;
    const name = head.text;
    this.cmd = name;
    if (head.quoted || !LAMMPS_COMMANDS.has(name)) {
      this.issue(`unknown command`);
      return;
    }
    for (const a of args) this.references(a.text);
    const fn = (this as unknown as Record<string, (a: Token[]) => void>)[`c_${name.replace(/\//g, "_")}`];
    if (fn) fn.call(this, args);
  }

  // ---- commands ----------------------------------------------------------------------------------------

  c_units(a: Token[]) {
    if (this.count(a, 1) && !UNITS.has(a[0].text)) this.issue(`unknown units '${a[0].text}'`);
  }

  c_boundary(a: Token[]) {
    if (!this.count(a, 3)) return;
    for (const t of a) if (!/^(p|[fsm]{1,2})$/.test(t.text)) this.issue(`bad boundary '${t.text}'`);
  }

  c_atom_style(a: Token[]) {
    this.count(a, 1, Infinity);
  }

  c_atom_modify(a: Token[]) {
    this.count(a, 2, Infinity);
  }

  c_dimension(a: Token[]) {
    if (this.count(a, 1) && !["2", "3"].includes(a[0].text)) this.issue(`dimension must be 2 or 3`);
  }

  c_lattice(a: Token[]) {
    if (!this.count(a, 1, Infinity)) return;
    if (a[0].text !== "none" && a.length < 2) this.issue("missing the lattice scale");
    else if (a.length >= 2) this.num(a[1], "lattice scale", true);
  }

  c_region(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    const [id, style] = a;
    if (style.text === "delete") {
      this.region(id.text);
      this.regions.delete(id.text);
      return;
    }
    const need: Record<string, number> = { block: 6, sphere: 4, cylinder: 5, prism: 9, cone: 6, plane: 6 };
    const n = need[style.text];
    if (n !== undefined) {
      if (a.length < 2 + n) this.issue(`region style ${style.text} needs ${n} values, got ${a.length - 2}`);
      else {
        for (let i = 0; i < n; i++) {
          const t = a[2 + i].text;
          if (!(isNumber(t) || t === "INF" || t === "EDGE" || /^v_/.test(t) || /^[xyz]$/.test(t))) {
            this.issue(`region ${style.text}: '${t}' is not a number, INF or EDGE`);
          }
        }
        this.keywords(a, 2 + n, { side: 1, units: 1, move: 3, rotate: 7, open: 1 });
      }
    }
    if (this.regions.has(id.text)) this.issue(`region '${id.text}' is already defined`);
    this.regions.add(id.text);
  }

  c_create_box(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    this.int(a[0], "the number of atom types", 1);
    this.region(a[1].text);
    if (this.box) this.issue("the box already exists");
    this.box = true;
    this.ntypes = isInt(a[0].text) && !a[0].text.includes(DYN) ? Number(a[0].text) : null;
  }

  c_create_atoms(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    this.needBox();
    this.type(a[0], "atom type");
    const style = a[1].text;
    const after: Record<string, number> = { box: 0, region: 1, single: 3, random: 3 };
    const n = after[style];
    if (n === undefined) return this.issue(`unknown style '${style}'`);
    if (a.length < 2 + n) return this.issue(`style ${style} needs ${n} values, got ${a.length - 2}`);
    if (style === "region") this.region(a[2].text);
    if (style === "random") {
      this.int(a[2], "the number of atoms", 0);
      this.int(a[3], "the random seed", 1);
      if (a[4].text !== "NULL") this.region(a[4].text);
    }
    this.keywords(a, 2 + n, {
      basis: 2,
      remap: 1,
      units: 1,
      mol: 2,
      var: 1,
      set: 2,
      rotate: 4,
      overlap: 1,
      maxtry: 1,
      ratio: 2,
      subset: 2,
    });
  }

  c_mass(a: Token[]) {
    if (!this.count(a, 2)) return;
    this.needBox();
    this.type(a[0], "atom type", true);
    this.num(a[1], "mass", true);
    const m = /^(\d*)\*(\d*)$/.exec(a[0].text);
    const n = this.ntypes ?? 0;
    if (m) { for (let t = Number(m[1] || 1); t <= (m[2] ? Number(m[2]) : n); t++) this.masses.add(t); }
    else if (isInt(a[0].text)) this.masses.add(Number(a[0].text));
  }

  c_set(a: Token[]) {
    if (!this.count(a, 4, Infinity)) return;
    this.needBox();
    const [style, id] = a;
    if (style.text === "type") this.type(id, "the selected type", true);
    else if (style.text === "group") this.group(id.text);
    else if (style.text === "region") this.region(id.text);
    else if (!["atom", "mol"].includes(style.text)) return this.issue(`unknown style '${style.text}'`);
    const counts: Record<string, number> = {
      type: 1,
      "type/fraction": 3,
      "type/ratio": 3,
      "type/subset": 3,
      x: 1,
      y: 1,
      z: 1,
      vx: 1,
      vy: 1,
      vz: 1,
      charge: 1,
      mass: 1,
      image: 3,
    };
    this.keywords(a, 2, counts);
    for (let i = 2; i < a.length; i += 1 + (counts[a[i].text] ?? a.length)) {
      if (a[i].text === "type/subset" && i + 3 < a.length) {
        this.type(a[i + 1], "type/subset target type");
        this.int(a[i + 2], "type/subset count", 0);
        this.int(a[i + 3], "type/subset seed", 1);
      }
    }
  }

  c_pair_style(a: Token[]) {
    if (!this.count(a, 1, Infinity)) return;
    this.pairStyle = a[0].text;
    this.pairCoeff = false;
  }

  c_pair_coeff(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    this.needBox();
    if (!this.pairStyle) this.issue("pair_coeff before pair_style");
    this.type(a[0], "first atom type", true);
    this.type(a[1], "second atom type", true);
    if (
      this.pairStyle && FILE_ELEMENTS_PAIR_STYLES.test(this.pairStyle) && a[0].text === "*" &&
      a[1].text === "*" && this.ntypes !== null
    ) {
      const names = a.length - 3;
      if (a.length < 3) this.issue("missing the potential file");
      else if (names !== this.ntypes) {
        this.issue(`${names} element names for ${this.ntypes} atom types (one per type, in type order)`);
      }
    }
    this.pairCoeff = true;
  }

  c_neighbor(a: Token[]) {
    if (!this.count(a, 2)) return;
    this.num(a[0], "the neighbor skin");
    if (!["bin", "nsq", "multi", "multi/old"].includes(a[1].text)) this.issue(`unknown style '${a[1].text}'`);
  }

  c_neigh_modify(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    this.keywords(a, 0, {
      delay: 1,
      every: 1,
      check: 1,
      once: 1,
      cluster: 1,
      include: 1,
      exclude: 3,
      page: 1,
      one: 1,
      binsize: 1,
      collection: 0,
    });
  }

  c_timestep(a: Token[]) {
    if (this.count(a, 1)) this.num(a[0], "timestep", true);
  }

  c_thermo(a: Token[]) {
    if (this.count(a, 1)) this.int(a[0], "thermo interval", 0);
  }

  c_thermo_style(a: Token[]) {
    if (!this.count(a, 1, Infinity)) return;
    if (a[0].text === "custom" && a.length < 2) this.issue("custom needs at least one keyword");
  }

  c_thermo_modify(a: Token[]) {
    this.count(a, 2, Infinity);
  }

  c_velocity(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    this.needBox();
    this.group(a[0].text);
    const after: Record<string, number> = { create: 2, set: 3, scale: 1, ramp: 6, zero: 1 };
    const n = after[a[1].text];
    if (n === undefined) return this.issue(`unknown style '${a[1].text}'`);
    if (a.length < 2 + n) return this.issue(`style ${a[1].text} needs ${n} values, got ${a.length - 2}`);
    if (a[1].text === "create") {
      this.num(a[2], "temperature");
      this.int(a[3], "the random seed", 1);
    }
    this.keywords(a, 2 + n, {
      dist: 1,
      sum: 1,
      mom: 1,
      rot: 1,
      temp: 1,
      bias: 1,
      loop: 1,
      rigid: 1,
      units: 1,
    });
  }

  c_min_style(a: Token[]) {
    this.count(a, 1);
  }

  c_min_modify(a: Token[]) {
    this.count(a, 2, Infinity);
  }

  c_minimize(a: Token[]) {
    if (!this.count(a, 4)) return;
    this.num(a[0], "etol");
    this.num(a[1], "ftol");
    this.int(a[2], "maxiter", 0);
    this.int(a[3], "maxeval", 0);
    this.readyToRun();
  }

  c_reset_timestep(a: Token[]) {
    if (this.count(a, 1, Infinity)) this.int(a[0], "the timestep", 0);
  }

  c_run(a: Token[]) {
    if (!this.count(a, 1, Infinity)) return;
    this.int(a[0], "the number of steps", 0);
    this.keywords(a, 1, { upto: 0, start: 1, stop: 1, pre: 1, post: 1, every: 2 });
    this.readyToRun();
  }

  readyToRun() {
    this.needBox();
    if (!this.pairStyle || !this.pairCoeff) this.issue("no pair_style with pair_coeff is defined");
    if (!this.massesFromRestart && this.ntypes !== null) {
      const missing = [];
      for (let t = 1; t <= this.ntypes; t++) if (!this.masses.has(t)) missing.push(t);
      if (missing.length) {
        this.issue(
          `atom type${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ha${
            missing.length > 1 ? "ve" : "s"
          } no mass`,
        );
      }
    }
  }

  c_fix(a: Token[]) {
    if (!this.count(a, 3, Infinity)) return;
    this.needBox();
    const [id, group, style] = a.map((t) => t.text);
    this.group(group);
    if (this.fixes.has(id)) this.issue(`fix ID '${id}' is already in use (unfix it first)`);
    const v = a.slice(3);
    const f = (this as unknown as Record<string, (a: Token[]) => void>)[`fix_${style.replace(/\//g, "_")}`];
    if (f) f.call(this, v);
    this.fixes.set(id, style);
  }

  fix_nve(v: Token[]) {
    this.count(v, 0, Infinity);
  }

  fix_nvt(v: Token[]) {
    this.nh(v, false);
  }

  fix_npt(v: Token[]) {
    this.nh(v, true);
  }

  /** Nosé–Hoover family: `temp` (3 values) and, for npt, at least one barostat keyword (3 values each). */
  nh(v: Token[], barostat: boolean) {
    const counts: Record<string, number> = {
      temp: 3,
      iso: 3,
      aniso: 3,
      tri: 3,
      x: 3,
      y: 3,
      z: 3,
      xy: 3,
      yz: 3,
      xz: 3,
      couple: 1,
      tchain: 1,
      pchain: 1,
      mtk: 1,
      tloop: 1,
      ploop: 1,
      nreset: 1,
      drag: 1,
      dilate: 1,
      fixedpoint: 3,
      update: 1,
      ext: 1,
      disc: 0,
      flip: 1,
    };
    // Values first (a missing value shifts every later keyword: report that, not the echoes).
    const before = this.issues.length;
    for (let i = 0; i < v.length && counts[v[i].text] !== undefined; i += 1 + counts[v[i].text]) {
      if (counts[v[i].text] === 3 && i + 3 < v.length && v[i].text !== "fixedpoint") {
        this.num(v[i + 1], `${v[i].text} start`);
        this.num(v[i + 2], `${v[i].text} stop`);
        this.num(v[i + 3], `${v[i].text} damping`, true);
      }
      if (this.issues.length > before) return;
    }
    this.keywords(v, 0, counts);
    const words = v.map((t) => t.text);
    if (!words.includes("temp")) this.issue("the temp keyword is required");
    if (
      barostat && !["iso", "aniso", "tri", "x", "y", "z", "xy", "yz", "xz"].some((k) => words.includes(k))
    ) {
      this.issue("a barostat keyword (iso, aniso, tri, x, y, z) is required");
    }
  }

  fix_setforce(v: Token[]) {
    if (!this.count(v, 3, Infinity)) return;
    for (const t of v.slice(0, 3)) {
      if (!(isNumber(t.text) || t.text === "NULL" || /^v_/.test(t.text))) {
        this.issue(`setforce component '${t.text}' is not a number, NULL or v_name`);
      }
    }
    this.keywords(v, 3, { region: 1 });
  }

  fix_momentum(v: Token[]) {
    if (this.count(v, 1, Infinity)) this.int(v[0], "N", 1);
  }

  fix_langevin(v: Token[]) {
    if (!this.count(v, 4, Infinity)) return;
    this.num(v[2], "damping", true);
    this.int(v[3], "the random seed", 1);
  }

  fix_indent(v: Token[]) {
    if (!this.count(v, 2, Infinity)) return;
    this.num(v[0], "the force constant K", true);
    const shape = v[1].text;
    const n: Record<string, number> = { sphere: 4, cylinder: 4, plane: 3, cone: 7 };
    if (n[shape] === undefined) return this.issue(`unknown indenter shape '${shape}'`);
    if (v.length < 2 + n[shape]) return this.issue(`${shape} needs ${n[shape]} values, got ${v.length - 2}`);
    for (const t of v.slice(2, 2 + n[shape])) {
      if (!(isNumber(t.text) || /^v_/.test(t.text) || (shape === "plane" && /^[xyz]$/.test(t.text)))) {
        this.issue(`indenter value '${t.text}' is not a number or v_name`);
      }
    }
    this.keywords(v, 2 + n[shape], { side: 1, units: 1 });
  }

  fix_deform(v: Token[]) {
    if (!this.count(v, 3, Infinity)) return;
    this.int(v[0], "N", 1);
    const styleValues: Record<string, number> = {
      final: 2,
      delta: 2,
      scale: 1,
      vel: 1,
      erate: 1,
      trate: 1,
      volume: 0,
      wiggle: 2,
      variable: 2,
    };
    let i = 1;
    while (i < v.length) {
      const k = v[i].text;
      if (["x", "y", "z", "xy", "xz", "yz"].includes(k)) {
        const s = v[i + 1]?.text;
        const n = s === undefined ? undefined : styleValues[s];
        if (n === undefined) {
          return this.issue(`dimension ${k}: unknown or missing deform style '${s ?? ""}'`);
        }
        if (v.length - i - 2 < n) return this.issue(`${k} ${s} needs ${n} values, got ${v.length - i - 2}`);
        for (const t of v.slice(i + 2, i + 2 + n)) if (s !== "variable") this.num(t, `${k} ${s} value`);
        i += 2 + n;
      } else {
        this.keywords(v, i, { remap: 1, flip: 1, units: 1 });
        return;
      }
    }
  }

  fix_ave_time(v: Token[]) {
    if (!this.count(v, 4, Infinity)) return;
    this.int(v[0], "Nevery", 1);
    this.int(v[1], "Nrepeat", 1);
    this.int(v[2], "Nfreq", 1);
    const [ne, nr, nf] = v.slice(0, 3).map((t) => Number(t.text));
    if (v.slice(0, 3).every((t) => /^\d+$/.test(t.text)) && (nf % ne !== 0 || nr * ne > nf)) {
      this.issue(`Nfreq must be a multiple of Nevery and Nevery·Nrepeat ≤ Nfreq (got ${ne} ${nr} ${nf})`);
    }
    const kw: Record<string, number> = {
      mode: 1,
      ave: 1,
      start: 1,
      off: 1,
      overwrite: 0,
      format: 1,
      title1: 1,
      title2: 1,
      title3: 1,
      file: 1,
    };
    let i = 3, values = 0;
    while (i < v.length && !(v[i].text in kw)) {
      if (!/^[cfv]_/.test(v[i].text)) return this.issue(`value '${v[i].text}' is not c_ID, f_ID or v_name`);
      values++, i++;
    }
    if (values === 0) this.issue("no values to average");
    this.keywords(v, i, kw);
  }

  fix_print(v: Token[]) {
    if (!this.count(v, 2, Infinity)) return;
    this.int(v[0], "N", 1);
    this.strings(v[1].text);
    this.keywords(v, 2, { file: 1, append: 1, screen: 1, title: 1 });
  }

  /** `${name}` / `$x` inside a quoted string that LAMMPS substitutes when it prints. */
  strings(s: string) {
    for (const m of s.matchAll(/\$\{([^}]*)\}|\$([A-Za-z0-9_])/g)) this.variable(m[1] ?? m[2]);
  }

  c_unfix(a: Token[]) {
    if (!this.count(a, 1)) return;
    if (!this.fixes.delete(a[0].text)) this.issue(`fix '${a[0].text}' is not defined`);
  }

  c_fix_modify(a: Token[]) {
    if (!this.count(a, 3, Infinity)) return;
    if (!this.fixes.has(a[0].text)) this.issue(`fix '${a[0].text}' is not defined`);
  }

  c_compute(a: Token[]) {
    if (!this.count(a, 3, Infinity)) return;
    this.needBox();
    this.group(a[1].text);
    if (this.computes.has(a[0].text)) this.issue(`compute ID '${a[0].text}' is already in use`);
    this.computes.add(a[0].text);
  }

  c_compute_modify(a: Token[]) {
    if (!this.count(a, 3, Infinity)) return;
    if (!this.computes.has(a[0].text)) this.issue(`compute '${a[0].text}' is not defined`);
  }

  c_uncompute(a: Token[]) {
    if (!this.count(a, 1)) return;
    if (!this.computes.delete(a[0].text)) this.issue(`compute '${a[0].text}' is not defined`);
  }

  c_dump(a: Token[]) {
    if (!this.count(a, 5, Infinity)) return;
    this.needBox();
    const [id, group, style] = a.map((t) => t.text);
    this.group(group);
    this.int(a[3], "N", 1);
    if (this.dumps.has(id)) this.issue(`dump ID '${id}' is already in use`);
    this.dumpArgs(style, a.slice(5));
    this.dumps.add(id);
  }

  dumpArgs(style: string, attrs: Token[]) {
    const words = attrs.map((t) => t.text);
    if (style === "custom" && words.length === 0) this.issue("custom needs at least one attribute");
    if (style === "cfg") {
      const head = words.slice(0, 5).join(" ");
      if (!/^mass type xsu? ysu? zsu?$/.test(head)) {
        this.issue(`cfg needs 'mass type xs ys zs' as its first attributes, got '${head}'`);
      }
    }
  }

  c_dump_modify(a: Token[]) {
    if (!this.count(a, 3, Infinity)) return;
    if (!this.dumps.has(a[0].text)) this.issue(`dump '${a[0].text}' is not defined`);
    this.dumpModify(a.slice(1));
  }

  /** dump_modify keywords; `element` takes one name per atom type. */
  dumpModify(a: Token[]) {
    const counts: Record<string, number> = {
      sort: 1,
      pad: 1,
      flush: 1,
      first: 1,
      format: 2,
      precision: 1,
      scale: 1,
      image: 1,
      units: 1,
      time: 1,
      header: 1,
      append: 1,
      every: 1,
      delay: 1,
      buffer: 1,
      fileper: 1,
      nfile: 1,
      thresh: 3,
      region: 1,
      maxfiles: 1,
      colname: 2,
      types: 1,
      triclinic: 1,
    };
    for (let i = 0; i < a.length;) {
      const k = a[i].text;
      if (k === "element") {
        const n = this.ntypes ?? 0;
        const got = a.slice(i + 1).findIndex((t) => t.text in counts || t.text === "element");
        const names = got < 0 ? a.length - i - 1 : got;
        if (this.ntypes !== null && names !== n) {
          this.issue(`element needs ${n} names (one per type), got ${names}`);
        }
        i += 1 + names;
        continue;
      }
      if (k === "format" && a[i + 1]?.text === "line") {
        i += 3;
        continue;
      }
      if (counts[k] === undefined) return this.issue(`unknown dump_modify keyword '${k}'`);
      if (a.length - i - 1 < counts[k]) return this.issue(`'${k}' needs ${counts[k]} value(s)`);
      i += 1 + counts[k];
    }
  }

  c_undump(a: Token[]) {
    if (!this.count(a, 1)) return;
    if (!this.dumps.delete(a[0].text)) this.issue(`dump '${a[0].text}' is not defined`);
  }

  c_write_restart(a: Token[]) {
    if (this.count(a, 1, Infinity)) this.needBox();
  }

  c_read_restart(a: Token[]) {
    if (!this.count(a, 1, 2)) return;
    if (this.box) this.issue("the box already exists");
    this.box = true;
    this.massesFromRestart = true;
    this.ntypes = this.options.restart?.ntypes ?? null;
    for (const g of this.options.restart?.groups ?? []) this.groups.add(g);
    // The pair style is stored, but file-based many-body coefficients are not: they must be given again.
    this.pairStyle = null;
  }

  c_write_data(a: Token[]) {
    if (this.count(a, 1, Infinity)) this.needBox();
  }

  c_write_dump(a: Token[]) {
    if (!this.count(a, 3, Infinity)) return;
    this.needBox();
    this.group(a[0].text);
    const m = a.findIndex((t) => t.text === "modify");
    const attrs = a.slice(3, m < 0 ? a.length : m);
    this.dumpArgs(a[1].text, attrs);
    if (m >= 0) this.dumpModify(a.slice(m + 1));
  }

  c_change_box(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    this.needBox();
    this.group(a[0].text);
    for (let i = 1; i < a.length;) {
      const k = a[i].text;
      if (k === "boundary") {
        if (a.length - i - 1 < 3) return this.issue("boundary needs 3 values");
        for (const t of a.slice(i + 1, i + 4)) {
          if (!/^(p|[fsm]{1,2})$/.test(t.text)) this.issue(`bad boundary '${t.text}'`);
        }
        i += 4;
      } else if (["x", "y", "z", "xy", "xz", "yz"].includes(k)) {
        const n: Record<string, number> = { final: 2, delta: 2, scale: 1, volume: 0 };
        const s = a[i + 1]?.text ?? "";
        if (n[s] === undefined) return this.issue(`${k}: unknown style '${s}'`);
        i += 2 + n[s];
      } else if (["remap", "ortho", "triclinic"].includes(k)) i += 1;
      else if (k === "units") i += 2;
      else return this.issue(`unknown keyword '${k}'`);
    }
  }

  c_group(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    const [id, style] = a.map((t) => t.text);
    if (style === "delete") {
      this.group(id);
      this.groups.delete(id);
      return;
    }
    this.needBox();
    if (id === "all") this.issue("group 'all' cannot be redefined");
    if (style === "region") {
      if (this.count(a, 3)) this.region(a[2].text);
    } else if (["subtract", "union", "intersect"].includes(style)) {
      if (a.length < 3 + (style === "subtract" ? 1 : 0)) this.issue(`${style} needs group names`);
      for (const g of a.slice(2)) this.group(g.text);
    } else if (["type", "id", "molecule"].includes(style)) {
      if (a.length < 3) this.issue(`${style} needs values`);
    } else if (!["variable", "include", "clear", "empty", "dynamic", "static"].includes(style)) {
      this.issue(`unknown style '${style}'`);
    }
    this.groups.add(id);
  }

  c_variable(a: Token[]) {
    if (!this.count(a, 2, Infinity)) return;
    const [name, style] = a.map((t) => t.text);
    if (!/^[A-Za-z0-9_]+$/.test(name)) {
      this.issue(`variable name '${name}' may only hold letters, digits and _`);
    }
    if (!VARIABLE_STYLES.has(style)) return this.issue(`unknown variable style '${style}'`);
    if (style === "delete") {
      if (this.count(a, 2)) this.variable(name);
      this.vars.delete(name);
      return;
    }
    if (FORMULA_STYLES.has(style) || ["string", "format", "getenv", "internal"].includes(style)) {
      if (!this.count(a, 3, style === "format" ? 4 : 3)) return;
    } else if (a.length < 3) return this.issue(`style ${style} needs at least one value`);
    const old = this.vars.get(name);
    // index/loop/world/universe variables keep their first definition (so `lmp -var` overrides them).
    if (old && ["index", "loop", "world", "universe", "uloop"].includes(old.style)) return;
    if (
      old && !["equal", "atom", "vector", "string", "internal", "format", "python", "timer"].includes(style)
    ) {
      this.issue(`variable '${name}' is already defined`);
    }
    if (FORMULA_STYLES.has(style)) this.strings(a[2].text);
    this.vars.set(name, { style, value: a[2].text });
  }

  c_print(a: Token[]) {
    if (!this.count(a, 1, Infinity)) return;
    this.strings(a[0].text);
  }

  c_restart(a: Token[]) {
    if (!this.count(a, 1, Infinity)) return;
    this.int(a[0], "N", 0);
    if (a[0].text !== "0" && a.length < 2) this.issue("missing the restart file name");
  }
}

/**
 * Checks a LAMMPS input script (see the module doc for what is checked).
 * @returns every problem found, in line order (empty when the script passes)
 */
export function checkLammpsInput(script: string, options: LammpsCheckOptions = {}): LammpsIssue[] {
  const pre: LammpsIssue[] = [];
  const lines = logicalLines(script, pre);
  const c = new Checker(options);
  c.issues.push(...pre);
  for (const l of lines) {
    c.line = l.line;
    c.cmd = "";
    const cs = commentStart(l.text);
    if (cs.open) {
      c.issue(`unterminated ${cs.open} quote`);
      continue;
    }
    const body = l.text.slice(0, cs.at);
    if (body.trim() === "") continue;
    const wide = /[\u0080-\uffff]/.exec(body);
    if (wide) {
      c.issue(`non-ASCII character '${wide[0]}' outside a comment (LAMMPS may substitute or reject it)`);
    }
    const tokens = tokenize(c.substitute(body));
    if (tokens.length === 0) continue;
    c.command(tokens);
  }
  return c.issues.sort((a, b) => a.line - b.line);
}

/**
 * Checks a script and throws on the first problem.
 * @param file the script's name, for the message
 * @throws {UserError} `FILE line N: command: problem`
 */
export function assertLammpsInput(script: string, file: string, options: LammpsCheckOptions = {}): void {
  const issues = checkLammpsInput(script, options);
  if (issues.length > 0) {
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    throw new UserError(`${file} line ${issues[0].line}: ${issues[0].message}${more}`);
  }
}

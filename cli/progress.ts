/**
 * A one-line progress bar on stderr: redrawn in place on a terminal, printed as plain lines every few seconds
 * otherwise (logs, CI), so long work always shows its state.
 * @module
 */

const enc = new TextEncoder();

/** Progress reporter for `total` units of work. */
export class Progress {
  readonly #tty: boolean;
  readonly #t0 = performance.now();
  #lastPrint = 0;
  #lastLen = 0;

  constructor(readonly label: string, public total: number, readonly enabled = true) {
    this.#tty = Deno.stderr.isTerminal();
  }

  /** Updates the bar to `done` units with a status text (e.g. losses). */
  update(done: number, status = ""): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (!this.#tty && now - this.#lastPrint < 2000 && done < this.total) return;
    this.#lastPrint = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const elapsed = (now - this.#t0) / 1000;
    const eta = frac > 0 ? elapsed * (1 - frac) / frac : 0;
    const width = 24, full = Math.round(frac * width);
    const bar = "█".repeat(full) + "░".repeat(width - full);
    const line = `${this.label} ${bar} ${done}/${this.total} ${status} ${fmtTime(elapsed)} elapsed, ETA ${
      fmtTime(eta)
    }`;
    if (this.#tty) {
      const pad = Math.max(0, this.#lastLen - line.length);
      Deno.stderr.writeSync(enc.encode(`\r${line}${" ".repeat(pad)}`));
      this.#lastLen = line.length;
    } else {
      console.error(line);
    }
  }

  /** Ends the bar (newline on a terminal). */
  done(): void {
    if (this.enabled && this.#tty && this.#lastLen) Deno.stderr.writeSync(enc.encode("\n"));
    this.#lastLen = 0;
  }
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${Math.round(s % 60).toString().padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${m % 60}m`;
}

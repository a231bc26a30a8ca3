/**
 * CSV reading behind one small module (the npm package `csv-parse`), so the parser can be swapped later.
 * Handles a UTF-8 byte-order mark, CRLF or LF line ends, quoted fields (with embedded commas, quotes and line
 * breaks), blank lines and `#` comment lines (a `#` only starts a comment at the beginning of a line). Every
 * problem becomes a {@link UserError} naming the file and the row.
 *
 * Row numbers are file line numbers (1-based, counting the header, comment and blank lines), i.e. what an editor
 * or a spreadsheet shows; a record spanning several lines is numbered by its first line.
 * @module
 */
import { parse } from "csv-parse";
import { UserError } from "../cli/errors.ts";

/** One data record: its cells and the file line it starts on. */
export interface CsvRecord {
  cells: string[];
  /** 1-based file line number of the record's first line. */
  line: number;
}

/** A parsed CSV file: header cells and data records, each record as long as the header. */
export interface CsvTable {
  /** The file name used in messages. */
  file: string;
  header: string[];
  /** 1-based line number of the header. */
  headerLine: number;
  records: CsvRecord[];
}

interface ParsedWithInfo {
  record: string[];
  info: { lines: number };
}

function newlines(cells: string[]): number {
  let n = 0;
  for (const c of cells) for (const m of c.matchAll(/\r\n|\n|\r/g)) if (m) n++;
  return n;
}

function parserMessage(e: { code?: string; message: string; lines?: number }): string {
  switch (e.code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "a quoted field is opened but never closed";
    case "INVALID_OPENING_QUOTE":
      return 'a quote appears inside an unquoted field (quote the whole field and double inner quotes: "a""b")';
    case "CSV_INVALID_CLOSING_QUOTE":
      return 'text follows a closing quote (quote the whole field and double inner quotes: "a""b")';
    default:
      return e.message.replace(/\s+at line \d+.*$/s, "");
  }
}

/**
 * Parses CSV text.
 * @param text the file contents (a leading byte-order mark is removed)
 * @param file the name used in error messages
 * @throws {UserError} for an empty file, malformed quoting, or a record whose field count differs from the header
 */
export function parseCsvText(text: string, file: string): CsvTable {
  let rows: ParsedWithInfo[];
  try {
    rows = parse(text, {
      bom: true,
      comment: "#",
      comment_no_infix: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as ParsedWithInfo[];
  } catch (err) {
    const e = err as { code?: string; message: string; lines?: number };
    const where = typeof e.lines === "number" ? ` row ${e.lines}` : "";
    throw new UserError(`${file}${where}: ${parserMessage(e)}`);
  }
  // Only whitespace-only lines left: treat as empty.
  rows = rows.filter((r) => !(r.record.length === 1 && r.record[0].trim() === ""));
  if (rows.length === 0) throw new UserError(`${file}: the file is empty (no header line)`);
  const [head, ...data] = rows;
  const header = head.record.map((h) => h.trim());
  const headerLine = head.info.lines - newlines(head.record);
  if (header.length === 1) {
    const sep = [";", "\t", "|"].find((s) => header[0].includes(s));
    if (sep) {
      throw new UserError(
        `${file} row ${headerLine}: the header has one column; the file seems to use '${
          sep === "\t" ? "\\t" : sep
        }' as separator, but only ',' is supported`,
      );
    }
  }
  const records: CsvRecord[] = [];
  for (const r of data) {
    const line = r.info.lines - newlines(r.record);
    if (r.record.length !== header.length) {
      throw new UserError(
        `${file} row ${line}: expected ${header.length} fields (as in the header), found ${r.record.length}`,
      );
    }
    records.push({ cells: r.record, line });
  }
  return { file, header, headerLine, records };
}

/**
 * Reads and parses a CSV file (UTF-8).
 * @throws {UserError} when the file is missing, unreadable, not UTF-8 text, or malformed (see {@link parseCsvText})
 */
export async function readCsvFile(path: string): Promise<CsvTable> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new UserError(`${path}: ${fileErrorText(e)}`);
  }
  return parseCsvText(decodeUtf8(bytes, path), path);
}

/** Decodes UTF-8 strictly; binary or non-UTF-8 content becomes a clear {@link UserError}. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    throw new UserError(`${file}: this is a zip/spreadsheet file, not CSV text (export it as CSV, UTF-8)`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UserError(`${file}: not UTF-8 text (save the file as CSV with UTF-8 encoding)`);
  }
}

/** A short human description of a file-system error (`no such file`, `permission denied`, …). */
export function fileErrorText(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory, not a file";
  const msg = (e as Error)?.message ?? String(e);
  if (/directory/i.test(msg) && /is a/i.test(msg)) return "is a directory, not a file";
  return msg.split("\n")[0];
}

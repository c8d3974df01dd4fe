/**
 * nccl-tests output as the binaries print it (all_reduce_perf, all_gather_perf,
 * reduce_scatter_perf, alltoall_perf, sendrecv_perf): the table rows
 *   size count type redop [root] time algbw busbw #wrong|error  time algbw busbw #wrong|error
 * (out-of-place, then in-place; `root` since nccl-tests 2.10) and `# Avg bus bandwidth`.
 * Other lines (the banner, `# Using devices`, NCCL INFO logs, blank lines) are skipped; a line
 * that starts like a row but does not parse is an error naming the file, line and field.
 */
import type { CollectiveOp } from "../../models/collectives/alpha-beta.ts";
import { CalibrationInputError, inputProblem } from "./errors.ts";

export interface NcclRow {
  /** 1-based line in the file. */
  line: number;
  bytes: number;
  /** Seconds per operation, out-of-place and in-place (in-place absent when the row has none). */
  outOfPlaceSeconds: number;
  inPlaceSeconds?: number;
  /** Bus bandwidth as printed, bytes/s (for the report). */
  outOfPlaceBusbw: number;
  inPlaceBusbw?: number;
}

export interface NcclTable {
  file: string;
  op: CollectiveOp;
  rows: NcclRow[];
  /** `# Avg bus bandwidth : x` as printed, bytes/s. */
  avgBusbw?: number;
  /** Ranks listed under `# Using devices`, when the output lists them. */
  ranksListed?: number;
}

const BINARIES: readonly (readonly [RegExp, CollectiveOp])[] = [
  [/all_?reduce/i, "all-reduce"],
  [/all_?gather/i, "all-gather"],
  [/reduce_?scatter/i, "reduce-scatter"],
  [/all_?to_?all/i, "all-to-all"],
  [/send_?recv/i, "send"],
];

export const NCCL_BINARIES = "all_reduce_perf, all_gather_perf, reduce_scatter_perf, alltoall_perf, sendrecv_perf";

/** The collective a text names (a file name, a `# Collective test starting: …` line), or undefined. */
export function opFromName(name: string): CollectiveOp | undefined {
  for (const [re, op] of BINARIES) if (re.test(name)) return op;
  return undefined;
}

function number(file: string, line: number, field: string, text: string | undefined, positive: boolean): number {
  const v = text === undefined ? NaN : Number(text);
  if (!Number.isFinite(v) || (positive ? v <= 0 : v < 0)) throw inputProblem(file, line, field, text ?? "(missing)", positive ? "a number > 0" : "a number >= 0");
  return v;
}

/**
 * Parse one nccl-tests output. `op`: the collective when the caller knows it (manifest);
 * otherwise from `# Collective test starting:` or the file name.
 */
export function parseNcclTests(file: string, text: string, op?: CollectiveOp): NcclTable {
  const lines = text.split(/\r?\n/);
  let found: CollectiveOp | undefined = op;
  let avgBusbw: number | undefined;
  let ranksListed = 0;
  const rows: NcclRow[] = [];
  lines.forEach((raw, i) => {
    const line = i + 1;
    const s = raw.trim();
    if (s === "") return;
    if (s.startsWith("#")) {
      const start = /^#\s*Collective test starting:\s*(\S+)/.exec(s);
      if (start && found === undefined) found = opFromName(start[1] as string);
      if (/^#\s*Rank\s+\d+\b/.test(s)) ranksListed++;
      const avg = /^#\s*Avg bus bandwidth\s*:\s*(\S+)/i.exec(s);
      if (avg) avgBusbw = number(file, line, "# Avg bus bandwidth", avg[1], false) * 1e9;
      return;
    }
    // A table row starts with the size in bytes; anything else is log text.
    if (!/^\d/.test(s)) return;
    const t = s.split(/\s+/);
    // With root (13 or 9 fields: out-of-place only), or without (12 or 8).
    const withRoot = t.length === 13 || t.length === 9 ? true : t.length === 12 || t.length === 8 ? false : undefined;
    if (withRoot === undefined) {
      throw new CalibrationInputError(`${file}:${line}: row: ${t.length} fields is not allowed; expected an nccl-tests row: size count type redop [root] time algbw busbw #wrong, then the same four for in-place (12 or 13 fields; 8 or 9 out-of-place only)`);
    }
    const base = withRoot ? 5 : 4;
    const bytes = number(file, line, "size", t[0], true);
    if (!Number.isInteger(bytes)) throw inputProblem(file, line, "size", t[0] as string, "a whole number of bytes");
    number(file, line, "count", t[1], false);
    if (!/^[a-z0-9_]+$/i.test(t[2] as string)) throw inputProblem(file, line, "type", t[2] as string, "a data type such as float, half, bfloat16");
    const row: NcclRow = {
      line,
      bytes,
      outOfPlaceSeconds: number(file, line, "time (out-of-place, us)", t[base], true) * 1e-6,
      outOfPlaceBusbw: number(file, line, "busbw (out-of-place, GB/s)", t[base + 2], false) * 1e9,
    };
    number(file, line, "algbw (out-of-place, GB/s)", t[base + 1], false);
    if (t.length > base + 4) {
      row.inPlaceSeconds = number(file, line, "time (in-place, us)", t[base + 4], true) * 1e-6;
      number(file, line, "algbw (in-place, GB/s)", t[base + 5], false);
      row.inPlaceBusbw = number(file, line, "busbw (in-place, GB/s)", t[base + 6], false) * 1e9;
    }
    rows.push(row);
  });
  if (found === undefined) found = opFromName(file.split(/[\\/]/).pop() ?? file);
  if (found === undefined) {
    throw new CalibrationInputError(`${file}: collective: cannot tell which nccl-tests binary printed this file; expected its name to contain one of ${NCCL_BINARIES}, a "# Collective test starting:" line, or op: in the manifest`);
  }
  if (rows.length === 0) throw new CalibrationInputError(`${file}: rows: no nccl-tests table rows found; expected the output of one of ${NCCL_BINARIES} as printed`);
  return { file, op: found, rows, ...(avgBusbw !== undefined ? { avgBusbw } : {}), ...(ranksListed > 0 ? { ranksListed } : {}) };
}

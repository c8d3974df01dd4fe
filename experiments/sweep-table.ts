/**
 * The table `trainsim sweep` prints when it finishes: one row per point with the
 * swept values, the headline numbers and the dominant bottleneck, so the shift
 * can be read in the terminal before the report is opened.
 */
import { dominantCategory } from "../models/categories.ts";
import { sweptParams } from "../reports/charts/common.ts";
import { duration, formatParamValue, percent, shortParam, sig } from "../reports/format.ts";
import type { SweepPointResult } from "../models/results.ts";

/** Rows printed before the table is cut short (the CSV holds them all). */
export const SWEEP_TABLE_MAX_ROWS = 30;

/**
 * Swept parameters that vary (all of them if none does), then step time, tokens/s, MFU and
 * the category holding the largest share of the step with that share. Points that did not
 * run show their status. Numbers are right-aligned, text left-aligned.
 */
export function sweepTable(results: readonly SweepPointResult[], maxRows = SWEEP_TABLE_MAX_ROWS): string {
  if (results.length === 0) return "";
  const { all, varying } = sweptParams(results);
  const params = varying.length > 0 ? varying : all;
  const seeds = new Set(results.map((r) => r.seed)).size > 1;
  const head = ["#", ...params.map(shortParam), ...(seeds ? ["seed"] : []), "step", "tokens/s", "MFU", "bottleneck"];
  const numeric = [true, ...params.map(() => true), ...(seeds ? [true] : []), true, true, true, false];
  const shown = results.slice(0, maxRows);
  const body = shown.map((p) => {
    const values = [String(p.index), ...params.map((k) => (k in p.params ? formatParamValue(k, p.params[k]) : "")), ...(seeds ? [String(p.seed)] : [])];
    const r = p.result;
    if (p.status !== "ok" || r === undefined) return [...values, "", "", "", p.status];
    const top = dominantCategory(r.breakdown);
    return [...values, duration(r.stepSeconds), sig(r.tokensPerSecond), percent(r.mfu), `${top} ${percent(r.breakdown[top])}`];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (numeric[i] === true ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  const lines = [line(head), ...body.map(line)];
  if (results.length > shown.length) lines.push(`... ${results.length - shown.length} more point${results.length - shown.length === 1 ? "" : "s"} in results.csv`);
  return lines.join("\n");
}

/** What `trainsim sweep` and `trainsim merge` print when they finish, as text. */
import { RESULTS_CSV, type SweepSummary } from "./runner.ts";
import { sweepTable } from "./sweep-table.ts";

/** Where a sweep's or merge's result files are. */
export function filesText(jsonl: string, csv: string): string[] {
  return [`results: ${jsonl}`, `         ${csv}`];
}

/** A finished sweep: its table of points, what ran, where the results are, the first failures. */
export function summaryText(s: SweepSummary): string {
  const parts = [`${s.ok} ok`];
  if (s.invalid > 0) parts.push(`${s.invalid} invalid`);
  if (s.failed > 0) parts.push(`${s.failed} failed`);
  const slice = s.shard === null ? `${s.slicePoints} points` : `shard ${s.shard.index}/${s.shard.count}: ${s.slicePoints} of ${s.totalPoints} points`;
  const how = s.ran === 0 ? "nothing left to run" : `${s.ran} run on ${s.workers} worker thread${s.workers === 1 ? "" : "s"} in ${s.seconds.toFixed(1)} s`;
  const skipped = s.skipped > 0 ? `, ${s.skipped} already done` : "";
  const table = sweepTable(s.results);
  const lines = [...(table === "" ? [] : [table, ""]), `${s.experiment}: ${slice} (${parts.join(", ")}); ${how}${skipped}`, ...filesText(s.files.jsonl, s.files.csv)];
  const bad = s.results.filter((r) => r.status !== "ok");
  for (const r of bad.slice(0, 5)) lines.push(`  point ${r.index} ${r.status}: ${r.error ?? ""}`);
  if (bad.length > 5) lines.push(`  ... and ${bad.length - 5} more (see the error column of ${RESULTS_CSV})`);
  return lines.join("\n");
}

/**
 * What the commands in bin/commands/ share: the bad-input error (exit 2), atomic writes,
 * JSON on stdout, and the report line a summary ends with.
 */
import { renameSync, writeFileSync } from "node:fs";
import type { SweepPointResult } from "../models/results.ts";

/** Bad input: say what and where, exit 2, no stack trace. */
export class InputError extends Error {}

export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/**
 * The last line of every command's summary that draws a report (run, cluster, sweep,
 * merge): where the report page is. On stdout, after the summary, so the line a user
 * sees last is the page to open.
 */
export function reportLine(reportFile: string | undefined): string[] {
  return reportFile !== undefined ? [`report:  ${reportFile}`] : [];
}

/** A command's text summary ending with its report line, newline-terminated, for stdout. */
export function withReportLine(summary: string, reportFile: string | undefined): string {
  return [summary, ...reportLine(reportFile)].join("\n") + "\n";
}

/** The --json summary's fields, with the report page if one was drawn. */
export function withReport<T extends object>(summary: T, reportFile: string | undefined): T & { report?: string } {
  return reportFile !== undefined ? { ...summary, report: reportFile } : summary;
}

export interface SweepHooks {
  /**
   * Called after a whole (unsharded) sweep or a merge has written its files, e.g. to draw
   * reports; returns the report's page, which the summary ends with.
   */
  onSweepDone?: (outDir: string, results: SweepPointResult[]) => string | undefined | Promise<string | undefined>;
}

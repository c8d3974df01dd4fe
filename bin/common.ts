/**
 * What the commands in bin/commands/ share: the bad-input error (exit 2), atomic writes,
 * JSON on stdout, and the report line a summary ends with.
 */
import { join } from "node:path";
import type { SweepPointResult } from "../models/results.ts";
import { FOLDER_NAME_ALLOWED, folderNameProblem, outputFileProblem, outputFolderProblem } from "../experiments/output-folder.ts";
import { terminalText } from "../reports/format.ts";

/**
 * Text for the terminal, on stdout: control characters, bidi overrides and line separators
 * in names or values are shown escaped (`\x1b`, `\u202e`; reports/format.ts terminalText),
 * never acted on. Every text the CLI prints goes through printText or printError; --json
 * output is written as it is (JSON escapes control characters itself).
 */
export function printText(text: string): void {
  process.stdout.write(terminalText(text));
}

/** Text for the terminal, on stderr (errors, warnings, progress lines), escaped as printText's. */
export function printError(text: string): void {
  process.stderr.write(terminalText(text));
}

/** Bad input: say what and where, exit 2, no stack trace. */
export class InputError extends Error {}

/**
 * The folder a command writes its results to: --out, or out/<name> from the config's `name`.
 * Checked before anything is simulated or written; bad input throws InputError (exit 2).
 */
export function outputFolder(out: string | undefined, name: string, file: string): string {
  if (out === undefined) {
    const problem = folderNameProblem(name);
    if (problem !== undefined) throw new InputError(`${file}: name: ${JSON.stringify(name)} is not allowed (${problem}); expected ${FOLDER_NAME_ALLOWED}`);
  }
  return out !== undefined ? checkedFolder("--out", out) : checkedFolder("output folder", join("out", name), " (from name)");
}

/** `dir`, given as `option`, when results can be written there; else InputError (exit 2). Creates nothing. */
export function checkedFolder(option: string, dir: string, from = ""): string {
  const problem = outputFolderProblem(dir);
  if (problem !== undefined) throw new InputError(`${option} ${JSON.stringify(dir)}${from}: ${problem}; expected a folder that exists or can be created, and can be written`);
  return dir;
}

/** `file`, given as `option`, when it can be written; else InputError (exit 2). Creates nothing. */
export function checkedFile(option: string, file: string): string {
  const problem = outputFileProblem(file);
  if (problem !== undefined) throw new InputError(`${option} ${JSON.stringify(file)}: ${problem}; expected a file path in a folder that exists and can be written`);
  return file;
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

/**
 * Drawing a report failed after the results were written: not a simulation failure. The
 * command prints its summary, then this message, and exits 1.
 */
export class ReportFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReportFailedError";
  }
}

/**
 * Draws a report with `draw`; a failure becomes a ReportFailedError saying that the results
 * (`written`) are safe and how to draw the report again (`again`), returned rather than thrown
 * so the command can print its summary first.
 */
export async function drawReport(written: string, again: string | undefined, draw: () => Promise<string | undefined> | string | undefined): Promise<{ file?: string; error?: ReportFailedError }> {
  try {
    const file = await draw();
    return file === undefined ? {} : { file };
  } catch (err) {
    if (err instanceof ReportFailedError) return { error: err };
    const message = err instanceof Error ? err.message : String(err);
    const retry = again === undefined ? "" : `; draw it again with: ${again}`;
    return { error: new ReportFailedError(`trainsim: the report could not be drawn: ${message}\nThe simulation itself finished: ${written}${retry}`, { cause: err }) };
  }
}

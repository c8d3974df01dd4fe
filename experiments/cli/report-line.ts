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

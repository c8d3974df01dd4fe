/**
 * The last line of every command's summary that draws a report (run, cluster, sweep,
 * merge): where the report page is. On stdout, after the summary, so the line a user
 * sees last is the page to open.
 */
export function reportLine(reportFile: string | undefined): string[] {
  return reportFile !== undefined ? [`report:  ${reportFile}`] : [];
}

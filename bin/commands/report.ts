/**
 * `trainsim report RESULTS`: draw the report of finished results (reports/from-results.ts
 * works out what they are). Bad input ends in `command.error(…, {exitCode: 2})` (a
 * CommanderError with exit code 2 under exitOverride). The action is async: call `parseAsync`.
 */
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { lockOutputFolder } from "../../experiments/output-lock.ts";
import { REPORT_HTML, SWEEP_REPORTS } from "../../reports/build.ts";
import { ReportInputError, missingText, reportFromResults } from "../../reports/from-results.ts";
import { ReportFailedError, checkedFolder, printError, printText } from "../common.ts";

const HELP = `
RESULTS is one of (what the file holds decides the report):
  a sweep folder, or its results.jsonl     a row per point, the bottleneck-shift chart and the
                                           experiment's other reports: ${SWEEP_REPORTS.join(", ")}
  a run's result.json                      (trainsim run SCENARIO --out DIR) headline figures,
                                           breakdown, memory and roofline charts
  the output of trainsim validate --json   predicted against published, ±10 % band

Sweep results that lack points their sweep.json expects (a killed sweep, an unmerged shard)
are drawn as they are, with a warning on stderr and a notice on the page naming the missing
point indices. Names and values are drawn at most 100 characters long, control characters
escaped (see docs/results.md, "Text from configs").

Files written to --out (default: the folder holding RESULTS):
  ${REPORT_HTML}              one self-contained page: summary table and every chart,
                           interactive; opens offline from disk (no network needed)
  <chart>.vl.json          each chart's Vega-Lite spec (edit and re-render anywhere)
  <chart>.svg, <chart>.png each chart as a picture for slides and papers

Examples:
  trainsim report out/hbm-bandwidth-shift
  trainsim report out/hbm-bandwidth-shift/results.jsonl --out /tmp/hbm-report
  trainsim run experiments/scenarios/llama3-8b-64.yaml --out runs/8b && trainsim report runs/8b/result.json
  trainsim validate --json > validation.json && trainsim report validation.json --out validation-report
`;

export function registerReportCommands(program: Command): void {
  program
    .command("report")
    .description("Draw the charts and the offline HTML report of finished results (a sweep, a run, or validation).")
    .argument("<results>", "sweep folder or results.jsonl, a run's result.json, or trainsim validate --json output")
    .option("--out <dir>", "folder to write the report into (default: the folder holding the results)")
    .addHelpText("after", HELP)
    .action(async function (this: Command, results: string, opts: { out?: string }) {
      if (opts.out !== undefined) checkedFolder("--out", opts.out);
      // One writer per folder, held until the command's process exits (experiments/output-lock.ts releases it on exit and on SIGINT/SIGTERM): not while a sweep still writes the results drawn.
      const into = opts.out ?? (existsSync(results) ? (statSync(results).isDirectory() ? results : dirname(results)) : undefined);
      if (into !== undefined) lockOutputFolder(into, { option: opts.out !== undefined ? "--out" : "<results>" });
      let done: Awaited<ReturnType<typeof reportFromResults>>;
      try {
        done = await reportFromResults(results, opts.out);
      } catch (err) {
        if (err instanceof ReportInputError) this.error(`trainsim report: ${err.message}`, { exitCode: 2, code: "trainsim.report.input" });
        throw new ReportFailedError(`trainsim report: the report could not be drawn: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      // Incomplete results still get their report, but never silently.
      if (done.missing !== undefined) printError(`warning: ${relative(process.cwd(), done.file) || done.file}: ${missingText(done.missing)}; the report shows the others and says so. trainsim sweep --resume runs the rest (trainsim merge joins shards)\n`);
      const html = done.files.find((f) => f.endsWith(REPORT_HTML)) ?? join(done.outDir, REPORT_HTML);
      printText(`${done.kind} report: ${relative(process.cwd(), html) || html} (${done.files.length} files in ${relative(process.cwd(), done.outDir) || "."})\n`);
    });
}

/**
 * `trainsim merge`: join the outputs of a sharded sweep. IncompleteMergeError (points
 * missing) exits 1. The action is async: call `program.parseAsync`.
 */
import type { Command } from "commander";
import { join } from "node:path";
import { merge } from "../../experiments/merge.ts";
import { lockOutputFolder } from "../../experiments/output-lock.ts";
import { RESULTS_CSV, RESULTS_JSONL } from "../../experiments/runner.ts";
import { filesText } from "../../experiments/sweep-summary.ts";
import { checkedFolder, drawReport, printText, withReport, withReportLine, type SweepHooks } from "../common.ts";

const MERGE_HELP = `
Inputs are shard folders (shard-<i>-of-<n>/ from sweep --shard), results.jsonl files, or a
folder holding shard-*-of-*/ subfolders. The merged ${RESULTS_JSONL}, ${RESULTS_CSV} and
sweep.json are written to --out, sorted by point index: byte for byte what one unsharded
sweep writes. A point present twice must be identical in both places. If points are
missing, merge lists them (by shard) and exits 1, unless --allow-partial.

Examples:
  trainsim merge out/big --out out/big
  trainsim merge out/big/shard-0-of-4 out/big/shard-1-of-4 out/big/shard-2-of-4 out/big/shard-3-of-4 --out merged
  trainsim merge out/big --out out/big --allow-partial
`;

export function registerMergeCommand(program: Command, hooks: SweepHooks = {}): void {
  program
    .command("merge")
    .description("Join the outputs of a sharded sweep into one result set (sorted, checked for missing points).")
    .argument("<inputs...>", "shard folders, results.jsonl files, or a folder with shard-*-of-*/ subfolders")
    .requiredOption("--out <dir>", "folder to write the merged results.jsonl, results.csv and sweep.json to")
    .option("--allow-partial", "write what is there even if points are missing (they are listed in sweep.json)")
    .option("--json", "print a JSON summary on stdout")
    .option("--no-report", "do not draw the report (charts and report.html) of the merged results")
    .addHelpText("after", MERGE_HELP)
    .action(async (inputs: string[], opts: { out: string; allowPartial?: boolean; json?: boolean; report: boolean }) => {
      checkedFolder("--out", opts.out);
      // One writer per folder, held until the command's process exits (experiments/output-lock.ts releases it on exit and on SIGINT/SIGTERM); shard folders are only read.
      lockOutputFolder(opts.out, { option: "--out" });
      const report = merge(inputs, opts.out, { allowPartial: opts.allowPartial === true });
      const onDone = hooks.onSweepDone;
      const drawn =
        opts.report && onDone !== undefined
          ? await drawReport(`the merged results are in ${join(report.outDir, RESULTS_JSONL)}`, `trainsim report ${report.outDir}`, () => onDone(report.outDir, report.results))
          : {};
      const reportFile = drawn.file;
      if (opts.json) {
        const { results: _results, ...rest } = report;
        process.stdout.write(JSON.stringify(withReport({ ...rest, points: report.results.length }, reportFile), null, 2) + "\n");
      } else {
        const complete = report.missing.length === 0 ? "complete" : `${report.missing.length} missing`;
        const head = `${report.experiment}: merged ${report.results.length} of ${report.totalPoints} points from ${report.inputs.length} input${report.inputs.length === 1 ? "" : "s"} (${complete})`;
        printText(withReportLine([head, ...filesText(join(report.outDir, RESULTS_JSONL), join(report.outDir, RESULTS_CSV))].join("\n"), reportFile));
      }
      if (drawn.error !== undefined) throw drawn.error;
    });
}

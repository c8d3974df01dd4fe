/** `trainsim validate`: the published training runs against what their papers report. */
import type { Command } from "commander";
import { join } from "node:path";
import type { ValidationRow } from "../../models/results.ts";
import { formatValidation } from "../../experiments/format-run.ts";
import { loadScenario } from "../../experiments/load.ts";
import { publishedCaseFiles, summarise, validateCase } from "../../experiments/validate.ts";
import { buildValidationReport } from "../../reports/build.ts";
import { InputError, json, withReportLine } from "../common.ts";

export function registerValidateCommand(program: Command): void {
  program
    .command("validate")
    .description("Run the published training runs in experiments/published and compare with what their papers report.")
    .option("--json", "print one JSON object: {rows: [{name, metric, predicted, published, error, ...}], summary}")
    .option("--only <text>", "only cases whose name contains this text")
    .option("--report <dir>", "also draw the validation chart (predicted vs published) and report.html into this folder")
    .action(async (opts: { json?: boolean; only?: string; report?: string }) => {
      const rows: ValidationRow[] = [];
      for (const file of publishedCaseFiles()) {
        if (opts.only !== undefined && !loadScenario(file).name.includes(opts.only)) continue;
        const row = validateCase(file);
        rows.push(row);
        if (!opts.json) process.stderr.write(`  ${row.name}\n`);
      }
      if (opts.only !== undefined && rows.length === 0) throw new InputError(`--only ${JSON.stringify(opts.only)} matches no published case`);
      const summary = summarise(rows);
      let reportFile: string | undefined;
      if (opts.report !== undefined) {
        await buildValidationReport(opts.report, rows);
        reportFile = join(opts.report, "report.html");
      }
      process.stdout.write(opts.json ? json({ rows, summary }) : withReportLine(formatValidation(rows, summary), reportFile));
    });
}

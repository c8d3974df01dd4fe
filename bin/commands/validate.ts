/** `trainsim validate`: the published training runs against what their papers report. */
import type { Command } from "commander";
import { join } from "node:path";
import type { ValidationRow } from "../../models/results.ts";
import { formatValidation } from "../../experiments/format-run.ts";
import { parseCategories, selectCases, summarise, summariseByCategory, summariseMemory, validateCase } from "../../experiments/validate.ts";
import { buildValidationReport } from "../../reports/build.ts";
import { lockOutputFolder } from "../../experiments/output-lock.ts";
import { InputError, checkedFolder, drawReport, json, printError, printText, withReportLine } from "../common.ts";

export function registerValidateCommand(program: Command): void {
  program
    .command("validate")
    .description("Run the published training runs in experiments/published and compare with what their papers report.")
    .option("--json", "print one JSON object: {rows: [{name, metric, predicted, published, error, categories, ...}], summary, categories, memory}")
    .option("--only <text>", "only cases whose name contains this text")
    .option("--category <names>", "only cases in these categories (comma list, or repeat the option)", (v: string, all: string[]) => [...all, v], [] as string[])
    .option("--report <dir>", "also draw the validation chart (predicted vs published) and report.html into this folder")
    .action(async (opts: { json?: boolean; only?: string; category: string[]; report?: string }) => {
      const categories = parseCategories(opts.category);
      if (opts.report !== undefined) checkedFolder("--report", opts.report);
      // One writer per folder, held until the command's process exits (experiments/output-lock.ts releases it on exit and on SIGINT/SIGTERM).
      if (opts.report !== undefined) lockOutputFolder(opts.report, { option: "--report" });
      const rows: ValidationRow[] = [];
      for (const file of selectCases({ ...(opts.only !== undefined ? { only: opts.only } : {}), categories })) {
        const row = validateCase(file);
        rows.push(row);
        if (!opts.json) printError(`  ${row.name}\n`);
      }
      if (rows.length === 0 && (opts.only !== undefined || categories.length > 0)) {
        const asked = [opts.only !== undefined ? `--only ${JSON.stringify(opts.only)}` : "", categories.length > 0 ? `--category ${categories.join(",")}` : ""];
        throw new InputError(`${asked.filter((x) => x).join(" ")} matches no published case`);
      }
      const summary = summarise(rows);
      const byCategory = summariseByCategory(rows, categories);
      const memory = summariseMemory(rows);
      const dir = opts.report;
      const report =
        dir === undefined
          ? {}
          : await drawReport("its figures follow", undefined, async () => {
              await buildValidationReport(dir, rows);
              return join(dir, "report.html");
            });
      const reportFile = report.file;
      if (opts.json) process.stdout.write(json({ rows, summary, categories: byCategory, memory }));
      else printText(withReportLine(formatValidation(rows, summary, byCategory, memory), reportFile));
      if (report.error !== undefined) throw report.error;
    });
}

/** `trainsim run SCENARIO`: simulate one scenario, print what bounds its step, draw its report. */
import type { Command } from "commander";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { runScenario } from "../../models/run.ts";
import { outOfMemory } from "../../models/workload/memory.ts";
import { isClusterFile } from "../../experiments/cluster-flags.ts";
import { formatRun } from "../../experiments/format-run.ts";
import { loadScenario } from "../../experiments/load.ts";
import { workProblem } from "../../experiments/work-limits.ts";
import { buildRunReport } from "../../reports/build.ts";
import { writeTrace } from "../../reports/trace.ts";
import { writeAtomically } from "../../reports/atomic-write.ts";
import { lockOutputFolder } from "../../experiments/output-lock.ts";
import { terminalProgress } from "../progress.ts";
import { InputError, checkedFile, drawReport, json, outputFolder, printError, printText, withReportLine } from "../common.ts";
import { runClusterCommand } from "./cluster.ts";
import { analyseUncertainty } from "../../models/uncertainty/analyse.ts";
import { formatUncertainty } from "../../reports/uncertainty-text.ts";

/** Bounds of --uncertainty: enough samples for a p5/p95, few enough to finish. */
export const UNCERTAINTY_SAMPLES = { min: 10, max: 10_000 } as const;

/** --uncertainty's value as a whole number of samples, or an InputError naming what is allowed. */
export function uncertaintySamples(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < UNCERTAINTY_SAMPLES.min || n > UNCERTAINTY_SAMPLES.max) {
    throw new InputError(`--uncertainty: ${JSON.stringify(value)} is not a number of samples; allowed: a whole number from ${UNCERTAINTY_SAMPLES.min} to ${UNCERTAINTY_SAMPLES.max}`);
  }
  return n;
}

export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description("Simulate a scenario, print what bounds its training step, and draw its report.")
    .argument("<scenario>", "scenario file (.yaml, .yml or .json); see experiments/scenarios/ for examples")
    .option("--json", "print the result as one JSON object (every field: docs/results.md)")
    .option("--out <dir>", "folder for result.json and the report (default: out/<scenario name>)")
    .option("--no-report", "do not write result.json and the report (charts and report.html)")
    .option("--trace <file>", "also write a Chrome/Perfetto trace of the step (open it in ui.perfetto.dev)")
    .option("--ignore-memory", "simulate even if the plan does not fit in GPU memory (a warning is printed)")
    .option("--full", "simulate every GPU instead of one per pipeline stage: slower, exact stragglers (chosen by itself when cluster.stragglers names slow GPUs)")
    .option("--folded", "simulate one GPU per pipeline stage even when ranks differ (each stage then runs at its slowest GPU's pace)")
    .option("--uncertainty <samples>", "also rerun the step over the catalog's spreads (seeded Latin hypercube): p5/p50/p95 of step time, tokens/s and MFU, and the constants that move it most (docs/uncertainty.md)")
    .addHelpText(
      "after",
      "\nWrites <out>/result.json and <out>/report.html (with each chart as .vl.json, .svg and .png)\n" +
        "unless --no-report.\n\n" +
        "Limits (docs/limits.md): input files are regular files of at most 16 MiB; rates have lower\n" +
        "bounds; a job whose estimated work exceeds 2.5e8 engine events or the memory limit (half\n" +
        "this machine's memory, at most Node's heap) is refused before simulating, with exit 2.\n" +
        "A long run prints its progress and an ETA on stderr when stderr is a terminal.\n\nExamples:\n  trainsim run experiments/scenarios/gpt3-175b-1024.yaml\n" +
        "  trainsim run experiments/scenarios/llama3-405b-16k.yaml --json --no-report\n" +
        "  trainsim run experiments/scenarios/gpt3-175b-1024.yaml --uncertainty 200   # bands and sensitivity\n" +
        "  trainsim run experiments/published/llama3/405b-54d.yaml          # 54 days with failures\n" +
        "  trainsim run experiments/clusters/power-aware-admission.yaml     # a file of jobs: as trainsim cluster\n",
    )
    .action(async (file: string, opts: { json?: boolean; out?: string; report: boolean; trace?: string; ignoreMemory?: boolean; full?: boolean; folded?: boolean; uncertainty?: string }) => {
      const samples = opts.uncertainty !== undefined ? uncertaintySamples(opts.uncertainty) : undefined;
      // A file with jobs or a trace is a whole cluster's workload: run it as `trainsim cluster` would.
      if (isClusterFile(file)) {
        if (samples !== undefined) throw new InputError(`--uncertainty: ${file} is a cluster file (jobs or a trace); allowed: a single scenario`);
        return runClusterCommand(file, opts);
      }
      if (opts.full && opts.folded) throw new InputError("--full and --folded: choose one (or neither: trainsim folds unless the scenario's GPUs differ)");
      const s = loadScenario(file);
      // Before the memory check, which walks the pipeline schedule (micro-batches).
      const mode = opts.full ? "full" : opts.folded ? "folded" : "auto";
      const work = workProblem(s, mode, undefined, opts.report || opts.trace !== undefined);
      if (work !== null) throw new InputError(`${file}: ${work}`);
      const oom = outOfMemory(s);
      if (oom !== null) {
        if (!opts.ignoreMemory) throw new InputError(`${file}: memory: ${oom}\n(run with --ignore-memory to simulate it anyway)`);
        printError(`warning: ${oom}\n`);
      }
      const out = opts.report ? outputFolder(opts.out, s.name, file) : undefined;
      if (opts.trace !== undefined) checkedFile("--trace", opts.trace);
      const record = opts.report || opts.trace !== undefined;
      // One writer per folder, held until the command's process exits (experiments/output-lock.ts releases it on exit and on SIGINT/SIGTERM).
      if (out !== undefined) lockOutputFolder(out, { option: opts.out !== undefined ? "--out" : "output folder" });
      const progress = s.reliability !== undefined ? terminalProgress("long run") : undefined;
      const { result, step } = runScenario(s, { record, mode, ...(progress !== undefined ? { onLongRunProgress: (f: number) => progress.update(f) } : {}) });
      progress?.end();
      if (samples !== undefined) {
        const sampling = terminalProgress("uncertainty");
        result.uncertainty = analyseUncertainty(s, { samples, mode: step.mode, onProgress: (f) => sampling?.update(f) });
        sampling?.end();
      }
      if (opts.trace !== undefined) {
        writeTrace(opts.trace, {
          spans: step.spans,
          counters: result.power.series.map((p) => ({ name: "facility power (W)", time: p.time, value: p.watts })),
          processName: s.name,
        });
      }
      let report: Awaited<ReturnType<typeof drawReport>> = {};
      if (out !== undefined) {
        mkdirSync(out, { recursive: true });
        const resultFile = join(out, "result.json");
        writeAtomically(resultFile, json(result));
        report = await drawReport(`its result is in ${resultFile}`, `trainsim report ${resultFile}`, async () => {
          await buildRunReport(out, { scenarioName: s.name, result, spans: step.spans });
          return join(out, "report.html");
        });
      }
      const reportFile = report.file;
      // The report page is the summary's last line, as for a sweep; --json prints the result alone (= result.json).
      if (opts.json) process.stdout.write(json(result));
      else printText(withReportLine(result.uncertainty !== undefined ? `${formatRun(s, result)}\n${formatUncertainty(result.uncertainty, result.stepSeconds)}` : formatRun(s, result), reportFile));
      if (report.error !== undefined) throw report.error;
    });
}

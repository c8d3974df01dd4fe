/**
 * `trainsim sweep` and `trainsim merge`. Errors follow bin/trainsim.ts: ConfigError (and
 * SweepInputError, which is one) means bad input, exit 2; IncompleteMergeError and any
 * other error mean exit 1. The actions are async: call `program.parseAsync`.
 */
import type { Command } from "commander";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { loadExperiment, pointCount } from "../experiment.ts";
import { merge } from "../merge.ts";
import { RESULTS_CSV, RESULTS_JSONL, SweepInputError, parseShard, runSweep, type SweepSummary } from "../runner.ts";
import { sweepTable } from "../sweep-table.ts";
import { withReportLine } from "./report-line.ts";
import type { SweepPointResult } from "../../models/results.ts";

export { SweepInputError } from "../runner.ts";
export { IncompleteMergeError } from "../merge.ts";

export interface SweepHooks {
  /**
   * Called after a whole (unsharded) sweep or a merge has written its files, e.g. to draw
   * reports; returns the report's page, which the summary ends with.
   */
  onSweepDone?: (outDir: string, results: SweepPointResult[]) => string | undefined | Promise<string | undefined>;
}

/** Some points failed in simulation: their results are written, and the command exits 1. */
export class SweepFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SweepFailedError";
  }
}

function parseWorkers(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new SweepInputError("--workers", text, `${JSON.stringify(text)} is not allowed; expected an integer >= 1 (default: ${availableParallelism()}, the cores available)`, "trainsim sweep");
  }
  return n;
}

/** Where a sweep's or merge's result files are. */
function filesText(jsonl: string, csv: string): string[] {
  return [`results: ${jsonl}`, `         ${csv}`];
}

/** The --json summary's fields, with the report page if one was drawn. */
function withReport<T extends object>(summary: T, reportFile: string | undefined): T & { report?: string } {
  return reportFile !== undefined ? { ...summary, report: reportFile } : summary;
}

function summaryText(s: SweepSummary): string {
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

const SWEEP_HELP = `
An experiment is a base scenario plus axes to sweep (see experiments/README.md):

  name: hbm-bandwidth-shift
  base: scenarios/hbm-shift-base.yaml         # a scenario file, or a scenario inline
  sweep:                                      # grid over dotted paths
    cluster.gpu.hbmBandwidth: [1 TB/s, 2 TB/s, 3.35 TB/s, 4.8 TB/s, 8 TB/s]
  seeds: [1]

Also zip: (lists walked together), points: (explicit), random: (seeded samples).

Files written to --out (default out/<experiment name>):
  sweep.json      what was swept (experiment, fingerprint, point count, parameters)
  ${RESULTS_JSONL}   one JSON object per point, appended as each point finishes
  ${RESULTS_CSV}     one row per point: index, seed, parameters, status, step time,
                  tokens/s, TFLOP/s per GPU, MFU, memory, power, breakdown shares
A point that is invalid or does not fit in memory is recorded with status "invalid";
one whose simulation throws, with status "failed" (and the command exits 1).

Examples:
  trainsim sweep experiments/default.yaml
  trainsim sweep experiments/sweeps/gpu-scaling.yaml --workers 4 --out runs/scaling
  trainsim sweep big.yaml --resume                    # after a kill: runs only what is missing
  trainsim sweep big.yaml --shard 3/16                # points with index % 16 == 3
                                                      #   -> out/<name>/shard-3-of-16/
  trainsim sweep big.yaml --shard auto/16             # index from SLURM_ARRAY_TASK_ID
                                                      #   or JOB_COMPLETION_INDEX
  trainsim merge out/big --out out/big                # join the shards
`;

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

export function registerSweepCommands(program: Command, hooks: SweepHooks = {}): void {
  program
    .command("sweep")
    .description("Run every point of an experiment (a base scenario swept along dotted paths) in worker threads.")
    .argument("<experiment>", "experiment file (.yaml, .yml or .json), e.g. experiments/default.yaml")
    .option("--out <dir>", "output folder (default: out/<experiment name>)")
    .option("--workers <n>", `worker threads (default: the cores available, ${availableParallelism()} here)`)
    .option("--resume", `keep the points already in <out>/${RESULTS_JSONL} and run only the rest`)
    .option("--shard <i/n>", "run only points whose index % n == i, into <out>/shard-i-of-n/; i may be auto (SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)")
    .option("--json", "print a JSON summary on stdout (counts, files) instead of text")
    .option("--no-report", "do not draw the report (charts and report.html) at the end")
    .addHelpText("after", SWEEP_HELP)
    .action(async (file: string, opts: { out?: string; workers?: string; resume?: boolean; shard?: string; json?: boolean; report: boolean }) => {
      const workers = opts.workers === undefined ? undefined : parseWorkers(opts.workers);
      const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
      const exp = loadExperiment(file);
      const outDir = opts.out ?? join("out", exp.name);
      if (!opts.json) {
        const where = shard === undefined ? outDir : join(outDir, `shard-${shard.index}-of-${shard.count}`);
        process.stderr.write(`${exp.name}: ${pointCount(exp)} points -> ${where}\n`);
      }
      const summary = await runSweep(exp, {
        outDir,
        ...(workers !== undefined ? { workers } : {}),
        ...(opts.resume ? { resume: true } : {}),
        ...(shard !== undefined ? { shard } : {}),
      });
      const reportFile = shard === undefined && opts.report && hooks.onSweepDone !== undefined ? await hooks.onSweepDone(summary.outDir, summary.results) : undefined;
      if (opts.json) {
        const { results: _results, ...rest } = summary;
        process.stdout.write(JSON.stringify(withReport(rest, reportFile), null, 2) + "\n");
      } else process.stdout.write(withReportLine(summaryText(summary), reportFile));
      if (summary.failed > 0) {
        throw new SweepFailedError(`${summary.failed} of ${summary.slicePoints} points failed in simulation (status "failed" in ${summary.files.jsonl}); the other results are written`);
      }
    });

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
      const report = merge(inputs, opts.out, { allowPartial: opts.allowPartial === true });
      const reportFile = opts.report && hooks.onSweepDone !== undefined ? await hooks.onSweepDone(report.outDir, report.results) : undefined;
      if (opts.json) {
        const { results: _results, ...rest } = report;
        process.stdout.write(JSON.stringify(withReport({ ...rest, points: report.results.length }, reportFile), null, 2) + "\n");
      } else {
        const complete = report.missing.length === 0 ? "complete" : `${report.missing.length} missing`;
        const head = `${report.experiment}: merged ${report.results.length} of ${report.totalPoints} points from ${report.inputs.length} input${report.inputs.length === 1 ? "" : "s"} (${complete})`;
        process.stdout.write(withReportLine([head, ...filesText(join(report.outDir, RESULTS_JSONL), join(report.outDir, RESULTS_CSV))].join("\n"), reportFile));
      }
    });
}

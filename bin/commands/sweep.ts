/**
 * `trainsim sweep`. Errors follow bin/trainsim.ts: ConfigError (and SweepInputError,
 * which is one) means bad input, exit 2; SweepFailedError and any other error mean
 * exit 1. The action is async: call `program.parseAsync`.
 */
import type { Command } from "commander";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { loadExperiment, pointCount } from "../../experiments/experiment.ts";
import { lockOutputFolder } from "../../experiments/output-lock.ts";
import { uncertaintySamples } from "./run.ts";
import { RESULTS_CSV, RESULTS_JSONL, SweepInputError, parseShard, runSweep, shardDir } from "../../experiments/runner.ts";
import { summaryText } from "../../experiments/sweep-summary.ts";
import { ReportFailedError, drawReport, outputFolder, printError, printText, withReport, withReportLine, type SweepHooks } from "../common.ts";

/** Some points failed in simulation: their results are written, and the command exits 1. */
export class SweepFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SweepFailedError";
  }
}

/** Threads per core beyond which more workers only add start-up and memory (each compiles on its own). */
const WORKERS_PER_CORE_WARNING = 4;

function parseWorkers(text: string): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new SweepInputError("--workers", text, `${JSON.stringify(text)} is not allowed; expected an integer >= 1 (default: ${availableParallelism()}, the cores available)`, "trainsim sweep");
  }
  return n;
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
A point that is invalid, does not fit in memory or is too much work to simulate (the
estimate before simulating: docs/limits.md) is recorded with status "invalid"; one whose
simulation throws, with status "failed" (and the command exits 1).

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

export function registerSweepCommand(program: Command, hooks: SweepHooks = {}): void {
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
    .option("--uncertainty <samples>", "also rerun each point over the catalog's spreads: p5/p50/p95 per point in results.jsonl and a band on the bottleneck-shift chart (docs/uncertainty.md)")
    .addHelpText("after", SWEEP_HELP)
    .action(async (file: string, opts: { out?: string; workers?: string; resume?: boolean; shard?: string; json?: boolean; report: boolean; uncertainty?: string }) => {
      const samples = opts.uncertainty !== undefined ? uncertaintySamples(opts.uncertainty) : undefined;
      const workers = opts.workers === undefined ? undefined : parseWorkers(opts.workers);
      const cores = availableParallelism();
      if (workers !== undefined && workers > WORKERS_PER_CORE_WARNING * cores) {
        printError(`warning: --workers ${workers} is more than ${WORKERS_PER_CORE_WARNING} per core (${cores} available): each thread compiles and holds its own copy of the model, so more than ${WORKERS_PER_CORE_WARNING * cores} only costs start-up and memory; at most one thread per point is started\n`);
      }
      const shard = opts.shard === undefined ? undefined : parseShard(opts.shard);
      const exp = loadExperiment(file);
      const outDir = outputFolder(opts.out, exp.name, file);
      // One writer per folder, held until the command's process exits (experiments/output-lock.ts releases it on exit and on SIGINT/SIGTERM). A shard locks only its own shard-<i>-of-<n>/, so the tasks of a Slurm array share <out>.
      lockOutputFolder(shard === undefined ? outDir : shardDir(outDir, shard), { option: "--out" });
      if (!opts.json) {
        const where = shard === undefined ? outDir : join(outDir, `shard-${shard.index}-of-${shard.count}`);
        printError(`${exp.name}: ${pointCount(exp)} points -> ${where}\n`);
      }
      const summary = await runSweep(exp, {
        outDir,
        ...(workers !== undefined ? { workers } : {}),
        ...(opts.resume ? { resume: true } : {}),
        ...(shard !== undefined ? { shard } : {}),
        ...(samples !== undefined ? { uncertaintySamples: samples } : {}),
      });
      const onDone = hooks.onSweepDone;
      const report =
        shard === undefined && opts.report && onDone !== undefined
          ? await drawReport(`every point's result is in ${summary.files.jsonl}`, `trainsim report ${summary.outDir}`, () => onDone(summary.outDir, summary.results))
          : {};
      const reportFile = report.file;
      if (opts.json) {
        const { results: _results, ...rest } = summary;
        process.stdout.write(JSON.stringify(withReport(rest, reportFile), null, 2) + "\n");
      } else printText(withReportLine(summaryText(summary), reportFile));
      const failed = summary.failed > 0 ? `${summary.failed} of ${summary.slicePoints} points failed in simulation (status "failed" in ${summary.files.jsonl}); the other results are written` : undefined;
      if (report.error !== undefined) throw failed === undefined ? report.error : new ReportFailedError(`${failed}\n${report.error.message}`, { cause: report.error.cause });
      if (failed !== undefined) throw new SweepFailedError(failed);
    });
}

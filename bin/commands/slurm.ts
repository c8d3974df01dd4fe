/**
 * `trainsim slurm EXPERIMENT`: run a sweep on a Slurm cluster as a job array (one shard per
 * task) plus a merge job that joins the shards and draws the report. Bad flags, a missing
 * sbatch or a refused submission are ConfigErrors (SlurmError is one): exit 2.
 */
import type { Command } from "commander";
import { printText } from "../common.ts";
import { checkSlurmFlags, DEFAULT_SHARDS, type SlurmFlags } from "../../experiments/slurm/options.ts";
import { planSlurmSweep, submissionText, submitSlurmSweep, TRAINSIM_BIN } from "../../experiments/slurm/submit.ts";
import { lockOutputFolder } from "../../experiments/output-lock.ts";

const SLURM_HELP = `
What it does:
  1. writes <out>/slurm/array.sbatch, a job array with --array=0-(n-1): task i runs
       node ${TRAINSIM_BIN} sweep EXPERIMENT --out OUT --shard auto/n --no-report
     (shard i of n from SLURM_ARRAY_TASK_ID: the points whose index % n == i, into
     OUT/shard-<i>-of-<n>/, with --cpus-per-task worker threads);
  2. writes <out>/slurm/merge.sbatch, which runs  trainsim merge OUT --out OUT  (the merged
     results.jsonl, results.csv, sweep.json and report.html);
  3. submits the array with  sbatch --parsable  and the merge with
     --dependency=afterany:<array job id>, and prints both job ids.
All paths in the scripts are absolute; OUT must be on a file system every node sees.
Job logs go to <out>/slurm/logs/, job ids to <out>/slurm/jobs.json.

When a task fails or is cancelled (scancel, time limit, node failure) the merge job still
runs once the array has ended: it lists the missing points by shard, writes nothing and
fails (exit 1). Then --resume reads the shard folders and resubmits only the shards with
missing points (each keeps what it finished) and a new merge job. (--merge-after ok waits
for afterok instead: a failed task then gets the merge job cancelled, not run.) A task that
Slurm requeues (--requeue is set) continues where it stopped.

Examples:
  trainsim slurm experiments/default.yaml                       # 4 shards -> out/hbm-bandwidth-shift/
  trainsim slurm big.yaml --shards 32 --partition cpu --time 2:00:00 --cpus-per-task 8
  trainsim slurm big.yaml --shards 32 --sbatch --mem=16G --sbatch "--account=proj42"
  trainsim slurm big.yaml --shards 32 --dry-run                 # print both scripts, submit nothing
  trainsim slurm big.yaml --shards 32 --resume                  # after failed tasks: only the missing shards
  squeue -j <array job id>,<merge job id>                       # watch them
  scancel <array job id>_3                                      # cancel one task (then --resume)

Kubernetes: a Kubernetes indexed Job runs the same shards (--shard auto/n reads
JOB_COMPLETION_INDEX); experiments/README.md has a Job manifest.
`;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function registerSlurmCommands(program: Command): void {
  program
    .command("slurm")
    .description("Run a sweep on a Slurm cluster: a job array with one shard per task, then a dependent merge job that joins them and draws the report.")
    .argument("<experiment>", "experiment file (.yaml, .yml or .json), e.g. experiments/default.yaml")
    .option("--shards <n>", `array tasks, each running one shard of the sweep (default: ${DEFAULT_SHARDS}; with --resume, the count of the shard folders in <out>)`)
    .option("--out <dir>", "output folder, on a file system every node sees (default: out/<experiment name>)")
    .option("--partition <name>", "Slurm partition for both jobs (#SBATCH --partition)")
    .option("--time <limit>", 'time limit of each job, e.g. 30 (minutes), 2:00:00, 1-00:00:00 (#SBATCH --time)')
    .option("--cpus-per-task <n>", "CPUs of each array task; the task runs that many worker threads (default: 1)")
    .option("--sbatch <line>", 'extra #SBATCH option for both scripts, e.g. --sbatch=--mem=8G or --sbatch "--account=proj" (repeatable)', collect)
    .option("--max-running <k>", "array tasks running at once (--array=0-(n-1)%k)")
    .option("--merge-after <when>", "any: merge when every task has ended, listing missing shards if some failed (default); ok: only if all succeeded")
    .option("--node <path>", `node executable the jobs run (default: this one, ${process.execPath})`)
    .option("--resume", "resubmit only the shards whose points are missing in <out>/shard-*-of-*/, and a new merge job")
    .option("--dry-run", "print both scripts and the sbatch commands; write and submit nothing")
    .option("--json", "print one JSON object (job ids, shards, tasks, paths; the scripts too with --dry-run)")
    .addHelpText("after", SLURM_HELP)
    .action((file: string, flags: SlurmFlags) => {
      const settings = checkSlurmFlags(flags);
      const plan = planSlurmSweep(file, settings);
      // Only <out>/slurm/ is written here, and only while submitting: the array's tasks each lock their own
      // <out>/shard-<i>-of-<n>/ and the merge job <out>, so they never refuse each other (docs: experiments/README.md).
      if (!settings.dryRun) lockOutputFolder(plan.slurmDir, { option: "--out" });
      const sub = submitSlurmSweep(plan, settings.dryRun);
      if (settings.json) {
        const { scripts, ...rest } = sub;
        const shown = settings.dryRun ? scripts : { array: scripts.array?.path ?? null, merge: scripts.merge.path };
        process.stdout.write(JSON.stringify({ ...rest, scripts: shown }, null, 2) + "\n");
      } else printText(submissionText(sub) + "\n");
    });
}

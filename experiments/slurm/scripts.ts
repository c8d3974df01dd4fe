/**
 * The two batch scripts `trainsim slurm` submits: a job array whose task i runs shard i of
 * n of a sweep, and a merge job that joins the shards and draws the report. Pure text
 * builders: nothing here touches the file system or runs anything.
 */

/** What both scripts share. Paths are absolute: a task may start in any folder on any node. */
export interface SlurmScriptOptions {
  /** Experiment name: names the jobs (`trainsim-<name>`, `trainsim-<name>-merge`). */
  experimentName: string;
  /** Absolute path of the experiment file. */
  experimentFile: string;
  /** Absolute output folder: shards go to `<outDir>/shard-<i>-of-<n>/`, the merge to `<outDir>/`. */
  outDir: string;
  /** Absolute folder for the job logs (must exist before sbatch is called: Slurm does not create it). */
  logDir: string;
  /** The node executable the jobs run, absolute. */
  node: string;
  /** The trainsim entry point (bin/trainsim.js), absolute. */
  bin: string;
  /** Shard count n. */
  shards: number;
  partition?: string;
  /** Slurm time limit ("30", "2:00:00", "1-00:00:00"). */
  time?: string;
  /** CPUs per array task; each task runs that many worker threads. */
  cpusPerTask?: number;
  /** Extra `#SBATCH` options, each like "--mem=8G" (put in both scripts). */
  extraSbatch?: readonly string[];
}

export interface ArrayScriptOptions extends SlurmScriptOptions {
  /** The shard indices to run: all of 0..n-1 for a new sweep, the missing ones for --resume. */
  tasks: readonly number[];
  /** Array tasks running at once (`--array=...%k`); default: as many as Slurm allows. */
  maxRunning?: number;
  /** Resubmission of missing shards: each task keeps what its shard already finished. */
  resume: boolean;
}

export interface MergeScriptOptions extends SlurmScriptOptions {
  /** Shown in the failure hint: the command that resubmits the missing shards. */
  resumeCommand: string;
}

/** A word for bash, single-quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** [0,1,2,5,7,8] → "0-2,5,7-8": Slurm's --array syntax. */
export function compactRanges(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i] as number;
    let end = start;
    while (i + 1 < sorted.length && sorted[i + 1] === end + 1) end = sorted[++i] as number;
    parts.push(start === end ? String(start) : `${start}-${end}`);
    i++;
  }
  return parts.join(",");
}

/** Slurm job names: letters, digits and a few marks, so that squeue shows them plainly. */
export function jobName(experimentName: string, suffix = ""): string {
  const clean = experimentName.replace(/[^A-Za-z0-9_.-]+/g, "-").slice(0, 60);
  return `trainsim-${clean}${suffix}`;
}

function commonHeader(o: SlurmScriptOptions): string[] {
  const lines: string[] = [];
  if (o.partition !== undefined) lines.push(`#SBATCH --partition=${o.partition}`);
  if (o.time !== undefined) lines.push(`#SBATCH --time=${o.time}`);
  return lines;
}

function extraHeader(o: SlurmScriptOptions): string[] {
  return (o.extraSbatch ?? []).map((line) => `#SBATCH ${line}`);
}

/**
 * The job array. Task i runs `trainsim sweep EXPERIMENT --shard auto/n`, which takes i from
 * SLURM_ARRAY_TASK_ID. A resubmission of some shards (--resume) names the shard explicitly
 * (`--shard $SLURM_ARRAY_TASK_ID/n`) instead: its array (say 1,3) does not start at 0, and
 * `auto` counts from SLURM_ARRAY_TASK_MIN so that arrays numbered from 1 work.
 */
export function arrayScript(o: ArrayScriptOptions): string {
  if (o.tasks.length === 0) throw new Error("arrayScript: no tasks");
  const array = compactRanges(o.tasks) + (o.maxRunning !== undefined ? `%${o.maxRunning}` : "");
  const tasksText = o.resume ? `the missing shards ${compactRanges(o.tasks)} of ${o.shards}` : `${o.shards} shards`;
  const shardArg = o.resume ? `"$SLURM_ARRAY_TASK_ID/${o.shards}"` : `auto/${o.shards}`;
  const sweep = [shellQuote(o.node), shellQuote(o.bin), "sweep", shellQuote(o.experimentFile), "--out", shellQuote(o.outDir), "--shard", shardArg, "--workers", '"${SLURM_CPUS_PER_TASK:-1}"', "--no-report"].join(" ");
  return [
    "#!/bin/bash",
    `# trainsim sweep of ${o.experimentName} as a Slurm job array: ${tasksText}, one per task.`,
    `# Task i writes ${o.outDir}/shard-<i>-of-${o.shards}/; the merge job joins them.`,
    "# Written by `trainsim slurm`; submit with `sbatch --parsable <this file>`.",
    `#SBATCH --job-name=${jobName(o.experimentName)}`,
    `#SBATCH --array=${array}`,
    `#SBATCH --output=${o.logDir}/%x-%A_%a.out`,
    ...commonHeader(o),
    ...(o.cpusPerTask !== undefined ? [`#SBATCH --cpus-per-task=${o.cpusPerTask}`] : []),
    "#SBATCH --requeue",
    ...extraHeader(o),
    "set -euo pipefail",
    "",
    o.resume
      ? "# A resubmitted shard keeps the points it finished before and runs only the rest."
      : "# A task Slurm requeued (preemption, node failure) keeps the points it already finished.",
    o.resume ? "resume=(--resume)" : 'resume=(); if [[ "${SLURM_RESTART_COUNT:-0}" != 0 ]]; then resume=(--resume); fi',
    `echo "trainsim shard \${SLURM_ARRAY_TASK_ID}/${o.shards} of ${o.experimentName} on $(hostname), job \${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}" >&2`,
    `exec ${sweep} \${resume[@]+"\${resume[@]}"}`,
    "",
  ].join("\n");
}

/**
 * The merge job: `trainsim merge OUT --out OUT` joins every shard-<i>-of-<n>/ under OUT,
 * writes results.jsonl, results.csv and sweep.json there and draws the report. If shards are
 * missing or incomplete it lists the missing points by shard, writes nothing and exits 1, so
 * the job ends FAILED; the log then says how to resubmit only the missing shards.
 */
export function mergeScript(o: MergeScriptOptions): string {
  const merge = [shellQuote(o.node), shellQuote(o.bin), "merge", shellQuote(o.outDir), "--out", shellQuote(o.outDir)].join(" ");
  return [
    "#!/bin/bash",
    `# Merge of the trainsim sweep ${o.experimentName}: joins ${o.outDir}/shard-*-of-${o.shards}/ into`,
    `# ${o.outDir}/results.jsonl, results.csv, sweep.json and report.html.`,
    "# Written by `trainsim slurm`, which submits it with --dependency on the array job.",
    `#SBATCH --job-name=${jobName(o.experimentName, "-merge")}`,
    `#SBATCH --output=${o.logDir}/%x-%j.out`,
    ...commonHeader(o),
    "#SBATCH --cpus-per-task=1",
    ...extraHeader(o),
    "set -uo pipefail",
    "",
    merge,
    "status=$?",
    'if [[ $status != 0 ]]; then',
    `  echo "trainsim slurm: the merge failed (exit $status). If shards are missing or incomplete (listed above), rerun only those with:" >&2`,
    `  echo ${shellQuote(`  ${o.resumeCommand}`)} >&2`,
    "fi",
    "exit $status",
    "",
  ].join("\n");
}

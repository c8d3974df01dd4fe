/**
 * The flags of `trainsim slurm`, checked all at once: every bad flag is listed with its value
 * and what is allowed (a ConfigError, exit 2), before anything is written or submitted.
 */
import { ConfigError, type ConfigProblem } from "../errors.ts";

/** The flags as commander hands them over (strings), before checking. */
export interface SlurmFlags {
  shards?: string;
  out?: string;
  partition?: string;
  time?: string;
  cpusPerTask?: string;
  sbatch?: string[];
  maxRunning?: string;
  mergeAfter?: string;
  node?: string;
  resume?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export type MergeAfter = "any" | "ok";

/** The flags checked and converted. */
export interface SlurmSettings {
  /** Undefined: 4, or with --resume the count of the shard folders already there. */
  shards: number | undefined;
  out: string | undefined;
  partition: string | undefined;
  time: string | undefined;
  cpusPerTask: number | undefined;
  /** Extra #SBATCH options without the "#SBATCH " prefix, e.g. "--mem=8G". */
  sbatch: string[];
  maxRunning: number | undefined;
  mergeAfter: MergeAfter;
  node: string | undefined;
  resume: boolean;
  dryRun: boolean;
  json: boolean;
}

export const DEFAULT_SHARDS = 4;

/** Slurm's time formats: minutes, m:s, h:m:s, d-h, d-h:m, d-h:m:s, or no limit. */
const TIME = /^(?:\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d+|\d+-\d+:\d{1,2}|\d+-\d+:\d{1,2}:\d{1,2}|UNLIMITED|INFINITE|unlimited|infinite)$/;
const PARTITION = /^[A-Za-z0-9_.-]+(?:,[A-Za-z0-9_.-]+)*$/;

/** Options trainsim slurm sets itself: an extra #SBATCH line must not set them. */
/** An sbatch option given long ("--time=10", "--time 10") or short ("-t 10", "-t10"). */
function option(long: string, short?: string): RegExp {
  return new RegExp(`^(?:--${long}(?:[=\\s]|$)${short !== undefined ? `|-${short}` : ""})`);
}

/** Options trainsim slurm sets itself: an extra #SBATCH line must not set them. */
const OWN_OPTIONS: [RegExp, string][] = [
  [option("array", "a"), "trainsim slurm writes --array itself (0 to --shards - 1; --max-running K limits how many run at once)"],
  [option("dependency", "d"), "trainsim slurm sets the merge job's --dependency itself (see --merge-after)"],
  [option("output", "o"), "trainsim slurm sends the logs to <out>/slurm/logs/ itself"],
  [option("error", "e"), "trainsim slurm sends the logs to <out>/slurm/logs/ itself"],
  [option("partition", "p"), "use --partition"],
  [option("time", "t"), "use --time"],
  [option("cpus-per-task", "c"), "use --cpus-per-task"],
  [option("parsable"), "trainsim slurm passes --parsable to sbatch itself"],
];

function positiveInt(problems: ConfigProblem[], flag: string, text: string | undefined, hint: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    problems.push({ path: flag, value: text, message: `${flag}: ${JSON.stringify(text)} is not allowed; expected an integer >= 1 (${hint})` });
    return undefined;
  }
  return n;
}

/** "#SBATCH --mem=8G" or "--mem=8G" → "--mem=8G"; problems for lines that are not one sbatch option. */
export function sbatchLine(problems: ConfigProblem[], raw: string): string | undefined {
  const line = raw.replace(/^\s*#SBATCH\s+/, "").trim();
  const flag = "--sbatch";
  if (/[\r\n]/.test(raw)) {
    problems.push({ path: flag, value: raw, message: `${flag}: ${JSON.stringify(raw)} spans several lines; give one option per --sbatch (repeat the flag)` });
    return undefined;
  }
  if (!/^--?[A-Za-z]/.test(line)) {
    problems.push({ path: flag, value: raw, message: `${flag}: ${JSON.stringify(raw)} is not an sbatch option; expected one like --mem=8G, --account=proj or "--gres=gpu:1" (written after #SBATCH)` });
    return undefined;
  }
  for (const [re, why] of OWN_OPTIONS) {
    if (re.test(line)) {
      problems.push({ path: flag, value: raw, message: `${flag}: ${JSON.stringify(raw)} is not allowed: ${why}` });
      return undefined;
    }
  }
  return line;
}

export function checkSlurmFlags(flags: SlurmFlags): SlurmSettings {
  const problems: ConfigProblem[] = [];
  const shards = positiveInt(problems, "--shards", flags.shards, "the number of array tasks, each running one shard of the sweep");
  const cpusPerTask = positiveInt(problems, "--cpus-per-task", flags.cpusPerTask, "CPUs for each array task, which runs that many worker threads");
  const maxRunning = positiveInt(problems, "--max-running", flags.maxRunning, "array tasks allowed to run at once");
  if (flags.time !== undefined && !TIME.test(flags.time.trim())) {
    problems.push({ path: "--time", value: flags.time, message: `--time: ${JSON.stringify(flags.time)} is not a Slurm time limit; expected minutes ("30"), "hours:minutes:seconds" ("2:00:00") or "days-hours:minutes:seconds" ("1-12:00:00")` });
  }
  if (flags.partition !== undefined && !PARTITION.test(flags.partition.trim())) {
    problems.push({ path: "--partition", value: flags.partition, message: `--partition: ${JSON.stringify(flags.partition)} is not a partition name; expected letters, digits, "_", "-" or "." (several separated by commas), as sinfo lists them` });
  }
  const mergeAfter = flags.mergeAfter ?? "any";
  if (mergeAfter !== "any" && mergeAfter !== "ok") {
    problems.push({ path: "--merge-after", value: flags.mergeAfter, message: `--merge-after: ${JSON.stringify(flags.mergeAfter)} is not allowed; expected any (merge when every task has ended, and report missing shards) or ok (merge only if every task succeeded)` });
  }
  if (flags.out !== undefined && (flags.out.trim() === "" || /[\s%]/.test(flags.out))) {
    problems.push({ path: "--out", value: flags.out, message: `--out: ${JSON.stringify(flags.out)} is not allowed; Slurm log paths in #SBATCH lines cannot hold spaces or "%": choose a folder name without them` });
  }
  const sbatch: string[] = [];
  for (const raw of flags.sbatch ?? []) {
    const line = sbatchLine(problems, raw);
    if (line !== undefined) sbatch.push(line);
  }
  if (flags.node !== undefined && flags.node.trim() === "") problems.push({ path: "--node", value: flags.node, message: "--node: an empty path is not allowed; expected the node executable the jobs run" });
  if (problems.length > 0) throw new ConfigError(problems, "trainsim slurm");
  return {
    shards,
    out: flags.out,
    partition: flags.partition?.trim(),
    time: flags.time?.trim(),
    cpusPerTask,
    sbatch,
    maxRunning,
    mergeAfter: mergeAfter as MergeAfter,
    node: flags.node,
    resume: flags.resume === true,
    dryRun: flags.dryRun === true,
    json: flags.json === true,
  };
}

/**
 * `trainsim slurm`: run a sweep as a Slurm job array plus a dependent merge job.
 *
 * planSlurmSweep checks everything and builds the two scripts (no side effects);
 * submitSlurmSweep writes them under <out>/slurm/, submits them with `sbatch --parsable`
 * and records the job ids in <out>/slurm/jobs.json. With `resume`, only the shards whose
 * points are missing (found by reading the shard folders) are resubmitted, plus a new merge.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadExperiment, pointCount, type Experiment } from "../experiment.ts";
import { writeAtomically } from "../../reports/atomic-write.ts";
import { RESULTS_CSV, RESULTS_JSONL } from "../runner.ts";
import { outputFolderProblem } from "../output-folder.ts";
import { DEFAULT_SHARDS, type SlurmSettings } from "./options.ts";
import { activeJobs, findExecutable, SlurmError, slurmCommands, submit, type SlurmCommands } from "./sbatch.ts";
import { arrayScript, compactRanges, mergeScript, shellQuote, type SlurmScriptOptions } from "./scripts.ts";
import { shardCountsIn, shardProgress, type ShardProgress } from "./shards.ts";

/** bin/trainsim.js of this checkout: what the jobs run. */
export const TRAINSIM_BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../bin/trainsim.js");

export const SLURM_DIR = "slurm";
export const JOBS_FILE = "jobs.json";

export interface SlurmPlan {
  experiment: string;
  experimentFile: string;
  points: number;
  shards: number;
  outDir: string;
  /** <out>/slurm: scripts, jobs.json and logs/. */
  slurmDir: string;
  logDir: string;
  /** Shard indices the array runs (all, or with resume the incomplete ones; may be empty then). */
  tasks: number[];
  resume: boolean;
  /** Per shard: points owned, done and missing (read from the shard folders; with resume only). */
  progress: ShardProgress[] | undefined;
  mergeAfter: "any" | "ok";
  scripts: { array: { path: string; text: string } | null; merge: { path: string; text: string } };
  /** The command that resubmits the missing shards (shown by the merge job when it fails). */
  resumeCommand: string;
}

export interface SlurmSubmission extends SlurmPlan {
  dryRun: boolean;
  arrayJobId: string | null;
  mergeJobId: string | null;
  /** The sbatch command lines, with "<array job id>" where a dry run does not know it. */
  commands: string[];
  results: { jsonl: string; csv: string; report: string };
}

interface JobRecord {
  submitted: string;
  resume: boolean;
  shards: number;
  tasks: number[];
  arrayJobId: string | null;
  mergeJobId: string;
}

/** The command line a user types to get the same submission again, with --resume. */
function resumeCommandFor(s: SlurmSettings, experimentFile: string, outDir: string, shards: number): string {
  const words = ["trainsim", "slurm", experimentFile, "--out", outDir, "--shards", String(shards)];
  if (s.partition !== undefined) words.push("--partition", s.partition);
  if (s.time !== undefined) words.push("--time", s.time);
  if (s.cpusPerTask !== undefined) words.push("--cpus-per-task", String(s.cpusPerTask));
  if (s.maxRunning !== undefined) words.push("--max-running", String(s.maxRunning));
  for (const line of s.sbatch) words.push(`--sbatch=${line}`);
  if (s.mergeAfter !== "any") words.push("--merge-after", s.mergeAfter);
  if (s.node !== undefined) words.push("--node", s.node);
  words.push("--resume");
  return words.map(shellQuote).join(" ");
}

function chooseShardCount(s: SlurmSettings, outDir: string, exp: Experiment, total: number): number {
  const present = shardCountsIn(outDir);
  const shards = s.shards ?? (s.resume && present.length === 1 ? (present[0] as number) : DEFAULT_SHARDS);
  const others = present.filter((n) => n !== shards);
  if (others.length > 0) {
    const what = others.map((n) => `shard-*-of-${n}/`).join(", ");
    const fix = s.resume && s.shards === undefined && present.length > 1
      ? `give --shards with the count to resume (${present.join(" or ")})`
      : s.resume
        ? `resume with the count they were made with (--shards ${others.join(" or --shards ")}), or remove them`
        : `remove them, give another --out, or resume that sweep (--resume --shards ${others[0]})`;
    throw new SlurmError("--shards", shards, `${outDir} already holds ${what} from a sweep in ${others.join(" and ")} shards, which the merge of ${outDir} would mix with ${shards} shards; ${fix}`);
  }
  if (shards > total) {
    throw new SlurmError("--shards", shards, `${shards} shards is more than the ${total} point${total === 1 ? "" : "s"} of ${exp.name}: some tasks would have nothing to do; expected at most ${total}`);
  }
  return shards;
}

/** Checks the experiment and flags and builds both scripts; writes and submits nothing. */
export function planSlurmSweep(file: string, s: SlurmSettings, cwd: string = process.cwd()): SlurmPlan {
  const exp = loadExperiment(file);
  const experimentFile = resolve(cwd, file);
  const outDir = resolve(cwd, s.out ?? join("out", exp.name));
  if (/[\s%]/.test(outDir)) {
    throw new SlurmError("--out", outDir, `${JSON.stringify(outDir)} holds a space or "%", which Slurm log paths in #SBATCH lines cannot; give --out a folder without them`);
  }
  const outProblem = outputFolderProblem(outDir);
  if (outProblem !== undefined) throw new SlurmError("--out", outDir, `${JSON.stringify(outDir)}: ${outProblem}; expected a folder for the results that exists or can be created, and can be written`);
  const total = pointCount(exp);
  const shards = chooseShardCount(s, outDir, exp, total);
  const node = s.node === undefined ? process.execPath : findExecutable(s.node);
  if (node === undefined) throw new SlurmError("--node", s.node, `${JSON.stringify(s.node)} is not an executable file (or not on PATH); expected the node the jobs run, e.g. /usr/bin/node`);

  const progress = s.resume ? shardProgress(exp, outDir, shards) : undefined;
  const tasks = progress === undefined ? Array.from({ length: shards }, (_, i) => i) : progress.filter((p) => p.missing.length > 0).map((p) => p.index);
  const slurmDir = join(outDir, SLURM_DIR);
  const logDir = join(slurmDir, "logs");
  const resumeCommand = resumeCommandFor(s, experimentFile, outDir, shards);
  const common: SlurmScriptOptions = {
    experimentName: exp.name,
    experimentFile,
    outDir,
    logDir,
    node: resolve(node),
    bin: TRAINSIM_BIN,
    shards,
    ...(s.partition !== undefined ? { partition: s.partition } : {}),
    ...(s.time !== undefined ? { time: s.time } : {}),
    ...(s.cpusPerTask !== undefined ? { cpusPerTask: s.cpusPerTask } : {}),
    extraSbatch: s.sbatch,
  };
  const array = tasks.length === 0
    ? null
    : { path: join(slurmDir, "array.sbatch"), text: arrayScript({ ...common, tasks, resume: s.resume, ...(s.maxRunning !== undefined ? { maxRunning: s.maxRunning } : {}) }) };
  const merge = { path: join(slurmDir, "merge.sbatch"), text: mergeScript({ ...common, resumeCommand }) };
  return {
    experiment: exp.name,
    experimentFile,
    points: total,
    shards,
    outDir,
    slurmDir,
    logDir,
    tasks,
    resume: s.resume,
    progress,
    mergeAfter: s.mergeAfter,
    scripts: { array, merge },
    resumeCommand,
  };
}

function readJobRecords(slurmDir: string): JobRecord[] {
  const path = join(slurmDir, JOBS_FILE);
  if (!existsSync(path)) return [];
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as unknown;
    return Array.isArray(v) ? (v as JobRecord[]) : [];
  } catch {
    return [];
  }
}

function dependencyArgs(plan: SlurmPlan, arrayJobId: string): string[] {
  // afterany: the merge runs once every task has ended, however it ended, so a failed or
  // cancelled task is reported by the merge (missing points, by shard) instead of leaving the
  // merge pending forever (DependencyNeverSatisfied), which is what afterok does.
  return plan.mergeAfter === "ok" ? [`--dependency=afterok:${arrayJobId}`, "--kill-on-invalid-dep=yes"] : [`--dependency=afterany:${arrayJobId}`];
}

export interface SubmitIo {
  /** Environment for sbatch and squeue (PATH, SLURM_CONF); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** Writes the scripts, submits the array and then the merge job; or with dryRun only says what it would do. */
export function submitSlurmSweep(plan: SlurmPlan, dryRun: boolean, io: SubmitIo = {}): SlurmSubmission {
  const results = { jsonl: join(plan.outDir, RESULTS_JSONL), csv: join(plan.outDir, RESULTS_CSV), report: join(plan.outDir, "report.html") };
  const arrayPath = plan.scripts.array?.path;
  if (dryRun) {
    const commands: string[] = [];
    if (arrayPath !== undefined) commands.push(`sbatch --parsable ${arrayPath}`);
    commands.push(["sbatch", "--parsable", ...(arrayPath !== undefined ? dependencyArgs(plan, "<array job id>") : []), plan.scripts.merge.path].join(" "));
    return { ...plan, dryRun: true, arrayJobId: null, mergeJobId: null, commands, results };
  }

  const slurm: SlurmCommands = slurmCommands(io.env ?? process.env);
  const earlier = readJobRecords(plan.slurmDir);
  const ids = earlier.slice(-5).flatMap((r) => [r.arrayJobId, r.mergeJobId]).filter((id): id is string => typeof id === "string");
  const active = activeJobs(slurm, ids);
  if (active.length > 0) {
    throw new SlurmError(
      plan.resume ? "--resume" : "--out",
      plan.outDir,
      `job${active.length === 1 ? "" : "s"} ${active.join(", ")} of an earlier submission to ${plan.outDir} ${active.length === 1 ? "is" : "are"} still queued or running (squeue -j ${active.join(",")}); wait for ${active.length === 1 ? "it" : "them"} to end, or cancel with scancel ${active.join(" ")}, then submit again`,
    );
  }

  mkdirSync(plan.logDir, { recursive: true });
  if (plan.scripts.array !== null) writeAtomically(plan.scripts.array.path, plan.scripts.array.text);
  writeAtomically(plan.scripts.merge.path, plan.scripts.merge.text);

  const commands: string[] = [];
  let arrayJobId: string | null = null;
  if (plan.scripts.array !== null) {
    commands.push(`sbatch --parsable ${plan.scripts.array.path}`);
    arrayJobId = submit(slurm, plan.scripts.array.path);
  }
  const depArgs = arrayJobId === null ? [] : dependencyArgs(plan, arrayJobId);
  commands.push(["sbatch", "--parsable", ...depArgs, plan.scripts.merge.path].join(" "));
  let mergeJobId: string;
  try {
    mergeJobId = submit(slurm, plan.scripts.merge.path, depArgs);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const record: JobRecord = { submitted: new Date().toISOString(), resume: plan.resume, shards: plan.shards, tasks: plan.tasks, arrayJobId, mergeJobId: "" };
    writeAtomically(join(plan.slurmDir, JOBS_FILE), JSON.stringify([...earlier, record], null, 2) + "\n");
    throw new SlurmError(
      "sbatch",
      plan.scripts.merge.path,
      `the array job ${arrayJobId ?? "(none)"} was submitted, but the merge job was not: ${why}\nWhen the array has ended, merge by hand: trainsim merge ${plan.outDir} --out ${plan.outDir}`,
    );
  }
  const record: JobRecord = { submitted: new Date().toISOString(), resume: plan.resume, shards: plan.shards, tasks: plan.tasks, arrayJobId, mergeJobId };
  writeAtomically(join(plan.slurmDir, JOBS_FILE), JSON.stringify([...earlier, record], null, 2) + "\n");
  return { ...plan, dryRun: false, arrayJobId, mergeJobId, commands, results };
}

/** What a person reads after `trainsim slurm`: job ids, where results and logs will appear, what to do on failure. */
export function submissionText(sub: SlurmSubmission): string {
  const lines: string[] = [];
  const per = Math.ceil(sub.points / sub.shards);
  lines.push(`${sub.experiment}: ${sub.points} points in ${sub.shards} shards (up to ${per} points each) -> ${sub.outDir}`);
  if (sub.progress !== undefined) {
    const complete = sub.progress.filter((p) => p.missing.length === 0).length;
    lines.push(`resume: ${complete} of ${sub.shards} shards complete`);
    for (const p of sub.progress.filter((q) => q.missing.length > 0)) {
      const state = p.started ? `${p.done.length} of ${p.expected.length} points done` : "not started";
      lines.push(`  shard ${p.index}/${p.count}: ${state}, ${p.missing.length} missing`);
    }
  }
  if (sub.dryRun) {
    lines.push("dry run: nothing written or submitted. It would run:");
    for (const c of sub.commands) lines.push(`  ${c}`);
    for (const script of [sub.scripts.array, sub.scripts.merge]) {
      if (script === null) continue;
      lines.push("", `# ---- ${script.path}`, script.text.trimEnd());
    }
    return lines.join("\n");
  }
  const tasks = compactRanges(sub.tasks);
  if (sub.arrayJobId !== null) lines.push(`array job ${sub.arrayJobId}: tasks ${tasks}, shard i of ${sub.shards} each (trainsim sweep --shard)`);
  else lines.push("every shard is complete: only the merge is submitted");
  const after = sub.arrayJobId === null ? "now" : sub.mergeAfter === "ok" ? `when every task of ${sub.arrayJobId} has succeeded` : `when every task of ${sub.arrayJobId} has ended`;
  lines.push(`merge job ${sub.mergeJobId}: runs ${after}, joins the shards and draws the report`);
  lines.push(`scripts: ${[sub.scripts.array?.path, sub.scripts.merge.path].filter((p) => p !== undefined).join(", ")}`);
  lines.push(`logs:    ${sub.logDir}/`);
  lines.push(`results: ${sub.results.jsonl}`, `         ${sub.results.csv}`, `         ${sub.results.report}`);
  lines.push(`watch:   squeue -j ${[sub.arrayJobId, sub.mergeJobId].filter((id) => id !== null).join(",")}`);
  if (sub.mergeAfter === "ok") {
    lines.push(`If a task fails or is cancelled, Slurm cancels the merge job; \`trainsim merge ${sub.outDir} --out ${sub.outDir}\` then lists the missing points by shard;`);
  } else lines.push("If a task fails or is cancelled, the merge job fails and its log lists the missing points by shard;");
  lines.push(`then resubmit only the missing shards with:\n  ${sub.resumeCommand}`);
  return lines.join("\n");
}

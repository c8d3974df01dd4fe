/**
 * Talking to Slurm through its commands: `sbatch --parsable` to submit (it prints the job
 * id, or "id;cluster" on a multi-cluster setup) and `squeue` to see whether jobs are still
 * queued or running. Every failure is a SlurmError (a ConfigError: the CLI exits 2).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { ConfigError } from "../errors.ts";

/** Slurm is missing or refused a submission; the CLI prints the message and exits 2. */
export class SlurmError extends ConfigError {
  constructor(what: string, value: unknown, detail: string) {
    super([{ path: what, value, message: `${what}: ${detail}` }], "trainsim slurm");
    this.name = "SlurmError";
  }
}

/** The absolute path of an executable found on PATH (or the name itself if it has a slash), or undefined. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = name.includes("/") ? [name] : (env["PATH"] ?? "").split(delimiter).filter((d) => d !== "").map((d) => join(d, name));
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return isAbsolute(file) ? file : join(process.cwd(), file);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** "1234" or "1234;cluster" (sbatch --parsable) → "1234". */
export function parseJobId(stdout: string): string | undefined {
  const line = stdout.trim().split("\n").pop()?.trim() ?? "";
  const m = /^(\d+)(?:;\S+)?$/.exec(line);
  return m === null ? undefined : (m[1] as string);
}

export interface SlurmCommands {
  sbatch: string;
  squeue: string | undefined;
  env: NodeJS.ProcessEnv;
}

/** Finds sbatch (required) and squeue (optional) on PATH, or says what is missing. */
export function slurmCommands(env: NodeJS.ProcessEnv = process.env): SlurmCommands {
  const sbatch = findExecutable("sbatch", env);
  if (sbatch === undefined) {
    throw new SlurmError(
      "sbatch",
      undefined,
      "Slurm's sbatch is not on PATH; run trainsim slurm on a Slurm login node (where sbatch works), or add --dry-run to print the scripts without submitting them",
    );
  }
  return { sbatch, squeue: findExecutable("squeue", env), env };
}

/** Submits a script; returns the job id. `args` come before the script (e.g. --dependency=...). */
export function submit(slurm: SlurmCommands, script: string, args: readonly string[] = []): string {
  const argv = ["--parsable", ...args, script];
  const r = spawnSync(slurm.sbatch, argv, { encoding: "utf8", env: slurm.env, timeout: 120_000 });
  const shown = `sbatch ${argv.join(" ")}`;
  if (r.error !== undefined) throw new SlurmError("sbatch", shown, `could not run ${slurm.sbatch}: ${r.error.message}`);
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || "").trim() || `exit status ${r.status ?? r.signal}`;
    throw new SlurmError("sbatch", shown, `\`${shown}\` failed: ${why}`);
  }
  const id = parseJobId(r.stdout);
  if (id === undefined) throw new SlurmError("sbatch", shown, `\`${shown}\` printed ${JSON.stringify(r.stdout.trim())}, not a job id`);
  return id;
}

/**
 * The given jobs (array job ids included) that squeue still lists: pending, running or
 * completing. A job squeue no longer knows (finished long ago) is not active. Without squeue,
 * nothing can be said: returns [].
 */
export function activeJobs(slurm: SlurmCommands, ids: readonly string[]): string[] {
  if (slurm.squeue === undefined) return [];
  const active: string[] = [];
  for (const id of ids) {
    const r = spawnSync(slurm.squeue, ["--noheader", "--jobs", id, "--format", "%i %T"], { encoding: "utf8", env: slurm.env, timeout: 60_000 });
    if (r.status !== 0 || r.error !== undefined) continue; // "Invalid job id specified": gone
    if (r.stdout.trim() !== "") active.push(id);
  }
  return active;
}

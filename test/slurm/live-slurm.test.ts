/**
 * `trainsim slurm` against a real Slurm: a one-node cluster started here (test/slurm/cluster.ts)
 * runs a 4-shard sweep as a job array plus the merge job, and the merged results must be
 * byte-identical to the same sweep run locally; then an array task cancelled with scancel
 * mid-run must show up in the merge as missing points by shard (the merge job fails), and
 * `trainsim slurm --resume` must complete the set.
 *
 * Runs only with TRAINSIM_LIVE_SLURM=1 (.ci/run sets it after installing slurm-wlm and
 * munge), as root; elsewhere it is skipped at once, so `npx vitest run` does not wait for it:
 *
 *   apt-get install -y slurm-wlm munge
 *   TRAINSIM_LIVE_SLURM=1 npx vitest run test/slurm/live-slurm.test.ts
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterUnavailable, poll, SlurmCluster } from "./cluster.ts";

const ROOT = join(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin/trainsim.js");
const STAND_IN = join(import.meta.dirname, "slurm-cli.ts");
const GRID = join(ROOT, "test/fixtures/sweep/grid.yaml");
const SLOW = join(import.meta.dirname, "slow-sweep.yaml");

const live = process.env["TRAINSIM_LIVE_SLURM"] === "1";
const unavailable = live ? clusterUnavailable() : undefined;
const skipReason = !live ? "set TRAINSIM_LIVE_SLURM=1 to run it (.ci/run does)" : unavailable;
if (live && unavailable !== undefined) {
  console.log(`SKIPPED: the live Slurm test cannot run here: ${unavailable}`);
}

/** bin/trainsim.ts once it registers the slurm command; until then a stand-in with the same modules. */
const slurmCli = readFileSync(join(ROOT, "bin/trainsim.ts"), "utf8").includes("registerSlurmCommands") ? [BIN] : ["--import", "tsx", STAND_IN];

interface Submission {
  arrayJobId: string | null;
  mergeJobId: string;
  tasks: number[];
  shards: number;
  outDir: string;
  logDir: string;
}

describe.skipIf(skipReason !== undefined)(`live Slurm${skipReason !== undefined ? ` (skipped: ${skipReason})` : ""}`, () => {
  let cluster: SlurmCluster | undefined;
  let work = "";
  let failed = false;
  const t0 = Date.now();
  const log = (line: string): void => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${line}`);

  /** The jobs inherit this environment (sbatch --export=ALL): the cluster's, without vitest's own variables. */
  const jobEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries((cluster as SlurmCluster).env).filter(([k]) => !k.startsWith("VITEST")));

  function trainsim(args: string[], cli: string[] = [BIN]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [...cli, ...args], { cwd: ROOT, encoding: "utf8", env: jobEnv(), timeout: 120_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  function submit(args: string[]): Submission {
    const r = trainsim(["slurm", ...args, "--json"], slurmCli);
    expect(r.code, `trainsim slurm ${args.join(" ")}\n${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as Submission;
  }

  function jobLogs(sub: Submission): string {
    if (!existsSync(sub.logDir)) return `(no ${sub.logDir})`;
    return readdirSync(sub.logDir)
      .sort()
      .map((f) => `---- ${f}\n${readFileSync(join(sub.logDir, f), "utf8")}`)
      .join("\n");
  }

  function lines(file: string): number {
    if (!existsSync(file)) return 0;
    return readFileSync(file, "utf8").split("\n").length - 1;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "trainsim-live-slurm-"));
    cluster = await SlurmCluster.start({ log });
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop({ keep: failed });
    if (!failed) rmSync(work, { recursive: true, force: true });
    else console.log(`kept for inspection: ${work}${cluster !== undefined ? ` and ${cluster.dir}` : ""}`);
    log("daemons stopped");
  }, 60_000);

  it("runs a 4-shard sweep as a job array plus merge job, byte-identical to a local run", async ({ onTestFailed }) => {
    const c = cluster as SlurmCluster;
    let sub: Submission | undefined;
    onTestFailed(() => {
      failed = true;
      console.log(`${sub !== undefined ? jobLogs(sub) : ""}\n${c.logs()}`);
    });
    const out = join(work, "grid");
    sub = submit([GRID, "--out", out, "--shards", "4"]);
    log(`submitted array job ${sub.arrayJobId} (tasks ${sub.tasks.join(",")}) and merge job ${sub.mergeJobId}`);
    expect(sub.tasks).toEqual([0, 1, 2, 3]);
    expect(sub.arrayJobId).toMatch(/^\d+$/);
    expect(sub.mergeJobId).toMatch(/^\d+$/);

    // The same sweep, unsharded, on this machine (while the array runs).
    const local = trainsim(["sweep", GRID, "--out", join(work, "grid-local"), "--no-report", "--workers", "1"]);
    expect(local.code, local.stderr).toBe(0);

    const merge = await c.waitForJob(sub.mergeJobId, 90_000);
    log(`merge job ${sub.mergeJobId}: ${merge.state}`);
    expect(merge.state, jobLogs(sub)).toBe("COMPLETED");
    const tasks = c.jobStates(sub.arrayJobId as string);
    expect(tasks.map((t) => t.state).sort(), JSON.stringify(tasks)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"]);

    for (const file of ["results.jsonl", "results.csv"]) {
      const a = readFileSync(join(out, file));
      const b = readFileSync(join(work, "grid-local", file));
      expect(a.equals(b), `${file}: the Slurm merge differs from the local run`).toBe(true);
    }
    expect(lines(join(out, "results.jsonl"))).toBe(16);
    expect(existsSync(join(out, "report.html")), "the merge job draws the report").toBe(true);
  }, 120_000);

  it("reports a task cancelled mid-run as missing points by shard, and --resume completes the set", async ({ onTestFailed }) => {
    const c = cluster as SlurmCluster;
    let sub: Submission | undefined;
    let resumed: Submission | undefined;
    onTestFailed(() => {
      failed = true;
      console.log(`${resumed !== undefined ? jobLogs(resumed) : sub !== undefined ? jobLogs(sub) : ""}\n${c.logs()}`);
    });
    const out = join(work, "slow");
    sub = submit([SLOW, "--out", out, "--shards", "4"]);
    const array = sub.arrayJobId as string;
    log(`submitted array job ${array} and merge job ${sub.mergeJobId}`);

    // Cancel task 1 once it has finished one of its 3 points, and task 3 (still pending on 2 CPUs).
    const shard1 = join(out, "shard-1-of-4", "results.jsonl");
    const seen = await poll("shard 1 to finish its first point", 90_000, () => (lines(shard1) >= 1 ? lines(shard1) : undefined), 50);
    expect(seen, "shard 1 finished before it could be cancelled: make test/slurm/slow-sweep.yaml slower").toBeLessThan(3);
    for (const task of [`${array}_1`, `${array}_3`]) {
      const r = c.run("scancel", [task]);
      expect(r.code, r.stderr).toBe(0);
    }
    log(`cancelled ${array}_1 (after ${seen} of its 3 points) and ${array}_3`);

    const merge = await c.waitForJob(sub.mergeJobId, 90_000);
    log(`merge job ${sub.mergeJobId}: ${merge.state} (exit ${merge.exitCode})`);
    expect(merge.state, jobLogs(sub)).toBe("FAILED");
    expect(merge.exitCode).toBe("1:0");
    const mergeLog = readFileSync(join(sub.logDir, `trainsim-slurm-slow-test-merge-${sub.mergeJobId}.out`), "utf8");
    log(`merge log:\n${mergeLog.trimEnd()}`);
    expect(mergeLog).toMatch(/merge: [1-5] of 12 points are missing:/);
    expect(mergeLog).toMatch(/shard 1\/4 \(\S*shard-1-of-4 is incomplete\): [12] points?: (5, 9|9)\n/);
    expect(mergeLog).toMatch(/shard 3\/4 \((not among the inputs|\S*shard-3-of-4 is incomplete)\): [1-3] points?: /);
    expect(mergeLog).not.toMatch(/shard [02]\/4/);
    expect(mergeLog).toContain(`--out ${out} --shards 4 --resume`);
    expect(existsSync(join(out, "results.jsonl")), "a failed merge writes no partial result set").toBe(false);

    // Only the missing shards go again (shard count from the folders), then a new merge.
    resumed = submit([SLOW, "--out", out, "--resume"]);
    log(`resubmitted tasks ${resumed.tasks.join(",")} as array job ${resumed.arrayJobId}, merge job ${resumed.mergeJobId}`);
    expect(resumed.tasks).toEqual([1, 3]);
    expect(resumed.shards).toBe(4);
    const merge2 = await c.waitForJob(resumed.mergeJobId, 90_000);
    log(`merge job ${resumed.mergeJobId}: ${merge2.state}`);
    expect(merge2.state, jobLogs(resumed)).toBe("COMPLETED");
    const task1Log = readFileSync(join(resumed.logDir, `trainsim-slurm-slow-test-${resumed.arrayJobId}_1.out`), "utf8");
    expect(task1Log, "the resubmitted shard keeps the points it had").toMatch(/already done/);

    const local = trainsim(["sweep", SLOW, "--out", join(work, "slow-local"), "--no-report", "--workers", "2"]);
    expect(local.code, local.stderr).toBe(0);
    for (const file of ["results.jsonl", "results.csv"]) {
      const a = readFileSync(join(out, file));
      const b = readFileSync(join(work, "slow-local", file));
      expect(a.equals(b), `${file}: the resumed Slurm merge differs from the local run`).toBe(true);
    }
    expect(lines(join(out, "results.jsonl"))).toBe(12);
  }, 150_000);
});

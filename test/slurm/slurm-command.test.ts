/**
 * `trainsim slurm` without a Slurm cluster: the scripts it writes, flag checks, --dry-run,
 * submission through a stand-in sbatch/squeue on PATH, --resume picking the incomplete
 * shards, and the generated scripts run by bash as Slurm would run them (task i with
 * SLURM_ARRAY_TASK_ID=i). The same against a real Slurm: live-slurm.test.ts.
 */
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../experiments/errors.ts";
import { loadExperiment } from "../../experiments/experiment.ts";
import { runSweep } from "../../experiments/runner.ts";
import { checkSlurmFlags, type SlurmFlags } from "../../experiments/slurm/options.ts";
import { parseJobId, SlurmError } from "../../experiments/slurm/sbatch.ts";
import { arrayScript, compactRanges, mergeScript, shellQuote, type SlurmScriptOptions } from "../../experiments/slurm/scripts.ts";
import { shardProgress } from "../../experiments/slurm/shards.ts";
import { planSlurmSweep, submissionText, submitSlurmSweep, TRAINSIM_BIN } from "../../experiments/slurm/submit.ts";

const ROOT = join(import.meta.dirname, "../..");
const GRID = join(ROOT, "test/fixtures/sweep/grid.yaml"); // 16 points
const CLI = join(import.meta.dirname, "slurm-cli.ts");
const tmp = (): string => mkdtempSync(join(tmpdir(), "trainsim-slurm-unit-"));

function settings(flags: SlurmFlags) {
  return checkSlurmFlags(flags);
}

/** A folder with stand-in sbatch and squeue: sbatch logs its arguments and prints "<id>;test". */
function fakeSlurm(active = ""): { env: NodeJS.ProcessEnv; calls: () => string[][] } {
  const dir = tmp();
  const log = join(dir, "calls.log");
  writeFileSync(join(dir, "sbatch"), `#!/bin/bash\nprintf '%s\\n' "$*" >> "${log}"\nn=$(wc -l < "${log}")\necho "$((n + 40));test"\n`);
  writeFileSync(join(dir, "squeue"), `#!/bin/bash\n# squeue --noheader --jobs ID --format ...\nfor id in ${active}; do if [[ "$3" == "$id" ]]; then echo "$id RUNNING"; fi; done\nexit 0\n`);
  chmodSync(join(dir, "sbatch"), 0o755);
  chmodSync(join(dir, "squeue"), 0o755);
  return {
    env: { ...process.env, PATH: `${dir}:${process.env["PATH"] ?? ""}` },
    calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" ")) : []),
  };
}

function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: ROOT, encoding: "utf8", env, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const BASE: SlurmScriptOptions = {
  experimentName: "grid-test",
  experimentFile: "/data/exp/grid.yaml",
  outDir: "/shared/out/grid",
  logDir: "/shared/out/grid/slurm/logs",
  node: "/usr/bin/node",
  bin: "/opt/trainsim/bin/trainsim.js",
  shards: 4,
};

describe("slurm scripts", () => {
  it("the array script runs shard auto/n of the sweep in every task of --array=0-(n-1)", () => {
    const s = arrayScript({ ...BASE, tasks: [0, 1, 2, 3], resume: false, partition: "cpu", time: "2:00:00", cpusPerTask: 8, extraSbatch: ["--mem=8G"] });
    expect(s.startsWith("#!/bin/bash\n")).toBe(true);
    expect(s).toContain("#SBATCH --array=0-3\n");
    expect(s).toContain("#SBATCH --partition=cpu\n");
    expect(s).toContain("#SBATCH --time=2:00:00\n");
    expect(s).toContain("#SBATCH --cpus-per-task=8\n");
    expect(s).toContain("#SBATCH --mem=8G\n");
    expect(s).toContain("#SBATCH --output=/shared/out/grid/slurm/logs/%x-%A_%a.out\n");
    expect(s).toContain(`exec /usr/bin/node /opt/trainsim/bin/trainsim.js sweep /data/exp/grid.yaml --out /shared/out/grid --shard auto/4 --workers "\${SLURM_CPUS_PER_TASK:-1}" --no-report`);
    // #SBATCH lines must come before the first command, or sbatch ignores them.
    const firstCommand = s.split("\n").findIndex((l) => l !== "" && !l.startsWith("#"));
    expect(s.split("\n").slice(firstCommand).some((l) => l.startsWith("#SBATCH"))).toBe(false);
  });

  it("a resubmission names the shard from SLURM_ARRAY_TASK_ID (its array does not start at 0) and resumes", () => {
    const s = arrayScript({ ...BASE, tasks: [3, 1], resume: true, maxRunning: 2 });
    expect(s).toContain("#SBATCH --array=1,3%2\n");
    expect(s).toContain(`--shard "$SLURM_ARRAY_TASK_ID/4"`);
    expect(s).toContain("resume=(--resume)");
    expect(s).not.toContain("auto/4");
  });

  it("the merge script merges <out> into <out> and says how to resubmit the missing shards", () => {
    const s = mergeScript({ ...BASE, resumeCommand: "trainsim slurm /data/exp/grid.yaml --out /shared/out/grid --shards 4 --resume" });
    expect(s).toContain("/usr/bin/node /opt/trainsim/bin/trainsim.js merge /shared/out/grid --out /shared/out/grid\n");
    expect(s).toContain("#SBATCH --output=/shared/out/grid/slurm/logs/%x-%j.out\n");
    expect(s).toContain("--shards 4 --resume");
    expect(s).toContain("exit $status");
  });

  it("helpers: ranges, quoting, job ids", () => {
    expect(compactRanges([0, 1, 2, 5, 7, 8, 8])).toBe("0-2,5,7-8");
    expect(compactRanges([3])).toBe("3");
    expect(shellQuote("/a/b-c_d.yaml")).toBe("/a/b-c_d.yaml");
    expect(shellQuote("it's here")).toBe(`'it'\\''s here'`);
    expect(parseJobId("1234\n")).toBe("1234");
    expect(parseJobId("1234;cluster\n")).toBe("1234");
    expect(parseJobId("Submitted batch job 12")).toBeUndefined();
  });
});

describe("slurm flags", () => {
  it("lists every bad flag at once, with its value and what is allowed", () => {
    let err: unknown;
    try {
      checkSlurmFlags({ shards: "0", time: "2 hours", cpusPerTask: "x", partition: "a b", sbatch: ["--array=0-9", "mem=8G", "#SBATCH --mem=8G"], mergeAfter: "sometimes" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toMatch(/7 problems/);
    expect(message).toMatch(/--shards: "0" is not allowed; expected an integer >= 1/);
    expect(message).toMatch(/--time: "2 hours" is not a Slurm time limit/);
    expect(message).toMatch(/--cpus-per-task: "x"/);
    expect(message).toMatch(/--partition: "a b"/);
    expect(message).toMatch(/--sbatch: "--array=0-9" is not allowed: trainsim slurm writes --array itself/);
    expect(message).toMatch(/--sbatch: "mem=8G" is not an sbatch option/);
    expect(message).toMatch(/--merge-after: "sometimes"/);
  });

  it("accepts Slurm's time formats and #SBATCH-prefixed lines", () => {
    for (const time of ["30", "30:00", "2:00:00", "1-12", "1-12:30", "1-12:30:00", "UNLIMITED"]) expect(checkSlurmFlags({ time }).time).toBe(time);
    expect(checkSlurmFlags({ sbatch: ["#SBATCH --mem=8G", "--time-min=10", "-A proj"] }).sbatch).toEqual(["--mem=8G", "--time-min=10", "-A proj"]);
  });
});

describe("trainsim slurm (stand-in sbatch)", () => {
  it("--dry-run shows both scripts and the sbatch commands, needs no sbatch and writes nothing", () => {
    const out = join(tmp(), "out");
    const plan = planSlurmSweep(GRID, settings({ out, dryRun: true }));
    const sub = submitSlurmSweep(plan, true, { env: { PATH: tmp() } });
    const text = submissionText(sub);
    expect(text).toContain("dry run: nothing written or submitted");
    expect(text).toContain(`sbatch --parsable --dependency=afterany:<array job id> ${join(out, "slurm/merge.sbatch")}`);
    expect(text).toContain("#SBATCH --array=0-3");
    expect(text).toContain(`${TRAINSIM_BIN} sweep ${GRID} --out ${out} --shard auto/4`);
    expect(text).toContain(`${TRAINSIM_BIN} merge ${out} --out ${out}`);
    expect(existsSync(out)).toBe(false);
  });

  it("submits the array, then the merge with --dependency=afterany on it, and records the job ids", () => {
    const out = join(tmp(), "out");
    const slurm = fakeSlurm();
    const sub = submitSlurmSweep(planSlurmSweep(GRID, settings({ out, shards: "8", partition: "cpu", time: "10" })), false, { env: slurm.env });
    expect(sub.arrayJobId).toBe("41");
    expect(sub.mergeJobId).toBe("42");
    expect(slurm.calls()).toEqual([
      ["--parsable", join(out, "slurm/array.sbatch")],
      ["--parsable", "--dependency=afterany:41", join(out, "slurm/merge.sbatch")],
    ]);
    expect(readFileSync(join(out, "slurm/array.sbatch"), "utf8")).toContain("#SBATCH --array=0-7\n");
    expect(existsSync(join(out, "slurm/logs"))).toBe(true); // sbatch does not create the log folder
    const jobs = JSON.parse(readFileSync(join(out, "slurm/jobs.json"), "utf8")) as { arrayJobId: string; mergeJobId: string }[];
    expect(jobs.map((j) => [j.arrayJobId, j.mergeJobId])).toEqual([["41", "42"]]);
    const text = submissionText(sub);
    expect(text).toContain("array job 41: tasks 0-7");
    expect(text).toContain("merge job 42");
    expect(text).toContain(join(out, "results.jsonl"));
    expect(text).toContain(`trainsim slurm ${GRID} --out ${out} --shards 8 --partition cpu --time 10 --resume`);

    // --merge-after ok: afterok, and Slurm cancels the merge if a task fails instead of leaving it pending.
    const strict = fakeSlurm();
    const out2 = join(tmp(), "out");
    submitSlurmSweep(planSlurmSweep(GRID, settings({ out: out2, mergeAfter: "ok" })), false, { env: strict.env });
    expect(strict.calls()[1]).toEqual(["--parsable", "--dependency=afterok:41", "--kill-on-invalid-dep=yes", join(out2, "slurm/merge.sbatch")]);
  });

  it("refuses to submit while jobs of an earlier submission to the same folder are queued", () => {
    const out = join(tmp(), "out");
    submitSlurmSweep(planSlurmSweep(GRID, settings({ out })), false, { env: fakeSlurm().env });
    const busy = fakeSlurm("41");
    expect(() => submitSlurmSweep(planSlurmSweep(GRID, settings({ out, resume: true })), false, { env: busy.env })).toThrow(/job 41 of an earlier submission .* is still queued or running .*scancel 41/);
    expect(busy.calls()).toEqual([]);
  });

  it("without sbatch, says so (exit 2) and writes nothing", () => {
    const out = join(tmp(), "out");
    const plan = planSlurmSweep(GRID, settings({ out }));
    expect(() => submitSlurmSweep(plan, false, { env: { PATH: tmp() } })).toThrow(SlurmError);
    expect(() => submitSlurmSweep(plan, false, { env: { PATH: tmp() } })).toThrow(/sbatch is not on PATH.*--dry-run/);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses more shards than points, and shard folders of another shard count", () => {
    const dir = tmp();
    expect(() => planSlurmSweep(GRID, settings({ out: dir, shards: "17" }))).toThrow(/17 shards is more than the 16 points of grid-test/);
    mkdirSync(join(dir, "shard-0-of-8"));
    expect(() => planSlurmSweep(GRID, settings({ out: dir, shards: "4" }))).toThrow(/already holds shard-\*-of-8\/ .* would mix/);
  });

  it("--resume resubmits only the shards with missing points, read from the shard folders", async () => {
    const out = join(tmp(), "out");
    const exp = loadExperiment(GRID);
    for (const index of [0, 1, 2]) await runSweep(exp, { outDir: out, shard: { index, count: 4 }, workers: 1, progress: null });
    // Shard 1 was killed after its first two points; shard 3 never ran.
    const jsonl = join(out, "shard-1-of-4", "results.jsonl");
    const kept = readFileSync(jsonl, "utf8").split("\n").slice(0, 2);
    writeFileSync(jsonl, kept.join("\n") + "\n" + '{"index":9,"par');
    const progress = shardProgress(exp, out, 4);
    expect(progress.map((p) => p.missing)).toEqual([[], [9, 13], [], [3, 7, 11, 15]]);

    const slurm = fakeSlurm();
    const sub = submitSlurmSweep(planSlurmSweep(GRID, settings({ out, resume: true })), false, { env: slurm.env });
    expect(sub.shards).toBe(4); // from the folders
    expect(sub.tasks).toEqual([1, 3]);
    const script = readFileSync(join(out, "slurm/array.sbatch"), "utf8");
    expect(script).toContain("#SBATCH --array=1,3\n");
    expect(script).toContain(`--shard "$SLURM_ARRAY_TASK_ID/4"`);
    expect(slurm.calls()[1]).toEqual(["--parsable", "--dependency=afterany:41", join(out, "slurm/merge.sbatch")]);
    const text = submissionText(sub);
    expect(text).toContain("resume: 2 of 4 shards complete");
    expect(text).toContain("shard 1/4: 2 of 4 points done, 2 missing");
    expect(text).toContain("shard 3/4: not started, 4 missing");
  });

  it("--resume with every shard complete submits only the merge", async () => {
    const out = join(tmp(), "out");
    const exp = loadExperiment(GRID);
    for (const index of [0, 1]) await runSweep(exp, { outDir: out, shard: { index, count: 2 }, workers: 2, progress: null });
    const slurm = fakeSlurm();
    const sub = submitSlurmSweep(planSlurmSweep(GRID, settings({ out, resume: true })), false, { env: slurm.env });
    expect(sub.tasks).toEqual([]);
    expect(sub.arrayJobId).toBeNull();
    expect(slurm.calls()).toEqual([["--parsable", join(out, "slurm/merge.sbatch")]]);
    expect(submissionText(sub)).toContain("every shard is complete: only the merge is submitted");
  });
});

describe("trainsim slurm command line", () => {
  it("--help teaches with examples; bad flags and a missing sbatch exit 2", () => {
    const help = cli(["slurm", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:/);
    expect(help.stdout).toMatch(/--resume/);
    expect(help.stdout).toMatch(/trainsim slurm big\.yaml --shards 32 --dry-run/);

    const bad = cli(["slurm", GRID, "--shards", "many", "--time", "soon", "--dry-run"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--shards: "many"/);
    expect(bad.stderr).toMatch(/--time: "soon"/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);

    const out = join(tmp(), "out");
    const noSlurm = cli(["slurm", GRID, "--out", out], { ...process.env, PATH: tmp() });
    expect(noSlurm.code).toBe(2);
    expect(noSlurm.stderr).toMatch(/sbatch is not on PATH/);
    expect(existsSync(out)).toBe(false);
  });

  it("the written scripts work when run as Slurm runs them: tasks by SLURM_ARRAY_TASK_ID, then the merge", async () => {
    const dir = tmp();
    const out = join(dir, "out");
    const slurm = fakeSlurm();
    const submitted = cli(["slurm", GRID, "--out", out, "--json"], slurm.env);
    expect(submitted.code, submitted.stderr).toBe(0);
    const sub = JSON.parse(submitted.stdout) as { scripts: { array: string; merge: string }; arrayJobId: string };
    const env = (task: number): NodeJS.ProcessEnv => ({ ...process.env, SLURM_ARRAY_JOB_ID: sub.arrayJobId, SLURM_ARRAY_TASK_ID: String(task), SLURM_ARRAY_TASK_MIN: "0", SLURM_JOB_ID: "1" });
    const runTask = (task: number): Promise<number | null> =>
      new Promise((resolve) => spawn("bash", [sub.scripts.array], { env: env(task), stdio: "ignore" }).on("exit", (code) => resolve(code)));

    // Tasks 0-2 finish, task 3 never runs: the merge lists its points by shard and fails.
    expect(await Promise.all([0, 1, 2].map(runTask))).toEqual([0, 0, 0]);
    const partial = spawnSync("bash", [sub.scripts.merge], { encoding: "utf8" });
    expect(partial.status).toBe(1);
    expect(partial.stderr).toMatch(/merge: 4 of 16 points are missing:\n {2}shard 3\/4 \(not among the inputs\): 4 points: 3, 7, 11, 15/);
    expect(partial.stderr).toContain(`--out ${out} --shards 4 --resume`);
    expect(existsSync(join(out, "results.jsonl"))).toBe(false);

    expect(await runTask(3)).toBe(0);
    const merged = spawnSync("bash", [sub.scripts.merge], { encoding: "utf8" });
    expect(merged.status, merged.stderr).toBe(0);
    const whole = await runSweep(loadExperiment(GRID), { outDir: join(dir, "local"), workers: 2, progress: null });
    expect(whole.results).toHaveLength(16);
    for (const file of ["results.jsonl", "results.csv"]) expect(readFileSync(join(out, file)).equals(readFileSync(join(dir, "local", file))), file).toBe(true);
    expect(readdirSync(out)).toContain("report.html");
  }, 90_000);
});

import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadExperiment } from "../../experiments/experiment.ts";
import { IncompleteMergeError, merge } from "../../experiments/merge.ts";
import { MANIFEST, RESULTS_CSV, RESULTS_JSONL, SweepInputError, parseShard, readResultsFile, runSweep } from "../../experiments/runner.ts";
import type { SweepPointResult } from "../../models/results.ts";
import { sweepWorkerEntry } from "../../experiments/sweep-worker-bundle.ts";

const ROOT = join(import.meta.dirname, "../..");
const FIXTURES = join(import.meta.dirname, "../fixtures/sweep");
const CLI = join(import.meta.dirname, "../fixtures/sweep-cli.ts");

const tmp = (): string => mkdtempSync(join(tmpdir(), "trainsim-sweep-"));
const files = (dir: string): string[] => [RESULTS_JSONL, RESULTS_CSV, MANIFEST].map((f) => readFileSync(join(dir, f), "utf8"));
const lines = (dir: string): string[] => readFileSync(join(dir, RESULTS_JSONL), "utf8").split("\n").filter((l) => l !== "");

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", CLI, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("sweep runner", () => {
  it("--workers far above the cores warns, and starts at most one thread per point", () => {
    const out = tmp();
    const r = cli(["sweep", join(FIXTURES, "grid.yaml"), "--out", out, "--workers", "200", "--json", "--no-report"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: --workers 200 is more than 4 per core");
    expect((JSON.parse(r.stdout) as { workers: number; ran: number }).workers).toBe(16);
  });

  it("writes byte-identical results with 1 worker, 2 workers, and 3 shards merged", async () => {
    const exp = loadExperiment(join(FIXTURES, "grid.yaml"));
    const one = tmp();
    const two = tmp();
    const sharded = tmp();
    const s1 = await runSweep(exp, { outDir: one, workers: 1, progress: null });
    const s2 = await runSweep(exp, { outDir: two, workers: 2, progress: null });
    expect(s1.workers).toBe(1);
    expect(s2.workers).toBe(2);
    expect(s1.ok).toBe(16);
    for (let i = 0; i < 3; i++) await runSweep(exp, { outDir: sharded, workers: 2, shard: { index: i, count: 3 }, progress: null });
    expect(lines(join(sharded, "shard-1-of-3")).map((l) => (JSON.parse(l) as SweepPointResult).index)).toEqual([1, 4, 7, 10, 13]);
    const merged = join(sharded, "merged");
    const report = merge([sharded], merged, { warn: () => {} });
    expect(report.missing).toEqual([]);

    const reference = files(one);
    expect(files(two)).toEqual(reference);
    expect(files(merged)).toEqual(reference);

    const [jsonl, csv] = reference as [string, string];
    const results = jsonl.trimEnd().split("\n").map((l) => JSON.parse(l) as SweepPointResult);
    expect(results.map((r) => r.index)).toEqual([...Array(16).keys()]);
    expect(results[5]).toMatchObject({ experiment: "grid-test", seed: 2, status: "ok", params: { "cluster.gpu.hbmBandwidth": "1 TB/s", "cluster.nodes": 2, "parallelism.microBatch": 1, "workload.seqLength": 2048 } });
    expect(results[10]).toMatchObject({ seed: 1, params: { "cluster.gpu.hbmBandwidth": "8 TB/s", "cluster.nodes": 1, "parallelism.microBatch": 2, "workload.seqLength": 1024 } });
    const head = csv.split("\n")[0];
    expect(head).toBe(
      "index,seed,cluster.gpu.hbmBandwidth,cluster.nodes,parallelism.microBatch,workload.seqLength,status,stepSeconds,tokensPerSecond,tflopsPerGpu,mfu,memoryBytesPerGpu,gpuPowerWatts,compute,hbm,nvlink,network,power,bubble,data,failure,checkpoint,error",
    );
    expect(csv.trimEnd().split("\n")).toHaveLength(17);
    // More HBM bandwidth, shorter steps.
    const step = (i: number): number => results[i]?.result?.stepSeconds ?? NaN;
    expect(step(0)).toBeGreaterThan(step(8));
  });

  it("runs its threads on the bundled worker, whose results equal the tsx-loaded worker's byte for byte", async () => {
    // A failed bundle falls back to tsx silently at run time; here it must not have.
    const entry = await sweepWorkerEntry();
    expect(entry.kind === "bundle" ? "bundle" : entry.reason).toBe("bundle");
    const exp = join(FIXTURES, "grid.yaml");
    const bundled = tmp();
    const viaTsx = tmp();
    await runSweep(loadExperiment(exp), { outDir: bundled, workers: 2, progress: null });
    const r = cli(["sweep", exp, "--out", viaTsx, "--workers", "2"], { ...process.env, TRAINSIM_SWEEP_WORKER: "tsx" });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(files(viaTsx)).toEqual(files(bundled));
  });

  it("records invalid points (bad config, out of memory) with their message instead of crashing", async () => {
    const exp = loadExperiment(join(FIXTURES, "mixed.yaml"));
    const out = tmp();
    const s = await runSweep(exp, { outDir: out, workers: 2, progress: null });
    expect([s.ok, s.invalid, s.failed]).toEqual([2, 2, 0]);
    const [a, b, c, d] = s.results;
    expect(a?.status).toBe("ok");
    expect(b).toMatchObject({ status: "invalid" });
    expect(b?.error).toMatch(/parallelism\.tp: 3 does not divide workload\.heads 32/);
    expect(b?.result).toBeUndefined();
    expect(c?.status).toBe("invalid");
    expect(c?.error).toMatch(/^memory: needs .* GiB per GPU/);
    expect(d?.status).toBe("ok");
    const csv = readFileSync(join(out, RESULTS_CSV), "utf8").split("\n");
    expect(csv[2]).toMatch(/^1,5,3,,,,,invalid,,,,,,,,,,,,,,,,"parallelism\.dp: /);
  });

  it("a killed sweep resumes: no finished point lost, none duplicated, the same bytes as an uninterrupted run", async () => {
    const exp = join(FIXTURES, "slow.yaml");
    const reference = tmp();
    await runSweep(loadExperiment(exp), { outDir: reference, workers: 2, progress: null });

    const out = tmp();
    const child = spawn(process.execPath, ["--import", "tsx", CLI, "sweep", exp, "--out", out, "--workers", "1"], { cwd: ROOT, stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
    const jsonl = join(out, RESULTS_JSONL);
    const deadline = Date.now() + 30_000;
    while (!(existsSync(jsonl) && statSync(jsonl).size > 0 && readFileSync(jsonl, "utf8").includes("\n"))) {
      if (Date.now() > deadline) throw new Error("the sweep wrote no result within 30 s");
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const before = readResultsFile(jsonl);
    expect(before.results.length).toBeGreaterThanOrEqual(1);
    expect(before.results.length).toBeLessThan(24); // killed part-way
    const finished = new Map(before.results.map((r) => [r.index, JSON.stringify(r)]));

    const r = cli(["sweep", exp, "--out", out, "--resume", "--workers", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${before.results.length} already done`));
    // The killed sweep could not remove its lock: the resume takes it over (experiments/output-lock.ts).
    expect(r.stderr).toContain(`taking over the lock left by process ${child.pid}`);
    const after = lines(out).map((l) => JSON.parse(l) as SweepPointResult);
    expect(after.map((p) => p.index)).toEqual([...Array(24).keys()]);
    for (const p of after) if (finished.has(p.index)) expect(JSON.stringify(p)).toBe(finished.get(p.index));
    expect(files(out)).toEqual(files(reference));
  });

  it("resume ignores a trailing partial line and never duplicates a point", async () => {
    const exp = loadExperiment(join(FIXTURES, "mixed.yaml"));
    const reference = tmp();
    await runSweep(exp, { outDir: reference, workers: 1, progress: null });
    const out = tmp();
    // Two finished points, in finishing order, then a line cut short by a kill.
    const done = lines(reference);
    writeFileSync(join(out, RESULTS_JSONL), `${done[2]}\n${done[0]}\n${(done[3] ?? "").slice(0, 40)}`);
    const s = await runSweep(exp, { outDir: out, workers: 1, resume: true, progress: null });
    expect(s.skipped).toBe(2);
    expect(s.ran).toBe(2);
    expect(files(out)).toEqual(files(reference));
    // Resuming a finished sweep runs nothing and changes nothing.
    const again = await runSweep(exp, { outDir: out, workers: 1, resume: true, progress: null });
    expect(again.ran).toBe(0);
    expect(files(out)).toEqual(files(reference));
  });

  it("refuses to resume into results of another experiment", async () => {
    const out = tmp();
    await runSweep(loadExperiment(join(FIXTURES, "mixed.yaml")), { outDir: out, workers: 1, progress: null });
    await expect(runSweep(loadExperiment(join(FIXTURES, "grid.yaml")), { outDir: out, workers: 1, resume: true, progress: null })).rejects.toThrow(
      /--resume: .* holds results of a different or changed experiment/,
    );
  });

  it("merge lists missing points by shard and fails, unless partial merges are allowed", async () => {
    const exp = loadExperiment(join(FIXTURES, "mixed.yaml"));
    const out = tmp();
    await runSweep(exp, { outDir: out, workers: 1, shard: { index: 0, count: 3 }, progress: null });
    await runSweep(exp, { outDir: out, workers: 1, shard: { index: 2, count: 3 }, progress: null });
    const merged = join(out, "merged");
    let error: unknown;
    try {
      merge([join(out, "shard-0-of-3"), join(out, "shard-2-of-3")], merged);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IncompleteMergeError);
    expect((error as IncompleteMergeError).missing).toEqual([1]);
    expect((error as Error).message).toMatch(/1 of 4 points are missing:\n {2}shard 1\/3 \(not among the inputs\): 1 point: 1\n/);
    expect(existsSync(merged)).toBe(false);

    const warnings: string[] = [];
    const partial = merge([out], merged, { allowPartial: true, warn: (l) => warnings.push(l) });
    expect(partial.missing).toEqual([1]);
    expect(partial.missingByShard).toEqual({ 1: [1] });
    expect(warnings.join("\n")).toMatch(/partial set/);
    expect(lines(merged).map((l) => (JSON.parse(l) as SweepPointResult).index)).toEqual([0, 2, 3]);
    expect((JSON.parse(readFileSync(join(merged, MANIFEST), "utf8")) as { missing: number[] }).missing).toEqual([1]);

    // Merging into the shards' own parent folder, then again once the missing shard ran: the shards win over the earlier merge.
    merge([out], out, { allowPartial: true, warn: () => {} });
    await runSweep(exp, { outDir: out, workers: 1, shard: { index: 1, count: 3 }, progress: null });
    expect(merge([out], out).missing).toEqual([]);
    expect(lines(out)).toHaveLength(4);

    // A point that differs between inputs is refused.
    const tampered = join(out, "shard-0-of-3", RESULTS_JSONL);
    const first = JSON.parse(lines(join(out, "shard-0-of-3"))[0] ?? "") as SweepPointResult;
    appendFileSync(tampered, JSON.stringify({ ...first, seed: 99 }) + "\n");
    expect(() => merge([out], join(out, "m2"))).toThrow(/point 0 appears in .* and .* with different contents/);
  });

  it("merge from the CLI exits 1 listing missing points; bad flags exit 2", async () => {
    const exp = join(FIXTURES, "mixed.yaml");
    const out = tmp();
    expect(cli(["sweep", exp, "--out", out, "--shard", "1/2", "--workers", "1"]).code).toBe(0);
    const r = cli(["merge", out, "--out", join(out, "all")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/2 of 4 points are missing:\n {2}shard 0\/2 \(not among the inputs\): 2 points: 0, 2/);
    expect(cli(["merge", out, "--out", join(out, "all"), "--allow-partial"]).code).toBe(0);

    const bad = cli(["sweep", exp, "--shard", "auto/4", "--out", out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--shard: auto needs SLURM_ARRAY_TASK_ID .* or JOB_COMPLETION_INDEX/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect(cli(["sweep", exp, "--workers", "zero"]).code).toBe(2);
  });

  it("parses --shard, taking auto indices from Slurm or Kubernetes", () => {
    expect(parseShard("3/8", {})).toEqual({ index: 3, count: 8 });
    expect(parseShard("auto/8", { SLURM_ARRAY_TASK_ID: "5" })).toEqual({ index: 5, count: 8 });
    expect(parseShard("auto/8", { SLURM_ARRAY_TASK_ID: "6", SLURM_ARRAY_TASK_MIN: "1" })).toEqual({ index: 5, count: 8 });
    expect(parseShard("auto/4", { JOB_COMPLETION_INDEX: "3" })).toEqual({ index: 3, count: 4 });
    expect(() => parseShard("auto/4", {})).toThrow(SweepInputError);
    expect(() => parseShard("4/4", {})).toThrow(/shard index 4 is not allowed; expected 0 <= i < 4/);
    expect(() => parseShard("1-4", {})).toThrow(/expected i\/n/);
    expect(() => parseShard("auto/4", { JOB_COMPLETION_INDEX: "x" })).toThrow(/JOB_COMPLETION_INDEX="x" is not a shard index/);
  });
});
